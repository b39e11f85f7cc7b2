/* cfg: golden configurations (tests/cfg), the shipped example, secrets,
 * values and limits of pprofd.yaml. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ---- */

static char *dump_to_string(const struct cfg *c) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  ck_assert_ptr_nonnull(f);
  cfg_dump(c, f);
  fclose(f);
  return out;
}

/* Replaces every occurrence of from with to (the default storage path
 * depends on configure's prefix). */
static char *replace_all(const char *s, const char *from, const char *to) {
  size_t lf = strlen(from), n = 0;
  const char *p;
  char *out, *o;

  for (p = strstr(s, from); p; p = strstr(p + lf, from))
    n++;
  out = xmalloc(strlen(s) + n * strlen(to) + 1);
  o = out;
  for (p = s;;) {
    const char *q = strstr(p, from);
    if (!q)
      break;
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, to, strlen(to));
    o += strlen(to);
    p = q + lf;
  }
  strcpy(o, p);
  return out;
}

static void rstrip(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

/* Loads yaml text; returns the dump or the error line (caller frees). */
static char *load_result(const char *name, const char *yaml, size_t len, unsigned flags) {
  struct cfg *c = NULL;
  char *err = NULL, *out, *fixed;
  int r = cfg_load_string(name, yaml, len, flags, &c, &err);

  if (r < 0) {
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(err);
    return err;
  }
  ck_assert_ptr_null(err);
  out = dump_to_string(c);
  cfg_free(c);
  fixed = replace_all(out, STATEDIR, "@STATEDIR@");
  free(out);
  return fixed;
}

static struct cfg *load_ok(const char *yaml) {
  struct cfg *c = NULL;
  char *err = NULL;
  int r = cfg_load_string("t.yaml", yaml, strlen(yaml), 0, &c, &err);
  ck_assert_msg(r == 0, "unexpected error: %s", err ? err : "(none)");
  return c;
}

static char *load_err(const char *yaml) {
  struct cfg *c = NULL;
  char *err = NULL;
  int r = cfg_load_string("t.yaml", yaml, strlen(yaml), 0, &c, &err);
  ck_assert_msg(r < 0, "expected an error for:\n%s", yaml);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(err);
  return err;
}

static void assert_err(const char *yaml, const char *expected) {
  char *err = load_err(yaml);
  ck_assert_str_eq(err, expected);
  free(err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- golden files: tests/cfg/X.yaml -> X.ok (error line or dump) ---- */

START_TEST(test_golden) {
  char *dir = xasprintf("%s/tests/cfg", getenv("top_srcdir") ? getenv("top_srcdir") : ".");
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, n_err = 0, n_ok = 0, failures = 0;

  ck_assert_msg(d != NULL, "cannot open %s", dir);
  while ((de = readdir(d)) != NULL) {
    if (str_has_suffix(de->d_name, ".yaml") || str_has_suffix(de->d_name, ".ok")) {
      names = xreallocarray(names, n + 1, sizeof(*names));
      names[n++] = xstrdup(de->d_name);
    }
  }
  closedir(d);
  qsort(names, n, sizeof(*names), cmp_str);

  for (size_t i = 0; i < n; i++) {
    char *yaml_path, *ok_path, *got, *want, *stem;
    uint8_t *yaml;
    size_t len, ok_len;
    struct stat st;
    unsigned flags = 0;

    if (str_has_suffix(names[i], ".ok")) {
      /* An .ok without its .yaml is a leftover that tests nothing. */
      stem = xstrndup(names[i], strlen(names[i]) - 3);
      yaml_path = xasprintf("%s/%s.yaml", dir, stem);
      if (stat(yaml_path, &st) < 0) {
        fprintf(stderr, "golden: %s has no .yaml\n", names[i]);
        failures++;
      }
      free(yaml_path);
      free(stem);
      continue;
    }
    stem = xstrndup(names[i], strlen(names[i]) - 5);
    yaml_path = xasprintf("%s/%s", dir, names[i]);
    ok_path = xasprintf("%s/%s.ok", dir, stem);
    if (stat(ok_path, &st) < 0) {
      fprintf(stderr, "golden: %s has no .ok file\n", names[i]);
      failures++;
      goto next;
    }
    yaml = test_read_file(yaml_path, &len);
    if (memmem(yaml, len, "# test: skip-secrets", 20))
      flags |= CFG_LOAD_SKIP_SECRETS;
    got = load_result(names[i], (const char *)yaml, len, flags);
    want = (char *)test_read_file(ok_path, &ok_len);
    rstrip(got);
    rstrip(want);
    if (strcmp(got, want) != 0) {
      fprintf(stderr, "golden: %s: got\n%s\n--- want\n%s\n---\n", names[i], got, want);
      failures++;
    }
    /* Error cases must name this file and a line:column; valid ones dump. */
    if (str_has_prefix(stem, "err-")) {
      char *prefix = xasprintf("%s:", names[i]);
      int line = 0, col = 0;
      n_err++;
      if (!str_has_prefix(got, prefix) ||
          sscanf(got + strlen(prefix), "%d:%d:", &line, &col) != 2 || line < 1 || col < 1) {
        fprintf(stderr, "golden: %s: not a FILE:LINE:COL error: %s\n", names[i], got);
        failures++;
      }
      free(prefix);
    } else {
      n_ok++;
      if (!str_has_prefix(got, "# resolved configuration")) {
        fprintf(stderr, "golden: %s: expected a valid configuration: %s\n", names[i], got);
        failures++;
      }
    }
    free(got);
    free(want);
    free(yaml);
  next:
    free(yaml_path);
    free(ok_path);
    free(stem);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  free(dir);
  ck_assert_msg(failures == 0, "%zu golden failures (see stderr)", failures);
  ck_assert_uint_ge(n_err, 25);
  ck_assert_uint_ge(n_ok, 5);
}
END_TEST

/* ---- the shipped example ---- */

static char *example_path(void) {
  return xasprintf("%s/etc/pprofd.yaml", getenv("top_srcdir") ? getenv("top_srcdir") : ".");
}

START_TEST(test_example_loads) {
  char *path = example_path(), *err = NULL;
  struct cfg *c = NULL;
  const struct cfg_target *t;
  static const char *const builtins[] = {"cpu",   "heap",  "allocs",       "goroutine",
                                         "block", "mutex", "threadcreate", "trace"};

  ck_assert_msg(cfg_load(path, 0, &c, &err) == 0, "%s", err ? err : "");
  ck_assert_str_eq(c->storage.path, "/var/lib/pprofd/pprofd.db");
  ck_assert_uint_eq(c->n_targets, 1);
  t = &c->targets[0];
  ck_assert_str_eq(t->name, "demo");
  ck_assert_uint_eq(t->n_instances, 1);
  ck_assert_str_eq(t->instances[0].url, "http://127.0.0.1:6060");
  ck_assert_str_eq(t->instances[0].name, "127.0.0.1:6060");
  ck_assert(!t->profiles_auto);
  for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
    const struct cfg_profile *p = NULL;
    for (size_t j = 0; j < t->n_profiles; j++)
      if (strcmp(t->profiles[j].name, builtins[i]) == 0)
        p = &t->profiles[j];
    ck_assert_msg(p != NULL, "example lacks profile %s", builtins[i]);
    ck_assert_int_eq(p->kind, profile_kind_from_name(builtins[i]));
    /* Short intervals, so that a user sees captures quickly. */
    ck_assert_int_le(p->interval_ms, 60 * 1000);
    if (p->kind == PROFILE_TRACE) {
      ck_assert(p->seconds == 2.0);
      ck_assert_int_eq(p->interval_ms, 60 * 1000);
    }
    if (p->kind == PROFILE_CPU)
      ck_assert(p->seconds == 5.0);
  }
  cfg_free(c);
  free(path);
}
END_TEST

struct key_check {
  const char *text;
  size_t n_keys, missing;
};

static void check_key(const char *section, const char *key, void *userdata) {
  struct key_check *kc = userdata;
  const char *p = kc->text;
  size_t len = strlen(key);
  bool found = false;

  kc->n_keys++;
  /* "key:" as a whole word, active or in a comment. */
  while (!found && (p = strstr(p, key)) != NULL) {
    bool start = p == kc->text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
    found = start && p[len] == ':';
    p += len;
  }
  if (!found) {
    fprintf(stderr, "etc/pprofd.yaml does not mention %s%s%s:\n", section, *section ? "." : "",
            key);
    kc->missing++;
  }
}

START_TEST(test_example_mentions_every_key) {
  char *path = example_path();
  size_t len;
  struct key_check kc = {0};
  uint8_t *text = test_read_file(path, &len);

  kc.text = (const char *)text;
  cfg_foreach_key(check_key, &kc);
  ck_assert_uint_ge(kc.n_keys, 40);
  ck_assert_uint_eq(kc.missing, 0);
  free(text);
  free(path);
}
END_TEST

/* ---- secrets ---- */

static void write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

START_TEST(test_secrets_read_and_redacted) {
  char *dir = test_tmpdir(), *p, *cfgpath, *err = NULL, *dump;
  struct cfg *c = NULL;
  const char *yaml = "http:\n"
                     "  token_file: http.token\n"
                     "defaults:\n"
                     "  basic_auth: {username: pprof, password_file: secrets/pw}\n"
                     "targets:\n"
                     "  - name: api\n"
                     "    url: https://127.0.0.1:6060\n"
                     "    bearer_token_file: api.token\n"
                     "    profiles: [heap]\n"
                     "  - name: web\n"
                     "    url: https://127.0.0.1:6061\n"
                     "    profiles: [heap]\n";

  /* Relative secret paths are relative to the configuration's directory. */
  p = xasprintf("%s/http.token", dir);
  write_file(p, "s3cret-http-TOKEN\n", 18);
  free(p);
  p = xasprintf("%s/api.token", dir);
  write_file(p, "s3cret-api-TOKEN\r\n", 18);
  free(p);
  p = xasprintf("%s/secrets", dir);
  ck_assert_int_eq(mkdir(p, 0700), 0);
  free(p);
  p = xasprintf("%s/secrets/pw", dir);
  write_file(p, "s3cret-PASSWORD", 15);
  free(p);
  cfgpath = xasprintf("%s/pprofd.yaml", dir);
  write_file(cfgpath, yaml, strlen(yaml));

  ck_assert_msg(cfg_load(cfgpath, 0, &c, &err) == 0, "%s", err ? err : "");
  ck_assert_str_eq(c->http.token, "s3cret-http-TOKEN");
  ck_assert_str_eq(c->targets[0].http.bearer_token, "s3cret-api-TOKEN");
  /* The target's bearer token replaces the defaults' basic auth. */
  ck_assert_ptr_null(c->targets[0].http.basic_username);
  ck_assert_ptr_null(c->targets[1].http.bearer_token);
  ck_assert_str_eq(c->targets[1].http.basic_username, "pprof");
  ck_assert_str_eq(c->targets[1].http.basic_password, "s3cret-PASSWORD");
  p = xasprintf("%s/secrets/pw", dir);
  ck_assert_str_eq(c->targets[1].http.basic_password_file, p);
  free(p);
  dump = dump_to_string(c);
  ck_assert_ptr_null(strstr(dump, "s3cret"));
  ck_assert_ptr_nonnull(strstr(dump, "bearer_token: <redacted>"));
  ck_assert_ptr_nonnull(strstr(dump, "password: <redacted>"));
  ck_assert_ptr_nonnull(strstr(dump, "token: <redacted>"));
  free(dump);
  cfg_free(c);

  /* pprofctl does not read them. */
  ck_assert_int_eq(cfg_load(cfgpath, CFG_LOAD_SKIP_SECRETS, &c, &err), 0);
  ck_assert_ptr_null(c->http.token);
  ck_assert_ptr_null(c->targets[0].http.bearer_token);
  ck_assert_ptr_null(c->targets[1].http.basic_password);
  ck_assert_str_eq(c->targets[1].http.basic_username, "pprof");
  cfg_free(c);

  free(cfgpath);
  test_rm_rf(dir);
  free(dir);
}
END_TEST

static char *secret_err(const char *dir, const char *file) {
  char *yaml = xasprintf("targets:\n  - name: api\n    url: https://127.0.0.1:6060\n"
                         "    bearer_token_file: %s/%s\n",
                         dir, file);
  char *err = load_err(yaml);
  free(yaml);
  return err;
}

START_TEST(test_secret_errors) {
  char *dir = test_tmpdir(), *p, *err, *want, *big;
  struct cfg *c = NULL;

  err = secret_err(dir, "missing");
  want = xasprintf("t.yaml:4:5: cannot read bearer_token_file '%s/missing': %s", dir,
                   strerror(ENOENT));
  ck_assert_str_eq(err, want);
  free(err);
  free(want);

  /* A directory opens but does not read. */
  p = xasprintf("%s/adir", dir);
  ck_assert_int_eq(mkdir(p, 0700), 0);
  free(p);
  err = secret_err(dir, "adir");
  want =
      xasprintf("t.yaml:4:5: cannot read bearer_token_file '%s/adir': %s", dir, strerror(EISDIR));
  ck_assert_str_eq(err, want);
  free(err);
  free(want);

  big = xmalloc(65 * 1024);
  memset(big, 'a', 65 * 1024);
  p = xasprintf("%s/big", dir);
  write_file(p, big, 65 * 1024);
  free(p);
  free(big);
  err = secret_err(dir, "big");
  want = xasprintf("t.yaml:4:5: cannot read bearer_token_file '%s/big': file is larger than 64 KiB",
                   dir);
  ck_assert_str_eq(err, want);
  free(err);
  free(want);

  p = xasprintf("%s/empty", dir);
  write_file(p, "\n", 1);
  free(p);
  err = secret_err(dir, "empty");
  want = xasprintf("t.yaml:4:5: bearer_token_file '%s/empty' is empty", dir);
  ck_assert_str_eq(err, want);
  free(err);
  free(want);

  p = xasprintf("%s/twolines", dir);
  write_file(p, "abc\ndef\n", 8);
  free(p);
  err = secret_err(dir, "twolines");
  want = xasprintf(
      "t.yaml:4:5: bearer_token_file '%s/twolines' contains a control character or line break",
      dir);
  ck_assert_str_eq(err, want);
  ck_assert_ptr_null(strstr(err, "abc"));
  free(err);
  free(want);

  /* With SKIP_SECRETS a missing file is not an error. */
  p = xasprintf("targets:\n  - name: api\n    url: https://127.0.0.1:6060\n"
                "    bearer_token_file: %s/missing\n",
                dir);
  ck_assert_int_eq(cfg_load_string("t.yaml", p, strlen(p), CFG_LOAD_SKIP_SECRETS, &c, NULL), 0);
  ck_assert_ptr_null(c->targets[0].http.bearer_token);
  c = cfg_free(c);
  ck_assert_ptr_null(c);
  free(p);

  test_rm_rf(dir);
  free(dir);
}
END_TEST

/* ---- durations, sizes, seconds ---- */

static char *one_target(const char *extra) {
  return xasprintf("targets:\n  - name: api\n    url: http://127.0.0.1:6060\n"
                   "    profiles: [heap, allocs]\n%s",
                   extra);
}

START_TEST(test_durations_and_sizes) {
  static const struct {
    const char *value;
    int64_t ms;
  } durations[] = {{"1s", 1000},       {"1.5s", 1500},      {"90s", 90000},
                   {"1h30m", 5400000}, {"2m30s", 150000},   {"14d", 14 * 86400000LL},
                   {"1500ms", 1500},   {"1w", 604800000LL}, {"\"45s\"", 45000}};
  static const struct {
    const char *value;
    uint64_t bytes;
  } sizes[] = {{"1", 1},
               {"4096", 4096},
               {"64KiB", 64 * 1024},
               {"256MiB", 256ULL << 20},
               {"20GiB", 20ULL << 30},
               {"1.5GB", 1500000000ULL},
               {"10MB", 10000000ULL},
               {"2TiB", 2ULL << 40}};
  static const char *const bad_durations[] = {"5",   "-5s",     "1x",   "s",
                                              "1 s", "\"1s \"", "0",    "0s",
                                              "1e3", "soon",    "\"\"", "99999999999999999999d"};
  static const char *const bad_sizes[] = {
      "-1MiB", "1PiB", "MiB", "1.5 parsecs", "0", "abc", "99999999999999999999999GiB"};

  for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
    char *extra =
        xasprintf("    interval: %s\n    timeout: %s\n", durations[i].value, durations[i].value);
    char *yaml = one_target(extra);
    struct cfg *c = load_ok(yaml);
    ck_assert_int_eq(c->targets[0].interval_ms, durations[i].ms);
    ck_assert_int_eq(c->targets[0].profiles[1].interval_ms, durations[i].ms);
    ck_assert_int_eq(c->targets[0].profiles[1].timeout_ms, durations[i].ms);
    cfg_free(c);
    free(yaml);
    free(extra);
  }
  for (size_t i = 0; i < ARRAY_SIZE(bad_durations); i++) {
    /* Durations below 1s are rejected for interval, but not for timeout. */
    char *extra = xasprintf("    interval: 1h\n    timeout: %s\n", bad_durations[i]);
    char *yaml = one_target(extra);
    char *err = load_err(yaml);
    ck_assert_msg(str_has_prefix(err, "t.yaml:6:14: "), "%s: %s", bad_durations[i], err);
    ck_assert_msg(strstr(err, "'timeout'"), "%s", err);
    free(err);
    free(yaml);
    free(extra);
  }
  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
    char *extra = xasprintf("    max_response_size: %s\n", sizes[i].value);
    char *yaml = one_target(extra);
    struct cfg *c = load_ok(yaml);
    ck_assert_uint_eq(c->targets[0].max_response_size, sizes[i].bytes);
    ck_assert_uint_eq(c->targets[0].profiles[0].max_response_size, sizes[i].bytes);
    cfg_free(c);
    free(yaml);
    free(extra);
  }
  for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
    char *extra = xasprintf("    max_response_size: %s\n", bad_sizes[i]);
    char *yaml = one_target(extra);
    char *err = load_err(yaml);
    ck_assert_msg(str_has_prefix(err, "t.yaml:5:24: "), "%s: %s", bad_sizes[i], err);
    free(err);
    free(yaml);
    free(extra);
  }
}
END_TEST

START_TEST(test_storage_and_collector_values) {
  struct cfg *c;
  char *yaml;

  /* retention: "0" and "0s" both mean keep forever. */
  yaml = one_target("storage:\n  retention: 0\n  max_size: 0\n");
  c = load_ok(yaml);
  ck_assert_int_eq(c->storage.retention_ms, 0);
  ck_assert_uint_eq(c->storage.max_size, 0);
  cfg_free(c);
  free(yaml);
  yaml = one_target("storage:\n  retention: 0s\ncollector:\n  min_function_share: 0.5%\n");
  c = load_ok(yaml);
  ck_assert_int_eq(c->storage.retention_ms, 0);
  ck_assert(c->collector.min_function_share > 0.00499 && c->collector.min_function_share < 0.00501);
  cfg_free(c);
  free(yaml);

  /* Defaults from cfg.h's comments. */
  yaml = one_target("");
  c = load_ok(yaml);
  ck_assert_str_eq(c->storage.path, STATEDIR "/pprofd.db");
  ck_assert_int_eq(c->storage.retention_ms, 14 * 86400000LL);
  ck_assert_int_eq(c->storage.prune_interval_ms, 5 * 60000);
  ck_assert_uint_eq(c->collector.max_concurrent, 256);
  ck_assert_uint_eq(c->collector.workers, 2);
  ck_assert_uint_eq(c->collector.queue_size, 64);
  ck_assert_uint_eq(c->collector.queue_max_bytes, 32ULL << 20);
  ck_assert_int_eq(c->collector.shutdown_grace_ms, 10000);
  ck_assert_int_eq(c->collector.max_backoff_ms, 600000);
  ck_assert(c->collector.min_function_share == 0.005);
  ck_assert_uint_eq(c->collector.max_functions, 300);
  ck_assert_uint_eq(c->collector.max_decompressed_size, 256ULL << 20);
  ck_assert_str_eq(c->http.listen, "127.0.0.1:7070");
  ck_assert_ptr_null(c->http.token);
  ck_assert_str_eq(c->log_level, "info");
  ck_assert_int_eq(c->targets[0].interval_ms, CFG_DEFAULT_INTERVAL_MS);
  ck_assert_int_eq(c->targets[0].timeout_ms, CFG_DEFAULT_TIMEOUT_MS);
  ck_assert_uint_eq(c->targets[0].max_response_size, CFG_DEFAULT_MAX_RESPONSE_SIZE);
  ck_assert(c->targets[0].cpu_seconds == CFG_DEFAULT_CPU_SECONDS);
  ck_assert(c->targets[0].trace_seconds == CFG_DEFAULT_TRACE_SECONDS);
  ck_assert_str_eq(c->targets[0].path_prefix, CFG_DEFAULT_PATH_PREFIX);
  cfg_free(c);
  free(yaml);
}
END_TEST

START_TEST(test_seconds_forms) {
  static const struct {
    const char *value;
    double seconds;
  } cases[] = {{"10", 10}, {"2.5", 2.5}, {"0.5", 0.5}, {"10s", 10}, {"1500ms", 1.5}, {"1m", 60}};

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *yaml = xasprintf("targets:\n  - name: api\n    url: http://127.0.0.1:6060\n"
                           "    interval: 1h\n"
                           "    profiles:\n      - {type: trace, seconds: %s}\n"
                           "      - cpu\n",
                           cases[i].value);
    struct cfg *c = load_ok(yaml);
    ck_assert(c->targets[0].profiles[0].seconds == cases[i].seconds);
    ck_assert(c->targets[0].profiles[1].seconds == CFG_DEFAULT_CPU_SECONDS);
    cfg_free(c);
    free(yaml);
  }
}
END_TEST

/* ---- YAML limits and robustness ---- */

START_TEST(test_deep_nesting) {
  char yaml[512];
  size_t n = 0;

  n += (size_t)snprintf(yaml, sizeof(yaml), "targets: ");
  for (int i = 0; i < 100; i++)
    yaml[n++] = '[';
  for (int i = 0; i < 100; i++)
    yaml[n++] = ']';
  yaml[n++] = '\n';
  yaml[n] = '\0';
  assert_err(yaml, "t.yaml:1:73: YAML nesting is too deep (more than 64 levels)");
}
END_TEST

START_TEST(test_count_limits) {
  size_t cap = 10001 * 64 + 64, len = 0;
  char *yaml = xmalloc(cap), *err;

  len += (size_t)snprintf(yaml + len, cap - len, "targets:\n");
  for (int i = 0; i < 10001; i++)
    len += (size_t)snprintf(yaml + len, cap - len, "  - {name: t%d, url: http://h%d:1}\n", i, i);
  err = load_err(yaml);
  ck_assert_str_eq(err, "t.yaml:10002:5: too many targets (more than 10000)");
  free(err);

  len = (size_t)snprintf(yaml, cap,
                         "targets:\n  - name: api\n    url: http://h:1\n"
                         "    profiles:\n");
  for (int i = 0; i < 1001; i++)
    len += (size_t)snprintf(yaml + len, cap - len, "      - p%d\n", i);
  err = load_err(yaml);
  ck_assert_str_eq(err, "t.yaml:1005:9: too many profiles in target 'api' (more than 1000)");
  free(err);
  free(yaml);
}
END_TEST

START_TEST(test_not_nul_terminated) {
  /* cfg_load_string takes a length: nothing past it may be read. */
  const char *text = "targets:\n  - name: api\n    url: http://127.0.0.1:6060\n";
  size_t len = strlen(text);
  char *copy = xmalloc(len);
  struct cfg *c = NULL;

  memcpy(copy, text, len);
  ck_assert_int_eq(cfg_load_string("t.yaml", copy, len, 0, &c, NULL), 0);
  ck_assert_uint_eq(c->n_targets, 1);
  cfg_free(c);
  /* A prefix cut mid-URL is still a document: the URL is just shorter. */
  ck_assert_int_eq(cfg_load_string("t.yaml", copy, len - 6, 0, &c, NULL), 0);
  ck_assert_str_eq(c->targets[0].instances[0].url, "http://127.0.0.1");
  cfg_free(c);
  free(copy);
}
END_TEST

START_TEST(test_nul_byte) {
  const char yaml[] = "targets:\n  - name: \"a\\0b\"\n    url: http://127.0.0.1:6060\n";
  assert_err(yaml, "t.yaml:2:11: string contains a NUL character");
}
END_TEST

/* Every truncation and many byte flips of a rich config: each load either
 * succeeds or fails with a FILE:LINE:COL message; never crashes (run under
 * ASan/valgrind). */
START_TEST(test_mutations) {
  char *path = example_path();
  size_t len;
  uint8_t *orig = test_read_file(path, &len);
  uint8_t *buf = xmalloc(len);
  uint32_t seed = 12345;
  static const char flips[] = ":-[]{}\n #&*!|>'\"\t\\0aZ%";

  for (size_t cut = 0; cut <= len; cut += 7) {
    struct cfg *c = NULL;
    char *err = NULL;
    memcpy(buf, orig, cut);
    if (cfg_load_string("m.yaml", (const char *)buf, cut, CFG_LOAD_SKIP_SECRETS, &c, &err) == 0)
      cfg_free(c);
    else
      ck_assert_msg(str_has_prefix(err, "m.yaml:"), "%s", err);
    free(err);
  }
  for (int iter = 0; iter < 1500; iter++) {
    struct cfg *c = NULL;
    char *err = NULL;
    memcpy(buf, orig, len);
    for (int k = 0; k < 3; k++) {
      seed = seed * 1103515245 + 12345;
      buf[(seed >> 8) % len] = (uint8_t)flips[(seed >> 20) % (sizeof(flips) - 1)];
    }
    if (cfg_load_string("m.yaml", (const char *)buf, len, CFG_LOAD_SKIP_SECRETS, &c, &err) == 0) {
      char *dump = dump_to_string(c);
      free(dump);
      cfg_free(c);
    } else {
      ck_assert_msg(str_has_prefix(err, "m.yaml:"), "%s", err);
    }
    free(err);
  }
  free(buf);
  free(orig);
  free(path);
}
END_TEST

START_TEST(test_load_file_errors) {
  char *dir = test_tmpdir(), *p, *err = NULL;
  struct cfg *c = NULL;
  FILE *f;

  p = xasprintf("%s/none.yaml", dir);
  ck_assert_int_eq(cfg_load(p, 0, &c, &err), -ENOENT);
  ck_assert_ptr_null(c);
  ck_assert_ptr_nonnull(strstr(err, "none.yaml: cannot open: "));
  free(err);
  free(p);

  /* Larger than the 16 MiB cap: refused without parsing. */
  p = xasprintf("%s/big.yaml", dir);
  f = fopen(p, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(ftruncate(fileno(f), 17 << 20), 0);
  fclose(f);
  ck_assert_int_eq(cfg_load(p, 0, &c, &err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "big.yaml: file is larger than 16 MiB"));
  free(err);
  free(p);

  /* An empty file on disk. */
  p = xasprintf("%s/empty.yaml", dir);
  write_file(p, "", 0);
  ck_assert_int_eq(cfg_load(p, 0, &c, &err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "empty.yaml:1:1: no targets configured"));
  free(err);
  free(p);

  ck_assert_ptr_null(cfg_free(NULL));
  test_rm_rf(dir);
  free(dir);
}
END_TEST

static Suite *cfg_suite(void) {
  Suite *s = suite_create("cfg");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_golden);
  tcase_add_test(tc, test_example_loads);
  tcase_add_test(tc, test_example_mentions_every_key);
  tcase_add_test(tc, test_secrets_read_and_redacted);
  tcase_add_test(tc, test_secret_errors);
  tcase_add_test(tc, test_durations_and_sizes);
  tcase_add_test(tc, test_storage_and_collector_values);
  tcase_add_test(tc, test_seconds_forms);
  tcase_add_test(tc, test_deep_nesting);
  tcase_add_test(tc, test_count_limits);
  tcase_add_test(tc, test_not_nul_terminated);
  tcase_add_test(tc, test_nul_byte);
  tcase_add_test(tc, test_mutations);
  tcase_add_test(tc, test_load_file_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cfg_suite());
  int failed;

  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
