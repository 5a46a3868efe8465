# What the playbook removes: a cron job, a sysctl setting and a mounted fs with its fstab line.
printf '#Ansible: old job\n15 * * * * /bin/old\n' | crontab -
printf 'net.ipv4.tcp_syncookies = 1\n' >> /etc/sysctl.conf
mkdir -p /mnt/old && echo 'tmpfs /mnt/old tmpfs size=1m 0 0' >> /etc/fstab && mount /mnt/old
