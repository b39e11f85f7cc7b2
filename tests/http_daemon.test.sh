#!/bin/sh
# The daemon's HTTP endpoint end to end: pprofd collects from the demo Go
# target with a token-protected endpoint; while one client address holds
# its whole share of connections idle and drips a slowloris request,
# captures keep being collected and stored, /healthz answers other clients
# at once, and the live endpoint serves metrics, readiness and merges.
. "$top_srcdir/tests/lib.sh"

PROMTOOL="${PROMTOOL:-promtool}"
export PATH="$(dirname "$GO"):$PATH"
export PPROF_TMPDIR="$T/pprof"

start_demo demo
HTTP_PORT=$(free_port)
DB="$T/pprofd.db"
printf 's3cret\n' > "$T/token"
chmod 600 "$T/token"
cat > "$T/pprofd.yaml" <<EOF
storage:
  path: $DB
http:
  listen: 127.0.0.1:$HTTP_PORT
  token_file: $T/token
defaults:
  interval: 1s
  timeout: 5s
targets:
  - name: demo
    url: http://127.0.0.1:$demo_PORT
    labels: {env: test}
    profiles: [heap, goroutine, {type: cpu, seconds: 1, interval: 2s}]
EOF
"$PPROFD" -n -c "$T/pprofd.yaml" >/dev/null || fail "config rejected"
start_pprofd "$T/pprofd.yaml"

H="http://127.0.0.1:$HTTP_PORT"
AUTH="Authorization: Bearer s3cret"
# from ADDR CURL-ARGS...: a request from another local address.
from() { _a=$1; shift; curl -s --interface "$_a" "$@"; }

WAIT=30 wait_for curl -sf -H "$AUTH" "$H/readyz" || fail "/readyz never became ready"
grep -q "HTTP endpoint listening on 127.0.0.1:$HTTP_PORT (token required)" "$T/pprofd.log" \
  || fail "no startup line for the HTTP endpoint"
grep -q "s3cret" "$T/pprofd.log" && fail "the token appears in the log"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/api/v1/captures")
[ "$code" = 401 ] || fail "no token: HTTP $code"
pass "pprofd serves its endpoint; /readyz ready; token required"

count() {
  from 127.0.0.2 -f -H "$AUTH" "$H/api/v1/captures?target=demo&status=ok&limit=100000" | json 'len(d)'
}
WAIT=30 wait_for sh -c "[ \$(curl -s -H '$AUTH' '$H/api/v1/captures?target=demo&status=ok' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 3 ]" \
  || fail "no captures stored"

# The abuser: 31 idle connections and one slowloris from 127.0.0.1 (the
# default per-address share is 32 of 64), held for 8 seconds.
cat > "$T/abuse.py" <<'EOF'
import socket, sys, time
port, hold = int(sys.argv[1]), float(sys.argv[2])
socks = []
for i in range(31):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
slow = socket.create_connection(("127.0.0.1", port))
slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(2)
try:
    refused = extra.recv(1) == b""  # over the per-address limit: closed at once
except (ConnectionResetError, socket.timeout):
    refused = True
print("refused" if refused else "accepted", flush=True)
end = time.time() + hold
while time.time() < end:
    slow.sendall(b"a")
    time.sleep(0.5)
EOF
python3 "$T/abuse.py" "$HTTP_PORT" 8 > "$T/abuse.out" 2>&1 &
ABUSE_PID=$!
PIDS="$PIDS $ABUSE_PID"
sleep 1
before=$(count) || fail "listing captures during the attack"
for i in 1 2 3 4 5 6; do
  t0=$(date +%s%N)
  code=$(from 127.0.0.2 -o /dev/null -w '%{http_code}' --max-time 2 "$H/healthz")
  t1=$(date +%s%N)
  [ "$code" = 200 ] || fail "/healthz during the attack: HTTP $code"
  [ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "/healthz took $(( (t1 - t0) / 1000000 )) ms during the attack"
  sleep 0.8
done
after=$(count) || fail "listing captures during the attack"
wait "$ABUSE_PID" || fail "abuse script failed: $(cat "$T/abuse.out")"
grep -q refused "$T/abuse.out" || fail "a connection over the per-address limit was accepted"
[ "$after" -gt "$before" ] || fail "collection stalled during the attack ($before -> $after captures)"
pass "31 idle connections + slowloris: $((after - before)) captures stored meanwhile, /healthz answered, extra connection refused"

# After the attack the abuser's address is served again.
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")
[ "$code" = 200 ] || fail "/healthz after the attack: HTTP $code"

# Live metrics and a merge of what was just collected.
curl -sf -H "$AUTH" "$H/metrics" > "$T/metrics.txt" || fail "GET /metrics"
"$PROMTOOL" check metrics < "$T/metrics.txt" || fail "promtool rejects the daemon's /metrics"
grep -q '^pprofd_captures_total{target="demo",type="heap",status="ok"} [1-9]' "$T/metrics.txt" \
  || fail "no heap captures counted in /metrics"
grep -q '^pprofd_http_requests_total{handler="healthz",code="200"} [1-9]' "$T/metrics.txt" \
  || fail "no HTTP request metrics"
# Every family the issue asks for: captures, last success, capture duration
# and size, analysis duration, queues and drops, database size, lag.
for m in pprofd_last_success_timestamp_seconds pprofd_capture_duration_seconds_count \
  pprofd_capture_size_bytes_count pprofd_analysis_duration_seconds_count pprofd_queue_depth \
  pprofd_database_size_bytes pprofd_schedule_lag_seconds_count pprofd_http_connections; do
  grep -q "^$m[{ ]" "$T/metrics.txt" || fail "no $m series in /metrics"
done
grep -q '^# TYPE pprofd_dropped_captures_total counter' "$T/metrics.txt" || fail "no drops family"
"$GO" tool pprof -top "http://x:s3cret@127.0.0.1:$HTTP_PORT/api/v1/merge?type=heap&target=demo&since=1m" \
  > "$T/merge.txt" 2>&1 || { cat "$T/merge.txt" >&2; fail "go tool pprof on the live merge URL"; }
grep -q 'Type: inuse_space' "$T/merge.txt" || fail "merged heap profile: $(head -5 "$T/merge.txt")"
pass "live /metrics parses with promtool; go tool pprof reads a live merge"

stop_pprofd || fail "pprofd exited with status $?"
grep -q "pprofd stopped" "$T/pprofd.log" || fail "no clean stop"
pass "clean stop with the endpoint running"
