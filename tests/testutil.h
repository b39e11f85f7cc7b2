/* Helpers shared by the Check suites. */
#ifndef PPROFD_TESTUTIL_H
#define PPROFD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Path of a file under tests/data (uses $top_srcdir set by make check).
 * Returns a static buffer. */
const char *test_data_path(const char *name);
/* Reads a whole file; aborts the test on error. Caller frees. */
uint8_t *test_read_file(const char *path, size_t *ret_len);
/* A fresh temporary directory (removed by the caller with test_rm_rf). */
char *test_tmpdir(void);
void test_rm_rf(const char *path);

#endif
