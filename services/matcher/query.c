/* query.c — match_get (the run and a page of forms), match_pool (the pool lines, byte for byte
 * as hashed) and match_report (the fairness report). Matching results are public (一公开): any
 * registered department or operator may read them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "status.h"

enum { Q_GET, Q_POOL, Q_REPORT };

typedef struct {
    matcher *m;
    bus_msg *msg;
    subject_parts sp;
    int verb;
    Drip__MatchQuery *q;
    const char *corr;
    char why[MATCHER_WHY];
    uint8_t *reply;
    size_t reply_len;
} query;

static void query_free(query *q)
{
    if (q->q) drip__match_query__free_unpacked(q->q, NULL);
    free(q->reply);
    if (q->msg) bus_msg_destroy(q->msg);
    free(q);
}

static void hdr_fill(query *q, Drip__Envelope *hdr, char id[37])
{
    envelope_new_id(id);
    envelope_fill(hdr, id, q->corr, "MATCHER", "000000");
}

/* Error reply (all reply types share fields 1-3). */
static int reply_error(query *q, int st)
{
    Drip__Envelope hdr;
    char id[37];
    hdr_fill(q, &hdr, id);
    Drip__MatchReply r = DRIP__MATCH_REPLY__INIT;
    r.header = &hdr;
    r.has_error = 1;
    r.error = drip_status_to_wire(st);
    r.error_message = q->why;
    q->reply = service_pack(&r.base, &q->reply_len);
    return DRIP_OK;
}

static int fatal(int st) { return st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN; }

static int load_run(PGconn *c, const char *key, const char *col, uint8_t **out, size_t *len)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT %s FROM run WHERE task_key = $1", col);
    const char *v[1] = {key};
    PGresult *r = PQexecParams(c, sql, 1, NULL, v, NULL, NULL, 1);
    int st = db_result_status(c, r, "run load");
    if (st == DRIP_OK && PQntuples(r) == 0) st = DRIP_ENOTFOUND;
    if (st == DRIP_OK) {
        *len = (size_t)PQgetlength(r, 0, 0);
        *out = malloc(*len ? *len : 1);
        if (!*out) abort();
        memcpy(*out, PQgetvalue(r, 0, 0), *len);
    }
    PQclear(r);
    return st;
}

static int direct_count(PGconn *c, const char *key, uint32_t *n)
{
    const char *v[1] = {key};
    int st;
    PGresult *r = db_query(c, "SELECT count(*) FROM form_member WHERE task_key = $1 AND source = 4",
                           1, v, &st);
    if (st == DRIP_OK) *n = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return st;
}

static int get_tx(PGconn *c, void *arg)
{
    query *q = arg;
    char key[160];
    int st = matcher_task_resolve(c, q->q->plan_code, q->q->task_code, key, sizeof key, q->why,
                                  sizeof q->why);
    uint8_t *head = NULL;
    size_t hl = 0;
    Drip__MatchRun *run = NULL;
    if (st == DRIP_OK) {
        st = load_run(c, key, "head", &head, &hl);
        if (st == DRIP_ENOTFOUND) snprintf(q->why, sizeof q->why, "task %s has not been matched", key);
    }
    if (st == DRIP_OK && !(run = drip__match_run__unpack(NULL, hl, head))) st = DRIP_EINTERNAL;
    free(head);
    if (st == DRIP_OK) {
        run->has_direct_assignments = 1;
        st = direct_count(c, key, &run->direct_assignments);
    }
    PGresult *r = NULL;
    uint32_t limit = q->q->has_limit && q->q->limit ? q->q->limit : 500;
    if (limit > MATCHER_PAGE_FORMS) limit = MATCHER_PAGE_FORMS;
    uint32_t offset = q->q->has_offset ? q->q->offset : 0;
    if (st == DRIP_OK) {
        char lim[16], off[16];
        snprintf(lim, sizeof lim, "%u", limit + 1);
        snprintf(off, sizeof off, "%u", offset);
        const char *v[4] = {key, off, lim, q->q->uscc && *q->q->uscc ? q->q->uscc : NULL};
        r = PQexecParams(c,
                         "SELECT body FROM form WHERE task_key = $1 AND ($4::text IS NULL OR uscc = $4)"
                         " ORDER BY seq OFFSET $2::int LIMIT $3::int",
                         4, NULL, v, NULL, NULL, 1);
        st = db_result_status(c, r, "forms page");
        if (st == DRIP_OK && q->q->uscc && *q->q->uscc && PQntuples(r) == 0) {
            snprintf(q->why, sizeof q->why, "no form for %s in task %s", q->q->uscc, key);
            st = DRIP_ENOTFOUND;
        }
    }
    if (st == DRIP_OK) {
        size_t n = (size_t)PQntuples(r), take = n > limit ? limit : n;
        Drip__Form **forms = calloc(take ? take : 1, sizeof *forms);
        if (!forms) abort();
        for (size_t i = 0; i < take && st == DRIP_OK; i++)
            if (!(forms[i] = drip__form__unpack(NULL, (size_t)PQgetlength(r, (int)i, 0),
                                                (const uint8_t *)PQgetvalue(r, (int)i, 0))))
                st = DRIP_EINTERNAL;
        if (st == DRIP_OK) {
            Drip__Envelope hdr;
            char id[37];
            hdr_fill(q, &hdr, id);
            Drip__MatchReply rep = DRIP__MATCH_REPLY__INIT;
            rep.header = &hdr;
            rep.has_error = 1;
            rep.run = run;
            rep.forms = forms;
            rep.n_forms = take;
            rep.has_next_offset = 1;
            rep.next_offset = n > limit ? offset + limit : 0;
            q->reply = service_pack(&rep.base, &q->reply_len);
            /* a page that does not fit: fewer forms per page */
            while ((int64_t)q->reply_len > q->m->cfg.max_payload && rep.n_forms > 1) {
                free(q->reply);
                rep.n_forms /= 2;
                rep.next_offset = offset + (uint32_t)rep.n_forms;
                q->reply = service_pack(&rep.base, &q->reply_len);
            }
        }
        for (size_t i = 0; i < take; i++)
            if (forms[i]) drip__form__free_unpacked(forms[i], NULL);
        free(forms);
    }
    PQclear(r);
    if (run) drip__match_run__free_unpacked(run, NULL);
    if (fatal(st)) return st;
    return st == DRIP_OK ? DRIP_OK : reply_error(q, st);
}

static int pool_work(PGconn *c, query *q)
{
    char key[160];
    int st = matcher_task_resolve(c, q->q->plan_code, q->q->task_code, key, sizeof key, q->why,
                                  sizeof q->why);
    uint8_t *lines = NULL;
    size_t len = 0;
    if (st == DRIP_OK) {
        st = load_run(c, key, "pool_lines", &lines, &len);
        if (st == DRIP_ENOTFOUND) snprintf(q->why, sizeof q->why, "task %s has not been matched", key);
    }
    if (st == DRIP_OK) {
        uint32_t limit = q->q->has_limit && q->q->limit ? q->q->limit : MATCHER_PAGE_LINES;
        if (limit > MATCHER_PAGE_LINES) limit = MATCHER_PAGE_LINES;
        const char *after = q->q->after ? q->q->after : "";
        size_t alen = strlen(after);
        /* lines are sorted: skip those <= after (compared without their '\n') */
        size_t pos = 0;
        while (*after && pos < len) {
            const uint8_t *nl = memchr(lines + pos, '\n', len - pos);
            size_t ll = nl ? (size_t)(nl - (lines + pos)) : len - pos;
            size_t cl = ll < alen ? ll : alen;
            int cmp = memcmp(lines + pos, after, cl);
            if (cmp > 0 || (cmp == 0 && ll > alen)) break;
            pos += ll + 1;
        }
        size_t start = pos, count = 0, last_start = pos;
        while (pos < len && count < limit) {
            const uint8_t *nl = memchr(lines + pos, '\n', len - pos);
            size_t ll = nl ? (size_t)(nl - (lines + pos)) : len - pos;
            if (start + (pos + ll + 1 - start) > (size_t)q->m->cfg.max_payload - 4096) break;
            last_start = pos;
            pos += ll + 1;
            count++;
        }
        char *next = NULL;
        if (pos < len && count) {
            size_t ll = pos - last_start - 1;
            next = malloc(ll + 1);
            if (!next) abort();
            memcpy(next, lines + last_start, ll);
            next[ll] = '\0';
        }
        Drip__Envelope hdr;
        char id[37];
        hdr_fill(q, &hdr, id);
        Drip__PoolPage rep = DRIP__POOL_PAGE__INIT;
        rep.header = &hdr;
        rep.has_error = 1;
        rep.has_lines = 1;
        rep.lines.data = lines + start;
        rep.lines.len = pos - start;
        rep.next = next ? next : "";
        q->reply = service_pack(&rep.base, &q->reply_len);
        free(next);
    }
    free(lines);
    if (fatal(st)) return st;
    return st == DRIP_OK ? DRIP_OK : reply_error(q, st);
}

static int report_work(PGconn *c, query *q)
{
    char key[160];
    int st = matcher_task_resolve(c, q->q->plan_code, q->q->task_code, key, sizeof key, q->why,
                                  sizeof q->why);
    uint8_t *b = NULL;
    size_t len = 0;
    Drip__MatchReport *rep = NULL;
    if (st == DRIP_OK) {
        st = load_run(c, key, "report", &b, &len);
        if (st == DRIP_ENOTFOUND) snprintf(q->why, sizeof q->why, "task %s has not been matched", key);
    }
    if (st == DRIP_OK && !(rep = drip__match_report__unpack(NULL, len, b))) st = DRIP_EINTERNAL;
    free(b);
    PGresult *r = NULL;
    if (st == DRIP_OK) {
        /* direct assignments and the slots still unstaffed change after the run: count them now */
        const char *v[1] = {key};
        r = db_query(c, "SELECT dept, count(*) FROM form_member WHERE task_key = $1 AND source = 4"
                        " GROUP BY dept", 1, v, &st);
    }
    if (st == DRIP_OK) {
        uint32_t total = 0;
        for (size_t d = 0; d < rep->n_depts; d++) {
            Drip__DeptReport *dr = rep->depts[d];
            dr->has_direct = 1;
            dr->direct = 0;
            for (int i = 0; i < PQntuples(r); i++)
                if (dr->pool && dr->pool->dept && !strcmp(PQgetvalue(r, i, 0), dr->pool->dept))
                    dr->direct = (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10);
            total += dr->direct;
        }
        if (rep->run) {
            rep->run->has_direct_assignments = 1;
            rep->run->direct_assignments = total;
        }
        Drip__Envelope hdr;
        char id[37];
        hdr_fill(q, &hdr, id);
        rep->header = &hdr;
        rep->has_error = 1;
        rep->error = 0;
        q->reply = service_pack(&rep->base, &q->reply_len);
        rep->header = NULL;
    }
    PQclear(r);
    if (rep) drip__match_report__free_unpacked(rep, NULL);
    if (fatal(st)) return st;
    return st == DRIP_OK ? DRIP_OK : reply_error(q, st);
}

static int query_work(PGconn *c, void *arg)
{
    query *q = arg;
    int st = matcher_sender_check(q->m, c, &q->sp, q->why, sizeof q->why);
    if (fatal(st)) return st;
    if (st != DRIP_OK) return reply_error(q, st);
    switch (q->verb) {
    case Q_POOL: return pool_work(c, q);
    case Q_REPORT: return report_work(c, q);
    default: return db_transaction_ex(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", get_tx, q);
    }
}

static void query_done(int status, void *arg)
{
    query *q = arg;
    matcher *m = q->m;
    m->inflight--;
    if (status != DRIP_OK || !q->reply) {
        metrics_counter_inc(m->m_query_err, 1);
        matcher_reply_error(m, q->msg, q->sp.last, q->corr, DRIP_EINTERNAL,
                            "the matcher could not answer now; retry");
    } else {
        metrics_counter_inc(m->m_queries, 1);
        bus_respond(m->bus, q->msg, q->reply, q->reply_len);
    }
    query_free(q);
}

void matcher_query_start(matcher *m, bus_msg *msg, const subject_parts *sp)
{
    char why[256];
    query *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->m = m;
    q->msg = msg;
    q->sp = *sp;
    q->sp.dept = q->sp.buf + (sp->dept - sp->buf);
    q->sp.last = q->sp.buf + (sp->last - sp->buf);
    q->verb = !strcmp(sp->last, "match_pool") ? Q_POOL : !strcmp(sp->last, "match_report") ? Q_REPORT : Q_GET;
    int st;
    if (!(q->q = drip__match_query__unpack(NULL, bus_msg_size(msg), bus_msg_data(msg)))) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "payload is not a drip.MatchQuery protobuf message");
    } else {
        st = envelope_check(q->q->header, sp->dept, sp->region, why, sizeof why);
        q->corr = q->q->header ? q->q->header->msg_id : NULL;
    }
    if (st == DRIP_OK && q->q->uscc && *q->q->uscc && strlen(q->q->uscc) > 64) {
        st = DRIP_EVALUE;
        snprintf(why, sizeof why, "uscc: at most 64 characters");
    }
    if (st == DRIP_OK && m->inflight >= MATCHER_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "matcher busy; retry");
    }
    if (st != DRIP_OK) {
        matcher_reply_error(m, msg, sp->last, q->corr, st, why);
        query_free(q);
        return;
    }
    m->inflight++;
    if (db_pool_submit(m->db, query_work, query_done, q) != DRIP_OK) {
        m->inflight--;
        matcher_reply_error(m, msg, sp->last, q->corr, DRIP_EINTERNAL, "cannot queue work");
        query_free(q);
    }
}
