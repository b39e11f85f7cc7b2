/* pprofctl trace: the execution trace analysis of one capture (summary
 * tables or JSON), its blocking profiles as pprof files, and the same
 * figures over time for one target. */
#include "config.h"

#include "ctl.h"
#include "gotrace_analysis.h"
#include "gotrace_store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOP_STACKS 5 /* per profile in the text output */
#define STACK_FRAMES 4

enum { OPT_PPROF = CTL_OPT_FIRST_FREE };

/* "2.018s", "657.1ms", "53.4us", "800ns": like Go's durations, 4 digits. */
static const char *fmt_ns(int64_t ns, char *buf, size_t size) {
  double v = (double)ns;
  if (ns == INT64_MAX)
    snprintf(buf, size, "overflow");
  else if (ns < 1000 && ns > -1000)
    snprintf(buf, size, "%" PRId64 "ns", ns);
  else if (ns < 1000000 && ns > -1000000)
    snprintf(buf, size, "%.4gus", v / 1e3);
  else if (ns < 1000000000 && ns > -1000000000)
    snprintf(buf, size, "%.4gms", v / 1e6);
  else
    snprintf(buf, size, "%.4gs", v / 1e9);
  return buf;
}

static const char *fmt_mmu(double v, char *buf, size_t size) {
  if (v < 0)
    return "-";
  snprintf(buf, size, "%.3f", v);
  return buf;
}

static void print_groups(FILE *out, const struct trace_summary *s) {
  static const char *const headers[] = {"START FUNCTION", "N",        "TOTAL",   "EXECUTION",
                                        "NETWORK",        "SYNC",     "SYSCALL", "SCHED WAIT",
                                        "GC SWEEP",       "GC PAUSE", "UNKNOWN"};
  struct table *t = table_new(ARRAY_SIZE(headers), headers);

  for (size_t c = 1; c < ARRAY_SIZE(headers); c++)
    table_align_right(t, c);
  for (size_t i = 0; i < s->n_groups; i++) {
    const struct trace_group *g = &s->groups[i];
    const struct trace_gstats *x = &g->s;
    char n[24], v[9][24];
    const char *cells[11];
    snprintf(n, sizeof(n), "%" PRId64, g->count);
    cells[0] = g->function[0] ? g->function : "(never started)";
    cells[1] = n;
    cells[2] = fmt_ns(x->total_ns, v[0], sizeof(v[0]));
    cells[3] = fmt_ns(x->execution_ns, v[1], sizeof(v[1]));
    cells[4] = fmt_ns(x->network_wait_ns, v[2], sizeof(v[2]));
    cells[5] = fmt_ns(x->sync_block_ns, v[3], sizeof(v[3]));
    cells[6] = fmt_ns(x->syscall_ns, v[4], sizeof(v[4]));
    cells[7] = fmt_ns(x->scheduler_wait_ns, v[5], sizeof(v[5]));
    cells[8] = fmt_ns(x->gc_sweep_ns, v[6], sizeof(v[6]));
    cells[9] = fmt_ns(x->gc_pause_ns, v[7], sizeof(v[7]));
    cells[10] = fmt_ns(x->unknown_ns, v[8], sizeof(v[8]));
    table_add_row(t, cells);
  }
  fputs("\nGoroutines by start function (as go tool trace's goroutine analysis):\n", out);
  table_print(t, out);
  table_free(t);
}

static void print_profiles(FILE *out, const struct trace_summary *s) {
  static const char *const headers[] = {"PROFILE", "COUNT", "DELAY", "STACK (leaf first)"};
  struct table *t = table_new(ARRAY_SIZE(headers), headers);

  table_align_right(t, 1);
  table_align_right(t, 2);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    const struct trace_profile *p = &s->profiles[k];
    char n[24], d[24];
    const char *cells[4];
    snprintf(n, sizeof(n), "%" PRId64, p->total_count);
    cells[0] = gotrace_profile_name(k);
    cells[1] = n;
    cells[2] = fmt_ns(p->total_ns, d, sizeof(d));
    cells[3] = p->n_samples ? "" : "-";
    table_add_row(t, cells);
    for (size_t i = 0; i < p->n_samples && i < TOP_STACKS; i++) {
      const struct trace_profile_sample *smp = &p->samples[i];
      struct buf st;
      buf_init(&st, 4096);
      for (size_t f = 0; f < smp->stack.n_frames && f < STACK_FRAMES; f++)
        (void)buf_printf(&st, "%s%s", f ? " < " : "", smp->stack.frames[f].function);
      if (smp->stack.n_frames > STACK_FRAMES)
        (void)buf_printf(&st, " < ...");
      (void)buf_terminate(&st);
      snprintf(n, sizeof(n), "%" PRId64, smp->count);
      cells[0] = "";
      cells[2] = fmt_ns(smp->ns, d, sizeof(d));
      cells[3] = st.data ? (const char *)st.data : "";
      table_add_row(t, cells);
      buf_done(&st);
    }
  }
  fputs("\nBlocking profiles (go tool trace -pprof=KIND):\n", out);
  table_print(t, out);
  table_free(t);
}

static void print_annotations(FILE *out, const struct trace_summary *s) {
  static const char *const headers[] = {"KIND", "NAME", "COUNT", "TOTAL", "MAX"};
  struct table *t;

  if (!s->n_annotations)
    return;
  t = table_new(ARRAY_SIZE(headers), headers);
  for (size_t c = 2; c < ARRAY_SIZE(headers); c++)
    table_align_right(t, c);
  for (size_t i = 0; i < s->n_annotations; i++) {
    const struct trace_annotation *a = &s->annotations[i];
    char n[24], tot[24], max[24];
    bool timed = strcmp(a->kind, "log") != 0;
    const char *cells[5] = {a->kind, a->name, n,
                            timed ? fmt_ns(a->total_ns, tot, sizeof(tot)) : "-",
                            timed ? fmt_ns(a->max_ns, max, sizeof(max)) : "-"};
    snprintf(n, sizeof(n), "%" PRId64, a->count);
    table_add_row(t, cells);
  }
  fputs("\nUser annotations (runtime/trace):\n", out);
  table_print(t, out);
  table_free(t);
}

static void print_summary(FILE *out, const struct capture_row *row, const struct trace_summary *s) {
  char when[32], a[24], b[24], c[24], d[24], e[32], f[32];

  fprintf(out, "capture %" PRId64 ": %s %s at %s\n", row->id, row->target, row->instance,
          ctl_time(row->started_at_ms, when, sizeof(when)));
  fprintf(out, "go %s trace: %s, GOMAXPROCS %d, %" PRId64 " threads, %" PRId64 " events\n",
          s->go_version, fmt_ns(s->duration_ns, a, sizeof(a)), s->procs, s->threads, s->events);
  fprintf(out,
          "goroutines: %" PRId64 " seen, %" PRId64 " created, %" PRId64 " ended, %" PRId64
          " alive at most\n",
          s->goroutines_total, s->goroutines_created, s->goroutines_ended, s->goroutines_max_alive);
  fprintf(out,
          "GC: %" PRId64 " cycles, %" PRId64 " stop-the-world pauses (total %s, max %s, p99 %s),"
          " GC CPU %s\n",
          s->gc.cycles, s->gc.stw_count, fmt_ns(s->gc.stw_total_ns, a, sizeof(a)),
          fmt_ns(s->gc.stw_max_ns, b, sizeof(b)), fmt_ns(s->gc.stw_p99_ns, c, sizeof(c)),
          fmt_ns(s->gc.gc_cpu_ns, d, sizeof(d)));
  if (s->gc.heap_live_max >= 0)
    fprintf(out, "heap: live %s to %s, goal up to %s\n",
            format_size((uint64_t)s->gc.heap_live_min, e, sizeof(e)),
            format_size((uint64_t)s->gc.heap_live_max, f, sizeof(f)),
            s->gc.heap_goal_max >= 0
                ? format_size((uint64_t)s->gc.heap_goal_max, when, sizeof(when))
                : "-");
  fprintf(out, "MMU: 1ms %s, 10ms %s, 100ms %s, 1s %s%s%s\n", fmt_mmu(s->mmu[0], a, sizeof(a)),
          fmt_mmu(s->mmu[1], b, sizeof(b)), fmt_mmu(s->mmu[2], c, sizeof(c)),
          fmt_mmu(s->mmu[3], d, sizeof(d)), s->mmu_error ? " - " : "",
          s->mmu_error ? s->mmu_error : "");
  print_groups(out, s);
  print_profiles(out, s);
  print_annotations(out, s);
}

/* Loads the trace summary of a capture, explaining why there is none. */
static int load(struct ctl *ctl, struct store *s, int64_t id, struct capture_row *row,
                struct trace_summary *ret) {
  int r = store_get(s, id, row);

  if (r == -ENOENT)
    return ctl_error("no capture with id %" PRId64, id);
  if (r < 0)
    return ctl_error("%s", store_errmsg(s));
  r = gotrace_store_load(s, id, ret);
  if (r == 0)
    return CTL_EXIT_OK;
  if (r != -ENOENT)
    r = ctl_error("reading the trace analysis of capture %" PRId64 ": %s", id,
                  sqlite3_errmsg(store_db(s)));
  else if (strcmp(row->format, "go-trace") != 0)
    r = ctl_error("capture %" PRId64 " is not an execution trace (format %s)", id, row->format);
  else
    r = ctl_error("capture %" PRId64 " has no trace analysis (%s%s%s)", id, row->analysis_status,
                  row->analysis_error ? ": " : "", row->analysis_error ? row->analysis_error : "");
  capture_row_done(row);
  (void)ctl;
  return r;
}

static int write_output(const char *path, const struct buf *b) {
  int fd = strcmp(path, "-") == 0 ? STDOUT_FILENO
                                  : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t off = 0;

  if (fd < 0)
    return -errno;
  while (off < b->len) {
    ssize_t n = write(fd, b->data + off, b->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int r = -errno;
      if (fd != STDOUT_FILENO)
        close(fd);
      return r;
    }
    off += (size_t)n;
  }
  if (fd != STDOUT_FILENO && close(fd) < 0)
    return -errno;
  return 0;
}

static int one_capture(struct ctl *ctl, int64_t id, int kind, const char *output) {
  struct capture_row row;
  struct trace_summary s;
  struct store *st = ctl_store(ctl);
  int r;

  if (!st)
    return CTL_EXIT_NOTFOUND;
  r = load(ctl, st, id, &row, &s);
  if (r != CTL_EXIT_OK)
    return r;
  if (kind >= 0) {
    struct buf b;
    char *err = NULL;
    buf_init(&b, (size_t)1 << 30);
    r = gotrace_profile_pprof(&s, kind, row.started_at_ms, &b, &err);
    if (r < 0) {
      r = ctl_error("building the %s profile: %s", gotrace_profile_name(kind),
                    err ? err : strerror(-r));
    } else {
      r = write_output(output, &b);
      r = r < 0 ? ctl_error("%s: %s", output, strerror(-r)) : CTL_EXIT_OK;
    }
    free(err);
    buf_done(&b);
  } else if (ctl->json) {
    json_t *doc = gotrace_summary_to_json(&s);
    json_object_set_new(doc, "capture_id", json_integer(id));
    json_object_set_new(doc, "target", ctl_json_string(row.target));
    json_object_set_new(doc, "instance", ctl_json_string(row.instance));
    {
      char when[32];
      json_object_set_new(doc, "started_at",
                          json_string(ctl_time(row.started_at_ms, when, sizeof(when))));
    }
    r = ctl_print_json(ctl, doc);
  } else {
    print_summary(ctl->out, &row, &s);
    r = CTL_EXIT_OK;
  }
  trace_summary_done(&s);
  capture_row_done(&row);
  return r;
}

int ctl_trace_series(struct ctl *ctl, struct ctl_filter *cf);

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option own[] = {
      {"pprof", required_argument, NULL, OPT_PPROF},
      {"output", required_argument, NULL, 'o'},
      {NULL, 0, NULL, 0},
  };
  struct option *opts = ctl_options_merge(ctl_filter_longopts, own);
  struct ctl_filter cf;
  const char *output = NULL;
  int kind = -1, opt, r;
  bool filtered = false;
  int64_t id;

  ctl_filter_init(&cf);
  for (;;) {
    opt = getopt_long(argc, argv, ":l:o:", opts, NULL);
    if (opt == -1)
      break;
    if (opt == OPT_PPROF) {
      kind = gotrace_profile_kind(optarg);
      if (kind < 0) {
        r = ctl_usage_error(ctl->cmd, "--pprof takes net, sync, syscall or sched, not '%s'",
                            optarg);
        goto out;
      }
      continue;
    }
    if (opt == 'o') {
      output = optarg;
      continue;
    }
    r = ctl_filter_option(ctl, &cf, opt, optarg);
    if (r < 0) {
      r = CTL_EXIT_USAGE;
      goto out;
    }
    if (r == 0) {
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
    if (opt != CTL_OPT_JSON)
      filtered = true;
  }
  if (optind == argc) {
    /* No capture: the series of one target. */
    if (kind >= 0 || output) {
      r = ctl_usage_error(ctl->cmd, "--pprof and -o need a capture ID");
      goto out;
    }
    if (!cf.f.target) {
      r = ctl_usage_error(ctl->cmd, "give a capture ID, or --target NAME for the trend");
      goto out;
    }
    r = ctl_trace_series(ctl, &cf);
    goto out;
  }
  if (optind != argc - 1) {
    r = ctl_usage_error(ctl->cmd, "too many arguments");
    goto out;
  }
  if (filtered) {
    r = ctl_usage_error(ctl->cmd, "filter options select captures for the trend; not with an ID");
    goto out;
  }
  if ((kind >= 0) != (output != NULL)) {
    r = ctl_usage_error(ctl->cmd, "--pprof KIND and -o FILE go together");
    goto out;
  }
  if (kind >= 0 && strcmp(output, "-") == 0 && isatty(STDOUT_FILENO)) {
    r = ctl_error("refusing to write a gzip'd profile to a terminal");
    goto out;
  }
  r = ctl_parse_id(ctl, argv[optind], &id);
  if (r == 0)
    r = one_capture(ctl, id, kind, output);
out:
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_trace = {
    .name = "trace",
    .usage = "trace ID [--json] | trace ID --pprof net|sync|syscall|sched -o FILE | "
             "trace --target NAME [--since T] [--until T] [FILTERS] [--json]",
    .summary = "execution trace analysis: goroutines, blocking profiles, GC; trend per target",
    .run = run,
};
