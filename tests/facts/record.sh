#!/bin/sh
# Record the fixtures src/modules/setup/tests.rs reads, from one fresh host reached over SSH:
# the gather script's raw output (as steward sends it for gather_subset=all) and what
# ansible-core's setup gives there, taken one right after the other.
#
#   tests/facts/record.sh IP KEY [ANSIBLE_BIN_DIR]
#
# e.g. after `docker run -d --name f --hostname testhost steward-conf:bookworm-5-1` with KEY's
# public half in the container's /root/.ssh/authorized_keys.
set -eu
ip=$1
key=$2
bin=${3:-$HOME/.cache/steward/ansible-2.19.14/bin}
here=$(cd "$(dirname "$0")" && pwd)
setup=$here/../../src/modules/setup
ssh_opts="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i $key"

# The collectors in mod.rs's COLLECTORS order (facter and ohai gather nothing).
calls=$(sed -n 's/^    c("\([a-z_]*\)".*/c_\1/p; s/^        "\([a-z_]*\)",$/c_\1/p' "$setup/mod.rs" | grep -v 'c_facter\|c_ohai')
{
    printf "FACT_PATH='/etc/ansible/facts.d'\nGATHER_TIMEOUT=10\nSTEWARD_PY='/usr/bin/python3'\n"
    cat "$setup/gather.sh"
    printf '%s\n' "$calls"
} >"$here/.script.sh"
# shellcheck disable=SC2086
ssh $ssh_opts "root@$ip" "$(cat "$here/.script.sh")" >"$here/bookworm-docker.out"
rm -f "$here/.script.sh"

inv=$(mktemp)
echo "testhost ansible_host=$ip ansible_user=root ansible_ssh_private_key_file=$key ansible_python_interpreter=/usr/bin/python3" >"$inv"
ANSIBLE_HOST_KEY_CHECKING=False "$bin/ansible" -i "$inv" testhost -m setup 2>/dev/null |
    sed -n '/SUCCESS/,$p' | sed '1s/.*/{/' |
    python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["ansible_facts"], open(sys.argv[1], "w"), indent=1, sort_keys=True)' \
        "$here/bookworm-docker.ansible.json"
rm -f "$inv"
{
    echo "# Top-level facts ansible-core 2.19.14's setup (gather_subset=all) gave on a steward-conf:bookworm-5-1"
    echo "# container reached over SSH as root (src/modules/setup/tests.rs checks steward gives each one)."
    echo "# A full VM adds e.g. ansible_machine_id, ansible_systemd, ansible_<nic> with features (ethtool)."
    python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1])))))' "$here/bookworm-docker.ansible.json"
} >"$here/ansible-keys.txt"
echo "recorded $(wc -l <"$here/ansible-keys.txt") lines of keys"
