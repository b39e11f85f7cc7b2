/* gotrace2_dump: parse a Go 1.22+ execution trace with gotrace_v2_parse_ex
 * and print the summary; with -g also one line per goroutine, with -j JSON
 * (summary + goroutines) for comparison with tracecheck.py. Used by the
 * benchmarks and the comparison scripts in bench/. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gotrace_v2.h"

static int read_all(const char *path, uint8_t **ret, size_t *ret_len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, n;
  if (!f)
    return -errno;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 1 << 20;
      buf = realloc(buf, cap);
      if (!buf)
        abort();
    }
    n = fread(buf + len, 1, cap - len, f);
    if (!n)
      break;
    len += n;
  }
  fclose(f);
  *ret = buf;
  *ret_len = len;
  return 0;
}

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(out, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(out, "\\u%04x", *s);
    else
      fputc(*s, out);
  }
  fputc('"', out);
}

static int first_g = 1;

static void on_g(void *ctx, const struct gotrace_v2_goroutine *g) {
  FILE *out = ctx;
  if (!out)
    return;
  fprintf(out, "%s\n  {\"id\": %" PRIu64 ", \"name\": ", first_g ? "" : ",", g->id);
  json_str(out, g->name);
  fprintf(out,
          ", \"create\": %" PRId64 ", \"start\": %" PRId64 ", \"end\": %" PRId64
          ", \"total\": %" PRId64 ", \"exec\": %" PRId64 ", \"sched\": %" PRId64
          ", \"syscall\": %" PRId64 ", \"sysblock\": %" PRId64 ", \"block_net\": %" PRId64
          ", \"block_sync\": %" PRId64 ", \"block_other\": %" PRId64 ", \"sweep\": %" PRId64
          ", \"assist\": %" PRId64 ", \"gc_pause\": %" PRId64 "}",
          g->create_ns, g->start_ns, g->end_ns, g->total_ns, g->exec_ns, g->sched_ns, g->syscall_ns,
          g->syscall_block_ns, g->block_network_ns, g->block_sync_ns, g->block_other_ns,
          g->sweep_ns, g->assist_ns, g->gc_pause_ns);
  first_g = 0;
}

static void print_json_summary(const struct trace_summary *s, const struct gotrace_v2_stats *st) {
  static const char *const prof[] = {"net", "sync", "syscall", "sched"};
  static const char *const mmu[] = {"1ms", "10ms", "100ms", "1s"};
  printf("\"summary\": {\"generations\": %" PRId64 ", \"batches\": %" PRId64
         ", \"wire_events\": %" PRId64 ", \"events\": %" PRId64 ", \"duration_ns\": %" PRId64
         ", \"goroutines\": %" PRId64 ", \"gc_cycles\": %" PRId64 ", \"stw_count\": %" PRId64
         ", \"stw_total_ns\": %" PRId64 ", \"stw_max_ns\": %" PRId64 ", \"stw_all\": %" PRId64
         ", \"heap_max\": %" PRId64 ", \"procs\": %d, \"max_alive\": %" PRId64,
         st->generations, st->batches, st->wire_events, s->events, s->duration_ns,
         s->goroutines_total, s->gc.cycles, s->gc.stw_count, s->gc.stw_total_ns, s->gc.stw_max_ns,
         st->stw_all_count, s->gc.heap_live_max, s->procs, s->goroutines_max_alive);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++)
    printf(", \"prof_%s_count\": %" PRId64 ", \"prof_%s_ns\": %" PRId64, prof[k],
           s->profiles[k].total_count, prof[k], s->profiles[k].total_ns);
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++)
    printf(", \"mmu_%s\": %.17g", mmu[k], s->mmu[k]);
  printf(", \"groups\": [");
  for (size_t i = 0; i < s->n_groups; i++) {
    const struct trace_group *g = &s->groups[i];
    printf("%s{\"function\": ", i ? ", " : "");
    json_str(stdout, g->function);
    printf(", \"count\": %" PRId64 ", \"total_ns\": %" PRId64 ", \"execution_ns\": %" PRId64
           ", \"network_wait_ns\": %" PRId64 ", \"sync_block_ns\": %" PRId64
           ", \"syscall_ns\": %" PRId64 ", \"scheduler_wait_ns\": %" PRId64
           ", \"gc_sweep_ns\": %" PRId64 ", \"gc_pause_ns\": %" PRId64 "}",
           g->count, g->s.total_ns, g->s.execution_ns, g->s.network_wait_ns, g->s.sync_block_ns,
           g->s.syscall_ns, g->s.scheduler_wait_ns, g->s.gc_sweep_ns, g->s.gc_pause_ns);
  }
  printf("]}");
}

static void on_util(void *ctx, int64_t t, double u) {
  fprintf(ctx, "%" PRId64 " %.6f\n", t, u);
}

static void print_text(const struct trace_summary *s, const struct gotrace_v2_stats *st,
                       double secs, size_t len) {
  printf("go %s, %" PRId64 " bytes, %.3f s (%.1f MB/s)\n", s->go_version, s->bytes, secs,
         secs > 0 ? (double)len / 1e6 / secs : 0);
  printf("generations %" PRId64 " (first %" PRId64 "), batches %" PRId64 " (%" PRId64
         " event), strings %" PRId64 ", stacks %" PRId64 ", wire events %" PRId64
         ", cpu samples %" PRId64 ", stalls %" PRId64 ", peak generation tables %zu bytes\n",
         st->generations, st->first_gen, st->batches, st->event_batches, st->strings, st->stacks,
         st->wire_events, st->cpu_samples, st->ordering_stalls, st->peak_gen_bytes);
  printf("duration %" PRId64 " ns, procs %d, threads %" PRId64 ", events %" PRId64 "\n",
         s->duration_ns, s->procs, s->threads, s->events);
  printf("goroutines: seen %" PRId64 ", created %" PRId64 ", ended %" PRId64 ", max alive %" PRId64
         "\n",
         s->goroutines_total, s->goroutines_created, s->goroutines_ended, s->goroutines_max_alive);
  printf("gc: cycles %" PRId64 " (active at start %" PRId64 "), stw %" PRId64 " (all %" PRId64
         ") total %" PRId64 " max %" PRId64 " p99 %" PRId64 ", gc cpu %" PRId64 ", heap %" PRId64
         "..%" PRId64 ", goal max %" PRId64 "\n",
         s->gc.cycles, st->gc_active_at_start, s->gc.stw_count, st->stw_all_count,
         s->gc.stw_total_ns, s->gc.stw_max_ns, s->gc.stw_p99_ns, s->gc.gc_cpu_ns,
         s->gc.heap_live_min, s->gc.heap_live_max, s->gc.heap_goal_max);
  printf("mmu (%" PRId64 " points): 1ms %.6f 10ms %.6f 100ms %.6f 1s %.6f%s%s\n", st->mmu_points,
         s->mmu[0], s->mmu[1], s->mmu[2], s->mmu[3], s->mmu_error ? " -- " : "",
         s->mmu_error ? s->mmu_error : "");
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++)
    printf("profile %s: %" PRId64 " / %" PRId64 " ns, %zu stacks\n",
           (const char *[]){"net", "sync", "syscall", "sched"}[k], s->profiles[k].total_count,
           s->profiles[k].total_ns, s->profiles[k].n_samples);
  printf("events:");
  for (size_t i = 0; i < s->n_event_counts; i++)
    printf(" %s=%" PRId64, s->event_counts[i].name, s->event_counts[i].count);
  printf("\n%-50s %6s %14s %14s %14s %14s %14s %12s %12s %12s\n", "group", "N", "total", "exec",
         "net", "sync", "sched", "sysblock", "sweep", "gcpause");
  for (size_t i = 0; i < s->n_groups; i++) {
    const struct trace_group *g = &s->groups[i];
    size_t n = strlen(g->function);
    printf("%-50s %6" PRId64 " %14" PRId64 " %14" PRId64 " %14" PRId64 " %14" PRId64 " %14" PRId64
           " %12" PRId64 " %12" PRId64 " %12" PRId64 "\n",
           n > 50 ? g->function + n - 50 : g->function, g->count, g->s.total_ns, g->s.execution_ns,
           g->s.network_wait_ns, g->s.sync_block_ns, g->s.scheduler_wait_ns, g->s.syscall_ns,
           g->s.gc_sweep_ns, g->s.gc_pause_ns);
  }
  for (size_t i = 0; i < s->n_annotations; i++)
    printf("annotation %s '%s': %" PRId64 " total %" PRId64 " max %" PRId64 "\n",
           s->annotations[i].kind, s->annotations[i].name, s->annotations[i].count,
           s->annotations[i].total_ns, s->annotations[i].max_ns);
}

int main(int argc, char **argv) {
  struct gotrace_v2_stats st;
  struct gotrace_v2_opts opts = {0};
  struct trace_summary s;
  struct timespec t0, t1;
  uint8_t *data = NULL;
  size_t len = 0;
  char *err = NULL;
  int rc, json = 0, i = 1, repeat = 1;
  double secs;

  while (i < argc && argv[i][0] == '-') {
    if (!strcmp(argv[i], "-j"))
      json = 1;
    else if (!strcmp(argv[i], "-u"))
      json = 2;
    else if (!strcmp(argv[i], "-r") && i + 1 < argc)
      repeat = atoi(argv[++i]);
    else
      break;
    i++;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: gotrace2_dump [-j] [-r N] TRACE\n");
    return 2;
  }
  if (read_all(argv[i], &data, &len) < 0) {
    fprintf(stderr, "%s: cannot read\n", argv[i]);
    return 1;
  }
  opts.stats = &st;
  if (json == 2) {
    opts.on_util = on_util;
    opts.ctx = stdout;
  } else if (json) {
    opts.on_goroutine = on_g;
    opts.ctx = stdout;
    printf("{\"goroutines\": [");
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int r = 0; r < repeat; r++) {
    if (r)
      trace_summary_done(&s);
    rc = gotrace_v2_parse_ex(data, len, &opts, &s, &err);
    if (rc < 0) {
      fprintf(stderr, "%s: %s\n", argv[i], err);
      free(err);
      free(data);
      return 1;
    }
    opts.on_goroutine = NULL;
    opts.on_util = NULL;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  secs = ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9) / repeat;
  if (json == 1) {
    printf("\n], ");
    print_json_summary(&s, &st);
    printf("}\n");
  } else if (!json)
    print_text(&s, &st, secs, len);
  trace_summary_done(&s);
  free(data);
  return 0;
}
