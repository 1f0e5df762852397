#!/usr/bin/env bash
# profile.sh -- where the time and memory go, for the targets bench/run
# misses. perf's hardware counters are not available on this machine
# (`perf stat -e instructions true` says <not supported>), so this uses
# valgrind: callgrind for CPU (instruction counts, exact and repeatable,
# on a shorter run since valgrind slows a program ~50x) and massif for
# heap memory.
#
#   bench/profile.sh [all|ingest|batch|bare|handler|policy|relay|peers|seen] [--out DIR] [--build-dir DIR]
#
# ingest / batch: one node (no peers) under callgrind, wrk posting single
#   envelopes / batches for a few seconds.
# bare: bare_mhd (the ceiling) the same way, single envelopes.
# handler / policy: the same with the bench handler plugin (no peers) /
#   the bench policy and 3 bare_mhd sinks.
# relay: build/spec/relay (bench/relay.c), no wrk: a simulated node of 100
#   receives and forwards 200 envelopes with 40 seen_by ids each, by the
#   scanner and by jansson; only relay_one is counted, so the numbers are
#   the same from run to run.
# peers / seen: massif on memory.lua with a smaller count.
# Prints instructions per message: in all, under the functions that matter
# (gossip, receive_one, forward, the plugin hooks) by callee, and the top
# self costs; for memory, the heap by allocation site.
set -u
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
WHAT=all OUT="" BUILD_DIR=$ROOT/build
while (($#)); do
  case $1 in
    all|ingest|batch|bare|handler|policy|relay|peers|seen) WHAT=$1 ;;
    --out) OUT=$2; shift ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    *) echo "usage: bench/profile.sh [all|ingest|batch|bare|handler|policy|relay|peers|seen] [--out DIR] [--build-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
PKGS="valgrind wrk"
dpkg -s $PKGS >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null; }
[[ -n $OUT ]] || OUT=$(mktemp -d /tmp/hearsay-profile.XXXXXX)
mkdir -p "$OUT"
source "$BENCH/lib.sh"
trap stop_all EXIT
export LUA_CPATH="$BUILD_DIR/lib/?.so;;"
export LUA_PATH="$BENCH/lua/?.lua;$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
cd "$ROOT" || exit 1
SECONDS_UNDER_VALGRIND=6

# breakdown FILE MESSAGES: instructions per message, in total and under the
# functions that matter (what each calls, inclusive), and the costliest
# functions by self cost.
breakdown() {
  local file=$1 msgs=$2 total
  total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  echo "-- $(calc "$total / $msgs") instructions per message in all ($msgs messages)"
  echo "-- inclusive instructions per message, by callee"
  callgrind_annotate --inclusive=yes --tree=calling "$file" 2>/dev/null | awk -v m="$msgs" '
    /^ *[0-9,]+ \([ 0-9.]+%\)  \*  / {
      show = ($0 ~ /\?\?\?:(gossip|receive_one|forward|hs_host_on_message|hs_host_select)( \[|$)/)
      if (show) { v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ \([ 0-9.]+%\)  \*  /, ""); printf "%10.0f  %s\n", v / m, $0 }
      next
    }
    show && /^ *[0-9,]+ \([ 0-9.]+%\)  >/ {
      v = $1; gsub(",", "", v); if (v / m >= 200) { sub(/^ *[0-9,]+ \([ 0-9.]+%\)  >   /, ""); printf "%10.0f    > %s\n", v / m, $0 }
    }
    /^$/ { show = 0 }'
  echo "-- self instructions per message, top 12"
  callgrind_annotate "$file" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -v TOTALS | head -12 |
    awk -v m="$msgs" '{ v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ \([ 0-9.]+%\) +/, ""); printf "%10.0f  %s\n", v / m, $0 }'
}

# heap FILE: the heap of the last detailed snapshot, by allocation site.
heap() {
  ms_print "$1" >"$1.txt"
  local line
  line=$(grep -n 'heap allocation functions' "$1.txt" | tail -2 | head -1 | cut -d: -f1)
  sed -n "$((line - 3)),$((line + 200))p" "$1.txt" | grep -E '^ *[0-9]+ |^(\| )*->[0-9.]+%' |
    grep -vE '^(\| ){3,}' | head -24
}

# profile_node NAME BATCH TTL [ingest_node options...]
profile_node() {
  local name=$1 batch=$2 ttl=$3; shift 3
  rm -f "$OUT/$name.url"
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.callgrind" \
    lua5.4 "$BENCH/lua/ingest_node.lua" --url-file "$OUT/$name.url" --plugin-dir "$BENCH/plugins" \
    --seconds 300 "$@" >"$OUT/$name.log" 2>&1 &
  local pid=$!
  track "$pid"
  wait_file "$OUT/$name.url" 120 || { echo "$name: node did not start"; cat "$OUT/$name.log"; return 1; }
  local url; url=$(cat "$OUT/$name.url")
  wrk -t2 -c4 -d${SECONDS_UNDER_VALGRIND}s -s "$BENCH/wrk/gossip.lua" "$url" -- "$batch" "$ttl" "$(nonce)" | grep '^WRK'
  local recv; recv=$(json_num "$(curl -s --max-time 30 "$url/health")" messages_received)
  stop_pid "$pid"
  echo "== $name: $recv messages received under callgrind"
  breakdown "$OUT/$name.callgrind" "$recv"
}

start_sinks() {
  SINKS=""
  local i port
  for i in 1 2 3; do
    rm -f "$OUT/sink$i.log"
    "$BUILD_DIR/bench/bare_mhd" --id "sink-$i" --seconds 600 >"$OUT/sink$i.log" 2>&1 &
    track $!
    wait_file "$OUT/sink$i.log" 10
    port=$(awk '/^port/ { print $2; exit }' "$OUT/sink$i.log")
    SINKS+="${SINKS:+,}http://127.0.0.1:$port"
  done
}

want() { [[ $WHAT == all || $WHAT == "$1" ]]; }
{
  want ingest && profile_node ingest 1 0
  want batch && profile_node batch 50 0
  if want bare; then
    rm -f "$OUT/bare.log"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/bare.callgrind" \
      "$BUILD_DIR/bench/bare_mhd" --seconds 300 >"$OUT/bare.log" 2>/dev/null &
    BPID=$!
    track "$BPID"
    wait_file "$OUT/bare.log" 60
    wrk -t2 -c4 -d${SECONDS_UNDER_VALGRIND}s -s "$BENCH/wrk/gossip.lua" \
      "http://127.0.0.1:$(awk '/^port/ { print $2; exit }' "$OUT/bare.log")" -- 1 0 "$(nonce)" | grep '^WRK'
    stop_pid "$BPID"
    REQS=$(awk '/^requests/ { print $2 }' "$OUT/bare.log")
    echo "== bare: $REQS requests under callgrind"
    breakdown "$OUT/bare.callgrind" "$REQS"
  fi
  want handler && profile_node handler 50 0 --plugins handler
  if want policy; then
    start_sinks
    profile_node policy 50 1 --plugins policy --sinks "$SINKS"
  fi
  if want relay; then
    for mode in scanner jansson; do
      valgrind --tool=callgrind --toggle-collect=relay_one \
        --callgrind-out-file="$OUT/relay-$mode.callgrind" \
        "$BUILD_DIR/spec/relay" 100 40 200 "$mode" >"$OUT/relay-$mode.log" 2>&1
      echo "== relay ($mode): $(grep -m1 accepted "$OUT/relay-$mode.log")"
      breakdown "$OUT/relay-$mode.callgrind" 200
    done
  fi
  # The module is preloaded so it stays mapped when Lua closes it at exit:
  # otherwise massif cannot name its functions.
  if want peers; then
    LD_PRELOAD=$BUILD_DIR/lib/hearsay.so valgrind --tool=massif --detailed-freq=1 --threshold=3 \
      --massif-out-file="$OUT/peers.massif" lua5.4 "$BENCH/lua/memory.lua" --part peers \
      --peers 2000 >"$OUT/peers.log" 2>&1
    grep -v '^@' "$OUT/peers.log" | grep -v '^=='
    echo "== peers (massif, 2 x 2000 peers, probes done): heap by allocation site"
    heap "$OUT/peers.massif"
  fi
  if want seen; then
    LD_PRELOAD=$BUILD_DIR/lib/hearsay.so valgrind --tool=massif --detailed-freq=1 --threshold=3 \
      --massif-out-file="$OUT/seen.massif" lua5.4 "$BENCH/lua/memory.lua" --part seen --ids 50000 \
      --steps 3 --poster "$BENCH/lua/post_batches.lua" >"$OUT/seen.log" 2>&1
    grep -v '^@' "$OUT/seen.log" | grep -v '^=='
    echo "== seen ids (massif, 3 x 50000 ids): heap by allocation site"
    heap "$OUT/seen.massif"
  fi
  stop_all # this group runs in a subshell (the pipe): its PIDs are tracked here
} 2>&1 | tee "$OUT/profile.txt"
echo "profiles in $OUT (callgrind_annotate / ms_print them for more)"
