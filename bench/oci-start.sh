#!/usr/bin/env bash
# OCI runtime start benchmark: create + start + wait (+ delete) of /bin/true on one
# busybox bundle, N rounds, runtimes interleaved in one run: Debian's runc and crun
# against `sifcri oci`, as root and as the unprivileged user sifcri-test. Not part of CI.
#
#   bash bench/oci-start.sh [N]            (root; N defaults to 200)
#   SIFCRI=/path/to/sifcri bash bench/oci-start.sh [N]   (skip the cargo build)
#   SIFCRI_BASE=/path/to/older/sifcri ...   (also time that build, as sifcri-base)
#
# Needs (benchmark only, not in scripts/setup.sh; installed here when missing): runc,
# crun, busybox-static, python3. The user sifcri-test comes from scripts/setup.sh.
# The bundle is built without a registry: busybox-static as rootfs/bin/busybox with
# links true and sh, and `runc spec` (as sifcri-test: `runc spec --rootless`) with
# process.args = /bin/true and terminal false.
# crun 1.8 refuses the hybrid cgroup layout of hosts with /sys/fs/cgroup/unified, so
# the runs that include crun happen in a private mount namespace with that mount
# unmounted (pure cgroup v1); sifcri and runc are also timed on the layout as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
N=${1:-200}
TUSER=sifcri-test
need=()
for p in runc crun busybox-static python3; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
[ ${#need[@]} = 0 ] || apt-get install -y -q --no-install-recommends "${need[@]}"
if [ -z "${SIFCRI:-}" ]; then
  cargo build --release -p sifcri
  SIFCRI=${CARGO_TARGET_DIR:-$PWD/target}/release/sifcri
fi

W=$(mktemp -d /tmp/sifcri-ocibench.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
install -m 755 "$SIFCRI" "$W/sifcri"
install -m 755 "$(dirname "$SIFCRI")/sifcri-runtime" "$W/sifcri-runtime"
install -m 755 bench/oci_start.py "$W/oci_start.py"
BASE=""
if [ -n "${SIFCRI_BASE:-}" ]; then
  # its own directory: a build with the small `sifcri` finds its sifcri-runtime there
  mkdir "$W/base"
  install -m 755 "$SIFCRI_BASE" "$W/base/sifcri"
  rt=$(dirname "$SIFCRI_BASE")/sifcri-runtime
  [ ! -e "$rt" ] || install -m 755 "$rt" "$W/base/sifcri-runtime"
  BASE="sifcri-base=$W/base/sifcri,oci"
fi

bundle() { # bundle DIR [--rootless]; run as the bundle's owner
  mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/dev" "$1/rootfs/sys" "$1/rootfs/tmp"
  cp /bin/busybox "$1/rootfs/bin/busybox"
  ln -sf busybox "$1/rootfs/bin/true"; ln -sf busybox "$1/rootfs/bin/sh"
  (cd "$1" && runc spec ${2:-})
  python3 - "$1/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["process"].pop("oomScoreAdj", None)
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
}
export -f bundle
bundle "$W/root"
mkdir -p "$W/user"; chown "$TUSER:" "$W/user"
runuser -u "$TUSER" -- bash -c "bundle $W/user/bundle --rootless"

T="python3 $W/oci_start.py --n $N"
ROOT="runc=runc crun=crun sifcri=$W/sifcri,oci $BASE"
USER_RTS="runc=runc crun=crun sifcri=$W/sifcri,oci $BASE"
{ uname -r; nproc; runc --version | head -1; crun --version | head -1; uptime; } >"$W/machine"
cat "$W/machine"
echo
echo "| mode | runtime | metric | n | p50 ms | p90 ms |"
echo "|---|---|---|---|---|---|"
$T --bundle "$W/root" --state /run/sifcri-ocibench --tag root-hybrid runc=runc "sifcri=$W/sifcri,oci" $BASE
unshare -m --propagation private bash -c "
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  $T --bundle $W/root --state /run/sifcri-ocibench --tag root-v1 $ROOT
  runuser -u $TUSER -- env HOME=$W/user XDG_RUNTIME_DIR=$W/user \
    $T --bundle $W/user/bundle --state $W/user/state --tag $TUSER-v1 $USER_RTS
"
rm -rf /run/sifcri-ocibench
uptime
