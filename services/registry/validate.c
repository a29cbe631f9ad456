#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "status.h"

#define WHY(...) snprintf(why, VALIDATE_WHY_MAX, __VA_ARGS__)

static int empty(const char *s)
{
    return !s || !*s;
}

/* Copies a codes.h reason behind a field name. */
static int field_err(char *why, const char *field, int st, const char *reason)
{
    WHY("%s: %s", field, reason);
    return st;
}

static int check_text(char *why, const char *field, const char *s, size_t min, size_t max)
{
    char r[CODES_WHY_MAX];
    int st = codes_text_check(s ? s : "", min, max, r);
    return st == DRIP_OK ? DRIP_OK : field_err(why, field, st, r);
}

static int check_date(char *why, const char *field, const char *s, int32_t *days)
{
    char r[CODES_WHY_MAX];
    if (empty(s)) return field_err(why, field, DRIP_EMISSING, "required (YYYY-MM-DD)");
    int st = codes_date_parse(s, days, r);
    return st == DRIP_OK ? DRIP_OK : field_err(why, field, DRIP_EDATE, r);
}

static int check_region(const validate_ctx *v, char *why, const char *field, const char *code)
{
    char r[CODES_WHY_MAX];
    if (empty(code)) return field_err(why, field, DRIP_EMISSING, "required (6-digit GB/T 2260 code)");
    if (codes_region_syntax(code, r) != DRIP_OK) return field_err(why, field, DRIP_EREGION, r);
    for (size_t i = 0; i < v->nbatch_regions; i++)
        if (!strcmp(v->batch_regions[i], code)) return DRIP_OK;
    if (!refcache_region_exists(v->ref, v->conn, code)) {
        WHY("%s: region %s does not exist", field, code);
        return DRIP_EREGION;
    }
    return DRIP_OK;
}

static int check_dept_ref(const validate_ctx *v, char *why, const char *field, const char *code)
{
    char r[CODES_WHY_MAX];
    if (codes_dept_check(code, r) != DRIP_OK) return field_err(why, field, DRIP_EVALUE, r);
    if (!refcache_dept(v->ref, v->conn, code, NULL, NULL)) {
        WHY("%s: department %s is not registered", field, code);
        return DRIP_EREFERENCE;
    }
    return DRIP_OK;
}

/* Tags: each 1..64 chars of text without ';' or ',' (the CSV list separators), at most `max`. */
static int check_tags(char *why, const char *field, char **tags, size_t n, size_t max)
{
    if (n > max) {
        WHY("%s: %zu entries, at most %zu allowed", field, n, max);
        return DRIP_ETOOLARGE;
    }
    for (size_t i = 0; i < n; i++) {
        char r[CODES_WHY_MAX];
        if (codes_text_check(tags[i], 1, 64, r) != DRIP_OK) {
            WHY("%s[%zu]: %s", field, i, r);
            return DRIP_EVALUE;
        }
        if (strpbrk(tags[i], ";,")) {
            WHY("%s[%zu]: '%.64s' contains ';' or ','", field, i, tags[i]);
            return DRIP_EVALUE;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(tags[i], tags[j])) {
                WHY("%s: '%.64s' listed twice", field, tags[i]);
                return DRIP_ECONFLICT;
            }
    }
    return DRIP_OK;
}

static int enum_ok(const ProtobufCEnumDescriptor *d, int value)
{
    /* value 0 is the UNSPECIFIED placeholder of every drip enum */
    return value != 0 && protobuf_c_enum_descriptor_get_value(d, value) != NULL;
}

static int check_enum(char *why, const char *field, const ProtobufCEnumDescriptor *d, int has,
                      int value, int required)
{
    if (!has || value == 0) {
        if (!required) return DRIP_OK;
        WHY("%s: required", field);
        return DRIP_EMISSING;
    }
    if (!enum_ok(d, value)) {
        WHY("%s: unknown value %d", field, value);
        return DRIP_EENUM;
    }
    return DRIP_OK;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int st_ = (x);                                                                             \
        if (st_ != DRIP_OK) return st_;                                                            \
    } while (0)

void validate_target_key(const Drip__Target *t, char *key)
{
    if (!empty(t->project_code))
        snprintf(key, VALIDATE_KEY_MAX, "%.18s/%.64s", t->uscc ? t->uscc : "", t->project_code);
    else
        snprintf(key, VALIDATE_KEY_MAX, "%.18s", t->uscc ? t->uscc : "");
}

static int check_project_code(char *why, const char *s)
{
    size_t n = strlen(s);
    if (n > 64) {
        WHY("project_code: longer than 64 characters");
        return DRIP_EVALUE;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              ch == '-')) {
            WHY("project_code: character %zu is not [0-9A-Za-z-]", i + 1);
            return DRIP_EVALUE;
        }
    }
    return DRIP_OK;
}

int validate_target(const validate_ctx *v, Drip__Target *t, char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    if (empty(t->uscc)) return field_err(why, "uscc", DRIP_EMISSING, "required");
    if (codes_uscc_check(t->uscc, r) != DRIP_OK) return field_err(why, "uscc", DRIP_EUSCC, r);
    TRY(check_enum(why, "kind", &drip__target_kind__descriptor, t->has_kind, t->kind, 1));
    if (t->kind == DRIP__TARGET_KIND__CONSTRUCTION_PROJECT) {
        if (empty(t->project_code))
            return field_err(why, "project_code", DRIP_EMISSING, "required for construction projects");
        TRY(check_project_code(why, t->project_code));
    } else if (!empty(t->project_code)) {
        return field_err(why, "project_code", DRIP_EVALUE, "only construction projects have one");
    }
    validate_target_key(t, key);
    TRY(check_text(why, "name", t->name, 1, 256));
    TRY(check_region(v, why, "region", t->region));
    if (!empty(t->registering_authority))
        TRY(check_dept_ref(v, why, "registering_authority", t->registering_authority));
    if (!empty(t->industry) && codes_industry_check(t->industry, r) != DRIP_OK)
        return field_err(why, "industry", DRIP_EVALUE, r);
    TRY(check_enum(why, "ownership", &drip__ownership__descriptor, t->has_ownership, t->ownership, 0));
    if (t->has_registered_capital &&
        (t->registered_capital < 0 || t->registered_capital > 100000000000000LL)) {
        WHY("registered_capital: %lld yuan is outside 0..10^14", (long long)t->registered_capital);
        return DRIP_EVALUE;
    }
    if (!empty(t->established)) {
        int32_t d;
        TRY(check_date(why, "established", t->established, &d));
        if (d > v->today) {
            WHY("established: %s is in the future", t->established);
            return DRIP_EDATE;
        }
    }
    TRY(check_enum(why, "status", &drip__target_status__descriptor, t->has_status, t->status, 1));
    TRY(check_enum(why, "credit_class", &drip__credit_class__descriptor, t->has_credit_class,
                   t->credit_class, 0));
    if (t->n_supervising_depts > 32) {
        WHY("supervising_depts: %zu entries, at most 32", t->n_supervising_depts);
        return DRIP_ETOOLARGE;
    }
    for (size_t i = 0; i < t->n_supervising_depts; i++)
        TRY(check_dept_ref(v, why, "supervising_depts", t->supervising_depts[i]));
    TRY(check_tags(why, "tags", t->tags, t->n_tags, 64));
    return DRIP_OK;
}

/* Inspectors and items belong to the sender: the record's dept must be the sender's. */
static int check_own_dept(const validate_ctx *v, char *why, const char *dept)
{
    if (empty(dept)) return field_err(why, "dept", DRIP_EMISSING, "required");
    if (strcmp(dept, v->sender) != 0) {
        WHY("dept: %.32s may not change records of department %.32s", v->sender, dept);
        return DRIP_EFORBIDDEN;
    }
    return DRIP_OK;
}

int validate_inspector(const validate_ctx *v, Drip__Inspector *in, char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    TRY(check_own_dept(v, why, in->dept));
    if (empty(in->id)) return field_err(why, "id", DRIP_EMISSING, "required");
    if (codes_ident_check(in->id, 32, r) != DRIP_OK) return field_err(why, "id", DRIP_EVALUE, r);
    snprintf(key, VALIDATE_KEY_MAX, "%s/%s", in->dept, in->id);
    TRY(check_text(why, "name", in->name, 1, 64));
    if (empty(in->region)) {
        /* default: the department's own region (normalised so the digest is stable); the string
         * is malloc'd like every field of a message unpacked with the default allocator */
        char region[7];
        if (!refcache_dept(v->ref, v->conn, in->dept, region, NULL)) {
            WHY("dept: department %s is not registered", in->dept);
            return DRIP_EDEPT;
        }
        free(in->region);
        in->region = strdup(region);
        if (!in->region) abort();
    }
    TRY(check_region(v, why, "region", in->region));
    TRY(check_text(why, "cert_no", in->cert_no, 1, 32));
    int32_t d;
    TRY(check_date(why, "cert_expiry", in->cert_expiry, &d));
    TRY(check_tags(why, "qualifications", in->qualifications, in->n_qualifications, 64));
    if (!empty(in->team) && codes_ident_check(in->team, 32, r) != DRIP_OK)
        return field_err(why, "team", DRIP_EVALUE, r);
    if (!in->has_active) {
        in->has_active = 1;
        in->active = 1;
    }
    if (!in->has_expert) {
        in->has_expert = 1;
        in->expert = 0;
    }
    if (in->n_recusals > 256) {
        WHY("recusals: %zu entries, at most 256", in->n_recusals);
        return DRIP_ETOOLARGE;
    }
    for (size_t i = 0; i < in->n_recusals; i++) {
        if (codes_uscc_check(in->recusals[i], r) != DRIP_OK) {
            WHY("recusals[%zu]: %s", i, r);
            return DRIP_EUSCC;
        }
    }
    return DRIP_OK;
}

int validate_item(const validate_ctx *v, Drip__Item *it, char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    TRY(check_own_dept(v, why, it->dept));
    if (empty(it->code)) return field_err(why, "code", DRIP_EMISSING, "required");
    if (codes_ident_check(it->code, 32, r) != DRIP_OK) return field_err(why, "code", DRIP_EVALUE, r);
    snprintf(key, VALIDATE_KEY_MAX, "%s/%s", it->dept, it->code);
    TRY(check_text(why, "name", it->name, 1, 256));
    TRY(check_enum(why, "level", &drip__item_level__descriptor, it->has_level, it->level, 1));
    if (it->legal_basis) TRY(check_text(why, "legal_basis", it->legal_basis, 0, 2000));
    if (it->n_methods == 0) return field_err(why, "methods", DRIP_EMISSING, "at least one method");
    if (it->n_methods > 7) return field_err(why, "methods", DRIP_ETOOLARGE, "at most 7 methods");
    for (size_t i = 0; i < it->n_methods; i++) {
        if (!enum_ok(&drip__method__descriptor, it->methods[i])) {
            WHY("methods[%zu]: unknown value %d", i, it->methods[i]);
            return DRIP_EENUM;
        }
        for (size_t j = 0; j < i; j++)
            if (it->methods[i] == it->methods[j]) {
                WHY("methods: %d listed twice", it->methods[i]);
                return DRIP_ECONFLICT;
            }
    }
    TRY(check_enum(why, "target_kind", &drip__target_kind__descriptor, it->has_target_kind,
                   it->target_kind, 1));
    TRY(check_tags(why, "required_qualifications", it->required_qualifications,
                   it->n_required_qualifications, 16));
    if (it->has_experts && it->experts > 5)
        return field_err(why, "experts", DRIP_EVALUE, "at most 5 experts per item");
    return DRIP_OK;
}

int validate_department(const validate_ctx *v, Drip__Department *d, char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    if (empty(d->code)) return field_err(why, "code", DRIP_EMISSING, "required");
    if (codes_dept_check(d->code, r) != DRIP_OK) return field_err(why, "code", DRIP_EVALUE, r);
    snprintf(key, VALIDATE_KEY_MAX, "%s", d->code);
    TRY(check_region(v, why, "region", d->region));
    TRY(check_text(why, "name", d->name, 1, 128));
    /* Fallback departments are checked for form only: a whole province's departments arrive in
     * one batch in any order; the matcher reports a fallback that does not exist when it is used. */
    if (!empty(d->parent_dept)) {
        if (codes_dept_check(d->parent_dept, r) != DRIP_OK)
            return field_err(why, "parent_dept", DRIP_EVALUE, r);
        if (!strcmp(d->parent_dept, d->code))
            return field_err(why, "parent_dept", DRIP_EVALUE, "a department is not its own parent");
    }
    if (d->n_neighbour_depts > 8)
        return field_err(why, "neighbour_depts", DRIP_ETOOLARGE, "at most 8");
    for (size_t i = 0; i < d->n_neighbour_depts; i++) {
        if (codes_dept_check(d->neighbour_depts[i], r) != DRIP_OK)
            return field_err(why, "neighbour_depts", DRIP_EVALUE, r);
        if (!strcmp(d->neighbour_depts[i], d->code))
            return field_err(why, "neighbour_depts", DRIP_EVALUE, "a department is not its own neighbour");
    }
    if (!d->has_active) {
        d->has_active = 1;
        d->active = 1;
    }
    return DRIP_OK;
}

int validate_region(const validate_ctx *v, Drip__Region *g, char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    if (empty(g->code)) return field_err(why, "code", DRIP_EMISSING, "required");
    if (codes_region_syntax(g->code, r) != DRIP_OK) return field_err(why, "code", DRIP_EREGION, r);
    snprintf(key, VALIDATE_KEY_MAX, "%s", g->code);
    TRY(check_text(why, "name", g->name, 1, 64));
    TRY(check_enum(why, "level", &drip__region_level__descriptor, g->has_level, g->level, 1));
    int implied = codes_region_level(g->code);
    if ((int)g->level != implied) {
        WHY("level: code %s is a %s code", g->code,
            implied == 1 ? "province" : implied == 2 ? "city" : "county");
        return DRIP_EREGION;
    }
    char parent[7];
    codes_region_parent(g->code, parent);
    const char *given = g->parent ? g->parent : "";
    if (strcmp(given, parent) != 0) {
        WHY("parent: must be '%s' for code %s, got '%.8s'", parent, g->code, given);
        return DRIP_EREGION;
    }
    if (parent[0]) TRY(check_region(v, why, "parent", parent));
    if (!g->has_custom) {
        g->has_custom = 1;
        g->custom = 0;
    }
    return DRIP_OK;
}

int validate_calendar(const validate_ctx *v, Drip__CalendarYear *y, char *key, char *why)
{
    (void)v;
    key[0] = '\0';
    if (!y->has_year) return field_err(why, "year", DRIP_EMISSING, "required");
    if (y->year < 2000 || y->year > 2100) {
        WHY("year: %u is outside 2000..2100", y->year);
        return DRIP_EVALUE;
    }
    snprintf(key, VALIDATE_KEY_MAX, "%u", y->year);
    if (y->n_days > 400) return field_err(why, "days", DRIP_ETOOLARGE, "at most 400 days");
    for (size_t i = 0; i < y->n_days; i++) {
        Drip__CalendarDay *d = y->days[i];
        char field[32];
        snprintf(field, sizeof field, "days[%zu].date", i);
        int32_t day;
        TRY(check_date(why, field, d->date, &day));
        int yr = (int)strtol(d->date, NULL, 10);
        if (yr < (int)y->year - 1 || yr > (int)y->year) {
            WHY("%s: %s is not part of the %u schedule", field, d->date, y->year);
            return DRIP_EDATE;
        }
        snprintf(field, sizeof field, "days[%zu].kind", i);
        TRY(check_enum(why, field, &drip__day_kind__descriptor, d->has_kind, d->kind, 1));
        if (d->name) {
            snprintf(field, sizeof field, "days[%zu].name", i);
            TRY(check_text(why, field, d->name, 0, 32));
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(y->days[j]->date, d->date)) {
                WHY("days: %s listed twice", d->date);
                return DRIP_ECONFLICT;
            }
    }
    return DRIP_OK;
}

int validate_retirement(const validate_ctx *v, Drip__RecordKind kind, const Drip__Retirement *rt,
                        char *key, char *why)
{
    char r[CODES_WHY_MAX];
    key[0] = '\0';
    if (empty(rt->key)) return field_err(why, "key", DRIP_EMISSING, "required");
    if (strlen(rt->key) >= VALIDATE_KEY_MAX) return field_err(why, "key", DRIP_EVALUE, "too long");
    snprintf(key, VALIDATE_KEY_MAX, "%s", rt->key);
    if (rt->reason) TRY(check_text(why, "reason", rt->reason, 0, 256));
    switch (kind) {
    case DRIP__RECORD_KIND__KIND_TARGET: {
        char uscc[19] = {0};
        const char *slash = strchr(rt->key, '/');
        size_t n = slash ? (size_t)(slash - rt->key) : strlen(rt->key);
        if (n != 18) return field_err(why, "key", DRIP_EUSCC, "must start with an 18-character USCC");
        memcpy(uscc, rt->key, 18);
        if (codes_uscc_check(uscc, r) != DRIP_OK) return field_err(why, "key", DRIP_EUSCC, r);
        if (slash) return check_project_code(why, slash + 1);
        return DRIP_OK;
    }
    case DRIP__RECORD_KIND__KIND_INSPECTOR:
    case DRIP__RECORD_KIND__KIND_ITEM: {
        size_t n = strlen(v->sender);
        if (strncmp(rt->key, v->sender, n) != 0 || rt->key[n] != '/') {
            WHY("key: %.32s may only retire its own records (%.32s/...)", v->sender, v->sender);
            return DRIP_EFORBIDDEN;
        }
        return DRIP_OK;
    }
    case DRIP__RECORD_KIND__KIND_REGION:
        return codes_region_syntax(rt->key, r) == DRIP_OK ? DRIP_OK
                                                          : field_err(why, "key", DRIP_EREGION, r);
    case DRIP__RECORD_KIND__KIND_DEPARTMENT:
        return codes_dept_check(rt->key, r) == DRIP_OK ? DRIP_OK
                                                       : field_err(why, "key", DRIP_EVALUE, r);
    default:
        return field_err(why, "key", DRIP_EVALUE, "this kind cannot be retired");
    }
}
