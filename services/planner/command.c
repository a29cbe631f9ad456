/* command.c — one plan command on the database side: authorise the sender, run the verb in one
 * transaction with its outbox events and the inbox row holding the reply, then reply. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "planner.h"
#include "status.h"

int req_fail(planner_req *q, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->why, sizeof q->why, fmt, ap);
    va_end(ap);
    q->failed = 1;
    q->status = status;
    return status;
}

void req_free(planner_req *q)
{
    if (q->cmd) drip__plan_command__free_unpacked(q->cmd, NULL);
    if (q->out_plan) drip__plan__free_unpacked(q->out_plan, NULL);
    if (q->out_task) drip__task__free_unpacked(q->out_task, NULL);
    free(q->reply);
    if (q->m) bus_msg_destroy(q->m);
    free(q);
}

static uint8_t *reply_pack(const char *corr, int status, const char *text, Drip__Plan *plan,
                           Drip__Task *task, size_t *len)
{
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "PLANNER", "000000");
    Drip__PlanReply rep = DRIP__PLAN_REPLY__INIT;
    rep.header = &hdr;
    rep.has_error = 1;
    rep.error = (Drip__ErrorCode)drip_status_to_wire(status);
    rep.error_message = (char *)text;
    rep.plan = plan;
    rep.task = task;
    *len = drip__plan_reply__get_packed_size(&rep);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) abort();
    drip__plan_reply__pack(&rep, buf);
    return buf;
}

int planner_emit(planner *p, PGconn *c, Drip__PlannerEvent *ev, const char *what,
                 const char *region, const char *dept, const char *msg_id, const char *corr,
                 int64_t at_ms)
{
    Drip__Envelope hdr;
    envelope_fill(&hdr, msg_id, corr, dept, region);
    hdr.sent_at_ms = at_ms;
    ev->header = &hdr;
    ev->has_at_ms = 1;
    ev->at_ms = at_ms;
    char subject[SUBJECT_MAX];
    int st = subject_build(subject, sizeof subject, p->cfg.prefix, "evt.planner", region, dept, what);
    if (st != DRIP_OK) {
        log_error("planner.emit", "cannot build an event subject for %s/%s/%s", region, dept, what);
        ev->header = NULL;
        return DRIP_EINTERNAL;
    }
    size_t len = drip__planner_event__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    drip__planner_event__pack(ev, buf);
    ev->header = NULL; /* stack-owned */
    st = outbox_add(c, subject, msg_id, buf, len);
    free(buf);
    return st;
}

int req_emit(planner_req *q, PGconn *c, Drip__PlannerEvent *ev, const char *what)
{
    char id[160];
    q->nevents++;
    snprintf(id, sizeof id, "planner:%s:%s:%d", q->sp.dept, q->corr, q->nevents);
    return planner_emit(q->p, c, ev, what, q->sp.region, q->sp.dept, id, q->corr, q->now_ms);
}

/* Who is asking: an operator (reads only) or a registered, active department of that region. */
static int req_authorize(planner_req *q, PGconn *c)
{
    if (planner_is_operator(q->p, q->sp.dept)) {
        if (strcmp(q->sp.region, "000000") != 0)
            return req_fail(q, DRIP_EFORBIDDEN, "operator %s must send with region 000000",
                            q->sp.dept);
        if (q->verb->mutating)
            return req_fail(q, DRIP_EFORBIDDEN,
                            "operator %s may read plans and tasks but not %s: plans belong to "
                            "departments",
                            q->sp.dept, q->verb->word);
        q->is_operator = 1;
        snprintf(q->sender_name, sizeof q->sender_name, "%s", q->sp.dept);
        return DRIP_OK;
    }
    char region[7];
    int active = 0;
    int st = proj_dept(c, q->sp.dept, region, &active, q->sender_name, sizeof q->sender_name);
    if (st == DRIP_ENOTFOUND)
        return req_fail(q, DRIP_EDEPT,
                        "department %s is not registered (or not yet known to the planner)",
                        q->sp.dept);
    if (st != DRIP_OK) return st;
    if (strcmp(region, q->sp.region) != 0)
        return req_fail(q, DRIP_EFORBIDDEN, "department %s belongs to region %s, not %s",
                        q->sp.dept, region, q->sp.region);
    if (!active) return req_fail(q, DRIP_EFORBIDDEN, "department %s is inactive", q->sp.dept);
    return DRIP_OK;
}

/* Clears what a previous attempt of the transaction left. */
static void attempt_reset(planner_req *q)
{
    q->failed = 0;
    q->status = DRIP_OK;
    q->why[0] = '\0';
    q->nevents = 0;
    q->replayed = 0;
    q->is_operator = 0;
    if (q->out_plan) drip__plan__free_unpacked(q->out_plan, NULL);
    if (q->out_task) drip__task__free_unpacked(q->out_task, NULL);
    q->out_plan = NULL;
    q->out_task = NULL;
    free(q->reply);
    q->reply = NULL;
    q->reply_len = 0;
}

static int req_tx(PGconn *c, void *arg)
{
    planner_req *q = arg;
    attempt_reset(q);
    int st;
    if (q->verb->mutating) {
        /* Concurrent copies of one request (a client retrying while the first is still running)
         * run one after the other, so the later ones find the first's reply instead of a verdict
         * on the state it left ("already published"). */
        const char *key[1] = {q->inbox_id};
        PGresult *l = db_query(c, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, key, &st);
        if (!l) return st;
        PQclear(l);
        void *stored = NULL;
        size_t stored_len = 0;
        st = inbox_lookup(c, PLANNER_INBOX, q->inbox_id, &stored, &stored_len);
        if (st < 0) return st;
        if (st == 1) {
            q->reply = stored;
            q->reply_len = stored_len;
            q->replayed = 1;
            return stored ? DRIP_OK : DRIP_EINTERNAL;
        }
    }
    PGresult *t = db_query(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint", 0, NULL, &st);
    if (!t) return st;
    q->now_ms = strtoll(PQgetvalue(t, 0, 0), NULL, 10);
    PQclear(t);
    st = req_authorize(q, c);
    if (st == DRIP_OK) st = q->verb->run(q, c);
    if (st != DRIP_OK) return st; /* rolled back: a domain error changes nothing */
    q->reply = reply_pack(q->corr, DRIP_OK, NULL, q->out_plan, q->out_task, &q->reply_len);
    if (!q->verb->mutating) return DRIP_OK;
    /* Only successful changes are remembered: a refused command changed nothing, and its retry
     * (e.g. once the projection has caught up with the registry) deserves a fresh verdict. If a
     * concurrent retry of the same msg_id committed first, roll back and replay its reply. */
    st = inbox_record(c, PLANNER_INBOX, q->inbox_id, q->reply, q->reply_len);
    if (st < 0) return st;
    return st == 1 ? DRIP_OK : DRIP_EAGAIN;
}

int req_work(PGconn *c, void *arg)
{
    planner_req *q = arg;
    int st = q->verb->mutating
                 ? db_transaction(c, req_tx, q)
                 : db_transaction_ex(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", req_tx, q);
    if (q->failed) {
        /* the verdict of the last attempt; the transaction was rolled back */
        free(q->reply);
        q->reply = reply_pack(q->corr, q->status, q->why, NULL, NULL, &q->reply_len);
        q->nevents = 0;
        return DRIP_OK;
    }
    return st;
}

void req_done(int status, void *arg)
{
    planner_req *q = arg;
    planner *p = q->p;
    p->inflight--;
    if (status != DRIP_OK || !q->reply) {
        metrics_counter_inc(p->m_internal, 1);
        log_warn("command.failed", "dept=%s verb=%s msg_id=%s: %s", q->sp.dept, q->verb->word,
                 q->corr, drip_status_name(status));
        planner_reply_error(p, q->m, q->corr, DRIP_EINTERNAL,
                            "the planner could not process this command now; nothing was changed; "
                            "retry with the same msg_id");
    } else {
        bus_respond(p->bus, q->m, q->reply, q->reply_len);
        if (q->replayed) {
            metrics_counter_inc(p->m_replays, 1);
        } else if (q->failed) {
            metrics_counter_inc(p->m_err, 1);
            log_info("command.refused", "dept=%s verb=%s msg_id=%s error=%s reason=%s", q->sp.dept,
                     q->verb->word, q->corr, drip_status_name(q->status), q->why);
        } else {
            metrics_counter_inc(p->m_ok, 1);
            log_debug("command.done", "dept=%s verb=%s msg_id=%s events=%d", q->sp.dept,
                      q->verb->word, q->corr, q->nevents);
        }
    }
    if (q->nevents > 0 && !q->replayed && !q->failed) outbox_relay_kick(p->relay);
    req_free(q);
}
