/* Robustness of the Go 1.22+ trace parser: truncation at every batch
 * boundary and inside batches, every prefix of a small trace, flipped
 * bytes, hand-made adversarial inputs (bad varints, unknown ids, impossible
 * transitions, timestamps going backwards, unknown event types, framing
 * errors), and the streaming MMU against trace_mmu_compute(). Failures must
 * be clean -EPROTO errors that name the byte offset. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace2_enc.h"
#include "gotrace2_test.h"
#include "trace_mmu.h"
#include "util.h"

#define B 1000000ULL

/* A clean error names the offset; success consumes everything. */
static void parse_any(const uint8_t *data, size_t len) {
  struct trace_summary s;
  char *err = NULL;
  int rc = gotrace_v2_parse(data, len, &s, &err);
  if (rc == 0) {
    ck_assert_int_eq(s.bytes, (int64_t)len);
    trace_summary_done(&s);
    return;
  }
  ck_assert_msg(rc == -EPROTO || rc == -ENOTSUP, "rc %d", rc);
  ck_assert_ptr_nonnull(err);
  if (rc == -EPROTO)
    ck_assert_msg(strncmp(err, "offset ", 7) == 0, "message without offset: %s", err);
  free(err);
}

START_TEST(test_truncated_real) {
  static const char *const files[] = {"gotrace2-nogc.trace", "gotrace2-watch.trace.gz"};
  for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
    size_t len, n, offs[512];
    uint8_t *data = t_read_data(files[f], &len);
    n = tr_batch_offsets(data, len, offs, ARRAY_SIZE(offs));
    ck_assert_uint_le(n, ARRAY_SIZE(offs));
    for (size_t i = 0; i < n; i++) {
      static const size_t deltas[] = {0, 1, 2, 5, 11, 12, 20, 21, 100, 1000};
      for (size_t d = 0; d < ARRAY_SIZE(deltas); d++)
        if (offs[i] + deltas[d] < len)
          parse_any(data, offs[i] + deltas[d]);
    }
    for (size_t cut = 0; cut < len; cut += f ? 40009 : 4099)
      parse_any(data, cut);
    parse_any(data, len - 1);
    free(data);
  }
}
END_TEST

/* A small two-generation trace using most event kinds. */
static uint8_t *small_trace(size_t *len) {
  struct tenc e;
  struct tframe f[2] = {{0x10, 1, 2, 3}, {0x20, 3, 2, 4}};
  tenc_init(&e, 26);
  for (uint64_t gen = 1; gen <= 2; gen++) {
    uint64_t t = B * gen;
    tenc_gen(&e, gen, t);
    tenc_string(&e, 1, "main.f");
    tenc_string(&e, 2, "f.go");
    tenc_string(&e, 3, "main.main");
    tenc_string(&e, 4, "chan send");
    tenc_string(&e, 5, "GC sweep termination");
    tenc_stack(&e, 1, 2, f);
    tenc_stack(&e, 2, 1, f + 1);
    tenc_cpu(&e, t + 150, 1, 0, 1, 1);
    tenc_batch(&e, 1, t);
    tenc_ev(&e, V2_EV_PROC_STATUS, t, 2, (uint64_t)0, (uint64_t)V2_P_RUNNING);
    tenc_ev(&e, V2_EV_GO_STATUS, t, 3, (uint64_t)1, (uint64_t)1, (uint64_t)V2_G_RUNNING);
    if (gen == 2)
      tenc_ev(&e, V2_EV_GO_STATUS, t, 3, (uint64_t)2, TE_NONE, (uint64_t)V2_G_RUNNABLE);
    tenc_ev(&e, V2_EV_PROCS_CHANGE, t + 10, 2, (uint64_t)1, (uint64_t)2);
    tenc_ev(&e, V2_EV_STW_BEGIN, t + 20, 2, (uint64_t)5, (uint64_t)2);
    tenc_ev(&e, V2_EV_STW_END, t + 30, 0);
    if (gen == 1) {
      tenc_ev(&e, V2_EV_GO_CREATE, t + 100, 3, (uint64_t)2, (uint64_t)1, (uint64_t)2);
      tenc_ev(&e, V2_EV_GO_BLOCK, t + 200, 2, (uint64_t)4, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_START, t + 300, 2, (uint64_t)2, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_SYSCALL_BEGIN, t + 400, 2, (uint64_t)1, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_SYSCALL_END, t + 500, 0);
      tenc_ev(&e, V2_EV_GO_UNBLOCK, t + 600, 3, (uint64_t)1, (uint64_t)1, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_STOP, t + 700, 2, (uint64_t)0, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_START, t + 800, 2, (uint64_t)1, (uint64_t)2);
    } else {
      tenc_ev(&e, V2_EV_HEAP_ALLOC, t + 100, 1, (uint64_t)4096);
      tenc_ev(&e, V2_EV_GO_BLOCK, t + 200, 2, (uint64_t)4, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_START, t + 300, 2, (uint64_t)2, (uint64_t)1);
      tenc_ev(&e, V2_EV_GO_DESTROY, t + 400, 0);
    }
    tenc_gen_end(&e);
  }
  return tenc_done(&e, len);
}

START_TEST(test_every_prefix) {
  size_t len;
  uint8_t *data = small_trace(&len);
  struct trace_summary s;
  struct gotrace_v2_stats st;
  parse_ok(data, len, &s, &st, NULL);
  ck_assert_int_eq(st.generations, 2);
  trace_summary_done(&s);
  for (size_t n = 0; n <= len; n++)
    parse_any(data, n);
  free(data);
}
END_TEST

static uint64_t rnd(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

START_TEST(test_flipped_bytes) {
  size_t len, rlen;
  uint8_t *data = small_trace(&len), *real = t_read_data("gotrace2-nogc.trace", &rlen);
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 4000; i++) {
    size_t pos = 16 + rnd(&x) % (len - 16);
    uint8_t old = data[pos];
    data[pos] ^= (uint8_t)(1u << (rnd(&x) % 8));
    if (i % 3 == 0)
      data[pos] = (uint8_t)rnd(&x);
    parse_any(data, len);
    data[pos] = old;
  }
  for (int i = 0; i < 300; i++) {
    size_t pos = 16 + rnd(&x) % (rlen - 16);
    uint8_t old = real[pos];
    real[pos] ^= (uint8_t)(1u << (rnd(&x) % 8));
    parse_any(real, rlen);
    real[pos] = old;
  }
  free(data);
  free(real);
}
END_TEST

START_TEST(test_random_bodies) {
  uint64_t x = 12345;
  uint8_t buf[2048];
  for (int i = 0; i < 3000; i++) {
    size_t n = 16 + rnd(&x) % (sizeof(buf) - 16);
    memcpy(buf, "go 1.26 trace\0\0\0", 16);
    for (size_t k = 16; k < n; k++)
      buf[k] = (uint8_t)rnd(&x);
    if (i % 2)
      buf[16] = V2_EV_BATCH; /* get past the first check more often */
    ck_assert_int_eq(gotrace_v2_fuzz_one(buf, n), 0);
    parse_any(buf, n);
  }
}
END_TEST

/* ---- hand-made adversarial traces ---- */

/* Generation 1 with a running goroutine 1 on P 0 of thread 1, and the
 * strings/stacks below; the caller adds events (the batch is open). */
static void base(struct tenc *e, int minor) {
  struct tframe f = {0x10, 1, 2, 3};
  tenc_init(e, minor);
  tenc_gen(e, 1, B);
  tenc_string(e, 1, "main.main");
  tenc_string(e, 2, "x.go");
  tenc_string(e, 3, "chan send");
  tenc_stack(e, 1, 1, &f);
  tenc_batch(e, 1, B);
  tenc_ev(e, V2_EV_PROC_STATUS, B, 2, (uint64_t)0, (uint64_t)V2_P_RUNNING);
  tenc_ev(e, V2_EV_GO_STATUS, B, 3, (uint64_t)1, (uint64_t)1, (uint64_t)V2_G_RUNNING);
}

static void finish_check(struct tenc *e, const char *want) {
  size_t len;
  uint8_t *data;
  char *err;
  tenc_gen_end(e);
  data = tenc_done(e, &len);
  ck_assert_int_eq(parse_err(data, len, &err), -EPROTO);
  ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not mention \"%s\"", err, want);
  ck_assert_msg(strncmp(err, "offset ", 7) == 0, "no offset in \"%s\"", err);
  free(err);
  free(data);
}

static void c_bad_varint(struct tenc *e) {
  static const uint8_t ev[] = {
      V2_EV_HEAP_ALLOC, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  tenc_raw(e, ev, sizeof(ev));
}
static void c_varint_overflow(struct tenc *e) {
  static const uint8_t ev[] = {
      V2_EV_HEAP_ALLOC, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  tenc_raw(e, ev, sizeof(ev));
}
static void c_event_past_batch(struct tenc *e) {
  static const uint8_t ev[] = {V2_EV_GO_CREATE, 1, 2};
  tenc_raw(e, ev, sizeof(ev));
}
static void c_unknown_string(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_BLOCK, B + 10, 2, (uint64_t)77, (uint64_t)1);
}
static void c_unknown_stack(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_CREATE, B + 10, 3, (uint64_t)2, (uint64_t)99, (uint64_t)1);
}
static void c_frame_string(struct tenc *e) {
  struct tframe f = {0x30, 55, 2, 1};
  tenc_stack(e, 9, 1, &f);
}
static void c_cpu_stack(struct tenc *e) {
  tenc_cpu(e, B + 5, 1, 0, 1, 42);
}
static void c_block_without_g(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_BLOCK, B + 10, 2, (uint64_t)3, (uint64_t)1);
  tenc_ev(e, V2_EV_GO_BLOCK, B + 20, 2, (uint64_t)3, (uint64_t)1);
}
static void c_start_unknown(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_BLOCK, B + 10, 2, (uint64_t)3, (uint64_t)1);
  tenc_ev(e, V2_EV_GO_START, B + 20, 2, (uint64_t)42, (uint64_t)1);
}
static void c_start_running(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_START, B + 20, 2, (uint64_t)1, (uint64_t)1);
}
static void c_syscall_end(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_SYSCALL_END, B + 10, 0);
}
static void c_create_twice(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_CREATE, B + 10, 3, (uint64_t)2, (uint64_t)1, (uint64_t)1);
  tenc_ev(e, V2_EV_GO_CREATE, B + 20, 3, (uint64_t)2, (uint64_t)1, (uint64_t)1);
}
static void c_status_mismatch(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_STATUS, B + 10, 3, (uint64_t)1, (uint64_t)1, (uint64_t)V2_G_WAITING);
}
static void c_bad_status(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_STATUS, B + 10, 3, (uint64_t)5, (uint64_t)1, (uint64_t)9);
}
static void c_stw_end(struct tenc *e) {
  tenc_ev(e, V2_EV_STW_END, B + 10, 0);
}
static void c_assist_twice(struct tenc *e) {
  tenc_ev(e, V2_EV_GC_ASSIST_BEGIN, B + 10, 1, (uint64_t)1);
  tenc_ev(e, V2_EV_GC_ASSIST_BEGIN, B + 20, 1, (uint64_t)1);
}
static void c_gc_end_stall(struct tenc *e) {
  tenc_ev(e, V2_EV_GC_BEGIN, B + 10, 2, (uint64_t)3, (uint64_t)1);
  tenc_ev(e, V2_EV_GC_END, B + 20, 1, (uint64_t)9);
}
static void c_sweep_end(struct tenc *e) {
  tenc_ev(e, V2_EV_GC_SWEEP_END, B + 10, 2, (uint64_t)1, (uint64_t)1);
}
static void c_region_mismatch(struct tenc *e) {
  tenc_ev(e, V2_EV_REGION_BEGIN, B + 10, 3, (uint64_t)1, (uint64_t)1, (uint64_t)0);
  tenc_ev(e, V2_EV_REGION_END, B + 20, 3, (uint64_t)1, (uint64_t)2, (uint64_t)0);
}
static void c_task_twice(struct tenc *e) {
  tenc_ev(e, V2_EV_TASK_BEGIN, B + 10, 4, (uint64_t)5, (uint64_t)0, (uint64_t)1, (uint64_t)0);
  tenc_ev(e, V2_EV_TASK_BEGIN, B + 20, 4, (uint64_t)5, (uint64_t)0, (uint64_t)1, (uint64_t)0);
}
static void c_backwards(struct tenc *e) {
  tenc_ev(e, V2_EV_HEAP_ALLOC, B + 5000, 1, (uint64_t)1);
  tenc_batch(e, 1, B + 100); /* the same thread's next batch starts earlier */
  tenc_ev(e, V2_EV_HEAP_ALLOC, B + 200, 1, (uint64_t)1);
}
static void c_unknown_type(struct tenc *e) {
  static const uint8_t ev[] = {60, 1, 0};
  tenc_raw(e, ev, sizeof(ev));
}
static void c_huge_time(struct tenc *e) {
  tenc_ev(e, V2_EV_HEAP_ALLOC, UINT64_MAX / 2, 1, (uint64_t)1);
}
static void c_bad_goroutine_id(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_CREATE, B + 10, 3, TE_NONE, (uint64_t)1, (uint64_t)1);
}
static void c_proc_stop_twice(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_BLOCK, B + 10, 2, (uint64_t)3, (uint64_t)1);
  tenc_ev(e, V2_EV_PROC_STOP, B + 20, 0);
  tenc_ev(e, V2_EV_PROC_STOP, B + 30, 0);
}
static void c_steal_unknown_thread(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_SYSCALL_BEGIN, B + 10, 2, (uint64_t)1, (uint64_t)1);
  tenc_batch(e, 2, B + 20);
  tenc_ev(e, V2_EV_PROC_STEAL, B + 20, 3, (uint64_t)0, (uint64_t)2, (uint64_t)77);
}
static void c_syscall_seq(struct tenc *e) {
  tenc_ev(e, V2_EV_GO_SYSCALL_BEGIN, B + 10, 2, (uint64_t)5, (uint64_t)1);
}
static void c_gomaxprocs(struct tenc *e) {
  tenc_ev(e, V2_EV_PROCS_CHANGE, B + 10, 2, (uint64_t)5000, (uint64_t)0);
}
static void c_dup_string(struct tenc *e) {
  tenc_string(e, 1, "again");
}
static void c_string_zero(struct tenc *e) {
  tenc_string(e, 0, "zero");
}
static void c_long_string(struct tenc *e) {
  char s[1100];
  memset(s, 'a', sizeof(s) - 1);
  s[sizeof(s) - 1] = 0;
  tenc_string(e, 9, s);
}
static void c_deep_stack(struct tenc *e) {
  struct tframe f[129];
  for (int i = 0; i < 129; i++)
    f[i] = (struct tframe){(uint64_t)i, 1, 2, 1};
  tenc_stack(e, 9, 129, f);
}

START_TEST(test_adversarial) {
  static const struct {
    void (*fn)(struct tenc *e);
    const char *want;
  } cases[] = {
      {c_bad_varint, "bad varint in HeapAlloc argument 1"},
      {c_varint_overflow, "bad varint in HeapAlloc argument 1"},
      {c_event_past_batch, "truncated GoCreate argument 2"},
      {c_unknown_string, "GoBlock: unknown string id 77"},
      {c_unknown_stack, "GoCreate: unknown stack id 99"},
      {c_frame_string, "stack frame references unknown string 55"},
      {c_cpu_stack, "CPU sample references unknown stack 42"},
      {c_block_without_g, "GoBlock: expected a goroutine"},
      {c_start_unknown, "no event can happen next"},
      {c_start_running, "no event can happen next"},
      {c_syscall_end, "GoSyscallEnd for goroutine 1 that is not in a syscall"},
      {c_create_twice, "goroutine 2 created twice"},
      {c_status_mismatch, "inconsistent status for goroutine 1"},
      {c_bad_status, "invalid status 9 for goroutine 5"},
      {c_stw_end, "STWEnd without STWBegin"},
      {c_assist_twice, "GCMarkAssistBegin while goroutine 1 is assisting"},
      {c_gc_end_stall, "no event can happen next"},
      {c_sweep_end, "GCSweepEnd without GCSweepBegin"},
      {c_region_mismatch, "region end does not match"},
      {c_task_twice, "task id 5 begins twice"},
      {c_backwards, "timestamps going backwards on thread 1"},
      {c_unknown_type, "unknown event type 60 for go 1.26"},
      {c_huge_time, "timestamp out of range"},
      {c_bad_goroutine_id, "created twice"},
      {c_proc_stop_twice, "ProcStop on a thread without a known proc"},
      {c_steal_unknown_thread, "stolen from unknown thread 77"},
      {c_syscall_seq, "GoSyscallBegin: proc 0 sequence 5 does not follow 0"},
      {c_gomaxprocs, "GOMAXPROCS 5000 out of range (maximum 1024)"},
      {c_dup_string, "duplicate string id 1"},
      {c_string_zero, "reserved string id 0"},
      {c_long_string, "is 1099 bytes long (maximum 1024)"},
      {c_deep_stack, "has 129 frames (maximum 128)"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct tenc e;
    base(&e, 26);
    cases[i].fn(&e);
    finish_check(&e, cases[i].want);
  }
}
END_TEST

/* Errors in the framing between batches and generations. */
START_TEST(test_framing) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  char *err;

  /* Go 1.26 generations end with a marker: missing at the end ... */
  base(&e, 26);
  e.skip_eog = true;
  finish_check(&e, "trace truncated: generation 1 has no end-of-generation marker");
  /* ... or before the next generation */
  base(&e, 26);
  e.skip_eog = true;
  tenc_gen_end(&e);
  e.skip_eog = false;
  tenc_gen(&e, 2, B + 1000);
  finish_check(&e, "missing end-of-generation marker");
  /* generation numbers must follow each other */
  base(&e, 25);
  tenc_gen_end(&e);
  tenc_gen(&e, 3, B + 1000);
  finish_check(&e, "generation 3 follows generation 1");
  /* no frequency / no clock snapshot */
  base(&e, 24);
  e.skip_sync = true;
  tenc_gen_end(&e);
  tenc_gen(&e, 2, B + 1000);
  tenc_batch(&e, 1, B + 1000);
  tenc_ev(&e, V2_EV_PROC_STATUS, B + 1000, 2, (uint64_t)0, (uint64_t)V2_P_RUNNING);
  finish_check(&e, "generation 2 has no frequency");
  tenc_init(&e, 25);
  e.skip_sync = true;
  tenc_gen(&e, 1, B);
  {
    struct tbuf s = {0};
    tbuf_byte(&s, V2_EV_SYNC);
    tbuf_byte(&s, V2_EV_FREQUENCY);
    tbuf_uvarint(&s, 1000000000);
    tbuf_byte(&e.out, V2_EV_BATCH);
    tbuf_uvarint(&e.out, 1);
    tbuf_uvarint(&e.out, TE_NONE);
    tbuf_uvarint(&e.out, B);
    tbuf_uvarint10(&e.out, s.len);
    tbuf_put(&e.out, s.p, s.len);
    free(s.p);
  }
  tenc_batch(&e, 1, B);
  tenc_ev(&e, V2_EV_PROC_STATUS, B, 2, (uint64_t)0, (uint64_t)V2_P_RUNNING);
  finish_check(&e, "generation 1 has no clock snapshot");
  /* a batch larger than 64 KiB, a batch header cut short, garbage */
  tenc_init(&e, 26);
  tbuf_byte(&e.out, V2_EV_BATCH);
  tbuf_uvarint(&e.out, 1);
  tbuf_uvarint(&e.out, 1);
  tbuf_uvarint(&e.out, B);
  tbuf_uvarint10(&e.out, 70000);
  data = tenc_done(&e, &len);
  ck_assert_int_eq(parse_err(data, len, &err), -EPROTO);
  ck_assert_str_eq(err, "offset 16: batch of 70000 bytes (maximum 65536)");
  free(err);
  len = 25;
  ck_assert_int_eq(parse_err(data, len, &err), -EPROTO);
  ck_assert_str_eq(err, "offset 16: truncated batch header (size)");
  free(err);
  data[16] = 7;
  ck_assert_int_eq(parse_err(data, len, &err), -EPROTO);
  ck_assert_str_eq(err, "offset 16: expected a batch header, got byte 7");
  free(err);
  data[16] = V2_EV_END_OF_GENERATION;
  ck_assert_int_eq(parse_err(data, 17, &err), -EPROTO);
  ck_assert_str_eq(err, "offset 16: end-of-generation marker outside a generation");
  free(err);
  free(data);
}
END_TEST

/* The streaming MMU must equal trace_mmu_compute() on the same points. */
START_TEST(test_mmu_streaming) {
  uint64_t x = 777;
  for (int iter = 0; iter < 300; iter++) {
    struct v2_mmu *m = v2_mmu_new();
    struct trace_mmu ref;
    double got[TRACE_MMU_WINDOWS];
    int64_t t = 1000000 + (int64_t)(rnd(&x) % 1000), scale;
    int n = 1 + (int)(rnd(&x) % 400);
    /* step lengths from ns to 100 ms, so every window size matters */
    scale = (int64_t[]){1000, 100000, 3000000, 30000000}[iter % 4];
    trace_mmu_init(&ref);
    bool held = iter % 3 == 0;
    v2_mmu_hold(m, held);
    for (int i = 0; i < n; i++) {
      double u = (double)(rnd(&x) % 5) / 4.0;
      if (held && i == n / 2)
        v2_mmu_hold(m, false);
      v2_mmu_add(m, t, u);
      trace_mmu_add(&ref, t, u);
      t += 1 + (int64_t)(rnd(&x) % (uint64_t)scale);
    }
    v2_mmu_add(m, t, 0.0);
    trace_mmu_add(&ref, t, 0.0);
    v2_mmu_finish(m, t, got);
    for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
      double want = trace_mmu_compute(&ref, t, trace_mmu_window_ns[k]);
      ck_assert_msg(got[k] == want || (got[k] - want < 1e-9 && want - got[k] < 1e-9),
                    "iteration %d window %d: %.12f vs %.12f", iter, k, got[k], want);
    }
    trace_mmu_done(&ref);
    v2_mmu_free(m);
  }
}
END_TEST

TCase *gotrace2_robust_tcase(void) {
  TCase *tc = tcase_create("robust");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_truncated_real);
  tcase_add_test(tc, test_every_prefix);
  tcase_add_test(tc, test_flipped_bytes);
  tcase_add_test(tc, test_random_bodies);
  tcase_add_test(tc, test_adversarial);
  tcase_add_test(tc, test_framing);
  tcase_add_test(tc, test_mmu_streaming);
  return tc;
}
