#!/usr/bin/env bash
# Pull + convert of a realistic multi-layer image from the local registry, side by side:
#   sifcri    `sifcri pull -q --root FRESH REF` (release build): download, apply layers into
#             an in-memory tree + spool, squashfs written in-process (fusefs::write), SIF
#   sifcri-mksquashfs  the same with an older build that staged the tree on disk and ran
#             mksquashfs (only when SIFCRI_MKSQUASHFS names such a binary)
#   containerd `ctr -n k8s.io images pull --plain-http REF` against a private containerd 1.6
#             (fresh root each round): download into the content store + unpack into the
#             overlayfs snapshotter (ctr's default); no crictl here, so not through the CRI
#   skopeo    `skopeo copy docker://REF oci:DIR:img` -> `umoci unpack` -> `mksquashfs rootfs`
#             with the compressor sifcri uses (zstd level 3; all CPUs, as sifcri)
# Every round uses fresh stores for all three; the registry's blobs are read once before
# the rounds so that all three find them in the page cache. Peak RSS: GNU time's
# "Maximum resident set size" (the largest of the process and the children it waited
# for, i.e. mksquashfs included); for containerd the daemon's VmHWM (reset before each
# pull through /proc/PID/clear_refs) and ctr's are both reported.
#
# Usage (root): bench/pull-compare.sh [rounds=3]
#   SIFCRI=path/to/sifcri (default target/release/sifcri, built if missing)
#   SIFCRI_MKSQUASHFS=path/to/older/sifcri (optional: a build before the in-process writer)
#   IMAGE=library/debian-python:bookworm (built by the CRI harness if missing)
#   WORK=/var/tmp/pullbench (scratch, removed at the end)
set -euo pipefail
rounds=${1:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
harness=${HARNESS:-/work/shared/cri-harness}
bin=${SIFCRI:-$here/target/release/sifcri}
reg=127.0.0.1:5000
image=${IMAGE:-library/debian-python:bookworm}
ref=$reg/$image
work=${WORK:-/var/tmp/pullbench}
csock=/run/pullbench-containerd/containerd.sock

need=()
for p in docker-registry skopeo umoci containerd runc debootstrap squashfs-tools time curl python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
[ -x "$bin" ] || (cd "$here" && cargo build --release -p sifcri)

started_registry=0
cpid=
cleanup() {
  if [ -n "$cpid" ]; then kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true; fi
  if [ "$started_registry" = 1 ]; then kill "$(cat /run/harness-registry.pid)" 2>/dev/null || true; fi
  umount -R "$work"/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs 2>/dev/null || true
  rm -rf "$work" /run/pullbench-containerd
}
trap cleanup EXIT
rm -rf "$work"; mkdir -p "$work"

if ! curl -fsS -o /dev/null "http://$reg/v2/" 2>/dev/null; then
  "$harness/start-registry.sh" >/dev/null; started_registry=1
fi
accept='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
manifest() { curl -fsS -H "Accept: $accept" "http://$reg/v2/${image%:*}/manifests/${image##*:}"; }
manifest >/dev/null 2>&1 || "$harness/build-test-images.sh" --only-debian >/dev/null
# Warm the registry's blobs into the page cache (the same for every contender).
manifest >"$work/manifest.json"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print(d["digest"], d["size"]) for d in [m["config"]]+m["layers"]]' \
  "$work/manifest.json" >"$work/blobs"
total=0
while read -r d s; do
  curl -fsS -o /dev/null "http://$reg/v2/${image%:*}/blobs/$d"; total=$((total + s))
done <"$work/blobs"
echo "image: $ref, $(($(wc -l <"$work/blobs") - 1)) layers, $((total / 1024 / 1024)) MiB compressed"

# A private containerd (the harness config, own root/state/socket), fresh root each round.
sed -e "s#/var/lib/harness-containerd/root#$work/containerd/root#" \
  -e 's#/run/harness-containerd#/run/pullbench-containerd#g' \
  "$harness/containerd/config.toml" >"$work/containerd.toml"
start_containerd() {
  rm -rf "$work/containerd" /run/pullbench-containerd; mkdir -p "$work/containerd" /run/pullbench-containerd
  containerd --config "$work/containerd.toml" >>"$work/containerd.log" 2>&1 & cpid=$!
  until ctr -a "$csock" version >/dev/null 2>&1; do sleep 0.1; done
}
stop_containerd() {
  kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=
  umount "$work"/containerd/root/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs 2>/dev/null || true
}

# timed NAME CMD...: runs CMD under GNU time, appends "NAME seconds maxrss_kib" to $work/results.
timed() {
  local name=$1; shift
  local s=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$work/time.out" "$@" >"$work/cmd.log" 2>&1 || { cat "$work/cmd.log" >&2; return 1; }
  local e=$EPOCHREALTIME
  echo "$name $(python3 -c "print(f'{$e - $s:.3f}')") $(tail -1 "$work/time.out")" | tee -a "$work/results"
}
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

: >"$work/results"
for r in $(seq 1 "$rounds"); do
  echo "round $r (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  sync
  timed sifcri "$bin" pull -q --root "$work/sifcri" "$ref"
  rm -rf "$work/sifcri"; sync
  if [ -n "${SIFCRI_MKSQUASHFS:-}" ]; then
    timed sifcri-mksquashfs "$SIFCRI_MKSQUASHFS" pull -q --root "$work/sifcri" "$ref"
    rm -rf "$work/sifcri"; sync
  fi

  start_containerd
  echo 5 >"/proc/$cpid/clear_refs"
  timed containerd ctr -a "$csock" -n k8s.io images pull --plain-http "$ref"
  echo "containerd-daemon 0 $(hwm "$cpid")" | tee -a "$work/results"
  stop_containerd; rm -rf "$work/containerd"; sync

  d=$work/skopeo
  mkdir -p "$d"
  s=$EPOCHREALTIME
  timed skopeo-copy skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$d/layout:img"
  timed umoci-unpack umoci unpack --image "$d/layout:img" "$d/bundle"
  timed mksquashfs mksquashfs "$d/bundle/rootfs" "$d/out.sqfs" -noappend -no-progress -quiet \
    -comp zstd -Xcompression-level 3
  e=$EPOCHREALTIME
  echo "skopeo-pipeline $(python3 -c "print(f'{$e - $s:.3f}')") 0" | tee -a "$work/results"
  rm -rf "$d"; sync
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, rss = line.split()
    rows.setdefault(name, []).append((float(secs), int(rss)))
med = {k: statistics.median(s for s, _ in v) for k, v in rows.items()}
peak = {k: max(m for _, m in v) / 1024 for k, v in rows.items()}
pipe_peak = max(peak[k] for k in ("skopeo-copy", "umoci-unpack", "mksquashfs"))
print(f"\nmedians over {len(rows['sifcri'])} rounds (seconds), peak RSS (MiB, max over rounds):")
print(f"| contender | median | all rounds | peak RSS |")
print(f"|---|---|---|---|")
def row(k, label, rss):
    allr = ", ".join(f"{s:.2f}" for s, _ in rows[k])
    print(f"| {label} | {med[k]:.2f} s | {allr} | {rss} |")
row("sifcri", "sifcri pull (in-process squashfs writer)", f"{peak['sifcri']:.1f} MiB")
if "sifcri-mksquashfs" in rows:
    row("sifcri-mksquashfs", "sifcri pull, older build (staged tree + mksquashfs)",
        f"{peak['sifcri-mksquashfs']:.1f} MiB")
row("containerd", "containerd pull + unpack (ctr)",
    f"ctr {peak['containerd']:.1f} MiB, daemon {peak['containerd-daemon']:.1f} MiB")
row("skopeo-pipeline", "skopeo copy + umoci unpack + mksquashfs", f"{pipe_peak:.1f} MiB (largest step)")
for k, label in (("skopeo-copy", "  skopeo copy"), ("umoci-unpack", "  umoci unpack"), ("mksquashfs", "  mksquashfs")):
    row(k, label, f"{peak[k]:.1f} MiB")
print(f"\nratio sifcri/containerd: {med['sifcri'] / med['containerd']:.2f}x, "
      f"sifcri/skopeo-pipeline: {med['sifcri'] / med['skopeo-pipeline']:.2f}x (below 1 = sifcri faster)")
if "sifcri-mksquashfs" in rows:
    print(f"ratio sifcri/sifcri-mksquashfs: {med['sifcri'] / med['sifcri-mksquashfs']:.2f}x")
PY
