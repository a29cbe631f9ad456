#include "matchfile.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json_parse.h"
#include "matchrender.h"
#include "status.h"
#include "vocab.h"

#define MATCHFILE_MAX_BYTES ((size_t)1 << 30) /* a task with tens of thousands of forms */

void matchfile_write(json_writer *w, const Drip__MatchRun *run, const Drip__Form *const *forms,
                     size_t n)
{
    json_begin_object(w);
    json_key(w, "run");
    render_match_run_json(w, run);
    json_key(w, "forms");
    json_begin_array(w);
    for (size_t i = 0; i < n; i++)
        render_match_form_json(w, forms[i]);
    json_end_array(w);
    json_end_object(w);
}

/* ------------------------------------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    arena *a;
    const char *file;
    int errors;
} rj;

static void fail(rj *j, const jsonp_value *v, const char *fmt, const char *key)
{
    char m[160];
    snprintf(m, sizeof m, fmt, key);
    fprintf(stderr, "dripctl: %s:%d:%d: %s\n", j->file, v ? v->line : 0, v ? v->col : 0, m);
    j->errors++;
}

static char *get_str(rj *j, const jsonp_value *obj, const char *key)
{
    const jsonp_value *v = jsonp_get(obj, key);
    if (!v || v->type == JSONP_NULL) return NULL;
    if (v->type != JSONP_STRING) {
        fail(j, v, "%s: expected a string", key);
        return NULL;
    }
    return arena_strdup(j->a, v->string);
}

static uint64_t get_uint(rj *j, const jsonp_value *obj, const char *key, uint64_t max,
                         protobuf_c_boolean *has)
{
    const jsonp_value *v = jsonp_get(obj, key);
    int64_t n = 0;
    *has = 0;
    if (!v || v->type == JSONP_NULL) return 0;
    if (jsonp_int64(v, 0, (int64_t)max, &n) != DRIP_OK) {
        fail(j, v, "%s: expected a whole number >= 0 (in range)", key);
        return 0;
    }
    *has = 1;
    return (uint64_t)n;
}

static int64_t get_int(rj *j, const jsonp_value *obj, const char *key, protobuf_c_boolean *has)
{
    const jsonp_value *v = jsonp_get(obj, key);
    int64_t n = 0;
    *has = 0;
    if (!v || v->type == JSONP_NULL) return 0;
    if (jsonp_int64(v, INT64_MIN, INT64_MAX, &n) != DRIP_OK) {
        fail(j, v, "%s: expected a whole number", key);
        return 0;
    }
    *has = 1;
    return n;
}

static protobuf_c_boolean get_bool(rj *j, const jsonp_value *obj, const char *key,
                                   protobuf_c_boolean *has)
{
    const jsonp_value *v = jsonp_get(obj, key);
    *has = 0;
    if (!v || v->type == JSONP_NULL) return 0;
    if (v->type != JSONP_BOOL) {
        fail(j, v, "%s: expected true or false", key);
        return 0;
    }
    *has = 1;
    return v->boolean != 0;
}

/* An enum written as its word (or its number). */
static int get_word(rj *j, const jsonp_value *obj, const char *key,
                    int (*parse)(const char *, int *), protobuf_c_boolean *has)
{
    const jsonp_value *v = jsonp_get(obj, key);
    int x = 0;
    *has = 0;
    if (!v || v->type == JSONP_NULL) return 0;
    if (v->type == JSONP_NUMBER) {
        int64_t n;
        if (jsonp_int64(v, 0, 1000000, &n) == DRIP_OK) {
            *has = 1;
            return (int)n;
        }
    } else if (v->type == JSONP_STRING && parse(v->string, &x) == DRIP_OK) {
        *has = 1;
        return x;
    }
    fail(j, v, "%s: unknown value", key);
    return 0;
}

/* The array member `key` (NULL, no error, when absent or null). */
static const jsonp_value *get_array(rj *j, const jsonp_value *obj, const char *key)
{
    const jsonp_value *v = jsonp_get(obj, key);
    if (!v || v->type == JSONP_NULL) return NULL;
    if (v->type == JSONP_ARRAY) return v;
    fail(j, v, "%s: expected an array", key);
    return NULL;
}

static int is_object(rj *j, const jsonp_value *v, const char *what)
{
    if (v && v->type == JSONP_OBJECT) return 1;
    fail(j, v, "%s: expected an object", what);
    return 0;
}

static char **get_strs(rj *j, const jsonp_value *obj, const char *key, size_t *n)
{
    const jsonp_value *arr = get_array(j, obj, key);
    *n = 0;
    if (!arr) return NULL;
    char **v = arena_alloc(j->a, (arr->n + 1) * sizeof *v);
    for (size_t i = 0; i < arr->n; i++) {
        if (arr->items[i]->type != JSONP_STRING) {
            fail(j, arr->items[i], "%s: expected strings", key);
            continue;
        }
        v[(*n)++] = arena_strdup(j->a, arr->items[i]->string);
    }
    return v;
}

static uint32_t *get_uints(rj *j, const jsonp_value *obj, const char *key, size_t *n)
{
    const jsonp_value *arr = get_array(j, obj, key);
    *n = 0;
    if (!arr) return NULL;
    uint32_t *v = arena_alloc(j->a, (arr->n + 1) * sizeof *v);
    for (size_t i = 0; i < arr->n; i++) {
        int64_t x;
        if (jsonp_int64(arr->items[i], 0, UINT32_MAX, &x) != DRIP_OK) {
            fail(j, arr->items[i], "%s: expected whole numbers >= 0", key);
            continue;
        }
        v[(*n)++] = (uint32_t)x;
    }
    return v;
}

static int method_parse(const char *s, int *v)
{
    return vocab_parse(VOCAB_METHOD, s, v);
}

static Drip__DeptPool *read_pool(rj *j, const jsonp_value *o)
{
    Drip__DeptPool *p = arena_alloc(j->a, sizeof *p);
    drip__dept_pool__init(p);
    if (!is_object(j, o, "run.depts[]")) return p;
    p->dept = get_str(j, o, "dept");
    p->required = (uint32_t)get_uint(j, o, "required", UINT32_MAX, &p->has_required);
    p->experts_required =
        (uint32_t)get_uint(j, o, "experts_required", UINT32_MAX, &p->has_experts_required);
    p->teams = get_bool(j, o, "teams", &p->has_teams);
    p->cap = (uint32_t)get_uint(j, o, "cap", UINT32_MAX, &p->has_cap);
    p->expert_cap = (uint32_t)get_uint(j, o, "expert_cap", UINT32_MAX, &p->has_expert_cap);
    p->tier_depts = get_strs(j, o, "tier_depts", &p->n_tier_depts);
    p->tier_sizes = get_uints(j, o, "tier_sizes", &p->n_tier_sizes);
    p->required_tags = get_strs(j, o, "required_tags", &p->n_required_tags);
    p->inspectors = (uint32_t)get_uint(j, o, "inspectors", UINT32_MAX, &p->has_inspectors);
    p->inactive = (uint32_t)get_uint(j, o, "inactive", UINT32_MAX, &p->has_inactive);
    p->cert_expired = (uint32_t)get_uint(j, o, "cert_expired", UINT32_MAX, &p->has_cert_expired);
    p->unqualified = (uint32_t)get_uint(j, o, "unqualified", UINT32_MAX, &p->has_unqualified);
    p->note = get_str(j, o, "note");
    return p;
}

static Drip__MatchRun *read_run(rj *j, const jsonp_value *o)
{
    Drip__MatchRun *r = arena_alloc(j->a, sizeof *r);
    drip__match_run__init(r);
    if (!is_object(j, o, "run")) return r;
    r->task_code = get_str(j, o, "task_code");
    r->plan_code = get_str(j, o, "plan_code");
    r->draw_no = (uint32_t)get_uint(j, o, "draw_no", UINT32_MAX, &r->has_draw_no);
    r->algorithm = get_str(j, o, "algorithm");
    r->seed = get_str(j, o, "seed");
    r->pool_digest = get_str(j, o, "pool_digest");
    r->pool_lines = get_uint(j, o, "pool_lines", INT64_MAX, &r->has_pool_lines);
    r->forms = (uint32_t)get_uint(j, o, "forms", UINT32_MAX, &r->has_forms);
    r->matched_at_ms = get_int(j, o, "matched_at_ms", &r->has_matched_at_ms);
    r->inspectors_per_check =
        (uint32_t)get_uint(j, o, "inspectors_per_check", UINT32_MAX, &r->has_inspectors_per_check);
    r->lead_dept = get_str(j, o, "lead_dept");
    r->unstaffed_slots =
        (uint32_t)get_uint(j, o, "unstaffed_slots", UINT32_MAX, &r->has_unstaffed_slots);
    r->direct_assignments =
        (uint32_t)get_uint(j, o, "direct_assignments", UINT32_MAX, &r->has_direct_assignments);
    const jsonp_value *arr = get_array(j, o, "depts");
    if (arr) {
        r->depts = arena_alloc(j->a, (arr->n + 1) * sizeof *r->depts);
        for (size_t i = 0; i < arr->n; i++)
            r->depts[r->n_depts++] = read_pool(j, arr->items[i]);
    }
    if (!r->task_code) fail(j, o, "%s: missing", "run.task_code");
    return r;
}

static Drip__FormInspector *read_inspector(rj *j, const jsonp_value *o)
{
    Drip__FormInspector *p = arena_alloc(j->a, sizeof *p);
    drip__form_inspector__init(p);
    if (!is_object(j, o, "inspectors[]")) return p;
    p->inspector = get_str(j, o, "inspector");
    p->name = get_str(j, o, "name");
    p->role = (Drip__SlotRole)get_word(j, o, "role", match_role_parse, &p->has_role);
    p->source = (Drip__SlotSource)get_word(j, o, "source", match_source_parse, &p->has_source);
    p->team = get_str(j, o, "team");
    p->ticket = get_str(j, o, "ticket");
    p->load = (uint32_t)get_uint(j, o, "load", UINT32_MAX, &p->has_load);
    p->reason = get_str(j, o, "reason");
    p->assigned_by = get_str(j, o, "assigned_by");
    p->assigned_at_ms = get_int(j, o, "assigned_at_ms", &p->has_assigned_at_ms);
    return p;
}

static Drip__DeptSlot *read_slot(rj *j, const jsonp_value *o)
{
    Drip__DeptSlot *s = arena_alloc(j->a, sizeof *s);
    drip__dept_slot__init(s);
    if (!is_object(j, o, "forms[].depts[]")) return s;
    s->dept = get_str(j, o, "dept");
    s->item_codes = get_strs(j, o, "item_codes", &s->n_item_codes);
    const jsonp_value *arr = get_array(j, o, "methods");
    if (arr) {
        s->methods = arena_alloc(j->a, (arr->n + 1) * sizeof *s->methods);
        for (size_t i = 0; i < arr->n; i++) {
            const jsonp_value *v = arr->items[i];
            int x = 0;
            int64_t n = 0;
            if (v->type == JSONP_STRING && method_parse(v->string, &x) == DRIP_OK)
                s->methods[s->n_methods++] = (Drip__Method)x;
            else if (jsonp_int64(v, 0, 1000000, &n) == DRIP_OK)
                s->methods[s->n_methods++] = (Drip__Method)n;
            else
                fail(j, v, "%s: unknown method", "methods");
        }
    }
    s->required = (uint32_t)get_uint(j, o, "required", UINT32_MAX, &s->has_required);
    s->experts_required =
        (uint32_t)get_uint(j, o, "experts_required", UINT32_MAX, &s->has_experts_required);
    s->teams = get_bool(j, o, "teams", &s->has_teams);
    arr = get_array(j, o, "inspectors");
    if (arr) {
        s->inspectors = arena_alloc(j->a, (arr->n + 1) * sizeof *s->inspectors);
        for (size_t i = 0; i < arr->n; i++)
            s->inspectors[s->n_inspectors++] = read_inspector(j, arr->items[i]);
    }
    s->unstaffed = get_bool(j, o, "unstaffed", &s->has_unstaffed);
    s->short_by = (uint32_t)get_uint(j, o, "short_by", UINT32_MAX, &s->has_short_by);
    s->experts_short = get_bool(j, o, "experts_short", &s->has_experts_short);
    arr = get_array(j, o, "exclusions");
    if (arr) {
        s->exclusions = arena_alloc(j->a, (arr->n + 1) * sizeof *s->exclusions);
        for (size_t i = 0; i < arr->n; i++) {
            const jsonp_value *e = arr->items[i];
            Drip__Exclusion *x = arena_alloc(j->a, sizeof *x);
            drip__exclusion__init(x);
            if (is_object(j, e, "exclusions[]")) {
                x->inspector = get_str(j, e, "inspector");
                x->reason = (Drip__ExclusionReason)get_word(j, e, "reason", match_reason_parse,
                                                            &x->has_reason);
            }
            s->exclusions[s->n_exclusions++] = x;
        }
    }
    return s;
}

static Drip__Form *read_form(rj *j, const jsonp_value *o)
{
    Drip__Form *f = arena_alloc(j->a, sizeof *f);
    drip__form__init(f);
    if (!is_object(j, o, "forms[]")) return f;
    f->task_code = get_str(j, o, "task_code");
    f->plan_code = get_str(j, o, "plan_code");
    f->uscc = get_str(j, o, "uscc");
    f->target_name = get_str(j, o, "target_name");
    f->target_region = get_str(j, o, "target_region");
    f->seq = (uint32_t)get_uint(j, o, "seq", UINT32_MAX, &f->has_seq);
    f->target_ticket = get_str(j, o, "target_ticket");
    f->window_start = get_str(j, o, "window_start");
    f->window_end = get_str(j, o, "window_end");
    f->result_workdays =
        (uint32_t)get_uint(j, o, "result_workdays", UINT32_MAX, &f->has_result_workdays);
    f->result_due_latest = get_str(j, o, "result_due_latest");
    f->version = (uint32_t)get_uint(j, o, "version", UINT32_MAX, &f->has_version);
    f->lead_dept = get_str(j, o, "lead_dept");
    const jsonp_value *arr = get_array(j, o, "depts");
    if (arr) {
        f->depts = arena_alloc(j->a, (arr->n + 1) * sizeof *f->depts);
        for (size_t i = 0; i < arr->n; i++)
            f->depts[f->n_depts++] = read_slot(j, arr->items[i]);
    }
    if (!f->uscc) fail(j, o, "%s: missing", "uscc");
    return f;
}

int matchfile_read(arena *a, const char *path, Drip__MatchRun **run, Drip__Form ***forms, size_t *n)
{
    jsonp_doc *d = NULL;
    jsonp_error e;
    jsonp_limits lim = {.max_size = MATCHFILE_MAX_BYTES};
    if (jsonp_parse_file(path, &lim, &d, &e) != DRIP_OK) {
        if (e.line)
            fprintf(stderr, "dripctl: %s:%s\n", path, e.msg);
        else
            fprintf(stderr, "dripctl: %s\n", e.msg);
        return CTL_EXIT_USAGE;
    }
    rj j = {.a = a, .file = path};
    const jsonp_value *root = jsonp_root(d);
    *run = NULL;
    *forms = NULL;
    *n = 0;
    if (root->type != JSONP_OBJECT || !jsonp_get(root, "run")) {
        fail(&j, root, "%s",
             "expected {\"run\": ..., \"forms\": [...]} (dripctl match show --json)");
    } else {
        *run = read_run(&j, jsonp_get(root, "run"));
        const jsonp_value *arr = get_array(&j, root, "forms");
        if (!arr) fail(&j, root, "%s: missing", "forms");
        if (arr) {
            *forms = arena_alloc(a, (arr->n + 1) * sizeof **forms);
            for (size_t i = 0; i < arr->n; i++)
                (*forms)[(*n)++] = read_form(&j, arr->items[i]);
        }
    }
    jsonp_free(d);
    return j.errors ? CTL_EXIT_USAGE : CTL_EXIT_OK;
}
