/* order.c — performing a TASK_DRAW_ORDERED (drip-draw-v1, MISSION §6) inside the planner
 * consumer's transaction: a crash anywhere rolls everything back and the redelivered order draws
 * again, identically, because every input is fixed by the order (nonce, E, at_ms) and the
 * projection as of at_ms — never by "now".
 *
 *   checks     task known, not cancelled, nonce matches the published commitment, not drawn yet
 *              (or a redraw with a reason), quota mode and scope valid, lead department known
 *   read       one statement streams the population, unsorted, into the spool (spool.c): sorted
 *              runs in memory, spilled to an unlinked file past DRIP_SAMPLER_SORT_MEM_MB
 *   pass 1     the spool in line order: digest + strata sizes (the freeze)
 *   quotas     ratio per stratum or fixed count (largest remainder), from the sizes
 *   capacity   enough eligible inspectors per participating department, else refused unless forced
 *   seed       from nonce, digest and E
 *   pass 2     the spool again, in any order: tickets into the bounded per-stratum heaps. Both
 *              passes read the rows of one statement, i.e. of one snapshot: the population
 *              cannot move between them (it was read twice before, and compared)
 *   store      draw row (previous draw superseded, kept), members, events via the outbox
 * Memory: rows arrive one at a time (single-row mode), the spool holds one run; the selection
 * keeps sum(k_s) picks. */
#include <malloc.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

typedef struct {
    sampler *s;
    PGconn *c;
    const Drip__PlannerEvent *ev;
    const char *order_id;
    const Drip__Task *task;  /* the task drawn (borrowed from ev or stored_task) */
    Drip__Task *stored_task; /* unpacked from the task table */
    int stored_cancelled;
    int prev_draw_no; /* 0 = never drawn */
    char plan_code[128];
    char commitment[DRAW_HEX_LEN + 1];
    char nonce_hex[DRAW_HEX_LEN + 1];
    char lead_dept[40], lead_region[8];
    char subj_dept[40], subj_region[8]; /* where events go (lead, or the order's sender) */
    char jurisdiction[8];
    char **participants;
    size_t n_participants;
    pop_spec spec;
    pop_spool *spool;
    draw_digest *dg;
    draw_selector *sel;
    int frozen; /* pass 1 done: digest and sizes known */
    char digest[DRAW_HEX_LEN + 1];
    uint64_t sizes[DRAW_STRATA], quotas[DRAW_STRATA], total, total_quota;
    uint32_t ppm[DRAW_STRATA];
    int by_count;
    char seed[DRAW_HEX_LEN + 1];
    char capacity_note[4096];
    char why[SAMPLER_WHY];
} order;

static void order_free(order *o)
{
    if (o->stored_task) drip__task__free_unpacked(o->stored_task, NULL);
    for (size_t i = 0; i < o->n_participants; i++)
        free(o->participants[i]);
    free(o->participants);
    if (o->dg) draw_digest_destroy(o->dg);
    if (o->sel) draw_selector_destroy(o->sel);
    spool_destroy(o->spool);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- refusal -------------------------------------------------------------------------------- */

static void strata_fill(order *o, Drip__StratumRecord *st, Drip__StratumRecord **ptrs,
                        char codes[DRAW_STRATA][2], int with_quota)
{
    for (int i = 0; i < DRAW_STRATA; i++) {
        drip__stratum_record__init(&st[i]);
        codes[i][0] = DRAW_STRATUM_CODES[i];
        codes[i][1] = '\0';
        st[i].stratum = codes[i];
        st[i].has_size = 1;
        st[i].size = o->sizes[i];
        if (with_quota) {
            st[i].has_quota = 1;
            st[i].quota = o->quotas[i];
            if (!o->by_count) {
                st[i].has_ratio_ppm = 1;
                st[i].ratio_ppm = o->ppm[i];
            }
        }
        ptrs[i] = &st[i];
    }
}

/* Records the refusal and emits DRAW_REFUSED; the order is consumed (DRIP_OK). */
static int refuse(order *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(order *o, const char *fmt, ...)
{
    char reason[SAMPLER_WHY + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    const char *code = o->task && o->task->code ? o->task->code : o->ev->task->code;
    log_warn("draw.refused", "task %s (order %s): %s", code, o->order_id, reason);
    const char *params[3] = {code, o->order_id, reason};
    int st;
    PGresult *r =
        db_query(o->c, "INSERT INTO refusal (task_code, order_id, reason) VALUES ($1, $2, $3)", 3,
                 params, &st);
    PQclear(r);
    if (st != DRIP_OK) return st;
    metrics_counter_inc(o->s->m_refused, 1);
    if (!o->subj_dept[0] || strlen(o->subj_region) != 6) {
        log_error("draw.refused",
                  "task %s: no department to address DRAW_REFUSED to; not published", code);
        return DRIP_OK;
    }
    Drip__DrawRecord rec = DRIP__DRAW_RECORD__INIT;
    rec.task_code = (char *)sampler_task_code(code);
    rec.plan_code = o->plan_code[0] ? o->plan_code : NULL;
    rec.algorithm = "drip-draw-v1";
    rec.commitment = o->commitment[0] ? o->commitment : NULL;
    rec.entropy = o->ev->entropy ? o->ev->entropy : "";
    rec.entropy_source = o->ev->entropy_source;
    rec.has_frozen_at_ms = o->ev->has_at_ms;
    rec.frozen_at_ms = o->ev->at_ms;
    rec.participants = o->participants;
    rec.n_participants = o->n_participants;
    rec.capacity_note = o->capacity_note[0] ? o->capacity_note : NULL;
    Drip__StratumRecord strata[DRAW_STRATA], *sp[DRAW_STRATA];
    char codes[DRAW_STRATA][2];
    if (o->frozen) {
        rec.population_digest = o->digest;
        rec.has_population_size = 1;
        rec.population_size = o->total;
        strata_fill(o, strata, sp, codes, 1);
        rec.strata = sp;
        rec.n_strata = DRAW_STRATA;
        rec.has_total_quota = 1;
        rec.total_quota = o->total_quota;
    }
    Drip__SamplerEvent ev = DRIP__SAMPLER_EVENT__INIT;
    ev.has_kind = 1;
    ev.kind = DRIP__SAMPLER_EVENT_KIND__DRAW_REFUSED;
    ev.record = &rec;
    ev.reason = reason;
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)o->order_id, strlen(o->order_id), h);
    char tail[40], hx[13];
    draw_hex(h, 6, hx);
    snprintf(tail, sizeof tail, "refused-%s", hx);
    return sampler_emit(o->s, o->c, code, o->subj_region, o->subj_dept, "refused", tail,
                        o->order_id, &ev);
}

/* ---- checks --------------------------------------------------------------------------------- */

static int load_task(order *o, const char *code)
{
    const char *params[1] = {code};
    int st;
    PGresult *r =
        db_query(o->c, "SELECT plan_code, commitment, body, cancelled FROM task WHERE code = $1", 1,
                 params, &st);
    if (!r) return st;
    if (PQntuples(r) == 1) {
        if (!PQgetisnull(r, 0, 0))
            snprintf(o->plan_code, sizeof o->plan_code, "%s", PQgetvalue(r, 0, 0));
        if (!PQgetisnull(r, 0, 1))
            snprintf(o->commitment, sizeof o->commitment, "%s", PQgetvalue(r, 0, 1));
        if (!PQgetisnull(r, 0, 2)) {
            size_t len;
            unsigned char *b = db_bytea_decode(PQgetvalue(r, 0, 2), &len);
            if (b) o->stored_task = drip__task__unpack(NULL, len, b);
            PQfreemem(b);
        }
        o->stored_cancelled = PQgetvalue(r, 0, 3)[0] == 't';
    }
    PQclear(r);
    r = db_query(o->c, "SELECT coalesce(max(draw_no), 0) FROM draw WHERE task_code = $1", 1, params,
                 &st);
    if (!r) return st;
    o->prev_draw_no = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return DRIP_OK;
}

static void add_participant(order *o, const char *dept)
{
    for (size_t i = 0; i < o->n_participants; i++)
        if (!strcmp(o->participants[i], dept)) return;
    o->participants = realloc(o->participants, (o->n_participants + 1) * sizeof(char *));
    if (!o->participants) abort();
    o->participants[o->n_participants++] = sampler_strdup(dept);
}

/* Quota mode and ranges; fills ppm / by_count. DRIP_OK or a reason in o->why. */
static int check_quota_mode(order *o)
{
    const Drip__Task *t = o->task;
    int stratify = t->has_stratify ? t->stratify : 1;
    int modes = (t->has_ratio_ppm && t->ratio_ppm > 0) + (t->n_class_ratios > 0) +
                (t->has_count && t->count > 0);
    if (modes != 1) {
        snprintf(o->why, sizeof o->why,
                 "task: exactly one of ratio_ppm, class_ratios and count must be given (%d are)",
                 modes);
        return DRIP_EVALUE;
    }
    memset(o->ppm, 0, sizeof o->ppm);
    o->by_count = 0;
    if (t->has_ratio_ppm && t->ratio_ppm > 0) {
        if (t->ratio_ppm > DRAW_PPM_ONE) {
            snprintf(o->why, sizeof o->why, "task.ratio_ppm: %u is over 1000000", t->ratio_ppm);
            return DRIP_EVALUE;
        }
        for (int i = 0; i < DRAW_STRATA; i++)
            o->ppm[i] = t->ratio_ppm;
    } else if (t->n_class_ratios) {
        if (!stratify) {
            snprintf(o->why, sizeof o->why, "task.class_ratios: needs stratify (it is false)");
            return DRIP_EVALUE;
        }
        int seen[DRAW_STRATA] = {0};
        for (size_t i = 0; i < t->n_class_ratios; i++) {
            const Drip__ClassRatio *cr = t->class_ratios[i];
            int cc = cr->has_credit_class ? (int)cr->credit_class : 0;
            if (cc < 0 || cc > 4) {
                snprintf(o->why, sizeof o->why, "task.class_ratios[%zu]: unknown credit class %d",
                         i, cc);
                return DRIP_EENUM;
            }
            int idx = cc == 0 ? 4 : cc - 1;
            if (seen[idx]++) {
                snprintf(o->why, sizeof o->why, "task.class_ratios[%zu]: class %c given twice", i,
                         DRAW_STRATUM_CODES[idx]);
                return DRIP_EVALUE;
            }
            if (!cr->has_ratio_ppm || cr->ratio_ppm < 1 || cr->ratio_ppm > DRAW_PPM_ONE) {
                snprintf(o->why, sizeof o->why,
                         "task.class_ratios[%zu].ratio_ppm: must be 1..1000000", i);
                return DRIP_EVALUE;
            }
            o->ppm[idx] = cr->ratio_ppm;
        }
    } else {
        o->by_count = 1;
    }
    return DRIP_OK;
}

static int check_task(order *o)
{
    const Drip__Task *t = o->task;
    if (!t->has_target_kind || t->target_kind == 0 ||
        !protobuf_c_enum_descriptor_get_value(&drip__target_kind__descriptor, t->target_kind)) {
        snprintf(o->why, sizeof o->why, "task.target_kind: missing or unknown");
        return DRIP_EENUM;
    }
    if (!t->lead_dept || codes_dept_check(t->lead_dept, NULL) != DRIP_OK) {
        snprintf(o->why, sizeof o->why, "task.lead_dept: missing or malformed");
        return DRIP_EMISSING;
    }
    if (t->confirm_workdays < 1 || t->confirm_workdays > 30) {
        snprintf(o->why, sizeof o->why, "task.confirm_workdays: %u, must be 1..30",
                 t->confirm_workdays);
        return DRIP_EVALUE;
    }
    if (t->has_inspectors_per_check &&
        (t->inspectors_per_check < 1 || t->inspectors_per_check > 10)) {
        snprintf(o->why, sizeof o->why, "task.inspectors_per_check: %u, must be 1..10",
                 t->inspectors_per_check);
        return DRIP_EVALUE;
    }
    for (size_t i = 0; i < t->n_cooperating_depts; i++) {
        if (codes_dept_check(t->cooperating_depts[i], NULL) != DRIP_OK) {
            snprintf(o->why, sizeof o->why, "task.cooperating_depts[%zu]: malformed", i);
            return DRIP_EVALUE;
        }
    }
    if (t->scope && t->scope->has_capital_min && t->scope->has_capital_max &&
        t->scope->capital_min > t->scope->capital_max) {
        snprintf(o->why, sizeof o->why, "scope: capital_min %lld is above capital_max %lld",
                 (long long)t->scope->capital_min, (long long)t->scope->capital_max);
        return DRIP_EVALUE;
    }
    if (o->ev->entropy && codes_text_check(o->ev->entropy, 0, 256, NULL) != DRIP_OK) {
        snprintf(o->why, sizeof o->why,
                 "entropy: must be 0..256 characters without control characters");
        return DRIP_EVALUE;
    }
    return check_quota_mode(o);
}

/* ---- passes ------------------------------------------------------------------------------- */

static int read_row(const char *key, char stratum, void *arg)
{
    order *o = arg;
    int st = spool_add(o->spool, key, stratum, o->why, sizeof o->why);
    if (st != DRIP_OK) {
        log_error("draw.population", "%s", o->why);
        return st == DRIP_EVALUE ? DRIP_EINTERNAL : st;
    }
    return DRIP_OK;
}

static int pass1_row(const char *key, char stratum, void *arg)
{
    order *o = arg;
    int st = draw_digest_add(o->dg, key, stratum);
    if (st != DRIP_OK) {
        snprintf(o->why, sizeof o->why, "population line for '%.80s' rejected by the digest (%s)",
                 key, drip_status_name(st));
        log_error("draw.population", "%s", o->why);
        return DRIP_EINTERNAL;
    }
    return DRIP_OK;
}

/* ---- storing -------------------------------------------------------------------------------- */

static int max_id(PGconn *c, const char *table, int64_t *out)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s", table);
    int st;
    PGresult *r = db_query(c, sql, 0, NULL, &st);
    if (!r) return st;
    *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return DRIP_OK;
}

static int copy_members(order *o, uint32_t draw_no)
{
    int st =
        db_copy_begin(o->c, "COPY draw_member (task_code, draw_no, uscc, stratum, ticket, rank,"
                            " state) FROM STDIN");
    if (st != DRIP_OK) return st;
    db_buf row;
    db_buf_init(&row);
    for (int s = 0; st == DRIP_OK && s < DRAW_STRATA; s++) {
        const draw_pick *picks;
        size_t n = draw_selector_selected(o->sel, s, &picks);
        for (size_t i = 0; st == DRIP_OK && i < n; i++) {
            db_buf_copy_text(&row, o->task->code);
            db_buf_printf(&row, "\t%u\t", draw_no);
            db_buf_copy_text(&row, picks[i].key);
            db_buf_printf(&row, "\t%c\t", picks[i].stratum);
            db_buf_copy_bytea(&row, picks[i].ticket, 32);
            db_buf_printf(&row, "\t%llu\t%d\n", (unsigned long long)picks[i].rank,
                          (int)DRIP__TARGET_DECISION__DECISION_PENDING);
            if (row.len > (1u << 20)) {
                st = db_copy_put(o->c, row.data, row.len);
                db_buf_reset(&row);
            }
        }
    }
    if (st == DRIP_OK && row.len) st = db_copy_put(o->c, row.data, row.len);
    db_buf_free(&row);
    int est = db_copy_end(o->c);
    return st != DRIP_OK ? st : est;
}

/* The drawn members as copy_members stored them, in record order, for the DRAW_COMPLETED parts.
 * Pointers into o->sel; free *t, *hex and the array. */
static Drip__DrawnTarget **drawn_targets(order *o, size_t *n_out, Drip__DrawnTarget **t_out,
                                         char **hex_out)
{
    static char codes[DRAW_STRATA][2] = {"A", "B", "C", "D", "-"};
    const draw_pick *picks;
    size_t n = 0;
    for (int s = 0; s < DRAW_STRATA; s++)
        n += draw_selector_selected(o->sel, s, &picks);
    Drip__DrawnTarget *t = calloc(n ? n : 1, sizeof *t);
    Drip__DrawnTarget **v = calloc(n ? n : 1, sizeof *v);
    char *hex = malloc((n ? n : 1) * (DRAW_HEX_LEN + 1));
    if (!t || !v || !hex) abort();
    size_t i = 0;
    for (int s = 0; s < DRAW_STRATA; s++) {
        size_t k = draw_selector_selected(o->sel, s, &picks);
        for (size_t j = 0; j < k; j++, i++) {
            drip__drawn_target__init(&t[i]);
            t[i].uscc = (char *)picks[j].key;
            t[i].stratum = codes[s];
            t[i].ticket = hex + i * (DRAW_HEX_LEN + 1);
            draw_hex(picks[j].ticket, 32, t[i].ticket);
            t[i].has_rank = 1;
            t[i].rank = (uint32_t)picks[j].rank;
            t[i].has_state = 1;
            t[i].state = DRIP__TARGET_DECISION__DECISION_PENDING;
            v[i] = &t[i];
        }
    }
    *n_out = n;
    *t_out = t;
    *hex_out = hex;
    return v;
}

/* The confirmation deadline; -1 and a reason in note when the calendar year is not loaded. */
static int deadline_of(order *o, int32_t *out, char note[160])
{
    calendar *cal = NULL;
    int st = regproj_calendar(o->c, &cal);
    if (st != DRIP_OK) return st;
    char why[128] = "";
    st = calendar_add_workdays(cal, sampler_day_cst(o->ev->at_ms), (int)o->task->confirm_workdays,
                               out, why);
    calendar_destroy(cal);
    note[0] = '\0';
    if (st == DRIP_ENOTFOUND) {
        snprintf(note, 160, "%s: no confirmation deadline", why);
        *out = -1;
        return DRIP_OK;
    }
    return st;
}

static int store(order *o, uint32_t draw_no, Drip__DrawRecord *head, int32_t deadline,
                 const char *deadline_note, int settled)
{
    int st;
    if (o->prev_draw_no > 0) {
        const char *p[1] = {o->task->code};
        PGresult *r =
            db_query(o->c, "UPDATE draw SET superseded = true WHERE task_code = $1", 1, p, &st);
        PQclear(r);
        if (st != DRIP_OK) return st;
    }
    size_t tlen, hlen;
    uint8_t *tbody = sampler_pack(&o->task->base, &tlen);
    uint8_t *hbody = sampler_pack(&head->base, &hlen);
    db_buf parts;
    db_buf_init(&parts);
    db_buf_text_array(&parts, (const char *const *)o->participants, o->n_participants);
    char no[16], at[24], dwm[24], cwm[24], dl[11];
    snprintf(no, sizeof no, "%u", draw_no);
    snprintf(at, sizeof at, "%lld", (long long)o->ev->at_ms);
    snprintf(dwm, sizeof dwm, "%lld", (long long)o->spec.decision_wm);
    snprintf(cwm, sizeof cwm, "%lld", (long long)o->spec.confirm_wm);
    if (deadline >= 0) codes_date_format(deadline, dl);
    const char *v[17] = {o->task->code,
                         no,
                         o->plan_code[0] ? o->plan_code : NULL,
                         (const char *)tbody,
                         at,
                         o->lead_dept,
                         o->lead_region,
                         o->jurisdiction,
                         dwm,
                         cwm,
                         o->seed,
                         parts.data,
                         deadline >= 0 ? dl : NULL,
                         deadline_note[0] ? deadline_note : NULL,
                         (const char *)hbody,
                         settled ? "t" : "f",
                         NULL};
    int len[16] = {0, 0, 0, (int)tlen, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (int)hlen, 0};
    int fmt[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    PGresult *r = PQexecParams(
        o->c,
        "INSERT INTO draw (task_code, draw_no, plan_code, task_body, frozen_at_ms, lead_dept,"
        " lead_region, jurisdiction, decision_wm, confirm_wm, seed, participants, deadline,"
        " deadline_note, head, settled) VALUES ($1, $2::int, $3, $4, $5::bigint, $6, $7, $8,"
        " $9::bigint, $10::bigint, $11, $12::text[], $13::date, $14, $15, $16::bool)",
        16, NULL, v, len, fmt, 0);
    st = db_result_status(o->c, r, "insert draw");
    PQclear(r);
    free(tbody);
    free(hbody);
    db_buf_free(&parts);
    if (st == DRIP_OK) st = copy_members(o, draw_no);
    return st;
}

/* ---- the draw ------------------------------------------------------------------------------- */

static int run(order *o)
{
    sampler *s = o->s;
    PGconn *c = o->c;
    const Drip__PlannerEvent *ev = o->ev;
    const char *code = ev->task->code;
    struct timespec t0;

    int st = load_task(o, code);
    if (st != DRIP_OK) return st;
    /* The order carries the task as published; a bare order falls back on the stored one. */
    o->task = ev->task->lead_dept && *ev->task->lead_dept ? ev->task : o->stored_task;
    if (o->task && o->task->plan_code && *o->task->plan_code)
        snprintf(o->plan_code, sizeof o->plan_code, "%s", o->task->plan_code);
    if (o->task && o->task->commitment && *o->task->commitment)
        snprintf(o->commitment, sizeof o->commitment, "%s", o->task->commitment);
    if (ev->header && ev->header->dept && ev->header->region) {
        snprintf(o->subj_dept, sizeof o->subj_dept, "%s", ev->header->dept);
        snprintf(o->subj_region, sizeof o->subj_region, "%s", ev->header->region);
    }
    if (!o->task)
        return refuse(o, "task %s is unknown to the sampler (no TASK_PUBLISHED seen)", code);
    if (!ev->has_at_ms || ev->at_ms <= 0) return refuse(o, "the draw order has no at_ms");
    if (ev->at_ms > envelope_now_ms() + 300000)
        return refuse(o, "the draw order's at_ms is more than 5 minutes in the future");
    /* everything below reads the registry projection: it must hold every change before at_ms */
    if ((st = sampler_wait_registry(s, ev->at_ms)) != DRIP_OK) return st;
    if (o->task->lead_dept && codes_dept_check(o->task->lead_dept, NULL) == DRIP_OK)
        snprintf(o->subj_dept, sizeof o->subj_dept, "%s", o->task->lead_dept);
    if (o->task->lead_dept) add_participant(o, o->task->lead_dept);
    for (size_t i = 0; i < o->task->n_cooperating_depts; i++)
        add_participant(o, o->task->cooperating_depts[i]);

    /* lead department: its region addresses the events and bounds the population */
    if (o->task->lead_dept && *o->task->lead_dept) {
        int gst;
        Drip__Change *ch =
            regproj_get(c, DRIP__RECORD_KIND__KIND_DEPARTMENT, o->task->lead_dept, &gst);
        if (!ch && gst != DRIP_ENOTFOUND) return gst;
        if (ch && ch->department && ch->department->region &&
            codes_region_syntax(ch->department->region, NULL) == DRIP_OK) {
            snprintf(o->lead_dept, sizeof o->lead_dept, "%s", o->task->lead_dept);
            snprintf(o->lead_region, sizeof o->lead_region, "%s", ch->department->region);
            snprintf(o->subj_region, sizeof o->subj_region, "%s", ch->department->region);
        }
        if (ch) drip__change__free_unpacked(ch, NULL);
    }
    if (o->stored_cancelled ||
        (o->task->has_state && o->task->state == DRIP__TASK_STATE__CANCELLED))
        return refuse(o, "task %s is cancelled", code);
    if (!ev->has_nonce || ev->nonce.len != 32)
        return refuse(o, "the draw order carries no 32-byte nonce");
    draw_hex(ev->nonce.data, 32, o->nonce_hex);
    char expect[DRAW_HEX_LEN + 1];
    if ((st = draw_commitment(ev->nonce.data, expect)) != DRIP_OK) return st;
    if (!o->commitment[0]) return refuse(o, "task %s has no published commitment", code);
    if (strcmp(expect, o->commitment) != 0)
        return refuse(o, "the nonce does not match the published commitment %s", o->commitment);
    if (o->prev_draw_no > 0 && !(ev->has_redraw && ev->redraw))
        return refuse(
            o, "task %s was already drawn (draw %d); only a redraw with a reason draws again", code,
            o->prev_draw_no);
    if (ev->has_redraw && ev->redraw && (!ev->reason || !*ev->reason))
        return refuse(o, "a redraw needs a reason");
    if ((st = check_task(o)) != DRIP_OK) return refuse(o, "%s", o->why);
    if (!o->lead_dept[0])
        return refuse(o, "lead department %s is not in the sampler's registry projection",
                      o->task->lead_dept);

    /* the population's definition */
    if (!strcmp(o->lead_region, "000000"))
        snprintf(o->jurisdiction, sizeof o->jurisdiction, "%%");
    else
        tfilter_region_pattern(o->lead_region, o->jurisdiction);
    o->spec.task = o->task;
    o->spec.at_ms = ev->at_ms;
    o->spec.jurisdiction = o->jurisdiction;
    o->spec.lead_dept = o->lead_dept;
    o->spec.stratify = o->task->has_stratify ? o->task->stratify : 1;
    if ((st = max_id(c, "decision", &o->spec.decision_wm)) != DRIP_OK ||
        (st = max_id(c, "confirmation", &o->spec.confirm_wm)) != DRIP_OK)
        return st;
    if ((st = pop_check(&o->spec, o->why, sizeof o->why)) != DRIP_OK)
        return refuse(o, "%s", o->why);

    /* pass 1: the freeze */
    log_info("draw.begin", "task %s draw %d: freezing the population as of %lld", code,
             o->prev_draw_no + 1, (long long)ev->at_ms);
    clock_gettime(CLOCK_MONOTONIC, &t0); /* timings below: the draw itself, not the waiting */
    if (!(o->dg = draw_digest_create())) abort();
    if ((st = spool_create(&o->spool, s->spool_budget, s->spool_run_rows, s->spool_dir)) != DRIP_OK)
        return st;
    st = pop_stream(c, &o->spec, -1, read_row, o, &s->stopping, o->why, sizeof o->why);
    if (st == DRIP_OK && (st = spool_finish(o->spool, o->why, sizeof o->why)) != DRIP_OK)
        log_error("draw.population", "%s", o->why);
    if (st != DRIP_OK) return st;
    double t_read = ms_since(&t0);
    st = spool_each_sorted(o->spool, pass1_row, o, &s->stopping, o->why, sizeof o->why);
    if (st != DRIP_OK) return st;
    o->total = draw_digest_sizes(o->dg, o->sizes);
    if ((st = draw_digest_final(o->dg, o->digest)) != DRIP_OK) return st;
    o->frozen = 1;
    double t_pass1 = ms_since(&t0);

    /* quotas */
    st = o->by_count ? draw_quotas_count(o->sizes, o->task->count, o->quotas)
                     : draw_quotas_ratio(o->sizes, o->ppm, o->quotas);
    if (st != DRIP_OK) return refuse(o, "quotas cannot be computed (%s)", drip_status_name(st));
    o->total_quota = 0;
    for (int i = 0; i < DRAW_STRATA; i++)
        o->total_quota += o->quotas[i];

    /* capacity, before drawing */
    int is_short = 0;
    st = sampler_capacity(s, c, o->task, ev->at_ms, o->participants, o->n_participants,
                          o->total_quota, o->capacity_note, sizeof o->capacity_note, &is_short);
    if (st != DRIP_OK) return st;
    int forced = ev->has_force && ev->force;
    if (is_short && !forced)
        return refuse(o, "not enough eligible inspectors: %s", o->capacity_note);
    if (is_short) {
        db_buf note;
        db_buf_init(&note);
        db_buf_printf(&note, "FORCED despite a capacity shortfall (%s): %s",
                      ev->reason && *ev->reason ? ev->reason : "no reason given", o->capacity_note);
        size_t n = note.len < sizeof o->capacity_note - 1 ? note.len : sizeof o->capacity_note - 1;
        memcpy(o->capacity_note, note.data, n);
        o->capacity_note[n] = '\0';
        db_buf_free(&note);
    }

    /* seed, pass 2: the selection */
    if ((st = draw_seed(o->nonce_hex, o->digest, ev->entropy ? ev->entropy : "", o->seed)) !=
        DRIP_OK)
        return st;
    unsigned char probe[32]; /* the selector's own check, made before the threads start */
    if (draw_ticket(o->seed, sampler_task_code(code), "0", probe) != DRIP_OK)
        return refuse(o, "task code '%s' cannot be used in tickets", code);
    st = select_members(o->spool, s->pass2_threads, o->seed, sampler_task_code(code), o->quotas,
                        o->sizes, &s->stopping, &o->sel, o->why, sizeof o->why);
    if (st != DRIP_OK) {
        if (st != DRIP_ETIMEOUT) log_error("draw.select", "task %s: %s", code, o->why);
        return st;
    }
    spool_info si; /* the population is no longer needed: its memory goes before storing */
    spool_stats(o->spool, &si);
    spool_destroy(o->spool);
    o->spool = NULL;
    double t_pass2 = ms_since(&t0) - t_pass1;

    /* the record */
    uint32_t draw_no = (uint32_t)o->prev_draw_no + 1;
    int32_t deadline;
    char deadline_note[160];
    if ((st = deadline_of(o, &deadline, deadline_note)) != DRIP_OK) return st;
    char dl[11] = "";
    if (deadline >= 0) codes_date_format(deadline, dl);
    Drip__DrawRecord head = DRIP__DRAW_RECORD__INIT;
    head.task_code = (char *)sampler_task_code(code);
    head.plan_code = o->plan_code[0] ? o->plan_code : NULL;
    head.has_draw_no = 1;
    head.draw_no = draw_no;
    head.algorithm = "drip-draw-v1";
    head.commitment = o->commitment;
    head.nonce = o->nonce_hex;
    head.entropy = ev->entropy ? ev->entropy : "";
    head.entropy_source = ev->entropy_source ? ev->entropy_source : "";
    head.population_digest = o->digest;
    head.has_population_size = 1;
    head.population_size = o->total;
    head.has_frozen_at_ms = 1;
    head.frozen_at_ms = ev->at_ms;
    Drip__StratumRecord strata[DRAW_STRATA], *sp[DRAW_STRATA];
    char codes[DRAW_STRATA][2], thr[DRAW_STRATA][DRAW_HEX_LEN + 1];
    strata_fill(o, strata, sp, codes, 1);
    size_t selected = 0;
    for (int i = 0; i < DRAW_STRATA; i++) {
        unsigned char t[32];
        thr[i][0] = '\0';
        if (draw_selector_threshold(o->sel, i, t) == DRIP_OK) draw_hex(t, 32, thr[i]);
        strata[i].threshold = thr[i];
        const draw_pick *picks;
        selected += draw_selector_selected(o->sel, i, &picks);
    }
    head.strata = sp;
    head.n_strata = DRAW_STRATA;
    head.seed = o->seed;
    head.has_drawn_at_ms = 1;
    head.drawn_at_ms = envelope_now_ms();
    head.redraw_reason = ev->has_redraw && ev->redraw ? ev->reason : NULL;
    head.has_superseded = 1;
    head.superseded = 0;
    head.confirm_deadline = deadline >= 0 ? dl : NULL;
    head.participants = o->participants;
    head.n_participants = o->n_participants;
    head.capacity_note = o->capacity_note;
    head.has_total_quota = 1;
    head.total_quota = o->total_quota;
    if (o->by_count) {
        head.has_count = 1;
        head.count = o->task->count;
    }
    int settled = selected == 0;
    double t_mark = ms_since(&t0);
    if ((st = store(o, draw_no, &head, deadline, deadline_note, settled)) != DRIP_OK) return st;
    double t_store = ms_since(&t0) - t_mark;

    /* events: the freeze, the draw (in parts), and "settled" at once when nothing was drawn */
    Drip__DrawRecord frozen = DRIP__DRAW_RECORD__INIT;
    frozen.task_code = head.task_code;
    frozen.plan_code = head.plan_code;
    frozen.has_draw_no = 1;
    frozen.draw_no = draw_no;
    frozen.algorithm = head.algorithm;
    frozen.commitment = head.commitment;
    frozen.population_digest = head.population_digest;
    frozen.has_population_size = 1;
    frozen.population_size = o->total;
    frozen.has_frozen_at_ms = 1;
    frozen.frozen_at_ms = ev->at_ms;
    Drip__StratumRecord fstrata[DRAW_STRATA], *fsp[DRAW_STRATA];
    char fcodes[DRAW_STRATA][2];
    strata_fill(o, fstrata, fsp, fcodes, 0);
    frozen.strata = fsp;
    frozen.n_strata = DRAW_STRATA;
    Drip__SamplerEvent fev = DRIP__SAMPLER_EVENT__INIT;
    fev.has_kind = 1;
    fev.kind = DRIP__SAMPLER_EVENT_KIND__POPULATION_FROZEN;
    fev.record = &frozen;
    char tail[32];
    snprintf(tail, sizeof tail, "d%u-frozen", draw_no);
    st = sampler_emit(s, c, code, o->lead_region, o->lead_dept, "frozen", tail, o->order_id, &fev);
    draw_row d;
    memset(&d, 0, sizeof d);
    snprintf(d.task_code, sizeof d.task_code, "%s", code);
    d.draw_no = draw_no;
    snprintf(d.lead_dept, sizeof d.lead_dept, "%s", o->lead_dept);
    snprintf(d.lead_region, sizeof d.lead_region, "%s", o->lead_region);
    d.head = &head;
    if (st == DRIP_OK) {
        size_t nm;
        Drip__DrawnTarget *tm;
        char *hex;
        Drip__DrawnTarget **members = drawn_targets(o, &nm, &tm, &hex);
        st = sampler_emit_draw_members(s, c, &d, DRIP__SAMPLER_EVENT_KIND__DRAW_COMPLETED, "drawn",
                                       "drawn", o->order_id,
                                       deadline_note[0] ? deadline_note : NULL, members, nm);
        free(members);
        free(tm);
        free(hex);
    }
    if (st == DRIP_OK && settled)
        st = sampler_emit_draw(s, c, &d, DRIP__SAMPLER_EVENT_KIND__DRAW_SETTLED, "settled",
                               "settled", o->order_id, "nothing was drawn");
    if (st != DRIP_OK) return st;
    if (deadline_note[0])
        log_warn("draw.deadline", "task %s draw %u: %s", code, draw_no, deadline_note);
    double total_ms = ms_since(&t0);
    metrics_counter_inc(s->m_draws, 1);
    metrics_gauge_set(s->m_draw_ms, (int64_t)total_ms);
    metrics_gauge_set(s->m_draw_pop, (int64_t)o->total);
    log_info("draw.done",
             "task %s draw %u: population %llu (A %llu B %llu C %llu D %llu - %llu) digest %s, "
             "quota %llu, selected %zu, seed %s; pass 1 %.0f ms, pass 2 %.0f ms, total %.0f ms "
             "(read %.0f ms, sort %.0f ms in %zu run(s), %llu bytes spilled; store %.0f ms)",
             code, draw_no, (unsigned long long)o->total, (unsigned long long)o->sizes[0],
             (unsigned long long)o->sizes[1], (unsigned long long)o->sizes[2],
             (unsigned long long)o->sizes[3], (unsigned long long)o->sizes[4], o->digest,
             (unsigned long long)o->total_quota, selected, o->seed, t_pass1, t_pass2, total_ms,
             t_read, si.sort_ms, si.runs, (unsigned long long)si.spilled_bytes, t_store);
    return DRIP_OK;
}

int sampler_draw(sampler *s, PGconn *c, const Drip__PlannerEvent *ev)
{
    if (!ev->task || !ev->task->code || !*ev->task->code) {
        log_error("draw.order", "TASK_DRAW_ORDERED without a task code: dropped");
        return DRIP_EBADMSG;
    }
    order o;
    memset(&o, 0, sizeof o);
    o.s = s;
    o.c = c;
    o.ev = ev;
    o.order_id = ev->header && ev->header->msg_id ? ev->header->msg_id : "";
    int st = run(&o);
    order_free(&o);
    /* A draw's selection, tickets and event parts were malloc'd on this worker thread and pass 2's
     * threads; give the freed pages back now, or the next draw's peak stacks on top of them. */
    malloc_trim(0);
    return st;
}
