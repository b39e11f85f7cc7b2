#!/bin/sh
# Old-format trace analysis speed against `go tool trace -pprof=sched`
# (Go 1.19), on the given traces (default: the Go 1.19 traces of the
# shared corpus). Run from a build directory after `make check`:
#   sh bench/gotrace-v1-bench.sh [TRACE...]
# Prints per trace: size, best CPU time of 3 runs for both, MB/s, speedup.
set -eu
dump=${GOTRACE_DUMP:-./tests/gotrace_dump}
go=${GO:-/usr/lib/go-1.19/bin/go}
corpus=${CORPUS:-/work/shared/corpus}
[ $# -gt 0 ] || set -- "$corpus"/workload/trace-5s.trace "$corpus"/prometheus/trace-5s.trace \
  "$corpus"/prometheus/errors/trace-concurrent-first-3s.trace

best() { # best CPU seconds (user+sys) of 3 runs of "$@"
  b=999999
  tf=$(mktemp)
  for _ in 1 2 3; do
    /usr/bin/time -o "$tf" -f "%U %S" "$@" >/dev/null 2>&1 || true
    t=$(awk '{print $1 + $2}' "$tf")
    b=$(echo "$t $b" | awk '{print ($1 < $2) ? $1 : $2}')
  done
  rm -f "$tf"
  echo "$b"
}

printf '%-50s %10s %9s %9s %9s %8s\n' trace bytes ours_s go_s ours_MB/s speedup
for f in "$@"; do
  size=$(stat -c %s "$f")
  ours=$(best "$dump" "$f")
  theirs=$(best "$go" tool trace -pprof=sched "$f")
  printf '%-50s %10d %9.3f %9.3f %9.1f %7.1fx\n' "$(basename "$(dirname "$f")")/$(basename "$f")" \
    "$size" "$ours" "$theirs" "$(echo "$size $ours" | awk '{print ($2 > 0) ? $1 / 1e6 / $2 : 0}')" \
    "$(echo "$theirs $ours" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
done
