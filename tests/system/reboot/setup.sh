# A pending reboot, as package upgrades flag it.
touch /etc/reboot-required
