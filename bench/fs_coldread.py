#!/usr/bin/env python3
"""Which bytes of some files a cold run of a command reads from disk (root; perf, filefrag).

    python3 bench/fs_coldread.py FILE[,FILE...] -- COMMAND...

Drops the page cache, runs COMMAND under `perf record -e block:block_rq_issue -a`, and
prints every disk request that falls into one of the FILEs (time since the first,
offset in the file, size), then the total: e.g. how much of the `sifcri` binary a cold
`sifcri mount` reads, and when (docs/fusefs.md, "Cold mount"). The FILEs must be on one
block device; other processes' reads of them count too (run it on a quiet machine).
"""
import os, re, subprocess, sys, tempfile


def device(path):
    """(major, minor) of the whole disk holding `path`, and the sector where its partition starts."""
    st = os.stat(path)
    sys_dir = os.path.realpath(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    start = 0
    if os.path.exists(os.path.join(sys_dir, "partition")):
        start = int(open(os.path.join(sys_dir, "start")).read())
        sys_dir = os.path.dirname(sys_dir)
    major, minor = open(os.path.join(sys_dir, "dev")).read().strip().split(":")
    return f"{major},{minor}", start


def extents(path, start):
    """[(first sector, end sector, byte offset in the file)] of `path` on its disk."""
    out = subprocess.run(["filefrag", "-v", "-b512", path], capture_output=True, text=True, check=True).stdout
    ext = []
    for line in out.splitlines():
        m = re.match(r"\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):", line)
        if m:
            first = int(m.group(3)) + start
            ext.append((first, first + int(m.group(4)) - int(m.group(3)) + 1, int(m.group(1)) * 512))
    return ext


def main():
    if "--" not in sys.argv or len(sys.argv) < 4:
        sys.exit(__doc__)
    files = sys.argv[1].split(",")
    cmd = sys.argv[sys.argv.index("--") + 1:]
    os.sync()  # files just written have no extents yet
    dev, start = device(files[0])
    ext = [(a, b, off, os.path.basename(f)) for f in files for a, b, off in extents(f, start)]
    open("/proc/sys/vm/drop_caches", "w").write("3\n")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "-q", "-o", data, "-e", "block:block_rq_issue", "-a", "--"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        trace = subprocess.run(["perf", "script", "-i", data, "-F", "time,trace"],
                               capture_output=True, text=True).stdout
    rows, seen = [], set()
    for line in trace.splitlines():
        m = re.search(r"([\d.]+):\s+(\d+,\d+) \S+ \d+ \(\) (\d+) \+ (\d+)", line)
        if not m or m.group(2) != dev:
            continue
        t, sector, n = float(m.group(1)), int(m.group(3)), int(m.group(4))
        if (sector, n) in seen:  # a request issued again after a requeue
            continue
        seen.add((sector, n))
        for first, end, off, name in ext:
            if first <= sector < end:
                rows.append((t, name, off + (sector - first) * 512, n * 512))
    t0 = rows[0][0] if rows else 0
    for t, name, off, n in rows:
        print(f"{(t - t0) * 1000:8.2f} ms  {name:20s} offset {off / 2**20:8.2f} MiB  {n // 1024:6d} KiB")
    print(f"total {sum(r[3] for r in rows) / 2**20:.2f} MiB in {len(rows)} requests")


if __name__ == "__main__":
    main()
