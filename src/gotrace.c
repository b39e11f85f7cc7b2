/* The Go execution trace analyser: version dispatch, status mapping and
 * the analysis JSON. Rows are written by gotrace_store.c. */
#include "config.h"

#include "gotrace_analysis.h"
#include "format.h"
#include "gotrace_store.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TOP_STACKS 10 /* profile samples kept in the analysis JSON */

static const char *const profile_names[TRACE_PROFILE_COUNT] = {"net", "sync", "syscall", "sched"};

const char *gotrace_profile_name(int kind) {
  if (kind < 0 || kind >= TRACE_PROFILE_COUNT)
    return "unknown";
  return profile_names[kind];
}

int gotrace_profile_kind(const char *name) {
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++)
    if (strcmp(name, profile_names[k]) == 0)
      return k;
  return -1;
}

int gotrace_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err) {
  struct format_info fi;

  format_detect(data, len, &fi);
  if (fi.format != FORMAT_GO_TRACE) {
    free(*ret_err);
    *ret_err = xstrdup("not a Go execution trace");
    return -EPROTO;
  }
  if (fi.trace_minor <= 21)
    return gotrace_v1_parse(data, len, ret, ret_err);
  if (fi.trace_minor <= 26)
    return gotrace_v2_parse(data, len, ret, ret_err);
  free(*ret_err);
  *ret_err = xasprintf("unsupported trace version go 1.%d", fi.trace_minor);
  return -ENOTSUP;
}

static void summary_free(void *detail) {
  struct trace_summary *s = detail;
  if (!s)
    return;
  trace_summary_done(s);
  free(s);
}

void gotrace_analyze(struct analysis *a, const uint8_t *data, size_t len) {
  struct trace_summary *s = xcalloc(1, sizeof(*s));
  char *err = NULL;
  json_t *j;
  int r;

  trace_summary_init(s);
  r = gotrace_parse(data, len, s, &err);
  if (r < 0) {
    /* "unsupported trace version go 1.N" says it all; other messages
     * (offsets, event types) need to say what they are about. */
    if (r == -ENOTSUP)
      analysis_set_error(a, ANALYSIS_UNSUPPORTED, "%s", err ? err : "unsupported trace");
    else
      analysis_set_error(a, ANALYSIS_ERROR, "%s go 1.%d trace: %s",
                         r == -ENOMEM ? "cannot analyse" : "corrupt", a->format.trace_minor,
                         err ? err : "parse error");
    free(err);
    free(s);
    return;
  }
  j = gotrace_summary_to_json(s);
  json_object_update(a->json, j);
  json_decref(j);
  a->status = ANALYSIS_OK;
  a->ops = &gotrace_analysis_ops;
  a->detail = s;
}

/* A JSON string that never fails: names come from the traced program and
 * a parser may pass bytes through; invalid UTF-8 becomes '?'. */
static json_t *jstr(const char *s) {
  json_t *j;
  char *copy;
  size_t n;

  if (!s)
    return json_string("");
  j = json_string(s);
  if (j)
    return j;
  n = strlen(s);
  copy = xstrdup(s);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)copy[i] >= 0x80)
      copy[i] = '?';
  j = json_string(copy);
  free(copy);
  return j;
}

static json_t *gstats_json(json_t *o, const struct trace_gstats *s) {
  json_object_set_new(o, "total_ns", json_integer(s->total_ns));
  json_object_set_new(o, "execution_ns", json_integer(s->execution_ns));
  json_object_set_new(o, "network_wait_ns", json_integer(s->network_wait_ns));
  json_object_set_new(o, "sync_block_ns", json_integer(s->sync_block_ns));
  json_object_set_new(o, "syscall_ns", json_integer(s->syscall_ns));
  json_object_set_new(o, "scheduler_wait_ns", json_integer(s->scheduler_wait_ns));
  json_object_set_new(o, "gc_sweep_ns", json_integer(s->gc_sweep_ns));
  json_object_set_new(o, "gc_pause_ns", json_integer(s->gc_pause_ns));
  json_object_set_new(o, "unknown_ns", json_integer(s->unknown_ns));
  return o;
}

static json_t *groups_json(const struct trace_summary *s) {
  json_t *arr = json_array();

  for (size_t i = 0; i < s->n_groups; i++) {
    const struct trace_group *g = &s->groups[i];
    json_t *o = json_object(), *worst = json_array();
    json_object_set_new(o, "function", jstr(g->function));
    json_object_set_new(o, "pc", json_integer((json_int_t)g->pc));
    json_object_set_new(o, "count", json_integer(g->count));
    gstats_json(o, &g->s);
    for (size_t k = 0; k < g->n_worst; k++) {
      const struct trace_goroutine *w = &g->worst[k];
      json_t *wo = json_object();
      json_object_set_new(wo, "id", json_integer((json_int_t)w->id));
      json_object_set_new(wo, "created_ns", json_integer(w->created_ns));
      json_object_set_new(wo, "ended_ns", json_integer(w->ended_ns));
      json_array_append_new(worst, gstats_json(wo, &w->s));
    }
    json_object_set_new(o, "worst", worst);
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *stack_json(const struct trace_stack *st) {
  json_t *arr = json_array();
  for (size_t f = 0; f < st->n_frames; f++) {
    const struct trace_frame *fr = &st->frames[f];
    json_t *o = json_object();
    json_object_set_new(o, "function", jstr(fr->function));
    json_object_set_new(o, "file", jstr(fr->file));
    json_object_set_new(o, "line", json_integer(fr->line));
    json_object_set_new(o, "pc", json_integer((json_int_t)fr->pc));
    json_array_append_new(arr, o);
  }
  return arr;
}

static json_t *profiles_json(const struct trace_summary *s) {
  json_t *o = json_object();

  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    const struct trace_profile *p = &s->profiles[k];
    json_t *po = json_object(), *top = json_array();
    json_object_set_new(po, "count", json_integer(p->total_count));
    json_object_set_new(po, "total_ns", json_integer(p->total_ns));
    json_object_set_new(po, "stacks", json_integer((json_int_t)p->n_samples));
    for (size_t i = 0; i < p->n_samples && i < JSON_TOP_STACKS; i++) {
      json_t *so = json_object();
      json_object_set_new(so, "count", json_integer(p->samples[i].count));
      json_object_set_new(so, "ns", json_integer(p->samples[i].ns));
      json_object_set_new(so, "stack", stack_json(&p->samples[i].stack));
      json_array_append_new(top, so);
    }
    json_object_set_new(po, "top", top);
    json_object_set_new(o, gotrace_profile_name(k), po);
  }
  return o;
}

static json_t *mmu_value(double v) {
  return v < 0 ? json_null() : json_real(v);
}

static const char *const mmu_names[TRACE_MMU_WINDOWS] = {"1ms", "10ms", "100ms", "1s"};

json_t *gotrace_summary_to_json(const struct trace_summary *s) {
  json_t *o = json_object(), *gr = json_object(), *ec = json_object(), *gc = json_object();
  json_t *mmu = json_object(), *ann = json_array();

  json_object_set_new(o, "go_version", jstr(s->go_version));
  json_object_set_new(o, "duration_ns", json_integer(s->duration_ns));
  json_object_set_new(o, "procs", json_integer(s->procs));
  json_object_set_new(o, "threads", json_integer(s->threads));
  json_object_set_new(gr, "created", json_integer(s->goroutines_created));
  json_object_set_new(gr, "ended", json_integer(s->goroutines_ended));
  json_object_set_new(gr, "max_alive", json_integer(s->goroutines_max_alive));
  json_object_set_new(gr, "total", json_integer(s->goroutines_total));
  json_object_set_new(o, "goroutines", gr);
  json_object_set_new(o, "events", json_integer(s->events));
  for (size_t i = 0; i < s->n_event_counts; i++)
    if (s->event_counts[i].name)
      json_object_set_new(ec, s->event_counts[i].name, json_integer(s->event_counts[i].count));
  json_object_set_new(o, "event_counts", ec);
  json_object_set_new(o, "groups", groups_json(s));
  json_object_set_new(o, "profiles", profiles_json(s));
  json_object_set_new(gc, "cycles", json_integer(s->gc.cycles));
  json_object_set_new(gc, "stw_count", json_integer(s->gc.stw_count));
  json_object_set_new(gc, "stw_total_ns", json_integer(s->gc.stw_total_ns));
  json_object_set_new(gc, "stw_max_ns", json_integer(s->gc.stw_max_ns));
  json_object_set_new(gc, "stw_p99_ns", json_integer(s->gc.stw_p99_ns));
  json_object_set_new(gc, "gc_cpu_ns", json_integer(s->gc.gc_cpu_ns));
  json_object_set_new(gc, "heap_live_min", json_integer(s->gc.heap_live_min));
  json_object_set_new(gc, "heap_live_max", json_integer(s->gc.heap_live_max));
  json_object_set_new(gc, "heap_goal_max", json_integer(s->gc.heap_goal_max));
  json_object_set_new(o, "gc", gc);
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++)
    json_object_set_new(mmu, mmu_names[i], mmu_value(s->mmu[i]));
  json_object_set_new(o, "mmu", mmu);
  if (s->mmu_error)
    json_object_set_new(o, "mmu_error", jstr(s->mmu_error));
  for (size_t i = 0; i < s->n_annotations; i++) {
    const struct trace_annotation *an = &s->annotations[i];
    json_t *ao = json_object();
    json_object_set_new(ao, "kind", jstr(an->kind));
    json_object_set_new(ao, "name", jstr(an->name));
    json_object_set_new(ao, "count", json_integer(an->count));
    json_object_set_new(ao, "total_ns", json_integer(an->total_ns));
    json_object_set_new(ao, "max_ns", json_integer(an->max_ns));
    json_array_append_new(ann, ao);
  }
  json_object_set_new(o, "annotations", ann);
  return o;
}

int gotrace_fuzz_one(const uint8_t *data, size_t len) {
  struct trace_summary s;
  char *err = NULL;

  trace_summary_init(&s);
  if (gotrace_parse(data, len, &s, &err) == 0) {
    json_t *j = gotrace_summary_to_json(&s);
    json_decref(j);
    trace_summary_done(&s);
  }
  free(err);
  return 0;
}

const struct analysis_ops gotrace_analysis_ops = {
    .name = "trace",
    .store_rows = gotrace_store_rows,
    .free_detail = summary_free,
};
