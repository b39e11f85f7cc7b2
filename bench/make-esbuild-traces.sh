#!/bin/sh
# Makes Go 1.26 execution traces with esbuild (npm @esbuild/linux-x64, a Go
# program whose CLI writes a runtime/trace with --trace=FILE), for the
# gotrace_v2 tests and benchmarks:
#
#   make-esbuild-traces.sh OUTDIR [NMODULES]
#
#   OUTDIR/bundle-N.trace   one build of an N-module project (GC off, ~0.1 s)
#   OUTDIR/big.trace        the build repeated for 30 s under --cpuprofile with
#                           GOMEMLIMIT=24MiB: ~20 MB, 31 generations, ~330 GC
#                           cycles and CPU samples (the benchmark input)
#   OUTDIR/watch.trace      --watch with two rebuilds at generation boundaries
#                           and GOMEMLIMIT=14MiB, cut after the last complete
#                           generation (watch mode exits without stopping the
#                           trace): 3 generations, a GC running when the last
#                           one starts. tests/data/gotrace2-watch.trace.gz was
#                           made this way (30 modules, seed 22, first rebuild
#                           after 0.93 s).
#
# Needs node/npm (npm install @esbuild/linux-x64@0.28 in OUTDIR) and python3.
set -eu
out=$1
n=${2:-3000}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cd "$out"
[ -x node_modules/@esbuild/linux-x64/bin/esbuild ] || npm install @esbuild/linux-x64@0.28 >/dev/null
esb=$PWD/node_modules/@esbuild/linux-x64/bin/esbuild

python3 "$here/gen-esbuild-project.py" "proj-$n" "$n" 7
"$esb" "proj-$n/src/index.ts" --bundle --minify --sourcemap --outfile="proj-$n/bundle.js" \
  --trace="bundle-$n.trace" --log-level=warning
GOMEMLIMIT=24MiB "$esb" "proj-$n/src/index.ts" --bundle --minify --sourcemap \
  --outfile="proj-$n/bundle.js" --trace=big.trace --cpuprofile=big.cpuprofile --log-level=warning

python3 "$here/gen-esbuild-project.py" proj-watch 30 22
( sleep 0.93; echo "export const extra1 = 1;" >> proj-watch/src/m5.ts
  sleep 1.0; echo "export const extra2 = 2;" >> proj-watch/src/m7.ts
  sleep 1.2 ) | GOMEMLIMIT=14MiB "$esb" proj-watch/src/index.ts --bundle --minify --sourcemap \
  --outfile=proj-watch/bundle.js --trace=watch.full.trace --watch >/dev/null 2>&1 || true
# Keep the complete generations: everything up to the last end-of-generation
# byte (52) that follows a batch.
python3 - watch.full.trace watch.trace <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
def uvarint(d, p):
    x = s = 0
    while True:
        b = d[p]; p += 1
        x |= (b & 0x7f) << s; s += 7
        if b < 0x80:
            return x, p
pos, last = 16, 16
while pos < len(data):
    if data[pos] == 52:
        pos += 1
        last = pos
        continue
    p = pos + 1
    for _ in range(3):
        _, p = uvarint(data, p)
    size, p = uvarint(data, p)
    if p + size > len(data):
        break
    pos = p + size
open(sys.argv[2], "wb").write(data[:last])
PY
ls -l ./*.trace
