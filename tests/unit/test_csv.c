/* test_csv.c — the streaming CSV reader: quoting, line ends, BOM, encodings, errors; the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <iconv.h>

#include "csv.h"
#include "status.h"

typedef struct {
    FILE *f;
    csv_reader *r;
} fixture;

static fixture open_bytes(const char *data, size_t n, csv_encoding enc)
{
    fixture x;
    x.f = tmpfile();
    assert_non_null(x.f);
    assert_int_equal(fwrite(data, 1, n, x.f), n);
    rewind(x.f);
    x.r = csv_reader_create(x.f, enc);
    assert_non_null(x.r);
    return x;
}

static fixture open_str(const char *s, csv_encoding enc) { return open_bytes(s, strlen(s), enc); }

static void close_fx(fixture *x)
{
    csv_reader_destroy(x->r);
    fclose(x->f);
}

/* Reads the next record and checks its fields (NULL-terminated list) and starting line. */
static void expect(csv_reader *r, long line, ...)
{
    char **f;
    int n = csv_reader_next(r, &f);
    if (n < 0) fail_msg("csv error %d: %s", n, csv_reader_error(r));
    va_list ap;
    va_start(ap, line);
    int i = 0;
    for (const char *want; (want = va_arg(ap, const char *)); i++) {
        assert_true(i < n);
        assert_string_equal(f[i], want);
    }
    va_end(ap);
    assert_int_equal(n, i);
    assert_null(f[n]);
    assert_int_equal(csv_reader_line(r), line);
}

static void expect_eof(csv_reader *r)
{
    char **f;
    assert_int_equal(csv_reader_next(r, &f), 0);
    assert_int_equal(csv_reader_next(r, &f), 0);
}

static void expect_error(csv_reader *r, int rc, const char *msg_part)
{
    char **f;
    int n = csv_reader_next(r, &f);
    assert_int_equal(n, rc);
    if (!strstr(csv_reader_error(r), msg_part))
        fail_msg("error \"%s\" lacks \"%s\"", csv_reader_error(r), msg_part);
    assert_int_equal(csv_reader_next(r, &f), rc); /* sticky */
}

static void test_simple_lf(void **state)
{
    (void)state;
    fixture x = open_str("code,name,level\n130000,河北省,province\n130100,石家庄市,city\n",
                         CSV_ENC_AUTO);
    expect(x.r, 1, "code", "name", "level", NULL);
    expect(x.r, 2, "130000", "河北省", "province", NULL);
    expect(x.r, 3, "130100", "石家庄市", "city", NULL);
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_UTF8);
    assert_string_equal(csv_reader_error(x.r), "");
    close_fx(&x);
}

static void test_bom_crlf_blank_lines(void **state)
{
    (void)state;
    fixture x = open_str("\xef\xbb\xbf" "a,b\r\n\r\n1,2\r\n\n   \r\n3,\r\n,\r\n\"\"\r\n4,5", CSV_ENC_AUTO);
    expect(x.r, 1, "a", "b", NULL); /* BOM stripped from the first field */
    expect(x.r, 3, "1", "2", NULL);
    expect(x.r, 5, "   ", NULL);   /* spaces are data, not a blank line */
    expect(x.r, 6, "3", "", NULL);
    expect(x.r, 7, "", "", NULL);
    expect(x.r, 8, "", NULL);      /* "" is one empty field, not a blank line */
    expect(x.r, 9, "4", "5", NULL); /* no final line end */
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_UTF8);
    close_fx(&x);

    /* a BOM alone, an empty file, only blank lines */
    x = open_str("\xef\xbb\xbf", CSV_ENC_AUTO);
    expect_eof(x.r);
    close_fx(&x);
    x = open_str("", CSV_ENC_AUTO);
    expect_eof(x.r);
    close_fx(&x);
    x = open_str("\n\r\n\n", CSV_ENC_AUTO);
    expect_eof(x.r);
    close_fx(&x);
}

static void test_lone_cr(void **state)
{
    (void)state;
    fixture x = open_str("a,b\r1,2\r\r3,4", CSV_ENC_AUTO);
    expect(x.r, 1, "a", "b", NULL);
    expect(x.r, 2, "1", "2", NULL);
    expect(x.r, 4, "3", "4", NULL);
    expect_eof(x.r);
    close_fx(&x);
}

static void test_quoted_fields(void **state)
{
    (void)state;
    fixture x = open_str("name,addr,note\n"
                         "\"石家庄市某某有限公司\",\"长安区, 中山东路1号\",\"他说\"\"好\"\"\"\n"
                         "\"two\nlines\",\"crlf\r\ninside\",x\r\n"
                         "\"\",\"\"\"\",\",\"\n"
                         "plain \"quote\" inside,\"a\"\"\"\"b\",end\n"
                         "last,\"multi\n\nline\"\n"
                         "after,1\n",
                         CSV_ENC_AUTO);
    expect(x.r, 1, "name", "addr", "note", NULL);
    expect(x.r, 2, "石家庄市某某有限公司", "长安区, 中山东路1号", "他说\"好\"", NULL);
    expect(x.r, 3, "two\nlines", "crlf\r\ninside", "x", NULL);
    expect(x.r, 6, "", "\"", ",", NULL);
    expect(x.r, 7, "plain \"quote\" inside", "a\"\"b", "end", NULL);
    expect(x.r, 8, "last", "multi\n\nline", NULL);
    expect(x.r, 11, "after", "1", NULL);
    expect_eof(x.r);
    close_fx(&x);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    fixture x = open_str("a,b\n1,2\n3,\"open\nand never\nclosed\n", CSV_ENC_AUTO);
    expect(x.r, 1, "a", "b", NULL);
    expect(x.r, 2, "1", "2", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 3: unterminated quoted field");
    close_fx(&x);
}

static void test_char_after_closing_quote(void **state)
{
    (void)state;
    fixture x = open_str("a,b\n\"x\"y,2\n", CSV_ENC_AUTO);
    expect(x.r, 1, "a", "b", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 2: unexpected character after the closing quote");
    close_fx(&x);
}

static void test_nul_byte(void **state)
{
    (void)state;
    fixture x = open_bytes("a,b\nc,d\0e\n", 10, CSV_ENC_AUTO);
    expect(x.r, 1, "a", "b", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 2: NUL byte");
    close_fx(&x);
}

static void test_gb18030_literal(void **state)
{
    (void)state;
    /* 中文,测试 / 河北 in GBK bytes */
    fixture x = open_str("\xd6\xd0\xce\xc4,\xb2\xe2\xca\xd4\n1,\xba\xd3\xb1\xb1\n", CSV_ENC_AUTO);
    expect(x.r, 1, "中文", "测试", NULL);
    expect(x.r, 2, "1", "河北", NULL);
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_GB18030);
    close_fx(&x);

    /* forced */
    x = open_str("\xd6\xd0\xce\xc4\n", CSV_ENC_GB18030);
    expect(x.r, 1, "中文", NULL);
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_GB18030);
    close_fx(&x);
}

/* Converts UTF-8 to GB18030 with iconv, as a spreadsheet on a Chinese Windows would save it. */
static char *to_gb18030(const char *utf8, size_t *outlen)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t inleft = strlen(utf8), cap = inleft * 2 + 16, outleft = cap;
    char *out = malloc(cap), *o = out, *in = (char *)utf8;
    assert_non_null(out);
    assert_true(iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1);
    iconv_close(cd);
    *outlen = cap - outleft;
    return out;
}

static void test_gb18030_iconv_large(void **state)
{
    (void)state;
    /* > 64 KiB so that multi-byte sequences straddle read buffers; includes a 4-byte GB18030
     * character (U+20000 𠀀) and a BMP character outside GBK (U+20AC €, 2 bytes 0xA2E3). */
    const char *row = "91130100MA0CXXXX0X,\"石家庄市𠀀鑫源商贸有限公司, 长安区\",存续,€\r\n";
    size_t rl = strlen(row);
    int rows = 3000;
    char *utf8 = malloc(rl * rows + 64);
    assert_non_null(utf8);
    const char *header = "uscc,name,status,x\r\n";
    size_t len = strlen(header);
    memcpy(utf8, header, len);
    for (int i = 0; i < rows; i++) {
        memcpy(utf8 + len, row, rl);
        len += rl;
    }
    utf8[len] = '\0';
    size_t gblen;
    char *gb = to_gb18030(utf8, &gblen);
    assert_true(gblen > 3 * 65536);
    fixture x = open_bytes(gb, gblen, CSV_ENC_AUTO);
    expect(x.r, 1, "uscc", "name", "status", "x", NULL);
    for (int i = 0; i < rows; i++)
        expect(x.r, 2 + i, "91130100MA0CXXXX0X", "石家庄市𠀀鑫源商贸有限公司, 长安区", "存续", "€",
               NULL);
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_GB18030);
    close_fx(&x);
    free(gb);
    free(utf8);
}

static void test_gb18030_bad_bytes(void **state)
{
    (void)state;
    fixture x = open_str("\xd6\xd0,a\nb,c\nd,\xff\xfe\xd6\n", CSV_ENC_AUTO);
    expect(x.r, 1, "中", "a", NULL);
    expect(x.r, 2, "b", "c", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 3: bytes FF FE D6 0A are not valid GB18030");
    close_fx(&x);

    /* a lead byte cut off by the end of the file */
    x = open_str("\xd6\xd0\n\xd6", CSV_ENC_AUTO);
    expect(x.r, 1, "中", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 2: truncated GB18030 sequence at end of file");
    close_fx(&x);
}

static void test_utf8_invalid_bytes(void **state)
{
    (void)state;
    /* forced UTF-8: GBK bytes are an error naming the line */
    fixture x = open_str("a,b\n1,\"x\ny\",\xd6\xd0\n", CSV_ENC_UTF8);
    expect(x.r, 1, "a", "b", NULL);
    expect_error(x.r, DRIP_EBADMSG, "line 3: invalid UTF-8 (byte 0xD6)");
    close_fx(&x);

    /* AUTO decided UTF-8 from the first 64 KiB; bad bytes later are reported, not mangled */
    size_t n = 70000;
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    size_t len = 0;
    int lines = 0;
    while (len < n) {
        memcpy(buf + len, "中文,ok\n", 10);
        len += 10;
        lines++;
    }
    memcpy(buf + len, "bad,\xc3\x28\n", 7);
    len += 7;
    x = open_bytes(buf, len, CSV_ENC_AUTO);
    for (int i = 0; i < lines; i++) expect(x.r, i + 1, "中文", "ok", NULL);
    char msg[64];
    snprintf(msg, sizeof msg, "line %d: invalid UTF-8 (byte 0xC3)", lines + 1);
    expect_error(x.r, DRIP_EBADMSG, msg);
    close_fx(&x);
    free(buf);
}

/* ASCII reads the same in both encodings, so AUTO waits for the first non-ASCII block. */
static void test_auto_defers_past_ascii(void **state)
{
    (void)state;
    size_t n = 100000;
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    size_t len = 0;
    int lines = 0;
    while (len < n) {
        memcpy(buf + len, "abc,123\n", 8);
        len += 8;
        lines++;
    }
    memcpy(buf + len, "\xd6\xd0\xce\xc4,x\n", 7);
    len += 7;
    fixture x = open_bytes(buf, len, CSV_ENC_AUTO);
    for (int i = 0; i < lines; i++) expect(x.r, i + 1, "abc", "123", NULL);
    expect(x.r, lines + 1, "中文", "x", NULL);
    expect_eof(x.r);
    assert_int_equal(csv_reader_encoding(x.r), CSV_ENC_GB18030);
    close_fx(&x);
    free(buf);
}

static void test_long_record_and_limit(void **state)
{
    (void)state;
    size_t n = 300000;
    char *buf = malloc(n + 16);
    assert_non_null(buf);
    buf[0] = '"';
    for (size_t i = 1; i < n; i++) buf[i] = (char)('a' + i % 26);
    memcpy(buf + n, "\",z\n", 4);
    fixture x = open_bytes(buf, n + 4, CSV_ENC_AUTO);
    char **f;
    assert_int_equal(csv_reader_next(x.r, &f), 2);
    assert_int_equal(strlen(f[0]), n - 1);
    assert_string_equal(f[1], "z");
    expect_eof(x.r);
    close_fx(&x);

    x = open_bytes(buf, n + 4, CSV_ENC_AUTO);
    csv_reader_set_max_record(x.r, 1000);
    expect_error(x.r, DRIP_ETOOLARGE, "line 1: record longer than 1000 bytes");
    close_fx(&x);
    free(buf);
}

static void test_write_field_round_trip(void **state)
{
    (void)state;
    const char *vals[] = {"plain", "with,comma", "say \"hi\"", "two\nlines", "cr\r", "", "中文"};
    size_t nv = sizeof vals / sizeof *vals;
    FILE *f = tmpfile();
    assert_non_null(f);
    for (size_t i = 0; i < nv; i++) {
        if (i) fputc(',', f);
        csv_write_field(f, vals[i]);
    }
    fputc('\n', f);
    csv_write_field(f, NULL);
    fputs("x\n", f);
    rewind(f);
    char line[256];
    size_t got = fread(line, 1, sizeof line - 1, f);
    line[got] = '\0';
    assert_string_equal(line, "plain,\"with,comma\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",,中文\nx\n");
    rewind(f);
    csv_reader *r = csv_reader_create(f, CSV_ENC_AUTO);
    char **fl;
    assert_int_equal(csv_reader_next(r, &fl), (int)nv);
    for (size_t i = 0; i < nv; i++) assert_string_equal(fl[i], vals[i]);
    expect(r, 4, "x", NULL); /* the lone CR inside "cr\r" counts as a line end too */
    expect_eof(r);
    csv_reader_destroy(r);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_lf),
        cmocka_unit_test(test_bom_crlf_blank_lines),
        cmocka_unit_test(test_lone_cr),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_char_after_closing_quote),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_gb18030_literal),
        cmocka_unit_test(test_gb18030_iconv_large),
        cmocka_unit_test(test_gb18030_bad_bytes),
        cmocka_unit_test(test_utf8_invalid_bytes),
        cmocka_unit_test(test_auto_defers_past_ascii),
        cmocka_unit_test(test_long_record_and_limit),
        cmocka_unit_test(test_write_field_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
