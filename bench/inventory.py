#!/usr/bin/env python3
"""Inventory at scale: an INI inventory of N hosts in G groups (each with group variables, half
of them under a parent group, a group_vars/ and a host_vars/ folder beside it), and how long
`steward inventory --list`, `--graph`, `--host` and a pattern (`--list-hosts`) take on it, side by
side with ansible-inventory (ANSIBLE_INVENTORY, or the venv scripts/test makes) and
ansible-core-rs (ANSIBLE_CORE_RS) when they are there. One run each, wall time.

    bench/inventory.py [--hosts 100000] [--groups 1000] [--tools steward,ansible,ansible-core-rs]
"""
import argparse
import os
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate(d, hosts, groups):
    os.makedirs(f"{d}/group_vars", exist_ok=True)
    os.makedirs(f"{d}/host_vars", exist_ok=True)
    with open(f"{d}/inventory.ini", "w") as f:
        for g in range(groups):
            f.write(f"[g{g}]\n")
            for h in range(g * hosts // groups, (g + 1) * hosts // groups):
                f.write(f"host{h} ansible_host=10.{h >> 16 & 255}.{h >> 8 & 255}.{h & 255} idx={h}\n")
            f.write(f"[g{g}:vars]\nrack=r{g}\n")
        f.write("[web:children]\n" + "".join(f"g{g}\n" for g in range(0, groups, 2)))
        f.write("[web:vars]\ntier=front\n")
    with open(f"{d}/group_vars/all.yml", "w") as f:
        f.write("ntp: pool.ntp.org\n")
    with open(f"{d}/group_vars/web.yml", "w") as f:
        f.write("http_port: 8080\n")
    with open(f"{d}/host_vars/host1.yml", "w") as f:
        f.write("special: true\n")


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {p.stderr.decode()[-2000:]}")
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--tools", default="steward,ansible,ansible-core-rs")
    ap.add_argument("--steward", default=os.path.join(REPO, "target/release/steward"))
    a = ap.parse_args()
    if a.steward.endswith("target/release/steward"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    venv = os.path.expanduser("~/.cache/steward/ansible-venv/bin/ansible-inventory")
    ansible = os.environ.get("ANSIBLE_INVENTORY") or (venv if os.path.exists(venv) else None)
    acrs = os.environ.get("ANSIBLE_CORE_RS")
    d = tempfile.mkdtemp(prefix="steward-inv-")
    generate(d, a.hosts, a.groups)
    inv = f"{d}/inventory.ini"
    tools = a.tools.split(",")
    rows = [("steward", [a.steward, "inventory"])]
    if "ansible" in tools and ansible:
        rows.append(("ansible-inventory", [ansible]))
    if "ansible-core-rs" in tools and acrs:
        rows.append(("ansible-core-rs", [acrs, "inventory"]))
    print(f"{a.hosts} hosts in {a.groups} groups ({os.path.getsize(inv) / 1e6:.1f} MB of INI)")
    for name, base in rows:
        times = {
            "--list": timed(base + ["-i", inv, "--list"]),
            "--graph": timed(base + ["-i", inv, "--graph"]),
            "--host": timed(base + ["-i", inv, "--host", "host1"]),
        }
        print(f"{name:>18}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
    # A pattern over the whole fleet: hosts of web that are not in g0, through a playbook's hosts.
    with open(f"{d}/pb.yml", "w") as f:
        f.write("- hosts: 'web:!g0:&all'\n  gather_facts: false\n  tasks: []\n")
    print(f"{'steward pattern':>18}: --list-hosts 'web:!g0:&all' {timed([a.steward, 'run', '-i', inv, '--list-hosts', f'{d}/pb.yml']):.2f} s")


if __name__ == "__main__":
    main()
