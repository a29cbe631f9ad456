/* tfilter.h — SQL conditions from a drip.TargetFilter (proto/drip/registry.proto), for any table
 * that keeps targets in typed columns (the registry's directory, the sampler's projection).
 *
 * Values always travel as query parameters ($n): nothing a sender writes is ever pasted into SQL
 * text. Column names come from the caller (a tfilter_columns map), never from the filter.
 *
 *   tfilter_sql q;
 *   tfilter_sql_init(&q);
 *   db_buf_puts(&q.sql, "SELECT count(*) FROM target WHERE NOT retired");
 *   int p = tfilter_param_copy(&q, "130102");          // the caller's own parameters first
 *   ...
 *   st = tfilter_build(&q, filter, &TFILTER_COLUMNS, why, sizeof why);  // appends " AND ..."
 *   PQexecParams(conn, q.sql.data, q.np, NULL, q.params, NULL, NULL, 0);
 *   tfilter_sql_free(&q);
 *
 * Semantics (the registry's count and the sampler's draw agree on them): all given conditions hold
 * (AND); a repeated field matches any of its values (OR); regions are subtrees (130000 = all of
 * Hebei); industries are GB/T 4754 prefixes; capital and established bounds are inclusive;
 * tags_all needs every tag. */
#ifndef DRIP_TFILTER_H
#define DRIP_TFILTER_H

#include <stddef.h>

#include "db.h"
#include "drip/registry.pb-c.h"

#define TFILTER_MAXP 32     /* parameters of one statement (caller's + filter's) */
#define TFILTER_MAX_LIST 64 /* values of one repeated region field */

/* A statement under construction and its parameters (owned strings). */
typedef struct {
    db_buf sql;
    const char *params[TFILTER_MAXP];
    char *owned[TFILTER_MAXP];
    int np;
} tfilter_sql;

/* Column names of the target table. A NULL column makes a filter that uses that field fail with
 * DRIP_EVALUE ("not supported"). Types: region, industry, owner text; kind, status, credit_class,
 * ownership smallint (the proto enum values); registered_capital bigint; established date;
 * tags text[]. */
typedef struct {
    const char *region;
    const char *kind;
    const char *status;
    const char *credit_class;
    const char *ownership;
    const char *registered_capital;
    const char *established;
    const char *industry;
    const char *tags;
    const char *owner;
} tfilter_columns;

/* The column names both the registry's and the sampler's target tables use. */
extern const tfilter_columns TFILTER_COLUMNS;

void tfilter_sql_init(tfilter_sql *q);
void tfilter_sql_free(tfilter_sql *q);
/* Adds a parameter, taking ownership of the malloc'd `value` (freed even on failure).
 * Returns its number (1..TFILTER_MAXP) or DRIP_ETOOLARGE. */
int tfilter_param(tfilter_sql *q, char *value);
/* Same with a copy of `value`. */
int tfilter_param_copy(tfilter_sql *q, const char *value);

/* LIKE pattern of a region subtree: "13%" for 130000, "1301%" for 130100, "130102" for a county.
 * `code` must have valid syntax (codes_region_syntax). */
void tfilter_region_pattern(const char *code, char out[8]);

/* Checks f and appends " AND <condition>" for each of its conditions to q->sql, with parameters
 * numbered after those already in q. f == NULL adds nothing. Returns DRIP_OK, or DRIP_EREGION /
 * DRIP_EENUM / DRIP_EDATE / DRIP_EVALUE / DRIP_ETOOLARGE with a reason naming the field
 * ("filter.regions[1]: ...") in why; q is then unusable (free it). */
int tfilter_build(tfilter_sql *q, const Drip__TargetFilter *f, const tfilter_columns *cols,
                  char *why, size_t cap);

#endif
