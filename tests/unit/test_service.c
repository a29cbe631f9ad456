/* test_service.c — the small shared pieces of request handling: the operator list (exact codes,
 * not prefixes), the China Standard Time day of an instant around midnight and before 1970, and
 * packing a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codes.h"
#include "drip/common.pb-c.h"
#include "service.h"

static void test_operator_list(void **state)
{
    (void)state;
    assert_true(service_is_operator("OPS", "OPS"));
    assert_true(service_is_operator("OPS,ADMIN2", "ADMIN2"));
    assert_false(service_is_operator("OPS,ADMIN2", "ADMIN"));  /* a prefix is not a match */
    assert_false(service_is_operator("OPSX", "OPS"));
    assert_false(service_is_operator("", "OPS"));
    assert_false(service_is_operator(NULL, "OPS"));
    assert_true(service_is_operator(",OPS,", "OPS"));
}

static void test_day_cst(void **state)
{
    (void)state;
    int32_t d = codes_date_make(2024, 3, 1);
    int64_t utc_midnight = (int64_t)d * 86400000LL;
    /* 2024-03-01 00:00 UTC is 08:00 in Beijing: the same date; 16:00 UTC is already the 2nd */
    assert_int_equal(service_day_cst(utc_midnight), d);
    assert_int_equal(service_day_cst(utc_midnight + 16 * 3600000LL - 1), d);
    assert_int_equal(service_day_cst(utc_midnight + 16 * 3600000LL), d + 1);
    /* before the epoch: floor, not truncation */
    assert_int_equal(service_day_cst(-9 * 3600000LL), -1);
    assert_int_equal(service_day_cst(-8 * 3600000LL), 0);
}

static void test_pack_roundtrip(void **state)
{
    (void)state;
    Drip__Envelope e = DRIP__ENVELOPE__INIT;
    e.msg_id = "abc";
    e.dept = "130102SCJ";
    size_t len = 0;
    uint8_t *p = service_pack(&e.base, &len);
    assert_true(len > 0);
    Drip__Envelope *back = drip__envelope__unpack(NULL, len, p);
    assert_non_null(back);
    assert_string_equal(back->msg_id, "abc");
    assert_string_equal(back->dept, "130102SCJ");
    drip__envelope__free_unpacked(back, NULL);
    free(p);
    char *s = service_strdup("长安区");
    assert_string_equal(s, "长安区");
    free(s);
    assert_null(service_strdup(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operator_list),
        cmocka_unit_test(test_day_cst),
        cmocka_unit_test(test_pack_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
