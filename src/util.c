#include "config.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void) {
  fputs("<2>out of memory\n", stderr);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom();
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    oom();
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    oom();
  return q;
}

void *xreallocarray(void *p, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size)
    oom();
  return xrealloc(p, n * size);
}

char *xstrdup(const char *s) {
  char *p;
  if (!s)
    return NULL;
  p = strdup(s);
  if (!p)
    oom();
  return p;
}

char *xstrndup(const char *s, size_t n) {
  char *p = strndup(s, n);
  if (!p)
    oom();
  return p;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *p;
  int r;
  va_start(ap, fmt);
  r = vasprintf(&p, fmt, ap);
  va_end(ap);
  if (r < 0)
    oom();
  return p;
}

void freep(void *p) {
  void **pp = p;
  free(*pp);
  *pp = NULL;
}

int64_t time_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t time_mono_ms(void) {
  return time_mono_ns() / 1000000;
}

int64_t time_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses "<number><unit>" pairs; the number may have a fraction. */
int parse_duration_ms(const char *s, int64_t *ret_ms) {
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"ms", 1},       {"s", 1000},         {"m", 60000},
               {"h", 3600000},  {"d", 86400000},     {"w", 604800000}};
  double total = 0;
  const char *p = s;

  if (!s || !*s)
    return -EINVAL;
  while (*p) {
    char *end;
    double v;
    size_t best = 0, best_len = 0;

    if (!isdigit((unsigned char)*p) && *p != '.')
      return -EINVAL;
    errno = 0;
    v = strtod(p, &end);
    if (end == p || errno || v < 0)
      return -EINVAL;
    p = end;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
      size_t n = strlen(units[i].unit);
      if (strncmp(p, units[i].unit, n) == 0 && n > best_len) {
        best = i;
        best_len = n;
      }
    }
    if (!best_len)
      return -EINVAL;
    p += best_len;
    total += v * units[best].ms;
    if (total > (double)INT64_MAX / 2)
      return -ERANGE;
  }
  *ret_ms = (int64_t)llround(total);
  return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
  static const struct {
    const char *unit;
    double mult;
  } units[] = {{"", 1},
               {"B", 1},
               {"KiB", 1024.0},
               {"MiB", 1024.0 * 1024},
               {"GiB", 1024.0 * 1024 * 1024},
               {"TiB", 1024.0 * 1024 * 1024 * 1024},
               {"KB", 1e3},
               {"kB", 1e3},
               {"MB", 1e6},
               {"GB", 1e9},
               {"TB", 1e12},
               {"K", 1024.0},
               {"M", 1024.0 * 1024},
               {"G", 1024.0 * 1024 * 1024}};
  char *end;
  double v;

  if (!s || !*s || (!isdigit((unsigned char)*s) && *s != '.'))
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno || v < 0)
    return -EINVAL;
  while (*end == ' ')
    end++;
  for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
    if (strcmp(end, units[i].unit) == 0) {
      double b = v * units[i].mult;
      if (b >= 18446744073709551615.0)
        return -ERANGE;
      *ret_bytes = (uint64_t)llround(b);
      return 0;
    }
  }
  return -EINVAL;
}

const char *format_duration_ms(int64_t ms, char *buf, size_t size) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
  size_t off = 0;

  if (ms == 0) {
    snprintf(buf, size, "0s");
    return buf;
  }
  if (ms < 0) {
    off += snprintf(buf, size, "-");
    ms = -ms;
  }
  for (size_t i = 0; i < ARRAY_SIZE(units) && off < size; i++) {
    if (ms >= units[i].ms) {
      off += snprintf(buf + off, size - off, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
      ms %= units[i].ms;
    }
  }
  return buf;
}

const char *format_size(uint64_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  size_t i = 0;
  while (v >= 1024 && i + 1 < ARRAY_SIZE(units)) {
    v /= 1024;
    i++;
  }
  if (i == 0)
    snprintf(buf, size, "%" PRIu64 " B", bytes);
  else
    snprintf(buf, size, "%.1f %s", v, units[i]);
  return buf;
}

/* UTC calendar fields of a time, computed here: glibc's gmtime_r() and
 * strftime() load the local time zone file on first use (tens of
 * microseconds, and an open of /etc/localtime), for a time that is UTC
 * anyway. Days to civil date in the proleptic Gregorian calendar, in
 * eras of 400 years (146,097 days) counted from 0000-03-01. */
static void civil_utc(time_t t, struct tm *tm) {
  int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400;
  int64_t era, doe, yoe, doy, mp, year;

  if (secs < 0) {
    secs += 86400;
    days--;
  }
  days += 719468; /* 1970-01-01 -> 0000-03-01 */
  era = (days >= 0 ? days : days - 146096) / 146097;
  doe = days - era * 146097;                             /* [0, 146096] */
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);         /* [0, 365], from March 1 */
  mp = (5 * doy + 2) / 153;                              /* [0, 11], March = 0 */
  year = yoe + era * 400 + (mp >= 10);
  memset(tm, 0, sizeof(*tm));
  tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
  tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
  tm->tm_year = (int)(year - 1900);
  tm->tm_hour = (int)(secs / 3600);
  tm->tm_min = (int)(secs / 60 % 60);
  tm->tm_sec = (int)(secs % 60);
}

const char *format_rfc3339(int64_t wall_ms, char *buf, size_t size) {
  time_t secs = (time_t)(wall_ms / 1000);
  int ms = (int)(wall_ms % 1000);
  struct tm tm;
  char base[48];

  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  civil_utc(secs, &tm);
  snprintf(base, sizeof(base), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (ms)
    snprintf(buf, size, "%s.%03dZ", base, ms);
  else
    snprintf(buf, size, "%sZ", base);
  return buf;
}

static int parse_digits(const char **p, int n, int *ret) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -EINVAL;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *ret = v;
  return 0;
}

static int parse_rfc3339(const char *s, int64_t *ret_ms) {
  const char *p = s;
  int year, mon, day, hour = 0, min = 0, sec = 0, ms = 0, off_min = 0;
  struct tm tm = {0};
  time_t t;

  if (parse_digits(&p, 4, &year) < 0 || *p++ != '-' || parse_digits(&p, 2, &mon) < 0 ||
      *p++ != '-' || parse_digits(&p, 2, &day) < 0)
    return -EINVAL;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (parse_digits(&p, 2, &hour) < 0 || *p++ != ':' || parse_digits(&p, 2, &min) < 0)
      return -EINVAL;
    if (*p == ':') {
      p++;
      if (parse_digits(&p, 2, &sec) < 0)
        return -EINVAL;
    }
    if (*p == '.') {
      int scale = 100;
      p++;
      if (!isdigit((unsigned char)*p))
        return -EINVAL;
      while (isdigit((unsigned char)*p)) {
        ms += (*p - '0') * scale;
        scale /= 10;
        p++;
      }
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p == '-' ? -1 : 1, oh, om;
      p++;
      if (parse_digits(&p, 2, &oh) < 0 || *p++ != ':' || parse_digits(&p, 2, &om) < 0)
        return -EINVAL;
      off_min = sign * (oh * 60 + om);
    } else if (*p) {
      return -EINVAL;
    }
  }
  if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
    return -EINVAL;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  t = timegm(&tm);
  *ret_ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
  return 0;
}

int parse_time(const char *s, int64_t now_ms, int64_t *ret_wall_ms) {
  int64_t v;
  if (!s || !*s)
    return -EINVAL;
  if (strcmp(s, "now") == 0) {
    *ret_wall_ms = now_ms;
    return 0;
  }
  if (parse_rfc3339(s, &v) == 0) {
    *ret_wall_ms = v;
    return 0;
  }
  if (parse_duration_ms(s, &v) == 0) {
    *ret_wall_ms = now_ms - v;
    return 0;
  }
  return -EINVAL;
}

void hex_encode(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

int parse_int64(const char *s, int64_t *ret) {
  char *end;
  long long v;
  if (!s || !*s || isspace((unsigned char)*s))
    return -EINVAL;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno)
    return -errno;
  if (*end)
    return -EINVAL;
  *ret = v;
  return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
  char *end;
  unsigned long long v;
  if (!s || !isdigit((unsigned char)*s))
    return -EINVAL;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno)
    return -errno;
  if (*end)
    return -EINVAL;
  *ret = v;
  return 0;
}

int parse_double(const char *s, double *ret) {
  char *end;
  double v;
  if (!s || !*s || isspace((unsigned char)*s))
    return -EINVAL;
  errno = 0;
  v = strtod(s, &end);
  if (errno)
    return -errno;
  if (*end || !isfinite(v))
    return -EINVAL;
  *ret = v;
  return 0;
}

bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int read_file_small(const char *path, size_t max, bool strip_newline, char **ret) {
  int fd, r = 0;
  char *data = NULL;
  size_t len = 0, cap = 256;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  data = xmalloc(cap);
  for (;;) {
    ssize_t n;
    if (len + 1 >= cap) {
      if (cap > max) {
        r = -EFBIG;
        goto out;
      }
      cap *= 2;
      data = xrealloc(data, cap);
    }
    n = read(fd, data + len, cap - len - 1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      r = -errno;
      goto out;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len > max) {
      r = -EFBIG;
      goto out;
    }
  }
  data[len] = '\0';
  if (strip_newline) {
    if (len && data[len - 1] == '\n')
      data[--len] = '\0';
    if (len && data[len - 1] == '\r')
      data[--len] = '\0';
  }
  *ret = data;
  data = NULL;
out:
  free(data);
  close(fd);
  return r;
}
