#!/usr/bin/env python3
"""Compare pprofd's Go 1.22+ trace parser with tracecheck.py.

    compare-tracecheck.py [--tracecheck PATH] [--dump PATH] [--expect OUT] TRACE...

For each trace, runs tracecheck.py's decoder and analyzer (an independent
implementation of doc sections 3 and 5) with pprofd's documented deviations
applied (see "Patched" below), runs bench/gotrace2_dump -j on the same file,
and compares per goroutine, per group, the blocking-profile totals, GC/STW
counts, heap and MMU. Exits 1 on any difference. With --expect, writes the
reference figures as a TSV that tests/check_gotrace2.c asserts against.

pprofd's deviations from upstream `go tool trace` (also in gotrace_v2_an.c):
  * a goroutine first seen via a status is in that state since the Sync
    point (upstream: since the status event);
  * a syscall still blocked at trace end is split into syscall + blocked
    syscall (upstream adds the blocked part to both syscall and sched wait);
  * MMU: a GC worker occupies its P only while it runs (upstream never
    forgets a worker and drifts), an assist active at trace start counts
    only when it runs, credits are released on the P they were given to,
    and the function covers the trace up to its last event.
"""

import json
import os
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))


def load_tracecheck(path):
    sys.path.insert(0, os.path.dirname(path))
    import tracecheck  # noqa: E402
    return tracecheck


def make_patched(tc):
    GS_UNDET, GS_NOTEXIST, GS_RUNNABLE, GS_RUNNING, GS_WAITING, GS_SYSCALL = range(6)

    class Patched(tc.V2Analyzer):
        def __init__(self):
            super().__init__()
            self.mmu_p = {}      # g -> credited P
            self.bg = set()      # GC workers currently running as such
            self.sweep_p = set()
            self.stw_g = set()
            self.retired = {}

        def credit(self, p, d):
            if 0 <= p < len(self.mps):
                self.mps[p] = max(0, self.mps[p] + d)

        def g_credit(self, g, p):
            if g in self.mmu_p or not (0 <= p < len(self.mps)) or p == tc.NO_PROC:
                return
            self.mmu_p[g] = p
            self.credit(p, 1)

        def g_release(self, g):
            p = self.mmu_p.pop(g, None)
            if p is not None:
                self.credit(p, -1)

        def gtrans(self, ev, gid, old, new, reason, tstack):
            sid = tc.stack_of(ev)
            self.prof(gid, new, reason, ev, sid, self.track, self.tot, False)
            was, now = tc.executing(old), tc.executing(new)
            if gid in self.in_gc and not was and now:
                self.g_credit(gid, ev.p)
            elif was and not now:
                self.g_release(gid)
                self.bg.discard(gid)
            self.mstates[gid] = new
            if old == new:
                return
            prev = self.gstate.pop(gid, None)
            if prev is not None:
                self.ncount[prev] -= 1
            if new != GS_NOTEXIST:
                self.gstate[gid] = new
                self.ncount[new] += 1
                self.nmax["all"] = max(self.nmax["all"], len(self.gstate))
            g = self.G.get(gid)
            if old in (GS_UNDET, GS_NOTEXIST):
                g = self.newg(gid, self.sync_ts if old == GS_UNDET else ev.time)
                self.G[gid] = g
            elif old == GS_RUNNING:
                g["exec"] += ev.time - g["ls"]
                g["ls"] = 0
            elif old == GS_WAITING:
                if g["lb"]:
                    g["block"][g["lbr"]] += ev.time - g["lb"]
                    g["lb"] = 0
            elif old == GS_RUNNABLE:
                if g["lr"]:
                    g["sched"] += ev.time - g["lr"]
                    g["lr"] = 0
            elif old == GS_SYSCALL:
                if g["lsc"]:
                    if g["lscb"]:
                        g["sysblock"] += ev.time - g["lscb"]
                        g["syscall"] += g["lscb"] - g["lsc"]
                    else:
                        g["syscall"] += ev.time - g["lsc"]
                    g["lsc"] = g["lscb"] = 0
                    self.sys_p.pop(self.sys_g.get(gid), None)
                    self.sys_g.pop(gid, None)
            if g["name"] == "" and tstack:
                pcs = ev.gen.stacks.get(tstack)
                if pcs:
                    fr = ev.gen.frames.get(pcs[-1])
                    g["name"] = ev.gen.strings.get(fr[0], "") if fr else ""
            frm = g["create"] if old == GS_UNDET else ev.time
            if new == GS_RUNNING:
                g["ls"] = frm
                if g["start"] == 0:
                    g["start"] = frm
            elif new == GS_RUNNABLE:
                g["lr"] = frm
            elif new == GS_WAITING and reason != "forever":
                g["lb"] = frm
                g["lbr"] = reason
            elif new in (GS_WAITING, GS_NOTEXIST):
                self.finalize(g, ev.time, True)
            elif new == GS_SYSCALL:
                self.sys_p[ev.p] = gid
                self.sys_g[gid] = ev.p
                g["lsc"] = frm

        def finalize(self, g, ts, trig):
            if g["lsc"] and g["lscb"]:
                g["syscall"] += g["lscb"] - g["lsc"]
                g["sysblock"] += ts - g["lscb"]
                g["lsc"] = g["lscb"] = 0
            super().finalize(g, ts, trig)

        def mmu_range(self, ev, name, phase, scope_g):
            is_stw = name.startswith("stop-the-world") and "GC" in name
            is_sweep = name == "GC incremental sweep"
            is_assist = name == "GC mark assist"
            if is_stw:
                if phase == "begin" and self.mps:
                    self.mstw += 1
                    self.stw_g.add(ev.g)
                elif phase == "end" and ev.g in self.stw_g:
                    self.stw_g.discard(ev.g)
                    self.mstw -= 1
                return
            if phase == "active" and self.nsync > 1:
                return
            if is_sweep:
                p = ev.args[0] if ev.typ == 31 else ev.p
                if phase == "end":
                    if p in self.sweep_p:
                        self.sweep_p.discard(p)
                        self.credit(p, -1)
                    return
                if phase == "active" and self.mps:
                    self.retro_subtract()
                if p not in self.sweep_p and 0 <= p < len(self.mps):
                    self.sweep_p.add(p)
                    self.credit(p, 1)
            elif is_assist:
                if phase == "end":
                    self.in_gc.discard(scope_g)
                    if scope_g not in self.bg:
                        self.g_release(scope_g)
                    return
                if tc.executing(self.mstates.get(scope_g, GS_UNDET)):
                    if phase == "active" and self.mps:
                        self.retro_subtract()
                    self.g_credit(scope_g, ev.p)
                self.in_gc.add(scope_g)

        def event(self, ev):
            if ev.typ == 39:
                self.last_ts = ev.time
                self.tc[39] += 1
                lab = ev.gen.strings.get(ev.args[0], "")
                if lab.startswith("GC ") and lab != "GC (idle)" and ev.g not in self.bg \
                        and ev.g in self.G:
                    self.bg.add(ev.g)
                    self.g_credit(ev.g, ev.p)
                if self.mps:
                    gcps = len(self.mps) if self.mstw > 0 else sum(1 for x in self.mps if x > 0)
                    self.add_util(ev.time, 1.0 - gcps / len(self.mps))
                return
            super().event(ev)

        def finish(self):
            for g in self.G.values():
                self.finalize(g, self.last_ts, False)
            if self.mps:
                self.add_util(self.last_ts, 0.0)
            if self.mout and self.mout[-1][0] < self.last_ts:
                self.mout.append((self.last_ts, 0.0))

    return Patched


def analyze(tc, Patched, path):
    data = open(path, "rb").read()
    ver = tc.read_header(data)
    gens = tc.read_v2_batches(data, ver)
    counts, stats = Counter(), Counter()
    an = Patched()
    for ev in tc.ordered_v2_events(gens, ver, counts, stats):
        an.event(ev)
    an.finish()
    return gens, counts, stats, an


def block_cls(reason):
    if reason == "network":
        return "net"
    if reason in ("sync", "sync.(*Cond).Wait", "chan send", "chan receive", "select"):
        return "sync"
    return "other"


def mmu_exact(util, w):
    """Same as trace_mmu_compute(): windows over [first point, last point]."""
    import bisect
    if not util:
        return -1
    t0, tend = util[0][0], util[-1][0]
    if tend <= t0:
        return -1
    times = [u[0] for u in util]
    vals = [u[1] for u in util]
    cum = [0.0]
    for i in range(1, len(util)):
        cum.append(cum[-1] + vals[i - 1] * (times[i] - times[i - 1]))

    def integ(t):
        i = bisect.bisect_right(times, t) - 1
        return cum[i] + vals[i] * (t - times[i])
    if w >= tend - t0:
        return cum[-1] / (tend - t0)
    best = 2.0
    for t in times:
        for s in (t, t - w):
            if t0 <= s <= tend - w:
                best = min(best, (integ(s + w) - integ(s)) / w)
    return max(0.0, min(1.0, best))


def reference(tc, Patched, path):
    gens, counts, stats, an = analyze(tc, Patched, path)
    first = an.first_ts
    ref = {"goroutines": {}, "groups": {}}
    for gid, g in an.G.items():
        b = Counter()
        for r, v in g["block"].items():
            b[block_cls(r)] += v
        ref["goroutines"][gid] = {
            "name": g["name"], "create": g["create"] - first,
            "end": g["end"] - first if g["end"] else -1,
            "total": g["total"], "exec": g["exec"], "sched": g["sched"],
            "syscall": g["syscall"], "sysblock": g["sysblock"], "block_net": b["net"],
            "block_sync": b["sync"], "block_other": b["other"],
            "sweep": g["ranges"].get("GC incremental sweep", 0),
            "assist": g["ranges"].get("GC mark assist", 0)}
    for g in ref["goroutines"].values():
        gr = ref["groups"].setdefault(g["name"], Counter())
        gr["count"] += 1
        for k in ("total", "exec", "sched", "sysblock", "block_net", "block_sync", "sweep"):
            gr[k] += g[k]
    gc_stw = [d for k, d in an.stws if "GC" in k]
    ref["summary"] = {
        "generations": len(gens), "batches": sum(g.nbatches for g in gens),
        "wire_events": sum(counts.values()), "events": sum(an.tc.values()),
        "duration_ns": an.last_ts - first, "goroutines": len(an.G),
        "gc_cycles": an.gc_count, "stw_count": len(gc_stw), "stw_total_ns": sum(gc_stw),
        "stw_max_ns": max(gc_stw) if gc_stw else 0, "stw_all": len(an.stws),
        "heap_max": max(v for _, v in an.heap_alloc) if an.heap_alloc else -1,
        "procs": max(n for _, n in an.procs) if an.procs else 0,
        "max_alive": an.nmax["all"],
    }
    for k, (c, ns) in an.tot.items():
        ref["summary"]["prof_%s_count" % k] = c
        ref["summary"]["prof_%s_ns" % k] = ns
    for name, w in (("1ms", 1_000_000), ("10ms", 10_000_000), ("100ms", 100_000_000),
                    ("1s", 1_000_000_000)):
        ref["summary"]["mmu_" + name] = mmu_exact(an.mout, w)
    return ref


def ours(dump, path):
    out = subprocess.run([dump, "-j", path], check=True, capture_output=True).stdout
    return json.loads(out)


def compare(ref, got, path):
    bad = 0
    gs = {g["id"]: g for g in got["goroutines"]}
    if set(gs) != set(ref["goroutines"]):
        print("%s: goroutine sets differ (%d vs %d)" % (path, len(gs), len(ref["goroutines"])))
        bad += 1
    for gid, r in ref["goroutines"].items():
        g = gs.get(gid)
        if not g:
            continue
        for k, v in r.items():
            if g[k] != v:
                bad += 1
                if bad < 20:
                    print("%s: goroutine %d %s: ours %r, tracecheck %r" % (path, gid, k, g[k], v))
        s = sum(g[k] for k in ("exec", "sched", "syscall", "sysblock", "block_net",
                               "block_sync", "block_other"))
        if s != g["total"]:
            bad += 1
            print("%s: goroutine %d: states add up to %d, total %d" % (path, gid, s, g["total"]))
    sm = got["summary"]
    for k, v in ref["summary"].items():
        o = sm.get(k)
        ok = abs(o - v) < 1e-9 if isinstance(v, float) else o == v
        if not ok:
            bad += 1
            print("%s: %s: ours %r, tracecheck %r" % (path, k, o, v))
    groups = {g["function"]: g for g in sm["groups"]}
    for name, r in ref["groups"].items():
        g = groups.get(name)
        if not g or g["count"] != r["count"] or g["execution_ns"] != r["exec"] or \
                g["scheduler_wait_ns"] != r["sched"] or g["total_ns"] != r["total"] or \
                g["network_wait_ns"] != r["block_net"] or g["sync_block_ns"] != r["block_sync"] or \
                g["syscall_ns"] != r["sysblock"] or g["gc_sweep_ns"] != r["sweep"]:
            bad += 1
            print("%s: group %r differs: ours %r, tracecheck %r" % (path, name, g, dict(r)))
    return bad


def write_expect(ref, out):
    with open(out, "w") as f:
        f.write("# reference figures from tracecheck.py (patched, see bench/compare-tracecheck.py)\n")
        for k, v in sorted(ref["summary"].items()):
            f.write("summary\t%s\t%s\n" % (k, repr(v) if isinstance(v, float) else v))
        for name, r in sorted(ref["groups"].items()):
            f.write("group\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n" % (
                name or "-", r["count"], r["total"], r["exec"], r["block_net"], r["block_sync"],
                r["sysblock"], r["sched"], r["sweep"]))
        for gid, r in sorted(ref["goroutines"].items()):
            f.write("g\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n" % (
                gid, r["total"], r["exec"], r["sched"], r["syscall"], r["sysblock"],
                r["block_net"], r["block_sync"], r["block_other"], r["sweep"], r["assist"],
                r["end"]))


def main(argv):
    tcpath = os.environ.get("TRACECHECK", "/work/shared/tools/tracecheck.py")
    dump = os.path.join(HERE, "gotrace2_dump")
    expect = None
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == "--tracecheck":
            tcpath = argv[i + 1]
            i += 2
        elif argv[i] == "--dump":
            dump = argv[i + 1]
            i += 2
        elif argv[i] == "--expect":
            expect = argv[i + 1]
            i += 2
        else:
            files.append(argv[i])
            i += 1
    tc = load_tracecheck(tcpath)
    Patched = make_patched(tc)
    bad = 0
    for path in files:
        ref = reference(tc, Patched, path)
        got = ours(dump, path)
        n = compare(ref, got, path)
        print("%s: %d goroutines, %d groups: %s" % (path, len(ref["goroutines"]), len(ref["groups"]),
                                                   "identical" if not n else "%d differences" % n))
        bad += n
        if expect:
            write_expect(ref, expect)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
