#!/bin/sh
# collector.queue_max_bytes: the bytes of captures waiting for analysis and
# storage are bounded, not only their count. Many large traces (1.7 MB)
# arrive faster than one analysis worker handles them, with a queue_size
# that would let 64 of them (over 100 MB) pile up but a byte bound of 4 MiB:
# the bound is logged and counted, the deferred starts are counted, the
# bytes queued never exceed the bound by more than one body, and every
# capture fetched is stored, none dropped.
. "$top_srcdir/tests/lib.sh"

PORTS=48
CONC=2
BOUND=$((4 * 1024 * 1024))
BIG="$top_srcdir/tests/data/gotrace/prometheus-2s.trace.gz"
BODY=$(python3 -c "import gzip,sys; print(len(gzip.decompress(open(sys.argv[1],'rb').read())))" "$BIG")

"$top_srcdir/tests/loadserver.py" "$T/load.addr" "$top_srcdir/tests/data" "$PORTS" "$BIG" \
  2>"$T/load.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/load.addr" || fail "load server did not start"
HTTP_PORT=$(free_port)
DB="$T/pprofd.db"
{
  cat <<EOF
storage: {path: $DB}
http: {listen: "127.0.0.1:$HTTP_PORT"}
log_level: debug
collector: {workers: 1, queue_size: 64, max_concurrent: $CONC, queue_max_bytes: 4MiB}
defaults: {interval: 1s, timeout: 10s}
targets:
EOF
  i=0
  for a in $(cat "$T/load.addr"); do
    i=$((i + 1))
    cat <<EOF
  - name: big$i
    url: http://$a
    path_prefix: /big/debug/pprof
    profiles: [{type: trace, seconds: 0.01}]
EOF
  done
} >"$T/pprofd.yaml"

# metric NAME [MATCH]: the sum of the samples of NAME whose labels contain MATCH
metric() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v n="$1" -v m="${2:-}" '($1 == n || index($1, n "{") == 1) && index($1, m) { s += $2 } END { printf "%.0f\n", s + 0 }'
}
metric_gt() { [ "$(metric "$1" "$2")" -gt "$3" ]; }
alive() { kill -0 "$PPROFD_PID" 2>/dev/null || fail "pprofd died: $1"; }

start_pprofd "$T/pprofd.yaml"
WAIT=30 wait_for grep -q "analysis queue full (.*queue_max_bytes 4.0 MiB): delaying new fetches" \
  "$T/pprofd.log" || fail "byte bound not logged"
line=$(grep -m1 "analysis queue full" "$T/pprofd.log")
waiting=$(echo "$line" | sed 's/.*queue full (\([0-9]*\) captures waiting.*/\1/')
[ "$waiting" -lt 64 ] || fail "the count bound was hit, not the byte bound: $line"
WAIT=10 wait_for metric_gt pprofd_queue_full_total '' 0 || fail "byte bound not counted"
WAIT=10 wait_for metric_gt pprofd_deferred_starts_total '' 0 || fail "delayed fetches not counted"
pass "byte bound reached with $waiting captures waiting: logged, counted"

# Let it run under the bound for a while, watching the gauges.
max_seen=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  sleep 1
  alive "under load"
  q=$(metric pprofd_queue_bytes)
  [ "$q" -gt "$max_seen" ] && max_seen=$q
done
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics"
for m in 'pprofd_queue_bytes{queue="analysis"}' 'pprofd_queue_bytes{queue="store"}' \
  pprofd_queue_bytes_peak pprofd_fetch_bytes_in_flight; do
  grep -qF "$m " "$T/metrics" || fail "/metrics lacks $m"
done
peak=$(metric pprofd_queue_bytes_peak)
[ "$peak" -ge "$BOUND" ] || fail "peak queued bytes $peak never reached the bound $BOUND: not overloaded"
# A fetch counts the size its job's last body had (or, before it has one,
# the last of its type) from the start: only the first two (max_concurrent)
# start without an expectation, and they fit. So the bound holds to within
# the one fetch started just below it.
limit=$((BOUND + BODY + 4096))
[ "$peak" -le "$limit" ] || fail "peak queued bytes $peak > bound $BOUND + one body of $BODY"
[ "$max_seen" -le "$limit" ] || fail "queued bytes $max_seen > bound $BOUND + one body"
stored_mid=$(metric pprofd_stored_captures_total)
[ "$stored_mid" -gt 20 ] || fail "only $stored_mid captures stored"
pass "queued bytes peak $peak (gauge max $max_seen) <= bound $BOUND + one body of $BODY"

stop_pprofd || fail "pprofd exited with status $? on SIGTERM"
received=$(grep -c ": received ok, $BODY bytes" "$T/pprofd.log" || true)
received_all=$(grep -c "trace: received " "$T/pprofd.log" || true)
stored=$(grep -c ": stored as capture " "$T/pprofd.log" || true)
rows=$(sqlite3 -batch "$DB" "SELECT count(*) FROM captures WHERE status = 'ok'")
[ "$received" -eq "$received_all" ] || fail "$((received_all - received)) captures failed or were not the big trace"
[ "$received" -gt 0 ] && [ "$received" -eq "$stored" ] || fail "received $received captures, stored $stored"
[ "$rows" -eq "$received" ] || fail "received $received captures, $rows rows in the database"
grep -q "dropped" "$T/pprofd.log" && fail "captures dropped: $(grep -m1 dropped "$T/pprofd.log")"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
pass "every capture fetched was stored: $received received, $stored stored, $rows rows"
