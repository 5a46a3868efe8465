# What the modules left: the ini files, the ACL, the debconf answer, the modules' files.
for f in /etc/steward-app.ini /home/deploy/app.ini /srv/marker.txt /srv/stamp.txt; do
  if [ -f $f ]; then stat -c '%n %a %U:%G' $f; cat $f; else echo "no $f"; fi
done
getfacl -p /srv 2>/dev/null | grep -v '^#'
debconf-show tzdata 2>/dev/null | grep 'tzdata/Areas' || echo "no tzdata answer"
