/* systemd integration: readiness, status lines, reload/stop notices and
 * watchdog keep-alives (sd_notify). All are no-ops outside systemd. */
#ifndef PPROFD_NOTIFY_H
#define PPROFD_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog interval in ms (0 = disabled); ping at least twice per interval. */
int64_t notify_watchdog_interval_ms(void);
void notify_watchdog(void);

#endif
