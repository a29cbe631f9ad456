#include "svc.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "status.h"

/* Packs req, sends it, unpacks the reply as `desc`. CTL_EXIT_OK with *out, or an exit status. */
static int call(ctl_ctx *c, const cli_common *o, const char *area, const char *verb,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                ProtobufCMessage **out)
{
    *out = NULL;
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *data = malloc(len ? len : 1);
    if (!data) abort();
    protobuf_c_message_pack(req, data);
    void *raw = NULL;
    size_t raw_len = 0;
    int rc = cli_call(c, o, area, verb, data, len, &raw, &raw_len);
    free(data);
    if (rc != CTL_EXIT_OK) return rc;
    *out = protobuf_c_message_unpack(desc, NULL, raw_len, raw);
    free(raw);
    if (!*out)
        return cli_undecodable(desc->short_name, strncmp(area, "samp", 4) == 0    ? "drip-sampler"
                                                 : strncmp(area, "match", 5) == 0 ? "drip-matcher"
                                                                                  : "drip-planner");
    return CTL_EXIT_OK;
}

/* The reply's error, if any, printed; CTL_EXIT_OK when there is none. */
static int reply_error(int has, int code, const char *msg)
{
    if (!has || code == DRIP__ERROR_CODE__OK) return CTL_EXIT_OK;
    return ctl_report_reply_error(code, msg);
}

int svc_plan_raw(ctl_ctx *c, const cli_common *o, const char *verb, Drip__PlanCommand *cmd,
                 Drip__PlanReply **out)
{
    char msg_id[37];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    cmd->header = &env;
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "plan.cmd", verb, &cmd->base, &drip__plan_reply__descriptor, &m);
    cmd->header = NULL;
    *out = (Drip__PlanReply *)m;
    return rc;
}

int svc_plan(ctl_ctx *c, const cli_common *o, const char *verb, Drip__PlanCommand *cmd,
             Drip__PlanReply **out)
{
    Drip__PlanReply *r = NULL;
    int rc = svc_plan_raw(c, o, verb, cmd, &r);
    if (rc != CTL_EXIT_OK) return rc;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc != CTL_EXIT_OK) {
        drip__plan_reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}

/* A task argument is "TASK" or "PLAN/TASK" (task codes are unique within a plan only; plan codes
 * contain no '/'). Splits it into a plan code (possibly empty) and the task code. */
static const char *split_task(const char *arg, char *plan, size_t cap)
{
    const char *slash = strchr(arg, '/');
    plan[0] = '\0';
    if (!slash || (size_t)(slash - arg) >= cap) return arg;
    memcpy(plan, arg, (size_t)(slash - arg));
    plan[slash - arg] = '\0';
    return slash + 1;
}

int svc_draw_get_raw(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                     Drip__DrawReply **out)
{
    char msg_id[37];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    Drip__DrawQuery q = DRIP__DRAW_QUERY__INIT;
    q.header = &env;
    char plan[64];
    q.task_code = (char *)split_task(task_code, plan, sizeof plan);
    q.plan_code = plan[0] ? plan : NULL;
    q.has_draw_no = draw_no != 0;
    q.draw_no = draw_no;
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "samp.cmd", "draw_get", &q.base, &drip__draw_reply__descriptor, &m);
    *out = (Drip__DrawReply *)m;
    return rc;
}

int svc_draw_get(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                 Drip__DrawReply **out)
{
    Drip__DrawReply *r = NULL;
    int rc = svc_draw_get_raw(c, o, task_code, draw_no, &r);
    if (rc != CTL_EXIT_OK) return rc;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc == CTL_EXIT_OK && !r->record) {
        fprintf(stderr, "dripctl: not_found: task %s has no draw%s\n", task_code,
                draw_no ? " with that number" : " yet");
        rc = CTL_EXIT_NOT_FOUND;
    }
    if (rc != CTL_EXIT_OK) {
        drip__draw_reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}

/* Paging by cursor: 1 when another page follows (*after becomes next), 0 when done. A cursor that
 * does not move forward stops with CTL_EXIT_REFUSED in *rc, or we would loop forever. */
static int page_advance(const char *daemon, const char *next, char **after, int *rc)
{
    if (*rc != CTL_EXIT_OK || !next || !*next) return 0;
    if (*after && strcmp(next, *after) <= 0) {
        fprintf(stderr,
                "dripctl: %s returned a page cursor that does not advance ('%s' after '%s'); "
                "stopping\n",
                daemon, next, *after);
        *rc = CTL_EXIT_REFUSED;
        return 0;
    }
    free(*after);
    *after = strdup(next);
    if (!*after) abort();
    return 1;
}

int svc_population(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                   svc_lines_fn fn, void *arg)
{
    char *after = NULL; /* malloc'd copy of the previous page's `next` */
    int rc = CTL_EXIT_OK;
    for (;;) {
        char msg_id[37];
        envelope_new_id(msg_id);
        Drip__Envelope env;
        envelope_fill(&env, msg_id, NULL, c->dept, c->region);
        Drip__PopulationQuery q = DRIP__POPULATION_QUERY__INIT;
        q.header = &env;
        char plan[64];
        q.task_code = (char *)split_task(task_code, plan, sizeof plan);
        q.plan_code = plan[0] ? plan : NULL;
        q.has_draw_no = draw_no != 0;
        q.draw_no = draw_no;
        q.after = after;
        ProtobufCMessage *m = NULL;
        rc = call(c, o, "samp.cmd", "draw_population", &q.base, &drip__population_page__descriptor,
                  &m);
        if (rc != CTL_EXIT_OK) break;
        Drip__PopulationPage *p = (Drip__PopulationPage *)m;
        rc = reply_error(p->has_error, p->error, p->error_message);
        if (rc == CTL_EXIT_OK && p->has_lines && p->lines.len)
            rc = fn(p->lines.data, p->lines.len, arg);
        int more = page_advance("drip-sampler", p->next, &after, &rc);
        drip__population_page__free_unpacked(p, NULL);
        if (!more) break;
    }
    free(after);
    return rc;
}

int svc_confirm(ctl_ctx *c, const cli_common *o, const char *task_code,
                Drip__DeptDecision **decisions, size_t n, Drip__ConfirmReply **out)
{
    char msg_id[37];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    Drip__ConfirmRequest q = DRIP__CONFIRM_REQUEST__INIT;
    q.header = &env;
    char plan[64];
    q.task_code = (char *)split_task(task_code, plan, sizeof plan);
    q.plan_code = plan[0] ? plan : NULL;
    q.decisions = decisions;
    q.n_decisions = n;
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "samp.cmd", "confirm", &q.base, &drip__confirm_reply__descriptor, &m);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__ConfirmReply *r = (Drip__ConfirmReply *)m;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc != CTL_EXIT_OK) {
        drip__confirm_reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * drip-matcher
 * ---------------------------------------------------------------------------------------------- */

/* A MatchQuery for `task` with a fresh envelope (env and plan are the caller's storage). */
static void match_query(ctl_ctx *c, const char *task, Drip__Envelope *env, char msg_id[37],
                        char plan[64], Drip__MatchQuery *q)
{
    envelope_new_id(msg_id);
    envelope_fill(env, msg_id, NULL, c->dept, c->region);
    drip__match_query__init(q);
    q->header = env;
    q->task_code = (char *)split_task(task, plan, 64);
    q->plan_code = plan[0] ? plan : NULL;
}

int svc_match_get(ctl_ctx *c, const cli_common *o, const char *task, const char *uscc,
                  uint32_t offset, uint32_t limit, Drip__MatchReply **out)
{
    char msg_id[37], plan[64];
    Drip__Envelope env;
    Drip__MatchQuery q;
    match_query(c, task, &env, msg_id, plan, &q);
    q.uscc = (char *)uscc;
    q.has_offset = offset != 0;
    q.offset = offset;
    q.has_limit = limit != 0;
    q.limit = limit;
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "match.cmd", "match_get", &q.base, &drip__match_reply__descriptor, &m);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__MatchReply *r = (Drip__MatchReply *)m;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc == CTL_EXIT_OK && !r->run) {
        fprintf(stderr, "dripctl: not_found: task %s has not been matched yet\n", task);
        rc = CTL_EXIT_NOT_FOUND;
    }
    if (rc != CTL_EXIT_OK) {
        drip__match_reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}

int svc_match_pool(ctl_ctx *c, const cli_common *o, const char *task, svc_lines_fn fn, void *arg)
{
    char *after = NULL; /* malloc'd copy of the previous page's `next` */
    int rc = CTL_EXIT_OK;
    for (;;) {
        char msg_id[37], plan[64];
        Drip__Envelope env;
        Drip__MatchQuery q;
        match_query(c, task, &env, msg_id, plan, &q);
        q.after = after;
        ProtobufCMessage *m = NULL;
        rc = call(c, o, "match.cmd", "match_pool", &q.base, &drip__pool_page__descriptor, &m);
        if (rc != CTL_EXIT_OK) break;
        Drip__PoolPage *p = (Drip__PoolPage *)m;
        rc = reply_error(p->has_error, p->error, p->error_message);
        if (rc == CTL_EXIT_OK && p->has_lines && p->lines.len)
            rc = fn(p->lines.data, p->lines.len, arg);
        int more = page_advance("drip-matcher", p->next, &after, &rc);
        drip__pool_page__free_unpacked(p, NULL);
        if (!more) break;
    }
    free(after);
    return rc;
}

int svc_match_report(ctl_ctx *c, const cli_common *o, const char *task, Drip__MatchReport **out)
{
    char msg_id[37], plan[64];
    Drip__Envelope env;
    Drip__MatchQuery q;
    match_query(c, task, &env, msg_id, plan, &q);
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "match.cmd", "match_report", &q.base, &drip__match_report__descriptor, &m);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__MatchReport *r = (Drip__MatchReport *)m;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc == CTL_EXIT_OK && !r->run) {
        fprintf(stderr, "dripctl: not_found: task %s has not been matched yet\n", task);
        rc = CTL_EXIT_NOT_FOUND;
    }
    if (rc != CTL_EXIT_OK) {
        drip__match_report__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}

int svc_match_assign(ctl_ctx *c, const cli_common *o, const char *task, Drip__AssignRequest *req,
                     Drip__AssignReply **out)
{
    char msg_id[37], plan[64];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    req->header = &env;
    req->task_code = (char *)split_task(task, plan, sizeof plan);
    req->plan_code = plan[0] ? plan : NULL;
    ProtobufCMessage *m = NULL;
    int rc =
        call(c, o, "match.cmd", "match_assign", &req->base, &drip__assign_reply__descriptor, &m);
    req->header = NULL;
    req->task_code = req->plan_code = NULL; /* they point into `task` and `plan` */
    if (rc != CTL_EXIT_OK) return rc;
    Drip__AssignReply *r = (Drip__AssignReply *)m;
    rc = reply_error(r->has_error, r->error, r->error_message);
    if (rc != CTL_EXIT_OK) {
        drip__assign_reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return CTL_EXIT_OK;
}
