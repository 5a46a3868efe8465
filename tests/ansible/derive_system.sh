#!/usr/bin/env bash
# Record what ansible-playbook does with a system-module case (tests/system/CASE/site.yml) on a
# fresh test host (a fleet container): the host's state before (probe.sh's output), the recap of
# a --check run, then of two real runs, and the host's state after. tests/system.rs does the same
# with steward and compares. Needs docker and ansible-playbook with the ansible.posix and
# community.general collections (pip install ansible).
#
#   tests/ansible/derive_system.sh accounts cron ...   # no names: every case
set -euo pipefail
ANSIBLE=${ANSIBLE_PLAYBOOK:-ansible-playbook}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
cd "$HERE/tests/system"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(*/)
for c in "${cases[@]}"; do
  c=${c%/}
  D=$(mktemp -d)
  prefix="derive$c"
  export STEWARD_FLEET_DIR="$D" STEWARD_FLEET_PREFIX="$prefix" STEWARD_FLEET_NET="${prefix}net"
  SYSTEM_CAPS=$([ -f "$c/system-caps" ] && echo 1 || true) RESTART=$([ -f "$c/restart-always" ] && echo always || true) \
    "$HERE/tests/fleet/up" 1 > "$D/inv.path"
  trap '"$HERE/tests/fleet/down"; rm -rf "$D"' EXIT
  inv=$(tail -1 "$D/inv.path")
  name="${prefix}1"
  [ -f "$c/setup.sh" ] && docker exec -i "$name" sh -s < "$c/setup.sh"
  docker exec -i "$name" sh -s < "$c/probe.sh" > "$D/fresh" || true
  export ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=0
  run() { (cd "$c" && "$ANSIBLE" -i "$inv" site.yml "$@") > "$D/out" 2>&1 && echo 0 || echo $?; }
  rc_check=$(run --check); cp "$D/out" "$D/check.out"
  rc_first=$(run); cp "$D/out" "$D/first.out"
  rc_second=$(run); cp "$D/out" "$D/second.out"
  [ "$rc_first" = 0 ] || { echo "== $c: ansible-playbook failed (rc $rc_first):" >&2; grep -B2 -A3 'FAILED\|fatal' "$D/first.out" >&2 || true; }
  docker exec -i "$name" sh -s < "$c/probe.sh" > "$D/after" || true
  python3 - "$D" "$c/expected.json" "$("$ANSIBLE" --version | head -1)" "$rc_check" "$rc_first" "$rc_second" <<'PY'
import json, re, sys
d, dest, version, rc_check, rc_first, rc_second = sys.argv[1:7]
def recap(path):
    seen = False
    for line in open(path):
        if line.startswith("PLAY RECAP"):
            seen = True
            continue
        m = re.match(r"^(\S+)\s+: (ok=.*)$", line)
        if seen and m:
            return " ".join(m.group(2).split())
    sys.exit("no recap in " + path + ":\n" + open(path).read())
out = {"source": version,
       "check": {"rc": int(rc_check), "recap": recap(d + "/check.out")},
       "first": {"rc": int(rc_first), "recap": recap(d + "/first.out")},
       "second": {"rc": int(rc_second), "recap": recap(d + "/second.out")},
       "fresh": open(d + "/fresh").read(), "after": open(d + "/after").read()}
json.dump(out, open(dest, "w"), indent=1, sort_keys=True)
print("wrote", dest, out["first"]["recap"], "|", out["second"]["recap"])
PY
  mkdir -p "/tmp/derive-$c" && cp "$D"/*.out "/tmp/derive-$c/"
  "$HERE/tests/fleet/down"; rm -rf "$D"; trap - EXIT
done
