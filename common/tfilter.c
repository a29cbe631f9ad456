#include "tfilter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "status.h"

const tfilter_columns TFILTER_COLUMNS = {
    .region = "region",
    .kind = "kind",
    .status = "status",
    .credit_class = "credit_class",
    .ownership = "ownership",
    .registered_capital = "registered_capital",
    .established = "established",
    .industry = "industry",
    .tags = "tags",
    .owner = "owner",
};

void tfilter_sql_init(tfilter_sql *q)
{
    memset(q, 0, sizeof *q);
    db_buf_init(&q->sql);
}

void tfilter_sql_free(tfilter_sql *q)
{
    for (int i = 0; i < q->np; i++)
        free(q->owned[i]);
    q->np = 0;
    db_buf_free(&q->sql);
}

int tfilter_param(tfilter_sql *q, char *value)
{
    if (!value) abort(); /* out of memory */
    if (q->np >= TFILTER_MAXP) {
        free(value);
        return DRIP_ETOOLARGE;
    }
    q->owned[q->np] = value;
    q->params[q->np] = value;
    return ++q->np;
}

int tfilter_param_copy(tfilter_sql *q, const char *value)
{
    return tfilter_param(q, strdup(value ? value : ""));
}

void tfilter_region_pattern(const char *code, char out[8])
{
    int level = codes_region_level(code);
    size_t keep = level == 1 ? 2 : level == 2 ? 4 : 6;
    memcpy(out, code, keep);
    out[keep] = level == 3 ? '\0' : '%';
    out[keep + 1] = '\0';
}

static int fail(char *why, size_t cap, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t cap, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (why && cap) vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return status;
}

static char *printf_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_dup(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return s;
}

/* Appends " AND <col> <op> $n<cast>" with a new parameter; DRIP_OK or DRIP_ETOOLARGE. */
static int cond(tfilter_sql *q, const char *col, const char *op, const char *cast, char *value,
                char *why, size_t cap)
{
    int p = tfilter_param(q, value);
    if (p < 0) return fail(why, cap, p, "filter: too many conditions");
    db_buf_printf(&q->sql, " AND %s %s $%d%s", col, op, p, cast);
    return DRIP_OK;
}

static int need_col(const char *col, const char *field, char *why, size_t cap)
{
    if (col) return DRIP_OK;
    return fail(why, cap, DRIP_EVALUE, "filter.%s: not supported here", field);
}

static int enum_list(tfilter_sql *q, const char *col, const char *field,
                     const ProtobufCEnumDescriptor *d, const int *v, size_t n, char *why,
                     size_t cap)
{
    if (!n) return DRIP_OK;
    int st = need_col(col, field, why, cap);
    if (st != DRIP_OK) return st;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0 || (v[i] != 0 && !protobuf_c_enum_descriptor_get_value(d, v[i])))
            return fail(why, cap, DRIP_EENUM, "filter.%s: unknown value %d", field, v[i]);
    }
    db_buf a;
    db_buf_init(&a);
    db_buf_puts(&a, "{");
    for (size_t i = 0; i < n; i++)
        db_buf_printf(&a, "%s%d", i ? "," : "", v[i]);
    db_buf_puts(&a, "}");
    return cond(q, col, "= ANY(", "::smallint[])", a.data, why, cap);
}

int tfilter_build(tfilter_sql *q, const Drip__TargetFilter *f, const tfilter_columns *cols,
                  char *why, size_t cap)
{
    char w[CODES_WHY_MAX];
    if (!f) return DRIP_OK;
    int st;
    if (f->n_regions) {
        if ((st = need_col(cols->region, "regions", why, cap)) != DRIP_OK) return st;
        if (f->n_regions > TFILTER_MAX_LIST)
            return fail(why, cap, DRIP_ETOOLARGE, "filter.regions: at most %d", TFILTER_MAX_LIST);
        db_buf a;
        db_buf_init(&a);
        db_buf_puts(&a, "{");
        for (size_t i = 0; i < f->n_regions; i++) {
            if (codes_region_syntax(f->regions[i], w) != DRIP_OK) {
                db_buf_free(&a);
                return fail(why, cap, DRIP_EREGION, "filter.regions[%zu]: %s", i, w);
            }
            char pat[8];
            tfilter_region_pattern(f->regions[i], pat);
            db_buf_printf(&a, "%s%s", i ? "," : "", pat);
        }
        db_buf_puts(&a, "}");
        if ((st = cond(q, cols->region, "LIKE ANY(", "::text[])", a.data, why, cap)) != DRIP_OK)
            return st;
    }
    if ((st = enum_list(q, cols->kind, "kinds", &drip__target_kind__descriptor, (int *)f->kinds,
                        f->n_kinds, why, cap)) != DRIP_OK ||
        (st = enum_list(q, cols->status, "statuses", &drip__target_status__descriptor,
                        (int *)f->statuses, f->n_statuses, why, cap)) != DRIP_OK ||
        (st = enum_list(q, cols->credit_class, "credit_classes", &drip__credit_class__descriptor,
                        (int *)f->credit_classes, f->n_credit_classes, why, cap)) != DRIP_OK ||
        (st = enum_list(q, cols->ownership, "ownerships", &drip__ownership__descriptor,
                        (int *)f->ownerships, f->n_ownerships, why, cap)) != DRIP_OK)
        return st;
    if (f->has_capital_min || f->has_capital_max) {
        if ((st = need_col(cols->registered_capital, "capital_min", why, cap)) != DRIP_OK)
            return st;
    }
    if (f->has_capital_min &&
        (st = cond(q, cols->registered_capital, ">=", "::bigint",
                   printf_dup("%lld", (long long)f->capital_min), why, cap)) != DRIP_OK)
        return st;
    if (f->has_capital_max &&
        (st = cond(q, cols->registered_capital, "<=", "::bigint",
                   printf_dup("%lld", (long long)f->capital_max), why, cap)) != DRIP_OK)
        return st;
    const char *dates[2] = {f->established_before, f->established_after};
    const char *ops[2] = {"<=", ">="};
    const char *names[2] = {"established_before", "established_after"};
    for (int i = 0; i < 2; i++) {
        if (!dates[i] || !*dates[i]) continue;
        if ((st = need_col(cols->established, names[i], why, cap)) != DRIP_OK) return st;
        if (codes_date_parse(dates[i], NULL, w) != DRIP_OK)
            return fail(why, cap, DRIP_EDATE, "filter.%s: %s", names[i], w);
        if ((st = cond(q, cols->established, ops[i], "::date", strdup(dates[i]), why, cap)) !=
            DRIP_OK)
            return st;
    }
    if (f->n_industries) {
        if ((st = need_col(cols->industry, "industries", why, cap)) != DRIP_OK) return st;
        db_buf a;
        db_buf_init(&a);
        db_buf_puts(&a, "{");
        for (size_t i = 0; i < f->n_industries; i++) {
            /* a section letter or a two-character prefix is accepted as it is */
            if (codes_industry_check(f->industries[i], w) != DRIP_OK &&
                !(strlen(f->industries[i]) == 2 || strlen(f->industries[i]) == 1)) {
                db_buf_free(&a);
                return fail(why, cap, DRIP_EVALUE, "filter.industries[%zu]: %s", i, w);
            }
            db_buf_puts(&a, i ? "," : "");
            char *pat = printf_dup("%s%%", f->industries[i]);
            db_buf_array_elem(&a, pat);
            free(pat);
        }
        db_buf_puts(&a, "}");
        if ((st = cond(q, cols->industry, "LIKE ANY(", "::text[])", a.data, why, cap)) != DRIP_OK)
            return st;
    }
    if (f->n_tags_all) {
        if ((st = need_col(cols->tags, "tags_all", why, cap)) != DRIP_OK) return st;
        db_buf a;
        db_buf_init(&a);
        db_buf_text_array(&a, (const char *const *)f->tags_all, f->n_tags_all);
        if ((st = cond(q, cols->tags, "@>", "::text[]", a.data, why, cap)) != DRIP_OK) return st;
    }
    if (f->owner && *f->owner) {
        if ((st = need_col(cols->owner, "owner", why, cap)) != DRIP_OK) return st;
        if (codes_dept_check(f->owner, w) != DRIP_OK)
            return fail(why, cap, DRIP_EVALUE, "filter.owner: %s", w);
        if ((st = cond(q, cols->owner, "=", "", strdup(f->owner), why, cap)) != DRIP_OK) return st;
    }
    return DRIP_OK;
}
