/* test_vocab.c — the word <-> enum tables of common/vocab.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drip/registry.pb-c.h"
#include "status.h"
#include "vocab.h"

static int parse(vocab_table t, const char *w)
{
    int v = -12345;
    int rc = vocab_parse(t, w, &v);
    return rc == DRIP_OK ? v : rc * 1000; /* distinguishable from any enum value */
}

static void test_target_kind(void **state)
{
    (void)state;
    assert_int_equal(parse(VOCAB_TARGET_KIND, "enterprise"), DRIP__TARGET_KIND__ENTERPRISE);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "企业"), DRIP__TARGET_KIND__ENTERPRISE);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "individual"), DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "个体工商户"), DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "个体"), DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "cooperative"), DRIP__TARGET_KIND__COOPERATIVE);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "农民专业合作社"), DRIP__TARGET_KIND__COOPERATIVE);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "合作社"), DRIP__TARGET_KIND__COOPERATIVE);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "project"), DRIP__TARGET_KIND__CONSTRUCTION_PROJECT);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "生产建设项目"), DRIP__TARGET_KIND__CONSTRUCTION_PROJECT);
    assert_string_equal(vocab_name(VOCAB_TARGET_KIND, DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS),
                        "individual");
    assert_string_equal(vocab_name(VOCAB_TARGET_KIND, DRIP__TARGET_KIND__CONSTRUCTION_PROJECT),
                        "project");
}

static void test_ownership(void **state)
{
    (void)state;
    assert_int_equal(parse(VOCAB_OWNERSHIP, "domestic"), DRIP__OWNERSHIP__DOMESTIC);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "内资"), DRIP__OWNERSHIP__DOMESTIC);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "外资"), DRIP__OWNERSHIP__FOREIGN);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "外商投资"), DRIP__OWNERSHIP__FOREIGN);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "HMT"), DRIP__OWNERSHIP__HK_MACAO_TAIWAN);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "港澳台"), DRIP__OWNERSHIP__HK_MACAO_TAIWAN);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "港澳台投资"), DRIP__OWNERSHIP__HK_MACAO_TAIWAN);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "其他"), DRIP__OWNERSHIP__OWNERSHIP_OTHER);
    assert_int_equal(parse(VOCAB_OWNERSHIP, "other"), 9);
    assert_string_equal(vocab_name(VOCAB_OWNERSHIP, 9), "other");
    assert_string_equal(vocab_name(VOCAB_OWNERSHIP, 3), "hmt");
    assert_null(vocab_name(VOCAB_OWNERSHIP, 4));
}

static void test_status_canonical_chinese(void **state)
{
    (void)state;
    static const struct {
        const char *zh, *en;
        int v;
    } s[] = {
        {"存续", "existing", DRIP__TARGET_STATUS__EXISTING},
        {"在业", "operating", DRIP__TARGET_STATUS__OPERATING},
        {"吊销", "revoked", DRIP__TARGET_STATUS__REVOKED},
        {"注销", "deregistered", DRIP__TARGET_STATUS__DEREGISTERED},
        {"迁出", "moved_out", DRIP__TARGET_STATUS__MOVED_OUT},
        {"撤销", "annulled", DRIP__TARGET_STATUS__ANNULLED},
        {"停业", "suspended", DRIP__TARGET_STATUS__SUSPENDED},
        {"清算", "liquidating", DRIP__TARGET_STATUS__LIQUIDATING},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        assert_int_equal(parse(VOCAB_TARGET_STATUS, s[i].zh), s[i].v);
        assert_int_equal(parse(VOCAB_TARGET_STATUS, s[i].en), s[i].v);
        assert_string_equal(vocab_name(VOCAB_TARGET_STATUS, s[i].v), s[i].zh);
    }
    assert_null(vocab_name(VOCAB_TARGET_STATUS, 0));
    assert_null(vocab_name(VOCAB_TARGET_STATUS, 99));
}

static void test_credit_class_empty_is_unspecified(void **state)
{
    (void)state;
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, ""), 0);
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, "  "), 0);
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, NULL), 0);
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, "a"), DRIP__CREDIT_CLASS__CLASS_A);
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, "D"), DRIP__CREDIT_CLASS__CLASS_D);
    assert_int_equal(parse(VOCAB_CREDIT_CLASS, "E"), DRIP_EENUM * 1000);
    assert_string_equal(vocab_name(VOCAB_CREDIT_CLASS, 0), "");
    assert_string_equal(vocab_name(VOCAB_CREDIT_CLASS, 2), "B");
    /* elsewhere the empty word is not a value */
    assert_int_equal(parse(VOCAB_TARGET_STATUS, ""), DRIP_EENUM * 1000);
    assert_int_equal(parse(VOCAB_METHOD, NULL), DRIP_EENUM * 1000);
}

static void test_item_level_method_day_region(void **state)
{
    (void)state;
    assert_int_equal(parse(VOCAB_ITEM_LEVEL, "一般"), DRIP__ITEM_LEVEL__GENERAL);
    assert_int_equal(parse(VOCAB_ITEM_LEVEL, "Key"), DRIP__ITEM_LEVEL__KEY);
    assert_string_equal(vocab_name(VOCAB_ITEM_LEVEL, DRIP__ITEM_LEVEL__KEY), "重点");
    assert_int_equal(parse(VOCAB_METHOD, "现场检查"), DRIP__METHOD__ON_SITE);
    assert_int_equal(parse(VOCAB_METHOD, "委托专业机构核查"), DRIP__METHOD__EXPERT_AGENCY);
    assert_int_equal(parse(VOCAB_METHOD, "info_comparison"), DRIP__METHOD__INFO_COMPARISON);
    assert_int_equal(parse(VOCAB_METHOD, "实地核查"), DRIP__METHOD__FIELD_VERIFICATION);
    assert_string_equal(vocab_name(VOCAB_METHOD, DRIP__METHOD__DOCUMENTARY), "书面检查");
    assert_int_equal(parse(VOCAB_DAY_KIND, "off"), DRIP__DAY_KIND__DAY_OFF);
    assert_int_equal(parse(VOCAB_DAY_KIND, "班"), DRIP__DAY_KIND__DAY_WORKDAY);
    assert_string_equal(vocab_name(VOCAB_DAY_KIND, DRIP__DAY_KIND__DAY_OFF), "off");
    assert_int_equal(parse(VOCAB_REGION_LEVEL, "County"), DRIP__REGION_LEVEL__COUNTY);
    assert_string_equal(vocab_name(VOCAB_REGION_LEVEL, DRIP__REGION_LEVEL__PROVINCE), "province");
    assert_int_equal(parse(VOCAB_RECORD_KIND, "enterprise"), DRIP__RECORD_KIND__KIND_TARGET);
    assert_string_equal(vocab_name(VOCAB_RECORD_KIND, DRIP__RECORD_KIND__KIND_TARGET), "target");
    assert_string_equal(vocab_name(VOCAB_OUTCOME, DRIP__OUTCOME__UNCHANGED), "unchanged");
}

static void test_case_and_trim(void **state)
{
    (void)state;
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "EXISTING"), DRIP__TARGET_STATUS__EXISTING);
    assert_int_equal(parse(VOCAB_TARGET_STATUS, " Moved_Out\t"), DRIP__TARGET_STATUS__MOVED_OUT);
    /* full-width spaces around a Chinese word, as spreadsheets produce */
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "\xE3\x80\x80存续\xE3\x80\x80 "),
                     DRIP__TARGET_STATUS__EXISTING);
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "存"), DRIP_EENUM * 1000);
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "存续续"), DRIP_EENUM * 1000);
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "exist"), DRIP_EENUM * 1000);
    assert_int_equal(parse(VOCAB_TARGET_STATUS, "existingx"), DRIP_EENUM * 1000);
    /* proto names are accepted too */
    assert_int_equal(parse(VOCAB_OWNERSHIP, "HK_MACAO_TAIWAN"), DRIP__OWNERSHIP__HK_MACAO_TAIWAN);
    assert_int_equal(parse(VOCAB_TARGET_KIND, "INDIVIDUAL_BUSINESS"),
                     DRIP__TARGET_KIND__INDIVIDUAL_BUSINESS);
    /* out-of-range tables */
    int v = 7;
    assert_int_equal(vocab_parse(VOCAB_TABLE_COUNT, "x", &v), DRIP_EENUM);
    assert_int_equal(vocab_parse((vocab_table)-1, "x", &v), DRIP_EENUM);
    assert_int_equal(v, 7);
    assert_null(vocab_name(VOCAB_TABLE_COUNT, 1));
    assert_string_equal(vocab_describe(VOCAB_TABLE_COUNT), "");
    assert_string_equal(vocab_table_name(VOCAB_TARGET_STATUS), "TargetStatus");
}

/* Every word listed by vocab_describe parses, and every value named in the table is listed. */
static void test_describe_matches_tables(void **state)
{
    (void)state;
    for (int t = 0; t < VOCAB_TABLE_COUNT; t++) {
        const char *d = vocab_describe((vocab_table)t);
        assert_true(strlen(d) > 0);
        if (t == VOCAB_CREDIT_CLASS) {
            const char *w[] = {"A", "B", "C", "D", ""};
            for (size_t i = 0; i < 5; i++) assert_true(parse((vocab_table)t, w[i]) >= 0);
            continue;
        }
        char buf[1024];
        assert_true(strlen(d) < sizeof buf);
        memcpy(buf, d, strlen(d) + 1);
        int seen[16] = {0};
        for (char *save = NULL, *word = strtok_r(buf, ",|", &save); word;
             word = strtok_r(NULL, ",|", &save)) {
            int v = parse((vocab_table)t, word);
            assert_true(v > 0 && v < 16);
            seen[v] = 1;
        }
        /* each value with a canonical name appears in the description */
        for (int v = 1; v < 16; v++)
            if (vocab_name((vocab_table)t, v)) assert_true(seen[v]);
    }
}

/* Every named value round-trips through its canonical word. */
static void test_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < VOCAB_TABLE_COUNT; t++)
        for (int v = 0; v < 16; v++) {
            const char *w = vocab_name((vocab_table)t, v);
            if (w) assert_int_equal(parse((vocab_table)t, w), v);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_kind),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_status_canonical_chinese),
        cmocka_unit_test(test_credit_class_empty_is_unspecified),
        cmocka_unit_test(test_item_level_method_day_region),
        cmocka_unit_test(test_case_and_trim),
        cmocka_unit_test(test_describe_matches_tables),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
