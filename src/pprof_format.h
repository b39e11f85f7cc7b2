/* Numbers as `go tool pprof` prints them (Go 1.19's measurement package):
 * values scaled to a readable unit ("6.72s", "15027.62kB", "22"),
 * percentages with at least two significant digits, and the report unit
 * chosen from the smallest and largest values shown. */
#ifndef PPROFD_PPROF_FORMAT_H
#define PPROFD_PPROF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define PPROF_LABEL_SIZE 48

/* measurement.Scale: value in from_unit converted to to_unit, where
 * "auto"/"minimum" pick a readable unit. *ret_unit is the unit to print
 * ("" for plain counts); it points to a static string or to to_unit. */
double pprof_scale(int64_t value, const char *from_unit, const char *to_unit,
                   const char **ret_unit);
/* measurement.ScaledLabel: "%.2f" without a ".00" tail, plus the unit. */
const char *pprof_scaled_label(int64_t value, const char *from_unit, const char *to_unit, char *buf,
                               size_t size);
/* measurement.Percentage: "  100%", "92.71%", "  0.6%", "    0%". */
const char *pprof_percentage(int64_t value, int64_t total, char *buf, size_t size);
/* The unit a report uses (report.selectOutputUnit with unit "minimum"):
 * min_value is the smallest nonzero |value| shown (0 if none), max_value
 * the total. Returns a static string or sample_unit. */
const char *pprof_output_unit(int64_t min_value, int64_t max_value, const char *sample_unit);

#endif
