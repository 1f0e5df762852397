#!/usr/bin/env bash
# serf.sh -- HashiCorp Serf beside hearsay: the same dissemination,
# failure-detection and idle measurements, with Serf agents on loopback.
# Called by bench/run (which sets the environment below); not meant to run
# alone.
#
#   serf.sh disseminate N REPEATS [--no-handler] [--label L]
#                         user events from agent 1, timed at every agent
#   serf.sh detect N [--profile lan|wan|local] [--labels L1,L2] [--window S]
#                         kill -9 one agent, time every agent's member-failed
#   serf.sh idle N SECONDS [PAUSE]
#                         bytes/s and CPU per agent with no traffic of ours
#   serf.sh load N RATES [SECONDS] [--payload BYTES] [--origins K] [--drain S]
#                [--label L]
#                         open-loop stepped load: user events at each rate
#                         of RATES (per second, comma-separated) for SECONDS,
#                         counted and timed at every agent (see load() below)
#
# Agents: `serf agent` with its defaults (profile lan: memberlist's
# DefaultLANConfig, probe every 1 s with a 0.5 s timeout and 3 indirect
# checks, suspicion 4 x max(1, log10 N) x 1 s, gossip every 200 ms to 3
# nodes, push-pull every 30 s; log level info), bound to
# 127.0.0.1:SERF_PORT+i with RPC on 127.0.0.1:SERF_PORT+1000+i, agent 1
# started first and the others joining it (-join). A Serf agent takes no
# other timing than -profile (lan, wan, local): memberlist's parameters
# are not agent settings (hashicorp/serf#252, #578; PR #519 was closed).
#
# Every agent's output goes through bench/serf/stamp.pl, which stamps each
# log line as it is written (the agent's own log has whole seconds) and
# picks out what the agent itself did: received a user event (debug level),
# declared a member failed (EventMemberFailed, before the agent's
# coalescing), suspected one. Event handler (user and member-failed
# events): a bash script appending "EPOCH EVENT NAME NICE" per event (per
# member named on stdin for member events) to a per-agent file.
#
# CPU share: the agents, their handlers and stamp.pl inherit this script's
# niceness, which is bench/run's, the niceness every hearsay process runs
# at (nothing in bench/ renices); we print the niceness each agent and
# each handler ran at. A handler is a process per event per agent, which
# hearsay's in-process hooks are not: we measure it (a run's CPU, from 100
# runs made as Serf makes them; each agent's handler start after its own
# reception), report reception times without it (recv_*: disseminate runs
# the agents at log level debug, where each logs the user events it
# receives), and --no-handler runs the events with no handler at all
# (times from the agents' logs), the like-for-like CPU share.
#
# Bytes: when bench/run runs in a private network namespace, everything on
# loopback is ours: we report the bytes each event adds per agent (over the
# idle rate), and bytes per agent per second at rest.
#
# Environment: BENCH, WORK, LUA, SERF_PORT (default 24000), TIMEOUT (s per event).
set -u
source "$BENCH/lib.sh"

SERF_PORT=${SERF_PORT:-24000}
TIMEOUT=${TIMEOUT:-10}
SD=$WORK/serf
AGENTS=() STAMPERS=()

stop_agents() {
  local pid deadline=$((SECONDS + 5))
  for pid in "${AGENTS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${AGENTS[@]}"; do wait "$pid" 2>/dev/null; done
  # stamp.pl ends at its agent's end of output: 5 s for all of them to.
  for pid in "${STAMPERS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  AGENTS=() STAMPERS=()
}
trap stop_agents EXIT

lo_bytes() { awk '/^ *lo:/ { sub(/^ *lo:/, ""); print $9 }' /proc/net/dev; }

# nice_of PID: the niceness of a process (field 19 of /proc/PID/stat).
nice_of() {
  local st
  read -r -a st 2>/dev/null <"/proc/$1/stat" || { echo "?"; return; }
  echo "${st[18]}"
}

# agent_ticks: "OWN CHILDREN" CPU ticks summed over our agents: their own
# utime+stime, and cutime+cstime, the reaped children's: the event
# handlers (sh, then bash). The agents' command name ("serf") has no
# spaces, so the fields fall where proc(5) says. A handler run costs
# about a tick (1/CLK_TCK s) or less, and each agent's total is whole
# ticks: a difference is exact on average, so what we read is the sum
# over all agents and all events.
agent_ticks() {
  local pid st own=0 kids=0
  for pid in "${AGENTS[@]}"; do
    read -r -a st 2>/dev/null <"/proc/$pid/stat" || continue
    own=$((own + st[13] + st[14]))
    kids=$((kids + st[15] + st[16]))
  done
  echo "$own $kids"
}

# start_agents N: starts N agents, waits until agent 1 sees N alive members.
# Globals: PROFILE (lan), LOG_LEVEL (info), HANDLE (events the handler
# gets, comma-separated, "" for none).
PROFILE=lan LOG_LEVEL=info HANDLE=user,member-failed
start_agents() {
  local n=$1 i k alive=0
  rm -rf "$SD"; mkdir -p "$SD/log" "$SD/ev" "$SD/fifo"
  cat >"$SD/handler.sh" <<'EOF'
#!/bin/bash
# Serf event handler: stamped at once (bash builtin); one line per user
# event, one per member a member event names on stdin ("NAME ADDR ROLE TAGS").
t=$EPOCHREALTIME
read -r -a st </proc/$$/stat
out=$SERF_LOG_DIR/$SERF_SELF_NAME
if [[ $SERF_EVENT == user ]]; then
  echo "$t user ${SERF_USER_EVENT:-} ${st[18]}" >>"$out"
else
  while read -r name _; do echo "$t $SERF_EVENT $name ${st[18]}" >>"$out"; done
fi
EOF
  chmod +x "$SD/handler.sh"
  export SERF_LOG_DIR=$SD/log
  local handlers=() ev
  IFS=, read -ra ev <<<"$HANDLE"
  for k in "${ev[@]}"; do handlers+=(-event-handler="$k=$SD/handler.sh"); done
  for ((i = 1; i <= n; i++)); do
    local join=()
    ((i > 1)) && join=(-join="127.0.0.1:$((SERF_PORT + 1))")
    mkfifo "$SD/fifo/$i" || return 1
    perl "$BENCH/serf/stamp.pl" "$SD/agent$i.out" "$SD/ev/s$i" <"$SD/fifo/$i" &
    STAMPERS+=($!)
    serf agent -node="s$i" -bind="127.0.0.1:$((SERF_PORT + i))" \
      -rpc-addr="127.0.0.1:$((SERF_PORT + 1000 + i))" -profile="$PROFILE" \
      "${handlers[@]}" "${join[@]}" -log-level="$LOG_LEVEL" >"$SD/fifo/$i" 2>&1 &
    AGENTS+=($!)
    if ((i == 1)); then
      for ((k = 0; k < 100; k++)); do
        serf members -rpc-addr="127.0.0.1:$((SERF_PORT + 1001))" >/dev/null 2>&1 && break
        sleep 0.1
      done
    fi
  done
  for ((k = 0; k < 600; k++)); do
    alive=$(serf members -rpc-addr="127.0.0.1:$((SERF_PORT + 1001))" -status=alive 2>/dev/null | wc -l)
    if ((alive >= n)); then
      log "serf: $n agents joined and alive ($((k / 10)) s); profile $PROFILE, log level $LOG_LEVEL," \
        "handler for: ${HANDLE:-nothing}"
      sleep 2
      return 0
    fi
    sleep 0.1
  done
  log "serf: only $alive of $n agents alive after 60 s"
  return 1
}

# handler_cost: CPU ms of one handler run, as Serf runs it (/bin/sh -c
# SCRIPT, the event in the environment), measured by running it 100 times
# here and reading our children's CPU before and after (bash's `times`:
# getrusage, exact). The agents' own children's times (/proc, whole ticks
# per agent, a few ms per agent per event) are too coarse for it.
handler_cost() {
  local k runs=100
  mkdir -p "$SD/cal"
  times >"$SD/times0"
  for ((k = 1; k <= runs; k++)); do
    SERF_EVENT=user SERF_USER_EVENT=calibrate SERF_SELF_NAME=cal SERF_LOG_DIR=$SD/cal \
      /bin/sh -c "$SD/handler.sh" </dev/null
  done
  times >"$SD/times1"
  # Second line of `times`: the children's user and system time, "XmS.SSSs".
  awk -v runs=$runs 'FNR == 2 { for (i = 1; i <= 2; i++) { split($i, p, "m"); s += (FILENAME ~ /1$/ ? 1 : -1) * (p[1] * 60 + p[2]) } }
    END { printf "%.4f", s / runs * 1000 }' "$SD/times0" "$SD/times1"
}

# niceness: one line saying what each side ran at.
niceness() {
  local pid lo=999 hi=-999 v self
  for pid in "${AGENTS[@]}"; do
    v=$(nice_of "$pid"); [[ $v == "?" ]] && continue
    ((v < lo)) && lo=$v; ((v > hi)) && hi=$v
  done
  self=$(nice_of $$)
  log "serf: niceness: this script $self (bench/run's, which every hearsay process inherits too)," \
    "agents $lo..$hi (their event handlers inherit it)"
}

# metrics_dump: every agent writes its telemetry (go-metrics' in-memory
# sink, 10-s intervals, the last minute) to its log on SIGUSR1.
metrics_dump() {
  local pid
  for pid in "${AGENTS[@]}"; do kill -USR1 "$pid" 2>/dev/null; done
  sleep 1
}

# received NAME: how many agents have user event NAME: by their handlers'
# logs, or (no handler) by their own (agent 1, the origin, counts).
received() {
  if [[ -n $HANDLE ]]; then
    grep -l -F " user $1 " "$SD"/log/s* 2>/dev/null | wc -l
  else
    echo $(($(grep -l -E " recv $1\$" "$SD"/ev/s* 2>/dev/null | grep -vc '/s1$') + 1))
  fi
}

disseminate() {
  local n=$1 repeats=$2 label="" rep k payload b0 b1 t0 t1 idle_rate ta tb
  shift 2
  HANDLE=user
  while (($#)); do
    case $1 in
      --no-handler) HANDLE="" ;;
      --label) label=$2; shift ;;
      *) echo "serf.sh disseminate: unknown option $1" >&2; return 2 ;;
    esac
    shift
  done
  [[ -n $label ]] || { [[ -n $HANDLE ]] && label=serf_n$n || label=serf_nohandler_n$n; }
  # debug: the agents log every user event they receive (stamp.pl's "recv").
  LOG_LEVEL=debug
  start_agents "$n" || return 1
  niceness
  local hcost=0
  [[ -n $HANDLE ]] && hcost=$(handler_cost)
  # 400 characters of random base64, like hearsay's dissemination payload
  # (random, because Serf compresses its packets).
  payload=$(head -c 300 /dev/urandom | base64 -w0)
  : >"$SD/sends"
  # Idle loopback rate, for the bytes an event adds.
  # (10 s: push-pull state syncs make Serf's idle traffic bursty.)
  b0=$(lo_bytes); t0=$EPOCHREALTIME; sleep 10; b1=$(lo_bytes); t1=$EPOCHREALTIME
  idle_rate=$(calc "($b1 - $b0) / ($t1 - $t0)")
  # Origins, as hearsay's dissemination bench: ORIGINS agents spread over
  # the cluster, agent 1 first, in turn.
  local origins=${ORIGINS:-5} origin
  ((origins > n)) && origins=$n
  ((origins < 1)) && origins=1
  for ((rep = 1; rep <= repeats; rep++)); do
    origin=$((1 + ((rep - 1) % origins) * (n / origins)))
    b0=$(lo_bytes); t0=$EPOCHREALTIME; ta=$(agent_ticks)
    serf event -rpc-addr="127.0.0.1:$((SERF_PORT + 1000 + origin))" -coalesce=false "bench_r$rep" "$payload" >/dev/null
    for ((k = 0; k < TIMEOUT * 20; k++)); do
      (($(received "bench_r$rep") >= n)) && break
      sleep 0.05
    done
    # Retransmissions go on after the last agent has it (each agent sends an
    # event 4*ceil(log10(N+1)) times); wait them out before reading bytes.
    sleep 2
    b1=$(lo_bytes); t1=$EPOCHREALTIME; tb=$(agent_ticks)
    echo "$rep $t0 $t1 $b0 $b1 $ta $tb $origin" >>"$SD/sends"
  done
  "$LUA" "$BENCH/lua/serf_stats.lua" --mode events --dir "$SD" --nodes "$n" --repeats "$repeats" \
    --idle-rate "$idle_rate" --payload 400 --label "$label" --handler "$([[ -n $HANDLE ]] && echo 1 || echo 0)" \
    --clk-tck "$CLK_TCK" --handler-ms "$hcost"
  stop_agents
}

detect() {
  local n=$1 labels="" window=20 k t0 t1 victim w0 w1 b0 b1 ta tb tc tw
  shift
  while (($#)); do
    case $1 in
      --profile) PROFILE=$2; shift ;;
      --labels) labels=$2; shift ;;
      --window) window=$2; shift ;;
      *) echo "serf.sh detect: unknown option $1" >&2; return 2 ;;
    esac
    shift
  done
  [[ -n $labels ]] || labels=serf_detect_n$n
  HANDLE=member-failed LOG_LEVEL=info
  start_agents "$n" || return 1
  niceness
  sleep 1
  # The steady window: what Serf's failure detector costs at rest.
  b0=$(lo_bytes); ta=$(agent_ticks); w0=$EPOCHREALTIME
  sleep "$window"
  b1=$(lo_bytes); tb=$(agent_ticks); w1=$EPOCHREALTIME
  metrics_dump
  rm -f "$SD"/log/*
  victim=${#AGENTS[@]}
  t0=$EPOCHREALTIME
  kill -KILL "${AGENTS[victim - 1]}"
  wait "${AGENTS[victim - 1]}" 2>/dev/null # (reaped here: bash says nothing of it)
  # Done when every other agent's handler has run for the victim (the
  # handler comes last: after memberlist's verdict and the coalescing).
  for ((k = 0; k < 90 * 10; k++)); do
    (($(grep -l -F " member-failed s$victim " "$SD"/log/* 2>/dev/null | wc -l) >= n - 1)) && break
    sleep 0.1
  done
  t1=$EPOCHREALTIME; tc=$(agent_ticks)
  tw=$(calc "$w1 - $w0")
  "$LUA" "$BENCH/lua/serf_stats.lua" --mode failed --dir "$SD" --nodes "$n" --t0 "$t0" --t1 "$t1" \
    --victim "s$victim" --label "$labels" --profile "$PROFILE" --w0 "$w0" --w1 "$w1" \
    --window-bytes "$((b1 - b0))" --window-ticks "$(calc "${tb% *} - ${ta% *}")" \
    --detect-ticks "$(calc "${tc% *} - ${tb% *}")" --clk-tck "$CLK_TCK" \
    --netns "${BENCH_NETNS:-0}"
  stop_agents
}

idle() {
  local n=$1 seconds=$2 pause=${3:-35} b0 b1 ta tb w0 w1
  HANDLE="" LOG_LEVEL=info
  start_agents "$n" || return 1
  niceness
  log "serf idle: $n agents, profile $PROFILE, no handler; ${pause} s, then $seconds s measured" \
    "with no traffic of ours"
  sleep "$pause"
  b0=$(lo_bytes); ta=$(agent_ticks); w0=$EPOCHREALTIME
  sleep "$seconds"
  b1=$(lo_bytes); tb=$(agent_ticks); w1=$EPOCHREALTIME
  metrics_dump
  "$LUA" "$BENCH/lua/serf_stats.lua" --mode idle --dir "$SD" --nodes "$n" --label serf_idle \
    --profile "$PROFILE" --w0 "$w0" --w1 "$w1" --window-bytes "$((b1 - b0))" \
    --window-ticks "$(calc "${tb% *} - ${ta% *}")" --clk-tck "$CLK_TCK" --netns "${BENCH_NETNS:-0}"
  stop_agents
}

# pid_ticks PID...: their utime+stime summed (CPU ticks), as agent_ticks.
pid_ticks() {
  local pid st sum=0
  for pid in "$@"; do
    read -r -a st 2>/dev/null <"/proc/$pid/stat" || continue
    sum=$((sum + st[13] + st[14]))
  done
  echo "$sum"
}

# udp_rcvbuf_errors: UDP datagrams the kernel dropped for a full receive
# buffer (this network namespace's /proc/net/snmp).
udp_rcvbuf_errors() {
  awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) f[$i] = i; h = 1 } else { print $f["RcvbufErrors"] + 0; exit } }' \
    /proc/net/snmp 2>/dev/null || echo 0
}

# load N RATES [SECONDS] [options]: Serf's side of the open-loop stepped
# load benchmark (issue 17). One cluster of N agents (defaults, no event
# handler, log level debug: every agent logs each user event copy it
# receives and stamp.pl stamps the first, as in disseminate --no-handler);
# then for each rate R of RATES, one step: bench/serf/load.pl sends user
# events at R per second on a fixed schedule for SECONDS, open-loop
# (pipelined RPC requests, never waiting for an answer or a delivery),
# event i to origin agent i mod K (K agents spread over the cluster, agent
# 1 first), each with a unique name and BYTES random base64 characters;
# then --drain seconds with nothing sent. Per step (serf_stats.lua --mode
# load): the rate offered (measured), deliveries (origin excluded) within
# the step, their latency from the RPC's start, the agents' CPU, and what
# Serf dropped. Before the cluster, one agent alone is asked to send an
# event of BYTES: if Serf refuses it (its user event size limit), the steps
# report that and nothing else.
load() {
  local n=${1:?} rates=${2:?} seconds=20 payload=400 origins=10 drain=5 label="" k r
  shift 2
  if (($#)) && [[ $1 != --* ]]; then seconds=$1; shift; fi
  while (($#)); do
    case $1 in
      --payload) payload=$2; shift ;;
      --origins) origins=$2; shift ;;
      --drain) drain=$2; shift ;;
      --label) label=$2; shift ;;
      *) echo "serf.sh load: unknown option $1" >&2; return 2 ;;
    esac
    shift
  done
  [[ -n $label ]] || label=serf_load_n$n
  local suffix=""
  ((payload != 400)) && suffix=_p$payload
  local rate_list
  IFS=, read -ra rate_list <<<"$rates"
  ((origins > n)) && origins=$n
  ((origins < 1)) && origins=1
  local agents=() csv
  for ((k = 0; k < origins; k++)); do agents+=($((1 + k * (n / origins)))); done
  csv=$(IFS=,; echo "${agents[*]}")
  HANDLE="" LOG_LEVEL=debug

  # Can Serf carry BYTES? One agent, one event of that size (and a name as
  # long as the steps' longest), through the same RPC.
  start_agents 1 || return 1
  local probe="$SD/probe" perr
  timeout 30 perl "$BENCH/serf/load.pl" --rpc-base "$((SERF_PORT + 1000))" --agents 1 --rate 1 \
    --seconds 1 --payload "$payload" --prefix "r999s99_9999" --out "$probe" >/dev/null
  perr=$(awk '{ print $6 }' "$probe" 2>/dev/null)
  stop_agents
  if [[ -z $perr ]]; then
    log "serf load: the probe event got no answer from a lone agent: no step run"
    return 1
  fi
  if [[ $perr != "-" ]]; then
    local limit
    perr=${perr//_/ }
    limit=$(grep -oE 'limit of [0-9]+ bytes' <<<"$perr" | grep -oE '[0-9]+' | head -1)
    log "serf load: Serf refuses a user event of $payload payload bytes: agent says \"$perr\":" \
      "no step run (the agent's user_event_size_limit, 512 bytes by default, covers name and" \
      "payload encoded; raised to its maximum, 9216, an event of over ~1350 bytes is accepted but" \
      "does not fit memberlist's 1400-byte gossip packets: it spreads only by the 30-s push-pull" \
      "state syncs, bench/README.md)"
    for r in "${rate_list[@]}"; do
      result "${label}_r$r$suffix" refused 1
      result "${label}_r$r$suffix" payload_bytes "$payload"
      [[ -n $limit ]] && result "${label}_r$r$suffix" size_limit_bytes "$limit"
    done
    return 0
  fi

  start_agents "$n" || return 1
  niceness
  log "serf load: $n agents, no event handler, log level debug; origins: agents $csv;" \
    "rates ${rates} per s, $seconds s each, $payload-byte payloads, then $drain s of drain"
  # The agents at rest: CPU and loopback bytes over 10 s, after 5 s for
  # the joins' own gossip to die down.
  local ta tb w0 w1 b0 b1 idle_cpu idle_bps
  sleep 5
  ta=$(agent_ticks); b0=$(lo_bytes); w0=$EPOCHREALTIME
  sleep 10
  tb=$(agent_ticks); b1=$(lo_bytes); w1=$EPOCHREALTIME
  idle_cpu=$(calc "100 * (${tb% *} - ${ta% *}) / $CLK_TCK / ($w1 - $w0) / $n")
  idle_bps=$(calc "($b1 - $b0) / ($w1 - $w0) / $n")
  log "serf load: at rest: CPU $idle_cpu% of a core per agent, $idle_bps loopback bytes/s per agent"
  local step=0 prefix sends t0 t1 sa sb u0 u1 settle pre_bps s0 c0 c1
  for r in "${rate_list[@]}"; do
    step=$((step + 1))
    prefix="r${r}s$step"
    sends=$SD/load_$prefix
    # Settle: an agent keeps retransmitting each event until it has sent it
    # 4 x ceil(log10(N+1)) times, long after the drain when a step
    # saturated it. Up to 30 s, we wait for the loopback to come back to
    # twice its rate at rest (1-s windows; in a private namespace only); the
    # rate of the last window, beside the one at rest, says how much of the
    # previous step was still going when this one started.
    s0=$EPOCHREALTIME pre_bps=nan
    if [[ ${BENCH_NETNS:-0} == 1 ]]; then
      for ((k = 0; k < 30; k++)); do
        c0=$(lo_bytes); w0=$EPOCHREALTIME; sleep 1; c1=$(lo_bytes); w1=$EPOCHREALTIME
        pre_bps=$(calc "($c1 - $c0) / ($w1 - $w0) / $n")
        awk -v a="$pre_bps" -v b="$idle_bps" 'BEGIN { exit !(a <= 2 * b + 500) }' && break
      done
    fi
    settle=$(calc "$EPOCHREALTIME - $s0")
    t0=$EPOCHREALTIME; ta=$(agent_ticks); sa=$(pid_ticks "${STAMPERS[@]}"); b0=$(lo_bytes)
    u0=$(udp_rcvbuf_errors)
    timeout $((seconds + 30)) perl "$BENCH/serf/load.pl" --rpc-base "$((SERF_PORT + 1000))" \
      --agents "$csv" --rate "$r" --seconds "$seconds" --payload "$payload" --prefix "$prefix" \
      --out "$sends" --ack-wait 5 ||
      log "serf load: the sender failed at $r per s (status $?)"
    sleep "$drain"
    t1=$EPOCHREALTIME; tb=$(agent_ticks); sb=$(pid_ticks "${STAMPERS[@]}"); b1=$(lo_bytes)
    u1=$(udp_rcvbuf_errors)
    # What the agents said about dropping or queueing (stamped lines; the
    # step's window is picked out by serf_stats.lua).
    grep -H -E 'dropping|queue depth|received old event|handler queue full|Too many pending' \
      "$SD"/agent*.out >"$sends.warn" 2>/dev/null
    "$LUA" "$BENCH/lua/serf_stats.lua" --mode load --dir "$SD" --nodes "$n" --sends "$sends" \
      --prefix "$prefix" --label "${label}_r$r$suffix" --rate "$r" --seconds "$seconds" \
      --payload "$payload" --origins "$origins" --drain "$drain" --t0 "$t0" --t1 "$t1" \
      --agent-ticks "$(calc "${tb% *} - ${ta% *}")" --stamp-ticks "$((sb - sa))" \
      --idle-cpu "$idle_cpu" --idle-bps "$idle_bps" --window-bytes "$((b1 - b0))" \
      --udp-errors "$((u1 - u0))" --warn "$sends.warn" --clk-tck "$CLK_TCK" --netns "${BENCH_NETNS:-0}" \
      --settle-s "$settle" --pre-bps "$pre_bps"
  done
  stop_agents
}

case ${1:-} in
  disseminate) shift; disseminate "$@" ;;
  detect) shift; detect "$@" ;;
  idle) shift; idle "$@" ;;
  load) shift; load "$@" ;;
  *) echo "usage: serf.sh disseminate N REPEATS [--no-handler] [--label L] |" \
       "detect N [--profile P] [--labels L1,L2] [--window S] | idle N SECONDS [PAUSE] |" \
       "load N RATES [SECONDS] [--payload B] [--origins K] [--drain S] [--label L]" \
       "(run through bench/run)" >&2; exit 2 ;;
esac
