#include "refcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "db.h"
#include "drip/registry.pb-c.h"
#include "log.h"
#include "status.h"

typedef struct {
    char code[33];
    char region[7];
    int active;
} dept_entry;

struct refcache {
    pthread_rwlock_t lock;
    pthread_mutex_t reload_mu; /* one reload at a time */
    codes_regions *regions;
    dept_entry *depts; /* sorted by code */
    size_t ndepts;
    double loaded_at;  /* monotonic seconds; 0 = never */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

refcache *refcache_create(void)
{
    refcache *rc = calloc(1, sizeof *rc);
    if (!rc) abort();
    pthread_rwlock_init(&rc->lock, NULL);
    pthread_mutex_init(&rc->reload_mu, NULL);
    rc->regions = codes_regions_create();
    return rc;
}

void refcache_destroy(refcache *rc)
{
    if (!rc) return;
    codes_regions_destroy(rc->regions);
    free(rc->depts);
    pthread_rwlock_destroy(&rc->lock);
    pthread_mutex_destroy(&rc->reload_mu);
    free(rc);
}

static int dept_cmp(const void *a, const void *b)
{
    return strcmp(((const dept_entry *)a)->code, ((const dept_entry *)b)->code);
}

int refcache_reload(refcache *rc, PGconn *c)
{
    int st;
    PGresult *r = PQexecParams(c,
                               "SELECT kind, key, body FROM record WHERE kind IN (4, 5) "
                               "AND valid_to IS NULL AND NOT retired",
                               0, NULL, NULL, NULL, NULL, 1);
    st = db_result_status(c, r, "refcache load");
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    int n = PQntuples(r);
    codes_regions *regions = codes_regions_create();
    dept_entry *depts = calloc((size_t)n + 1, sizeof *depts);
    if (!depts) abort();
    size_t nd = 0;
    for (int i = 0; i < n; i++) {
        const unsigned char *k = (const unsigned char *)PQgetvalue(r, i, 0);
        int kind = (k[0] << 8) | k[1]; /* int2, binary, big-endian */
        const uint8_t *body = (const uint8_t *)PQgetvalue(r, i, 2);
        size_t len = (size_t)PQgetlength(r, i, 2);
        if (kind == DRIP__RECORD_KIND__KIND_REGION) {
            Drip__Region *g = drip__region__unpack(NULL, len, body);
            if (g && g->code) codes_regions_put(regions, g->code, g->name ? g->name : "", (int)g->level,
                                               g->parent ? g->parent : "");
            if (g) drip__region__free_unpacked(g, NULL);
        } else {
            Drip__Department *d = drip__department__unpack(NULL, len, body);
            if (d && d->code && d->region && strlen(d->code) < sizeof depts[0].code) {
                memcpy(depts[nd].code, d->code, strlen(d->code) + 1);
                memcpy(depts[nd].region, d->region, 7);
                depts[nd].region[6] = '\0';
                depts[nd].active = !d->has_active || d->active;
                nd++;
            }
            if (d) drip__department__free_unpacked(d, NULL);
        }
    }
    PQclear(r);
    qsort(depts, nd, sizeof *depts, dept_cmp);
    pthread_rwlock_wrlock(&rc->lock);
    codes_regions *old_regions = rc->regions;
    dept_entry *old_depts = rc->depts;
    rc->regions = regions;
    rc->depts = depts;
    rc->ndepts = nd;
    rc->loaded_at = now_s();
    pthread_rwlock_unlock(&rc->lock);
    codes_regions_destroy(old_regions);
    free(old_depts);
    return DRIP_OK;
}

void refcache_refresh(refcache *rc, PGconn *c, int miss)
{
    if (!c) return;
    pthread_mutex_lock(&rc->reload_mu);
    pthread_rwlock_rdlock(&rc->lock);
    double age = now_s() - rc->loaded_at;
    pthread_rwlock_unlock(&rc->lock);
    if (age > 30.0 || (miss && age > 1.0)) {
        if (refcache_reload(rc, c) != DRIP_OK) log_warn("refcache.reload", "reload failed");
    }
    pthread_mutex_unlock(&rc->reload_mu);
}

static int region_lookup(refcache *rc, const char *code)
{
    pthread_rwlock_rdlock(&rc->lock);
    int found = codes_regions_name(rc->regions, code) != NULL;
    pthread_rwlock_unlock(&rc->lock);
    return found;
}

int refcache_region_exists(refcache *rc, PGconn *c, const char *code)
{
    if (region_lookup(rc, code)) return 1;
    refcache_refresh(rc, c, 1);
    return region_lookup(rc, code);
}

static int dept_lookup(refcache *rc, const char *code, char region_out[7], int *active)
{
    dept_entry key;
    size_t n = strlen(code);
    if (n >= sizeof key.code) return 0;
    memcpy(key.code, code, n + 1);
    pthread_rwlock_rdlock(&rc->lock);
    dept_entry *e = bsearch(&key, rc->depts, rc->ndepts, sizeof *e, dept_cmp);
    if (e) {
        if (region_out) memcpy(region_out, e->region, 7);
        if (active) *active = e->active;
    }
    pthread_rwlock_unlock(&rc->lock);
    return e != NULL;
}

int refcache_dept(refcache *rc, PGconn *c, const char *code, char region_out[7], int *active)
{
    if (dept_lookup(rc, code, region_out, active)) return 1;
    refcache_refresh(rc, c, 1);
    return dept_lookup(rc, code, region_out, active);
}
