/* store.c — plan and task rows <-> protobuf messages; projection look-ups. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "regproj.h"
#include "status.h"

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) abort();
    return d;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void task_row_free(task_row *t)
{
    if (t && t->task) drip__task__free_unpacked(t->task, NULL);
    if (t) t->task = NULL;
}

void store_rows_free(task_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) task_row_free(&rows[i]);
    free(rows);
}

/* ---- messages ------------------------------------------------------------------------------- */

void store_task_body(const Drip__Task *t, uint8_t **body, size_t *len)
{
    /* a shallow copy with the planner's fields cleared: nothing is freed through it */
    Drip__Task tmp = *t;
    tmp.has_state = 0;
    tmp.state = 0;
    tmp.commitment = NULL;
    tmp.has_version = 0;
    tmp.version = 0;
    tmp.plan_code = NULL;
    *len = drip__task__get_packed_size(&tmp);
    *body = xmalloc(*len);
    drip__task__pack(&tmp, *body);
}

Drip__Task *task_dup(const Drip__Task *t)
{
    size_t len = drip__task__get_packed_size(t);
    uint8_t *buf = xmalloc(len);
    drip__task__pack(t, buf);
    Drip__Task *d = drip__task__unpack(NULL, len, buf);
    free(buf);
    if (!d) abort(); /* our own bytes */
    return d;
}

Drip__Plan *plan_dup(const Drip__Plan *p)
{
    size_t len = drip__plan__get_packed_size(p);
    uint8_t *buf = xmalloc(len);
    drip__plan__pack(p, buf);
    Drip__Plan *d = drip__plan__unpack(NULL, len, buf);
    free(buf);
    if (!d) abort();
    return d;
}

void plan_add_task(Drip__Plan *p, const Drip__Task *t)
{
    Drip__Task **v = realloc(p->tasks, (p->n_tasks + 1) * sizeof *v);
    if (!v) abort();
    p->tasks = v;
    p->tasks[p->n_tasks++] = task_dup(t);
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *bytea_param(const uint8_t *p, size_t n)
{
    char *s = xmalloc(2 * n + 3);
    s[0] = '\\';
    s[1] = 'x';
    hex_encode(p, n, s + 2);
    return s;
}

/* ---- plans ---------------------------------------------------------------------------------- */

int store_plan_load(PGconn *c, const char *code, int lock, Drip__Plan **out)
{
    *out = NULL;
    const char *params[1] = {code};
    int st;
    PGresult *r = db_query(c,
                           lock ? "SELECT code, name, year, region, kind, owner, seq, published,"
                                  " version, note FROM plan WHERE code = $1 FOR UPDATE"
                                : "SELECT code, name, year, region, kind, owner, seq, published,"
                                  " version, note FROM plan WHERE code = $1",
                           1, params, &st);
    if (!r) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return DRIP_ENOTFOUND;
    }
    Drip__Plan *p = xmalloc(sizeof *p);
    drip__plan__init(p);
    p->code = xstrdup(PQgetvalue(r, 0, 0));
    p->name = xstrdup(PQgetvalue(r, 0, 1));
    p->has_year = 1;
    p->year = (uint32_t)strtoul(PQgetvalue(r, 0, 2), NULL, 10);
    p->region = xstrdup(PQgetvalue(r, 0, 3));
    p->has_kind = 1;
    p->kind = (Drip__PlanKind)strtol(PQgetvalue(r, 0, 4), NULL, 10);
    p->owner = xstrdup(PQgetvalue(r, 0, 5));
    p->has_seq = 1;
    p->seq = (uint32_t)strtoul(PQgetvalue(r, 0, 6), NULL, 10);
    p->has_published = 1;
    p->published = PQgetvalue(r, 0, 7)[0] == 't';
    p->has_version = 1;
    p->version = (uint32_t)strtoul(PQgetvalue(r, 0, 8), NULL, 10);
    p->note = xstrdup(PQgetvalue(r, 0, 9));
    PQclear(r);
    *out = p;
    return DRIP_OK;
}

/* ---- tasks ---------------------------------------------------------------------------------- */

static const char TASK_COLS[] =
    "SELECT id, plan_code, code, version, state, body, coalesce(commitment, ''),"
    " draw_ordered_at IS NOT NULL,"
    " coalesce(to_char(draw_ordered_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), ''),"
    " nonce FROM task";

/* Fills `t` from row i of a TASK_COLS result. DRIP_OK or DRIP_EINTERNAL (undecodable body). */
static int row_to_task(PGresult *r, int i, task_row *t)
{
    memset(t, 0, sizeof *t);
    t->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    snprintf(t->plan_code, sizeof t->plan_code, "%s", PQgetvalue(r, i, 1));
    snprintf(t->code, sizeof t->code, "%s", PQgetvalue(r, i, 2));
    t->version = (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10);
    t->state = (int)strtol(PQgetvalue(r, i, 4), NULL, 10);
    size_t blen = 0;
    unsigned char *body = db_bytea_decode(PQgetvalue(r, i, 5), &blen);
    if (!body) return DRIP_EINTERNAL;
    t->task = drip__task__unpack(NULL, blen, body);
    PQfreemem(body);
    if (!t->task) return DRIP_EINTERNAL;
    snprintf(t->commitment, sizeof t->commitment, "%s", PQgetvalue(r, i, 6));
    t->draw_pending = PQgetvalue(r, i, 7)[0] == 't';
    snprintf(t->draw_ordered_at, sizeof t->draw_ordered_at, "%s", PQgetvalue(r, i, 8));
    if (!PQgetisnull(r, i, 9)) {
        size_t nlen = 0;
        unsigned char *n = db_bytea_decode(PQgetvalue(r, i, 9), &nlen);
        if (n && nlen == sizeof t->nonce) {
            memcpy(t->nonce, n, sizeof t->nonce);
            t->has_nonce = 1;
        }
        if (n) PQfreemem(n);
    }
    Drip__Task *k = t->task;
    k->has_state = 1;
    k->state = (Drip__TaskState)t->state;
    k->has_version = 1;
    k->version = t->version;
    free(k->commitment);
    k->commitment = t->commitment[0] ? xstrdup(t->commitment) : NULL;
    free(k->plan_code);
    k->plan_code = xstrdup(t->plan_code);
    return DRIP_OK;
}

int store_task_load(PGconn *c, const char *plan_code, const char *code, int lock, task_row *out)
{
    memset(out, 0, sizeof *out);
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE plan_code = $1 AND code = $2%s", TASK_COLS,
             lock ? " FOR UPDATE" : "");
    const char *params[2] = {plan_code, code};
    int st;
    PGresult *r = db_query(c, sql, 2, params, &st);
    if (!r) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return DRIP_ENOTFOUND;
    }
    st = row_to_task(r, 0, out);
    PQclear(r);
    if (st != DRIP_OK) task_row_free(out);
    return st;
}

int store_plan_tasks(PGconn *c, const char *plan_code, int lock, task_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE plan_code = $1 ORDER BY code%s", TASK_COLS,
             lock ? " FOR UPDATE" : "");
    const char *params[1] = {plan_code};
    int st;
    PGresult *r = db_query(c, sql, 1, params, &st);
    if (!r) return st;
    int rows = PQntuples(r);
    task_row *v = calloc((size_t)rows + 1, sizeof *v);
    if (!v) abort();
    for (int i = 0; i < rows; i++) {
        st = row_to_task(r, i, &v[i]);
        if (st != DRIP_OK) {
            store_rows_free(v, (size_t)i + 1);
            PQclear(r);
            return st;
        }
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return DRIP_OK;
}

int store_task_log(PGconn *c, int64_t task_id, int state, const char *what, const char *reason,
                   const char *actor)
{
    char id[24], s[8];
    snprintf(id, sizeof id, "%lld", (long long)task_id);
    snprintf(s, sizeof s, "%d", state);
    const char *params[5] = {id, s, what, reason, actor};
    int st;
    PGresult *r = db_query(c,
                           "INSERT INTO task_log (task_id, state, what, reason, actor) "
                           "VALUES ($1::bigint, $2::smallint, $3, $4, $5)",
                           5, params, &st);
    PQclear(r);
    return st;
}

/* ---- projection ----------------------------------------------------------------------------- */

int proj_dept(PGconn *c, const char *code, char region[7], int *active, char *name, size_t cap)
{
    int st;
    Drip__Change *ch = regproj_get(c, DRIP__RECORD_KIND__KIND_DEPARTMENT, code, &st);
    if (!ch) return st;
    const Drip__Department *d = ch->department;
    if (!d || !d->region) {
        drip__change__free_unpacked(ch, NULL);
        return DRIP_ENOTFOUND;
    }
    snprintf(region, 7, "%s", d->region);
    if (active) *active = !d->has_active || d->active; /* absent = active (registry default) */
    if (name && cap) snprintf(name, cap, "%s", d->name ? d->name : "");
    drip__change__free_unpacked(ch, NULL);
    return DRIP_OK;
}

int proj_region_name(PGconn *c, const char *code, char *name, size_t cap)
{
    int st;
    Drip__Change *ch = regproj_get(c, DRIP__RECORD_KIND__KIND_REGION, code, &st);
    if (!ch) return st;
    if (!ch->region || !ch->region->name) {
        drip__change__free_unpacked(ch, NULL);
        return DRIP_ENOTFOUND;
    }
    snprintf(name, cap, "%s", ch->region->name);
    drip__change__free_unpacked(ch, NULL);
    return DRIP_OK;
}
