#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the whole test suite, and the docs.
# Run as root (the suite also runs parts as the unprivileged test user).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked --no-fail-fast
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
