#!/usr/bin/env bash
# CRI lifecycle benchmark, side by side in one run: `sifcri bench cri` against
#   containerd  Debian's containerd 1.6 + runc (the CRI harness config with its own root,
#               state, socket, runc root and CNI bridge)
#   sifcri      `sifcri serve` as root (own root, state, socket and CNI bridge)
#   sifcri-user `sifcri serve` as the unprivileged user sifcri-test (with --user; skipped
#               with a message when that daemon does not come up)
# all pulling from the harness registry on 127.0.0.1:5000 through registry mirrors.
# Each runs a warm-up lifecycle, ROUNDS timed lifecycles (runp, create, start, exec sync,
# stop, rm, stopp, rmp) and PODS pods started at once; then a table of p50/p90 per step
# with ratios, the concurrent start and the memory of the daemons and their monitors.
# Everything started here is stopped and removed at the end (the registry only when this
# script started it). Root only; not part of CI.
#
#   bash bench/cri.sh [--rounds N] [--pods M] [--user] [--out DIR]
#   SIFCRI=/path/to/sifcri bash bench/cri.sh ...   (skip the release build)
#
# Needs: scripts/setup.sh, plus (installed here when missing) docker-registry, skopeo,
# umoci, busybox, gcc, libc6-dev, containerd, runc, containernetworking-plugins, iptables.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
ROUNDS=50 PODS=50 USER_RUN=0 OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --pods) PODS=$2; shift 2 ;;
    --user) USER_RUN=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bench/cri.sh [--rounds N] [--pods M] [--user] [--out DIR]" >&2; exit 2 ;;
  esac
done
HARNESS=${HARNESS:-/work/shared/cri-harness}
TUSER=sifcri-test
REG=127.0.0.1:5000
IMAGE=docker.io/library/busybox:latest
# busybox-static, not busybox: installing Debian's dynamic busybox removes busybox-static,
# whose /bin/busybox the tests copy into container root filesystems.
need=()
for p in docker-registry skopeo umoci busybox-static gcc libc6-dev containerd runc \
  containernetworking-plugins iptables python3 curl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
if [ -z "${SIFCRI:-}" ]; then
  cargo build --release --locked -p sifcri --bin sifcri --bin sifcri-runtime
  SIFCRI=${CARGO_TARGET_DIR:-$PWD/target}/release/sifcri
fi

W=$(mktemp -d /tmp/sifcri-cribench.XXXXXX)
chmod 755 "$W"
RUN=/run/sifcri-cribench
CSOCK=$RUN/containerd/containerd.sock
SSOCK=$RUN/sifcri/sifcri.sock
USOCK=$W/user/run/sifcri.sock
spid= upid=
mkdir "$W/bin"
install -m 755 "$SIFCRI" "$W/bin/sifcri"
install -m 755 "$(dirname "$SIFCRI")/sifcri-runtime" "$W/bin/sifcri-runtime"
S=$W/bin/sifcri
. bench/lib.sh

# Removes what a failed bench left in a runtime: every pod (ctl rm stops and removes it).
drain() {
  [ -S "$1" ] || return 0
  "$S" ctl --endpoint "$1" ps 2>/dev/null | awk 'NR > 1 && $2 == "-" {print $1}' |
    while read -r id; do "$S" ctl --endpoint "$1" rm "$id" >/dev/null 2>&1 || true; done
}
cleanup() {
  set +e
  drain "$CSOCK"; drain "$SSOCK"; drain "$USOCK"
  stop "$cpid"; stop "$spid"; stop "$upid"
  sweep cribench0 cribench1
}
trap cleanup EXIT

ensure_registry
start_containerd cribench cribench0 10.88.120.0/24

# sifcri (root), and its config with the registry mirrors.
sifcri_config() { # sifcri_config CNI_DIR
  cat <<EOF
[cni]
conf_dir = "$1"
EOF
  registry_config
}
mkdir -p "$W/sifcri/cni"
conflist cribench-sifcri cribench1 10.88.121.0/24 "$W/sifcri/ipam" >"$W/sifcri/cni/10-cribench.conflist"
sifcri_config "$W/sifcri/cni" >"$W/sifcri/config.toml"
"$S" serve --config "$W/sifcri/config.toml" --socket "$SSOCK" --root "$W/sifcri/root" \
  --state "$RUN/sifcri" >"$W/sifcri.log" 2>&1 & spid=$!
wait_socket "$SSOCK" "$spid" "$W/sifcri.log"

# sifcri as sifcri-test (--user): XDG dirs under $W/user, no CNI config of its own.
user_ok=0
if [ "$USER_RUN" = 1 ]; then
  mkdir -p "$W/user/run" "$W/user/data" "$W/user/cni"
  sifcri_config "$W/user/cni" >"$W/user/config.toml"
  chown -R "$TUSER:" "$W/user"
  setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups --reset-env \
    env XDG_RUNTIME_DIR="$W/user/run" XDG_DATA_HOME="$W/user/data" HOME="$W/user" \
    "$S" serve --config "$W/user/config.toml" --socket "$USOCK" \
    --root "$W/user/data/sifcri" --state "$W/user/run/sifcri" >"$W/user.log" 2>&1 & upid=$!
  if wait_socket "$USOCK" "$upid" "$W/user.log"; then user_ok=1; else
    echo "bench: SKIP sifcri-user: the unprivileged daemon did not come up (see above)" >&2
  fi
fi

echo "machine: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), sifcri $("$S" --version | awk '{print $2}')"
run_bench() { # run_bench NAME SOCKET
  echo "bench $1 ($ROUNDS rounds, $PODS pods at once) ..." >&2
  "$S" bench cri --endpoint "$2" --image "$IMAGE" --rounds "$ROUNDS" --pods "$PODS" --json \
    >"$W/$1.json"
}
run_bench containerd "$CSOCK"
run_bench sifcri "$SSOCK"
names=(containerd sifcri)
if [ "$user_ok" = 1 ]; then
  if run_bench sifcri-user "$USOCK"; then names+=(sifcri-user); else
    echo "bench: sifcri-user failed (error above); its column is left out" >&2
  fi
fi
[ -z "$OUT" ] || { mkdir -p "$OUT"; for n in "${names[@]}"; do cp "$W/$n.json" "$OUT/"; done; }
python3 - "${names[@]/#/$W/}" <<'PY'
import json, sys
runs = {p.rsplit("/", 1)[1]: json.load(open(p + ".json")) for p in sys.argv[1:]}
c, s, u = runs["containerd"], runs["sifcri"], runs.get("sifcri-user")
def step(r, name):
    return next(x for x in r["steps"] if x["step"] == name)
head = "| step | containerd p50 / p90 ms | sifcri p50 / p90 ms | sifcri/containerd p50 |"
line = "|---|---|---|---|"
if u:
    head += " sifcri-user p50 / p90 ms | user/root p50 |"; line += "---|---|"
print(head); print(line)
for x in c["steps"]:
    n = x["step"]; a, b = x, step(s, n)
    row = f"| {n} | {a['p50_ms']:.1f} / {a['p90_ms']:.1f} | {b['p50_ms']:.1f} / {b['p90_ms']:.1f} | {b['p50_ms'] / a['p50_ms']:.2f}× |"
    if u:
        v = step(u, n)
        row += f" {v['p50_ms']:.1f} / {v['p90_ms']:.1f} | {v['p50_ms'] / b['p50_ms']:.2f}× |"
    print(row)
print()
print("| | " + " | ".join(runs) + " |")
print("|---|" + "---|" * len(runs))
def row(label, f):
    print(f"| {label} | " + " | ".join(f(r) for r in runs.values()) + " |")
pods = c["concurrent"]["pods"]
row(f"{pods} pods at once: start wall ms", lambda r: f"{r['concurrent']['start_wall_ms']:.0f}")
row("per pod start p50 / p90 ms", lambda r: "{p50_ms:.0f} / {p90_ms:.0f}".format(**r["concurrent"]["start_per_pod"]))
row(f"{pods} pods: teardown wall ms", lambda r: f"{r['concurrent']['teardown_wall_ms']:.0f}")
mib = lambda k: f"{k / 1024:.1f}"
row("daemon RSS / PSS idle MiB", lambda r: mib(r["memory"]["daemon_idle"]["rss_kib"]) + " / " + mib(r["memory"]["daemon_idle"]["pss_kib"]))
row(f"daemon RSS / PSS, {pods} containers MiB", lambda r: mib(r["memory"]["daemon_loaded"]["rss_kib"]) + " / " + mib(r["memory"]["daemon_loaded"]["pss_kib"]))
row("monitor processes", lambda r: str(r["memory"]["monitors"]["count"]))
row("monitor RSS / PSS per container MiB", lambda r: mib(r["memory"]["monitors"]["per_container_rss_kib"]) + " / " + mib(r["memory"]["monitors"]["per_container_pss_kib"]))
row("helper processes (sifcri mount, pause)", lambda r: str(r["memory"]["helpers"]["count"]))
row("helper RSS / PSS per container MiB", lambda r: mib(r["memory"]["helpers"]["per_container_rss_kib"]) + " / " + mib(r["memory"]["helpers"]["per_container_pss_kib"]))
row("load average at end", lambda r: r["load_average"])
PY
