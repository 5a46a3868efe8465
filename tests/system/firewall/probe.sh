ufw status verbose 2>&1
find /srv/www | sort | while read -r f; do [ -f "$f" ] && echo "$f: $(cat "$f")" || echo "$f/"; done
