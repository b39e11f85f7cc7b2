#include "config.h"

#include "queue.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

void queue_init(struct queue *q, size_t bound) {
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  q->bound = bound ? bound : 1;
  q->cap = q->bound;
  q->items = xcalloc(q->cap, sizeof(*q->items));
  q->head = q->len = q->high_water = 0;
  q->closed = false;
}

void queue_done(struct queue *q) {
  free(q->items);
  q->items = NULL;
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_mutex_destroy(&q->lock);
}

static void append(struct queue *q, void *item) {
  if (q->len == q->cap) {
    size_t ncap = q->cap * 2;
    void **n = xcalloc(ncap, sizeof(*n));
    for (size_t i = 0; i < q->len; i++)
      n[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = n;
    q->cap = ncap;
    q->head = 0;
  }
  q->items[(q->head + q->len) % q->cap] = item;
  q->len++;
  if (q->len > q->high_water)
    q->high_water = q->len;
  pthread_cond_signal(&q->not_empty);
}

int queue_push(struct queue *q, void *item) {
  pthread_mutex_lock(&q->lock);
  while (!q->closed && q->len >= q->bound)
    pthread_cond_wait(&q->not_full, &q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return -EPIPE;
  }
  append(q, item);
  pthread_mutex_unlock(&q->lock);
  return 0;
}

int queue_push_nowait(struct queue *q, void *item) {
  pthread_mutex_lock(&q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return -EPIPE;
  }
  append(q, item);
  pthread_mutex_unlock(&q->lock);
  return 0;
}

void *queue_pop(struct queue *q) {
  void *item = NULL;
  pthread_mutex_lock(&q->lock);
  while (!q->len && !q->closed)
    pthread_cond_wait(&q->not_empty, &q->lock);
  if (q->len) {
    item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->lock);
  return item;
}

void *queue_pop_timeout(struct queue *q, int64_t timeout_ms, bool *ret_closed) {
  void *item = NULL;
  struct timespec deadline;

  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&q->lock);
  while (!q->len && !q->closed) {
    if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT)
      break;
  }
  if (q->len) {
    item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
  }
  *ret_closed = q->closed && !q->len && !item;
  pthread_mutex_unlock(&q->lock);
  return item;
}

size_t queue_len(struct queue *q) {
  size_t n;
  pthread_mutex_lock(&q->lock);
  n = q->len;
  pthread_mutex_unlock(&q->lock);
  return n;
}

bool queue_full(struct queue *q) {
  return queue_len(q) >= q->bound;
}

void queue_close(struct queue *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->lock);
}
