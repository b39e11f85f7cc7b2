#!/bin/sh
# Replays the fuzzing seeds and every input that once crashed a harness
# (fuzz/seeds/<harness>/, fuzz/regressions/<harness>/) through the harness
# built as a normal program (fuzz/replay_<harness>). In the sanitizer build
# of scripts/test this catches a regression as an ASan/UBSan report.
. "$top_srcdir/tests/lib.sh"

for h in cfg format pprof trace_v1 trace_v2; do
  prog="$top_builddir/fuzz/replay_$h"
  seeds="$top_srcdir/fuzz/seeds/$h"
  [ -x "$prog" ] || fail "$prog not built"
  [ -d "$seeds" ] || fail "no seeds for $h"
  nseeds=$(find "$seeds" -maxdepth 1 -type f | wc -l)
  [ "$nseeds" -gt 0 ] || fail "empty seed directory $seeds"
  set -- "$seeds"
  [ -d "$top_srcdir/fuzz/regressions/$h" ] && set -- "$@" "$top_srcdir/fuzz/regressions/$h"
  "$prog" "$@" >"$T/$h.out" 2>"$T/$h.err" || {
    cat "$T/$h.err" >&2
    fail "$h: an input crashed the harness"
  }
  n=$(sed -n 's/^\([0-9]*\) inputs ran$/\1/p' "$T/$h.out")
  [ "${n:-0}" -ge "$nseeds" ] || fail "$h: ran ${n:-0} inputs, expected at least $nseeds"
  pass "$h: $n inputs"
done

# The replay program itself reports what it cannot read.
if "$top_builddir/fuzz/replay_format" "$T/does-not-exist" 2>"$T/missing.err"; then
  fail "a missing input file was accepted"
fi
grep -q "does-not-exist" "$T/missing.err" || fail "no error naming the missing file"
pass "missing input reported"
