#!/usr/bin/env python3
"""fuzz-campaign.py - the ledger of bench/fuzz.sh: executions of each fuzz
target accumulated over runs that resume from the same corpus, grouped by
campaign.

A campaign is one target against one version of the code it exercises: its
key is a hash of the target's source, the shared harness (fuzz/src,
fuzz/Cargo.toml) and every source file of the workspace crates the target
uses, directly or through other workspace crates (read from the target's
`use v6edge_*` lines and the crates' Cargo.toml). Changing any of them
starts a new campaign from zero; changing an unrelated crate does not.
A crash ends a campaign: it counts as failed until the code changes.

  key ROOT TARGET...              prints "TARGET KEY" lines, one per target
  add LEDGER ROOT SUMMARY [KEYS]  appends a run's summary rows (scripts/fuzz.sh
                                  --summary format) with their keys: those in
                                  KEYS ("TARGET KEY" lines, taken when the run
                                  started: the code may change while it runs),
                                  else computed now
  total LEDGER ROOT TARGET        prints "EXECUTIONS RUNS CRASHES" of the
                                  target's current campaign
"""
import hashlib
import os
import re
import sys
import time


def workspace_deps(root, crate):
    """Workspace crates `crate` depends on (names like 'wire')."""
    toml = os.path.join(root, "crates", crate, "Cargo.toml")
    try:
        text = open(toml, encoding="utf-8").read()
    except OSError:
        return set()
    return set(re.findall(r"^v6edge-([a-z0-9]+)\s*[.=]", text, re.M))


def crates_of(root, target):
    names = set()
    for path in [os.path.join(root, "fuzz", "fuzz_targets", target + ".rs")] + [
        os.path.join(root, "fuzz", "src", f)
        for f in sorted(os.listdir(os.path.join(root, "fuzz", "src")))
    ]:
        text = open(path, encoding="utf-8", errors="replace").read()
        names |= {n for n in re.findall(r"\bv6edge_([a-z0-9]+)", text) if n != "fuzz"}
    todo, seen = list(names), set()
    while todo:
        c = todo.pop()
        if c in seen or not os.path.isdir(os.path.join(root, "crates", c)):
            continue
        seen.add(c)
        todo.extend(workspace_deps(root, c))
    return sorted(seen)


def files_under(directory):
    out = []
    for base, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in ("target", "tests", "benches"))
        out.extend(os.path.join(base, f) for f in sorted(files))
    return out


def key(root, target):
    h = hashlib.sha256()
    paths = [
        os.path.join(root, "fuzz", "fuzz_targets", target + ".rs"),
        os.path.join(root, "fuzz", "Cargo.toml"),
    ] + files_under(os.path.join(root, "fuzz", "src"))
    for c in crates_of(root, target):
        paths.append(os.path.join(root, "crates", c, "Cargo.toml"))
        paths += files_under(os.path.join(root, "crates", c, "src"))
    for p in paths:
        h.update(os.path.relpath(p, root).encode() + b"\0")
        with open(p, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()[:16]


def rows(ledger):
    try:
        with open(ledger, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 6 and not line.startswith("#"):
                    yield parts
    except OSError:
        return


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "key" and len(argv) >= 4:
        for t in argv[3:]:
            print(t, key(argv[2], t))
    elif cmd == "add" and len(argv) in (5, 6):
        ledger, root, summary = argv[2:5]
        started = {}
        if len(argv) == 6:
            with open(argv[5], encoding="utf-8") as f:
                started = dict(line.split()[:2] for line in f if len(line.split()) >= 2)
        new = not os.path.exists(ledger)
        with open(summary, encoding="utf-8") as s, open(ledger, "a", encoding="utf-8") as out:
            if new:
                out.write("# finished target campaign executions seconds crashes\n")
            for line in s.read().splitlines()[1:]:
                t, execs, secs, _rate, _corpus, crashes = line.split()[:6]
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                k = started.get(t) or key(root, t)
                out.write(f"{stamp} {t} {k} {execs} {secs} {crashes}\n")
    elif cmd == "total" and len(argv) == 5:
        ledger, root, target = argv[2:5]
        k = key(root, target)
        execs = runs = crashes = 0
        for _stamp, t, kk, e, _s, c in rows(ledger):
            if t == target and kk == k:
                execs += int(e)
                runs += 1
                crashes += int(c)
        print(execs, runs, crashes)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
