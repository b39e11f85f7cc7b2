#!/bin/sh
# The man pages render without warnings.
. "$top_srcdir/tests/lib.sh"
for page in pprofd.8 pprofd.yaml.5 pprofctl.1; do
  f="$top_srcdir/man/$page"
  [ -f "$f" ] || fail "missing man page $page"
  out=$(groff -man -ww -z "$f" 2>&1) || fail "groff failed on $page"
  [ -z "$out" ] || fail "groff warnings on $page: $out"
  out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null) || fail "man -l failed on $page"
  [ -z "$out" ] || fail "man -l warnings on $page: $out"
  pass "$page renders cleanly"
done
