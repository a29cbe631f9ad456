/* overdue.c — escalation of unconfirmed targets (MISSION §3 step 4: "unconfirmed after the
 * deadline → escalated (reported), not silently dropped").
 *
 * Every DRIP_SAMPLER_OVERDUE_INTERVAL_MS (default 60 s) and at start, one transaction:
 *  - draws whose confirmation deadline (a date, UTC+8) is before today, not superseded, not
 *    settled and not yet reported: their PENDING targets become OVERDUE (kept in the record;
 *    late decisions are still accepted and flagged late), and one DRAW_OVERDUE event per draw
 *    lists them;
 *  - draws recorded without a deadline (their calendar year was not loaded then) get one as
 *    soon as the year is loaded (deadline column and draw record head). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

#define OVERDUE_BATCH 100

typedef struct {
    sampler *s;
    int emitted, more, reported;
} overdue_round;

/* Gives a deadline to draws that were recorded without one, now that the calendar allows it. */
static int fill_deadlines(sampler *s, PGconn *c)
{
    (void)s;
    int st;
    PGresult *r =
        db_query(c,
                 "SELECT task_code, draw_no FROM draw WHERE deadline IS NULL AND NOT superseded"
                 " AND NOT settled ORDER BY task_code, draw_no LIMIT 100 FOR UPDATE SKIP LOCKED",
                 0, NULL, &st);
    if (!r) return st;
    int n = PQntuples(r);
    calendar *cal = NULL;
    if (n > 0 && (st = regproj_calendar(c, &cal)) != DRIP_OK) {
        PQclear(r);
        return st;
    }
    for (int i = 0; st == DRIP_OK && i < n; i++) {
        draw_row d;
        st = draw_row_load(c, PQgetvalue(r, i, 0), (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10),
                           0, &d);
        if (st != DRIP_OK) break;
        int32_t day;
        char why[128];
        if (calendar_add_workdays(cal, sampler_day_cst(d.frozen_at_ms),
                                  (int)d.task->confirm_workdays, &day, why) == DRIP_OK) {
            char dl[11], no[16];
            codes_date_format(day, dl);
            snprintf(no, sizeof no, "%u", d.draw_no);
            free(d.head->confirm_deadline);
            d.head->confirm_deadline = sampler_strdup(dl);
            size_t len;
            uint8_t *head = sampler_pack(&d.head->base, &len);
            const char *v[4] = {d.task_code, no, dl, (const char *)head};
            int lens[4] = {0, 0, 0, (int)len}, fmts[4] = {0, 0, 0, 1};
            PGresult *u =
                PQexecParams(c,
                             "UPDATE draw SET deadline = $3::date, deadline_note = NULL, head = $4"
                             " WHERE task_code = $1 AND draw_no = $2::int",
                             4, NULL, v, lens, fmts, 0);
            st = db_result_status(c, u, "draw deadline");
            PQclear(u);
            free(head);
            if (st == DRIP_OK)
                log_info("draw.deadline",
                         "task %s draw %u: confirmation deadline %s (calendar now loaded)",
                         d.task_code, d.draw_no, dl);
        }
        draw_row_free(&d);
    }
    calendar_destroy(cal);
    PQclear(r);
    return st;
}

static int overdue_tx(PGconn *c, void *arg)
{
    overdue_round *o = arg;
    o->emitted = o->more = o->reported = 0;
    int st = fill_deadlines(o->s, c);
    if (st != DRIP_OK) return st;
    char today[11], lim[8];
    codes_date_format(codes_date_today_cst(), today);
    snprintf(lim, sizeof lim, "%d", OVERDUE_BATCH);
    const char *p[2] = {today, lim};
    PGresult *r =
        db_query(c,
                 "SELECT task_code, draw_no FROM draw WHERE NOT superseded AND NOT settled"
                 " AND NOT overdue_reported AND deadline < $1::date"
                 " ORDER BY deadline, task_code LIMIT $2::int FOR UPDATE SKIP LOCKED",
                 2, p, &st);
    if (!r) return st;
    int n = PQntuples(r);
    o->more = n == OVERDUE_BATCH;
    for (int i = 0; st == DRIP_OK && i < n; i++) {
        draw_row d;
        st = draw_row_load(c, PQgetvalue(r, i, 0), (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10),
                           0, &d);
        if (st != DRIP_OK) break;
        char no[16];
        snprintf(no, sizeof no, "%u", d.draw_no);
        const char *pu[2] = {d.task_code, no};
        PGresult *u =
            db_query(c,
                     "UPDATE draw_member SET state = 4 WHERE task_code = $1 AND draw_no = $2::int"
                     " AND state = 1 RETURNING uscc",
                     2, pu, &st);
        size_t nk = u ? (size_t)PQntuples(u) : 0;
        char **keys = calloc(nk + 1, sizeof *keys);
        if (!keys) abort();
        for (size_t k = 0; k < nk; k++)
            keys[k] = PQgetvalue(u, (int)k, 0);
        PGresult *f = st == DRIP_OK ? db_query(c,
                                               "UPDATE draw SET overdue_reported = true"
                                               " WHERE task_code = $1 AND draw_no = $2::int",
                                               2, pu, &st)
                                    : NULL;
        PQclear(f);
        if (st == DRIP_OK && nk > 0) {
            char reason[160], dl[11];
            codes_date_format(d.deadline, dl);
            snprintf(reason, sizeof reason,
                     "%zu targets not confirmed by the deadline %s: escalated", nk, dl);
            st = sampler_emit_keys(o->s, c, &d, DRIP__SAMPLER_EVENT_KIND__DRAW_OVERDUE, "overdue",
                                   "overdue", NULL, keys, nk, reason);
            if (st == DRIP_OK) {
                o->emitted = 1;
                o->reported++;
                log_warn("draw.overdue", "task %s draw %u: %s", d.task_code, d.draw_no, reason);
            }
        }
        free(keys);
        PQclear(u);
        draw_row_free(&d);
    }
    PQclear(r);
    return st;
}

static int overdue_work(PGconn *c, void *arg)
{
    return db_transaction(c, overdue_tx, arg);
}

static void overdue_run(sampler *s);

static void overdue_done(int status, void *arg)
{
    overdue_round *o = arg;
    sampler *s = o->s;
    s->overdue_running = 0;
    if (status == DRIP_OK && o->reported) metrics_counter_inc(s->m_overdue, (uint64_t)o->reported);
    if (o->emitted) outbox_relay_kick(s->relay);
    int again = status == DRIP_OK && o->more && !atomic_load(&s->stopping);
    free(o);
    if (again) overdue_run(s);
}

static void overdue_run(sampler *s)
{
    if (s->overdue_running || atomic_load(&s->stopping)) return;
    overdue_round *o = calloc(1, sizeof *o);
    if (!o) abort();
    o->s = s;
    s->overdue_running = 1;
    if (db_pool_submit(s->db, overdue_work, overdue_done, o) != DRIP_OK) {
        s->overdue_running = 0;
        free(o);
    }
}

static void overdue_tick(uv_timer_t *t)
{
    overdue_run(t->data);
}

void sampler_overdue_start(sampler *s)
{
    uv_timer_init(s->loop, &s->overdue_timer);
    s->overdue_timer.data = s;
    uv_timer_start(&s->overdue_timer, overdue_tick, 0, (uint64_t)s->overdue_interval_ms);
}

void sampler_overdue_stop(sampler *s)
{
    uv_timer_stop(&s->overdue_timer);
    uv_close((uv_handle_t *)&s->overdue_timer, NULL);
}
