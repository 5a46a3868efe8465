#!/bin/sh
# An old-style module: its arguments come as key=value words in the file named by $1.
. "$1"
changed=false
if [ "$(cat "$path" 2>/dev/null)" != "$text" ]; then
  changed=true
  if [ "$_ansible_check_mode" != True ]; then
    printf '%s\n' "$text" > "$path.tmp" && mv "$path.tmp" "$path"
  fi
fi
printf '{"changed": %s, "path": "%s"}\n' "$changed" "$path"
