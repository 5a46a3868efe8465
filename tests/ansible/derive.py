#!/usr/bin/env python3
"""Re-derive the expected values of tests/cases from ansible-playbook itself.

For every case folder (or those named on the command line) this runs the case's playbook
twice with ansible-playbook against localhost, in a fresh folder passed as `-e root=DIR`,
and records in `expected.json`: both recaps, the exit codes, and every file the playbook
left under DIR (type, mode, content, link target). The Rust test `tests/e2e.rs` runs steward
on the same case and compares. Run it where ansible-core is installed:

    python3 tests/ansible/derive.py [--ansible-playbook PATH] [CASE ...]
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(os.path.dirname(HERE), "cases")
RECAP = re.compile(r"^(\S+)\s+: (ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=\d+\s+skipped=\d+\s+rescued=\d+\s+ignored=\d+)")


def recap(text):
    out = {}
    seen = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            seen = True
            continue
        m = RECAP.match(line)
        if seen and m:
            out[m.group(1)] = " ".join(m.group(2).split())
    return out


def snapshot(root):
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            p = os.path.join(dirpath, name)
            # fetch nests the host's path under its dest: the root's own path is normalised too.
            rel = os.path.relpath(p, root).replace(root.lstrip("/"), "{{root}}")
            st = os.lstat(p)
            entry = {"mode": "%04o" % (st.st_mode & 0o7777)}
            if os.path.islink(p):
                entry = {"type": "link", "target": os.readlink(p).replace(root, "{{root}}")}
            elif os.path.isdir(p):
                entry["type"] = "directory"
            else:
                entry["type"] = "file"
                data = open(p, "rb").read().replace(root.encode(), b"{{root}}")
                try:
                    entry["content"] = data.decode()
                except UnicodeDecodeError:
                    entry["sha1"] = hashlib.sha1(data).hexdigest()
            files[rel] = entry
    return files


def run_case(case, ansible):
    d = os.path.join(CASES, case)
    args = []
    if os.path.exists(os.path.join(d, "args")):
        args = shlex.split(open(os.path.join(d, "args")).read())
    if "-i" not in args and not os.path.exists(os.path.join(d, "ansible.cfg")):
        args = ["-i", "localhost,", "-c", "local"] + args
    root = tempfile.mkdtemp(prefix="steward-derive-")
    cmd = [ansible, "playbook.yml", "-e", "root=" + root, "-e", "ansible_python_interpreter=/usr/bin/python3"] + args
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="0")
    first = subprocess.run(cmd, cwd=d, capture_output=True, text=True, env=env)
    second = subprocess.run(cmd, cwd=d, capture_output=True, text=True, env=env)
    expected = {
        "source": "ansible-playbook " + subprocess.run([ansible, "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "first": {"rc": first.returncode, "recap": recap(first.stdout)},
        "second": {"rc": second.returncode, "recap": recap(second.stdout)},
        "files": snapshot(root),
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write("\n")
    print(case, expected["first"]["recap"], expected["second"]["recap"])
    if first.returncode not in (0, 2):
        print(first.stdout[-3000:], first.stderr[-3000:], file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ansible-playbook", default="ansible-playbook")
    p.add_argument("cases", nargs="*")
    a = p.parse_args()
    cases = a.cases or sorted(c for c in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, c)))
    for c in cases:
        run_case(c, a.ansible_playbook)


if __name__ == "__main__":
    main()
