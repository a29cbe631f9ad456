#include "planrender.h"

#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "drip/registry.pb-c.h"
#include "vocab.h"

/* ------------------------------------------------------------------------------------------------
 * JSON helpers
 * ---------------------------------------------------------------------------------------------- */

/* An enum as its word (the number when this build does not know the value). */
static void word(json_writer *w, const char *name, int v)
{
    if (name)
        json_string(w, name);
    else
        json_int(w, v);
}

static void opt_word(json_writer *w, const char *k, int has, const char *name, int v)
{
    json_key(w, k);
    if (has)
        word(w, name, v);
    else
        json_null(w);
}

/* "k_ms": N and "k": ISO time (k = key without "_ms"). */
static void time_ms(json_writer *w, const char *k, int has, int64_t ms)
{
    json_key(w, k);
    char iso[40], key[64];
    size_t n = strlen(k);
    snprintf(key, sizeof key, "%.*s", (int)(n > 3 ? n - 3 : n), k);
    if (!has) {
        json_null(w);
        json_kv_str(w, key, NULL);
        return;
    }
    json_int(w, ms);
    ctl_format_time(ms, iso);
    json_kv_str(w, key, iso);
}

static void enum_list(json_writer *w, const char *k, vocab_table t, const int *v, size_t n)
{
    json_key(w, k);
    json_begin_array(w);
    for (size_t i = 0; i < n; i++)
        word(w, t == VOCAB_CREDIT_CLASS ? cli_credit_code(v[i]) : vocab_name(t, v[i]), v[i]);
    json_end_array(w);
}

/* ------------------------------------------------------------------------------------------------
 * Plans and tasks as JSON
 * ---------------------------------------------------------------------------------------------- */

static void render_scope_json(json_writer *w, const Drip__TargetFilter *f)
{
    json_begin_object(w);
    json_kv_str_list(w, "regions", f->regions, f->n_regions);
    enum_list(w, "kinds", VOCAB_TARGET_KIND, (const int *)f->kinds, f->n_kinds);
    enum_list(w, "statuses", VOCAB_TARGET_STATUS, (const int *)f->statuses, f->n_statuses);
    enum_list(w, "credit_classes", VOCAB_CREDIT_CLASS, (const int *)f->credit_classes,
              f->n_credit_classes);
    enum_list(w, "ownerships", VOCAB_OWNERSHIP, (const int *)f->ownerships, f->n_ownerships);
    json_key(w, "capital_min");
    if (f->has_capital_min)
        json_int(w, f->capital_min);
    else
        json_null(w);
    json_key(w, "capital_max");
    if (f->has_capital_max)
        json_int(w, f->capital_max);
    else
        json_null(w);
    json_kv_str(w, "established_before", f->established_before);
    json_kv_str(w, "established_after", f->established_after);
    json_kv_str_list(w, "industries", f->industries, f->n_industries);
    json_kv_str_list(w, "tags_all", f->tags_all, f->n_tags_all);
    json_kv_str(w, "owner", f->owner);
    json_end_object(w);
}

static void render_items_json(json_writer *w, const Drip__Task *t)
{
    json_key(w, "items");
    json_begin_array(w);
    for (size_t i = 0; i < t->n_items; i++) {
        json_begin_object(w);
        json_kv_str(w, "dept", t->items[i]->dept);
        json_kv_str_list(w, "item_codes", t->items[i]->item_codes, t->items[i]->n_item_codes);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_class_ratios_json(json_writer *w, const Drip__Task *t)
{
    json_key(w, "class_ratios");
    if (t->n_class_ratios == 0) { /* null, not []: a task file may give one of the ratio kinds */
        json_null(w);
        return;
    }
    json_begin_array(w);
    for (size_t i = 0; i < t->n_class_ratios; i++) {
        const Drip__ClassRatio *cr = t->class_ratios[i];
        int cls = cr->has_credit_class ? (int)cr->credit_class : 0;
        json_begin_object(w);
        json_key(w, "credit_class");
        word(w, cli_credit_code(cls), cls);
        json_kv_opt_uint(w, "ratio_ppm", cr->has_ratio_ppm, cr->ratio_ppm);
        json_end_object(w);
    }
    json_end_array(w);
}

void render_task_json(json_writer *w, const Drip__Task *t)
{
    json_begin_object(w);
    json_kv_str(w, "code", t->code);
    json_kv_str(w, "name", t->name);
    opt_word(w, "kind", t->has_kind, cli_plan_kind_name(t->kind), t->kind);
    json_kv_opt_bool(w, "targeted", t->has_targeted, t->targeted);
    json_kv_str(w, "lead_dept", t->lead_dept);
    json_kv_str_list(w, "cooperating_depts", t->cooperating_depts, t->n_cooperating_depts);
    render_items_json(w, t);
    opt_word(w, "target_kind", t->has_target_kind, vocab_name(VOCAB_TARGET_KIND, t->target_kind),
             t->target_kind);
    json_key(w, "scope");
    if (t->scope)
        render_scope_json(w, t->scope);
    else
        json_null(w);
    json_kv_opt_uint(w, "ratio_ppm", t->has_ratio_ppm, t->ratio_ppm);
    render_class_ratios_json(w, t);
    json_kv_opt_uint(w, "count", t->has_count, t->count);
    json_kv_opt_bool(w, "stratify", t->has_stratify, t->stratify);
    json_kv_opt_uint(w, "inspectors_per_check", t->has_inspectors_per_check, t->inspectors_per_check);
    json_kv_opt_uint(w, "confirm_workdays", t->has_confirm_workdays, t->confirm_workdays);
    json_kv_opt_uint(w, "result_workdays", t->has_result_workdays, t->result_workdays);
    json_kv_str(w, "window_start", t->window_start);
    json_kv_str(w, "window_end", t->window_end);
    json_kv_opt_uint(w, "exclude_inspected_days", t->has_exclude_inspected_days, t->exclude_inspected_days);
    json_kv_opt_uint(w, "max_inspections_per_year", t->has_max_inspections_per_year,
             t->max_inspections_per_year);
    enum_list(w, "cap_exempt_classes", VOCAB_CREDIT_CLASS, (const int *)t->cap_exempt_classes,
              t->n_cap_exempt_classes);
    opt_word(w, "state", t->has_state, cli_task_state_name(t->state), t->state);
    json_kv_str(w, "commitment", t->commitment);
    json_kv_opt_uint(w, "version", t->has_version, t->version);
    json_kv_str(w, "plan_code", t->plan_code);
    json_end_object(w);
}

void render_plan_json(json_writer *w, const Drip__Plan *p, int with_tasks)
{
    json_begin_object(w);
    json_kv_str(w, "code", p->code);
    json_kv_str(w, "name", p->name);
    json_kv_opt_uint(w, "year", p->has_year, p->year);
    json_kv_str(w, "region", p->region);
    opt_word(w, "kind", p->has_kind, cli_plan_kind_name(p->kind), p->kind);
    json_kv_str(w, "owner", p->owner);
    json_kv_opt_uint(w, "seq", p->has_seq, p->seq);
    json_kv_opt_bool(w, "published", p->has_published, p->published);
    json_kv_opt_uint(w, "version", p->has_version, p->version);
    json_kv_str(w, "note", p->note);
    if (with_tasks) {
        json_key(w, "tasks");
        json_begin_array(w);
        for (size_t i = 0; i < p->n_tasks; i++)
            render_task_json(w, p->tasks[i]);
        json_end_array(w);
    }
    json_end_object(w);
}

/* ------------------------------------------------------------------------------------------------
 * Draw records as JSON
 * ---------------------------------------------------------------------------------------------- */

static void render_strata_json(json_writer *w, const Drip__DrawRecord *r)
{
    json_key(w, "strata");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_strata; i++) {
        const Drip__StratumRecord *s = r->strata[i];
        json_begin_object(w);
        json_kv_str(w, "stratum", s->stratum);
        json_kv_opt_uint(w, "size", s->has_size, s->size);
        json_kv_opt_uint(w, "quota", s->has_quota, s->quota);
        json_kv_str(w, "threshold", s->threshold);
        json_kv_opt_uint(w, "ratio_ppm", s->has_ratio_ppm, s->ratio_ppm);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_selected_json(json_writer *w, const Drip__DrawRecord *r)
{
    json_key(w, "selected");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_selected; i++) {
        const Drip__DrawnTarget *t = r->selected[i];
        json_begin_object(w);
        json_kv_str(w, "uscc", t->uscc);
        json_kv_str(w, "stratum", t->stratum);
        json_kv_str(w, "ticket", t->ticket);
        json_kv_opt_uint(w, "rank", t->has_rank, t->rank);
        json_kv_str(w, "replaces", t->replaces);
        opt_word(w, "state", t->has_state, cli_decision_name(t->state), t->state);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_replacements_json(json_writer *w, const Drip__DrawRecord *r)
{
    json_key(w, "replacements");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_replacements; i++) {
        const Drip__Replacement *x = r->replacements[i];
        json_begin_object(w);
        json_kv_str(w, "rejected_uscc", x->rejected_uscc);
        json_kv_str(w, "dept", x->dept);
        json_kv_str(w, "reason", x->reason);
        json_kv_str(w, "replacement_uscc", x->replacement_uscc);
        json_kv_str(w, "ticket", x->ticket);
        time_ms(w, "at_ms", x->has_at_ms, x->at_ms);
        json_end_object(w);
    }
    json_end_array(w);
}

static void render_decision_json(json_writer *w, const Drip__DeptDecision *d)
{
    json_begin_object(w);
    json_kv_str(w, "uscc", d->uscc);
    json_kv_str(w, "dept", d->dept);
    json_kv_opt_bool(w, "accept", d->has_accept, d->accept);
    json_kv_str(w, "reason", d->reason);
    time_ms(w, "at_ms", d->has_at_ms, d->at_ms);
    json_end_object(w);
}

void render_draw_json(json_writer *w, const Drip__DrawRecord *r)
{
    json_begin_object(w);
    json_kv_str(w, "task_code", r->task_code);
    json_kv_str(w, "plan_code", r->plan_code);
    json_kv_opt_uint(w, "draw_no", r->has_draw_no, r->draw_no);
    json_kv_str(w, "algorithm", r->algorithm);
    json_kv_str(w, "commitment", r->commitment);
    json_kv_str(w, "nonce", r->nonce);
    json_kv_str(w, "entropy", r->entropy);
    json_kv_str(w, "entropy_source", r->entropy_source);
    json_kv_str(w, "population_digest", r->population_digest);
    json_kv_opt_uint(w, "population_size", r->has_population_size, r->population_size);
    time_ms(w, "frozen_at_ms", r->has_frozen_at_ms, r->frozen_at_ms);
    render_strata_json(w, r);
    json_kv_str(w, "seed", r->seed);
    json_kv_opt_uint(w, "count", r->has_count, r->count);
    json_kv_opt_uint(w, "total_quota", r->has_total_quota, r->total_quota);
    render_selected_json(w, r);
    render_replacements_json(w, r);
    time_ms(w, "drawn_at_ms", r->has_drawn_at_ms, r->drawn_at_ms);
    json_kv_str(w, "redraw_reason", r->redraw_reason);
    json_kv_opt_bool(w, "superseded", r->has_superseded, r->superseded);
    json_kv_str(w, "confirm_deadline", r->confirm_deadline);
    json_kv_str_list(w, "participants", r->participants, r->n_participants);
    json_key(w, "decisions");
    json_begin_array(w);
    for (size_t i = 0; i < r->n_decisions; i++)
        render_decision_json(w, r->decisions[i]);
    json_end_array(w);
    json_kv_str(w, "capacity_note", r->capacity_note);
    json_end_object(w);
}

/* ------------------------------------------------------------------------------------------------
 * Text
 * ---------------------------------------------------------------------------------------------- */

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

void render_task_ratio(const Drip__Task *t, char out[256])
{
    char pct[16];
    if (t->has_ratio_ppm) {
        cli_format_percent(t->ratio_ppm, pct);
        snprintf(out, 256, "%s", pct);
    } else if (t->n_class_ratios) {
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < t->n_class_ratios && n < 200; i++) {
            const Drip__ClassRatio *cr = t->class_ratios[i];
            const char *code = cli_credit_code(cr->has_credit_class ? (int)cr->credit_class : 0);
            cli_format_percent(cr->ratio_ppm, pct);
            int k = snprintf(out + n, 256 - n, "%s%s=%s", i ? "," : "", code ? code : "?", pct);
            if (k > 0) n += (size_t)k;
        }
    } else if (t->has_count) {
        snprintf(out, 256, "count %u", t->count);
    } else {
        snprintf(out, 256, "-");
    }
}

static void print_list(FILE *f, char **v, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? sep : "", v[i]);
    if (n == 0) fputc('-', f);
}

static void print_enum_list(FILE *f, vocab_table t, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *w = t == VOCAB_CREDIT_CLASS ? cli_credit_code(v[i]) : vocab_name(t, v[i]);
        if (w)
            fprintf(f, "%s%s", i ? "|" : "", w);
        else
            fprintf(f, "%s%d", i ? "|" : "", v[i]);
    }
}

static void print_scope(FILE *f, const Drip__TargetFilter *s)
{
    const char *sep = "";
#define PART(cond, ...)                                                                            \
    if (cond) {                                                                                    \
        fputs(sep, f);                                                                             \
        fprintf(f, __VA_ARGS__);                                                                   \
        sep = "; ";                                                                                \
    }
    PART(s->n_regions, "region ")
    if (s->n_regions) print_list(f, s->regions, s->n_regions, "|");
    PART(s->n_kinds, "kind ")
    print_enum_list(f, VOCAB_TARGET_KIND, (const int *)s->kinds, s->n_kinds);
    PART(s->n_statuses, "status ")
    print_enum_list(f, VOCAB_TARGET_STATUS, (const int *)s->statuses, s->n_statuses);
    PART(s->n_credit_classes, "credit ")
    print_enum_list(f, VOCAB_CREDIT_CLASS, (const int *)s->credit_classes, s->n_credit_classes);
    PART(s->n_ownerships, "ownership ")
    print_enum_list(f, VOCAB_OWNERSHIP, (const int *)s->ownerships, s->n_ownerships);
    PART(s->has_capital_min, "capital >= %lld", (long long)s->capital_min)
    PART(s->has_capital_max, "capital <= %lld", (long long)s->capital_max)
    PART(s->established_before, "established <= %s", s->established_before)
    PART(s->established_after, "established >= %s", s->established_after)
    PART(s->n_industries, "industry ")
    if (s->n_industries) print_list(f, s->industries, s->n_industries, "|");
    PART(s->n_tags_all, "tags ")
    if (s->n_tags_all) print_list(f, s->tags_all, s->n_tags_all, "+");
    PART(s->owner, "owner %s", s->owner)
#undef PART
    if (!*sep) fputs("(everything)", f);
}

static void print_row(FILE *f, const char *label)
{
    fprintf(f, "  %-13s", label);
}

static void render_task_deadlines(FILE *f, const Drip__Task *t)
{
    print_row(f, "inspectors");
    if (t->has_inspectors_per_check)
        fprintf(f, "%u per check\n", t->inspectors_per_check);
    else
        fputs("-\n", f);
    print_row(f, "confirm");
    if (t->has_confirm_workdays)
        fprintf(f, "within %u working day%s of the draw\n", t->confirm_workdays,
                t->confirm_workdays == 1 ? "" : "s");
    else
        fputs("-\n", f);
    print_row(f, "results");
    if (t->has_result_workdays)
        fprintf(f, "within %u working day%s of the check\n", t->result_workdays,
                t->result_workdays == 1 ? "" : "s");
    else
        fputs("-\n", f);
    print_row(f, "window");
    fprintf(f, "%s..%s\n", or_dash(t->window_start), or_dash(t->window_end));
    if ((t->has_exclude_inspected_days && t->exclude_inspected_days) ||
        (t->has_max_inspections_per_year && t->max_inspections_per_year)) {
        print_row(f, "exclusions");
        if (t->exclude_inspected_days)
            fprintf(f, "inspected by the same department in the last %u days; ",
                    t->exclude_inspected_days);
        if (t->max_inspections_per_year) {
            fprintf(f, "at most %u inspection%s per target and year", t->max_inspections_per_year,
                    t->max_inspections_per_year == 1 ? "" : "s");
            if (t->n_cap_exempt_classes) {
                fputs(" (exempt: ", f);
                print_enum_list(f, VOCAB_CREDIT_CLASS, (const int *)t->cap_exempt_classes,
                                t->n_cap_exempt_classes);
                fputc(')', f);
            }
        }
        fputc('\n', f);
    }
}

void render_task_text(FILE *f, const Drip__Task *t)
{
    char ratio[256];
    fprintf(f, "task %s  %s\n", or_dash(t->code), or_dash(t->name));
    print_row(f, "plan");
    fprintf(f, "%s\n", or_dash(t->plan_code));
    print_row(f, "state");
    const char *st = t->has_state ? cli_task_state_name(t->state) : NULL;
    fprintf(f, "%s", st ? st : "-");
    if (t->has_version) fprintf(f, " (version %u)", t->version);
    fputc('\n', f);
    print_row(f, "kind");
    const char *k = t->has_kind ? cli_plan_kind_name(t->kind) : NULL;
    fprintf(f, "%s, %s\n", k ? k : "-",
            t->has_targeted && t->targeted ? "targeted (定向)" : "untargeted (不定向)");
    print_row(f, "lead");
    fprintf(f, "%s\n", or_dash(t->lead_dept));
    print_row(f, "cooperating");
    print_list(f, t->cooperating_depts, t->n_cooperating_depts, ", ");
    fputc('\n', f);
    for (size_t i = 0; i < t->n_items || i == 0; i++) {
        print_row(f, i ? "" : "items");
        if (!t->n_items) {
            fputs("-\n", f);
            break;
        }
        fprintf(f, "%s: ", or_dash(t->items[i]->dept));
        print_list(f, t->items[i]->item_codes, t->items[i]->n_item_codes, ", ");
        fputc('\n', f);
    }
    print_row(f, "target kind");
    const char *tk = t->has_target_kind ? vocab_name(VOCAB_TARGET_KIND, t->target_kind) : NULL;
    fprintf(f, "%s\n", tk ? tk : "-");
    print_row(f, "scope");
    if (t->scope)
        print_scope(f, t->scope);
    else
        fputs("(everything)", f);
    fputc('\n', f);
    render_task_ratio(t, ratio);
    print_row(f, "ratio");
    fprintf(f, "%s%s\n", ratio,
            t->has_stratify && !t->stratify ? " (not stratified)"
                                            : " (stratified by credit class)");
    render_task_deadlines(f, t);
    print_row(f, "commitment");
    fprintf(f, "%s\n", or_dash(t->commitment));
}

void render_plan_line(FILE *f, const Drip__Plan *p)
{
    const char *k = p->has_kind ? cli_plan_kind_name(p->kind) : NULL;
    fprintf(f, "%s\t%u\t%s\t%s\t%s\t%zu\t%s\n", or_dash(p->code), p->year, k ? k : "-",
            p->has_published && p->published ? "published" : "draft", or_dash(p->owner), p->n_tasks,
            or_dash(p->name));
}

void render_plan_text(FILE *f, const Drip__Plan *p)
{
    const char *k = p->has_kind ? cli_plan_kind_name(p->kind) : NULL;
    fprintf(f, "plan %s  %s\n", or_dash(p->code), or_dash(p->name));
    fprintf(f, "  year %u  kind %s  region %s  owner %s  seq %u  %s  version %u\n", p->year,
            k ? k : "-", or_dash(p->region), or_dash(p->owner), p->seq,
            p->has_published && p->published ? "published" : "draft", p->version);
    if (p->note && *p->note) fprintf(f, "  note: %s\n", p->note);
    fprintf(f, "  tasks: %zu\n", p->n_tasks);
    if (!p->n_tasks) return;
    fprintf(f, "  %-12s %-11s %-23s %-12s %-16s %s\n", "CODE", "STATE", "WINDOW", "LEAD", "RATIO",
            "NAME");
    for (size_t i = 0; i < p->n_tasks; i++) {
        const Drip__Task *t = p->tasks[i];
        char ratio[256], window[32];
        render_task_ratio(t, ratio);
        snprintf(window, sizeof window, "%.10s..%.10s", or_dash(t->window_start),
                 or_dash(t->window_end));
        const char *st = t->has_state ? cli_task_state_name(t->state) : NULL;
        /* task codes are Chinese: pad by display width, not bytes */
        fprintf(f, "  %s", or_dash(t->code));
        size_t chars = 0;
        for (const unsigned char *c = (const unsigned char *)or_dash(t->code); *c; c++)
            if ((*c & 0xC0) != 0x80) chars += *c >= 0xE0 ? 2 : 1;
        for (; chars < 13; chars++)
            fputc(' ', f);
        fprintf(f, "%-11s %-23s %-12s %-16s %s\n", st ? st : "-", window, or_dash(t->lead_dept),
                ratio, or_dash(t->name));
    }
}

/* ------------------------------------------------------------------------------------------------
 * Draw records as text
 * ---------------------------------------------------------------------------------------------- */

static void print_time(FILE *f, int has, int64_t ms)
{
    char iso[40];
    if (!has) {
        fputc('-', f);
        return;
    }
    ctl_format_time(ms, iso);
    fputs(iso, f);
}

static void render_strata_text(FILE *f, const Drip__DrawRecord *r)
{
    fprintf(f, "strata:\n    %-8s %10s %8s %9s  %s\n", "STRATUM", "SIZE", "QUOTA", "RATIO",
            "THRESHOLD (k-th smallest ticket)");
    uint64_t n = 0, k = 0;
    for (size_t i = 0; i < r->n_strata; i++) {
        const Drip__StratumRecord *s = r->strata[i];
        char pct[16] = "-";
        if (s->has_ratio_ppm && s->ratio_ppm) cli_format_percent(s->ratio_ppm, pct);
        fprintf(f, "    %-8s %10llu %8llu %9s  %s\n", or_dash(s->stratum),
                (unsigned long long)s->size, (unsigned long long)s->quota, pct,
                or_dash(s->threshold));
        n += s->size;
        k += s->quota;
    }
    fprintf(f, "    %-8s %10llu %8llu\n", "total", (unsigned long long)n, (unsigned long long)k);
}

static void render_selected_text(FILE *f, const Drip__DrawRecord *r)
{
    fprintf(f, "selected (%zu):\n    %-4s %-7s %-4s %-20s %-10s %s\n", r->n_selected, "#",
            "STRATUM", "RANK", "USCC", "STATE", "TICKET");
    for (size_t i = 0; i < r->n_selected; i++) {
        const Drip__DrawnTarget *t = r->selected[i];
        const char *st = t->has_state ? cli_decision_name(t->state) : NULL;
        fprintf(f, "    %-4zu %-7s %-4u %-20s %-10s %s", i + 1, or_dash(t->stratum), t->rank,
                or_dash(t->uscc), st ? st : "-", or_dash(t->ticket));
        if (t->replaces && *t->replaces) fprintf(f, "  (replaces %s)", t->replaces);
        fputc('\n', f);
    }
}

static void render_replacements_text(FILE *f, const Drip__DrawRecord *r)
{
    if (!r->n_replacements) return;
    fprintf(f, "replacements (%zu):\n", r->n_replacements);
    for (size_t i = 0; i < r->n_replacements; i++) {
        const Drip__Replacement *x = r->replacements[i];
        fprintf(f, "    %s rejected by %s (%s) -> ", or_dash(x->rejected_uscc), or_dash(x->dept),
                or_dash(x->reason));
        if (x->replacement_uscc && *x->replacement_uscc)
            fprintf(f, "%s ticket %s", x->replacement_uscc, or_dash(x->ticket));
        else
            fputs("no candidate left in the stratum", f);
        fputs(" at ", f);
        print_time(f, x->has_at_ms, x->at_ms);
        fputc('\n', f);
    }
}

static void render_decisions_text(FILE *f, const Drip__DrawRecord *r)
{
    if (!r->n_decisions) return;
    fprintf(f, "decisions (%zu):\n", r->n_decisions);
    for (size_t i = 0; i < r->n_decisions; i++) {
        const Drip__DeptDecision *d = r->decisions[i];
        fprintf(f, "    %-20s %-12s %-7s ", or_dash(d->uscc), or_dash(d->dept),
                d->has_accept && d->accept ? "accept" : "reject");
        print_time(f, d->has_at_ms, d->at_ms);
        if (d->reason && *d->reason) fprintf(f, "  %s", d->reason);
        fputc('\n', f);
    }
}

void render_draw_text(FILE *f, const Drip__DrawRecord *r, const uint32_t *draw_nos, size_t n)
{
    fprintf(f, "draw %u of task %s (plan %s), %s%s\n", r->draw_no, or_dash(r->task_code),
            or_dash(r->plan_code), or_dash(r->algorithm),
            r->has_superseded && r->superseded ? ", SUPERSEDED by a redraw" : "");
    if (n > 1) {
        fputs("draws of this task:", f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, " %u", draw_nos[i]);
        fputc('\n', f);
    }
    if (r->redraw_reason && *r->redraw_reason) fprintf(f, "redraw reason: %s\n", r->redraw_reason);
    fprintf(f, "commitment:  %s\nnonce:       %s\n", or_dash(r->commitment), or_dash(r->nonce));
    if (r->entropy && *r->entropy)
        fprintf(f, "entropy:     \"%s\" (source: %s)\n", r->entropy, or_dash(r->entropy_source));
    else
        fprintf(f, "entropy:     (none)%s%s\n", r->entropy_source && *r->entropy_source ? " " : "",
                r->entropy_source ? r->entropy_source : "");
    fprintf(f, "population:  %llu members, digest %s, frozen at ",
            (unsigned long long)r->population_size, or_dash(r->population_digest));
    print_time(f, r->has_frozen_at_ms, r->frozen_at_ms);
    fprintf(f, "\nseed:        %s\n", or_dash(r->seed));
    if (r->has_count && r->count) fprintf(f, "fixed count: %u\n", r->count);
    render_strata_text(f, r);
    render_selected_text(f, r);
    render_replacements_text(f, r);
    render_decisions_text(f, r);
    fputs("participants: ", f);
    print_list(f, r->participants, r->n_participants, ", ");
    fprintf(f, "\nconfirmation deadline: %s\ndrawn at: ", or_dash(r->confirm_deadline));
    print_time(f, r->has_drawn_at_ms, r->drawn_at_ms);
    fputc('\n', f);
    if (r->capacity_note && *r->capacity_note) fprintf(f, "capacity: %s\n", r->capacity_note);
}

void render_confirm_text(FILE *f, const Drip__ConfirmReply *r)
{
    fprintf(f, "recorded %zu decision%s\n", r->n_accepted, r->n_accepted == 1 ? "" : "s");
    for (size_t i = 0; i < r->n_accepted; i++) {
        const Drip__DeptDecision *d = r->accepted[i];
        fprintf(f, "    %-7s %-20s %s", d->has_accept && d->accept ? "accept" : "reject",
                or_dash(d->uscc), or_dash(d->dept));
        if (d->reason && *d->reason) fprintf(f, "  %s", d->reason);
        fputc('\n', f);
    }
    if (r->n_rejected_reasons) {
        fprintf(f, "refused %zu decision%s\n", r->n_rejected_reasons,
                r->n_rejected_reasons == 1 ? "" : "s");
        for (size_t i = 0; i < r->n_rejected_reasons; i++)
            fprintf(f, "    %s\n", r->rejected_reasons[i]);
    }
    if (r->n_replacements) {
        fprintf(f, "replacements (%zu)\n", r->n_replacements);
        for (size_t i = 0; i < r->n_replacements; i++) {
            const Drip__Replacement *x = r->replacements[i];
            if (x->replacement_uscc && *x->replacement_uscc)
                fprintf(f, "    %s replaces %s (ticket %s)\n", x->replacement_uscc,
                        or_dash(x->rejected_uscc), or_dash(x->ticket));
            else
                fprintf(f, "    %s: no candidate left in its stratum\n", or_dash(x->rejected_uscc));
        }
    }
    fprintf(f, "pending: %u\n", r->pending);
}
