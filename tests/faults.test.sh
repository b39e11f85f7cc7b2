#!/bin/sh
# Fault injection: one pprofd scrapes a misbehaving server (tests/faultserver)
# on every kind of bad answer, a TLS endpoint with a self-signed certificate,
# a name that does not resolve and a refused port, while a healthy demo
# target is scraped every second. Each fault must end as a failed capture or
# an analysis error with a clear message; the healthy target keeps every
# capture; pprofd's memory stays bounded despite a gzip bomb.
. "$top_srcdir/tests/lib.sh"

FAULTSERVER="$top_builddir/tests/faultserver/pprofd-faultserver"
DB="$T/pprofd.db"
ctl() { "$PPROFCTL" -d "$DB" "$@"; }

start_demo demo

# Real captures for the fault server to truncate and corrupt.
curl -sf -o "$T/heap.pb.gz" "http://127.0.0.1:$demo_PORT/debug/pprof/heap" || fail "no heap profile from the demo target"
curl -sf -o "$T/trace.out" "http://127.0.0.1:$demo_PORT/debug/pprof/trace?seconds=0.5" || fail "no trace from the demo target"

# A self-signed certificate for 127.0.0.1, made now.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" 2>"$T/openssl.log" \
  || fail "openssl: $(cat "$T/openssl.log")"

"$FAULTSERVER" -tls-addr 127.0.0.1:0 -cert "$T/cert.pem" -key "$T/key.pem" \
  -profile "$T/heap.pb.gz" -trace "$T/trace.out" -ready-file "$T/faults.addr" 2>"$T/faultserver.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/faults.addr" || fail "fault server did not start: $(cat "$T/faultserver.log")"
FAULTS=$(sed 's/.*http=\([^ ]*\).*/\1/' "$T/faults.addr")
TLS=$(sed 's/.*tls=\([^ ]*\).*/\1/' "$T/faults.addr")
REFUSED_PORT=$(free_port) # nothing listens there
HTTP_PORT=$(free_port)

# One target per fault, so that each capture row names its fault.
fault() { # NAME TYPE PATH [extra profile keys]
  printf '  - name: %s\n    url: http://%s\n    profiles: [{type: %s, path: %s%s}]\n' \
    "$1" "$FAULTS" "$2" "$3" "${4:+, $4}"
}
{
  cat <<EOF
storage:
  path: $DB
http: {listen: "127.0.0.1:$HTTP_PORT"}
log_level: debug
collector:
  max_decompressed_size: 64MiB
defaults:
  interval: 4s
  timeout: 2s
targets:
  - name: healthy
    url: http://127.0.0.1:$demo_PORT
    interval: 1s
    profiles: [heap, goroutine, allocs]
  - name: tls-ca
    url: https://$TLS
    tls: {ca_file: $T/cert.pem}
    profiles: [heap]
  - name: tls-noca
    url: https://$TLS
    profiles: [heap]
  - name: unresolvable
    url: http://pprofd-fault-test.invalid:6060
    profiles: [heap]
  - name: refused
    url: http://127.0.0.1:$REFUSED_PORT
    profiles: [heap]
EOF
  fault http500 heap /fault/500
  fault http404 heap /fault/404
  fault html heap /fault/html
  fault stall heap /fault/stall
  fault slowloris heap /fault/slowloris
  fault drop heap /fault/drop
  fault wronglen heap /fault/wronglen
  fault truncgzip heap /fault/truncgzip
  fault gzipbomb heap /fault/gzipbomb
  fault zerobomb heap /fault/zerobomb
  fault huge heap /fault/huge "max_response_size: 1MiB"
  fault hugelen heap /fault/hugelen "max_response_size: 1MiB"
  fault random heap /fault/random
  fault garbageproto heap /fault/garbageproto
  fault badtrace trace /fault/badtrace "seconds: 1"
  fault truncatedtrace trace /fault/truncatedtrace "seconds: 1"
} >"$T/pprofd.yaml"

"$PPROFD" -n -c "$T/pprofd.yaml" >/dev/null 2>"$T/configtest.log" || fail "config rejected: $(cat "$T/configtest.log")"
start_pprofd "$T/pprofd.yaml"
WAIT=20 wait_for curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" || fail "pprofd's HTTP endpoint did not come up"

# row TARGET: the JSON of the target's latest capture ("" until one exists).
row() { ctl list --json --target "$1" --limit 1 2>/dev/null | json 'json.dumps(d[0]) if d else ""'; }
have_row() { [ -n "$(row "$1")" ]; }

FAULT_TARGETS="tls-ca tls-noca unresolvable refused http500 http404 html stall slowloris drop
  wronglen truncgzip gzipbomb zerobomb huge hugelen random garbageproto badtrace truncatedtrace"
for t in $FAULT_TARGETS; do
  WAIT=30 wait_for have_row "$t" || fail "no capture for target '$t'"
done

# Keep going until the healthy target has 22 rounds of captures: every
# fault has then been hit several times, the slow ones (2 s timeout) too.
healthy_rounds() {
  n=$(ctl list --json --target healthy --type allocs | json 'len(d)') || return 1
  [ "$n" -ge 22 ]
}
WAIT=60 wait_for healthy_rounds || fail "the healthy target did not reach 22 captures in 60 s"
kill -0 "$PPROFD_PID" || fail "pprofd died"

# Memory: the peak resident size, read before stopping.
hwm_kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PPROFD_PID/status")
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics.txt" || fail "no metrics"
stop_pprofd || fail "pprofd exited with status $?"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo "pprofd peak RSS: $hwm_kb kB"

# expect TARGET PYTHON-CONDITION: every capture of TARGET satisfies it
# (c is the capture); the error names what went wrong and where.
expect() {
  ctl list --json --target "$1" >"$T/$1.json"
  python3 - "$T/$1.json" "$2" "$1" <<'EOF' || fail "target '$1': $(cat "$T/$1.json" | head -c 1500)"
import json, sys
rows = json.load(open(sys.argv[1]))
cond, target = sys.argv[2], sys.argv[3]
if not rows:
    sys.exit("no captures")
for c in rows:
    err = c["error"] or ""
    aerr = c["analysis_error"] or ""
    if not eval(cond, {"c": c, "err": err, "aerr": aerr}):
        sys.exit("capture %d does not satisfy %s" % (c["id"], cond))
    if c["status"] == "failed" and c["url"] not in err:
        sys.exit("capture %d: the error does not name the URL %s" % (c["id"], c["url"]))
EOF
  # The log says it too, naming the target (the first failure is always logged).
  case "$2" in
  *failed* | *error*)
    grep -q "pprofd warning: target '$1' instance '[^']*' [a-z]*: " "$T/pprofd.log" \
      || fail "target '$1': no warning in the log"
    ;;
  esac
  pass "$1: $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))[0]; print(c["error"] or "analysis: " + (c["analysis_error"] or "ok"))' "$T/$1.json")"
}

# Targets tls-ca and tls-noca share one process: the failures of the one
# must not be reported as the other's, nor its successes as recoveries.
if grep "target 'tls-ca'" "$T/pprofd.log" | grep -v " debug: " | grep -q .; then
  fail "target 'tls-ca' never failed, but: $(grep "target 'tls-ca'" "$T/pprofd.log" | grep -v " debug: " | head -3)"
fi

F='c["status"] == "failed"'
A='c["status"] == "ok" and c["analysis_status"] == "error"'
expect tls-ca 'c["status"] == "ok" and c["analysis_status"] == "ok"'
expect tls-noca "$F and c['http_status'] is None and 'SSL certificate problem: self-signed certificate' in err and 'tls.ca_file' in err"
# (a resolver that does not answer in time gives "Resolving timed out")
expect unresolvable "$F and 'resolv' in err.lower() and 'pprofd-fault-test.invalid' in err"
expect refused "$F and 'port $REFUSED_PORT' in err and 'Connection refused' in err"
expect http500 "$F and c['http_status'] == 500 and 'HTTP 500 from' in err and 'database is on fire' in err"
expect http404 "$F and c['http_status'] == 404 and 'HTTP 404 from' in err and 'Unknown profile' in err"
expect html "$F and 'expected a pprof profile, got an HTML page' in err and '<title>/debug/pprof/</title>' in err"
expect stall "$F and 'timed out after 2s with 3 bytes of the response received' in err"
expect slowloris "$F and 'timed out after 2s with' in err"
expect drop "$F and 'connection closed by the target after' in err and 'of 100000 bytes (Content-Length)' in err"
expect wronglen "$A and aerr.startswith('pprof: gzip: truncated data')"
expect truncgzip "$A and aerr.startswith('pprof: gzip: truncated data')"
expect gzipbomb "$A and 'exceeds the decompressed size limit of 64.0 MiB' in aerr and 'gzip bomb' in aerr"
expect zerobomb "$F and 'expected a pprof profile, got gzip' in err and 'not a profile' in err"
expect huge "$F and 'response exceeds max_response_size (1.0 MiB)' in err"
expect hugelen "$F and 'response of 4.0 MiB (Content-Length) exceeds max_response_size (1.0 MiB)' in err"
expect random "$F and 'expected a pprof profile, got unrecognised binary data (65536 bytes' in err"
expect garbageproto "$A and aerr.startswith('pprof: malformed protobuf at byte')"
expect badtrace "$A and aerr.startswith('corrupt go 1.19 trace: offset ')"
expect truncatedtrace "$A and aerr.startswith('corrupt go 1.19 trace: offset ')"

# The healthy target: every scheduled capture stored and ok, none missed.
for ty in heap goroutine allocs; do
  ctl list --json --target healthy --type "$ty" >"$T/healthy-$ty.json"
  python3 - "$T/healthy-$ty.json" "$ty" <<'EOF' || fail "healthy target, $ty"
import datetime, json, sys
rows = json.load(open(sys.argv[1]))
bad = [c for c in rows if c["status"] != "ok" or c["analysis_status"] != "ok"]
if bad:
    sys.exit("not ok: %s" % bad[0])
ts = sorted(datetime.datetime.fromisoformat(c["started_at"].replace("Z", "+00:00")).timestamp() for c in rows)
if len(ts) < 20:
    sys.exit("only %d captures in a run of more than 20 s at 1 s intervals" % len(ts))
gaps = [b - a for a, b in zip(ts, ts[1:])]
if max(gaps) >= 1.9:
    sys.exit("a scheduled capture is missing: %.2f s between two captures" % max(gaps))
print("ok: healthy %s: %d captures, all ok, largest gap %.2f s" % (sys.argv[2], len(ts), max(gaps)))
EOF
done
started=$(grep -c "target 'healthy' instance '[^']*' [a-z]*: GET" "$T/pprofd.log" || true)
stored=$(ctl list --json --target healthy | json 'len(d)')
[ "$started" = "$stored" ] || fail "healthy target: $started fetches started, $stored captures stored"
if grep '^pprofd_missed_schedules_total{.*target="healthy"' "$T/metrics.txt" | grep -qv ' 0$'; then
  fail "healthy target missed schedules: $(grep '^pprofd_missed_schedules_total' "$T/metrics.txt")"
fi
if grep '^pprofd_dropped_captures_total' "$T/metrics.txt" | grep -qv ' 0$'; then
  fail "captures dropped: $(grep '^pprofd_dropped_captures_total' "$T/metrics.txt")"
fi
pass "healthy target: all $stored scheduled captures stored and ok, none missed or dropped"

# Memory stays bounded: the gzip bomb inflates to 2 GiB, the huge body is
# 256 MiB. AddressSanitizer keeps freed memory in quarantine: allow more.
bound_kb=$((128 * 1024))
if grep -q __asan_init "$PPROFD" 2>/dev/null; then bound_kb=$((640 * 1024)); fi
[ "$hwm_kb" -lt "$bound_kb" ] || fail "pprofd's peak RSS is $hwm_kb kB (bound $bound_kb kB)"
pass "pprofd's peak RSS $hwm_kb kB stays under $bound_kb kB"
