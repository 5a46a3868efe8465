echo "== backups"; ls -l /var/backups | awk 'NR > 1 { print $1, $9 }'
tar -tzf /var/backups/alice.tar.gz 2>/dev/null | grep -v '/$' | sort
unzip -Z1 /var/backups/app-src.zip 2>/dev/null | grep -v '/$' | sort
ls /srv; gzip -dc /srv/notes.txt.gz 2>/dev/null
echo "== restored"
for d in /opt /restore /restore-zip /srv/www; do
  find $d -mindepth 1 | sort | while read -r f; do
    if [ -d "$f" ]; then echo "$f/ $(stat -c %a "$f")"; else echo "$f $(stat -c '%a %U' "$f") $(md5sum < "$f" | cut -c1-8)"; fi
  done
done
