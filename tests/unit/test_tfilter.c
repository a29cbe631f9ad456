/* test_tfilter.c — TargetFilter -> SQL conditions: values only as parameters, numbering after the
 * caller's own parameters, a column map, and a reason naming the field for every bad filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status.h"
#include "tfilter.h"

static void test_empty_and_null(void **state)
{
    (void)state;
    tfilter_sql q;
    tfilter_sql_init(&q);
    char why[256] = "";
    assert_int_equal(tfilter_build(&q, NULL, &TFILTER_COLUMNS, why, sizeof why), DRIP_OK);
    Drip__TargetFilter f = DRIP__TARGET_FILTER__INIT;
    assert_int_equal(tfilter_build(&q, &f, &TFILTER_COLUMNS, why, sizeof why), DRIP_OK);
    assert_int_equal(q.np, 0);
    assert_true(q.sql.data == NULL || q.sql.len == 0);
    tfilter_sql_free(&q);
}

static void test_every_field(void **state)
{
    (void)state;
    char *regions[] = {"130000", "630102"};
    Drip__TargetKind kinds[] = {DRIP__TARGET_KIND__ENTERPRISE};
    Drip__TargetStatus statuses[] = {DRIP__TARGET_STATUS__EXISTING, DRIP__TARGET_STATUS__OPERATING};
    Drip__CreditClass classes[] = {DRIP__CREDIT_CLASS__CLASS_C};
    Drip__Ownership owns[] = {DRIP__OWNERSHIP__DOMESTIC};
    char *inds[] = {"C13", "F"};
    char *tags[] = {"特种设备", "x\"'); DROP TABLE target; --"};
    Drip__TargetFilter f = DRIP__TARGET_FILTER__INIT;
    f.n_regions = 2, f.regions = regions;
    f.n_kinds = 1, f.kinds = kinds;
    f.n_statuses = 2, f.statuses = statuses;
    f.n_credit_classes = 1, f.credit_classes = classes;
    f.n_ownerships = 1, f.ownerships = owns;
    f.has_capital_min = 1, f.capital_min = 5000000;
    f.has_capital_max = 1, f.capital_max = 10000000;
    f.established_before = "2022-12-31";
    f.established_after = "2000-01-01";
    f.n_industries = 2, f.industries = inds;
    f.n_tags_all = 2, f.tags_all = tags;
    f.owner = "130102SCJ";
    tfilter_sql q;
    tfilter_sql_init(&q);
    db_buf_puts(&q.sql, "SELECT 1 FROM t WHERE true");
    assert_int_equal(tfilter_param_copy(&q, "caller"), 1);
    tfilter_columns cols = TFILTER_COLUMNS;
    cols.region = "t.region_code";
    char why[256] = "";
    assert_int_equal(tfilter_build(&q, &f, &cols, why, sizeof why), DRIP_OK);
    assert_int_equal(q.np, 13);
    const char *expect =
        "SELECT 1 FROM t WHERE true AND t.region_code LIKE ANY( $2::text[]) AND kind = ANY( "
        "$3::smallint[]) AND status = ANY( $4::smallint[]) AND credit_class = ANY( $5::smallint[]) "
        "AND ownership = ANY( $6::smallint[]) AND registered_capital >= $7::bigint AND "
        "registered_capital <= $8::bigint AND established <= $9::date AND established >= "
        "$10::date AND industry LIKE ANY( $11::text[]) AND tags @> $12::text[] AND owner = $13";
    assert_string_equal(q.sql.data, expect);
    assert_string_equal(q.params[0], "caller");
    assert_string_equal(q.params[1], "{13%,630102}");
    assert_string_equal(q.params[3], "{1,2}");
    assert_string_equal(q.params[6], "5000000");
    assert_string_equal(q.params[10], "{\"C13%\",\"F%\"}");
    assert_string_equal(q.params[11], "{\"特种设备\",\"x\\\"'); DROP TABLE target; --\"}");
    assert_string_equal(q.params[12], "130102SCJ");
    assert_null(strstr(q.sql.data, "DROP")); /* values never in the SQL text */
    tfilter_sql_free(&q);
}

static void expect_error(Drip__TargetFilter *f, int status, const char *field)
{
    tfilter_sql q;
    tfilter_sql_init(&q);
    char why[256] = "";
    assert_int_equal(tfilter_build(&q, f, &TFILTER_COLUMNS, why, sizeof why), status);
    if (!strstr(why, field)) fail_msg("reason '%s' does not name '%s'", why, field);
    tfilter_sql_free(&q);
}

static void test_errors(void **state)
{
    (void)state;
    Drip__TargetFilter f;
    char *bad_region[] = {"13000"};
    drip__target_filter__init(&f);
    f.n_regions = 1, f.regions = bad_region;
    expect_error(&f, DRIP_EREGION, "filter.regions[0]");
    Drip__CreditClass cls[] = {(Drip__CreditClass)9};
    drip__target_filter__init(&f);
    f.n_credit_classes = 1, f.credit_classes = cls;
    expect_error(&f, DRIP_EENUM, "filter.credit_classes");
    drip__target_filter__init(&f);
    f.established_before = "2023-02-29";
    expect_error(&f, DRIP_EDATE, "filter.established_before");
    char *ind[] = {"Z1234"};
    drip__target_filter__init(&f);
    f.n_industries = 1, f.industries = ind;
    expect_error(&f, DRIP_EVALUE, "filter.industries[0]");
    drip__target_filter__init(&f);
    f.owner = "bad owner";
    expect_error(&f, DRIP_EVALUE, "filter.owner");
    char *many[TFILTER_MAX_LIST + 1];
    for (int i = 0; i <= TFILTER_MAX_LIST; i++)
        many[i] = "130000";
    drip__target_filter__init(&f);
    f.n_regions = TFILTER_MAX_LIST + 1, f.regions = many;
    expect_error(&f, DRIP_ETOOLARGE, "filter.regions");
    /* a column the table does not have */
    drip__target_filter__init(&f);
    f.owner = "130102SCJ";
    tfilter_columns cols = TFILTER_COLUMNS;
    cols.owner = NULL;
    tfilter_sql q;
    tfilter_sql_init(&q);
    char why[256];
    assert_int_equal(tfilter_build(&q, &f, &cols, why, sizeof why), DRIP_EVALUE);
    assert_non_null(strstr(why, "filter.owner: not supported"));
    tfilter_sql_free(&q);
}

static void test_region_pattern_and_param_limit(void **state)
{
    (void)state;
    char p[8];
    tfilter_region_pattern("130000", p);
    assert_string_equal(p, "13%");
    tfilter_region_pattern("130100", p);
    assert_string_equal(p, "1301%");
    tfilter_region_pattern("130102", p);
    assert_string_equal(p, "130102");
    tfilter_sql q;
    tfilter_sql_init(&q);
    for (int i = 1; i <= TFILTER_MAXP; i++)
        assert_int_equal(tfilter_param_copy(&q, "x"), i);
    assert_int_equal(tfilter_param_copy(&q, "x"), DRIP_ETOOLARGE);
    tfilter_sql_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_region_pattern_and_param_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
