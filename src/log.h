/* Logging: stderr only, with <N> priority prefixes for journald or
 * timestamps on a terminal. Only the mains and dispatch code log; library
 * code returns errors. */
#ifndef PPROFD_LOG_H
#define PPROFD_LOG_H

#include <stdarg.h>

enum log_level {
  LOG_LEVEL_ERROR = 3,
  LOG_LEVEL_WARNING = 4,
  LOG_LEVEL_NOTICE = 5,
  LOG_LEVEL_INFO = 6,
  LOG_LEVEL_DEBUG = 7,
};

/* Chooses the output style: journald prefixes when $JOURNAL_STREAM is set
 * or stderr is not a terminal, unless force_plain (-d) is set. */
void log_init(const char *progname, int max_level, int force_plain);
void log_set_level(int max_level);
int log_level_from_name(const char *name);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap);

/* Logs fmt followed by ": strerror(-r)" and returns r (a negative errno). */
int log_msg_errno(int level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_error_errno(r, ...) log_msg_errno(LOG_LEVEL_ERROR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_msg_errno(LOG_LEVEL_WARNING, r, __VA_ARGS__)

#endif
