/* plans.c — plan verbs: create (code and name set by the planner), publish (the plan and all its
 * draft tasks, one transaction), adjust (the note; recorded with a reason once published), get. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "planner.h"
#include "status.h"
#include "validate.h"

#define PLAN_NOTE_MAX 2000

static int plan_readable_by(const planner_req *q, const Drip__Plan *plan)
{
    return q->is_operator || !strcmp(plan->owner, q->sp.dept);
}

int plan_for_command(planner_req *q, PGconn *c, int write, Drip__Plan **out)
{
    *out = NULL;
    const char *code = q->cmd->plan_code;
    if (!code || !*code) return req_fail(q, DRIP_EMISSING, "plan_code: required");
    Drip__Plan *plan = NULL;
    int st = store_plan_load(c, code, write, &plan);
    if (st == DRIP_ENOTFOUND)
        return req_fail(q, DRIP_ENOTFOUND, "plan_code: no plan %.64s", code);
    if (st != DRIP_OK) return st;
    if (write && strcmp(plan->owner, q->sp.dept) != 0) {
        st = req_fail(q, DRIP_EFORBIDDEN,
                      "plan %s belongs to department %s; only it may change the plan and its tasks",
                      plan->code, plan->owner);
        drip__plan__free_unpacked(plan, NULL);
        return st;
    }
    /* a published plan is public (一公开); a draft is its department's own business */
    if (!write && !plan_readable_by(q, plan) && !plan->published) {
        st = req_fail(q, DRIP_EFORBIDDEN, "plan %s is an unpublished draft of department %s",
                      plan->code, plan->owner);
        drip__plan__free_unpacked(plan, NULL);
        return st;
    }
    *out = plan;
    return DRIP_OK;
}

/* The plan with its current tasks (drafts only for its owner and operators), into q->out_plan. */
static int plan_reply(planner_req *q, PGconn *c, const char *code)
{
    Drip__Plan *plan = NULL;
    int st = store_plan_load(c, code, 0, &plan);
    if (st != DRIP_OK) return st == DRIP_ENOTFOUND ? DRIP_EINTERNAL : st;
    task_row *rows = NULL;
    size_t n = 0;
    st = store_plan_tasks(c, code, 0, &rows, &n);
    if (st != DRIP_OK) {
        drip__plan__free_unpacked(plan, NULL);
        return st;
    }
    int drafts = plan_readable_by(q, plan);
    for (size_t i = 0; i < n; i++)
        if (drafts || rows[i].state != DRIP__TASK_STATE__DRAFT) plan_add_task(plan, rows[i].task);
    store_rows_free(rows, n);
    if (q->out_plan) drip__plan__free_unpacked(q->out_plan, NULL);
    q->out_plan = plan;
    return DRIP_OK;
}

/* Free text that may span lines: 0..max characters, no control characters but tab and newline. */
static int note_check(planner_req *q, const char *note)
{
    if (!note) return DRIP_OK;
    char *flat = strdup(note);
    if (!flat) abort();
    for (char *s = flat; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t') *s = ' ';
    char w[CODES_WHY_MAX];
    int st = codes_text_check(flat, 0, PLAN_NOTE_MAX, w);
    free(flat);
    return st == DRIP_OK ? DRIP_OK : req_fail(q, DRIP_EVALUE, "plan.note: %s", w);
}

/* Emits a plan event with the plan (without tasks). */
static int emit_plan(planner_req *q, PGconn *c, const Drip__Plan *plan, Drip__PlannerEventKind kind,
                     const char *what, const char *reason)
{
    Drip__PlannerEvent ev = DRIP__PLANNER_EVENT__INIT;
    ev.has_kind = 1;
    ev.kind = kind;
    Drip__Plan bare = *plan; /* shallow: the event carries no tasks */
    bare.n_tasks = 0;
    bare.tasks = NULL;
    ev.plan = &bare;
    ev.reason = (char *)reason;
    return req_emit(q, c, &ev, what);
}

/* Seed 000: "2023年石家庄综合保税区部门联合抽查计划（第1号）"; an internal plan names its department
 * ("2023年长安区<department>部门内部抽查计划（第1号）"), without repeating the region when the
 * department's name already contains it. */
static void plan_name(char *out, size_t cap, unsigned year, Drip__PlanKind kind,
                      const char *region_name, const char *dept_name, unsigned seq)
{
    if (kind == DRIP__PLAN_KIND__JOINT) {
        snprintf(out, cap, "%u年%s部门联合抽查计划（第%u号）", year, region_name, seq);
        return;
    }
    const char *region = strstr(dept_name, region_name) ? "" : region_name;
    snprintf(out, cap, "%u年%s%s部门内部抽查计划（第%u号）", year, region, dept_name, seq);
}

int verb_plan_create(planner_req *q, PGconn *c)
{
    const Drip__Plan *in = q->cmd->plan;
    if (!in) return req_fail(q, DRIP_EMISSING, "plan: required (year, kind, note)");
    if (!in->has_year) return req_fail(q, DRIP_EMISSING, "plan.year: required (2000..2100)");
    if (in->year < 2000 || in->year > 2100)
        return req_fail(q, DRIP_EVALUE, "plan.year: %u is outside 2000..2100", in->year);
    if (!in->has_kind || in->kind == 0)
        return req_fail(q, DRIP_EMISSING, "plan.kind: required (JOINT or INTERNAL)");
    if (!protobuf_c_enum_descriptor_get_value(&drip__plan_kind__descriptor, in->kind))
        return req_fail(q, DRIP_EENUM, "plan.kind: unknown value %d", (int)in->kind);
    int st = note_check(q, in->note);
    if (st != DRIP_OK) return st;
    char region_name[256];
    st = proj_region_name(c, q->sp.region, region_name, sizeof region_name);
    if (st == DRIP_ENOTFOUND)
        return req_fail(q, DRIP_EREGION, "region %s of department %s is not known to the planner",
                        q->sp.region, q->sp.dept);
    if (st != DRIP_OK) return st;

    char year[8], kind[4];
    snprintf(year, sizeof year, "%u", in->year);
    snprintf(kind, sizeof kind, "%d", (int)in->kind);
    const char *sp[3] = {year, q->sp.region, kind};
    /* racing creators get the same number: the unique key makes one retry (DRIP_EAGAIN) */
    PGresult *r = db_query(c,
                           "SELECT coalesce(max(seq), 0) + 1 FROM plan "
                           "WHERE year = $1::int AND region = $2 AND kind = $3::smallint",
                           3, sp, &st);
    if (!r) return st;
    unsigned seq = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    char code[64], seq_s[16], name[1024];
    snprintf(code, sizeof code, "%u-%s-%c-%u", in->year, q->sp.region,
             in->kind == DRIP__PLAN_KIND__JOINT ? 'J' : 'I', seq);
    snprintf(seq_s, sizeof seq_s, "%u", seq);
    plan_name(name, sizeof name, in->year, in->kind, region_name, q->sender_name, seq);
    const char *params[8] = {code, year, q->sp.region, kind, seq_s, q->sp.dept, name,
                             in->note ? in->note : ""};
    r = db_query(c,
                 "INSERT INTO plan (code, year, region, kind, seq, owner, name, note) "
                 "VALUES ($1, $2::int, $3, $4::smallint, $5::int, $6, $7, $8)",
                 8, params, &st);
    if (!r) return st;
    PQclear(r);
    st = plan_reply(q, c, code);
    if (st != DRIP_OK) return st;
    return emit_plan(q, c, q->out_plan, DRIP__PLANNER_EVENT_KIND__PLAN_CREATED, "plan_created", NULL);
}

int verb_plan_publish(planner_req *q, PGconn *c)
{
    Drip__Plan *plan = NULL;
    int st = plan_for_command(q, c, 1, &plan);
    if (st != DRIP_OK) return st;
    task_row *rows = NULL;
    size_t n = 0, drafts = 0;
    if (plan->published) {
        st = req_fail(q, DRIP_ECONFLICT, "plan %s is already published (version %u)", plan->code,
                      plan->version);
        goto out;
    }
    st = store_plan_tasks(c, plan->code, 1, &rows, &n);
    if (st != DRIP_OK) goto out;
    /* every draft must still be valid: items may have been retired, departments deactivated */
    task_vctx v = {.c = c, .plan = plan};
    for (size_t i = 0; i < n; i++) {
        if (rows[i].state != DRIP__TASK_STATE__DRAFT) continue;
        drafts++;
        char why[PLANNER_WHY_MAX - 64];
        st = task_validate(&v, rows[i].task, why, sizeof why);
        if (st != DRIP_OK) {
            if (status_is_domain(st)) st = req_fail(q, st, "task %s: %s", rows[i].code, why);
            goto out;
        }
    }
    if (drafts == 0) {
        st = req_fail(q, DRIP_ECONFLICT,
                      "plan %s has no draft tasks to publish; create them with task_create first",
                      plan->code);
        goto out;
    }
    const char *params[2] = {plan->code, q->sp.dept};
    PGresult *r = db_query(c,
                           "UPDATE plan SET published = true, published_at = now(), "
                           "updated_at = now() WHERE code = $1",
                           1, params, &st);
    if (!r) goto out;
    PQclear(r);
    r = db_query(c,
                 "INSERT INTO plan_version (plan_code, version, note, changed_by) "
                 "SELECT code, version, note, $2 FROM plan WHERE code = $1",
                 2, params, &st);
    if (!r) goto out;
    PQclear(r);
    plan->published = 1;
    st = emit_plan(q, c, plan, DRIP__PLANNER_EVENT_KIND__PLAN_PUBLISHED, "plan_published", NULL);
    for (size_t i = 0; st == DRIP_OK && i < n; i++)
        if (rows[i].state == DRIP__TASK_STATE__DRAFT) st = task_publish_row(q, c, plan, &rows[i]);
    if (st == DRIP_OK) st = plan_reply(q, c, plan->code);
out:
    store_rows_free(rows, n);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

int verb_plan_adjust(planner_req *q, PGconn *c)
{
    const Drip__Plan *in = q->cmd->plan;
    Drip__Plan *plan = NULL;
    int st = plan_for_command(q, c, 1, &plan);
    if (st != DRIP_OK) return st;
    const char *note = in && in->note ? in->note : "";
    if (!in) {
        st = req_fail(q, DRIP_EMISSING, "plan: required (the new note)");
    } else if (in->has_year && in->year != plan->year) {
        st = req_fail(q, DRIP_EVALUE, "plan.year: a plan's year cannot change (%u); create a new plan",
                      plan->year);
    } else if (in->has_kind && in->kind != 0 && in->kind != plan->kind) {
        st = req_fail(q, DRIP_EVALUE, "plan.kind: a plan's kind cannot change; create a new plan");
    } else if ((st = note_check(q, note)) != DRIP_OK) {
        /* failed */
    } else if (!strcmp(note, plan->note)) {
        st = req_fail(q, DRIP_EVALUE, "plan.note: unchanged; nothing to adjust");
    } else if (plan->published) {
        char why[PLANNER_WHY_MAX];
        st = reason_check(q->cmd->reason, "adjusting a published plan", why, sizeof why);
        if (st != DRIP_OK) st = req_fail(q, st, "%s", why);
    }
    if (st != DRIP_OK) {
        drip__plan__free_unpacked(plan, NULL);
        return st;
    }
    const char *params[4] = {plan->code, note, q->sp.dept, q->cmd->reason};
    PGresult *r =
        plan->published
            ? db_query(c,
                       "WITH u AS (UPDATE plan SET note = $2, version = version + 1,"
                       " updated_at = now() WHERE code = $1 RETURNING code, version, note) "
                       "INSERT INTO plan_version (plan_code, version, note, reason, changed_by) "
                       "SELECT code, version, note, $4, $3 FROM u",
                       4, params, &st)
            : db_query(c, "UPDATE plan SET note = $2, updated_at = now() WHERE code = $1", 2,
                       params, &st);
    if (r) {
        PQclear(r);
        st = plan_reply(q, c, plan->code);
    }
    if (st == DRIP_OK)
        st = emit_plan(q, c, q->out_plan, DRIP__PLANNER_EVENT_KIND__PLAN_ADJUSTED, "plan_adjusted",
                       plan->published ? q->cmd->reason : NULL);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

int verb_plan_get(planner_req *q, PGconn *c)
{
    Drip__Plan *plan = NULL;
    int st = plan_for_command(q, c, 0, &plan);
    if (st != DRIP_OK) return st;
    st = plan_reply(q, c, plan->code);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

int verb_plan_list(planner_req *q, PGconn *c)
{
    (void)c;
    /* PlanReply holds one plan; listing needs a `repeated Plan` in the contract */
    return req_fail(q, DRIP_EBADMSG,
                    "plan_list is not served yet: PlanReply carries a single plan; ask for each "
                    "plan with plan_get");
}
