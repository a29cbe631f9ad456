/* csv.c — streaming RFC 4180 reader for spreadsheet exports (UTF-8 or GB18030) and a field writer.
 *
 * Layers: raw bytes from the FILE (fixed 64 KiB buffer) -> optional iconv GB18030 -> UTF-8 (fixed
 * buffer) -> byte-at-a-time parser appending into one record buffer. Only the record buffer grows,
 * so memory is bounded by the longest record (and capped, see csv_reader_set_max_record). */
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "status.h"

#define CSV_CHUNK 65536
#define CSV_DEFAULT_MAX_RECORD (64u << 20)

enum { S_FIELD_START, S_UNQUOTED, S_QUOTED, S_QUOTE_IN_QUOTED };

struct csv_reader {
    FILE *f;
    csv_encoding enc;
    int decided;  /* AUTO stays undecided while everything read so far is ASCII */
    iconv_t cd;   /* (iconv_t)-1 unless decoding GB18030 */
    int bom_done; /* the first decoded bytes were checked for a BOM */

    unsigned char raw[CSV_CHUNK];
    size_t raw_pos, raw_len;
    int raw_eof;
    unsigned char dec[CSV_CHUNK * 2];

    const unsigned char *cur; /* bytes being parsed: into raw or dec */
    size_t cur_pos, cur_len;

    char *rec; /* fields of the current record, each NUL-terminated */
    size_t rec_len, rec_cap, max_record;
    size_t *offs;
    char **fields;
    size_t fcap;

    long line;     /* physical line of the next byte */
    long rec_line; /* line where the last returned record started */
    int saw_cr;    /* previous byte was CR: a following LF is the same line end */

    int failed; /* sticky error status */
    char err[256];
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) abort();
    return q;
}

static int fail(csv_reader *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(csv_reader *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->failed = rc;
    return rc;
}

/* Reads more raw bytes after the unconsumed tail (moved to the front). 0 at EOF, <0 on error. */
static int raw_read(csv_reader *r)
{
    size_t keep = r->raw_len - r->raw_pos;
    memmove(r->raw, r->raw + r->raw_pos, keep);
    r->raw_pos = 0;
    r->raw_len = keep;
    if (r->raw_eof) return 0;
    size_t got = fread(r->raw + keep, 1, sizeof r->raw - keep, r->f);
    r->raw_len += got;
    if (got == 0) {
        if (ferror(r->f)) return fail(r, DRIP_EIO, "read error: %s", strerror(errno));
        r->raw_eof = 1;
        return 0;
    }
    return 1;
}

static int has_non_ascii(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] & 0x80) return 1;
    return 0;
}

/* Is p[0..n) valid UTF-8, allowing one incomplete sequence at the end when more input follows? */
static int looks_utf8(const unsigned char *p, size_t n, int more)
{
    size_t v = codes_utf8_valid_prefix((const char *)p, n);
    if (v == n) return 1;
    if (!more || n - v >= 4 || p[v] < 0xC2 || p[v] > 0xF4) return 0;
    for (size_t i = v + 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return 1;
}

static int start_gb18030(csv_reader *r)
{
    r->enc = CSV_ENC_GB18030;
    r->decided = 1;
    r->cd = iconv_open("UTF-8", "GB18030");
    if (r->cd == (iconv_t)-1)
        return fail(r, DRIP_EINTERNAL, "iconv cannot convert GB18030: %s", strerror(errno));
    return DRIP_OK;
}

/* AUTO: decide from the raw bytes buffered now. ASCII-only data reads the same in both encodings,
 * so the decision waits for the first buffer that has a non-ASCII byte. */
static int sniff(csv_reader *r)
{
    const unsigned char *p = r->raw + r->raw_pos;
    size_t n = r->raw_len - r->raw_pos;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        r->decided = 1;
        return DRIP_OK;
    }
    if (!has_non_ascii(p, n)) {
        if (r->raw_eof) r->decided = 1;
        return DRIP_OK;
    }
    if (looks_utf8(p, n, !r->raw_eof)) {
        r->decided = 1;
        return DRIP_OK;
    }
    return start_gb18030(r);
}

/* Makes r->cur hold the next block of UTF-8 bytes. 1 = ok, 0 = end of input, <0 = error. */
static int refill(csv_reader *r)
{
    if (r->cd == (iconv_t)-1) {
        if (r->raw_pos == r->raw_len) {
            int rc = raw_read(r);
            if (rc <= 0) return rc;
        }
        if (!r->decided) {
            int rc = sniff(r);
            if (rc < 0) return rc;
        }
        if (r->cd == (iconv_t)-1) {
            r->cur = r->raw + r->raw_pos;
            r->cur_len = r->raw_len - r->raw_pos;
            r->cur_pos = 0;
            r->raw_pos = r->raw_len;
            return 1;
        }
    }
    for (;;) {
        if (r->raw_pos < r->raw_len) {
            char *in = (char *)r->raw + r->raw_pos;
            size_t inleft = r->raw_len - r->raw_pos;
            char *out = (char *)r->dec;
            size_t outleft = sizeof r->dec;
            size_t k = iconv(r->cd, &in, &inleft, &out, &outleft);
            int e = errno;
            r->raw_pos = r->raw_len - inleft;
            size_t produced = sizeof r->dec - outleft;
            if (produced) {
                /* Deliver what decoded; a bad sequence is met again (with nothing decoded) on the
                 * next call, after the parser has counted the lines before it. */
                r->cur = r->dec;
                r->cur_len = produced;
                r->cur_pos = 0;
                return 1;
            }
            if (k == (size_t)-1 && e == EILSEQ) {
                static const char HEX[] = "0123456789ABCDEF";
                char hex[16];
                size_t nb = inleft < 4 ? inleft : 4, o = 0;
                for (size_t i = 0; i < nb; i++) {
                    if (i) hex[o++] = ' ';
                    hex[o++] = HEX[(unsigned char)in[i] >> 4];
                    hex[o++] = HEX[(unsigned char)in[i] & 15];
                }
                hex[o] = '\0';
                return fail(r, DRIP_EBADMSG, "line %ld: bytes %s are not valid GB18030", r->line,
                            hex);
            }
            if (k == (size_t)-1 && e != EINVAL)
                return fail(r, DRIP_EINTERNAL, "line %ld: iconv: %s", r->line, strerror(e));
            /* EINVAL: an incomplete sequence at the end of the buffer; read on. */
        }
        int had = (int)(r->raw_len - r->raw_pos);
        int rc = raw_read(r);
        if (rc < 0) return rc;
        if (rc == 0) {
            if (had)
                return fail(r, DRIP_EBADMSG, "line %ld: truncated GB18030 sequence at end of file",
                            r->line);
            return 0;
        }
    }
}

csv_reader *csv_reader_create(FILE *f, csv_encoding enc)
{
    if (!f) return NULL;
    csv_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->f = f;
    r->enc = enc == CSV_ENC_GB18030 ? CSV_ENC_GB18030 : CSV_ENC_UTF8;
    r->decided = enc != CSV_ENC_AUTO;
    r->cd = (iconv_t)-1;
    r->line = 1;
    r->max_record = CSV_DEFAULT_MAX_RECORD;
    if (enc == CSV_ENC_GB18030) start_gb18030(r);
    return r;
}

void csv_reader_destroy(csv_reader *r)
{
    if (!r) return;
    if (r->cd != (iconv_t)-1) iconv_close(r->cd);
    free(r->rec);
    free(r->offs);
    free(r->fields);
    free(r);
}

void csv_reader_set_max_record(csv_reader *r, size_t bytes)
{
    if (r) r->max_record = bytes ? bytes : CSV_DEFAULT_MAX_RECORD;
}

static int rec_put(csv_reader *r, char c)
{
    if (r->rec_len == r->rec_cap) {
        if (r->rec_cap >= r->max_record)
            return fail(r, DRIP_ETOOLARGE, "line %ld: record longer than %zu bytes", r->rec_line,
                        r->max_record);
        r->rec_cap = r->rec_cap ? r->rec_cap * 2 : 4096;
        if (r->rec_cap > r->max_record + 1) r->rec_cap = r->max_record + 1;
        r->rec = xrealloc(r->rec, r->rec_cap);
    }
    r->rec[r->rec_len++] = c;
    return DRIP_OK;
}

/* Terminates the current field and records where it starts. */
static int end_field(csv_reader *r, size_t *nf, size_t *field_start)
{
    int rc = rec_put(r, '\0');
    if (rc) return rc;
    if (*nf == r->fcap) {
        r->fcap = r->fcap ? r->fcap * 2 : 32;
        r->offs = xrealloc(r->offs, r->fcap * sizeof *r->offs);
        r->fields = xrealloc(r->fields, (r->fcap + 1) * sizeof *r->fields);
    }
    r->offs[(*nf)++] = *field_start;
    *field_start = r->rec_len;
    return DRIP_OK;
}

/* Checks the finished record is UTF-8 (only needed when bytes were not produced by iconv). */
static int check_record_utf8(csv_reader *r)
{
    if (r->cd != (iconv_t)-1) return DRIP_OK;
    size_t v = codes_utf8_valid_prefix(r->rec, r->rec_len);
    if (v == r->rec_len) return DRIP_OK;
    long line = r->rec_line;
    for (size_t i = 0; i < v; i++)
        if (r->rec[i] == '\n' || (r->rec[i] == '\r' && (i + 1 >= v || r->rec[i + 1] != '\n')))
            line++;
    return fail(r, DRIP_EBADMSG,
                "line %ld: invalid UTF-8 (byte 0x%02X); if the file is GBK/GB18030, force that encoding",
                line, (unsigned char)r->rec[v]);
}

static int finish_record(csv_reader *r, size_t nf, char ***fields)
{
    int rc = check_record_utf8(r);
    if (rc) return rc;
    for (size_t i = 0; i < nf; i++) r->fields[i] = r->rec + r->offs[i];
    r->fields[nf] = NULL;
    *fields = r->fields;
    return (int)nf;
}

int csv_reader_next(csv_reader *r, char ***fields)
{
    if (!r || !fields) return DRIP_EINTERNAL;
    if (r->failed) return r->failed;
    int state = S_FIELD_START, quoted_any = 0, rc;
    size_t nf = 0, field_start = 0;
    long quote_line = 0;
    r->rec_len = 0;
    r->rec_line = r->line;
    for (;;) {
        if (r->cur_pos == r->cur_len) {
            rc = refill(r);
            if (rc < 0) return rc;
            if (rc == 0) break;
            if (!r->bom_done) {
                r->bom_done = 1;
                if (r->cur_len >= 3 && memcmp(r->cur, "\xEF\xBB\xBF", 3) == 0) r->cur_pos = 3;
                continue;
            }
        }
        char c = (char)r->cur[r->cur_pos++];
        int was_cr = r->saw_cr;
        r->saw_cr = 0;
        if (c == '\n' && was_cr) {
            /* CRLF: the line was counted at the CR, and outside quotes the record ended there. */
            if (state == S_QUOTED && (rc = rec_put(r, c))) return rc;
            continue;
        }
        if (c == '\r') {
            r->line++;
            r->saw_cr = 1;
        } else if (c == '\n') {
            r->line++;
        } else if (c == '\0') {
            return fail(r, DRIP_EBADMSG, "line %ld: NUL byte in input", r->line);
        }
        switch (state) {
        case S_FIELD_START:
            if (c == '"') {
                state = S_QUOTED;
                quoted_any = 1;
                quote_line = r->line;
                continue;
            }
            /* fall through */
        case S_UNQUOTED:
            if (c == ',') {
                if ((rc = end_field(r, &nf, &field_start))) return rc;
                state = S_FIELD_START;
            } else if (c == '\r' || c == '\n') {
                if (nf == 0 && r->rec_len == 0 && !quoted_any) {
                    r->rec_line = r->line; /* blank line */
                    continue;
                }
                if ((rc = end_field(r, &nf, &field_start))) return rc;
                return finish_record(r, nf, fields);
            } else {
                /* A stray quote inside an unquoted field is kept as data, as spreadsheets do. */
                if ((rc = rec_put(r, c))) return rc;
                state = S_UNQUOTED;
            }
            break;
        case S_QUOTED:
            if (c == '"')
                state = S_QUOTE_IN_QUOTED;
            else if ((rc = rec_put(r, c)))
                return rc;
            break;
        case S_QUOTE_IN_QUOTED:
            if (c == '"') {
                if ((rc = rec_put(r, c))) return rc;
                state = S_QUOTED;
            } else if (c == ',') {
                if ((rc = end_field(r, &nf, &field_start))) return rc;
                state = S_FIELD_START;
            } else if (c == '\r' || c == '\n') {
                if ((rc = end_field(r, &nf, &field_start))) return rc;
                return finish_record(r, nf, fields);
            } else {
                return fail(r, DRIP_EBADMSG,
                            "line %ld: unexpected character after the closing quote of a field",
                            r->line);
            }
            break;
        }
    }
    /* end of input */
    if (state == S_QUOTED)
        return fail(r, DRIP_EBADMSG,
                    "line %ld: unterminated quoted field (the quote opened there runs to the end "
                    "of the file)",
                    quote_line);
    if (nf == 0 && r->rec_len == 0 && !quoted_any) return 0;
    if ((rc = end_field(r, &nf, &field_start))) return rc;
    return finish_record(r, nf, fields);
}

long csv_reader_line(const csv_reader *r)
{
    return r ? r->rec_line : 0;
}

const char *csv_reader_error(const csv_reader *r)
{
    if (!r) return "no reader";
    return r->failed ? r->err : "";
}

csv_encoding csv_reader_encoding(const csv_reader *r)
{
    return r ? r->enc : CSV_ENC_AUTO;
}

void csv_write_field(FILE *f, const char *s)
{
    if (!s) return;
    if (!s[strcspn(s, ",\"\r\n")]) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}
