/* regproj.h — a daemon's own projection of the registry's reference data (departments, regions,
 * items, inspectors, calendar), built from the registry's events (stream <PREFIX>_REGISTRY), so
 * that no daemon reads the registry's schema. Keeps the current version of each record, packed.
 * Apply is idempotent and order-tolerant: a change is stored only if its version is newer. */
#ifndef DRIP_REGPROJ_H
#define DRIP_REGPROJ_H

#include <libpq-fe.h>
#include <stddef.h>

#include "calendar.h"
#include "drip/registry.pb-c.h"

/* DDL of table ref_record, for the daemon's migrations. */
extern const char REGPROJ_DDL[];

/* Bit for a kind in a kind mask, e.g. REGPROJ_BIT(DRIP__RECORD_KIND__KIND_ITEM). */
#define REGPROJ_BIT(kind) (1u << (unsigned)(kind))

/* Called for each change of the event whose kind is not stored in ref_record by the mask (e.g.
 * targets, which the sampler projects into its own typed, versioned table). */
typedef int (*regproj_change_fn)(PGconn *c, const Drip__Change *ch, void *arg);

typedef struct {
    unsigned kind_mask;          /* kinds stored in ref_record */
    regproj_change_fn on_change; /* other kinds (may be NULL: ignored) */
    void *arg;
} regproj_config;

/* A consumer_apply_fn: decodes a RegistryEvent and applies it. DRIP_EBADMSG if undecodable. */
int regproj_apply(PGconn *c, const void *data, size_t len, const char *subject, void *cfg);

/* The current record of kind/key: a Change (free with drip__change__free_unpacked) or NULL with
 * *status = DRIP_ENOTFOUND (also for retired records). */
Drip__Change *regproj_get(PGconn *c, Drip__RecordKind kind, const char *key, int *status);

/* Builds a calendar from the stored CalendarYear records (loaded years only). */
int regproj_calendar(PGconn *c, calendar **out);

#endif
