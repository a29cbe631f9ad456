/* validate.c — every field of a Task (see validate.h). */
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "db.h"
#include "regproj.h"
#include "status.h"
#include "store.h"

#define MAX_COOPERATING 32
#define MAX_ITEMS_PER_DEPT 64
#define MAX_FILTER_VALUES 64
#define MAX_CAPITAL 100000000000000LL /* 10^14 yuan, as the registry's registered_capital */

/* Writes the reason and returns st. */
static int bad(char *why, size_t cap, int st, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(char *why, size_t cap, int st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return st;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
    return e ? e->name : "?";
}

/* A known value of the enum; zero (UNSPECIFIED) only when allow_zero. */
static int enum_ok(const ProtobufCEnumDescriptor *d, int v, int allow_zero)
{
    if (v == 0) return allow_zero;
    return protobuf_c_enum_descriptor_get_value(d, v) != NULL;
}

static int text_field(const char *s, size_t min, size_t max, const char *field, char *why,
                      size_t cap)
{
    char w[CODES_WHY_MAX];
    int st = codes_text_check(s, min, max, w);
    if (st == DRIP_EMISSING)
        return bad(why, cap, DRIP_EMISSING, "%s: required (%zu..%zu characters)", field, min, max);
    if (st != DRIP_OK) return bad(why, cap, DRIP_EVALUE, "%s: %s", field, w);
    return DRIP_OK;
}

int reason_check(const char *reason, const char *what, char *why, size_t cap)
{
    char w[CODES_WHY_MAX];
    int st = codes_text_check(reason, 1, TASK_REASON_MAX, w);
    if (st == DRIP_EMISSING)
        return bad(why, cap, DRIP_EMISSING, "reason: required for %s (1..%d characters)", what,
                   TASK_REASON_MAX);
    if (st != DRIP_OK) return bad(why, cap, DRIP_EVALUE, "reason: %s", w);
    return DRIP_OK;
}

/* ---- departments -------------------------------------------------------------------------- */

/* A participant: registered, active, on the plan region's line of hierarchy (its region contains
 * the plan's region or lies inside it): a district plan may involve the city office, never a
 * department of a neighbouring district. */
static int participant_check(const task_vctx *v, const char *code, const char *field, char *why,
                             size_t cap)
{
    char w[CODES_WHY_MAX], region[7];
    if (!code || !*code) return bad(why, cap, DRIP_EMISSING, "%s: required", field);
    if (codes_dept_check(code, w) != DRIP_OK) return bad(why, cap, DRIP_EVALUE, "%s: %s", field, w);
    int active = 0;
    int st = proj_dept(v->c, code, region, &active, NULL, 0);
    if (st == DRIP_ENOTFOUND)
        return bad(why, cap, DRIP_EDEPT, "%s: department %s is not registered", field, code);
    if (st != DRIP_OK) return st;
    if (!active) return bad(why, cap, DRIP_EDEPT, "%s: department %s is inactive", field, code);
    if (codes_region_syntax(region, NULL) == DRIP_OK &&
        !codes_region_within(region, v->plan->region) && !codes_region_within(v->plan->region, region))
        return bad(why, cap, DRIP_EFORBIDDEN,
                   "%s: department %s belongs to region %s, outside the hierarchy of the plan's "
                   "region %s",
                   field, code, region, v->plan->region);
    return DRIP_OK;
}

static int is_participant(const Drip__Task *t, const char *dept)
{
    if (t->lead_dept && !strcmp(t->lead_dept, dept)) return 1;
    for (size_t i = 0; i < t->n_cooperating_depts; i++)
        if (t->cooperating_depts[i] && !strcmp(t->cooperating_depts[i], dept)) return 1;
    return 0;
}

static int depts_check(const task_vctx *v, const Drip__Task *t, char *why, size_t cap)
{
    int st = participant_check(v, t->lead_dept, "task.lead_dept", why, cap);
    if (st != DRIP_OK) return st;
    int joint = v->plan->kind == DRIP__PLAN_KIND__JOINT;
    if (!joint && strcmp(t->lead_dept, v->plan->owner) != 0)
        return bad(why, cap, DRIP_EFORBIDDEN,
                   "task.lead_dept: an internal task is led by the plan's department %s, not %s",
                   v->plan->owner, t->lead_dept);
    if (joint && t->n_cooperating_depts == 0)
        return bad(why, cap, DRIP_EMISSING,
                   "task.cooperating_depts: a joint (联合) task needs at least one cooperating "
                   "department");
    if (!joint && t->n_cooperating_depts > 0)
        return bad(why, cap, DRIP_EVALUE,
                   "task.cooperating_depts: an internal (内部) task has no cooperating departments "
                   "(got %zu)",
                   t->n_cooperating_depts);
    if (t->n_cooperating_depts > MAX_COOPERATING)
        return bad(why, cap, DRIP_ETOOLARGE, "task.cooperating_depts: %zu departments, at most %d",
                   t->n_cooperating_depts, MAX_COOPERATING);
    for (size_t i = 0; i < t->n_cooperating_depts; i++) {
        char field[64];
        snprintf(field, sizeof field, "task.cooperating_depts[%zu]", i);
        st = participant_check(v, t->cooperating_depts[i], field, why, cap);
        if (st != DRIP_OK) return st;
        if (!strcmp(t->cooperating_depts[i], t->lead_dept))
            return bad(why, cap, DRIP_EVALUE, "%s: %s is the lead department", field,
                       t->lead_dept);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->cooperating_depts[j], t->cooperating_depts[i]))
                return bad(why, cap, DRIP_EVALUE, "%s: %s is listed twice (also at [%zu])", field,
                           t->cooperating_depts[i], j);
    }
    return DRIP_OK;
}

/* ---- items -------------------------------------------------------------------------------- */

/* The projected item "DEPT/CODE": DRIP_OK with *out (caller frees), DRIP_ENOTFOUND (*retired says
 * whether it exists retired) or a db status. */
static int item_lookup(PGconn *c, const char *dept, const char *code, Drip__Change **out,
                       int *retired)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", dept, code);
    *retired = 0;
    int st;
    *out = regproj_get(c, DRIP__RECORD_KIND__KIND_ITEM, key, &st);
    if (*out) return DRIP_OK;
    if (st != DRIP_ENOTFOUND) return st;
    const char *params[1] = {key};
    PGresult *r = db_query(c, "SELECT 1 FROM ref_record WHERE kind = 3 AND key = $1 AND retired", 1,
                           params, &st);
    if (!r) return st;
    *retired = PQntuples(r) > 0;
    PQclear(r);
    return DRIP_ENOTFOUND;
}

static int method_on_site(const Drip__Item *it)
{
    for (size_t i = 0; i < it->n_methods; i++)
        if (it->methods[i] == DRIP__METHOD__ON_SITE ||
            it->methods[i] == DRIP__METHOD__FIELD_VERIFICATION)
            return 1;
    return 0;
}

/* Says whose item a code is when it is not the listed department's (a common mix-up). */
static int item_owner_hint(const task_vctx *v, const Drip__Task *t, const char *dept,
                           const char *code, char *owner, size_t cap)
{
    const char *cands[MAX_COOPERATING + 1];
    size_t n = 0;
    cands[n++] = t->lead_dept;
    for (size_t i = 0; i < t->n_cooperating_depts && n < MAX_COOPERATING + 1; i++)
        cands[n++] = t->cooperating_depts[i];
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(cands[i], dept)) continue;
        Drip__Change *ch = NULL;
        int retired = 0;
        int st = item_lookup(v->c, cands[i], code, &ch, &retired);
        if (ch) drip__change__free_unpacked(ch, NULL);
        if (st == DRIP_OK) {
            snprintf(owner, cap, "%s", cands[i]);
            return 1;
        }
    }
    return 0;
}

static int items_check(const task_vctx *v, const Drip__Task *t, char *on_site, size_t on_site_cap,
                       char *why, size_t cap)
{
    on_site[0] = '\0';
    for (size_t i = 0; i < t->n_items; i++) {
        const Drip__DeptItems *di = t->items[i];
        char field[48];
        snprintf(field, sizeof field, "task.items[%zu]", i);
        if (!di->dept || !*di->dept) return bad(why, cap, DRIP_EMISSING, "%s.dept: required", field);
        if (!is_participant(t, di->dept))
            return bad(why, cap, DRIP_EVALUE,
                       "%s.dept: %s is neither the lead nor a cooperating department of the task",
                       field, di->dept);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t->items[j]->dept, di->dept))
                return bad(why, cap, DRIP_EVALUE,
                           "%s.dept: %s has a second items entry (first at task.items[%zu])", field,
                           di->dept, j);
        if (di->n_item_codes == 0)
            return bad(why, cap, DRIP_EMISSING, "%s.item_codes: department %s needs at least one item",
                       field, di->dept);
        if (di->n_item_codes > MAX_ITEMS_PER_DEPT)
            return bad(why, cap, DRIP_ETOOLARGE, "%s.item_codes: %zu items, at most %d", field,
                       di->n_item_codes, MAX_ITEMS_PER_DEPT);
        for (size_t k = 0; k < di->n_item_codes; k++) {
            const char *code = di->item_codes[k];
            char ifield[128], w[CODES_WHY_MAX];
            snprintf(ifield, sizeof ifield, "%s.item_codes[%zu]", field, k);
            if (codes_ident_check(code, 32, w) != DRIP_OK)
                return bad(why, cap, DRIP_EVALUE, "%s: %s", ifield, w);
            for (size_t j = 0; j < k; j++)
                if (!strcmp(di->item_codes[j], code))
                    return bad(why, cap, DRIP_EVALUE, "%s: item %s is listed twice", ifield, code);
            Drip__Change *ch = NULL;
            int retired = 0;
            int st = item_lookup(v->c, di->dept, code, &ch, &retired);
            if (st == DRIP_ENOTFOUND) {
                char owner[40];
                if (retired)
                    return bad(why, cap, DRIP_EREFERENCE, "%s: item %s/%s is retired", ifield,
                               di->dept, code);
                if (item_owner_hint(v, t, di->dept, code, owner, sizeof owner))
                    return bad(why, cap, DRIP_EREFERENCE,
                               "%s: %s is an item of department %s, not of %s", ifield, code,
                               owner, di->dept);
                return bad(why, cap, DRIP_EREFERENCE,
                           "%s: department %s has no item %s in the registry", ifield, di->dept,
                           code);
            }
            if (st != DRIP_OK) return st;
            const Drip__Item *it = ch->item;
            int kind_ok = it && it->has_target_kind && it->target_kind == t->target_kind;
            int on = it && method_on_site(it);
            Drip__TargetKind ik = it && it->has_target_kind ? it->target_kind : 0;
            drip__change__free_unpacked(ch, NULL);
            if (!kind_ok)
                return bad(why, cap, DRIP_EVALUE,
                           "%s: item %s/%s applies to %s targets, the task's target_kind is %s",
                           ifield, di->dept, code, enum_name(&drip__target_kind__descriptor, ik),
                           enum_name(&drip__target_kind__descriptor, t->target_kind));
            if (on && !on_site[0]) snprintf(on_site, on_site_cap, "%s/%s", di->dept, code);
        }
    }
    /* every participant checks something */
    const char *missing = NULL;
    for (size_t i = 0; !missing && i <= t->n_cooperating_depts; i++) {
        const char *d = i == 0 ? t->lead_dept : t->cooperating_depts[i - 1];
        int found = 0;
        for (size_t j = 0; j < t->n_items; j++)
            if (!strcmp(t->items[j]->dept, d)) found = 1;
        if (!found) missing = d;
    }
    if (missing)
        return bad(why, cap, DRIP_EMISSING,
                   "task.items: no items for participating department %s (each participant checks "
                   "at least one item)",
                   missing);
    return DRIP_OK;
}

/* ---- scope -------------------------------------------------------------------------------- */

static int enum_list_check(const ProtobufCEnumDescriptor *d, const int *v, size_t n,
                           int allow_zero, const char *field, char *why, size_t cap)
{
    if (n > MAX_FILTER_VALUES)
        return bad(why, cap, DRIP_ETOOLARGE, "%s: %zu values, at most %d", field, n,
                   MAX_FILTER_VALUES);
    for (size_t i = 0; i < n; i++)
        if (!enum_ok(d, v[i], allow_zero))
            return bad(why, cap, DRIP_EENUM, "%s[%zu]: unknown %s value %d", field, i, d->short_name,
                       v[i]);
    return DRIP_OK;
}

/* Conditions beyond the baseline population (kinds, statuses, regions, establishment dates). */
static const char *targeting_condition(const Drip__TargetFilter *f)
{
    if (f->n_credit_classes) return "credit_classes";
    if (f->n_ownerships) return "ownerships";
    if (f->has_capital_min) return "capital_min";
    if (f->has_capital_max) return "capital_max";
    if (f->n_industries) return "industries";
    if (f->n_tags_all) return "tags_all";
    if (f->owner && *f->owner) return "owner";
    return NULL;
}

static int filter_empty(const Drip__TargetFilter *f)
{
    return !f || (!f->n_regions && !f->n_kinds && !f->n_statuses &&
                  !(f->established_before && *f->established_before) &&
                  !(f->established_after && *f->established_after) && !targeting_condition(f));
}

static int scope_regions(const task_vctx *v, Drip__TargetFilter *f, char *why, size_t cap)
{
    char w[CODES_WHY_MAX], name[256];
    if (f->n_regions > MAX_FILTER_VALUES)
        return bad(why, cap, DRIP_ETOOLARGE, "task.scope.regions: %zu regions, at most %d",
                   f->n_regions, MAX_FILTER_VALUES);
    for (size_t i = 0; i < f->n_regions; i++) {
        const char *code = f->regions[i];
        if (codes_region_syntax(code, w) != DRIP_OK)
            return bad(why, cap, DRIP_EREGION, "task.scope.regions[%zu]: %s", i, w);
        int st = proj_region_name(v->c, code, name, sizeof name);
        if (st == DRIP_ENOTFOUND)
            return bad(why, cap, DRIP_EREGION, "task.scope.regions[%zu]: region %s does not exist",
                       i, code);
        if (st != DRIP_OK) return st;
        if (!codes_region_within(code, v->plan->region))
            return bad(why, cap, DRIP_EREGION,
                       "task.scope.regions[%zu]: region %s is outside the plan's region %s", i,
                       code, v->plan->region);
    }
    if (f->n_regions == 0) {
        /* the plan's jurisdiction, spelt out in the published task */
        f->regions = malloc(sizeof(char *));
        if (!f->regions) abort();
        f->regions[0] = strdup(v->plan->region);
        if (!f->regions[0]) abort();
        f->n_regions = 1;
    }
    return DRIP_OK;
}

static int scope_check(const task_vctx *v, Drip__Task *t, char *why, size_t cap)
{
    char w[CODES_WHY_MAX];
    int targeted = t->has_targeted && t->targeted;
    t->has_targeted = 1; /* explicit in the stored and published task */
    t->targeted = targeted;
    if (targeted && filter_empty(t->scope))
        return bad(why, cap, DRIP_EMISSING,
                   "task.scope: a targeted (定向) task needs a scope with at least one condition");
    if (!t->scope) {
        t->scope = malloc(sizeof *t->scope);
        if (!t->scope) abort();
        drip__target_filter__init(t->scope);
    }
    Drip__TargetFilter *f = t->scope;
    const char *cond = targeting_condition(f);
    if (!targeted && cond)
        return bad(why, cap, DRIP_EVALUE,
                   "task.scope.%s: an untargeted (不定向) task draws from the whole population and "
                   "may only limit regions, kinds, statuses and establishment dates; set targeted "
                   "to filter by %s",
                   cond, cond);
    int st = scope_regions(v, f, why, cap);
    if (st != DRIP_OK) return st;
    if ((st = enum_list_check(&drip__target_kind__descriptor, (const int *)f->kinds, f->n_kinds, 0,
                              "task.scope.kinds", why, cap)) != DRIP_OK ||
        (st = enum_list_check(&drip__target_status__descriptor, (const int *)f->statuses,
                              f->n_statuses, 0, "task.scope.statuses", why, cap)) != DRIP_OK ||
        (st = enum_list_check(&drip__credit_class__descriptor, (const int *)f->credit_classes,
                              f->n_credit_classes, 1, "task.scope.credit_classes", why, cap)) !=
            DRIP_OK ||
        (st = enum_list_check(&drip__ownership__descriptor, (const int *)f->ownerships,
                              f->n_ownerships, 0, "task.scope.ownerships", why, cap)) != DRIP_OK)
        return st;
    for (size_t i = 0; i < f->n_kinds; i++)
        if (f->kinds[i] != t->target_kind)
            return bad(why, cap, DRIP_EVALUE,
                       "task.scope.kinds[%zu]: %s contradicts the task's target_kind %s", i,
                       enum_name(&drip__target_kind__descriptor, f->kinds[i]),
                       enum_name(&drip__target_kind__descriptor, t->target_kind));
    if (f->has_capital_min && (f->capital_min < 0 || f->capital_min > MAX_CAPITAL))
        return bad(why, cap, DRIP_EVALUE, "task.scope.capital_min: %lld is outside 0..10^14 yuan",
                   (long long)f->capital_min);
    if (f->has_capital_max && (f->capital_max < 0 || f->capital_max > MAX_CAPITAL))
        return bad(why, cap, DRIP_EVALUE, "task.scope.capital_max: %lld is outside 0..10^14 yuan",
                   (long long)f->capital_max);
    if (f->has_capital_min && f->has_capital_max && f->capital_min > f->capital_max)
        return bad(why, cap, DRIP_EVALUE,
                   "task.scope.capital_min: %lld is greater than capital_max %lld",
                   (long long)f->capital_min, (long long)f->capital_max);
    int32_t before = 0, after = 0;
    int has_before = f->established_before && *f->established_before;
    int has_after = f->established_after && *f->established_after;
    if (has_before && codes_date_parse(f->established_before, &before, w) != DRIP_OK)
        return bad(why, cap, DRIP_EDATE, "task.scope.established_before: %s", w);
    if (has_after && codes_date_parse(f->established_after, &after, w) != DRIP_OK)
        return bad(why, cap, DRIP_EDATE, "task.scope.established_after: %s", w);
    if (has_before && has_after && after > before)
        return bad(why, cap, DRIP_EDATE,
                   "task.scope.established_after: %s is later than established_before %s",
                   f->established_after, f->established_before);
    if (f->n_industries > MAX_FILTER_VALUES)
        return bad(why, cap, DRIP_ETOOLARGE, "task.scope.industries: %zu codes, at most %d",
                   f->n_industries, MAX_FILTER_VALUES);
    for (size_t i = 0; i < f->n_industries; i++)
        if (codes_industry_check(f->industries[i], w) != DRIP_OK)
            return bad(why, cap, DRIP_EVALUE, "task.scope.industries[%zu]: %s", i, w);
    if (f->n_tags_all > MAX_FILTER_VALUES)
        return bad(why, cap, DRIP_ETOOLARGE, "task.scope.tags_all: %zu tags, at most %d",
                   f->n_tags_all, MAX_FILTER_VALUES);
    for (size_t i = 0; i < f->n_tags_all; i++) {
        const char *tag = f->tags_all[i];
        if (codes_text_check(tag, 1, 64, w) != DRIP_OK)
            return bad(why, cap, DRIP_EVALUE, "task.scope.tags_all[%zu]: %s", i, w);
        if (strpbrk(tag, ";,"))
            return bad(why, cap, DRIP_EVALUE, "task.scope.tags_all[%zu]: a tag may not contain ';' or ','",
                       i);
    }
    if (f->owner && *f->owner) {
        char region[7];
        if (codes_dept_check(f->owner, w) != DRIP_OK)
            return bad(why, cap, DRIP_EVALUE, "task.scope.owner: %s", w);
        st = proj_dept(v->c, f->owner, region, NULL, NULL, 0);
        if (st == DRIP_ENOTFOUND)
            return bad(why, cap, DRIP_EDEPT, "task.scope.owner: department %s is not registered",
                       f->owner);
        if (st != DRIP_OK) return st;
    }
    return DRIP_OK;
}

/* ---- quota, staffing, deadlines ------------------------------------------------------------- */

static int quota_check(Drip__Task *t, char *why, size_t cap)
{
    const char *given[3];
    int n = 0;
    if (t->has_ratio_ppm) given[n++] = "ratio_ppm";
    if (t->n_class_ratios) given[n++] = "class_ratios";
    if (t->has_count) given[n++] = "count";
    if (n == 0)
        return bad(why, cap, DRIP_EMISSING,
                   "task: one of ratio_ppm, class_ratios or count is required");
    if (n > 1)
        return bad(why, cap, DRIP_EVALUE,
                   "task.%s: give exactly one of ratio_ppm, class_ratios and count (got %s and %s)",
                   given[1], given[0], given[1]);
    if (!t->has_stratify) {
        t->has_stratify = 1;
        t->stratify = 1;
    }
    if (t->has_ratio_ppm && (t->ratio_ppm < 1 || t->ratio_ppm > 1000000))
        return bad(why, cap, DRIP_EVALUE, "task.ratio_ppm: %u is outside 1..1000000 (10000 = 1%%)",
                   t->ratio_ppm);
    if (t->has_count && (t->count < 1 || t->count > 1000000))
        return bad(why, cap, DRIP_EVALUE, "task.count: %u is outside 1..1000000", t->count);
    if (t->n_class_ratios && !t->stratify)
        return bad(why, cap, DRIP_EVALUE,
                   "task.class_ratios: per-class ratios need credit-class strata (stratify is false)");
    if (t->n_class_ratios > 5)
        return bad(why, cap, DRIP_EVALUE, "task.class_ratios: %zu entries, at most one per class (5)",
                   t->n_class_ratios);
    for (size_t i = 0; i < t->n_class_ratios; i++) {
        const Drip__ClassRatio *cr = t->class_ratios[i];
        int cls = cr->has_credit_class ? (int)cr->credit_class : 0;
        if (!enum_ok(&drip__credit_class__descriptor, cls, 1))
            return bad(why, cap, DRIP_EENUM, "task.class_ratios[%zu].credit_class: unknown value %d",
                       i, cls);
        for (size_t j = 0; j < i; j++) {
            const Drip__ClassRatio *o = t->class_ratios[j];
            if ((o->has_credit_class ? (int)o->credit_class : 0) == cls)
                return bad(why, cap, DRIP_EVALUE,
                           "task.class_ratios[%zu].credit_class: %s appears twice (also at [%zu])",
                           i, enum_name(&drip__credit_class__descriptor, cls), j);
        }
        if (!cr->has_ratio_ppm || cr->ratio_ppm < 1 || cr->ratio_ppm > 1000000)
            return bad(why, cap, DRIP_EVALUE,
                       "task.class_ratios[%zu].ratio_ppm: %u is outside 1..1000000", i,
                       cr->has_ratio_ppm ? cr->ratio_ppm : 0);
    }
    return DRIP_OK;
}

static int range_field(int has, uint32_t v, uint32_t lo, uint32_t hi, const char *field, char *why,
                       size_t cap)
{
    if (!has) return bad(why, cap, DRIP_EMISSING, "%s: required (%u..%u)", field, lo, hi);
    if (v < lo || v > hi)
        return bad(why, cap, DRIP_EVALUE, "%s: %u is outside %u..%u", field, v, lo, hi);
    return DRIP_OK;
}

static int window_check(const task_vctx *v, const Drip__Task *t, char *why, size_t cap)
{
    char w[CODES_WHY_MAX];
    int32_t start = 0, end = 0;
    if (!t->window_start || !*t->window_start)
        return bad(why, cap, DRIP_EMISSING, "task.window_start: required (YYYY-MM-DD)");
    if (!t->window_end || !*t->window_end)
        return bad(why, cap, DRIP_EMISSING, "task.window_end: required (YYYY-MM-DD)");
    if (codes_date_parse(t->window_start, &start, w) != DRIP_OK)
        return bad(why, cap, DRIP_EDATE, "task.window_start: %s", w);
    if (codes_date_parse(t->window_end, &end, w) != DRIP_OK)
        return bad(why, cap, DRIP_EDATE, "task.window_end: %s", w);
    if (start > end)
        return bad(why, cap, DRIP_EDATE, "task.window_end: %s is before window_start %s",
                   t->window_end, t->window_start);
    int ys = 0, ye = 0;
    codes_date_civil(start, &ys, NULL, NULL);
    codes_date_civil(end, &ye, NULL, NULL);
    if ((uint32_t)ys != v->plan->year)
        return bad(why, cap, DRIP_EDATE, "task.window_start: %s is outside the plan's year %u",
                   t->window_start, v->plan->year);
    if ((uint32_t)ye != v->plan->year)
        return bad(why, cap, DRIP_EDATE, "task.window_end: %s is outside the plan's year %u",
                   t->window_end, v->plan->year);
    return DRIP_OK;
}

static int exclusions_check(const Drip__Task *t, char *why, size_t cap)
{
    if (t->has_exclude_inspected_days && t->exclude_inspected_days > 3660)
        return bad(why, cap, DRIP_EVALUE,
                   "task.exclude_inspected_days: %u is outside 0..3660 (0 = off)",
                   t->exclude_inspected_days);
    uint32_t cap_n = t->has_max_inspections_per_year ? t->max_inspections_per_year : 0;
    if (cap_n > 100)
        return bad(why, cap, DRIP_EVALUE,
                   "task.max_inspections_per_year: %u is outside 0..100 (0 = no cap)", cap_n);
    if (t->n_cap_exempt_classes && cap_n == 0)
        return bad(why, cap, DRIP_EVALUE,
                   "task.cap_exempt_classes: exemptions from a cap, but max_inspections_per_year "
                   "is 0 (no cap)");
    for (size_t i = 0; i < t->n_cap_exempt_classes; i++) {
        int cls = (int)t->cap_exempt_classes[i];
        if (!enum_ok(&drip__credit_class__descriptor, cls, 1))
            return bad(why, cap, DRIP_EENUM, "task.cap_exempt_classes[%zu]: unknown value %d", i,
                       cls);
        for (size_t j = 0; j < i; j++)
            if ((int)t->cap_exempt_classes[j] == cls)
                return bad(why, cap, DRIP_EVALUE, "task.cap_exempt_classes[%zu]: %s appears twice",
                           i, enum_name(&drip__credit_class__descriptor, cls));
    }
    return DRIP_OK;
}

/* ---- the task ----------------------------------------------------------------------------- */

int task_validate(const task_vctx *v, Drip__Task *t, char *why, size_t cap)
{
    int st;
    if ((st = text_field(t->code, 1, TASK_CODE_MAX, "task.code", why, cap)) != DRIP_OK ||
        (st = text_field(t->name, 1, 256, "task.name", why, cap)) != DRIP_OK)
        return st;
    if (!t->has_kind || t->kind == 0)
        return bad(why, cap, DRIP_EMISSING, "task.kind: required (JOINT or INTERNAL, as the plan)");
    if (!enum_ok(&drip__plan_kind__descriptor, t->kind, 0))
        return bad(why, cap, DRIP_EENUM, "task.kind: unknown value %d", (int)t->kind);
    if (t->kind != v->plan->kind)
        return bad(why, cap, DRIP_EVALUE, "task.kind: %s, but plan %s is %s",
                   enum_name(&drip__plan_kind__descriptor, t->kind), v->plan->code,
                   enum_name(&drip__plan_kind__descriptor, v->plan->kind));
    if ((st = depts_check(v, t, why, cap)) != DRIP_OK) return st;
    if (!t->has_target_kind || t->target_kind == 0)
        return bad(why, cap, DRIP_EMISSING, "task.target_kind: required");
    if (!enum_ok(&drip__target_kind__descriptor, t->target_kind, 0))
        return bad(why, cap, DRIP_EENUM, "task.target_kind: unknown value %d", (int)t->target_kind);
    char on_site[96];
    if ((st = items_check(v, t, on_site, sizeof on_site, why, cap)) != DRIP_OK) return st;
    if ((st = scope_check(v, t, why, cap)) != DRIP_OK) return st;
    if ((st = quota_check(t, why, cap)) != DRIP_OK) return st;
    if ((st = range_field(t->has_inspectors_per_check, t->inspectors_per_check, 1, 10,
                          "task.inspectors_per_check", why, cap)) != DRIP_OK)
        return st;
    if (on_site[0] && t->inspectors_per_check < 2)
        return bad(why, cap, DRIP_EVALUE,
                   "task.inspectors_per_check: %u, but item %s is checked on site (现场检查/实地核查), "
                   "which needs at least 2 inspectors",
                   t->inspectors_per_check, on_site);
    if ((st = range_field(t->has_confirm_workdays, t->confirm_workdays, 1, 30,
                          "task.confirm_workdays", why, cap)) != DRIP_OK ||
        (st = range_field(t->has_result_workdays, t->result_workdays, 1, 60,
                          "task.result_workdays", why, cap)) != DRIP_OK)
        return st;
    if ((st = window_check(v, t, why, cap)) != DRIP_OK) return st;
    return exclusions_check(t, why, cap);
}
