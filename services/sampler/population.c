/* population.c — the frozen population of a draw: one SQL query over the versioned projection,
 * from the stored inputs only (as-of time, task scope, jurisdiction, exclusion watermarks), so
 * that the draw, draw_population pages and replacements all see exactly the same members.
 *
 *   SELECT key, credit_class FROM target
 *    WHERE valid_from <= T AND valid_to > T AND NOT retired      -- the directory as of T
 *      AND kind = <task.target_kind> AND region LIKE <lead's subtree>
 *      AND <task.scope via tfilter>                              -- parameters only
 *      AND NOT EXISTS (decision by the lead dept within N days)  -- exclude_inspected_days
 *      AND (exempt class OR key NOT IN (targets confirmed >= cap times this year))
 *    [ORDER BY key]                                              -- pages only
 *
 * Whole-population streams (a draw, replacements) are not ordered here. Sorting the matching rows
 * in PostgreSQL cost more than scanning them (10 M targets: ~2 s of sequential scan, 4-6 s of
 * sort), and the draw ran it twice; replacements are order-independent (smallest tickets) and the
 * draw sorts its population itself, in the order of the lines (spool.c). Without ORDER BY the
 * planner takes a sequential scan, unless a scope narrows the keys enough for the primary key.
 * Pages of draw_population (key > after ORDER BY key LIMIT n) keep the ordered primary key, which
 * is right for them; key order is line order for keys whose characters all sort after ',' (USCCs,
 * "USCC/PROJECT").
 *
 * Rows come one at a time as the server sends them (libpq single-row mode), so memory does not
 * grow with the population. A cursor read by FETCH (what this was) copies every batch through a
 * tuplestore on the server: ~2x the time for the same rows (tests/bench/bench_draw.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

char pop_stratum(const pop_spec *p, int credit_class)
{
    if (!p->stratify || credit_class < 1 || credit_class > 4) return '-';
    return "ABCD"[credit_class - 1];
}

static char *fmt_ll(long long v)
{
    char *s = malloc(24);
    if (!s) abort();
    snprintf(s, 24, "%lld", v);
    return s;
}

#define ADD(q, value)                                                                              \
    do {                                                                                           \
        if ((pn = tfilter_param((q), (value))) < 0) goto toomany;                                  \
    } while (0)

/* Appends the population SELECT to q->sql. only: stratum index or -1; ordered: ORDER BY key;
 * after: NULL or a key; limit: 0 = all. */
static int pop_sql(const pop_spec *p, int only, int ordered, const char *after, unsigned limit,
                   tfilter_sql *q, char *why, size_t cap)
{
    const Drip__Task *t = p->task;
    int pn, pt, ptask;
    ADD(q, fmt_ll(p->at_ms));
    pt = pn;
    db_buf_printf(&q->sql,
                  "SELECT key, credit_class FROM target"
                  " WHERE valid_from <= to_timestamp($%d::bigint / 1000.0)"
                  " AND valid_to > to_timestamp($%d::bigint / 1000.0) AND NOT retired",
                  pt, pt);
    ADD(q, fmt_ll(t->has_target_kind ? (long long)t->target_kind : 0));
    db_buf_printf(&q->sql, " AND kind = $%d::smallint", pn);
    if (p->jurisdiction && *p->jurisdiction && strcmp(p->jurisdiction, "%") != 0) {
        ADD(q, sampler_strdup(p->jurisdiction));
        db_buf_printf(&q->sql, " AND region LIKE $%d", pn);
    }
    int st = tfilter_build(q, t->scope, &TFILTER_COLUMNS, why, cap);
    if (st != DRIP_OK) return st;
    /* every parameter must be used: the task code only when an exclusion needs it */
    ptask = 0;
    if (t->exclude_inspected_days > 0 || t->max_inspections_per_year > 0) {
        ADD(q, sampler_strdup(t->code ? t->code : ""));
        ptask = pn;
    }
    if (t->exclude_inspected_days > 0) {
        int pd, pw, pdays;
        ADD(q, sampler_strdup(p->lead_dept ? p->lead_dept : ""));
        pd = pn;
        ADD(q, fmt_ll(p->decision_wm));
        pw = pn;
        ADD(q, fmt_ll(t->exclude_inspected_days));
        pdays = pn;
        db_buf_printf(
            &q->sql,
            " AND NOT EXISTS (SELECT 1 FROM decision d WHERE d.uscc = target.key"
            " AND d.dept = $%d AND d.accept AND d.task_code <> $%d AND d.id <= $%d::bigint"
            " AND d.at > to_timestamp(($%d::bigint - $%d::bigint * 86400000) / 1000.0)"
            " AND d.at <= to_timestamp($%d::bigint / 1000.0))",
            pd, ptask, pw, pt, pdays, pt);
    }
    if (t->max_inspections_per_year > 0) {
        int year;
        codes_date_civil(sampler_day_cst(p->at_ms), &year, NULL, NULL);
        long long ys = (long long)codes_date_make(year, 1, 1) * 86400000LL - 8LL * 3600000LL;
        db_buf ex;
        db_buf_init(&ex);
        db_buf_puts(&ex, "{");
        for (size_t i = 0; i < t->n_cap_exempt_classes; i++)
            db_buf_printf(&ex, "%s%d", i ? "," : "", (int)t->cap_exempt_classes[i]);
        db_buf_puts(&ex, "}");
        int pex, pw, pys, pcap;
        ADD(q, ex.data);
        pex = pn;
        ADD(q, fmt_ll(p->confirm_wm));
        pw = pn;
        ADD(q, fmt_ll(ys));
        pys = pn;
        ADD(q, fmt_ll(t->max_inspections_per_year));
        pcap = pn;
        db_buf_printf(&q->sql,
                      " AND (credit_class = ANY($%d::smallint[]) OR key NOT IN ("
                      "SELECT c.uscc FROM confirmation c WHERE c.id <= $%d::bigint"
                      " AND c.task_code <> $%d AND c.at >= to_timestamp($%d::bigint / 1000.0)"
                      " AND c.at <= to_timestamp($%d::bigint / 1000.0)"
                      " GROUP BY c.uscc HAVING count(DISTINCT c.task_code) >= $%d::int))",
                      pex, pw, ptask, pys, pt, pcap);
    }
    if (only >= 0 && p->stratify) {
        /* stratum index 0..3 = classes A..D (1..4); 4 = '-' (unclassified, 0) */
        ADD(q, fmt_ll(only < 4 ? only + 1 : 0));
        db_buf_printf(&q->sql, " AND credit_class = $%d::smallint", pn);
    }
    if (after) {
        ADD(q, sampler_strdup(after));
        db_buf_printf(&q->sql, " AND key > $%d", pn);
    }
    if (ordered) db_buf_puts(&q->sql, " ORDER BY key");
    if (limit) {
        ADD(q, fmt_ll(limit));
        db_buf_printf(&q->sql, " LIMIT $%d::bigint", pn);
    }
    return DRIP_OK;
toomany:
    snprintf(why, cap, "scope: too many conditions");
    return DRIP_ETOOLARGE;
}

int pop_check(const pop_spec *p, char *why, size_t cap)
{
    tfilter_sql q;
    tfilter_sql_init(&q);
    int st = pop_sql(p, -1, 0, NULL, 0, &q, why, cap);
    tfilter_sql_free(&q);
    return st;
}

int pop_stream(PGconn *c, const pop_spec *p, int only, pop_row_fn fn, void *arg, atomic_int *stop,
               char *why, size_t cap)
{
    tfilter_sql q;
    tfilter_sql_init(&q);
    int st = pop_sql(p, only, 0, NULL, 0, &q, why, cap);
    if (st == DRIP_OK && !PQsendQueryParams(c, q.sql.data, q.np, NULL, q.params, NULL, NULL, 0))
        st = db_result_status(c, NULL, "population query");
    tfilter_sql_free(&q);
    if (st != DRIP_OK) return st;
    /* row by row as the server sends them (see the top of this file) */
    if (!PQsetSingleRowMode(c)) log_warn("population.stream", "single-row mode refused");
    PGresult *r;
    uint64_t rows = 0;
    /* After a failure the remaining rows are read and dropped: the connection must be idle again
     * before the caller rolls back (a cancel request could hit a later statement instead). */
    while ((r = PQgetResult(c))) {
        ExecStatusType es = PQresultStatus(r);
        if (es == PGRES_SINGLE_TUPLE || es == PGRES_TUPLES_OK) {
            int n = PQntuples(r);
            for (int i = 0; i < n && st == DRIP_OK; i++) {
                if (stop && ++rows % 8192 == 0 && atomic_load(stop)) {
                    snprintf(why, cap, "stopping");
                    st = DRIP_ETIMEOUT;
                    break;
                }
                const char *cc = PQgetvalue(r, i, 1);
                st = fn(PQgetvalue(r, i, 0), pop_stratum(p, (int)strtol(cc, NULL, 10)), arg);
            }
        } else {
            int e = db_result_status(c, r, "population query");
            if (st == DRIP_OK) st = e;
        }
        PQclear(r);
    }
    return st;
}

int pop_page(PGconn *c, const pop_spec *p, const char *after, unsigned limit, db_buf *lines,
             char *last_key, size_t last_cap, int *more, char *why, size_t cap)
{
    tfilter_sql q;
    tfilter_sql_init(&q);
    int st = pop_sql(p, -1, 1, after && *after ? after : NULL, limit + 1, &q, why, cap);
    PGresult *r = NULL;
    if (st == DRIP_OK) {
        r = PQexecParams(c, q.sql.data, q.np, NULL, q.params, NULL, NULL, 0);
        st = db_result_status(c, r, "population page");
    }
    tfilter_sql_free(&q);
    *more = 0;
    if (last_cap) last_key[0] = '\0';
    if (st == DRIP_OK) {
        int n = PQntuples(r);
        int take = n > (int)limit ? (int)limit : n;
        for (int i = 0; i < take; i++) {
            const char *key = PQgetvalue(r, i, 0);
            char line_tail[3] = {',', pop_stratum(p, (int)strtol(PQgetvalue(r, i, 1), NULL, 10)),
                                 '\n'};
            db_buf_puts(lines, key);
            db_buf_put(lines, line_tail, 3);
            if (i == take - 1) snprintf(last_key, last_cap, "%s", key);
        }
        *more = n > (int)limit;
    }
    PQclear(r);
    return st;
}
