/* confirm.c — 比对和确认: a participating department (lead or cooperating; header.dept)
 * accepts or rejects targets of the latest draw of a task.
 *
 *  - each decision is recorded once per (target, department), append-only, flagged late after
 *    the confirmation deadline (accepted all the same);
 *  - a rejection needs a reason (1..500 characters);
 *  - a target is CONFIRMED when every participant accepted it, REJECTED as soon as one rejects;
 *  - a rejection is replaced at once, deterministically: the smallest ticket of the same stratum
 *    of the frozen population that is not yet a member (selected, replaced or rejected) — one
 *    streaming pass over that stratum for all rejections of the request (draw_min_tracker);
 *  - events: TARGET_CONFIRMED, TARGET_REPLACED, and DRAW_SETTLED once nothing is PENDING or
 *    OVERDUE.
 * The whole request is one transaction with its inbox row (reply included): a re-sent request
 * gets the original reply. Requests on the same draw are serialised by locking its row. */
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

typedef struct {
    sampler *s;
    bus_msg *m;
    subject_parts sp;
    Drip__ConfirmRequest *req;
    const char *corr;
    char inbox_id[160];
    char tail[16]; /* 12 hex of the inbox id: event msg-id tails */
    uint8_t *reply;
    size_t reply_len;
    int replayed, emitted;
    unsigned confirmed, replaced;
    char why[SAMPLER_WHY];
} confirm_job;

/* A rejection waiting for its replacement. */
typedef struct {
    char key[DRAW_KEY_MAX + 1];
    char stratum;
    const char *reason;
} rejection;

/* Accumulated results of one request (reply + events). */
typedef struct {
    Drip__DeptDecision **accepted;
    size_t n_accepted;
    Drip__Replacement **reps;
    size_t n_reps;
    Drip__DrawnTarget **added;
    size_t n_added;
    char **refused;
    size_t n_refused;
    char **confirmed;
    size_t n_confirmed;
    rejection *rej;
    size_t n_rej;
} results;

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n + 1) * size);
    if (!q) abort();
    return q;
}

static void results_free(results *r)
{
    for (size_t i = 0; i < r->n_accepted; i++)
        drip__dept_decision__free_unpacked(r->accepted[i], NULL);
    free(r->accepted);
    draw_replacements_free(r->reps, r->n_reps);
    draw_targets_free(r->added, r->n_added);
    for (size_t i = 0; i < r->n_refused; i++)
        free(r->refused[i]);
    free(r->refused);
    for (size_t i = 0; i < r->n_confirmed; i++)
        free(r->confirmed[i]);
    free(r->confirmed);
    free(r->rej);
    memset(r, 0, sizeof *r);
}

static void refuse(results *r, const char *uscc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(results *r, const char *uscc, const char *fmt, ...)
{
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char *line = NULL;
    if (asprintf(&line, "%s: %s", uscc && *uscc ? uscc : "(no uscc)", text) < 0) abort();
    r->refused = grow(r->refused, r->n_refused, sizeof *r->refused);
    r->refused[r->n_refused++] = line;
}

static void job_free(confirm_job *j)
{
    if (j->req) drip__confirm_request__free_unpacked(j->req, NULL);
    free(j->reply);
    if (j->m) bus_msg_destroy(j->m);
    free(j);
}

static uint8_t *error_reply(const char *corr, int status, const char *text, size_t *len)
{
    Drip__ConfirmReply rep = DRIP__CONFIRM_REPLY__INIT;
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "SAMPLER", "000000");
    rep.header = &hdr;
    rep.has_error = 1;
    rep.error = drip_status_to_wire(status);
    rep.error_message = (char *)text;
    return sampler_pack(&rep.base, len);
}

/* ---- one decision --------------------------------------------------------------------------- */

static int is_participant(const draw_row *d, const char *dept)
{
    for (size_t i = 0; i < d->n_participants; i++)
        if (!strcmp(d->participants[i], dept)) return 1;
    return 0;
}

static int decide(confirm_job *j, PGconn *c, const draw_row *d, const Drip__DeptDecision *in,
                  int late, results *r)
{
    const char *uscc = in->uscc;
    const char *dept = j->sp.dept;
    if (!uscc || !*uscc) {
        refuse(r, uscc, "uscc: required");
        return DRIP_OK;
    }
    if (!in->has_accept) {
        refuse(r, uscc, "accept: required (true = confirm, false = reject)");
        return DRIP_OK;
    }
    if (!in->accept) {
        char w[CODES_WHY_MAX];
        if (codes_text_check(in->reason, 1, 500, w) != DRIP_OK) {
            refuse(r, uscc, "reason: a rejection needs a reason of 1..500 characters (%s)", w);
            return DRIP_OK;
        }
    }
    char no[16];
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *p[6] = {d->task_code, no, uscc, dept, NULL, NULL};
    int st;
    PGresult *m =
        db_query(c,
                 "SELECT state, stratum FROM draw_member WHERE task_code = $1 AND draw_no = $2"
                 " AND uscc = $3 FOR UPDATE",
                 3, p, &st);
    if (!m) return st;
    if (PQntuples(m) == 0) {
        PQclear(m);
        refuse(r, uscc, "not a target of draw %u of task %s", d->draw_no, d->task_code);
        return DRIP_OK;
    }
    int state = (int)strtol(PQgetvalue(m, 0, 0), NULL, 10);
    char stratum = PQgetvalue(m, 0, 1)[0];
    PQclear(m);
    if (state != DRIP__TARGET_DECISION__DECISION_PENDING &&
        state != DRIP__TARGET_DECISION__DECISION_OVERDUE) {
        refuse(r, uscc, "already %s",
               state == DRIP__TARGET_DECISION__DECISION_CONFIRMED ? "confirmed" : "rejected");
        return DRIP_OK;
    }
    p[4] = in->accept ? "t" : "f";
    p[5] = in->accept ? NULL : in->reason;
    const char *pi[7] = {p[0], p[1], p[2], p[3], p[4], p[5], late ? "t" : "f"};
    PGresult *ins =
        db_query(c,
                 "INSERT INTO decision (task_code, draw_no, uscc, dept, accept, reason, late)"
                 " VALUES ($1, $2::int, $3, $4, $5::bool, $6, $7::bool)"
                 " ON CONFLICT DO NOTHING RETURNING (extract(epoch FROM at) * 1000)::bigint",
                 7, pi, &st);
    if (!ins) return st;
    if (PQntuples(ins) == 0) {
        PQclear(ins);
        refuse(r, uscc, "department %s already decided on this target", dept);
        return DRIP_OK;
    }
    int64_t at = strtoll(PQgetvalue(ins, 0, 0), NULL, 10);
    PQclear(ins);
    Drip__DeptDecision *x = calloc(1, sizeof *x);
    if (!x) abort();
    drip__dept_decision__init(x);
    x->uscc = sampler_strdup(uscc);
    x->dept = sampler_strdup(dept);
    x->has_accept = 1;
    x->accept = in->accept;
    x->reason = in->accept ? NULL : sampler_strdup(in->reason);
    x->has_at_ms = 1;
    x->at_ms = at;
    r->accepted = grow(r->accepted, r->n_accepted, sizeof *r->accepted);
    r->accepted[r->n_accepted++] = x;

    int new_state = 0;
    if (!in->accept) {
        new_state = DRIP__TARGET_DECISION__DECISION_REJECTED;
        r->rej = grow(r->rej, r->n_rej, sizeof *r->rej);
        rejection *rj = &r->rej[r->n_rej++];
        snprintf(rj->key, sizeof rj->key, "%s", uscc);
        rj->stratum = stratum;
        rj->reason = in->reason;
    } else {
        db_buf parts;
        db_buf_init(&parts);
        db_buf_text_array(&parts, (const char *const *)d->participants, d->n_participants);
        const char *pc[4] = {d->task_code, no, uscc, parts.data};
        PGresult *cnt = db_query(c,
                                 "SELECT count(DISTINCT dept) FROM decision WHERE task_code = $1"
                                 " AND draw_no = $2::int AND uscc = $3 AND accept"
                                 " AND dept = ANY($4::text[])",
                                 4, pc, &st);
        db_buf_free(&parts);
        if (!cnt) return st;
        size_t accepted = (size_t)strtoull(PQgetvalue(cnt, 0, 0), NULL, 10);
        PQclear(cnt);
        if (accepted >= d->n_participants) {
            new_state = DRIP__TARGET_DECISION__DECISION_CONFIRMED;
            PGresult *cf = db_query(
                c, "INSERT INTO confirmation (task_code, draw_no, uscc) VALUES ($1, $2::int, $3)",
                3, p, &st);
            PQclear(cf);
            if (st != DRIP_OK) return st;
            r->confirmed = grow(r->confirmed, r->n_confirmed, sizeof *r->confirmed);
            r->confirmed[r->n_confirmed++] = sampler_strdup(uscc);
        }
    }
    if (new_state) {
        char ns[8];
        snprintf(ns, sizeof ns, "%d", new_state);
        const char *pu[4] = {d->task_code, no, uscc, ns};
        PGresult *u = db_query(c,
                               "UPDATE draw_member SET state = $4::smallint WHERE task_code = $1"
                               " AND draw_no = $2::int AND uscc = $3",
                               4, pu, &st);
        PQclear(u);
        if (st != DRIP_OK) return st;
    }
    return DRIP_OK;
}

/* ---- replacements --------------------------------------------------------------------------- */

typedef struct {
    draw_min_tracker *t;
    const char *seed, *task_code;
} repl_pass;

static int repl_row(const char *key, char stratum, void *arg)
{
    (void)stratum;
    repl_pass *rp = arg;
    unsigned char ticket[32];
    int st = draw_ticket(rp->seed, rp->task_code, key, ticket);
    if (st == DRIP_OK) st = draw_min_tracker_add(rp->t, key, ticket);
    return st == DRIP_EVALUE ? DRIP_EINTERNAL : st;
}

/* Replaces the rejections of stratum index si, in request order. */
static int replace_stratum(confirm_job *j, PGconn *c, const draw_row *d, int si, int late,
                           results *r)
{
    char code = DRAW_STRATUM_CODES[si];
    size_t want = 0;
    for (size_t i = 0; i < r->n_rej; i++)
        want += r->rej[i].stratum == code;
    if (!want) return DRIP_OK;
    char no[16], sc[2] = {code, '\0'};
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *p[3] = {d->task_code, no, sc};
    int st;
    PGresult *ex =
        db_query(c,
                 "SELECT uscc FROM draw_member WHERE task_code = $1 AND draw_no = $2::int"
                 " AND stratum = $3",
                 3, p, &st);
    if (!ex) return st;
    size_t nex = (size_t)PQntuples(ex);
    const char **keys = calloc(nex + 1, sizeof *keys);
    if (!keys) abort();
    for (size_t i = 0; i < nex; i++)
        keys[i] = PQgetvalue(ex, (int)i, 0);
    repl_pass rp = {
        .t = draw_min_tracker_create(keys, nex, want), .seed = d->seed,
                       .task_code = sampler_task_code(d->task_code)};
    free(keys);
    PQclear(ex);
    if (!rp.t) abort();
    pop_spec spec;
    draw_row_spec(d, &spec);
    st = pop_stream(c, &spec, si, repl_row, &rp, &j->s->stopping, j->why, sizeof j->why);
    const draw_pick *picks = NULL;
    size_t got = 0;
    if (st == DRIP_OK) st = draw_min_tracker_result(rp.t, &picks, &got);
    PGresult *mr = st == DRIP_OK
                       ? db_query(c,
                                  "SELECT coalesce(max(rank), 0) FROM draw_member"
                                  " WHERE task_code = $1 AND draw_no = $2::int AND stratum = $3",
                                  3, p, &st)
                       : NULL;
    long rank = mr ? strtol(PQgetvalue(mr, 0, 0), NULL, 10) : 0;
    PQclear(mr);
    PGresult *sq = st == DRIP_OK ? db_query(c,
                                            "SELECT coalesce(max(seq), 0) FROM replacement"
                                            " WHERE task_code = $1 AND draw_no = $2::int",
                                            2, p, &st)
                                 : NULL;
    long seq = sq ? strtol(PQgetvalue(sq, 0, 0), NULL, 10) : 0;
    PQclear(sq);
    size_t k = 0;
    int64_t now = envelope_now_ms();
    int state =
        late ? DRIP__TARGET_DECISION__DECISION_OVERDUE : DRIP__TARGET_DECISION__DECISION_PENDING;
    for (size_t i = 0; st == DRIP_OK && i < r->n_rej; i++) {
        rejection *rj = &r->rej[i];
        if (rj->stratum != code) continue;
        const draw_pick *pk = k < got ? &picks[k++] : NULL;
        char tick[DRAW_HEX_LEN + 1] = "", rk[24], sqs[24], st_s[8];
        if (pk) draw_hex(pk->ticket, 32, tick);
        snprintf(rk, sizeof rk, "%ld", ++rank);
        snprintf(sqs, sizeof sqs, "%ld", ++seq);
        snprintf(st_s, sizeof st_s, "%d", state);
        const char *pr[8] = {d->task_code,      no,  sqs, rj->key, j->sp.dept, rj->reason,
                             pk ? pk->key : "", tick};
        PGresult *x =
            db_query(c,
                     "INSERT INTO replacement (task_code, draw_no, seq, rejected_uscc, dept,"
                     " reason, replacement_uscc, ticket) VALUES ($1, $2::int, $3::int, $4,"
                     " $5, $6, $7, $8)",
                     8, pr, &st);
        PQclear(x);
        if (st == DRIP_OK && pk) {
            const char *pm[8] = {d->task_code, no, pk->key, sc, tick, rk, st_s, rj->key};
            x = db_query(
                c,
                "INSERT INTO draw_member (task_code, draw_no, uscc, stratum, ticket, rank,"
                " state, replaces) VALUES ($1, $2::int, $3, $4, decode($5, 'hex'), $6::int,"
                " $7::smallint, $8)",
                8, pm, &st);
            PQclear(x);
        }
        if (st != DRIP_OK) break;
        Drip__Replacement *rep = calloc(1, sizeof *rep);
        if (!rep) abort();
        drip__replacement__init(rep);
        rep->rejected_uscc = sampler_strdup(rj->key);
        rep->dept = sampler_strdup(j->sp.dept);
        rep->reason = sampler_strdup(rj->reason);
        rep->replacement_uscc = sampler_strdup(pk ? pk->key : "");
        rep->ticket = sampler_strdup(tick);
        rep->has_at_ms = 1;
        rep->at_ms = now;
        r->reps = grow(r->reps, r->n_reps, sizeof *r->reps);
        r->reps[r->n_reps++] = rep;
        if (pk) {
            Drip__DrawnTarget *t = calloc(1, sizeof *t);
            if (!t) abort();
            drip__drawn_target__init(t);
            t->uscc = sampler_strdup(pk->key);
            t->stratum = sampler_strdup(sc);
            t->ticket = sampler_strdup(tick);
            t->has_rank = 1;
            t->rank = (uint32_t)rank;
            t->replaces = sampler_strdup(rj->key);
            t->has_state = 1;
            t->state = (Drip__TargetDecision)state;
            r->added = grow(r->added, r->n_added, sizeof *r->added);
            r->added[r->n_added++] = t;
        } else {
            log_warn("confirm.exhausted",
                     "task %s draw %u stratum %c: no candidate left to replace %s", d->task_code,
                     d->draw_no, code, rj->key);
        }
    }
    draw_min_tracker_destroy(rp.t);
    return st;
}

/* ---- the transaction ------------------------------------------------------------------------ */

static int pending_count(PGconn *c, const draw_row *d, uint32_t *out)
{
    char no[16];
    snprintf(no, sizeof no, "%u", d->draw_no);
    const char *p[2] = {d->task_code, no};
    int st;
    PGresult *r =
        db_query(c,
                 "SELECT count(*) FROM draw_member WHERE task_code = $1 AND draw_no = $2::int"
                 " AND state IN (1, 4)",
                 2, p, &st);
    if (!r) return st;
    *out = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return DRIP_OK;
}

static int emit_all(confirm_job *j, PGconn *c, draw_row *d, results *r, uint32_t pending)
{
    sampler *s = j->s;
    int st = DRIP_OK;
    char tail[40];
    if (r->n_confirmed) {
        snprintf(tail, sizeof tail, "confirmed-%s", j->tail);
        st = sampler_emit_keys(s, c, d, DRIP__SAMPLER_EVENT_KIND__TARGET_CONFIRMED, "confirmed",
                               tail, j->corr, r->confirmed, r->n_confirmed, NULL);
    }
    if (st == DRIP_OK && r->n_reps) {
        Drip__DrawRecord rec = *d->head;
        rec.has_superseded = 1;
        rec.superseded = d->superseded;
        rec.replacements = r->reps;
        rec.n_replacements = r->n_reps;
        rec.selected = r->added;
        rec.n_selected = r->n_added;
        Drip__SamplerEvent ev = DRIP__SAMPLER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__SAMPLER_EVENT_KIND__TARGET_REPLACED;
        ev.record = &rec;
        char **keys = calloc(r->n_reps + 1, sizeof *keys);
        if (!keys) abort();
        for (size_t i = 0; i < r->n_reps; i++)
            keys[i] = r->reps[i]->rejected_uscc;
        ev.uscc = keys;
        ev.n_uscc = r->n_reps;
        ev.has_part = ev.has_parts = 1;
        ev.part = ev.parts = 1;
        snprintf(tail, sizeof tail, "d%u-replaced-%s", d->draw_no, j->tail);
        st = sampler_emit(s, c, d->task_code, d->lead_region, d->lead_dept, "replaced", tail,
                          j->corr, &ev);
        free(keys);
    }
    if (st == DRIP_OK && pending == 0 && !d->settled) {
        char no[16];
        snprintf(no, sizeof no, "%u", d->draw_no);
        const char *p[2] = {d->task_code, no};
        PGresult *u =
            db_query(c, "UPDATE draw SET settled = true WHERE task_code = $1 AND draw_no = $2::int",
                     2, p, &st);
        PQclear(u);
        if (st == DRIP_OK)
            st = sampler_emit_draw(s, c, d, DRIP__SAMPLER_EVENT_KIND__DRAW_SETTLED, "settled",
                                   "settled", j->corr,
                                   "every drawn target is confirmed or rejected");
        if (st == DRIP_OK)
            log_info("draw.settled", "task %s draw %u settled", d->task_code, d->draw_no);
    }
    return st;
}

static int confirm_tx(PGconn *c, void *arg)
{
    confirm_job *j = arg;
    j->replayed = j->emitted = 0;
    j->confirmed = j->replaced = 0;
    free(j->reply);
    j->reply = NULL;
    void *stored = NULL;
    size_t stored_len = 0;
    int st = inbox_lookup(c, "sampler.confirm", j->inbox_id, &stored, &stored_len);
    if (st < 0) return st;
    if (st == 1) {
        j->reply = stored;
        j->reply_len = stored_len;
        j->replayed = 1;
        return stored ? DRIP_OK : DRIP_EINTERNAL;
    }
    const Drip__ConfirmRequest *q = j->req;
    draw_row d;
    char key[160];
    st = sampler_task_resolve(c, q->plan_code, q->task_code, key, sizeof key, j->why, sizeof j->why);
    if (st == DRIP_ECONFLICT || st == DRIP_EVALUE) {
        j->reply = error_reply(j->corr, st, j->why, &j->reply_len);
        return DRIP_OK;
    }
    if (st == DRIP_OK) st = draw_row_load(c, key, 0, 1, &d);
    if (st == DRIP_ENOTFOUND) {
        snprintf(j->why, sizeof j->why, "task %s has not been drawn", q->task_code);
        j->reply = error_reply(j->corr, DRIP_ENOTFOUND, j->why, &j->reply_len);
        return DRIP_OK;
    }
    if (st != DRIP_OK) return st;
    if (!is_participant(&d, j->sp.dept)) {
        snprintf(j->why, sizeof j->why, "department %s does not take part in task %s", j->sp.dept,
                 d.task_code);
        j->reply = error_reply(j->corr, DRIP_EFORBIDDEN, j->why, &j->reply_len);
        draw_row_free(&d);
        return DRIP_OK;
    }
    int late = d.deadline >= 0 && codes_date_today_cst() > d.deadline;
    results r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; st == DRIP_OK && i < q->n_decisions; i++) {
        const char *u = q->decisions[i]->uscc;
        int dup = 0;
        for (size_t k = 0; u && k < i && !dup; k++)
            dup = q->decisions[k]->uscc && !strcmp(q->decisions[k]->uscc, u);
        if (dup)
            refuse(&r, u, "decided twice in this request");
        else
            st = decide(j, c, &d, q->decisions[i], late, &r);
    }
    for (int si = 0; st == DRIP_OK && si < DRAW_STRATA; si++)
        st = replace_stratum(j, c, &d, si, late, &r);
    uint32_t pending = 0;
    if (st == DRIP_OK) st = pending_count(c, &d, &pending);
    if (st == DRIP_OK) st = emit_all(j, c, &d, &r, pending);
    if (st == DRIP_OK) {
        Drip__ConfirmReply rep = DRIP__CONFIRM_REPLY__INIT;
        Drip__Envelope hdr;
        char id[37];
        envelope_new_id(id);
        envelope_fill(&hdr, id, j->corr, "SAMPLER", "000000");
        rep.header = &hdr;
        rep.has_error = 1;
        rep.error = 0;
        rep.accepted = r.accepted;
        rep.n_accepted = r.n_accepted;
        rep.replacements = r.reps;
        rep.n_replacements = r.n_reps;
        rep.rejected_reasons = r.refused;
        rep.n_rejected_reasons = r.n_refused;
        rep.has_pending = 1;
        rep.pending = pending;
        j->reply = sampler_pack(&rep.base, &j->reply_len);
        j->emitted = r.n_confirmed || r.n_reps || (pending == 0 && !d.settled);
        j->confirmed = (unsigned)r.n_confirmed;
        j->replaced = (unsigned)r.n_reps;
        int ist = inbox_record(c, "sampler.confirm", j->inbox_id, j->reply, j->reply_len);
        st = ist < 0 ? ist : ist == 1 ? DRIP_OK : DRIP_EAGAIN;
    }
    if (st == DRIP_OK)
        log_info("confirm.done",
                 "task %s draw %u dept %s: %zu decisions, %zu refused, %zu confirmed, "
                 "%zu replaced, %u pending%s",
                 d.task_code, d.draw_no, j->sp.dept, r.n_accepted, r.n_refused, r.n_confirmed,
                 r.n_reps, pending, late ? " (late)" : "");
    results_free(&r);
    draw_row_free(&d);
    return st;
}

static int confirm_work(PGconn *c, void *arg)
{
    confirm_job *j = arg;
    int st = sampler_sender_check(j->s, c, &j->sp, j->why, sizeof j->why);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL) return st;
    if (st != DRIP_OK) {
        j->reply = error_reply(j->corr, st, j->why, &j->reply_len);
        return DRIP_OK;
    }
    return db_transaction(c, confirm_tx, j);
}

static void confirm_done(int status, void *arg)
{
    confirm_job *j = arg;
    sampler *s = j->s;
    s->inflight--;
    if (status != DRIP_OK || !j->reply) {
        metrics_counter_inc(s->m_query_err, 1);
        sampler_reply_error(s, j->m, "confirm", j->corr, DRIP_EINTERNAL,
                            "the sampler could not record the decisions now; nothing was changed; "
                            "retry with the same msg_id");
    } else {
        bus_respond(s->bus, j->m, j->reply, j->reply_len);
        if (j->replayed) {
            metrics_counter_inc(s->m_replays, 1);
        } else {
            metrics_counter_inc(s->m_confirms, 1);
            metrics_counter_inc(s->m_replacements, j->replaced);
        }
    }
    if (j->emitted) outbox_relay_kick(s->relay);
    job_free(j);
}

void sampler_confirm_start(sampler *s, bus_msg *m, const subject_parts *sp)
{
    char why[256];
    Drip__ConfirmRequest *q = drip__confirm_request__unpack(NULL, bus_msg_size(m), bus_msg_data(m));
    int st = DRIP_OK;
    if (!q) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "payload is not a drip.ConfirmRequest protobuf message");
    } else {
        st = envelope_check(q->header, sp->dept, sp->region, why, sizeof why);
    }
    const char *corr = q && q->header ? q->header->msg_id : NULL;
    if (st == DRIP_OK && (!q->task_code || !*q->task_code)) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "task_code: required");
    }
    if (st == DRIP_OK && q->n_decisions == 0) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "decisions: at least one");
    }
    if (st == DRIP_OK && q->n_decisions > SAMPLER_MAX_DECISIONS) {
        st = DRIP_ETOOLARGE;
        snprintf(why, sizeof why, "%zu decisions in one request, at most %d", q->n_decisions,
                 SAMPLER_MAX_DECISIONS);
    }
    if (st == DRIP_OK && s->inflight >= SAMPLER_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "sampler busy; retry with the same msg_id");
    }
    if (st != DRIP_OK) {
        sampler_reply_error(s, m, "confirm", corr, st, why);
        if (q) drip__confirm_request__free_unpacked(q, NULL);
        bus_msg_destroy(m);
        return;
    }
    confirm_job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->s = s;
    j->m = m;
    j->sp = *sp;
    j->sp.dept = j->sp.buf + (sp->dept - sp->buf);
    j->sp.last = j->sp.buf + (sp->last - sp->buf);
    j->req = q;
    j->corr = corr;
    /* ids are per sender: two departments may pick the same msg_id */
    snprintf(j->inbox_id, sizeof j->inbox_id, "%s:%s", sp->dept, q->header->msg_id);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)j->inbox_id, strlen(j->inbox_id), h);
    draw_hex(h, 6, j->tail);
    s->inflight++;
    if (db_pool_submit(s->db, confirm_work, confirm_done, j) != DRIP_OK) {
        s->inflight--;
        sampler_reply_error(s, m, "confirm", corr, DRIP_EINTERNAL, "cannot queue work");
        j->m = NULL;
        bus_msg_destroy(m);
        j->req = NULL;
        drip__confirm_request__free_unpacked(q, NULL);
        free(j);
    }
}
