#!/usr/bin/env python3
"""Run a command as the child of a subreaper: tests/subreaper.py CMD ARGS...

The test runner runs under this. Whatever its tests leave running when
their own parent is gone (a daemon, a nohup'd job, the processes of a
session whose opener was killed) is reparented here, not to PID 1, so:

- zombies are reaped at once, not whenever PID 1 gets round to it;
- what is left at the end is found as this process's children
  (tests/leftovers.py reads NSCG_SUBREAPER, our pid, for that).

Exits with the command's status.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        print("usage: subreaper.py CMD ARGS...", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("subreaper.py: prctl: %s" % os.strerror(ctypes.get_errno()), file=sys.stderr)
        return 2
    os.environ["NSCG_SUBREAPER"] = str(os.getpid())
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    # Ctrl-C and a kill reach the runner, which cleans up; we wait for it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: os.kill(child, s))
    status = 1
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid == child:
            status = os.waitstatus_to_exitcode(st)
            status = status if status >= 0 else 128 - status
            break
    # Reap what is still exiting, without waiting for what still runs
    # (the runner has reported it as left behind).
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    return status


if __name__ == "__main__":
    sys.exit(main())
