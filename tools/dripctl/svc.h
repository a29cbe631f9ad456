/* svc.h — typed request/reply with drip-planner, drip-sampler and drip-matcher
 * (proto/drip/planner.proto, sampler.proto, matcher.proto): fill the envelope from the identity, pack, send with retries (cli_call), unpack,
 * and turn a reply error into an exit status (printed). */
#ifndef DRIPCTL_SVC_H
#define DRIPCTL_SVC_H

#include "cli.h"
#include "drip/matcher.pb-c.h"
#include "drip/planner.pb-c.h"
#include "drip/sampler.pb-c.h"

/* PlanCommand on <prefix>.plan.cmd.PP.CC.DD.DEPT.<verb> (plan_create, task_get, ...). The header
 * is set here. Returns CTL_EXIT_OK with *out (drip__plan_reply__free_unpacked) or an exit status.
 */
int svc_plan(ctl_ctx *c, const cli_common *o, const char *verb, Drip__PlanCommand *cmd,
             Drip__PlanReply **out);

/* The same, but a reply with an error is handed back too (the caller looks at r->error). */
int svc_plan_raw(ctl_ctx *c, const cli_common *o, const char *verb, Drip__PlanCommand *cmd,
                 Drip__PlanReply **out);

/* draw_get: the record of draw `draw_no` (0 = latest). */
int svc_draw_get(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                 Drip__DrawReply **out);

/* The same, but a reply with an error (or without a record) is handed back too. */
int svc_draw_get_raw(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                     Drip__DrawReply **out);

/* draw_population: calls fn for every page's lines, in order, following `next`. */
typedef int (*svc_lines_fn)(const uint8_t *lines, size_t len, void *arg);
int svc_population(ctl_ctx *c, const cli_common *o, const char *task_code, uint32_t draw_no,
                   svc_lines_fn fn, void *arg);

/* confirm: one ConfirmRequest (1..1000 decisions; dept filled from the identity). */
int svc_confirm(ctl_ctx *c, const cli_common *o, const char *task_code,
                Drip__DeptDecision **decisions, size_t n, Drip__ConfirmReply **out);

/* Task arguments below are "TASK" or "PLAN/TASK" (split here into task_code and plan_code). */

/* match_get: the run and one page of forms (offset = seq - 1 of the first; limit 0 = the
 * matcher's default); uscc non-NULL: only that target's form. */
int svc_match_get(ctl_ctx *c, const cli_common *o, const char *task, const char *uscc,
                  uint32_t offset, uint32_t limit, Drip__MatchReply **out);

/* match_pool: calls fn for every page's lines, in order, following `next`. */
int svc_match_pool(ctl_ctx *c, const cli_common *o, const char *task, svc_lines_fn fn, void *arg);

/* match_report: the fairness report. */
int svc_match_report(ctl_ctx *c, const cli_common *o, const char *task, Drip__MatchReport **out);

/* match_assign: req's header, task_code and plan_code are set here (from `task`). */
int svc_match_assign(ctl_ctx *c, const cli_common *o, const char *task, Drip__AssignRequest *req,
                     Drip__AssignReply **out);

#endif
