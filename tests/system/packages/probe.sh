dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' 'steward-*' 2>/dev/null | sort
apt-mark showmanual | grep steward | sort
ls /etc/apt/sources.list.d/; cat /etc/apt/sources.list.d/*.list 2>/dev/null
ls /etc/steward-old.conf 2>&1 | sed 's/^ls: //'
