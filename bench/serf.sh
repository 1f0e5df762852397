#!/usr/bin/env bash
# serf.sh -- HashiCorp Serf beside hearsay: the same dissemination and
# failure-detection measurements, with Serf agents on loopback. Called by
# bench/run (which sets the environment below); not meant to run alone.
#
#   serf.sh disseminate N REPEATS   user events from agent 1, timed at every agent
#   serf.sh detect N                kill -9 one agent, time every member-failed
#
# Agents: `serf agent` with its defaults (LAN profile: gossip every 200 ms
# to 3 nodes, probe every 1 s, suspicion multiplier 4), bound to
# 127.0.0.1:SERF_PORT+i with RPC on 127.0.0.1:SERF_PORT+1000+i, agent 1
# started first and the others joining it (-join). Every agent runs the
# same event handler for user and member-failed events: a bash script that
# appends "$EPOCHREALTIME $SERF_EVENT $SERF_USER_EVENT" to a per-agent file.
# A user event's times are taken relative to agent 1's own handler (agent 1
# is where it was sent): both sides then pay the same handler start-up, so
# it cancels. Serf does not tell how many copies of an event an agent got;
# when bench/run runs in a private network namespace we report instead the
# loopback bytes each event adds per agent (over the idle rate), which
# dissemination.lua measures the same way for hearsay.
#
# Environment: BENCH, WORK, SERF_PORT (default 24000), TIMEOUT (s per event).
set -u
source "$BENCH/lib.sh"

SERF_PORT=${SERF_PORT:-24000}
TIMEOUT=${TIMEOUT:-10}
SD=$WORK/serf
AGENTS=()

stop_agents() {
  local pid
  for pid in "${AGENTS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${AGENTS[@]}"; do wait "$pid" 2>/dev/null; done
  AGENTS=()
}
trap stop_agents EXIT

lo_bytes() { awk '/^ *lo:/ { sub(/^ *lo:/, ""); print $9 }' /proc/net/dev; }

# start_agents N: starts N agents, waits until agent 1 sees N alive members.
start_agents() {
  local n=$1 i
  rm -rf "$SD"; mkdir -p "$SD/log"
  cat >"$SD/handler.sh" <<'EOF'
#!/bin/bash
# Serf event handler: one line per event, stamped at once (bash builtin).
t=$EPOCHREALTIME
echo "$t $SERF_EVENT ${SERF_USER_EVENT:-}" >>"$SERF_LOG_DIR/$SERF_SELF_NAME"
EOF
  chmod +x "$SD/handler.sh"
  export SERF_LOG_DIR=$SD/log
  for ((i = 1; i <= n; i++)); do
    local join=()
    ((i > 1)) && join=(-join="127.0.0.1:$((SERF_PORT + 1))")
    serf agent -node="s$i" -bind="127.0.0.1:$((SERF_PORT + i))" \
      -rpc-addr="127.0.0.1:$((SERF_PORT + 1000 + i))" \
      -event-handler="user=$SD/handler.sh" -event-handler="member-failed=$SD/handler.sh" \
      "${join[@]}" -log-level=warn >"$SD/agent$i.out" 2>&1 &
    AGENTS+=($!)
    if ((i == 1)); then
      for ((k = 0; k < 100; k++)); do
        serf members -rpc-addr="127.0.0.1:$((SERF_PORT + 1001))" >/dev/null 2>&1 && break
        sleep 0.1
      done
    fi
  done
  for ((k = 0; k < 600; k++)); do
    local alive
    alive=$(serf members -rpc-addr="127.0.0.1:$((SERF_PORT + 1001))" -status=alive 2>/dev/null | wc -l)
    ((alive >= n)) && { log "serf: $n agents joined and alive ($((k / 10)) s)"; sleep 2; return 0; }
    sleep 0.1
  done
  log "serf: only $alive of $n agents alive after 60 s"
  return 1
}

# received NAME: how many agents' logs hold user event NAME.
received() { grep -l -F " user $1" "$SD"/log/* 2>/dev/null | wc -l; }

disseminate() {
  local n=$1 repeats=$2 rep k payload b0 b1 t0 t1 idle_rate
  start_agents "$n" || return 1
  # 400 characters of random base64, like hearsay's dissemination payload
  # (random, because Serf compresses its packets).
  payload=$(head -c 300 /dev/urandom | base64 -w0)
  : >"$SD/sends"
  # Idle loopback rate, for the bytes an event adds.
  # (10 s: push-pull state syncs make Serf's idle traffic bursty.)
  b0=$(lo_bytes); t0=$EPOCHREALTIME; sleep 10; b1=$(lo_bytes); t1=$EPOCHREALTIME
  idle_rate=$(calc "($b1 - $b0) / ($t1 - $t0)")
  for ((rep = 1; rep <= repeats; rep++)); do
    b0=$(lo_bytes); t0=$EPOCHREALTIME
    serf event -rpc-addr="127.0.0.1:$((SERF_PORT + 1001))" -coalesce=false "bench_r$rep" "$payload" >/dev/null
    for ((k = 0; k < TIMEOUT * 20; k++)); do
      (($(received "bench_r$rep") >= n)) && break
      sleep 0.05
    done
    # Retransmissions go on after the last agent has it (each agent sends an
    # event 4*ceil(log10(N+1)) times); wait them out before reading bytes.
    sleep 2
    b1=$(lo_bytes); t1=$EPOCHREALTIME
    echo "$rep $t0 $t1 $b0 $b1" >>"$SD/sends"
  done
  "$LUA" "$BENCH/lua/serf_stats.lua" --mode events --dir "$SD" --nodes "$n" --repeats "$repeats" \
    --idle-rate "$idle_rate" --payload 400 --label "serf_n$n"
  stop_agents
}

detect() {
  local n=$1 k t0 victim
  start_agents "$n" || return 1
  sleep 3
  rm -f "$SD"/log/*
  victim=${#AGENTS[@]}
  t0=$EPOCHREALTIME
  kill -KILL "${AGENTS[victim - 1]}"
  for ((k = 0; k < 60 * 10; k++)); do
    (($(grep -l -F member-failed "$SD"/log/* 2>/dev/null | wc -l) >= n - 1)) && break
    sleep 0.1
  done
  "$LUA" "$BENCH/lua/serf_stats.lua" --mode failed --dir "$SD" --nodes "$n" --t0 "$t0" \
    --victim "s$victim" --label "serf_detect_n$n"
  stop_agents
}

case ${1:-} in
  disseminate) disseminate "$2" "$3" ;;
  detect) detect "$2" ;;
  *) echo "usage: serf.sh disseminate N REPEATS | detect N (run through bench/run)" >&2; exit 2 ;;
esac
