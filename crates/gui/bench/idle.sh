#!/usr/bin/env bash
# Measures the tray on Linux: time from launch to the StatusNotifierItem on the
# session bus, then resident memory, CPU time and wake-ups (voluntary context
# switches of all threads, then per thread) over an idle period with the server
# running.
#
# Usage: crates/gui/bench/idle.sh [SECONDS] [PROFILE]
#   SECONDS  idle period to measure (default 60)
#   PROFILE  cargo profile folder under target/ (default release); build first:
#            cargo build --release -p cpa-gui --bin cpa-gui-harness -p cpa-engine --bin cpa-engine
# Needs dbus-daemon and gdbus (Debian packages dbus-daemon, libglib2.0-bin).
set -euo pipefail
seconds=${1:-60}
profile=${2:-release}
root=$(cd "$(dirname "$0")/../../.." && pwd)
bin="$root/target/$profile"
for program in "$bin/cpa-gui-harness" "$bin/cpa-engine"; do
  [ -x "$program" ] || { echo "missing $program: build it first (see the header)" >&2; exit 2; }
done

work=$(mktemp -d)
cleanup() {
  if [ -n "${tray:-}" ]; then
    # SIGTERM makes the tray stop the server it started before it exits.
    kill "$tray" 2>/dev/null || true
    wait "$tray" 2>/dev/null || true
  fi
  # A server the tray left behind (it died first) is stopped here.
  server=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$work/home/run/engine.json" 2>/dev/null || true)
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "${bus_pid:-}" ] && kill "$bus_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/home"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A bcrypt hash, so the start needs no password dialog.
cat > "$work/home/config.yaml" <<YAML
host: 127.0.0.1
port: $port
remote-management:
  secret-key: "\$2a\$10\$N0qUn9X/72qRhdXV.FTOu.uVqream.btG8IkYyMjMI1AQOEuxsTtK"
YAML
echo '{"autoOpenWebUI":false}' > "$work/home/settings.json"

dbus-daemon --session --nofork --print-address=1 > "$work/bus" 2>/dev/null &
bus_pid=$!
until [ -s "$work/bus" ]; do sleep 0.01; done
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$work/bus")
unset DISPLAY WAYLAND_DISPLAY

names() {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.ListNames
}

launched=$(date +%s%N)
HOME="$work/home" XDG_CONFIG_HOME="$work/xdg" "$bin/cpa-gui-harness" tray --home "$work/home" \
  --engine-program "$bin/cpa-engine" --builtin --engine-version 0.1.0 --lang en \
  2> "$work/tray.err" &
tray=$!
name="org.kde.StatusNotifierItem-$tray-1"
until names | grep -q "$name"; do sleep 0.005; done
registered=$(date +%s%N)
echo "launch to icon on the bus: $(( (registered - launched) / 1000000 )) ms (polled with gdbus every ~5 ms)"

# Start the server from the menu (item 3 is Start) and wait until it answers.
gdbus call --session --dest "$name" --object-path /MenuBar \
  --method com.canonical.dbusmenu.Event -- 3 clicked '<"">' 0 > /dev/null
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
sleep 2

# Voluntary context switches per thread, as "tid name count" lines.
per_thread() {
  for task in /proc/"$tray"/task/*; do
    printf '%s %s %s\n' "${task##*/}" "$(tr ' ' '_' < "$task/comm")" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")"
  done
}

sample() {
  local ticks switches
  ticks=$(awk '{print $14 + $15}' "/proc/$tray/stat")
  switches=$(cat /proc/"$tray"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}')
  echo "$ticks $switches"
}
read -r ticks0 switches0 < <(sample)
per_thread > "$work/threads0"
sleep "$seconds"
read -r ticks1 switches1 < <(sample)
per_thread > "$work/threads1"
hz=$(getconf CLK_TCK)
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$tray/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$tray/status")
threads=$(ls "/proc/$tray/task" | wc -l)
echo "idle ${seconds} s with the server running ($profile build, $threads threads):"
echo "  RSS: $((rss / 1024)) MiB now, peak $((hwm / 1024)) MiB"
awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v s="$seconds" \
  'BEGIN { printf "  CPU: %.3f s (%.4f%% of one core)\n", t / hz, 100 * t / hz / s }'
awk -v n=$((switches1 - switches0)) -v s="$seconds" \
  'BEGIN { printf "  wake-ups: %d voluntary context switches, %.2f per second\n", n, n / s }'
echo "  wake-ups per thread (tid name count):"
join "$work/threads0" "$work/threads1" -a 2 | awk '{ n = NF == 5 ? $5 - $3 : $3; printf "    %s %s %d\n", $1, $2, n }'
