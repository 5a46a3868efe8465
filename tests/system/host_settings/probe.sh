echo "== root crontab"; crontab -l 2>&1
echo "== deploy crontab"; crontab -u deploy -l 2>&1
echo "== cron.d"; ls -l /etc/cron.d/steward-cleanup 2>&1 | awk '{ print $1, $3, $4 }'; cat /etc/cron.d/steward-cleanup 2>&1
echo "== sysctl"; sysctl -n net.ipv4.ip_forward net.ipv4.ip_local_port_range
grep -v '^#' /etc/sysctl.conf | grep -v '^$'; cat /etc/sysctl.d/90-steward.conf 2>&1
echo "== hostname"; cat /etc/hostname | sed 's/^derive.*\|^stw.*/CONTAINER/'
echo "== timezone"; cat /etc/timezone; readlink /etc/localtime
echo "== locales"; locale -a | sort
grep -v '^#' /etc/locale.gen | grep -v '^$'
echo "== mounts"; grep ' /mnt/' /proc/self/mounts | cut -d' ' -f1-3; grep -v '^#' /etc/fstab; ls -d /mnt/* 2>&1
