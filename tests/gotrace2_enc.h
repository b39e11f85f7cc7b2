/* Test-only helpers for the Go 1.22+ trace parser: an encoder that writes
 * synthetic traces event by event, transforms of real traces (other format
 * versions, dropped generations), and small file helpers. */
#ifndef PPROFD_TESTS_GOTRACE2_ENC_H
#define PPROFD_TESTS_GOTRACE2_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tbuf {
  uint8_t *p;
  size_t len, cap;
};

void tbuf_put(struct tbuf *b, const void *p, size_t n);
void tbuf_byte(struct tbuf *b, uint8_t v);
void tbuf_uvarint(struct tbuf *b, uint64_t v);
/* The 10-byte padded form the runtime uses for batch sizes. */
void tbuf_uvarint10(struct tbuf *b, uint64_t v);

#define TE_NONE UINT64_MAX

struct tframe {
  uint64_t pc;
  uint64_t func, file; /* string ids */
  uint64_t line;
};

/* Encoder. The frequency is 1e9 units/s, so timestamps are nanoseconds. */
struct tenc {
  int minor;
  struct tbuf out, strings, stacks, cpu, batch;
  uint64_t gen, base_ts;
  uint64_t bm, bts, last;
  bool in_batch, skip_sync, skip_eog;
};

void tenc_init(struct tenc *e, int minor);
/* Starts a generation with its sync (or frequency) batch at time ts. */
void tenc_gen(struct tenc *e, uint64_t gen, uint64_t ts);
void tenc_string(struct tenc *e, uint64_t id, const char *s);
void tenc_stack(struct tenc *e, uint64_t id, size_t n, const struct tframe *frames);
void tenc_cpu(struct tenc *e, uint64_t ts, uint64_t m, uint64_t p, uint64_t g, uint64_t stack);
/* Starts an event batch of thread m at time ts (ends the previous one). */
void tenc_batch(struct tenc *e, uint64_t m, uint64_t ts);
/* Appends an event at absolute time ts with n arguments (after dt). */
void tenc_ev(struct tenc *e, uint8_t type, uint64_t ts, int n, ...);
/* Appends raw bytes to the current event batch. */
void tenc_raw(struct tenc *e, const void *p, size_t n);
void tenc_end_batch(struct tenc *e);
/* Writes the string/stack/CPU batches, then end-of-generation (1.26). */
void tenc_gen_end(struct tenc *e);
/* Returns the trace (caller frees) and resets the encoder. */
uint8_t *tenc_done(struct tenc *e, size_t *ret_len);

/* Rewrites a real go 1.26 trace as version to_minor (25: no end-of-
 * generation bytes; 23: frequency batches instead of sync batches; 22: also
 * GoStatusStack as GoStatus). Returns NULL if the trace uses events the
 * target version does not have. */
uint8_t *tr_convert(const uint8_t *data, size_t len, int to_minor, size_t *ret_len);
/* Keeps the header and the generations from number first_gen on. */
uint8_t *tr_from_generation(const uint8_t *data, size_t len, uint64_t first_gen, size_t *ret_len);
/* Offsets where batches (and end-of-generation bytes) start, in order. */
size_t tr_batch_offsets(const uint8_t *data, size_t len, size_t *offs, size_t max);

/* Reads tests/data/<name>, gunzipping names ending in .gz. */
uint8_t *t_read_data(const char *name, size_t *ret_len);

#endif
