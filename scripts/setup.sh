#!/usr/bin/env bash
# Installs everything sifcri's build, demo and tests need on a fresh Debian 12 machine,
# as root. Safe to run again: every step checks before it acts.
set -euo pipefail

packages=(
  build-essential pkg-config git curl ca-certificates
  fuse3 libfuse3-dev squashfs-tools squashfuse attr
  protobuf-compiler uidmap busybox-static util-linux procps
  libseccomp-dev
  docker-registry apache2-utils
  containernetworking-plugins iptables iproute2
  passt slirp4netns
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Rust toolchain with the components CI checks with.
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

# An ordinary user for the unprivileged tests, with subordinate id ranges.
test_user=${SIFCRI_TEST_USER:-sifcri-test}
if ! id "$test_user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$test_user"
fi
grep -q "^$test_user:" /etc/subuid || echo "$test_user:200000:65536" >>/etc/subuid
grep -q "^$test_user:" /etc/subgid || echo "$test_user:200000:65536" >>/etc/subgid

# /dev/fuse as a distribution ships it, so ordinary users can mount FUSE.
chmod 0666 /dev/fuse
# /dev/net/tun as udev leaves it, so pasta/slirp4netns of an unprivileged daemon work.
[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
# Let ordinary users ask for allow_other-free mounts of their own (nothing more).
touch /etc/fuse.conf

echo "setup: done"
