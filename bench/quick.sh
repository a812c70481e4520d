#!/usr/bin/env bash
# A quick side-by-side of sessiond and webdis on one session read (loopback only,
# bounded in time). Servers and Redis are pinned to CPU 0, wrk to CPU 1.
# Usage: bench/quick.sh [seconds] [connections]   (needs: wrk webdis redis-server, a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-50}
bin=.build/release/sessiond
[ -x "$bin" ] || swift build -c release --product sessiond >&2
dir=$(mktemp -d)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(freeport); wport=$(freeport); sport=$(freeport)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
taskset -c 0 redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >/dev/null 2>&1 &
pids+=($!); rpid=$!
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
cat >"$dir/webdis.json" <<JSON
{"redis_host": "127.0.0.1", "redis_port": $rport, "http_host": "127.0.0.1", "http_port": $wport,
 "threads": 2, "pool_size": 4, "daemonize": false, "database": 0, "verbosity": 0, "logfile": "$dir/webdis.log"}
JSON
taskset -c 0 webdis "$dir/webdis.json" >/dev/null 2>&1 &
pids+=($!); wpid=$!
taskset -c 0 "$bin" --listen "127.0.0.1:$sport" --redis "redis://127.0.0.1:$rport/0" --log-level warning >/dev/null 2>&1 &
pids+=($!); spid=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$sport/healthz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$wport/PING" >/dev/null 2>&1 && break; sleep 0.05; done
v='"0123456789012345678901234567890123456789012345"'
id=$(curl -fs -X POST "http://127.0.0.1:$sport/v1/sessions" -d "{\"data\":{\"a\":$v,\"b\":$v,\"c\":$v,\"d\":$v}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
redis-cli -p "$rport" hset bench:webdis a "$v" b "$v" c "$v" d "$v" >/dev/null
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # name pid url
  local c0 r0 c1 r1 out reqs
  c0=$(cpu "$2"); r0=$(cpu "$rpid")
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "$3")
  c1=$(cpu "$2"); r1=$(cpu "$rpid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  printf "%-9s %10s req/s  p50 %8s  p99 %8s  server %6.1f µs/req  redis %5.1f µs/req\n" "$1" \
    "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | awk '$1=="50%" {print $2}')" \
    "$(echo "$out" | awk '$1=="99%" {print $2}')" \
    "$(echo "($c1 - $c0) * 10000 / $reqs" | bc -l)" "$(echo "($r1 - $r0) * 10000 / $reqs" | bc -l)"
}
echo "session read, 4 keys x ~50 B, c=$conns, ${secs}s each; servers+redis on CPU 0, wrk on CPU 1"
for round in 1 2; do
  run sessiond "$spid" "http://127.0.0.1:$sport/v1/sessions/$id"
  run webdis "$wpid" "http://127.0.0.1:$wport/HGETALL/bench:webdis"
done
