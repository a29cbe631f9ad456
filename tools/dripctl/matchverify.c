#include "matchverify.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "draw.h"
#include "match.h"
#include "matchrender.h"
#include "status.h"

typedef struct {
    FILE *out;
    unsigned differences;
    unsigned outside; /* direct assignments listed */
} verdict;

static void differ(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differ(verdict *v, const char *fmt, ...)
{
    if (++v->differences > MATCHVERIFY_SHOWN) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", v->out);
    vfprintf(v->out, fmt, ap);
    fputc('\n', v->out);
    va_end(ap);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static int same(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ------------------------------------------------------------------------------------------------
 * The pool digest
 * ---------------------------------------------------------------------------------------------- */

static void sha256_hex(const char *p, size_t n, char hex[DRAW_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int l = 0;
    if (!EVP_Digest(p, n, md, &l, EVP_sha256(), NULL) || l != 32) abort();
    draw_hex(md, 32, hex);
}

/* Returns 1 when the published bytes hash to the run's digest. */
static int check_pool_digest(const matchverify_input *in, verdict *v, char hex[DRAW_HEX_LEN + 1])
{
    const Drip__MatchRun *run = in->run;
    uint64_t lines = 0;
    for (size_t i = 0; i < in->pool_len; i++)
        lines += in->pool[i] == '\n';
    sha256_hex(in->pool, in->pool_len, hex);
    fprintf(v->out, "  pool: %llu lines, %zu bytes, sha256 %s\n", (unsigned long long)lines,
            in->pool_len, hex);
    int ok = 1;
    if (!run->pool_digest || !*run->pool_digest) {
        differ(v, "pool_digest: the run publishes none");
        ok = 0;
    } else if (strcmp(run->pool_digest, hex) != 0) {
        differ(v, "pool_digest: the run says %s, the pool lines hash to %s", run->pool_digest, hex);
        ok = 0;
    }
    if (run->has_pool_lines && run->pool_lines != lines)
        differ(v, "pool_lines: the run says %llu, the pool has %llu lines",
               (unsigned long long)run->pool_lines, (unsigned long long)lines);
    if (in->pool_len && in->pool[in->pool_len - 1] != '\n')
        differ(v, "pool: the last line does not end with a newline");
    return ok;
}

/* ------------------------------------------------------------------------------------------------
 * The draw record: seed and confirmed targets
 * ---------------------------------------------------------------------------------------------- */

static void check_draw(const matchverify_input *in, verdict *v)
{
    const Drip__MatchRun *run = in->run;
    const Drip__DrawRecord *r = in->draw;
    if (!r) {
        if (in->draw_skipped)
            fputs("  draw record: not compared (offline: --record and --pool given; the seed and "
                  "the confirmed targets are taken as published; `dripctl draw verify` checks "
                  "the draw itself)\n",
                  v->out);
        return;
    }
    size_t nconf = 0;
    for (size_t i = 0; i < r->n_selected; i++)
        nconf += r->selected[i]->has_state &&
                 r->selected[i]->state == DRIP__TARGET_DECISION__DECISION_CONFIRMED;
    fprintf(v->out, "  draw %u: seed %s, %zu confirmed targets; %zu forms\n", r->draw_no,
            or_dash(r->seed), nconf, in->nforms);
    if (!same(r->seed, run->seed))
        differ(v, "seed: the run says %s, the record of draw %u says %s", or_dash(run->seed),
               r->draw_no, or_dash(r->seed));
    if (run->has_draw_no && r->draw_no != run->draw_no)
        differ(v, "draw_no: the run is of draw %u, drip-sampler answered with draw %u",
               run->draw_no, r->draw_no);
    if (r->task_code && run->task_code && strcmp(r->task_code, run->task_code) != 0)
        differ(v, "task_code: the run says %s, the draw record %s", run->task_code, r->task_code);
    if (r->plan_code && *r->plan_code && run->plan_code && *run->plan_code &&
        strcmp(r->plan_code, run->plan_code) != 0)
        differ(v, "plan_code: the run says %s, the draw record %s", run->plan_code, r->plan_code);
    if (r->has_superseded && r->superseded)
        fprintf(v->out, "  note: draw %u has since been superseded by a redraw\n", r->draw_no);

    /* the forms must be exactly the confirmed targets */
    const char **conf = malloc((r->n_selected + 1) * sizeof *conf);
    const char **fu = malloc((in->nforms + 1) * sizeof *fu);
    if (!conf || !fu) abort();
    size_t nc = 0, nf = 0;
    for (size_t i = 0; i < r->n_selected; i++) {
        const Drip__DrawnTarget *t = r->selected[i];
        if (t->has_state && t->state == DRIP__TARGET_DECISION__DECISION_CONFIRMED && t->uscc)
            conf[nc++] = t->uscc;
    }
    for (size_t i = 0; i < in->nforms; i++)
        if (in->forms[i]->uscc) fu[nf++] = in->forms[i]->uscc;
    qsort(conf, nc, sizeof *conf, str_cmp);
    qsort(fu, nf, sizeof *fu, str_cmp);
    size_t i = 0, k = 0;
    while (i < nc || k < nf) {
        int c = i == nc ? 1 : k == nf ? -1 : strcmp(conf[i], fu[k]);
        if (c < 0)
            differ(v, "target %s is confirmed in draw %u but has no form", conf[i++], r->draw_no);
        else if (c > 0)
            differ(v, "form %s: not a confirmed target of draw %u", fu[k++], r->draw_no);
        else
            i++, k++;
    }
    free(conf);
    free(fu);
}

/* ------------------------------------------------------------------------------------------------
 * Rebuilding the algorithm's input
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    match_dept md[MATCH_MAX_DEPTS];
    size_t n;
} depts;

static int dept_of(const depts *d, const char *code)
{
    for (size_t i = 0; code && i < d->n; i++)
        if (!strcmp(d->md[i].dept, code)) return (int)i;
    return -1;
}

static int md_cmp(const void *a, const void *b)
{
    return strcmp(((const match_dept *)a)->dept, ((const match_dept *)b)->dept);
}

/* run.depts -> match_dept in byte order of the code (the order slots are drawn in). Team
 * departments field inspectors_per_check members per team (DeptPool.required counts the team as
 * one). Returns 0 (after reporting) when the departments cannot be an input of drip-match-v1. */
static int build_depts(const Drip__MatchRun *run, depts *out, verdict *v)
{
    out->n = 0;
    if (run->n_depts == 0 || run->n_depts > MATCH_MAX_DEPTS) {
        differ(v, "run: %zu departments (drip-match-v1 takes 1..%d)", run->n_depts,
               MATCH_MAX_DEPTS);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < run->n_depts; i++) {
        const Drip__DeptPool *p = run->depts[i];
        match_dept *m = &out->md[out->n++];
        m->dept = p->dept ? p->dept : "";
        m->teams = p->has_teams && p->teams;
        m->required = m->teams && run->has_inspectors_per_check && run->inspectors_per_check
                          ? run->inspectors_per_check
                          : p->required;
        m->experts = p->experts_required;
        if (!*m->dept || strchr(m->dept, ',') || strchr(m->dept, ':')) {
            differ(v, "run.depts[%zu]: '%s' is not a department code", i, m->dept);
            ok = 0;
        } else if (m->required > MATCH_MAX_REQUIRED || (!m->teams && m->required == 0)) {
            differ(v, "run.depts[%zu] %s: %u members per form (drip-match-v1 takes 1..%d)", i,
                   m->dept, m->required, MATCH_MAX_REQUIRED);
            ok = 0;
        } else if (m->experts > MATCH_MAX_EXPERTS) {
            differ(v, "run.depts[%zu] %s: %u experts per form (drip-match-v1 takes 0..%d)", i,
                   m->dept, m->experts, MATCH_MAX_EXPERTS);
            ok = 0;
        }
    }
    qsort(out->md, out->n, sizeof *out->md, md_cmp);
    for (size_t i = 1; i < out->n; i++)
        if (!strcmp(out->md[i].dept, out->md[i - 1].dept)) {
            differ(v, "run.depts: %s is listed twice", out->md[i].dept);
            ok = 0;
        }
    return ok;
}

typedef struct {
    size_t dept, line;
    const char *region;
    match_cand c;
} pline;

static int pline_cmp(const void *a, const void *b)
{
    const pline *x = a, *y = b;
    if (x->dept != y->dept) return x->dept < y->dept ? -1 : 1;
    int c = strcmp(x->region, y->region);
    if (c) return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Splits the pool lines (in `buf`, a writable copy) and adds one pool per (D, R). Returns the
 * number of lines that could not be used (reported). */
static size_t add_pools(match *m, const depts *d, char *buf, size_t len, verdict *v)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += buf[i] == '\n';
    pline *pl = malloc(cap * sizeof *pl);
    if (!pl) abort();
    size_t n = 0, bad = 0, ln = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        *e = '\0';
        ln++;
        char *f[6];
        int nf = 0;
        f[nf++] = p;
        for (char *q = p; *q && nf <= 6; q++)
            if (*q == ',') {
                *q = '\0';
                if (nf < 6) f[nf] = q + 1;
                nf++;
            }
        p = e + 1;
        int dept = nf == 6 ? dept_of(d, f[0]) : -1;
        int tier_ok =
            nf == 6 && f[2][0] >= '0' && f[2][0] <= '9' &&
            (!f[2][1] || (f[2][1] >= '0' && f[2][1] <= '9' && !f[2][2] && f[2][0] != '0'));
        int role_ok = nf == 6 && (!strcmp(f[4], "E") || !strcmp(f[4], "-"));
        if (nf != 6) {
            differ(v,
                   "pool line %zu: %d fields, expected 6 (<D>,<R>,<tier>,<DEPT/ID>,<E|->,<team>)",
                   ln, nf);
        } else if (dept < 0) {
            differ(v, "pool line %zu: department %s is not a department of the run", ln, f[0]);
        } else if (!*f[1] || !tier_ok || !role_ok || !strchr(f[3], '/')) {
            differ(v, "pool line %zu: malformed (region '%s', tier '%s', inspector '%s', '%s')", ln,
                   f[1], f[2], f[3], f[4]);
        } else {
            pline *x = &pl[n++];
            x->dept = (size_t)dept;
            x->line = ln;
            x->region = f[1];
            x->c.key = f[3];
            x->c.team = f[5];
            x->c.tier = atoi(f[2]);
            x->c.expert = f[4][0] == 'E';
            continue;
        }
        bad++;
    }
    qsort(pl, n, sizeof *pl, pline_cmp);
    match_cand *cands = malloc((n + 1) * sizeof *cands);
    if (!cands) abort();
    for (size_t i = 0; i < n;) {
        size_t j = i, k = 0;
        while (j < n && pl[j].dept == pl[i].dept && !strcmp(pl[j].region, pl[i].region))
            cands[k++] = pl[j++].c;
        int st = match_pool_add(m, pl[i].dept, pl[i].region, cands, k);
        if (st < 0) {
            differ(v, "pool of %s in region %s (lines from %zu): drip-match-v1 refuses it (%s%s)",
                   d->md[pl[i].dept].dept, pl[i].region, pl[i].line, drip_status_name(st),
                   st == DRIP_ECONFLICT ? ": an inspector listed twice in one tier" : "");
            bad += k;
        }
        i = j;
    }
    free(cands);
    free(pl);
    return bad;
}

/* Published slot of department `code` on a form (NULL if none). */
static const Drip__DeptSlot *slot_of(const Drip__Form *f, const char *code)
{
    for (size_t i = 0; i < f->n_depts; i++)
        if (same(f->depts[i]->dept, code)) return f->depts[i];
    return NULL;
}

/* qsort has no context argument: the forms being sorted (one sort at a time, single-threaded). */
static const Drip__Form *const *sort_forms;

/* Form indices by target key, then by index (so the first published copy comes first). */
static int form_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(sort_forms[x]->uscc, sort_forms[y]->uscc);
    return c ? c : (x < y ? -1 : x > y);
}

/* Adds the forms with their exclusions; idx[i] = the form's index in m, or -1 when it could not
 * be added (reported). */
static void add_forms(match *m, const depts *d, const matchverify_input *in, int *idx, verdict *v)
{
    /* a target twice: the later copy is reported and left out */
    size_t n = in->nforms;
    size_t *order = malloc((n + 1) * sizeof *order);
    if (!order) abort();
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        const Drip__Form *f = in->forms[i];
        idx[i] = 0;
        if (!f->uscc || draw_key_check(f->uscc) != DRIP_OK) {
            differ(v, "forms[%zu]: '%s' is not a target key", i, or_dash(f->uscc));
            idx[i] = -1;
        } else {
            order[nk++] = i;
        }
    }
    sort_forms = in->forms;
    qsort(order, nk, sizeof *order, form_cmp);
    for (size_t i = 1; i < nk; i++)
        if (!strcmp(in->forms[order[i]]->uscc, in->forms[order[i - 1]]->uscc)) {
            differ(v, "form %s is published twice", in->forms[order[i]]->uscc);
            idx[order[i]] = -1;
        }
    free(order);
    for (size_t i = 0; i < n; i++) {
        const Drip__Form *f = in->forms[i];
        if (idx[i] < 0) continue;
        if (!f->target_region || !*f->target_region) {
            differ(v, "form %s: no target_region, so its pools are unknown; left out", f->uscc);
            idx[i] = -1;
            continue;
        }
        int fi = match_form_add(m, f->uscc, f->target_region);
        if (fi < 0) {
            differ(v, "form %s: drip-match-v1 refuses it (region '%s': %s); left out", f->uscc,
                   f->target_region, drip_status_name(fi));
            idx[i] = -1;
            continue;
        }
        idx[i] = fi;
        for (size_t s = 0; s < f->n_depts; s++) {
            const Drip__DeptSlot *slot = f->depts[s];
            int dd = dept_of(d, slot->dept);
            if (dd < 0) {
                differ(v, "form %s: a slot of %s, which is not a department of the run", f->uscc,
                       or_dash(slot->dept));
                continue;
            }
            if (slot_of(f, slot->dept) != slot) {
                differ(v, "form %s: two slots of %s", f->uscc, slot->dept);
                continue;
            }
            for (size_t x = 0; x < slot->n_exclusions; x++) {
                const Drip__Exclusion *e = slot->exclusions[x];
                int reason = e->has_reason ? (int)e->reason : 0;
                if (match_form_exclude(m, (size_t)fi, (size_t)dd, e->inspector ? e->inspector : "",
                                       reason) != DRIP_OK)
                    differ(v, "form %s, %s: exclusion of '%s' (reason %d) is not valid", f->uscc,
                           slot->dept, or_dash(e->inspector), reason);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 * Comparing
 * ---------------------------------------------------------------------------------------------- */

static int source_of_tier(int tier)
{
    return tier == 0   ? DRIP__SLOT_SOURCE__SOURCE_LOCAL
           : tier == 1 ? DRIP__SLOT_SOURCE__SOURCE_PARENT
                       : DRIP__SLOT_SOURCE__SOURCE_NEIGHBOUR;
}

static const char *word(const char *w)
{
    return w ? w : "?";
}

/* Appends "; what: form A, drip-match-v1 B" to buf. */
static void diffpart(char *buf, size_t cap, const char *what, const char *form, const char *calc)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s: form %s, drip-match-v1 %s", n ? "; " : "", what, form, calc);
}

typedef struct {
    size_t slots, units, direct;
} counts;

static void compare_slot(const char *label, const char *dept, const match_slot *s,
                         const Drip__DeptSlot *ps, verdict *v, counts *cnt)
{
    size_t k = 0;
    unsigned direct_members = 0, direct_experts = 0;
    for (size_t i = 0; i < ps->n_inspectors; i++) {
        const Drip__FormInspector *p = ps->inspectors[i];
        int role = p->has_role ? (int)p->role : 0;
        if (p->has_source && p->source == DRIP__SLOT_SOURCE__SOURCE_DIRECT) {
            cnt->direct++;
            if (role == DRIP__SLOT_ROLE__ROLE_EXPERT)
                direct_experts++;
            else
                direct_members++;
            if (++v->outside <= MATCHVERIFY_SHOWN)
                fprintf(v->out, "  outside the draw: %s, %s: %s (%s) assigned directly by %s: %s\n",
                        label, dept, or_dash(p->inspector), word(match_role_word(role)),
                        or_dash(p->assigned_by), or_dash(p->reason));
            continue;
        }
        if (k >= s->npicks) {
            differ(v, "%s, %s: %s (%s) is on the form, but drip-match-v1 draws nobody more", label,
                   dept, or_dash(p->inspector), word(match_role_word(role)));
            continue;
        }
        const match_pick *q = &s->picks[k++];
        cnt->units++;
        char want[DRAW_HEX_LEN + 1], buf[1024] = "", a[64], b[64];
        draw_hex(q->ticket, 32, want);
        int src = p->has_source ? (int)p->source : DRIP__SLOT_SOURCE__SOURCE_LOCAL;
        int want_src = source_of_tier(q->tier);
        unsigned load = p->has_load ? p->load : 0;
        if (!same(p->inspector, q->key))
            diffpart(buf, sizeof buf, "inspector", or_dash(p->inspector), q->key);
        if (role != q->role)
            diffpart(buf, sizeof buf, "role", word(match_role_word(role)),
                     word(match_role_word(q->role)));
        if (src != want_src)
            diffpart(buf, sizeof buf, "source", word(match_source_word(src)),
                     word(match_source_word(want_src)));
        if (load != q->load) {
            snprintf(a, sizeof a, "%u", load);
            snprintf(b, sizeof b, "%u", q->load);
            diffpart(buf, sizeof buf, "load", a, b);
        }
        if (!same(p->ticket, want)) diffpart(buf, sizeof buf, "ticket", or_dash(p->ticket), want);
        if (*buf) differ(v, "%s, %s, unit %zu: %s", label, dept, k, buf);
    }
    for (; k < s->npicks; k++)
        differ(v, "%s, %s: drip-match-v1 also draws %s (%s, load %u), missing on the form", label,
               dept, s->picks[k].key, word(match_role_word(s->picks[k].role)), s->picks[k].load);

    /* shortfalls: a direct assignment may have filled what the draw left open */
    unsigned sb = ps->has_short_by ? ps->short_by : 0;
    int unstaffed = ps->has_unstaffed && ps->unstaffed;
    unsigned filled = s->short_by > direct_members ? s->short_by - direct_members : 0;
    if (sb != s->short_by && !(direct_members && sb == filled))
        differ(v, "%s, %s: short_by is %u, drip-match-v1 leaves %u open%s", label, dept, sb,
               s->short_by, direct_members ? " before the direct assignments" : "");
    if (unstaffed != (sb > 0))
        differ(v, "%s, %s: unstaffed is %s with short_by %u", label, dept,
               unstaffed ? "true" : "false", sb);
    int es = ps->has_experts_short && ps->experts_short;
    if (es != (s->experts_short != 0) && !(direct_experts && !es))
        differ(v, "%s, %s: experts_short is %s, drip-match-v1 says %s", label, dept,
               es ? "true" : "false", s->experts_short ? "true" : "false");
    cnt->slots++;
}

static void compare_forms(match *m, const depts *d, const matchverify_input *in, const int *idx,
                          verdict *v, counts *cnt)
{
    for (size_t i = 0; i < in->nforms; i++) {
        if (idx[i] < 0) continue;
        const Drip__Form *f = in->forms[i];
        size_t fi = (size_t)idx[i], seq = match_form_seq(m, fi);
        char label[160], want[DRAW_HEX_LEN + 1];
        snprintf(label, sizeof label, "form #%zu %s", seq, f->uscc);
        if (!f->has_seq || f->seq != seq)
            differ(v, "form %s: seq is %u, drip-match-v1 processes it as #%zu", f->uscc,
                   f->has_seq ? f->seq : 0, seq);
        draw_hex(match_form_ticket(m, fi), 32, want);
        if (!same(f->target_ticket, want))
            differ(v, "%s: target_ticket is %s, drip-match-v1 gives %s", label,
                   or_dash(f->target_ticket), want);
        for (size_t k = 0; k < d->n; k++) {
            const match_slot *s = match_slot_get(m, fi, k);
            const Drip__DeptSlot *ps = slot_of(f, d->md[k].dept);
            if (!ps) {
                differ(v, "%s: no slot of %s", label, d->md[k].dept);
                continue;
            }
            if (s) compare_slot(label, d->md[k].dept, s, ps, v, cnt);
        }
    }
}

static void recompute(const matchverify_input *in, int digest_ok, verdict *v, counts *cnt)
{
    const Drip__MatchRun *run = in->run;
    depts d;
    if (!build_depts(run, &d, v)) return;
    match *m = NULL;
    int st = match_create(&m, run->seed ? run->seed : "", run->task_code ? run->task_code : "",
                          d.md, d.n);
    if (st != DRIP_OK) {
        differ(v,
               "the run cannot be recomputed: %s (seed '%s' must be 64 lower-case hex, task "
               "'%s' a bare task code)",
               drip_status_name(st), or_dash(run->seed), or_dash(run->task_code));
        return;
    }
    char *buf = malloc(in->pool_len + 1);
    if (!buf) abort();
    memcpy(buf, in->pool, in->pool_len);
    buf[in->pool_len] = '\0';
    size_t bad = add_pools(m, &d, buf, in->pool_len, v);
    if (digest_ok && bad == 0) {
        const char *lines;
        size_t len, nlines;
        char hex[DRAW_HEX_LEN + 1];
        if (match_pool_lines(m, &lines, &len, &nlines, hex) != DRIP_OK)
            differ(v, "pool: the lines could not be re-serialised");
        else if (strcmp(hex, run->pool_digest) != 0)
            differ(v,
                   "pool: the lines are not canonical (sorted by byte order, each (D, R, "
                   "tier, inspector) once); written canonically they hash to %s",
                   hex);
    }
    int *idx = malloc((in->nforms + 1) * sizeof *idx);
    if (!idx) abort();
    add_forms(m, &d, in, idx, v);
    st = match_run(m);
    if (st != DRIP_OK)
        differ(v, "drip-match-v1 could not run on the published input (%s)", drip_status_name(st));
    else
        compare_forms(m, &d, in, idx, v, cnt);
    free(idx);
    free(buf); /* match.h copied every string it keeps */
    match_destroy(m);
}

int matchverify_run(const matchverify_input *in, FILE *out)
{
    const Drip__MatchRun *run = in->run;
    verdict v = {.out = out};
    counts cnt = {0};
    fprintf(out, "verifying the match of task %s (plan %s), draw %u, %s\n", or_dash(run->task_code),
            or_dash(run->plan_code), run->draw_no, or_dash(run->algorithm));
    if (run->algorithm && *run->algorithm && strcmp(run->algorithm, MATCH_ALGORITHM) != 0)
        differ(&v, "algorithm: the run says %s; this dripctl verifies %s", run->algorithm,
               MATCH_ALGORITHM);
    if (run->has_forms && run->forms != in->nforms)
        differ(&v, "forms: the run says %u, %zu were published", run->forms, in->nforms);
    char hex[DRAW_HEX_LEN + 1];
    int digest_ok = check_pool_digest(in, &v, hex);
    check_draw(in, &v);
    recompute(in, digest_ok, &v, &cnt);
    if (v.outside > MATCHVERIFY_SHOWN)
        fprintf(out, "  ... and %u more direct assignments\n", v.outside - MATCHVERIFY_SHOWN);
    if (v.differences > MATCHVERIFY_SHOWN)
        fprintf(out, "  ... and %u more differences\n", v.differences - MATCHVERIFY_SHOWN);
    fprintf(out,
            "  checked %zu forms, %zu slots, %zu drawn inspectors; %zu direct assignments "
            "outside the draw\n",
            in->nforms, cnt.slots, cnt.units, cnt.direct);
    if (v.differences == 0) {
        fputs("VALID\n", out);
        return DRIP_OK;
    }
    fprintf(out, "INVALID (%u difference%s)\n", v.differences, v.differences == 1 ? "" : "s");
    return DRIP_EVALUE;
}
