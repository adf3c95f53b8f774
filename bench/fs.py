#!/usr/bin/env python3
"""Filesystem benchmark behind bench/fs.sh: sifcri mount vs squashfuse_ll vs the kernel.

Same images for all three (the SIF for sifcri holds the very squashfs bytes the others
read). Cold = caches dropped and a fresh mount; warm = the same workload again on that
mount. Reports medians and ratios, and the serving process's peak RSS after a full read.
"""
import argparse, glob, os, random, re, shutil, statistics, subprocess, sys, time

WORKLOADS = {
    "debian": ["find", "readall", "startup"],
    "small": ["find", "readall"],
    "large": ["readall", "random4k"],
}
IMPLS = ["sifcri", "squashfuse_ll", "kernel"]
PY_IMPORTS = "import json, email.parser, http.client, asyncio, decimal, argparse, logging, unittest, xml.dom.minidom"


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def mirror():
    """The Debian mirror and suite this machine's apt uses (never hard-coded)."""
    for path in glob.glob("/etc/apt/sources.list.d/*.sources"):
        text = open(path).read()
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites:
                main = [s for s in suites.group(1).split() if "-" not in s]
                if main and "security" not in uris.group(1):
                    return uris.group(1), main[0]
    for line in open("/etc/apt/sources.list"):
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
            return parts[1], parts[2]
    sys.exit("bench: no Debian mirror found in the apt sources")


def make_trees(work, names):
    trees = os.path.join(work, "trees")
    os.makedirs(trees, exist_ok=True)
    deb = os.path.join(trees, "debian")
    if "debian" in names and not os.path.exists(os.path.join(deb, "usr/bin/python3")):
        url, suite = mirror()
        shutil.rmtree(deb, ignore_errors=True)
        sh(["debootstrap", "--variant=minbase", "--include=python3", suite, deb, url])
    small = os.path.join(trees, "small")
    if "small" in names and not os.path.exists(os.path.join(small, "d999/f99")):
        rng = random.Random(1)
        for d in range(1000):
            os.makedirs(os.path.join(small, f"d{d}"), exist_ok=True)
            for f in range(100):
                with open(os.path.join(small, f"d{d}", f"f{f}"), "wb") as fh:
                    fh.write(rng.randbytes(rng.randint(0, 4096)))
    large = os.path.join(trees, "large")
    if "large" in names and not os.path.exists(os.path.join(large, "big.bin")):
        os.makedirs(large, exist_ok=True)
        sh(["dd", "if=/dev/urandom", f"of={large}/big.part", "bs=1M", "count=1024", "status=none"])
        os.rename(f"{large}/big.part", f"{large}/big.bin")
    return {k: v for k, v in {"debian": deb, "small": small, "large": large}.items() if k in names}


def make_images(work, trees, sifcri, comps):
    out = {}
    os.makedirs(os.path.join(work, "img"), exist_ok=True)
    for name, tree in trees.items():
        for comp in comps:
            base = os.path.join(work, "img", f"{name}-{comp}")
            if not os.path.exists(base + ".sif"):
                sh(["mksquashfs", tree, base + ".sqfs", "-comp", comp, "-noappend", "-quiet", "-no-progress"])
                if os.path.exists(base + ".sif"):
                    os.remove(base + ".sif")
                sh([sifcri, "sif", "new", base + ".sif.part"])
                sh([sifcri, "sif", "add", "--datatype", "partition", "--partfs", "squashfs",
                    "--parttype", "primsys", "--partarch", "amd64", base + ".sif.part", base + ".sqfs"])
                os.rename(base + ".sif.part", base + ".sif")
            out[(name, comp)] = base
    return out


def mounted(d):
    d = os.path.realpath(d)
    return any(l.split()[4] == d for l in open("/proc/self/mountinfo"))


def server_pid(d):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                args = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if os.fsencode(d) in args and int(p) != os.getpid():
                return int(p)
    return None


def mount(impl, base, d, sifcri):
    t = time.perf_counter()
    if impl == "sifcri":
        sh([sifcri, "mount", base + ".sif", d])
    elif impl == "squashfuse_ll":
        sh(["squashfuse_ll", base + ".sqfs", d])
    else:
        sh(["mount", "-t", "squashfs", "-o", "loop,ro", base + ".sqfs", d])
    while not mounted(d):
        time.sleep(0.001)
    os.stat(os.path.join(d, "."))
    return time.perf_counter() - t


def umount(impl, d, sifcri):
    pid = server_pid(d)
    if impl == "sifcri":
        sh([sifcri, "umount", d])
    elif impl == "squashfuse_ll":
        sh(["fusermount3", "-u", d])
    else:
        sh(["umount", "-d", d])
    while pid and os.path.exists(f"/proc/{pid}") and "zombie" not in open(f"/proc/{pid}/status").read():
        time.sleep(0.005)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def run(workload, d):
    t = time.perf_counter()
    if workload == "find":
        sh(f"find {d} -printf '%s %m\\n' > /dev/null", shell=True)
    elif workload == "readall":
        sh(f"find {d} -type f -print0 | xargs -0 cat > /dev/null", shell=True)
    elif workload == "startup":
        sh(["chroot", d, "/usr/bin/python3", "-c", PY_IMPORTS])
    elif workload == "random4k":
        fd = os.open(os.path.join(d, "big.bin"), os.O_RDONLY)
        blocks = os.fstat(fd).st_size // 4096
        rng = random.Random(42)
        for _ in range(20000):
            os.pread(fd, 4096, rng.randrange(blocks) * 4096)
        os.close(fd)
    return time.perf_counter() - t


def peak_rss_kib(d):
    pid = server_pid(d)
    if not pid:
        return None
    m = re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read())
    return int(m.group(1)) if m else None


def loadavg():
    return float(open("/proc/loadavg").read().split()[0])


def loadline():
    return open("/proc/loadavg").read().strip()


def bench(images, sifcri, runs, mnt, workloads):
    """Every cell `runs` times; within a run the implementations take turns, in an
    order that rotates from run to run, so load from elsewhere hits all of them."""
    res = {}  # (image, comp, metric, mode) -> {impl: [seconds]}
    mem = {}  # (image, comp) -> {impl: [KiB]}
    loads = []
    for (name, comp), base in images.items():
        # "mount" alone: only cold mounts (each other workload also times its mount)
        wls = ["mount"] if workloads == ["mount"] else [w for w in WORKLOADS[name] if w in workloads]
        for wl in wls:
            for r in range(runs):
                for impl in IMPLS[r % len(IMPLS):] + IMPLS[:r % len(IMPLS)]:
                    loads.append(loadavg())
                    drop_caches()
                    mt = mount(impl, base, mnt, sifcri)
                    res.setdefault((name, comp, "mount", "cold"), {}).setdefault(impl, []).append(mt)
                    if wl == "mount":
                        umount(impl, mnt, sifcri)
                        continue
                    cold = run(wl, mnt)
                    if wl == "readall":
                        mem.setdefault((name, comp), {}).setdefault(impl, []).append(peak_rss_kib(mnt))
                    warm = run(wl, mnt)
                    umount(impl, mnt, sifcri)
                    res.setdefault((name, comp, wl, "cold"), {}).setdefault(impl, []).append(cold)
                    res.setdefault((name, comp, wl, "warm"), {}).setdefault(impl, []).append(warm)
            print(f"bench: {name}-{comp} {wl} done (load {loadavg():.1f})", file=sys.stderr, flush=True)
    return res, mem, loads


def fmt(x):
    return "–" if x is None else (f"{x*1000:.1f} ms" if x < 1 else f"{x:.2f} s")


def ratio(a, b):
    return "–" if not a or not b else f"{a / b:.2f}×"


def report(res, mem, loads, runs, command, images, around):
    med = lambda v: statistics.median(v) if v else None
    out = []
    out.append(f"Command: `{command}`  ")
    out.append(f"`/proc/loadavg` before: `{around[0]}`, after: `{around[1]}`.  ")
    out.append(f"Load average (1 min) at the start of each cell: median {statistics.median(loads):.1f}, "
               f"min {min(loads):.1f}, max {max(loads):.1f}.  ")
    out.append(f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, kernel {os.uname().release}, "
               f"{os.cpu_count()} CPUs, {runs} runs per cell (implementations interleaved), medians. sifcri release build, "
               f"{IMPLS[1]} {subprocess.run(['dpkg-query','-W','-f=${Version}','squashfuse'],capture_output=True,text=True).stdout}, "
               "kernel squashfs over a loop device (the ceiling; benchmark only).  ")
    out.append("Cold: caches dropped (`echo 3 > /proc/sys/vm/drop_caches`) and a fresh mount; warm: the same "
               "workload again on that mount. Ratios: time of sifcri divided by the other's (below 1 = sifcri faster).\n")
    sizes = {k: os.path.getsize(v + ".sqfs") for k, v in images.items()}
    out.append("Images: `debian` = debootstrap minbase + python3; `small` = 100,000 files of 0–4 KiB in 1,000 "
               "directories; `large` = one 1 GiB random file. Workloads: `mount` (until the mountpoint answers), "
               "`find` (stat of every entry), `readall` (cat of every file), `startup` (chroot, "
               "`python3 -c 'import json, email.parser, http.client, asyncio, …'`), `random4k` (20,000 "
               "preads of 4 KiB at seeded random offsets of the 1 GiB file).\n")
    out.append("Image sizes: " + ", ".join(f"{n}-{c} {s/2**20:.0f} MiB" for (n, c), s in sorted(sizes.items())) + "\n")
    out.append("| image | workload | mode | sifcri | squashfuse_ll | kernel | sifcri/squashfuse_ll | sifcri/kernel |")
    out.append("|---|---|---|---|---|---|---|---|")
    for (name, comp, wl, mode), v in res.items():
        s, q, k = (med(v.get(i, [])) for i in IMPLS)
        out.append(f"| {name}-{comp} | {wl} | {mode} | {fmt(s)} | {fmt(q)} | {fmt(k)} | {ratio(s, q)} | {ratio(s, k)} |")
    out.append("\nPeak RSS (VmHWM) of the serving process after a cold full read, median:\n")
    out.append("| image | sifcri | squashfuse_ll |")
    out.append("|---|---|---|")
    for (name, comp), m in mem.items():
        f = lambda kib: "–" if kib is None else f"{kib/1024:.1f} MiB"
        kib = lambda impl: med([k for k in m.get(impl, []) if k is not None])
        out.append(f"| {name}-{comp} | {f(kib('sifcri'))} | {f(kib('squashfuse_ll'))} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sifcri", required=True)
    ap.add_argument("--work", default="/var/tmp/sifcri-bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--comps", default="gzip,zstd")
    ap.add_argument("--images", default="debian,small,large")
    ap.add_argument("--workloads", default="find,readall,startup,random4k",
                    help="which of find,readall,startup,random4k to run (mount time is measured by each); "
                    "'mount' alone runs only cold mounts")
    ap.add_argument("--out", default="-", help="where the report (a section of docs/benchmarks.md) goes; - = stdout only")
    a = ap.parse_args()
    trees = make_trees(a.work, a.images.split(","))
    images = make_images(a.work, trees, a.sifcri, a.comps.split(","))
    mnt = os.path.join(a.work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    before = loadline()
    res, mem, loads = bench(images, a.sifcri, a.runs, mnt, a.workloads.split(","))
    after = loadline()
    command = "bash bench/fs.sh " + " ".join(sys.argv[3:])
    text = report(res, mem, loads, a.runs, command.strip(), images, (before, after))
    if a.out != "-":
        open(a.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
