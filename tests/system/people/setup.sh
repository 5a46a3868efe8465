# A leaver with a home, keys and sudo rights; a user who forgot a password.
set -e
useradd -m -s /bin/bash bob
mkdir -p /home/bob/.ssh /home/bob/projects
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0PFqVv9Qcdd0CUY0lAz9iOC5GT2aNAWC1bqAh8Jdm bob@desk' > /home/bob/.ssh/authorized_keys
echo 'plan' > /home/bob/projects/plan.txt
chown -R bob: /home/bob
echo 'bob ALL=(ALL:ALL) ALL' > /etc/sudoers.d/bob
useradd -m -s /bin/bash carol
usermod -L carol
