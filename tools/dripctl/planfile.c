#include "planfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "codes.h"
#include "ctl.h"
#include "json_parse.h"
#include "status.h"
#include "taskspec.h"

#define PLAN_FORMAT "drip-plan-v1"
#define PLAN_TASKS_MAX 1000

static const char *const PLAN_KEYS[] = {
    "format", "year", "kind", "note", "owner", "region", "defaults", "tasks",
    /* set by the planner: accepted (plan show --json output loads as a copy) and ignored */
    "code", "name", "seq", "published", "version", NULL};

typedef struct {
    const char *file;
    int errors;
} pctx;

static void perr(pctx *p, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void perr(pctx *p, int line, int col, const char *path, const char *fmt, ...)
{
    fprintf(stderr, "dripctl: %s:%d:%d: %s: ", p->file, line, col, path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    p->errors++;
}

static void check_keys(pctx *p, const jsonp_value *root)
{
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->members[i].key;
        int known = 0;
        for (const char *const *q = PLAN_KEYS; *q && !known; q++)
            known = strcmp(*q, k) == 0;
        if (!known)
            perr(p, root->members[i].line, root->members[i].col, k,
                 "unknown key (see docs/dripctl-plans.md for the format)");
    }
}

/* A string member (NULL when absent or null). */
static const char *opt_string(pctx *p, arena *a, const jsonp_value *root, const char *key)
{
    const jsonp_value *v = jsonp_get(root, key);
    if (!v || v->type == JSONP_NULL) return NULL;
    if (v->type != JSONP_STRING) {
        perr(p, v->line, v->col, key, "expected a string, found %s", jsonp_type_name(v->type));
        return NULL;
    }
    return arena_strdup(a, v->string);
}

static void read_header(pctx *p, arena *a, const jsonp_value *root, planfile *out)
{
    const char *fmt = opt_string(p, a, root, "format");
    if (fmt && strcmp(fmt, PLAN_FORMAT) != 0) {
        const jsonp_value *v = jsonp_get(root, "format");
        perr(p, v->line, v->col, "format", "this dripctl reads \"%s\", not \"%s\"", PLAN_FORMAT,
             fmt);
    }
    const jsonp_value *y = jsonp_get(root, "year");
    int64_t year;
    if (!y)
        perr(p, root->line, root->col, "year", "missing (the plan's year, e.g. 2023)");
    else if (jsonp_int64(y, 2000, 2100, &year) != DRIP_OK)
        perr(p, y->line, y->col, "year", "expected a year 2000..2100");
    else {
        out->plan.has_year = 1;
        out->plan.year = (uint32_t)year;
    }
    const char *kind = opt_string(p, a, root, "kind");
    int k;
    if (!kind && !jsonp_get(root, "kind"))
        perr(p, root->line, root->col, "kind", "missing (\"joint\" or \"internal\")");
    else if (kind && cli_plan_kind_parse(kind, &k) != DRIP_OK) {
        const jsonp_value *v = jsonp_get(root, "kind");
        perr(p, v->line, v->col, "kind", "expected \"joint\" or \"internal\", found \"%s\"", kind);
    } else if (kind) {
        out->plan.has_kind = 1;
        out->plan.kind = (Drip__PlanKind)k;
    }
    char why[CODES_WHY_MAX];
    out->plan.note = (char *)opt_string(p, a, root, "note");
    if (out->plan.note && codes_text_check(out->plan.note, 0, 2000, why) != DRIP_OK) {
        const jsonp_value *v = jsonp_get(root, "note");
        perr(p, v->line, v->col, "note", "%s", why);
    }
    out->owner = opt_string(p, a, root, "owner");
    if (out->owner && codes_dept_check(out->owner, why) != DRIP_OK) {
        const jsonp_value *v = jsonp_get(root, "owner");
        perr(p, v->line, v->col, "owner", "%s", why);
    }
    out->region = opt_string(p, a, root, "region");
    if (out->region && codes_region_syntax(out->region, why) != DRIP_OK) {
        const jsonp_value *v = jsonp_get(root, "region");
        perr(p, v->line, v->col, "region", "%s", why);
    }
}

/* Two tasks with the same code would make the second task_create fail half-way. */
static void check_codes(pctx *p, const jsonp_value *tasks, planfile *out)
{
    for (size_t i = 0; i < out->n_tasks; i++)
        for (size_t j = 0; j < i; j++) {
            const char *a = out->tasks[i]->code, *b = out->tasks[j]->code;
            if (a && b && strcmp(a, b) == 0) {
                char path[64];
                snprintf(path, sizeof path, "tasks[%zu].code", i);
                perr(p, tasks->items[i]->line, tasks->items[i]->col, path,
                     "\"%s\" is also the code of tasks[%zu]", a, j);
            }
        }
}

static void read_tasks(pctx *p, arena *a, const jsonp_value *root, planfile *out)
{
    taskspec defaults;
    taskspec_init(&defaults, a);
    const jsonp_value *d = jsonp_get(root, "defaults");
    if (d && d->type != JSONP_NULL)
        p->errors += taskspec_from_json(&defaults, p->file, d, "defaults");
    Drip__Task base;
    Drip__TargetFilter *base_scope = arena_alloc(a, sizeof *base_scope);
    taskspec_apply(&defaults, NULL, &base, base_scope);
    const jsonp_value *tasks = jsonp_get(root, "tasks");
    if (!tasks || tasks->type == JSONP_NULL) return; /* a plan without tasks (yet) */
    if (tasks->type != JSONP_ARRAY) {
        perr(p, tasks->line, tasks->col, "tasks", "expected an array of tasks");
        return;
    }
    if (tasks->n > PLAN_TASKS_MAX) {
        perr(p, tasks->line, tasks->col, "tasks", "%zu tasks; at most %d per file", tasks->n,
             PLAN_TASKS_MAX);
        return;
    }
    out->tasks = arena_alloc(a, (tasks->n + 1) * sizeof *out->tasks);
    for (size_t i = 0; i < tasks->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "tasks[%zu]", i);
        taskspec ts;
        taskspec_init(&ts, a);
        p->errors += taskspec_from_json(&ts, p->file, tasks->items[i], path);
        Drip__Task *t = arena_alloc(a, sizeof *t);
        Drip__TargetFilter *scope = arena_alloc(a, sizeof *scope);
        taskspec_apply(&ts, &base, t, scope);
        if (!t->has_kind && out->plan.has_kind) {
            t->has_kind = 1;
            t->kind = out->plan.kind;
        }
        out->tasks[out->n_tasks++] = t;
    }
    check_codes(p, tasks, out);
    for (size_t i = 0; i < out->n_tasks && p->errors == 0; i++) {
        char what[128];
        snprintf(what, sizeof what, "%s: tasks[%zu] (%s)", p->file, i,
                 out->tasks[i]->code ? out->tasks[i]->code : "no code");
        p->errors += taskspec_check(out->tasks[i], what);
    }
}

int planfile_load(arena *a, const char *path, planfile *out)
{
    memset(out, 0, sizeof *out);
    drip__plan__init(&out->plan);
    jsonp_doc *d = NULL;
    jsonp_error e;
    if (jsonp_parse_file(path, NULL, &d, &e) != DRIP_OK) {
        if (e.line)
            fprintf(stderr, "dripctl: %s:%s\n", path, e.msg);
        else
            fprintf(stderr, "dripctl: %s\n", e.msg);
        return CTL_EXIT_USAGE;
    }
    pctx p = {.file = path};
    const jsonp_value *root = jsonp_root(d);
    if (root->type != JSONP_OBJECT) {
        perr(&p, root->line, root->col, "plan", "expected an object, found %s",
             jsonp_type_name(root->type));
    } else {
        check_keys(&p, root);
        read_header(&p, a, root, out);
        read_tasks(&p, a, root, out);
    }
    jsonp_free(d); /* everything kept was copied into the arena */
    if (p.errors) {
        fprintf(stderr, "dripctl: %s: %d problem%s; nothing was sent\n", path, p.errors,
                p.errors == 1 ? "" : "s");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}
