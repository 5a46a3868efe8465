# User data to back up, and a zip archive on the host.
set -e
useradd -m alice
mkdir -p /home/alice/docs /var/backups /restore /restore-zip /srv/app-src/lib /opt
echo 'quarterly report' > /home/alice/docs/report.txt
echo 'todo: nothing' > /home/alice/todo.txt
echo 'cached junk' > /home/alice/thumbs.cache
chown -R alice: /home/alice
printf 'alpha\nbeta\n' > /srv/notes.txt
echo 'main()' > /srv/app-src/main.py
echo 'def lib(): pass' > /srv/app-src/lib/util.py
