#!/usr/bin/env python3
"""Generate a TypeScript project for esbuild to bundle, so that esbuild (a Go
1.26 program) writes a real Go execution trace of any size:

    gen-esbuild-project.py DIR NMODULES [SEED]
    esbuild DIR/src/index.ts --bundle --minify --sourcemap \
        --outfile=DIR/bundle.js --trace=FILE

Each module defines a few classes, interfaces and functions with some string
and numeric content, and imports a handful of earlier modules, so the bundler
has real parsing, linking and code generation work. Deterministic for a seed.
"""

import os
import random
import sys

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
         "xi omicron pi rho sigma tau upsilon phi chi psi omega").split()


def ident(rng, prefix):
    return prefix + "".join(w.capitalize() for w in rng.sample(WORDS, 2))


def module(rng, i, n_imports):
    lines = []
    deps = sorted(rng.sample(range(i), min(i, n_imports))) if i else []
    for d in deps:
        lines.append('import { run%d, Widget%d } from "./m%d";' % (d, d, d))
    lines.append("")
    lines.append("export interface Shape%d {" % i)
    for k in range(rng.randint(3, 8)):
        lines.append("  %s: %s;" % (ident(rng, "f%d" % k), rng.choice(["number", "string", "boolean"])))
    lines.append("}")
    lines.append("")
    lines.append("export class Widget%d {" % i)
    lines.append("  private items: number[] = [];")
    lines.append("  constructor(public name: string, private weight: number) {}")
    for k in range(rng.randint(2, 6)):
        lines.append("  %s(x: number): number {" % ident(rng, "m%d" % k))
        lines.append("    let acc = this.weight * %d;" % rng.randint(1, 99))
        lines.append("    for (let j = 0; j < x; j++) { acc = (acc * 31 + j) %% %d; this.items.push(acc); }" % rng.randint(1000, 99999))
        lines.append('    return acc + this.name.length + "%s".length;' % " ".join(rng.sample(WORDS, 5)))
        lines.append("  }")
    lines.append("}")
    lines.append("")
    lines.append("export function run%d(n: number): number {" % i)
    lines.append('  const w = new Widget%d("w%d", n);' % (i, i))
    lines.append("  let total = w.name.length;")
    for d in deps:
        lines.append("  total += run%d(n - 1) + new Widget%d(\"d%d\", %d).name.length;" % (d, d, d, rng.randint(1, 9)))
    lines.append("  const table: Record<string, number> = {")
    for k in range(rng.randint(4, 12)):
        lines.append('    "%s_%d": %d,' % (rng.choice(WORDS), k, rng.randint(0, 1 << 20)))
    lines.append("  };")
    lines.append("  for (const k of Object.keys(table)) total += table[k] % 7;")
    lines.append("  return total;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: gen-esbuild-project.py DIR NMODULES [SEED]")
    out, n = argv[1], int(argv[2])
    rng = random.Random(int(argv[3]) if len(argv) > 3 else 1)
    src = os.path.join(out, "src")
    os.makedirs(src, exist_ok=True)
    for i in range(n):
        with open(os.path.join(src, "m%d.ts" % i), "w") as f:
            f.write(module(rng, i, rng.randint(1, 4)))
    with open(os.path.join(src, "index.ts"), "w") as f:
        for i in range(n):
            f.write('import { run%d } from "./m%d";\n' % (i, i))
        f.write("let sum = 0;\n")
        for i in range(n):
            f.write("sum += run%d(3);\n" % i)
        f.write("console.log(sum);\n")


if __name__ == "__main__":
    main(sys.argv)
