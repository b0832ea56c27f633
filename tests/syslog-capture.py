#!/usr/bin/env python3
"""Listen on /dev/log (a datagram socket, as syslog does) and append every
message to a file, so tests can read what pam_syslog sent. Exits after a
bounded time or when the file named by --stop appears; removes /dev/log."""
import os, socket, sys, time

out, stop, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
s.settimeout(0.2)
end = time.monotonic() + limit
try:
    with open(out, "ab", buffering=0) as f:
        open(out + ".ready", "w").close()
        while time.monotonic() < end and not os.path.exists(stop):
            try:
                f.write(s.recv(65536) + b"\n")
            except socket.timeout:
                pass
finally:
    os.unlink("/dev/log")
