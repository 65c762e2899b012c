#!/usr/bin/env bash
# What the remote tier costs at install time and in the binary: `cargo install --path .
# --locked` from an empty target directory, with the default features and with
# `--no-default-features` (no OpenDAL, tokio, HTTP client or rustls), one after the other in
# one run, with the registry already downloaded (`cargo fetch --locked` first, untimed).
# Prints seconds and binary sizes; nothing is installed outside a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/cargo-store-install-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo fetch --locked --quiet
measure() {
    local name=$1
    shift
    local start end
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$work/$name-target" cargo install --quiet --path . --locked --root "$work/$name" "$@"
    end=$(date +%s.%N)
    local size
    size=$(stat -c %s "$work/$name/bin/cargo-store")
    printf '%-10s %6.1f s  %5.1f MiB  (%s crates compiled)\n' "$name" "$(echo "$end - $start" | bc)" \
        "$(echo "scale=1; $size / 1048576" | bc)" \
        "$(find "$work/$name-target/release/.fingerprint" -mindepth 1 -maxdepth 1 -type d | wc -l)"
}
measure default
measure no-remote --no-default-features
