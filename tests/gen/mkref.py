#!/usr/bin/env python3
"""Builds the compact reference files of tests/data/gotrace/*.ref.tsv.

  mkref.py corpus CORPUS_DIR REL_TRACE OUT   from the corpus refs/ of a Go 1.19 trace
  mkref.py go REFTOOL_JSON OUT               from the JSON of a Go 1.19 internal/trace run

Line formats (tab-separated):
  group   pc name n total exec io block syscall sched sweep gc   (goroutine groups, ns)
  order   pc...                                                  (group order of the web page)
  profile kind count ns                                          (go tool trace -pprof totals)
  summary key value                                              (tracestat summary)
  event   name count                                             (ordered event counts)
  annotation kind name count total_ns max_ns
"""
import csv, json, os, sys

def tsv(p):
    with open(p) as f:
        return list(csv.DictReader(f, delimiter='\t'))

def corpus(cdir, rel, out):
    ref = os.path.join(cdir, 'refs', rel)
    lines = ['# Go 1.19.8 reference for corpus %s (from refs/%s.*)' % (rel, rel)]
    for r in tsv(ref + '.tracestat.goroutine_groups.tsv'):
        lines.append('\t'.join(['group', r['pc'], r['name'], r['n'], r['total_ns'], r['exec_ns'],
                                r['io_ns'], r['block_ns'], r['syscall_ns'], r['sched_wait_ns'],
                                r['sweep_ns'], r['gc_ns']]))
    lines.append('\t'.join(['order'] + [r['pc'] for r in tsv(ref + '.web.goroutines.tsv')]))
    for k in ('net', 'sync', 'syscall', 'sched'):
        rows = tsv(ref + '.pprof-%s.totals.tsv' % k)
        lines.append('\t'.join(['profile', k, rows[0]['total'], rows[1]['total']]))
    for r in tsv(ref + '.tracestat.summary.tsv'):
        lines.append('\t'.join(['summary', r['key'], r['value']]))
    ended = sum(1 for r in tsv(ref + '.tracestat.goroutines.tsv') if int(r['end_ts']) > 0)
    lines.append('summary\tgoroutines_ended\t%d' % ended)
    for r in tsv(ref + '.tracestat.events.tsv'):
        lines.append('\t'.join(['event', r['name'], r['count']]))
    open(out, 'w').write('\n'.join(lines) + '\n')

def gojson(src, out):
    j = json.load(open(src))
    lines = ['# Go 1.19.8 internal/trace (GoroutineStats, event links, MutatorUtilization+MMU) on this trace']
    for pc, g in sorted(j['groups'].items(), key=lambda kv: int(kv[0])):
        lines.append('\t'.join(str(x) for x in ['group', pc, g['Name'], g['N'], g['Total'], g['Exec'], g['IO'],
                                                g['Block'], g['Syscall'], g['Sched'], g['Sweep'], g['GC']]))
    for k in ('net', 'sync', 'syscall', 'sched'):
        c, ns = j['profiles'].get(k, [0, 0])
        lines.append('\t'.join(['profile', k, str(c), str(ns)]))
    lines.append('summary\tevents_total\t%d' % j['events'])
    for w, v in sorted(j.get('mmu', {}).items()):
        lines.append('summary\tmmu_%s\t%.9f' % (w, v))
    for name, c in sorted(j['event_counts'].items()):
        lines.append('event\t%s\t%d' % (name, c))
    for key, a in sorted(j['annotations'].items()):
        kind, name = key.split('/', 1)
        lines.append('\t'.join(str(x) for x in ['annotation', kind, name, a['Count'], a['Total'], a['Max']]))
    open(out, 'w').write('\n'.join(lines) + '\n')

if __name__ == '__main__':
    if sys.argv[1] == 'corpus':
        corpus(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        gojson(sys.argv[2], sys.argv[3])
