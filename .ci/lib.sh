# Shell helpers shared by the platform scripts in .ci/ (sourced, not run).
#
# Every helper is idempotent: a tool that is already installed is not
# installed again, so a warm machine pays nothing and a fresh one gets
# everything from Debian's packages and rustup.

# Prints a section header with the seconds elapsed since the script started.
ci_step() {
  printf '\n==> [%4ss] %s\n' "$SECONDS" "$*"
}

# Prints an error to stderr and exits non-zero.
ci_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Installs Debian packages that are not installed yet.
#
# Usage: ci_apt_install PACKAGE...
# Runs `apt-get update` once per script, and only when something is missing.
ci_apt_install() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "apt packages already installed: $*"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    ci_die "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  if [ -z "${CI_APT_UPDATED:-}" ]; then
    apt-get update -qq
    CI_APT_UPDATED=1
  fi
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Makes sure rustup has the standard library for each given target.
#
# `rustup target add` needs the network only for a target that is missing, so
# installed targets are skipped.
ci_rust_targets() {
  local installed target
  installed="$(rustup target list --installed)"
  for target in "$@"; do
    if ! grep -qx "$target" <<<"$installed"; then
      echo "adding rust target $target"
      rustup target add "$target" || ci_die "rustup cannot add the $target standard library; install it with: rustup target add $target"
    fi
  done
}
