#!/usr/bin/env bash
# Cross-builds cpa-tray.exe and cpa-engine.exe for x86_64-pc-windows-gnu and runs
# the integration tests that drive the binaries against those .exe files under Wine.
#
# How the tests reach the Windows binaries: every test that starts a workspace
# binary does so through `cpa_testkit::binary_command`, which reads
# CPA_TEST_BIN_<NAME> (the program) and CPA_TEST_RUNNER (put in front of it).
# This script points those at the staged .exe files and at Wine's 64-bit loader,
# so the Linux test harness drives Windows programs over real files, pipes and
# TCP on 127.0.0.1. A test that checks something Wine cannot emulate skips
# itself when CPA_TEST_RUNNER is set, and prints
#   SKIPPED under CPA_TEST_RUNNER: <test name>: <reason>
# which this script counts and lists.
#
# Test selection: every crates/*/tests/*.rs (or tests/<dir>/main.rs) that calls
# `binary_command`; the other integration tests never start a binary, so running
# them here would only repeat the Linux run.
#
# Wine setup (Debian 12, Wine 8.0):
# - WINEPREFIX lives in the target dir and is created once (about 10 s);
# - Wine 8 lacks bcryptprimitives.dll, which every Rust program imports, so a
#   stand-in built from ../shared/tools/wine-bcryptprimitives is put beside the
#   .exe files and into the prefix's system32 (for copies a test makes
#   elsewhere). It is a test fixture only and never shipped;
# - the prefix's user name contains a space, brackets and non-ASCII letters,
#   so %USERPROFILE% and %LOCALAPPDATA% exercise path handling;
# - the staging folder has the same kinds of characters;
# - a persistent wineserver keeps each program start at about 50 ms.
#
# Usage: .ci/windows.sh        Exit status: 0 when every selected test passed.
# Prints a closing line "wine: N passed, N failed, N skipped".
# Environment:
#   CARGO_TARGET_DIR        default <repo>/target
#   CPA_WINE_TESTS          space-separated PACKAGE:TEST targets to run instead
#                           of the discovered ones, e.g. "cpa-engine:cli cpa-tray:cli"
#   CPA_WINE_TEST_TIMEOUT   seconds one test target may run (default 300)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
# shellcheck source=lib.sh
source "$here/lib.sh"

win_target=x86_64-pc-windows-gnu
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
shared_dir="${CPA_SHARED_DIR:-$root/../shared}"
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver
wine_user='Zoë [QA] 测试'
test_timeout="${CPA_WINE_TEST_TIMEOUT:-300}"
stage="$target_dir/wine-test/Program Files [x64] 程序"
export WINEPREFIX="$target_dir/wineprefix"
export WINEDEBUG=-all
# No Mono and no Gecko: nothing here needs .NET or an HTML engine, and their
# installers would try to download.
export WINEDLLOVERRIDES='mscoree=;mshtml='
unset DISPLAY

ci_step "Windows: tools"
ci_apt_install gcc-mingw-w64-x86-64 wine wine64
[ -x "$wine" ] || ci_die "$wine is missing after installing wine64"
ci_rust_targets "$win_target"

ci_step "Windows: cargo build --target $win_target --workspace --bins"
# Every binary of the workspace, because tests start helpers too (the config
# crate's write loop, the misbehaving test server), and under Wine every
# program a test starts must be a Windows program.
executables=()
while IFS= read -r executable; do
  executables+=("$executable")
done < <(cargo build --locked --target "$win_target" --workspace --bins --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\.exe\)".*/\1/p' | sort -u)
[ "${#executables[@]}" -gt 0 ] || ci_die "cargo build produced no .exe for $win_target"

ci_step "Windows: stage the .exe files and the stand-in bcryptprimitives.dll"
mkdir -p "$stage"
sh "$shared_dir/tools/wine-bcryptprimitives/build.sh" "$stage"
# CPA_TEST_BIN_<NAME> for each staged program, as cpa_testkit::binary_command reads it.
binary_env=()
for executable in "${executables[@]}"; do
  cp -f "$executable" "$stage/"
  name="$(basename "$executable" .exe)"
  variable="CPA_TEST_BIN_$(tr 'a-z-' 'A-Z_' <<<"$name")"
  binary_env+=("$variable=$stage/$name.exe")
done
ls -l "$stage"
printf '  %s\n' "${binary_env[@]}"

ci_step "Windows: Wine prefix $WINEPREFIX"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  prefix_start=$SECONDS
  USER="$wine_user" "$wine" wineboot --init >/dev/null 2>&1 || ci_die "wineboot --init failed for $WINEPREFIX"
  "$wineserver" -w
  # A crashing program must print its backtrace and exit, not wait on a dialog.
  USER="$wine_user" "$wine" reg add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0 /f >/dev/null 2>&1
  "$wineserver" -w
  echo "created the prefix in $((SECONDS - prefix_start)) s"
else
  echo "reusing the prefix"
fi
cp -f "$stage/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"

# Starts a persistent wineserver for the prefix and Wine's own services.
#
# The first Wine program started in a prefix also starts services.exe and
# winedevice.exe, which inherit its standard handles and stay up as long as
# the wineserver. Starting them here with /dev/null keeps them from holding a
# test's stdout pipe open, which would make the test wait forever for
# end-of-file.
start_wine() {
  if ! "$wineserver" -p </dev/null >/dev/null 2>&1; then
    echo "a wineserver already runs for this prefix; the tests use it"
  fi
  USER="$wine_user" "$wine" wineboot </dev/null >/dev/null 2>&1 || ci_die "wineboot failed for $WINEPREFIX"
}

# Stops the wineserver and, with it, every Windows process of this prefix,
# including servers that a failed test left running.
stop_wine() {
  "$wineserver" -k 2>/dev/null || true
  "$wineserver" -w 2>/dev/null || true
}
trap stop_wine EXIT
start_wine

ci_step "Windows: smoke test"
# `cpa-tray --version` and `cpa-engine -h` exit 0 without touching any file,
# so a failure here means the .exe cannot load under Wine.
for command in "cpa-tray --version" "cpa-engine -h"; do
  exe="${command%% *}" flag="${command#* }"
  if ! output="$(USER="$wine_user" "$wine" "$stage/$exe.exe" "$flag" 2>&1)"; then
    printf '%s\n' "$output"
    ci_die "$exe.exe $flag failed under Wine"
  fi
  echo "$exe.exe $flag: $(head -n 1 <<<"$output")"
done

ci_step "Windows: select the tests that drive the binaries"
# Returns success when a test file, or a module it declares with `mod NAME;`
# (tests/NAME.rs or tests/NAME/mod.rs), calls binary_command.
drives_binaries() {
  local file="$1" tests_dir module
  grep -q 'binary_command' "$file" && return 0
  tests_dir="$(dirname "$file")"
  for module in $(sed -n 's/^[[:space:]]*\(pub \)\{0,1\}mod \([A-Za-z0-9_]*\);.*/\2/p' "$file"); do
    for candidate in "$tests_dir/$module.rs" "$tests_dir/$module/mod.rs"; do
      [ -f "$candidate" ] && grep -q 'binary_command' "$candidate" && return 0
    done
  done
  return 1
}

tests=()
if [ -n "${CPA_WINE_TESTS:-}" ]; then
  read -r -a tests <<<"$CPA_WINE_TESTS"
  echo "CPA_WINE_TESTS selects the targets"
fi
for file in crates/*/tests/*.rs crates/*/tests/*/main.rs; do
  [ -z "${CPA_WINE_TESTS:-}" ] || break
  [ -f "$file" ] || continue
  drives_binaries "$file" || continue
  crate_dir="${file%%/tests/*}"
  package="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$crate_dir/Cargo.toml" | head -n 1)"
  case "$file" in
    */main.rs) name="$(basename "$(dirname "$file")")" ;;
    *) name="$(basename "$file" .rs)" ;;
  esac
  tests+=("$package:$name")
done
[ "${#tests[@]}" -gt 0 ] || ci_die "no integration test calls binary_command; nothing would run under Wine"
printf '  %s\n' "${tests[@]}"

logs="$target_dir/wine-test/logs"
mkdir -p "$logs"
passed=0 failed=0
failed_targets=() skipped_lines=()
for entry in "${tests[@]}"; do
  package="${entry%%:*}" name="${entry#*:}"
  ci_step "Windows: cargo test -p $package --test $name (binaries under Wine)"
  log="$logs/$package-$name.log"
  cargo test --locked -p "$package" --test "$name" --no-run

  # Each target gets a fresh wineserver, so a server left running by one
  # target cannot receive another target's requests.
  stop_wine
  start_wine
  status=0
  # --show-output prints the captured output of passing tests too, which is
  # where a test's "SKIPPED under CPA_TEST_RUNNER" line ends up.
  env \
    USER="$wine_user" \
    CPA_TEST_RUNNER="$wine" \
    "${binary_env[@]}" \
    timeout --kill-after=10 "$test_timeout" cargo test --locked -p "$package" --test "$name" -- --show-output \
    >"$log" 2>&1 || status=$?
  grep -a -E '^(test |running |failures:|SKIPPED)|SKIPPED under CPA_TEST_RUNNER|panicked at' "$log" || true

  # Sums the harness's "test result: ok. 3 passed; 0 failed; 1 ignored; ..." lines.
  read -r target_passed target_failed < <(awk '/^test result:/ {
      for (k = 1; k < NF; k++) {
        if ($(k+1) ~ /^passed;?$/) p += $k
        if ($(k+1) ~ /^failed;?$/) f += $k
      }
    } END { print p + 0, f + 0 }' "$log")
  passed=$((passed + target_passed)) failed=$((failed + target_failed))
  if [ "$status" -ne 0 ]; then
    [ "$status" -eq 124 ] && echo "TIMED OUT after $test_timeout s: cargo test -p $package --test $name"
    echo "---- last 80 lines of $log ----"
    tail -n 80 "$log"
    failed_targets+=("$package --test $name (exit $status)")
    # A build error or a timeout reports no failed test; count the target once.
    [ "$target_failed" -gt 0 ] || failed=$((failed + 1))
  fi
  while IFS= read -r line; do
    skipped_lines+=("$package/$name: ${line#*SKIPPED under CPA_TEST_RUNNER: }")
  done < <(grep -a -o 'SKIPPED under CPA_TEST_RUNNER: .*' "$log" | sort -u || true)
done

ci_step "Windows: summary"
if [ "${#skipped_lines[@]}" -gt 0 ]; then
  echo "Skipped under Wine (each passes as a no-op there; the Linux run covers it):"
  printf '  %s\n' "${skipped_lines[@]}"
fi
if [ "${#failed_targets[@]}" -gt 0 ]; then
  echo "Failed test targets (full logs in $logs):"
  printf '  %s\n' "${failed_targets[@]}"
fi
skipped="${#skipped_lines[@]}"
echo "Windows build under Wine took ${SECONDS} s in total."
# The harness counts a skipped test as passed, so it is taken out here.
echo "wine: $((passed - skipped)) passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
