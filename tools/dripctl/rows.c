#include "rows.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "status.h"
#include "vocab.h"

static const char *const region_cols[] = {"code", "name", "level", "parent", "custom"};
static const char *const department_cols[] = {"code",        "region",      "name",
                                               "active",      "draws_teams", "parent_dept",
                                               "neighbour_depts"};
static const char *const enterprise_cols[] = {
    "uscc",   "name",         "kind",  "region",       "industry",
    "ownership", "registered_capital", "established", "status", "credit_class",
    "tags",   "project_code", "registering_authority", "supervising_depts"};
static const char *const inspector_cols[] = {"id",   "name",           "region", "cert_no",
                                             "cert_expiry", "qualifications", "expert", "team",
                                             "active", "recusals"};
static const char *const item_cols[] = {"code",    "name",        "level",
                                        "legal_basis", "methods", "target_kind",
                                        "required_qualifications", "experts"};
static const char *const calendar_cols[] = {"date", "name", "kind"};

enum { F_REGION, F_DEPARTMENT, F_ENTERPRISE, F_INSPECTOR, F_ITEM, F_CALENDAR, F_COUNT };

static const rows_format formats[F_COUNT] = {
    [F_REGION] = {"region", "region", DRIP__RECORD_KIND__KIND_REGION, region_cols, 4, 5},
    [F_DEPARTMENT] = {"department", "department", DRIP__RECORD_KIND__KIND_DEPARTMENT,
                      department_cols, 3, 7},
    [F_ENTERPRISE] = {"enterprise", "target", DRIP__RECORD_KIND__KIND_TARGET, enterprise_cols, 11,
                      14},
    [F_INSPECTOR] = {"inspector", "inspector", DRIP__RECORD_KIND__KIND_INSPECTOR, inspector_cols,
                     10, 10},
    [F_ITEM] = {"item", "item", DRIP__RECORD_KIND__KIND_ITEM, item_cols, 7, 8},
    [F_CALENDAR] = {"calendar", "calendar", DRIP__RECORD_KIND__KIND_CALENDAR, calendar_cols, 3, 3},
};

/* The same headers as text, for messages and help (kept in step with the arrays above). */
static const char *const headers[F_COUNT] = {
    [F_REGION] = "code,name,level,parent[,custom]",
    [F_DEPARTMENT] = "code,region,name[,active,draws_teams,parent_dept,neighbour_depts]",
    [F_ENTERPRISE] = "uscc,name,kind,region,industry,ownership,registered_capital,established,"
                     "status,credit_class,tags[,project_code,registering_authority,"
                     "supervising_depts]",
    [F_INSPECTOR] = "id,name,region,cert_no,cert_expiry,qualifications,expert,team,active,recusals",
    [F_ITEM] =
        "code,name,level,legal_basis,methods,target_kind,required_qualifications[,experts]",
    [F_CALENDAR] = "date,name,kind",
};

const rows_format *rows_format_find(const char *word)
{
    if (!word) return NULL;
    if (strcmp(word, "target") == 0) return &formats[F_ENTERPRISE];
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(formats[i].word, word) == 0) return &formats[i];
    return NULL;
}

const rows_format *rows_format_of_kind(Drip__RecordKind kind)
{
    for (int i = 0; i < F_COUNT; i++)
        if (formats[i].record_kind == kind) return &formats[i];
    return NULL;
}

const char *rows_format_header(const rows_format *f)
{
    return headers[f - formats];
}

static void why_set(char why[ROWS_WHY_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_set(char why[ROWS_WHY_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, ROWS_WHY_MAX, fmt, ap);
    va_end(ap);
}

/* Trims ASCII blanks and U+3000 on both sides, in place. */
static char *trim(char *s)
{
    for (;;) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
            s++;
        } else if ((unsigned char)s[0] == 0xE3 && (unsigned char)s[1] == 0x80 &&
                   (unsigned char)s[2] == 0x80) {
            s += 3;
        } else {
            break;
        }
    }
    size_t n = strlen(s);
    for (;;) {
        if (n >= 1 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) {
            n--;
        } else if (n >= 3 && (unsigned char)s[n - 3] == 0xE3 && (unsigned char)s[n - 2] == 0x80 &&
                   (unsigned char)s[n - 1] == 0x80) {
            n -= 3;
        } else {
            break;
        }
    }
    s[n] = '\0';
    return s;
}

int rows_check_header(const rows_format *f, char **fields, int n, char why[ROWS_WHY_MAX])
{
    for (int i = 0; i < n; i++) fields[i] = trim(fields[i]);
    for (int i = 0; i < n && i < f->total; i++) {
        if (strcmp(fields[i], f->columns[i]) != 0) {
            why_set(why, "column %d is '%.64s', expected '%s'", i + 1, fields[i], f->columns[i]);
            return DRIP_EBADMSG;
        }
    }
    if (n < f->required) {
        why_set(why, "only %d columns, expected at least %d (missing '%s')", n, f->required,
                f->columns[n]);
        return DRIP_EBADMSG;
    }
    if (n > f->total) {
        why_set(why, "%d columns, at most %d expected (column %d is '%.64s')", n, f->total,
                f->total + 1, fields[f->total]);
        return DRIP_EBADMSG;
    }
    return DRIP_OK;
}

/* --- field decoders; each returns DRIP_OK or a status with `why` naming the column ------------ */

/* Empty -> NULL (absent), else an arena copy. */
static char *opt_str(arena *a, const char *s)
{
    return *s ? arena_strdup(a, s) : NULL;
}

static int is_sep(const char *p, size_t *len)
{
    if (*p == ';') {
        *len = 1;
        return 1;
    }
    /* full-width semicolon U+FF1B (EF BC 9B), common in Chinese spreadsheets */
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBC && (unsigned char)p[2] == 0x9B) {
        *len = 3;
        return 1;
    }
    return 0;
}

/* Splits a ';'-separated list into trimmed non-empty arena strings. Leaves `s` untouched, so
 * that a record can be encoded again (import re-encodes a row that overflows its batch). */
static char **split_list(arena *a, const char *s, size_t *count)
{
    size_t cap = 1;
    size_t seplen;
    for (const char *p = s; *p; p++)
        if (is_sep(p, &seplen)) cap++;
    char **out = arena_alloc(a, cap * sizeof(char *));
    size_t n = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        int end = *p == '\0';
        seplen = 0;
        if (end || is_sep(p, &seplen)) {
            char *t = trim(arena_strndup(a, start, (size_t)(p - start)));
            if (*t) out[n++] = t;
            if (end) break;
            p += seplen - 1;
            start = p + 1;
        }
    }
    *count = n;
    return n ? out : NULL;
}

/* 0|1 flag (also true|false, 是|否); empty leaves *has = 0. */
static int flag(const char *col, const char *s, int *has, int *val, char why[ROWS_WHY_MAX])
{
    *has = 0;
    if (!*s) return DRIP_OK;
    if (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcmp(s, "是") == 0) {
        *val = 1;
    } else if (strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "否") == 0) {
        *val = 0;
    } else {
        why_set(why, "%s: '%.64s' is not a 0|1 flag", col, s);
        return DRIP_EVALUE;
    }
    *has = 1;
    return DRIP_OK;
}

/* Whole number >= 0 (a count); empty leaves *has = 0. The upper bound is the registry's to judge. */
static int count(const char *col, const char *s, int *has, uint32_t *val, char why[ROWS_WHY_MAX])
{
    *has = 0;
    if (!*s) return DRIP_OK;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (p == s || *p || v > UINT32_MAX) {
        why_set(why, "%s: '%.64s' is not a whole number", col, s);
        return DRIP_EVALUE;
    }
    *val = (uint32_t)v;
    *has = 1;
    return DRIP_OK;
}

/* Enum word; empty leaves *has = 0 (the registry reports a missing field if it matters). */
static int enum_word(const char *col, vocab_table t, const char *s, int *has, int *val,
                     char why[ROWS_WHY_MAX])
{
    *has = 0;
    if (!*s) return DRIP_OK;
    if (vocab_parse(t, s, val) != DRIP_OK) {
        why_set(why, "%s: unknown %s '%.64s' (expected %s)", col, vocab_table_name(t), s,
                vocab_describe(t));
        return DRIP_EENUM;
    }
    *has = 1;
    return DRIP_OK;
}

/* Integer yuan. Spreadsheets write money as "5000000.00": a tail of '.' and zeros is accepted,
 * anything else (fractions, units like 万元, thousands separators) is not. Range is the server's. */
static int capital(const char *s, int *has, int64_t *val, char why[ROWS_WHY_MAX])
{
    *has = 0;
    if (!*s) return DRIP_OK;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    const char *digits = p;
    while (*p >= '0' && *p <= '9') p++;
    const char *end_digits = p;
    if (*p == '.') {
        p++;
        while (*p == '0') p++;
    }
    if (end_digits == digits || *p != '\0') {
        why_set(why, "registered_capital: '%.64s' is not an integer number of yuan", s);
        return DRIP_EVALUE;
    }
    char buf[32];
    size_t n = (size_t)(end_digits - s);
    if (n >= sizeof buf) {
        why_set(why, "registered_capital: '%.64s' is out of range", s);
        return DRIP_EVALUE;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE) {
        why_set(why, "registered_capital: '%.64s' is out of range", s);
        return DRIP_EVALUE;
    }
    *val = v;
    *has = 1;
    return DRIP_OK;
}

static char *join_key(arena *a, const char *x, const char *y)
{
    size_t nx = strlen(x), ny = strlen(y);
    char *k = arena_alloc(a, nx + ny + 2);
    memcpy(k, x, nx);
    k[nx] = '/';
    memcpy(k + nx + 1, y, ny + 1);
    return k;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != DRIP_OK) return rc_;                                                            \
    } while (0)

static int enc_region(arena *a, char **v, int n, rows_record *out, char why[ROWS_WHY_MAX])
{
    Drip__Region *r = arena_alloc(a, sizeof *r);
    drip__region__init(r);
    r->code = opt_str(a, v[0]);
    out->key = r->code;
    r->name = opt_str(a, v[1]);
    int has = 0, val = 0;
    TRY(enum_word("level", VOCAB_REGION_LEVEL, v[2], &has, &val, why));
    r->has_level = has;
    r->level = (Drip__RegionLevel)val;
    r->parent = opt_str(a, v[3]);
    if (n > 4) {
        TRY(flag("custom", v[4], &has, &val, why));
        r->has_custom = has;
        r->custom = val;
    }
    out->record = r;
    return DRIP_OK;
}

static int enc_department(arena *a, char **v, int n, rows_record *out, char why[ROWS_WHY_MAX])
{
    Drip__Department *d = arena_alloc(a, sizeof *d);
    drip__department__init(d);
    d->code = opt_str(a, v[0]);
    out->key = d->code;
    d->region = opt_str(a, v[1]);
    d->name = opt_str(a, v[2]);
    d->has_active = 1;
    d->active = 1; /* documented default */
    if (n > 3) {
        int has, val;
        TRY(flag("active", v[3], &has, &val, why));
        if (has) d->active = val;
    }
    if (n > 4) {
        int has, val;
        TRY(flag("draws_teams", v[4], &has, &val, why));
        d->has_draws_teams = has;
        d->draws_teams = val;
    }
    if (n > 5) d->parent_dept = opt_str(a, v[5]);
    if (n > 6) d->neighbour_depts = split_list(a, v[6], &d->n_neighbour_depts);
    out->record = d;
    return DRIP_OK;
}

static int enc_target(arena *a, char **v, int n, rows_record *out, char why[ROWS_WHY_MAX])
{
    Drip__Target *t = arena_alloc(a, sizeof *t);
    drip__target__init(t);
    t->uscc = opt_str(a, v[0]);
    t->project_code = n > 11 ? opt_str(a, v[11]) : NULL;
    if (t->uscc) out->key = t->project_code ? join_key(a, t->uscc, t->project_code) : t->uscc;
    t->name = opt_str(a, v[1]);
    int has = 0, val = 0;
    TRY(enum_word("kind", VOCAB_TARGET_KIND, v[2], &has, &val, why));
    t->has_kind = has;
    t->kind = (Drip__TargetKind)val;
    t->region = opt_str(a, v[3]);
    t->industry = opt_str(a, v[4]);
    TRY(enum_word("ownership", VOCAB_OWNERSHIP, v[5], &has, &val, why));
    t->has_ownership = has;
    t->ownership = (Drip__Ownership)val;
    int64_t cap = 0;
    TRY(capital(v[6], &has, &cap, why));
    t->has_registered_capital = has;
    t->registered_capital = cap;
    t->established = opt_str(a, v[7]);
    TRY(enum_word("status", VOCAB_TARGET_STATUS, v[8], &has, &val, why));
    t->has_status = has;
    t->status = (Drip__TargetStatus)val;
    /* empty = not yet classified = CREDIT_CLASS_UNSPECIFIED, the proto default: leave it absent */
    TRY(enum_word("credit_class", VOCAB_CREDIT_CLASS, v[9], &has, &val, why));
    t->has_credit_class = has && val != 0;
    t->credit_class = (Drip__CreditClass)val;
    t->tags = split_list(a, v[10], &t->n_tags);
    if (n > 12) t->registering_authority = opt_str(a, v[12]);
    if (n > 13) t->supervising_depts = split_list(a, v[13], &t->n_supervising_depts);
    out->record = t;
    return DRIP_OK;
}

static int enc_inspector(arena *a, const char *dept, char **v, rows_record *out,
                         char why[ROWS_WHY_MAX])
{
    Drip__Inspector *p = arena_alloc(a, sizeof *p);
    drip__inspector__init(p);
    p->dept = arena_strdup(a, dept);
    p->id = opt_str(a, v[0]);
    if (p->id) out->key = join_key(a, dept, p->id);
    p->name = opt_str(a, v[1]);
    p->region = opt_str(a, v[2]);
    p->cert_no = opt_str(a, v[3]);
    p->cert_expiry = opt_str(a, v[4]);
    p->qualifications = split_list(a, v[5], &p->n_qualifications);
    int has = 0, val = 0;
    TRY(flag("expert", v[6], &has, &val, why));
    p->has_expert = has;
    p->expert = val;
    p->team = opt_str(a, v[7]);
    TRY(flag("active", v[8], &has, &val, why));
    p->has_active = 1;
    p->active = has ? val : 1; /* empty active = 1 */
    p->recusals = split_list(a, v[9], &p->n_recusals);
    out->record = p;
    return DRIP_OK;
}

static int enc_item(arena *a, const char *dept, char **v, int n, rows_record *out,
                    char why[ROWS_WHY_MAX])
{
    Drip__Item *it = arena_alloc(a, sizeof *it);
    drip__item__init(it);
    it->dept = arena_strdup(a, dept);
    it->code = opt_str(a, v[0]);
    if (it->code) out->key = join_key(a, dept, it->code);
    it->name = opt_str(a, v[1]);
    int has = 0, val = 0;
    TRY(enum_word("level", VOCAB_ITEM_LEVEL, v[2], &has, &val, why));
    it->has_level = has;
    it->level = (Drip__ItemLevel)val;
    it->legal_basis = opt_str(a, v[3]);
    size_t nm = 0;
    char **words = split_list(a, v[4], &nm);
    if (nm) {
        it->methods = arena_alloc(a, nm * sizeof *it->methods);
        for (size_t i = 0; i < nm; i++) {
            if (vocab_parse(VOCAB_METHOD, words[i], &val) != DRIP_OK) {
                why_set(why, "methods: unknown Method '%.64s' (expected %s)", words[i],
                        vocab_describe(VOCAB_METHOD));
                return DRIP_EENUM;
            }
            it->methods[i] = (Drip__Method)val;
        }
        it->n_methods = nm;
    }
    TRY(enum_word("target_kind", VOCAB_TARGET_KIND, v[5], &has, &val, why));
    it->has_target_kind = has;
    it->target_kind = (Drip__TargetKind)val;
    it->required_qualifications = split_list(a, v[6], &it->n_required_qualifications);
    if (n > 7) {
        int has_experts = 0;
        uint32_t experts = 0;
        TRY(count("experts", v[7], &has_experts, &experts, why));
        it->has_experts = has_experts;
        it->experts = experts;
    }
    out->record = it;
    return DRIP_OK;
}

/* Schedule year of a calendar row: the date's year, except that 元旦 days dated in December belong
 * to the next year's schedule. 0 when the date has no readable YYYY-MM. Only what grouping needs:
 * the registry validates the date itself. */
static unsigned calendar_year_of(const char *date, const char *name)
{
    int ok = strlen(date) >= 7 && date[4] == '-';
    for (int i = 0; ok && i < 7; i++)
        if (i != 4 && (date[i] < '0' || date[i] > '9')) ok = 0;
    if (!ok) return 0;
    unsigned year = (unsigned)((date[0] - '0') * 1000 + (date[1] - '0') * 100 +
                               (date[2] - '0') * 10 + (date[3] - '0'));
    int month = (date[5] - '0') * 10 + (date[6] - '0');
    if (month == 12 && name && strstr(name, "元旦")) year++;
    return year;
}

static int enc_calendar_day(arena *a, char **v, rows_record *out, char why[ROWS_WHY_MAX])
{
    Drip__CalendarDay *d = arena_alloc(a, sizeof *d);
    drip__calendar_day__init(d);
    const char *s = v[0];
    out->key = opt_str(a, s);
    /* the year is known before anything else can fail, so that a bad row can hold back its year */
    out->year = calendar_year_of(s, v[1]);
    if (out->year == 0) {
        why_set(why, "date: '%.64s' is not a YYYY-MM-DD date", s);
        return DRIP_EDATE;
    }
    d->date = arena_strdup(a, s);
    d->name = opt_str(a, v[1]);
    int has = 0, val = 0;
    TRY(enum_word("kind", VOCAB_DAY_KIND, v[2], &has, &val, why));
    d->has_kind = has;
    d->kind = (Drip__DayKind)val;
    out->record = d;
    return DRIP_OK;
}

int rows_encode(const rows_format *f, arena *a, const char *dept, char **fields, int n, int ncols,
                rows_record *out, char why[ROWS_WHY_MAX])
{
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    for (int i = 0; i < n; i++) fields[i] = trim(fields[i]);
    if (n != ncols) {
        /* still name the record when its key column is there */
        if (n > 0 && *fields[0]) out->key = arena_strdup(a, fields[0]);
        if (f == &formats[F_CALENDAR] && n > 0) out->year = calendar_year_of(fields[0], n > 1 ? fields[1] : NULL);
        why_set(why, "%d fields, the header has %d", n, ncols);
        return DRIP_EBADMSG;
    }
    switch ((int)(f - formats)) {
    case F_REGION: return enc_region(a, fields, n, out, why);
    case F_DEPARTMENT: return enc_department(a, fields, n, out, why);
    case F_ENTERPRISE: return enc_target(a, fields, n, out, why);
    case F_INSPECTOR: return enc_inspector(a, dept, fields, out, why);
    case F_ITEM: return enc_item(a, dept, fields, n, out, why);
    case F_CALENDAR: return enc_calendar_day(a, fields, out, why);
    }
    why_set(why, "unknown format");
    return DRIP_EINTERNAL;
}

/* Bytes of a length-delimited field: 1-byte tag (fields 2..8) + varint length + payload. */
static size_t framed(size_t payload)
{
    size_t v = 1;
    for (size_t x = payload; x >= 0x80; x >>= 7) v++;
    return 1 + v + payload;
}

size_t rows_record_size(const rows_format *f, const void *record)
{
    switch ((int)(f - formats)) {
    case F_REGION: return framed(drip__region__get_packed_size(record));
    case F_DEPARTMENT: return framed(drip__department__get_packed_size(record));
    case F_ENTERPRISE: return framed(drip__target__get_packed_size(record));
    case F_INSPECTOR: return framed(drip__inspector__get_packed_size(record));
    case F_ITEM: return framed(drip__item__get_packed_size(record));
    case F_CALENDAR: return framed(drip__calendar_year__get_packed_size(record));
    }
    return 0;
}

void rows_batch_attach(const rows_format *f, Drip__RegistryBatch *b, void **records, size_t n)
{
    switch ((int)(f - formats)) {
    case F_REGION:
        b->regions = (Drip__Region **)records;
        b->n_regions = n;
        break;
    case F_DEPARTMENT:
        b->departments = (Drip__Department **)records;
        b->n_departments = n;
        break;
    case F_ENTERPRISE:
        b->targets = (Drip__Target **)records;
        b->n_targets = n;
        break;
    case F_INSPECTOR:
        b->inspectors = (Drip__Inspector **)records;
        b->n_inspectors = n;
        break;
    case F_ITEM:
        b->items = (Drip__Item **)records;
        b->n_items = n;
        break;
    case F_CALENDAR:
        b->calendar_years = (Drip__CalendarYear **)records;
        b->n_calendar_years = n;
        break;
    }
}
