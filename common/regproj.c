#include "regproj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "db.h"
#include "log.h"
#include "status.h"

const char REGPROJ_DDL[] =
    "CREATE TABLE ref_record ("
    "  kind smallint NOT NULL,"
    "  key text COLLATE \"C\" NOT NULL,"
    "  version integer NOT NULL,"
    "  retired boolean NOT NULL,"
    "  valid_from timestamptz NOT NULL,"
    "  body bytea,"                          /* packed drip.Change (record included) */
    "  PRIMARY KEY (kind, key));";

static int store(PGconn *c, const Drip__Change *ch)
{
    size_t len = protobuf_c_message_get_packed_size(&ch->base);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    protobuf_c_message_pack(&ch->base, buf);
    char kind[8], version[16], ms[24];
    snprintf(kind, sizeof kind, "%d", (int)ch->kind);
    snprintf(version, sizeof version, "%u", ch->version);
    snprintf(ms, sizeof ms, "%lld", (long long)ch->valid_from_ms);
    const char *values[6] = {kind, ch->key, version, ch->retired ? "t" : "f", ms, (const char *)buf};
    int lengths[6] = {0, 0, 0, 0, 0, (int)len};
    int formats[6] = {0, 0, 0, 0, 0, 1};
    /* newer versions only: redelivery and reordering are harmless */
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO ref_record (kind, key, version, retired, valid_from, body) "
        "VALUES ($1::smallint, $2, $3::int, $4::bool, to_timestamp($5::bigint / 1000.0), $6) "
        "ON CONFLICT (kind, key) DO UPDATE SET version = EXCLUDED.version, retired = EXCLUDED.retired,"
        " valid_from = EXCLUDED.valid_from, body = EXCLUDED.body "
        "WHERE ref_record.version < EXCLUDED.version",
        6, NULL, values, lengths, formats, 0);
    int st = db_result_status(c, r, "ref_record upsert");
    PQclear(r);
    free(buf);
    return st;
}

int regproj_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    (void)subject;
    const regproj_config *cfg = arg;
    Drip__RegistryEvent *ev = drip__registry_event__unpack(NULL, len, data);
    if (!ev) return DRIP_EBADMSG;
    int st = DRIP_OK;
    for (size_t i = 0; st == DRIP_OK && i < ev->n_changes; i++) {
        const Drip__Change *ch = ev->changes[i];
        if (!ch->key || !ch->has_version) continue;
        if (cfg->kind_mask & REGPROJ_BIT(ch->kind)) st = store(c, ch);
        else if (cfg->on_change) st = cfg->on_change(c, ch, cfg->arg);
    }
    drip__registry_event__free_unpacked(ev, NULL);
    return st;
}

Drip__Change *regproj_get(PGconn *c, Drip__RecordKind kind, const char *key, int *status)
{
    char k[8];
    snprintf(k, sizeof k, "%d", (int)kind);
    const char *values[2] = {k, key};
    PGresult *r = PQexecParams(c,
                               "SELECT body FROM ref_record WHERE kind = $1::smallint AND key = $2 "
                               "AND NOT retired",
                               2, NULL, values, NULL, NULL, 1);
    int st = db_result_status(c, r, "ref_record get");
    Drip__Change *ch = NULL;
    if (st == DRIP_OK && PQntuples(r) == 1)
        ch = drip__change__unpack(NULL, (size_t)PQgetlength(r, 0, 0),
                                  (const uint8_t *)PQgetvalue(r, 0, 0));
    if (st == DRIP_OK && !ch) st = DRIP_ENOTFOUND;
    PQclear(r);
    if (status) *status = st;
    return ch;
}

int regproj_calendar(PGconn *c, calendar **out)
{
    PGresult *r = PQexecParams(c,
                               "SELECT body FROM ref_record WHERE kind = 6 AND NOT retired", 0,
                               NULL, NULL, NULL, NULL, 1);
    int st = db_result_status(c, r, "calendar load");
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    calendar *cal = calendar_create();
    for (int i = 0; i < PQntuples(r); i++) {
        Drip__Change *ch = drip__change__unpack(NULL, (size_t)PQgetlength(r, i, 0),
                                                (const uint8_t *)PQgetvalue(r, i, 0));
        if (ch && ch->calendar_year) {
            const Drip__CalendarYear *y = ch->calendar_year;
            calendar_add_year(cal, (int)y->year);
            for (size_t d = 0; d < y->n_days; d++) {
                int32_t day;
                if (y->days[d]->date && codes_date_parse(y->days[d]->date, &day, NULL) == DRIP_OK)
                    calendar_add_day(cal, day, y->days[d]->kind == DRIP__DAY_KIND__DAY_OFF);
            }
        }
        if (ch) drip__change__free_unpacked(ch, NULL);
    }
    PQclear(r);
    *out = cal;
    return DRIP_OK;
}
