/* Old-format traces, pass 1: record decoding (doc 2.2/2.3) and the index of
 * strings, stacks, batches per P and CPU samples. */
#include "config.h"

#include "gotrace_v1.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STRING_LEN 1000000 /* Go's reader rejects longer strings */
#define MAX_STACK_FRAMES 1000  /* ditto for stack depth */

/* Wire argument counts (timestamp and stack included) for version 1.10
 * and later, the first version each type exists in, and whether the last
 * argument is a stack id. Names follow the format doc. */
static const struct {
  const char *name;
  uint8_t nargs;
  uint8_t since;
  bool stack;
} desc[V1_COUNT] = {
    [V1_BATCH] = {"Batch", 2, 5, false},
    [V1_FREQUENCY] = {"Frequency", 1, 5, false},
    [V1_STACK] = {"Stack", 0, 5, false},
    [V1_GOMAXPROCS] = {"Gomaxprocs", 3, 5, true},
    [V1_PROC_START] = {"ProcStart", 2, 5, false},
    [V1_PROC_STOP] = {"ProcStop", 1, 5, false},
    [V1_GC_START] = {"GCStart", 3, 5, true},
    [V1_GC_DONE] = {"GCDone", 1, 5, false},
    [V1_STW_START] = {"GCSTWStart", 2, 5, false},
    [V1_STW_DONE] = {"GCSTWDone", 1, 5, false},
    [V1_SWEEP_START] = {"GCSweepStart", 2, 5, true},
    [V1_SWEEP_DONE] = {"GCSweepDone", 3, 5, false},
    [V1_GO_CREATE] = {"GoCreate", 4, 5, true},
    [V1_GO_START] = {"GoStart", 3, 5, false},
    [V1_GO_END] = {"GoEnd", 1, 5, false},
    [V1_GO_STOP] = {"GoStop", 2, 5, true},
    [V1_GO_SCHED] = {"GoSched", 2, 5, true},
    [V1_GO_PREEMPT] = {"GoPreempt", 2, 5, true},
    [V1_GO_SLEEP] = {"GoSleep", 2, 5, true},
    [V1_GO_BLOCK] = {"GoBlock", 2, 5, true},
    [V1_GO_UNBLOCK] = {"GoUnblock", 4, 5, true},
    [V1_GO_BLOCK_SEND] = {"GoBlockSend", 2, 5, true},
    [V1_GO_BLOCK_RECV] = {"GoBlockRecv", 2, 5, true},
    [V1_GO_BLOCK_SELECT] = {"GoBlockSelect", 2, 5, true},
    [V1_GO_BLOCK_SYNC] = {"GoBlockSync", 2, 5, true},
    [V1_GO_BLOCK_COND] = {"GoBlockCond", 2, 5, true},
    [V1_GO_BLOCK_NET] = {"GoBlockNet", 2, 5, true},
    [V1_GO_SYSCALL] = {"GoSysCall", 2, 5, true},
    [V1_GO_SYS_EXIT] = {"GoSysExit", 4, 5, false},
    [V1_GO_SYS_BLOCK] = {"GoSysBlock", 1, 5, false},
    [V1_GO_WAITING] = {"GoWaiting", 2, 5, false},
    [V1_GO_IN_SYSCALL] = {"GoInSyscall", 2, 5, false},
    [V1_HEAP_ALLOC] = {"HeapAlloc", 2, 5, false},
    [V1_HEAP_GOAL] = {"HeapGoal", 2, 5, false},
    [V1_TIMER_GOROUTINE] = {"TimerGoroutine", 1, 5, false},
    [V1_FUTILE_WAKEUP] = {"FutileWakeup", 1, 5, false},
    [V1_STRING] = {"String", 0, 7, false},
    [V1_GO_START_LOCAL] = {"GoStartLocal", 2, 7, false},
    [V1_GO_UNBLOCK_LOCAL] = {"GoUnblockLocal", 3, 7, true},
    [V1_GO_SYS_EXIT_LOCAL] = {"GoSysExitLocal", 3, 7, false},
    [V1_GO_START_LABEL] = {"GoStartLabel", 4, 8, false},
    [V1_GO_BLOCK_GC] = {"GoBlockGC", 2, 8, true},
    [V1_ASSIST_START] = {"GCMarkAssistStart", 2, 9, true},
    [V1_ASSIST_DONE] = {"GCMarkAssistDone", 1, 9, false},
    [V1_USER_TASK_CREATE] = {"UserTaskCreate", 5, 11, true},
    [V1_USER_TASK_END] = {"UserTaskEnd", 3, 11, true},
    [V1_USER_REGION] = {"UserRegion", 5, 11, true},
    [V1_USER_LOG] = {"UserLog", 4, 11, true},
    [V1_CPU_SAMPLE] = {"CPUSample", 5, 19, true},
};

const char *v1_type_name(int type, int minor) {
  if (type <= V1_NONE || type >= V1_COUNT)
    return "None";
  if (minor >= 21 && type == V1_STW_START)
    return "STWStart";
  if (minor >= 21 && type == V1_STW_DONE)
    return "STWDone";
  return desc[type].name;
}

unsigned v1_type_nargs(int type, int minor) {
  unsigned n = desc[type].nargs;
  if (type == V1_SWEEP_DONE && minor < 9)
    n -= 2; /* swept/reclaimed came with 1.9 */
  if (type == V1_STW_START && minor < 10)
    n -= 1; /* the kind came with 1.10 */
  return n;
}

bool v1_type_has_stack(int type) {
  return type > V1_NONE && type < V1_COUNT && desc[type].stack;
}

int v1_errf(char **ret_err, size_t off, const char *fmt, ...) {
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  free(*ret_err);
  *ret_err = xasprintf("offset %zu: %s", off, msg ? msg : "corrupt trace");
  free(msg);
  return -EPROTO;
}

/* Unsigned LEB128, at most 10 bytes; padded encodings are accepted.
 * Returns 0, or -1 when truncated, -2 when malformed. */
static inline int uvarint(const uint8_t *p, size_t end, size_t *pos, uint64_t *ret) {
  uint64_t v = 0;
  size_t i = *pos;

  if (i < end && p[i] < 0x80) { /* the common case: one byte */
    *ret = p[i];
    *pos = i + 1;
    return 0;
  }

  for (int n = 0; n < 10; n++) {
    uint8_t b;
    if (i >= end)
      return -1;
    b = p[i++];
    if (n == 9 && b > 1)
      return -2; /* more than 64 bits, or an 11th byte */
    v |= (uint64_t)(b & 0x7f) << (7 * n);
    if (!(b & 0x80)) {
      *pos = i;
      *ret = v;
      return 0;
    }
  }
  return -2;
}

static int varint_err(char **ret_err, int r, size_t off, const char *what) {
  if (r == -1)
    return v1_errf(ret_err, off, "truncated %s", what);
  return v1_errf(ret_err, off, "malformed varint in %s", what);
}

int v1_record_read(const struct v1_trace *t, size_t *pos, size_t end, struct v1_record *rec,
                   char **ret_err) {
  const uint8_t *p = t->data;
  size_t i = *pos;
  unsigned narg;
  uint8_t b;
  int r;

  rec->off = i;
  rec->nargs = 0;
  rec->area = rec->str = NULL;
  rec->area_len = rec->str_len = 0;
  if (i >= end)
    return v1_errf(ret_err, i, "truncated record");
  b = p[i++];
  rec->type = b & 0x3f;
  narg = (b >> 6) + 1;
  if (!t->valid[rec->type])
    return v1_errf(ret_err, rec->off, "unknown event type %u", rec->type);
  if (rec->type == V1_STRING) {
    uint64_t id, len;
    r = uvarint(p, end, &i, &id);
    if (r == 0)
      r = uvarint(p, end, &i, &len);
    if (r < 0)
      return varint_err(ret_err, r, rec->off, "string record");
    if (id == 0)
      return v1_errf(ret_err, rec->off, "string has invalid id 0");
    if (len == 0 || len > MAX_STRING_LEN)
      return v1_errf(ret_err, rec->off, "string has invalid length %" PRIu64, len);
    if (len > end - i)
      return v1_errf(ret_err, rec->off, "truncated string");
    rec->args[0] = id;
    rec->nargs = 1;
    rec->str = p + i;
    rec->str_len = (size_t)len;
    *pos = i + (size_t)len;
    return 0;
  }
  if (narg < 4) {
    if (rec->type == V1_STACK)
      rec->area = p + i; /* inline arguments: the same varint sequence */
    for (unsigned k = 0; k < narg; k++) {
      r = uvarint(p, end, &i, &rec->args[k]);
      if (r < 0)
        return varint_err(ret_err, r, rec->off, desc[rec->type].name);
    }
    rec->nargs = narg;
    if (rec->type == V1_STACK)
      rec->area_len = (size_t)(p + i - rec->area);
  } else {
    uint64_t len;
    size_t aend;
    r = uvarint(p, end, &i, &len);
    if (r < 0)
      return varint_err(ret_err, r, rec->off, desc[rec->type].name);
    if (len > end - i)
      return v1_errf(ret_err, rec->off, "truncated %s", desc[rec->type].name);
    aend = i + (size_t)len;
    if (rec->type == V1_STACK) {
      rec->area = p + i;
      rec->area_len = (size_t)len;
      i = aend;
    } else {
      while (i < aend) {
        if (rec->nargs == ARRAY_SIZE(rec->args))
          return v1_errf(ret_err, rec->off, "%s has too many arguments", desc[rec->type].name);
        r = uvarint(p, aend, &i, &rec->args[rec->nargs]);
        if (r < 0)
          return v1_errf(ret_err, rec->off, "%s has the wrong length", desc[rec->type].name);
        rec->nargs++;
      }
    }
  }
  if (rec->type == V1_USER_LOG) {
    uint64_t len;
    r = uvarint(p, end, &i, &len);
    if (r < 0)
      return varint_err(ret_err, r, rec->off, "log message");
    if (len > MAX_STRING_LEN || len > end - i)
      return v1_errf(ret_err, rec->off, "truncated log message");
    rec->str = p + i;
    rec->str_len = (size_t)len;
    i += (size_t)len;
  }
  if (rec->nargs != t->nargs[rec->type] && rec->type != V1_STACK)
    return v1_errf(ret_err, rec->off, "%s has the wrong number of arguments: want %u, got %u",
                   desc[rec->type].name, v1_type_nargs(rec->type, t->minor), rec->nargs);
  *pos = i;
  return 0;
}

/* Stored strings are valid UTF-8 without NULs (they end up in JSON and
 * SQLite): invalid bytes become '?'. */
static size_t utf8_seq_len(const uint8_t *s, size_t n) {
  uint8_t c = s[0];
  size_t len;
  uint32_t cp;

  if (c >= 0x01 && c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, cp = c & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[k] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

static int add_string(struct v1_trace *t, const struct v1_record *rec, char **ret_err) {
  uint32_t idx;
  size_t at;
  int r;

  if (idmap_get(&t->str_ids, rec->args[0], &idx))
    return v1_errf(ret_err, rec->off, "duplicate string id %" PRIu64, rec->args[0]);
  if (gotrace_grow(&t->strbuf, &t->strbuf_cap, t->strbuf_len + rec->str_len + 1, 1) < 0 ||
      gotrace_grow(&t->str_off, &t->cap_str, t->n_str + 1, sizeof(*t->str_off)) < 0)
    return -ENOMEM;
  at = t->strbuf_len;
  for (size_t k = 0; k < rec->str_len;) {
    size_t n = utf8_seq_len(rec->str + k, rec->str_len - k);
    if (n == 0) {
      t->strbuf[t->strbuf_len++] = '?';
      k++;
    } else {
      memcpy(t->strbuf + t->strbuf_len, rec->str + k, n);
      t->strbuf_len += n;
      k += n;
    }
  }
  t->strbuf[t->strbuf_len++] = '\0';
  t->str_off[t->n_str] = at;
  r = idmap_put(&t->str_ids, rec->args[0], (uint32_t)t->n_str);
  if (r < 0)
    return r;
  t->n_str++;
  return 0;
}

const char *v1_string(const struct v1_trace *t, uint64_t id) {
  uint32_t idx;
  if (!idmap_get(&t->str_ids, id, &idx))
    return "";
  return t->strbuf + t->str_off[idx];
}

static int add_stack(struct v1_trace *t, const struct v1_record *rec, char **ret_err) {
  size_t i = 0, n = rec->area_len;
  uint64_t id, nframes;
  int r;

  r = uvarint(rec->area, n, &i, &id);
  if (r == 0)
    r = uvarint(rec->area, n, &i, &nframes);
  if (r < 0)
    return v1_errf(ret_err, rec->off, "Stack has the wrong number of arguments");
  if (nframes > MAX_STACK_FRAMES)
    return v1_errf(ret_err, rec->off, "Stack has a bad number of frames: %" PRIu64, nframes);
  if (gotrace_grow(&t->frames, &t->cap_frames, t->n_frames + nframes, sizeof(*t->frames)) < 0)
    return -ENOMEM;
  for (uint64_t k = 0; k < nframes; k++) {
    struct v1_frame *f = &t->frames[t->n_frames + k];
    uint64_t v[4];
    for (int j = 0; j < 4; j++) {
      r = uvarint(rec->area, n, &i, &v[j]);
      if (r < 0)
        return v1_errf(ret_err, rec->off, "Stack has the wrong number of arguments");
    }
    f->pc = v[0];
    f->fn = v[1];
    f->file = v[2];
    f->line = v[3];
  }
  if (i != n)
    return v1_errf(ret_err, rec->off, "Stack has the wrong number of arguments");
  /* Like Go's reader: id 0 or no frames is not stored; a repeated id
   * replaces the earlier stack. */
  if (id == 0 || nframes == 0)
    return 0;
  if (t->n_stacks >= UINT32_MAX || t->n_frames + nframes >= UINT32_MAX)
    return v1_errf(ret_err, rec->off, "too many stacks");
  if (gotrace_grow(&t->stacks, &t->cap_stacks, t->n_stacks + 1, sizeof(*t->stacks)) < 0)
    return -ENOMEM;
  t->stacks[t->n_stacks].first = (uint32_t)t->n_frames;
  t->stacks[t->n_stacks].n = (uint32_t)nframes;
  t->n_frames += nframes;
  r = idmap_put(&t->stack_ids, id, (uint32_t)t->n_stacks);
  if (r < 0)
    return r;
  t->n_stacks++;
  return 0;
}

const struct v1_stack *v1_stack_get(const struct v1_trace *t, uint64_t id) {
  uint32_t idx;
  if (id == 0 || !idmap_get(&t->stack_ids, id, &idx))
    return NULL;
  return &t->stacks[idx];
}

static int add_batch(struct v1_trace *t, const struct v1_record *rec, size_t start,
                     char **ret_err) {
  int64_t p = (int64_t)rec->args[0];
  uint32_t si;
  struct v1_stream *s;
  struct v1_batch *b;
  int r;

  if (rec->args[1] > INT64_MAX)
    return v1_errf(ret_err, rec->off, "batch timestamp out of range");
  if (t->n_batches >= UINT32_MAX - 1)
    return v1_errf(ret_err, rec->off, "too many batches");
  if (t->n_batches)
    t->batches[t->n_batches - 1].end = rec->off;
  if (gotrace_grow(&t->batches, &t->cap_batches, t->n_batches + 1, sizeof(*t->batches)) < 0)
    return -ENOMEM;
  b = &t->batches[t->n_batches];
  b->start = start;
  b->end = t->len;
  b->base = (int64_t)rec->args[1];
  b->next = V1_NO_INDEX;
  if (!idmap_get(&t->stream_ids, (uint64_t)p, &si)) {
    if (gotrace_grow(&t->streams, &t->cap_streams, t->n_streams + 1, sizeof(*t->streams)) < 0)
      return -ENOMEM;
    si = (uint32_t)t->n_streams;
    r = idmap_put(&t->stream_ids, (uint64_t)p, si);
    if (r < 0)
      return r;
    s = &t->streams[t->n_streams++];
    memset(s, 0, sizeof(*s));
    s->p = p;
    s->first_batch = (uint32_t)t->n_batches;
  } else {
    s = &t->streams[si];
    t->batches[s->last_batch].next = (uint32_t)t->n_batches;
  }
  s->last_batch = (uint32_t)t->n_batches;
  t->n_batches++;
  return 0;
}

static int add_cpu_sample(struct v1_trace *t, const struct v1_record *rec, char **ret_err) {
  struct v1_event *ev;

  if (rec->args[1] > INT64_MAX)
    return v1_errf(ret_err, rec->off, "CPU sample timestamp out of range");
  if (gotrace_grow(&t->cpu, &t->cap_cpu, t->n_cpu + 1, sizeof(*t->cpu)) < 0)
    return -ENOMEM;
  ev = &t->cpu[t->n_cpu];
  memset(ev, 0, sizeof(*ev));
  ev->type = V1_CPU_SAMPLE;
  ev->ts = (int64_t)rec->args[1];
  ev->p = (int64_t)rec->args[2];
  ev->g = rec->args[3];
  ev->stk = rec->args[4];
  ev->off = rec->off;
  ev->idx = t->n_cpu; /* for a stable sort */
  ev->si = V1_NO_INDEX;
  ev->ti = V1_NO_INDEX;
  t->n_cpu++;
  return 0;
}

static int cmp_cpu(const void *a, const void *b) {
  const struct v1_event *x = a, *y = b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Versions Go wrote in this format (1.5 used another encoding). */
static bool minor_supported(int minor) {
  return minor == 7 || minor == 8 || minor == 9 || minor == 10 || minor == 11 || minor == 19 ||
         minor == 21;
}

static int parse_minor(const uint8_t *p, size_t len) {
  int minor = 0, digits = 0;
  size_t i;

  if (len < 16 || memcmp(p, "go 1.", 5) != 0)
    return -1;
  for (i = 5; i < 16 && p[i] >= '0' && p[i] <= '9' && digits < 3; i++, digits++)
    minor = minor * 10 + (p[i] - '0');
  if (!digits || i + 6 > 16 || memcmp(p + i, " trace", 6) != 0)
    return -1;
  for (i += 6; i < 16; i++)
    if (p[i] != 0)
      return -1;
  return minor;
}

/* Pass 1 only needs the extent of ordinary timed events (the merge
 * decodes and checks them): skips one with inline arguments after the
 * first batch. Anything unusual is left to v1_record_read(), which
 * reports it. */
static bool skip_timed(struct v1_trace *t, size_t *pos) {
  const uint8_t *p = t->data;
  size_t i = *pos, end = t->len;
  uint8_t b = p[i], type = b & 0x3f;
  unsigned narg = (b >> 6) + 1;

  if (narg > 3 || !t->skippable[type] || narg != t->nargs[type] || !t->n_batches)
    return false;
  i++;
  for (unsigned k = 0; k < narg; k++) {
    size_t start = i;
    while (i < end && (p[i] & 0x80) && i - start < 9)
      i++;
    if (i >= end || (p[i] & 0x80))
      return false;
    i++;
  }
  t->raw_counts[type]++;
  *pos = i;
  return true;
}

int v1_trace_read(struct v1_trace *t, const uint8_t *data, size_t len, char **ret_err) {
  struct v1_record rec;
  size_t pos = 16;
  bool have_events = false;
  int r;

  memset(t, 0, sizeof(*t));
  idmap_init(&t->str_ids);
  idmap_init(&t->stack_ids);
  idmap_init(&t->stream_ids);
  idmap_init(&t->timer_gs);
  t->data = data;
  t->len = len;
  t->minor = parse_minor(data, len);
  if (t->minor < 0)
    return v1_errf(ret_err, 0, "not a Go execution trace (bad header)");
  if (!minor_supported(t->minor)) {
    free(*ret_err);
    *ret_err = xasprintf("unsupported trace version go 1.%d", t->minor);
    return -ENOTSUP;
  }
  for (int k = V1_NONE + 1; k < V1_COUNT; k++) {
    t->valid[k] = desc[k].since <= t->minor;
    t->nargs[k] = (uint8_t)v1_type_nargs(k, t->minor);
    t->stack[k] = desc[k].stack;
    t->skippable[k] = t->valid[k] && k != V1_BATCH && k != V1_FREQUENCY && k != V1_STACK &&
                      k != V1_STRING && k != V1_TIMER_GOROUTINE && k != V1_CPU_SAMPLE;
  }
  while (pos < len) {
    if (skip_timed(t, &pos)) {
      have_events = true;
      continue;
    }
    r = v1_record_read(t, &pos, len, &rec, ret_err);
    if (r < 0)
      return r;
    t->raw_counts[rec.type]++;
    switch (rec.type) {
    case V1_BATCH:
      r = add_batch(t, &rec, pos, ret_err);
      break;
    case V1_FREQUENCY:
      t->freq = (int64_t)rec.args[0];
      if (t->freq <= 0)
        r = v1_errf(ret_err, rec.off, "invalid frequency %" PRIu64, rec.args[0]);
      break;
    case V1_STACK:
      r = add_stack(t, &rec, ret_err);
      break;
    case V1_STRING:
      r = add_string(t, &rec, ret_err);
      break;
    case V1_TIMER_GOROUTINE:
      r = idmap_put(&t->timer_gs, rec.args[0], 1);
      break;
    default:
      if (!t->n_batches)
        return v1_errf(ret_err, rec.off, "%s before the first batch", desc[rec.type].name);
      if (rec.type == V1_CPU_SAMPLE)
        r = add_cpu_sample(t, &rec, ret_err);
      have_events = true;
      break;
    }
    if (r < 0)
      return r;
  }
  if (!have_events)
    return v1_errf(ret_err, len, "trace contains no events");
  if (t->freq == 0)
    return v1_errf(ret_err, len, "no Frequency record (truncated trace?)");
  if (t->n_cpu > 1)
    qsort(t->cpu, t->n_cpu, sizeof(*t->cpu), cmp_cpu);
  return 0;
}

void v1_trace_done(struct v1_trace *t) {
  idmap_done(&t->str_ids);
  idmap_done(&t->stack_ids);
  idmap_done(&t->stream_ids);
  idmap_done(&t->timer_gs);
  free(t->str_off);
  free(t->strbuf);
  free(t->stacks);
  free(t->frames);
  free(t->batches);
  free(t->streams);
  free(t->cpu);
  memset(t, 0, sizeof(*t));
}
