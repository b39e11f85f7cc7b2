/* Go 1.22+ traces: ordering rules for ranges and annotations (doc 3.7):
 * GC cycles (sequence numbers), sweeps per proc, STW and mark assists per
 * goroutine (Begin/End, and Active at a generation start), user tasks and
 * regions. Same conventions as gotrace_v2_order.c: 0 = not yet, 1 =
 * advanced, <0 = corrupt trace. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

int v2_task_begin(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  uint32_t slot;
  int rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  if (v2_map_get(&s->tasks, ev->args[0]) != V2_IDX_NONE)
    return v2_fail(s->err, ev->off, "task id %llu begins twice", (unsigned long long)ev->args[0]);
  if (s->n_task_free) {
    slot = s->task_free[--s->n_task_free];
  } else {
    if (s->n_task_slots == s->cap_task_slots) {
      s->cap_task_slots = s->cap_task_slots ? s->cap_task_slots * 2 : 64;
      s->task_slots = xreallocarray(s->task_slots, s->cap_task_slots, sizeof(*s->task_slots));
    }
    slot = (uint32_t)s->n_task_slots++;
  }
  s->task_slots[slot].name =
      ev->idx[2] == V2_IDX_NONE ? 0 : 1 + v2_gen_global_string(s->in, s->gen, ev->idx[2]);
  s->task_slots[slot].begin = 0; /* set by the analysis at emission */
  v2_map_put(&s->tasks, ev->args[0], slot);
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, NULL, 0, 0, NULL);
}

int v2_task_end(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  uint32_t slot = v2_map_get(&s->tasks, ev->args[0]);
  struct v2_out x;
  int rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  memset(&x, 0, sizeof(x));
  if (slot != V2_IDX_NONE) {
    x.ann_name = s->task_slots[slot].name;
    x.ann_begin = s->task_slots[slot].begin;
    v2_map_del(&s->tasks, ev->args[0]);
    if (s->n_task_free == s->cap_task_free) {
      s->cap_task_free = s->cap_task_free ? s->cap_task_free * 2 : 64;
      s->task_free = xreallocarray(s->task_free, s->cap_task_free, sizeof(*s->task_free));
    }
    s->task_free[s->n_task_free++] = slot;
  }
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, NULL, 0, 0, &x);
}

/* Regions nest per goroutine and are matched by (task, name); an end with
 * no open region began before the trace and is accepted. */
int v2_region(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  struct v2_g *g;
  struct v2_out x;
  uint32_t name;
  int rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  g = v2_cur_g(s, c);
  if (!g)
    return v2_fail(s->err, ev->off, "region event for unknown goroutine %llu",
                   (unsigned long long)c->g);
  name = ev->idx[1] == V2_IDX_NONE ? 0 : 1 + v2_gen_global_string(s->in, s->gen, ev->idx[1]);
  memset(&x, 0, sizeof(x));
  x.ann_name = name;
  if (ev->type == V2_EV_REGION_BEGIN) {
    if (g->n_regions >= V2_MAX_REGION_DEPTH)
      return v2_fail(s->err, ev->off, "regions of goroutine %llu nested too deeply",
                     (unsigned long long)g->id);
    if (g->n_regions == g->cap_regions) {
      g->cap_regions = g->cap_regions ? g->cap_regions * 2 : 4;
      g->regions = xreallocarray(g->regions, g->cap_regions, sizeof(*g->regions));
    }
    g->regions[g->n_regions++] = (struct v2_region){ev->args[0], name, 0};
  } else if (g->n_regions) {
    struct v2_region *r = &g->regions[g->n_regions - 1];
    if (r->task != ev->args[0] || r->name != name)
      return v2_fail(s->err, ev->off,
                     "region end does not match the innermost open region of "
                     "goroutine %llu",
                     (unsigned long long)g->id);
    x.ann_begin = r->begin;
    g->n_regions--;
  }
  return v2_emit(s, ev, ev->type, c, ev->args, g, NULL, 0, 0, &x);
}

int v2_gc_event(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  uint64_t seq = ev->args[0];
  bool first = s->gen->num == s->initial_gen;
  int rc;
  switch (ev->type) {
  case V2_EV_GC_ACTIVE:
    if (first) {
      if (s->gc_state != 0)
        return v2_fail(s->err, ev->off, "GCActive in the first generation after another GC event");
      break;
    }
    if (seq != s->gc_seq + 1)
      return 0;
    if (s->gc_state != 2)
      return v2_fail(s->err, ev->off, "GCActive while no GC is running");
    rc = v2_user_ctx(s, ev, c);
    if (rc < 0)
      return rc;
    break;
  case V2_EV_GC_BEGIN:
    if (s->gc_state == 0)
      break;
    if (seq != s->gc_seq + 1)
      return 0;
    if (s->gc_state == 2)
      return v2_fail(s->err, ev->off, "GCBegin while a GC is already running");
    rc = v2_user_ctx(s, ev, c);
    if (rc < 0)
      return rc;
    break;
  default: /* GCEnd */
    if (seq != s->gc_seq + 1)
      return 0;
    if (s->gc_state != 2)
      return v2_fail(s->err, ev->off, "GCEnd while no GC is %s",
                     s->gc_state ? "running" : "known to run");
    rc = v2_user_ctx(s, ev, c);
    if (rc < 0)
      return rc;
  }
  s->gc_seq = seq;
  s->gc_state = ev->type == V2_EV_GC_END ? 1 : 2;
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, NULL, 0, 0, NULL);
}

int v2_sweep(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  bool first = s->gen->num == s->initial_gen;
  struct v2_p *p;
  int rc;
  if (ev->type == V2_EV_GC_SWEEP_ACTIVE) {
    p = v2_p_lookup(s, ev->args[0]);
    if (!p)
      return v2_fail(s->err, ev->off, "GCSweepActive for unknown proc %llu",
                     (unsigned long long)ev->args[0]);
    if (first && p->sweep_open)
      return v2_fail(s->err, ev->off, "sweep of proc %llu active twice", (unsigned long long)p->id);
    if (!first && !p->sweep_open)
      return v2_fail(s->err, ev->off, "GCSweepActive for proc %llu that is not sweeping",
                     (unsigned long long)p->id);
    p->sweep_open = true;
    return v2_emit(s, ev, ev->type, c, ev->args, NULL, p, 0, 0, NULL);
  }
  rc = v2_need(s, ev, c, MUST, MUST, MAY);
  if (rc < 0)
    return rc;
  p = v2_p_lookup(s, c->p);
  if (!p)
    return v2_fail(s->err, ev->off, "%s on unknown proc %llu", v2_type_name(ev->type),
                   (unsigned long long)c->p);
  if (ev->type == V2_EV_GC_SWEEP_BEGIN && p->sweep_open)
    return v2_fail(s->err, ev->off, "GCSweepBegin while proc %llu is already sweeping",
                   (unsigned long long)p->id);
  if (ev->type == V2_EV_GC_SWEEP_END && !p->sweep_open)
    return v2_fail(s->err, ev->off, "GCSweepEnd without GCSweepBegin on proc %llu",
                   (unsigned long long)p->id);
  p->sweep_open = ev->type == V2_EV_GC_SWEEP_BEGIN;
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, p, 0, 0, NULL);
}

/* STW and mark-assist ranges are bound to a goroutine. */
int v2_go_range(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c) {
  bool first = s->gen->num == s->initial_gen;
  struct v2_out x;
  struct v2_g *g;
  int rc;
  if (ev->type == V2_EV_GC_ASSIST_ACTIVE) {
    g = v2_g_lookup(s, ev->args[0]);
    if (!g)
      return v2_fail(s->err, ev->off, "GCMarkAssistActive for unknown goroutine %llu",
                     (unsigned long long)ev->args[0]);
    if (first && g->assist_open)
      return v2_fail(s->err, ev->off, "mark assist of goroutine %llu active twice",
                     (unsigned long long)g->id);
    if (!first && !g->assist_open)
      return v2_fail(s->err, ev->off, "GCMarkAssistActive for goroutine %llu not in an assist",
                     (unsigned long long)g->id);
    g->assist_open = 1;
    return v2_emit(s, ev, ev->type, c, ev->args, g, NULL, 0, 0, NULL);
  }
  if (ev->type == V2_EV_GC_ASSIST_BEGIN)
    return v2_assist_range(s, ev, c, V2_EV_GC_ASSIST_BEGIN);
  if (ev->type == V2_EV_GC_ASSIST_END)
    return v2_assist_range(s, ev, c, V2_EV_GC_ASSIST_END);
  rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  g = v2_cur_g(s, c);
  if (!g)
    return v2_fail(s->err, ev->off, "%s for unknown goroutine %llu", v2_type_name(ev->type),
                   (unsigned long long)c->g);
  switch (ev->type) {
  case V2_EV_STW_BEGIN:
    if (g->stw_open)
      return v2_fail(s->err, ev->off, "STWBegin while goroutine %llu is already stopping the world",
                     (unsigned long long)g->id);
    g->stw_open = 1;
    g->stw_gc =
        ev->idx[0] != V2_IDX_NONE && (v2_str_class(&s->gen->strs[ev->idx[0]]) & V2_CLS_GC_STW);
    break;
  case V2_EV_STW_END:
    if (!g->stw_open)
      return v2_fail(s->err, ev->off, "STWEnd without STWBegin on goroutine %llu",
                     (unsigned long long)g->id);
    g->stw_open = 0;
    memset(&x, 0, sizeof(x));
    x.stw_gc = g->stw_gc;
    return v2_emit(s, ev, ev->type, c, ev->args, g, NULL, 0, 0, &x);
  }
  return v2_emit(s, ev, ev->type, c, ev->args, g, NULL, 0, 0, NULL);
}
