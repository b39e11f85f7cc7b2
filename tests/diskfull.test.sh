#!/bin/sh
# Disk full and limits. The database lives on a small tmpfs this test
# mounts (CI runs it as root). pprofd ingests until the filesystem is full:
# it logs a clear error, counts the dropped captures, keeps running with a
# consistent database, and stores again once space returns. With retention
# configured it prunes the oldest captures to make room instead. Then the
# enforced storage.max_size: the database file never grows past it, the
# oldest captures make room. Where mount is denied (or with
# PPROFD_TEST_NO_MOUNT=1) the database lives in the test directory and the
# enforced max_size is the limit that fills up: the pruning, consistency and
# metrics checks still run, the drop-and-recover ones need the mount. Last,
# memory: many large traces at once against one analysis worker and a short
# queue: the bound is logged and counted, RSS stays bounded.
. "$top_srcdir/tests/lib.sh"

MNT="$T/mnt"
mkdir -p "$MNT"
MODE=tmpfs
if [ -n "${PPROFD_TEST_NO_MOUNT:-}" ]; then
  MODE=max_size
elif ! mount -t tmpfs -o size=16m,mode=0700 pprofd-test "$MNT" 2>"$T/mount.err"; then
  MODE=max_size
  echo "mount denied ($(cat "$T/mount.err")): enforcing storage.max_size instead" >&2
fi
cleanup_mnt() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  if [ "$MODE" = tmpfs ]; then umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; fi
  cleanup
}
trap cleanup_mnt EXIT
trap 'exit 1' INT TERM HUP # so that an interrupted run unmounts too

DB="$MNT/pprofd.db"
"$top_srcdir/tests/loadserver.py" "$T/load.addr" "$top_srcdir/tests/data" 64 \
  "$top_srcdir/tests/data/gotrace/prometheus-2s.trace.gz" 2>"$T/load.log" &
PIDS="$PIDS $!"
wait_for test -s "$T/load.addr" || fail "load server did not start"
addr() { sed -n "${1}p" "$T/load.addr"; }
HTTP_PORT=$(free_port)

# write_config STORAGE_EXTRA
write_config() {
  {
    cat <<EOF
storage: {path: $DB, prune_interval: 1h$1}
http: {listen: "127.0.0.1:$HTTP_PORT"}
defaults: {interval: 1s, timeout: 5s}
targets:
EOF
    for i in 1 2 3 4; do
      cat <<EOF
  - name: t$i
    url: http://$(addr $i)
    profiles: [heap, allocs, goroutine, block, {type: cpu, seconds: 0.2}, {type: trace, seconds: 0.2}]
EOF
    done
  } >"$T/pprofd.yaml.new"
  mv "$T/pprofd.yaml.new" "$T/pprofd.yaml"
}

sql() { sqlite3 -batch "$DB" "$@"; }
# metric NAME [MATCH]: the sum of the samples of NAME whose labels contain MATCH
metric() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v n="$1" -v m="${2:-}" '($1 == n || index($1, n "{") == 1) && index($1, m) { s += $2 } END { print s + 0 }'
}
metric_gt() { [ "$(metric "$1" "$2" | cut -d. -f1)" -gt "$3" ]; }
stored() { sql 'SELECT count(*) FROM captures'; }
stored_gt() { [ "$(stored)" -gt "$1" ]; }
alive() { kill -0 "$PPROFD_PID" 2>/dev/null || fail "pprofd died: $1"; }
integrity() {
  [ "$(sql 'PRAGMA integrity_check')" = ok ] || fail "integrity_check $1: $(sql 'PRAGMA integrity_check' | head -3)"
}
fill() { dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null || true; }
file_size() { echo $(($(sql 'PRAGMA page_count') * $(sql 'PRAGMA page_size'))); }

# --- disk full without retention: drop, say so, recover --------------------
write_config ", retention: 0"
start_pprofd "$T/pprofd.yaml"
WAIT=30 wait_for stored_gt 40 || fail "nothing stored"
if [ "$MODE" = tmpfs ]; then
fill
WAIT=40 wait_for grep -q "cannot store capture: .*disk full" "$T/pprofd.log" || fail "no disk-full error logged"
grep "cannot store capture" "$T/pprofd.log" | head -1 | grep -q "captures are dropped until space returns" \
  || fail "the disk-full message does not say what happens"
WAIT=10 wait_for metric_gt pprofd_dropped_captures_total 'reason="disk_full"' 0 || fail "disk-full drops not counted"
n1=$(metric pprofd_captures_total)
sleep 2
alive "on a full disk"
[ "$(metric pprofd_captures_total | cut -d. -f1)" -gt "${n1%.*}" ] || fail "fetching stopped on a full disk"
integrity "on a full disk"
before=$(stored)
pass "disk full: clear error, drops counted, still fetching, database consistent"

rm -f "$MNT/filler"
WAIT=20 wait_for grep -q "storage recovered" "$T/pprofd.log" || fail "no recovery logged after space returned"
WAIT=20 wait_for stored_gt $((before + 20)) || fail "storing did not resume"
integrity "after recovery"
pass "space returned: captures stored again"

# --- disk full with retention: prune the oldest to make room ---------------
write_config ", retention: 1d"
kill -HUP "$PPROFD_PID"
WAIT=10 wait_for grep -q "configuration reloaded" "$T/pprofd.log" || fail "reload failed"
# room for pruning on a full disk, set aside once retention is on
WAIT=10 wait_for grep -q "retention: .* bytes set aside" "$T/pprofd.log" || fail "no reserve taken"
[ -s "$DB-reserve" ] || fail "no reserve file"
oldest=$(sql 'SELECT min(id) FROM captures')
fill
WAIT=40 wait_for grep -q "retention: deleted" "$T/pprofd.log" || fail "no pruning on a full disk with retention"
WAIT=10 wait_for metric_gt pprofd_pruned_captures_total '' 0 || fail "pruned captures not counted"
[ "$(sql 'SELECT min(id) FROM captures')" -gt "$oldest" ] || fail "the oldest captures were not the ones deleted"
last=$(sql 'SELECT max(id) FROM captures')
drops=$(metric pprofd_dropped_captures_total)
WAIT=20 wait_for sh -c "[ \$(sqlite3 '$DB' 'SELECT max(id) FROM captures') -gt $((last + 20)) ]" \
  || fail "captures not stored on a full disk with retention"
# the reserve comes back after each pruning, so the disk can fill again
WAIT=40 wait_for sh -c "[ \$(grep -c 'retention: deleted' '$T/pprofd.log') -ge 2 ]" \
  || fail "pruned only once on a disk that stays full"
alive "pruning on a full disk"
integrity "after pruning"
pass "full disk with retention: oldest captures pruned, storing goes on (drops before: ${drops%.*})"
rm -f "$MNT/filler"
fi

# --- storage.max_size is enforced: the file never grows past it ------------
WAIT=30 wait_for stored_gt 60 || fail "nothing stored"
limit=$(($(file_size) + 262144))
write_config ", retention: 0, max_size: $limit"
kill -HUP "$PPROFD_PID"
WAIT=10 wait_for sh -c "[ \$(grep -c 'configuration reloaded' '$T/pprofd.log') -ge $([ $MODE = tmpfs ] && echo 2 || echo 1) ]" \
  || fail "reload with max_size failed"
pruned=$(grep -c "retention: deleted" "$T/pprofd.log" || true)
oldest=$(sql 'SELECT min(id) FROM captures')
last=$(sql 'SELECT max(id) FROM captures')
over_limit() { [ "$(file_size)" -gt "$limit" ] && echo "database file $(file_size) bytes > max_size $limit" >&2; }
pruned_more() { over_limit && return 2; [ "$(grep -c "retention: deleted" "$T/pprofd.log")" -gt $((pruned + 2)) ]; }
WAIT=60 wait_for pruned_more || fail "no pruning at the enforced max_size (or the file grew past it)"
over_limit && fail "database file larger than max_size"
[ "$(sql 'SELECT min(id) FROM captures')" -gt "$oldest" ] || fail "the oldest captures were not the ones deleted"
[ "$(sql 'SELECT max(id) FROM captures')" -gt "$last" ] || fail "nothing stored at the enforced max_size"
WAIT=10 wait_for metric_gt pprofd_pruned_captures_total '' 0 || fail "pruned captures not counted"
alive "at the enforced max_size"
integrity "at the enforced max_size"
pass "max_size $limit enforced: file $(file_size) bytes, oldest captures pruned, storing goes on"
stop_pprofd || fail "pprofd exited with status $? on SIGTERM"

# --- many large traces in flight: bounded queue, bounded memory ------------
DB="$T/big.db"
mv "$T/pprofd.log" "$T/diskfull.log"
{
  cat <<EOF
storage: {path: $DB}
http: {listen: "127.0.0.1:$HTTP_PORT"}
collector: {workers: 1, queue_size: 2}
defaults: {interval: 1s, timeout: 10s}
targets:
EOF
  for i in $(seq 1 64); do
    cat <<EOF
  - name: big$i
    url: http://$(addr $i)
    path_prefix: /big/debug/pprof
    profiles: [{type: trace, seconds: 0.1}]
EOF
  done
} >"$T/pprofd.yaml"
start_pprofd "$T/pprofd.yaml"
WAIT=40 wait_for grep -q "analysis queue full" "$T/pprofd.log" || fail "queue bound not logged"
WAIT=10 wait_for metric_gt pprofd_queue_full_total '' 0 || fail "queue bound not counted"
WAIT=10 wait_for metric_gt pprofd_deferred_starts_total '' 0 || fail "delayed fetches not counted"
sleep 8
depth=$(metric pprofd_queue_depth 'queue="analysis"')
rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PPROFD_PID/status")
alive "under many large traces"
# 64 traces of 1.7 MB in flight plus a queue of 2 and the one in analysis:
# well under 400 MB unless something grows without a bound.
bound_kb=409600
# AddressSanitizer keeps freed memory in quarantine (256 MiB) and adds its
# own bookkeeping: allow more there.
if grep -q __asan_init "$PPROFD" 2>/dev/null; then bound_kb=$((1024 * 1024)); fi
[ "$rss_kb" -lt "$bound_kb" ] || fail "peak RSS ${rss_kb} kB with 64 large traces in flight"
[ "${depth%.*}" -le 67 ] || fail "analysis queue depth $depth beyond its bound plus the fetches in flight"
stop_pprofd || fail "pprofd exited with status $? on SIGTERM"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after the large traces"
pass "large traces: queue bound logged and counted, queue depth $depth, peak RSS $((rss_kb / 1024)) MB"
