/* validate.h — checks of every incoming registry record (MISSION §8). Each function returns
 * DRIP_OK or a status naming the class of error, writes the record key into `key` (as far as it
 * can be read, else "") and a specific reason naming the field into `why`. Validation also
 * normalises defaults (active = true, an inspector's region = its department's), so that the
 * stored digest of equal records is equal. */
#ifndef DRIP_VALIDATE_H
#define DRIP_VALIDATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "drip/registry.pb-c.h"
#include "refcache.h"

#define VALIDATE_KEY_MAX 96
#define VALIDATE_WHY_MAX 192

typedef struct {
    refcache *ref;
    PGconn *conn;         /* for cache refresh on a miss */
    const char *sender;   /* department code of the sender */
    int32_t today;        /* days since epoch, CST */
    /* regions accepted earlier in the same batch (a province before its cities) */
    const char *const *batch_regions;
    size_t nbatch_regions;
} validate_ctx;

int validate_target(const validate_ctx *v, Drip__Target *t, char *key, char *why);
int validate_inspector(const validate_ctx *v, Drip__Inspector *in, char *key, char *why);
int validate_item(const validate_ctx *v, Drip__Item *it, char *key, char *why);
int validate_department(const validate_ctx *v, Drip__Department *d, char *key, char *why);
int validate_region(const validate_ctx *v, Drip__Region *g, char *key, char *why);
int validate_calendar(const validate_ctx *v, Drip__CalendarYear *y, char *key, char *why);
/* A retirement's key for `kind`; inspectors and items must be the sender's ("DEPT/ID"). */
int validate_retirement(const validate_ctx *v, Drip__RecordKind kind, const Drip__Retirement *rt,
                        char *key, char *why);

/* Target key: USCC, or USCC/PROJECT_CODE. */
void validate_target_key(const Drip__Target *t, char *key);

#endif
