/* Room to prune on a full disk. In WAL mode even a DELETE has to append to
 * the WAL, and a checkpoint may have to grow the database file; on a
 * filesystem with no free block left, retention could then never make room.
 * A reserve file next to the database keeps that room: it is given back
 * before pruning on a full disk and taken again once pruning freed space.
 * Also the hard size limit (storage.max_size). */
#include "config.h"

#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char *reserve_path(const struct store *s) {
  return xasprintf("%s-reserve", s->path);
}

int store_reserve_fill(struct store *s, uint64_t bytes) {
  char *path;
  struct stat st;
  int fd, r = 0;

  if (s->readonly)
    return -EROFS;
  path = reserve_path(s);
  if (stat(path, &st) == 0 && (uint64_t)st.st_size >= bytes)
    goto out;
  fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    r = -errno;
    goto out;
  }
  /* posix_fallocate() allocates the blocks (tmpfs and ext4 both), unlike
   * ftruncate() which would leave a sparse file that reserves nothing. */
  r = -posix_fallocate(fd, 0, (off_t)bytes);
  close(fd);
  if (r < 0)
    unlink(path); /* a partial reserve would only hold space the writer needs */
out:
  free(path);
  return r;
}

bool store_reserve_release(struct store *s) {
  char *path = reserve_path(s);
  bool released = unlink(path) == 0;

  free(path);
  return released;
}

int store_checkpoint_truncate(struct store *s) {
  return store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
}

int store_set_size_limit(struct store *s, uint64_t max_bytes) {
  char sql[64];
  int64_t page_size, pages;
  int r;

  if (s->readonly)
    return -EROFS;
  r = store_query_int64(s, "PRAGMA page_size", &page_size);
  if (r < 0)
    return r;
  /* 0 = no limit: SQLite's own maximum. SQLite never sets the limit below
   * the current page count; the caller re-applies it after pruning. */
  pages = max_bytes ? (int64_t)(max_bytes / (uint64_t)page_size) : 4294967294LL;
  if (pages < 1)
    pages = 1;
  snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", (long long)pages);
  r = store_query_int64(s, sql, &pages);
  if (r < 0)
    return r;
  s->max_pages = max_bytes ? pages : 0;
  return 0;
}

int store_free_bytes(struct store *s, uint64_t *ret_bytes) {
  struct statvfs vfs;

  if (statvfs(s->path, &vfs) < 0)
    return -errno;
  *ret_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
  return 0;
}
