#!/usr/bin/env python3
"""The reference workload (playbooks/rollout.yml) on N loopback sshd hosts, cold then warm,
with steward and, when they are installed, ansible-playbook (pipelining on, forks = N),
ansible-core-rs (`ANSIBLE_CORE_RS`, its `ansible` binary: pip install ansible-core-rs) and
pyinfra (bench/pyinfra/). Prints each one's wall time and CPU time (its own and its children's)
and the ratios to steward.

    bench/rollout.py [-n 20] [--tools steward,ansible,pyinfra]
    bench/rollout.py --workload mixed    # playbooks/rollout-mixed.yml: native and collection
                                         # modules (steward runs the latter through the hosts'
                                         # Python), steward and ansible-playbook only

Needs root (sshd processes, the plain account `fleet` they log in as; see TESTING.md).
"""
import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
USER = "fleet"
DATA = "/tmp/fleetdata"


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, **kw)


def start_fleet(n, d):
    sh(f"id {USER} >/dev/null 2>&1 || {{ useradd -m -s /bin/bash {USER} && usermod -p '*' {USER}; }}; mkdir -p /run/sshd")
    os.chmod(d, 0o755)
    sh(f"ssh-keygen -q -t ed25519 -N '' -f {d}/id_ed25519")
    shutil.copy(f"{d}/id_ed25519.pub", f"{d}/authorized_keys")
    procs, known, inv = [], [], ["[fleet]"]
    addrs = []
    for i in range(1, n + 1):
        # 250 hosts per /24 of 127.0.0.0/8, so that a thousand fit.
        addr = f"127.0.{1 + (i - 1) // 250}.{(i - 1) % 250 + 1}"
        addrs.append(addr)
        sh(f"ssh-keygen -q -t ed25519 -N '' -f {d}/hk{i}")
        conf = f"{d}/sshd{i}.conf"
        with open(conf, "w") as f:
            f.write(f"ListenAddress {addr}:22\nHostKey {d}/hk{i}\nPidFile none\nUsePAM no\nStrictModes no\n"
                    f"AuthorizedKeysFile {d}/authorized_keys\nSubsystem sftp internal-sftp\nMaxSessions 50\nMaxStartups 200\nLogLevel ERROR\n")
        procs.append(subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", conf], stderr=subprocess.DEVNULL))
        pub = open(f"{d}/hk{i}.pub").read().split()[:2]
        known.append(f"{addr} {' '.join(pub)}")
        inv.append(f"h{i} ansible_host={addr}")
    open(f"{d}/known_hosts", "w").write("\n".join(known) + "\n")
    inv += ["", "[fleet:vars]", f"ansible_user={USER}", f"ansible_ssh_private_key_file={d}/id_ed25519",
            f"ansible_ssh_common_args='-o UserKnownHostsFile={d}/known_hosts'", "ansible_python_interpreter=/usr/bin/python3"]
    open(f"{d}/inventory.ini", "w").write("\n".join(inv) + "\n")
    # Every server listening before the clock starts.
    deadline = time.time() + 60
    for addr in addrs:
        while True:
            try:
                socket.create_connection((addr, 22), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"sshd on {addr} did not start")
                time.sleep(0.05)
    return procs


def timed(cmd, cwd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        print(p.stdout[-4000:], file=sys.stderr)
        raise SystemExit(f"{cmd[0]} failed with exit code {p.returncode}")
    recaps = [l for l in p.stdout.splitlines() if " : ok=" in l]
    # The largest resident size of any child so far (the tool's own, as it is the largest).
    kinds = sorted({l.split(" : ")[1].split()[0:5].__str__() for l in recaps})
    same = "every one the same" if len(kinds) == 1 else f"{len(kinds)} different recaps"
    print(f"  {cmd[0]}: {len(recaps)} hosts in the recap ({same}), peak RSS {after.ru_maxrss / 1024:.0f} MB", flush=True)
    return wall, cpu, recaps[0].split(" : ")[1].split()[:2] if recaps else []


def clean():
    shutil.rmtree(DATA, ignore_errors=True)
    os.makedirs(DATA)
    os.chmod(DATA, 0o777)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--tools", default="steward,ansible,pyinfra,ansible-core-rs")
    ap.add_argument("--steward", default=os.path.join(REPO, "target/release/steward"))
    ap.add_argument("--workload", choices=["rollout", "mixed"], default="rollout")
    a = ap.parse_args()
    tools = a.tools.split(",")
    if a.workload == "mixed":
        tools = [t for t in tools if t != "pyinfra"]  # pyinfra runs no Ansible collections
    playbook = "rollout.yml" if a.workload == "rollout" else "rollout-mixed.yml"
    if "steward" in tools and a.steward.endswith("target/release/steward"):
        sh("cargo build --release --quiet", cwd=REPO)
    ansible = os.environ.get("ANSIBLE_PLAYBOOK") or shutil.which("ansible-playbook") or ("/opt/ansible-venv/bin/ansible-playbook" if os.path.exists("/opt/ansible-venv/bin/ansible-playbook") else None)
    acrs = os.environ.get("ANSIBLE_CORE_RS") or ("/opt/acrs-venv/bin/ansible" if os.path.exists("/opt/acrs-venv/bin/ansible") else None)
    pyinfra = os.environ.get("PYINFRA") or shutil.which("pyinfra") or ("/opt/pyinfra-venv/bin/pyinfra" if os.path.exists("/opt/pyinfra-venv/bin/pyinfra") else None)
    d = tempfile.mkdtemp(prefix="steward-bench-")
    procs = start_fleet(a.n, d)
    env = dict(os.environ, NO_COLOR="1", ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="1", ANSIBLE_FORKS=str(a.n),
               FLEET=d, FLEET_N=str(a.n), FLEET_USER=USER)
    inv = f"{d}/inventory.ini"
    runs = {}
    failed = []
    try:
        plan = []
        if "steward" in tools:
            plan.append(("steward", [a.steward, "run", "-i", inv, "-f", str(a.n), playbook], os.path.join(REPO, "playbooks")))
        if "ansible" in tools and ansible:
            plan.append(("ansible-playbook", [ansible, "-i", inv, "-f", str(a.n), playbook], os.path.join(REPO, "playbooks")))
        if "ansible-core-rs" in tools and acrs:
            plan.append(("ansible-core-rs", [acrs, "playbook", "-i", inv, "-f", str(a.n), playbook], os.path.join(REPO, "playbooks")))
        if "pyinfra" in tools and pyinfra:
            plan.append(("pyinfra", [pyinfra, "-y", "--parallel", str(a.n), "inventory.py", "deploy.py"], os.path.join(HERE, "pyinfra")))
        for name, cmd, cwd in plan:
            clean()
            try:
                cold = timed(cmd, cwd, env)
                warm = timed(cmd, cwd, env)
            except SystemExit as e:
                # A tool that cannot run the workload is reported, not timed (steward must run it).
                if name == "steward":
                    raise
                failed.append(f"{name} ({e})")
                continue
            runs[name] = (cold, warm)
            print(f"{name}: cold {cold[0]:.2f}s wall {cold[1]:.2f}s cpu {' '.join(cold[2])}; warm {warm[0]:.2f}s wall {warm[1]:.2f}s cpu {' '.join(warm[2])}", flush=True)
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(d, ignore_errors=True)
    tasks = 20 if a.workload == "rollout" else 9  # tasks per host in the workload
    print(f"\n{a.n} hosts, {'reference' if a.workload == 'rollout' else 'mixed'} workload ({tasks} tasks per host)\n")
    print("| tool | cold wall | cold CPU | warm wall | warm CPU | cold wall vs steward | warm wall vs steward |")
    print("|---|---|---|---|---|---|---|")
    base = runs.get("steward")
    for name, ((cw, cc, _), (ww, wc, _)) in runs.items():
        rc = f"{cw / base[0][0]:.0f}x" if base else "-"
        rw = f"{ww / base[1][0]:.0f}x" if base else "-"
        print(f"| {name} | {cw:.2f} s | {cc:.2f} s | {ww:.2f} s | {wc:.2f} s | {rc} | {rw} |")
    if base:
        per = base[0][1] / (a.n * tasks) * 1000
        print(f"\nsteward controller CPU per host-task (cold): {per:.2f} ms")
    if failed:
        print(f"could not run the workload, not measured: {', '.join(failed)}")
    missing = [t for t, p in (("ansible-playbook", ansible), ("pyinfra", pyinfra), ("ansible-core-rs", acrs)) if not p]
    if missing:
        print(f"not installed, not measured: {', '.join(missing)}")


if __name__ == "__main__":
    main()
