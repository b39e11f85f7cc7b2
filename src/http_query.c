/* Query parameters: lookup, checking that only known ones are present
 * (a typo in a filter must not silently widen a merge), and the capture
 * selection shared by the API's list and merge endpoints. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "util.h"

const char *http_param(const struct http_req *rq, const char *key) {
  for (size_t i = 0; i < rq->n_params; i++)
    if (strcmp(rq->params[i].key, key) == 0)
      return rq->params[i].value;
  return NULL;
}

int http_params_check(const struct http_req *rq, struct http_resp *rs, const char *const *allowed) {
  for (size_t i = 0; i < rq->n_params; i++) {
    size_t j;
    for (j = 0; allowed[j]; j++)
      if (strcmp(rq->params[i].key, allowed[j]) == 0)
        break;
    if (!allowed[j]) {
      http_reply_error(rs, 400, "unknown query parameter '%s'", rq->params[i].key);
      return -EINVAL;
    }
    /* Repeating a single-valued parameter is almost certainly a mistake. */
    if (strcmp(rq->params[i].key, "label") != 0)
      for (size_t k = i + 1; k < rq->n_params; k++)
        if (strcmp(rq->params[i].key, rq->params[k].key) == 0) {
          http_reply_error(rs, 400, "query parameter '%s' given more than once", rq->params[i].key);
          return -EINVAL;
        }
  }
  return 0;
}

void http_filter_init(struct http_filter *hf) {
  memset(hf, 0, sizeof(*hf));
  store_filter_init(&hf->f);
}

void http_filter_done(struct http_filter *hf) {
  for (size_t i = 0; i < hf->n_labels; i++) {
    free(hf->labels[i].key);
    free(hf->labels[i].value);
  }
  hf->n_labels = 0;
}

int http_filter_add_label(struct http_filter *hf, struct http_resp *rs, const char *param,
                          const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) {
    http_reply_error(rs, 400, "bad %s '%s': expected KEY=VALUE", param, kv);
    return -EINVAL;
  }
  if (hf->n_labels >= HTTP_MAX_LABELS) {
    http_reply_error(rs, 400, "too many labels (at most %d)", HTTP_MAX_LABELS);
    return -EINVAL;
  }
  hf->labels[hf->n_labels].key = xstrndup(kv, (size_t)(eq - kv));
  hf->labels[hf->n_labels].value = xstrdup(eq + 1);
  hf->n_labels++;
  hf->f.labels = hf->labels;
  hf->f.n_labels = hf->n_labels;
  return 0;
}

int http_parse_time_param(const struct http_req *rq, struct http_resp *rs, const char *name,
                          const char *value, int64_t *ret_ms) {
  if (parse_time(value, rq->now_ms, ret_ms) < 0) {
    http_reply_error(rs, 400,
                     "bad %s '%s': expected an RFC 3339 time (2026-11-21T03:12:00Z), a date, "
                     "'now' or a duration before now (2h, 7d)",
                     name, value);
    return -EINVAL;
  }
  return 0;
}

int http_parse_id(const char *s, struct http_resp *rs, int64_t *ret_id) {
  int64_t id;
  if (parse_int64(s, &id) < 0 || id <= 0) {
    http_reply_error(rs, 404, "no capture '%s': ids are positive integers", s);
    return -EINVAL;
  }
  *ret_id = id;
  return 0;
}

static int parse_limit(struct http_resp *rs, const char *v, int64_t *ret) {
  int64_t n;
  if (parse_int64(v, &n) < 0 || n < 1) {
    http_reply_error(rs, 400, "bad limit '%s': expected a positive integer", v);
    return -EINVAL;
  }
  *ret = n;
  return 0;
}

int http_filter_parse(const struct http_req *rq, struct http_resp *rs, struct http_filter *hf) {
  const char *v;

  for (size_t i = 0; i < rq->n_params; i++) {
    const struct http_param *p = &rq->params[i];
    if (strcmp(p->key, "label") == 0 && http_filter_add_label(hf, rs, "label", p->value) < 0)
      return -EINVAL;
  }
  hf->f.target = http_param(rq, "target");
  hf->f.instance = http_param(rq, "instance");
  hf->f.type = http_param(rq, "type");
  if (hf->f.target && !*hf->f.target)
    hf->f.target = NULL;
  if (hf->f.instance && !*hf->f.instance)
    hf->f.instance = NULL;
  if (hf->f.type && !*hf->f.type)
    hf->f.type = NULL;
  v = http_param(rq, "since");
  if (v && *v && http_parse_time_param(rq, rs, "since", v, &hf->f.since_ms) < 0)
    return -EINVAL;
  v = http_param(rq, "until");
  if (v && *v && http_parse_time_param(rq, rs, "until", v, &hf->f.until_ms) < 0)
    return -EINVAL;
  if (hf->f.since_ms != INT64_MIN && hf->f.until_ms != INT64_MAX &&
      hf->f.since_ms > hf->f.until_ms) {
    http_reply_error(rs, 400, "since is after until");
    return -EINVAL;
  }
  v = http_param(rq, "status");
  if (v && *v) {
    if (strcmp(v, "ok") == 0) {
      hf->f.status = CAPTURE_OK;
    } else if (strcmp(v, "failed") == 0) {
      hf->f.status = CAPTURE_FAILED;
    } else {
      http_reply_error(rs, 400, "bad status '%s': expected ok or failed", v);
      return -EINVAL;
    }
  }
  v = http_param(rq, "limit");
  if (v && *v && parse_limit(rs, v, &hf->f.limit) < 0)
    return -EINVAL;
  return 0;
}
