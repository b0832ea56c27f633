#!/usr/bin/env python3
"""What the tests left on the host.

  leftovers.py snapshot FILE   record the host's state before the tests
  leftovers.py check FILE      compare with it; one PASS:/FAIL: line each

What is compared: processes (the children of the runner's subreaper,
tests/subreaper.py, other than the runner: whatever the tests left
running, zombies excepted), cgroup directories, users and groups, PAM
services (names and contents), mount points, and the names in the
directories where the tests and the product put files. Processes and
cgroups get a deadline to go (SIGKILLed processes can take seconds to
leave); what is still there then is reported, and the processes are
killed so that the next run starts clean.
"""
import hashlib
import json
import os
import signal
import sys
import time

DEADLINE = int(os.environ.get("NSCG_TEST_WAIT", "60"))
CGROUP_DEPTH = 4
# Directories whose names are compared; the tests and the product put
# their files here.
DIRS = ["/tmp", "/var/tmp", "/run", "/run/nscg", "/run/nscg-status", "/dev/shm",
        "/etc/security", "/etc/security/nscg.d", "/etc/cron.d", "/usr/libexec",
        "/var/spool/cron/atjobs", "/etc/systemd/system"]


def cgroups():
    out = set()
    top = "/sys/fs/cgroup"
    for root, dirs, _ in os.walk(top):
        depth = root[len(top):].count("/")
        if depth >= CGROUP_DEPTH:
            dirs[:] = []
        for name in dirs:
            out.add(os.path.join(root, name))
    return out


def names(path, field=0):
    try:
        with open(path) as f:
            return {line.split(":")[field] for line in f if ":" in line}
    except OSError:
        return set()


def pam_services():
    out = {}
    try:
        for name in os.listdir("/etc/pam.d"):
            try:
                with open(os.path.join("/etc/pam.d", name), "rb") as f:
                    out[name] = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                out[name] = "?"
    except OSError:
        pass
    return out


def mounts():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def files():
    out = set()
    for d in DIRS:
        try:
            out.update(os.path.join(d, n) for n in os.listdir(d))
        except OSError:
            pass
    return out


def state():
    return {
        "cgroups": sorted(cgroups()),
        "users": sorted(names("/etc/passwd")),
        "groups": sorted(names("/etc/group")),
        "pam": pam_services(),
        "mounts": sorted(mounts()),
        "files": sorted(files()),
    }


def stat_of(pid):
    """(ppid, state) of a process, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), rest[0]


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def left_processes():
    """The live (not zombie) processes below the subreaper that are not
    the runner or this check's own line of ancestors."""
    reaper = int(os.environ.get("NSCG_SUBREAPER", "0"))
    if not reaper:
        return []
    mine = set()
    p = os.getpid()
    while p > 1:
        mine.add(p)
        st = stat_of(p)
        if not st:
            break
        p = st[0]
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = stat_of(int(name))
        if st:
            children.setdefault(st[0], []).append((int(name), st[1]))
    out, todo = [], [reaper]
    while todo:
        for pid, s in children.get(todo.pop(), []):
            if pid in mine:
                todo.append(pid)
                continue
            if s != "Z":
                out.append(pid)
            todo.append(pid)
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("snapshot", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "snapshot":
        with open(sys.argv[2], "w") as f:
            json.dump(state(), f)
        return 0
    with open(sys.argv[2]) as f:
        before = json.load(f)
    end = time.monotonic() + DEADLINE
    while True:
        procs = left_processes()
        new_cg = sorted(cgroups() - set(before["cgroups"]))
        if (not procs and not new_cg) or time.monotonic() >= end:
            break
        time.sleep(0.2)
    now = state()
    found = {
        "processes": ["%d %s" % (p, cmdline(p)) for p in procs],
        "cgroups": new_cg,
    }
    for key in ("users", "groups", "mounts", "files"):
        found[key] = sorted(set(now[key]) - set(before[key]))
    found["pam"] = sorted(n for n, h in now["pam"].items() if before["pam"].get(n) != h) + \
        sorted("%s (removed)" % n for n in before["pam"] if n not in now["pam"])
    bad = 0
    for key, items in found.items():
        if items:
            bad += 1
            print("FAIL: leftovers/%s: %s" % (key, "; ".join(items[:20])))
        else:
            print("PASS: leftovers/%s" % key)
    for p in procs:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
