#include "config.h"

#include "pprof_format.h"
#include "pprof_math.h"
#include "util.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit {
  const char *name;
  const char *aliases[4];
  double factor;
};

struct unit_type {
  struct unit def;
  struct unit units[9];
  size_t n_units;
};

/* The unit families pprof knows; anything else is printed unscaled. */
static const struct unit_type unit_types[] = {
    {{"B", {"b", "byte"}, 1},
     {{"B", {"b", "byte"}, 1},
      {"kB", {"kb", "kbyte", "kilobyte"}, 1024.0},
      {"MB", {"mb", "mbyte", "megabyte"}, 1048576.0},
      {"GB", {"gb", "gbyte", "gigabyte"}, 1073741824.0},
      {"TB", {"tb", "tbyte", "terabyte"}, 1099511627776.0},
      {"PB", {"pb", "pbyte", "petabyte"}, 1125899906842624.0}},
     6},
    {{"s", {NULL}, 1e9},
     {{"ns", {"ns", "nanosecond"}, 1},
      {"us", {"\xce\xbcs", "us", "microsecond"}, 1e3},
      {"ms", {"ms", "millisecond"}, 1e6},
      {"s", {"s", "sec", "second"}, 1e9},
      {"hrs", {"hour", "hr"}, 3600e9}},
     5},
    {{"GCU", {NULL}, 1},
     {{"n*GCU", {"nanogcu"}, 1e-9},
      {"u*GCU", {"microgcu"}, 1e-6},
      {"m*GCU", {"milligcu"}, 1e-3},
      {"GCU", {"gcu"}, 1},
      {"k*GCU", {"kilogcu"}, 1e3},
      {"M*GCU", {"megagcu"}, 1e6},
      {"G*GCU", {"gigagcu"}, 1e9},
      {"T*GCU", {"teragcu"}, 1e12},
      {"P*GCU", {"petagcu"}, 1e15}},
     9},
};

/* pprof lowercases the unit and drops one trailing "s" from names longer
 * than two bytes ("nanoseconds" -> "nanosecond", "ms" stays). */
static const struct unit *sniff(const struct unit_type *ut, const char *unit) {
  char low[64];
  size_t n = strlen(unit);

  if (n >= sizeof(low))
    return NULL;
  for (size_t i = 0; i < n; i++)
    low[i] = (unit[i] >= 'A' && unit[i] <= 'Z') ? (char)(unit[i] - 'A' + 'a') : unit[i];
  low[n] = '\0';
  if (n > 2 && low[n - 1] == 's')
    low[n - 1] = '\0';
  for (size_t i = 0; i < ut->n_units; i++)
    for (size_t j = 0; j < ARRAY_SIZE(ut->units[i].aliases) && ut->units[i].aliases[j]; j++)
      if (strcmp(low, ut->units[i].aliases[j]) == 0)
        return &ut->units[i];
  return NULL;
}

static bool convert(const struct unit_type *ut, int64_t value, const char *from, const char *to,
                    double *ret, const char **ret_unit) {
  const struct unit *fu = sniff(ut, from), *tu;
  double v;

  if (!fu)
    return false;
  v = (double)value * fu->factor;
  if (strcmp(to, "minimum") == 0 || strcmp(to, "auto") == 0) {
    double f = 0;
    const char *name = NULL;
    for (size_t i = 0; i < ut->n_units; i++) {
      if (ut->units[i].factor >= f && v / ut->units[i].factor >= 1.0) {
        f = ut->units[i].factor;
        name = ut->units[i].name;
      }
    }
    if (f == 0) {
      *ret = v / ut->def.factor;
      *ret_unit = ut->def.name;
    } else {
      *ret = v / f;
      *ret_unit = name;
    }
    return true;
  }
  tu = sniff(ut, to);
  if (!tu) {
    *ret = v / ut->def.factor;
    *ret_unit = ut->def.name;
    return true;
  }
  *ret = v / tu->factor;
  *ret_unit = tu->name;
  return true;
}

double pprof_scale(int64_t value, const char *from_unit, const char *to_unit,
                   const char **ret_unit) {
  double v;

  if (value < 0 && value != INT64_MIN) {
    v = pprof_scale(pp_neg(value), from_unit, to_unit, ret_unit);
    return -v;
  }
  for (size_t i = 0; i < ARRAY_SIZE(unit_types); i++)
    if (convert(&unit_types[i], value, from_unit, to_unit, &v, ret_unit))
      return v;
  if (strcmp(to_unit, "count") == 0 || strcmp(to_unit, "sample") == 0 ||
      strcmp(to_unit, "unit") == 0 || strcmp(to_unit, "minimum") == 0 ||
      strcmp(to_unit, "auto") == 0)
    *ret_unit = "";
  else
    *ret_unit = to_unit;
  return (double)value;
}

const char *pprof_scaled_label(int64_t value, const char *from_unit, const char *to_unit, char *buf,
                               size_t size) {
  const char *unit;
  double v = pprof_scale(value, from_unit, to_unit, &unit);
  char num[400];
  size_t n;

  snprintf(num, sizeof(num), "%.2f", v);
  n = strlen(num);
  if (n > 3 && strcmp(num + n - 3, ".00") == 0)
    num[n - 3] = '\0';
  if (strcmp(num, "0") == 0 || strcmp(num, "-0") == 0) {
    snprintf(buf, size, "0");
    return buf;
  }
  snprintf(buf, size, "%s%s", num, unit);
  return buf;
}

const char *pprof_percentage(int64_t value, int64_t total, char *buf, size_t size) {
  double ratio = 0;

  if (total != 0)
    ratio = fabs((double)value / (double)total) * 100;
  if (ratio >= 99.95 && ratio <= 100.05)
    snprintf(buf, size, "  100%%");
  else if (ratio >= 1.0)
    snprintf(buf, size, "%5.2f%%", ratio);
  else
    snprintf(buf, size, "%5.2g%%", ratio);
  return buf;
}

const char *pprof_output_unit(int64_t min_value, int64_t max_value, const char *sample_unit) {
  const char *min_unit, *max_unit, *unit;

  if (min_value == 0)
    min_value = max_value;
  pprof_scale(min_value, sample_unit, "minimum", &min_unit);
  pprof_scale(max_value, sample_unit, "minimum", &max_unit);
  unit = min_unit;
  if (strcmp(min_unit, max_unit) != 0 && pp_mul(min_value, 100) < max_value)
    pprof_scale(pp_mul(100, min_value), sample_unit, "minimum", &unit);
  return *unit ? unit : sample_unit;
}
