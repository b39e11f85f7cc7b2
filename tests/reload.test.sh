#!/bin/sh
# Configuration under load: 100 SIGHUPs, at random moments while CPU
# profiles and traces are in flight, alternating valid configurations (each
# adds and removes targets and profiles) and invalid ones (each keeps the
# running configuration and names file:line:column). Checked from the
# daemon's debug log, in order: no fetch starts for a target or profile the
# configuration in force did not have, added ones start, every received
# capture is stored exactly once, and the daemon stays up.
. "$top_srcdir/tests/lib.sh"

DB="$T/pprofd.db"
CONF="$T/pprofd.yaml"
NT=12
RELOADS=100

"$top_srcdir/tests/loadserver.py" "$T/load.addr" "$top_srcdir/tests/data" $NT 2>"$T/load.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/load.addr" || fail "load server did not start"

# The jobs of valid configuration J: target i unless (i + J) % 3 == 0, each
# with heap and a CPU profile, and a trace when (i + J) is even. One
# "tI:TYPE" a line in $T/set.J.
valid_config() {
  {
    echo "storage: {path: $DB}"
    echo 'http: {listen: "off"}'
    echo "defaults: {interval: 1s, timeout: 5s}"
    echo "collector: {shutdown_grace: 10s}"
    echo "targets:"
    i=1
    while [ $i -le $NT ]; do
      if [ $(((i + $1) % 3)) != 0 ]; then
        trace=
        [ $(((i + $1) % 2)) = 0 ] && trace=", {type: trace, seconds: 0.3}"
        echo "  - name: t$i"
        echo "    url: http://$(sed -n "${i}p" "$T/load.addr")"
        echo "    profiles: [heap, {type: cpu, seconds: 0.4}$trace]"
      fi
      i=$((i + 1))
    done
  } >"$T/valid.yaml"
  sed -n 's/^  - name: \(t[0-9]*\)$/\1/p' "$T/valid.yaml" | while read -r t; do
    echo "$t:heap"
    echo "$t:cpu"
  done >"$T/set.$1"
  awk '/^  - name:/ { t = $3 } /type: trace/ { print t ":trace" }' "$T/valid.yaml" >>"$T/set.$1"
}

# Invalid variant V of the last valid configuration; prints the expected
# "line:column" of the error.
invalid_config() {
  n=$(wc -l <"$T/valid.yaml")
  case $1 in
  0) sed '3s/interval: 1s/interval: 1parsec/' "$T/valid.yaml" >"$T/bad.yaml"; echo 3:22 ;;
  1) sed '3i colector: {workers: 2}' "$T/valid.yaml" >"$T/bad.yaml"; echo 3:1 ;;
  2) { cat "$T/valid.yaml"; printf '  - name: broken\n    profiles: [heap\n'; } >"$T/bad.yaml"
     echo $((n + 3)):1 ;;
  3) { cat "$T/valid.yaml"; sed -n '6,8p' "$T/valid.yaml"; } >"$T/bad.yaml"; echo $((n + 1)):11 ;;
  esac
}

rand_ms() { echo $(($1 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($2 - $1))); }
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
outcomes() { grep -cE "reload failed|configuration reloaded" "$T/pprofd.log" || true; }
outcomes_ge() { [ "$(outcomes)" -ge "$1" ]; }

valid_config 0
cp "$T/valid.yaml" "$CONF"
"$PPROFD" -n -c "$CONF" >/dev/null || fail "config rejected"
start_pprofd "$CONF"
WAIT=20 wait_for grep -q "trace: GET" "$T/pprofd.log" || fail "no trace started"

# Expected outcome of each reload, in order: "valid J" or "invalid FILE:L:C".
: >"$T/expect"
r=1
while [ $r -le $RELOADS ]; do
  if [ $((r % 2)) = 1 ]; then
    j=$(((r + 1) / 2))
    valid_config $j
    echo "valid $j" >>"$T/expect"
    cp "$T/valid.yaml" "$CONF.tmp"
  else
    pos=$(invalid_config $((r / 2 % 4)))
    echo "invalid $CONF:$pos" >>"$T/expect"
    cp "$T/bad.yaml" "$CONF.tmp"
  fi
  mv "$CONF.tmp" "$CONF"
  kill -HUP "$PPROFD_PID"
  wait_for outcomes_ge $r || fail "reload $r: no outcome logged"
  kill -0 "$PPROFD_PID" || fail "pprofd died at reload $r"
  sleep_ms "$(rand_ms 0 400)"
  r=$((r + 1))
done
pass "$RELOADS reloads under load, daemon up"

# Every job of the last configuration starts after the last reload.
last=$(((RELOADS + 1) / 2))
started_since_last() {
  sed -n '/configuration reloaded/h; /configuration reloaded/!H; ${x;p}' "$T/pprofd.log" >"$T/tail.log"
  while IFS=: read -r t ty; do
    grep -q "target '$t' instance '[^']*' $ty: GET" "$T/tail.log" || return 1
  done <"$T/set.$last"
}
WAIT=20 wait_for started_since_last || fail "jobs of the last configuration did not all start"
stop_pprofd || fail "pprofd exited with status $? on SIGTERM"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"

sqlite3 -batch "$DB" "SELECT target || ' ' || type || ' ' || started_at_ms FROM captures" >"$T/rows"
python3 - "$T" "$CONF" <<'EOF' || fail "log check failed"
import re, sys
T, conf = sys.argv[1], sys.argv[2]
def load_set(j):
    return {tuple(l.split(":")) for l in open(f"{T}/set.{j}").read().split()}
expect = [l.split(" ", 1) for l in open(f"{T}/expect").read().splitlines()]
active, k, errors = load_set(0), 0, []
ever_started, received, gets, recvs = set(), [], {}, {}
get = re.compile(r"target '([^']*)' instance '[^']*' (\S+): GET ")
recv = re.compile(r"target '([^']*)' instance '[^']*' (\S+): received \w+, \d+ bytes, started at (\d+)$")
for line in open(f"{T}/pprofd.log"):
    line = line.rstrip("\n")
    if "configuration reloaded" in line or "reload failed" in line:
        kind, arg = expect[k]
        k += 1
        if kind == "valid":
            if "configuration reloaded" not in line:
                errors.append(f"reload {k}: valid config rejected: {line}")
            active = load_set(int(arg))
        elif "keeping the running configuration: " + arg + ":" not in line:
            errors.append(f"reload {k}: expected an error at {arg}: {line}")
        continue
    m = get.search(line)
    if m:
        job = (m.group(1), m.group(2))
        gets[job] = gets.get(job, 0) + 1
        if job not in active:
            errors.append(f"after reload {k}: {job} started but not configured: {line}")
        ever_started.add(job)
        continue
    m = recv.search(line)
    if m:
        recvs[(m.group(1), m.group(2))] = recvs.get((m.group(1), m.group(2)), 0) + 1
        received.append(f"{m.group(1)} {m.group(2)} {m.group(3)}")
if k != len(expect):
    errors.append(f"{k} reload outcomes logged, {len(expect)} expected")
# Jobs absent at start and added by a reload did start.
added = {j for j in load_set(1) | load_set(2) if j not in load_set(0)}
if not added & ever_started:
    errors.append(f"no job added by a reload ever started")
# Every fetch started, removed job or not, ended in a received capture.
for job in sorted(set(gets) | set(recvs)):
    if gets.get(job, 0) != recvs.get(job, 0):
        errors.append(f"{job}: {gets.get(job, 0)} fetches started, {recvs.get(job, 0)} received")
rows = open(f"{T}/rows").read().splitlines()
dup = len(rows) - len(set(rows))
if dup:
    errors.append(f"{dup} duplicated captures")
missing = set(received) - set(rows)
extra = set(rows) - set(received)
if missing:
    errors.append(f"{len(missing)} received captures not stored, e.g. {sorted(missing)[:3]}")
if extra:
    errors.append(f"{len(extra)} stored captures never received, e.g. {sorted(extra)[:3]}")
if len(received) < 200:
    errors.append(f"only {len(received)} captures received")
for e in errors[:10]:
    print("FAIL:", e, file=sys.stderr)
print(f"{len(received)} captures received and stored once; {len(added & ever_started)} added jobs started")
sys.exit(1 if errors else 0)
EOF
pass "removed jobs stopped, added jobs started, invalid configs kept the old one with file:line:column, every received capture stored once"
