/* Go 1.22+ traces: the scheduler state machine that decides when an event
 * of one thread may be emitted (partial order by goroutine, proc and GC
 * sequence numbers) and rejects impossible transitions (doc 3.5-3.7). Each
 * handler either waits (0: another thread must go first), fails (-EPROTO,
 * with the event's offset), or updates the state, hands the event(s) to
 * the analysis and returns the thread's new (G, P). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

static const uint8_t wire_g_state[5] = {0, GS_RUNNABLE, GS_RUNNING, GS_SYSCALL, GS_WAITING};
static const uint8_t wire_p_state[5] = {0, PS_RUNNING, PS_IDLE, PS_RUNNING, PS_IDLE};

int v2_need_fail(struct v2_state *s, const struct v2_event *ev, const struct v2_ctx *c, int m,
                 int p, int g) {
  const char *what = v2_type_name(ev->type);
  if (m == MUST && c->m == V2_NONE)
    return v2_fail(s->err, ev->off, "%s: expected a thread", what);
  if (p == MUST && c->p == V2_NONE)
    return v2_fail(s->err, ev->off, "%s: expected a proc", what);
  if (p == NO && c->p != V2_NONE)
    return v2_fail(s->err, ev->off, "%s: expected no proc, thread has proc %llu", what,
                   (unsigned long long)c->p);
  if (g == MUST && c->g == V2_NONE)
    return v2_fail(s->err, ev->off, "%s: expected a goroutine", what);
  if (g == NO && c->g != V2_NONE)
    return v2_fail(s->err, ev->off, "%s: expected no goroutine, thread runs goroutine %llu", what,
                   (unsigned long long)c->g);
  return 0;
}

static bool seq_next(uint64_t gen, uint64_t cur_gen, uint64_t cur, uint64_t seq) {
  return gen == cur_gen && seq == cur + 1;
}

static inline struct v2_g *running_g(struct v2_state *s, const struct v2_event *ev,
                                     const struct v2_ctx *c, int want, int *rc) {
  struct v2_g *g = v2_cur_g(s, c);
  if (!g) {
    *rc = v2_fail(s->err, ev->off, "%s for goroutine %llu that does not exist",
                  v2_type_name(ev->type), (unsigned long long)c->g);
    return NULL;
  }
  if (g->status != want) {
    *rc = v2_fail(s->err, ev->off, "%s for goroutine %llu that is not %s", v2_type_name(ev->type),
                  (unsigned long long)c->g, want == V2_G_SYSCALL ? "in a syscall" : "running");
    return NULL;
  }
  return g;
}

static int proc_status(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c,
                       struct v2_ctx *n) {
  uint64_t pid = ev->args[0], st = ev->args[1], eff;
  struct v2_p *p;
  int old;
  if (st < V2_P_RUNNING || st > V2_P_ABANDONED)
    return v2_fail(s->err, ev->off, "invalid status %llu for proc %llu", (unsigned long long)st,
                   (unsigned long long)pid);
  if (pid == V2_NONE)
    return v2_fail(s->err, ev->off, "ProcStatus for an invalid proc id");
  eff = st;
  old = wire_p_state[st];
  p = v2_p_lookup(s, pid);
  if (p) {
    if (st == V2_P_ABANDONED && p->status == V2_P_SYSCALL) {
      /* Still in the syscall we know about: nothing was lost. */
      old = PS_RUNNING;
      eff = V2_P_SYSCALL;
    } else if (st == V2_P_ABANDONED && p->status == V2_P_ABANDONED) {
      old = PS_IDLE;
    } else if (p->status != st) {
      return v2_fail(s->err, ev->off, "inconsistent status for proc %llu: %u then %llu",
                     (unsigned long long)pid, p->status, (unsigned long long)st);
    }
    p->seq_gen = s->gen->num;
    p->seq = 0;
  } else {
    p = v2_p_new(s, pid);
    if (!p)
      return v2_fail(s->err, ev->off, "more than %d procs", V2_MAX_PROC_IDS);
    p->status = (uint8_t)st;
    p->seq_gen = s->gen->num;
    old = s->gen->num == s->initial_gen ? PS_UNDET : PS_NOTEXIST;
  }
  if (st == V2_P_RUNNING || st == V2_P_SYSCALL)
    n->p = pid;
  if (st == V2_P_ABANDONED && old == PS_RUNNING) {
    /* About to be stolen: report it in the context of the thread holding
     * it (the one that last took it, normally). */
    struct v2_m *holder = NULL;
    if (p->m_hint && s->ms[p->m_hint - 1].p == pid) {
      holder = &s->ms[p->m_hint - 1];
    } else {
      for (size_t i = 0; i < s->n_ms; i++)
        if (s->ms[i].p == pid)
          holder = &s->ms[i];
      if (holder)
        p->m_hint = (uint32_t)(holder - s->ms) + 1;
    }
    if (!holder)
      return v2_fail(s->err, ev->off, "no thread holds proc %llu that is about to be stolen",
                     (unsigned long long)pid);
    c->g = holder->g;
    c->gr = holder->gr;
    c->p = pid;
    c->m = holder->id;
  }
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, p, old, wire_p_state[eff], NULL);
}

static int proc_start(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  struct v2_p *p = v2_p_lookup(s, ev->args[0]);
  int rc;
  if (!p || p->status != V2_P_IDLE || !seq_next(s->gen->num, p->seq_gen, p->seq, ev->args[1]) ||
      c->p != V2_NONE)
    return 0;
  rc = v2_need(s, ev, c, MUST, NO, MAY);
  if (rc < 0)
    return rc;
  p->status = V2_P_RUNNING;
  p->seq = ev->args[1];
  n->p = p->id;
  return v2_emit(s, ev, V2_EV_PROC_START, c, ev->args, NULL, p, PS_IDLE, PS_RUNNING, NULL);
}

static int proc_stop(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  struct v2_p *p = c->p == V2_NONE ? NULL : v2_p_lookup(s, c->p);
  int rc;
  if (!p)
    return v2_fail(s->err, ev->off, "ProcStop on a thread without a known proc");
  if (p->status != V2_P_RUNNING && p->status != V2_P_SYSCALL)
    return v2_fail(s->err, ev->off, "ProcStop for proc %llu that is not running",
                   (unsigned long long)p->id);
  rc = v2_need(s, ev, c, MUST, MUST, MAY);
  if (rc < 0)
    return rc;
  p->status = V2_P_IDLE;
  n->p = V2_NONE;
  return v2_emit(s, ev, V2_EV_PROC_STOP, c, ev->args, NULL, p, PS_RUNNING, PS_IDLE, NULL);
}

static int proc_steal(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  struct v2_p *p = v2_p_lookup(s, ev->args[0]);
  uint64_t victim = ev->args[2];
  struct v2_m *vm;
  int rc, before;
  uint8_t old;
  if (!p || (p->status != V2_P_SYSCALL && p->status != V2_P_ABANDONED) ||
      !seq_next(s->gen->num, p->seq_gen, p->seq, ev->args[1]))
    return 0;
  rc = v2_need(s, ev, c, MUST, MAY, MAY);
  if (rc < 0)
    return rc;
  old = p->status;
  p->status = V2_P_IDLE;
  p->seq = ev->args[1];
  before = old == V2_P_ABANDONED ? PS_IDLE : PS_RUNNING;
  if (old == V2_P_ABANDONED)
    return v2_emit(s, ev, V2_EV_PROC_STEAL, c, ev->args, NULL, p, before, PS_IDLE, NULL);
  if (victim == c->m) {
    if (c->p != p->id)
      return v2_fail(s->err, ev->off, "thread steals proc %llu from itself but holds proc %llu",
                     (unsigned long long)p->id, (unsigned long long)c->p);
    n->p = V2_NONE;
    return v2_emit(s, ev, V2_EV_PROC_STEAL, c, ev->args, NULL, p, before, PS_IDLE, NULL);
  }
  vm = v2_m_find(s, victim);
  if (!vm)
    return v2_fail(s->err, ev->off, "proc %llu stolen from unknown thread %llu",
                   (unsigned long long)p->id, (unsigned long long)victim);
  if (vm->p != p->id)
    return v2_fail(s->err, ev->off, "proc %llu stolen from thread %llu that holds proc %llu",
                   (unsigned long long)p->id, (unsigned long long)victim,
                   (unsigned long long)vm->p);
  vm->p = V2_NONE;
  return v2_emit(s, ev, V2_EV_PROC_STEAL, c, ev->args, NULL, p, before, PS_IDLE, NULL);
}

static int go_status(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  uint64_t gid = ev->args[0], mid = ev->args[1], st = ev->args[2];
  struct v2_g *g;
  int old;
  if (st < V2_G_RUNNABLE || st > V2_G_WAITING)
    return v2_fail(s->err, ev->off, "invalid status %llu for goroutine %llu",
                   (unsigned long long)st, (unsigned long long)gid);
  if (gid == V2_NONE)
    return v2_fail(s->err, ev->off, "goroutine status for an invalid goroutine id");
  old = wire_g_state[st];
  g = v2_g_lookup(s, gid);
  if (g) {
    if (g->status != st)
      return v2_fail(s->err, ev->off, "inconsistent status for goroutine %llu: %u then %llu",
                     (unsigned long long)gid, g->status, (unsigned long long)st);
    g->seq_gen = s->gen->num;
    g->seq = 0;
  } else if (s->gen->num == s->initial_gen) {
    g = v2_g_new(s, gid);
    if (!g)
      return v2_fail(s->err, ev->off, "more than %d live goroutines", V2_MAX_LIVE_G);
    g->status = (uint8_t)st;
    g->seq_gen = s->gen->num;
    g->astate = GS_UNDET;
    old = GS_UNDET;
  } else {
    return v2_fail(s->err, ev->off, "status for new goroutine %llu after the first generation",
                   (unsigned long long)gid);
  }
  if (st == V2_G_RUNNING) {
    n->g = gid;
    n->gr = g;
  } else if (st == V2_G_SYSCALL) {
    if (mid == V2_NONE)
      return v2_fail(s->err, ev->off, "goroutine %llu in a syscall without a thread",
                     (unsigned long long)gid);
    if (mid == c->m) {
      if (s->gen->num != s->initial_gen && c->g != gid)
        return v2_fail(s->err, ev->off, "inconsistent thread for syscalling goroutine %llu",
                       (unsigned long long)gid);
      n->g = gid;
      n->gr = g;
    } else {
      struct v2_m *om = v2_m_find(s, mid);
      if (om) {
        if (om->g != gid)
          return v2_fail(s->err, ev->off,
                         "inconsistent thread for syscalling goroutine %llu: thread %llu runs %llu",
                         (unsigned long long)gid, (unsigned long long)mid,
                         (unsigned long long)om->g);
        c->g = om->g;
        c->gr = g;
      } else {
        om = v2_m_get(s, mid);
        if (!om)
          return v2_fail(s->err, ev->off, "more than %d threads", V2_MAX_THREADS);
        om->g = gid;
        om->gr = g;
      }
      c->m = mid;
    }
  }
  return v2_emit(s, ev, ev->type, c, ev->args, g, NULL, old, wire_g_state[st], NULL);
}

/* type is a constant at each call: v2_emit folds. */
static inline __attribute__((always_inline)) int go_create(struct v2_state *s, struct v2_event *ev,
                                                           struct v2_ctx *c, uint8_t type) {
  uint64_t gid = ev->args[0];
  struct v2_g *cur, *g;
  int rc = v2_need(s, ev, c, MUST, MUST, MAY);
  bool blocked = type == V2_EV_GO_CREATE_BLOCKED;
  if (rc < 0)
    return rc;
  cur = v2_cur_g(s, c);
  if (cur && cur->status != V2_G_RUNNING)
    return v2_fail(s->err, ev->off, "%s by goroutine %llu that is not running",
                   v2_type_name(ev->type), (unsigned long long)c->g);
  if (gid == V2_NONE || v2_g_lookup(s, gid))
    return v2_fail(s->err, ev->off, "goroutine %llu created twice", (unsigned long long)gid);
  g = v2_g_new(s, gid);
  if (!g)
    return v2_fail(s->err, ev->off, "more than %d live goroutines", V2_MAX_LIVE_G);
  g->status = blocked ? V2_G_WAITING : V2_G_RUNNABLE;
  g->seq_gen = s->gen->num;
  g->astate = GS_NOTEXIST;
  return v2_emit(s, ev, type, c, ev->args, g, NULL, GS_NOTEXIST, blocked ? GS_WAITING : GS_RUNNABLE,
                 NULL);
}

static int go_create_syscall(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c,
                             struct v2_ctx *n) {
  uint64_t gid = ev->args[0];
  struct v2_g *g;
  int rc = v2_need(s, ev, c, MUST, MAY, NO);
  if (rc < 0)
    return rc;
  if (gid == V2_NONE || v2_g_lookup(s, gid))
    return v2_fail(s->err, ev->off, "goroutine %llu created twice", (unsigned long long)gid);
  g = v2_g_new(s, gid);
  if (!g)
    return v2_fail(s->err, ev->off, "more than %d live goroutines", V2_MAX_LIVE_G);
  g->status = V2_G_SYSCALL;
  g->seq_gen = s->gen->num;
  g->astate = GS_NOTEXIST;
  n->g = gid;
  n->gr = g;
  return v2_emit(s, ev, V2_EV_GO_CREATE_SYSCALL, c, ev->args, g, NULL, GS_NOTEXIST, GS_SYSCALL,
                 NULL);
}

/* GoDestroy, GoStop, GoBlock: the running goroutine leaves its thread
 * (type is a constant at each call). */
static inline __attribute__((always_inline)) int go_stop_exec(struct v2_state *s,
                                                              struct v2_event *ev, struct v2_ctx *c,
                                                              struct v2_ctx *n, uint8_t type) {
  int rc = v2_user_ctx(s, ev, c), new_state;
  struct v2_g *g;
  if (rc < 0)
    return rc;
  g = running_g(s, ev, c, V2_G_RUNNING, &rc);
  if (!g)
    return rc;
  n->g = V2_NONE;
  if (type == V2_EV_GO_DESTROY) {
    rc = v2_emit(s, ev, V2_EV_GO_DESTROY, c, ev->args, g, NULL, GS_RUNNING, GS_NOTEXIST, NULL);
    v2_an_retire(s, g);
    v2_g_delete(s, g);
    return rc;
  }
  g->status = type == V2_EV_GO_STOP ? V2_G_RUNNABLE : V2_G_WAITING;
  new_state = type == V2_EV_GO_STOP ? GS_RUNNABLE : GS_WAITING;
  return v2_emit(s, ev, type, c, ev->args, g, NULL, GS_RUNNING, new_state, NULL);
}

static inline __attribute__((always_inline)) int go_start(struct v2_state *s, struct v2_event *ev,
                                                          struct v2_ctx *c, struct v2_ctx *n) {
  struct v2_g *g = v2_g_lookup(s, ev->args[0]);
  int rc;
  if (!g || g->status != V2_G_RUNNABLE || !seq_next(s->gen->num, g->seq_gen, g->seq, ev->args[1]))
    return 0;
  rc = v2_need(s, ev, c, MUST, MUST, NO);
  if (rc < 0)
    return rc;
  g->status = V2_G_RUNNING;
  g->seq = ev->args[1];
  n->g = g->id;
  n->gr = g;
  return v2_emit(s, ev, V2_EV_GO_START, c, ev->args, g, NULL, GS_RUNNABLE, GS_RUNNING, NULL);
}

static inline __attribute__((always_inline)) int go_unblock(struct v2_state *s, struct v2_event *ev,
                                                            struct v2_ctx *c, struct v2_ctx *n) {
  struct v2_g *g = v2_g_lookup(s, ev->args[0]);
  if (!g || g->status != V2_G_WAITING || !seq_next(s->gen->num, g->seq_gen, g->seq, ev->args[1]))
    return 0;
  g->status = V2_G_RUNNABLE;
  g->seq = ev->args[1];
  /* Anything may unblock a goroutine (e.g. sysmon): no context to check. */
  return v2_emit(s, ev, V2_EV_GO_UNBLOCK, c, ev->args, g, NULL, GS_WAITING, GS_RUNNABLE, NULL);
}

/* GoSwitch(Destroy): unblock next, block (or destroy) current, start next. */
static int go_switch(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  static const uint64_t no_args[4] = {0, 0, 0, 0};
  struct v2_g *cur, *next;
  struct v2_ctx sc;
  int rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  cur = running_g(s, ev, c, V2_G_RUNNING, &rc);
  if (!cur)
    return rc;
  next = v2_g_lookup(s, ev->args[0]);
  if (!next || next->status != V2_G_WAITING ||
      !seq_next(s->gen->num, next->seq_gen, next->seq, ev->args[1]))
    return 0;
  rc = v2_emit(s, ev, ev->type, c, ev->args, next, NULL, GS_WAITING, GS_RUNNABLE, NULL);
  if (rc < 0)
    return rc;
  if (ev->type == V2_EV_GO_SWITCH) {
    cur->status = V2_G_WAITING;
    rc = v2_emit(s, ev, V2_EV_GO_BLOCK, c, no_args, cur, NULL, GS_RUNNING, GS_WAITING, NULL);
  } else {
    rc = v2_emit(s, ev, V2_EV_GO_DESTROY, c, no_args, cur, NULL, GS_RUNNING, GS_NOTEXIST, NULL);
    v2_an_retire(s, cur);
    v2_g_delete(s, cur);
  }
  if (rc < 0)
    return rc;
  next->status = V2_G_RUNNING;
  next->seq = ev->args[1];
  n->g = next->id;
  n->gr = next;
  sc = *c;
  sc.g = V2_NONE;
  return v2_emit(s, ev, V2_EV_GO_START, &sc, ev->args, next, NULL, GS_RUNNABLE, GS_RUNNING, NULL);
}

static inline __attribute__((always_inline)) int
syscall_begin(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  int rc = v2_user_ctx(s, ev, c);
  struct v2_g *g;
  struct v2_p *p;
  if (rc < 0)
    return rc;
  g = running_g(s, ev, c, V2_G_RUNNING, &rc);
  if (!g)
    return rc;
  p = v2_p_lookup(s, c->p);
  if (!p)
    return v2_fail(s->err, ev->off, "GoSyscallBegin on unknown proc %llu",
                   (unsigned long long)c->p);
  if (!seq_next(s->gen->num, p->seq_gen, p->seq, ev->args[0]))
    return v2_fail(s->err, ev->off, "GoSyscallBegin: proc %llu sequence %llu does not follow %llu",
                   (unsigned long long)p->id, (unsigned long long)ev->args[0],
                   (unsigned long long)p->seq);
  g->status = V2_G_SYSCALL;
  p->status = V2_P_SYSCALL;
  p->seq = ev->args[0];
  return v2_emit(s, ev, V2_EV_GO_SYSCALL_BEGIN, c, ev->args, g, NULL, GS_RUNNING, GS_SYSCALL, NULL);
}

static inline __attribute__((always_inline)) int
syscall_end(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  int rc = v2_user_ctx(s, ev, c);
  struct v2_g *g;
  struct v2_p *p;
  if (rc < 0)
    return rc;
  g = running_g(s, ev, c, V2_G_SYSCALL, &rc);
  if (!g)
    return rc;
  p = v2_p_lookup(s, c->p);
  if (!p || p->status != V2_P_SYSCALL)
    return v2_fail(s->err, ev->off, "GoSyscallEnd: proc %llu is not in a syscall",
                   (unsigned long long)c->p);
  g->status = V2_G_RUNNING;
  p->status = V2_P_RUNNING;
  return v2_emit(s, ev, V2_EV_GO_SYSCALL_END, c, ev->args, g, NULL, GS_SYSCALL, GS_RUNNING, NULL);
}

static int syscall_end_blocked(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c,
                               struct v2_ctx *n) {
  struct v2_g *g;
  int rc;
  if (c->p != V2_NONE) {
    struct v2_p *p = v2_p_lookup(s, c->p);
    if (!p)
      return v2_fail(s->err, ev->off, "GoSyscallEndBlocked on unknown proc %llu",
                     (unsigned long long)c->p);
    if (p->status == V2_P_SYSCALL)
      return 0; /* wait until the proc is stopped or stolen */
  }
  rc = v2_need(s, ev, c, MUST, MAY, MUST);
  if (rc < 0)
    return rc;
  g = running_g(s, ev, c, V2_G_SYSCALL, &rc);
  if (!g)
    return rc;
  g->status = V2_G_RUNNABLE;
  n->g = V2_NONE;
  return v2_emit(s, ev, V2_EV_GO_SYSCALL_END_BLOCKED, c, ev->args, g, NULL, GS_SYSCALL, GS_RUNNABLE,
                 NULL);
}

static int destroy_syscall(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c,
                           struct v2_ctx *n) {
  int rc = v2_need(s, ev, c, MUST, MAY, MUST);
  struct v2_g *g;
  if (rc < 0)
    return rc;
  g = running_g(s, ev, c, V2_G_SYSCALL, &rc);
  if (!g)
    return rc;
  n->g = V2_NONE;
  if (c->p != V2_NONE) {
    /* The thread id may be reused: treat the proc as lost (an extra
     * self-steal, as the reference reader does). */
    struct v2_p *p = v2_p_lookup(s, c->p);
    uint64_t steal[4] = {c->p, 0, c->m, 0};
    if (!p || p->status != V2_P_SYSCALL)
      return v2_fail(s->err, ev->off, "GoDestroySyscall: proc %llu is not in a syscall",
                     (unsigned long long)c->p);
    p->status = V2_P_ABANDONED;
    n->p = V2_NONE;
    rc = v2_emit(s, ev, V2_EV_PROC_STEAL, c, steal, NULL, p, PS_RUNNING, PS_IDLE, NULL);
    if (rc < 0)
      return rc;
  }
  rc =
      v2_emit(s, ev, V2_EV_GO_DESTROY_SYSCALL, c, ev->args, g, NULL, GS_SYSCALL, GS_NOTEXIST, NULL);
  v2_an_retire(s, g);
  v2_g_delete(s, g);
  return rc;
}

static int dispatch(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c, struct v2_ctx *n) {
  int rc;
  switch (ev->type) {
  case V2_EV_PROC_STATUS:
    return proc_status(s, ev, c, n);
  case V2_EV_PROC_START:
    return proc_start(s, ev, c, n);
  case V2_EV_PROC_STOP:
    return proc_stop(s, ev, c, n);
  case V2_EV_PROC_STEAL:
    return proc_steal(s, ev, c, n);
  case V2_EV_GO_STATUS:
  case V2_EV_GO_STATUS_STACK:
    return go_status(s, ev, c, n);
  case V2_EV_GO_CREATE:
    return go_create(s, ev, c, V2_EV_GO_CREATE);
  case V2_EV_GO_CREATE_BLOCKED:
    return go_create(s, ev, c, V2_EV_GO_CREATE_BLOCKED);
  case V2_EV_GO_CREATE_SYSCALL:
    return go_create_syscall(s, ev, c, n);
  case V2_EV_GO_DESTROY:
    return go_stop_exec(s, ev, c, n, V2_EV_GO_DESTROY);
  case V2_EV_GO_STOP:
    return go_stop_exec(s, ev, c, n, V2_EV_GO_STOP);
  case V2_EV_GO_BLOCK:
    return go_stop_exec(s, ev, c, n, V2_EV_GO_BLOCK);
  case V2_EV_GO_START:
    return go_start(s, ev, c, n);
  case V2_EV_GO_UNBLOCK:
    return go_unblock(s, ev, c, n);
  case V2_EV_GO_SWITCH:
  case V2_EV_GO_SWITCH_DESTROY:
    return go_switch(s, ev, c, n);
  case V2_EV_GO_SYSCALL_BEGIN:
    return syscall_begin(s, ev, c, n);
  case V2_EV_GO_SYSCALL_END:
    return syscall_end(s, ev, c, n);
  case V2_EV_GO_SYSCALL_END_BLOCKED:
    return syscall_end_blocked(s, ev, c, n);
  case V2_EV_GO_DESTROY_SYSCALL:
    return destroy_syscall(s, ev, c, n);
  case V2_EV_TASK_BEGIN:
    return v2_task_begin(s, ev, c);
  case V2_EV_TASK_END:
    return v2_task_end(s, ev, c);
  case V2_EV_REGION_BEGIN:
  case V2_EV_REGION_END:
    return v2_region(s, ev, c);
  case V2_EV_GC_ACTIVE:
  case V2_EV_GC_BEGIN:
  case V2_EV_GC_END:
    return v2_gc_event(s, ev, c);
  case V2_EV_GC_SWEEP_ACTIVE:
  case V2_EV_GC_SWEEP_BEGIN:
  case V2_EV_GC_SWEEP_END:
    return v2_sweep(s, ev, c);
  case V2_EV_STW_BEGIN:
  case V2_EV_STW_END:
  case V2_EV_GC_ASSIST_ACTIVE:
  case V2_EV_GC_ASSIST_BEGIN:
  case V2_EV_GC_ASSIST_END:
    return v2_go_range(s, ev, c);
  case V2_EV_HEAP_ALLOC:
  case V2_EV_HEAP_GOAL:
    /* The most frequent event: straight to the analysis. */
    rc = v2_need(s, ev, c, MUST, MUST, MAY);
    if (rc < 0)
      return rc;
    v2_an_heap(s, ev->type, ev->time, ev->args[0]);
    return 1;
  case V2_EV_PROCS_CHANGE:
    if (ev->args[0] > V2_MAX_GOMAXPROCS)
      return v2_fail(s->err, ev->off, "GOMAXPROCS %llu out of range (maximum %d)",
                     (unsigned long long)ev->args[0], V2_MAX_GOMAXPROCS);
    /* fallthrough */
  case V2_EV_GO_LABEL:
  case V2_EV_USER_LOG:
    rc = v2_user_ctx(s, ev, c);
    break;
  default: /* experimental events */
    rc = v2_need(s, ev, c, MUST, MAY, MAY);
  }
  if (rc < 0)
    return rc;
  return v2_emit(s, ev, ev->type, c, ev->args, NULL, NULL, 0, 0, NULL);
}

int v2_order_advance(struct v2_state *s, struct v2_event *ev, uint64_t m, uint32_t mi) {
  struct v2_ctx c, n;
  int rc;
  c.g = c.p = V2_NONE;
  c.m = m;
  c.gr = NULL;
  if (mi != V2_IDX_NONE) {
    const struct v2_m *ms = &s->ms[mi];
    c.g = ms->g;
    c.p = ms->p;
    c.gr = ms->gr;
  }
  n = c;
  rc = dispatch(s, ev, &c, &n);
  if (rc <= 0)
    return rc;
  if (mi != V2_IDX_NONE) {
    struct v2_m *ms = &s->ms[mi];
    if (n.p != ms->p && n.p != V2_NONE) {
      struct v2_p *p = v2_p_lookup(s, n.p);
      if (p)
        p->m_hint = mi + 1;
    }
    ms->g = n.g;
    ms->p = n.p;
    ms->gr = n.g == V2_NONE ? NULL : n.gr;
  }
  return 1;
}

/* The frequent events of a known thread (nine in ten of those that reach
 * the state machine): the same handlers, with the event type a constant
 * and only what each of them can change written back to the thread. */
int v2_order_thread(struct v2_state *s, struct v2_event *ev, uint32_t mi) {
  struct v2_m *ms = &s->ms[mi];
  struct v2_ctx c, n;
  int rc;
  c.g = ms->g;
  c.p = ms->p;
  c.m = ms->id;
  c.gr = ms->gr;
  n = c;
  switch (ev->type) {
  case V2_EV_GO_START:
    rc = go_start(s, ev, &c, &n);
    if (rc > 0) { /* n.g is the started goroutine, n.p unchanged */
      ms->g = n.g;
      ms->gr = n.gr;
    }
    return rc;
  case V2_EV_GO_STOP:
    rc = go_stop_exec(s, ev, &c, &n, V2_EV_GO_STOP);
    break;
  case V2_EV_GO_BLOCK:
    rc = go_stop_exec(s, ev, &c, &n, V2_EV_GO_BLOCK);
    break;
  case V2_EV_GO_DESTROY:
    rc = go_stop_exec(s, ev, &c, &n, V2_EV_GO_DESTROY);
    break;
  case V2_EV_GO_UNBLOCK:
    return go_unblock(s, ev, &c, &n);
  case V2_EV_GO_SYSCALL_BEGIN:
    return syscall_begin(s, ev, &c, &n);
  case V2_EV_GO_SYSCALL_END:
    return syscall_end(s, ev, &c, &n);
  case V2_EV_GO_CREATE:
    return go_create(s, ev, &c, V2_EV_GO_CREATE);
  case V2_EV_GC_ASSIST_BEGIN:
    return v2_assist_range(s, ev, &c, V2_EV_GC_ASSIST_BEGIN);
  case V2_EV_GC_ASSIST_END:
    return v2_assist_range(s, ev, &c, V2_EV_GC_ASSIST_END);
  default:
    return v2_order_advance(s, ev, ms->id, mi);
  }
  if (rc > 0) { /* the goroutine left the thread, n.p unchanged */
    ms->g = V2_NONE;
    ms->gr = NULL;
  }
  return rc;
}
