cat /etc/apt/sources.list.d/steward-signed.list 2>&1
stat -c '%n %a' /etc/apt/keyrings/steward.asc 2>&1
dpkg-query -W -f='${Package} ${Version}\n' steward-signed 2>&1
