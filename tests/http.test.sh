#!/bin/sh
# The HTTP endpoint with real clients: Prometheus's promtool parses
# /metrics, Go 1.19's `go tool pprof` reads capture, merge and profefe URLs
# (with the token in the URL too), `go tool trace` reads a downloaded trace,
# and headless Chromium renders the web view: the flame graph of a profile,
# the goroutine analysis of a trace, the health table (with screenshots).
. "$top_srcdir/tests/lib.sh"

SERVE="$top_builddir/tests/http_serve"
DATA="$top_srcdir/tests/data/http"
CHROMIUM="${CHROMIUM:-chromium}"
PROMTOOL="${PROMTOOL:-promtool}"
export PATH="$(dirname "$GO"):$PATH"
export PPROF_TMPDIR="$T/pprof"

command -v "$CHROMIUM" >/dev/null || fail "chromium not found (apt-get install chromium; see scripts/packages)"
command -v "$PROMTOOL" >/dev/null || fail "promtool not found (apt-get install prometheus)"

# start_serve NAME [TOKEN]: seeds a database and serves it; sets NAME_PORT.
start_serve() {
  rm -f "$T/$1.port"
  "$SERVE" "$T/$1.db" "$T/$1.port" ${2:+"$2"} 2>"$T/$1.log" &
  PIDS="$PIDS $!"
  wait_for test -s "$T/$1.port" || { cat "$T/$1.log" >&2; fail "http_serve $1 did not start"; }
  eval "$1_PORT=\$(cat \"$T/$1.port\")"
}

start_serve open
URL="http://127.0.0.1:$open_PORT"

# --- metrics: the exposition format Prometheus parses
curl -sf "$URL/healthz" >/dev/null || fail "GET /healthz"
curl -sf "$URL/metrics" > "$T/metrics.txt" || fail "GET /metrics"
"$PROMTOOL" check metrics < "$T/metrics.txt" || fail "promtool rejects /metrics"
grep -q '^pprofd_captures_total{target="api",type="cpu",status="ok"} 2$' "$T/metrics.txt" \
  || fail "daemon metrics missing from /metrics"
grep -q '^pprofd_http_requests_total{handler="healthz",code="200"} 1$' "$T/metrics.txt" \
  || fail "request metrics missing"
pass "promtool check metrics accepts /metrics"

# --- go tool pprof on a stored capture, a merge and profefe's merge
id_of() { # target type instance -> id
  curl -sf "$URL/api/v1/captures?target=$1&type=$2&instance=$3" | json 'd[0]["id"]'
}
CPU1=$(id_of api cpu 10.0.0.1:6060)
"$GO" tool pprof -top "$URL/api/v1/captures/$CPU1" > "$T/top1.txt" 2>&1 \
  || { cat "$T/top1.txt" >&2; fail "go tool pprof on a capture URL"; }
grep -q 'of 6.72s total' "$T/top1.txt" || fail "capture: unexpected total: $(grep total "$T/top1.txt")"
grep -q 'main.spin$' "$T/top1.txt" || fail "capture: main.spin missing"
# -seconds makes pprof add ?seconds=N; a stored capture ignores it.
"$GO" tool pprof -seconds 1 -top "$URL/api/v1/captures/$CPU1" > "$T/top1s.txt" 2>&1 \
  || { cat "$T/top1s.txt" >&2; fail "go tool pprof -seconds on a capture URL"; }
grep -q 'of 6.72s total' "$T/top1s.txt" || fail "capture with ?seconds: wrong total"
pass "go tool pprof -top reads /api/v1/captures/$CPU1"

"$GO" tool pprof -top "$URL/api/v1/merge?type=cpu&target=api&since=1h" > "$T/merge.txt" 2>&1 \
  || { cat "$T/merge.txt" >&2; fail "go tool pprof on the merge URL"; }
grep -Eq 'of (10.43s|10430ms) total' "$T/merge.txt" || fail "merge: total is not 6.72s + 3.71s: $(grep total "$T/merge.txt")"
pass "go tool pprof -top reads /api/v1/merge (6.72s + 3.71s = 10.43s)"

FROM=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
TO=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%S)
"$GO" tool pprof -top "$URL/api/0/profiles/merge?service=api&type=cpu&from=$FROM&to=$TO" \
  > "$T/profefe.txt" 2>&1 || { cat "$T/profefe.txt" >&2; fail "go tool pprof on profefe's merge URL"; }
grep -Eq 'of (10.43s|10430ms) total' "$T/profefe.txt" || fail "profefe merge: wrong total"
n=$(curl -sf "$URL/api/0/profiles?service=api&type=cpu&from=$FROM&to=$TO" | json 'len(d["body"])')
[ "$n" = 2 ] || fail "profefe list: $n profiles, want 2"
pass "profefe's /api/0/profiles and /api/0/profiles/merge"

# --- a trace downloads byte for byte and go tool trace reads it
TRACE=$(id_of api trace 10.0.0.1:6060)
curl -sf -o "$T/t.out" "$URL/api/v1/captures/$TRACE" || fail "download trace"
cmp "$T/t.out" "$DATA/workload-trace-2s.trace" || fail "downloaded trace differs"
"$GO" tool trace -pprof=net "$T/t.out" > "$T/net.pb" 2>"$T/trace.err" \
  || { cat "$T/trace.err" >&2; fail "go tool trace cannot read the download"; }
"$GO" tool pprof -top "$T/net.pb" 2>&1 | grep -q 'main.netClient' || fail "go tool trace -pprof=net: no main.netClient"
pass "curl -o t.out + go tool trace read the stored trace"

# --- the web view in headless Chromium
chrome() {
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$T/chrome" --virtual-time-budget=15000 "$@" \
    2>>"$T/chrome.log"
}
chrome --dump-dom "$URL/#/capture/$CPU1" > "$T/capture.html" || fail "chromium --dump-dom"
grep -q 'data-flamegraph="rendered"' "$T/capture.html" || fail "flame graph not rendered: $(grep -o 'data-flamegraph="[a-z]*"' "$T/capture.html")"
frames=$(sed -n 's/.*data-frames="\([0-9]*\)".*/\1/p' "$T/capture.html" | head -n 1)
[ "${frames:-0}" -ge 10 ] || fail "flame graph has ${frames:-no} frames"
grep -q 'class="top-report" data-sample-type="cpu"' "$T/capture.html" || fail "no top table for cpu"
grep -q 'main.spin' "$T/capture.html" || fail "main.spin not on the capture page"
chrome --screenshot="$T/capture.png" --window-size=1400,1800 "$URL/#/capture/$CPU1" >/dev/null \
  || fail "chromium --screenshot"
[ "$(head -c 8 "$T/capture.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
[ "$(wc -c < "$T/capture.png")" -gt 20000 ] || fail "screenshot is suspiciously small"
cp "$T/capture.png" "$top_builddir/tests/http-capture.png" # kept for a look (CI artifact)
pass "capture page in Chromium: flame graph with $frames frames, top table, screenshot"

chrome --dump-dom "$URL/#/capture/$TRACE" > "$T/trace.html" || fail "chromium --dump-dom (trace)"
grep -q 'id="goroutine-analysis"' "$T/trace.html" || fail "no goroutine analysis table"
grep -q 'main.cpuHotLoop' "$T/trace.html" || fail "goroutine analysis lacks main.cpuHotLoop"
pass "trace page in Chromium: goroutine analysis"

chrome --dump-dom "$URL/#/" > "$T/overview.html" || fail "chromium --dump-dom (overview)"
grep -q 'id="targets"' "$T/overview.html" || fail "no targets table"
grep -q 'class="cell warn"' "$T/overview.html" || fail "no failing series shown (api heap)"
grep -q 'class="cell bad"' "$T/overview.html" || fail "no never-ok series shown (web mutex)"
chrome --screenshot="$top_builddir/tests/http-overview.png" --window-size=1400,1000 "$URL/#/" \
  >/dev/null || fail "screenshot"
chrome --dump-dom "$URL/#/captures?target=web" > "$T/list.html" || fail "chromium --dump-dom (list)"
rows=$(grep -o 'data-id="[0-9]*"' "$T/list.html" | wc -l)
[ "$rows" = 2 ] || fail "capture list for target web: $rows rows, want 2"
pass "overview and filtered capture list in Chromium"

# --- the token: 401 without it, Bearer or Basic (go tool pprof via the URL)
start_serve locked s3cret
L="127.0.0.1:$locked_PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$L/api/v1/captures")
[ "$code" = 401 ] || fail "no token: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "http://$L/metrics")
[ "$code" = 401 ] || fail "wrong token: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$L/healthz")
[ "$code" = 200 ] || fail "/healthz with a token configured: HTTP $code"
curl -sf -H 'Authorization: Bearer s3cret' "http://$L/metrics" | "$PROMTOOL" check metrics \
  || fail "metrics with the token"
"$GO" tool pprof -top "http://pprof:s3cret@$L/api/v1/captures/$CPU1" > "$T/top-auth.txt" 2>&1 \
  || { cat "$T/top-auth.txt" >&2; fail "go tool pprof with the token in the URL"; }
grep -q 'of 6.72s total' "$T/top-auth.txt" || fail "token URL: wrong profile"
pass "token: 401 without or with a wrong one, /healthz open, Basic via go tool pprof URL"
