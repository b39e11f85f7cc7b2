/* A string-keyed hash map (open addressing, linear probing). Keys are
 * copied (or, from hashmap_new_borrowed(), borrowed from the value, which
 * must outlive its entry); values are borrowed pointers. Used for job and instance lookup on
 * reload, where thousands of targets make linear scans too slow. */
#ifndef PPROFD_HASHMAP_H
#define PPROFD_HASHMAP_H

#include <stddef.h>

struct hashmap;

struct hashmap *hashmap_new(void);
/* Keys are not copied: each key must stay valid, unchanged, until its entry
 * is removed or replaced (e.g. a string inside the value). Saves a copy per
 * entry in the big maps (jobs, metric series). */
struct hashmap *hashmap_new_borrowed(void);
struct hashmap *hashmap_free(struct hashmap *m);
/* Inserts or replaces. */
void hashmap_put(struct hashmap *m, const char *key, void *value);
void *hashmap_get(const struct hashmap *m, const char *key);
/* Returns the removed value or NULL. */
void *hashmap_remove(struct hashmap *m, const char *key);
size_t hashmap_size(const struct hashmap *m);
/* Iteration: *pos starts at 0; returns 0 at the end. */
int hashmap_next(const struct hashmap *m, size_t *pos, const char **ret_key, void **ret_value);

#endif
