ls -l /etc/ssh/sshd_config.d/ | awk 'NR > 1 { print $1, $9 }'; cat /etc/ssh/sshd_config.d/00-baseline.conf 2>&1
grep -c '^Include /etc/ssh/sshd_config.d/\*.conf' /etc/ssh/sshd_config
sshd -T 2>/dev/null | grep -E '^(permitrootlogin|passwordauthentication|x11forwarding|maxauthtries) '
grep -E '^(PASS_MAX_DAYS|PASS_MIN_DAYS|PASS_WARN_AGE|UMASK)' /etc/login.defs
stat -c '%n %U:%G %a' /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/ssh/sshd_config /etc/crontab /etc/cron.d
cat /etc/sysctl.d/90-baseline.conf 2>&1
cat /etc/apt/apt.conf.d/20auto-upgrades 2>&1
sysctl -n net.ipv4.conf.all.send_redirects
