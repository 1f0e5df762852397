#!/usr/bin/env bash
# ingest.sh -- POST /gossip throughput of one hearsay node against the bare
# libmicrohttpd ceiling, and the per-message cost of Lua plugins. Called by
# bench/run (which sets the environment below); not meant to run alone.
#
#   ingest.sh ingest    single envelopes and batches: hearsay vs bare_mhd
#   ingest.sh plugins   CPU per message: no plugin vs handler vs policy
#   ingest.sh auth      cluster auth off vs on: the same node, the same
#                       load (a hearsay client, lua/auth_load.lua: wrk
#                       cannot sign), single envelopes and batches
#   ingest.sh trust     open vs signed+keyed (security "signed": every
#                       request's MAC and every message's Ed25519 signature
#                       checked), single envelopes and batches, beside the
#                       limit a signature check sets (openssl speed)
#
# Load: wrk, 2 threads, 4 keep-alive connections (2 per core), DURATION
# seconds, distinct 64-hex message_ids in every request (bench/wrk/gossip.lua).
# The server's CPU time comes from /proc/PID/stat around the wrk run; the
# messages it accepted from its own /health counters.
#
# Environment: BENCH (bench/ dir), ART (snapshot of the build: bare_mhd),
# WORK (scratch dir), DURATION (s), BATCH (envelopes per batch),
# PLUGIN_REPEATS (plugin runs per configuration), LUA (lua5.4), LUA_PATH/LUA_CPATH.
set -u
source "$BENCH/lib.sh"
trap stop_all EXIT

THREADS=2 CONNS=4

# start_hearsay NAME [ingest_node options...]: a node in its own process;
# sets SRV_PID and SRV_URL.
start_hearsay() {
  local name=$1; shift
  rm -f "$WORK/$name.url"
  "$LUA" "$BENCH/lua/ingest_node.lua" --url-file "$WORK/$name.url" \
    --plugin-dir "$BENCH/plugins" --seconds $((DURATION * 4 + 120)) "$@" \
    >"$WORK/$name.log" 2>&1 &
  SRV_PID=$!
  track "$SRV_PID"
  wait_file "$WORK/$name.url" 30 || { log "$name: node did not start"; cat "$WORK/$name.log"; return 1; }
  SRV_URL=$(cat "$WORK/$name.url")
}

# start_bare NAME [bare_mhd options...]: sets SRV_PID and SRV_URL.
start_bare() {
  local name=$1; shift
  rm -f "$WORK/$name.log"
  "$ART/bare_mhd" --seconds $((DURATION * 4 + 120)) "$@" >"$WORK/$name.log" 2>&1 &
  SRV_PID=$!
  track "$SRV_PID"
  wait_file "$WORK/$name.log" 10 || { log "$name: bare_mhd did not start"; return 1; }
  SRV_URL="http://127.0.0.1:$(awk '/^port/ { print $2; exit }' "$WORK/$name.log")"
}

# Messages a hearsay node has accepted so far (0 for bare_mhd).
accepted() {
  [[ $1 == bare ]] && { echo 0; return; }
  json_num "$(curl -s --max-time 5 "$2/health")" messages_received
}

# measure LABEL KIND BATCH TTL: runs wrk against SRV_URL and prints the
# figures; KIND is hearsay or bare. Sets M_RATE (messages/s) and M_CPU
# (server CPU microseconds per message).
measure() {
  local label=$1 kind=$2 batch=$3 ttl=$4 line t0 t1 a0 a1
  # One short warm-up run: connections, caches, allocator.
  wrk -t$THREADS -c$CONNS -d1s -s "$BENCH/wrk/gossip.lua" "$SRV_URL" -- "$batch" "$ttl" "$(nonce)" >/dev/null 2>&1
  a0=$(accepted "$kind" "$SRV_URL"); t0=$(cpu_ticks "$SRV_PID")
  line=$(wrk -t$THREADS -c$CONNS -d${DURATION}s -s "$BENCH/wrk/gossip.lua" "$SRV_URL" \
    -- "$batch" "$ttl" "$(nonce)" | grep '^WRK ')
  t1=$(cpu_ticks "$SRV_PID"); a1=$(accepted "$kind" "$SRV_URL")
  if [[ -z $line ]]; then log "$label: wrk failed"; M_RATE=0 M_CPU=0; return 1; fi
  local requests duration p50 p99 errs nerrs msgs cpu_s
  requests=$(grep -o 'requests=[0-9]*' <<<"$line"); requests=${requests#*=}
  duration=$(grep -o 'duration_us=[0-9]*' <<<"$line"); duration=${duration#*=}
  p50=$(grep -o 'p50_us=[0-9]*' <<<"$line"); p50=${p50#*=}
  p99=$(grep -o 'p99_us=[0-9]*' <<<"$line"); p99=${p99#*=}
  errs=$(grep -o 'err_[a-z]*=[1-9][0-9]*' <<<"$line" | tr '\n' ' ')
  # wrk's errors: connect, read, write, timeout and status (non-2xx/3xx).
  nerrs=$(grep -o 'err_[a-z]*=[0-9]*' <<<"$line" | awk -F= '{ n += $2 } END { print n + 0 }')
  if [[ $kind == bare ]]; then msgs=$((requests * batch)); else msgs=$((a1 - a0)); fi
  cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
  M_RATE=$(calc "$msgs / ($duration / 1e6)")
  M_CPU=$(calc "$cpu_s * 1e6 / ($msgs > 0 ? $msgs : 1)")
  local rps cpu_pct
  rps=$(calc "$requests / ($duration / 1e6)")
  cpu_pct=$(calc "100 * $cpu_s / ($duration / 1e6)")
  log "$(printf '%-26s %9.0f req/s %10.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  server CPU %5.1f%%  %6.2f us/msg %s' \
    "$label" "$rps" "$M_RATE" "$(calc "$p50 / 1000")" "$(calc "$p99 / 1000")" "$cpu_pct" "$M_CPU" \
    "${errs:+ ERRORS: $errs}")"
  result "$label" req_per_s "$rps"
  result "$label" msgs_per_s "$M_RATE"
  result "$label" p50_ms "$(calc "$p50 / 1000")"
  result "$label" p99_ms "$(calc "$p99 / 1000")"
  result "$label" cpu_pct "$cpu_pct"
  result "$label" cpu_us_per_msg "$M_CPU"
  # Always written, 0 too: the summary judges no target from a run with errors.
  result "$label" errors "$nerrs"
  if [[ $kind == hearsay ]] && (( msgs < requests * batch * 9 / 10 )); then
    log "  note: the node accepted $msgs of $((requests * batch)) envelopes sent"
  fi
}

bench_ingest() {
  log "== ingest: POST /gossip, wrk -t$THREADS -c$CONNS, ${DURATION} s per run; the hearsay node has"
  log "   no peers (nothing is forwarded); envelopes carry ttl 0; batches hold $BATCH envelopes"
  start_hearsay hs_single && measure ingest_hearsay_single hearsay 1 0; stop_pid "$SRV_PID"
  start_hearsay hs_batch && measure ingest_hearsay_batch hearsay "$BATCH" 0; stop_pid "$SRV_PID"
  start_bare bare_single && measure ingest_bare_single bare 1 0; stop_pid "$SRV_PID"
  start_bare bare_batch && measure ingest_bare_batch bare "$BATCH" 0; stop_pid "$SRV_PID"
}

# hook_calls LABEL NAME: the plugin's calls and failed calls in node NAME's
# run, as its node counted them (lua/ingest_node.lua logs them as it
# stops): the summary takes a plugin's cost only from runs in which its
# hook ran. Nothing is written when the node did not say (it never
# started, or was killed).
hook_calls() {
  local file=$WORK/$2.log counts
  grep -q '^ingest_node: plugin ' "$file" 2>/dev/null || { log "$1: no count of the plugin's calls"; return 1; }
  counts=$(awk '/^ingest_node: plugin / { c += $5; e += $7 } END { print c + 0, e + 0 }' "$file")
  result "$1" calls "${counts% *}"
  result "$1" plugin_errors "${counts#* }"
}

bench_plugins() {
  local i sinks="" pid
  log "== plugins: CPU per message of the node, batches of $BATCH, ${DURATION} s per run, $PLUGIN_REPEATS run(s) each"
  log "   handler: no peers, ttl 0 (nothing forwarded); policy: 3 sink peers (bare_mhd --id,"
  log "   advertising batch), ttl 1 (each message forwarded once to up to 3 sinks)"
  for i in 1 2 3; do
    start_bare "sink$i" --id "sink-$i"
    sinks+="${sinks:+,}$SRV_URL"
  done
  for ((i = 1; i <= PLUGIN_REPEATS; i++)); do
    start_hearsay p_none && measure plugins_none_r$i hearsay "$BATCH" 0; stop_pid "$SRV_PID"
    start_hearsay p_handler --plugins handler && measure plugins_handler_r$i hearsay "$BATCH" 0; stop_pid "$SRV_PID"
    hook_calls plugins_handler_r$i p_handler
    start_hearsay p_verdict --plugins verdict && measure plugins_verdict_r$i hearsay "$BATCH" 0; stop_pid "$SRV_PID"
    hook_calls plugins_verdict_r$i p_verdict
    start_hearsay p_sinks --sinks "$sinks" && measure plugins_sinks_none_r$i hearsay "$BATCH" 1; stop_pid "$SRV_PID"
    start_hearsay p_policy --sinks "$sinks" --plugins policy && measure plugins_sinks_policy_r$i hearsay "$BATCH" 1; stop_pid "$SRV_PID"
    hook_calls plugins_sinks_policy_r$i p_policy
  done
}

# measure_load LABEL BATCH [KEY [POOL]]: runs lua/auth_load.lua against SRV_URL
# (signing with KEY when given) and prints the figures. Sets M_RATE
# (messages/s), M_CPU (server CPU us per message) and M_CCPU (the
# client's).
measure_load() {
  local label=$1 batch=$2 key=${3:-} pool=${4:-0} line t0 t1 a0 a1
  local load=("$LUA" "$BENCH/lua/auth_load.lua" --url "$SRV_URL" --conns "$CONNS" --batch "$batch")
  [[ -n $key ]] && load+=(--key "$key")
  ((pool > 0)) && load+=(--signed "$pool")
  ((pool > 0)) || "${load[@]}" --seconds 1 --nonce "$(nonce)" >/dev/null 2>&1 # warm-up
  a0=$(accepted hearsay "$SRV_URL"); t0=$(cpu_ticks "$SRV_PID")
  line=$("${load[@]}" --seconds "$DURATION" --nonce "$(nonce)" | grep '^LOAD ')
  t1=$(cpu_ticks "$SRV_PID"); a1=$(accepted hearsay "$SRV_URL")
  if [[ -z $line ]]; then log "$label: load failed"; M_RATE=0 M_CPU=0 M_CCPU=0; return 1; fi
  local requests errors duration p50 p99 ccpu msgs cpu_s rps
  requests=$(grep -o ' requests=[0-9]*' <<<"$line"); requests=${requests#*=}
  errors=$(grep -o 'errors=[0-9]*' <<<"$line"); errors=${errors#*=}
  duration=$(grep -o 'duration_us=[0-9]*' <<<"$line"); duration=${duration#*=}
  p50=$(grep -o 'p50_us=[0-9]*' <<<"$line"); p50=${p50#*=}
  p99=$(grep -o 'p99_us=[0-9]*' <<<"$line"); p99=${p99#*=}
  ccpu=$(grep -o 'cpu_us=[0-9]*' <<<"$line"); ccpu=${ccpu#*=}
  msgs=$((a1 - a0))
  cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
  rps=$(calc "$requests / ($duration / 1e6)")
  M_RATE=$(calc "$msgs / ($duration / 1e6)")
  M_CPU=$(calc "$cpu_s * 1e6 / ($msgs > 0 ? $msgs : 1)")
  M_CCPU=$(calc "$ccpu / ($msgs > 0 ? $msgs : 1)")
  log "$(printf '%-18s %9.0f req/s %10.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  server %6.2f us/msg  client %6.2f us/msg%s' \
    "$label" "$rps" "$M_RATE" "$(calc "$p50 / 1000")" "$(calc "$p99 / 1000")" "$M_CPU" "$M_CCPU" \
    "$( ((errors)) && echo "  ERRORS: $errors (${line##*statuses=})")")"
  result "$label" req_per_s "$rps"
  result "$label" msgs_per_s "$M_RATE"
  result "$label" cpu_us_per_msg "$M_CPU"
  result "$label" client_cpu_us_per_msg "$M_CCPU"
  ((errors == 0)) || result "$label" errors "$errors"
}

bench_auth() {
  local key batch off_rate off_cpu
  key=$("$LUA" -e 'io.write(require("hearsay").keygen())') || return 1
  log "== auth: POST /gossip from a hearsay client (lua/auth_load.lua), $CONNS requests in flight,"
  log "   ${DURATION} s per run; the node has no peers, envelopes carry ttl 0; cluster auth off, then"
  log "   on (security \"cluster\": the client signs each request, the node checks its MAC and nonce)"
  for batch in 1 "$BATCH"; do
    start_hearsay auth_off && measure_load "auth_off_b$batch" "$batch"; stop_pid "$SRV_PID"
    off_rate=$M_RATE off_cpu=$M_CPU
    start_hearsay auth_on --key "$key" && measure_load "auth_on_b$batch" "$batch" "$key"
    stop_pid "$SRV_PID"
    log "$(printf 'batch %-4s auth on/off: throughput x%.3f, server CPU per message x%.3f' "$batch" \
      "$(calc "$M_RATE / ($off_rate > 0 ? $off_rate : 1)")" "$(calc "$M_CPU / ($off_cpu > 0 ? $off_cpu : 1)")")"
    result "auth_b$batch" rate_ratio "$(calc "$M_RATE / ($off_rate > 0 ? $off_rate : 1)")"
    result "auth_b$batch" cpu_ratio "$(calc "$M_CPU / ($off_cpu > 0 ? $off_cpu : 1)")"
  done
}

bench_trust() {
  local key batch off_rate off_cpu verify sign line pool
  key=$("$LUA" -e 'io.write(require("hearsay").keygen())') || return 1
  # The limit: one core's Ed25519 checks a second, through the same OpenSSL.
  line=$(openssl speed -seconds 3 ed25519 2>/dev/null | grep -i 'ed25519' | tail -1)
  sign=$(awk '{ print $(NF-1) }' <<<"$line"); verify=$(awk '{ print $NF }' <<<"$line")
  log "== trust: POST /gossip from a hearsay client, $CONNS requests in flight, ${DURATION} s per run;"
  log "   open, then signed+keyed (security \"signed\": the client's MAC on every request, every"
  log "   envelope signed by its origin and checked, Ed25519); the node has no peers, ttl 0"
  log "$(printf 'openssl speed ed25519 (one core): %.0f signatures/s, %.0f checks/s' "$sign" "$verify")"
  result trust ed25519_sign_per_s "$sign"
  result trust ed25519_verify_per_s "$verify"
  # Enough signed envelopes for the run at the check's own rate, and more.
  pool=$(calc "int($verify * $DURATION * 1.3 / 1000 + 1) * 1000")
  for batch in 1 "$BATCH"; do
    start_hearsay trust_open && measure_load "trust_open_b$batch" "$batch"; stop_pid "$SRV_PID"
    off_rate=$M_RATE off_cpu=$M_CPU
    start_hearsay trust_signed --key "$key" --security signed &&
      measure_load "trust_signed_b$batch" "$batch" "$key" "$pool"
    stop_pid "$SRV_PID"
    log "$(printf 'batch %-4s signed/open: throughput x%.4f, server CPU per message x%.1f; signed at %.2f of the check limit' \
      "$batch" "$(calc "$M_RATE / ($off_rate > 0 ? $off_rate : 1)")" \
      "$(calc "$M_CPU / ($off_cpu > 0 ? $off_cpu : 1)")" "$(calc "$M_RATE / $verify")")"
    result "trust_b$batch" rate_ratio "$(calc "$M_RATE / ($off_rate > 0 ? $off_rate : 1)")"
    result "trust_b$batch" cpu_ratio "$(calc "$M_CPU / ($off_cpu > 0 ? $off_cpu : 1)")"
    result "trust_b$batch" of_verify_limit "$(calc "$M_RATE / $verify")"
  done
}

case ${1:-} in
  ingest) bench_ingest ;;
  trust) bench_trust ;;
  plugins) bench_plugins ;;
  auth) bench_auth ;;
  *) echo "usage: ingest.sh ingest|plugins|auth|trust (run through bench/run)" >&2; exit 2 ;;
esac
