/* arena.h — bump allocator owning everything one import batch encodes (records, strings, arrays),
 * freed in one call when the batch is done. Allocation failure aborts (a CLI has no better move). */
#ifndef DRIPCTL_ARENA_H
#define DRIPCTL_ARENA_H

#include <stddef.h>

typedef struct arena arena;

arena *arena_create(void);
void arena_destroy(arena *a);

/* Zeroed, aligned for any type. */
void *arena_alloc(arena *a, size_t n);
/* Copies of s (NULL stays NULL) / of its first n bytes, NUL-terminated. */
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* Total bytes handed out (for memory accounting). */
size_t arena_used(const arena *a);

#endif
