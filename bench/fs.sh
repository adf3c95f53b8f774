#!/usr/bin/env bash
# Filesystem benchmark: `sifcri mount` against squashfuse_ll (Debian's squashfuse) and
# the kernel's squashfs driver over a loop device (the ceiling; benchmark only, never
# used by sifcri), cold and warm, on the same images. Root only; not part of CI.
#
#   bash bench/fs.sh [--runs N] [--work DIR] [--comps gzip,zstd] [--images debian,small,large]
#                    [--workloads find,readall,startup,random4k | mount] [--out FILE]
#
# A subset: e.g. `--comps zstd --images large --workloads random4k`; `--workloads mount`
# times only cold mounts (each other workload also times the mount it starts with).
#
# Prints a section for docs/benchmarks.md (also written to FILE with --out).
#
# Needs: scripts/setup.sh, plus debootstrap (for the Debian rootfs image); the Debian
# mirror is taken from this machine's apt sources at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (drop_caches, loop mounts, chroot)" >&2; exit 1; }
command -v squashfuse_ll >/dev/null || { echo "bench: install squashfuse" >&2; exit 1; }
command -v debootstrap >/dev/null || apt-get install -y -q --no-install-recommends debootstrap

cargo build --release --locked --bin sifcri --bin sifcri-runtime
target=${CARGO_TARGET_DIR:-$PWD/target}
exec python3 bench/fs.py --sifcri "$target/release/sifcri" "$@"
