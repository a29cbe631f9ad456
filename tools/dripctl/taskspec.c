#include "taskspec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "drip/registry.pb-c.h"
#include "status.h"
#include "vocab.h"

/* enum arrays are filled through int pointers (protobuf-c forces its enums to int size) */
_Static_assert(sizeof(Drip__CreditClass) == sizeof(int), "enum size");
_Static_assert(sizeof(Drip__TargetStatus) == sizeof(int), "enum size");
_Static_assert(sizeof(Drip__TargetKind) == sizeof(int), "enum size");
_Static_assert(sizeof(Drip__Ownership) == sizeof(int), "enum size");

#define TASK_CODE_CHARS 32
#define JPATH 256 /* bytes of a field path in messages */
#define TASK_NAME_CHARS 256

const char taskspec_flags_help[] =
    "  Task content (flags; --file TASK.json gives it as JSON, see docs/dripctl-plans.md; flags\n"
    "  given with --file override the file's fields):\n"
    "  --code CODE               task code, e.g. 联202301 (1..32 characters)\n"
    "  --name TEXT               task name\n"
    "  --kind joint|internal     default: the plan's kind\n"
    "  --lead DEPT               lead department (发起部门)\n"
    "  --coop D1,D2              cooperating departments (配合部门)\n"
    "  --items DEPT:ITEM1;ITEM2  items one department checks (repeatable, one per department;\n"
    "                            ',' also separates items)\n"
    "  --target-kind K           enterprise|individual|cooperative|project\n"
    "  --ratio 1%                one ratio for every stratum (at most 4 decimals: 0.0001%)\n"
    "  --ratio-ppm N             the same in parts per million (10000 = 1%)\n"
    "  --class-ratio A=1%,B=2%,C=10%,D=30%   per credit class ('-' = not yet classified)\n"
    "  --count N                 a fixed total, allocated over the strata by largest remainder\n"
    "                            (--ratio, --ratio-ppm, --class-ratio and --count exclude each "
    "other)\n"
    "  --stratify / --no-stratify   stratify by credit class (the planner's default: yes)\n"
    "  --inspectors N            inspectors per check (>= 2 for on-site checks)\n"
    "  --confirm-days N          confirmation deadline in working days after the draw\n"
    "  --result-days N           results due in working days after the check\n"
    "  --window FROM..TO         e.g. 2023-03-01..2023-04-30\n"
    "  --exclude-inspected-days N   skip targets the same department inspected in the last N days\n"
    "  --max-per-year N          at most N inspections per target and year (0 = no cap)\n"
    "  --cap-exempt C,...        credit classes exempt from that cap, e.g. D\n"
    "  --targeted / --untargeted    定向 / 不定向 (default: untargeted, unless a targeting\n"
    "                            condition below is given: --credit, --ownership, "
    "--capital-min/max,\n"
    "                            --industry, --tag, --owner; an untargeted task may still limit\n"
    "                            regions, kinds, statuses and establishment dates)\n"
    "  Scope (as for `registry count`; lists match any value, all flags must hold):\n"
    "  --region R,...  --status S,...  --credit C,...  --ownership O,...  --capital-min N\n"
    "  --capital-max N  --established-before D  --established-after D  --industry C,...\n"
    "  --tag T (repeatable)  --owner DEPT  --scope-kind K,...\n";

void taskspec_init(taskspec *ts, arena *a)
{
    memset(ts, 0, sizeof *ts);
    ts->a = a;
    drip__task__init(&ts->t);
    drip__target_filter__init(&ts->scope);
}

/* ------------------------------------------------------------------------------------------------
 * Small builders
 * ---------------------------------------------------------------------------------------------- */

/* Appends one value to an arena array of any element type (lists here are short). */
static void *append(arena *a, const void *arr, size_t n, size_t elem, const void *value)
{
    unsigned char *nv = arena_alloc(a, (n + 1) * elem);
    if (n) memcpy(nv, arr, n * elem);
    memcpy(nv + n * elem, value, elem);
    return nv;
}

#define APPEND(a, arr, n, value)                                                                   \
    do {                                                                                           \
        __typeof__(*(arr)) v_ = (value);                                                           \
        (arr) = append((a), (arr), (n), sizeof *(arr), &v_);                                       \
        (n)++;                                                                                     \
    } while (0)

/* Items for department `dept` (an existing entry or a new one). */
static Drip__DeptItems *dept_items(taskspec *ts, const char *dept)
{
    for (size_t i = 0; i < ts->t.n_items; i++)
        if (strcmp(ts->t.items[i]->dept, dept) == 0) return ts->t.items[i];
    Drip__DeptItems *di = arena_alloc(ts->a, sizeof *di);
    drip__dept_items__init(di);
    di->dept = arena_strdup(ts->a, dept);
    APPEND(ts->a, ts->t.items, ts->t.n_items, di);
    return di;
}

/* Adds a class ratio; DRIP_ECONFLICT when the class is there already. */
static int add_class_ratio(taskspec *ts, int cls, uint32_t ppm)
{
    for (size_t i = 0; i < ts->t.n_class_ratios; i++)
        if ((int)ts->t.class_ratios[i]->credit_class == cls) return DRIP_ECONFLICT;
    Drip__ClassRatio *cr = arena_alloc(ts->a, sizeof *cr);
    drip__class_ratio__init(cr);
    cr->has_credit_class = 1;
    cr->credit_class = (Drip__CreditClass)cls;
    cr->has_ratio_ppm = 1;
    cr->ratio_ppm = ppm;
    APPEND(ts->a, ts->t.class_ratios, ts->t.n_class_ratios, cr);
    return DRIP_OK;
}

/* One of ratio / class ratios / count was given: the other two are cleared. */
static void ratio_family(taskspec *ts, unsigned which)
{
    if (!(which & TS_RATIO)) ts->t.has_ratio_ppm = 0;
    if (!(which & TS_CLASS)) {
        ts->t.n_class_ratios = 0;
        ts->t.class_ratios = NULL;
    }
    if (!(which & TS_COUNT)) ts->t.has_count = 0;
    ts->set |= TS_RATIO | TS_CLASS | TS_COUNT;
}

/* ------------------------------------------------------------------------------------------------
 * Flags
 * ---------------------------------------------------------------------------------------------- */

/* First use of a list flag in this command: the list starts empty (it replaces the old one). */
static int first_use(unsigned *used, unsigned bit)
{
    if (*used & bit) return 0;
    *used |= bit;
    return 1;
}

static int flag_uint(const cli_common *o, const char *opt, const char *arg, int64_t min,
                     int64_t max, uint32_t *out, int *rc)
{
    int64_t v;
    if (ctl_parse_int64(arg, min, max, &v) != DRIP_OK) {
        *rc = cli_usage(o, "%s must be a whole number %lld..%lld, not '%s'", opt, (long long)min,
                        (long long)max, arg);
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static int flag_items(taskspec *ts, const cli_common *o, const char *arg, int *rc)
{
    const char *colon = strchr(arg, ':');
    char why[CODES_WHY_MAX];
    if (!colon || colon == arg) {
        *rc = cli_usage(o, "--items must be DEPT:ITEM1;ITEM2, not '%s'", arg);
        return 1;
    }
    char *dept = arena_strndup(ts->a, arg, (size_t)(colon - arg));
    if (codes_dept_check(dept, why) != DRIP_OK) {
        *rc = cli_usage(o, "--items %s: department: %s", arg, why);
        return 1;
    }
    if (first_use(&ts->flag_lists, TS_ITEMS)) {
        ts->t.items = NULL;
        ts->t.n_items = 0;
    }
    Drip__DeptItems *di = dept_items(ts, dept);
    size_t before = di->n_item_codes;
    cli_split(ts->a, colon + 1, ";,", &di->item_codes, &di->n_item_codes);
    if (di->n_item_codes == before) *rc = cli_usage(o, "--items %s: no item codes after ':'", arg);
    ts->set |= TS_ITEMS;
    return 1;
}

static int flag_class_ratio(taskspec *ts, const cli_common *o, const char *arg, int *rc)
{
    char **parts = NULL;
    size_t n = 0;
    cli_split(ts->a, arg, ",", &parts, &n);
    if (first_use(&ts->flag_lists, TS_CLASS)) {
        ts->t.class_ratios = NULL;
        ts->t.n_class_ratios = 0;
    }
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(parts[i], '=');
        int cls;
        uint32_t ppm;
        if (!eq) {
            *rc = cli_usage(o, "--class-ratio wants CLASS=PERCENT items like A=1%%, not '%s'",
                            parts[i]);
            return 1;
        }
        *eq = '\0';
        if (cli_credit_parse(parts[i], &cls) != DRIP_OK) {
            *rc = cli_usage(o, "--class-ratio: unknown credit class '%s' (A, B, C, D or -)",
                            parts[i]);
            return 1;
        }
        if (cli_parse_percent(eq + 1, &ppm) != DRIP_OK) {
            *rc = cli_usage(o, "--class-ratio %s: '%s' is not a percentage like 1%% or 0.5%%",
                            parts[i], eq + 1);
            return 1;
        }
        if (add_class_ratio(ts, cls, ppm) != DRIP_OK) {
            *rc = cli_usage(o, "--class-ratio: class %s given twice", parts[i]);
            return 1;
        }
    }
    ratio_family(ts, TS_CLASS);
    return 1;
}

/* Enum lists of the scope and cap_exempt_classes. */
static int flag_enum_list(taskspec *ts, const cli_common *o, const char *opt, vocab_table t,
                          const char *arg, int *rc, void **arr, size_t *n, size_t elem)
{
    char **words = NULL;
    size_t nw = 0;
    cli_split(ts->a, arg, ",", &words, &nw);
    for (size_t i = 0; i < nw; i++) {
        int v;
        int ok = t == VOCAB_CREDIT_CLASS ? cli_credit_parse(words[i], &v) == DRIP_OK
                                         : vocab_parse(t, words[i], &v) == DRIP_OK;
        if (!ok) {
            *rc = cli_usage(o, "%s: unknown %s '%s' (expected %s)", opt, vocab_table_name(t),
                            words[i],
                            t == VOCAB_CREDIT_CLASS ? "A, B, C, D or -" : vocab_describe(t));
            return 1;
        }
        *arr = append(ts->a, *arr, (*n)++, elem, &v); /* protobuf-c enums are int-sized */
    }
    return 1;
}

/* Scope conditions an untargeted (不定向) task may not have: the planner lets it limit only
 * regions, kinds, statuses and establishment dates. */
#define SC_TARGETING                                                                               \
    (SC_CREDITS | SC_OWNERSHIPS | SC_CMIN | SC_CMAX | SC_INDUSTRIES | SC_TAGS | SC_OWNER)

/* A scope flag; a targeting condition makes the task targeted unless --untargeted says otherwise.
 */
static void scope_given(taskspec *ts, unsigned bit)
{
    ts->scope_set |= bit;
    ts->set |= TS_SCOPE;
    if ((bit & SC_TARGETING) && !ts->untargeted_flag) {
        ts->t.has_targeted = 1;
        ts->t.targeted = 1;
        ts->set |= TS_TARGETED;
    }
}

static int flag_date(const cli_common *o, const char *opt, const char *arg, char **out, int *rc)
{
    if (codes_date_parse(arg, NULL, NULL) != DRIP_OK) {
        *rc = cli_usage(o, "%s must be a date YYYY-MM-DD, not '%s'", opt, arg);
        return 1;
    }
    *out = (char *)arg;
    return 1;
}

static int flag_capital(const cli_common *o, const char *arg, int64_t *out, int *rc)
{
    if (ctl_parse_int64(arg, 0, INT64_MAX, out) != DRIP_OK)
        *rc = cli_usage(o, "capital must be a whole number of yuan, not '%s'", arg);
    return 1;
}

static int scope_option(taskspec *ts, const cli_common *o, int ch, const char *arg, int *rc)
{
    Drip__TargetFilter *f = &ts->scope;
    unsigned *used = &ts->scope_flag_lists;
    static const unsigned bits[] = {
        [TS_O_SC_REGION - TS_O_SC_REGION] = SC_REGIONS,
        [TS_O_SC_STATUS - TS_O_SC_REGION] = SC_STATUSES,
        [TS_O_SC_CREDIT - TS_O_SC_REGION] = SC_CREDITS,
        [TS_O_SC_OWNERSHIP - TS_O_SC_REGION] = SC_OWNERSHIPS,
        [TS_O_SC_CMIN - TS_O_SC_REGION] = SC_CMIN,
        [TS_O_SC_CMAX - TS_O_SC_REGION] = SC_CMAX,
        [TS_O_SC_EBEFORE - TS_O_SC_REGION] = SC_EBEFORE,
        [TS_O_SC_EAFTER - TS_O_SC_REGION] = SC_EAFTER,
        [TS_O_SC_INDUSTRY - TS_O_SC_REGION] = SC_INDUSTRIES,
        [TS_O_SC_TAG - TS_O_SC_REGION] = SC_TAGS,
        [TS_O_SC_KIND - TS_O_SC_REGION] = SC_KINDS,
        [TS_O_SC_OWNER - TS_O_SC_REGION] = SC_OWNER,
    };
    if (ch < TS_O_SC_REGION || ch > TS_O_SC_OWNER) return 0;
    unsigned bit = bits[ch - TS_O_SC_REGION];
    int fresh = first_use(used, bit);
    scope_given(ts, bit);
    switch (ch) {
    case TS_O_SC_REGION:
        if (fresh) f->n_regions = 0;
        cli_split(ts->a, arg, ",", &f->regions, &f->n_regions);
        return 1;
    case TS_O_SC_INDUSTRY:
        if (fresh) f->n_industries = 0;
        cli_split(ts->a, arg, ",", &f->industries, &f->n_industries);
        return 1;
    case TS_O_SC_TAG:
        if (fresh) f->n_tags_all = 0;
        cli_split(ts->a, arg, ",", &f->tags_all, &f->n_tags_all);
        return 1;
    case TS_O_SC_STATUS:
        if (fresh) f->n_statuses = 0;
        return flag_enum_list(ts, o, "--status", VOCAB_TARGET_STATUS, arg, rc,
                              (void **)&f->statuses, &f->n_statuses, sizeof *f->statuses);
    case TS_O_SC_CREDIT:
        if (fresh) f->n_credit_classes = 0;
        return flag_enum_list(ts, o, "--credit", VOCAB_CREDIT_CLASS, arg, rc,
                              (void **)&f->credit_classes, &f->n_credit_classes,
                              sizeof *f->credit_classes);
    case TS_O_SC_OWNERSHIP:
        if (fresh) f->n_ownerships = 0;
        return flag_enum_list(ts, o, "--ownership", VOCAB_OWNERSHIP, arg, rc,
                              (void **)&f->ownerships, &f->n_ownerships, sizeof *f->ownerships);
    case TS_O_SC_KIND:
        if (fresh) f->n_kinds = 0;
        return flag_enum_list(ts, o, "--scope-kind", VOCAB_TARGET_KIND, arg, rc, (void **)&f->kinds,
                              &f->n_kinds, sizeof *f->kinds);
    case TS_O_SC_CMIN:
        f->has_capital_min = 1;
        return flag_capital(o, arg, &f->capital_min, rc);
    case TS_O_SC_CMAX:
        f->has_capital_max = 1;
        return flag_capital(o, arg, &f->capital_max, rc);
    case TS_O_SC_EBEFORE:
        return flag_date(o, "--established-before", arg, &f->established_before, rc);
    case TS_O_SC_EAFTER:
        return flag_date(o, "--established-after", arg, &f->established_after, rc);
    case TS_O_SC_OWNER:
        f->owner = (char *)arg;
        return 1;
    }
    return 0;
}

/* Flags with a number value. */
static int number_option(taskspec *ts, const cli_common *o, int ch, const char *arg, int *rc)
{
    Drip__Task *t = &ts->t;
    switch (ch) {
    case TS_O_RATIO_PPM:
        if (flag_uint(o, "--ratio-ppm", arg, 1, 1000000, &t->ratio_ppm, rc)) t->has_ratio_ppm = 1;
        ratio_family(ts, TS_RATIO);
        return 1;
    case TS_O_COUNT:
        if (flag_uint(o, "--count", arg, 1, UINT32_MAX, &t->count, rc)) t->has_count = 1;
        ratio_family(ts, TS_COUNT);
        return 1;
    case TS_O_INSPECTORS:
        t->has_inspectors_per_check =
            flag_uint(o, "--inspectors", arg, 1, 10, &t->inspectors_per_check, rc);
        ts->set |= TS_INSPECTORS;
        return 1;
    case TS_O_CONFIRM:
        t->has_confirm_workdays =
            flag_uint(o, "--confirm-days", arg, 1, 30, &t->confirm_workdays, rc);
        ts->set |= TS_CONFIRM;
        return 1;
    case TS_O_RESULT:
        t->has_result_workdays = flag_uint(o, "--result-days", arg, 1, 60, &t->result_workdays, rc);
        ts->set |= TS_RESULT;
        return 1;
    case TS_O_EXCLUDE:
        t->has_exclude_inspected_days =
            flag_uint(o, "--exclude-inspected-days", arg, 0, 3660, &t->exclude_inspected_days, rc);
        ts->set |= TS_EXCLUDE;
        return 1;
    case TS_O_MAXYEAR:
        t->has_max_inspections_per_year =
            flag_uint(o, "--max-per-year", arg, 0, 1000, &t->max_inspections_per_year, rc);
        ts->set |= TS_MAXYEAR;
        return 1;
    }
    return 0;
}

/* Flags with a word or text value. */
static int word_option(taskspec *ts, const cli_common *o, int ch, const char *arg, int *rc)
{
    Drip__Task *t = &ts->t;
    int v;
    switch (ch) {
    case TS_O_CODE:
        t->code = (char *)arg;
        ts->set |= TS_CODE;
        return 1;
    case TS_O_NAME:
        t->name = (char *)arg;
        ts->set |= TS_NAME;
        return 1;
    case TS_O_LEAD:
        t->lead_dept = (char *)arg;
        ts->set |= TS_LEAD;
        return 1;
    case TS_O_KIND:
        if (cli_plan_kind_parse(arg, &v) != DRIP_OK) {
            *rc = cli_usage(o, "--kind must be joint or internal, not '%s'", arg);
            return 1;
        }
        t->has_kind = 1;
        t->kind = (Drip__PlanKind)v;
        ts->set |= TS_KIND;
        return 1;
    case TS_O_TKIND:
        if (vocab_parse(VOCAB_TARGET_KIND, arg, &v) != DRIP_OK) {
            *rc = cli_usage(o, "--target-kind: unknown target kind '%s' (expected %s)", arg,
                            vocab_describe(VOCAB_TARGET_KIND));
            return 1;
        }
        t->has_target_kind = 1;
        t->target_kind = (Drip__TargetKind)v;
        ts->set |= TS_TKIND;
        return 1;
    case TS_O_COOP:
        if (first_use(&ts->flag_lists, TS_COOP)) t->n_cooperating_depts = 0;
        cli_split(ts->a, arg, ",", &t->cooperating_depts, &t->n_cooperating_depts);
        ts->set |= TS_COOP;
        return 1;
    case TS_O_CAPEXEMPT:
        if (first_use(&ts->flag_lists, TS_CAPEXEMPT)) t->n_cap_exempt_classes = 0;
        ts->set |= TS_CAPEXEMPT;
        return flag_enum_list(ts, o, "--cap-exempt", VOCAB_CREDIT_CLASS, arg, rc,
                              (void **)&t->cap_exempt_classes, &t->n_cap_exempt_classes,
                              sizeof *t->cap_exempt_classes);
    case TS_O_RATIO:
        if (cli_parse_percent(arg, &t->ratio_ppm) != DRIP_OK)
            *rc = cli_usage(o,
                            "--ratio must be a percentage like 1%% or 0.5%% (0.0001%%..100%%), "
                            "not '%s'",
                            arg);
        t->has_ratio_ppm = 1;
        ratio_family(ts, TS_RATIO);
        return 1;
    case TS_O_WINDOW:
        if (cli_parse_window(ts->a, arg, &t->window_start, &t->window_end) != DRIP_OK)
            *rc = cli_usage(o, "--window must be YYYY-MM-DD..YYYY-MM-DD (start <= end), not '%s'",
                            arg);
        ts->set |= TS_WINDOW;
        return 1;
    }
    return 0;
}

int taskspec_option(taskspec *ts, const cli_common *o, int ch, const char *arg, int *rc)
{
    Drip__Task *t = &ts->t;
    switch (ch) {
    case TS_O_TARGETED:
        t->has_targeted = 1;
        t->targeted = !ts->untargeted_flag;
        ts->set |= TS_TARGETED;
        return 1;
    case TS_O_UNTARGETED:
        ts->untargeted_flag = 1;
        t->has_targeted = 1;
        t->targeted = 0;
        ts->set |= TS_TARGETED;
        return 1;
    case TS_O_STRATIFY:
    case TS_O_NO_STRATIFY:
        t->has_stratify = 1;
        t->stratify = ch == TS_O_STRATIFY;
        ts->set |= TS_STRATIFY;
        return 1;
    case TS_O_ITEMS:
        return flag_items(ts, o, arg, rc);
    case TS_O_CLASS_RATIO:
        return flag_class_ratio(ts, o, arg, rc);
    }
    return word_option(ts, o, ch, arg, rc) || number_option(ts, o, ch, arg, rc) ||
           scope_option(ts, o, ch, arg, rc);
}

/* ------------------------------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    const char *file;
    taskspec *ts;
    int errors;
} jctx;

static void jfail(jctx *j, const jsonp_value *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void jfail(jctx *j, const jsonp_value *v, const char *path, const char *fmt, ...)
{
    fprintf(stderr, "dripctl: %s:%d:%d: %s: ", j->file, v->line, v->col, path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    j->errors++;
}

/* Paths in messages ("tasks[2].items[0].dept"); a very long one is cut, never overflows. */
static void jpathf(char out[JPATH], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jpathf(char out[JPATH], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, JPATH, fmt, ap);
    va_end(ap);
}

static void jpath(char out[JPATH], const char *path, const char *key)
{
    jpathf(out, "%s.%s", path, key);
}

static int jtype(jctx *j, const jsonp_value *v, const char *path, jsonp_type want)
{
    if (v->type == want) return 1;
    jfail(j, v, path, "expected %s %s, found %s",
          want == JSONP_ARRAY || want == JSONP_OBJECT ? "an" : "a", jsonp_type_name(want),
          jsonp_type_name(v->type));
    return 0;
}

/* A text of min..max characters without control characters. */
static int jtext(jctx *j, const jsonp_value *v, const char *path, size_t min, size_t max,
                 char **out)
{
    char why[CODES_WHY_MAX];
    if (!jtype(j, v, path, JSONP_STRING)) return 0;
    if (codes_text_check(v->string, min, max, why) != DRIP_OK) {
        jfail(j, v, path, "%s", why);
        return 0;
    }
    *out = arena_strdup(j->ts->a, v->string);
    return 1;
}

static int jdept(jctx *j, const jsonp_value *v, const char *path, char **out)
{
    char why[CODES_WHY_MAX];
    if (!jtype(j, v, path, JSONP_STRING)) return 0;
    if (codes_dept_check(v->string, why) != DRIP_OK) {
        jfail(j, v, path, "department code: %s", why);
        return 0;
    }
    *out = arena_strdup(j->ts->a, v->string);
    return 1;
}

static int jdate(jctx *j, const jsonp_value *v, const char *path, char **out)
{
    char why[CODES_WHY_MAX];
    if (!jtype(j, v, path, JSONP_STRING)) return 0;
    if (codes_date_parse(v->string, NULL, why) != DRIP_OK) {
        jfail(j, v, path, "%s", why);
        return 0;
    }
    *out = arena_strdup(j->ts->a, v->string);
    return 1;
}

static int juint(jctx *j, const jsonp_value *v, const char *path, int64_t min, int64_t max,
                 uint32_t *out)
{
    int64_t x;
    if (!jtype(j, v, path, JSONP_NUMBER)) return 0;
    if (jsonp_int64(v, min, max, &x) != DRIP_OK) {
        jfail(j, v, path, "expected a whole number %lld..%lld, found %s", (long long)min,
              (long long)max, v->number);
        return 0;
    }
    *out = (uint32_t)x;
    return 1;
}

static int jbool(jctx *j, const jsonp_value *v, const char *path, protobuf_c_boolean *out)
{
    if (!jtype(j, v, path, JSONP_BOOL)) return 0;
    *out = v->boolean != 0;
    return 1;
}

/* An array of strings, each checked by `check` (NULL: 1..256 characters of text). */
static int jstrings(jctx *j, const jsonp_value *v, const char *path,
                    int (*check)(jctx *, const jsonp_value *, const char *, char **), char ***out,
                    size_t *n)
{
    if (!jtype(j, v, path, JSONP_ARRAY)) return 0;
    char **arr = arena_alloc(j->ts->a, (v->n + 1) * sizeof *arr);
    int ok = 1;
    for (size_t i = 0; i < v->n; i++) {
        char p[JPATH];
        jpathf(p, "%s[%zu]", path, i);
        int good =
            check ? check(j, v->items[i], p, &arr[i]) : jtext(j, v->items[i], p, 1, 256, &arr[i]);
        ok &= good;
    }
    *out = arr;
    *n = v->n;
    return ok;
}

/* A vocabulary word (credit classes also "-"). */
static int jword(jctx *j, const jsonp_value *v, const char *path, vocab_table t, int *out)
{
    if (!jtype(j, v, path, JSONP_STRING)) return 0;
    int ok = t == VOCAB_CREDIT_CLASS ? cli_credit_parse(v->string, out) == DRIP_OK
                                     : vocab_parse(t, v->string, out) == DRIP_OK;
    if (!ok)
        jfail(j, v, path, "unknown %s \"%s\" (expected %s)", vocab_table_name(t), v->string,
              t == VOCAB_CREDIT_CLASS ? "A, B, C, D or -" : vocab_describe(t));
    return ok;
}

/* An array of vocabulary words into an int-sized enum array. */
static int jwords(jctx *j, const jsonp_value *v, const char *path, vocab_table t, void **out,
                  size_t *n)
{
    if (!jtype(j, v, path, JSONP_ARRAY)) return 0;
    int *arr = arena_alloc(j->ts->a, (v->n + 1) * sizeof *arr);
    int ok = 1;
    for (size_t i = 0; i < v->n; i++) {
        char p[JPATH];
        jpathf(p, "%s[%zu]", path, i);
        ok &= jword(j, v->items[i], p, t, &arr[i]);
    }
    *out = arr;
    *n = v->n;
    return ok;
}

/* A ratio as "1%" (string) or parts per million (number). */
static int jratio(jctx *j, const jsonp_value *v, const char *path, uint32_t *ppm)
{
    if (v->type == JSONP_NUMBER) return juint(j, v, path, 1, 1000000, ppm);
    if (v->type == JSONP_STRING && cli_parse_percent(v->string, ppm) == DRIP_OK) return 1;
    jfail(j, v, path, "expected a percentage like \"1%%\" or parts per million (10000 = 1%%)");
    return 0;
}

/* Checks the keys of an object against `known` (NULL-terminated); read-only keys are skipped. */
static void jkeys(jctx *j, const jsonp_value *obj, const char *path, const char *const *known)
{
    for (size_t i = 0; i < obj->n; i++) {
        const char *k = obj->members[i].key;
        int found = 0;
        for (const char *const *q = known; *q && !found; q++)
            found = strcmp(*q, k) == 0;
        if (!found) {
            char p[JPATH];
            jpathf(p, "%s.%s", path, k);
            jsonp_value at = {.line = obj->members[i].line, .col = obj->members[i].col};
            jfail(j, &at, p, "unknown key (see docs/dripctl-plans.md for the format)");
        }
    }
}

/* "items": [{"dept": D, "item_codes": [...]}, ...] or {"DEPT": [...], ...}. */
static void j_items(jctx *j, const jsonp_value *v, const char *path)
{
    taskspec *ts = j->ts;
    ts->t.items = NULL;
    ts->t.n_items = 0;
    ts->set |= TS_ITEMS;
    if (v->type == JSONP_OBJECT) {
        for (size_t i = 0; i < v->n; i++) {
            char p[JPATH];
            jpath(p, path, v->members[i].key);
            char *dept;
            jsonp_value at = {.type = JSONP_STRING,
                              .line = v->members[i].line,
                              .col = v->members[i].col,
                              .string = v->members[i].key};
            if (!jdept(j, &at, p, &dept)) continue;
            Drip__DeptItems *di = dept_items(ts, dept);
            jstrings(j, v->members[i].value, p, NULL, &di->item_codes, &di->n_item_codes);
        }
        return;
    }
    if (!jtype(j, v, path, JSONP_ARRAY)) return;
    static const char *const keys[] = {"dept", "item_codes", NULL};
    for (size_t i = 0; i < v->n; i++) {
        char p[JPATH], q[JPATH];
        jpathf(p, "%s[%zu]", path, i);
        const jsonp_value *e = v->items[i];
        if (!jtype(j, e, p, JSONP_OBJECT)) continue;
        jkeys(j, e, p, keys);
        const jsonp_value *d = jsonp_get(e, "dept"), *codes = jsonp_get(e, "item_codes");
        char *dept;
        jpath(q, p, "dept");
        if (!d) {
            jfail(j, e, q, "missing");
            continue;
        }
        if (!jdept(j, d, q, &dept)) continue;
        Drip__DeptItems *di = dept_items(ts, dept);
        jpath(q, p, "item_codes");
        if (!codes)
            jfail(j, e, q, "missing");
        else
            jstrings(j, codes, q, NULL, &di->item_codes, &di->n_item_codes);
    }
}

/* "class_ratios": [{"credit_class": "A", "ratio_ppm": N | "ratio": "1%"}, ...] or
 * {"A": "1%", "B": 20000, ...}. */
static void j_class_ratios(jctx *j, const jsonp_value *v, const char *path)
{
    taskspec *ts = j->ts;
    ts->t.class_ratios = NULL;
    ts->t.n_class_ratios = 0;
    if (v->type == JSONP_OBJECT) {
        for (size_t i = 0; i < v->n; i++) {
            char p[JPATH];
            jpath(p, path, v->members[i].key);
            int cls;
            uint32_t ppm;
            jsonp_value at = {.line = v->members[i].line, .col = v->members[i].col};
            if (cli_credit_parse(v->members[i].key, &cls) != DRIP_OK)
                jfail(j, &at, p, "unknown credit class (A, B, C, D or -)");
            else if (jratio(j, v->members[i].value, p, &ppm) &&
                     add_class_ratio(ts, cls, ppm) != DRIP_OK)
                jfail(j, &at, p, "class given twice");
        }
        return;
    }
    if (!jtype(j, v, path, JSONP_ARRAY)) return;
    static const char *const keys[] = {"credit_class", "ratio_ppm", "ratio", NULL};
    for (size_t i = 0; i < v->n; i++) {
        char p[JPATH], q[JPATH];
        jpathf(p, "%s[%zu]", path, i);
        const jsonp_value *e = v->items[i];
        if (!jtype(j, e, p, JSONP_OBJECT)) continue;
        jkeys(j, e, p, keys);
        const jsonp_value *c = jsonp_get(e, "credit_class");
        const jsonp_value *r = jsonp_get(e, "ratio_ppm");
        if (!r) r = jsonp_get(e, "ratio");
        int cls;
        uint32_t ppm;
        jpath(q, p, "credit_class");
        if (!c || !r) {
            jfail(j, e, p, "needs \"credit_class\" and \"ratio_ppm\" (or \"ratio\")");
            continue;
        }
        if (!jword(j, c, q, VOCAB_CREDIT_CLASS, &cls)) continue;
        jpath(q, p, jsonp_get(e, "ratio_ppm") ? "ratio_ppm" : "ratio");
        if (jratio(j, r, q, &ppm) && add_class_ratio(ts, cls, ppm) != DRIP_OK)
            jfail(j, e, p, "class %s given twice", cli_credit_code(cls));
    }
}

static const char *const SCOPE_KEYS[] = {"regions",
                                         "kinds",
                                         "statuses",
                                         "credit_classes",
                                         "ownerships",
                                         "capital_min",
                                         "capital_max",
                                         "established_before",
                                         "established_after",
                                         "industries",
                                         "tags_all",
                                         "owner",
                                         NULL};

/* Capital: a whole number of yuan. */
static int jcapital(jctx *j, const jsonp_value *v, const char *path, int64_t *out)
{
    if (jtype(j, v, path, JSONP_NUMBER) && jsonp_int64(v, 0, INT64_MAX, out) == DRIP_OK) return 1;
    if (v->type == JSONP_NUMBER)
        jfail(j, v, path, "expected a whole number of yuan >= 0, found %s", v->number);
    return 0;
}

static void j_scope_member(jctx *j, const char *key, const jsonp_value *v, const char *p)
{
    Drip__TargetFilter *f = &j->ts->scope;
    unsigned *set = &j->ts->scope_set;
    if (!strcmp(key, "regions")) {
        if (jstrings(j, v, p, NULL, &f->regions, &f->n_regions)) *set |= SC_REGIONS;
    } else if (!strcmp(key, "industries")) {
        if (jstrings(j, v, p, NULL, &f->industries, &f->n_industries)) *set |= SC_INDUSTRIES;
    } else if (!strcmp(key, "tags_all")) {
        if (jstrings(j, v, p, NULL, &f->tags_all, &f->n_tags_all)) *set |= SC_TAGS;
    } else if (!strcmp(key, "kinds")) {
        if (jwords(j, v, p, VOCAB_TARGET_KIND, (void **)&f->kinds, &f->n_kinds)) *set |= SC_KINDS;
    } else if (!strcmp(key, "statuses")) {
        if (jwords(j, v, p, VOCAB_TARGET_STATUS, (void **)&f->statuses, &f->n_statuses))
            *set |= SC_STATUSES;
    } else if (!strcmp(key, "credit_classes")) {
        if (jwords(j, v, p, VOCAB_CREDIT_CLASS, (void **)&f->credit_classes, &f->n_credit_classes))
            *set |= SC_CREDITS;
    } else if (!strcmp(key, "ownerships")) {
        if (jwords(j, v, p, VOCAB_OWNERSHIP, (void **)&f->ownerships, &f->n_ownerships))
            *set |= SC_OWNERSHIPS;
    } else if (!strcmp(key, "capital_min")) {
        if ((f->has_capital_min = jcapital(j, v, p, &f->capital_min))) *set |= SC_CMIN;
    } else if (!strcmp(key, "capital_max")) {
        if ((f->has_capital_max = jcapital(j, v, p, &f->capital_max))) *set |= SC_CMAX;
    } else if (!strcmp(key, "established_before")) {
        if (jdate(j, v, p, &f->established_before)) *set |= SC_EBEFORE;
    } else if (!strcmp(key, "established_after")) {
        if (jdate(j, v, p, &f->established_after)) *set |= SC_EAFTER;
    } else if (!strcmp(key, "owner")) {
        if (jdept(j, v, p, &f->owner)) *set |= SC_OWNER;
    }
}

static void j_scope(jctx *j, const jsonp_value *v, const char *path)
{
    if (!jtype(j, v, path, JSONP_OBJECT)) return;
    jkeys(j, v, path, SCOPE_KEYS);
    j->ts->set |= TS_SCOPE;
    for (size_t i = 0; i < v->n; i++) {
        if (v->members[i].value->type == JSONP_NULL) continue;
        char p[JPATH];
        jpath(p, path, v->members[i].key);
        j_scope_member(j, v->members[i].key, v->members[i].value, p);
    }
}

static const char *const TASK_KEYS[] = {
    "code", "name", "kind", "targeted", "lead_dept", "cooperating_depts", "items", "target_kind",
    "scope", "ratio", "ratio_ppm", "class_ratios", "count", "stratify", "inspectors_per_check",
    "confirm_workdays", "result_workdays", "window", "window_start", "window_end",
    "exclude_inspected_days", "max_inspections_per_year", "cap_exempt_classes",
    /* set by the planner: accepted (task show --json output can be edited and sent back) and
     * ignored */
    "state", "commitment", "version", "plan_code", NULL};

/* Text and enum members of a task. Returns 1 when `key` was one of them. */
static int j_task_words(jctx *j, const char *key, const jsonp_value *v, const char *p)
{
    taskspec *ts = j->ts;
    Drip__Task *t = &ts->t;
    int w;
    if (!strcmp(key, "code")) {
        if (jtext(j, v, p, 1, TASK_CODE_CHARS, &t->code)) ts->set |= TS_CODE;
    } else if (!strcmp(key, "name")) {
        if (jtext(j, v, p, 1, TASK_NAME_CHARS, &t->name)) ts->set |= TS_NAME;
    } else if (!strcmp(key, "kind")) {
        if (!jtype(j, v, p, JSONP_STRING)) return 1;
        if (cli_plan_kind_parse(v->string, &w) != DRIP_OK) {
            jfail(j, v, p, "expected \"joint\" or \"internal\", found \"%s\"", v->string);
            return 1;
        }
        t->has_kind = 1;
        t->kind = (Drip__PlanKind)w;
        ts->set |= TS_KIND;
    } else if (!strcmp(key, "lead_dept")) {
        if (jdept(j, v, p, &t->lead_dept)) ts->set |= TS_LEAD;
    } else if (!strcmp(key, "cooperating_depts")) {
        if (jstrings(j, v, p, jdept, &t->cooperating_depts, &t->n_cooperating_depts))
            ts->set |= TS_COOP;
    } else if (!strcmp(key, "target_kind")) {
        if (jword(j, v, p, VOCAB_TARGET_KIND, &w)) {
            t->has_target_kind = 1;
            t->target_kind = (Drip__TargetKind)w;
            ts->set |= TS_TKIND;
        }
    } else if (!strcmp(key, "cap_exempt_classes")) {
        if (jwords(j, v, p, VOCAB_CREDIT_CLASS, (void **)&t->cap_exempt_classes,
                   &t->n_cap_exempt_classes))
            ts->set |= TS_CAPEXEMPT;
    } else if (!strcmp(key, "window")) {
        if (jtype(j, v, p, JSONP_STRING) &&
            cli_parse_window(ts->a, v->string, &t->window_start, &t->window_end) != DRIP_OK)
            jfail(j, v, p, "expected \"YYYY-MM-DD..YYYY-MM-DD\" (start <= end), found \"%s\"",
                  v->string);
        ts->set |= TS_WINDOW;
    } else if (!strcmp(key, "window_start") || !strcmp(key, "window_end")) {
        jdate(j, v, p, key[7] == 's' ? &t->window_start : &t->window_end);
        ts->set |= TS_WINDOW;
    } else {
        return 0;
    }
    return 1;
}

/* Number and boolean members of a task. */
static void j_task_numbers(jctx *j, const char *key, const jsonp_value *v, const char *p)
{
    taskspec *ts = j->ts;
    Drip__Task *t = &ts->t;
    if (!strcmp(key, "targeted")) {
        if ((t->has_targeted = jbool(j, v, p, &t->targeted))) ts->set |= TS_TARGETED;
    } else if (!strcmp(key, "stratify")) {
        if ((t->has_stratify = jbool(j, v, p, &t->stratify))) ts->set |= TS_STRATIFY;
    } else if (!strcmp(key, "ratio") || !strcmp(key, "ratio_ppm")) {
        t->has_ratio_ppm = key[5] == '_' ? juint(j, v, p, 1, 1000000, &t->ratio_ppm)
                                         : jratio(j, v, p, &t->ratio_ppm);
    } else if (!strcmp(key, "count")) {
        t->has_count = juint(j, v, p, 1, UINT32_MAX, &t->count);
    } else if (!strcmp(key, "inspectors_per_check")) {
        t->has_inspectors_per_check = juint(j, v, p, 1, 10, &t->inspectors_per_check);
        ts->set |= TS_INSPECTORS;
    } else if (!strcmp(key, "confirm_workdays")) {
        t->has_confirm_workdays = juint(j, v, p, 1, 30, &t->confirm_workdays);
        ts->set |= TS_CONFIRM;
    } else if (!strcmp(key, "result_workdays")) {
        t->has_result_workdays = juint(j, v, p, 1, 60, &t->result_workdays);
        ts->set |= TS_RESULT;
    } else if (!strcmp(key, "exclude_inspected_days")) {
        t->has_exclude_inspected_days = juint(j, v, p, 0, 3660, &t->exclude_inspected_days);
        ts->set |= TS_EXCLUDE;
    } else if (!strcmp(key, "max_inspections_per_year")) {
        t->has_max_inspections_per_year = juint(j, v, p, 0, 1000, &t->max_inspections_per_year);
        ts->set |= TS_MAXYEAR;
    }
}

/* Exactly one of ratio / ratio_ppm / class_ratios / count may be given. */
static void j_ratio_exclusive(jctx *j, const jsonp_value *obj, const char *path)
{
    static const char *const keys[] = {"ratio", "ratio_ppm", "class_ratios", "count"};
    const char *first = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const jsonp_value *v = jsonp_get(obj, keys[i]);
        if (!v || v->type == JSONP_NULL || (v->type == JSONP_ARRAY && v->n == 0)) continue;
        if (first) {
            char p[JPATH];
            jpath(p, path, keys[i]);
            jfail(j, v, p, "\"%s\" and \"%s\" exclude each other (give one)", first, keys[i]);
        }
        first = keys[i];
    }
    if (first) j->ts->set |= TS_RATIO | TS_CLASS | TS_COUNT;
}

int taskspec_from_json(taskspec *ts, const char *file, const jsonp_value *v, const char *path)
{
    jctx j = {.file = file, .ts = ts};
    if (!jtype(&j, v, path, JSONP_OBJECT)) return j.errors;
    jkeys(&j, v, path, TASK_KEYS);
    j_ratio_exclusive(&j, v, path);
    if (jsonp_get(v, "window") && (jsonp_get(v, "window_start") || jsonp_get(v, "window_end"))) {
        char p[JPATH];
        jpath(p, path, "window");
        jfail(&j, jsonp_get(v, "window"), p, "give \"window\" or \"window_start\"/\"window_end\"");
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->members[i].key;
        const jsonp_value *val = v->members[i].value;
        if (val->type == JSONP_NULL) continue; /* null = not given */
        char p[JPATH];
        jpath(p, path, key);
        if (!strcmp(key, "items"))
            j_items(&j, val, p);
        else if (!strcmp(key, "class_ratios"))
            j_class_ratios(&j, val, p);
        else if (!strcmp(key, "scope"))
            j_scope(&j, val, p);
        else if (!j_task_words(&j, key, val, p))
            j_task_numbers(&j, key, val, p);
    }
    return j.errors;
}

int taskspec_load_file(taskspec *ts, const char *path)
{
    jsonp_doc *d = NULL;
    jsonp_error e;
    if (jsonp_parse_file(path, NULL, &d, &e) != DRIP_OK) {
        if (e.line)
            fprintf(stderr, "dripctl: %s:%s\n", path, e.msg);
        else
            fprintf(stderr, "dripctl: %s\n", e.msg);
        return CTL_EXIT_USAGE;
    }
    int errors = taskspec_from_json(ts, path, jsonp_root(d), "task"); /* copies what it keeps */
    jsonp_free(d);
    if (errors) {
        fprintf(stderr, "dripctl: %s: %d problem%s\n", path, errors, errors == 1 ? "" : "s");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Merge and checks
 * ---------------------------------------------------------------------------------------------- */

static void merge_scope(const taskspec *ts, const Drip__TargetFilter *base, Drip__TargetFilter *out)
{
    if (base)
        *out = *base;
    else
        drip__target_filter__init(out);
    const Drip__TargetFilter *s = &ts->scope;
    unsigned b = ts->scope_set;
#define TAKE_LIST(bit, field)                                                                      \
    if (b & (bit)) {                                                                               \
        out->n_##field = s->n_##field;                                                             \
        out->field = s->field;                                                                     \
    }
    TAKE_LIST(SC_REGIONS, regions)
    TAKE_LIST(SC_KINDS, kinds)
    TAKE_LIST(SC_STATUSES, statuses)
    TAKE_LIST(SC_CREDITS, credit_classes)
    TAKE_LIST(SC_OWNERSHIPS, ownerships)
    TAKE_LIST(SC_INDUSTRIES, industries)
    TAKE_LIST(SC_TAGS, tags_all)
#undef TAKE_LIST
    if (b & SC_CMIN) {
        out->has_capital_min = s->has_capital_min;
        out->capital_min = s->capital_min;
    }
    if (b & SC_CMAX) {
        out->has_capital_max = s->has_capital_max;
        out->capital_max = s->capital_max;
    }
    if (b & SC_EBEFORE) out->established_before = s->established_before;
    if (b & SC_EAFTER) out->established_after = s->established_after;
    if (b & SC_OWNER) out->owner = s->owner;
}

void taskspec_apply(const taskspec *ts, const Drip__Task *base, Drip__Task *out,
                    Drip__TargetFilter *scope_out)
{
    if (base)
        *out = *base;
    else
        drip__task__init(out);
    const Drip__Task *t = &ts->t;
    unsigned s = ts->set;
#define TAKE(bit, field)                                                                           \
    if (s & (bit)) out->field = t->field;
#define TAKE_HAS(bit, field)                                                                       \
    if (s & (bit)) {                                                                               \
        out->has_##field = t->has_##field;                                                         \
        out->field = t->field;                                                                     \
    }
#define TAKE_LIST(bit, field)                                                                      \
    if (s & (bit)) {                                                                               \
        out->n_##field = t->n_##field;                                                             \
        out->field = t->field;                                                                     \
    }
    TAKE(TS_CODE, code)
    TAKE(TS_NAME, name)
    TAKE_HAS(TS_KIND, kind)
    TAKE_HAS(TS_TARGETED, targeted)
    TAKE(TS_LEAD, lead_dept)
    TAKE_LIST(TS_COOP, cooperating_depts)
    TAKE_LIST(TS_ITEMS, items)
    TAKE_HAS(TS_TKIND, target_kind)
    TAKE_HAS(TS_RATIO, ratio_ppm)
    TAKE_LIST(TS_CLASS, class_ratios)
    TAKE_HAS(TS_COUNT, count)
    TAKE_HAS(TS_STRATIFY, stratify)
    TAKE_HAS(TS_INSPECTORS, inspectors_per_check)
    TAKE_HAS(TS_CONFIRM, confirm_workdays)
    TAKE_HAS(TS_RESULT, result_workdays)
    TAKE(TS_WINDOW, window_start)
    TAKE(TS_WINDOW, window_end)
    TAKE_HAS(TS_EXCLUDE, exclude_inspected_days)
    TAKE_HAS(TS_MAXYEAR, max_inspections_per_year)
    TAKE_LIST(TS_CAPEXEMPT, cap_exempt_classes)
#undef TAKE
#undef TAKE_HAS
#undef TAKE_LIST
    if ((base && base->scope) || ts->scope_set) {
        merge_scope(ts, base ? base->scope : NULL, scope_out);
        out->scope = scope_out;
    }
    /* set by the planner, never sent */
    out->has_state = 0;
    out->commitment = NULL;
    out->has_version = 0;
    out->plan_code = NULL;
}

int taskspec_check(const Drip__Task *t, const char *what)
{
    int problems = 0;
    if (!t->code || !*t->code) {
        fprintf(stderr, "dripctl: %s: no code (--code or \"code\")\n", what);
        problems++;
    }
    if (!t->name || !*t->name) {
        fprintf(stderr, "dripctl: %s: no name (--name or \"name\")\n", what);
        problems++;
    }
    int ratios = (t->has_ratio_ppm != 0) + (t->n_class_ratios > 0) + (t->has_count != 0);
    if (ratios != 1) {
        fprintf(stderr,
                "dripctl: %s: give exactly one of a ratio (--ratio / \"ratio\"), class "
                "ratios (--class-ratio / \"class_ratios\") or a count (--count / \"count\")\n",
                what);
        problems++;
    }
    if ((t->window_start == NULL) != (t->window_end == NULL)) {
        fprintf(stderr, "dripctl: %s: the window needs both a start and an end\n", what);
        problems++;
    }
    return problems;
}
