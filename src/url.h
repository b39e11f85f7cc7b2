/* Building request URLs for profile endpoints. */
#ifndef PPROFD_URL_H
#define PPROFD_URL_H

#include <stddef.h>

#include "cfg.h"

/* base + path + "?seconds=N&k=v..." with keys and values escaped; a
 * trailing slash on base is dropped. */
char *url_build(const char *base_url, const char *path, double seconds,
                const struct cfg_pair *params, size_t n_params);

#endif
