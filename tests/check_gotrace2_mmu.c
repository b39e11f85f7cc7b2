/* The streaming MMU of the Go 1.22+ parser (gotrace_v2_mmu.c) skips the
 * windows that provably cannot beat the minimum so far and evaluates the
 * others in batches. Its results must be the very doubles that evaluating
 * every window ending or starting at a breakpoint gives, computed the same
 * way (cumulative integral per point, one multiply-add per query): this
 * test compares them bit for bit on long random utilization functions
 * (many batches and history trims), with umax growing late, with u above
 * 1, with negative u (no bounds then), and with points held back (held
 * points are clamped at 0 when released, so not together with negative u). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"

static uint64_t rnd(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

struct ref {
  int64_t *t;
  double *u, *acc;
  size_t n, cap;
};

static void ref_push(struct ref *r, int64_t t, double u) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 1024;
    r->t = realloc(r->t, r->cap * sizeof(*r->t));
    r->u = realloc(r->u, r->cap * sizeof(*r->u));
    r->acc = realloc(r->acc, r->cap * sizeof(*r->acc));
    ck_assert_ptr_nonnull(r->t);
    ck_assert_ptr_nonnull(r->u);
    ck_assert_ptr_nonnull(r->acc);
  }
  r->t[r->n] = t;
  r->u[r->n] = u;
  r->acc[r->n] = r->n ? r->acc[r->n - 1] + r->u[r->n - 1] * (double)(t - r->t[r->n - 1]) : 0;
  r->n++;
}

/* What v2_mmu_add keeps: a point whose u equals the last kept one adds
 * nothing (times are strictly increasing here). */
static void ref_add(struct ref *r, int64_t t, double u) {
  if (!r->n || r->u[r->n - 1] != u)
    ref_push(r, t, u);
}

/* Integral from t0 to x: the last point at or before x. */
static double ref_integral(const struct ref *r, int64_t x) {
  size_t lo = 0, hi = r->n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (r->t[mid] <= x)
      lo = mid;
    else
      hi = mid;
  }
  return r->acc[lo] + r->u[lo] * (double)(x - r->t[lo]);
}

static double ref_mmu(const struct ref *r, int64_t w) {
  int64_t t0 = r->t[0], tn = r->t[r->n - 1], range = tn - t0;
  double best = 2.0 * (double)w, v;
  if (range <= 0)
    return -1;
  if (w >= range) {
    v = r->acc[r->n - 1] / (double)range;
  } else {
    for (size_t j = 0; j < r->n; j++) {
      if (r->t[j] - w >= t0) {
        v = r->acc[j] - ref_integral(r, r->t[j] - w);
        best = v < best ? v : best;
      }
      if (r->t[j] + w <= tn) {
        v = ref_integral(r, r->t[j] + w) - r->acc[j];
        best = v < best ? v : best;
      }
    }
    v = best / (double)w;
  }
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* One random function: n points, steps up to scale ns, u from draw(). */
static void run(uint64_t seed, int n, int64_t scale, int kind, bool hold) {
  uint64_t x = seed;
  struct v2_mmu *m = v2_mmu_new();
  struct ref r = {0};
  double got[TRACE_MMU_WINDOWS];
  int64_t t = 1000000 + (int64_t)(rnd(&x) % 1000);
  v2_mmu_hold(m, hold);
  for (int i = 0; i < n; i++) {
    double u = (double)(rnd(&x) % 1001) / 1000.0;
    switch (kind) {
    case 1: /* low for the first half: umax grows late */
      if (i < n / 2)
        u *= 0.3;
      break;
    case 2: /* mostly busy with rare idle stretches */
      u = rnd(&x) % 50 ? u * 0.2 : 1.0;
      break;
    case 3: /* above 1 */
      u *= 1.7;
      break;
    case 4: /* sometimes negative: no bounds may be used */
      if (rnd(&x) % 100 == 0)
        u = -u;
      break;
    case 5: /* the few values a real trace has (k of 8 Ps idle) */
      u = (double)(rnd(&x) % 9) / 8.0;
      break;
    }
    if (hold && i == n / 3)
      v2_mmu_hold(m, false);
    v2_mmu_add(m, t, u);
    ref_add(&r, t, u);
    t += 1 + (int64_t)(rnd(&x) % (uint64_t)scale);
  }
  v2_mmu_add(m, t, 0.0);
  ref_add(&r, t, 0.0);
  if (r.t[r.n - 1] < t) /* v2_mmu_finish ends the function at t */
    ref_push(&r, t, 0.0);
  v2_mmu_finish(m, t, got);
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    double want = ref_mmu(&r, trace_mmu_window_ns[k]);
    ck_assert_msg(memcmp(&got[k], &want, sizeof(want)) == 0,
                  "seed %llu kind %d scale %lld window %d: %.17g vs %.17g",
                  (unsigned long long)seed, kind, (long long)scale, k, got[k], want);
  }
  v2_mmu_free(m);
  free(r.t);
  free(r.u);
  free(r.acc);
}

START_TEST(test_mmu_bit_identical) {
  static const int64_t scales[] = {20000, 200000, 2000000};
  for (int kind = 0; kind <= 5; kind++)
    for (int s = 0; s < 3; s++)
      for (uint64_t seed = 1; seed <= 3; seed++)
        run(seed * 7919 + (uint64_t)kind * 31 + (uint64_t)s, 3000 + (int)(seed * 2500), scales[s],
            kind, seed == 2 && kind != 4);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gotrace2_mmu");
  TCase *tc = tcase_create("mmu");
  SRunner *sr;
  int failed;
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_mmu_bit_identical);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
