/* handlers.c — NATS entry point of the planner: size, subject, verb and envelope checks, then the
 * command goes to the db pool (command.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "planner.h"
#include "service.h"
#include "status.h"

/* The verb is the last subject token, so it cannot contain a dot: plan_create, not plan.create. */
static const planner_verb VERBS[] = {
    {"plan_create", 1, verb_plan_create},   {"plan_publish", 1, verb_plan_publish},
    {"plan_adjust", 1, verb_plan_adjust},   {"plan_get", 0, verb_plan_get},
    {"plan_list", 0, verb_plan_list},       {"task_create", 1, verb_task_create},
    {"task_publish", 1, verb_task_publish}, {"task_adjust", 1, verb_task_adjust},
    {"task_cancel", 1, verb_task_cancel},   {"task_draw", 1, verb_task_draw},
    {"task_get", 0, verb_task_get},
};

int planner_is_operator(const planner *p, const char *dept)
{
    return service_is_operator(p->operators, dept);
}

void planner_reply_error(planner *p, const bus_msg *m, const char *corr, int status,
                         const char *text)
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
    size_t len = drip__plan_reply__get_packed_size(&rep);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    drip__plan_reply__pack(&rep, buf);
    bus_respond(p->bus, m, buf, len);
    free(buf);
    log_info("request.rejected", "subject=%s error=%s reason=%s", bus_msg_subject(m),
             drip_status_name(status), text);
}

static const planner_verb *verb_find(const char *word)
{
    for (size_t i = 0; i < sizeof VERBS / sizeof VERBS[0]; i++)
        if (!strcmp(word, VERBS[i].word)) return &VERBS[i];
    return NULL;
}

/* Replies with an error, counts it and frees m. */
static void refuse(planner *p, bus_msg *m, const char *corr, int status, const char *why)
{
    metrics_counter_inc(p->m_err, 1);
    planner_reply_error(p, m, corr, status, why);
    bus_msg_destroy(m);
}

static void on_cmd(bus_msg *m, void *arg)
{
    planner *p = arg;
    char why[PLANNER_WHY_MAX];
    if (p->stopping) {
        bus_msg_destroy(m); /* no reply: the client retries on another instance */
        return;
    }
    if ((int64_t)bus_msg_size(m) > p->cfg.max_payload) {
        snprintf(why, sizeof why, "payload of %zu bytes exceeds the limit of %lld bytes",
                 bus_msg_size(m), (long long)p->cfg.max_payload);
        refuse(p, m, NULL, DRIP_ETOOLARGE, why);
        return;
    }
    subject_parts sp;
    if (subject_parse(bus_msg_subject(m), 3, &sp) != DRIP_OK) {
        refuse(p, m, NULL, DRIP_EENVELOPE,
               "subject must be <prefix>.plan.cmd.PP.CC.DD.<DEPT>.<verb>, the verb one token "
               "(plan_get, not plan.get)");
        return;
    }
    char w[CODES_WHY_MAX];
    if (codes_dept_check(sp.dept, w) != DRIP_OK) {
        /* before anything is looked up under "DEPT:msg_id": a token with ':' could alias another
         * department's inbox entries */
        snprintf(why, sizeof why, "subject department '%.40s': %s", sp.dept, w);
        refuse(p, m, NULL, DRIP_EENVELOPE, why);
        return;
    }
    const planner_verb *verb = verb_find(sp.last);
    if (!verb) {
        snprintf(why, sizeof why,
                 "unknown verb '%.32s' in subject (plan_create|plan_publish|plan_adjust|plan_get|"
                 "task_create|task_publish|task_adjust|task_cancel|task_draw|task_get)",
                 sp.last);
        refuse(p, m, NULL, DRIP_EBADMSG, why);
        return;
    }
    Drip__PlanCommand *cmd = drip__plan_command__unpack(NULL, bus_msg_size(m), bus_msg_data(m));
    if (!cmd) {
        refuse(p, m, NULL, DRIP_EBADMSG, "payload is not a drip.PlanCommand protobuf message");
        return;
    }
    int st = envelope_check(cmd->header, sp.dept, sp.region, why, sizeof why);
    const char *corr = cmd->header ? cmd->header->msg_id : NULL;
    if (st == DRIP_OK && p->inflight >= PLANNER_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "planner busy (%d commands in flight); retry with the same msg_id",
                 p->inflight);
    }
    if (st != DRIP_OK) {
        metrics_counter_inc(p->m_err, 1);
        planner_reply_error(p, m, corr, st, why);
        drip__plan_command__free_unpacked(cmd, NULL);
        bus_msg_destroy(m);
        return;
    }
    planner_req *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->p = p;
    q->m = m;
    q->sp = sp;
    /* sp's pointers point into sp.buf: re-point them into our copy */
    q->sp.dept = q->sp.buf + (sp.dept - sp.buf);
    q->sp.last = q->sp.buf + (sp.last - sp.buf);
    q->verb = verb;
    q->cmd = cmd;
    q->corr = cmd->header->msg_id;
    /* ids are per sender: two departments may pick the same msg_id */
    snprintf(q->inbox_id, sizeof q->inbox_id, "%s:%s", sp.dept, q->corr);
    p->inflight++;
    if (db_pool_submit(p->db, req_work, req_done, q) != DRIP_OK) {
        p->inflight--;
        metrics_counter_inc(p->m_internal, 1);
        planner_reply_error(p, m, q->corr, DRIP_EINTERNAL, "cannot queue work; retry");
        req_free(q);
    }
}

int planner_serve(planner *p)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.plan.cmd.>", p->cfg.prefix);
    return bus_serve(p->bus, subj, "planner", on_cmd, p);
}
