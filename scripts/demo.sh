#!/usr/bin/env bash
# The main job, for now: build a small SIF image from a busybox tree, serve it through
# sifcri's FUSE squashfs driver, list and read it, and unmount.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "demo: not available yet" >&2
exit 1
