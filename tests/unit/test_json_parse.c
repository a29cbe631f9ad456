/* test_json_parse.c — the strict JSON reader: values, escapes and surrogate pairs, UTF-8, the
 * strictness rules, duplicate keys, limits, error positions (line:column in characters), files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_parse.h"
#include "status.h"

static jsonp_doc *parse_ok(const char *s)
{
    jsonp_doc *d = NULL;
    jsonp_error e;
    int rc = jsonp_parse(s, strlen(s), NULL, &d, &e);
    if (rc != DRIP_OK) fprintf(stderr, "unexpected error on %s: %s\n", s, e.msg);
    assert_int_equal(rc, DRIP_OK);
    assert_non_null(d);
    return d;
}

/* Parses s expecting `status`, an error at line:col, and `fragment` in the message. */
static void parse_bad(const char *s, size_t len, int status, int line, int col,
                      const char *fragment)
{
    jsonp_doc *d = (jsonp_doc *)1;
    jsonp_error e;
    int rc = jsonp_parse(s, len, NULL, &d, &e);
    if (rc != status || e.line != line || e.col != col || !strstr(e.msg, fragment))
        fprintf(stderr, "input %.40s: rc %d line %d col %d msg '%s'\n", s, rc, e.line, e.col,
                e.msg);
    assert_int_equal(rc, status);
    assert_null(d);
    assert_int_equal(e.line, line);
    assert_int_equal(e.col, col);
    assert_non_null(strstr(e.msg, fragment));
}

static void bad(const char *s, int line, int col, const char *fragment)
{
    parse_bad(s, strlen(s), DRIP_EBADMSG, line, col, fragment);
}

static void test_scalars(void **state)
{
    (void)state;
    jsonp_doc *d = parse_ok("  true ");
    assert_int_equal(jsonp_root(d)->type, JSONP_BOOL);
    assert_true(jsonp_root(d)->boolean);
    jsonp_free(d);
    d = parse_ok("null");
    assert_int_equal(jsonp_root(d)->type, JSONP_NULL);
    jsonp_free(d);
    d = parse_ok("-12.5e+2");
    const jsonp_value *v = jsonp_root(d);
    assert_int_equal(v->type, JSONP_NUMBER);
    assert_string_equal(v->number, "-12.5e+2");
    assert_true(v->number_value == -1250.0);
    int64_t x;
    assert_int_equal(jsonp_int64(v, INT64_MIN, INT64_MAX, &x), DRIP_EVALUE); /* not an integer */
    jsonp_free(d);
    d = parse_ok("9223372036854775807");
    assert_int_equal(jsonp_int64(jsonp_root(d), 0, INT64_MAX, &x), DRIP_OK);
    assert_true(x == INT64_MAX);
    assert_int_equal(jsonp_int64(jsonp_root(d), 0, 100, &x), DRIP_EVALUE); /* range */
    jsonp_free(d);
    d = parse_ok("9223372036854775808");
    assert_int_equal(jsonp_int64(jsonp_root(d), INT64_MIN, INT64_MAX, &x), DRIP_EVALUE);
    jsonp_free(d);
    d = parse_ok("-0");
    assert_int_equal(jsonp_int64(jsonp_root(d), -5, 5, &x), DRIP_OK);
    assert_int_equal(x, 0);
    jsonp_free(d);
    d = parse_ok("\"\"");
    assert_string_equal(jsonp_root(d)->string, "");
    assert_int_equal(jsonp_root(d)->string_len, 0);
    jsonp_free(d);
}

static void test_containers_and_positions(void **state)
{
    (void)state;
    const char *s = "{\n  \"名称\": \"联202301\",\n  \"list\": [1, [], {}, [true, false]],\n"
                    "  \"o\": {\"a\": null}\n}\n";
    jsonp_doc *d = parse_ok(s);
    const jsonp_value *r = jsonp_root(d);
    assert_int_equal(r->type, JSONP_OBJECT);
    assert_int_equal(r->n, 3);
    assert_string_equal(r->members[0].key, "名称");
    assert_int_equal(r->members[0].line, 2);
    assert_int_equal(r->members[0].col, 3);
    const jsonp_value *name = jsonp_get(r, "名称");
    assert_non_null(name);
    assert_string_equal(name->string, "联202301");
    assert_int_equal(name->line, 2);
    assert_int_equal(name->col, 9); /* columns count characters: "名称" is 2, not 6 */
    const jsonp_value *list = jsonp_get(r, "list");
    assert_int_equal(list->type, JSONP_ARRAY);
    assert_int_equal(list->n, 4);
    assert_int_equal(list->items[1]->type, JSONP_ARRAY);
    assert_int_equal(list->items[1]->n, 0);
    assert_int_equal(list->items[2]->type, JSONP_OBJECT);
    assert_int_equal(list->items[3]->n, 2);
    assert_false(list->items[3]->items[1]->boolean);
    assert_int_equal(list->items[3]->line, 3);
    assert_int_equal(list->items[3]->col, 23);
    assert_int_equal(jsonp_get(jsonp_get(r, "o"), "a")->type, JSONP_NULL);
    assert_null(jsonp_get(r, "missing"));
    assert_null(jsonp_get(list, "a")); /* not an object */
    assert_string_equal(jsonp_type_name(list->type), "array");
    jsonp_free(d);
}

static void test_escapes(void **state)
{
    (void)state;
    jsonp_doc *d = parse_ok("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
    assert_string_equal(jsonp_root(d)->string, "a\"b\\c/d\be\ff\ng\rh\ti");
    jsonp_free(d);
    d = parse_ok("\"\\u0041\\u00e9\\u8054\\uD83D\\uDE00x\""); /* A é 联 😀 */
    assert_string_equal(jsonp_root(d)->string, "A\xC3\xA9\xE8\x81\x94\xF0\x9F\x98\x80x");
    assert_int_equal(jsonp_root(d)->string_len, 1 + 2 + 3 + 4 + 1);
    jsonp_free(d);
    d = parse_ok("\"\\uDBFF\\uDFFF\""); /* U+10FFFF */
    assert_string_equal(jsonp_root(d)->string, "\xF4\x8F\xBF\xBF");
    jsonp_free(d);
    bad("\"\\uD83D\"", 1, 2, "high surrogate \\uD83D must be followed");
    bad("\"\\uD83Dx\"", 1, 2, "high surrogate");
    bad("\"\\uD83D\\u0041\"", 1, 2, "low surrogate");
    bad("\"ab\\uDE00\"", 1, 4, "lone low surrogate \\uDE00");
    bad("\"\\u12G4\"", 1, 2, "four hex digits");
    bad("\"\\u12\"", 1, 2, "four hex digits");
    bad("\"\\x\"", 1, 2, "invalid escape: backslash followed by 'x'");
    bad("\"\\u0000\"", 1, 2, "NUL");
    bad("\"abc\\", 1, 5, "unterminated string");
}

static void test_utf8(void **state)
{
    (void)state;
    bad("\"\xC0\xAF\"", 1, 2, "invalid UTF-8 (byte 0xC0)"); /* overlong '/' */
    bad("\"\xED\xA0\x80\"", 1, 2, "invalid UTF-8");         /* encoded surrogate */
    bad("\"\xF4\x90\x80\x80\"", 1, 2, "invalid UTF-8");     /* above U+10FFFF */
    bad("\"\xE8\x81\"", 1, 2, "invalid UTF-8");             /* truncated */
    bad("\"联\xFF\"", 1, 3, "invalid UTF-8 (byte 0xFF)");
    bad("[\xE8\x81\x94]", 1, 2, "expected a value");
    /* a byte order mark is skipped and does not count as a column */
    jsonp_doc *d = parse_ok("\xEF\xBB\xBF[1]");
    assert_int_equal(jsonp_root(d)->col, 1);
    jsonp_free(d);
}

static void test_strictness(void **state)
{
    (void)state;
    bad("", 1, 1, "empty document");
    bad("  \n ", 2, 2, "empty document");
    bad("[1,]", 1, 4, "trailing comma before ']'");
    bad("{\"a\":1,}", 1, 8, "trailing comma before '}'");
    bad("{'a':1}", 1, 2, "expected a \"key\"");
    bad("'a'", 1, 1, "double quotes");
    bad("[1 2]", 1, 4,
        "expected ',' or ']' after an element of the array opened at 1:1, found '2'");
    bad("{\"a\" 1}", 1, 6, "expected ':' after the key \"a\", found '1'");
    bad("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}'");
    bad("{\"a\":1", 1, 7, "found end of input");
    bad("01", 1, 1, "leading zeros");
    bad("-", 1, 2, "expected a digit after '-'");
    bad("1.", 1, 3, "expected a digit after '.'");
    bad(".5", 1, 1, "numbers start with");
    bad("+1", 1, 1, "numbers start with");
    bad("1e", 1, 3, "exponent");
    bad("1 2", 1, 3, "unexpected '2' after the end");
    bad("NaN", 1, 1, "expected a value");
    bad("Infinity", 1, 1, "expected a value");
    bad("tru", 1, 1, "invalid literal");
    bad("truex", 1, 1, "invalid literal");
    bad("nulL", 1, 1, "invalid literal");
    bad("// c\n1", 1, 1, "comments");
    bad("[\"a\nb\"]", 1, 4, "raw line break");
    bad("\"a\tb\"", 1, 3, "control character U+0009");
    bad("[1]\x01", 1, 4, "control character U+0001");
    parse_bad("[1,\0]", 5, DRIP_EBADMSG, 1, 4, "control character U+0000");
    parse_bad("{\"a\":\"x\"}", 7, DRIP_EBADMSG, 1, 6, "unterminated string"); /* len cuts it */
}

static void test_duplicates(void **state)
{
    (void)state;
    bad("{\"a\":1,\n \"b\":2,\n \"a\":3}", 3, 2, "duplicate key \"a\" (first at 1:2)");
    bad("[{\"x\":1},{\"k\":1,\"k\":1}]", 1, 17, "duplicate key \"k\" (first at 1:11)");
    jsonp_doc *d =
        parse_ok("{\"a\":1,\"ab\":2,\"b\":{\"a\":3}}"); /* same key in another object: fine */
    jsonp_free(d);
}

static void test_limits(void **state)
{
    (void)state;
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    parse_bad(deep, 130, DRIP_ETOOLARGE, 1, 65, "nesting deeper than 64 levels");
    jsonp_doc *d = NULL;
    jsonp_error e;
    assert_int_equal(jsonp_parse(deep + 1, 128, NULL, &d, &e), DRIP_OK); /* 64 is fine */
    jsonp_free(d);
    jsonp_limits lim = {.max_depth = 3, .max_size = 0};
    assert_int_equal(jsonp_parse("[[[1]]]", 7, &lim, &d, &e), DRIP_OK);
    jsonp_free(d);
    assert_int_equal(jsonp_parse("[[[[1]]]]", 9, &lim, &d, &e), DRIP_ETOOLARGE);
    assert_null(d);
    jsonp_limits small = {.max_depth = 0, .max_size = 4};
    assert_int_equal(jsonp_parse("[1,2]", 5, &small, &d, &e), DRIP_ETOOLARGE);
    assert_int_equal(e.line, 0);
    assert_non_null(strstr(e.msg, "over the limit of 4"));
    /* deep nesting far beyond the limit fails cleanly (no stack overflow) */
    size_t n = 1000000;
    char *huge = malloc(n);
    assert_non_null(huge);
    memset(huge, '[', n);
    assert_int_equal(jsonp_parse(huge, n, NULL, &d, &e), DRIP_ETOOLARGE);
    free(huge);
}

static void test_large_document(void **state)
{
    (void)state;
    /* 200 000 members on one line: positions stay O(n) and duplicate detection O(n log n) */
    size_t count = 200000, cap = count * 24 + 16, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[len++] = '{';
    for (size_t i = 0; i < count; i++) {
        int w = snprintf(s + len, cap - len, "%s\"k%zu\":[%zu]", i ? "," : "", i, i);
        len += (size_t)w;
    }
    s[len++] = '}';
    jsonp_doc *d = NULL;
    jsonp_error e;
    assert_int_equal(jsonp_parse(s, len, NULL, &d, &e), DRIP_OK);
    const jsonp_value *r = jsonp_root(d);
    assert_int_equal(r->n, count);
    assert_string_equal(r->members[count - 1].key, "k199999");
    int64_t x;
    assert_int_equal(jsonp_int64(jsonp_get(r, "k123456")->items[0], 0, INT64_MAX, &x), DRIP_OK);
    assert_int_equal(x, 123456);
    jsonp_free(d);
    /* the same with a duplicate at the very end */
    memcpy(s + len - 1, ",\"k7\":0}", 8);
    len += 7;
    assert_int_equal(jsonp_parse(s, len, NULL, &d, &e), DRIP_EBADMSG);
    assert_non_null(strstr(e.msg, "duplicate key \"k7\""));
    free(s);
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_json_parse_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"year\": 2023,\n \"kind\": \"joint\"}\n", f);
    fclose(f);
    jsonp_doc *d = NULL;
    jsonp_error e;
    assert_int_equal(jsonp_parse_file(path, NULL, &d, &e), DRIP_OK);
    assert_string_equal(jsonp_get(jsonp_root(d), "kind")->string, "joint");
    jsonp_free(d);
    jsonp_limits small = {.max_depth = 0, .max_size = 10};
    assert_int_equal(jsonp_parse_file(path, &small, &d, &e), DRIP_ETOOLARGE);
    remove(path);
    assert_int_equal(jsonp_parse_file(path, NULL, &d, &e), DRIP_EIO);
    assert_non_null(strstr(e.msg, "cannot open"));
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),    cmocka_unit_test(test_containers_and_positions),
        cmocka_unit_test(test_escapes),    cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_strictness), cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
