#!/usr/bin/env python3
# Compare nscg.conf(5) with what the policy parser accepts.
# usage: man-keys.py KEYS_FILE MAN_PAGE
# KEYS_FILE is `policy-keys keys`: NAME, global|scoped, default ("unset").
# Each key must have a tagged paragraph (.TP) in its section of the page
# (GLOBAL KEYS, SESSION KEYS or LIMIT KEYS) that says "Default: VALUE"
# ("Default: empty", "Default: not set"); each tag there must be a key.
import re
import sys

keys_file, page = sys.argv[1], sys.argv[2]
keys = {}
for line in open(keys_file):
    name, scope, default = line.rstrip("\n").split("\t")
    keys[name] = (scope, default)


def args(rest):
    """The arguments of a macro line, quotes honoured."""
    return [a[1:-1] if a.startswith('"') else a
            for a in re.findall(r'"[^"]*"|\S+', rest)]


def text(line):
    """A roff source line as plain text (font macros joined, escapes read)."""
    m = re.match(r"^\.([A-Z]{1,2})\s*(.*)$", line)
    if m:
        macro, rest = m.groups()
        if macro in ("B", "I", "SM"):
            line = " ".join(args(rest))
        elif macro in ("BR", "RB", "BI", "IB", "IR", "RI"):
            line = "".join(args(rest))
        else:
            return ""
    line = line.replace("\\c", "").replace("\\&", "").replace("\\-", "-")
    return re.sub(r"\\f[BIRP]", "", line)


# Paragraphs of the three key sections: tag -> body text.
section, tags, pending = None, {}, None
current = None
for raw in open(page):
    line = raw.rstrip("\n")
    if line.startswith(".SH"):
        section = " ".join(args(line[3:]))
        current = None
        continue
    if section not in ("GLOBAL KEYS", "SESSION KEYS", "LIMIT KEYS"):
        continue
    if line == ".TP":
        pending = True
        continue
    if pending:
        pending = None
        current = []
        for tag in re.split(r",\s*", text(line)):
            tags[tag.strip()] = (section, current)
        continue
    if line.startswith((".PP", ".SS", ".IP")):
        current = None
    elif current is not None:
        current.append(text(line))

fails = 0


def result(ok, name, msg=""):
    global fails
    if ok:
        print(f"PASS: man/nscg.conf.5/{name}")
    else:
        fails += 1
        print(f"FAIL: man/nscg.conf.5/{name}: {msg}")


want_section = {}
for name, (scope, default) in keys.items():
    if scope == "global":
        want_section[name] = "GLOBAL KEYS"
    elif "." in name:
        want_section[name] = "LIMIT KEYS"
    else:
        want_section[name] = "SESSION KEYS"

for name, (scope, default) in keys.items():
    if name not in tags:
        result(False, f"key/{name}", "not documented as a key")
        continue
    sec, body = tags[name]
    result(sec == want_section[name], f"key/{name}/section",
           f"in {sec}, want {want_section[name]}")
    said = " ".join(body)
    word = {"unset": "not set", "": "empty"}.get(default, default)
    m = re.search(r"Default: (.*?)\.(\s|$)", said + " ")
    result(m is not None and m.group(1) == word, f"key/{name}/default",
           f"says {m.group(1) if m else 'nothing'!r}, the code has {word!r}")

for tag, (sec, _) in sorted(tags.items()):
    result(tag in keys, f"tag/{tag}", f"[{sec}] documents a key the parser does not accept")
sys.exit(1 if fails else 0)
