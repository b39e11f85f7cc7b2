#!/bin/sh
# End to end: pprofd against real Go services on 127.0.0.1 — the demo target
# (Go 1.19, net/http/pprof) and Debian's Prometheus — checked through
# pprofctl --json and Go's own tools.
. "$top_srcdir/tests/lib.sh"

start_demo demo
start_prometheus
DOWN_PORT=$(free_port) # nothing listens there
DB="$T/pprofd.db"

write_config() {
  cat > "$T/pprofd.yaml" <<EOF2
storage:
  path: $DB
http: {listen: "off"}  # tests run in parallel: no fixed port
collector:
  shutdown_grace: 15s
defaults:
  interval: 3s
  timeout: 2s
targets:
  - name: demo
    url: http://127.0.0.1:$demo_PORT
    labels: {env: test, team: core}
    profiles:
      - {type: cpu, seconds: 1}
      - heap
      - allocs
      - goroutine
      - block
      - mutex
      - threadcreate
      - {type: trace, seconds: 1}
  - name: prometheus
    url: http://127.0.0.1:$PROM_PORT
    labels: {env: test}
    profiles:
      - {type: cpu, seconds: 1}
      - heap
      - allocs
      - goroutine
      - block
      - mutex
      - threadcreate
      - {type: trace, seconds: 1}
$1
EOF2
}

EXTRA_TARGETS="  - name: down
    url: http://127.0.0.1:$DOWN_PORT
    profiles: [heap]
  - name: missing
    url: http://127.0.0.1:$demo_PORT
    profiles:
      - {name: nonexistent, path: /debug/pprof/nonexistent}
  - name: slow
    url: http://127.0.0.1:$demo_PORT
    path_prefix: /slow/debug/pprof
    timeout: 1s
    profiles: [heap]
  - name: demo-alias
    url: http://127.0.0.1:$demo_PORT
    profiles: [{type: cpu, seconds: 1}, {type: trace, seconds: 1}]
  - name: auto
    url: http://127.0.0.1:$demo_PORT
    interval: 4s
    seconds: 1
    profiles: auto"

write_config "$EXTRA_TARGETS"
"$PPROFD" -n -c "$T/pprofd.yaml" >/dev/null || fail "config rejected"
start_pprofd "$T/pprofd.yaml"

ctl() { "$PPROFCTL" -d "$DB" "$@"; }

# Every profile type from both Go services, with status ok.
have_all_ok() {
  for tgt in demo prometheus; do
    for ty in cpu heap allocs goroutine block mutex threadcreate trace; do
      n=$(ctl list --json --target "$tgt" --type "$ty" --status ok | json 'len(d)') || return 1
      [ "$n" -ge 1 ] || return 1
    done
  done
}
WAIT=60 wait_for have_all_ok || fail "not every profile type was captured ok from both targets"
pass "all 8 profile types captured from the demo target and Prometheus"

# Labels are stored and filterable.
n=$(ctl list --json -l team=core | json 'len(d)')
[ "$n" -ge 8 ] || fail "label filter team=core matched $n captures"
n=$(ctl list --json -l team=core --target prometheus | json 'len(d)' || echo 0)
[ "$n" = 0 ] || fail "label filter leaked prometheus captures"
pass "labels filter"

# Failed captures carry the reason, while the others keep succeeding.
ctl list --json --target down | json 'd[0]["status"]=="failed" and d[0]["http_status"] is None and ("onnect" in d[0]["error"] or "refused" in d[0]["error"])' | grep -q True \
  || fail "stopped target: no failed capture with a connection error"
ctl list --json --target missing | json 'd[0]["status"]=="failed" and d[0]["http_status"]==404 and "Unknown profile" in d[0]["error"]' | grep -q True \
  || fail "404 custom profile: no failed capture with HTTP 404"
WAIT=20 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --target slow | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d and \"timed out\" in (d[0][\"error\"] or \"\").lower() else 1)'" \
  || fail "slow target: no failed capture with a timeout"
pass "stopped target, 404 custom profile and slow target recorded as failed with reasons"

# Two targets point at the same Go process: its CPU profile and trace are
# never requested twice at once (the runtime would refuse the second).
n=$(ctl list --json --target demo-alias --status ok | json 'len(d)')
[ "$n" -ge 2 ] || fail "demo-alias collected $n captures"
for tgt in demo demo-alias; do
  ctl list --json --target "$tgt" | json 'sum(1 for c in d if "busy" in (c["error"] or ""))' | grep -qx 0 \
    || fail "pprofd ran two CPU profiles or traces at once against one process ($tgt)"
done
pass "one CPU profile and one trace at a time per process"

# profiles: auto found every profile the index page lists, custom ones too.
WAIT=30 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --target auto --type pprofd.demo.conns --status ok | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)'" \
  || fail "profiles: auto did not collect the custom profile"
for ty in cpu heap allocs goroutine block mutex threadcreate trace; do
  WAIT=30 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --target auto --type $ty --status ok | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)'" \
    || fail "profiles: auto did not collect $ty"
done
pass "profiles: auto discovered the builtin and custom profiles"

# Someone else profiles the demo process: pprofd records the target's
# message as a failed capture and tries again next interval.
# (pprofd itself profiles the process much of the time: retry until ours runs)
( until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$demo_PORT/debug/pprof/profile?seconds=7")" = 200 ]; do
    sleep 0.1
  done ) &
ext=$!
WAIT=40 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --type cpu --status failed | python3 -c 'import json,sys; sys.exit(0 if any(\"target busy\" in c[\"error\"] and \"already in use\" in c[\"error\"] for c in json.load(sys.stdin)) else 1)'" \
  || fail "no failed capture with the target's 'already in use' message"
wait "$ext" || true
busy_ms=$(python3 -c 'import time; print(int(time.time()*1000))')
WAIT=15 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --target demo --type cpu --status ok --limit 1 | python3 -c 'import json,sys,datetime; d=json.load(sys.stdin)[0]; sys.exit(0 if datetime.datetime.fromisoformat(d[\"started_at\"].replace(\"Z\",\"+00:00\")).timestamp()*1000 >= $busy_ms else 1)'" \
  || fail "CPU profiling did not resume after the external profile ended"
pass "a busy target is recorded with its message and retried"

# Exports open with Go's own tools.
cpu_id=$(ctl list --json --target demo --type cpu --status ok --limit 1 | json 'd[0]["id"]')
ctl export "$cpu_id" -o "$T/cpu.pprof"
"$GO" tool pprof -top "$T/cpu.pprof" >"$T/cpu.top" 2>&1 || fail "go tool pprof cannot open the exported CPU profile"
grep -q 'flat%' "$T/cpu.top" || fail "go tool pprof -top printed no table"
trace_id=$(ctl list --json --target prometheus --type trace --status ok --limit 1 | json 'd[0]["id"]')
ctl export "$trace_id" -o "$T/trace.out"
"$GO" tool trace -pprof=sched "$T/trace.out" >"$T/sched.pb" 2>"$T/trace.err" || fail "go tool trace cannot open the exported trace: $(cat "$T/trace.err")"
pass "exported CPU profile opens with go tool pprof, trace with go tool trace"

# SIGHUP: add a target, remove one.
write_config "  - name: added
    url: http://127.0.0.1:$demo_PORT
    profiles: [goroutine]"
kill -HUP "$PPROFD_PID"
WAIT=20 wait_for sh -c "'$PPROFCTL' -d '$DB' list --json --target added --status ok | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin) else 1)'" \
  || fail "target added by SIGHUP was not collected"
sleep 1
before=$(ctl list --json --target down | json 'len(d)')
sleep 7
after=$(ctl list --json --target down | json 'len(d)')
[ "$before" = "$after" ] || fail "target removed by SIGHUP is still collected ($before -> $after)"
grep -q "reload" "$T/pprofd.log" || fail "no reload logged"
pass "SIGHUP adds and removes targets"

# An invalid config on SIGHUP keeps the running one.
cp "$T/pprofd.yaml" "$T/good.yaml"
echo "targets: [{name: broken" > "$T/pprofd.yaml"
kill -HUP "$PPROFD_PID"
sleep 1
grep -q "keeping the running configuration" "$T/pprofd.log" || fail "invalid reload not reported"
kill -0 "$PPROFD_PID" || fail "pprofd died on an invalid reload"
cp "$T/good.yaml" "$T/pprofd.yaml"
pass "invalid config on SIGHUP is rejected and the old one kept"

# SIGTERM during an in-flight trace: the trace is stored, the database is clean.
pat="target 'demo' instance '[^']*' trace: GET"
starts=$(grep -c "$pat" "$T/pprofd.log" || true)
WAIT=30 wait_for sh -c "[ \$(grep -c \"$pat\" '$T/pprofd.log') -gt $starts ]" \
  || fail "no trace started"
sleep 0.3
stop_pprofd || fail "pprofd exited with status $?"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after SIGTERM"
# Every trace fetch pprofd started became a stored capture, and the one in
# flight at SIGTERM finished within the grace period.
started=$(grep -c "$pat" "$T/pprofd.log")
stored=$(ctl list --json --target demo --type trace | json 'len(d)')
[ "$started" = "$stored" ] || fail "$started demo traces started, $stored stored"
ctl list --json --target demo --type trace --limit 1 | json 'd[0]["status"]' | grep -qx ok \
  || fail "the trace in flight at SIGTERM was not stored as ok"
grep -q "pprofd stopped" "$T/pprofd.log" || fail "no clean stop logged"
pass "SIGTERM during an in-flight trace: trace stored, database clean"
