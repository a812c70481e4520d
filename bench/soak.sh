#!/usr/bin/env bash
# Soak: mixed load (80 % session reads, 20 % one-key writes over 1,000 sessions)
# for DURATION seconds (default 600), reporting RSS and p99 each interval, and
# failing when RSS at the end has grown more than 10 % (and 8 MiB) over the first
# interval's. Loopback only; bounded in time.
# Usage: bench/soak.sh [duration-seconds] [interval-seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
interval=${2:-60}
conns=${3:-32}
bin=${SESSIOND_BIN:-}
[ -n "$bin" ] || bin=$(scripts/build-release)
dir=$(mktemp -d)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(freeport); sport=$(freeport)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
"$bin" --listen "127.0.0.1:$sport" --redis "redis://127.0.0.1:$rport/0" --log-level warning >"$dir/sessiond.log" 2>&1 &
spid=$!; pids+=($spid)
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$sport/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
python3 - "$sport" >"$dir/ids.lua" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
ids = []
for i in range(1000):
    c.request("POST", "/v1/sessions", body=json.dumps({"data": {k: "v" * 48 for k in "abcd"}, "user": f"u{i % 100}"}))
    r = c.getresponse(); ids.append(json.loads(r.read())["id"])
print("ids = {" + ",".join('"%s"' % i for i in ids) + "}")
PY
cat >>"$dir/ids.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local id = ids[math.random(#ids)]
  if math.random(100) <= 80 then
    return wrk.format("GET", "/v1/sessions/" .. id)
  end
  return wrk.format("PUT", "/v1/sessions/" .. id .. "/data/k" .. (n % 50), nil, tostring(n))
end
LUA
rss() { awk '/VmRSS/ {print $2}' "/proc/$spid/status"; }
echo "soak: ${duration}s of 80/20 read/write over 1000 sessions, c=$conns, reports every ${interval}s"
printf "%8s %10s %10s %10s %10s\n" "t (s)" "req/s" "p99" "RSS (KiB)" "non-2xx"
first=""; last=""; elapsed=0
while [ "$elapsed" -lt "$duration" ]; do
  out=$(wrk -t1 -c"$conns" -d"${interval}s" --latency -s "$dir/ids.lua" "http://127.0.0.1:$sport")
  elapsed=$((elapsed + interval))
  r=$(rss); [ -n "$first" ] || first=$r; last=$r
  printf "%8s %10s %10s %10s %10s\n" "$elapsed" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "$out" | awk '$1=="99%" {print $2}')" "$r" "$(echo "$out" | awk '/Non-2xx/ {print $NF}')"
done
growth=$((last - first))
echo "soak: RSS first interval ${first} KiB, last ${last} KiB (growth ${growth} KiB)"
if [ "$growth" -gt 8192 ] && [ "$((growth * 10))" -gt "$first" ]; then
  echo "soak: 0 passed, 1 failed (RSS grew)"; exit 1
fi
echo "soak: 1 passed, 0 failed"
