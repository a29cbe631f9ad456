/* sampler.c — the sampler's outcomes move task states (consumed from <PREFIX>_SAMPLER, one
 * message per transaction with the consumer's inbox row, see consumer.h):
 *   DRAW_COMPLETED  the pending draw order is completed; the task goes DRAWN then CONFIRMING
 *                   (two TASK_STATE events). Parts 2.. of a split record change nothing.
 *   DRAW_REFUSED    the pending order is closed as refused; the task keeps its state (PUBLISHED
 *                   for a first draw) and a TASK_STATE event carries the reason.
 *   DRAW_SETTLED    logged only.
 * and the matcher's (consumed from <PREFIX>_MATCHER, filtered to the run events):
 *   TASK_MATCHED    the task goes MATCHED (one TASK_STATE event).
 * Events caused here are sent in the plan owner's name, with ids derived from the task and the
 * draw, so a replayed message could never publish a second, different event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drip/matcher.pb-c.h"
#include "log.h"
#include "planner.h"
#include "status.h"

typedef struct {
    planner *p;
    PGconn *c;
    const Drip__SamplerEvent *ev;
    Drip__Plan *plan;
    task_row row;
    int64_t now_ms;
    int pending;        /* a draw order was waiting */
    int order_no;
} outcome;

/* Finds the task of the draw record (plan_code + task_code; a bare task_code when it is unique). */
static int outcome_task(outcome *o, const Drip__DrawRecord *rec)
{
    char plan_code[64];
    int st;
    if (rec->plan_code && *rec->plan_code) {
        snprintf(plan_code, sizeof plan_code, "%s", rec->plan_code);
    } else {
        const char *params[1] = {rec->task_code};
        PGresult *r = db_query(o->c, "SELECT plan_code FROM task WHERE code = $1 LIMIT 2", 1,
                               params, &st);
        if (!r) return st;
        int n = PQntuples(r);
        if (n == 1) snprintf(plan_code, sizeof plan_code, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        if (n != 1) return DRIP_ENOTFOUND;
    }
    st = store_task_load(o->c, plan_code, rec->task_code, 1, &o->row);
    if (st != DRIP_OK) return st;
    return store_plan_load(o->c, plan_code, 0, &o->plan);
}

/* Locks the pending draw order, if any. */
static int outcome_pending(outcome *o)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)o->row.id);
    const char *params[1] = {id};
    int st;
    PGresult *r = db_query(o->c,
                           "SELECT order_no FROM draw_order WHERE task_id = $1::bigint AND "
                           "status = 'ordered' FOR UPDATE",
                           1, params, &st);
    if (!r) return st;
    o->pending = PQntuples(r) > 0;
    o->order_no = o->pending ? (int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return DRIP_OK;
}

/* Closes the pending order as completed / refused and clears task.draw_ordered_at. */
static int outcome_close_order(outcome *o, const char *status, uint32_t draw_no, const char *reason)
{
    char id[24], order[16], dn[16];
    snprintf(id, sizeof id, "%lld", (long long)o->row.id);
    snprintf(order, sizeof order, "%d", o->order_no);
    snprintf(dn, sizeof dn, "%u", draw_no);
    const char *params[5] = {id, order, status, draw_no ? dn : NULL, reason};
    int st;
    PGresult *r = db_query(o->c,
                           "UPDATE draw_order SET status = $3, settled_at = now(),"
                           " draw_no = $4::int, refuse_reason = $5 "
                           "WHERE task_id = $1::bigint AND order_no = $2::int",
                           5, params, &st);
    if (!r) return st;
    PQclear(r);
    r = db_query(o->c, "UPDATE task SET draw_ordered_at = NULL, updated_at = now() WHERE id = $1::bigint",
                 1, params, &st);
    if (!r) return st;
    PQclear(r);
    return DRIP_OK;
}

static int outcome_set_state(outcome *o, int state)
{
    char id[24], s[4];
    snprintf(id, sizeof id, "%lld", (long long)o->row.id);
    snprintf(s, sizeof s, "%d", state);
    const char *params[2] = {id, s};
    int st;
    PGresult *r = db_query(o->c,
                           "UPDATE task SET state = $2::smallint, updated_at = now() "
                           "WHERE id = $1::bigint",
                           2, params, &st);
    if (!r) return st;
    PQclear(r);
    o->row.state = state;
    o->row.task->state = (Drip__TaskState)state;
    return DRIP_OK;
}

/* TASK_STATE with the task as it is now; id "planner:task<id>:<tag>". */
static int outcome_emit(outcome *o, const char *tag, const char *reason)
{
    char msg_id[96];
    snprintf(msg_id, sizeof msg_id, "planner:task%lld:%s", (long long)o->row.id, tag);
    Drip__PlannerEvent ev = DRIP__PLANNER_EVENT__INIT;
    ev.has_kind = 1;
    ev.kind = DRIP__PLANNER_EVENT_KIND__TASK_STATE;
    ev.task = o->row.task;
    ev.reason = (char *)reason;
    const char *corr = o->ev->header ? o->ev->header->msg_id : NULL;
    return planner_emit(o->p, o->c, &ev, "task_state", o->plan->region, o->plan->owner, msg_id,
                        corr, o->now_ms);
}

static int on_completed(outcome *o, const Drip__DrawRecord *rec)
{
    uint32_t draw_no = rec->has_draw_no ? rec->draw_no : 0;
    int st = DRIP_OK;
    if (o->pending) st = outcome_close_order(o, "completed", draw_no, NULL);
    if (st != DRIP_OK) return st;
    int s = o->row.state;
    int movable = s == DRIP__TASK_STATE__PUBLISHED || s == DRIP__TASK_STATE__DRAWN ||
                  s == DRIP__TASK_STATE__CONFIRMING;
    /* a report seen before (no order waits), or a task that has moved on (cancelled, matched) */
    if (!movable || (!o->pending && s != DRIP__TASK_STATE__PUBLISHED)) {
        log_info("sampler.completed", "task %s/%s draw %u: state %s unchanged", o->row.plan_code,
                 o->row.code, draw_no, task_state_name(s));
        return DRIP_OK;
    }
    char tag[48];
    const int steps[2] = {DRIP__TASK_STATE__DRAWN, DRIP__TASK_STATE__CONFIRMING};
    const char *names[2] = {"drawn", "confirming"};
    for (int i = 0; st == DRIP_OK && i < 2; i++) {
        st = outcome_set_state(o, steps[i]);
        if (st == DRIP_OK)
            st = store_task_log(o->c, o->row.id, steps[i], names[i], NULL, "SAMPLER");
        /* the order is ours and unique; a draw completed without one (never ordered here) is
         * named by the sampler's draw number */
        if (o->pending) snprintf(tag, sizeof tag, "order%d:%s", o->order_no, names[i]);
        else snprintf(tag, sizeof tag, "draw%u:%s", draw_no, names[i]);
        if (st == DRIP_OK) st = outcome_emit(o, tag, NULL);
    }
    return st;
}

static int on_refused(outcome *o, const Drip__SamplerEvent *ev)
{
    if (!o->pending) {
        log_info("sampler.refused", "task %s/%s: no draw order waiting; ignored", o->row.plan_code,
                 o->row.code);
        return DRIP_OK;
    }
    const Drip__DrawRecord *rec = ev->record;
    const char *reason = ev->reason && *ev->reason ? ev->reason
                         : rec->capacity_note && *rec->capacity_note ? rec->capacity_note
                                                                     : "refused by the sampler";
    int st = outcome_close_order(o, "refused", 0, reason);
    if (st == DRIP_OK)
        st = store_task_log(o->c, o->row.id, o->row.state, "draw_refused", reason, "SAMPLER");
    char tag[48];
    snprintf(tag, sizeof tag, "order%d:refused", o->order_no);
    if (st == DRIP_OK) st = outcome_emit(o, tag, reason);
    return st;
}

int planner_sampler_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    Drip__SamplerEvent *ev = drip__sampler_event__unpack(NULL, len, data);
    if (!ev) return DRIP_EBADMSG;
    int kind = ev->has_kind ? (int)ev->kind : 0;
    if (kind != DRIP__SAMPLER_EVENT_KIND__DRAW_COMPLETED &&
        kind != DRIP__SAMPLER_EVENT_KIND__DRAW_REFUSED && kind != DRIP__SAMPLER_EVENT_KIND__DRAW_SETTLED) {
        drip__sampler_event__free_unpacked(ev, NULL);
        return DRIP_OK; /* not about task states */
    }
    if (kind == DRIP__SAMPLER_EVENT_KIND__DRAW_COMPLETED && ev->has_part && ev->part > 1) {
        drip__sampler_event__free_unpacked(ev, NULL);
        return DRIP_OK; /* part 1 carried the news; the rest is the list */
    }
    const Drip__DrawRecord *rec = ev->record;
    if (!rec || !rec->task_code || !*rec->task_code) {
        log_warn("sampler.event", "%s without record.task_code on %s; ignored",
                 kind == DRIP__SAMPLER_EVENT_KIND__DRAW_COMPLETED ? "DRAW_COMPLETED" : "event", subject);
        drip__sampler_event__free_unpacked(ev, NULL);
        return DRIP_OK;
    }
    outcome o;
    memset(&o, 0, sizeof o);
    o.p = arg;
    o.c = c;
    o.ev = ev;
    int st = outcome_task(&o, rec);
    if (st == DRIP_ENOTFOUND) {
        log_warn("sampler.event", "no task %s of plan %s (from %s); ignored", rec->task_code,
                 rec->plan_code ? rec->plan_code : "?", subject);
        st = DRIP_OK;
        goto out;
    }
    if (st != DRIP_OK) goto out;
    PGresult *t = db_query(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint", 0, NULL, &st);
    if (!t) goto out;
    o.now_ms = strtoll(PQgetvalue(t, 0, 0), NULL, 10);
    PQclear(t);
    if ((st = outcome_pending(&o)) != DRIP_OK) goto out;
    if (kind == DRIP__SAMPLER_EVENT_KIND__DRAW_COMPLETED) st = on_completed(&o, rec);
    else if (kind == DRIP__SAMPLER_EVENT_KIND__DRAW_REFUSED) st = on_refused(&o, ev);
    else st = store_task_log(c, o.row.id, o.row.state, "draw_settled", NULL, "SAMPLER");
out:
    task_row_free(&o.row);
    if (o.plan) drip__plan__free_unpacked(o.plan, NULL);
    drip__sampler_event__free_unpacked(ev, NULL);
    return st;
}

int planner_matcher_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    Drip__MatcherEvent *ev = drip__matcher_event__unpack(NULL, len, data);
    if (!ev) return DRIP_EBADMSG;
    if (!ev->has_kind || ev->kind != DRIP__MATCHER_EVENT_KIND__TASK_MATCHED || !ev->run ||
        !ev->task_code || !*ev->task_code) {
        drip__matcher_event__free_unpacked(ev, NULL);
        return DRIP_OK;
    }
    /* the state helpers take a draw record: the run names the same task and draw */
    Drip__DrawRecord rec = DRIP__DRAW_RECORD__INIT;
    rec.task_code = ev->task_code;
    rec.plan_code = ev->plan_code;
    Drip__SamplerEvent sev = DRIP__SAMPLER_EVENT__INIT;
    sev.header = ev->header;
    outcome o;
    memset(&o, 0, sizeof o);
    o.p = arg;
    o.c = c;
    o.ev = &sev;
    int st = outcome_task(&o, &rec);
    if (st == DRIP_ENOTFOUND) {
        log_warn("matcher.event", "no task %s of plan %s (from %s); ignored", ev->task_code,
                 ev->plan_code ? ev->plan_code : "?", subject);
        st = DRIP_OK;
        goto out;
    }
    if (st != DRIP_OK) goto out;
    int s = o.row.state;
    if (s != DRIP__TASK_STATE__DRAWN && s != DRIP__TASK_STATE__CONFIRMING) {
        log_info("matcher.matched", "task %s/%s matched; state %s unchanged", o.row.plan_code,
                 o.row.code, task_state_name(s));
        goto out;
    }
    PGresult *t = db_query(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint", 0, NULL, &st);
    if (!t) goto out;
    o.now_ms = strtoll(PQgetvalue(t, 0, 0), NULL, 10);
    PQclear(t);
    char reason[160], tag[48];
    snprintf(reason, sizeof reason, "%u forms matched (%u slots unstaffed)", ev->run->forms,
             ev->run->unstaffed_slots);
    st = outcome_set_state(&o, DRIP__TASK_STATE__MATCHED);
    if (st == DRIP_OK)
        st = store_task_log(c, o.row.id, DRIP__TASK_STATE__MATCHED, "matched", reason, "MATCHER");
    snprintf(tag, sizeof tag, "draw%u:matched", ev->run->draw_no);
    if (st == DRIP_OK) st = outcome_emit(&o, tag, reason);
out:
    task_row_free(&o.row);
    if (o.plan) drip__plan__free_unpacked(o.plan, NULL);
    drip__matcher_event__free_unpacked(ev, NULL);
    return st;
}
