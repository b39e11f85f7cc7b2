#!/bin/sh
# `pprofctl top --type` through the hourly and daily rollups prints exactly
# what it prints from every capture's own rows (--no-rollup), in text and
# JSON, for filters that cut days and hours, after pruning that cuts an
# hour (and leaves its day stale), after a deletion outside pruning (stale
# cells read by a read-only pprofctl) and after the next read-write open
# rebuilt them all.
set -eu

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PPROFCTL="$top_builddir/src/pprofctl"
DATA="$top_srcdir/tests/data/pprof"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rollup-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TZ=UTC
export TZ
DB="$TMP/pprofd.db"
ctl() { "$PPROFCTL" -d "$DB" "$@"; }
sql() { sqlite3 -batch "$DB" "$@"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# 48 captures, one every 70 minutes from 2026-11-18T21:50Z (three UTC days
# and parts of two more): two targets, two instances, two label sets, CPU
# and heap profiles.
base=$(date -u -d 2026-11-18T21:50:00Z +%s)
i=0
while [ $i -lt 48 ]; do
	case $((i % 4)) in
	0) f=prom/cpu-5s.pprof type=cpu ;;
	1) f=work/cpu-5s.pprof type=cpu ;;
	2) f=prom/heap.pprof type=heap ;;
	3) f=esbuild/heap.pprof type=heap ;;
	esac
	t=$(date -u -d "@$((base + i * 4200))" +%Y-%m-%dT%H:%M:%SZ)
	ctl import "$DATA/$f" --target "svc-$((i % 2))" --type "$type" \
		--instance "10.0.0.$((i / 2 % 2)):6060" -l "env=$([ $((i % 3)) = 0 ] && echo dev || echo prod)" \
		--time "$t" >/dev/null || fail "import $f at $t"
	i=$((i + 1))
done
[ "$(sql 'SELECT sum(captures) FROM pprof_rollups WHERE span_ms = 86400000')" = 48 ] ||
	fail "daily rollups do not count the 48 captures"
[ "$(sql 'SELECT sum(captures) FROM pprof_rollups WHERE span_ms = 3600000')" = 48 ] ||
	fail "hourly rollups do not count the 48 captures"

n_cmp=0
# same ARGS...: top with and without rollups, text and JSON
same() {
	for json in "" --json; do
		ctl top "$@" $json >"$TMP/a" 2>&1 && ra=0 || ra=$?
		ctl top "$@" $json --no-rollup >"$TMP/b" 2>&1 && rb=0 || rb=$?
		[ "$ra" = "$rb" ] || fail "top $* $json: exit $ra with rollups, $rb without"
		cmp -s "$TMP/a" "$TMP/b" || fail "top $* $json differs: $(diff "$TMP/a" "$TMP/b" | head -5)"
		n_cmp=$((n_cmp + 1))
	done
}
compare_all() {
	same --type cpu
	same --type cpu --by target
	same --type heap --sample-index alloc_space --cum -n 7
	same --type heap --target svc-1 -l env=prod
	same --type cpu --instance 10.0.0.1:6060 --by target
	same --type cpu --since 2026-11-19T05:30:00Z --until 2026-11-21T02:10:00Z
	same --type heap --since 2026-11-19T00:00:00Z --until 2026-11-20T00:00:00Z --by target
	same --type cpu --since 2026-11-20T13:20:00Z -l env=dev
	same --type heap --until 2026-11-20T07:45:00Z --sample-index 0
	same --type cpu --since 2026-11-19T10:10:00Z --until 2026-11-19T10:50:00Z
	same --type cpu --limit 5
	same --type cpu --target nosuch
}

compare_all
echo "ok: rollups match raw rows ($n_cmp comparisons)"

# Pruning that cuts an hour rebuilds the hours it touched and leaves the
# cut day stale (read through its hours).
cutoff=$(date -u -d 2026-11-19T07:30:00Z +%s)
ctl prune --older-than "$(($(date +%s) - cutoff))s" >/dev/null || fail "prune"
[ "$(sql 'SELECT count(*) FROM pprof_rollups WHERE stale AND span_ms = 3600000')" = 0 ] ||
	fail "stale hourly rollups after prune"
[ "$(sql 'SELECT count(*) FROM pprof_rollups WHERE stale AND span_ms = 86400000')" -gt 0 ] ||
	fail "no stale daily rollups after a prune that cut a day"
left=$(sql 'SELECT count(*) FROM captures')
[ "$left" -lt 48 ] && [ "$left" -gt 30 ] || fail "prune left $left captures"
[ "$(sql 'SELECT sum(captures) FROM pprof_rollups WHERE span_ms = 3600000')" = "$left" ] ||
	fail "hourly rollups after prune"
compare_all
echo "ok: after pruning"

# A deletion behind pprofd's back marks cells stale; read-only queries read
# them raw, the next read-write open rebuilds them.
sql "DELETE FROM captures WHERE id IN (30, 31, 35)"
[ "$(sql 'SELECT count(*) FROM pprof_rollups WHERE stale')" -gt 0 ] || fail "no stale rollups"
compare_all
ctl prune --older-than 1000d >/dev/null || fail "prune (read-write open)"
[ "$(sql 'SELECT count(*) FROM pprof_rollups WHERE stale')" = 0 ] || fail "stale rollups after open"
for span in 3600000 86400000; do
	[ "$(sql "SELECT sum(captures) FROM pprof_rollups WHERE span_ms = $span")" = "$((left - 3))" ] ||
		fail "rollups of span $span after rebuild"
done
compare_all
echo "ok: stale cells ($n_cmp comparisons in all)"
