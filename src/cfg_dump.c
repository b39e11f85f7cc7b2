/* cfg_dump(): the resolved configuration as stable YAML-like text, for
 * `pprofd -n -v` and the golden tests. Every value is printed after
 * merging, in a fixed order; secrets never are. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "util.h"

#define REDACTED "<redacted>"

static bool plain_ok(const char *s) {
  if (!*s || strcasecmp(s, "null") == 0 || strcmp(s, "~") == 0)
    return false;
  if (!isalnum((unsigned char)s[0]) && !strchr("/_.", s[0]))
    return false;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("/_.:-+@=%", *p))
      return false;
  return s[strlen(s) - 1] != ':';
}

static void put_str(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  if (plain_ok(s)) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void put_kv(FILE *f, int indent, const char *key, const char *value) {
  fprintf(f, "%*s%s: ", indent, "", key);
  put_str(f, value);
  fputc('\n', f);
}

static void put_duration(FILE *f, int indent, const char *key, int64_t ms) {
  char b[64];
  fprintf(f, "%*s%s: %s\n", indent, "", key, format_duration_ms(ms, b, sizeof(b)));
}

/* Exact sizes: 64MiB, or plain bytes when not a whole unit. */
static void put_size(FILE *f, int indent, const char *key, uint64_t v) {
  static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
  fprintf(f, "%*s%s: ", indent, "", key);
  for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
    uint64_t u = 1ULL << (10 * (ARRAY_SIZE(units) - i));
    if (v && v % u == 0) {
      fprintf(f, "%" PRIu64 "%s\n", v / u, units[i]);
      return;
    }
  }
  fprintf(f, "%" PRIu64 "\n", v);
}

/* Header values may carry credentials too (Authorization, API keys). */
static bool header_is_secret(const char *name) {
  static const char *const words[] = {"auth", "cookie",   "token",  "secret",
                                      "key",  "password", "session"};
  for (size_t i = 0; i < ARRAY_SIZE(words); i++)
    if (strcasestr(name, words[i]))
      return true;
  return false;
}

static void put_pairs(FILE *f, int indent, const char *key, const struct cfg_pair *p, size_t n,
                      bool redact) {
  fprintf(f, "%*s%s: {", indent, "", key);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? ", " : "", f);
    put_str(f, p[i].key);
    fputs(": ", f);
    if (redact && header_is_secret(p[i].key))
      fputs(REDACTED, f);
    else
      put_str(f, p[i].value);
  }
  fputs("}\n", f);
}

/* A secret: its file, then "<redacted>" when it was read or "<not read>"
 * under CFG_LOAD_SKIP_SECRETS. */
static void put_secret(FILE *f, int indent, const char *key, const char *file,
                       const char *secret_key, const char *value) {
  if (!file)
    return;
  put_kv(f, indent, key, file);
  fprintf(f, "%*s%s: %s\n", indent, "", secret_key, value ? REDACTED : "<not read>");
}

static void dump_http_client(FILE *f, const struct cfg_http_client *h) {
  fputs("    tls:\n", f);
  if (h->ca_file)
    put_kv(f, 6, "ca_file", h->ca_file);
  if (h->cert_file)
    put_kv(f, 6, "cert_file", h->cert_file);
  if (h->key_file)
    put_kv(f, 6, "key_file", h->key_file);
  if (h->server_name)
    put_kv(f, 6, "server_name", h->server_name);
  fprintf(f, "      insecure_skip_verify: %s\n", h->insecure_skip_verify ? "true" : "false");
  put_secret(f, 4, "bearer_token_file", h->bearer_token_file, "bearer_token", h->bearer_token);
  if (h->basic_username) {
    fputs("    basic_auth:\n", f);
    put_kv(f, 6, "username", h->basic_username);
    put_secret(f, 6, "password_file", h->basic_password_file, "password", h->basic_password);
  }
  put_pairs(f, 4, "headers", h->headers, h->n_headers, true);
}

static void dump_profile(FILE *f, const struct cfg_profile *p) {
  put_kv(f, 6, "- name", p->name);
  fprintf(f, "        kind: %s\n", profile_kind_name(p->kind));
  put_kv(f, 8, "path", p->path);
  if (p->seconds > 0)
    fprintf(f, "        seconds: %g\n", p->seconds);
  put_pairs(f, 8, "params", p->params, p->n_params, false);
  put_duration(f, 8, "interval", p->interval_ms);
  put_duration(f, 8, "timeout", p->timeout_ms);
  put_size(f, 8, "max_response_size", p->max_response_size);
  fprintf(f, "        expect: %s\n", p->expect_trace ? "trace" : p->expect_pprof ? "pprof" : "any");
}

static void dump_target(FILE *f, const struct cfg_target *t) {
  put_kv(f, 2, "- name", t->name);
  fputs("    instances:\n", f);
  for (size_t i = 0; i < t->n_instances; i++) {
    put_kv(f, 6, "- name", t->instances[i].name);
    put_kv(f, 8, "url", t->instances[i].url);
  }
  put_kv(f, 4, "path_prefix", t->path_prefix);
  put_pairs(f, 4, "labels", t->labels, t->n_labels, false);
  put_duration(f, 4, "interval", t->interval_ms);
  put_duration(f, 4, "timeout", t->timeout_ms);
  put_size(f, 4, "max_response_size", t->max_response_size);
  fprintf(f, "    seconds: {cpu: %g, trace: %g, delta: %g}\n", t->cpu_seconds, t->trace_seconds,
          t->delta_seconds);
  put_pairs(f, 4, "params", t->params, t->n_params, false);
  dump_http_client(f, &t->http);
  if (t->profiles_auto) {
    fputs("    profiles: auto\n", f);
    return;
  }
  fputs("    profiles:\n", f);
  for (size_t i = 0; i < t->n_profiles; i++)
    dump_profile(f, &t->profiles[i]);
}

void cfg_dump(const struct cfg *c, FILE *f) {
  fputs("# resolved configuration of ", f);
  put_str(f, c->file);
  fputs("\nstorage:\n", f);
  put_kv(f, 2, "path", c->storage.path);
  put_duration(f, 2, "retention", c->storage.retention_ms);
  put_size(f, 2, "max_size", c->storage.max_size);
  put_duration(f, 2, "prune_interval", c->storage.prune_interval_ms);
  fputs("collector:\n", f);
  fprintf(f, "  max_concurrent: %u\n", c->collector.max_concurrent);
  fprintf(f, "  workers: %u\n", c->collector.workers);
  fprintf(f, "  queue_size: %u\n", c->collector.queue_size);
  put_size(f, 2, "queue_max_bytes", c->collector.queue_max_bytes);
  put_duration(f, 2, "shutdown_grace", c->collector.shutdown_grace_ms);
  put_duration(f, 2, "max_backoff", c->collector.max_backoff_ms);
  fprintf(f, "  min_function_share: %g\n", c->collector.min_function_share);
  fprintf(f, "  max_functions: %u\n", c->collector.max_functions);
  put_size(f, 2, "max_decompressed_size", c->collector.max_decompressed_size);
  fputs("http:\n", f);
  put_kv(f, 2, "listen", c->http.listen);
  put_secret(f, 2, "token_file", c->http.token_file, "token", c->http.token);
  put_kv(f, 0, "log_level", c->log_level);
  fputs("targets:\n", f);
  for (size_t i = 0; i < c->n_targets; i++)
    dump_target(f, &c->targets[i]);
}
