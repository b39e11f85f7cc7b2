/* Old-format traces, pass 2: merging the per-P event streams into one
 * consistent order (doc 2.5/2.6). Timestamps of different Ps are not
 * trusted: an event may only be taken when the sequence-number state of
 * the goroutine it concerns allows it; among the ready heads the earliest
 * wins. Streams whose head is not ready wait on that goroutine and are
 * rechecked only when its state changes, so the merge costs O(events)
 * on real traces; a budget on readiness checks bounds adversarial ones. */
#include "config.h"

#include "gotrace_v1.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { NEXT_SET, NEXT_SAME, NEXT_INC };

#define trans v1_trans

uint32_t v1_order_gindex(struct v1_order *o, uint64_t id) {
  uint32_t gi;

  /* Goroutine ids are small sequential numbers: a direct table first. */
  if (id < V1_DIRECT_IDS && id < o->n_direct && o->direct[id] != V1_NO_INDEX)
    return o->direct[id];
  if (idmap_get(&o->g_ids, id, &gi))
    return gi;
  if (o->n_g >= UINT32_MAX - 1 || gotrace_grow(&o->gs, &o->cap_g, o->n_g + 1, sizeof(*o->gs)) < 0)
    return V1_NO_INDEX;
  gi = (uint32_t)o->n_g;
  if (idmap_put(&o->g_ids, id, gi) < 0)
    return V1_NO_INDEX;
  o->gs[gi].id = id;
  o->gs[gi].seq = 0;
  o->gs[gi].state = V1_G_DEAD;
  o->gs[gi].waiters = V1_NO_INDEX;
  o->n_g++;
  if (id < V1_DIRECT_IDS) {
    size_t old = o->n_direct;
    if (id >= o->n_direct) {
      if (gotrace_grow(&o->direct, &o->n_direct, (size_t)id + 1, sizeof(*o->direct)) < 0)
        return gi; /* the map has it */
      for (size_t k = old; k < o->n_direct; k++)
        o->direct[k] = V1_NO_INDEX;
    }
    o->direct[id] = gi;
  }
  return gi;
}

static bool is_block_type(int type) {
  switch (type) {
  case V1_GO_BLOCK:
  case V1_GO_BLOCK_SEND:
  case V1_GO_BLOCK_RECV:
  case V1_GO_BLOCK_SELECT:
  case V1_GO_BLOCK_SYNC:
  case V1_GO_BLOCK_COND:
  case V1_GO_BLOCK_NET:
  case V1_GO_SLEEP:
  case V1_GO_SYS_BLOCK:
  case V1_GO_BLOCK_GC:
    return true;
  default:
    return false;
  }
}

static void transition_of(const struct v1_event *ev, struct trans *tr) {
  tr->gi = V1_NO_INDEX;
  tr->any_seq = false;
  tr->init_seq = tr->next_seq = 0;
  tr->next_kind = NEXT_SET;
  switch (ev->type) {
  case V1_GO_CREATE:
    tr->gi = ev->ti;
    tr->init_st = V1_G_DEAD;
    tr->next_seq = 1;
    tr->next_st = V1_G_RUNNABLE;
    return;
  case V1_GO_WAITING:
  case V1_GO_IN_SYSCALL:
    tr->gi = ev->gi;
    tr->init_seq = 1;
    tr->init_st = V1_G_RUNNABLE;
    tr->next_seq = 2;
    tr->next_st = V1_G_WAITING;
    return;
  case V1_GO_START:
  case V1_GO_START_LABEL:
    tr->gi = ev->gi;
    tr->init_seq = ev->args[1];
    tr->init_st = V1_G_RUNNABLE;
    tr->next_seq = ev->args[1] + 1;
    tr->next_st = V1_G_RUNNING;
    return;
  case V1_GO_START_LOCAL:
    tr->gi = ev->gi;
    tr->any_seq = true;
    tr->init_st = V1_G_RUNNABLE;
    tr->next_kind = NEXT_INC;
    tr->next_st = V1_G_RUNNING;
    return;
  case V1_GO_SCHED:
  case V1_GO_PREEMPT:
    tr->gi = ev->gi;
    tr->any_seq = true;
    tr->init_st = V1_G_RUNNING;
    tr->next_kind = NEXT_SAME;
    tr->next_st = V1_G_RUNNABLE;
    return;
  case V1_GO_UNBLOCK:
  case V1_GO_SYS_EXIT:
    tr->gi = ev->ti;
    tr->init_seq = ev->args[1];
    tr->init_st = V1_G_WAITING;
    tr->next_seq = ev->args[1] + 1;
    tr->next_st = V1_G_RUNNABLE;
    return;
  case V1_GO_UNBLOCK_LOCAL:
  case V1_GO_SYS_EXIT_LOCAL:
    tr->gi = ev->ti;
    tr->any_seq = true;
    tr->init_st = V1_G_WAITING;
    tr->next_kind = NEXT_INC;
    tr->next_st = V1_G_RUNNABLE;
    return;
  case V1_GC_START:
    tr->gi = V1_GC_PSEUDO;
    tr->init_seq = ev->args[0];
    tr->init_st = V1_G_DEAD;
    tr->next_seq = ev->args[0] + 1;
    tr->next_st = V1_G_DEAD;
    return;
  default:
    if (is_block_type(ev->type)) {
      tr->gi = ev->gi;
      tr->any_seq = true;
      tr->init_st = V1_G_RUNNING;
      tr->next_kind = NEXT_SAME;
      tr->next_st = V1_G_WAITING;
    }
    return;
  }
}

static bool trans_ready(const struct v1_order *o, const struct trans *tr) {
  const struct v1_gord *g;
  if (tr->gi == V1_NO_INDEX)
    return true;
  g = &o->gs[tr->gi];
  return (tr->any_seq || tr->init_seq == g->seq) && tr->init_st == g->state;
}

/* The common record: a timed event with the expected number of inline
 * arguments, each a varint of at most 9 bytes. Anything else goes through
 * v1_record_read(), which also reports errors. */
static inline bool read_fast(const struct v1_trace *t, size_t *pos, size_t end,
                             struct v1_record *rec) {
  const uint8_t *p = t->data;
  size_t i = *pos;
  uint8_t b = p[i], type = b & 0x3f;
  unsigned narg = (b >> 6) + 1;

  if (narg > 3 || !t->skippable[type] || narg != t->nargs[type])
    return false;
  i++;
  for (unsigned k = 0; k < narg; k++) {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t c;
      if (i >= end || shift > 56)
        return false;
      c = p[i++];
      v |= (uint64_t)(c & 0x7f) << shift;
      if (!(c & 0x80))
        break;
    }
    rec->args[k] = v;
  }
  rec->off = *pos;
  rec->type = type;
  rec->nargs = narg;
  *pos = i;
  return true;
}

/* Decodes the next timed event of stream si into its head. Returns 1, 0
 * when the stream is exhausted, or an error. */
static int fetch_head(struct v1_order *o, uint32_t si, char **ret_err) {
  struct v1_trace *t = o->t;
  struct v1_stream *s = &t->streams[si];
  struct v1_event *ev = &s->head;
  struct v1_record rec;
  unsigned n;
  int r;

  s->has_head = false;
  for (;;) {
    if (s->pos >= s->end) {
      uint32_t next = t->batches[s->batch].next;
      if (next == V1_NO_INDEX)
        return 0;
      s->batch = next;
      s->pos = t->batches[next].start;
      s->end = t->batches[next].end;
      s->ts = t->batches[next].base;
      continue;
    }
    if (read_fast(t, &s->pos, s->end, &rec)) {
      if (rec.args[0] > (uint64_t)(INT64_MAX - s->ts))
        return v1_errf(ret_err, rec.off, "timestamp overflow");
      s->ts += (int64_t)rec.args[0];
      break;
    }
    r = v1_record_read(t, &s->pos, s->end, &rec, ret_err);
    if (r < 0)
      return r;
    switch (rec.type) {
    case V1_STRING:
    case V1_STACK:
    case V1_FREQUENCY:
    case V1_TIMER_GOROUTINE:
      continue;
    case V1_BATCH:
      return v1_errf(ret_err, rec.off, "unexpected batch record");
    default:
      break;
    }
    /* Every timed record (CPU samples too) advances the batch clock. */
    if (rec.args[0] > (uint64_t)(INT64_MAX - s->ts))
      return v1_errf(ret_err, rec.off, "timestamp overflow");
    s->ts += (int64_t)rec.args[0];
    if (rec.type != V1_CPU_SAMPLE)
      break;
  }
  ev->args[0] = ev->args[1] = ev->args[2] = ev->args[3] = 0;
  ev->stk = 0;
  ev->idx = 0;
  ev->type = rec.type;
  ev->off = rec.off;
  ev->ts = s->ts;
  ev->p = s->p;
  ev->si = si;
  ev->ti = V1_NO_INDEX;
  n = rec.nargs - 1;
  if (t->stack[rec.type]) {
    ev->stk = rec.args[rec.nargs - 1];
    n--;
  }
  for (unsigned k = 0; k < n && k < ARRAY_SIZE(ev->args); k++)
    ev->args[k] = rec.args[k + 1];
  ev->g = s->cur_g;
  ev->gi = s->cur_gi;
  switch (rec.type) {
  case V1_GO_START:
  case V1_GO_START_LOCAL:
  case V1_GO_START_LABEL:
    s->cur_g = ev->g = ev->args[0];
    s->cur_gi = ev->gi = ev->ti = v1_order_gindex(o, ev->g);
    break;
  case V1_STW_START:
    if (t->minor >= 10 && t->minor < 21 && ev->args[0] > 1)
      return v1_errf(ret_err, rec.off, "unknown STW kind %" PRIu64, ev->args[0]);
    ev->g = 0;
    ev->gi = 1;
    break;
  case V1_GC_START:
  case V1_GC_DONE:
  case V1_STW_DONE:
    ev->g = 0;
    ev->gi = 1;
    break;
  case V1_GO_END:
  case V1_GO_STOP:
  case V1_GO_SCHED:
  case V1_GO_PREEMPT:
    s->cur_g = 0;
    s->cur_gi = 1;
    break;
  case V1_GO_SYS_EXIT:
  case V1_GO_SYS_EXIT_LOCAL:
  case V1_GO_WAITING:
  case V1_GO_IN_SYSCALL:
    ev->g = ev->args[0];
    ev->gi = ev->ti = v1_order_gindex(o, ev->g);
    break;
  case V1_GO_CREATE:
  case V1_GO_UNBLOCK:
  case V1_GO_UNBLOCK_LOCAL:
    ev->ti = v1_order_gindex(o, ev->args[0]);
    break;
  default:
    if (is_block_type(rec.type)) {
      s->cur_g = 0;
      s->cur_gi = 1;
    }
    break;
  }
  if (ev->gi == V1_NO_INDEX ||
      (ev->ti == V1_NO_INDEX &&
       (rec.type == V1_GO_CREATE || rec.type == V1_GO_UNBLOCK || rec.type == V1_GO_UNBLOCK_LOCAL)))
    return -ENOMEM;
  transition_of(ev, &s->tr);
  s->has_head = true;
  return 1;
}

static const struct v1_event *head_of(const struct v1_order *o, uint32_t si) {
  if (si == o->t->n_streams)
    return &o->cpu_head;
  return &o->t->streams[si].head;
}

/* The frontier: a binary heap ordered by (head time, insertion tick). */
static bool heap_less(const struct v1_heap_ent *a, const struct v1_heap_ent *b) {
  if (a->ts != b->ts)
    return a->ts < b->ts;
  return a->tick < b->tick;
}

static void heap_push(struct v1_order *o, uint32_t si) {
  size_t i = o->n_heap++;
  struct v1_heap_ent e = {head_of(o, si)->ts, o->tick++, si};

  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!heap_less(&e, &o->heap[parent]))
      break;
    o->heap[i] = o->heap[parent];
    i = parent;
  }
  o->heap[i] = e;
}

static uint32_t heap_pop(struct v1_order *o) {
  uint32_t top = o->heap[0].si;
  struct v1_heap_ent last = o->heap[--o->n_heap];
  size_t i = 0, n = o->n_heap;

  for (;;) {
    size_t l = 2 * i + 1, m;
    if (l >= n)
      break;
    m = l + 1 < n && heap_less(&o->heap[l + 1], &o->heap[l]) ? l + 1 : l;
    if (!heap_less(&o->heap[m], &last))
      break;
    o->heap[i] = o->heap[m];
    i = m;
  }
  if (n)
    o->heap[i] = last;
  return top;
}

/* Puts stream si (with a head) into the frontier or onto the wait list of
 * the goroutine its head depends on. */
static void place(struct v1_order *o, uint32_t si) {
  struct v1_stream *s = &o->t->streams[si];

  o->checks++;
  if (trans_ready(o, &s->tr)) {
    heap_push(o, si);
    return;
  }
  s->wait_next = o->gs[s->tr.gi].waiters;
  o->gs[s->tr.gi].waiters = si;
  o->blocked++;
}

static void advance_cpu(struct v1_order *o) {
  o->cpu_in_frontier = false;
  if (o->cpu_next < o->t->n_cpu) {
    o->cpu_head = o->t->cpu[o->cpu_next++];
    o->cpu_head.gi = v1_order_gindex(o, o->cpu_head.g);
    o->cpu_in_frontier = true;
    heap_push(o, (uint32_t)o->t->n_streams);
  }
}

int v1_order_init(struct v1_order *o, struct v1_trace *t, char **ret_err) {
  int r;

  memset(o, 0, sizeof(*o));
  o->t = t;
  idmap_init(&o->g_ids);
  o->last_ts = INT64_MIN;
  o->refill = V1_NO_INDEX;
  /* Index 0: the GC pseudo-goroutine (not in the id map); index 1: g 0. */
  if (gotrace_grow(&o->gs, &o->cap_g, 2, sizeof(*o->gs)) < 0)
    return -ENOMEM;
  o->gs[0].id = UINT64_MAX;
  o->gs[0].seq = 0;
  o->gs[0].state = V1_G_DEAD;
  o->gs[0].waiters = V1_NO_INDEX;
  o->n_g = 1;
  if (v1_order_gindex(o, 0) != 1)
    return -ENOMEM;
  o->heap = calloc(t->n_streams + 1, sizeof(*o->heap));
  if (!o->heap)
    return -ENOMEM;
  for (size_t i = 0; i < t->n_streams; i++) {
    struct v1_stream *s = &t->streams[i];
    s->batch = s->first_batch;
    s->pos = t->batches[s->batch].start;
    s->end = t->batches[s->batch].end;
    s->ts = t->batches[s->batch].base;
    s->cur_g = 0;
    s->cur_gi = 1;
    s->wait_next = V1_NO_INDEX;
    r = fetch_head(o, (uint32_t)i, ret_err);
    if (r < 0)
      return r;
    if (r > 0)
      place(o, (uint32_t)i);
  }
  advance_cpu(o);
  if (o->cpu_next && o->cpu_head.gi == V1_NO_INDEX)
    return -ENOMEM;
  return 0;
}

void v1_order_done(struct v1_order *o) {
  idmap_done(&o->g_ids);
  free(o->gs);
  free(o->heap);
  free(o->recheck);
  free(o->direct);
  memset(o, 0, sizeof(*o));
}

/* Moves the streams waiting on goroutine gi back to placement. */
static int wake(struct v1_order *o, uint32_t gi) {
  uint32_t si = o->gs[gi].waiters;

  o->gs[gi].waiters = V1_NO_INDEX;
  o->n_recheck = 0;
  while (si != V1_NO_INDEX) {
    if (gotrace_grow(&o->recheck, &o->cap_recheck, o->n_recheck + 1, sizeof(*o->recheck)) < 0)
      return -ENOMEM;
    o->recheck[o->n_recheck++] = si;
    o->blocked--;
    si = o->t->streams[si].wait_next;
  }
  /* The list is LIFO; recheck in blocking order for a stable tie-break. */
  for (size_t k = o->n_recheck; k-- > 0;)
    place(o, o->recheck[k]);
  return 0;
}

int v1_order_next(struct v1_order *o, struct v1_event **ret, char **ret_err) {
  struct v1_event *ev;
  struct trans tr;
  uint32_t si;
  int r;

  /* The stream of the event returned last time gets its next head now,
   * after the caller is done with that event. */
  if (o->refill != V1_NO_INDEX) {
    si = o->refill;
    o->refill = V1_NO_INDEX;
    if (si == o->t->n_streams) {
      advance_cpu(o);
      if (o->cpu_in_frontier && o->cpu_head.gi == V1_NO_INDEX)
        return -ENOMEM;
    } else {
      r = fetch_head(o, si, ret_err);
      if (r < 0)
        return r;
      if (r > 0)
        place(o, si);
    }
  }
  if (o->n_heap == 0) {
    if (o->blocked) {
      for (size_t i = 0; i < o->t->n_streams; i++) {
        struct v1_stream *s = &o->t->streams[i];
        if (s->has_head)
          return v1_errf(ret_err, s->head.off,
                         "no consistent ordering of events possible (%s of goroutine %" PRIu64
                         " cannot happen)",
                         v1_type_name(s->head.type, o->t->minor), s->head.g);
      }
    }
    return 0;
  }
  if (o->checks > 64 * o->emitted + (1u << 20))
    return v1_errf(ret_err, 0, "event ordering does not converge");
  si = heap_pop(o);
  if (si == o->t->n_streams) {
    ev = &o->cpu_head;
    transition_of(ev, &tr);
  } else {
    ev = &o->t->streams[si].head;
    tr = o->t->streams[si].tr;
  }
  if (!trans_ready(o, &tr))
    return v1_errf(ret_err, ev->off,
                   "impossible goroutine state transition (%s of goroutine %" PRIu64 ")",
                   v1_type_name(ev->type, o->t->minor), ev->g);
  if (ev->ts < o->last_ts)
    return v1_errf(ret_err, ev->off, "time stamps out of order");
  o->last_ts = ev->ts;
  switch (ev->type) {
  case V1_GO_START_LOCAL:
    ev->type = V1_GO_START;
    break;
  case V1_GO_UNBLOCK_LOCAL:
    ev->type = V1_GO_UNBLOCK;
    break;
  case V1_GO_SYS_EXIT_LOCAL:
    ev->type = V1_GO_SYS_EXIT;
    break;
  default:
    break;
  }
  ev->idx = o->emitted++;
  o->refill = si;
  if (tr.gi != V1_NO_INDEX) {
    struct v1_gord *g = &o->gs[tr.gi];
    if (tr.next_kind == NEXT_SAME)
      tr.next_seq = g->seq;
    else if (tr.next_kind == NEXT_INC)
      tr.next_seq = g->seq + 1;
    g->seq = tr.next_seq;
    g->state = tr.next_st;
    r = wake(o, tr.gi);
    if (r < 0)
      return r;
  }
  *ret = ev;
  return 1;
}
