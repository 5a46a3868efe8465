ls /etc/reboot-required 2>&1 | sed 's/^ls: //'
