/* capacity.c — "before a draw, check capacity: enough eligible inspectors for the quota; say
 * so before drawing, not after" (MISSION §7a).
 *
 * Per participating department (lead and cooperating):
 *   eligible  its inspectors in the projection that are active, whose certificate expires on or
 *             after the task window's end (the order's date, UTC+8, when there is no window),
 *             and who hold every required_qualification of that department's items in the task
 *   capacity  eligible x DRIP_SAMPLER_CHECKS_PER_INSPECTOR (checks one inspector can do in a
 *             task window; default 20)
 *   need      total quota (from the population sizes) x inspectors_per_check
 * A department is short when capacity < need, or when one of its task items is unknown to the
 * projection (its qualifications cannot be checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

typedef struct {
    char **v;
    size_t n, cap;
} strset;

static void strset_add(strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = sampler_strdup(x);
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int holds_all(const Drip__Inspector *in, const strset *req)
{
    for (size_t i = 0; i < req->n; i++) {
        int found = 0;
        for (size_t j = 0; j < in->n_qualifications && !found; j++)
            found = !strcmp(in->qualifications[j], req->v[i]);
        if (!found) return 0;
    }
    return 1;
}

/* Eligible inspectors of `dept`. */
static int count_eligible(PGconn *c, const char *dept, const strset *req, const char *until,
                          uint64_t *out)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/", dept);
    const char *params[1] = {prefix};
    PGresult *r = PQexecParams(c,
                               "SELECT body FROM ref_record WHERE kind = 2 AND NOT retired"
                               " AND starts_with(key, $1)",
                               1, NULL, params, NULL, NULL, 1);
    int st = db_result_status(c, r, "inspectors");
    *out = 0;
    for (int i = 0; st == DRIP_OK && i < PQntuples(r); i++) {
        Drip__Change *ch = drip__change__unpack(NULL, (size_t)PQgetlength(r, i, 0),
                                                (const uint8_t *)PQgetvalue(r, i, 0));
        const Drip__Inspector *in = ch ? ch->inspector : NULL;
        if (in && (!in->has_active || in->active) && in->cert_expiry &&
            strcmp(in->cert_expiry, until) >= 0 && holds_all(in, req))
            (*out)++;
        if (ch) drip__change__free_unpacked(ch, NULL);
    }
    PQclear(r);
    return st;
}

int sampler_capacity(sampler *s, PGconn *c, const Drip__Task *task, int64_t at_ms,
                     char **participants, size_t n_participants, uint64_t total_quota, char *note,
                     size_t cap, int *short_)
{
    char until[11];
    if (task->window_end && codes_date_parse(task->window_end, NULL, NULL) == DRIP_OK)
        snprintf(until, sizeof until, "%s", task->window_end);
    else
        codes_date_format(sampler_day_cst(at_ms), until); /* the order's date, never "today" */
    uint32_t ipc = task->inspectors_per_check ? task->inspectors_per_check : 2;
    uint64_t need = total_quota * ipc;
    *short_ = 0;
    db_buf out;
    db_buf_init(&out);
    db_buf_printf(&out,
                  "capacity for %llu targets x %u inspectors per check (certificates valid "
                  "until %s, %d checks per inspector):",
                  (unsigned long long)total_quota, ipc, until, s->checks_per_inspector);
    int st = DRIP_OK;
    for (size_t p = 0; st == DRIP_OK && p < n_participants; p++) {
        const char *dept = participants[p];
        strset req = {0}, missing = {0};
        for (size_t i = 0; st == DRIP_OK && i < task->n_items; i++) {
            const Drip__DeptItems *di = task->items[i];
            if (!di->dept || strcmp(di->dept, dept) != 0) continue;
            for (size_t k = 0; k < di->n_item_codes; k++) {
                char key[128];
                snprintf(key, sizeof key, "%s/%s", dept, di->item_codes[k]);
                int gst;
                Drip__Change *ch = regproj_get(c, DRIP__RECORD_KIND__KIND_ITEM, key, &gst);
                if (!ch && gst != DRIP_ENOTFOUND) {
                    st = gst;
                    break;
                }
                if (!ch || !ch->item) {
                    strset_add(&missing, di->item_codes[k]);
                } else {
                    for (size_t q = 0; q < ch->item->n_required_qualifications; q++)
                        strset_add(&req, ch->item->required_qualifications[q]);
                }
                if (ch) drip__change__free_unpacked(ch, NULL);
            }
        }
        uint64_t eligible = 0;
        if (st == DRIP_OK) st = count_eligible(c, dept, &req, until, &eligible);
        if (st == DRIP_OK) {
            uint64_t have = eligible * (uint64_t)s->checks_per_inspector;
            int dept_short = have < need || missing.n > 0;
            db_buf_printf(&out, " %s: %llu eligible x %d = %llu checks for %llu needed%s", dept,
                          (unsigned long long)eligible, s->checks_per_inspector,
                          (unsigned long long)have, (unsigned long long)need,
                          have < need ? " (SHORT)" : " (ok)");
            if (req.n) {
                db_buf_puts(&out, " [qualifications:");
                for (size_t i = 0; i < req.n; i++)
                    db_buf_printf(&out, " %s", req.v[i]);
                db_buf_puts(&out, "]");
            }
            if (missing.n) {
                db_buf_puts(&out, " [items unknown to the sampler:");
                for (size_t i = 0; i < missing.n; i++)
                    db_buf_printf(&out, " %s", missing.v[i]);
                db_buf_puts(&out, "]");
            }
            db_buf_puts(&out, ";");
            if (dept_short) *short_ = 1;
        }
        strset_free(&req);
        strset_free(&missing);
    }
    if (st == DRIP_OK) {
        if (out.len && out.data[out.len - 1] == ';') out.data[--out.len] = '\0';
        snprintf(note, cap, "%s", out.data);
    }
    db_buf_free(&out);
    return st;
}
