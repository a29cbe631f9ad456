/* tasks.c — task verbs: create (draft), publish (nonce + commitment, drip-draw-v1), adjust (a new
 * recorded version once published), cancel, draw (the order the sampler executes), get. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "codes.h"
#include "log.h"
#include "planner.h"
#include "status.h"
#include "validate.h"

const char *task_state_name(int state)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&drip__task_state__descriptor, state);
    return v ? v->name : "UNKNOWN";
}

/* The plan and the task named by the command; write = 1 locks both and requires ownership. */
static int task_for_command(planner_req *q, PGconn *c, int write, Drip__Plan **plan, task_row *row)
{
    memset(row, 0, sizeof *row);
    int st = plan_for_command(q, c, write, plan);
    if (st != DRIP_OK) return st;
    const char *code = q->cmd->task_code;
    if (!code || !*code) st = req_fail(q, DRIP_EMISSING, "task_code: required");
    else st = store_task_load(c, (*plan)->code, code, write, row);
    if (st == DRIP_ENOTFOUND)
        st = req_fail(q, DRIP_ENOTFOUND, "task_code: plan %s has no task %.128s", (*plan)->code, code);
    if (st != DRIP_OK) {
        drip__plan__free_unpacked(*plan, NULL);
        *plan = NULL;
    }
    return st;
}

/* Validates `t` against the plan; a failure becomes the command's verdict. */
static int validate_for(planner_req *q, PGconn *c, const Drip__Plan *plan, Drip__Task *t)
{
    char why[PLANNER_WHY_MAX];
    task_vctx v = {.c = c, .plan = plan};
    int st = task_validate(&v, t, why, sizeof why);
    if (st != DRIP_OK && status_is_domain(st)) return req_fail(q, st, "%s", why);
    return st;
}

/* Reloads the task into q->out_task (the reply). */
static int task_reply(planner_req *q, PGconn *c, const char *plan_code, const char *code)
{
    task_row row;
    int st = store_task_load(c, plan_code, code, 0, &row);
    if (st != DRIP_OK) return st == DRIP_ENOTFOUND ? DRIP_EINTERNAL : st;
    if (q->out_task) drip__task__free_unpacked(q->out_task, NULL);
    q->out_task = row.task; /* ownership moves to the reply */
    return DRIP_OK;
}

static int emit_task(planner_req *q, PGconn *c, const Drip__Task *task,
                     Drip__PlannerEventKind kind, const char *what, const char *reason)
{
    Drip__PlannerEvent ev = DRIP__PLANNER_EVENT__INIT;
    ev.has_kind = 1;
    ev.kind = kind;
    ev.task = (Drip__Task *)task;
    ev.reason = (char *)reason;
    return req_emit(q, c, &ev, what);
}

/* Runs an UPDATE/INSERT with text parameters and no result rows. */
static int exec_params(PGconn *c, const char *sql, int n, const char *const *params)
{
    int st;
    PGresult *r = db_query(c, sql, n, params, &st);
    if (r) PQclear(r);
    return r ? DRIP_OK : st;
}

/* ---- create ------------------------------------------------------------------------------- */

int verb_task_create(planner_req *q, PGconn *c)
{
    if (!q->cmd->task) return req_fail(q, DRIP_EMISSING, "task: required (the task's full content)");
    Drip__Plan *plan = NULL;
    int st = plan_for_command(q, c, 1, &plan);
    if (st != DRIP_OK) return st;
    Drip__Task *t = task_dup(q->cmd->task);
    uint8_t *body = NULL;
    size_t len = 0;
    char *body_s = NULL;
    const char *named = q->cmd->task_code;
    if (named && *named && (!t->code || !*t->code)) {
        free(t->code); /* the code may be given either way */
        t->code = strdup(named);
        if (!t->code) abort();
    } else if (named && *named && strcmp(named, t->code) != 0) {
        st = req_fail(q, DRIP_EVALUE, "task_code: %.64s differs from task.code %.64s", named,
                      t->code);
        goto out;
    }
    if ((st = validate_for(q, c, plan, t)) != DRIP_OK) goto out;
    task_row existing;
    st = store_task_load(c, plan->code, t->code, 0, &existing);
    if (st == DRIP_OK) {
        task_row_free(&existing);
        st = req_fail(q, DRIP_ECONFLICT, "task.code: plan %s already has a task %s", plan->code,
                      t->code);
        goto out;
    }
    if (st != DRIP_ENOTFOUND) goto out;
    store_task_body(t, &body, &len);
    body_s = bytea_param(body, len);
    char state[4];
    snprintf(state, sizeof state, "%d", DRIP__TASK_STATE__DRAFT);
    const char *params[5] = {plan->code, t->code, state, body_s, q->sp.dept};
    PGresult *r = db_query(c,
                           "INSERT INTO task (plan_code, code, state, body, created_by) "
                           "VALUES ($1, $2, $3::smallint, $4::bytea, $5) RETURNING id",
                           5, params, &st);
    if (!r) goto out;
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    st = store_task_log(c, id, DRIP__TASK_STATE__DRAFT, "created", NULL, q->sp.dept);
    if (st == DRIP_OK) st = task_reply(q, c, plan->code, t->code);
    if (st == DRIP_OK)
        st = emit_task(q, c, q->out_task, DRIP__PLANNER_EVENT_KIND__TASK_CREATED, "task_created", NULL);
out:
    free(body);
    free(body_s);
    drip__task__free_unpacked(t, NULL);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

/* ---- publish ------------------------------------------------------------------------------ */

/* 32 bytes from the kernel's CSPRNG; getrandom(2) may return fewer on a signal. */
static int nonce_new(uint8_t out[PLANNER_NONCE_LEN])
{
    size_t got = 0;
    while (got < PLANNER_NONCE_LEN) {
        ssize_t n = getrandom(out + got, PLANNER_NONCE_LEN - got, 0);
        if (n < 0) return DRIP_EINTERNAL;
        got += (size_t)n;
    }
    return DRIP_OK;
}

int task_publish_row(planner_req *q, PGconn *c, const Drip__Plan *plan, task_row *t)
{
    (void)plan;
    uint8_t nonce[PLANNER_NONCE_LEN], digest[SHA256_DIGEST_LENGTH];
    int st = nonce_new(nonce);
    if (st != DRIP_OK) return st;
    SHA256(nonce, sizeof nonce, digest); /* drip-draw-v1: commitment = hex(SHA-256(nonce)) */
    char commitment[2 * SHA256_DIGEST_LENGTH + 1], id[24], state[4];
    hex_encode(digest, sizeof digest, commitment);
    snprintf(id, sizeof id, "%lld", (long long)t->id);
    snprintf(state, sizeof state, "%d", DRIP__TASK_STATE__PUBLISHED);
    uint8_t *body = NULL;
    size_t len = 0;
    store_task_body(t->task, &body, &len); /* as validated just now (normalised) */
    char *body_s = bytea_param(body, len);
    char *nonce_s = bytea_param(nonce, sizeof nonce);
    const char *params[5] = {id, state, nonce_s, commitment, body_s};
    st = exec_params(c,
                     "UPDATE task SET state = $2::smallint, nonce = $3::bytea, commitment = $4,"
                     " body = $5::bytea, version = 1, published_at = now(), updated_at = now() "
                     "WHERE id = $1::bigint",
                     5, params);
    if (st == DRIP_OK) {
        const char *vp[3] = {id, body_s, q->sp.dept};
        st = exec_params(c,
                         "INSERT INTO task_version (task_id, version, body, changed_by) "
                         "VALUES ($1::bigint, 1, $2::bytea, $3)",
                         3, vp);
    }
    free(body);
    free(body_s);
    free(nonce_s);
    if (st == DRIP_OK)
        st = store_task_log(c, t->id, DRIP__TASK_STATE__PUBLISHED, "published", NULL, q->sp.dept);
    if (st != DRIP_OK) return st;
    t->state = DRIP__TASK_STATE__PUBLISHED;
    t->task->state = DRIP__TASK_STATE__PUBLISHED;
    t->task->has_version = 1;
    t->task->version = 1;
    free(t->task->commitment);
    t->task->commitment = strdup(commitment);
    if (!t->task->commitment) abort();
    return emit_task(q, c, t->task, DRIP__PLANNER_EVENT_KIND__TASK_PUBLISHED, "task_published", NULL);
}

int verb_task_publish(planner_req *q, PGconn *c)
{
    Drip__Plan *plan = NULL;
    task_row row;
    int st = task_for_command(q, c, 1, &plan, &row);
    if (st != DRIP_OK) return st;
    if (row.state != DRIP__TASK_STATE__DRAFT)
        st = req_fail(q, DRIP_ECONFLICT, "task %s is %s; only a DRAFT task can be published",
                      row.code, task_state_name(row.state));
    else if (!plan->published)
        st = req_fail(q, DRIP_ECONFLICT,
                      "plan %s is not published yet: publish it with plan_publish, which publishes "
                      "its draft tasks too",
                      plan->code);
    else if ((st = validate_for(q, c, plan, row.task)) == DRIP_OK &&
             (st = task_publish_row(q, c, plan, &row)) == DRIP_OK)
        st = task_reply(q, c, plan->code, row.code);
    task_row_free(&row);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

/* ---- adjust ------------------------------------------------------------------------------- */

/* May this task be adjusted now? DRIP_OK or the verdict. */
static int adjust_allowed(planner_req *q, const task_row *row)
{
    if (row->state == DRIP__TASK_STATE__DRAFT) return DRIP_OK;
    if (row->state != DRIP__TASK_STATE__PUBLISHED)
        return req_fail(q, DRIP_ECONFLICT,
                        "task %s is %s: only DRAFT tasks and PUBLISHED tasks not yet drawn can be "
                        "adjusted",
                        row->code, task_state_name(row->state));
    if (row->draw_pending)
        return req_fail(q, DRIP_ECONFLICT,
                        "task %s: a draw was ordered at %s and the sampler has not reported yet; it "
                        "cannot be adjusted now",
                        row->code, row->draw_ordered_at);
    char why[PLANNER_WHY_MAX];
    int st = reason_check(q->cmd->reason, "adjusting a published task", why, sizeof why);
    return st == DRIP_OK ? DRIP_OK : req_fail(q, st, "%s", why);
}

int verb_task_adjust(planner_req *q, PGconn *c)
{
    if (!q->cmd->task)
        return req_fail(q, DRIP_EMISSING, "task: required (the task's full new content)");
    Drip__Plan *plan = NULL;
    task_row row;
    int st = task_for_command(q, c, 1, &plan, &row);
    if (st != DRIP_OK) return st;
    Drip__Task *t = task_dup(q->cmd->task);
    uint8_t *body = NULL, *cur = NULL;
    size_t len = 0, cur_len = 0;
    char *body_s = NULL;
    if (!t->code || !*t->code) {
        free(t->code);
        t->code = strdup(row.code);
        if (!t->code) abort();
    } else if (strcmp(t->code, row.code) != 0) {
        st = req_fail(q, DRIP_EVALUE,
                      "task.code: a task's code cannot change (%s -> %.64s); cancel it and create "
                      "a new task",
                      row.code, t->code);
        goto out;
    }
    if ((st = adjust_allowed(q, &row)) != DRIP_OK) goto out;
    if ((st = validate_for(q, c, plan, t)) != DRIP_OK) goto out;
    store_task_body(t, &body, &len);
    store_task_body(row.task, &cur, &cur_len);
    if (len == cur_len && !memcmp(body, cur, len)) {
        st = req_fail(q, DRIP_EVALUE, "task: identical to the current version %u; nothing to adjust",
                      row.version);
        goto out;
    }
    body_s = bytea_param(body, len);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)row.id);
    int published = row.state == DRIP__TASK_STATE__PUBLISHED;
    if (published) {
        /* a public task changes by a new, kept version with its reason */
        const char *params[4] = {id, body_s, q->cmd->reason, q->sp.dept};
        st = exec_params(c,
                         "WITH u AS (UPDATE task SET body = $2::bytea, version = version + 1,"
                         " updated_at = now() WHERE id = $1::bigint RETURNING id, version, body) "
                         "INSERT INTO task_version (task_id, version, body, reason, changed_by) "
                         "SELECT id, version, body, $3, $4 FROM u",
                         4, params);
        if (st == DRIP_OK)
            st = store_task_log(c, row.id, row.state, "adjusted", q->cmd->reason, q->sp.dept);
    } else {
        const char *params[2] = {id, body_s};
        st = exec_params(c,
                         "UPDATE task SET body = $2::bytea, updated_at = now() WHERE id = $1::bigint",
                         2, params);
    }
    if (st == DRIP_OK) st = task_reply(q, c, plan->code, row.code);
    if (st == DRIP_OK)
        st = emit_task(q, c, q->out_task, DRIP__PLANNER_EVENT_KIND__TASK_ADJUSTED, "task_adjusted",
                       published ? q->cmd->reason : NULL);
out:
    free(body);
    free(cur);
    free(body_s);
    drip__task__free_unpacked(t, NULL);
    task_row_free(&row);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

/* ---- cancel ------------------------------------------------------------------------------- */

int verb_task_cancel(planner_req *q, PGconn *c)
{
    Drip__Plan *plan = NULL;
    task_row row;
    int st = task_for_command(q, c, 1, &plan, &row);
    if (st != DRIP_OK) return st;
    char why[PLANNER_WHY_MAX];
    if (row.state == DRIP__TASK_STATE__CANCELLED || row.state == DRIP__TASK_STATE__CLOSED) {
        st = req_fail(q, DRIP_ECONFLICT, "task %s is already %s", row.code,
                      task_state_name(row.state));
    } else if ((st = reason_check(q->cmd->reason, "a cancellation", why, sizeof why)) != DRIP_OK) {
        st = req_fail(q, st, "%s", why);
    } else {
        char id[24], state[4];
        snprintf(id, sizeof id, "%lld", (long long)row.id);
        snprintf(state, sizeof state, "%d", DRIP__TASK_STATE__CANCELLED);
        const char *params[2] = {id, state};
        st = exec_params(c,
                         "UPDATE task SET state = $2::smallint, updated_at = now() "
                         "WHERE id = $1::bigint",
                         2, params);
        if (st == DRIP_OK)
            st = store_task_log(c, row.id, DRIP__TASK_STATE__CANCELLED, "cancelled", q->cmd->reason,
                                q->sp.dept);
        if (st == DRIP_OK) st = task_reply(q, c, plan->code, row.code);
        if (st == DRIP_OK)
            st = emit_task(q, c, q->out_task, DRIP__PLANNER_EVENT_KIND__TASK_CANCELLED,
                           "task_cancelled", q->cmd->reason);
    }
    task_row_free(&row);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

/* ---- draw --------------------------------------------------------------------------------- */

/* The state and options allow a draw order now? DRIP_OK or the verdict. */
static int draw_allowed(planner_req *q, const task_row *row, int redraw, int force)
{
    const Drip__PlanCommand *cmd = q->cmd;
    int s = row->state;
    if (s == DRIP__TASK_STATE__DRAFT)
        return req_fail(q, DRIP_ECONFLICT,
                        "task %s is DRAFT: publish it (and its commitment) before drawing", row->code);
    if (s == DRIP__TASK_STATE__PUBLISHED && redraw)
        return req_fail(q, DRIP_ECONFLICT,
                        "redraw: task %s has not been drawn yet (PUBLISHED); order a first draw "
                        "without redraw",
                        row->code);
    if ((s == DRIP__TASK_STATE__DRAWN || s == DRIP__TASK_STATE__CONFIRMING) && !redraw)
        return req_fail(q, DRIP_ECONFLICT,
                        "task %s is already drawn (%s): a draw is never deleted or silently redone; "
                        "set redraw with a reason to order a new draw (the earlier record is kept)",
                        row->code, task_state_name(s));
    if (s != DRIP__TASK_STATE__PUBLISHED && s != DRIP__TASK_STATE__DRAWN &&
        s != DRIP__TASK_STATE__CONFIRMING)
        return req_fail(q, DRIP_ECONFLICT, "task %s is %s: it can no longer be drawn", row->code,
                        task_state_name(s));
    if (row->draw_pending)
        return req_fail(q, DRIP_ECONFLICT,
                        "task %s: draw already ordered at %s and not completed yet", row->code,
                        row->draw_ordered_at);
    char why[PLANNER_WHY_MAX], w[CODES_WHY_MAX];
    int st = DRIP_OK;
    if (redraw) st = reason_check(cmd->reason, "a redraw", why, sizeof why);
    else if (force) st = reason_check(cmd->reason, "a forced draw (despite a capacity shortfall)",
                                      why, sizeof why);
    else if (cmd->reason && *cmd->reason) st = reason_check(cmd->reason, "a draw", why, sizeof why);
    if (st != DRIP_OK) return req_fail(q, st, "%s", why);
    if ((st = codes_text_check(cmd->entropy, 0, 256, w)) != DRIP_OK)
        return req_fail(q, DRIP_EVALUE, "entropy: %s (0..256 characters)", w);
    if ((st = codes_text_check(cmd->entropy_source, 0, 256, w)) != DRIP_OK)
        return req_fail(q, DRIP_EVALUE, "entropy_source: %s (0..256 characters)", w);
    if (cmd->entropy_source && *cmd->entropy_source && !(cmd->entropy && *cmd->entropy))
        return req_fail(q, DRIP_EVALUE,
                        "entropy_source: given, but entropy is empty (a draw without public entropy "
                        "has no source)");
    if (!row->has_nonce) {
        log_error("task.draw", "task %s/%s is %s without a nonce", row->plan_code, row->code,
                  task_state_name(s));
        return DRIP_EINTERNAL;
    }
    return DRIP_OK;
}

int verb_task_draw(planner_req *q, PGconn *c)
{
    const Drip__PlanCommand *cmd = q->cmd;
    int redraw = cmd->has_redraw && cmd->redraw;
    int force = cmd->has_force && cmd->force;
    Drip__Plan *plan = NULL;
    task_row row;
    int st = task_for_command(q, c, 1, &plan, &row);
    if (st != DRIP_OK) return st;
    if ((st = draw_allowed(q, &row, redraw, force)) != DRIP_OK) goto out;
    char id[24], version[16];
    snprintf(id, sizeof id, "%lld", (long long)row.id);
    snprintf(version, sizeof version, "%u", row.version);
    const char *reason = cmd->reason && *cmd->reason ? cmd->reason : NULL;
    const char *params[8] = {id, q->sp.dept, version, cmd->entropy ? cmd->entropy : "",
                             cmd->entropy_source ? cmd->entropy_source : "",
                             redraw ? "t" : "f", force ? "t" : "f", reason};
    st = exec_params(c,
                     "INSERT INTO draw_order (task_id, order_no, ordered_by, task_version, entropy,"
                     " entropy_source, redraw, force, reason) "
                     "SELECT $1::bigint, coalesce(max(order_no), 0) + 1, $2, $3::int, $4, $5,"
                     " $6::bool, $7::bool, $8 FROM draw_order WHERE task_id = $1::bigint",
                     8, params);
    if (st == DRIP_OK)
        st = exec_params(c,
                         "UPDATE task SET draw_ordered_at = now(), updated_at = now() "
                         "WHERE id = $1::bigint",
                         1, params);
    if (st == DRIP_OK && redraw) {
        /* The earlier nonce is public in the earlier draw record: a redraw with it would be a draw
         * the platform could predict. A redraw gets a fresh nonce whose commitment is published
         * (in the task of this transaction's events) before the sampler freezes the population. */
        uint8_t digest[SHA256_DIGEST_LENGTH];
        char commitment[2 * SHA256_DIGEST_LENGTH + 1];
        st = nonce_new(row.nonce);
        if (st == DRIP_OK) {
            SHA256(row.nonce, sizeof row.nonce, digest);
            hex_encode(digest, sizeof digest, commitment);
            char *nonce_s = bytea_param(row.nonce, sizeof row.nonce);
            const char *np[3] = {id, nonce_s, commitment};
            st = exec_params(c, "UPDATE task SET nonce = $2::bytea, commitment = $3 WHERE id = $1::bigint",
                             3, np);
            free(nonce_s);
        }
        if (st == DRIP_OK)
            st = store_task_log(c, row.id, row.state, "recommitted", "fresh nonce for a redraw",
                                q->sp.dept);
    }
    if (st == DRIP_OK)
        st = store_task_log(c, row.id, row.state, redraw ? "redraw_ordered" : "draw_ordered", reason,
                            q->sp.dept);
    if (st == DRIP_OK) st = task_reply(q, c, plan->code, row.code);
    if (st != DRIP_OK) goto out;
    /* the sampler gets everything it needs: the task, its plan (region), the nonce and E */
    Drip__PlannerEvent ev = DRIP__PLANNER_EVENT__INIT;
    ev.has_kind = 1;
    ev.kind = DRIP__PLANNER_EVENT_KIND__TASK_DRAW_ORDERED;
    Drip__Plan bare = *plan;
    bare.n_tasks = 0;
    bare.tasks = NULL;
    ev.plan = &bare;
    ev.task = q->out_task;
    ev.reason = (char *)reason;
    ev.has_nonce = 1;
    ev.nonce.data = row.nonce;
    ev.nonce.len = sizeof row.nonce;
    ev.entropy = cmd->entropy ? cmd->entropy : "";
    ev.entropy_source = cmd->entropy_source ? cmd->entropy_source : "";
    ev.has_redraw = 1;
    ev.redraw = redraw;
    ev.has_force = 1;
    ev.force = force;
    st = req_emit(q, c, &ev, "draw_ordered");
out:
    task_row_free(&row);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}

/* ---- get ---------------------------------------------------------------------------------- */

int verb_task_get(planner_req *q, PGconn *c)
{
    Drip__Plan *plan = NULL;
    task_row row;
    int st = task_for_command(q, c, 0, &plan, &row);
    if (st != DRIP_OK) return st;
    if (row.state == DRIP__TASK_STATE__DRAFT && !q->is_operator && strcmp(plan->owner, q->sp.dept)) {
        st = req_fail(q, DRIP_EFORBIDDEN, "task %s of plan %s is an unpublished draft", row.code,
                      plan->code);
    } else {
        if (q->out_task) drip__task__free_unpacked(q->out_task, NULL);
        q->out_task = row.task;
        row.task = NULL;
    }
    task_row_free(&row);
    drip__plan__free_unpacked(plan, NULL);
    return st;
}
