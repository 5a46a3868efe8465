for u in alice dan bob carol; do getent passwd $u | cut -d: -f1,3,5-7; done
for u in alice dan bob carol; do getent shadow $u | awk -F: -v OFS=: '{ sub(/\$.*/, "HASH", $2); print $1, $2, ($3 == 0 ? "must-change" : "set"), $8 }'; done
id alice | cut -d' ' -f3 | tr ',' '\n' | sed 's/[0-9]*(//; s/)//' | sort | tr '\n' ' '; echo
for f in /etc/sudoers.d/alice /etc/sudoers.d/dan /etc/sudoers.d/bob; do [ -f $f ] && { stat -c '%n %a' $f; cat $f; } || echo "no $f"; done
cat /home/alice/.ssh/authorized_keys; ls /home/bob/.ssh/ 2>&1
ls -l /var/backups/offboarded 2>&1 | awk 'NR > 1 { print $1, $9 }'
tar -tzf /var/backups/offboarded/bob-home.tar.gz 2>/dev/null | grep -v '/$' | sort
python3 -c "import crypt, spwd; h = spwd.getspnam('carol').sp_pwdp; print('carol password ok:', crypt.crypt('Temporary-123', h) == h)" 2>/dev/null
python3 -c "import crypt, spwd; h = spwd.getspnam('alice').sp_pwdp; print('alice password ok:', crypt.crypt('Welcome-2026', h) == h)" 2>/dev/null
