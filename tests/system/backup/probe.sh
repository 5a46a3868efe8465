stat -c '%n %a' /var/backups/home /usr/local/sbin/steward-home-backup 2>&1
cat /usr/local/sbin/steward-home-backup 2>&1
crontab -l 2>&1
find /home/alice -type f -not -name '.*' | sort | while read -r f; do echo "$f: $(cat "$f")"; done
