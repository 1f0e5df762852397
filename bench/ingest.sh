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
# ingest (hearsay vs bare_mhd) compares the servers' CPU per message, and
# for that both must be saturated: with wrk and the server sharing the 2
# cores neither server got past 65-70% of one, and the throughput ratio
# measured the client. So there the server is pinned to one core and wrk
# to the other (taskset; INGEST_PIN=0 turns it off, and it is off on a
# machine with fewer than 2 cores), one wrk thread (two on one core only
# take turns) with 16 connections (INGEST_THREADS, INGEST_CONNS), and the
# load comes from wrk/ingest.lua: gossip.lua's envelopes from a format
# made once (one string.format a request), since gossip.lua's Lua held
# wrk's core at 100% with hearsay at 71-87% of its own and bare_mhd at
# 45% on batches. bare_mhd never reads an id, so it gets one request
# resent (wrk's static mode; INGEST_BARE_STATIC=0: fresh ids for it too).
# Each run's server CPU and both cores' busy time (/proc/stat) are
# reported: a server under ~90% of its core was not saturated, and its
# rate is the client's.
#
# Environment: BENCH (bench/ dir), ART (snapshot of the build: bare_mhd),
# WORK (scratch dir), DURATION (s), BATCH (envelopes per batch),
# PLUGIN_REPEATS (plugin runs per configuration), LUA (lua5.4), LUA_PATH/LUA_CPATH.
set -u
source "$BENCH/lib.sh"
trap stop_all EXIT

THREADS=2 CONNS=4
INGEST_THREADS=${INGEST_THREADS:-1} INGEST_CONNS=${INGEST_CONNS:-16} INGEST_PIN=${INGEST_PIN:-1}
INGEST_BARE_STATIC=${INGEST_BARE_STATIC:-1}
SRV_CORE=0 CLI_CORE=1

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

# core_ticks CPU: "busy total" clock ticks of one core so far (/proc/stat:
# busy is user, nice, system, irq, softirq and steal; total adds idle and
# iowait). The kernel's share of a request (loopback, softirqs) lands on a
# core but not always in the process's own utime + stime.
core_ticks() {
  awk -v c="cpu$1" '$1 == c { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

# busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": a core's busy share between two
# core_ticks readings, in %.
busy_pct() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.6g", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# measure LABEL KIND BATCH TTL: runs wrk against SRV_URL and prints the
# figures; KIND is hearsay or bare. Sets M_RATE (messages/s), M_CPU
# (server CPU microseconds per message) and M_PCT (server CPU, % of one
# core). With PIN=1 (bench_ingest) the server runs on core SRV_CORE alone
# and wrk on CLI_CORE, with W_THREADS threads and W_CONNS connections, the
# wrk script W_SCRIPT (gossip.lua), static for a bare server when
# W_BARE_STATIC=1 (ingest.lua only).
measure() {
  local label=$1 kind=$2 batch=$3 ttl=$4 line t0 t1 a0 a1 s0 s1 c0 c1
  local threads=${W_THREADS:-$THREADS} conns=${W_CONNS:-$CONNS} cli=() mode=()
  local script=${W_SCRIPT:-$BENCH/wrk/gossip.lua}
  [[ $kind == bare && ${W_BARE_STATIC:-0} == 1 ]] && mode=(static)
  if [[ ${PIN:-0} == 1 ]]; then
    # -a: every thread of the server, libuv's pool too if it has one.
    taskset -a -pc "$SRV_CORE" "$SRV_PID" >/dev/null 2>&1 || log "$label: taskset failed: server not pinned"
    cli=(taskset -c "$CLI_CORE")
  fi
  # One short warm-up run: connections, caches, allocator.
  "${cli[@]}" wrk -t"$threads" -c"$conns" -d1s -s "$script" "$SRV_URL" -- "$batch" "$ttl" "$(nonce)" "${mode[@]}" \
    >/dev/null 2>&1
  a0=$(accepted "$kind" "$SRV_URL"); t0=$(cpu_ticks "$SRV_PID")
  [[ ${PIN:-0} == 1 ]] && { s0=$(core_ticks "$SRV_CORE"); c0=$(core_ticks "$CLI_CORE"); }
  line=$("${cli[@]}" wrk -t"$threads" -c"$conns" -d${DURATION}s -s "$script" "$SRV_URL" \
    -- "$batch" "$ttl" "$(nonce)" "${mode[@]}" | grep '^WRK ')
  [[ ${PIN:-0} == 1 ]] && { s1=$(core_ticks "$SRV_CORE"); c1=$(core_ticks "$CLI_CORE"); }
  t1=$(cpu_ticks "$SRV_PID"); a1=$(accepted "$kind" "$SRV_URL")
  if [[ -z $line ]]; then log "$label: wrk failed"; M_RATE=0 M_CPU=0 M_PCT=0; return 1; fi
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
  local rps cpu_pct cores=""
  rps=$(calc "$requests / ($duration / 1e6)")
  cpu_pct=$(calc "100 * $cpu_s / ($duration / 1e6)")
  M_PCT=$cpu_pct
  # Busy share of each core over the run, when pinned: one core holds the
  # server, the other wrk.
  local sb=0 ct=0
  if [[ ${PIN:-0} == 1 ]]; then
    sb=$(busy_pct "$s0" "$s1") ct=$(busy_pct "$c0" "$c1")
    cores=$(printf '  cores: server %3.0f%% client %3.0f%%' "$sb" "$ct")
  fi
  log "$(printf '%-26s %9.0f req/s %10.0f msg/s  p50 %7.3f ms  p99 %7.3f ms  server CPU %5.1f%%  %6.2f us/msg%s %s' \
    "$label" "$rps" "$M_RATE" "$(calc "$p50 / 1000")" "$(calc "$p99 / 1000")" "$cpu_pct" "$M_CPU" \
    "$cores" "${errs:+ ERRORS: $errs}")"
  result "$label" req_per_s "$rps"
  result "$label" msgs_per_s "$M_RATE"
  result "$label" p50_ms "$(calc "$p50 / 1000")"
  result "$label" p99_ms "$(calc "$p99 / 1000")"
  result "$label" cpu_pct "$cpu_pct"
  result "$label" cpu_us_per_msg "$M_CPU"
  if [[ ${PIN:-0} == 1 ]]; then
    result "$label" server_core_busy_pct "$sb"
    result "$label" client_core_busy_pct "$ct"
  fi
  # Always written, 0 too: the summary judges no target from a run with errors.
  result "$label" errors "$nerrs"
  if [[ $kind == hearsay ]] && (( msgs < requests * batch * 9 / 10 )); then
    log "  note: the node accepted $msgs of $((requests * batch)) envelopes sent"
  fi
}

# ratio A B: A / B, or nan when either is missing or B is 0.
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "nan"; else printf "%.6g", a / b }'; }

bench_ingest() {
  local PIN=0 W_THREADS=$INGEST_THREADS W_CONNS=$INGEST_CONNS W_SCRIPT=$BENCH/wrk/ingest.lua
  local W_BARE_STATIC=$INGEST_BARE_STATIC where bare_load
  if ((INGEST_PIN)) && (($(nproc) >= 2)) && command -v taskset >/dev/null; then
    PIN=1 where="server on core $SRV_CORE alone, wrk on core $CLI_CORE"
  else
    where="server and wrk unpinned (sharing the cores: the servers are not saturated)"
  fi
  bare_load="wrk/ingest.lua, fresh ids for both servers"
  ((INGEST_BARE_STATIC)) && bare_load="wrk/ingest.lua, fresh ids for hearsay, one request resent for bare_mhd"
  log "== ingest: POST /gossip, wrk -t$W_THREADS -c$W_CONNS, ${DURATION} s per run, $where;"
  log "   $bare_load; the hearsay node has no peers (nothing is forwarded); envelopes carry ttl 0;"
  log "   batches hold $BATCH envelopes. Primary figure: the server's CPU per message, hearsay over bare"
  result ingest pinned "$PIN"
  result ingest conns "$W_CONNS"
  result ingest threads "$W_THREADS"
  result ingest bare_static "$INGEST_BARE_STATIC"
  # Each hearsay run next to its bare one: the machine's moment is shared.
  # (A run that failed leaves its figures empty: its ratios read nan.)
  local hs1_r="" hs1_c="" hs1_p="" b1_r="" b1_c="" b1_p="" hsb_r="" hsb_c="" hsb_p="" bb_r="" bb_c="" bb_p=""
  start_hearsay hs_single && measure ingest_hearsay_single hearsay 1 0 &&
    hs1_r=$M_RATE hs1_c=$M_CPU hs1_p=$M_PCT
  stop_pid "$SRV_PID"
  start_bare bare_single && measure ingest_bare_single bare 1 0 && b1_r=$M_RATE b1_c=$M_CPU b1_p=$M_PCT
  stop_pid "$SRV_PID"
  start_hearsay hs_batch && measure ingest_hearsay_batch hearsay "$BATCH" 0 &&
    hsb_r=$M_RATE hsb_c=$M_CPU hsb_p=$M_PCT
  stop_pid "$SRV_PID"
  start_bare bare_batch && measure ingest_bare_batch bare "$BATCH" 0 && bb_r=$M_RATE bb_c=$M_CPU bb_p=$M_PCT
  stop_pid "$SRV_PID"

  # CPU per message, hearsay over bare (lower is better; 1 is the ceiling)
  # first; the raw throughput ratio beside it. Batched over single, as
  # messages per server CPU-second (= single us/msg over batched us/msg),
  # beside the raw messages/s ratio.
  local cr1 crb rr1 rrb bsn bs bbsn bbs pmin
  cr1=$(ratio "$hs1_c" "$b1_c") crb=$(ratio "$hsb_c" "$bb_c")
  rr1=$(ratio "$hs1_r" "$b1_r") rrb=$(ratio "$hsb_r" "$bb_r")
  bsn=$(ratio "$hs1_c" "$hsb_c") bs=$(ratio "$hsb_r" "$hs1_r")
  bbsn=$(ratio "$b1_c" "$bb_c") bbs=$(ratio "$bb_r" "$b1_r")
  # The least busy server of the four runs (nan if a run failed).
  pmin=$(awk -v l="$hs1_p $b1_p $hsb_p $bb_p" 'BEGIN { n = split(l, v, " "); if (n < 4) { print "nan"; exit }
    m = v[1]; for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]; printf "%.6g", m }')
  log "$(printf 'hearsay/bare, server CPU per message: single x%s, batch x%s   (raw msgs/s hearsay/bare: single %s, batch %s)' \
    "$cr1" "$crb" "$rr1" "$rrb")"
  log "$(printf 'batched/single, msgs per server CPU-second: hearsay x%s (raw msgs/s x%s); bare x%s (raw x%s)' \
    "$bsn" "$bs" "$bbsn" "$bbs")"
  local sat=""
  [[ $pmin != nan ]] && awk -v p="$pmin" 'BEGIN { exit !(p + 0 < 90) }' &&
    sat="  NOT SATURATED: a server under 90% of its core ran at the client's pace"
  pct() { if [[ -n $1 ]]; then printf '%.0f%%' "$1"; else printf -- '-'; fi; }
  log "server CPU, of one core: hearsay $(pct "$hs1_p") / $(pct "$hsb_p"), bare $(pct "$b1_p") / $(pct "$bb_p") (single / batch)$sat"
  result ingest cpu_ratio_single "$cr1"
  result ingest cpu_ratio_batch "$crb"
  # The bare server's share of hearsay's CPU per message: the "share of the
  # ceiling" read the throughput ratio gave when both were saturated.
  result ingest cpu_share_single "$(ratio "$b1_c" "$hs1_c")"
  result ingest cpu_share_batch "$(ratio "$bb_c" "$hsb_c")"
  result ingest rate_ratio_single "$rr1"
  result ingest rate_ratio_batch "$rrb"
  result ingest batch_over_single_cpu_norm "$bsn"
  result ingest batch_over_single "$bs"
  result ingest bare_batch_over_single_cpu_norm "$bbsn"
  result ingest server_cpu_pct_min "$pmin"
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
