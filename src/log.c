#include "config.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The logger is the one mutable global besides signal flags. */
static int log_max_level = LOG_LEVEL_INFO;
static int log_plain;
static const char *log_progname = "pprofd";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *progname, int max_level, int force_plain) {
  log_progname = progname;
  log_max_level = max_level;
  if (force_plain)
    log_plain = 1;
  else
    log_plain = getenv("JOURNAL_STREAM") == NULL && isatty(STDERR_FILENO);
}

void log_set_level(int max_level) {
  log_max_level = max_level;
}

int log_level_from_name(const char *name) {
  static const struct {
    const char *name;
    int level;
  } names[] = {{"error", LOG_LEVEL_ERROR}, {"warning", LOG_LEVEL_WARNING},
               {"notice", LOG_LEVEL_NOTICE}, {"info", LOG_LEVEL_INFO},
               {"debug", LOG_LEVEL_DEBUG}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcasecmp(name, names[i].name) == 0)
      return names[i].level;
  return -EINVAL;
}

void log_vmsg(int level, const char *fmt, va_list ap) {
  static const char *const names[] = {"", "", "", "error", "warning", "notice", "info", "debug"};
  char msg[2048];

  if (level > log_max_level)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  pthread_mutex_lock(&log_lock);
  if (log_plain) {
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld %s %s: %s\n", when, ts.tv_nsec / 1000000, log_progname,
            names[level & 7], msg);
  } else {
    fprintf(stderr, "<%d>%s\n", level, msg);
  }
  pthread_mutex_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(level, fmt, ap);
  va_end(ap);
}

int log_msg_errno(int level, int r, const char *fmt, ...) {
  char head[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof(head), fmt, ap);
  va_end(ap);
  log_msg(level, "%s: %s", head, strerror(r < 0 ? -r : r));
  return r;
}
