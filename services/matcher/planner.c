/* planner.c — tasks from the planner's events (stream <PREFIX>_PLANNER, durable "matcher"): the
 * latest version of each task, keyed "PLAN/TASK" (task codes are unique within a plan only). The
 * matcher needs a task's items per department, inspectors per check, window and result deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "matcher.h"
#include "status.h"

Drip__Task *matcher_task_load(PGconn *c, const char *key, int *st)
{
    const char *v[1] = {key};
    PGresult *r = PQexecParams(c, "SELECT body FROM task WHERE key = $1 AND body IS NOT NULL", 1,
                               NULL, v, NULL, NULL, 1);
    *st = db_result_status(c, r, "task load");
    Drip__Task *t = NULL;
    if (*st == DRIP_OK && PQntuples(r) == 1)
        t = drip__task__unpack(NULL, (size_t)PQgetlength(r, 0, 0),
                               (const uint8_t *)PQgetvalue(r, 0, 0));
    if (*st == DRIP_OK && !t) *st = DRIP_ENOTFOUND;
    PQclear(r);
    return t;
}

static int store_task(PGconn *c, const char *key, const Drip__Task *t, int cancelled)
{
    size_t len;
    uint8_t *body = service_pack(&t->base, &len);
    char version[16];
    snprintf(version, sizeof version, "%u", t->version);
    const char *v[4] = {key, version, cancelled ? "t" : "f", (const char *)body};
    int lens[4] = {0, 0, 0, (int)len};
    int fmts[4] = {0, 0, 0, 1};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO task (key, version, cancelled, body) VALUES ($1, $2::int, $3::bool, $4)"
        " ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version,"
        " cancelled = task.cancelled OR EXCLUDED.cancelled,"
        " body = CASE WHEN EXCLUDED.cancelled THEN task.body ELSE EXCLUDED.body END,"
        " updated_at = now() WHERE task.version <= EXCLUDED.version OR EXCLUDED.cancelled",
        4, NULL, v, lens, fmts, 0);
    int st = db_result_status(c, r, "store task");
    PQclear(r);
    free(body);
    return st;
}

int matcher_planner_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    matcher *m = arg;
    if ((int64_t)len > m->cfg.max_payload) return DRIP_EBADMSG;
    Drip__PlannerEvent *ev = drip__planner_event__unpack(NULL, len, data);
    if (!ev) {
        log_error("planner.event", "undecodable PlannerEvent on %s", subject);
        return DRIP_EBADMSG;
    }
    int st = DRIP_OK;
    int kind = ev->has_kind ? (int)ev->kind : 0;
    const Drip__Task *t = ev->task;
    if (t && t->code && *t->code) {
        const char *plan = t->plan_code && *t->plan_code ? t->plan_code
                           : ev->plan && ev->plan->code  ? ev->plan->code
                                                         : "";
        char key[160];
        snprintf(key, sizeof key, "%s/%s", plan, t->code);
        int cancelled = kind == DRIP__PLANNER_EVENT_KIND__TASK_CANCELLED ||
                        (t->has_state && t->state == DRIP__TASK_STATE__CANCELLED);
        if (!*plan || strchr(plan, '/'))
            log_warn("planner.event", "task %s without a usable plan code; ignored", t->code);
        else if (kind == DRIP__PLANNER_EVENT_KIND__TASK_PUBLISHED ||
                 kind == DRIP__PLANNER_EVENT_KIND__TASK_ADJUSTED ||
                 kind == DRIP__PLANNER_EVENT_KIND__TASK_DRAW_ORDERED || cancelled)
            st = store_task(c, key, t, cancelled);
    }
    drip__planner_event__free_unpacked(ev, NULL);
    return st;
}
