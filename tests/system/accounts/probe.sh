# The accounts' state: passwd, group and shadow entries (without the last-change day), keys.
for u in alice bob carol; do getent passwd $u || echo "no user $u"; done
for g in support backupops oldteam; do getent group $g | sed 's/:[0-9]*:/:GID:/' || echo "no group $g"; done
getent group support | cut -d: -f3
getent group backupops | awk -F: '{ print ($3 < 1000) ? "system gid" : "user gid" }'
for u in alice bob; do getent shadow $u | awk -F: -v OFS=: '{ $3 = "DAY"; print }'; done
id alice 2>/dev/null; id bob 2>/dev/null; id dave 2>/dev/null
python3 -c "import crypt, spwd; print('alice password ok:', crypt.crypt('initial-Passw0rd', spwd.getspnam('alice').sp_pwdp) == spwd.getspnam('alice').sp_pwdp)" 2>/dev/null
for f in /home/alice/.ssh/authorized_keys /srv/bob/.ssh/authorized_keys; do
  [ -f $f ] && { stat -c '%n %a %U:%G' $f; cat $f; } || echo "no $f"
done
[ -d /home/alice/.ssh ] && stat -c '%n %a %U:%G' /home/alice/.ssh
[ -f /srv/bob/.ssh/id_ed25519 ] && { stat -c '%n %a %U:%G' /srv/bob/.ssh/id_ed25519 /srv/bob/.ssh/id_ed25519.pub; cut -d' ' -f1,3 /srv/bob/.ssh/id_ed25519.pub; }
ls -d /home/carol 2>&1 | sed 's/^ls: //'
ls -ld /srv/bob | awk '{ print $1, $3, $4 }'
