/* query.c — draw_get (the published draw record) and draw_population (the frozen population,
 * recomputed from the as-of projection with the stored inputs, byte for byte the hashed lines).
 * Draw records are public (一公开): any registered department or operator may read them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

/* Rough packed size of one selected target in a DrawReply (key, stratum, 64-hex ticket, tags). */
#define MEMBER_BYTES 110

typedef struct {
    sampler *s;
    bus_msg *m;
    subject_parts sp;
    int population; /* 0 draw_get, 1 draw_population */
    Drip__DrawQuery *dq;
    Drip__PopulationQuery *pq;
    const char *corr;
    char why[SAMPLER_WHY];
    uint8_t *reply;
    size_t reply_len;
} query;

static void query_free(query *q)
{
    if (q->dq) drip__draw_query__free_unpacked(q->dq, NULL);
    if (q->pq) drip__population_query__free_unpacked(q->pq, NULL);
    free(q->reply);
    if (q->m) bus_msg_destroy(q->m);
    free(q);
}

static int draw_nos(PGconn *c, const char *code, uint32_t **out, size_t *n)
{
    const char *p[1] = {code};
    int st;
    PGresult *r =
        db_query(c, "SELECT draw_no FROM draw WHERE task_code = $1 ORDER BY draw_no", 1, p, &st);
    if (!r) return st;
    *n = (size_t)PQntuples(r);
    *out = calloc(*n + 1, sizeof **out);
    if (!*out) abort();
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = (uint32_t)strtoul(PQgetvalue(r, (int)i, 0), NULL, 10);
    PQclear(r);
    return DRIP_OK;
}

/* draw_get inside a read-only repeatable-read transaction (one consistent record). */
static int get_tx(PGconn *c, void *arg)
{
    query *q = arg;
    Drip__DrawReply rep = DRIP__DRAW_REPLY__INIT;
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, q->corr, "SAMPLER", "000000");
    rep.header = &hdr;
    rep.has_error = 1;
    draw_row d;
    Drip__DrawRecord *rec = NULL;
    uint32_t *nos = NULL;
    size_t nnos = 0, nmem = 0;
    int st = DRIP_OK;
    if (!q->dq->task_code || !*q->dq->task_code) {
        snprintf(q->why, sizeof q->why, "task_code: required");
        st = DRIP_EMISSING;
    }
    int loaded = 0;
    char key[160];
    if (st == DRIP_OK)
        st = sampler_task_resolve(c, q->dq->plan_code, q->dq->task_code, key, sizeof key, q->why,
                                  sizeof q->why);
    if (st == DRIP_OK) {
        st = draw_row_load(c, key, q->dq->has_draw_no ? q->dq->draw_no : 0, 0, &d);
        if (st == DRIP_ENOTFOUND) {
            snprintf(q->why, sizeof q->why, "no draw %u of task %s", q->dq->draw_no,
                     q->dq->task_code);
            if (!q->dq->draw_no)
                snprintf(q->why, sizeof q->why, "task %s has not been drawn", q->dq->task_code);
        }
        loaded = st == DRIP_OK;
    }
    if (st == DRIP_OK) st = draw_members_count(c, &d, &nmem);
    if (st == DRIP_OK && (int64_t)(nmem * MEMBER_BYTES) > q->s->cfg.max_payload) {
        snprintf(
            q->why, sizeof q->why,
            "draw %u of task %s lists %zu targets, more than one reply of %lld bytes can carry; "
            "read the DRAW_COMPLETED / DRAW_SETTLED events (in parts) instead",
            d.draw_no, d.task_code, nmem, (long long)q->s->cfg.max_payload);
        st = DRIP_ETOOLARGE;
    }
    if (st == DRIP_OK) st = draw_record_load(c, &d, 1, &rec);
    if (st == DRIP_OK) st = draw_nos(c, d.task_code, &nos, &nnos);
    if (st == DRIP_OK) {
        rep.record = rec;
        rep.draw_nos = nos;
        rep.n_draw_nos = nnos;
        q->reply = sampler_pack(&rep.base, &q->reply_len);
        if ((int64_t)q->reply_len > q->s->cfg.max_payload) {
            /* decisions are what grows without bound: drop them before giving up */
            free(q->reply);
            q->reply = NULL;
            size_t nd = rec->n_decisions;
            rec->n_decisions = 0;
            q->reply = sampler_pack(&rep.base, &q->reply_len);
            rec->n_decisions = nd;
            if ((int64_t)q->reply_len > q->s->cfg.max_payload) {
                free(q->reply);
                q->reply = NULL;
                snprintf(q->why, sizeof q->why, "the record of draw %u is too large for one reply",
                         d.draw_no);
                st = DRIP_ETOOLARGE;
            }
        }
    }
    draw_record_free(rec);
    free(nos);
    if (loaded) draw_row_free(&d);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN) return st;
    if (st != DRIP_OK) {
        Drip__DrawReply e = DRIP__DRAW_REPLY__INIT;
        e.header = &hdr;
        e.has_error = 1;
        e.error = drip_status_to_wire(st);
        e.error_message = q->why;
        q->reply = sampler_pack(&e.base, &q->reply_len);
    }
    return DRIP_OK;
}

static int population_work(query *q, PGconn *c)
{
    Drip__PopulationPage rep = DRIP__POPULATION_PAGE__INIT;
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, q->corr, "SAMPLER", "000000");
    rep.header = &hdr;
    rep.has_error = 1;
    const Drip__PopulationQuery *pq = q->pq;
    unsigned limit = pq->has_limit && pq->limit ? pq->limit : SAMPLER_PAGE_MAX;
    int st = DRIP_OK;
    if (!pq->task_code || !*pq->task_code) {
        snprintf(q->why, sizeof q->why, "task_code: required");
        st = DRIP_EMISSING;
    } else if (limit > SAMPLER_PAGE_MAX) {
        snprintf(q->why, sizeof q->why, "limit: %u, at most %d", limit, SAMPLER_PAGE_MAX);
        st = DRIP_EVALUE;
    } else if (pq->after && strlen(pq->after) > DRAW_KEY_MAX) {
        snprintf(q->why, sizeof q->why, "after: longer than a key");
        st = DRIP_EVALUE;
    }
    draw_row d;
    int loaded = 0;
    db_buf lines;
    db_buf_init(&lines);
    char last[DRAW_KEY_MAX + 1] = "";
    int more = 0;
    char key[160];
    if (st == DRIP_OK)
        st = sampler_task_resolve(c, pq->plan_code, pq->task_code, key, sizeof key, q->why,
                                  sizeof q->why);
    if (st == DRIP_OK) {
        st = draw_row_load(c, key, pq->has_draw_no ? pq->draw_no : 0, 0, &d);
        if (st == DRIP_ENOTFOUND)
            snprintf(q->why, sizeof q->why, "no such draw of task %s", pq->task_code);
        loaded = st == DRIP_OK;
    }
    if (st == DRIP_OK) {
        pop_spec spec;
        draw_row_spec(&d, &spec);
        st = pop_page(c, &spec, pq->after, limit, &lines, last, sizeof last, &more, q->why,
                      sizeof q->why);
    }
    if (loaded) draw_row_free(&d);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL || st == DRIP_EAGAIN) {
        db_buf_free(&lines);
        return st;
    }
    rep.error = drip_status_to_wire(st);
    if (st == DRIP_OK) {
        rep.has_lines = 1;
        rep.lines.data = (uint8_t *)(lines.data ? lines.data : "");
        rep.lines.len = lines.len;
        rep.next = more ? last : "";
    } else {
        rep.error_message = q->why;
    }
    q->reply = sampler_pack(&rep.base, &q->reply_len);
    db_buf_free(&lines);
    return DRIP_OK;
}

static int query_work(PGconn *c, void *arg)
{
    query *q = arg;
    int st = sampler_sender_check(q->s, c, &q->sp, q->why, sizeof q->why);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL) return st;
    if (st != DRIP_OK) {
        Drip__Envelope hdr;
        char id[37];
        envelope_new_id(id);
        envelope_fill(&hdr, id, q->corr, "SAMPLER", "000000");
        ProtobufCMessage *msg;
        Drip__DrawReply d = DRIP__DRAW_REPLY__INIT;
        Drip__PopulationPage p = DRIP__POPULATION_PAGE__INIT;
        if (q->population) {
            p.header = &hdr, p.has_error = 1, p.error = drip_status_to_wire(st),
            p.error_message = q->why;
            msg = &p.base;
        } else {
            d.header = &hdr, d.has_error = 1, d.error = drip_status_to_wire(st),
            d.error_message = q->why;
            msg = &d.base;
        }
        q->reply = sampler_pack(msg, &q->reply_len);
        return DRIP_OK;
    }
    if (q->population) return population_work(q, c);
    return db_transaction_ex(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", get_tx, q);
}

static void query_done(int status, void *arg)
{
    query *q = arg;
    sampler *s = q->s;
    s->inflight--;
    const char *verb = q->population ? "draw_population" : "draw_get";
    if (status != DRIP_OK || !q->reply) {
        metrics_counter_inc(s->m_query_err, 1);
        sampler_reply_error(s, q->m, verb, q->corr, DRIP_EINTERNAL,
                            "the sampler could not answer now; retry");
    } else {
        metrics_counter_inc(s->m_queries, 1);
        bus_respond(s->bus, q->m, q->reply, q->reply_len);
    }
    query_free(q);
}

void sampler_query_start(sampler *s, bus_msg *m, const subject_parts *sp)
{
    char why[256];
    query *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->s = s;
    q->m = m;
    q->sp = *sp;
    q->sp.dept = q->sp.buf + (sp->dept - sp->buf);
    q->sp.last = q->sp.buf + (sp->last - sp->buf);
    q->population = !strcmp(sp->last, "draw_population");
    const char *verb = q->population ? "draw_population" : "draw_get";
    size_t len = bus_msg_size(m);
    const uint8_t *data = bus_msg_data(m);
    const Drip__Envelope *hdr = NULL;
    if (q->population) {
        if ((q->pq = drip__population_query__unpack(NULL, len, data))) hdr = q->pq->header;
    } else {
        if ((q->dq = drip__draw_query__unpack(NULL, len, data))) hdr = q->dq->header;
    }
    int st;
    if (!q->pq && !q->dq) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "payload is not a drip.%s protobuf message",
                 q->population ? "PopulationQuery" : "DrawQuery");
    } else {
        st = envelope_check(hdr, sp->dept, sp->region, why, sizeof why);
        q->corr = hdr ? hdr->msg_id : NULL;
    }
    if (st == DRIP_OK && s->inflight >= SAMPLER_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "sampler busy; retry");
    }
    if (st != DRIP_OK) {
        sampler_reply_error(s, m, verb, q->corr, st, why);
        query_free(q);
        return;
    }
    s->inflight++;
    if (db_pool_submit(s->db, query_work, query_done, q) != DRIP_OK) {
        s->inflight--;
        sampler_reply_error(s, m, verb, q->corr, DRIP_EINTERNAL, "cannot queue work");
        query_free(q);
    }
}
