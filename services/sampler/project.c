/* project.c — the registry projection: reference data through regproj (ref_record), targets into
 * the typed, versioned table `target`.
 *
 * regproj_apply hands every target change of a RegistryEvent to target_add, which only appends a
 * COPY row to a staging buffer; at the end of the event the whole batch (up to 1 000 changes) is
 * stored set-wise in four statements — one round trip instead of three per change:
 *   1. drop versions already present (redelivery after a crash between commit and ack),
 *   2. tombstones (retirements carry no record) copy the columns of the version they close,
 *   3. insert; a version older than one already stored (only out-of-order delivery) ends where the
 *      next stored version starts,
 *   4. close the previous version at the new version's valid_from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sampler.h"
#include "status.h"

void sampler_tbatch_free(target_batch *b)
{
    db_buf_free(&b->rows);
    db_buf_free(&b->tmp);
    b->n = 0;
}

static void put_nullable(db_buf *row, const char *s)
{
    db_buf_copy_text(row, s && *s ? s : NULL);
}

/* regproj_change_fn: targets only (the other kinds are in regproj's kind mask). */
static int target_add(PGconn *c, const Drip__Change *ch, void *arg)
{
    (void)c;
    sampler *s = arg;
    if (ch->kind != DRIP__RECORD_KIND__KIND_TARGET) return DRIP_OK; /* a kind we do not know */
    if (draw_key_check(ch->key) != DRIP_OK) {
        log_warn("project.skip", "target key '%.80s' cannot be a draw member; not projected",
                 ch->key);
        return DRIP_OK;
    }
    target_batch *b = &s->tbatch;
    db_buf *row = &b->rows;
    const Drip__Target *t = ch->retired ? NULL : ch->target;
    db_buf_copy_text(row, ch->key);
    db_buf_printf(row, "\t%u\t%lld\t%s\t%s\t", ch->version,
                  (long long)(ch->has_valid_from_ms ? ch->valid_from_ms : 0),
                  ch->retired ? "t" : "f", t ? "t" : "f");
    if (!t) {
        db_buf_puts(row, "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t");
        put_nullable(row, ch->owner);
        db_buf_puts(row, "\n");
        b->n++;
        return DRIP_OK;
    }
    put_nullable(row, t->uscc);
    db_buf_printf(row, "\t%d\t", t->has_kind ? (int)t->kind : 0);
    put_nullable(row, t->region);
    db_buf_puts(row, "\t");
    put_nullable(row, t->industry);
    db_buf_printf(row, "\t%d\t", t->has_ownership ? (int)t->ownership : 0);
    if (t->has_registered_capital)
        db_buf_printf(row, "%lld", (long long)t->registered_capital);
    else
        db_buf_puts(row, "\\N");
    db_buf_puts(row, "\t");
    put_nullable(row, t->established);
    int cc = t->has_credit_class ? (int)t->credit_class : 0;
    if (cc < 0 || cc > 4) cc = 0; /* an unknown class is unclassified: stratum '-' */
    db_buf_printf(row, "\t%d\t%d\t", t->has_status ? (int)t->status : 0, cc);
    db_buf_reset(&b->tmp);
    db_buf_text_array(&b->tmp, (const char *const *)t->tags, t->n_tags);
    db_buf_copy_text(row, b->tmp.data);
    db_buf_puts(row, "\t");
    put_nullable(row, ch->owner);
    db_buf_puts(row, "\n");
    b->n++;
    return DRIP_OK;
}

static const char STAGE_SQL[] =
    "SET LOCAL enable_seqscan = off;" /* key lookups are index lookups even with stale statistics */
    "SET LOCAL client_min_messages = warning;" /* no "already exists, skipping" notice */
    "CREATE TEMP TABLE IF NOT EXISTS target_in ("
    "  key text COLLATE \"C\", version integer, valid_from_ms bigint, retired boolean,"
    "  has_rec boolean, uscc text, kind smallint, region text, industry text, ownership smallint,"
    "  registered_capital bigint, established date, status smallint, credit_class smallint,"
    "  tags text[], owner text) ON COMMIT DELETE ROWS;"
    "TRUNCATE target_in";

static const char APPLY_SQL[] =
    "DELETE FROM target_in i USING target t WHERE t.key = i.key AND t.version = i.version;"
    "UPDATE target_in i SET uscc = p.uscc, kind = p.kind, region = p.region, industry = p.industry,"
    "  ownership = p.ownership, registered_capital = p.registered_capital,"
    "  established = p.established, status = p.status, credit_class = p.credit_class,"
    "  tags = p.tags, owner = coalesce(i.owner, p.owner)"
    " FROM (SELECT DISTINCT ON (t.key) t.*, j.version AS for_version FROM target_in j"
    "       JOIN target t ON t.key = j.key AND t.version < j.version"
    "       WHERE NOT j.has_rec ORDER BY t.key, t.version DESC) p"
    " WHERE p.key = i.key AND p.for_version = i.version AND NOT i.has_rec;"
    "INSERT INTO target (key, version, valid_from, valid_to, retired, uscc, kind, region, industry,"
    "  ownership, registered_capital, established, status, credit_class, tags, owner)"
    " SELECT i.key, i.version, to_timestamp(i.valid_from_ms / 1000.0),"
    "  coalesce((SELECT min(t.valid_from) FROM target t WHERE t.key = i.key AND t.version > "
    "i.version),"
    "           'infinity'),"
    "  i.retired, coalesce(i.uscc, split_part(i.key, '/', 1)), coalesce(i.kind, 0), i.region,"
    "  i.industry, coalesce(i.ownership, 0), i.registered_capital, i.established,"
    "  coalesce(i.status, 0), coalesce(i.credit_class, 0), i.tags, i.owner"
    " FROM target_in i ON CONFLICT (key, version) DO NOTHING;"
    "UPDATE target t SET valid_to = to_timestamp(i.valid_from_ms / 1000.0) FROM target_in i"
    " WHERE t.key = i.key"
    "  AND t.version = (SELECT max(x.version) FROM target x WHERE x.key = i.key AND x.version < "
    "i.version)"
    "  AND t.valid_to > to_timestamp(i.valid_from_ms / 1000.0)";

static int target_flush(PGconn *c, target_batch *b)
{
    int st = db_exec(c, STAGE_SQL);
    if (st == DRIP_OK)
        st = db_copy_begin(c, "COPY target_in (key, version, valid_from_ms, retired, has_rec, uscc,"
                              " kind, region, industry, ownership, registered_capital, established,"
                              " status, credit_class, tags, owner) FROM STDIN");
    if (st == DRIP_OK) st = db_copy_put(c, b->rows.data, b->rows.len);
    if (st == DRIP_OK) st = db_copy_end(c);
    if (st == DRIP_OK) st = db_exec(c, APPLY_SQL);
    return st;
}

int sampler_registry_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    sampler *s = arg;
    target_batch *b = &s->tbatch;
    db_buf_reset(&b->rows);
    b->n = 0;
    int st = regproj_apply(c, data, len, subject, &s->proj);
    if (st == DRIP_OK && b->n > 0) st = target_flush(c, b);
    if (st == DRIP_OK && b->n > 0)
        log_debug("project.targets", "%zu target versions from %s", b->n, subject);
    /* one event's buffer can reach megabytes: do not keep it between events */
    if (b->rows.cap > (1u << 20)) sampler_tbatch_free(b);
    return st;
}

void sampler_projection_config(sampler *s)
{
    s->proj.kind_mask = REGPROJ_BIT(DRIP__RECORD_KIND__KIND_DEPARTMENT) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_REGION) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_ITEM) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_INSPECTOR) |
                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_CALENDAR);
    s->proj.on_change = target_add;
    s->proj.arg = s;
}
