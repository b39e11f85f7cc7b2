#!/bin/sh
# systemd integration without systemd: a NOTIFY_SOCKET listener records what
# pprofd tells the service manager (READY, STATUS, WATCHDOG, RELOADING,
# STOPPING), and the journald-style log prefixes.
. "$top_srcdir/tests/lib.sh"

start_demo demo
cat > "$T/pprofd.yaml" <<EOF2
storage: {path: $T/pprofd.db}
http: {listen: "off"}  # tests run in parallel: no fixed port
defaults: {interval: 2s}
targets:
  - {name: demo, url: "http://127.0.0.1:$demo_PORT", profiles: [heap, goroutine]}
EOF2

python3 - "$T/notify.sock" "$T/notify.log" <<'EOP' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data = s.recv(4096).decode()
        for line in data.split("\n"):
            log.write(line + "\n")
EOP
PIDS="$PIDS $!"
wait_for test -S "$T/notify.sock" || fail "notify listener did not start"

# Not a terminal and no -d: journald <N> prefixes.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 "$PPROFD" -c "$T/pprofd.yaml" \
  >"$T/pprofd.log" 2>&1 </dev/null &
PPROFD_PID=$!
PIDS="$PIDS $!"
wait_for grep -q '^READY=1' "$T/notify.log" || fail "no READY=1"
wait_for grep -q '^STATUS=.*targets' "$T/notify.log" || fail "no STATUS line"
n1=$(grep -c '^WATCHDOG=1' "$T/notify.log" || true)
sleep 1.5
n2=$(grep -c '^WATCHDOG=1' "$T/notify.log" || true)
[ "$n2" -ge $((n1 + 2)) ] || fail "watchdog not pinged at least twice per interval ($n1 -> $n2)"
pass "READY, STATUS and watchdog pings"

kill -HUP "$PPROFD_PID"
wait_for grep -q '^RELOADING=1' "$T/notify.log" || fail "no RELOADING=1 on SIGHUP"
[ "$(grep -c '^READY=1' "$T/notify.log")" -ge 2 ] || WAIT=5 wait_for sh -c "[ \$(grep -c '^READY=1' '$T/notify.log') -ge 2 ]" || fail "no READY=1 after reload"
pass "RELOADING then READY on SIGHUP"

stop_pprofd || fail "pprofd exited with $?"
wait_for grep -q '^STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
grep -q '^<6>pprofd .* started' "$T/pprofd.log" || fail "no <6> journald prefix in: $(head -2 "$T/pprofd.log")"
pass "STOPPING on SIGTERM, journald priority prefixes"
