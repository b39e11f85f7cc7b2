/* A FIFO hand-off between threads with a soft bound: producers that may
 * block use queue_push(); the fetch loop, which must never block, uses
 * queue_push_nowait() (always accepted) and asks queue_full() before it
 * starts new work. Closing wakes every waiter; pop returns NULL once the
 * queue is closed and drained. */
#ifndef PPROFD_QUEUE_H
#define PPROFD_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue {
  pthread_mutex_t lock;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  void **items;
  size_t cap;   /* allocated ring size */
  size_t head;
  size_t len;
  size_t bound; /* soft bound */
  size_t high_water;
  bool closed;
};

void queue_init(struct queue *q, size_t bound);
void queue_done(struct queue *q);
/* Blocks while the queue holds bound items. Returns 0, or -EPIPE when closed. */
int queue_push(struct queue *q, void *item);
/* Never blocks; may exceed the bound. Returns 0, or -EPIPE when closed. */
int queue_push_nowait(struct queue *q, void *item);
/* Blocks until an item is available; NULL when closed and empty. */
void *queue_pop(struct queue *q);
/* Like queue_pop() but gives up after timeout_ms: NULL with *ret_closed
 * telling whether the queue is finished. */
void *queue_pop_timeout(struct queue *q, int64_t timeout_ms, bool *ret_closed);
size_t queue_len(struct queue *q);
bool queue_full(struct queue *q);
void queue_close(struct queue *q);

#endif
