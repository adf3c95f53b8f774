#!/usr/bin/env python3
"""Time OCI runtime start: create + start + wait (+ delete) of /bin/true, runtimes interleaved.

  oci_start.py --bundle DIR --state DIR --n 200 --tag root RUNTIME=ARGV0[,ARG...] ...

RUNTIME=... names a runtime and the command prefix before `--root` (e.g.
`sifcri=/tmp/x/sifcri,oci`). Per round, in an order that alternates every round:
`create --bundle B --pid-file F ID`, `start ID`, waitpid(pid) (this process is a child
subreaper, as a shim is), `delete ID`. Prints a markdown table of p50/p90 in ms.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--tag", default="root")
    ap.add_argument("runtimes", nargs="+")
    a = ap.parse_args()
    a.rts = {}
    for item in a.runtimes:
        name, argv = item.split("=", 1)
        a.rts[name] = argv.split(",")
    return a


def call(argv, err):
    with open(err, "wb") as e:  # a file: the container inherits stderr
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=e).returncode


def one(a, name, i):
    """One round; returns {metric: ms} or None on failure."""
    base = a.rts[name] + ["--root", os.path.join(a.state, name)]
    cid, err = f"b-{a.tag}-{name}-{i}", os.path.join(a.state, f"err-{name}")
    pidf = os.path.join(a.state, cid + ".pid")
    t = [time.perf_counter()]
    if call(base + ["create", "--bundle", a.bundle, "--pid-file", pidf, cid], err) != 0:
        return fail(base, cid, err, "create")
    t.append(time.perf_counter())
    with open(pidf) as f:
        pid = int(f.read().strip())
    os.unlink(pidf)
    if call(base + ["start", cid], err) != 0:
        return fail(base, cid, err, "start")
    t.append(time.perf_counter())
    _, st = os.waitpid(pid, 0)
    t.append(time.perf_counter())
    if call(base + ["delete", cid], err) != 0 or os.waitstatus_to_exitcode(st) != 0:
        return fail(base, cid, err, f"delete/exit {st}")
    t.append(time.perf_counter())
    ms = [(y - x) * 1000 for x, y in zip(t, t[1:])]
    return {"create": ms[0], "start": ms[1], "wait": ms[2], "delete": ms[3],
            "create+start+wait": ms[0] + ms[1] + ms[2], "total": sum(ms)}


def fail(base, cid, err, what):
    with open(err, errors="replace") as f:
        print(f"{base[0]} {what} failed: {f.read().strip()}", file=sys.stderr)
    call(base + ["delete", "--force", cid], err)
    return None


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass
    except ChildProcessError:
        pass


def pct(vs, p):
    s = sorted(vs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    a = parse()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    os.makedirs(a.state, exist_ok=True)
    names = list(a.rts)
    res = {n: {} for n in names}
    fails = dict.fromkeys(names, 0)
    for i in range(-a.warmup, a.n):
        order = names if i % 2 == 0 else names[::-1]
        for n in order:
            r = one(a, n, i)
            reap()
            if r is None:
                fails[n] += 1
            elif i >= 0:
                for k, v in r.items():
                    res[n].setdefault(k, []).append(v)
    for n in names:
        for k, vs in res[n].items():
            print(f"| {a.tag} | {n} | {k} | {len(vs)} | {pct(vs, 50):.2f} | {pct(vs, 90):.2f} |")
        if fails[n]:
            print(f"| {a.tag} | {n} | FAILED | {fails[n]} | | |")


if __name__ == "__main__":
    main()
