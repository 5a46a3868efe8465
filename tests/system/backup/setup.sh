# Two users with data, and an older backup of alice's home to restore (made from a copy that
# had a file she has since lost, and an older version of another).
set -e
useradd -m alice; useradd -m bob
mkdir -p /home/alice/docs /var/backups/home /tmp/old/alice/docs
echo 'current report' > /home/alice/docs/report.txt
echo 'notes v2' > /home/alice/notes.txt
echo 'cache' > /home/alice/.cache
echo 'old report' > /tmp/old/alice/docs/report.txt
echo 'lost letter' > /tmp/old/alice/docs/letter.txt
touch -d '2026-01-01 00:00' /tmp/old/alice/docs/* /tmp/old/alice/docs /tmp/old/alice
tar -C /tmp/old -czf /var/backups/home/alice-20260101-000000.tar.gz alice
chmod 700 /var/backups/home; rm -rf /tmp/old
