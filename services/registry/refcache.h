/* refcache.h — the registry's in-memory copy of regions and departments, used to validate every
 * record without a query per field. Shared by worker threads (rwlock). It is refreshed after every
 * committed region/department change and, to see changes made by other registry instances,
 * re-read from the database on a miss (at most once a second) and every 30 s. */
#ifndef DRIP_REFCACHE_H
#define DRIP_REFCACHE_H

#include <libpq-fe.h>

typedef struct refcache refcache;

refcache *refcache_create(void);
void refcache_destroy(refcache *rc);
/* Re-reads current regions and departments. DRIP_OK or a db status. [worker thread] */
int refcache_reload(refcache *rc, PGconn *c);
/* Reloads when stale (30 s) or, with miss = 1, when the last reload is older than 1 s. */
void refcache_refresh(refcache *rc, PGconn *c, int miss);

/* 1 if the region exists (current, not retired). On a miss, refreshes once via c (may be NULL). */
int refcache_region_exists(refcache *rc, PGconn *c, const char *code);
/* Department lookup: 1 and region_out[7] / *active filled if it exists. */
int refcache_dept(refcache *rc, PGconn *c, const char *code, char region_out[7], int *active);

#endif
