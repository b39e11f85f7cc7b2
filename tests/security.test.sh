#!/bin/sh
# Security properties: the database, its -wal and -shm are created 0640
# whatever the umask; bearer tokens, basic-auth passwords and the endpoint
# token (all read from files) are sent but never appear in the log at debug
# level, in the database, in pprofctl's output (text and --json) or in
# /metrics; TLS certificates are verified unless told otherwise; no SQL is
# built with SQLite's printf.
. "$top_srcdir/tests/lib.sh"

TOKEN="tok-$$-Zq8vB2"
PASSWORD="pw-$$-Xy7cK4"
HTTP_TOKEN="http-$$-Lm3nP9"
umask 077
printf '%s\n' "$TOKEN" > "$T/token"
printf '%s\n' "$PASSWORD" > "$T/password"
printf '%s\n' "$HTTP_TOKEN" > "$T/http.token"

# A self-signed certificate for 127.0.0.1 (the CA of the TLS target).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 \
  || fail "openssl cannot make a certificate"

# A target that serves a heap profile only with the right credentials.
cat > "$T/srv.py" <<'EOP'
import base64, http.server, ssl, sys
addr_file, scheme, secret, profile = sys.argv[1:5]
cert = sys.argv[5:7]
want = "Bearer " + secret if scheme == "bearer" else \
    "Basic " + base64.b64encode(("pprof:" + secret).encode()).decode()
body = open(profile, "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        if not self.path.startswith("/debug/pprof/heap"):
            self.send_response(404); self.end_headers(); return
        if self.headers.get("Authorization") != want:
            self.send_response(401); self.end_headers(); return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert[0], cert[1])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(addr_file + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").rename(addr_file + ".tmp", addr_file)
s.serve_forever()
EOP
python3 "$T/srv.py" "$T/bearer.port" bearer "$TOKEN" "$top_srcdir/tests/data/workload-heap.pprof" \
  2>"$T/bearer.log" &
PIDS="$PIDS $!"
python3 "$T/srv.py" "$T/tls.port" basic "$PASSWORD" "$top_srcdir/tests/data/workload-heap.pprof" \
  "$T/cert.pem" "$T/key.pem" 2>"$T/tls.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/bearer.port" || fail "the bearer target did not start"
wait_for test -s "$T/tls.port" || fail "the TLS target did not start"
BPORT=$(cat "$T/bearer.port")
SPORT=$(cat "$T/tls.port")
HTTP_PORT=$(free_port)

cat > "$T/pprofd.yaml" <<EOC
log_level: debug
storage: {path: $T/state/pprofd.db}
http: {listen: "127.0.0.1:$HTTP_PORT", token_file: $T/http.token}
defaults: {interval: 1s, timeout: 5s}
targets:
  - name: bearer
    url: http://127.0.0.1:$BPORT
    bearer_token_file: $T/token
    profiles: [heap]
  - name: basic
    url: https://127.0.0.1:$SPORT
    basic_auth: {username: pprof, password_file: $T/password}
    tls: {ca_file: $T/cert.pem}
    profiles: [heap]
  - name: unverified
    url: https://127.0.0.1:$SPORT
    basic_auth: {username: pprof, password_file: $T/password}
    profiles: [heap]
EOC

# --- the daemon under umask 077
(umask 077 && exec "$PPROFD" -d -c "$T/pprofd.yaml" >>"$T/pprofd.log" 2>&1) &
PPROFD_PID=$!
PIDS="$PIDS $!"
targets_state() {
  "$PPROFCTL" -c "$T/pprofd.yaml" targets --json > "$T/targets.json" 2>/dev/null || return 1
  python3 - "$T/targets.json" <<'EOP'
import json, sys
d = {r["target"]: r["types"].get("heap", {}) for r in json.load(open(sys.argv[1]))}
ok = lambda t: d.get(t, {}).get("last_ok") is not None
failed = d.get("unverified", {}).get("status") == "failed"
sys.exit(0 if ok("bearer") and ok("basic") and failed else 1)
EOP
}
WAIT=60 wait_for targets_state || { cat "$T/targets.json" >&2; fail "targets did not reach their states"; }
pass "bearer token and basic-auth password sent (the target requires them)"

mode() { stat -c %a "$1"; }
for f in pprofd.db pprofd.db-wal pprofd.db-shm; do
  [ -f "$T/state/$f" ] || fail "$f missing while the daemon runs"
  [ "$(mode "$T/state/$f")" = 640 ] || fail "$f has mode $(mode "$T/state/$f") under umask 077"
done
pass "database, -wal and -shm are 0640 under umask 077"

# --- TLS: verification is on by default, the error says why
"$PPROFCTL" -c "$T/pprofd.yaml" targets --json > "$T/targets.json"
json '[r for r in d if r["target"] == "unverified"][0]["types"]["heap"]["error"]' < "$T/targets.json" > "$T/tls.err"
grep -qi "certificate" "$T/tls.err" || { cat "$T/targets.json" >&2; fail "no certificate error for the unverified target"; }
[ "$(json '[r for r in d if r["target"] == "unverified"][0]["types"]["heap"]["last_ok"]' < "$T/targets.json")" = None ] \
  || fail "the unverified target was collected"
pass "TLS: a self-signed certificate is refused without ca_file, accepted with it"

# --- /metrics and the API
curl -sf -H "Authorization: Bearer $HTTP_TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics" \
  || fail "/metrics with the token"
grep -q '^pprofd_' "$T/metrics" || fail "/metrics has no pprofd_ series"
curl -sf -H "Authorization: Bearer $HTTP_TOKEN" "http://127.0.0.1:$HTTP_PORT/api/v1/captures" \
  > "$T/api.json" || fail "/api/v1/captures with the token"
stop_pprofd || fail "pprofd exited with an error"

# --- nothing shows a secret
show_id=$("$PPROFCTL" -c "$T/pprofd.yaml" list --json | json 'd[0]["id"] if isinstance(d, list) else d["captures"][0]["id"]')
for args in "targets" "targets --json" "list" "list --json" "show $show_id" "show $show_id --json" \
  "stats" "stats --json"; do
  # shellcheck disable=SC2086
  "$PPROFCTL" -c "$T/pprofd.yaml" $args >> "$T/ctl.out" 2>&1 || fail "pprofctl $args"
done
"$PPROFD" -n -v -c "$T/pprofd.yaml" >> "$T/ctl.out" 2>&1 || fail "pprofd -n -v"
grep -q "level=debug\|debug" "$T/pprofd.log" || fail "the log has no debug lines"
for s in "$TOKEN" "$PASSWORD" "$HTTP_TOKEN" \
  "$(printf 'pprof:%s' "$PASSWORD" | base64)"; do
  for f in pprofd.log ctl.out metrics api.json; do
    grep -qF "$s" "$T/$f" && fail "a secret appears in $f"
  done
  for f in "$T"/state/pprofd.db*; do
    grep -qaF "$s" "$f" && fail "a secret appears in $(basename "$f")"
  done
done
pass "no token or password in the debug log, the database, pprofctl, pprofd -n -v or /metrics"

# --- SQL injection through a label filter is just a value
n_all=$("$PPROFCTL" -c "$T/pprofd.yaml" list --json | json 'len(d)')
for l in "x=1' OR '1'='1" "target=x' OR 1=1 --" "x=1); DELETE FROM captures; --"; do
  rc=0
  "$PPROFCTL" -c "$T/pprofd.yaml" list -l "$l" > "$T/inj.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] && grep -q "no captures match" "$T/inj.out" \
    || { cat "$T/inj.out" >&2; fail "label filter $l: status $rc"; }
done
[ "$("$PPROFCTL" -c "$T/pprofd.yaml" list --json | json 'len(d)')" = "$n_all" ] \
  || fail "captures changed after quoted label filters"
pass "label filters are bound parameters"

# --- umask 000 gives the same modes
cat > "$T/open.yaml" <<EOC
storage: {path: $T/open/pprofd.db}
http: {listen: "off"}
defaults: {interval: 1s}
targets:
  - {name: bearer, url: "http://127.0.0.1:$BPORT", bearer_token_file: $T/token, profiles: [heap]}
EOC
(umask 000 && exec "$PPROFD" -d -c "$T/open.yaml" >>"$T/pprofd.log" 2>&1) &
PPROFD_PID=$!
PIDS="$PIDS $!"
wait_for test -f "$T/open/pprofd.db-shm" || fail "no -shm under umask 000"
wait_for test -f "$T/open/pprofd.db-wal" || fail "no -wal under umask 000"
for f in pprofd.db pprofd.db-wal pprofd.db-shm; do
  [ "$(mode "$T/open/$f")" = 640 ] || fail "$f has mode $(mode "$T/open/$f") under umask 000"
done
stop_pprofd || fail "pprofd (umask 000) exited with an error"
pass "database, -wal and -shm are 0640 under umask 000"

# --- no SQL text made with SQLite's printf (values are bound; see store_filter.c)
if grep -n 'sqlite3_v\{0,1\}mprintf\|sqlite3_snprintf' "$top_srcdir"/src/*.c; then
  fail "SQL built with sqlite3_mprintf"
fi
pass "no sqlite3_mprintf in src/"
