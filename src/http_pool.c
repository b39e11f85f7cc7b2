/* Read-only store connections reused across requests, and the slots that
 * bound heavy work (downloads, merges, flame graphs): with a thread per
 * connection, these keep memory and CPU use bounded whatever clients do,
 * so collection on the daemon's own threads is not starved. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"
#include "util.h"

void http_pool_init(struct http_pool *p, size_t max_idle) {
  pthread_mutex_init(&p->lock, NULL);
  p->idle = xcalloc(max_idle ? max_idle : 1, sizeof(*p->idle));
  p->n_idle = 0;
  p->max_idle = max_idle;
}

void http_pool_done(struct http_pool *p) {
  for (size_t i = 0; i < p->n_idle; i++)
    store_close(p->idle[i]);
  free(p->idle);
  p->idle = NULL;
  p->n_idle = 0;
  pthread_mutex_destroy(&p->lock);
}

struct store *http_store_get(struct http_req *rq, struct http_resp *rs) {
  struct http_pool *p = &rq->srv->pool;
  struct store *st = NULL;
  char *err = NULL;

  pthread_mutex_lock(&p->lock);
  if (p->n_idle > 0)
    st = p->idle[--p->n_idle];
  pthread_mutex_unlock(&p->lock);
  if (st)
    return st;
  if (store_open(rq->srv->db_path, STORE_READONLY, &st, &err) < 0) {
    http_reply_error(rs, 503, "database unavailable: %s", err ? err : "cannot open");
    free(err);
    return NULL;
  }
  return st;
}

void http_store_put(struct http_req *rq, struct store *st, bool broken) {
  struct http_pool *p = &rq->srv->pool;
  if (!st)
    return;
  if (!broken) {
    pthread_mutex_lock(&p->lock);
    if (p->n_idle < p->max_idle) {
      p->idle[p->n_idle++] = st;
      st = NULL;
    }
    pthread_mutex_unlock(&p->lock);
  }
  store_close(st);
}

void http_slots_init(struct http_slots *sl, unsigned max) {
  pthread_condattr_t attr;
  pthread_mutex_init(&sl->lock, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&sl->cond, &attr);
  pthread_condattr_destroy(&attr);
  sl->used = 0;
  sl->max = max ? max : 1;
}

void http_slots_done(struct http_slots *sl) {
  pthread_cond_destroy(&sl->cond);
  pthread_mutex_destroy(&sl->lock);
}

/* Heavy work runs at a lower CPU priority than the daemon's own threads
 * (Linux nice values are per thread), so a merge competes with analysis
 * and storage only for idle CPU. Lowering is always permitted; the thread
 * ends with its connection. */
static void lower_priority(void) {
  pid_t tid = gettid();
  int base, cur, want;
  errno = 0;
  base = getpriority(PRIO_PROCESS, (id_t)getpid()); /* the main thread's */
  cur = getpriority(PRIO_PROCESS, (id_t)tid);
  if (errno != 0)
    return;
  want = MIN(base + HTTP_HEAVY_NICE, 19);
  if (cur < want)
    (void)setpriority(PRIO_PROCESS, (id_t)tid, want);
}

int http_slot_take(struct http_req *rq, struct http_resp *rs) {
  struct http_slots *sl = &rq->srv->heavy;
  struct timespec deadline;
  int r = 0;

  if (rs->slot)
    return 0; /* one per request is enough */
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += rq->srv->slot_wait_ms / 1000;
  deadline.tv_nsec += (long)(rq->srv->slot_wait_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&sl->lock);
  while (sl->used >= sl->max && r == 0)
    r = pthread_cond_timedwait(&sl->cond, &sl->lock, &deadline);
  if (sl->used < sl->max) {
    sl->used++;
    r = 0;
  }
  pthread_mutex_unlock(&sl->lock);
  if (r != 0) {
    http_reply_error(rs, 503, "busy: %u heavy requests are running, retry later", sl->max);
    return -EBUSY;
  }
  rs->slot = sl;
  lower_priority();
  return 0;
}

void http_slot_release(struct http_slots *sl) {
  pthread_mutex_lock(&sl->lock);
  if (sl->used > 0)
    sl->used--;
  pthread_cond_signal(&sl->cond);
  pthread_mutex_unlock(&sl->lock);
}
