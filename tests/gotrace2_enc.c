/* Test-only encoder and transforms for Go 1.22+ execution traces. */
#include "config.h"

#include "gotrace2_enc.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gotrace_v2.h"
#include "testutil.h"
#include "util.h"

void tbuf_put(struct tbuf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = b->cap ? b->cap * 2 : 256;
    while (b->cap < b->len + n)
      b->cap *= 2;
    b->p = xrealloc(b->p, b->cap);
  }
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
}

void tbuf_byte(struct tbuf *b, uint8_t v) {
  tbuf_put(b, &v, 1);
}

void tbuf_uvarint(struct tbuf *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    tbuf_byte(b, c | (v ? 0x80 : 0));
  } while (v);
}

void tbuf_uvarint10(struct tbuf *b, uint64_t v) {
  for (int i = 0; i < 9; i++) {
    tbuf_byte(b, (uint8_t)(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  tbuf_byte(b, (uint8_t)(v & 0x7f));
}

static void put_batch(struct tenc *e, int kind, uint64_t m, uint64_t ts, const struct tbuf *pl) {
  tbuf_byte(&e->out, (uint8_t)kind);
  tbuf_uvarint(&e->out, e->gen);
  tbuf_uvarint(&e->out, m);
  tbuf_uvarint(&e->out, ts);
  tbuf_uvarint10(&e->out, pl->len);
  tbuf_put(&e->out, pl->p, pl->len);
}

void tenc_init(struct tenc *e, int minor) {
  char hdr[16];
  memset(e, 0, sizeof(*e));
  e->minor = minor;
  memset(hdr, 0, sizeof(hdr));
  snprintf(hdr, sizeof(hdr), "go 1.%d trace", minor);
  tbuf_put(&e->out, hdr, 16);
}

void tenc_gen(struct tenc *e, uint64_t gen, uint64_t ts) {
  struct tbuf s = {0};
  e->gen = gen;
  e->base_ts = ts;
  e->strings.len = e->stacks.len = e->cpu.len = 0;
  if (e->skip_sync)
    return;
  if (e->minor >= 25) {
    tbuf_byte(&s, V2_EV_SYNC);
    tbuf_byte(&s, V2_EV_FREQUENCY);
    tbuf_uvarint(&s, 1000000000);
    tbuf_byte(&s, V2_EV_CLOCK_SNAPSHOT);
    tbuf_uvarint(&s, 0);
    tbuf_uvarint(&s, ts);
    tbuf_uvarint(&s, 1700000000);
    tbuf_uvarint(&s, 0);
  } else {
    tbuf_byte(&s, V2_EV_FREQUENCY);
    tbuf_uvarint(&s, 1000000000);
  }
  put_batch(e, V2_EV_BATCH, TE_NONE, ts, &s);
  free(s.p);
}

void tenc_string(struct tenc *e, uint64_t id, const char *str) {
  if (!e->strings.len)
    tbuf_byte(&e->strings, V2_EV_STRINGS);
  tbuf_byte(&e->strings, V2_EV_STRING);
  tbuf_uvarint(&e->strings, id);
  tbuf_uvarint(&e->strings, strlen(str));
  tbuf_put(&e->strings, str, strlen(str));
}

void tenc_stack(struct tenc *e, uint64_t id, size_t n, const struct tframe *f) {
  if (!e->stacks.len)
    tbuf_byte(&e->stacks, V2_EV_STACKS);
  tbuf_byte(&e->stacks, V2_EV_STACK);
  tbuf_uvarint(&e->stacks, id);
  tbuf_uvarint(&e->stacks, n);
  for (size_t i = 0; i < n; i++) {
    tbuf_uvarint(&e->stacks, f[i].pc);
    tbuf_uvarint(&e->stacks, f[i].func);
    tbuf_uvarint(&e->stacks, f[i].file);
    tbuf_uvarint(&e->stacks, f[i].line);
  }
}

void tenc_cpu(struct tenc *e, uint64_t ts, uint64_t m, uint64_t p, uint64_t g, uint64_t stack) {
  if (!e->cpu.len)
    tbuf_byte(&e->cpu, V2_EV_CPU_SAMPLES);
  tbuf_byte(&e->cpu, V2_EV_CPU_SAMPLE);
  tbuf_uvarint(&e->cpu, ts);
  tbuf_uvarint(&e->cpu, m);
  tbuf_uvarint(&e->cpu, p);
  tbuf_uvarint(&e->cpu, g);
  tbuf_uvarint(&e->cpu, stack);
}

void tenc_end_batch(struct tenc *e) {
  if (!e->in_batch)
    return;
  put_batch(e, V2_EV_BATCH, e->bm, e->bts, &e->batch);
  e->batch.len = 0;
  e->in_batch = false;
}

void tenc_batch(struct tenc *e, uint64_t m, uint64_t ts) {
  tenc_end_batch(e);
  e->bm = m;
  e->bts = ts;
  e->last = ts;
  e->in_batch = true;
}

void tenc_ev(struct tenc *e, uint8_t type, uint64_t ts, int n, ...) {
  va_list ap;
  ck_assert_msg(e->in_batch, "event outside a batch");
  tbuf_byte(&e->batch, type);
  tbuf_uvarint(&e->batch, ts - e->last);
  e->last = ts;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    tbuf_uvarint(&e->batch, va_arg(ap, uint64_t));
  va_end(ap);
}

void tenc_raw(struct tenc *e, const void *p, size_t n) {
  tbuf_put(&e->batch, p, n);
}

void tenc_gen_end(struct tenc *e) {
  tenc_end_batch(e);
  if (e->stacks.len)
    put_batch(e, V2_EV_BATCH, TE_NONE, e->base_ts, &e->stacks);
  if (e->strings.len)
    put_batch(e, V2_EV_BATCH, TE_NONE, e->base_ts, &e->strings);
  if (e->cpu.len)
    put_batch(e, V2_EV_BATCH, TE_NONE, e->base_ts, &e->cpu);
  e->strings.len = e->stacks.len = e->cpu.len = 0;
  if (e->minor >= 26 && !e->skip_eog)
    tbuf_byte(&e->out, V2_EV_END_OF_GENERATION);
}

uint8_t *tenc_done(struct tenc *e, size_t *ret_len) {
  uint8_t *p = e->out.p;
  *ret_len = e->out.len;
  free(e->strings.p);
  free(e->stacks.p);
  free(e->cpu.p);
  free(e->batch.p);
  memset(e, 0, sizeof(*e));
  return p;
}

/* ---- transforms of real traces ---- */

struct rbatch {
  size_t start, payload;
  uint8_t kind;
  uint64_t gen, m, ts, size;
  bool eog;
};

static size_t next_batch(const uint8_t *d, size_t len, size_t pos, struct rbatch *b) {
  const uint8_t *end = d + len;
  uint64_t *f[4] = {&b->gen, &b->m, &b->ts, &b->size};
  memset(b, 0, sizeof(*b));
  b->start = pos;
  b->kind = d[pos++];
  if (b->kind == V2_EV_END_OF_GENERATION) {
    b->eog = true;
    return pos;
  }
  ck_assert_int_eq(b->kind, V2_EV_BATCH);
  for (int i = 0; i < 4; i++) {
    size_t k = v2_uvarint(d + pos, end, f[i]);
    ck_assert_uint_gt(k, 0);
    pos += k;
  }
  b->payload = pos;
  return pos + b->size;
}

size_t tr_batch_offsets(const uint8_t *d, size_t len, size_t *offs, size_t max) {
  size_t n = 0, pos = 16;
  struct rbatch b;
  while (pos < len) {
    if (n < max)
      offs[n] = pos;
    n++;
    pos = next_batch(d, len, pos, &b);
  }
  return n;
}

uint8_t *tr_from_generation(const uint8_t *d, size_t len, uint64_t first, size_t *ret_len) {
  struct tbuf out = {0};
  struct rbatch b;
  size_t pos = 16;
  bool on = false;
  tbuf_put(&out, d, 16);
  while (pos < len) {
    size_t next = next_batch(d, len, pos, &b);
    if (!b.eog && b.gen >= first)
      on = true;
    if (on)
      tbuf_put(&out, d + pos, next - pos);
    pos = next;
  }
  *ret_len = out.len;
  return out.p;
}

/* Re-encodes an event batch for go 1.22: GoStatusStack becomes GoStatus. */
static bool to_go122(const uint8_t *p, size_t n, struct tbuf *out) {
  const uint8_t *end = p + n;
  while (p < end) {
    uint8_t t = *p++;
    const struct v2_spec *sp = v2_spec_get(t, 26);
    uint64_t v[5];
    ck_assert_ptr_nonnull(sp);
    for (unsigned i = 0; i <= sp->nargs; i++) {
      size_t k = v2_uvarint(p, end, &v[i]);
      ck_assert_uint_gt(k, 0);
      p += k;
    }
    if (t == V2_EV_GO_STATUS_STACK) {
      t = V2_EV_GO_STATUS;
    } else if (t > V2_EV_USER_LOG) {
      return false;
    }
    tbuf_byte(out, t);
    for (unsigned i = 0; i <= v2_spec_get(t, 22)->nargs; i++)
      tbuf_uvarint(out, v[i]);
  }
  return true;
}

uint8_t *tr_convert(const uint8_t *d, size_t len, int to, size_t *ret_len) {
  struct tbuf out = {0}, pl = {0};
  struct rbatch b;
  size_t pos = 16;
  char hdr[16];
  memset(hdr, 0, sizeof(hdr));
  snprintf(hdr, sizeof(hdr), "go 1.%d trace", to);
  tbuf_put(&out, hdr, 16);
  while (pos < len) {
    size_t next = next_batch(d, len, pos, &b);
    const uint8_t *p = d + b.payload;
    pos = next;
    if (b.eog) {
      if (to >= 26)
        tbuf_byte(&out, V2_EV_END_OF_GENERATION);
      continue;
    }
    pl.len = 0;
    if (b.size && p[0] == V2_EV_SYNC && to < 25) {
      /* {50, {8 freq}, {51 ...}} -> {8 freq} */
      uint64_t f;
      ck_assert_int_eq(p[1], V2_EV_FREQUENCY);
      ck_assert_uint_gt(v2_uvarint(p + 2, p + b.size, &f), 0);
      tbuf_byte(&pl, V2_EV_FREQUENCY);
      tbuf_uvarint(&pl, f);
    } else if (to < 23 && b.size &&
               !(p[0] == V2_EV_STRINGS || p[0] == V2_EV_STACKS || p[0] == V2_EV_CPU_SAMPLES ||
                 p[0] == V2_EV_SYNC)) {
      if (!to_go122(p, b.size, &pl)) {
        free(out.p);
        free(pl.p);
        return NULL;
      }
    } else {
      tbuf_put(&pl, p, b.size);
    }
    tbuf_byte(&out, V2_EV_BATCH);
    tbuf_uvarint(&out, b.gen);
    tbuf_uvarint(&out, b.m);
    tbuf_uvarint(&out, b.ts);
    tbuf_uvarint10(&out, pl.len);
    tbuf_put(&out, pl.p, pl.len);
  }
  free(pl.p);
  *ret_len = out.len;
  return out.p;
}

uint8_t *t_read_data(const char *name, size_t *ret_len) {
  size_t n, len;
  uint8_t *raw = test_read_file(test_data_path(name), &n);
  struct tbuf out = {0};
  z_stream zs;
  uint8_t chunk[65536];
  int rc;
  if (n < 3 || strcmp(name + strlen(name) - 3, ".gz") != 0) {
    *ret_len = n;
    return raw;
  }
  memset(&zs, 0, sizeof(zs));
  ck_assert_int_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = raw;
  zs.avail_in = (uInt)n;
  do {
    zs.next_out = chunk;
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate %s: %d", name, rc);
    len = sizeof(chunk) - zs.avail_out;
    tbuf_put(&out, chunk, len);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  free(raw);
  *ret_len = out.len;
  return out.p;
}
