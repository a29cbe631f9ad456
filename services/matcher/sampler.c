/* sampler.c — the sampler's events (stream <PREFIX>_SAMPLER, durable "matcher", one message at a
 * time). DRAW_SETTLED means every drawn target is confirmed or finally rejected: the matcher may
 * start. The event comes in parts (5 000 targets each); each part is stored, and the transaction
 * that stores the last one runs the matching, so a crash anywhere leaves either nothing of the run
 * or all of it. A task is matched once: a later DRAW_SETTLED of the same task (a redraw) is logged
 * and left alone — re-matching needs a decision the contract does not offer yet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "status.h"

static int already_matched(PGconn *c, const char *key, int *yes)
{
    const char *v[1] = {key};
    int st;
    PGresult *r = db_query(c, "SELECT draw_no FROM run WHERE task_key = $1", 1, v, &st);
    *yes = st == DRIP_OK && PQntuples(r) > 0;
    PQclear(r);
    return st;
}

/* Merges the stored parts into one record (the first part's head, every part's selected). */
static int parts_merge(PGconn *c, const char *key, uint32_t draw_no, uint32_t parts,
                       Drip__SamplerEvent ***evs_out, Drip__DrawRecord *merged, int *complete)
{
    char dn[16];
    snprintf(dn, sizeof dn, "%u", draw_no);
    const char *v[2] = {key, dn};
    PGresult *r = PQexecParams(c,
                               "SELECT body FROM settle_part WHERE task_key = $1 AND"
                               " draw_no = $2::int ORDER BY part",
                               2, NULL, v, NULL, NULL, 1);
    int st = db_result_status(c, r, "settle parts");
    *complete = 0;
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    size_t n = (size_t)PQntuples(r);
    if (n < parts) {
        PQclear(r);
        return DRIP_OK;
    }
    Drip__SamplerEvent **evs = calloc(n, sizeof *evs);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        evs[i] = drip__sampler_event__unpack(NULL, (size_t)PQgetlength(r, (int)i, 0),
                                             (const uint8_t *)PQgetvalue(r, (int)i, 0));
        if (!evs[i] || !evs[i]->record) {
            st = DRIP_EBADMSG;
            break;
        }
        total += evs[i]->record->n_selected;
    }
    PQclear(r);
    if (st == DRIP_OK) {
        *merged = *evs[0]->record;
        merged->selected = calloc(total ? total : 1, sizeof *merged->selected);
        merged->n_selected = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < evs[i]->record->n_selected; j++)
                merged->selected[merged->n_selected++] = evs[i]->record->selected[j];
        *complete = 1;
    }
    *evs_out = evs;
    return st;
}

/* The run must see every registry change and task version already on their streams: wait (at
 * most DRIP_MATCHER_CATCHUP_WAIT_MS) until our registry and planner consumers are caught up;
 * DRIP_ETIMEOUT puts the settlement back, to be retried. */
static int wait_caught_up(matcher *m)
{
    int64_t give_up = envelope_now_ms() + m->catchup_wait_ms;
    char why[256] = "";
    for (;;) {
        if (atomic_load(&m->stopping)) return DRIP_ETIMEOUT;
        if (consumer_caught_up(m->bus, m->reg_stream, "matcher", why, sizeof why) &&
            consumer_caught_up(m->bus, m->plan_stream, "matcher", why, sizeof why))
            return DRIP_OK;
        if (envelope_now_ms() >= give_up) {
            log_info("match.wait", "projections not caught up (%s); the settlement is retried", why);
            return DRIP_ETIMEOUT;
        }
        uv_sleep(200);
    }
}

static void parts_free(Drip__SamplerEvent **evs, size_t n)
{
    for (size_t i = 0; evs && i < n; i++)
        if (evs[i]) drip__sampler_event__free_unpacked(evs[i], NULL);
    free(evs);
}

static int on_settled(matcher *m, PGconn *c, const Drip__SamplerEvent *ev, const uint8_t *data,
                      size_t len)
{
    const Drip__DrawRecord *rec = ev->record;
    if (!rec || !rec->task_code || !*rec->task_code || !rec->plan_code || !*rec->plan_code)
        return DRIP_EBADMSG;
    char key[160];
    snprintf(key, sizeof key, "%s/%s", rec->plan_code, rec->task_code);
    int yes, st = already_matched(c, key, &yes);
    if (st != DRIP_OK) return st;
    if (yes) {
        log_warn("match.again", "task %s draw %u settled again; the task is matched already", key,
                 rec->draw_no);
        return DRIP_OK;
    }
    uint32_t part = ev->has_part ? ev->part : 1, parts = ev->has_parts ? ev->parts : 1;
    if (part < 1 || parts < 1 || part > parts || parts > 100000) return DRIP_EBADMSG;
    char dn[16], pn[16], pp[16];
    snprintf(dn, sizeof dn, "%u", rec->draw_no);
    snprintf(pn, sizeof pn, "%u", part);
    snprintf(pp, sizeof pp, "%u", parts);
    const char *v[5] = {key, dn, pn, pp, (const char *)data};
    int lens[5] = {0, 0, 0, 0, (int)len};
    int fmts[5] = {0, 0, 0, 0, 1};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO settle_part (task_key, draw_no, part, parts, body)"
                               " VALUES ($1, $2::int, $3::int, $4::int, $5) ON CONFLICT DO NOTHING",
                               5, NULL, v, lens, fmts, 0);
    st = db_result_status(c, r, "settle part");
    PQclear(r);
    if (st != DRIP_OK) return st;
    Drip__SamplerEvent **evs = NULL;
    Drip__DrawRecord merged;
    int complete;
    st = parts_merge(c, key, rec->draw_no, parts, &evs, &merged, &complete);
    if (st == DRIP_OK && complete) st = wait_caught_up(m);
    if (st == DRIP_OK && complete) {
        st = matcher_run(m, c, key, &merged, ev->header ? ev->header->msg_id : NULL);
        if (st == DRIP_OK) {
            const char *dv[2] = {key, dn};
            r = db_query(c, "DELETE FROM settle_part WHERE task_key = $1 AND draw_no = $2::int", 2,
                         dv, &st);
            PQclear(r);
        }
    }
    if (complete) free(merged.selected);
    parts_free(evs, parts);
    return st;
}

int matcher_sampler_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg)
{
    matcher *m = arg;
    if ((int64_t)len > m->cfg.max_payload) return DRIP_EBADMSG;
    Drip__SamplerEvent *ev = drip__sampler_event__unpack(NULL, len, data);
    if (!ev) {
        log_error("sampler.event", "undecodable SamplerEvent on %s", subject);
        return DRIP_EBADMSG;
    }
    int st = DRIP_OK;
    if (ev->has_kind && ev->kind == DRIP__SAMPLER_EVENT_KIND__DRAW_SETTLED) {
        st = on_settled(m, c, ev, data, len);
        if (st == DRIP_EBADMSG) log_error("sampler.event", "unusable DRAW_SETTLED on %s", subject);
    }
    drip__sampler_event__free_unpacked(ev, NULL);
    return st;
}
