/* registry.c — the matcher's projection of the registry: reference data through regproj
 * (ref_record); targets reduced to what a form needs (name, region), current version only.
 *
 * Target changes of one RegistryEvent (up to 1 000) are collected by regproj's on_change hook into
 * arrays and stored at the end of the event in one statement (unnest), newer versions only, so a
 * redelivered or reordered event is harmless. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "matcher.h"
#include "status.h"

typedef struct {
    db_buf keys, versions, retired, names, regions;
    size_t n;
} target_rows;

static void arr_add(db_buf *b, const char *s)
{
    db_buf_puts(b, b->len ? "," : "{");
    db_buf_array_elem(b, s);
}

static int target_add(PGconn *c, const Drip__Change *ch, void *arg)
{
    (void)c;
    target_rows *t = arg;
    if (ch->kind != DRIP__RECORD_KIND__KIND_TARGET) return DRIP_OK;
    char v[16];
    snprintf(v, sizeof v, "%u", ch->version);
    const Drip__Target *tg = ch->retired ? NULL : ch->target;
    arr_add(&t->keys, ch->key);
    arr_add(&t->versions, v);
    arr_add(&t->retired, ch->retired ? "t" : "f");
    arr_add(&t->names, tg && tg->name ? tg->name : "");
    arr_add(&t->regions, tg && tg->region ? tg->region : "");
    t->n++;
    return DRIP_OK;
}

static int targets_store(PGconn *c, target_rows *t)
{
    db_buf *all[5] = {&t->keys, &t->versions, &t->retired, &t->names, &t->regions};
    for (int i = 0; i < 5; i++) db_buf_puts(all[i], "}");
    const char *v[5] = {t->keys.data, t->versions.data, t->retired.data, t->names.data,
                        t->regions.data};
    int st;
    /* the last version of a key within the event wins (DISTINCT ON ... ORDER BY version DESC) */
    PGresult *r = db_query(
        c,
        "INSERT INTO target (key, version, retired, name, region)"
        " SELECT DISTINCT ON (k) k, v, rt, nullif(n, ''), nullif(g, '')"
        " FROM unnest($1::text[], $2::int[], $3::bool[], $4::text[], $5::text[]) AS x(k, v, rt, n, g)"
        " ORDER BY k, v DESC"
        " ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version, retired = EXCLUDED.retired,"
        " name = coalesce(EXCLUDED.name, target.name), region = coalesce(EXCLUDED.region, target.region)"
        " WHERE target.version < EXCLUDED.version",
        5, v, &st);
    PQclear(r);
    return st;
}

int matcher_registry_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    matcher *m = arg;
    if ((int64_t)len > m->cfg.max_payload) return DRIP_EBADMSG;
    target_rows t;
    memset(&t, 0, sizeof t);
    db_buf *all[5] = {&t.keys, &t.versions, &t.retired, &t.names, &t.regions};
    for (int i = 0; i < 5; i++) db_buf_init(all[i]);
    regproj_config cfg = m->proj;
    cfg.arg = &t;
    int st = regproj_apply(c, data, len, subject, &cfg);
    if (st == DRIP_OK && t.n) st = targets_store(c, &t);
    for (int i = 0; i < 5; i++) db_buf_free(all[i]);
    return st;
}

void matcher_projection_config(matcher *m)
{
    m->proj.kind_mask = REGPROJ_BIT(DRIP__RECORD_KIND__KIND_DEPARTMENT) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_REGION) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_ITEM) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_INSPECTOR) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_CALENDAR);
    m->proj.on_change = target_add;
    m->proj.arg = NULL; /* set per event */
}
