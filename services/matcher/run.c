/* run.c — one matching run (docs/match.md), inside the transaction of the settling event:
 *
 *   inputs   the task (items per department, inspectors per check, window), the draw's seed and
 *            confirmed targets, each department's items (tags, methods, experts) and record
 *            (teams, parent, neighbours), the inspectors of every department involved
 *   pools    per (participating department, target region): eligible inspectors by tier
 *   excl.    recusals (Inspector.recusals) and rotation (the target's previous form, same dept)
 *   draw     common/match.c
 *   outputs  form + form_member rows (COPY), the run row with the report and pool lines, and the
 *            events — one per form, one per inspector, the run, unstaffed lists — in one COPY into
 *            the outbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "codes.h"
#include "draw.h"
#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "status.h"

/* qsort with a NULL base is undefined even for n = 0 */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(base, n, size, cmp);
}

/* ---- inspectors of one department -------------------------------------------------------------- */

typedef struct {
    Drip__Inspector *p; /* owned by the Change in chs */
    char key[80];
    const char *region; /* office region (default: the department's) */
    int32_t expiry;     /* days, or -1 when absent/bad */
} insp;

typedef struct {
    char code[40];
    int known, active;
    char region[8];
    Drip__Change *dept; /* the department record (NULL if unknown) */
    Drip__Change **chs; /* inspector records */
    insp *v;
    size_t n;
} dept_data;

static int cmp_insp(const void *a, const void *b)
{
    return strcmp(((const insp *)a)->key, ((const insp *)b)->key);
}

static int dept_load(PGconn *c, const char *code, dept_data *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->code, sizeof d->code, "%s", code);
    int st;
    d->dept = regproj_get(c, DRIP__RECORD_KIND__KIND_DEPARTMENT, code, &st);
    if (!d->dept && st != DRIP_ENOTFOUND) return st;
    if (d->dept && d->dept->department) {
        d->known = 1;
        d->active = !d->dept->department->has_active || d->dept->department->active;
        snprintf(d->region, sizeof d->region, "%s",
                 d->dept->department->region ? d->dept->department->region : "");
    }
    char lo[48], hi[48];
    snprintf(lo, sizeof lo, "%s/", code);
    snprintf(hi, sizeof hi, "%s0", code); /* '0' follows '/' */
    const char *v[2] = {lo, hi};
    PGresult *r = PQexecParams(c,
                               "SELECT body FROM ref_record WHERE kind = 2 AND NOT retired"
                               " AND key >= $1 AND key < $2 ORDER BY key",
                               2, NULL, v, NULL, NULL, 1);
    st = db_result_status(c, r, "inspectors load");
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    size_t n = (size_t)PQntuples(r);
    d->chs = calloc(n ? n : 1, sizeof *d->chs);
    d->v = calloc(n ? n : 1, sizeof *d->v);
    if (!d->chs || !d->v) abort();
    for (size_t i = 0; i < n; i++) {
        Drip__Change *ch = drip__change__unpack(NULL, (size_t)PQgetlength(r, (int)i, 0),
                                                (const uint8_t *)PQgetvalue(r, (int)i, 0));
        if (!ch || !ch->inspector || !ch->key) {
            if (ch) drip__change__free_unpacked(ch, NULL);
            continue;
        }
        d->chs[d->n] = ch;
        insp *x = &d->v[d->n++];
        x->p = ch->inspector;
        snprintf(x->key, sizeof x->key, "%s", ch->key);
        x->region = x->p->region && *x->p->region ? x->p->region : d->region;
        if (!x->p->cert_expiry || codes_date_parse(x->p->cert_expiry, &x->expiry, NULL) != DRIP_OK)
            x->expiry = -1;
    }
    PQclear(r);
    sort(d->v, d->n, sizeof *d->v, cmp_insp);
    return DRIP_OK;
}

static void dept_free(dept_data *d)
{
    for (size_t i = 0; i < d->n; i++) drip__change__free_unpacked(d->chs[i], NULL);
    free(d->chs);
    free(d->v);
    if (d->dept) drip__change__free_unpacked(d->dept, NULL);
    memset(d, 0, sizeof *d);
}

/* ---- per participating department ---------------------------------------------------------------- */

typedef struct {
    const char *code;
    char **items;
    size_t nitems;
    char **tags; /* required tags (union over items), borrowed from item records */
    size_t ntags;
    int methods[8];
    unsigned experts;
    int teams;
    int tiers[2 + 8]; /* indices into the run's dept_data: tier 0, 1, 2.. ; -1 none */
    int ntiers;
    char note[256];
    /* report counts (tier 0) */
    unsigned inspectors, inactive, cert_expired, unqualified;
    Drip__Change **item_chs;
    size_t nitem_chs;
} part;

typedef struct {
    char *uscc, *name, *region;
    int idx;  /* match form index */
    int ridx; /* index in run_ctx.regions */
} tform;

typedef struct {
    matcher *m;
    PGconn *c;
    const char *task_key;
    const Drip__DrawRecord *rec;
    Drip__Task *task;
    int32_t window_end;
    unsigned k;
    part parts[MATCH_MAX_DEPTS];
    size_t nparts;
    dept_data depts[64];
    size_t ndepts;
    tform *forms;
    size_t nforms;
    match *mt;
    /* pools: for membership tests: sorted keys per pool index */
    char ***pool_keys;
    size_t *pool_nkeys;
    size_t npools;
    struct xrec {
        size_t form, pd;
        const char *key;
        int reason;
    } *xs; /* every exclusion, for the forms (sorted by form, then order of adding) */
    size_t nxs, cxs;
    char **keep; /* strings kept for the run (rotation keys) */
    size_t nkeep, ckeep;
    char **regions; /* distinct target regions, sorted */
    size_t nregions;
    int *pool_of; /* [part * nregions + region] -> pool index or -1 */
    char why[MATCHER_WHY];
} run_ctx;

static int dept_index(run_ctx *x, const char *code)
{
    for (size_t i = 0; i < x->ndepts; i++)
        if (!strcmp(x->depts[i].code, code)) return (int)i;
    if (x->ndepts == sizeof x->depts / sizeof x->depts[0]) return -1;
    int st = dept_load(x->c, code, &x->depts[x->ndepts]);
    if (st != DRIP_OK) return -2;
    return (int)x->ndepts++;
}

static int has_tag(const Drip__Inspector *p, const char *tag)
{
    for (size_t i = 0; i < p->n_qualifications; i++)
        if (!strcmp(p->qualifications[i], tag)) return 1;
    return 0;
}

/* 0 eligible, 1 inactive, 2 cert expired, 3 unqualified */
static int ineligible(const run_ctx *x, const part *pt, const insp *i)
{
    if (i->p->has_active && !i->p->active) return 1;
    if (i->expiry < 0 || i->expiry < x->window_end) return 2;
    for (size_t t = 0; t < pt->ntags; t++)
        if (!has_tag(i->p, pt->tags[t])) return 3;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int part_setup(run_ctx *x, part *pt, const char *code)
{
    memset(pt, 0, sizeof *pt);
    pt->code = code;
    pt->ntiers = 0;
    const Drip__Task *t = x->task;
    for (size_t i = 0; i < t->n_items; i++) {
        const Drip__DeptItems *di = t->items[i];
        if (!di->dept || strcmp(di->dept, code) != 0) continue;
        for (size_t j = 0; j < di->n_item_codes; j++) {
            char key[96];
            snprintf(key, sizeof key, "%s/%s", code, di->item_codes[j]);
            int st;
            Drip__Change *ch = regproj_get(x->c, DRIP__RECORD_KIND__KIND_ITEM, key, &st);
            if (!ch) {
                if (st != DRIP_ENOTFOUND) return st;
                snprintf(pt->note + strlen(pt->note), sizeof pt->note - strlen(pt->note),
                         "item %s unknown to the matcher; ", key);
                continue;
            }
            pt->item_chs = realloc(pt->item_chs, (pt->nitem_chs + 1) * sizeof *pt->item_chs);
            if (!pt->item_chs) abort();
            pt->item_chs[pt->nitem_chs++] = ch;
            const Drip__Item *it = ch->item;
            if (!it) continue;
            for (size_t q = 0; q < it->n_required_qualifications; q++) {
                size_t z;
                for (z = 0; z < pt->ntags; z++)
                    if (!strcmp(pt->tags[z], it->required_qualifications[q])) break;
                if (z == pt->ntags) {
                    pt->tags = realloc(pt->tags, (pt->ntags + 1) * sizeof *pt->tags);
                    if (!pt->tags) abort();
                    pt->tags[pt->ntags++] = it->required_qualifications[q];
                }
            }
            for (size_t q = 0; q < it->n_methods; q++)
                if (it->methods[q] > 0 && it->methods[q] < 8) pt->methods[it->methods[q]] = 1;
            if (it->has_experts && it->experts > pt->experts) pt->experts = it->experts;
        }
        pt->items = di->item_codes;
        pt->nitems = di->n_item_codes;
    }
    if (pt->experts > MATCH_MAX_EXPERTS) pt->experts = MATCH_MAX_EXPERTS;
    sort(pt->tags, pt->ntags, sizeof *pt->tags, cmp_str);
    int di = dept_index(x, code);
    if (di == -2) return DRIP_EIO;
    if (di < 0) return DRIP_ETOOLARGE;
    pt->tiers[pt->ntiers++] = di;
    const dept_data *d = &x->depts[di];
    const Drip__Department *dep = d->dept ? d->dept->department : NULL;
    if (!d->known)
        snprintf(pt->note + strlen(pt->note), sizeof pt->note - strlen(pt->note),
                 "department %s unknown to the matcher; ", code);
    pt->teams = dep && dep->has_draws_teams && dep->draws_teams;
    /* fallback tiers: parent, then neighbours; unknown or inactive ones are noted and skipped,
     * but keep their tier number (tiers are positions in the department's configuration) */
    const char *fb[9];
    size_t nfb = 0;
    fb[nfb++] = dep && dep->parent_dept && *dep->parent_dept ? dep->parent_dept : NULL;
    for (size_t i = 0; dep && i < dep->n_neighbour_depts && nfb < 9; i++)
        fb[nfb++] = dep->neighbour_depts[i];
    for (size_t i = 0; i < nfb; i++) {
        int ti = -1;
        if (fb[i]) {
            ti = dept_index(x, fb[i]);
            if (ti == -2) return DRIP_EIO;
            if (ti >= 0 && (!x->depts[ti].known || !x->depts[ti].active)) {
                snprintf(pt->note + strlen(pt->note), sizeof pt->note - strlen(pt->note),
                         "fallback %s %s; ", fb[i],
                         x->depts[ti].known ? "inactive: skipped" : "unknown: skipped");
                ti = -1;
            }
        }
        pt->tiers[pt->ntiers++] = ti;
    }
    /* tier-0 counts for the report */
    for (size_t i = 0; i < d->n; i++) {
        pt->inspectors++;
        switch (ineligible(x, pt, &d->v[i])) {
        case 1: pt->inactive++; break;
        case 2: pt->cert_expired++; break;
        case 3: pt->unqualified++; break;
        default: break;
        }
    }
    return DRIP_OK;
}

static void part_free(part *pt)
{
    for (size_t i = 0; i < pt->nitem_chs; i++) drip__change__free_unpacked(pt->item_chs[i], NULL);
    free(pt->item_chs);
    free(pt->tags);
}

static int region_in_chain(const char *r, char chain[3][7], int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(r, chain[i])) return 1;
    return 0;
}

/* Builds the pool (dept index di, region). */
static int pool_build(run_ctx *x, size_t pi_dept, const char *region)
{
    part *pt = &x->parts[pi_dept];
    char chain[3][7];
    int nch = match_region_chain(region, chain);
    match_cand *cands = NULL;
    size_t n = 0, cap = 0;
    for (int t = 0; t < pt->ntiers; t++) {
        if (pt->tiers[t] < 0) continue;
        const dept_data *d = &x->depts[pt->tiers[t]];
        if (t > 0 && !d->active) continue;
        for (size_t i = 0; i < d->n; i++) {
            const insp *s = &d->v[i];
            if (ineligible(x, pt, s)) continue;
            if (t < 2 && !region_in_chain(s->region, chain, nch)) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                cands = realloc(cands, cap * sizeof *cands);
                if (!cands) abort();
            }
            cands[n++] = (match_cand){.key = s->key,
                                      .team = s->p->team ? s->p->team : "",
                                      .tier = t,
                                      .expert = s->p->has_expert && s->p->expert};
        }
    }
    int pi = match_pool_add(x->mt, pi_dept, region, cands, n);
    if (pi >= 0) {
        /* membership set for exclusions */
        if ((size_t)pi >= x->npools) {
            x->pool_keys = realloc(x->pool_keys, ((size_t)pi + 1) * sizeof *x->pool_keys);
            x->pool_nkeys = realloc(x->pool_nkeys, ((size_t)pi + 1) * sizeof *x->pool_nkeys);
            if (!x->pool_keys || !x->pool_nkeys) abort();
            for (size_t j = x->npools; j <= (size_t)pi; j++) {
                x->pool_keys[j] = NULL;
                x->pool_nkeys[j] = 0;
            }
            x->npools = (size_t)pi + 1;
        }
        char **keys = calloc(n ? n : 1, sizeof *keys);
        if (!keys) abort();
        for (size_t i = 0; i < n; i++) keys[i] = (char *)cands[i].key;
        sort(keys, n, sizeof *keys, cmp_str);
        x->pool_keys[pi] = keys;
        x->pool_nkeys[pi] = n;
    }
    free(cands);
    return pi;
}

static int in_pool(const run_ctx *x, int pi, const char *key)
{
    if (pi < 0 || (size_t)pi >= x->npools) return 0;
    return bsearch(&key, x->pool_keys[pi], x->pool_nkeys[pi], sizeof(char *), cmp_str) != NULL;
}

/* ---- targets ------------------------------------------------------------------------------------ */

static int cmp_tform(const void *a, const void *b)
{
    return strcmp(((const tform *)a)->uscc, ((const tform *)b)->uscc);
}

static tform *form_find(run_ctx *x, const char *uscc)
{
    tform k = {.uscc = (char *)uscc};
    return bsearch(&k, x->forms, x->nforms, sizeof *x->forms, cmp_tform);
}

static int forms_load(run_ctx *x, const char *fallback_region)
{
    const Drip__DrawRecord *rec = x->rec;
    x->forms = calloc(rec->n_selected ? rec->n_selected : 1, sizeof *x->forms);
    if (!x->forms) abort();
    db_buf arr;
    db_buf_init(&arr);
    db_buf_puts(&arr, "{");
    for (size_t i = 0; i < rec->n_selected; i++) {
        const Drip__DrawnTarget *t = rec->selected[i];
        if (!t->uscc || !t->has_state || t->state != DRIP__TARGET_DECISION__DECISION_CONFIRMED)
            continue;
        if (draw_key_check(t->uscc) != DRIP_OK) continue;
        x->forms[x->nforms++].uscc = service_strdup(t->uscc);
        if (arr.len > 1) db_buf_puts(&arr, ",");
        db_buf_array_elem(&arr, t->uscc);
    }
    db_buf_puts(&arr, "}");
    sort(x->forms, x->nforms, sizeof *x->forms, cmp_tform);
    for (size_t i = 1; i < x->nforms; i++)
        if (!strcmp(x->forms[i].uscc, x->forms[i - 1].uscc)) {
            snprintf(x->why, sizeof x->why, "target %s confirmed twice in the record",
                     x->forms[i].uscc);
            db_buf_free(&arr);
            return DRIP_EBADMSG;
        }
    const char *v[1] = {arr.data};
    int st;
    PGresult *r = db_query(x->c,
                           "SELECT key, coalesce(name, ''), coalesce(region, '') FROM target"
                           " WHERE key = ANY($1::text[]) AND NOT retired",
                           1, v, &st);
    db_buf_free(&arr);
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        tform *f = form_find(x, PQgetvalue(r, i, 0));
        if (!f) continue;
        f->name = service_strdup(PQgetvalue(r, i, 1));
        if (codes_region_syntax(PQgetvalue(r, i, 2), NULL) == DRIP_OK)
            f->region = service_strdup(PQgetvalue(r, i, 2));
    }
    PQclear(r);
    size_t unknown = 0;
    for (size_t i = 0; i < x->nforms; i++) {
        if (!x->forms[i].name) x->forms[i].name = service_strdup("");
        if (!x->forms[i].region) {
            x->forms[i].region = service_strdup(fallback_region);
            unknown++;
        }
    }
    if (unknown)
        log_warn("match.targets", "task %s: %zu targets unknown to the projection; matched in %s",
                 x->task_key, unknown, fallback_region);
    return DRIP_OK;
}

/* ---- exclusions ---------------------------------------------------------------------------------- */

typedef struct {
    const char *uscc, *key;
} pair_ref;

static int cmp_pair_ref(const void *a, const void *b)
{
    const pair_ref *x = a, *y = b;
    int c = strcmp(x->uscc, y->uscc);
    return c ? c : strcmp(x->key, y->key);
}

static int form_pool(run_ctx *x, const tform *f, size_t pd);

static const char *matcher_strdup_keep(run_ctx *x, const char *s)
{
    if (x->nkeep == x->ckeep) {
        x->ckeep = x->ckeep ? x->ckeep * 2 : 256;
        x->keep = realloc(x->keep, x->ckeep * sizeof *x->keep);
        if (!x->keep) abort();
    }
    return x->keep[x->nkeep++] = service_strdup(s);
}

static int exclude(run_ctx *x, size_t form, size_t pd, const char *key, int reason)
{
    if (x->nxs == x->cxs) {
        x->cxs = x->cxs ? x->cxs * 2 : 256;
        x->xs = realloc(x->xs, x->cxs * sizeof *x->xs);
        if (!x->xs) abort();
    }
    x->xs[x->nxs++] = (struct xrec){form, pd, key, reason};
    return match_form_exclude(x->mt, form, pd, key, reason);
}

static int cmp_xrec(const void *a, const void *b)
{
    const struct xrec *x = a, *y = b;
    if (x->form != y->form) return x->form < y->form ? -1 : 1;
    if (x->pd != y->pd) return x->pd < y->pd ? -1 : 1;
    int c = strcmp(x->key, y->key);
    return c ? c : x->reason - y->reason;
}

/* The exclusions of (form, pd) as messages (malloc'd array; returns the count). */
static size_t exclusions_of(run_ctx *x, size_t form, size_t pd, Drip__Exclusion **out)
{
    size_t lo = 0, hi = x->nxs;
    while (lo < hi) { /* first entry with (form, pd) >= the wanted one */
        size_t mid = (lo + hi) / 2;
        if (x->xs[mid].form < form || (x->xs[mid].form == form && x->xs[mid].pd < pd))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    while (lo + n < x->nxs && x->xs[lo + n].form == form && x->xs[lo + n].pd == pd) n++;
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out) abort();
    for (size_t i = 0; i < n; i++) {
        drip__exclusion__init(&(*out)[i]);
        (*out)[i].inspector = (char *)x->xs[lo + i].key;
        (*out)[i].has_reason = 1;
        (*out)[i].reason = x->xs[lo + i].reason;
    }
    return n;
}

static int exclusions_add(run_ctx *x, unsigned *recused, unsigned *rotation)
{
    /* recusals: every loaded inspector's declared conflicts with a target of this run */
    pair_ref *pr = NULL;
    size_t npr = 0, cpr = 0;
    for (size_t d = 0; d < x->ndepts; d++)
        for (size_t i = 0; i < x->depts[d].n; i++) {
            const insp *s = &x->depts[d].v[i];
            for (size_t r = 0; r < s->p->n_recusals; r++) {
                if (!form_find(x, s->p->recusals[r])) continue;
                if (npr == cpr) {
                    cpr = cpr ? cpr * 2 : 64;
                    pr = realloc(pr, cpr * sizeof *pr);
                    if (!pr) abort();
                }
                pr[npr++] = (pair_ref){s->p->recusals[r], s->key};
            }
        }
    sort(pr, npr, sizeof *pr, cmp_pair_ref);
    int st = DRIP_OK;
    for (size_t i = 0; i < npr && st == DRIP_OK; i++) {
        if (i > 0 && !cmp_pair_ref(&pr[i], &pr[i - 1])) continue;
        tform *f = form_find(x, pr[i].uscc);
        for (size_t pd = 0; pd < x->nparts && st == DRIP_OK; pd++)
            if (in_pool(x, form_pool(x, f, pd), pr[i].key)) {
                st = exclude(x, (size_t)f->idx, pd, pr[i].key, MATCH_EXCL_RECUSED);
                recused[pd]++;
            }
    }
    free(pr);
    if (st != DRIP_OK) return st;

    /* rotation: the inspectors of each target's latest earlier form with the same department */
    db_buf us, ds;
    db_buf_init(&us);
    db_buf_init(&ds);
    db_buf_puts(&us, "{");
    for (size_t i = 0; i < x->nforms; i++) {
        if (i) db_buf_puts(&us, ",");
        db_buf_array_elem(&us, x->forms[i].uscc);
    }
    db_buf_puts(&us, "}");
    db_buf_puts(&ds, "{");
    for (size_t i = 0; i < x->nparts; i++) {
        if (i) db_buf_puts(&ds, ",");
        db_buf_array_elem(&ds, x->parts[i].code);
    }
    db_buf_puts(&ds, "}");
    const char *v[3] = {us.data, ds.data, x->task_key};
    PGresult *r = db_query(
        x->c,
        "WITH prev AS (SELECT DISTINCT ON (uscc, dept) uscc, dept, task_key FROM form_member"
        "  WHERE uscc = ANY($1::text[]) AND dept = ANY($2::text[]) AND task_key <> $3"
        "  ORDER BY uscc, dept, at DESC, task_key DESC)"
        " SELECT DISTINCT fm.uscc, fm.dept, fm.inspector FROM prev"
        " JOIN form_member fm USING (task_key, uscc, dept) ORDER BY 1, 2, 3",
        3, v, &st);
    db_buf_free(&us);
    db_buf_free(&ds);
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    for (int i = 0; i < PQntuples(r) && st == DRIP_OK; i++) {
        tform *f = form_find(x, PQgetvalue(r, i, 0));
        const char *dept = PQgetvalue(r, i, 1), *key = PQgetvalue(r, i, 2);
        for (size_t pd = 0; f && pd < x->nparts; pd++) {
            if (strcmp(x->parts[pd].code, dept) != 0) continue;
            int pi = form_pool(x, f, pd);
            if (!in_pool(x, pi, key)) continue;
            /* an inspector both recused and rotated out is listed with both reasons */
            st = exclude(x, (size_t)f->idx, pd, matcher_strdup_keep(x, key), MATCH_EXCL_ROTATION);
            rotation[pd]++;
        }
    }
    PQclear(r);
    return st;
}

/* Pool index of a form's department slot (-1 if none). */
static int form_pool(run_ctx *x, const tform *f, size_t pd)
{
    return x->pool_of[pd * x->nregions + (size_t)f->ridx];
}

/* ---- outputs ------------------------------------------------------------------------------------ */

static const insp *insp_find(const run_ctx *x, const char *key)
{
    const char *slash = strchr(key, '/');
    size_t dl = slash ? (size_t)(slash - key) : 0;
    for (size_t d = 0; d < x->ndepts; d++) {
        if (strlen(x->depts[d].code) != dl || strncmp(x->depts[d].code, key, dl) != 0) continue;
        insp k;
        snprintf(k.key, sizeof k.key, "%s", key);
        return bsearch(&k, x->depts[d].v, x->depts[d].n, sizeof k, cmp_insp);
    }
    return NULL;
}

typedef struct {
    const char *insp, *uscc;
    int role;
} assignment;

static int cmp_assignment(const void *a, const void *b)
{
    const assignment *x = a, *y = b;
    int c = strcmp(x->insp, y->insp);
    return c ? c : strcmp(x->uscc, y->uscc);
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    unsigned from_parent, from_neighbours, unstaffed, experts_short;
    char **unstaffed_forms;
    size_t nunstaffed_forms;
    char **pairs; /* "a|b" per pair occurrence */
    size_t npairs, cpairs;
} part_stats;

static void pair_add(part_stats *ps, const char *a, const char *b)
{
    if (ps->npairs == ps->cpairs) {
        ps->cpairs = ps->cpairs ? ps->cpairs * 2 : 1024;
        ps->pairs = realloc(ps->pairs, ps->cpairs * sizeof *ps->pairs);
        if (!ps->pairs) abort();
    }
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (!s) abort();
    snprintf(s, n, "%s|%s", a, b);
    ps->pairs[ps->npairs++] = s;
}

static void stats_free(part_stats *ps)
{
    for (size_t i = 0; i < ps->npairs; i++) free(ps->pairs[i]);
    free(ps->pairs);
    free(ps->unstaffed_forms);
}

/* Fills the run head (MatchRun) — used for the event, the run row and replies. */
static void run_head(run_ctx *x, Drip__MatchRun *run, Drip__DeptPool *pools, Drip__DeptPool **pp,
                     const char *digest, size_t nlines, unsigned unstaffed_slots)
{
    const Drip__DrawRecord *rec = x->rec;
    run->task_code = rec->task_code;
    run->plan_code = rec->plan_code;
    run->has_draw_no = 1;
    run->draw_no = rec->draw_no;
    run->algorithm = MATCH_ALGORITHM;
    run->seed = rec->seed;
    run->pool_digest = (char *)digest;
    run->has_pool_lines = 1;
    run->pool_lines = nlines;
    run->has_forms = 1;
    run->forms = (uint32_t)x->nforms;
    run->has_matched_at_ms = 1;
    run->matched_at_ms = envelope_now_ms();
    run->has_inspectors_per_check = 1;
    run->inspectors_per_check = x->k;
    run->lead_dept = x->task->lead_dept;
    run->has_unstaffed_slots = 1;
    run->unstaffed_slots = unstaffed_slots;
    run->has_direct_assignments = 1;
    run->depts = pp;
    run->n_depts = x->nparts;
    for (size_t i = 0; i < x->nparts; i++) pp[i] = &pools[i];
}

static void dept_pool_fill(run_ctx *x, size_t pd, Drip__DeptPool *p, char **tier_depts,
                           uint32_t *tier_sizes)
{
    part *pt = &x->parts[pd];
    drip__dept_pool__init(p);
    p->dept = (char *)pt->code;
    p->has_required = p->has_experts_required = p->has_teams = 1;
    p->required = x->k;
    p->experts_required = pt->experts;
    p->teams = pt->teams;
    unsigned cap = 0, ecap = 0;
    for (int t = 0; t < pt->ntiers; t++) {
        tier_depts[t] = pt->tiers[t] >= 0 ? x->depts[pt->tiers[t]].code : "";
        tier_sizes[t] = 0;
    }
    for (size_t q = 0; q < match_pool_count(x->mt); q++) {
        if (match_pool_dept(x->mt, (int)q) != pd) continue;
        if (match_pool_cap(x->mt, (int)q, 0) > cap) cap = match_pool_cap(x->mt, (int)q, 0);
        if (match_pool_cap(x->mt, (int)q, 1) > ecap) ecap = match_pool_cap(x->mt, (int)q, 1);
        for (int t = 0; t < pt->ntiers; t++) tier_sizes[t] += (uint32_t)match_pool_size(x->mt, (int)q, t);
    }
    p->has_cap = p->has_expert_cap = 1;
    p->cap = cap;
    p->expert_cap = ecap;
    p->tier_depts = tier_depts;
    p->n_tier_depts = (size_t)pt->ntiers;
    p->tier_sizes = tier_sizes;
    p->n_tier_sizes = (size_t)pt->ntiers;
    p->required_tags = pt->tags;
    p->n_required_tags = pt->ntags;
    p->has_inspectors = p->has_inactive = p->has_cert_expired = p->has_unqualified = 1;
    p->inspectors = pt->inspectors;
    p->inactive = pt->inactive;
    p->cert_expired = pt->cert_expired;
    p->unqualified = pt->unqualified;
    p->note = pt->note;
}

/* Writes the rows and events gathered so far (COPY) and empties the buffers: a run streams its
 * output in chunks, so memory does not grow with the number of forms. */
static int rows_flush(PGconn *c, db_buf *frows, db_buf *mrows, outbox_batch *ob)
{
    int st = DRIP_OK;
    if (frows->len) {
        st = db_copy_begin(c, "COPY form (task_key, uscc, seq, version, body) FROM STDIN");
        if (st == DRIP_OK) st = db_copy_put(c, frows->data, frows->len);
        if (st == DRIP_OK) st = db_copy_end(c);
    }
    if (st == DRIP_OK && mrows->len) {
        st = db_copy_begin(c, "COPY form_member (task_key, uscc, dept, inspector, role, source)"
                              " FROM STDIN");
        if (st == DRIP_OK) st = db_copy_put(c, mrows->data, mrows->len);
        if (st == DRIP_OK) st = db_copy_end(c);
    }
    if (st == DRIP_OK) st = outbox_batch_flush(c, ob);
    db_buf_reset(frows);
    db_buf_reset(mrows);
    return st;
}

static int outputs(run_ctx *x, const char *corr, const char *lines, size_t lines_len,
                   size_t nlines, const char *digest, unsigned *recused, unsigned *rotation)
{
    matcher *m = x->m;
    const Drip__Task *t = x->task;
    const Drip__DrawRecord *rec = x->rec;
    int st = DRIP_OK;
    outbox_batch ob;
    outbox_batch_init(&ob);
    db_buf frows, mrows, tmp;
    db_buf_init(&frows);
    db_buf_init(&mrows);
    db_buf_init(&tmp);
    part_stats ps[MATCH_MAX_DEPTS];
    memset(ps, 0, sizeof ps);
    assignment *as = NULL;
    size_t nas = 0, cas = 0;
    unsigned unstaffed_slots = 0;

    /* result deadline: window_end + result_workdays working days */
    char due[11] = "";
    calendar *cal = NULL;
    if (regproj_calendar(x->c, &cal) == DRIP_OK && cal && t->has_result_workdays) {
        int32_t d;
        char why[128];
        if (calendar_add_workdays(cal, x->window_end, (int)t->result_workdays, &d, why) == DRIP_OK)
            codes_date_format(d, due);
    }
    if (cal) calendar_destroy(cal);

    /* one form at a time: build the message, its rows and its events */
    for (size_t seq0 = 0; seq0 < x->nforms && st == DRIP_OK; seq0++) {
        size_t fi = match_form_at(x->mt, seq0);
        tform *f = &x->forms[fi]; /* forms were added in this array's order */
        Drip__Form form = DRIP__FORM__INIT;
        char tt[DRAW_HEX_LEN + 1];
        draw_hex(match_form_ticket(x->mt, fi), 32, tt);
        form.task_code = rec->task_code;
        form.plan_code = rec->plan_code;
        form.uscc = f->uscc;
        form.target_name = f->name;
        form.target_region = f->region;
        form.has_seq = form.has_version = form.has_result_workdays = 1;
        form.seq = (uint32_t)(seq0 + 1);
        form.version = 1;
        form.target_ticket = tt;
        form.window_start = t->window_start;
        form.window_end = t->window_end;
        form.result_workdays = t->result_workdays;
        form.result_due_latest = due;
        form.lead_dept = t->lead_dept;
        Drip__DeptSlot slots[MATCH_MAX_DEPTS], *slotp[MATCH_MAX_DEPTS];
        Drip__FormInspector *fis[MATCH_MAX_DEPTS];
        Drip__FormInspector **fip[MATCH_MAX_DEPTS];
        Drip__Exclusion *exs[MATCH_MAX_DEPTS];
        Drip__Exclusion **exp_[MATCH_MAX_DEPTS];
        char (*tks[MATCH_MAX_DEPTS])[DRAW_HEX_LEN + 1];
        int meth[MATCH_MAX_DEPTS][8];
        memset(fis, 0, sizeof fis);
        memset(fip, 0, sizeof fip);
        memset(exs, 0, sizeof exs);
        memset(exp_, 0, sizeof exp_);
        memset(tks, 0, sizeof tks);
        for (size_t pd = 0; pd < x->nparts; pd++) {
            part *pt = &x->parts[pd];
            const match_slot *ms = match_slot_get(x->mt, fi, pd);
            Drip__DeptSlot *sl = &slots[pd];
            drip__dept_slot__init(sl);
            slotp[pd] = sl;
            sl->dept = (char *)pt->code;
            sl->item_codes = pt->items;
            sl->n_item_codes = pt->nitems;
            size_t nm = 0;
            for (int q = 1; q < 8; q++)
                if (pt->methods[q]) meth[pd][nm++] = q;
            sl->methods = (Drip__Method *)meth[pd];
            sl->n_methods = nm;
            sl->has_required = sl->has_experts_required = sl->has_unstaffed = 1;
            sl->has_short_by = sl->has_experts_short = sl->has_teams = 1;
            sl->required = x->k;
            sl->experts_required = pt->experts;
            sl->unstaffed = ms->short_by > 0;
            sl->short_by = ms->short_by;
            sl->experts_short = ms->experts_short;
            sl->teams = pt->teams;
            fis[pd] = calloc(ms->npicks ? ms->npicks : 1, sizeof **fis);
            fip[pd] = calloc(ms->npicks ? ms->npicks : 1, sizeof **fip);
            tks[pd] = calloc(ms->npicks ? ms->npicks : 1, sizeof *tks[pd]);
            if (!fis[pd] || !fip[pd] || !tks[pd]) abort();
            const char *first_member = NULL;
            for (size_t q = 0; q < ms->npicks; q++) {
                const match_pick *pk = &ms->picks[q];
                Drip__FormInspector *fi_ = &fis[pd][q];
                drip__form_inspector__init(fi_);
                fip[pd][q] = fi_;
                const insp *in = insp_find(x, pk->key);
                fi_->inspector = (char *)pk->key;
                fi_->name = in && in->p->name ? in->p->name : "";
                fi_->has_role = fi_->has_source = fi_->has_load = 1;
                fi_->role = pk->role;
                fi_->source = pk->tier == 0   ? DRIP__SLOT_SOURCE__SOURCE_LOCAL
                              : pk->tier == 1 ? DRIP__SLOT_SOURCE__SOURCE_PARENT
                                              : DRIP__SLOT_SOURCE__SOURCE_NEIGHBOUR;
                fi_->team = (char *)pk->team;
                draw_hex(pk->ticket, 32, tks[pd][q]);
                fi_->ticket = tks[pd][q];
                fi_->load = pk->load;
                if (pk->tier == 1) ps[pd].from_parent++;
                if (pk->tier >= 2) ps[pd].from_neighbours++;
                /* rows: form_member */
                db_buf_copy_text(&mrows, x->task_key);
                db_buf_puts(&mrows, "\t");
                db_buf_copy_text(&mrows, f->uscc);
                db_buf_puts(&mrows, "\t");
                db_buf_copy_text(&mrows, pt->code);
                db_buf_puts(&mrows, "\t");
                db_buf_copy_text(&mrows, pk->key);
                db_buf_printf(&mrows, "\t%d\t%d\n", pk->role, (int)fi_->source);
                /* the inspector's work list */
                if (nas == cas) {
                    cas = cas ? cas * 2 : 4096;
                    as = realloc(as, cas * sizeof *as);
                    if (!as) abort();
                }
                as[nas++] = (assignment){pk->key, f->uscc, pk->role};
                /* pairs among members */
                if (pk->role == MATCH_ROLE_MEMBER) {
                    for (size_t z = 0; z < q; z++)
                        if (ms->picks[z].role == MATCH_ROLE_MEMBER)
                            pair_add(&ps[pd], ms->picks[z].key, pk->key);
                    if (!first_member) first_member = pk->key;
                }
            }
            sl->inspectors = fip[pd];
            sl->n_inspectors = ms->npicks;
            if (ms->short_by) {
                unstaffed_slots++;
                ps[pd].unstaffed++;
                ps[pd].unstaffed_forms = realloc(ps[pd].unstaffed_forms,
                                                 (ps[pd].nunstaffed_forms + 1) * sizeof(char *));
                if (!ps[pd].unstaffed_forms) abort();
                ps[pd].unstaffed_forms[ps[pd].nunstaffed_forms++] = f->uscc;
            }
            if (ms->experts_short) ps[pd].experts_short++;
        }
        /* exclusions of this form, from the match object's input (the published ones) */
        form.depts = slotp;
        form.n_depts = x->nparts;
        for (size_t pd = 0; pd < x->nparts; pd++) {
            size_t ne = 0;
            ne = exclusions_of(x, fi, pd, &exs[pd]);
            exp_[pd] = calloc(ne ? ne : 1, sizeof *exp_[pd]);
            if (!exp_[pd]) abort();
            for (size_t q = 0; q < ne; q++) exp_[pd][q] = &exs[pd][q];
            slots[pd].exclusions = exp_[pd];
            slots[pd].n_exclusions = ne;
        }
        size_t blen;
        uint8_t *body = service_pack(&form.base, &blen);
        db_buf_copy_text(&frows, x->task_key);
        db_buf_puts(&frows, "\t");
        db_buf_copy_text(&frows, f->uscc);
        db_buf_printf(&frows, "\t%zu\t1\t", seq0 + 1);
        db_buf_copy_bytea(&frows, body, blen);
        db_buf_puts(&frows, "\n");
        free(body);
        Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__MATCHER_EVENT_KIND__FORM_DISPATCHED;
        ev.task_code = rec->task_code;
        ev.plan_code = rec->plan_code;
        ev.form = &form;
        char tail[96];
        snprintf(tail, sizeof tail, "form-%s-v1", f->uscc);
        st = matcher_event_add(m, &ob, x->task_key, f->region, t->lead_dept, "form", tail, corr,
                               &ev);
        for (size_t pd = 0; pd < x->nparts; pd++) {
            free(fis[pd]);
            free(fip[pd]);
            free(tks[pd]);
            free(exs[pd]);
            free(exp_[pd]);
        }
        if (st == DRIP_OK && (seq0 + 1) % MATCHER_FLUSH_FORMS == 0)
            st = rows_flush(x->c, &frows, &mrows, &ob);
    }

    /* one event per inspector: the forms of this task they are on */
    sort(as, nas, sizeof *as, cmp_assignment);
    for (size_t i = 0; i < nas && st == DRIP_OK;) {
        size_t j = i;
        while (j < nas && !strcmp(as[j].insp, as[i].insp)) j++;
        char **us = calloc(j - i, sizeof *us);
        Drip__SlotRole *roles = calloc(j - i, sizeof *roles);
        if (!us || !roles) abort();
        for (size_t q = i; q < j; q++) {
            us[q - i] = (char *)as[q].uscc;
            roles[q - i] = as[q].role;
        }
        const insp *in = insp_find(x, as[i].insp);
        Drip__InspectorAssignment ia = DRIP__INSPECTOR_ASSIGNMENT__INIT;
        ia.inspector = (char *)as[i].insp;
        ia.name = in && in->p->name ? in->p->name : "";
        ia.uscc = us;
        ia.n_uscc = j - i;
        ia.roles = roles;
        ia.n_roles = j - i;
        ia.window_start = t->window_start;
        ia.window_end = t->window_end;
        Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__MATCHER_EVENT_KIND__INSPECTOR_ASSIGNED;
        ev.task_code = rec->task_code;
        ev.plan_code = rec->plan_code;
        ev.assignment = &ia;
        /* subject: the inspector's department and its region */
        char dept[40];
        const char *slash = strchr(as[i].insp, '/');
        snprintf(dept, sizeof dept, "%.*s", (int)(slash ? slash - as[i].insp : 0), as[i].insp);
        const char *region = NULL;
        for (size_t d = 0; d < x->ndepts; d++)
            if (!strcmp(x->depts[d].code, dept)) region = x->depts[d].region;
        char tail[128];
        snprintf(tail, sizeof tail, "insp-%s", as[i].insp);
        st = matcher_event_add(m, &ob, x->task_key, region && *region ? region : "000000", dept,
                               "assignment", tail, corr, &ev);
        free(us);
        free(roles);
        i = j;
    }

    /* the run and the report */
    Drip__DeptPool pools[MATCH_MAX_DEPTS], *pp[MATCH_MAX_DEPTS];
    char *tier_depts[MATCH_MAX_DEPTS][10];
    uint32_t tier_sizes[MATCH_MAX_DEPTS][10];
    for (size_t pd = 0; pd < x->nparts; pd++)
        dept_pool_fill(x, pd, &pools[pd], tier_depts[pd], tier_sizes[pd]);
    Drip__MatchRun run = DRIP__MATCH_RUN__INIT;
    run_head(x, &run, pools, pp, digest, nlines, unstaffed_slots);
    Drip__MatchReport rep = DRIP__MATCH_REPORT__INIT;
    Drip__DeptReport drs[MATCH_MAX_DEPTS], *drp[MATCH_MAX_DEPTS];
    for (size_t pd = 0; pd < x->nparts && st == DRIP_OK; pd++) {
        part *pt = &x->parts[pd];
        Drip__DeptReport *dr = &drs[pd];
        drip__dept_report__init(dr);
        drp[pd] = dr;
        dr->pool = &pools[pd];
        /* loads over the department's own eligible members (tier 0 of any region) */
        const dept_data *d = &x->depts[pt->tiers[0]];
        unsigned *loads = calloc(d->n ? d->n : 1, sizeof *loads);
        if (!loads) abort();
        size_t nl = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (ineligible(x, pt, &d->v[i]) || (d->v[i].p->has_expert && d->v[i].p->expert)) continue;
            loads[nl++] = match_load(x->mt, d->v[i].key);
        }
        sort(loads, nl, sizeof *loads, cmp_uint);
        dr->has_load_min = dr->has_load_median = dr->has_load_max = 1;
        dr->load_min = nl ? loads[0] : 0;
        dr->load_median = nl ? loads[nl / 2] : 0;
        dr->load_max = nl ? loads[nl - 1] : 0;
        free(loads);
        dr->has_recused = dr->has_rotation = dr->has_from_parent = dr->has_from_neighbours = 1;
        dr->has_direct = dr->has_unstaffed_slots = dr->has_experts_short = 1;
        dr->recused = recused[pd];
        dr->rotation = rotation[pd];
        dr->from_parent = ps[pd].from_parent;
        dr->from_neighbours = ps[pd].from_neighbours;
        dr->unstaffed_slots = ps[pd].unstaffed;
        dr->experts_short = ps[pd].experts_short;
        sort(ps[pd].pairs, ps[pd].npairs, sizeof *ps[pd].pairs, cmp_str);
        unsigned distinct = 0, repeated = 0, maxc = 0;
        for (size_t i = 0; i < ps[pd].npairs;) {
            size_t j = i;
            while (j < ps[pd].npairs && !strcmp(ps[pd].pairs[j], ps[pd].pairs[i])) j++;
            distinct++;
            if (j - i > 1) repeated++;
            if (j - i > maxc) maxc = (unsigned)(j - i);
            i = j;
        }
        dr->has_pairs = dr->has_repeated_pairs = dr->has_max_pair_count = 1;
        dr->pairs = distinct;
        dr->repeated_pairs = repeated;
        dr->max_pair_count = maxc;
        dr->unstaffed_forms = ps[pd].unstaffed_forms;
        dr->n_unstaffed_forms = ps[pd].nunstaffed_forms < 1000 ? ps[pd].nunstaffed_forms : 1000;
        /* unstaffed slots: one event per department (in parts) for direct assignment */
        for (size_t off = 0; off < ps[pd].nunstaffed_forms && st == DRIP_OK;
             off += MATCHER_EVENT_KEYS) {
            Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
            ev.has_kind = 1;
            ev.kind = DRIP__MATCHER_EVENT_KIND__SLOTS_UNSTAFFED;
            ev.task_code = rec->task_code;
            ev.plan_code = rec->plan_code;
            ev.dept = (char *)pt->code;
            ev.uscc = ps[pd].unstaffed_forms + off;
            ev.n_uscc = ps[pd].nunstaffed_forms - off < MATCHER_EVENT_KEYS
                            ? ps[pd].nunstaffed_forms - off
                            : MATCHER_EVENT_KEYS;
            char tail[80];
            snprintf(tail, sizeof tail, "unstaffed-%s-%zu", pt->code, off / MATCHER_EVENT_KEYS + 1);
            const dept_data *dd = &x->depts[pt->tiers[0]];
            st = matcher_event_add(m, &ob, x->task_key, *dd->region ? dd->region : "000000",
                                   pt->code, "unstaffed", tail, corr, &ev);
        }
    }
    rep.run = &run;
    rep.depts = drp;
    rep.n_depts = x->nparts;
    if (st == DRIP_OK) {
        Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__MATCHER_EVENT_KIND__TASK_MATCHED;
        ev.task_code = rec->task_code;
        ev.plan_code = rec->plan_code;
        ev.run = &run;
        const char *lead_region = "000000";
        for (size_t d = 0; d < x->ndepts; d++)
            if (t->lead_dept && !strcmp(x->depts[d].code, t->lead_dept) && *x->depts[d].region)
                lead_region = x->depts[d].region;
        st = matcher_event_add(m, &ob, x->task_key, lead_region,
                               t->lead_dept && *t->lead_dept ? t->lead_dept : "MATCHER",
                               "matched", "matched", corr, &ev);
    }
    /* store: run row, forms, members, events */
    if (st == DRIP_OK) {
        size_t hl, rl;
        uint8_t *head = service_pack(&run.base, &hl);
        uint8_t *rb = service_pack(&rep.base, &rl);
        char dn[16];
        snprintf(dn, sizeof dn, "%u", rec->draw_no);
        const char *v[5] = {x->task_key, dn, (const char *)head, (const char *)rb, lines};
        int lens[5] = {0, 0, (int)hl, (int)rl, (int)lines_len};
        int fmts[5] = {0, 0, 1, 1, 1};
        PGresult *r = PQexecParams(x->c,
                                   "INSERT INTO run (task_key, draw_no, head, report, pool_lines)"
                                   " VALUES ($1, $2::int, $3, $4, $5)",
                                   5, NULL, v, lens, fmts, 0);
        st = db_result_status(x->c, r, "run insert");
        PQclear(r);
        free(head);
        free(rb);
    }
    if (st == DRIP_OK) st = rows_flush(x->c, &frows, &mrows, &ob);
    if (st == DRIP_OK) {
        metrics_counter_inc(m->m_runs, 1);
        metrics_counter_inc(m->m_forms, x->nforms);
        metrics_counter_inc(m->m_unstaffed, unstaffed_slots);
    }
    free(as);
    for (size_t i = 0; i < x->nparts; i++) stats_free(&ps[i]);
    db_buf_free(&frows);
    db_buf_free(&mrows);
    db_buf_free(&tmp);
    outbox_batch_free(&ob);
    return st;
}

/* ---- the run --------------------------------------------------------------------------------- */

static void ctx_free(run_ctx *x)
{
    if (x->mt) match_destroy(x->mt);
    for (size_t i = 0; i < x->nparts; i++) part_free(&x->parts[i]);
    for (size_t i = 0; i < x->ndepts; i++) dept_free(&x->depts[i]);
    for (size_t i = 0; i < x->nforms; i++) {
        free(x->forms[i].uscc);
        free(x->forms[i].name);
        free(x->forms[i].region);
    }
    free(x->forms);
    for (size_t i = 0; i < x->npools; i++) free(x->pool_keys[i]);
    free(x->pool_keys);
    free(x->pool_nkeys);
    for (size_t i = 0; i < x->nkeep; i++) free(x->keep[i]);
    free(x->keep);
    free(x->xs);
    free(x->regions);
    free(x->pool_of);
    if (x->task) drip__task__free_unpacked(x->task, NULL);
}

static int run_inner(run_ctx *x, const char *corr)
{
    const Drip__DrawRecord *rec = x->rec;
    int st;
    x->task = matcher_task_load(x->c, x->task_key, &st);
    if (!x->task) {
        snprintf(x->why, sizeof x->why, "task %s not known yet (planner events behind?)",
                 x->task_key);
        return st == DRIP_ENOTFOUND ? DRIP_ETIMEOUT : st;
    }
    const Drip__Task *t = x->task;
    if (!t->window_end || codes_date_parse(t->window_end, &x->window_end, NULL) != DRIP_OK) {
        snprintf(x->why, sizeof x->why, "task %s has no valid window_end", x->task_key);
        return DRIP_EBADMSG;
    }
    x->k = t->has_inspectors_per_check && t->inspectors_per_check ? t->inspectors_per_check : 2;
    if (x->k > MATCH_MAX_REQUIRED) x->k = MATCH_MAX_REQUIRED;
    if (!rec->seed || !draw_is_hex64(rec->seed)) {
        snprintf(x->why, sizeof x->why, "draw record of %s without a valid seed", x->task_key);
        return DRIP_EBADMSG;
    }
    /* participating departments, in byte order */
    const char *codes[MATCH_MAX_DEPTS];
    size_t nc = 0;
    for (size_t i = 0; i < rec->n_participants && nc < MATCH_MAX_DEPTS; i++)
        codes[nc++] = rec->participants[i];
    if (nc == 0) {
        if (t->lead_dept) codes[nc++] = t->lead_dept;
        for (size_t i = 0; i < t->n_cooperating_depts && nc < MATCH_MAX_DEPTS; i++)
            codes[nc++] = t->cooperating_depts[i];
    }
    sort(codes, nc, sizeof *codes, cmp_str);
    match_dept md[MATCH_MAX_DEPTS];
    for (size_t i = 0; i < nc; i++) {
        if ((st = part_setup(x, &x->parts[i], codes[i])) != DRIP_OK) {
            x->nparts = i + 1;
            return st;
        }
        x->nparts = i + 1;
        md[i] = (match_dept){.dept = codes[i],
                             .required = x->k,
                             .experts = x->parts[i].experts,
                             .teams = x->parts[i].teams};
    }
    /* the lead's region for targets the projection does not know */
    const char *lead_region = "000000";
    for (size_t d = 0; d < x->ndepts; d++)
        if (t->lead_dept && !strcmp(x->depts[d].code, t->lead_dept) && *x->depts[d].region)
            lead_region = x->depts[d].region;
    if ((st = forms_load(x, lead_region)) != DRIP_OK) return st;
    if ((st = match_create(&x->mt, rec->seed, rec->task_code, md, nc)) != DRIP_OK) {
        snprintf(x->why, sizeof x->why, "cannot set up the matching (%s)", drip_status_name(st));
        return DRIP_EBADMSG;
    }
    /* forms in uscc order (match form index = index in x->forms) and their regions */
    x->regions = calloc(x->nforms ? x->nforms : 1, sizeof *x->regions);
    if (!x->regions) abort();
    for (size_t i = 0; i < x->nforms; i++) {
        int fi = match_form_add(x->mt, x->forms[i].uscc, x->forms[i].region);
        if (fi < 0) return fi;
        x->forms[i].idx = fi;
        x->regions[i] = x->forms[i].region;
    }
    sort(x->regions, x->nforms, sizeof *x->regions, cmp_str);
    size_t nr = 0;
    for (size_t i = 0; i < x->nforms; i++)
        if (nr == 0 || strcmp(x->regions[nr - 1], x->regions[i]) != 0) x->regions[nr++] = x->regions[i];
    x->nregions = nr;
    for (size_t i = 0; i < x->nforms; i++) {
        char **hit = bsearch(&x->forms[i].region, x->regions, nr, sizeof *x->regions, cmp_str);
        x->forms[i].ridx = (int)(hit - x->regions);
    }
    x->pool_of = malloc((nc * nr > 0 ? nc * nr : 1) * sizeof *x->pool_of);
    if (!x->pool_of) abort();
    for (size_t pd = 0; pd < nc; pd++)
        for (size_t r = 0; r < nr; r++) {
            int pi = pool_build(x, pd, x->regions[r]);
            if (pi < 0) return pi;
            x->pool_of[pd * nr + r] = pi;
        }
    unsigned recused[MATCH_MAX_DEPTS] = {0}, rotation[MATCH_MAX_DEPTS] = {0};
    if ((st = exclusions_add(x, recused, rotation)) != DRIP_OK) return st;
    sort(x->xs, x->nxs, sizeof *x->xs, cmp_xrec);
    const char *lines;
    size_t lines_len, nlines;
    char digest[65];
    if ((st = match_pool_lines(x->mt, &lines, &lines_len, &nlines, digest)) != DRIP_OK) return st;
    if ((st = match_run(x->mt)) != DRIP_OK) {
        snprintf(x->why, sizeof x->why, "matching failed (%s)", drip_status_name(st));
        return st;
    }
    return outputs(x, corr, lines, lines_len, nlines, digest, recused, rotation);
}

int matcher_run(matcher *m, PGconn *c, const char *task_key, const Drip__DrawRecord *rec,
                const char *corr)
{
    run_ctx x;
    memset(&x, 0, sizeof x);
    x.m = m;
    x.c = c;
    x.task_key = task_key;
    x.rec = rec;
    int64_t t0 = envelope_now_ms();
    int st = run_inner(&x, corr);
    int64_t ms = envelope_now_ms() - t0;
    if (st == DRIP_OK) {
        log_info("match.done", "task %s draw %u: %zu forms, %zu departments, %zu pools; %lld ms",
                 task_key, rec->draw_no, x.nforms, x.nparts, match_pool_count(x.mt),
                 (long long)ms);
        metrics_gauge_set(m->m_run_ms, ms);
    } else {
        log_warn("match.failed", "task %s: %s (%s)", task_key, x.why[0] ? x.why : "see above",
                 drip_status_name(st));
    }
    ctx_free(&x);
    return st;
}
