#!/usr/bin/env bash
# tls.sh -- what TLS costs on ingest: POST /gossip to one node over plain
# HTTP, HTTPS and HTTPS with client certificates (mutual TLS), in the same
# run, single envelopes and batches. Not part of ctest or bench/run; run it
# by hand after a build:
#
#   bench/tls.sh [--build-dir DIR] [--duration S] [--batch N] [--conns N]
#
# The node (lua/tls_node.lua) runs in its own process; the load
# (lua/tls_load.lua) is a hearsay client in another, through libcurl for
# http:// too, so the runs differ by TLS alone; "http, own client" is the
# plain path as nodes use it. Connections are kept alive, so a handshake
# is paid once per connection: the figures are the record layer's cost.
# Server CPU comes from /proc/PID/stat around each run, messages from the
# node's counters. Certificates (P-256) are made with openssl in a scratch
# directory, removed on exit with everything started (by PID).
set -u
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
BUILD_DIR="$ROOT/build" DURATION=5 BATCH=50 CONNS=4
while (($#)); do
  case $1 in
    --build-dir) BUILD_DIR=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --batch) BATCH=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    *) echo "usage: bench/tls.sh [--build-dir DIR] [--duration S] [--batch N] [--conns N]" >&2
       exit 2 ;;
  esac
  shift
done
source "$BENCH/lib.sh"
WORK=$(mktemp -d /tmp/hearsay-tls-bench.XXXXXX)
trap 'stop_all; rm -rf "$WORK"' EXIT
export LUA_PATH="$BENCH/lua/?.lua;;" LUA_CPATH="$BUILD_DIR/lib/?.so;;"
[[ -f $BUILD_DIR/lib/hearsay.so ]] || { echo "no $BUILD_DIR/lib/hearsay.so: build first" >&2; exit 1; }

# The PKI: a CA, the node's certificate, the client's.
(cd "$WORK" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign &&
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >ext &&
  for n in node client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
      -subj /CN=$n && openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key \
      -set_serial "0x$(nonce)" -days 2 -out $n.pem -extfile ext || exit 1
  done) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; exit 1; }

# start_node NAME [tls_node options...]: sets SRV_PID and SRV_URL.
start_node() {
  local name=$1; shift
  rm -f "$WORK/$name.url"
  lua5.4 "$BENCH/lua/tls_node.lua" --url-file "$WORK/$name.url" \
    --seconds $((DURATION * 4 + 60)) "$@" >"$WORK/$name.log" 2>&1 &
  SRV_PID=$!
  track "$SRV_PID"
  wait_file "$WORK/$name.url" 30 || { cat "$WORK/$name.log"; return 1; }
  SRV_URL=$(cat "$WORK/$name.url")
}

# Messages the node has taken so far (with mutual TLS, asked with the client's certificate).
received() {
  json_num "$(curl -s --max-time 5 --cacert "$WORK/ca.pem" \
    ${1:+--cert "$WORK/client.pem" --key "$WORK/client.key"} "$SRV_URL/health")" messages_received
}

# measure LABEL BATCH MTLS [tls_load options...]
measure() {
  local label=$1 batch=$2 mtls=$3 line t0 t1 a0 a1; shift 3
  local load=(lua5.4 "$BENCH/lua/tls_load.lua" --url "$SRV_URL" --conns "$CONNS" --batch "$batch" "$@")
  "${load[@]}" --seconds 1 --nonce "$(nonce)" >/dev/null 2>&1 # warm-up
  a0=$(received "$mtls"); t0=$(cpu_ticks "$SRV_PID")
  line=$("${load[@]}" --seconds "$DURATION" --nonce "$(nonce)" | grep '^LOAD ')
  t1=$(cpu_ticks "$SRV_PID"); a1=$(received "$mtls")
  [[ -n $line ]] || { log "$label: load failed"; return 1; }
  local f
  for f in requests errors duration_us p50_us p99_us cpu_us connects; do
    local v; v=$(grep -o " $f=[0-9]*" <<<" $line"); printf -v "$f" '%s' "${v#*=}"
  done
  local msgs=$((a1 - a0)) cpu_s rate
  cpu_s=$(calc "($t1 - $t0) / $CLK_TCK")
  rate=$(calc "$msgs / ($duration_us / 1e6)")
  RATE[$label]=$rate
  CPU[$label]=$(calc "$cpu_s * 1e6 / ($msgs > 0 ? $msgs : 1)")
  log "$(printf '%-24s %8.0f req/s %9.0f msg/s  p50 %6.3f ms  p99 %6.3f ms  server %6.2f us/msg  client %6.2f us/msg  conns %s%s' \
    "$label" "$(calc "$requests / ($duration_us / 1e6)")" "$rate" "$(calc "$p50_us / 1000")" \
    "$(calc "$p99_us / 1000")" "${CPU[$label]}" "$(calc "$cpu_us / ($msgs > 0 ? $msgs : 1)")" \
    "$connects" "$( ((errors)) && echo "  ERRORS: $errors")")"
}

declare -A RATE CPU
log "== TLS on ingest: POST /gossip, $CONNS requests in flight, ${DURATION} s per run, no peers,"
log "   ttl 0; batches of $BATCH; $(nproc) cores; $(openssl version | cut -d' ' -f1-2), $(dpkg-query -W -f='GnuTLS ${Version}' libgnutls30 2>/dev/null)"
for batch in 1 "$BATCH"; do
  start_node plain && {
    measure "http own client b$batch" "$batch" ""
    measure "http b$batch" "$batch" "" --curl
  }
  stop_pid "$SRV_PID"
  start_node tls --cert "$WORK/node.pem" --key "$WORK/node.key" --ca "$WORK/ca.pem" &&
    measure "https b$batch" "$batch" "" --ca "$WORK/ca.pem"
  stop_pid "$SRV_PID"
  start_node mtls --cert "$WORK/node.pem" --key "$WORK/node.key" --ca "$WORK/ca.pem" --client-auth &&
    measure "https mtls b$batch" "$batch" 1 --ca "$WORK/ca.pem" --cert "$WORK/client.pem" \
      --key "$WORK/client.key"
  stop_pid "$SRV_PID"
  log "$(printf 'batch %-3s https/http (both curl): throughput x%.3f, server CPU per message x%.3f; mtls: x%.3f, x%.3f' \
    "$batch" "$(calc "${RATE[https b$batch]:-0} / ${RATE[http b$batch]:-1}")" \
    "$(calc "${CPU[https b$batch]:-0} / ${CPU[http b$batch]:-1}")" \
    "$(calc "${RATE[https mtls b$batch]:-0} / ${RATE[http b$batch]:-1}")" \
    "$(calc "${CPU[https mtls b$batch]:-0} / ${CPU[http b$batch]:-1}")")"
done
