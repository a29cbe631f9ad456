/* test_calendar.c — working days against the real schedule in data/cn-holidays.csv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "codes.h"
#include "status.h"

static int32_t D(const char *s)
{
    int32_t d;
    assert_int_equal(codes_date_parse(s, &d, NULL), DRIP_OK);
    return d;
}

static void assert_date(int32_t d, const char *want)
{
    char s[11];
    codes_date_format(d, s);
    assert_string_equal(s, want);
}

static int setup_real(void **state)
{
    const char *src = getenv("DRIP_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/cn-holidays.csv", src && *src ? src : ".");
    calendar *c = calendar_create();
    int n = calendar_load_csv(c, path);
    if (n != 286) {
        fprintf(stderr, "calendar_load_csv(%s) = %d\n", path, n);
        calendar_destroy(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    calendar_destroy(*state);
    return 0;
}

static void test_loaded_years(void **state)
{
    calendar *c = *state;
    for (int y = 2019; y <= 2026; y++) assert_true(calendar_has_year(c, y));
    /* 2018 has entries (2018-12-29..31 of the 2019 元旦 schedule): by the data contract it counts
     * as loaded. */
    assert_true(calendar_has_year(c, 2018));
    assert_false(calendar_has_year(c, 2017));
    assert_false(calendar_has_year(c, 2027));
    assert_false(calendar_has_year(c, 1800));
    assert_false(calendar_has_year(NULL, 2024));
}

/* National Day 2024: 10-01..10-07 off; Sunday 09-29 and Saturday 10-12 are make-up workdays. */
static void test_national_day_2024(void **state)
{
    calendar *c = *state;
    assert_int_equal(calendar_is_workday(c, D("2024-09-27")), 1); /* Fri */
    assert_int_equal(calendar_is_workday(c, D("2024-09-28")), 0); /* Sat */
    assert_int_equal(calendar_is_workday(c, D("2024-09-29")), 1); /* Sun, make-up */
    assert_int_equal(calendar_is_workday(c, D("2024-09-30")), 1);
    for (int32_t d = D("2024-10-01"); d <= D("2024-10-07"); d++)
        assert_int_equal(calendar_is_workday(c, d), 0);
    assert_int_equal(calendar_is_workday(c, D("2024-10-08")), 1);
    assert_int_equal(calendar_is_workday(c, D("2024-10-12")), 1); /* Sat, make-up */
    assert_int_equal(calendar_is_workday(c, D("2024-10-13")), 0); /* Sun */

    int32_t out;
    char why[128];
    assert_int_equal(calendar_add_workdays(c, D("2024-09-27"), 1, &out, why), DRIP_OK);
    assert_date(out, "2024-09-29");
    assert_int_equal(calendar_add_workdays(c, D("2024-09-27"), 2, &out, why), DRIP_OK);
    assert_date(out, "2024-09-30");
    assert_int_equal(calendar_add_workdays(c, D("2024-09-30"), 1, &out, why), DRIP_OK);
    assert_date(out, "2024-10-08");
    assert_int_equal(calendar_add_workdays(c, D("2024-09-27"), 5, &out, why), DRIP_OK);
    assert_date(out, "2024-10-10");
    /* starting inside the holiday */
    assert_int_equal(calendar_add_workdays(c, D("2024-10-03"), 1, &out, why), DRIP_OK);
    assert_date(out, "2024-10-08");
    assert_int_equal(calendar_add_workdays(c, D("2024-10-03"), 0, &out, why), DRIP_OK);
    assert_date(out, "2024-10-03");

    int n;
    assert_int_equal(calendar_workdays_between(c, D("2024-09-27"), D("2024-10-12"), &n, why),
                     DRIP_OK);
    assert_int_equal(n, 7); /* 09-29, 09-30, 10-08 .. 10-12 */
    assert_int_equal(calendar_workdays_between(c, D("2024-10-12"), D("2024-09-27"), &n, why),
                     DRIP_OK);
    assert_int_equal(n, -7);
    assert_int_equal(calendar_workdays_between(c, D("2024-10-01"), D("2024-10-07"), &n, why),
                     DRIP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(calendar_workdays_between(c, D("2024-10-01"), D("2024-10-01"), &n, why),
                     DRIP_OK);
    assert_int_equal(n, 0);
}

/* Spring Festival 2025: Sun 01-26 workday, 01-28..02-04 off, Sat 02-08 workday. */
static void test_spring_festival(void **state)
{
    calendar *c = *state;
    int32_t out;
    char why[128];
    assert_int_equal(calendar_is_workday(c, D("2025-01-26")), 1);
    assert_int_equal(calendar_is_workday(c, D("2025-01-27")), 1);
    assert_int_equal(calendar_is_workday(c, D("2025-01-28")), 0);
    assert_int_equal(calendar_is_workday(c, D("2025-02-04")), 0);
    assert_int_equal(calendar_is_workday(c, D("2025-02-08")), 1);
    assert_int_equal(calendar_add_workdays(c, D("2025-01-24"), 1, &out, why), DRIP_OK);
    assert_date(out, "2025-01-26");
    assert_int_equal(calendar_add_workdays(c, D("2025-01-27"), 1, &out, why), DRIP_OK);
    assert_date(out, "2025-02-05");
    /* 2026: Sat 02-14 workday, 02-15..02-23 off (nine days) */
    assert_int_equal(calendar_add_workdays(c, D("2026-02-13"), 1, &out, why), DRIP_OK);
    assert_date(out, "2026-02-14");
    assert_int_equal(calendar_add_workdays(c, D("2026-02-13"), 2, &out, why), DRIP_OK);
    assert_date(out, "2026-02-24");
    /* seed deadline: 5 working days to enter results after a check on 2026-02-12 */
    assert_int_equal(calendar_add_workdays(c, D("2026-02-12"), 5, &out, why), DRIP_OK);
    assert_date(out, "2026-02-26");
}

static void test_year_boundaries(void **state)
{
    calendar *c = *state;
    int32_t out;
    char why[128];
    /* 2026 元旦: 01-01..01-03 off, Sun 01-04 workday */
    assert_int_equal(calendar_add_workdays(c, D("2025-12-31"), 2, &out, why), DRIP_OK);
    assert_date(out, "2026-01-05");
    /* the 2019 schedule starts in 2018: Sat 2018-12-29 was a workday */
    assert_int_equal(calendar_add_workdays(c, D("2018-12-28"), 1, &out, why), DRIP_OK);
    assert_date(out, "2018-12-29");
    assert_int_equal(calendar_add_workdays(c, D("2018-12-29"), 1, &out, why), DRIP_OK);
    assert_date(out, "2019-01-02");
}

/* Independent cross-check: working days per year as counted from the CSV by a separate script. */
static void test_workdays_per_year(void **state)
{
    calendar *c = *state;
    static const int want[8] = {250, 249, 250, 249, 249, 251, 248, 248}; /* 2019..2026 */
    for (int y = 2019; y <= 2026; y++) {
        int n;
        char why[128];
        int32_t from = codes_date_make(y - 1, 12, 31), to = codes_date_make(y, 12, 31);
        assert_int_equal(calendar_workdays_between(c, from, to, &n, why), DRIP_OK);
        assert_int_equal(n, want[y - 2019]);
    }
}

static void test_missing_year(void **state)
{
    calendar *c = *state;
    int32_t out = 12345;
    int n = 99;
    char why[128];
    assert_int_equal(calendar_add_workdays(c, D("2026-12-31"), 1, &out, why), DRIP_ENOTFOUND);
    assert_string_equal(why, "calendar for 2027 not loaded");
    assert_int_equal(out, 12345); /* untouched */
    /* 2026-12-28 (Mon) + 3 = 12-31 stays inside 2026; + 4 needs 2027 */
    assert_int_equal(calendar_add_workdays(c, D("2026-12-28"), 3, &out, why), DRIP_OK);
    assert_date(out, "2026-12-31");
    assert_int_equal(calendar_add_workdays(c, D("2026-12-28"), 4, &out, why), DRIP_ENOTFOUND);
    assert_string_equal(why, "calendar for 2027 not loaded");
    assert_int_equal(calendar_workdays_between(c, D("2026-12-30"), D("2027-01-05"), &n, why),
                     DRIP_ENOTFOUND);
    assert_string_equal(why, "calendar for 2027 not loaded");
    assert_int_equal(n, 99);
    assert_int_equal(calendar_is_workday(c, D("2027-01-04")), DRIP_ENOTFOUND);
    assert_int_equal(calendar_is_workday(c, D("2017-06-01")), DRIP_ENOTFOUND);
    assert_int_equal(calendar_add_workdays(c, D("2017-06-01"), 1, &out, why), DRIP_ENOTFOUND);
    assert_string_equal(why, "calendar for 2017 not loaded");
    assert_int_equal(calendar_add_workdays(c, D("2024-06-03"), -1, &out, why), DRIP_EVALUE);
}

static void test_manual_calendar(void **state)
{
    (void)state;
    calendar *c = calendar_create();
    int32_t out;
    char why[128];
    assert_int_equal(calendar_is_workday(c, D("2030-01-07")), DRIP_ENOTFOUND);
    assert_int_equal(calendar_add_year(c, 2030), DRIP_OK);
    assert_int_equal(calendar_add_year(c, 1899), DRIP_EVALUE);
    assert_int_equal(calendar_is_workday(c, D("2030-01-07")), 1); /* Mon */
    assert_int_equal(calendar_is_workday(c, D("2030-01-05")), 0); /* Sat */
    assert_int_equal(calendar_add_day(c, D("2030-01-07"), 1), DRIP_OK);
    assert_int_equal(calendar_add_day(c, D("2030-01-05"), 0), DRIP_OK);
    assert_int_equal(calendar_add_day(c, D("2030-12-31"), 1), DRIP_OK); /* last day of year */
    assert_int_equal(calendar_is_workday(c, D("2030-01-07")), 0);
    assert_int_equal(calendar_is_workday(c, D("2030-01-05")), 1);
    assert_int_equal(calendar_is_workday(c, D("2030-12-31")), 0);
    assert_int_equal(calendar_add_workdays(c, D("2030-01-04"), 2, &out, why), DRIP_OK);
    assert_date(out, "2030-01-08"); /* Sat 05 (make-up), Mon 07 off, Tue 08 */
    calendar_destroy(c);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_calendar_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("date,name,kind\n2030-01-01,元旦,off\n2030-02-30,春节,off\n", f);
    fclose(f);
    calendar *c = calendar_create();
    assert_int_equal(calendar_load_csv(c, path), DRIP_EBADMSG);
    assert_false(calendar_has_year(c, 2030)); /* a failed load marks no year loaded */
    calendar_destroy(c);

    f = fopen(path, "w");
    fputs("date,name,kind\n2030-01-01,元旦,holiday\n", f);
    fclose(f);
    c = calendar_create();
    assert_int_equal(calendar_load_csv(c, path), DRIP_EBADMSG);
    calendar_destroy(c);

    f = fopen(path, "w");
    fputs("when,what\n", f);
    fclose(f);
    c = calendar_create();
    assert_int_equal(calendar_load_csv(c, path), DRIP_EBADMSG);
    calendar_destroy(c);

    f = fopen(path, "w");
    fputs("\xef\xbb\xbf" "date,name,kind\r\n2030-10-01,国庆节,off\r\n", f);
    fclose(f);
    c = calendar_create();
    assert_int_equal(calendar_load_csv(c, path), 1);
    assert_true(calendar_has_year(c, 2030));
    assert_int_equal(calendar_is_workday(c, D("2030-10-01")), 0);
    calendar_destroy(c);
    remove(path);

    c = calendar_create();
    assert_int_equal(calendar_load_csv(c, "/nonexistent/holidays.csv"), DRIP_EIO);
    calendar_destroy(c);
    calendar_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loaded_years, setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_national_day_2024, setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_spring_festival, setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_year_boundaries, setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_workdays_per_year, setup_real, teardown),
        cmocka_unit_test_setup_teardown(test_missing_year, setup_real, teardown),
        cmocka_unit_test(test_manual_calendar),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
