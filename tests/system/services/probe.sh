for s in steward-demo steward-old; do
  service $s status >/dev/null 2>&1 && echo "$s running" || echo "$s stopped"
  ls /etc/rc2.d/ | grep -o "^[SK]..$s" | sed 's/[0-9][0-9]/NN/'
  cat /var/log/$s.log 2>/dev/null
done
