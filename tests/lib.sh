# Shared helpers for pprofd's shell integration tests (sourced).
# Every server listens on 127.0.0.1 and is stopped by PID at exit.
set -eu

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
PPROFD="$top_builddir/src/pprofd"
PPROFCTL="$top_builddir/src/pprofctl"
DEMO="$top_builddir/tests/target/pprofd-demo-target"
GO="${GO:-/usr/lib/go-1.19/bin/go}"
PROMETHEUS="${PROMETHEUS:-/usr/bin/prometheus}"

T=$(mktemp -d "${TMPDIR:-/tmp}/pprofd-it.XXXXXX")
PIDS=""
export HOME="$T"
export GOCACHE="${GOCACHE:-$T/gocache}"

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP_TMP:-}" = "" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  [ -f "$T/pprofd.log" ] && { echo "--- pprofd log (tail)" >&2; tail -n 40 "$T/pprofd.log" >&2; }
  exit 1
}

pass() { echo "ok: $*"; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for CMD...: retries for up to $WAIT seconds (default 30).
wait_for() {
  _n=0
  while ! "$@" >/dev/null 2>&1; do
    _n=$((_n + 1))
    [ $_n -gt $((${WAIT:-30} * 10)) ] && return 1
    sleep 0.1
  done
  return 0
}

# start_demo NAME: starts a demo Go target; sets NAME_PORT and NAME_PID.
start_demo() {
  _f="$T/$1.addr"
  rm -f "$_f"
  "$DEMO" -addr 127.0.0.1:0 -ready-file "$_f" 2>"$T/$1.log" &
  eval "$1_PID=$!"
  PIDS="$PIDS $!"
  wait_for test -s "$_f" || fail "demo target $1 did not start"
  eval "$1_PORT=\$(sed 's/.*://' \"$_f\")"
}

# start_prometheus: Debian's prometheus on 127.0.0.1; sets PROM_PORT.
start_prometheus() {
  PROM_PORT=$(free_port)
  mkdir -p "$T/prom"
  cat > "$T/prom/prometheus.yml" <<EOP
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
EOP
  "$PROMETHEUS" --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prom.log" 2>&1 &
  PROM_PID=$!
  PIDS="$PIDS $!"
  WAIT=60 wait_for curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" || fail "prometheus did not start"
}

# start_pprofd CONFIG: runs the daemon in the background; sets PPROFD_PID.
start_pprofd() {
  "$PPROFD" -d -c "$1" >>"$T/pprofd.log" 2>&1 &
  PPROFD_PID=$!
  PIDS="$PIDS $!"
}

# stop_pprofd: SIGTERM and wait; returns the exit status.
stop_pprofd() {
  kill -TERM "$PPROFD_PID"
  _rc=0
  wait "$PPROFD_PID" || _rc=$?
  PIDS=$(echo "$PIDS" | sed "s/ $PPROFD_PID\b//")
  return $_rc
}

# json EXPR: evaluates a Python expression over the JSON document on stdin
# (bound to `d`) and prints the result.
json() {
  python3 -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r if not isinstance(r,(dict,list)) else json.dumps(r))"
}
