/* loadrig: N synthetic Go targets for pprofd's scale benchmark (bench/scale).
 *
 *   loadrig -n N -o PORTS_FILE [-u] [-b ENDPOINT=FILE]...
 *
 * Listens on N ports of 127.0.0.1 (chosen by the kernel), one per target, so
 * that every target is its own instance to pprofd (one CPU profile and one
 * trace at a time per process, like the Go runtime enforces). Serves the
 * pre-loaded bodies at /debug/pprof/ENDPOINT on every port, with
 * net/http/pprof's behaviour where it matters for load:
 *   - ?seconds=N on any endpoint holds the response N seconds (CPU profile,
 *     trace, delta profiles), then sends the body;
 *   - a second concurrent CPU profile or trace on the same port gets
 *     net/http/pprof's HTTP 500 "already in use" answer;
 *   - unknown endpoints get 404 "Unknown profile", /debug/pprof/ an index;
 *   - HTTP/1.1 keep-alive.
 * With -u, every gzip body (pprof's debug=0 form) gets a distinct gzip MTIME
 * so no two responses are byte-identical (pprofd deduplicates stored blobs
 * by SHA-256; real profiles differ every time). Traces are sent as they are.
 *
 * The port list (one per line, target i on line i+1) is written to
 * PORTS_FILE once every port listens. SIGTERM/SIGINT stop it and print the
 * request counters to stderr. One thread, epoll; RLIMIT_NOFILE is raised as
 * needed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODIES 32
#define REQ_MAX 8192
#define PREFIX "/debug/pprof/"

struct body {
  char *endpoint; /* "heap", "profile", "trace", ... */
  uint8_t *data;
  size_t len;
  bool gzip;
};

struct port {
  int fd;
  uint16_t port;
  bool cpu_busy;
  bool trace_busy;
};

enum hold { HOLD_NONE, HOLD_CPU, HOLD_TRACE };

struct conn {
  int fd;
  struct port *port;
  char req[REQ_MAX];
  size_t req_len;
  /* response being written */
  char head[512];
  uint8_t gzhead[10];
  struct iovec iov[3];
  int iov_n;
  bool writing;
  bool close_after;
  /* held response (?seconds=N) */
  const struct body *pending;
  int pending_status;
  enum hold hold;
  int64_t deadline_ms;
  size_t heap_idx;
};

#define NOT_HELD ((size_t)-1)

struct rig {
  int ep;
  int sfd;
  struct port *ports;
  size_t n_ports;
  struct body bodies[MAX_BODIES];
  size_t n_bodies;
  bool unique;
  uint32_t stamp;
  struct conn **held; /* min-heap by deadline */
  size_t n_held, cap_held;
  /* counters */
  uint64_t requests, ok, busy, notfound, bytes, accepted, closed;
};

static const char index_html[] =
    "<html><head><title>/debug/pprof/</title></head><body>/debug/pprof/<br>"
    "<a href=\"allocs?debug=1\">allocs</a> <a href=\"block?debug=1\">block</a> "
    "<a href=\"goroutine?debug=1\">goroutine</a> <a href=\"heap?debug=1\">heap</a> "
    "<a href=\"mutex?debug=1\">mutex</a> <a href=\"profile\">profile</a> "
    "<a href=\"threadcreate?debug=1\">threadcreate</a> <a href=\"trace\">trace</a>"
    "</body></html>\n";
static const char msg_notfound[] = "Unknown profile\n";
static const char msg_cpu_busy[] = "Could not enable CPU profiling: cpu profiling already in use\n";
static const char msg_trace_busy[] = "Could not enable tracing: tracing is already enabled\n";

static void die(const char *what) {
  fprintf(stderr, "loadrig: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int load_body(struct rig *g, const char *spec) {
  const char *eq = strchr(spec, '=');
  struct body *b;
  struct stat st;
  FILE *f;

  if (!eq || eq == spec || g->n_bodies == MAX_BODIES) {
    fprintf(stderr, "loadrig: bad -b '%s' (expected ENDPOINT=FILE)\n", spec);
    return -1;
  }
  b = &g->bodies[g->n_bodies];
  b->endpoint = strndup(spec, (size_t)(eq - spec));
  f = fopen(eq + 1, "rb");
  if (!f || fstat(fileno(f), &st) < 0) {
    fprintf(stderr, "loadrig: %s: %s\n", eq + 1, strerror(errno));
    return -1;
  }
  b->len = (size_t)st.st_size;
  b->data = malloc(b->len ? b->len : 1);
  if (!b->data || fread(b->data, 1, b->len, f) != b->len) {
    fprintf(stderr, "loadrig: cannot read %s\n", eq + 1);
    fclose(f);
    return -1;
  }
  fclose(f);
  b->gzip = b->len > 10 && b->data[0] == 0x1f && b->data[1] == 0x8b;
  g->n_bodies++;
  return 0;
}

static const struct body *find_body(const struct rig *g, const char *ep, size_t n) {
  for (size_t i = 0; i < g->n_bodies; i++)
    if (strlen(g->bodies[i].endpoint) == n && memcmp(g->bodies[i].endpoint, ep, n) == 0)
      return &g->bodies[i];
  return NULL;
}

/* --- held responses: a binary min-heap of connections by deadline --- */

static bool held_less(struct rig *g, size_t a, size_t b) {
  return g->held[a]->deadline_ms < g->held[b]->deadline_ms;
}

static void held_swap(struct rig *g, size_t a, size_t b) {
  struct conn *t = g->held[a];
  g->held[a] = g->held[b];
  g->held[b] = t;
  g->held[a]->heap_idx = a;
  g->held[b]->heap_idx = b;
}

static void held_fix(struct rig *g, size_t i) {
  while (i > 0 && held_less(g, i, (i - 1) / 2)) {
    held_swap(g, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < g->n_held && held_less(g, l, m))
      m = l;
    if (r < g->n_held && held_less(g, r, m))
      m = r;
    if (m == i)
      break;
    held_swap(g, i, m);
    i = m;
  }
}

static void held_push(struct rig *g, struct conn *c) {
  if (g->n_held == g->cap_held) {
    g->cap_held = g->cap_held ? 2 * g->cap_held : 256;
    g->held = realloc(g->held, g->cap_held * sizeof(*g->held));
    if (!g->held)
      die("realloc");
  }
  g->held[g->n_held] = c;
  c->heap_idx = g->n_held++;
  held_fix(g, c->heap_idx);
}

static void held_remove(struct rig *g, struct conn *c) {
  size_t i = c->heap_idx;
  if (i == NOT_HELD)
    return;
  g->n_held--;
  if (i != g->n_held) {
    g->held[i] = g->held[g->n_held];
    g->held[i]->heap_idx = i;
    held_fix(g, i);
  }
  c->heap_idx = NOT_HELD;
}

/* --- connections --- */

static void release_hold(struct conn *c) {
  if (c->hold == HOLD_CPU)
    c->port->cpu_busy = false;
  else if (c->hold == HOLD_TRACE)
    c->port->trace_busy = false;
  c->hold = HOLD_NONE;
}

static void conn_close(struct rig *g, struct conn *c) {
  held_remove(g, c);
  release_hold(c);
  close(c->fd);
  g->closed++;
  free(c);
}

static void set_events(struct rig *g, struct conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the response; returns -1 when the connection is gone. */
static int flush(struct rig *g, struct conn *c) {
  while (c->iov_n > 0) {
    ssize_t n = writev(c->fd, c->iov, c->iov_n);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_events(g, c, EPOLLOUT | EPOLLRDHUP);
        return 0;
      }
      return -1;
    }
    g->bytes += (uint64_t)n;
    while (n > 0 && c->iov_n > 0) {
      if ((size_t)n >= c->iov[0].iov_len) {
        n -= (ssize_t)c->iov[0].iov_len;
        memmove(&c->iov[0], &c->iov[1], (size_t)(c->iov_n - 1) * sizeof(c->iov[0]));
        c->iov_n--;
      } else {
        c->iov[0].iov_base = (char *)c->iov[0].iov_base + n;
        c->iov[0].iov_len -= (size_t)n;
        n = 0;
      }
    }
  }
  c->writing = false;
  if (c->close_after)
    return -1;
  set_events(g, c, EPOLLIN | EPOLLRDHUP);
  return 0;
}

static int respond(struct rig *g, struct conn *c, int status, const char *ctype, const void *data,
                   size_t len, bool gzip) {
  const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Internal Server Error";
  int h = snprintf(c->head, sizeof(c->head),
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                   "Content-Length: %zu\r\n%s\r\n",
                   status, reason, ctype, len, c->close_after ? "Connection: close\r\n" : "");
  c->iov[0].iov_base = c->head;
  c->iov[0].iov_len = (size_t)h;
  c->iov_n = 1;
  if (gzip && g->unique) {
    /* gzip MTIME (bytes 4..7) is not covered by the CRC: a distinct,
     * still valid body per response. */
    uint32_t s = ++g->stamp;
    memcpy(c->gzhead, data, 10);
    c->gzhead[4] = (uint8_t)s;
    c->gzhead[5] = (uint8_t)(s >> 8);
    c->gzhead[6] = (uint8_t)(s >> 16);
    c->gzhead[7] = (uint8_t)(s >> 24);
    c->iov[1].iov_base = c->gzhead;
    c->iov[1].iov_len = 10;
    c->iov[2].iov_base = (uint8_t *)(uintptr_t)data + 10; /* writev does not write */
    c->iov[2].iov_len = len - 10;
    c->iov_n = 3;
  } else if (len) {
    c->iov[1].iov_base = (void *)(uintptr_t)data;
    c->iov[1].iov_len = len;
    c->iov_n = 2;
  }
  c->writing = true;
  if (status == 200)
    g->ok++;
  else if (status == 404)
    g->notfound++;
  else
    g->busy++;
  return flush(g, c);
}

static int send_body(struct rig *g, struct conn *c, const struct body *b) {
  return respond(g, c, 200, "application/octet-stream", b->data, b->len, b->gzip);
}

static double query_seconds(const char *q, size_t n) {
  for (size_t i = 0; i + 8 <= n; i++) {
    if ((i == 0 || q[i - 1] == '?' || q[i - 1] == '&') && memcmp(q + i, "seconds=", 8) == 0) {
      char tmp[32];
      size_t k = 0;
      for (i += 8; i < n && q[i] != '&' && k < sizeof(tmp) - 1; i++)
        tmp[k++] = q[i];
      tmp[k] = '\0';
      return strtod(tmp, NULL);
    }
  }
  return 0;
}

/* Handles one complete request head in c->req[0..end). */
static int handle_request(struct rig *g, struct conn *c, size_t end) {
  char *sp1, *sp2, *path, *q, *ep;
  size_t path_len, ep_len;
  const struct body *b;
  double seconds;

  g->requests++;
  c->req[end - 1] = '\0';
  c->close_after = strcasestr(c->req, "\r\nconnection: close") != NULL;
  sp1 = memchr(c->req, ' ', end);
  sp2 = sp1 ? memchr(sp1 + 1, ' ', end - (size_t)(sp1 + 1 - c->req)) : NULL;
  if (!sp1 || !sp2)
    return -1;
  path = sp1 + 1;
  path_len = (size_t)(sp2 - path);
  q = memchr(path, '?', path_len);
  ep = memmem(path, q ? (size_t)(q - path) : path_len, PREFIX, strlen(PREFIX));
  if (!ep)
    return respond(g, c, 404, "text/plain; charset=utf-8", "404 page not found\n", 19, false);
  ep += strlen(PREFIX);
  ep_len = (size_t)((q ? q : path + path_len) - ep);
  if (ep_len == 0)
    return respond(g, c, 200, "text/html; charset=utf-8", index_html, strlen(index_html), false);
  b = find_body(g, ep, ep_len);
  if (!b)
    return respond(g, c, 404, "text/plain; charset=utf-8", msg_notfound, strlen(msg_notfound),
                   false);
  seconds = q ? query_seconds(q, (size_t)(path + path_len - q)) : 0;
  if (ep_len == 7 && memcmp(ep, "profile", 7) == 0) {
    if (c->port->cpu_busy)
      return respond(g, c, 500, "text/plain; charset=utf-8", msg_cpu_busy, strlen(msg_cpu_busy),
                     false);
    c->port->cpu_busy = true;
    c->hold = HOLD_CPU;
  } else if (ep_len == 5 && memcmp(ep, "trace", 5) == 0) {
    if (c->port->trace_busy)
      return respond(g, c, 500, "text/plain; charset=utf-8", msg_trace_busy, strlen(msg_trace_busy),
                     false);
    c->port->trace_busy = true;
    c->hold = HOLD_TRACE;
  }
  if (seconds > 0) {
    c->pending = b;
    c->deadline_ms = now_ms() + (int64_t)(seconds * 1000.0);
    held_push(g, c);
    return 0;
  }
  release_hold(c);
  return send_body(g, c, b);
}

static int on_readable(struct rig *g, struct conn *c) {
  for (;;) {
    ssize_t n;
    char *end;
    if (c->req_len == REQ_MAX)
      return -1; /* request head too large */
    n = read(c->fd, c->req + c->req_len, REQ_MAX - c->req_len);
    if (n == 0)
      return -1;
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->req_len += (size_t)n;
    if (c->writing || c->heap_idx != NOT_HELD)
      continue; /* pipelined: handled when this response is done */
    end = memmem(c->req, c->req_len, "\r\n\r\n", 4);
    if (end) {
      size_t used = (size_t)(end + 4 - c->req);
      int r = handle_request(g, c, used);
      memmove(c->req, c->req + used, c->req_len - used);
      c->req_len -= used;
      if (r < 0)
        return -1;
    }
  }
}

static void accept_all(struct rig *g, struct port *p) {
  for (;;) {
    int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    struct conn *c;
    struct epoll_event ev;
    int one = 1;
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
        fprintf(stderr, "loadrig: accept: %s\n", strerror(errno));
      return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = calloc(1, sizeof(*c));
    if (!c)
      die("calloc");
    c->fd = fd;
    c->port = p;
    c->heap_idx = NOT_HELD;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
      die("epoll_ctl");
    g->accepted++;
  }
}

static void fire_held(struct rig *g) {
  int64_t now = now_ms();
  while (g->n_held && g->held[0]->deadline_ms <= now) {
    struct conn *c = g->held[0];
    const struct body *b = c->pending;
    held_remove(g, c);
    release_hold(c);
    c->pending = NULL;
    if (send_body(g, c, b) < 0)
      conn_close(g, c);
  }
}

/* Raises the soft limit towards want (at most the hard limit, which a
 * container may not let even root raise); fails below need. */
static void raise_nofile(size_t need, size_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    die("getrlimit");
  if (rl.rlim_cur >= want)
    return;
  rl.rlim_cur = want;
  if (rl.rlim_max < want) {
    struct rlimit more = {.rlim_cur = want, .rlim_max = want};
    if (setrlimit(RLIMIT_NOFILE, &more) == 0)
      return;
    rl.rlim_cur = rl.rlim_max;
  }
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need) {
    fprintf(stderr, "loadrig: need %zu file descriptors, RLIMIT_NOFILE allows %llu\n", need,
            (unsigned long long)rl.rlim_cur);
    exit(1);
  }
}

static void open_ports(struct rig *g, size_t n) {
  g->ports = calloc(n, sizeof(*g->ports));
  if (!g->ports)
    die("calloc");
  for (size_t i = 0; i < n; i++) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t sl = sizeof(sa);
    struct epoll_event ev;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      die("socket");
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
      die("bind/listen on 127.0.0.1");
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
      die("getsockname");
    g->ports[i].fd = fd;
    g->ports[i].port = ntohs(sa.sin_port);
    ev.events = EPOLLIN;
    ev.data.ptr = &g->ports[i];
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
      die("epoll_ctl");
  }
  g->n_ports = n;
}

static void write_ports(const struct rig *g, const char *path) {
  char tmp[4096];
  FILE *f;
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  f = fopen(tmp, "w");
  if (!f)
    die(tmp);
  for (size_t i = 0; i < g->n_ports; i++)
    fprintf(f, "%u\n", g->ports[i].port);
  if (fclose(f) != 0 || rename(tmp, path) < 0)
    die(path);
}

static bool is_port(const struct rig *g, const void *p) {
  return (const struct port *)p >= g->ports && (const struct port *)p < g->ports + g->n_ports;
}

int main(int argc, char **argv) {
  struct rig g;
  const char *ports_file = NULL;
  size_t n = 0;
  int opt;
  sigset_t mask;
  struct epoll_event ev;

  memset(&g, 0, sizeof(g));
  while ((opt = getopt(argc, argv, "n:o:ub:")) != -1) {
    switch (opt) {
    case 'n':
      n = strtoul(optarg, NULL, 10);
      break;
    case 'o':
      ports_file = optarg;
      break;
    case 'u':
      g.unique = true;
      break;
    case 'b':
      if (load_body(&g, optarg) < 0)
        return 1;
      break;
    default:
      fprintf(stderr, "usage: loadrig -n N -o PORTS_FILE [-u] [-b ENDPOINT=FILE]...\n");
      return 2;
    }
  }
  if (n == 0 || n > 60000 || !ports_file || g.n_bodies == 0) {
    fprintf(stderr, "usage: loadrig -n N -o PORTS_FILE [-u] [-b ENDPOINT=FILE]...\n");
    return 2;
  }
  /* Listening sockets plus pprofd's connections: its cache keeps 512 and
   * at most max_concurrent are in flight; want more when allowed. */
  raise_nofile(n + 2048, n * 4 + 4096);
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  if (g.ep < 0)
    die("epoll_create1");
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  g.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (g.sfd < 0)
    die("signalfd");
  ev.events = EPOLLIN;
  ev.data.ptr = &g.sfd;
  epoll_ctl(g.ep, EPOLL_CTL_ADD, g.sfd, &ev);
  open_ports(&g, n);
  write_ports(&g, ports_file);

  for (;;) {
    struct epoll_event evs[256];
    int timeout = -1, k;
    if (g.n_held) {
      int64_t d = g.held[0]->deadline_ms - now_ms();
      timeout = d < 0 ? 0 : (int)d;
    }
    k = epoll_wait(g.ep, evs, 256, timeout);
    if (k < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < k; i++) {
      void *p = evs[i].data.ptr;
      if (p == &g.sfd)
        goto out;
      if (is_port(&g, p)) {
        accept_all(&g, p);
        continue;
      }
      {
        struct conn *c = p;
        int r = 0;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
          r = -1;
        else if (c->writing && (evs[i].events & EPOLLOUT))
          r = flush(&g, c);
        if (r == 0 && (evs[i].events & (EPOLLIN | EPOLLRDHUP)))
          r = on_readable(&g, c);
        if (r < 0)
          conn_close(&g, c);
      }
    }
    fire_held(&g);
  }
out:
  fprintf(stderr,
          "loadrig: %zu ports, %llu connections, %llu requests: %llu ok, %llu busy (500), "
          "%llu not found, %llu bytes sent\n",
          g.n_ports, (unsigned long long)g.accepted, (unsigned long long)g.requests,
          (unsigned long long)g.ok, (unsigned long long)g.busy, (unsigned long long)g.notfound,
          (unsigned long long)g.bytes);
  return 0;
}
