#!/usr/bin/env bash
# Builds cpa-tray and cpa-engine with the release profile (strip, thin LTO) for
# Linux and for x86_64-pc-windows-gnu, and prints each binary's size.
#
# Not part of every CI run: the two release builds take several minutes on
# 2 cores. Run it before updating the sizes in docs/platforms.md.
#
# Usage: .ci/sizes.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
# shellcheck source=lib.sh
source "$here/lib.sh"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

ci_step "sizes: tools"
ci_apt_install gcc-mingw-w64-x86-64
ci_rust_targets x86_64-pc-windows-gnu

ci_step "sizes: cargo build --release (Linux)"
linux_start=$SECONDS
cargo build --locked --release -p cpa-tray -p cpa-engine
linux_seconds=$((SECONDS - linux_start))

ci_step "sizes: cargo build --release --target x86_64-pc-windows-gnu"
windows_start=$SECONDS
cargo build --locked --release --target x86_64-pc-windows-gnu -p cpa-tray -p cpa-engine
windows_seconds=$((SECONDS - windows_start))

ci_step "sizes: results"
printf '%-44s %12s %9s\n' binary bytes MiB
for file in \
  "$target_dir/release/cpa-tray" \
  "$target_dir/release/cpa-engine" \
  "$target_dir/x86_64-pc-windows-gnu/release/cpa-tray.exe" \
  "$target_dir/x86_64-pc-windows-gnu/release/cpa-engine.exe"; do
  bytes="$(stat -c %s "$file")"
  printf '%-44s %12s %9s\n' "${file#"$target_dir"/}" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')"
done
echo "release build time: Linux ${linux_seconds} s, Windows ${windows_seconds} s (incremental where the target dir was warm)"
