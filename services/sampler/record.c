/* record.c — reading stored draws: the draw row, its members, replacements and decisions, and
 * the whole DrawRecord assembled from them. Every message built here is malloc'd field by field,
 * so protobuf-c's free_unpacked (default allocator) frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static char *col(PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? NULL : sampler_strdup(PQgetvalue(r, row, c));
}

void draw_row_free(draw_row *d)
{
    if (d->task) drip__task__free_unpacked(d->task, NULL);
    if (d->head) drip__draw_record__free_unpacked(d->head, NULL);
    for (size_t i = 0; i < d->n_participants; i++)
        free(d->participants[i]);
    free(d->participants);
    memset(d, 0, sizeof *d);
}

static void split_csv(const char *s, char ***out, size_t *n)
{
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    *out = xcalloc(cap, sizeof(char *));
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *x = malloc(len + 1);
        if (!x) abort();
        memcpy(x, p, len);
        x[len] = '\0';
        (*out)[(*n)++] = x;
        p = e ? e + 1 : p + len;
    }
}

static void *unpack_bytea(PGresult *r, int row, int c, int task)
{
    size_t len = 0;
    unsigned char *b = db_bytea_decode(PQgetvalue(r, row, c), &len);
    if (!b) return NULL;
    void *m = task ? (void *)drip__task__unpack(NULL, len, b)
                   : (void *)drip__draw_record__unpack(NULL, len, b);
    PQfreemem(b);
    return m;
}

int draw_row_load(PGconn *c, const char *task_code, uint32_t draw_no, int lock, draw_row *out)
{
    memset(out, 0, sizeof *out);
    char no[16];
    snprintf(no, sizeof no, "%u", draw_no);
    const char *params[2] = {task_code, no};
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT task_code, draw_no, task_body, frozen_at_ms, lead_dept, lead_region,"
        " jurisdiction, decision_wm, confirm_wm, seed, array_to_string(participants, ','),"
        " coalesce((deadline - date '1970-01-01')::text, ''), head, superseded, settled,"
        " overdue_reported FROM draw WHERE task_code = $1 AND ($2::int = 0 OR draw_no = $2::int)"
        " ORDER BY draw_no DESC LIMIT 1%s",
        lock ? " FOR UPDATE" : "");
    int st;
    PGresult *r = db_query(c, sql, 2, params, &st);
    if (!r) return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return DRIP_ENOTFOUND;
    }
    snprintf(out->task_code, sizeof out->task_code, "%s", PQgetvalue(r, 0, 0));
    out->draw_no = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
    out->task = unpack_bytea(r, 0, 2, 1);
    out->frozen_at_ms = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    snprintf(out->lead_dept, sizeof out->lead_dept, "%s", PQgetvalue(r, 0, 4));
    snprintf(out->lead_region, sizeof out->lead_region, "%s", PQgetvalue(r, 0, 5));
    snprintf(out->jurisdiction, sizeof out->jurisdiction, "%s", PQgetvalue(r, 0, 6));
    out->decision_wm = strtoll(PQgetvalue(r, 0, 7), NULL, 10);
    out->confirm_wm = strtoll(PQgetvalue(r, 0, 8), NULL, 10);
    snprintf(out->seed, sizeof out->seed, "%s", PQgetvalue(r, 0, 9));
    split_csv(PQgetvalue(r, 0, 10), &out->participants, &out->n_participants);
    const char *dl = PQgetvalue(r, 0, 11);
    out->deadline = *dl ? (int32_t)strtol(dl, NULL, 10) : -1;
    out->head = unpack_bytea(r, 0, 12, 0);
    out->superseded = PQgetvalue(r, 0, 13)[0] == 't';
    out->settled = PQgetvalue(r, 0, 14)[0] == 't';
    out->overdue_reported = PQgetvalue(r, 0, 15)[0] == 't';
    PQclear(r);
    if (!out->task || !out->head) {
        log_error("draw.corrupt", "draw %s/%u: stored task or record cannot be decoded", task_code,
                  out->draw_no);
        draw_row_free(out);
        return DRIP_EINTERNAL;
    }
    return DRIP_OK;
}

void draw_row_spec(const draw_row *d, pop_spec *p)
{
    memset(p, 0, sizeof *p);
    p->task = d->task;
    p->at_ms = d->frozen_at_ms;
    p->jurisdiction = d->jurisdiction;
    p->lead_dept = d->lead_dept;
    p->decision_wm = d->decision_wm;
    p->confirm_wm = d->confirm_wm;
    p->stratify = d->task->has_stratify ? d->task->stratify : 1;
}

int draw_members_count(PGconn *c, const draw_row *d, size_t *n)
{
    char no[16];
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *params[2] = {d->task_code, no};
    int st;
    PGresult *r =
        db_query(c, "SELECT count(*) FROM draw_member WHERE task_code = $1 AND draw_no = $2", 2,
                 params, &st);
    if (!r) return st;
    *n = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return DRIP_OK;
}

void draw_targets_free(Drip__DrawnTarget **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        drip__drawn_target__free_unpacked(t[i], NULL);
    free(t);
}

int draw_members_load(PGconn *c, const draw_row *d, size_t offset, size_t limit,
                      Drip__DrawnTarget ***out, size_t *n)
{
    char no[16], off[24], lim[24];
    snprintf(no, sizeof no, "%u", d->draw_no);
    snprintf(off, sizeof off, "%zu", offset);
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[4] = {d->task_code, no, off, lim};
    int st;
    PGresult *r =
        db_query(c,
                 "SELECT uscc, stratum, encode(ticket, 'hex'), rank, state, replaces"
                 " FROM draw_member WHERE task_code = $1 AND draw_no = $2"
                 " ORDER BY strpos('ABCD-', stratum), rank OFFSET $3::bigint LIMIT $4::bigint",
                 4, params, &st);
    if (!r) return st;
    int rows = PQntuples(r);
    Drip__DrawnTarget **v = xcalloc((size_t)rows, sizeof *v);
    for (int i = 0; i < rows; i++) {
        Drip__DrawnTarget *t = xcalloc(1, sizeof *t);
        drip__drawn_target__init(t);
        t->uscc = col(r, i, 0);
        t->stratum = col(r, i, 1);
        t->ticket = col(r, i, 2);
        t->has_rank = 1;
        t->rank = (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10);
        t->has_state = 1;
        t->state = (Drip__TargetDecision)strtol(PQgetvalue(r, i, 4), NULL, 10);
        t->replaces = col(r, i, 5);
        v[i] = t;
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return DRIP_OK;
}

void draw_replacements_free(Drip__Replacement **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        drip__replacement__free_unpacked(v[i], NULL);
    free(v);
}

int draw_replacements_load(PGconn *c, const draw_row *d, Drip__Replacement ***out, size_t *n)
{
    char no[16];
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *params[2] = {d->task_code, no};
    int st;
    PGresult *r = db_query(c,
                           "SELECT rejected_uscc, dept, reason, replacement_uscc, ticket,"
                           " (extract(epoch FROM at) * 1000)::bigint FROM replacement"
                           " WHERE task_code = $1 AND draw_no = $2 ORDER BY seq",
                           2, params, &st);
    if (!r) return st;
    int rows = PQntuples(r);
    Drip__Replacement **v = xcalloc((size_t)rows, sizeof *v);
    for (int i = 0; i < rows; i++) {
        Drip__Replacement *x = xcalloc(1, sizeof *x);
        drip__replacement__init(x);
        x->rejected_uscc = col(r, i, 0);
        x->dept = col(r, i, 1);
        x->reason = col(r, i, 2);
        x->replacement_uscc = col(r, i, 3);
        x->ticket = col(r, i, 4);
        x->has_at_ms = 1;
        x->at_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        v[i] = x;
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return DRIP_OK;
}

static int decisions_load(PGconn *c, const draw_row *d, Drip__DeptDecision ***out, size_t *n)
{
    char no[16];
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *params[2] = {d->task_code, no};
    int st;
    PGresult *r =
        db_query(c,
                 "SELECT uscc, dept, accept, reason, (extract(epoch FROM at) * 1000)::bigint"
                 " FROM decision WHERE task_code = $1 AND draw_no = $2 ORDER BY id",
                 2, params, &st);
    if (!r) return st;
    int rows = PQntuples(r);
    Drip__DeptDecision **v = xcalloc((size_t)rows, sizeof *v);
    for (int i = 0; i < rows; i++) {
        Drip__DeptDecision *x = xcalloc(1, sizeof *x);
        drip__dept_decision__init(x);
        x->uscc = col(r, i, 0);
        x->dept = col(r, i, 1);
        x->has_accept = 1;
        x->accept = PQgetvalue(r, i, 2)[0] == 't';
        x->reason = col(r, i, 3);
        x->has_at_ms = 1;
        x->at_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        v[i] = x;
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    return DRIP_OK;
}

int draw_record_load(PGconn *c, const draw_row *d, int with_decisions, Drip__DrawRecord **out)
{
    size_t len;
    uint8_t *buf = sampler_pack(&d->head->base, &len);
    Drip__DrawRecord *rec = drip__draw_record__unpack(NULL, len, buf);
    free(buf);
    if (!rec) return DRIP_EINTERNAL;
    rec->has_superseded = 1;
    rec->superseded = d->superseded;
    size_t n = 0;
    int st = draw_members_count(c, d, &n);
    if (st == DRIP_OK) st = draw_members_load(c, d, 0, n, &rec->selected, &rec->n_selected);
    if (st == DRIP_OK) st = draw_replacements_load(c, d, &rec->replacements, &rec->n_replacements);
    if (st == DRIP_OK && with_decisions)
        st = decisions_load(c, d, &rec->decisions, &rec->n_decisions);
    if (st != DRIP_OK) {
        drip__draw_record__free_unpacked(rec, NULL);
        return st;
    }
    *out = rec;
    return DRIP_OK;
}

void draw_record_free(Drip__DrawRecord *r)
{
    if (r) drip__draw_record__free_unpacked(r, NULL);
}

const char *sampler_task_code(const char *key)
{
    const char *slash = strchr(key, '/');
    return slash ? slash + 1 : key;
}

int sampler_task_resolve(PGconn *c, const char *plan_code, const char *task_code, char *key,
                         size_t cap, char *why, size_t whycap)
{
    if (plan_code && *plan_code) {
        if (strchr(plan_code, '/') || strlen(plan_code) + strlen(task_code) + 2 > cap) {
            snprintf(why, whycap, "plan_code: '%.64s' is not a plan code", plan_code);
            return DRIP_EVALUE;
        }
        snprintf(key, cap, "%s/%s", plan_code, task_code);
        return DRIP_OK;
    }
    /* no plan named: the task code must be unambiguous among the tasks this sampler knows */
    const char *p[1] = {task_code};
    int st;
    PGresult *r = db_query(c,
                           "SELECT DISTINCT task_code FROM draw"
                           " WHERE substr(task_code, strpos(task_code, '/') + 1) = $1"
                           " ORDER BY 1 LIMIT 8",
                           1, p, &st);
    if (!r) return st;
    int n = PQntuples(r);
    if (n == 1) {
        snprintf(key, cap, "%s", PQgetvalue(r, 0, 0));
    } else if (n == 0) {
        snprintf(key, cap, "?/%s", task_code); /* draw_row_load then reports "not drawn" */
    } else {
        size_t off = (size_t)snprintf(why, whycap,
                                      "task_code: %s exists in several plans; name the plan (plan_code):",
                                      task_code);
        for (int i = 0; i < n && off < whycap; i++) {
            const char *k = PQgetvalue(r, i, 0);
            int w = snprintf(why + off, whycap - off, " %.*s", (int)(strchr(k, '/') - k), k);
            if (w > 0) off += (size_t)w;
        }
        st = DRIP_ECONFLICT;
    }
    PQclear(r);
    return st;
}
