#!/bin/sh
# Crash safety under heavy ingest: 24 targets x 5 profile types (CPU
# profiles and short traces included) every second; pprofd is killed with
# SIGKILL at random moments 20 times and restarted each time. Afterwards the
# database is intact, every capture is complete (blob + analysis, or an
# explicit analysis error), nothing is duplicated, every commit the daemon
# reported survived, and pprofctl works. Then SIGTERM: every capture the
# daemon received before it exited is stored.
. "$top_srcdir/tests/lib.sh"

DB="$T/pprofd.db"
ROUNDS=20
NTARGETS=24

"$top_srcdir/tests/loadserver.py" "$T/load.addr" "$top_srcdir/tests/data" $NTARGETS 2>"$T/load.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/load.addr" || fail "load server did not start"

{
  cat <<EOF
storage: {path: $DB}
http: {listen: "off"}
collector: {shutdown_grace: 10s, workers: 2}
defaults: {interval: 1s, timeout: 5s}
targets:
EOF
  i=1
  while [ $i -le $NTARGETS ]; do
    cat <<EOF
  - name: t$i
    url: http://$(sed -n "${i}p" "$T/load.addr")
    labels: {n: "$i"}
    profiles: [heap, allocs, goroutine, {type: cpu, seconds: 0.5}, {type: trace, seconds: 0.3}]
EOF
    i=$((i + 1))
  done
} >"$T/pprofd.yaml"
"$PPROFD" -n -c "$T/pprofd.yaml" >/dev/null || fail "config rejected"

sql() { sqlite3 -batch "$DB" "$@"; }
# A random number of milliseconds in [lo, hi).
rand_ms() { echo $(($1 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($2 - $1))); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# run_pprofd LOG: starts pprofd with debug logging into LOG.
run_pprofd() {
  "$PPROFD" -d -c "$T/pprofd.yaml" >"$1" 2>&1 &
  PPROFD_PID=$!
  PIDS="$PIDS $!"
}
forget_pprofd() { PIDS=$(echo "$PIDS" | sed "s/ $PPROFD_PID\b//"); }

# "stored as capture ID, started at MS" lines -> "ID MS"
stored_lines() {
  sed -n "s/.*: stored as capture \([0-9]*\), started at \([0-9]*\)$/\1 \2/p" "$@"
}

# --- SIGKILL at random moments ------------------------------------------
r=1
while [ $r -le $ROUNDS ]; do
  run_pprofd "$T/kill.$r.log"
  # the first rounds let some captures through; later ones may hit start-up
  if [ $r -le 3 ]; then
    WAIT=20 wait_for grep -q "stored as capture" "$T/kill.$r.log" || fail "round $r: nothing stored"
  fi
  sleep_ms "$(rand_ms 100 2500)"
  kill -KILL "$PPROFD_PID"
  wait "$PPROFD_PID" 2>/dev/null || true
  forget_pprofd
  r=$((r + 1))
done
cat "$T"/kill.*.log >"$T/pprofd.log"

[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after $ROUNDS kills: $(sql 'PRAGMA integrity_check' | head -5)"
[ -z "$(sql 'PRAGMA foreign_key_check')" ] || fail "foreign key violations: $(sql 'PRAGMA foreign_key_check' | head -5)"
pass "$ROUNDS x kill -9: integrity_check ok, no foreign key violations"

n=$(sql 'SELECT count(*) FROM captures')
[ "$n" -ge 300 ] || fail "only $n captures stored under heavy ingest"

# Every commit pprofd reported before being killed is in the database.
stored_lines "$T"/kill.*.log | sort -u >"$T/reported"
nrep=$(wc -l <"$T/reported")
sql "SELECT id || ' ' || started_at_ms FROM captures" | sort -u >"$T/present"
missing=$(comm -23 "$T/reported" "$T/present" | wc -l)
[ "$missing" = 0 ] || fail "$missing of $nrep committed captures are gone: $(comm -23 "$T/reported" "$T/present" | head -3)"
pass "$n captures, all $nrep commits reported before the kills survived"

# Complete captures: ok ones have their blob, with the right size, and
# either analysis rows or an explicit analysis error; failed ones say why.
bad=$(sql "SELECT count(*) FROM captures c LEFT JOIN blobs b ON b.id = c.blob_id
           WHERE c.status = 'ok' AND (b.id IS NULL OR b.raw_size != c.size_bytes)")
[ "$bad" = 0 ] || fail "$bad ok captures without their blob"
bad=$(sql "SELECT count(*) FROM captures WHERE status = 'failed' AND (error IS NULL OR error = '')")
[ "$bad" = 0 ] || fail "$bad failed captures without an error"
bad=$(sql "SELECT count(*) FROM captures c WHERE c.status = 'ok' AND NOT (
             (c.analysis_status IN ('error', 'unsupported') AND coalesce(c.analysis_error, '') != '')
          OR (c.analysis_status = 'ok'
              AND EXISTS (SELECT 1 FROM capture_analysis a WHERE a.capture_id = c.id)
              AND (c.format != 'pprof-gzip' OR EXISTS (SELECT 1 FROM pprof_profiles p WHERE p.capture_id = c.id))
              AND (c.format != 'go-trace' OR EXISTS (SELECT 1 FROM trace_summaries s WHERE s.capture_id = c.id))))")
[ "$bad" = 0 ] || fail "$bad ok captures without analysis rows or an analysis error: $(sql "SELECT id, format, analysis_status FROM captures WHERE status = 'ok' LIMIT 3")"
for f in pprof-gzip go-trace; do
  k=$(sql "SELECT count(*) FROM captures WHERE format = '$f' AND analysis_status = 'ok'")
  [ "$k" -gt 0 ] || fail "no analysed $f capture"
done
pass "every capture has its blob and its analysis rows (or an analysis error)"

# No capture is stored twice: one row per series and start time, and every
# row of a type holds the same bytes the load server sent.
dups=$(sql "SELECT count(*) FROM (SELECT 1 FROM captures GROUP BY target, instance, type, started_at_ms HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "$dups duplicated captures"
sha() { sha256sum "$1" | cut -d' ' -f1; }
for pair in heap:workload-heap.pprof cpu:workload-cpu-5s.pprof trace:gotrace/tracegen-tiny.trace; do
  ty=${pair%%:*}
  want=$(sha "$top_srcdir/tests/data/${pair#*:}")
  got=$(sql "SELECT DISTINCT lower(hex(b.sha256)) FROM captures c JOIN blobs b ON b.id = c.blob_id WHERE c.type = '$ty'")
  [ "$got" = "$want" ] || fail "$ty captures hold other bytes than served: $got"
done
pass "no duplicates; stored bodies are the bytes served"

# pprofctl reads the database the kills left behind.
ctl() { "$PPROFCTL" -d "$DB" "$@"; }
k=$(ctl list --json --target t3 --type heap | json 'len(d)')
[ "$k" -ge 1 ] || fail "pprofctl list found no t3 heap capture"
id=$(ctl list --json --type trace --status ok --limit 1 | json 'd[0]["id"]')
ctl show "$id" >"$T/show.txt" || fail "pprofctl show $id"
grep -q trace "$T/show.txt" || fail "pprofctl show printed no trace summary"
ctl export "$id" -o "$T/trace.out" || fail "pprofctl export $id"
cmp -s "$T/trace.out" "$top_srcdir/tests/data/gotrace/tracegen-tiny.trace" || fail "exported trace differs from the one served"
id=$(ctl list --json --type cpu --status ok --limit 1 | json 'd[0]["id"]')
ctl export "$id" -o "$T/cpu.pprof" || fail "pprofctl export $id"
cmp -s "$T/cpu.pprof" "$top_srcdir/tests/data/workload-cpu-5s.pprof" || fail "exported CPU profile differs"
ctl stats >/dev/null || fail "pprofctl stats"
pass "pprofctl list/show/export/stats work after the kills"

# --- SIGTERM: everything received is stored -------------------------------
before=$(sql 'SELECT max(id) FROM captures')
run_pprofd "$T/term.log"
WAIT=20 wait_for grep -q "stored as capture" "$T/term.log" || fail "nothing stored after restart"
# stop at a random moment, with CPU profiles and traces in flight
sleep_ms "$(rand_ms 500 2500)"
wait_for grep -q "trace: GET" "$T/term.log" || fail "no trace started"
kill -TERM "$PPROFD_PID"
rc=0
wait "$PPROFD_PID" || rc=$?
forget_pprofd
cp "$T/term.log" "$T/pprofd.log"
[ "$rc" = 0 ] || fail "pprofd exited with status $rc after SIGTERM"
grep -q "pprofd stopped" "$T/term.log" || fail "no clean stop logged"
[ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after SIGTERM"

# "target 'tN' instance 'I' TYPE: received ok, N bytes, started at MS"
sed -n "s/.*target '\([^']*\)' instance '[^']*' \([^:]*\): received [a-z]*, [0-9]* bytes, started at \([0-9]*\)$/\1 \2 \3/p" \
  "$T/term.log" | sort >"$T/received"
nrecv=$(wc -l <"$T/received")
[ "$nrecv" -ge 20 ] || fail "only $nrecv captures received before SIGTERM"
sql "SELECT target || ' ' || type || ' ' || started_at_ms FROM captures WHERE id > $before" | sort >"$T/stored"
[ "$(comm -23 "$T/received" "$T/stored" | wc -l)" = 0 ] || fail "received but not stored: $(comm -23 "$T/received" "$T/stored" | head -3)"
[ "$(comm -13 "$T/received" "$T/stored" | wc -l)" = 0 ] || fail "stored but never received: $(comm -13 "$T/received" "$T/stored" | head -3)"
# and every fetch started in this run ended in one of them
nget=$(grep -c ": GET " "$T/term.log")
[ "$nget" = "$nrecv" ] || fail "$nget fetches started, $nrecv received"
inflight=$(sed -n 's/.*finishing \([0-9]*\) fetches in flight.*/\1/p' "$T/term.log")
pass "SIGTERM with $inflight fetches in flight: all $nrecv received captures stored, once"
