# A signed local APT repository: one package, a Release file signed (InRelease) with a key made
# here, whose public half is published beside it. No trusted=yes: apt checks the signature.
set -e
d=$(mktemp -d)
mkdir -p "$d/DEBIAN" /srv/signed
printf 'Package: steward-signed\nVersion: 1.0\nArchitecture: all\nMaintainer: steward tests <t@example.com>\nDescription: a signed test package\n' > "$d/DEBIAN/control"
dpkg-deb -Zgzip --build "$d" /srv/signed/steward-signed_1.0_all.deb >/dev/null
cd /srv/signed
f=steward-signed_1.0_all.deb
{ dpkg-deb -f "$f"; echo "Filename: ./$f"; echo "Size: $(stat -c %s "$f")"; echo "SHA256: $(sha256sum "$f" | cut -d' ' -f1)"; } > Packages
{ echo "Origin: steward"; echo "Label: steward"; echo "Date: $(date -R -u)"; echo "SHA256:"; echo " $(sha256sum Packages | cut -d' ' -f1) $(stat -c %s Packages) Packages"; } > Release
export GNUPGHOME=$(mktemp -d)
gpg --batch --quiet --passphrase '' --quick-gen-key "steward test repo <repo@example.com>" ed25519 sign never 2>/dev/null
gpg --batch --quiet --yes --clearsign -o InRelease Release
gpg --batch --quiet --armor --export > key.asc
