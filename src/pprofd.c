/* pprofd: the continuous profiling daemon. Initialises in dependency order
 * (config, store, pipeline, collector), runs the fetch loop on this thread
 * until SIGTERM/SIGINT, and finalises in reverse. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cfg.h"
#include "collector.h"
#include "daemon_metrics.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pipeline.h"
#include "store.h"
#include "util.h"

#define STATUS_EVERY_MS 10000

static void usage(FILE *out) {
  fprintf(out,
          "Usage: pprofd [-c FILE] [-n [-v]] [-d] [-l LEVEL]\n"
          "\n"
          "Continuous profiling daemon for Go services: collects execution traces and\n"
          "pprof profiles on a schedule, analyses and stores them.\n"
          "\n"
          "  -c, --config FILE    configuration file (default %s)\n"
          "  -n, --check-config   validate the configuration and exit (0 = valid)\n"
          "  -v, --verbose        with -n: print the resolved configuration\n"
          "  -d, --debug          log debug messages with timestamps to stderr\n"
          "  -l, --log-level LVL  error, warning, notice, info (default) or debug\n"
          "  -h, --help           show this help\n"
          "  -V, --version        show the version\n",
          CONFIGFILE);
}

struct options {
  const char *config;
  bool check;
  bool verbose;
  bool debug;
  const char *log_level;
};

static int parse_args(int argc, char **argv, struct options *o) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'n'},
      {"verbose", no_argument, NULL, 'v'},      {"debug", no_argument, NULL, 'd'},
      {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
  int opt;

  memset(o, 0, sizeof(*o));
  o->config = CONFIGFILE;
  while ((opt = getopt_long(argc, argv, "c:nvdl:hV", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      o->config = optarg;
      break;
    case 'n':
      o->check = true;
      break;
    case 'v':
      o->verbose = true;
      break;
    case 'd':
      o->debug = true;
      break;
    case 'l':
      if (log_level_from_name(optarg) < 0) {
        fprintf(stderr, "pprofd: invalid log level '%s'\n", optarg);
        return 2;
      }
      o->log_level = optarg;
      break;
    case 'h':
      usage(stdout);
      exit(EXIT_SUCCESS);
    case 'V':
      printf("pprofd %s\n", PACKAGE_VERSION);
      exit(EXIT_SUCCESS);
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "pprofd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  return 0;
}

static int apply_log_level(const struct options *o, const struct cfg *cfg) {
  const char *name = o->log_level ? o->log_level : cfg->log_level;
  int level = o->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
  if (!o->debug && name && log_level_from_name(name) > 0)
    level = log_level_from_name(name);
  log_set_level(level);
  return level;
}

static int check_config(const struct options *o) {
  struct cfg *cfg = NULL;
  char *err = NULL;
  size_t instances = 0, profiles = 0;

  if (cfg_load(o->config, 0, &cfg, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    free(err);
    return EXIT_FAILURE;
  }
  for (size_t i = 0; i < cfg->n_targets; i++) {
    instances += cfg->targets[i].n_instances;
    profiles += cfg->targets[i].n_instances * cfg->targets[i].n_profiles;
  }
  if (o->verbose)
    cfg_dump(cfg, stdout);
  printf("%s: configuration OK: %zu targets, %zu instances, %zu profile jobs\n", o->config,
         cfg->n_targets, instances, profiles);
  cfg_free(cfg);
  return EXIT_SUCCESS;
}

static struct pipeline_opts pipeline_opts_from(const struct cfg *cfg) {
  struct pipeline_opts po;
  memset(&po, 0, sizeof(po));
  po.workers = cfg->collector.workers;
  po.queue_size = cfg->collector.queue_size;
  po.queue_max_bytes = cfg->collector.queue_max_bytes;
  analysis_opts_default(&po.analysis);
  if (cfg->collector.min_function_share > 0)
    po.analysis.min_function_share = cfg->collector.min_function_share;
  if (cfg->collector.max_functions > 0)
    po.analysis.max_functions = cfg->collector.max_functions;
  if (cfg->collector.max_decompressed_size > 0)
    po.analysis.max_decompressed =
        (size_t)MIN(cfg->collector.max_decompressed_size, (uint64_t)SIZE_MAX);
  po.retention_ms = cfg->storage.retention_ms;
  po.max_size = cfg->storage.max_size;
  po.prune_interval_ms = cfg->storage.prune_interval_ms;
  return po;
}

/* What /readyz reports: the configuration is loaded and the last capture
 * the writer tried to store was committed. Set from the writer thread. */
struct readiness {
  atomic_bool running;
  atomic_bool store_ok;
};

static void on_stored(const struct capture *c, int64_t id, int err, void *userdata) {
  struct readiness *rd = userdata;
  atomic_store(&rd->store_ok, err == 0);
  (void)c;
  (void)id;
}

static bool is_ready(void *userdata) {
  struct readiness *rd = userdata;
  return atomic_load(&rd->running) && atomic_load(&rd->store_ok);
}

static bool http_enabled(const struct cfg *cfg) {
  return cfg->http.listen && *cfg->http.listen && strcmp(cfg->http.listen, "off") != 0;
}

/* The HTTP endpoint on its own threads, with read-only store connections. */
static int start_http(const struct cfg *cfg, struct metrics *m, struct readiness *rd,
                      struct http_server **ret) {
  struct http_server_opts ho;
  char *err = NULL;
  int r;

  if (!http_enabled(cfg))
    return 0;
  memset(&ho, 0, sizeof(ho));
  ho.listen = cfg->http.listen;
  ho.token = cfg->http.token;
  ho.db_path = cfg->storage.path;
  ho.metrics = m;
  ho.ready = is_ready;
  ho.userdata = rd;
  r = http_server_start(&ho, ret, &err);
  if (r < 0) {
    log_error("%s", err);
    free(err);
    return r;
  }
  log_info("HTTP endpoint listening on %s%s", cfg->http.listen,
           cfg->http.token ? " (token required)" : "");
  return 0;
}

static void reload(const struct options *o, struct collector *col, struct pipeline *p,
                   struct metrics *m) {
  struct cfg *cfg = NULL;
  char *err = NULL;
  const struct cfg *old = collector_cfg(col);

  notify_reloading();
  log_info("reloading configuration from %s", o->config);
  if (cfg_load(o->config, 0, &cfg, &err) < 0) {
    log_error("reload failed, keeping the running configuration: %s", err);
    free(err);
    {
      const char *l[] = {"result", "failure", NULL};
      metrics_add(m, M_RELOADS, l, 1);
    }
    notify_ready();
    return;
  }
  if (strcmp(cfg->storage.path, old->storage.path) != 0)
    log_warning("storage.path changed to '%s': takes effect after a restart (still using '%s')",
                cfg->storage.path, old->storage.path);
  if (strcmp(cfg->http.listen, old->http.listen) != 0 ||
      (cfg->http.token == NULL) != (old->http.token == NULL) ||
      (cfg->http.token && strcmp(cfg->http.token, old->http.token) != 0))
    log_warning("http settings changed: they take effect after a restart");
  pipeline_set_retention(p, cfg->storage.retention_ms, cfg->storage.max_size,
                         cfg->storage.prune_interval_ms);
  pipeline_set_max_bytes(p, cfg->collector.queue_max_bytes);
  apply_log_level(o, cfg);
  collector_reload(col, cfg);
  log_info("configuration reloaded: %zu targets", collector_cfg(col)->n_targets);
  {
    const char *l[] = {"result", "success", NULL};
    metrics_add(m, M_RELOADS, l, 1);
  }
  notify_ready();
}

static void report_status(struct collector *col, struct pipeline *p) {
  struct collector_stats st;
  struct pipeline_counters *pc = pipeline_counters(p);
  collector_get_stats(col, &st);
  notify_status("%zu targets, %zu jobs, %u in flight, %llu stored, %llu failed fetches, %zu queued",
                st.targets, st.jobs, st.in_flight, (unsigned long long)atomic_load(&pc->stored),
                (unsigned long long)st.failed, pipeline_queued(p));
}

/* Response bodies (up to max_response_size) are allocated on the fetch
 * thread and freed on the writer thread, between long-lived small objects
 * (jobs, metric series). glibc's default raises the mmap threshold to the
 * largest block freed so far, after which bodies come from the heap and
 * leave holes it can never return. A fixed threshold keeps large bodies in
 * their own mappings (returned on free), few arenas keep per-thread caches
 * small, and a periodic trim hands free heap pages back. */
static void tune_malloc(void) {
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  mallopt(M_ARENA_MAX, 2);
}

/* The fetch loop: poll the network and the signalfd, drive transfers, start
 * due jobs. Returns when a stop signal was handled and everything in flight
 * finished or was aborted after the grace period. */
static void run(const struct options *o, struct collector *col, struct pipeline *p,
                struct metrics *m, int sfd) {
  int64_t watchdog_ms = notify_watchdog_interval_ms() / 2;
  int64_t next_watchdog = 0, next_status = 0, stop_deadline = 0;
  bool stopping = false, aborted = false;

  for (;;) {
    struct curl_waitfd wfd = {.fd = sfd, .events = CURL_WAIT_POLLIN, .revents = 0};
    int64_t now = time_mono_ms();
    int max_ms = 1000, timeout;

    if (watchdog_ms > 0 && now >= next_watchdog) {
      notify_watchdog();
      next_watchdog = now + watchdog_ms;
    }
    if (now >= next_status) {
      report_status(col, p);
      malloc_trim(0);
      next_status = now + STATUS_EVERY_MS;
    }
    if (watchdog_ms > 0)
      max_ms = (int)MIN((int64_t)max_ms, MAX(next_watchdog - now, (int64_t)0));
    timeout = collector_timeout(col, now, max_ms);
    collector_poll(col, &wfd, 1, timeout);
    if (wfd.revents & CURL_WAIT_POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP && !stopping) {
          reload(o, col, p, m);
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          if (!stopping) {
            int64_t grace = collector_cfg(col)->collector.shutdown_grace_ms;
            stopping = true;
            stop_deadline = time_mono_ms() + grace;
            collector_stop(col);
            notify_stopping();
            log_info("received %s: finishing %u fetches in flight (grace %llds)",
                     strsignal((int)si.ssi_signo), collector_in_flight(col),
                     (long long)(grace / 1000));
          } else {
            log_notice("second stop signal: aborting fetches in flight");
            stop_deadline = 0;
          }
        }
      }
    }
    collector_step(col);
    if (stopping) {
      if (collector_in_flight(col) == 0)
        break;
      if (!aborted && time_mono_ms() >= stop_deadline) {
        log_notice("grace period over: aborting %u fetches in flight",
                   collector_in_flight(col));
        collector_abort_all(col);
        aborted = true;
      }
    }
  }
}

int main(int argc, char **argv) {
  struct options o;
  struct cfg *cfg = NULL;
  struct store *store = NULL;
  struct pipeline *p = NULL;
  struct collector *col = NULL;
  struct metrics *metrics = NULL;
  struct http_server *http = NULL;
  struct readiness rd;
  struct pipeline_opts po;
  char *err = NULL;
  sigset_t mask;
  int r, sfd = -1, ret = EXIT_FAILURE;

  r = parse_args(argc, argv, &o);
  if (r)
    return r;
  log_init("pprofd", o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, o.debug);
  if (o.check)
    return check_config(&o);
  tune_malloc();

  if (cfg_load(o.config, 0, &cfg, &err) < 0) {
    log_error("%s", err);
    free(err);
    return EXIT_FAILURE;
  }
  apply_log_level(&o, cfg);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    log_error("cannot initialise libcurl");
    goto out;
  }
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  /* Block before any thread starts so every thread inherits the mask. */
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    log_error_errno(-errno, "signalfd");
    goto out;
  }
  r = store_open(cfg->storage.path, 0, &store, &err);
  if (r < 0) {
    log_error("%s", err);
    free(err);
    goto out;
  }
  metrics = metrics_new();
  daemon_metrics_declare(metrics);
  atomic_init(&rd.running, false);
  atomic_init(&rd.store_ok, true);
  po = pipeline_opts_from(cfg);
  po.metrics = metrics;
  po.on_stored = on_stored;
  po.userdata = &rd;
  r = pipeline_start(store, &po, &p);
  store = NULL; /* owned by the pipeline, even on failure */
  if (r < 0) {
    log_error_errno(r, "cannot start the capture pipeline");
    goto out;
  }
  r = collector_new(cfg, p, metrics, &col);
  if (r < 0) {
    log_error_errno(r, "cannot start the collector");
    goto out;
  }
  cfg = NULL; /* owned by the collector */
  if (start_http(collector_cfg(col), metrics, &rd, &http) < 0)
    goto out;
  atomic_store(&rd.running, true);
  log_info("pprofd %s started: %zu targets, storing in %s", PACKAGE_VERSION,
           collector_cfg(col)->n_targets, collector_cfg(col)->storage.path);
  notify_ready();
  run(&o, col, p, metrics, sfd);
  atomic_store(&rd.running, false);
  ret = EXIT_SUCCESS;
out:
  /* Finalise in reverse order: every received capture is stored before the
   * pipeline closes the database. */
  http = http_server_stop(http);
  collector_free(col);
  if (p) {
    log_info("storing %zu queued captures", pipeline_queued(p));
    pipeline_stop(p);
  }
  store_close(store);
  cfg_free(cfg);
  metrics_free(metrics);
  if (sfd >= 0)
    close(sfd);
  curl_global_cleanup();
  if (ret == EXIT_SUCCESS)
    log_info("pprofd stopped");
  return ret;
}
