# A local APT repository made on the host from packages built with dpkg-deb, so no test needs
# the internet: steward-hello 1.0 and 2.0, steward-pinned 1.0 and 2.0, steward-cli,
# steward-tool (which needs steward-lib), steward-lib, and steward-extra as a loose .deb file.
# steward-hello 1.0, steward-tool (with steward-lib as a dependency) and steward-old (with a
# configuration file) are installed before the playbook runs.
set -e
mkdeb() { # name version [depends]
  d=$(mktemp -d)
  mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: steward tests <t@example.com>\nDescription: test package %s\n' "$1" "$2" "$1" > "$d/DEBIAN/control"
  [ -z "$3" ] || echo "Depends: $3" >> "$d/DEBIAN/control"
  echo "$1 $2" > "$d/usr/share/$1/version"
  if [ "$1" = steward-old ]; then mkdir -p "$d/etc"; echo 'setting=1' > "$d/etc/steward-old.conf"; echo /etc/steward-old.conf > "$d/DEBIAN/conffiles"; fi
  dpkg-deb -Zgzip --build "$d" "$4/${1}_${2}_all.deb" >/dev/null
  rm -rf "$d"
}
mkdir -p /srv/repo /srv/debs
mkdeb steward-hello 1.0 "" /srv/repo
mkdeb steward-hello 2.0 "" /srv/repo
mkdeb steward-pinned 1.0 "" /srv/repo
mkdeb steward-pinned 2.0 "" /srv/repo
mkdeb steward-cli 1.0 "" /srv/repo
mkdeb steward-lib 1.0 "" /srv/repo
mkdeb steward-tool 1.0 steward-lib /srv/repo
mkdeb steward-extra 1.0 "" /srv/debs
mkdeb steward-old 0.5 "" /srv/debs
cd /srv/repo
for f in *.deb; do
  dpkg-deb -f "$f"
  echo "Filename: ./$f"
  echo "Size: $(stat -c %s "$f")"
  echo "SHA256: $(sha256sum "$f" | cut -d' ' -f1)"
  echo
done > Packages
dpkg -i /srv/repo/steward-hello_1.0_all.deb /srv/repo/steward-lib_1.0_all.deb /srv/repo/steward-tool_1.0_all.deb /srv/debs/steward-old_0.5_all.deb >/dev/null
apt-mark auto steward-lib >/dev/null
