#!/usr/bin/env bash
# Record what ansible-playbook does with the reference workload (playbooks/rollout.yml) on 10
# loopback sshd hosts: both recaps and every file left behind, in tests/ssh/rollout-expected.json.
# tests/ssh.rs runs steward on a fleet of the same shape and compares. Needs root (sshd, the
# `fleet` account) and ansible-playbook (pip install ansible-core).
set -euo pipefail
ANSIBLE=${ANSIBLE_PLAYBOOK:-ansible-playbook}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d)
chmod 755 "$D"
trap 'kill $(cat $D/*.pid 2>/dev/null) 2>/dev/null; rm -rf $D' EXIT
id fleet >/dev/null 2>&1 || { useradd -m -s /bin/bash fleet; usermod -p '*' fleet; }
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/id"
cp "$D/id.pub" "$D/authorized_keys"
echo "[fleet]" > "$D/inv"
for i in $(seq 1 10); do
  ssh-keygen -q -t ed25519 -N '' -f "$D/hk$i"
  printf 'ListenAddress 127.0.33.%s:22\nHostKey %s\nPidFile %s\nUsePAM no\nStrictModes no\nAuthorizedKeysFile %s\nSubsystem sftp internal-sftp\n' \
    "$i" "$D/hk$i" "$D/sshd$i.pid" "$D/authorized_keys" > "$D/sshd$i.conf"
  /usr/sbin/sshd -f "$D/sshd$i.conf"
  echo "127.0.33.$i $(cut -d' ' -f1,2 "$D/hk$i.pub")" >> "$D/known_hosts"
  echo "h$i ansible_host=127.0.33.$i" >> "$D/inv"
done
printf '[fleet:vars]\nansible_user=fleet\nansible_ssh_private_key_file=%s\nansible_ssh_common_args="-o UserKnownHostsFile=%s"\nansible_python_interpreter=/usr/bin/python3\n' "$D/id" "$D/known_hosts" >> "$D/inv"
DATA="$D/data"; mkdir -p "$DATA"; chmod 777 "$DATA"
cd "$HERE/playbooks"
export ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=1
"$ANSIBLE" -i "$D/inv" -f 10 rollout.yml -e "root=$DATA/{{ inventory_hostname }}" > "$D/first.out"
"$ANSIBLE" -i "$D/inv" -f 10 rollout.yml -e "root=$DATA/{{ inventory_hostname }}" > "$D/second.out"
python3 - "$D" "$HERE/tests/ssh/rollout-expected.json" "$("$ANSIBLE" --version | head -1)" <<'PY'
import json, os, re, sys
d, dest, version = sys.argv[1:4]
def recap(path):
    out = {}
    seen = False
    for line in open(path):
        if line.startswith("PLAY RECAP"):
            seen = True
            continue
        m = re.match(r"^(\S+)\s+: (ok=.*)$", line)
        if seen and m:
            out[m.group(1)] = " ".join(m.group(2).split())
    return out
data = os.path.join(d, "data")
files = {}
for host in sorted(os.listdir(data)):
    root = os.path.join(data, host)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames) + sorted(filenames):
            p = os.path.join(dirpath, name)
            rel = host + "/" + os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                files[rel] = {"type": "link", "target": os.readlink(p).replace(data, "{{data}}")}
            elif os.path.isdir(p):
                files[rel] = {"type": "directory", "mode": "%04o" % (st.st_mode & 0o7777)}
            else:
                files[rel] = {"type": "file", "mode": "%04o" % (st.st_mode & 0o7777), "content": open(p).read().replace(data, "{{data}}")}
json.dump({"source": version, "first": recap(os.path.join(d, "first.out")), "second": recap(os.path.join(d, "second.out")), "files": files},
          open(dest, "w"), indent=1, sort_keys=True)
print("wrote", dest, len(files), "entries")
PY
