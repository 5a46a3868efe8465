#!/usr/bin/env python3
"""Ansible's own integration targets, run against steward (or ansible-core itself).

ansible-core's source distribution on PyPI carries test/integration/targets/. A role-style
target (tasks/main.yml; one with a runme.sh too is run as its role here) runs as ansible-test runs it: a one-role play on the
inventory host `testhost`, with the targets folder as the roles path and `-e output_dir=DIR`.
Each target gets a fresh fleet container of its own, reached over SSH, because the targets
change the host they run on. PASS is what ansible-test calls a pass: the play exits 0.

  conformance.py fetch                        download and unpack the sdist (cached)
  conformance.py candidates                   role-style targets, and why others are left out
  conformance.py run [--tool T] [-j N] NAME.. run targets, print PASS/FAIL for each
  conformance.py ratchet                      run steward-passes.txt; fail if one fails
  conformance.py derive [-j N]                run ansible-core on every candidate and write
                                              ansible-passes.txt (needs a venv, made here)

The containers sit on an internal Docker network (no route out), so a result never depends on
the outside network. Logs go to $STEWARD_CACHE/conformance/logs/TOOL/NAME.log (or $STEWARD_CONF_LOGS/TOOL).
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

ANSIBLE_CORE = "2.19.14"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("STEWARD_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "steward")
WORK = os.path.join(CACHE, "conformance")
NET = os.environ.get("STEWARD_CONF_NET", "steward-conf")
PREFIX = os.environ.get("STEWARD_CONF_PREFIX", "conf")
TIMEOUT = int(os.environ.get("STEWARD_CONF_TIMEOUT", "600"))
# Several checkouts may run targets at once: each keeps its logs apart with STEWARD_CONF_LOGS.
LOGS = os.environ.get("STEWARD_CONF_LOGS") or os.path.join(WORK, "logs")

ANSIBLE_PASSES = os.path.join(HERE, "ansible-passes.txt")
STEWARD_PASSES = os.path.join(HERE, "steward-passes.txt")
EXCLUDED = os.path.join(HERE, "excluded.txt")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, capture_output=True, **kw)


# ---------------------------------------------------------------------------------------------
# Ansible's targets

def targets_dir():
    """Download ansible-core's sdist once (PyPI) and return its integration targets folder."""
    dest = os.path.join(WORK, f"ansible_core-{ANSIBLE_CORE}")
    tdir = os.path.join(dest, "test", "integration", "targets")
    if os.path.isdir(tdir):
        return tdir
    os.makedirs(WORK, exist_ok=True)
    tarball = os.path.join(WORK, f"ansible_core-{ANSIBLE_CORE}.tar.gz")
    if not os.path.exists(tarball):
        log(f"downloading ansible-core {ANSIBLE_CORE} (sdist) from PyPI")
        tmp = tempfile.mkdtemp(dir=WORK)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "-d", tmp, f"ansible-core=={ANSIBLE_CORE}"], check=True)
        got = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")]
        if not got:
            sys.exit("pip download gave no sdist")
        os.replace(os.path.join(tmp, got[0]), tarball)
        shutil.rmtree(tmp, ignore_errors=True)
    tmp = tempfile.mkdtemp(dir=WORK)
    with tarfile.open(tarball) as tf:
        tf.extractall(tmp, filter="data")
    os.replace(os.path.join(tmp, f"ansible_core-{ANSIBLE_CORE}"), dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return tdir


def aliases(tdir, name):
    path = os.path.join(tdir, name, "aliases")
    if not os.path.exists(path):
        return None
    out = []
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


# Targets whose result in this harness is chance, for ansible-core as for steward: never in the
# denominator, so that neither list holds a coin toss.
BY_CHANCE = {
    "cron": "by chance here: cron fires at real minute boundaries (the faketime speed-up needs systemd's "
            "drop-in, and the containers run no systemd), so its 20 s wait for the canary passes only "
            "when a minute turns in time",
}


def candidates(tdir):
    """(role-style targets to try, {left-out target: reason})."""
    keep, left = [], dict(BY_CHANCE)
    for name in sorted(os.listdir(tdir)):
        d = os.path.join(tdir, name)
        if not os.path.isdir(d):
            continue
        has_tasks = any(os.path.exists(os.path.join(d, "tasks", f)) for f in ("main.yml", "main.yaml"))
        if not has_tasks or name in BY_CHANCE:
            continue
        al = aliases(tdir, name)
        if al is None:
            left[name] = "helper role (no aliases): used by other targets, not a target itself"
            continue
        why = None
        for a in al:
            if a == "hidden":
                why = "hidden: a helper of other targets"
            elif a.startswith("disabled") or a == "unsupported":
                why = "disabled or unsupported upstream"
            elif a == "windows" or a.startswith("shippable/windows"):
                why = "needs Windows"
            elif a.startswith("cloud/"):
                why = f"needs a cloud ({a})"
            elif a.startswith("shippable/generic") or a.startswith("network/"):
                why = "not a POSIX target"
            if why:
                break
        if why:
            left[name] = why
        else:
            keep.append(name)
    return keep, left


# ---------------------------------------------------------------------------------------------
# The hosts: one fresh container per target

_lock = threading.Lock()
_state = {}


# What the targets install with `package:`/`apt:` before they test, put on the image so that they
# find it installed and need no network (the containers have none). Bump CONF_REV with the list.
CONF_REV = 1
CONF_PACKAGES = [
    "file", "git", "iptables", "debconf-utils", "faketime", "socat", "python3-debian", "python3-pexpect",
    "python3-passlib", "python3-pip", "python3-virtualenv", "dpkg-dev", "equivs", "libfile-fcntllock-perl",
]


def conf_image():
    """The fleet image plus CONF_PACKAGES, built once and cached as a tarball like the fleet's."""
    base = sh(os.path.join(ROOT, "tests", "fleet", "image")).stdout.strip().splitlines()[-1]
    image = f"steward-conf:{base.split(':')[-1]}-{CONF_REV}"
    if sh("docker", "image", "inspect", image, check=False).returncode == 0:
        return image
    tarball = os.path.join(CACHE, f"conf-image-{base.split(':')[-1]}-{CONF_REV}.tar")
    if os.path.exists(tarball):
        sh("docker", "load", "-i", tarball)
        return image
    log(f"building {image} from {base} (apt-get install: {' '.join(CONF_PACKAGES)})")
    ctx = tempfile.mkdtemp()
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(f"FROM {base}\n"
                "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
                f"{' '.join(CONF_PACKAGES)} >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*\n"
                'CMD ["/usr/local/bin/fleet-init"]\n')
    subprocess.run(["docker", "build", "-q", "-t", image, ctx], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(ctx, ignore_errors=True)
    sh("docker", "save", "-o", tarball + ".tmp", image)
    os.replace(tarball + ".tmp", tarball)
    return image


def fleet():
    """The image, the internal network and the SSH key, made once per process."""
    with _lock:
        if _state:
            return _state
        image = conf_image()
        if sh("docker", "network", "inspect", NET, check=False).returncode != 0:
            sh("docker", "network", "create", "--internal", NET)
        keydir = os.path.join(WORK, "ssh")
        os.makedirs(keydir, exist_ok=True)
        key = os.path.join(keydir, "id_ed25519")
        if not os.path.exists(key):
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "steward-conformance", "-f", key)
        _state.update(image=image, key=key)
        return _state


class Host:
    """A fresh container for one target. Under ansible-test the controller and the host are often
    one machine, and targets rely on it: they write to output_dir on the host and read it back
    with a lookup on the controller, or run commands in the role's folder. So output_dir is the
    same folder on both sides (a bind mount), and the targets are on the host, read-only, at the
    same path."""

    def __init__(self, tool, target, output_dir, tdir):
        self.name = f"{PREFIX}-{tool}-{target}".replace("_", "-")[:60]
        f = fleet()
        sh("docker", "rm", "-f", self.name, check=False)
        sh("docker", "create", "--name", self.name, "--hostname", "testhost", "--network", NET,
           "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "systempaths=unconfined",
           "-v", f"{output_dir}:{output_dir}", "-v", f"{tdir}:{tdir}:ro",
           f["image"])
        # One file per container: parallel runs must not copy a file another is writing.
        authorized = os.path.join(WORK, "ssh", f"authorized_keys.{self.name}")
        shutil.copy(f["key"] + ".pub", authorized)
        sh("docker", "cp", authorized, f"{self.name}:/root/.ssh/authorized_keys")
        os.unlink(authorized)
        sh("docker", "start", self.name)
        self.ip = sh("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                     self.name).stdout.strip()
        for _ in range(200):
            r = sh("ssh-keyscan", "-T", "2", "-t", "ed25519", self.ip, check=False)
            if r.stdout.strip():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name} did not start sshd")
        self.key = f["key"]

    def inventory(self, path, output_dir):
        with open(path, "w") as f:
            f.write(f"testhost ansible_host={self.ip} ansible_user=root "
                    f"ansible_ssh_private_key_file={self.key} "
                    f"ansible_python_interpreter=/usr/bin/python3\n")

    def exec(self, *cmd):
        return sh("docker", "exec", self.name, *cmd, check=False)

    def remove(self):
        sh("docker", "rm", "-f", self.name, check=False)


# ---------------------------------------------------------------------------------------------
# Running one target

def steward_bin():
    path = os.environ.get("STEWARD_BIN") or os.path.join(ROOT, "target", "release", "steward")
    if not os.path.exists(path):
        sys.exit(f"no steward binary at {path}: cargo build --release first (or set STEWARD_BIN)")
    return path


def ansible_bin():
    venv = os.path.join(CACHE, f"ansible-{ANSIBLE_CORE}")
    exe = os.path.join(venv, "bin", "ansible-playbook")
    if not os.path.exists(exe):
        log(f"making a venv with ansible-core {ANSIBLE_CORE} at {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        # passlib: ansible-test's setup/always/setup_passlib_controller installs it on the controller.
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", f"ansible-core=={ANSIBLE_CORE}", "passlib"],
                       check=True)
    return exe


def run_target(tool, target, tdir, keep=False):
    """Run one target on a fresh host; return (passed, seconds, log path)."""
    al = aliases(tdir, target) or []
    logdir = os.path.join(LOGS, tool)
    os.makedirs(logdir, exist_ok=True)
    logpath = os.path.join(logdir, target + ".log")
    work = tempfile.mkdtemp(prefix=f"{target}-", dir=os.path.join(WORK, "tmp") if os.path.isdir(os.path.join(WORK, "tmp")) else None)
    start = time.time()
    host = None
    try:
        output_dir = os.path.join(work, "output_dir")
        os.makedirs(output_dir)
        host = Host(tool, target, output_dir, tdir)
        inv = os.path.join(work, "inventory")
        host.inventory(inv, output_dir)
        gather = "gather_facts/no" not in al
        play = [{"hosts": "testhost", "gather_facts": gather, "roles": [target]}]
        pb = os.path.join(work, f"{target}.yml")
        with open(pb, "w") as f:
            json.dump(play, f, indent=4)
        env = dict(os.environ)
        env.update(ANSIBLE_ROLES_PATH=tdir, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
                   OUTPUT_DIR=output_dir, INVENTORY_PATH=inv, ANSIBLE_PLAYBOOK_DIR=work,
                   ANSIBLE_TEST_CI="", ANSIBLE_TEST_COVERAGE="", STEWARD_PROGRESS="off",
                   ANSIBLE_TEST_ANSIBLE_VERSION=ANSIBLE_CORE)
        for a in al:
            if a.startswith("env/set/"):
                _, _, k, v = a.split("/", 3)
                env[k] = v
        if tool == "steward":
            # ansible-core on the controller, as under ansible-test: steward runs the modules it
            # has no native one for (the targets' library/ modules) with its module_utils.
            if not env.get("STEWARD_PYTHON"):
                env["STEWARD_PYTHON"] = os.path.join(os.path.dirname(ansible_bin()), "python")
            cmd = [steward_bin(), "run", pb, "-i", inv, "-e", f"output_dir={output_dir}"]
        else:
            cmd = [ansible_bin(), pb, "-i", inv, "-e", f"output_dir={output_dir}"]
        with open(logpath, "w") as out:
            out.write(f"$ {' '.join(cmd)}\n# host {host.name} {host.ip}; aliases: {' '.join(al)}\n")
            out.flush()
            try:
                rc = subprocess.run(cmd, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=TIMEOUT).returncode
            except subprocess.TimeoutExpired:
                out.write(f"\n# TIMEOUT after {TIMEOUT} s\n")
                rc = -1
            out.write(f"\n# exit {rc}\n")
        return rc == 0, time.time() - start, logpath
    except Exception as e:  # a harness failure is a failure of that target, with the reason logged
        with open(logpath, "a") as out:
            out.write(f"\n# harness error: {e}\n")
        return False, time.time() - start, logpath
    finally:
        if host and not keep:
            host.remove()
        shutil.rmtree(work, ignore_errors=True)


def run_many(tool, targets, tdir, jobs, keep=False):
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(run_target, tool, t, tdir, keep): t for t in targets}
        for fut in concurrent.futures.as_completed(futs):
            t = futs[fut]
            ok, secs, path = fut.result()
            results[t] = ok
            print(f"{'PASS' if ok else 'FAIL'} {t} ({secs:.0f} s){'' if ok else '  ' + path}", flush=True)
    return results


def read_list(path):
    """Target names from a list file: the first word of each line; `#` starts a comment."""
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line.split()[0])
    return out


# ---------------------------------------------------------------------------------------------
# Commands

def cmd_fetch(a):
    print(targets_dir())


def cmd_candidates(a):
    keep, left = candidates(targets_dir())
    for t in keep:
        print(t)
    if a.why:
        for t, why in sorted(left.items()):
            print(f"# {t}: {why}")


def cmd_run(a):
    tdir = targets_dir()
    names = a.targets or candidates(tdir)[0]
    res = run_many(a.tool, names, tdir, a.jobs, a.keep)
    n = sum(res.values())
    print(f"{a.tool}: {n} of {len(res)} passed")


def cmd_ratchet(a):
    tdir = targets_dir()
    denominator = read_list(ANSIBLE_PASSES)
    listed = read_list(STEWARD_PASSES)
    res = run_many("steward", listed, tdir, a.jobs)
    failed = sorted(t for t, ok in res.items() if not ok)
    print(f"steward passes {len(listed) - len(failed)} of {len(denominator)} targets that Ansible passes")
    plain = [t for t in denominator if not ships_python(tdir, t)]
    print(f"  of the {len(plain)} that ship no Python plugins of their own (library/, *_plugins/): "
          f"{sum(1 for t in listed if t in plain and t not in failed)}")
    if failed:
        print("listed in steward-passes.txt but failed now: " + " ".join(failed))
        for t in failed:
            print(f"\n===== {t} =====")
            lines = open(os.path.join(LOGS, "steward", t + ".log")).read().splitlines()
            print("\n".join(lines[-40:]))
        sys.exit(1)


PLUGIN_DIRS = ("library", "action_plugins", "filter_plugins", "lookup_plugins", "test_plugins", "module_utils",
               "callback_plugins", "connection_plugins", "vars_plugins")


def ships_python(tdir, target):
    """Whether a target brings Python plugins or modules of its own (steward runs those only
    once it runs Python modules and plugins: issue 12)."""
    return any(os.path.isdir(os.path.join(tdir, target, d)) for d in PLUGIN_DIRS)


def log_passed(tool, target):
    """Whether the last run of a target (its log) ended with exit 0."""
    path = os.path.join(LOGS, tool, target + ".log")
    return os.path.exists(path) and open(path, errors="replace").read().rstrip().endswith("# exit 0")


def why_failed(target):
    """A reason for a target ansible-core fails here, from its log: its first error, classified."""
    path = os.path.join(LOGS, "ansible", target + ".log")
    text = open(path, errors="replace").read() if os.path.exists(path) else ""
    first = ""
    for line in text.splitlines():
        if line.startswith("[ERROR]") or line.startswith("fatal:") or line.startswith("# TIMEOUT"):
            first = line.replace("[ERROR]: ", "").strip()
            break
    kinds = [
        (("name resolution", "Could not resolve host", "keyserver", "No package matching", "externally-managed",
          "no available installation candidate"), "needs the network (the hosts have none)"),
        (("No such file or directory: b'ansible", "ansible-playbook' ", "ansible-galaxy", "ansible-inventory"),
         "runs Ansible's own command-line tools on the host (context/controller)"),
        (("Unable to change directory before execution",), "expects the controller's files on the host (context/controller)"),
    ]
    for needles, why in kinds:
        if any(n in text for n in needles):
            return f"{why}; ansible-core: {first[:140]}"
    return f"fails under ansible-core here: {first[:160] or 'see its log'}"


def cmd_derive(a):
    """ansible-passes.txt: which candidates ansible-core itself passes in this harness."""
    tdir = targets_dir()
    keep, left = candidates(tdir)
    names = a.targets or keep
    if a.from_logs:
        res = {t: log_passed("ansible", t) for t in names}
    else:
        res = run_many("ansible", names, tdir, a.jobs)
    # Reasons for the candidates Ansible fails here, kept from an earlier derivation by hand.
    reasons = {}
    for line in open(EXCLUDED) if os.path.exists(EXCLUDED) else []:
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            reasons[k.strip()] = v.strip()
    if a.targets:
        old = set(read_list(ANSIBLE_PASSES))
        passed = sorted((old - set(names)) | {t for t, ok in res.items() if ok})
        failed = {t for t, ok in res.items() if not ok}
        for t in list(reasons):
            if t in passed:
                del reasons[t]
    else:
        passed = sorted(t for t, ok in res.items() if ok)
        failed = {t for t, ok in res.items() if not ok}
    with open(ANSIBLE_PASSES, "w") as f:
        f.write(f"# Role-style targets of ansible-core {ANSIBLE_CORE} that ansible-core itself passes in this\n"
                "# harness (tests/conformance/conformance.py derive). The denominator.\n")
        for t in passed:
            f.write(t + "\n")
    with open(EXCLUDED, "w") as f:
        f.write(f"# Targets of ansible-core {ANSIBLE_CORE} left out of the denominator, and why.\n"
                "# Left out before running (not role-style, Windows, clouds, ...):\n")
        for t, why in sorted(left.items()):
            f.write(f"{t}: {why}\n")
        f.write("# Candidates that ansible-core itself fails in this harness:\n")
        for t in sorted(failed | (set(reasons) - set(passed) - set(left))):
            f.write(f"{t}: {reasons.get(t) or why_failed(t)}\n")
    print(f"ansible-core passes {len(passed)} of {len(keep)} candidates")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch").set_defaults(f=cmd_fetch)
    c = sub.add_parser("candidates")
    c.add_argument("--why", action="store_true", help="also list the targets left out, with the reason")
    c.set_defaults(f=cmd_candidates)
    r = sub.add_parser("run")
    r.add_argument("--tool", choices=["steward", "ansible"], default="steward")
    r.add_argument("-j", "--jobs", type=int, default=4)
    r.add_argument("--keep", action="store_true", help="keep the containers (to look inside)")
    r.add_argument("targets", nargs="*")
    r.set_defaults(f=cmd_run)
    k = sub.add_parser("ratchet")
    k.add_argument("-j", "--jobs", type=int, default=4)
    k.set_defaults(f=cmd_ratchet)
    d = sub.add_parser("derive")
    d.add_argument("-j", "--jobs", type=int, default=3)
    d.add_argument("--from-logs", action="store_true", help="use the logs of the last ansible-core runs, run nothing")
    d.add_argument("targets", nargs="*", help="re-derive only these (the others keep their verdict)")
    d.set_defaults(f=cmd_derive)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
