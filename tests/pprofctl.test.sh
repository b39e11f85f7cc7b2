#!/bin/sh
# pprofctl against a temporary database: import real captures from the
# corpus (a pprof, a trace, a text body), then list/show/export/targets/
# stats/prune with their JSON shapes, filters and exit codes.
. "$top_srcdir/tests/lib.sh"

DATA="$top_srcdir/tests/data"
DB="$T/store/pprofd.db"
ctl() { "$PPROFCTL" -d "$DB" "$@"; }

# expect_rc N CMD...: runs CMD (output to $T/out, $T/err) and checks its exit status.
expect_rc() {
  _want=$1
  shift
  _rc=0
  "$@" >"$T/out" 2>"$T/err" || _rc=$?
  [ "$_rc" = "$_want" ] || fail "'$*' exited $_rc, expected $_want: $(cat "$T/err")"
}

# Imports: the database and its directory are created; ids are printed.
id_cpu=$(ctl import "$DATA/workload-cpu-5s.pprof" --target api --type cpu \
  --instance 10.0.0.1:6060 -l env=prod -l team=core --time 2026-11-21T03:12:00Z)
id_trace=$(ctl import "$DATA/workload-trace-2s.trace" --target api --type trace \
  --instance 10.0.0.1:6060 -l env=prod -l team=core --time 2026-11-21T03:13:00.250Z)
id_text=$(ctl import "$DATA/workload-goroutine-debug1.txt" --target web --type goroutine \
  -l env=staging --time 2026-11-21T04:00:00Z)
[ "$id_cpu" = 1 ] && [ "$id_trace" = 2 ] && [ "$id_text" = 3 ] \
  || fail "import ids: $id_cpu $id_trace $id_text"
[ "$(stat -c %a "$DB")" = 640 ] || fail "database mode $(stat -c %a "$DB")"
pass "import of a pprof, a trace and a text body"

# list --json: every field, newest first.
ctl list --json >"$T/list.json" || fail "list --json"
python3 - "$T/list.json" "$DATA" <<'EOF' || fail "list --json content"
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
assert [c["id"] for c in d] == [3, 2, 1], d
keys = {"id", "target", "instance", "type", "started_at", "duration_s", "status", "http_status",
        "error", "size_bytes", "format", "labels", "url", "requested_seconds", "sha256",
        "analysis_status", "analysis_error"}
for c in d:
    assert keys <= set(c), set(c) ^ keys
    assert c["status"] == "ok" and c["error"] is None and c["http_status"] is None
t = d[1]
body = open(sys.argv[2] + "/workload-trace-2s.trace", "rb").read()
assert t["target"] == "api" and t["instance"] == "10.0.0.1:6060" and t["type"] == "trace", t
assert t["started_at"] == "2026-11-21T03:13:00.250Z", t["started_at"]
assert t["size_bytes"] == len(body) and t["sha256"] == hashlib.sha256(body).hexdigest()
assert t["format"] == "go-trace" and t["labels"] == {"env": "prod", "team": "core"}
assert t["url"].startswith("file:///") and t["url"].endswith("/workload-trace-2s.trace")
assert d[2]["format"] == "pprof-gzip" and d[0]["format"] == "text", d
assert d[0]["instance"] == "import" and d[0]["labels"] == {"env": "staging"}
EOF
pass "list --json fields and order"

# Filters.
n() { ctl list --json "$@" | json 'len(d)'; }
[ "$(n --target api)" = 2 ] || fail "--target"
[ "$(n --type trace)" = 1 ] || fail "--type"
[ "$(n --instance 10.0.0.1:6060)" = 2 ] || fail "--instance"
[ "$(n -l env=prod)" = 2 ] || fail "-l env=prod"
[ "$(n -l env=prod -l team=core --type cpu)" = 1 ] || fail "two labels and a type"
[ "$(n -l target=web)" = 1 ] || fail "-l target=web"
[ "$(n --since 2026-11-21T03:13:00Z --until 2026-11-21T04:00:00Z)" = 1 ] || fail "time range"
[ "$(n --since 2026-11-21T03:12:00Z)" = 3 ] || fail "--since is inclusive"
[ "$(n --status ok --limit 2)" = 2 ] || fail "--limit"
[ "$(ctl list --json --limit 1 | json 'd[0]["id"]')" = 3 ] || fail "--limit keeps the newest"
[ "$(n --json --since 2026-11-21 --until 2026-11-22)" = 3 ] || fail "dates"
expect_rc 1 ctl list --json --status failed
[ "$(cat "$T/out" | json 'd')" = "[]" ] || fail "no match prints []"
expect_rc 1 ctl list -l env=nope
grep -q "no captures match" "$T/err" || fail "no-match message"
expect_rc 0 ctl list --target api
grep -q "10.0.0.1:6060" "$T/out" && grep -q "^ *2  2026-11-21T03:13:00.250Z  api" "$T/out" \
  || fail "list table: $(cat "$T/out")"
pass "filters"

# show: the capture object plus the stored analysis.
ctl show --json "$id_trace" >"$T/show.json" || fail "show --json"
json 'd["id"] == 2 and d["format"] == "go-trace" and isinstance(d["analysis"], dict) and d["analysis"].get("format") == "go-trace"' \
  <"$T/show.json" | grep -q True || fail "show --json: $(cat "$T/show.json")"
expect_rc 0 ctl show "$id_cpu"
grep -q "^sha256: *fd8d2374c1dd72633e04d5c111f43c6681bbe4068a57cfb01aeb7fbcaa97b83b" "$T/out" \
  && grep -q "^labels: *env=prod team=core" "$T/out" && grep -q "^analysis:" "$T/out" \
  || fail "show text: $(cat "$T/out")"
expect_rc 1 ctl show 99
grep -q "no capture with id 99" "$T/err" || fail "show 99 message"
pass "show"

# export: byte-identical to what was imported.
ctl export "$id_cpu" -o "$T/cpu.pprof" && cmp "$T/cpu.pprof" "$DATA/workload-cpu-5s.pprof" \
  || fail "export cpu"
ctl export "$id_trace" -o "$T/trace.out" && cmp "$T/trace.out" "$DATA/workload-trace-2s.trace" \
  || fail "export trace (zstd at rest)"
ctl export "$id_text" >"$T/text.out" && cmp "$T/text.out" "$DATA/workload-goroutine-debug1.txt" \
  || fail "export to stdout"
ctl export "$id_trace" -o - | cmp - "$DATA/workload-trace-2s.trace" || fail "export -o -"
expect_rc 1 ctl export 99 -o "$T/none"
[ ! -e "$T/none" ] || fail "export of a missing capture created a file"
pass "export is byte-identical"

# A failed capture, as the daemon stores it (there is no CLI to make one).
sqlite3 "$DB" "INSERT INTO captures (target, instance, type, url, started_at_ms, status,
  http_status, error, size_bytes, format, labelset_id) SELECT 'web', 'import', 'heap',
  'http://x/debug/pprof/heap', 1795237200000, 'failed', 404, 'HTTP 404: ''404 page not found''',
  19, 'text', labelset_id FROM captures WHERE id = 3" || fail "sqlite3 insert"
expect_rc 1 ctl export 4 -o "$T/failed.out"
grep -q "capture 4 failed (HTTP 404" "$T/err" || fail "export of a failed capture: $(cat "$T/err")"
[ "$(n --status failed)" = 1 ] || fail "--status failed"
pass "failed capture: listed, not exportable"

# targets: the last capture of each type per instance.
ctl targets --json >"$T/targets.json" || fail "targets --json"
python3 - "$T/targets.json" <<'EOF' || fail "targets --json content: $(cat "$T/targets.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [(t["target"], t["instance"]) for t in d] == [("api", "10.0.0.1:6060"), ("web", "import")]
api, web = d
assert sorted(api["types"]) == ["cpu", "trace"] and api["labels"] == {"env": "prod", "team": "core"}
assert api["types"]["trace"]["id"] == 2 and api["types"]["trace"]["status"] == "ok"
assert api["types"]["trace"]["last_ok"] == "2026-11-21T03:13:00.250Z"
h = web["types"]["heap"]
assert h["status"] == "failed" and h["http_status"] == 404 and "404" in h["error"] and h["last_ok"] is None
EOF
expect_rc 0 ctl targets
grep -q "^web  *import  *heap .*failed  *never  *HTTP 404" "$T/out" || fail "targets table: $(cat "$T/out")"
pass "targets"

# stats.
ctl stats --json >"$T/stats.json" || fail "stats --json"
python3 - "$T/stats.json" "$DATA" <<'EOF' || fail "stats --json content: $(cat "$T/stats.json")"
import json, os, sys
d = json.load(open(sys.argv[1]))
sizes = sum(os.path.getsize(sys.argv[2] + "/" + f) for f in
            ("workload-cpu-5s.pprof", "workload-trace-2s.trace", "workload-goroutine-debug1.txt"))
c = d["captures"]
assert (c["total"], c["ok"], c["failed"]) == (4, 3, 1), c
assert c["by_type"]["heap"] == {"total": 1, "ok": 0, "failed": 1, "received_bytes": 19}
assert d["bytes"]["received"] == sizes and d["bytes"]["distinct"] == sizes
assert d["bytes"]["stored"] < sizes * 0.7 and d["bytes"]["compression_saved"] > 0
assert d["blobs"] == {"total": 3, "zstd": 2}, d["blobs"]
assert d["database"]["used_bytes"] > 0 and d["database"]["path"].endswith("pprofd.db")
assert d["oldest"] == "2026-11-21T03:12:00Z" and d["newest"] == "2026-11-21T05:00:00Z", d
EOF
expect_rc 0 ctl stats
grep -q "^captures: *4 (3 ok, 1 failed)" "$T/out" || fail "stats text: $(cat "$T/out")"
pass "stats"

# Deduplication: the same body imported again shares the blob.
ctl import "$DATA/workload-trace-2s.trace" --target api --type trace --time 2026-11-20T00:00:00Z \
  >/dev/null || fail "second import"
[ "$(ctl stats --json | json 'd["blobs"]["total"]')" = 3 ] || fail "dedup"
pass "identical bodies are stored once"

# prune: dry run changes nothing; then captures before the cutoff go.
# --older-than is relative to now: the age of 2026-11-20T12:00Z, in minutes.
age="$(python3 -c 'import time; print(int((time.time() - 1795176000) // 60))')m"
before=$(n)
ctl prune --older-than "$age" --dry-run >"$T/out" || fail "prune --dry-run"
grep -q "^would delete 1 captures and 0 blobs" "$T/out" || fail "prune --dry-run output: $(cat "$T/out")"
[ "$(n)" = "$before" ] || fail "dry run deleted"
ctl prune --json --older-than "$age" >"$T/prune.json" || fail "prune"
json 'd["captures_deleted"] == 1 and d["blobs_deleted"] == 0 and not d["dry_run"]' <"$T/prune.json" \
  | grep -q True || fail "prune --json: $(cat "$T/prune.json")"
[ "$(n)" = $((before - 1)) ] || fail "prune deleted $((before - $(n))) captures"
ctl export 2 -o - | cmp - "$DATA/workload-trace-2s.trace" || fail "shared blob lost by prune"
ctl prune --max-size 1 >"$T/out" || fail "prune --max-size"
expect_rc 1 ctl list
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM blobs')" = 0 ] || fail "blobs left after pruning all"
pass "prune by age (dry run first) and by size"

# Usage errors exit 2, missing things 1, help 0.
expect_rc 2 ctl list --bogus
grep -q "unknown option '--bogus'" "$T/err" || fail "unknown option message"
expect_rc 2 ctl list --since yesterday
grep -q "invalid time 'yesterday'" "$T/err" || fail "bad time message"
expect_rc 2 ctl list --status maybe
expect_rc 2 ctl list -l novalue
expect_rc 2 ctl show
expect_rc 2 ctl show abc
expect_rc 2 ctl frobnicate
expect_rc 2 "$PPROFCTL"
expect_rc 2 ctl import "$DATA/workload-cpu-5s.pprof" --type cpu
grep -q -- "--target NAME is required" "$T/err" || fail "import without --target"
expect_rc 2 ctl import "$DATA/workload-cpu-5s.pprof" --target a --type cpu -l target=b
expect_rc 1 ctl import "$T/does-not-exist" --target a --type cpu
expect_rc 2 ctl prune
expect_rc 1 "$PPROFCTL" -d "$T/missing.db" list
grep -q "missing.db does not exist" "$T/err" || fail "missing database message"
[ ! -e "$T/missing.db" ] || fail "a reading command created the database"
expect_rc 0 "$PPROFCTL" help
grep -q "^  export " "$T/out" || fail "help lists commands"
expect_rc 0 "$PPROFCTL" help list
expect_rc 0 ctl list --help
grep -q "^usage: pprofctl .*list \[--target NAME\]" "$T/out" || fail "list --help"
expect_rc 0 "$PPROFCTL" --version
expect_rc 2 "$PPROFCTL" help nope
pass "exit codes"

# A configuration file: the database path and the retention defaults of
# prune come from it (secrets are not read: the token file does not exist).
mkdir -p "$T/cfg"
cat >"$T/cfg/pprofd.yaml" <<EOF
storage:
  path: $T/cfg/db/pprofd.db
  retention: 1d
http:
  token_file: $T/cfg/no-such-token
targets:
  - name: api
    url: http://127.0.0.1:1
EOF
cctl() { "$PPROFCTL" -c "$T/cfg/pprofd.yaml" "$@"; }
cctl import "$DATA/workload-heap.pprof" --target api --type heap --time 3d >/dev/null \
  || fail "import with -c"
cctl import "$DATA/workload-cpu-5s.pprof" --target api --type cpu >/dev/null || fail "import with -c"
[ -f "$T/cfg/db/pprofd.db" ] || fail "-c: storage.path not used"
[ "$(cctl list --json | json 'len(d)')" = 2 ] || fail "-c list"
cctl prune --dry-run >"$T/out" || fail "prune with the configured retention"
grep -q "^would delete 1 captures and 1 blobs (older than 1d)" "$T/out" || fail "prune defaults: $(cat "$T/out")"
echo "storage: {path: [" >"$T/cfg/bad.yaml"
expect_rc 1 "$PPROFCTL" -c "$T/cfg/bad.yaml" list
grep -q "bad.yaml:[0-9]*:[0-9]*: YAML" "$T/err" || fail "config error not reported with its position: $(cat "$T/err")"
pass "configuration file (-c)"
