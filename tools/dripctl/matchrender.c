#include "matchrender.h"

#include <string.h>

#include "ctl.h"
#include "status.h"
#include "vocab.h"

/* ------------------------------------------------------------------------------------------------
 * Enum words
 * ---------------------------------------------------------------------------------------------- */

static const char *const source_words[] = {NULL, "local", "parent", "neighbour", "direct"};
static const char *const role_words[] = {NULL, "member", "expert"};
static const char *const reason_words[] = {NULL, "recused", "rotation"};

static const char *word_of(const char *const *words, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? words[v] : NULL;
}

const char *match_source_word(int v)
{
    return word_of(source_words, 5, v);
}
const char *match_role_word(int v)
{
    return word_of(role_words, 3, v);
}
const char *match_reason_word(int v)
{
    return word_of(reason_words, 3, v);
}

/* A word of the table, or a number (a value a newer daemon sent that this build printed as one). */
static int word_parse(const char *const *words, size_t n, const char *s, int *v)
{
    for (size_t i = 1; s && i < n; i++)
        if (!strcmp(s, words[i])) {
            *v = (int)i;
            return DRIP_OK;
        }
    int64_t x;
    if (s && ctl_parse_int64(s, 0, 1000000, &x) == DRIP_OK) {
        *v = (int)x;
        return DRIP_OK;
    }
    return DRIP_EVALUE;
}

int match_source_parse(const char *s, int *v)
{
    return word_parse(source_words, 5, s, v);
}
int match_role_parse(const char *s, int *v)
{
    return word_parse(role_words, 3, s, v);
}
int match_reason_parse(const char *s, int *v)
{
    return word_parse(reason_words, 3, s, v);
}

/* ------------------------------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------------------------------- */

static void opt_word(json_writer *w, const char *k, int has, const char *name, int v)
{
    json_key(w, k);
    if (!has)
        json_null(w);
    else if (name)
        json_string(w, name);
    else
        json_int(w, v);
}

/* "k_ms": N and "k": ISO time (k = key without "_ms"). */
static void time_ms(json_writer *w, const char *k, int has, int64_t ms)
{
    char iso[40], key[64];
    size_t n = strlen(k);
    snprintf(key, sizeof key, "%.*s", (int)(n > 3 ? n - 3 : n), k);
    json_key(w, k);
    if (!has) {
        json_null(w);
        json_kv_str(w, key, NULL);
        return;
    }
    json_int(w, ms);
    ctl_format_time(ms, iso);
    json_kv_str(w, key, iso);
}

static void uint_list(json_writer *w, const char *k, const uint32_t *v, size_t n)
{
    json_key(w, k);
    json_begin_array(w);
    for (size_t i = 0; i < n; i++)
        json_uint(w, v[i]);
    json_end_array(w);
}

static void pool_json(json_writer *w, const Drip__DeptPool *p)
{
    json_begin_object(w);
    json_kv_str(w, "dept", p->dept);
    json_kv_opt_uint(w, "required", p->has_required, p->required);
    json_kv_opt_uint(w, "experts_required", p->has_experts_required, p->experts_required);
    json_kv_opt_bool(w, "teams", p->has_teams, p->teams);
    json_kv_opt_uint(w, "cap", p->has_cap, p->cap);
    json_kv_opt_uint(w, "expert_cap", p->has_expert_cap, p->expert_cap);
    json_kv_str_list(w, "tier_depts", p->tier_depts, p->n_tier_depts);
    uint_list(w, "tier_sizes", p->tier_sizes, p->n_tier_sizes);
    json_kv_str_list(w, "required_tags", p->required_tags, p->n_required_tags);
    json_kv_opt_uint(w, "inspectors", p->has_inspectors, p->inspectors);
    json_kv_opt_uint(w, "inactive", p->has_inactive, p->inactive);
    json_kv_opt_uint(w, "cert_expired", p->has_cert_expired, p->cert_expired);
    json_kv_opt_uint(w, "unqualified", p->has_unqualified, p->unqualified);
    json_kv_str(w, "note", p->note);
    json_end_object(w);
}

void render_match_run_json(json_writer *w, const Drip__MatchRun *r)
{
    json_begin_object(w);
    json_kv_str(w, "task_code", r->task_code);
    json_kv_str(w, "plan_code", r->plan_code);
    json_kv_opt_uint(w, "draw_no", r->has_draw_no, r->draw_no);
    json_kv_str(w, "algorithm", r->algorithm);
    json_kv_str(w, "seed", r->seed);
    json_kv_str(w, "pool_digest", r->pool_digest);
    json_kv_opt_uint(w, "pool_lines", r->has_pool_lines, r->pool_lines);
    json_kv_opt_uint(w, "forms", r->has_forms, r->forms);
    json_kv_opt_uint(w, "inspectors_per_check", r->has_inspectors_per_check, r->inspectors_per_check);
    json_kv_str(w, "lead_dept", r->lead_dept);
    json_kv_opt_uint(w, "unstaffed_slots", r->has_unstaffed_slots, r->unstaffed_slots);
    json_kv_opt_uint(w, "direct_assignments", r->has_direct_assignments, r->direct_assignments);
    time_ms(w, "matched_at_ms", r->has_matched_at_ms, r->matched_at_ms);
    json_key(w, "depts");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_depts; i++)
        pool_json(w, r->depts[i]);
    json_end_array(w);
    json_end_object(w);
}

static void inspector_json(json_writer *w, const Drip__FormInspector *p)
{
    json_begin_object(w);
    json_kv_str(w, "inspector", p->inspector);
    json_kv_str(w, "name", p->name);
    opt_word(w, "role", p->has_role, match_role_word(p->role), p->role);
    opt_word(w, "source", p->has_source, match_source_word(p->source), p->source);
    json_kv_str(w, "team", p->team);
    json_kv_str(w, "ticket", p->ticket);
    json_kv_opt_uint(w, "load", p->has_load, p->load);
    json_kv_str(w, "reason", p->reason);
    json_kv_str(w, "assigned_by", p->assigned_by);
    time_ms(w, "assigned_at_ms", p->has_assigned_at_ms, p->assigned_at_ms);
    json_end_object(w);
}

static void slot_json(json_writer *w, const Drip__DeptSlot *s)
{
    json_begin_object(w);
    json_kv_str(w, "dept", s->dept);
    json_kv_str_list(w, "item_codes", s->item_codes, s->n_item_codes);
    json_key(w, "methods");
    json_begin_array(w);
    for (size_t i = 0; i < s->n_methods; i++) {
        const char *name = vocab_name(VOCAB_METHOD, s->methods[i]);
        if (name)
            json_string(w, name);
        else
            json_int(w, s->methods[i]);
    }
    json_end_array(w);
    json_kv_opt_uint(w, "required", s->has_required, s->required);
    json_kv_opt_uint(w, "experts_required", s->has_experts_required, s->experts_required);
    json_kv_opt_bool(w, "teams", s->has_teams, s->teams);
    json_key(w, "inspectors");
    json_begin_array(w);
    for (size_t i = 0; i < s->n_inspectors; i++)
        inspector_json(w, s->inspectors[i]);
    json_end_array(w);
    json_kv_opt_bool(w, "unstaffed", s->has_unstaffed, s->unstaffed);
    json_kv_opt_uint(w, "short_by", s->has_short_by, s->short_by);
    json_kv_opt_bool(w, "experts_short", s->has_experts_short, s->experts_short);
    json_key(w, "exclusions");
    json_begin_array(w);
    for (size_t i = 0; i < s->n_exclusions; i++) {
        const Drip__Exclusion *x = s->exclusions[i];
        json_begin_object(w);
        json_kv_str(w, "inspector", x->inspector);
        opt_word(w, "reason", x->has_reason, match_reason_word(x->reason), x->reason);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

void render_match_form_json(json_writer *w, const Drip__Form *f)
{
    json_begin_object(w);
    json_kv_str(w, "task_code", f->task_code);
    json_kv_str(w, "plan_code", f->plan_code);
    json_kv_opt_uint(w, "seq", f->has_seq, f->seq);
    json_kv_str(w, "uscc", f->uscc);
    json_kv_str(w, "target_name", f->target_name);
    json_kv_str(w, "target_region", f->target_region);
    json_kv_str(w, "target_ticket", f->target_ticket);
    json_kv_str(w, "lead_dept", f->lead_dept);
    json_kv_opt_uint(w, "version", f->has_version, f->version);
    json_kv_str(w, "window_start", f->window_start);
    json_kv_str(w, "window_end", f->window_end);
    json_kv_opt_uint(w, "result_workdays", f->has_result_workdays, f->result_workdays);
    json_kv_str(w, "result_due_latest", f->result_due_latest);
    json_key(w, "depts");
    json_begin_array(w);
    for (size_t i = 0; i < f->n_depts; i++)
        slot_json(w, f->depts[i]);
    json_end_array(w);
    json_end_object(w);
}

void render_match_report_json(json_writer *w, const Drip__MatchReport *r)
{
    json_begin_object(w);
    json_key(w, "run");
    if (r->run)
        render_match_run_json(w, r->run);
    else
        json_null(w);
    json_key(w, "depts");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_depts; i++) {
        const Drip__DeptReport *d = r->depts[i];
        json_begin_object(w);
        json_key(w, "pool");
        if (d->pool)
            pool_json(w, d->pool);
        else
            json_null(w);
        json_kv_opt_uint(w, "load_min", d->has_load_min, d->load_min);
        json_kv_opt_uint(w, "load_median", d->has_load_median, d->load_median);
        json_kv_opt_uint(w, "load_max", d->has_load_max, d->load_max);
        json_kv_opt_uint(w, "recused", d->has_recused, d->recused);
        json_kv_opt_uint(w, "rotation", d->has_rotation, d->rotation);
        json_kv_opt_uint(w, "from_parent", d->has_from_parent, d->from_parent);
        json_kv_opt_uint(w, "from_neighbours", d->has_from_neighbours, d->from_neighbours);
        json_kv_opt_uint(w, "direct", d->has_direct, d->direct);
        json_kv_opt_uint(w, "unstaffed_slots", d->has_unstaffed_slots, d->unstaffed_slots);
        json_kv_opt_uint(w, "experts_short", d->has_experts_short, d->experts_short);
        json_kv_opt_uint(w, "pairs", d->has_pairs, d->pairs);
        json_kv_opt_uint(w, "repeated_pairs", d->has_repeated_pairs, d->repeated_pairs);
        json_kv_opt_uint(w, "max_pair_count", d->has_max_pair_count, d->max_pair_count);
        json_kv_str_list(w, "unstaffed_forms", d->unstaffed_forms, d->n_unstaffed_forms);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

/* ------------------------------------------------------------------------------------------------
 * Text
 * ---------------------------------------------------------------------------------------------- */

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static void print_list(FILE *f, char **v, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? sep : "", v[i]);
    if (n == 0) fputc('-', f);
}

/* "0 130102SCJ 12, 1 130100SCJ 30": tier number, department, pool lines. */
static void print_tiers(FILE *f, const Drip__DeptPool *p)
{
    size_t n = p->n_tier_depts > p->n_tier_sizes ? p->n_tier_depts : p->n_tier_sizes;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s%zu %s", i ? ", " : "", i,
                i < p->n_tier_depts ? or_dash(p->tier_depts[i]) : "-");
        if (i < p->n_tier_sizes)
            fprintf(f, " %u", p->tier_sizes[i]);
        else
            fputs(" ?", f);
    }
    if (n == 0) fputc('-', f);
}

static void pool_text(FILE *f, const Drip__DeptPool *p, const char *indent)
{
    int teams = p->has_teams && p->teams;
    if (teams)
        fprintf(f, "%s%s  one standing team per form", indent, or_dash(p->dept));
    else
        fprintf(f, "%s%s  %u member%s per form", indent, or_dash(p->dept), p->required,
                p->required == 1 ? "" : "s");
    fprintf(f, ", experts %u; cap %u form%s per %s", p->experts_required, p->cap,
            p->cap == 1 ? "" : "s", teams ? "team" : "member");
    if (p->experts_required) fprintf(f, " (experts %u)", p->expert_cap);
    fprintf(f, "\n%s  pool tiers: ", indent);
    print_tiers(f, p);
    if (p->n_required_tags) {
        fprintf(f, "\n%s  required qualifications: ", indent);
        print_list(f, p->required_tags, p->n_required_tags, ", ");
    }
    fprintf(f,
            "\n%s  own inspectors %u; not in the pool: inactive %u, certificate expired %u, "
            "unqualified %u\n",
            indent, p->inspectors, p->inactive, p->cert_expired, p->unqualified);
    if (p->note && *p->note) fprintf(f, "%s  note: %s\n", indent, p->note);
}

void render_match_run_text(FILE *f, const Drip__MatchRun *r)
{
    fprintf(f, "match of task %s (plan %s), draw %u, %s\n", or_dash(r->task_code),
            or_dash(r->plan_code), r->draw_no, or_dash(r->algorithm));
    fprintf(f, "seed:        %s\n", or_dash(r->seed));
    fprintf(f, "pool:        %llu lines, digest %s\n", (unsigned long long)r->pool_lines,
            or_dash(r->pool_digest));
    fprintf(f, "forms:       %u (inspectors per check %u, lead department %s)\n", r->forms,
            r->inspectors_per_check, or_dash(r->lead_dept));
    fprintf(f, "unstaffed slots: %u, direct assignments: %u\nmatched at:  ", r->unstaffed_slots,
            r->direct_assignments);
    if (r->has_matched_at_ms) {
        char iso[40];
        ctl_format_time(r->matched_at_ms, iso);
        fputs(iso, f);
    } else {
        fputc('-', f);
    }
    fputs("\ndepartments:\n", f);
    for (size_t i = 0; i < r->n_depts; i++)
        pool_text(f, r->depts[i], "  ");
}

static const char *source_flag(const Drip__FormInspector *p)
{
    if (!p->has_source) return "";
    switch (p->source) {
    case DRIP__SLOT_SOURCE__SOURCE_LOCAL:
        return "";
    case DRIP__SLOT_SOURCE__SOURCE_PARENT:
        return "  PARENT";
    case DRIP__SLOT_SOURCE__SOURCE_NEIGHBOUR:
        return "  NEIGHBOUR";
    case DRIP__SLOT_SOURCE__SOURCE_DIRECT:
        return "  DIRECT";
    default:
        return "  (unknown source)";
    }
}

static void slot_text(FILE *f, const Drip__DeptSlot *s)
{
    fprintf(f, "    %s  items ", or_dash(s->dept));
    print_list(f, s->item_codes, s->n_item_codes, ", ");
    if (s->n_methods) {
        fputs("; methods ", f);
        for (size_t i = 0; i < s->n_methods; i++) {
            const char *name = vocab_name(VOCAB_METHOD, s->methods[i]);
            if (name)
                fprintf(f, "%s%s", i ? ", " : "", name);
            else
                fprintf(f, "%s%d", i ? ", " : "", s->methods[i]);
        }
    }
    if (s->has_teams && s->teams)
        fprintf(f, "; a team of at least %u", s->required);
    else
        fprintf(f, "; %u member%s", s->required, s->required == 1 ? "" : "s");
    if (s->experts_required)
        fprintf(f, " + %u expert%s", s->experts_required, s->experts_required == 1 ? "" : "s");
    fputc('\n', f);
    for (size_t i = 0; i < s->n_inspectors; i++) {
        const Drip__FormInspector *p = s->inspectors[i];
        const char *role = p->has_role ? match_role_word(p->role) : NULL;
        fprintf(f, "      %-24s %-12s %-6s%s", or_dash(p->inspector), or_dash(p->name),
                role ? role : "?", source_flag(p));
        if (p->team && *p->team) fprintf(f, "  team %s", p->team);
        if (p->has_source && p->source == DRIP__SLOT_SOURCE__SOURCE_DIRECT) {
            fprintf(f, "  by %s", or_dash(p->assigned_by));
            if (p->has_assigned_at_ms) {
                char iso[40];
                ctl_format_time(p->assigned_at_ms, iso);
                fprintf(f, " at %s", iso);
            }
            if (p->reason && *p->reason) fprintf(f, ": %s", p->reason);
        }
        fputc('\n', f);
    }
    if (!s->n_inspectors) fputs("      (nobody)\n", f);
    if (s->has_unstaffed && s->unstaffed) fprintf(f, "      UNSTAFFED: short by %u\n", s->short_by);
    if (s->has_experts_short && s->experts_short) fputs("      EXPERTS SHORT\n", f);
    if (s->n_exclusions) {
        fputs("      excluded:", f);
        for (size_t i = 0; i < s->n_exclusions; i++) {
            const Drip__Exclusion *x = s->exclusions[i];
            const char *why = x->has_reason ? match_reason_word(x->reason) : NULL;
            fprintf(f, "%s %s (%s)", i ? "," : "", or_dash(x->inspector), why ? why : "?");
        }
        fputc('\n', f);
    }
}

void render_match_form_text(FILE *f, const Drip__Form *form)
{
    fprintf(f, "#%u  %s  %s  region %s", form->seq, or_dash(form->uscc), or_dash(form->target_name),
            or_dash(form->target_region));
    if (form->has_version && form->version > 1) fprintf(f, "  (version %u)", form->version);
    fputc('\n', f);
    for (size_t i = 0; i < form->n_depts; i++)
        slot_text(f, form->depts[i]);
    fprintf(f, "    check within %s..%s; results within %u working days, due by %s\n",
            or_dash(form->window_start), or_dash(form->window_end), form->result_workdays,
            form->result_due_latest && *form->result_due_latest ? form->result_due_latest
                                                                : "- (calendar year not loaded)");
}

#define REPORT_USCC_MAX 20 /* unstaffed forms listed in text; --json lists them all */

void render_match_report_text(FILE *f, const Drip__MatchReport *r)
{
    const Drip__MatchRun *run = r->run;
    if (run)
        fprintf(f,
                "fairness report of task %s (plan %s), draw %u: %u forms, pool %llu lines, "
                "%u unstaffed slots, %u direct assignments\n",
                or_dash(run->task_code), or_dash(run->plan_code), run->draw_no, run->forms,
                (unsigned long long)run->pool_lines, run->unstaffed_slots, run->direct_assignments);
    for (size_t i = 0; i < r->n_depts; i++) {
        const Drip__DeptReport *d = r->depts[i];
        if (d->pool)
            pool_text(f, d->pool, "");
        else
            fputs("(department without pool summary)\n", f);
        fprintf(f, "  load (forms per member, own pool): min %u, median %u, max %u\n", d->load_min,
                d->load_median, d->load_max);
        fprintf(f, "  exclusions: recused %u, rotation %u\n", d->recused, d->rotation);
        fprintf(f, "  from the parent department %u, from neighbours %u, assigned directly %u\n",
                d->from_parent, d->from_neighbours, d->direct);
        fprintf(f,
                "  pairs of members %u, of which worked together more than once %u; most forms "
                "one pair shared %u\n",
                d->pairs, d->repeated_pairs, d->max_pair_count);
        fprintf(f, "  experts short on %u form%s\n", d->experts_short,
                d->experts_short == 1 ? "" : "s");
        fprintf(f, "  unstaffed slots %u", d->unstaffed_slots);
        for (size_t k = 0; k < d->n_unstaffed_forms && k < REPORT_USCC_MAX; k++)
            fprintf(f, "%s%s", k ? " " : ": ", d->unstaffed_forms[k]);
        if (d->n_unstaffed_forms > REPORT_USCC_MAX)
            fprintf(f, " (+%zu more in --json)", d->n_unstaffed_forms - REPORT_USCC_MAX);
        fputc('\n', f);
    }
}
