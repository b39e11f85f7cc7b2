#!/bin/sh
# pprofctl trace end to end: import Go 1.19 traces, read the analysis back
# (tables, JSON) and compare it with go tool trace's figures, export the
# four blocking profiles and open them with go tool pprof -top (the output
# must equal `go tool trace -pprof=KIND` + `go tool pprof -top` of Go 1.19),
# list the per-target trend, and check the errors.
. "$top_srcdir/tests/lib.sh"

DATA="$top_srcdir/tests/data/gotrace"
DB="$T/db/pprofd.db"
ctl() { "$PPROFCTL" -d "$DB" "$@"; }

gunzip -c "$DATA/workload-2s.trace.gz" >"$T/workload-2s.trace"
gunzip -c "$DATA/workload-concurrent-3s.trace.gz" >"$T/workload-3s.trace"
printf 'go 1.27 trace\0\0\0garbage' >"$T/future.trace"
id1=$(ctl import "$T/workload-2s.trace" --target api --type trace --time 2026-11-21T03:12:00Z)
id2=$(ctl import "$T/workload-3s.trace" --target api --type trace --time 2026-11-21T03:22:00Z)
id3=$(ctl import "$T/future.trace" --target api --type trace --time 2026-11-21T03:32:00Z)
pass "import of two Go 1.19 traces and a go 1.27 one"

# JSON: the documented shape, and go tool trace's numbers (refs of the corpus).
ctl trace "$id1" --json >"$T/t1.json" || fail "trace --json"
python3 - "$T/t1.json" "$DATA/workload-2s.ref.tsv" <<'PY' || fail "trace --json content"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("go_version", "duration_ns", "procs", "threads", "goroutines", "events", "event_counts",
          "groups", "profiles", "gc", "mmu", "annotations"):
    assert k in d, k
assert d["go_version"] == "1.19" and d["procs"] == 2 and d["duration_ns"] == 2017932101
assert set(d["goroutines"]) >= {"created", "ended", "max_alive", "total"}
assert set(d["mmu"]) == {"1ms", "10ms", "100ms", "1s"}
cols = ["count", "total_ns", "execution_ns", "network_wait_ns", "sync_block_ns", "syscall_ns",
        "scheduler_wait_ns", "gc_sweep_ns", "gc_pause_ns"]
groups = {g["pc"]: g for g in d["groups"]}
ref_groups = prof = 0
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if f[0] == "group":
        g = groups[int(f[1])]
        assert g["function"] == f[2], (g["function"], f[2])
        assert [g[c] for c in cols] == [int(x) for x in f[3:12]], (f, g)
        assert "unknown_ns" in g and len(g["worst"]) == min(g["count"], 5)
        ref_groups += 1
    elif f[0] == "profile":
        p = d["profiles"][f[1]]
        assert (p["count"], p["total_ns"]) == (int(f[2]), int(f[3])), (f, p)
        prof += 1
    elif f[0] == "summary" and f[1] == "gc_stw_count":
        assert d["gc"]["stw_count"] == int(f[2])
    elif f[0] == "summary" and f[1] == "mmu_10ms":
        assert abs(d["mmu"]["10ms"] - float(f[2])) < 1e-6
assert ref_groups == len(groups) == 18 and prof == 4
assert [g["execution_ns"] for g in d["groups"]] == sorted((g["execution_ns"] for g in d["groups"]), reverse=True)
PY
pass "trace --json matches go tool trace's goroutine analysis and profile totals"

# Text tables.
ctl trace "$id1" >"$T/t1.txt" || fail "trace table"
grep -q "^go 1.19 trace: 2.018s, GOMAXPROCS 2" "$T/t1.txt" || fail "header: $(head -3 "$T/t1.txt")"
grep -q "^main.cpuHotLoop  *1  *2.018s  *1.361s" "$T/t1.txt" || fail "group table"
grep -q "sync.(\*Mutex).Lock < main.mutexContender" "$T/t1.txt" || fail "profile stacks"
pass "trace tables"

# Blocking profiles open in go tool pprof exactly like go tool trace's.
for kind in net sync syscall sched; do
  ctl trace "$id1" --pprof "$kind" -o "$T/$kind.pb.gz" || fail "--pprof $kind"
  "$GO" tool pprof -top -nodecount=30 "$T/$kind.pb.gz" >"$T/$kind.top" 2>"$T/$kind.err" \
    || fail "go tool pprof on the $kind profile: $(cat "$T/$kind.err")"
  sed -n '/flat%/,$p' "$T/$kind.top" >"$T/$kind.mine"
  sed -n '/flat%/,$p' "$DATA/workload-2s.pprof-$kind.top.txt" >"$T/$kind.ref"
  diff -u "$T/$kind.ref" "$T/$kind.mine" >&2 || fail "$kind profile differs from go tool trace -pprof=$kind"
  grep -q "^Type: delay" "$T/$kind.top" || fail "$kind: sample type"
done
"$GO" tool pprof -sample_index=contentions -top "$T/sync.pb.gz" 2>/dev/null | grep -q "^Type: contentions" \
  || fail "contentions sample type"
pass "--pprof net|sync|syscall|sched open in go tool pprof like go tool trace -pprof"

# The trend of a target: one line per analysed trace, oldest first.
ctl trace --target api --json >"$T/trend.json" || fail "trend --json"
python3 - "$T/trend.json" "$id1" "$id2" <<'PY' || fail "trend content"
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["id"] for r in d] == [int(sys.argv[2]), int(sys.argv[3])], d
r = d[0]
assert r["duration_ns"] == 2017932101 and r["gc"]["stw_count"] == 18
assert r["profiles"]["sync"]["total_ns"] == 14096545768 and r["goroutines"]["max_alive"] == 86
assert isinstance(r["mmu"]["10ms"], float) and r["started_at"] == "2026-11-21T03:12:00Z"
PY
ctl trace --target api >"$T/trend.txt" || fail "trend table"
[ "$(grep -c 2026-11-21T03 "$T/trend.txt")" = 2 ] || fail "trend rows: $(cat "$T/trend.txt")"
[ "$(ctl trace --target api --since 2026-11-21T03:20:00Z --json | json 'len(d)')" = 1 ] \
  || fail "--since"
[ "$(ctl trace --target api --limit 1 --json | json 'd[0]["id"]')" = "$id2" ] || fail "--limit keeps the newest"
pass "trend per target"

# A Go 1.26 trace (the new format, parsed by gotrace_v2): same commands.
cp "$top_srcdir/tests/data/gotrace2-nogc.trace" "$T/nogc.trace"
id4=$(ctl import "$T/nogc.trace" --target esbuild --type trace --time 2026-11-21T03:40:00Z)
ctl trace "$id4" --json >"$T/t4.json" || fail "trace --json (go 1.26)"
json 'd["go_version"] == "1.26" and len(d["groups"]) > 10 and d["goroutines"]["created"] > 0' \
  <"$T/t4.json" | grep -q True || fail "go 1.26 summary"
for kind in net sync syscall sched; do
  count=$(json "d['profiles']['$kind']['count']" <"$T/t4.json")
  ctl trace "$id4" --pprof "$kind" -o "$T/v2-$kind.pb.gz" || fail "--pprof $kind (go 1.26)"
  "$GO" tool pprof -sample_index=contentions -top "$T/v2-$kind.pb.gz" 2>/dev/null \
    | grep -q "Total samples = $count\b" || fail "go 1.26 $kind profile: expected $count samples"
done
pass "a go 1.26 trace: summary and blocking profiles"

# Errors and exit codes.
rc=0; ctl trace "$id3" >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] && grep -q "unsupported trace version go 1.27" "$T/err" || fail "unsupported: $rc $(cat "$T/err")"
rc=0; ctl trace 999 >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] && grep -q "no capture with id 999" "$T/err" || fail "missing capture: $rc"
rc=0; ctl trace "$id1" --pprof cpu -o "$T/x" 2>"$T/err" || rc=$?
[ $rc = 2 ] || fail "bad --pprof kind: $rc"
rc=0; ctl trace --target nobody >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] || fail "empty trend: $rc"
rc=0; ctl trace 2>"$T/err" || rc=$?
[ $rc = 2 ] || fail "no arguments: $rc"
pass "errors"
