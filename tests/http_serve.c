/* Test helper for tests/http.test.sh: seeds a database with the standard
 * HTTP test set (tests/http_seed.c), serves it with the HTTP endpoint on
 * 127.0.0.1 and a free port, writes the port to PORTFILE and runs until
 * SIGTERM or SIGINT.
 *
 *   http_serve DB PORTFILE [TOKEN] */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon_metrics.h"
#include "http_seed.h"
#include "http_server.h"
#include "metrics.h"
#include "util.h"

static bool always_ready(void *userdata) {
  (void)userdata;
  return true;
}

int main(int argc, char **argv) {
  struct http_server_opts o = {0};
  struct http_server *srv = NULL;
  struct metrics *m;
  sigset_t mask;
  char *err = NULL;
  FILE *f;
  int sig;

  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: http_serve DB PORTFILE [TOKEN]\n");
    return 2;
  }
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, NULL);
  m = metrics_new();
  daemon_metrics_declare(m);
  if (http_seed(argv[1], time_wall_ms(), m, &err) < 0) {
    fprintf(stderr, "http_serve: %s\n", err);
    return 1;
  }
  o.listen = "127.0.0.1:0";
  o.db_path = argv[1];
  o.metrics = m;
  o.ready = always_ready;
  o.token = argc == 4 ? argv[3] : NULL;
  o.timeout_s = 5;
  if (http_server_start(&o, &srv, &err) < 0) {
    fprintf(stderr, "http_serve: %s\n", err);
    return 1;
  }
  f = fopen(argv[2], "w");
  if (!f || fprintf(f, "%d\n", http_server_port(srv)) < 0 || fclose(f) != 0) {
    fprintf(stderr, "http_serve: cannot write %s\n", argv[2]);
    return 1;
  }
  sigwait(&mask, &sig);
  http_server_stop(srv);
  metrics_free(m);
  return 0;
}
