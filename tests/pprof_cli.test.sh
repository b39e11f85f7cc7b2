#!/bin/sh
# End-to-end checks of the pprof side of pprofctl against Go 1.19's own
# tools, on every pprof file of the corpus (tests/data/pprof):
#   - `pprofctl top ID` prints exactly what `go tool pprof -top` printed
#     (the stored references X.pprof.top{,cum}.siN-TYPE.txt beside each
#     profile, for every sample type, flat and -cum order);
#   - `pprofctl top ID --json` has the same totals and the same flat/cum per
#     function as `go tool pprof -top -unit=UNIT` run live (exact integers);
#   - `pprofctl merge` writes a profile go tool pprof opens, whose totals
#     are the sums of the inputs; `pprofctl diff --pprof` one whose total is
#     the base's (go tool pprof -diff_base semantics);
#   - `pprofctl flamegraph` writes an SVG; bad input gives clear errors.
# Go is found as $GO, `go` in PATH, or /usr/lib/go-1.19/bin/go.
set -eu

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
PPROFCTL="$top_builddir/src/pprofctl"
TOPCMP="$top_builddir/tests/pprof_topcmp"
DATA="$top_srcdir/tests/data/pprof"

GO=${GO:-}
if [ -z "$GO" ]; then
	if command -v go >/dev/null 2>&1; then GO=go; else GO=/usr/lib/go-1.19/bin/go; fi
fi
"$GO" version >/dev/null || { echo "Go is required (set GO=/path/to/go)" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pprof-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
HOME=$TMP GOCACHE=$TMP/gocache GOFLAGS= GOPROXY=off TZ=UTC
export HOME GOCACHE GOFLAGS GOPROXY TZ
DB="$TMP/pprofd.db"
ctl() { "$PPROFCTL" -d "$DB" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Import every corpus profile; remember id <-> file.
n=0
for f in $(cd "$DATA" && find . -name '*.pprof' | sed 's|^\./||' | sort); do
	n=$((n + 1))
	target=$(dirname "$f" | cut -d/ -f1)
	type=$(basename "$f" .pprof | sed 's/-.*//')
	case "$f" in */delta/*) type="delta_$type" ;; esac
	id=$(ctl import "$DATA/$f" --target "$target" --type "$type" \
		--time "2026-11-21T00:00:00Z" | tail -n 1)
	[ "$id" = "$n" ] || fail "import of $f returned '$id', expected $n"
	echo "$id $f" >>"$TMP/ids"
done
[ "$n" -ge 30 ] || fail "only $n corpus profiles"
echo "imported $n profiles"

texts=0
lives=0
while read -r id f; do
	# Every sample type: text against the stored references.
	for ref in "$DATA/$f".top.si*-*.txt "$DATA/$f".topcum.si*-*.txt; do
		[ -e "$ref" ] || continue
		si=$(echo "$ref" | sed 's/.*\.si\([0-9]*\)-.*/\1/')
		cum=
		case "$ref" in *.topcum.*) cum=--cum ;; esac
		ctl top "$id" -n 30 --sample-index "$si" $cum >"$TMP/got.txt" ||
			fail "pprofctl top $id ($f) failed"
		if ! cmp -s "$TMP/got.txt" "$ref"; then
			diff -u "$ref" "$TMP/got.txt" >&2 || true
			fail "pprofctl top $id --sample-index $si $cum differs from $ref"
		fi
		texts=$((texts + 1))
	done
	# Every sample type: JSON values against go tool pprof run live.
	si=0
	for ref in "$DATA/$f".top.si*-*.txt; do
		unit=$(awk -F'\t' -v si="$si" '$1 == si { print $3 }' "$DATA/$f.totals.tsv")
		[ -n "$unit" ] || fail "no unit for $f sample index $si"
		"$GO" tool pprof -symbolize=none -top -nodecount=30 -sample_index="$si" \
			-unit="$unit" "$DATA/$f" >"$TMP/go.txt" 2>"$TMP/go.err" ||
			{ cat "$TMP/go.err" >&2; fail "go tool pprof failed on $f"; }
		ctl top "$id" -n 30 --sample-index "$si" --json >"$TMP/got.json"
		"$TOPCMP" "$TMP/go.txt" "$TMP/got.json" ||
			fail "pprofctl top $id --json --sample-index $si disagrees with go tool pprof on $f"
		lives=$((lives + 1))
		si=$((si + 1))
	done
done <"$TMP/ids"
echo "compared $texts text reports with the references and $lives JSON reports with go tool pprof"
[ "$texts" -ge 150 ] || fail "only $texts text reports compared"
[ "$lives" -ge 75 ] || fail "only $lives live comparisons"

# Merge: a profile Go opens, totals are the sums of the inputs.
total_of() { # FILE UNIT SI -> total as go tool pprof computes it
	"$GO" tool pprof -symbolize=none -top -nodecount=1 -sample_index="$3" -unit="$2" "$1" \
		2>/dev/null | sed -n 's/^Showing nodes accounting for .* of \(-\{0,1\}[0-9]*\).* total$/\1/p'
}
sum=0
for f in work/cpu-5s.pprof work/errors/cpu-concurrent-first-3s.pprof; do
	t=$(total_of "$DATA/$f" nanoseconds 1)
	sum=$((sum + t))
done
ctl merge --type cpu --target work -o "$TMP/merged.pb.gz" 2>"$TMP/merge.err"
grep -q "merged 2 captures" "$TMP/merge.err" || fail "merge: $(cat "$TMP/merge.err")"
got=$(total_of "$TMP/merged.pb.gz" nanoseconds 1)
[ "$got" = "$sum" ] || fail "merged cpu total $got, expected $sum"
for si in 0 1 2 3; do
	want=0
	for f in work/heap.pprof work/text/heap-gc1.pprof; do
		t=$(total_of "$DATA/$f" "$(awk -F'\t' -v si=$si '$1 == si { print $3 }' \
			"$DATA/$f.totals.tsv")" $si)
		want=$((want + t))
	done
	ctl merge --type heap --target work -o "$TMP/heap.pb.gz" 2>/dev/null
	unit=$(awk -F'\t' -v si=$si '$1 == si { print $3 }' "$DATA/work/heap.pprof.totals.tsv")
	got=$(total_of "$TMP/heap.pb.gz" "$unit" $si)
	[ "$got" = "$want" ] || fail "merged heap sample $si total $got, expected $want"
done
# pprofctl reads its own output the way Go does.
ctl import "$TMP/merged.pb.gz" --target merged --type cpu >/dev/null
mid=$((n + 1))
ctl top "$mid" -n 10 >"$TMP/ours.txt"
"$GO" tool pprof -symbolize=none -top -nodecount=10 "$TMP/merged.pb.gz" >"$TMP/theirs.txt" 2>/dev/null
cmp -s "$TMP/ours.txt" "$TMP/theirs.txt" || {
	diff -u "$TMP/theirs.txt" "$TMP/ours.txt" >&2 || true
	fail "top of the merged profile differs from go tool pprof's"
}

# Diff: pprof's total of the diff profile is the base's; the change of
# main.spin is new - base.
a=$(grep ' work/cpu-5s.pprof$' "$TMP/ids" | cut -d' ' -f1)
b=$(grep ' work/errors/cpu-concurrent-first-3s.pprof$' "$TMP/ids" | cut -d' ' -f1)
ctl diff "$a" "$b" --pprof -o "$TMP/diff.pb.gz" >"$TMP/diff.txt" 2>/dev/null
got=$(total_of "$TMP/diff.pb.gz" nanoseconds 1)
want=$(total_of "$DATA/work/cpu-5s.pprof" nanoseconds 1)
[ "$got" = "$want" ] || fail "diff profile total $got, expected the base's $want"
"$GO" tool pprof -symbolize=none -top -unit=nanoseconds -diff_base="$DATA/work/cpu-5s.pprof" \
	"$DATA/work/errors/cpu-concurrent-first-3s.pprof" 2>/dev/null | grep ' main\.spin$' >"$TMP/want.spin"
"$GO" tool pprof -symbolize=none -top -unit=nanoseconds "$TMP/diff.pb.gz" 2>/dev/null |
	grep ' main\.spin$' >"$TMP/got.spin"
cmp -s "$TMP/want.spin" "$TMP/got.spin" || fail "main.spin in the diff profile: $(cat "$TMP/got.spin")"
grep -q 'main.spin' "$TMP/diff.txt" || fail "diff table lacks main.spin"
ctl --json diff "$a" "$b" >"$TMP/diff.json"
grep -q '"flat_diff": -2450000000' "$TMP/diff.json" || fail "diff JSON: main.spin flat change"

# Flame graph and top --type over the imported captures.
ctl flamegraph --type cpu --target work -o "$TMP/fg.svg"
head -c 200 "$TMP/fg.svg" | grep -q '<svg' || fail "flamegraph did not write an SVG"
grep -q 'main.spin' "$TMP/fg.svg" || fail "flame graph lacks main.spin"
ctl top --type cpu --target work --json >"$TMP/agg.json"
grep -q '"captures": 2' "$TMP/agg.json" || fail "top --type: $(cat "$TMP/agg.json")"

# Errors: clear messages and the documented exit codes.
set +e
ctl top 99999 >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q '99999' "$TMP/err" || fail "top of a missing capture: $(cat "$TMP/err")"
ctl top >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "top without arguments should be a usage error"
ctl top 1 --sample-index nosuch >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "no sample type 'nosuch'" "$TMP/err" || fail "bad sample type: $(cat "$TMP/err")"
ctl merge --type cpu >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "merge without -o should be a usage error"
ctl diff 1 >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] || fail "diff with one selection should be a usage error"
printf 'not a profile at all\0\1\2' >"$TMP/junk.pprof"
head -c 300 "$DATA/work/heap.pprof" >"$TMP/trunc.pprof"
tid=$(ctl import "$TMP/trunc.pprof" --target broken --type heap | tail -n 1)
ctl show "$tid" >"$TMP/show.txt" 2>&1
grep -q 'truncated' "$TMP/show.txt" || fail "a truncated profile should show its analysis error"
ctl top "$tid" >/dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q 'truncated' "$TMP/err" || fail "top of a truncated profile: $(cat "$TMP/err")"
ctl export "$tid" -o "$TMP/back.pprof" || fail "export of a malformed capture"
cmp -s "$TMP/trunc.pprof" "$TMP/back.pprof" || fail "the malformed capture was not kept byte-exact"
set -e
echo "ok"
