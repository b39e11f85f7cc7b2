/* A capture as it moves through the pipeline: fetch -> analysis -> store.
 * The fetch loop creates it, hands it (with ownership) to the analysis
 * queue; a worker attaches the analysis and hands it to the writer, which
 * stores it in one transaction and frees it. */
#ifndef PPROFD_CAPTURE_H
#define PPROFD_CAPTURE_H

#include <stdint.h>

#include "buf.h"
#include "cfg.h"

struct analysis;

enum capture_status {
  CAPTURE_OK = 0,
  CAPTURE_FAILED = 1,
};

struct capture {
  char *target;
  char *instance;
  char *type;               /* profile name, e.g. "cpu", "heap", "trace", "fgprof" */
  char *url;                /* requested URL (never contains credentials) */
  int64_t started_at_ms;    /* wall clock, Unix ms */
  double requested_seconds; /* the ?seconds= sent, 0 if none */
  int64_t duration_ms;      /* how long the fetch took */
  enum capture_status status;
  long http_status;         /* 0 = no HTTP response */
  char *error;              /* NULL when ok */
  char *content_type;       /* as sent by the target, may be NULL */
  struct cfg_pair *labels;  /* static target labels, sorted by key */
  size_t n_labels;
  struct buf body;          /* raw bytes exactly as received */
  struct analysis *analysis; /* attached by the worker; may be NULL for failed fetches */
  uint8_t sha256[32];       /* of body, filled by the worker */
  int64_t enqueued_mono_ms;
  size_t held_bytes;        /* charged to the pipeline's byte count at submit */
};

struct capture *capture_new(void);
struct capture *capture_free(struct capture *c);
void capture_set_error(struct capture *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void capture_set_labels(struct capture *c, const struct cfg_pair *labels, size_t n);

const char *capture_status_name(enum capture_status s);
/* The bytes c holds while it waits in the pipeline: its body as allocated
 * and the struct itself (names and labels are small and not counted). */
size_t capture_bytes(const struct capture *c);

#endif
