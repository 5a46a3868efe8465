#!/usr/bin/env python3
"""Scheduling overhead: 10 tasks on each of 1,000 hosts (10,000 host-tasks) that do no work on
any host (`debug`, which runs on the controller), so what is measured is steward itself:
loading, the graph, the scheduler, templating, results and output. Prints the cost per task.

    bench/scheduler.py [--hosts 1000] [--tasks 10]
"""
import argparse
import os
import resource
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--steward", default=os.path.join(REPO, "target/release/steward"))
    a = ap.parse_args()
    if a.steward.endswith("target/release/steward"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    d = tempfile.mkdtemp(prefix="steward-sched-")
    with open(f"{d}/inventory.ini", "w") as f:
        f.write("[fleet]\n")
        f.write(f"h[0001:{a.hosts:04d}]\n")
        f.write("\n[fleet:vars]\nansible_connection=local\n")
    for strategy in ["linear", "free", "graph"]:
        tasks = "".join(f"    - debug:\n        msg: \"{{{{ inventory_hostname }}}} step {i} of {{{{ ansible_play_hosts | length }}}}\"\n" if i == 0 else
                        f"    - debug:\n        msg: \"{{{{ inventory_hostname }}}} step {i}\"\n" for i in range(a.tasks))
        with open(f"{d}/pb.yml", "w") as f:
            f.write(f"- hosts: fleet\n  gather_facts: false\n  strategy: {strategy}\n  tasks:\n{tasks}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([a.steward, "run", "-i", f"{d}/inventory.ini", "-f", str(a.hosts), f"{d}/pb.yml"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, NO_COLOR="1"))
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if p.returncode != 0:
            raise SystemExit(p.stderr[-2000:])
        n = a.hosts * a.tasks
        print(f"{strategy:>6}: {n} host-tasks in {wall:.2f} s wall, {cpu:.2f} s CPU: {wall / n * 1e6:.0f} µs wall and {cpu / n * 1e6:.0f} µs CPU per task (output included)")


if __name__ == "__main__":
    main()
