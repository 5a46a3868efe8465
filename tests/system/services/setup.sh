# Two services with init scripts (the test hosts do not run systemd): steward-demo, stopped and
# not enabled; steward-old, running and enabled.
set -e
for svc in steward-demo steward-old; do
cat > /etc/init.d/$svc <<SCRIPT
#!/bin/sh
### BEGIN INIT INFO
# Provides:          $svc
# Required-Start:    \$remote_fs
# Required-Stop:     \$remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: steward test service
### END INIT INFO
PID=/run/$svc.pid
case "\$1" in
  start) start-stop-daemon --start --background --make-pidfile --pidfile \$PID --exec /bin/sleep -- 100000; echo start >> /var/log/$svc.log ;;
  stop) start-stop-daemon --stop --pidfile \$PID --remove-pidfile --retry 5; echo stop >> /var/log/$svc.log ;;
  restart) \$0 stop; \$0 start ;;
  reload) echo reload >> /var/log/$svc.log ;;
  status) start-stop-daemon --status --pidfile \$PID ;;
  *) exit 2 ;;
esac
SCRIPT
chmod 755 /etc/init.d/$svc
done
update-rc.d steward-old defaults >/dev/null 2>&1
service steward-old start
: > /var/log/steward-old.log
