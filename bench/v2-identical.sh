#!/bin/sh
# Dumps everything the Go 1.22+ trace parser computes for a set of traces
# (analysis JSON, per-goroutine JSON with the parser's counters, and the
# hash of the utilization samples), so that two builds can be compared
# byte for byte after an optimisation:
#
#   v2-identical.sh BUILDDIR OUTDIR TRACE...
#   diff -r OUTDIR.before OUTDIR.after
#
# peak_gen_bytes (the working set of one generation) is left out: it is a
# memory figure, not a result.
set -eu
build=$1 out=$2
shift 2
mkdir -p "$out"
for f in "$@"; do
  n=$(basename "$f")
  case $f in
  *.gz) t=$(mktemp) ; gzip -dc "$f" >"$t" ;;
  *) t=$f ;;
  esac
  "$build/bench/analyze_file" trace "$t" >"$out/$n.analysis.json" 2>&1 || echo "exit $?" >>"$out/$n.analysis.json"
  "$build/bench/gotrace2_dump" -j "$t" 2>&1 | sed 's/"peak_gen_bytes": *[0-9]*//' >"$out/$n.dump.json" || true
  "$build/bench/gotrace2_dump" -u "$t" 2>&1 | md5sum >"$out/$n.util.md5" || true
  [ "$t" = "$f" ] || rm -f "$t"
done
