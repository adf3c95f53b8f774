#!/usr/bin/env bash
# Streaming benchmark (issue 6), side by side in one run: crictl exec through the Exec RPC
# and the SPDY streaming server of
#   containerd  Debian's containerd 1.6 + runc (the CRI harness config, its paths moved here,
#               as bench/cri.sh does)
#   sifcri      `sifcri serve` as root (own root, state, socket and CNI bridge)
# both pulling docker.io/library/busybox:latest from the harness registry on 127.0.0.1:5000.
# Per runtime: runp + create + start a busybox container running `sleep 3600`, write a
# 100 MiB file in it once, then time N runs of `crictl exec ID true` (round trip: Exec RPC,
# SPDY upgrade, process start, exit status) -> p50/p90, and R runs of
# `crictl exec ID cat /tmp/big > /dev/null` -> median MiB/s. Prints a table with ratios.
# Everything started here is stopped and removed at the end (the registry only when this
# script started it). Root only; not part of CI.
#
#   bash bench/stream.sh [--n N] [--reads R]
#   SIFCRI=/path/to/sifcri bash bench/stream.sh   (else /work/target-ci/debug/sifcri when it
#   exists, else target/debug/sifcri; no build here)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
N=30 READS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --n) N=$2; shift 2 ;;
    --reads) READS=$2; shift 2 ;;
    *) echo "usage: bench/stream.sh [--n N] [--reads R]" >&2; exit 2 ;;
  esac
done
HARNESS=${HARNESS:-/work/shared/cri-harness}
CRICTL=${CRICTL:-/opt/cri-tools/bin/crictl}
REG=127.0.0.1:5000
IMAGE=docker.io/library/busybox:latest
if [ -z "${SIFCRI:-}" ]; then
  if [ -x /work/target-ci/debug/sifcri ]; then SIFCRI=/work/target-ci/debug/sifcri
  else SIFCRI=${CARGO_TARGET_DIR:-$PWD/target}/debug/sifcri; fi
fi
[ -x "$SIFCRI" ] || { echo "bench: no sifcri binary at $SIFCRI (set SIFCRI=)" >&2; exit 1; }
[ -x "$CRICTL" ] || { echo "bench: no crictl at $CRICTL (see $HARNESS/README.md)" >&2; exit 1; }

W=$(mktemp -d /tmp/sifcri-streambench.XXXXXX)
chmod 755 "$W"
RUN=/run/sifcri-streambench
CSOCK=$RUN/containerd/containerd.sock
SSOCK=$RUN/sifcri/sifcri.sock
spid=
mkdir "$W/bin"
install -m 755 "$SIFCRI" "$W/bin/sifcri" # a copy: a rebuild during the run does not touch it
install -m 755 "$(dirname "$SIFCRI")/sifcri-runtime" "$W/bin/sifcri-runtime"
S=$W/bin/sifcri
. bench/lib.sh

crictl() { local sock=$1; shift; "$CRICTL" -r "unix://$sock" -i "unix://$sock" -t 60s "$@"; }
drain() { # removes every pod of a runtime (rmp -f stops and removes its containers)
  [ -S "$1" ] || return 0
  crictl "$1" rmp -fa >/dev/null 2>&1 || true
}
cleanup() {
  set +e
  drain "$CSOCK"; drain "$SSOCK"
  stop "$cpid"; stop "$spid"
  sweep strbench0 strbench1
}
trap cleanup EXIT

ensure_registry
start_containerd streambench strbench0 10.88.122.0/24

# sifcri (root) with the registry mirrors; streaming server on 127.0.0.1, a free port.
mkdir -p "$W/sifcri/cni"
conflist streambench-sifcri strbench1 10.88.123.0/24 "$W/sifcri/ipam" >"$W/sifcri/cni/10-streambench.conflist"
cat >"$W/sifcri/config.toml" <<EOF
[cni]
conf_dir = "$W/sifcri/cni"
[streaming]
address = "127.0.0.1:0"
$(registry_config)
EOF
"$S" serve --config "$W/sifcri/config.toml" --socket "$SSOCK" --root "$W/sifcri/root" \
  --state "$RUN/sifcri" >"$W/sifcri.log" 2>&1 & spid=$!
wait_socket "$SSOCK" "$spid" "$W/sifcri.log"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(uname -r), $(nproc) CPUs, load average $LOAD_BEFORE"
echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), sifcri $("$S" --version | awk '{print $2}') ($SIFCRI)"

now() { date +%s%N; }
run_bench() { # run_bench NAME SOCKET: writes $W/NAME.lat (ns per exec true) and NAME.read (ns per cat)
  local name=$1 sock=$2 pod ctr t0 i
  echo "bench $name ($N x exec true, $READS x cat 100 MiB) ..." >&2
  cat >"$W/$name-pod.json" <<EOF
{"metadata": {"name": "streambench-$name", "namespace": "default", "uid": "streambench-$name-uid", "attempt": 0},
 "log_directory": "$W/$name-logs", "linux": {}}
EOF
  cat >"$W/$name-ctr.json" <<EOF
{"metadata": {"name": "sleeper"}, "image": {"image": "$IMAGE"},
 "command": ["sleep", "3600"], "log_path": "sleeper.log", "linux": {}}
EOF
  crictl "$sock" pull "$IMAGE" >/dev/null
  pod=$(crictl "$sock" runp "$W/$name-pod.json")
  ctr=$(crictl "$sock" create "$pod" "$W/$name-ctr.json" "$W/$name-pod.json")
  crictl "$sock" start "$ctr" >/dev/null
  crictl "$sock" exec "$ctr" dd if=/dev/zero of=/tmp/big bs=1M count=100 >/dev/null 2>&1
  [ "$(crictl "$sock" exec "$ctr" wc -c /tmp/big | awk '{print $1}')" = 104857600 ] ||
    { echo "bench: $name: /tmp/big is not 100 MiB" >&2; return 1; }
  crictl "$sock" exec "$ctr" true # warm-up
  : >"$W/$name.lat"
  for i in $(seq 1 "$N"); do
    t0=$(now); crictl "$sock" exec "$ctr" true; echo $(($(now) - t0)) >>"$W/$name.lat"
  done
  : >"$W/$name.read"
  for i in $(seq 1 "$READS"); do
    t0=$(now); crictl "$sock" exec "$ctr" cat /tmp/big >"$W/$name.out"
    echo $(($(now) - t0)) >>"$W/$name.read"
    [ "$(stat -c %s "$W/$name.out")" = 104857600 ] ||
      { echo "bench: $name: cat returned $(stat -c %s "$W/$name.out") bytes" >&2; return 1; }
    rm -f "$W/$name.out"
  done
  crictl "$sock" rmp -f "$pod" >/dev/null
}
run_bench containerd "$CSOCK"
run_bench sifcri "$SSOCK"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$W" "$N" "$READS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import sys, statistics
w, n, reads, before, after = sys.argv[1:]
def load(name, ext):
    return sorted(int(x) / 1e6 for x in open(f"{w}/{name}.{ext}"))  # ms
def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
r = {}
for name in ("containerd", "sifcri"):
    lat, rd = load(name, "lat"), load(name, "read")
    r[name] = dict(p50=pct(lat, 50), p90=pct(lat, 90), mibs=100 / (statistics.median(rd) / 1000))
c, s = r["containerd"], r["sifcri"]
print(f"| crictl exec (SPDY) | containerd | sifcri | sifcri/containerd |")
print("|---|---|---|---|")
print(f"| `exec true` p50 ms ({n} runs) | {c['p50']:.1f} | {s['p50']:.1f} | {s['p50'] / c['p50']:.2f}× |")
print(f"| `exec true` p90 ms | {c['p90']:.1f} | {s['p90']:.1f} | {s['p90'] / c['p90']:.2f}× |")
print(f"| `exec cat` 100 MiB, median MiB/s ({reads} runs) | {c['mibs']:.0f} | {s['mibs']:.0f} | {s['mibs'] / c['mibs']:.2f}× |")
print()
print(f"load average before: {before}; after: {after}")
lat_ok = s["p50"] < c["p50"]
thr_ok = s["mibs"] > c["mibs"]
print(f"targets: lower latency (p50) than containerd: {'yes' if lat_ok else 'NO'}; "
      f"higher throughput: {'yes' if thr_ok else 'NO'}")
PY
