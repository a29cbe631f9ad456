/* batch.c — a registry change batch: decode, validate, apply versioned changes + outbox event +
 * inbox reply in one transaction, reply. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "registry.h"
#include "status.h"
#include "validate.h"

typedef struct {
    size_t index;     /* position in the request: upserts first, then retirements */
    int retire;
    void *rec;        /* Drip__Target / Inspector / Item / Department / Region / CalendarYear */
    const Drip__Retirement *rt;
    int vstatus;      /* validation verdict (DRIP_OK = valid) */
    int status;       /* verdict after the decision against the current rows */
    char key[VALIDATE_KEY_MAX];
    char why[VALIDATE_WHY_MAX];
    char hash[33];    /* hex digest of the packed record */
    uint8_t *body;    /* packed record (non-target kinds) */
    size_t body_len;
    char scope[40];
    Drip__Outcome outcome;
    uint32_t version;
} slot;

struct registry_batch {
    registry *r;
    bus_msg *m;
    subject_parts sp;
    Drip__RegistryBatch *req;
    Drip__RecordKind kind;
    slot *slots;
    size_t n;
    slot **by_key;    /* valid slots sorted by key (unique after validation) */
    size_t nvalid;
    char inbox_id[128];
    char event_id[160];
    uint8_t *reply;
    size_t reply_len;
    int replayed;
    int emitted;
    int ref_changed;
    int64_t now_ms;
    uint32_t counts[6];
};

static const struct {
    const char *word;
    Drip__RecordKind kind;
    int operator_only;
} KINDS[] = {
    {"target", DRIP__RECORD_KIND__KIND_TARGET, 0},
    {"inspector", DRIP__RECORD_KIND__KIND_INSPECTOR, 0},
    {"item", DRIP__RECORD_KIND__KIND_ITEM, 0},
    {"department", DRIP__RECORD_KIND__KIND_DEPARTMENT, 1},
    {"region", DRIP__RECORD_KIND__KIND_REGION, 1},
    {"calendar", DRIP__RECORD_KIND__KIND_CALENDAR, 1},
};

static void batch_free(registry_batch *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->slots[i].body);
    free(b->slots);
    free(b->by_key);
    if (b->req) drip__registry_batch__free_unpacked(b->req, NULL);
    free(b->reply);
    if (b->m) bus_msg_destroy(b->m);
    free(b);
}

static void hash_hex(const uint8_t *p, size_t n, char out[33])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(p, n, d);
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[32] = '\0';
}

/* Packs any of our record messages. */
static uint8_t *pack_record(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(*len ? *len : 1);
    if (!p) abort();
    protobuf_c_message_pack(msg, p);
    return p;
}

/* ---- validation (worker thread, before the transaction) ---------------------------------- */

static int key_cmp(const void *a, const void *b)
{
    const slot *x = *(slot *const *)a, *y = *(slot *const *)b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void batch_validate(registry_batch *b, PGconn *c)
{
    registry *r = b->r;
    Drip__RegistryBatch *q = b->req;
    const char **batch_regions = calloc(q->n_regions + 1, sizeof(char *));
    if (!batch_regions) abort();
    validate_ctx v = {.ref = r->ref, .conn = c, .sender = b->sp.dept, .today = codes_date_today_cst(),
                      .batch_regions = batch_regions, .nbatch_regions = 0};
    for (size_t i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->retire) {
            s->status = validate_retirement(&v, b->kind, s->rt, s->key, s->why);
            continue;
        }
        switch (b->kind) {
        case DRIP__RECORD_KIND__KIND_TARGET:
            s->status = validate_target(&v, s->rec, s->key, s->why);
            break;
        case DRIP__RECORD_KIND__KIND_INSPECTOR:
            s->status = validate_inspector(&v, s->rec, s->key, s->why);
            if (s->status == DRIP_OK) snprintf(s->scope, sizeof s->scope, "%s", b->sp.dept);
            break;
        case DRIP__RECORD_KIND__KIND_ITEM:
            s->status = validate_item(&v, s->rec, s->key, s->why);
            if (s->status == DRIP_OK) snprintf(s->scope, sizeof s->scope, "%s", b->sp.dept);
            break;
        case DRIP__RECORD_KIND__KIND_DEPARTMENT:
            s->status = validate_department(&v, s->rec, s->key, s->why);
            if (s->status == DRIP_OK)
                snprintf(s->scope, sizeof s->scope, "%s", ((Drip__Department *)s->rec)->region);
            break;
        case DRIP__RECORD_KIND__KIND_REGION:
            s->status = validate_region(&v, s->rec, s->key, s->why);
            if (s->status == DRIP_OK) {
                Drip__Region *g = s->rec;
                snprintf(s->scope, sizeof s->scope, "%s", g->parent ? g->parent : "");
                batch_regions[v.nbatch_regions++] = g->code;
            }
            break;
        case DRIP__RECORD_KIND__KIND_CALENDAR:
            s->status = validate_calendar(&v, s->rec, s->key, s->why);
            break;
        default:
            s->status = DRIP_EINTERNAL;
        }
        if (s->status == DRIP_OK) {
            s->body = pack_record(s->rec, &s->body_len);
            hash_hex(s->body, s->body_len, s->hash);
            if (b->kind == DRIP__RECORD_KIND__KIND_TARGET) {
                free(s->body); /* targets are stored in typed columns */
                s->body = NULL;
            }
        }
    }
    free(batch_regions);
    /* The same key twice in one batch is ambiguous: keep the first, reject the others. */
    slot **order = malloc(sizeof(slot *) * (b->n + 1));
    if (!order) abort();
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->slots[i].status == DRIP_OK) order[k++] = &b->slots[i];
    qsort(order, k, sizeof *order, key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u > 0 && !strcmp(order[i]->key, order[u - 1]->key)) {
            order[i]->status = DRIP_ECONFLICT;
            snprintf(order[i]->why, sizeof order[i]->why,
                     "key %s appears more than once in this batch (first at index %zu)",
                     order[i]->key, order[u - 1]->index);
            continue;
        }
        order[u++] = order[i];
    }
    b->by_key = order;
    b->nvalid = u;
    for (size_t i = 0; i < b->n; i++) b->slots[i].vstatus = b->slots[i].status;
}

/* ---- transaction (worker thread) ---------------------------------------------------------- */

static int is_target(const registry_batch *b)
{
    return b->kind == DRIP__RECORD_KIND__KIND_TARGET;
}

static int key_find_cmp(const void *key, const void *elem)
{
    return strcmp(key, (*(slot *const *)elem)->key);
}

/* The valid slot with this key (binary search; keys are unique after validation). */
static slot *find_slot(registry_batch *b, const char *key)
{
    slot **p = bsearch(key, b->by_key, b->nvalid, sizeof *b->by_key, key_find_cmp);
    return p ? *p : NULL;
}

/* Fills each accepted slot's outcome from the current rows (locked FOR UPDATE). */
static int batch_decide(registry_batch *b, PGconn *c)
{
    db_buf keys;
    db_buf_init(&keys);
    db_buf_puts(&keys, "{");
    int any = 0;
    for (size_t i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->status != DRIP_OK) continue;
        if (any++) db_buf_puts(&keys, ",");
        db_buf_array_elem(&keys, s->key);
        s->outcome = s->retire ? DRIP__OUTCOME__REJECTED : DRIP__OUTCOME__CREATED;
        s->version = 1;
        if (s->retire) {
            s->status = DRIP_ENOTFOUND;
            snprintf(s->why, sizeof s->why, "key: no current record %s", s->key);
        }
    }
    db_buf_puts(&keys, "}");
    if (!any) {
        db_buf_free(&keys);
        return DRIP_OK;
    }
    char kind[8];
    snprintf(kind, sizeof kind, "%d", (int)b->kind);
    const char *params[2] = {keys.data, kind};
    int st;
    PGresult *res =
        is_target(b)
            ? db_query(c,
                       "SELECT key, version, owner, encode(hash, 'hex'), retired FROM target "
                       "WHERE key = ANY($1::text[]) AND valid_to IS NULL ORDER BY key FOR UPDATE",
                       1, params, &st)
            : db_query(c,
                       "SELECT key, version, owner, encode(hash, 'hex'), retired FROM record "
                       "WHERE kind = $2::smallint AND key = ANY($1::text[]) AND valid_to IS NULL "
                       "ORDER BY key FOR UPDATE",
                       2, params, &st);
    db_buf_free(&keys);
    if (!res) return st;
    for (int i = 0; i < PQntuples(res); i++) {
        slot *s = find_slot(b, PQgetvalue(res, i, 0));
        if (!s) continue;
        if (s->retire) s->status = DRIP_OK; /* it exists after all (marked not-found above) */
        uint32_t cur = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        const char *owner = PQgetvalue(res, i, 2);
        int same = !strcmp(PQgetvalue(res, i, 3), s->hash);
        int retired = PQgetvalue(res, i, 4)[0] == 't';
        s->version = cur;
        if (is_target(b) && strcmp(owner, b->sp.dept) != 0) {
            s->status = DRIP_EFORBIDDEN;
            snprintf(s->why, sizeof s->why, "key: %s is owned by department %s", s->key, owner);
            s->outcome = DRIP__OUTCOME__REJECTED;
        } else if (s->retire) {
            s->outcome = retired ? DRIP__OUTCOME__UNCHANGED : DRIP__OUTCOME__RETIRED;
        } else {
            s->outcome = (same && !retired) ? DRIP__OUTCOME__UNCHANGED : DRIP__OUTCOME__UPDATED;
        }
        if (s->outcome == DRIP__OUTCOME__UPDATED || s->outcome == DRIP__OUTCOME__RETIRED)
            s->version = cur + 1;
    }
    PQclear(res);
    return DRIP_OK;
}

static void copy_array(db_buf *row, db_buf *tmp, char **items, size_t n)
{
    db_buf_reset(tmp);
    db_buf_text_array(tmp, (const char *const *)items, n);
    db_buf_copy_text(row, tmp->data);
}

static void copy_target_row(db_buf *row, db_buf *tmp, const registry_batch *b, const slot *s)
{
    const Drip__Target *t = s->rec;
    db_buf_copy_text(row, s->key);
    db_buf_printf(row, "\t%u\t", s->version);
    db_buf_copy_text(row, b->sp.dept);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, b->sp.dept); /* owner: only the owner can reach this point */
    db_buf_printf(row, "\t\\\\x%s\t%d\t", s->hash, (int)t->kind);
    db_buf_copy_text(row, t->uscc);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->project_code && *t->project_code ? t->project_code : NULL);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->name);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->region);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->registering_authority && *t->registering_authority
                              ? t->registering_authority : NULL);
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->industry && *t->industry ? t->industry : NULL);
    db_buf_printf(row, "\t%d\t", t->has_ownership ? (int)t->ownership : 0);
    if (t->has_registered_capital) db_buf_printf(row, "%lld", (long long)t->registered_capital);
    else db_buf_puts(row, "\\N");
    db_buf_puts(row, "\t");
    db_buf_copy_text(row, t->established && *t->established ? t->established : NULL);
    db_buf_printf(row, "\t%d\t%d\t", (int)t->status, t->has_credit_class ? (int)t->credit_class : 0);
    copy_array(row, tmp, t->supervising_depts, t->n_supervising_depts);
    db_buf_puts(row, "\t");
    copy_array(row, tmp, t->tags, t->n_tags);
    db_buf_puts(row, "\n");
}

/* Closes current versions of changed keys, inserts the new versions and tombstones. */
static int batch_store(registry_batch *b, PGconn *c)
{
    db_buf closing, rkeys, rreasons, rows, tmp;
    db_buf_init(&closing);
    db_buf_init(&rkeys);
    db_buf_init(&rreasons);
    db_buf_init(&rows);
    db_buf_init(&tmp);
    db_buf_puts(&closing, "{");
    db_buf_puts(&rkeys, "{");
    db_buf_puts(&rreasons, "{");
    int nclose = 0, nretire = 0, ninsert = 0;
    for (size_t i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->status != DRIP_OK) continue;
        if (s->outcome == DRIP__OUTCOME__UPDATED || s->outcome == DRIP__OUTCOME__RETIRED) {
            if (nclose++) db_buf_puts(&closing, ",");
            db_buf_array_elem(&closing, s->key);
        }
        if (s->outcome == DRIP__OUTCOME__RETIRED) {
            if (nretire++) {
                db_buf_puts(&rkeys, ",");
                db_buf_puts(&rreasons, ",");
            }
            db_buf_array_elem(&rkeys, s->key);
            db_buf_array_elem(&rreasons, s->rt->reason ? s->rt->reason : "");
        }
        if (s->outcome == DRIP__OUTCOME__CREATED || s->outcome == DRIP__OUTCOME__UPDATED) {
            ninsert++;
            if (is_target(b)) {
                copy_target_row(&rows, &tmp, b, s);
            } else {
                db_buf_printf(&rows, "%d\t", (int)b->kind);
                db_buf_copy_text(&rows, s->key);
                db_buf_printf(&rows, "\t%u\t", s->version);
                db_buf_copy_text(&rows, b->sp.dept);
                db_buf_puts(&rows, "\t");
                db_buf_copy_text(&rows, b->sp.dept);
                db_buf_printf(&rows, "\t\\\\x%s\t", s->hash);
                db_buf_copy_text(&rows, s->scope);
                db_buf_puts(&rows, "\t");
                db_buf_copy_bytea(&rows, s->body, s->body_len);
                db_buf_puts(&rows, "\n");
            }
        }
    }
    db_buf_puts(&closing, "}");
    db_buf_puts(&rkeys, "}");
    db_buf_puts(&rreasons, "}");
    char kind[8];
    snprintf(kind, sizeof kind, "%d", (int)b->kind);
    int st = DRIP_OK;
    if (nclose) {
        const char *p[2] = {closing.data, kind};
        PGresult *res = is_target(b)
                            ? db_query(c,
                                       "UPDATE target SET valid_to = now() "
                                       "WHERE key = ANY($1::text[]) AND valid_to IS NULL",
                                       1, p, &st)
                            : db_query(c,
                                       "UPDATE record SET valid_to = now() WHERE kind = $2::smallint "
                                       "AND key = ANY($1::text[]) AND valid_to IS NULL",
                                       2, p, &st);
        PQclear(res);
    }
    if (st == DRIP_OK && nretire) {
        /* A tombstone copies the version just closed (valid_to = this transaction's now()). */
        const char *p[4] = {rkeys.data, rreasons.data, b->sp.dept, kind};
        PGresult *res =
            is_target(b)
                ? db_query(c,
                           "INSERT INTO target (key, version, retired, changed_by, owner, hash, kind,"
                           " uscc, project_code, name, region, registering_authority, industry,"
                           " ownership, registered_capital, established, status, credit_class,"
                           " supervising_depts, tags, retire_reason) "
                           "SELECT t.key, t.version + 1, true, $3, t.owner, t.hash, t.kind, t.uscc,"
                           " t.project_code, t.name, t.region, t.registering_authority, t.industry,"
                           " t.ownership, t.registered_capital, t.established, t.status,"
                           " t.credit_class, t.supervising_depts, t.tags, r.reason "
                           "FROM target t JOIN unnest($1::text[], $2::text[]) AS r(key, reason)"
                           " ON t.key = r.key WHERE t.valid_to = now()",
                           3, p, &st)
                : db_query(c,
                           "INSERT INTO record (kind, key, version, retired, changed_by, owner, hash,"
                           " scope, body, retire_reason) "
                           "SELECT t.kind, t.key, t.version + 1, true, $3, t.owner, t.hash, t.scope,"
                           " t.body, r.reason "
                           "FROM record t JOIN unnest($1::text[], $2::text[]) AS r(key, reason)"
                           " ON t.key = r.key WHERE t.kind = $4::smallint AND t.valid_to = now()",
                           4, p, &st);
        PQclear(res);
    }
    if (st == DRIP_OK && ninsert) {
        st = db_copy_begin(c, is_target(b)
                                  ? "COPY target (key, version, changed_by, owner, hash, kind, uscc,"
                                    " project_code, name, region, registering_authority, industry,"
                                    " ownership, registered_capital, established, status,"
                                    " credit_class, supervising_depts, tags) FROM STDIN"
                                  : "COPY record (kind, key, version, changed_by, owner, hash, scope,"
                                    " body) FROM STDIN");
        if (st == DRIP_OK) st = db_copy_put(c, rows.data, rows.len);
        if (st == DRIP_OK) st = db_copy_end(c);
    }
    db_buf_free(&closing);
    db_buf_free(&rkeys);
    db_buf_free(&rreasons);
    db_buf_free(&rows);
    db_buf_free(&tmp);
    return st;
}

/* Sets the record field of a Change for this batch's kind (borrowed pointer). */
static void change_set_record(Drip__Change *ch, Drip__RecordKind kind, void *rec)
{
    switch (kind) {
    case DRIP__RECORD_KIND__KIND_TARGET: ch->target = rec; break;
    case DRIP__RECORD_KIND__KIND_INSPECTOR: ch->inspector = rec; break;
    case DRIP__RECORD_KIND__KIND_ITEM: ch->item = rec; break;
    case DRIP__RECORD_KIND__KIND_DEPARTMENT: ch->department = rec; break;
    case DRIP__RECORD_KIND__KIND_REGION: ch->region = rec; break;
    case DRIP__RECORD_KIND__KIND_CALENDAR: ch->calendar_year = rec; break;
    default: break;
    }
}

static const char *kind_word(Drip__RecordKind k)
{
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].kind == k) return KINDS[i].word;
    return "unknown";
}

/* Adds the RegistryEvent of the accepted changes to the outbox. */
static int batch_emit(registry_batch *b, PGconn *c)
{
    size_t nch = 0;
    for (size_t i = 0; i < b->n; i++) {
        Drip__Outcome o = b->slots[i].outcome;
        if (b->slots[i].status == DRIP_OK &&
            (o == DRIP__OUTCOME__CREATED || o == DRIP__OUTCOME__UPDATED || o == DRIP__OUTCOME__RETIRED))
            nch++;
    }
    if (nch == 0) return DRIP_OK;
    Drip__Change *changes = calloc(nch, sizeof *changes);
    Drip__Change **ptrs = calloc(nch, sizeof *ptrs);
    if (!changes || !ptrs) abort();
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        if (s->status != DRIP_OK) continue;
        if (s->outcome != DRIP__OUTCOME__CREATED && s->outcome != DRIP__OUTCOME__UPDATED &&
            s->outcome != DRIP__OUTCOME__RETIRED)
            continue;
        Drip__Change *ch = &changes[k];
        drip__change__init(ch);
        ch->has_kind = 1;
        ch->kind = b->kind;
        ch->key = s->key;
        ch->has_version = 1;
        ch->version = s->version;
        ch->has_retired = 1;
        ch->retired = s->outcome == DRIP__OUTCOME__RETIRED;
        ch->has_valid_from_ms = 1;
        ch->valid_from_ms = b->now_ms;
        ch->changed_by = (char *)b->sp.dept;
        ch->owner = (char *)b->sp.dept; /* only the owner gets this far */
        if (s->retire) ch->retire_reason = s->rt->reason;
        else change_set_record(ch, b->kind, s->rec);
        ptrs[k++] = ch;
    }
    Drip__RegistryEvent ev = DRIP__REGISTRY_EVENT__INIT;
    Drip__Envelope hdr;
    envelope_fill(&hdr, b->event_id, b->req->header->msg_id, b->sp.dept, b->sp.region);
    hdr.sent_at_ms = b->now_ms;
    ev.header = &hdr;
    ev.has_kind = 1;
    ev.kind = b->kind;
    ev.n_changes = nch;
    ev.changes = ptrs;
    size_t len;
    uint8_t *payload = pack_record(&ev.base, &len);
    char subject[SUBJECT_MAX];
    char area[32];
    snprintf(area, sizeof area, "evt.registry");
    int st = subject_build(subject, sizeof subject, b->r->cfg.prefix, area, b->sp.region, b->sp.dept,
                           kind_word(b->kind));
    if (st == DRIP_OK) st = outbox_add(c, subject, b->event_id, payload, len);
    free(payload);
    free(changes);
    free(ptrs);
    if (st == DRIP_OK) b->emitted = 1;
    return st;
}

static uint8_t *reply_pack(const char *corr, int error, const char *error_message,
                           Drip__RecordResult **results, size_t nres, const uint32_t *counts,
                           size_t *len)
{
    Drip__BatchReply rep = DRIP__BATCH_REPLY__INIT;
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "REGISTRY", "000000");
    rep.header = &hdr;
    rep.has_error = 1;
    rep.error = error;
    rep.error_message = (char *)error_message;
    rep.n_results = nres;
    rep.results = results;
    if (counts) {
        rep.has_created = rep.has_updated = rep.has_unchanged = rep.has_retired = rep.has_rejected = 1;
        rep.created = counts[DRIP__OUTCOME__CREATED];
        rep.updated = counts[DRIP__OUTCOME__UPDATED];
        rep.unchanged = counts[DRIP__OUTCOME__UNCHANGED];
        rep.retired = counts[DRIP__OUTCOME__RETIRED];
        rep.rejected = counts[DRIP__OUTCOME__REJECTED];
    }
    return pack_record(&rep.base, len);
}

static void batch_build_reply(registry_batch *b)
{
    Drip__RecordResult *res = calloc(b->n + 1, sizeof *res);
    Drip__RecordResult **ptrs = calloc(b->n + 1, sizeof *ptrs);
    if (!res || !ptrs) abort();
    memset(b->counts, 0, sizeof b->counts);
    for (size_t i = 0; i < b->n; i++) {
        slot *s = &b->slots[i];
        Drip__RecordResult *x = &res[i];
        drip__record_result__init(x);
        x->has_index = 1;
        x->index = (uint32_t)s->index;
        x->key = s->key;
        x->has_outcome = 1;
        if (s->status != DRIP_OK) {
            x->outcome = DRIP__OUTCOME__REJECTED;
            x->has_error = 1;
            x->error = drip_status_to_wire(s->status);
            x->reason = s->why;
        } else {
            x->outcome = s->outcome;
            x->has_version = 1;
            x->version = s->version;
        }
        b->counts[x->outcome]++;
        ptrs[i] = x;
    }
    free(b->reply);
    b->reply = reply_pack(b->req->header->msg_id, 0, NULL, ptrs, b->n, b->counts, &b->reply_len);
    free(res);
    free(ptrs);
}

static int batch_tx(PGconn *c, void *arg)
{
    registry_batch *b = arg;
    /* A retried transaction starts from the validated state again. */
    b->emitted = 0;
    b->replayed = 0;
    void *stored = NULL;
    size_t stored_len = 0;
    int st = inbox_lookup(c, "registry.batch", b->inbox_id, &stored, &stored_len);
    if (st < 0) return st;
    if (st == 1) {
        free(b->reply);
        b->reply = stored;
        b->reply_len = stored_len;
        b->replayed = 1;
        return stored ? DRIP_OK : DRIP_EINTERNAL;
    }
    PGresult *t = db_query(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint", 0, NULL, &st);
    if (!t) return st;
    b->now_ms = strtoll(PQgetvalue(t, 0, 0), NULL, 10);
    PQclear(t);
    st = batch_decide(b, c);
    if (st == DRIP_OK) st = batch_store(b, c);
    if (st == DRIP_OK) st = batch_emit(b, c);
    if (st != DRIP_OK) return st;
    batch_build_reply(b);
    /* The inbox row goes last, reply included (one write). If a concurrent retry of the same
     * msg_id committed first, roll back and answer with its reply on the next attempt. */
    st = inbox_record(c, "registry.batch", b->inbox_id, b->reply, b->reply_len);
    if (st < 0) return st;
    return st == 1 ? DRIP_OK : DRIP_EAGAIN;
}

/* Resets decisions so a retried transaction decides again from scratch. */
static int batch_tx_fresh(PGconn *c, void *arg)
{
    registry_batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        b->slots[i].status = b->slots[i].vstatus;
        b->slots[i].outcome = DRIP__OUTCOME__OUTCOME_UNSPECIFIED;
    }
    return batch_tx(c, arg);
}

/* Sender rights for this batch; DRIP_OK or a whole-batch error with text. */
static int batch_authorize(registry_batch *b, PGconn *c, char *why, size_t cap)
{
    registry *r = b->r;
    int operator_only = 0;
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (KINDS[i].kind == b->kind) operator_only = KINDS[i].operator_only;
    if (registry_is_operator(r, b->sp.dept)) {
        if (strcmp(b->sp.region, "000000") != 0) {
            snprintf(why, cap, "operator %s must send with region 000000", b->sp.dept);
            return DRIP_EFORBIDDEN;
        }
        if (!operator_only) {
            snprintf(why, cap, "%s records belong to departments; operators may not change them",
                     kind_word(b->kind));
            return DRIP_EFORBIDDEN;
        }
        return DRIP_OK;
    }
    if (operator_only) {
        snprintf(why, cap, "only operator departments may change %ss", kind_word(b->kind));
        return DRIP_EFORBIDDEN;
    }
    char region[7];
    int active = 0;
    if (!refcache_dept(r->ref, c, b->sp.dept, region, &active)) {
        snprintf(why, cap, "department %s is not registered", b->sp.dept);
        return DRIP_EDEPT;
    }
    if (strcmp(region, b->sp.region) != 0) {
        snprintf(why, cap, "department %s belongs to region %s, not %s", b->sp.dept, region,
                 b->sp.region);
        return DRIP_EFORBIDDEN;
    }
    if (!active) {
        snprintf(why, cap, "department %s is inactive", b->sp.dept);
        return DRIP_EFORBIDDEN;
    }
    return DRIP_OK;
}

static int batch_work(PGconn *c, void *arg)
{
    registry_batch *b = arg;
    char why[256];
    int st = batch_authorize(b, c, why, sizeof why);
    if (st != DRIP_OK) {
        free(b->reply);
        b->reply = reply_pack(b->req->header->msg_id, drip_status_to_wire(st), why, NULL, 0, NULL,
                              &b->reply_len);
        return DRIP_OK;
    }
    batch_validate(b, c);
    /* Every statement of the batch looks rows up by key. During a bulk import the table grows
     * faster than autovacuum analyses it, and with stale statistics the planner picks sequential
     * scans, making each batch O(table size): key lookups are index lookups here, always. */
    st = db_transaction_ex(c, "BEGIN; SET LOCAL enable_seqscan = off", batch_tx_fresh, b);
    if (st == DRIP_OK && !b->replayed &&
        (b->kind == DRIP__RECORD_KIND__KIND_REGION || b->kind == DRIP__RECORD_KIND__KIND_DEPARTMENT))
        st = refcache_reload(b->r->ref, c);
    return st;
}

static void batch_done(int status, void *arg)
{
    registry_batch *b = arg;
    registry *r = b->r;
    r->inflight--;
    if (status != DRIP_OK) {
        metrics_counter_inc(r->m_batches_err, 1);
        registry_reply_error(r, b->m, "cmd", b->req->header->msg_id, DRIP_EINTERNAL,
                             "the registry could not store this batch now; nothing was changed; "
                             "retry with the same msg_id");
    } else {
        bus_respond(r->bus, b->m, b->reply, b->reply_len);
        if (b->replayed) {
            metrics_counter_inc(r->m_replays, 1);
        } else {
            metrics_counter_inc(r->m_batches_ok, 1);
            for (int o = 1; o <= 5; o++) metrics_counter_inc(r->m_outcome[o], b->counts[o]);
        }
        log_debug("batch.done", "dept=%s kind=%s n=%zu created=%u updated=%u unchanged=%u "
                  "retired=%u rejected=%u replayed=%d",
                  b->sp.dept, kind_word(b->kind), b->n, b->counts[1], b->counts[2], b->counts[3],
                  b->counts[4], b->counts[5], b->replayed);
    }
    if (b->emitted) outbox_relay_kick(r->relay);
    batch_free(b);
}

void registry_batch_start(registry *r, bus_msg *m, const subject_parts *sp)
{
    char why[256];
    Drip__RecordKind kind = DRIP__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (!strcmp(sp->last, KINDS[i].word)) kind = KINDS[i].kind;
    if (kind == DRIP__RECORD_KIND__RECORD_KIND_UNSPECIFIED) {
        snprintf(why, sizeof why,
                 "unknown kind '%.32s' in subject (target|inspector|item|department|region|calendar)",
                 sp->last);
        registry_reply_error(r, m, "cmd", NULL, DRIP_EBADMSG, why);
        bus_msg_destroy(m);
        return;
    }
    Drip__RegistryBatch *q =
        drip__registry_batch__unpack(NULL, bus_msg_size(m), bus_msg_data(m));
    if (!q) {
        registry_reply_error(r, m, "cmd", NULL, DRIP_EBADMSG,
                             "payload is not a drip.RegistryBatch protobuf message");
        bus_msg_destroy(m);
        return;
    }
    int st = envelope_check(q->header, sp->dept, sp->region, why, sizeof why);
    const char *corr = q->header ? q->header->msg_id : NULL;
    size_t counts[6] = {q->n_targets, q->n_inspectors, q->n_items, q->n_departments, q->n_regions,
                        q->n_calendar_years};
    size_t nup = 0, total = q->n_retirements, other = 0;
    for (int i = 0; i < 6; i++) {
        total += counts[i];
        if (KINDS[i].kind == kind) nup = counts[i];
        else other += counts[i];
    }
    if (st == DRIP_OK && other) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "a %s batch may only contain %s records", sp->last, sp->last);
    }
    if (st == DRIP_OK && total == 0) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "empty batch");
    }
    if (st == DRIP_OK && total > REGISTRY_MAX_BATCH) {
        st = DRIP_ETOOLARGE;
        snprintf(why, sizeof why, "%zu records in one batch, at most %d", total, REGISTRY_MAX_BATCH);
    }
    if (st == DRIP_OK && r->inflight >= REGISTRY_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "registry busy (%d batches in flight); retry with the same msg_id",
                 r->inflight);
    }
    if (st != DRIP_OK) {
        registry_reply_error(r, m, "cmd", corr, st, why);
        drip__registry_batch__free_unpacked(q, NULL);
        bus_msg_destroy(m);
        return;
    }
    registry_batch *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->r = r;
    b->m = m;
    b->sp = *sp;
    /* sp's pointers point into sp->buf: re-point them into our copy */
    b->sp.dept = b->sp.buf + (sp->dept - sp->buf);
    b->sp.last = b->sp.buf + (sp->last - sp->buf);
    b->req = q;
    b->kind = kind;
    b->n = total;
    b->slots = calloc(total, sizeof *b->slots);
    if (!b->slots) abort();
    void **recs = NULL;
    switch (kind) {
    case DRIP__RECORD_KIND__KIND_TARGET: recs = (void **)q->targets; break;
    case DRIP__RECORD_KIND__KIND_INSPECTOR: recs = (void **)q->inspectors; break;
    case DRIP__RECORD_KIND__KIND_ITEM: recs = (void **)q->items; break;
    case DRIP__RECORD_KIND__KIND_DEPARTMENT: recs = (void **)q->departments; break;
    case DRIP__RECORD_KIND__KIND_REGION: recs = (void **)q->regions; break;
    case DRIP__RECORD_KIND__KIND_CALENDAR: recs = (void **)q->calendar_years; break;
    default: break;
    }
    for (size_t i = 0; i < total; i++) {
        slot *s = &b->slots[i];
        s->index = i;
        if (i < nup) {
            s->rec = recs[i];
        } else {
            s->retire = 1;
            s->rt = q->retirements[i - nup];
        }
    }
    /* Ids are per sender: two departments may pick the same msg_id. */
    snprintf(b->inbox_id, sizeof b->inbox_id, "%s:%s", sp->dept, q->header->msg_id);
    snprintf(b->event_id, sizeof b->event_id, "registry:%s:%s", sp->dept, q->header->msg_id);
    r->inflight++;
    if (db_pool_submit(r->db, batch_work, batch_done, b) != DRIP_OK) {
        r->inflight--;
        registry_reply_error(r, m, "cmd", corr, DRIP_EINTERNAL, "cannot queue work");
        b->m = NULL;
        bus_msg_destroy(m);
        batch_free(b);
    }
}
