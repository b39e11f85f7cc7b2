#include "config.h"

#include "minihttpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define MAX_PATHS 32

struct minihttpd {
  int fd;
  int port;
  pthread_t thread;
  const uint8_t *file;
  size_t file_len;
  pthread_mutex_t lock;
  char *paths[MAX_PATHS];
  unsigned hits[MAX_PATHS];
  volatile bool stop;
};

struct conn {
  struct minihttpd *h;
  int fd;
};

static void write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    p += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, int status, const char *ctype, const void *body, size_t len) {
  char head[512];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, ctype, len);
  write_all(fd, head, (size_t)n);
  write_all(fd, body, len);
}

static void count(struct minihttpd *h, const char *path) {
  pthread_mutex_lock(&h->lock);
  for (int i = 0; i < MAX_PATHS; i++) {
    if (!h->paths[i]) {
      h->paths[i] = xstrdup(path);
      h->hits[i] = 1;
      break;
    }
    if (strcmp(h->paths[i], path) == 0) {
      h->hits[i]++;
      break;
    }
  }
  pthread_mutex_unlock(&h->lock);
}

static void *serve(void *arg) {
  struct conn *c = arg;
  struct minihttpd *h = c->h;
  char req[8192], path[1024] = "";
  size_t len = 0;
  char *q;

  while (len < sizeof(req) - 1) {
    ssize_t n = recv(c->fd, req + len, sizeof(req) - 1 - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
    req[len] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  req[len] = '\0';
  sscanf(req, "GET %1023s", path);
  q = strchr(path, '?');
  if (q)
    *q = '\0';
  count(h, path);
  if (strcmp(path, "/ok") == 0) {
    respond(c->fd, 200, "text/plain", "hello world", 11);
  } else if (strcmp(path, "/file") == 0) {
    respond(c->fd, 200, "application/octet-stream", h->file, h->file_len);
  } else if (strcmp(path, "/404") == 0) {
    respond(c->fd, 404, "text/plain", "Unknown profile\n", 16);
  } else if (strcmp(path, "/busy") == 0) {
    const char *m = "Could not enable CPU profiling: cpu profiling already in use\n";
    respond(c->fd, 500, "text/plain", m, strlen(m));
  } else if (strcmp(path, "/html") == 0) {
    const char *m = "<html><head><title>/debug/pprof/</title></head><body>index</body></html>";
    respond(c->fd, 200, "text/html", m, strlen(m));
  } else if (strcmp(path, "/big") == 0) {
    static char chunk[65536];
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    memset(chunk, 'x', sizeof(chunk));
    write_all(c->fd, head, strlen(head));
    for (int i = 0; i < 16; i++) {
      char sz[16];
      int n = snprintf(sz, sizeof(sz), "%zx\r\n", sizeof(chunk));
      write_all(c->fd, sz, (size_t)n);
      write_all(c->fd, chunk, sizeof(chunk));
      write_all(c->fd, "\r\n", 2);
    }
    write_all(c->fd, "0\r\n\r\n", 5);
  } else if (strcmp(path, "/biglen") == 0) {
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n";
    write_all(c->fd, head, strlen(head));
  } else if (strcmp(path, "/slow") == 0) {
    for (int i = 0; i < 30 && !h->stop; i++)
      usleep(100000);
    respond(c->fd, 200, "text/plain", "late", 4);
  } else if (strcmp(path, "/halfslow") == 0) {
    static const char half[1000] = {0};
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n";
    write_all(c->fd, head, strlen(head));
    write_all(c->fd, half, sizeof(half));
    for (int i = 0; i < 10 && !h->stop; i++)
      usleep(100000);
    write_all(c->fd, half, sizeof(half));
  } else if (strcmp(path, "/drop") == 0) {
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
    write_all(c->fd, head, strlen(head));
    write_all(c->fd, "0123456789", 10);
  } else if (strcmp(path, "/auth") == 0) {
    if (strstr(req, "Authorization: Bearer s3cret\r\n"))
      respond(c->fd, 200, "text/plain", "authorized", 10);
    else
      respond(c->fd, 401, "text/plain", "no", 2);
  } else if (strcmp(path, "/headers") == 0) {
    respond(c->fd, 200, "text/plain", req, len);
  } else if (strcmp(path, "/redirect") == 0) {
    const char *m = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\n"
                    "Content-Length: 0\r\nConnection: close\r\n\r\n";
    write_all(c->fd, m, strlen(m));
  } else {
    respond(c->fd, 404, "text/plain", "not found", 9);
  }
  shutdown(c->fd, SHUT_WR);
  close(c->fd);
  free(c);
  return NULL;
}

static void *accept_loop(void *arg) {
  struct minihttpd *h = arg;
  while (!h->stop) {
    struct pollfd pfd = {.fd = h->fd, .events = POLLIN, .revents = 0};
    struct conn *c;
    pthread_t t;
    int fd;
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    fd = accept(h->fd, NULL, NULL);
    if (fd < 0)
      continue;
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    c->fd = fd;
    pthread_create(&t, NULL, serve, c);
    pthread_detach(t);
  }
  return NULL;
}

struct minihttpd *minihttpd_start(const uint8_t *file, size_t file_len) {
  struct minihttpd *h = xcalloc(1, sizeof(*h));
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  int one = 1;

  h->file = file;
  h->file_len = file_len;
  pthread_mutex_init(&h->lock, NULL);
  h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(h->fd, 64) < 0) {
    close(h->fd);
    free(h);
    return NULL;
  }
  getsockname(h->fd, (struct sockaddr *)&a, &alen);
  h->port = ntohs(a.sin_port);
  pthread_create(&h->thread, NULL, accept_loop, h);
  return h;
}

int minihttpd_port(const struct minihttpd *h) {
  return h->port;
}

unsigned minihttpd_hits(struct minihttpd *h, const char *path) {
  unsigned n = 0;
  pthread_mutex_lock(&h->lock);
  for (int i = 0; i < MAX_PATHS && h->paths[i]; i++)
    if (strcmp(h->paths[i], path) == 0)
      n = h->hits[i];
  pthread_mutex_unlock(&h->lock);
  return n;
}

void minihttpd_stop(struct minihttpd *h) {
  h->stop = true;
  pthread_join(h->thread, NULL);
  close(h->fd);
  /* Give connection threads (e.g. /slow) time to notice. */
  usleep(200000);
  for (int i = 0; i < MAX_PATHS; i++)
    free(h->paths[i]);
  pthread_mutex_destroy(&h->lock);
  free(h);
}
