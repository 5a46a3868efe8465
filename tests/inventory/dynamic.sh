#!/bin/sh
# A dynamic inventory as Ansible runs them: --list prints groups, --host prints a host's vars.
case "$1" in
  --list)
    if [ -n "$NO_META" ]; then
      echo '{"web": {"hosts": ["web1", "web2"], "vars": {"tier": "front"}}, "db": ["db1"], "prod": {"children": ["web", "db"]}}'
    else
      echo '{"web": {"hosts": ["web1", "web2"], "vars": {"tier": "front"}}, "db": ["db1"], "prod": {"children": ["web", "db"]}, "_meta": {"hostvars": {"web1": {"port": 8080}}}}'
    fi ;;
  --host)
    if [ "$2" = web1 ]; then echo '{"port": 8080}'; else echo '{}'; fi ;;
  *) echo "usage: $0 --list | --host NAME" >&2; exit 1 ;;
esac
