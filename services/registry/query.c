/* query.c — get one record, count targets by filter, list reference records; all "as of" a time.
 * Non-operator departments see targets of their own region subtree only (a city sees its
 * districts, a province sees all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "registry.h"
#include "status.h"

typedef struct {
    registry *r;
    bus_msg *m;
    subject_parts sp;
    int verb; /* 0 get, 1 count, 2 list */
    Drip__GetRequest *get;
    Drip__CountRequest *count;
    Drip__ListRequest *list;
    const char *corr;
    int status;
    char why[256];
    uint8_t *reply;
    size_t reply_len;
} query;

static const char *const VERBS[] = {"get", "count", "list"};

static void query_free(query *q)
{
    if (q->get) drip__get_request__free_unpacked(q->get, NULL);
    if (q->count) drip__count_request__free_unpacked(q->count, NULL);
    if (q->list) drip__list_request__free_unpacked(q->list, NULL);
    free(q->reply);
    if (q->m) bus_msg_destroy(q->m);
    free(q);
}

static uint8_t *pack_msg(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(*len ? *len : 1);
    if (!p) abort();
    protobuf_c_message_pack(msg, p);
    return p;
}

/* Adds "AND <time condition>" for as_of_ms (0 = current) using parameter $n. */
static void time_cond(db_buf *sql, const char **params, int *np, char *msbuf, int64_t as_of_ms)
{
    if (as_of_ms <= 0) {
        db_buf_puts(sql, " AND valid_to IS NULL");
        return;
    }
    snprintf(msbuf, 24, "%lld", (long long)as_of_ms);
    params[(*np)++] = msbuf;
    db_buf_printf(sql,
                  " AND valid_from <= to_timestamp($%d::bigint / 1000.0)"
                  " AND (valid_to IS NULL OR valid_to > to_timestamp($%d::bigint / 1000.0))",
                  *np, *np);
}

/* The region subtree a sender may see: "" for operators (everything). */
static int sender_scope(query *q, PGconn *c, char scope[7])
{
    if (registry_is_operator(q->r, q->sp.dept)) {
        scope[0] = '\0';
        return DRIP_OK;
    }
    if (!refcache_dept(q->r->ref, c, q->sp.dept, scope, NULL)) {
        snprintf(q->why, sizeof q->why, "department %s is not registered", q->sp.dept);
        return DRIP_EDEPT;
    }
    if (strcmp(scope, q->sp.region) != 0) {
        snprintf(q->why, sizeof q->why, "department %s belongs to region %s, not %s", q->sp.dept,
                 scope, q->sp.region);
        return DRIP_EFORBIDDEN;
    }
    return DRIP_OK;
}

/* LIKE pattern of a region subtree. */
static void region_pattern(const char *code, char out[8])
{
    int level = codes_region_level(code);
    size_t keep = level == 1 ? 2 : level == 2 ? 4 : 6;
    memcpy(out, code, keep);
    out[keep] = level == 3 ? '\0' : '%';
    out[keep + 1] = '\0';
}

static void split_list(char *s, char ***out, size_t *n)
{
    *n = 0;
    *out = NULL;
    if (!s || !*s) return;
    size_t cap = 1;
    for (char *p = s; *p; p++) cap += *p == ';';
    *out = calloc(cap, sizeof(char *));
    if (!*out) abort();
    for (char *tok = strtok(s, ";"); tok; tok = strtok(NULL, ";")) (*out)[(*n)++] = strdup(tok);
}

static char *dup_or_null(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return NULL;
    char *s = strdup(PQgetvalue(r, row, col));
    if (!s) abort();
    return s;
}

/* ---- get ------------------------------------------------------------------------------------ */

static int get_target(query *q, PGconn *c, Drip__Change *ch, char scope[7])
{
    const char *params[2] = {q->get->key, NULL};
    int np = 1;
    char ms[24];
    db_buf sql;
    db_buf_init(&sql);
    db_buf_puts(&sql,
                "SELECT key, version, retired, (extract(epoch FROM valid_from) * 1000)::bigint,"
                " changed_by, owner, retire_reason, kind, uscc, project_code, name, region,"
                " registering_authority, industry, ownership, registered_capital, established::text,"
                " status, credit_class, array_to_string(supervising_depts, ';'),"
                " array_to_string(tags, ';') FROM target WHERE key = $1");
    time_cond(&sql, params, &np, ms, q->get->has_as_of_ms ? q->get->as_of_ms : 0);
    int st;
    PGresult *r = db_query(c, sql.data, np, params, &st);
    db_buf_free(&sql);
    if (!r) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(q->why, sizeof q->why, "no target %s%s", q->get->key,
                 q->get->has_as_of_ms && q->get->as_of_ms ? " at that time" : "");
        return DRIP_ENOTFOUND;
    }
    if (scope[0] && !codes_region_within(PQgetvalue(r, 0, 11), scope)) {
        PQclear(r);
        snprintf(q->why, sizeof q->why, "target %s is outside region %s", q->get->key, scope);
        return DRIP_EFORBIDDEN;
    }
    Drip__Target *t = malloc(sizeof *t);
    if (!t) abort();
    drip__target__init(t);
    ch->key = dup_or_null(r, 0, 0);
    ch->has_version = 1;
    ch->version = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
    ch->has_retired = 1;
    ch->retired = PQgetvalue(r, 0, 2)[0] == 't';
    ch->has_valid_from_ms = 1;
    ch->valid_from_ms = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    ch->changed_by = dup_or_null(r, 0, 4);
    ch->owner = dup_or_null(r, 0, 5);
    ch->retire_reason = dup_or_null(r, 0, 6);
    t->has_kind = 1;
    t->kind = (Drip__TargetKind)strtol(PQgetvalue(r, 0, 7), NULL, 10);
    t->uscc = dup_or_null(r, 0, 8);
    t->project_code = dup_or_null(r, 0, 9);
    t->name = dup_or_null(r, 0, 10);
    t->region = dup_or_null(r, 0, 11);
    t->registering_authority = dup_or_null(r, 0, 12);
    t->industry = dup_or_null(r, 0, 13);
    int own = (int)strtol(PQgetvalue(r, 0, 14), NULL, 10);
    if (own) {
        t->has_ownership = 1;
        t->ownership = (Drip__Ownership)own;
    }
    if (!PQgetisnull(r, 0, 15)) {
        t->has_registered_capital = 1;
        t->registered_capital = strtoll(PQgetvalue(r, 0, 15), NULL, 10);
    }
    t->established = dup_or_null(r, 0, 16);
    t->has_status = 1;
    t->status = (Drip__TargetStatus)strtol(PQgetvalue(r, 0, 17), NULL, 10);
    int cc = (int)strtol(PQgetvalue(r, 0, 18), NULL, 10);
    if (cc) {
        t->has_credit_class = 1;
        t->credit_class = (Drip__CreditClass)cc;
    }
    char *sup = dup_or_null(r, 0, 19), *tags = dup_or_null(r, 0, 20);
    split_list(sup, &t->supervising_depts, &t->n_supervising_depts);
    split_list(tags, &t->tags, &t->n_tags);
    free(sup);
    free(tags);
    ch->target = t;
    PQclear(r);
    return DRIP_OK;
}

/* Fills ch from a `record` row: key, version, retired, valid_from_ms, changed_by, owner,
 * retire_reason, body (binary result set). */
static int change_from_record_row(PGresult *r, int row, Drip__RecordKind kind, Drip__Change *ch)
{
    ch->key = strdup(PQgetvalue(r, row, 0));
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, 1);
    ch->has_version = 1;
    ch->version = ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) | ((uint32_t)v[2] << 8) | v[3];
    ch->has_retired = 1;
    ch->retired = PQgetvalue(r, row, 2)[0] != 0;
    const unsigned char *t = (const unsigned char *)PQgetvalue(r, row, 3);
    int64_t ms = 0;
    for (int k = 0; k < 8; k++) ms = (ms << 8) | t[k];
    ch->has_valid_from_ms = 1;
    ch->valid_from_ms = ms;
    ch->changed_by = strdup(PQgetvalue(r, row, 4));
    ch->owner = strdup(PQgetvalue(r, row, 5));
    ch->retire_reason = PQgetisnull(r, row, 6) ? NULL : strdup(PQgetvalue(r, row, 6));
    size_t len = (size_t)PQgetlength(r, row, 7);
    const uint8_t *body = (const uint8_t *)PQgetvalue(r, row, 7);
    switch (kind) {
    case DRIP__RECORD_KIND__KIND_INSPECTOR: ch->inspector = drip__inspector__unpack(NULL, len, body); break;
    case DRIP__RECORD_KIND__KIND_ITEM: ch->item = drip__item__unpack(NULL, len, body); break;
    case DRIP__RECORD_KIND__KIND_DEPARTMENT: ch->department = drip__department__unpack(NULL, len, body); break;
    case DRIP__RECORD_KIND__KIND_REGION: ch->region = drip__region__unpack(NULL, len, body); break;
    case DRIP__RECORD_KIND__KIND_CALENDAR: ch->calendar_year = drip__calendar_year__unpack(NULL, len, body); break;
    default: return DRIP_EINTERNAL;
    }
    return DRIP_OK;
}

static const char RECORD_COLS[] =
    "SELECT key, version, retired, (extract(epoch FROM valid_from) * 1000)::bigint, changed_by,"
    " owner, retire_reason, body FROM record";

static int get_record(query *q, PGconn *c, Drip__Change *ch)
{
    char kind[8];
    snprintf(kind, sizeof kind, "%d", (int)q->get->kind);
    const char *params[3] = {kind, q->get->key, NULL};
    int np = 2;
    char ms[24];
    db_buf sql;
    db_buf_init(&sql);
    db_buf_puts(&sql, RECORD_COLS);
    db_buf_puts(&sql, " WHERE kind = $1::smallint AND key = $2");
    time_cond(&sql, params, &np, ms, q->get->has_as_of_ms ? q->get->as_of_ms : 0);
    PGresult *r = PQexecParams(c, sql.data, np, NULL, params, NULL, NULL, 1);
    db_buf_free(&sql);
    int st = db_result_status(c, r, "get record");
    if (st == DRIP_OK && PQntuples(r) == 0) {
        snprintf(q->why, sizeof q->why, "no record %s", q->get->key);
        st = DRIP_ENOTFOUND;
    }
    if (st == DRIP_OK) st = change_from_record_row(r, 0, q->get->kind, ch);
    PQclear(r);
    return st;
}

/* ---- count ---------------------------------------------------------------------------------- */

#define MAXP 16

typedef struct {
    db_buf sql;
    const char *params[MAXP];
    char *owned[MAXP];
    int np;
} sqlb;

static int sqlb_param(sqlb *b, char *value) /* takes ownership of value */
{
    b->owned[b->np] = value;
    b->params[b->np] = value;
    return ++b->np;
}

static char *int_array(const int *v, size_t n)
{
    db_buf a;
    db_buf_init(&a);
    db_buf_puts(&a, "{");
    for (size_t i = 0; i < n; i++) db_buf_printf(&a, "%s%d", i ? "," : "", v[i]);
    db_buf_puts(&a, "}");
    return a.data;
}

static int enum_list(query *q, sqlb *b, const char *col, const char *field,
                     const ProtobufCEnumDescriptor *d, const int *v, size_t n)
{
    if (!n) return DRIP_OK;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0 || (v[i] != 0 && !protobuf_c_enum_descriptor_get_value(d, v[i]))) {
            snprintf(q->why, sizeof q->why, "filter.%s: unknown value %d", field, v[i]);
            return DRIP_EENUM;
        }
    }
    int p = sqlb_param(b, int_array(v, n));
    db_buf_printf(&b->sql, " AND %s = ANY($%d::smallint[])", col, p);
    return DRIP_OK;
}

static int count_build(query *q, sqlb *b, const Drip__TargetFilter *f, const char *scope)
{
    char why[CODES_WHY_MAX];
    db_buf_puts(&b->sql, "SELECT count(*) FROM target WHERE NOT retired");
    if (q->count->has_as_of_ms && q->count->as_of_ms > 0) {
        char *ms = malloc(24);
        if (!ms) abort();
        snprintf(ms, 24, "%lld", (long long)q->count->as_of_ms);
        int p = sqlb_param(b, ms);
        db_buf_printf(&b->sql,
                      " AND valid_from <= to_timestamp($%d::bigint / 1000.0)"
                      " AND (valid_to IS NULL OR valid_to > to_timestamp($%d::bigint / 1000.0))",
                      p, p);
    } else {
        db_buf_puts(&b->sql, " AND valid_to IS NULL");
    }
    if (scope[0]) {
        char *pat = malloc(8);
        if (!pat) abort();
        region_pattern(scope, pat);
        db_buf_printf(&b->sql, " AND region LIKE $%d", sqlb_param(b, pat));
    }
    if (!f) return DRIP_OK;
    if (f->n_regions) {
        if (f->n_regions > 64) {
            snprintf(q->why, sizeof q->why, "filter.regions: at most 64");
            return DRIP_ETOOLARGE;
        }
        db_buf a;
        db_buf_init(&a);
        db_buf_puts(&a, "{");
        for (size_t i = 0; i < f->n_regions; i++) {
            if (codes_region_syntax(f->regions[i], why) != DRIP_OK) {
                snprintf(q->why, sizeof q->why, "filter.regions[%zu]: %s", i, why);
                db_buf_free(&a);
                return DRIP_EREGION;
            }
            char pat[8];
            region_pattern(f->regions[i], pat);
            db_buf_printf(&a, "%s%s", i ? "," : "", pat);
        }
        db_buf_puts(&a, "}");
        db_buf_printf(&b->sql, " AND region LIKE ANY($%d::text[])", sqlb_param(b, a.data));
    }
    int st;
    if ((st = enum_list(q, b, "kind", "kinds", &drip__target_kind__descriptor, (int *)f->kinds,
                        f->n_kinds)) != DRIP_OK ||
        (st = enum_list(q, b, "status", "statuses", &drip__target_status__descriptor,
                        (int *)f->statuses, f->n_statuses)) != DRIP_OK ||
        (st = enum_list(q, b, "credit_class", "credit_classes", &drip__credit_class__descriptor,
                        (int *)f->credit_classes, f->n_credit_classes)) != DRIP_OK ||
        (st = enum_list(q, b, "ownership", "ownerships", &drip__ownership__descriptor,
                        (int *)f->ownerships, f->n_ownerships)) != DRIP_OK)
        return st;
    if (f->has_capital_min) {
        char *v = malloc(24);
        if (!v) abort();
        snprintf(v, 24, "%lld", (long long)f->capital_min);
        db_buf_printf(&b->sql, " AND registered_capital >= $%d::bigint", sqlb_param(b, v));
    }
    if (f->has_capital_max) {
        char *v = malloc(24);
        if (!v) abort();
        snprintf(v, 24, "%lld", (long long)f->capital_max);
        db_buf_printf(&b->sql, " AND registered_capital <= $%d::bigint", sqlb_param(b, v));
    }
    const char *dates[2] = {f->established_before, f->established_after};
    const char *ops[2] = {"<=", ">="};
    const char *names[2] = {"established_before", "established_after"};
    for (int i = 0; i < 2; i++) {
        if (!dates[i] || !*dates[i]) continue;
        if (codes_date_parse(dates[i], NULL, why) != DRIP_OK) {
            snprintf(q->why, sizeof q->why, "filter.%s: %s", names[i], why);
            return DRIP_EDATE;
        }
        db_buf_printf(&b->sql, " AND established %s $%d::date", ops[i],
                      sqlb_param(b, strdup(dates[i])));
    }
    if (f->n_industries) {
        db_buf a;
        db_buf_init(&a);
        db_buf_puts(&a, "{");
        for (size_t i = 0; i < f->n_industries; i++) {
            if (codes_industry_check(f->industries[i], why) != DRIP_OK &&
                !(strlen(f->industries[i]) == 2 || strlen(f->industries[i]) == 1)) {
                snprintf(q->why, sizeof q->why, "filter.industries[%zu]: %s", i, why);
                db_buf_free(&a);
                return DRIP_EVALUE;
            }
            db_buf_puts(&a, i ? "," : "");
            db_buf t;
            db_buf_init(&t);
            db_buf_printf(&t, "%s%%", f->industries[i]);
            db_buf_array_elem(&a, t.data);
            db_buf_free(&t);
        }
        db_buf_puts(&a, "}");
        db_buf_printf(&b->sql, " AND industry LIKE ANY($%d::text[])", sqlb_param(b, a.data));
    }
    if (f->n_tags_all) {
        db_buf a;
        db_buf_init(&a);
        db_buf_text_array(&a, (const char *const *)f->tags_all, f->n_tags_all);
        db_buf_printf(&b->sql, " AND tags @> $%d::text[]", sqlb_param(b, a.data));
    }
    if (f->owner && *f->owner) {
        if (codes_dept_check(f->owner, why) != DRIP_OK) {
            snprintf(q->why, sizeof q->why, "filter.owner: %s", why);
            return DRIP_EVALUE;
        }
        db_buf_printf(&b->sql, " AND owner = $%d", sqlb_param(b, strdup(f->owner)));
    }
    return DRIP_OK;
}

static int do_count(query *q, PGconn *c, uint64_t *out)
{
    char scope[7];
    int st = sender_scope(q, c, scope);
    if (st != DRIP_OK) return st;
    sqlb b;
    memset(&b, 0, sizeof b);
    db_buf_init(&b.sql);
    Drip__RecordKind kind = q->count->has_kind ? q->count->kind : DRIP__RECORD_KIND__KIND_TARGET;
    if (kind == DRIP__RECORD_KIND__KIND_TARGET) {
        st = count_build(q, &b, q->count->filter, scope);
    } else if (protobuf_c_enum_descriptor_get_value(&drip__record_kind__descriptor, kind) && kind) {
        char *k = malloc(8);
        if (!k) abort();
        snprintf(k, 8, "%d", (int)kind);
        db_buf_printf(&b.sql,
                      "SELECT count(*) FROM record WHERE kind = $%d::smallint AND NOT retired"
                      " AND valid_to IS NULL",
                      sqlb_param(&b, k));
    } else {
        snprintf(q->why, sizeof q->why, "kind: unknown value %d", (int)kind);
        st = DRIP_EENUM;
    }
    if (st == DRIP_OK) {
        PGresult *r = db_query(c, b.sql.data, b.np, b.params, &st);
        if (r) {
            *out = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    for (int i = 0; i < b.np; i++) free(b.owned[i]);
    db_buf_free(&b.sql);
    return st;
}

/* ---- list ----------------------------------------------------------------------------------- */

static int do_list(query *q, PGconn *c, Drip__ListReply *rep)
{
    Drip__ListRequest *l = q->list;
    Drip__RecordKind kind = l->has_kind ? l->kind : DRIP__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
    if (kind == DRIP__RECORD_KIND__KIND_TARGET || kind == 0 ||
        !protobuf_c_enum_descriptor_get_value(&drip__record_kind__descriptor, kind)) {
        snprintf(q->why, sizeof q->why,
                 "kind: must be region, department, item, inspector or calendar (targets are "
                 "counted, not listed)");
        return DRIP_EENUM;
    }
    uint32_t limit = l->has_limit && l->limit > 0 ? l->limit : 1000;
    if (limit > 1000) limit = 1000;
    char kind_s[8], limit_s[12], pat[8];
    snprintf(kind_s, sizeof kind_s, "%d", (int)kind);
    snprintf(limit_s, sizeof limit_s, "%u", limit + 1);
    const char *params[4] = {kind_s, limit_s, l->after_key ? l->after_key : "", NULL};
    int np = 3;
    db_buf sql;
    db_buf_init(&sql);
    db_buf_puts(&sql, RECORD_COLS);
    db_buf_puts(&sql, " WHERE kind = $1::smallint AND valid_to IS NULL AND NOT retired AND key > $3");
    char why[CODES_WHY_MAX];
    if (l->region && *l->region) {
        if (codes_region_syntax(l->region, why) != DRIP_OK) {
            snprintf(q->why, sizeof q->why, "region: %s", why);
            db_buf_free(&sql);
            return DRIP_EREGION;
        }
        region_pattern(l->region, pat);
        params[np++] = pat;
        db_buf_printf(&sql, kind == DRIP__RECORD_KIND__KIND_REGION ? " AND key LIKE $%d"
                                                                    : " AND scope LIKE $%d",
                      np);
    } else if (l->dept && *l->dept) {
        params[np++] = l->dept;
        db_buf_printf(&sql, " AND scope = $%d", np);
    }
    db_buf_puts(&sql, " ORDER BY key LIMIT $2::int");
    PGresult *r = PQexecParams(c, sql.data, np, NULL, params, NULL, NULL, 1);
    db_buf_free(&sql);
    int st = db_result_status(c, r, "list");
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    int n = PQntuples(r);
    int take = n > (int)limit ? (int)limit : n;
    rep->records = calloc((size_t)take + 1, sizeof(Drip__Change *));
    if (!rep->records) abort();
    for (int i = 0; i < take; i++) {
        Drip__Change *ch = malloc(sizeof *ch);
        if (!ch) abort();
        drip__change__init(ch);
        ch->has_kind = 1;
        ch->kind = kind;
        change_from_record_row(r, i, kind, ch);
        rep->records[rep->n_records++] = ch;
    }
    if (n > (int)limit && take > 0) rep->next_key = strdup(rep->records[take - 1]->key);
    PQclear(r);
    return DRIP_OK;
}

/* ---- plumbing ------------------------------------------------------------------------------- */

static void reply_header(Drip__Envelope *hdr, char id[37], const char *corr)
{
    envelope_new_id(id);
    envelope_fill(hdr, id, corr, "REGISTRY", "000000");
}

static int query_work(PGconn *c, void *arg)
{
    query *q = arg;
    Drip__Envelope hdr;
    char id[37];
    reply_header(&hdr, id, q->corr);
    int st;
    if (q->verb == 0) {
        Drip__GetReply rep = DRIP__GET_REPLY__INIT;
        Drip__Change *ch = malloc(sizeof *ch);
        if (!ch) abort();
        drip__change__init(ch);
        ch->has_kind = 1;
        ch->kind = q->get->has_kind ? q->get->kind : DRIP__RECORD_KIND__KIND_TARGET;
        char scope[7];
        st = sender_scope(q, c, scope);
        if (st == DRIP_OK && (!q->get->key || !*q->get->key)) {
            snprintf(q->why, sizeof q->why, "key: required");
            st = DRIP_EMISSING;
        }
        if (st == DRIP_OK) {
            q->get->kind = ch->kind;
            if (ch->kind == DRIP__RECORD_KIND__KIND_TARGET) st = get_target(q, c, ch, scope);
            else if (ch->kind > 0 && ch->kind <= 6) st = get_record(q, c, ch);
            else {
                snprintf(q->why, sizeof q->why, "kind: unknown value %d", (int)ch->kind);
                st = DRIP_EENUM;
            }
        }
        if (st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN) {
            drip__change__free_unpacked(ch, NULL);
            return st;
        }
        rep.header = &hdr;
        rep.has_error = 1;
        rep.error = drip_status_to_wire(st);
        if (st == DRIP_OK) rep.record = ch;
        else rep.error_message = q->why;
        q->reply = pack_msg(&rep.base, &q->reply_len);
        drip__change__free_unpacked(ch, NULL);
        return DRIP_OK;
    }
    if (q->verb == 1) {
        Drip__CountReply rep = DRIP__COUNT_REPLY__INIT;
        uint64_t n = 0;
        st = do_count(q, c, &n);
        if (st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN) return st;
        rep.header = &hdr;
        rep.has_error = 1;
        rep.error = drip_status_to_wire(st);
        if (st == DRIP_OK) {
            rep.has_count = 1;
            rep.count = n;
        } else {
            rep.error_message = q->why;
        }
        q->reply = pack_msg(&rep.base, &q->reply_len);
        return DRIP_OK;
    }
    Drip__ListReply *rep = malloc(sizeof *rep);
    if (!rep) abort();
    drip__list_reply__init(rep);
    char scope[7];
    st = sender_scope(q, c, scope);
    if (st == DRIP_OK) st = do_list(q, c, rep);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN) {
        drip__list_reply__free_unpacked(rep, NULL);
        return st;
    }
    rep->header = &hdr;
    rep->has_error = 1;
    rep->error = drip_status_to_wire(st);
    if (st != DRIP_OK) rep->error_message = q->why;
    q->reply = pack_msg(&rep->base, &q->reply_len);
    rep->header = NULL; /* stack-owned */
    if (st != DRIP_OK) rep->error_message = NULL;
    drip__list_reply__free_unpacked(rep, NULL);
    return DRIP_OK;
}

static void query_done(int status, void *arg)
{
    query *q = arg;
    registry *r = q->r;
    r->inflight--;
    if (status != DRIP_OK || !q->reply) {
        metrics_counter_inc(r->m_query_err, 1);
        registry_reply_error(r, q->m, VERBS[q->verb], q->corr, DRIP_EINTERNAL,
                             "the registry could not answer now; retry");
    } else {
        metrics_counter_inc(r->m_queries, 1);
        bus_respond(r->bus, q->m, q->reply, q->reply_len);
    }
    query_free(q);
}

void registry_query_start(registry *r, bus_msg *m, const subject_parts *sp)
{
    char why[256];
    query *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->r = r;
    q->m = m;
    q->sp = *sp;
    q->sp.dept = q->sp.buf + (sp->dept - sp->buf);
    q->sp.last = q->sp.buf + (sp->last - sp->buf);
    q->verb = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(sp->last, VERBS[i])) q->verb = i;
    const Drip__Envelope *hdr = NULL;
    size_t len = bus_msg_size(m);
    const uint8_t *data = bus_msg_data(m);
    if (q->verb == 0 && (q->get = drip__get_request__unpack(NULL, len, data))) hdr = q->get->header;
    if (q->verb == 1 && (q->count = drip__count_request__unpack(NULL, len, data)))
        hdr = q->count->header;
    if (q->verb == 2 && (q->list = drip__list_request__unpack(NULL, len, data))) hdr = q->list->header;
    int st = DRIP_OK;
    if (q->verb < 0) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "unknown query '%.32s' (get|count|list)", sp->last);
    } else if (!q->get && !q->count && !q->list) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "payload is not a drip.%s protobuf message",
                 q->verb == 0 ? "GetRequest" : q->verb == 1 ? "CountRequest" : "ListRequest");
    } else {
        st = envelope_check(hdr, sp->dept, sp->region, why, sizeof why);
        q->corr = hdr ? hdr->msg_id : NULL;
    }
    if (st == DRIP_OK && r->inflight >= REGISTRY_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "registry busy; retry");
    }
    if (st != DRIP_OK) {
        registry_reply_error(r, m, q->verb >= 0 ? VERBS[q->verb] : "get", q->corr, st, why);
        query_free(q);
        return;
    }
    r->inflight++;
    if (db_pool_submit(r->db, query_work, query_done, q) != DRIP_OK) {
        r->inflight--;
        registry_reply_error(r, m, VERBS[q->verb], q->corr, DRIP_EINTERNAL, "cannot queue work");
        query_free(q);
    }
}
