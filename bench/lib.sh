# lib.sh -- helpers shared by bench/run, bench/ingest.sh and bench/serf.sh
# (sourced, not run). Every wait here is bounded; every process we start
# is recorded by PID and stopped by PID, never by name.

# "@ bench key value": one figure, collected by bench/run into its summary.
result() { printf '@ %s %s %s\n' "$1" "$2" "$3"; }

log() { printf '%s\n' "$*"; }

# CPU ticks (user + system) a process has used so far.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  stat=${stat##*) }          # drop "pid (comm) "
  set -- $stat               # now $1 is the state (field 3)
  echo $(( ${12} + ${13} ))  # fields 14 (utime) and 15 (stime)
}
CLK_TCK=$(getconf CLK_TCK)

# wait_file FILE SECONDS: waits until FILE exists and is non-empty.
wait_file() {
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

# PIDs we started, stopped by stop_all (also on exit).
BENCH_PIDS=()
track() { BENCH_PIDS+=("$1"); }

# stop_pid PID [SIGNAL]: TERM (or SIGNAL), then KILL after 5 s.
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

stop_all() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  BENCH_PIDS=()
}

# A number out of a JSON text: json_num TEXT KEY (first occurrence).
json_num() {
  local v
  v=$(grep -o "\"$2\":[0-9.e+-]*" <<<"$1" | head -1)
  echo "${v#*:}"
}

# Floating-point arithmetic through awk: calc "1 / 3".
calc() { awk "BEGIN { printf \"%.6g\", $* }"; }

# A random 16-hex-digit nonce.
nonce() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
