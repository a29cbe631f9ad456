#include "render.h"

#include "ctl.h"
#include "vocab.h"

static void enum_value(json_writer *w, vocab_table t, int v)
{
    const char *name = vocab_name(t, v);
    if (name)
        json_string(w, name);
    else
        json_int(w, v); /* unknown to this build: keep the number rather than hide it */
}

static void opt_enum(json_writer *w, const char *k, vocab_table t, int has, int v)
{
    json_key(w, k);
    if (has)
        enum_value(w, t, v);
    else
        json_null(w);
}

void render_target(json_writer *w, const Drip__Target *t)
{
    json_begin_object(w);
    opt_enum(w, "kind", VOCAB_TARGET_KIND, t->has_kind, t->kind);
    json_kv_str(w, "uscc", t->uscc);
    json_kv_str(w, "project_code", t->project_code);
    json_kv_str(w, "name", t->name);
    json_kv_str(w, "region", t->region);
    json_kv_str(w, "registering_authority", t->registering_authority);
    json_kv_str(w, "industry", t->industry);
    opt_enum(w, "ownership", VOCAB_OWNERSHIP, t->has_ownership, t->ownership);
    json_key(w, "registered_capital");
    if (t->has_registered_capital)
        json_int(w, t->registered_capital);
    else
        json_null(w);
    json_kv_str(w, "established", t->established);
    opt_enum(w, "status", VOCAB_TARGET_STATUS, t->has_status, t->status);
    /* absent and CREDIT_CLASS_UNSPECIFIED mean the same: not yet classified ("") */
    json_key(w, "credit_class");
    enum_value(w, VOCAB_CREDIT_CLASS, t->has_credit_class ? (int)t->credit_class : 0);
    json_kv_str_list(w, "supervising_depts", t->supervising_depts, t->n_supervising_depts);
    json_kv_str_list(w, "tags", t->tags, t->n_tags);
    json_end_object(w);
}

void render_inspector(json_writer *w, const Drip__Inspector *p)
{
    json_begin_object(w);
    json_kv_str(w, "dept", p->dept);
    json_kv_str(w, "id", p->id);
    json_kv_str(w, "name", p->name);
    json_kv_str(w, "region", p->region);
    json_kv_str(w, "cert_no", p->cert_no);
    json_kv_str(w, "cert_expiry", p->cert_expiry);
    json_kv_str_list(w, "qualifications", p->qualifications, p->n_qualifications);
    json_kv_opt_bool(w, "expert", p->has_expert, p->expert);
    json_kv_str(w, "team", p->team);
    json_kv_opt_bool(w, "active", p->has_active, p->active);
    json_kv_str_list(w, "recusals", p->recusals, p->n_recusals);
    json_end_object(w);
}

void render_item(json_writer *w, const Drip__Item *it)
{
    json_begin_object(w);
    json_kv_str(w, "dept", it->dept);
    json_kv_str(w, "code", it->code);
    json_kv_str(w, "name", it->name);
    opt_enum(w, "level", VOCAB_ITEM_LEVEL, it->has_level, it->level);
    json_kv_str(w, "legal_basis", it->legal_basis);
    json_key(w, "methods");
    json_begin_array(w);
    for (size_t i = 0; i < it->n_methods; i++) enum_value(w, VOCAB_METHOD, it->methods[i]);
    json_end_array(w);
    opt_enum(w, "target_kind", VOCAB_TARGET_KIND, it->has_target_kind, it->target_kind);
    json_kv_str_list(w, "required_qualifications", it->required_qualifications,
             it->n_required_qualifications);
    json_key(w, "experts");
    if (it->has_experts)
        json_uint(w, it->experts);
    else
        json_null(w);
    json_end_object(w);
}

void render_department(json_writer *w, const Drip__Department *d)
{
    json_begin_object(w);
    json_kv_str(w, "code", d->code);
    json_kv_str(w, "region", d->region);
    json_kv_str(w, "name", d->name);
    json_kv_opt_bool(w, "active", d->has_active, d->active);
    json_kv_opt_bool(w, "draws_teams", d->has_draws_teams, d->draws_teams);
    json_kv_str(w, "parent_dept", d->parent_dept);
    json_kv_str_list(w, "neighbour_depts", d->neighbour_depts, d->n_neighbour_depts);
    json_end_object(w);
}

void render_region(json_writer *w, const Drip__Region *r)
{
    json_begin_object(w);
    json_kv_str(w, "code", r->code);
    json_kv_str(w, "name", r->name);
    opt_enum(w, "level", VOCAB_REGION_LEVEL, r->has_level, r->level);
    json_kv_str(w, "parent", r->parent);
    json_kv_opt_bool(w, "custom", r->has_custom, r->custom);
    json_end_object(w);
}

void render_calendar_year(json_writer *w, const Drip__CalendarYear *y)
{
    json_begin_object(w);
    json_key(w, "year");
    if (y->has_year)
        json_uint(w, y->year);
    else
        json_null(w);
    json_key(w, "days");
    json_begin_array(w);
    for (size_t i = 0; i < y->n_days; i++) {
        const Drip__CalendarDay *d = y->days[i];
        json_begin_object(w);
        json_kv_str(w, "date", d->date);
        opt_enum(w, "kind", VOCAB_DAY_KIND, d->has_kind, d->kind);
        json_kv_str(w, "name", d->name);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

void render_change(json_writer *w, const Drip__Change *c)
{
    json_begin_object(w);
    opt_enum(w, "kind", VOCAB_RECORD_KIND, c->has_kind, c->kind);
    json_kv_str(w, "key", c->key);
    json_key(w, "version");
    if (c->has_version)
        json_uint(w, c->version);
    else
        json_null(w);
    json_kv_opt_bool(w, "retired", 1, c->has_retired && c->retired);
    json_key(w, "valid_from_ms");
    if (c->has_valid_from_ms) {
        json_int(w, c->valid_from_ms);
        char iso[40];
        ctl_format_time(c->valid_from_ms, iso);
        json_kv_str(w, "valid_from", iso);
    } else {
        json_null(w);
        json_kv_str(w, "valid_from", NULL);
    }
    json_kv_str(w, "changed_by", c->changed_by);
    json_kv_str(w, "owner", c->owner);
    json_kv_str(w, "retire_reason", c->retire_reason);
    if (c->target) {
        json_key(w, "target");
        render_target(w, c->target);
    }
    if (c->inspector) {
        json_key(w, "inspector");
        render_inspector(w, c->inspector);
    }
    if (c->item) {
        json_key(w, "item");
        render_item(w, c->item);
    }
    if (c->department) {
        json_key(w, "department");
        render_department(w, c->department);
    }
    if (c->region) {
        json_key(w, "region");
        render_region(w, c->region);
    }
    if (c->calendar_year) {
        json_key(w, "calendar_year");
        render_calendar_year(w, c->calendar_year);
    }
    json_end_object(w);
}
