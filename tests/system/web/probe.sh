find /opt/downloads -type f | sort | while read -r f; do echo "$f $(stat -c %a "$f") $(cat "$f" | head -1)"; done
