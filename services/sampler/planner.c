/* planner.c — the planner's events (stream <PREFIX>_PLANNER, durable "sampler", one message at a
 * time, in stream order): tasks and their commitments, cancellations, and draw orders.
 *
 * A draw order must see every registry change made before its at_ms. The registry commits a change,
 * then its outbox relay publishes it on <PREFIX>_REGISTRY, then our registry consumer projects it.
 * Before drawing we therefore wait until (a) at_ms is at least DRIP_SAMPLER_SETTLE_MS in the past
 * (time for the registry's relay to publish what it committed before at_ms) and (b) our registry
 * durable has nothing pending and nothing unacknowledged (JetStream consumer info, asked through
 * the $JS.API request subject: bus.h has no consumer-info call and needs none). If that does not
 * happen within DRIP_SAMPLER_CATCHUP_WAIT_MS the order is put back (nak, 1 s) and retried.
 * Limitation: a registry change committed before at_ms but relayed more than SETTLE_MS later (the
 * registry's relay was down) is not seen; the draw record states its frozen_at_ms, and the
 * population can be recomputed and checked by anyone (draw_population). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

int sampler_registry_caught_up(sampler *s, char *why, size_t cap)
{
    if (!atomic_load(&s->reg_bound)) {
        snprintf(why, cap, "the registry consumer is not bound yet");
        return 0;
    }
    return consumer_caught_up(s->bus, s->reg_stream, "sampler", why, cap);
}

int sampler_wait_registry(sampler *s, int64_t at_ms)
{
    int64_t give_up = envelope_now_ms() + s->catchup_wait_ms;
    char why[256] = "";
    for (;;) {
        if (atomic_load(&s->stopping)) return DRIP_ETIMEOUT;
        int64_t now = envelope_now_ms();
        if (now >= at_ms + s->settle_ms && sampler_registry_caught_up(s, why, sizeof why))
            return DRIP_OK;
        if (now >= give_up) {
            log_info("draw.wait", "registry projection not caught up (%s); the order is retried",
                     now < at_ms + s->settle_ms ? "order too recent" : why);
            return DRIP_ETIMEOUT;
        }
        uv_sleep(200);
    }
}

static int store_task(PGconn *c, const Drip__Task *t)
{
    size_t len;
    uint8_t *body = sampler_pack(&t->base, &len);
    char version[16];
    snprintf(version, sizeof version, "%u", t->version);
    const char *v[6] = {t->code,
                        t->plan_code,
                        version,
                        t->lead_dept ? t->lead_dept : "",
                        t->commitment && *t->commitment ? t->commitment : NULL,
                        (const char *)body};
    int lens[6] = {0, 0, 0, 0, 0, (int)len};
    int fmts[6] = {0, 0, 0, 0, 0, 1};
    /* newer (or equal: a republished) versions only; the commitment never gets lost */
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO task (code, plan_code, version, lead_dept, commitment, body)"
        " VALUES ($1, $2, $3::int, $4, $5, $6)"
        " ON CONFLICT (code) DO UPDATE SET plan_code = EXCLUDED.plan_code,"
        " version = EXCLUDED.version, lead_dept = EXCLUDED.lead_dept,"
        " commitment = coalesce(EXCLUDED.commitment, task.commitment), body = EXCLUDED.body,"
        " updated_at = now() WHERE task.version <= EXCLUDED.version",
        6, NULL, v, lens, fmts, 0);
    int st = db_result_status(c, r, "store task");
    PQclear(r);
    free(body);
    return st;
}

static int cancel_task(PGconn *c, const Drip__PlannerEvent *ev)
{
    const char *v[3] = {ev->task->code, ev->reason, ev->task->plan_code};
    int st;
    PGresult *r = db_query(c,
                           "INSERT INTO task (code, plan_code, cancelled, cancel_reason)"
                           " VALUES ($1, $3, true, $2) ON CONFLICT (code) DO UPDATE"
                           " SET cancelled = true, cancel_reason = EXCLUDED.cancel_reason,"
                           " updated_at = now()",
                           3, v, &st);
    PQclear(r);
    if (st == DRIP_OK)
        log_info("task.cancelled", "task %s cancelled: %s", ev->task->code,
                 ev->reason ? ev->reason : "");
    return st;
}

int sampler_planner_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    sampler *s = arg;
    if ((int64_t)len > s->cfg.max_payload) return DRIP_EBADMSG;
    Drip__PlannerEvent *ev = drip__planner_event__unpack(NULL, len, data);
    if (!ev) {
        log_error("planner.event", "undecodable PlannerEvent on %s", subject);
        return DRIP_EBADMSG;
    }
    int st = DRIP_OK;
    int has_task = ev->task && ev->task->code && *ev->task->code;
    if (has_task) {
        const char *plan = ev->task->plan_code && *ev->task->plan_code ? ev->task->plan_code
                           : ev->plan && ev->plan->code                 ? ev->plan->code
                                                                        : "";
        if (!*plan || strchr(plan, '/')) {
            log_error("planner.event", "task %s without a usable plan code on %s", ev->task->code,
                      subject);
            drip__planner_event__free_unpacked(ev, NULL);
            return DRIP_EBADMSG;
        }
        size_t n = strlen(plan) + strlen(ev->task->code) + 2;
        char *key = malloc(n);
        if (!key) abort();
        snprintf(key, n, "%s/%s", plan, ev->task->code);
        free(ev->task->code);
        ev->task->code = key; /* the sampler's key; sampler_task_code() gives the bare code back */
    }
    switch (ev->has_kind ? ev->kind : 0) {
    case DRIP__PLANNER_EVENT_KIND__TASK_PUBLISHED:
    case DRIP__PLANNER_EVENT_KIND__TASK_ADJUSTED:
        if (has_task) st = store_task(c, ev->task);
        break;
    case DRIP__PLANNER_EVENT_KIND__TASK_CANCELLED:
        if (has_task) st = cancel_task(c, ev);
        break;
    case DRIP__PLANNER_EVENT_KIND__TASK_STATE:
        if (has_task && ev->task->has_state && ev->task->state == DRIP__TASK_STATE__CANCELLED)
            st = cancel_task(c, ev);
        break;
    case DRIP__PLANNER_EVENT_KIND__TASK_DRAW_ORDERED:
        st = sampler_draw(s, c, ev);
        break;
    default:
        break; /* plan events and other lifecycle changes do not concern the sampler */
    }
    drip__planner_event__free_unpacked(ev, NULL);
    return st;
}
