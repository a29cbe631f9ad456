/* test_codes.c — USCC, region codes and table, dates, dept/ident/text/industry validators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "codes.h"
#include "status.h"

static const char ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/* Real codes of well-known companies (public registration data). */
static const char *REAL_USCC[] = {
    "91330100716105852F", /* 阿里巴巴（中国）有限公司 */
    "914403001922038216", /* 华为技术有限公司 */
    "91440300708461136T", /* 深圳市腾讯计算机系统有限公司 */
    "91110000802100433B", /* 北京百度网讯科技有限公司 */
    "91110108551385082Q", /* 小米科技有限责任公司 */
};

static void test_uscc_real_codes(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    for (size_t i = 0; i < sizeof REAL_USCC / sizeof *REAL_USCC; i++) {
        assert_int_equal(codes_uscc_check(REAL_USCC[i], why), DRIP_OK);
        assert_string_equal(why, "");
        assert_int_equal(codes_uscc_check_char(REAL_USCC[i]), REAL_USCC[i][17]);
    }
    assert_int_equal(codes_uscc_check(REAL_USCC[0], NULL), DRIP_OK);
}

/* Every single-character substitution at every position must be rejected: the weights are
 * non-zero mod 31 (a prime), so any change of one value changes the checksum. */
static void test_uscc_every_mutation_fails(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    const char *good = "91330100716105852F";
    for (int pos = 0; pos < 18; pos++) {
        for (const char *a = ALPHABET; *a; a++) {
            if (*a == good[pos]) continue;
            char code[19];
            memcpy(code, good, 19);
            code[pos] = *a;
            assert_int_equal(codes_uscc_check(code, why), DRIP_EUSCC);
            if (pos == 17) {
                char want[CODES_WHY_MAX];
                snprintf(want, sizeof want, "check digit is '%c', expected 'F'", *a);
                assert_string_equal(why, want);
            } else {
                assert_non_null(strstr(why, "check digit is 'F', expected"));
            }
        }
    }
}

static void test_uscc_rejections(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    assert_int_equal(codes_uscc_check("", why), DRIP_EUSCC);
    assert_string_equal(why, "empty USCC");
    assert_int_equal(codes_uscc_check(NULL, why), DRIP_EUSCC);
    assert_string_equal(why, "empty USCC");

    assert_int_equal(codes_uscc_check("91330100716105852", why), DRIP_EUSCC);
    assert_string_equal(why, "wrong length: 17 characters, expected 18");
    assert_int_equal(codes_uscc_check("91330100716105852F0", why), DRIP_EUSCC);
    assert_string_equal(why, "wrong length: 19 characters, expected 18");

    /* letters outside the alphabet, with 1-based positions */
    assert_int_equal(codes_uscc_check("91I30100716105852F", why), DRIP_EUSCC);
    assert_string_equal(why, "bad character 'I' at position 3 (I, O, Z, S, V are not used)");
    const char *unused = "IOZSV";
    for (const char *u = unused; *u; u++) {
        char code[19];
        memcpy(code, "91330100716105852F", 19);
        code[10] = *u;
        assert_int_equal(codes_uscc_check(code, why), DRIP_EUSCC);
        assert_non_null(strstr(why, "at position 11"));
    }
    assert_int_equal(codes_uscc_check("91330100716105852f", why), DRIP_EUSCC);
    assert_string_equal(why, "bad character 'f' at position 18 (letters must be upper-case)");
    assert_int_equal(codes_uscc_check("9133010071610585-F", why), DRIP_EUSCC);
    assert_string_equal(why, "bad character '-' at position 17");
    assert_int_equal(codes_uscc_check("91330100 16105852F", why), DRIP_EUSCC);
    assert_string_equal(why, "bad character byte 0x20 at position 9");
    /* a full-width digit: the bad byte is reported rather than a confusing length */
    assert_int_equal(codes_uscc_check("9133010071610585\xef\xbc\x92" "F", why), DRIP_EUSCC);
    assert_string_equal(why, "bad character byte 0xEF at position 17");

    assert_int_equal(codes_uscc_check_char("9133010071610585"), 0); /* too short */
    assert_int_equal(codes_uscc_check_char("91I301007161058520"), 0);
    assert_int_equal(codes_uscc_check_char(NULL), 0);
}

static void test_uscc_check_char_zero_case(void **state)
{
    (void)state;
    /* Find a prefix whose checksum is 0 mod 31: the check character must then be '0', not 31. */
    char code[19] = "91330100000000000";
    int found = 0;
    for (int v = 0; v < 31 && !found; v++) {
        code[16] = ALPHABET[v];
        int sum = 0;
        static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
        for (int i = 0; i < 17; i++) sum += (int)(strchr(ALPHABET, code[i]) - ALPHABET) * w[i];
        if (sum % 31 == 0) found = 1;
    }
    assert_true(found);
    assert_int_equal(codes_uscc_check_char(code), '0');
    code[17] = '0';
    code[18] = '\0';
    assert_int_equal(codes_uscc_check(code, NULL), DRIP_OK);
}

static void test_region_syntax(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    assert_int_equal(codes_region_syntax("130000", why), DRIP_OK);
    assert_int_equal(codes_region_syntax("130100", why), DRIP_OK);
    assert_int_equal(codes_region_syntax("130102", why), DRIP_OK);
    assert_int_equal(codes_region_syntax("", why), DRIP_EREGION);
    assert_string_equal(why, "empty region code");
    assert_int_equal(codes_region_syntax(NULL, why), DRIP_EREGION);
    assert_int_equal(codes_region_syntax("13010", why), DRIP_EREGION);
    assert_string_equal(why, "region code has 5 characters, expected 6 digits");
    assert_int_equal(codes_region_syntax("1301020", why), DRIP_EREGION);
    assert_string_equal(why, "region code has 7 characters, expected 6 digits");
    assert_int_equal(codes_region_syntax("13A102", why), DRIP_EREGION);
    assert_string_equal(why, "region code has 'A' at position 3, expected a digit");
    assert_int_equal(codes_region_syntax("000000", why), DRIP_EREGION);
    assert_string_equal(why, "region code 000000 has province part 00");
    assert_int_equal(codes_region_syntax("001234", why), DRIP_EREGION);
    assert_int_equal(codes_region_syntax("130001", why), DRIP_EREGION);
    assert_string_equal(why, "region code 130001 has city part 00 but county part 01");
}

static void test_region_level_parent_tokens_within(void **state)
{
    (void)state;
    char out[9];
    assert_int_equal(codes_region_level("130000"), 1);
    assert_int_equal(codes_region_level("130100"), 2);
    assert_int_equal(codes_region_level("130102"), 3);
    assert_int_equal(codes_region_level("130001"), 0);
    assert_int_equal(codes_region_level("x"), 0);

    codes_region_parent("130102", out);
    assert_string_equal(out, "130100");
    codes_region_parent("130100", out);
    assert_string_equal(out, "130000");
    codes_region_parent("130000", out);
    assert_string_equal(out, "");
    codes_region_parent("bad", out);
    assert_string_equal(out, "");

    codes_region_tokens("130102", out);
    assert_string_equal(out, "13.01.02");
    codes_region_tokens("630000", out);
    assert_string_equal(out, "63.00.00");
    codes_region_tokens("1", out);
    assert_string_equal(out, "");

    assert_true(codes_region_within("130102", "130000"));
    assert_true(codes_region_within("130102", "130100"));
    assert_true(codes_region_within("130102", "130102"));
    assert_true(codes_region_within("130100", "130000"));
    assert_true(codes_region_within("130000", "130000"));
    assert_false(codes_region_within("130000", "130100"));
    assert_false(codes_region_within("130202", "130100"));
    assert_false(codes_region_within("630102", "130000"));
    assert_false(codes_region_within("130104", "130102"));
}

static void data_path(char *out, size_t cap, const char *file)
{
    const char *src = getenv("DRIP_SOURCE_DIR");
    snprintf(out, cap, "%s/data/%s", src && *src ? src : ".", file);
}

static void test_region_table_real_data(void **state)
{
    (void)state;
    char path[1024], why[CODES_WHY_MAX];
    data_path(path, sizeof path, "regions-gbt2260.csv");
    codes_regions *t = codes_regions_create();
    int n = codes_regions_load(t, path);
    assert_int_equal(n, 3348);
    /* data/README.md: the self-parented duplicates of 东莞市, 中山市, 儋州市 were removed */
    assert_int_equal(codes_regions_count(t), 3348);

    assert_string_equal(codes_regions_name(t, "130000"), "河北省");
    assert_string_equal(codes_regions_name(t, "130100"), "石家庄市");
    assert_string_equal(codes_regions_name(t, "130102"), "长安区");
    assert_string_equal(codes_regions_name(t, "630000"), "青海省");
    assert_string_equal(codes_regions_name(t, "130171"), "石家庄高新技术产业开发区");
    assert_null(codes_regions_name(t, "139999"));
    assert_null(codes_regions_name(t, "13"));
    assert_null(codes_regions_name(t, NULL));

    codes_region_info info;
    assert_int_equal(codes_regions_get(t, "441900", &info), DRIP_OK);
    assert_string_equal(info.name, "东莞市");
    assert_int_equal(info.level, 2);
    assert_string_equal(info.parent, "440000");
    /* a city without districts; its self-parented duplicate row was removed (data/README.md) */
    assert_int_equal(info.county_level, 0);
    assert_int_equal(codes_regions_get(t, "130102", &info), DRIP_OK);
    assert_int_equal(info.level, 3);
    assert_string_equal(info.parent, "130100");
    assert_int_equal(info.county_level, 1);
    assert_int_equal(codes_regions_get(t, "130100", &info), DRIP_OK);
    assert_int_equal(info.county_level, 0);
    assert_int_equal(codes_regions_get(t, "419001", &info), DRIP_OK); /* 济源市 */
    assert_string_equal(info.parent, "419000");
    assert_int_equal(codes_regions_get(t, "139999", &info), DRIP_ENOTFOUND);

    /* ordered iteration; every table parent exists and contains its child */
    const char *prev = "";
    int provinces = 0;
    for (size_t i = 0; i < codes_regions_count(t); i++) {
        assert_int_equal(codes_regions_at(t, i, &info), DRIP_OK);
        assert_true(strcmp(prev, info.code) < 0);
        prev = info.code;
        if (info.level == 1) {
            provinces++;
            assert_string_equal(info.parent, "");
        } else {
            assert_non_null(codes_regions_name(t, info.parent));
            assert_true(codes_region_within(info.code, info.parent));
        }
    }
    assert_int_equal(provinces, 31);
    assert_int_equal(codes_regions_at(t, codes_regions_count(t), &info), DRIP_ENOTFOUND);

    assert_int_equal(codes_region_check(t, "130102", why), DRIP_OK);
    assert_int_equal(codes_region_check(t, "139999", why), DRIP_EREGION);
    assert_string_equal(why, "region 139999 is not in the region table");
    assert_int_equal(codes_region_check(t, "13010x", why), DRIP_EREGION);
    assert_string_equal(why, "region code has 'x' at position 6, expected a digit");

    /* operators add zones without a statistical code under their city; put replaces */
    assert_int_equal(codes_regions_put(t, "130199", "石家庄综合保税区", 3, "130100"), DRIP_OK);
    assert_string_equal(codes_regions_name(t, "130199"), "石家庄综合保税区");
    assert_int_equal(codes_regions_put(t, "130199", "石家庄综保区", 3, "130100"), DRIP_OK);
    assert_string_equal(codes_regions_name(t, "130199"), "石家庄综保区");
    assert_int_equal(codes_regions_count(t), 3349);
    assert_int_equal(codes_regions_put(t, "130198", "x", 3, "140100"), DRIP_EREGION);
    assert_int_equal(codes_regions_put(t, "130198", "x", 3, ""), DRIP_EREGION);
    assert_int_equal(codes_regions_put(t, "130198", "x", 4, "130100"), DRIP_EVALUE);
    assert_int_equal(codes_regions_put(t, "130198", "", 3, "130100"), DRIP_EVALUE);
    assert_int_equal(codes_regions_put(t, "13019", "x", 3, "130100"), DRIP_EREGION);
    assert_int_equal(codes_regions_put(t, "990000", "x", 1, "130000"), DRIP_EREGION);
    codes_regions_destroy(t);

    t = codes_regions_create();
    assert_int_equal(codes_regions_load(t, "/nonexistent/regions.csv"), DRIP_EIO);
    assert_int_equal(codes_regions_count(t), 0);
    codes_regions_destroy(t);
    codes_regions_destroy(NULL);
}

static void test_region_table_bad_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_codes_regions_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("code,name,level,parent\n130000,河北省,province,\n130100,石家庄市,town,130000\n", f);
    fclose(f);
    codes_regions *t = codes_regions_create();
    assert_int_equal(codes_regions_load(t, path), DRIP_EBADMSG);
    codes_regions_destroy(t);

    f = fopen(path, "w");
    fputs("id,name\n1,x\n", f);
    fclose(f);
    t = codes_regions_create();
    assert_int_equal(codes_regions_load(t, path), DRIP_EBADMSG);
    codes_regions_destroy(t);
    remove(path);
}

static void test_date_parse(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    int32_t d = -1;
    assert_int_equal(codes_date_parse("1970-01-01", &d, why), DRIP_OK);
    assert_int_equal(d, 0);
    assert_int_equal(codes_date_parse("2000-03-01", &d, why), DRIP_OK);
    assert_int_equal(d, 11017);
    assert_int_equal(codes_date_parse("1900-01-01", &d, why), DRIP_OK);
    assert_int_equal(d, -25567);
    assert_int_equal(codes_date_parse("2100-12-31", &d, why), DRIP_OK);
    assert_int_equal(d, 47846);
    assert_int_equal(codes_date_parse("2024-02-29", NULL, why), DRIP_OK);

    /* leap years: divisible by 4, except centuries, except every 400 years */
    assert_int_equal(codes_date_parse("2000-02-29", NULL, why), DRIP_OK);
    assert_int_equal(codes_date_parse("1996-02-29", NULL, why), DRIP_OK);
    assert_int_equal(codes_date_parse("2023-02-29", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "day 29 out of range for 2023-02 (28 days)");
    assert_int_equal(codes_date_parse("1900-02-29", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "day 29 out of range for 1900-02 (28 days)");
    assert_int_equal(codes_date_parse("2100-02-29", NULL, why), DRIP_EDATE);
    assert_int_equal(codes_date_parse("2023-02-30", NULL, why), DRIP_EDATE);
    assert_int_equal(codes_date_parse("2024-02-30", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "day 30 out of range for 2024-02 (29 days)");
    assert_int_equal(codes_date_parse("2023-04-31", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "day 31 out of range for 2023-04 (30 days)");
    assert_int_equal(codes_date_parse("2023-01-00", NULL, why), DRIP_EDATE);
    assert_int_equal(codes_date_parse("2023-13-01", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "month 13 out of range 01..12");
    assert_int_equal(codes_date_parse("2023-00-01", NULL, why), DRIP_EDATE);
    assert_int_equal(codes_date_parse("1899-12-31", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "year 1899 out of range 1900..2100");
    assert_int_equal(codes_date_parse("2101-01-01", NULL, why), DRIP_EDATE);

    const char *shapes[] = {"2023-2-03", "2023/02/03", "20230203", "2023-02-03 ", " 2023-02-03",
                            "2023-02-0x", "+023-02-03", "2023-02-03T00:00", "２０２３-02-03"};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        assert_int_equal(codes_date_parse(shapes[i], &d, why), DRIP_EDATE);
        assert_non_null(strstr(why, "is not in the form YYYY-MM-DD"));
    }
    assert_int_equal(codes_date_parse("", NULL, why), DRIP_EDATE);
    assert_string_equal(why, "empty date");
    assert_int_equal(codes_date_parse(NULL, NULL, why), DRIP_EDATE);
}

/* Every day of the supported range formats and parses back to itself, in order. */
static void test_date_round_trip(void **state)
{
    (void)state;
    int32_t first, last, back;
    char s[11];
    assert_int_equal(codes_date_parse("1900-01-01", &first, NULL), DRIP_OK);
    assert_int_equal(codes_date_parse("2100-12-31", &last, NULL), DRIP_OK);
    int leap_days = 0;
    for (int32_t d = first; d <= last; d++) {
        codes_date_format(d, s);
        assert_int_equal(codes_date_parse(s, &back, NULL), DRIP_OK);
        assert_int_equal(back, d);
        if (memcmp(s + 4, "-02-29", 6) == 0) leap_days++;
        int y, m, dd;
        codes_date_civil(d, &y, &m, &dd);
        assert_int_equal(codes_date_make(y, m, dd), d);
    }
    /* 1904..2096 every 4 years (49) + 2000 is already counted; 1900 and 2100 are not leap */
    assert_int_equal(leap_days, 49);
    assert_int_equal(last - first + 1, 201 * 365 + 49);
}

static void test_date_weekday_today(void **state)
{
    (void)state;
    int32_t d;
    assert_int_equal(codes_date_weekday(0), 3); /* 1970-01-01 Thursday */
    codes_date_parse("2024-09-27", &d, NULL);
    assert_int_equal(codes_date_weekday(d), 4); /* Friday */
    codes_date_parse("2024-09-29", &d, NULL);
    assert_int_equal(codes_date_weekday(d), 6); /* Sunday */
    codes_date_parse("1900-01-01", &d, NULL);
    assert_int_equal(codes_date_weekday(d), 0); /* Monday */
    codes_date_parse("2025-01-01", &d, NULL);
    assert_int_equal(codes_date_weekday(d), 2); /* Wednesday */

    /* today in UTC+8: between "UTC today" and "UTC today + 1" */
    int32_t t = codes_date_today_cst();
    int32_t utc = (int32_t)(time(NULL) / 86400);
    assert_true(t == utc || t == utc + 1);
    char s[11];
    codes_date_format(t, s);
    assert_int_equal(codes_date_parse(s, NULL, NULL), DRIP_OK);
}

static void test_dept_ident(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    assert_int_equal(codes_dept_check("SCJG", why), DRIP_OK);
    assert_int_equal(codes_dept_check("SW_130100_2", why), DRIP_OK);
    assert_int_equal(codes_dept_check("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", why), DRIP_OK);
    assert_int_equal(codes_dept_check("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", why), DRIP_EVALUE);
    assert_string_equal(why, "department code has 33 characters, max 32");
    assert_int_equal(codes_dept_check("scjg", why), DRIP_EVALUE);
    assert_string_equal(why, "department code has 's' at position 1, allowed: A-Z 0-9 _");
    assert_int_equal(codes_dept_check("SC-JG", why), DRIP_EVALUE);
    assert_int_equal(codes_dept_check("", why), DRIP_EVALUE);
    assert_string_equal(why, "empty department code");
    assert_int_equal(codes_dept_check(NULL, why), DRIP_EVALUE);

    assert_int_equal(codes_ident_check("SCJG-000123", 32, why), DRIP_OK);
    assert_int_equal(codes_ident_check("a.b_c-D9", 8, why), DRIP_OK);
    assert_int_equal(codes_ident_check("a.b_c-D9", 7, why), DRIP_EVALUE);
    assert_string_equal(why, "identifier has 8 characters, max 7");
    assert_int_equal(codes_ident_check("a b", 32, why), DRIP_EVALUE);
    assert_string_equal(why, "identifier has byte 0x20 at position 2, allowed: A-Z a-z 0-9 _ . -");
    assert_int_equal(codes_ident_check("联202301", 32, why), DRIP_EVALUE);
    assert_int_equal(codes_ident_check("", 32, why), DRIP_EVALUE);
    assert_string_equal(why, "empty identifier");
}

static void test_text(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    assert_int_equal(codes_text_check("中文", 1, 2, why), DRIP_OK);
    assert_int_equal(codes_text_check("中文名", 1, 2, why), DRIP_EVALUE);
    assert_string_equal(why, "too long: 3 characters, max 2");
    assert_int_equal(codes_text_check("ab", 3, 10, why), DRIP_EVALUE);
    assert_string_equal(why, "too short: 2 characters, min 3");
    assert_int_equal(codes_text_check("", 1, 10, why), DRIP_EMISSING);
    assert_string_equal(why, "empty text");
    assert_int_equal(codes_text_check(NULL, 1, 10, why), DRIP_EMISSING);
    assert_int_equal(codes_text_check("", 0, 10, why), DRIP_OK);
    assert_int_equal(codes_text_check("𠀀x", 2, 2, why), DRIP_OK); /* 4-byte char counts once */
    assert_int_equal(codes_text_check("long enough", 1, 0, why), DRIP_OK);

    /* malformed UTF-8 */
    assert_int_equal(codes_text_check("a\xc0\xaf", 1, 10, why), DRIP_EVALUE); /* overlong '/' */
    assert_string_equal(why, "invalid UTF-8 (byte 0xC0) at byte 2");
    assert_int_equal(codes_text_check("\xe0\x80\xaf", 1, 10, why), DRIP_EVALUE); /* overlong */
    assert_int_equal(codes_text_check("\xed\xa0\x80", 1, 10, why), DRIP_EVALUE); /* surrogate */
    assert_int_equal(codes_text_check("\xf4\x90\x80\x80", 1, 10, why), DRIP_EVALUE); /* > U+10FFFF */
    assert_int_equal(codes_text_check("\xe4\xb8", 1, 10, why), DRIP_EVALUE); /* truncated */
    assert_int_equal(codes_text_check("\xe4\xb8x", 1, 10, why), DRIP_EVALUE);
    assert_int_equal(codes_text_check("\x80", 1, 10, why), DRIP_EVALUE); /* lone continuation */
    assert_int_equal(codes_text_check("\xd6\xd0\xce\xc4", 1, 10, why), DRIP_EVALUE); /* GBK 中文 */
    assert_int_equal(codes_text_check("\xff", 1, 10, why), DRIP_EVALUE);

    /* control characters */
    assert_int_equal(codes_text_check("a\tb", 1, 10, why), DRIP_EVALUE);
    assert_string_equal(why, "control character U+0009 at character 2");
    assert_int_equal(codes_text_check("中\n", 1, 10, why), DRIP_EVALUE);
    assert_string_equal(why, "control character U+000A at character 2");
    assert_int_equal(codes_text_check("x\x7f", 1, 10, why), DRIP_EVALUE);
    assert_int_equal(codes_text_check("x\xc2\x85", 1, 10, why), DRIP_EVALUE); /* U+0085 NEL */
    assert_string_equal(why, "control character U+0085 at character 2");
    assert_int_equal(codes_text_check("x\xc2\xa0", 1, 10, why), DRIP_OK); /* NBSP is text */

    assert_int_equal(codes_utf8_valid_prefix("ab\xe4\xb8\xad\xff", 6), 5);
    assert_int_equal(codes_utf8_valid_prefix("ab\xe4\xb8", 4), 2);
    assert_int_equal(codes_utf8_valid_prefix("", 0), 0);
}

static void test_industry(void **state)
{
    (void)state;
    char why[CODES_WHY_MAX];
    const char *good[] = {"C", "C13", "C131", "C1311", "F5121", "I6510", "M7320", "E4710",
                          "A0111", "K7010", "T9700", "S9600", "D4411"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(codes_industry_check(good[i], why), DRIP_OK);
    assert_int_equal(codes_industry_check("", why), DRIP_EVALUE);
    assert_string_equal(why, "empty industry code");
    assert_int_equal(codes_industry_check("U1234", why), DRIP_EVALUE);
    assert_string_equal(why, "industry code starts with 'U', expected a section letter A..T");
    assert_int_equal(codes_industry_check("c1311", why), DRIP_EVALUE);
    assert_int_equal(codes_industry_check("1311", why), DRIP_EVALUE);
    assert_int_equal(codes_industry_check("C1", why), DRIP_EVALUE);
    assert_string_equal(why, "industry code \"C1\" must be a letter and 2, 3 or 4 digits");
    assert_int_equal(codes_industry_check("C13111", why), DRIP_EVALUE);
    assert_int_equal(codes_industry_check("C13a1", why), DRIP_EVALUE);
    assert_string_equal(why, "industry code has 'a' at position 4, expected a digit");
    assert_int_equal(codes_industry_check("F1311", why), DRIP_EVALUE);
    assert_string_equal(why, "industry division 13 is not in section F (51..52)");
    assert_int_equal(codes_industry_check("C4410", why), DRIP_EVALUE);
    assert_int_equal(codes_industry_check("A0011", why), DRIP_EVALUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uscc_real_codes),
        cmocka_unit_test(test_uscc_every_mutation_fails),
        cmocka_unit_test(test_uscc_rejections),
        cmocka_unit_test(test_uscc_check_char_zero_case),
        cmocka_unit_test(test_region_syntax),
        cmocka_unit_test(test_region_level_parent_tokens_within),
        cmocka_unit_test(test_region_table_real_data),
        cmocka_unit_test(test_region_table_bad_file),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_date_round_trip),
        cmocka_unit_test(test_date_weekday_today),
        cmocka_unit_test(test_dept_ident),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_industry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
