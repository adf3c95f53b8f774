#!/usr/bin/env bash
# The main job: build a small SIF image from a busybox tree, serve it through sifcri's
# FUSE squashfs driver (no loop device), list and read it, run a program from it, and
# unmount; as root, also start the CRI daemon and run the image in a pod with
# `sifcri ctl`. Works as root or as an ordinary user, after `bash scripts/setup.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

# SIFCRI_BIN=path skips the build and uses that binary.
if [ -n "${SIFCRI_BIN:-}" ]; then
  sifcri=$SIFCRI_BIN
else
  cargo build --release --locked --bin sifcri --bin sifcri-runtime
  sifcri=${CARGO_TARGET_DIR:-$PWD/target}/release/sifcri
fi

work=$(mktemp -d /tmp/sifcri-demo.XXXXXX)
mnt=$work/mnt
cleanup() {
  "$sifcri" umount "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a small root filesystem from busybox-static"
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh ls cat echo; do ln -s busybox "$rootfs/bin/$applet"; done
echo "hello from inside a SIF image" >"$rootfs/etc/motd"

echo "== mksquashfs, then our own SIF writer"
mksquashfs "$rootfs" "$work/rootfs.sqfs" -comp zstd -noappend -quiet -no-progress
"$sifcri" sif new "$work/demo.sif"
"$sifcri" sif add --datatype partition --partfs squashfs --parttype primsys --partarch amd64 \
  "$work/demo.sif" "$work/rootfs.sqfs"
"$sifcri" sif list "$work/demo.sif"

echo "== sifcri mount (FUSE, no loop device)"
mkdir "$mnt"
"$sifcri" mount "$work/demo.sif" "$mnt"
grep " $mnt " /proc/self/mountinfo
ls -la "$mnt" "$mnt/bin"
cat "$mnt/etc/motd"
"$mnt/bin/busybox" --help | sed -n 1,3p

echo "== sifcri umount"
"$sifcri" umount "$mnt"
for _ in $(seq 50); do grep -q " $mnt " /proc/self/mountinfo || break; sleep 0.1; done
if grep -q " $mnt " /proc/self/mountinfo; then echo "demo: still mounted" >&2; exit 1; fi
if [ "$(id -u)" = 0 ]; then
  echo "== sifcri serve (the CRI daemon), the image imported, a pod run with sifcri ctl"
  mkdir -p "$work/cni"
  printf '[cni]\nconf_dir = "%s"\n' "$work/cni" >"$work/serve.toml"
  "$sifcri" serve --config "$work/serve.toml" --socket "$work/cri.sock" \
    --root "$work/root" --state "$work/state" 2>"$work/serve.log" &
  daemon=$!
  trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; cleanup' EXIT
  for _ in $(seq 100); do [ -S "$work/cri.sock" ] && break; sleep 0.1; done
  "$sifcri" image import --root "$work/root" "$work/demo.sif" localhost/demo:latest
  "$sifcri" ctl --endpoint "$work/cri.sock" run --rm localhost/demo:latest -- \
    sh -c 'cat /etc/motd; echo "running in a pod, pid $$"'
  kill "$daemon"
  wait "$daemon" || true
  trap cleanup EXIT
fi
echo "demo: ok"
