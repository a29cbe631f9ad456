#include "json_parse.h"

#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define DEFAULT_DEPTH 64
#define HARD_DEPTH 1000
#define DEFAULT_SIZE ((size_t)16 << 20)
#define CHUNK_SIZE ((size_t)64 << 10)

/* ------------------------------------------------------------------------------------------------
 * Pool: every node and string of a document, freed together
 * ---------------------------------------------------------------------------------------------- */

typedef struct pchunk {
    struct pchunk *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
} pchunk;

struct jsonp_doc {
    pchunk *chunks;
    const jsonp_value *root;
};

static void *pool_alloc(jsonp_doc *d, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = n ? (n + align - 1) / align * align : align;
    pchunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void jsonp_free(jsonp_doc *d)
{
    if (!d) return;
    for (pchunk *c = d->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(d);
}

const jsonp_value *jsonp_root(const jsonp_doc *d)
{
    return d ? d->root : NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Parser state
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *start, *p, *end;
    int line;
    const unsigned char *col_ptr; /* a known position on the current line ... */
    int col;                      /* ... and its column */
    size_t max_depth;
    jsonp_doc *doc;
    /* scratch stacks: children of the open containers, copied into the pool when one closes */
    const jsonp_value **vals;
    size_t nvals, capvals;
    jsonp_member *mems;
    size_t nmems, capmems;
    char *buf; /* decoded string being built */
    size_t nbuf, capbuf;
    jsonp_error *err;
    int status;
} parser;

/* Column of position q (q at or after the last position asked for on this line). */
static int column_at(parser *P, const unsigned char *q)
{
    while (P->col_ptr < q) {
        if ((*P->col_ptr & 0xC0) != 0x80) P->col++;
        P->col_ptr++;
    }
    return P->col;
}

static int fail(parser *P, const unsigned char *q, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(parser *P, const unsigned char *q, int status, const char *fmt, ...)
{
    if (P->status != DRIP_OK) return P->status; /* the first error wins */
    P->status = status;
    if (!P->err) return status;
    int col = column_at(P, q);
    P->err->line = P->line;
    P->err->col = col;
    P->err->offset = (size_t)(q - P->start);
    int n = snprintf(P->err->msg, sizeof P->err->msg, "%d:%d: ", P->line, col);
    if (n < 0) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err->msg + n, sizeof P->err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}

static int no_memory(parser *P)
{
    if (P->status == DRIP_OK && P->err) {
        P->err->line = P->err->col = 0;
        snprintf(P->err->msg, sizeof P->err->msg, "out of memory");
    }
    if (P->status == DRIP_OK) P->status = DRIP_ENOMEM;
    return P->status;
}

/* Length of the well-formed UTF-8 sequence at s (1..4, at most `avail` bytes), 0 if none; the code
 * point goes to *cp. */
static int utf8_decode(const unsigned char *s, size_t avail, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)n > avail) return 0;
    unsigned v = c & (0x7Fu >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

/* Words for what sits at q in an error message: 'x', '字', end of input, byte 0xNN. */
static const char *describe(const parser *P, const unsigned char *q, char out[32])
{
    if (q >= P->end) return "end of input";
    unsigned cp;
    int n = utf8_decode(q, (size_t)(P->end - q), &cp);
    if (n == 0) {
        snprintf(out, 32, "byte 0x%02X", *q);
    } else if (cp < 0x20 || cp == 0x7F) {
        snprintf(out, 32, "control character U+%04X", cp);
    } else {
        out[0] = '\'';
        memcpy(out + 1, q, (size_t)n);
        out[n + 1] = '\'';
        out[n + 2] = '\0';
    }
    return out;
}

static void skip_ws(parser *P)
{
    while (P->p < P->end) {
        unsigned char c = *P->p;
        if (c == '\n') {
            P->line++;
            P->p++;
            P->col_ptr = P->p;
            P->col = 1;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            P->p++;
        } else {
            break;
        }
    }
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    void *nv = realloc(*v, nc * elem);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

static jsonp_value *new_value(parser *P, jsonp_type t, const unsigned char *at)
{
    jsonp_value *v = pool_alloc(P->doc, sizeof *v);
    if (!v) {
        no_memory(P);
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = t;
    v->line = P->line;
    v->col = column_at(P, at);
    return v;
}

static int parse_value(parser *P, size_t depth, const jsonp_value **out);

/* ------------------------------------------------------------------------------------------------
 * Scalars
 * ---------------------------------------------------------------------------------------------- */

static int parse_literal(parser *P, const jsonp_value **out)
{
    static const struct {
        const char *word;
        jsonp_type type;
        int b;
    } lits[] = {{"true", JSONP_BOOL, 1}, {"false", JSONP_BOOL, 0}, {"null", JSONP_NULL, 0}};
    const unsigned char *at = P->p;
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen(lits[i].word);
        if ((size_t)(P->end - at) >= n && memcmp(at, lits[i].word, n) == 0) {
            const unsigned char *after = at + n;
            if (after < P->end &&
                ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') ||
                 (*after >= '0' && *after <= '9') || *after == '_'))
                break;
            jsonp_value *v = new_value(P, lits[i].type, at);
            if (!v) return P->status;
            v->boolean = lits[i].b;
            P->p = after;
            *out = v;
            return DRIP_OK;
        }
    }
    return fail(P, at, DRIP_EBADMSG,
                "invalid literal: expected true, false or null (strings need double quotes)");
}

static int is_digit(const unsigned char *q, const unsigned char *end)
{
    return q < end && *q >= '0' && *q <= '9';
}

static int parse_number(parser *P, const jsonp_value **out)
{
    const unsigned char *at = P->p, *q = P->p, *end = P->end;
    if (*q == '-') q++;
    if (!is_digit(q, end)) return fail(P, q, DRIP_EBADMSG, "expected a digit after '-'");
    if (*q == '0') {
        q++;
        if (is_digit(q, end))
            return fail(P, at, DRIP_EBADMSG, "numbers must not have leading zeros");
    } else {
        while (is_digit(q, end))
            q++;
    }
    if (q < end && *q == '.') {
        q++;
        if (!is_digit(q, end)) return fail(P, q, DRIP_EBADMSG, "expected a digit after '.'");
        while (is_digit(q, end))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (!is_digit(q, end)) return fail(P, q, DRIP_EBADMSG, "expected a digit in the exponent");
        while (is_digit(q, end))
            q++;
    }
    jsonp_value *v = new_value(P, JSONP_NUMBER, at);
    size_t n = (size_t)(q - at);
    char *text = v ? pool_alloc(P->doc, n + 1) : NULL;
    if (!text) return no_memory(P);
    memcpy(text, at, n);
    text[n] = '\0';
    v->number = text;
    v->number_value = strtod(text, NULL);
    P->p = q;
    *out = v;
    return DRIP_OK;
}

static int hex4(const unsigned char *q, const unsigned char *end, unsigned *out)
{
    if (end - q < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = q[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static int buf_put(parser *P, const void *s, size_t n)
{
    if (grow((void **)&P->buf, &P->capbuf, P->nbuf + n + 1, 1) != 0) return no_memory(P);
    memcpy(P->buf + P->nbuf, s, n);
    P->nbuf += n;
    return DRIP_OK;
}

static int buf_put_cp(parser *P, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(P, u, n);
}

/* \uXXXX at q (q at the backslash), with a following low surrogate when XXXX is a high one.
 * Advances *qp past what it consumed. */
static int parse_u_escape(parser *P, const unsigned char **qp)
{
    const unsigned char *q = *qp, *end = P->end;
    unsigned hi;
    if (hex4(q + 2, end, &hi) != 0)
        return fail(P, q, DRIP_EBADMSG, "\\u must be followed by four hex digits");
    unsigned cp = hi;
    q += 6;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(P, *qp, DRIP_EBADMSG, "lone low surrogate \\u%04X", hi);
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        unsigned lo;
        if (end - q < 2 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, end, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail(
                P, *qp, DRIP_EBADMSG,
                "high surrogate \\u%04X must be followed by a \\u low surrogate (DC00-DFFF)", hi);
        cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        q += 6;
    }
    if (cp == 0) return fail(P, *qp, DRIP_EBADMSG, "\\u0000 (NUL) is not allowed in strings");
    *qp = q;
    return buf_put_cp(P, cp);
}

static int parse_escape(parser *P, const unsigned char **qp)
{
    const unsigned char *q = *qp;
    if (q + 1 >= P->end) return fail(P, q, DRIP_EBADMSG, "unterminated string");
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = q[1] ? strchr(from, q[1]) : NULL;
    if (hit) {
        *qp = q + 2;
        return buf_put(P, &to[hit - from], 1);
    }
    if (q[1] == 'u') return parse_u_escape(P, qp);
    char d[32];
    return fail(P, q, DRIP_EBADMSG,
                "invalid escape: backslash followed by %s (expected one of \\\" \\\\ \\/ \\b "
                "\\f \\n \\r \\t \\uXXXX)",
                describe(P, q + 1, d));
}

/* Decodes the string at P->p (the opening quote) into P->buf (P->nbuf bytes) and moves past it. */
static int scan_string(parser *P)
{
    const unsigned char *open = P->p, *q = P->p + 1, *end = P->end;
    P->nbuf = 0;
    for (;;) {
        if (q >= end) return fail(P, open, DRIP_EBADMSG, "unterminated string");
        unsigned c = *q;
        if (c == '"') break;
        if (c == '\\') {
            if (parse_escape(P, &q) != DRIP_OK) return P->status;
            continue;
        }
        if (c < 0x20) {
            return fail(P, q, DRIP_EBADMSG,
                        c == '\n' ? "unterminated string (raw line break; write \\n)"
                                  : "control character U+%04X in a string must be "
                                    "escaped",
                        c);
        }
        const unsigned char *run = q; /* copy a run of plain characters at once */
        while (q < end && *q != '"' && *q != '\\' && *q >= 0x20) {
            unsigned cp;
            int n = utf8_decode(q, (size_t)(end - q), &cp);
            if (n == 0) {
                if (buf_put(P, run, (size_t)(q - run)) != DRIP_OK) return P->status;
                return fail(P, q, DRIP_EBADMSG, "invalid UTF-8 (byte 0x%02X)", *q);
            }
            q += n;
        }
        if (buf_put(P, run, (size_t)(q - run)) != DRIP_OK) return P->status;
    }
    P->p = q + 1;
    return DRIP_OK;
}

static char *pool_string(parser *P)
{
    char *s = pool_alloc(P->doc, P->nbuf + 1);
    if (!s) {
        no_memory(P);
        return NULL;
    }
    if (P->nbuf) memcpy(s, P->buf, P->nbuf);
    s[P->nbuf] = '\0';
    return s;
}

static int parse_string(parser *P, const jsonp_value **out)
{
    const unsigned char *at = P->p;
    jsonp_value *v = new_value(P, JSONP_STRING, at);
    if (!v || scan_string(P) != DRIP_OK) return P->status;
    if (!(v->string = pool_string(P))) return P->status;
    v->string_len = P->nbuf;
    *out = v;
    return DRIP_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Containers
 * ---------------------------------------------------------------------------------------------- */

static int enter(parser *P, const unsigned char *at, size_t depth)
{
    if (depth >= P->max_depth)
        return fail(P, at, DRIP_ETOOLARGE, "nesting deeper than %zu levels", P->max_depth);
    return DRIP_OK;
}

static int parse_array(parser *P, size_t depth, const jsonp_value **out)
{
    const unsigned char *open = P->p;
    jsonp_value *v = new_value(P, JSONP_ARRAY, open);
    if (!v || enter(P, open, depth) != DRIP_OK) return P->status;
    int oline = v->line, ocol = v->col;
    size_t base = P->nvals;
    P->p++;
    skip_ws(P);
    if (P->p < P->end && *P->p == ']') {
        P->p++;
        *out = v;
        return DRIP_OK;
    }
    for (;;) {
        const jsonp_value *item = NULL;
        if (parse_value(P, depth + 1, &item) != DRIP_OK) return P->status;
        if (grow((void **)&P->vals, &P->capvals, P->nvals + 1, sizeof *P->vals) != 0)
            return no_memory(P);
        P->vals[P->nvals++] = item;
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            skip_ws(P);
            if (P->p < P->end && *P->p == ']')
                return fail(P, P->p, DRIP_EBADMSG, "trailing comma before ']'");
            continue;
        }
        if (P->p < P->end && *P->p == ']') break;
        char d[32];
        return fail(P, P->p, DRIP_EBADMSG,
                    "expected ',' or ']' after an element of the array opened at %d:%d, found %s",
                    oline, ocol, describe(P, P->p, d));
    }
    P->p++;
    size_t n = P->nvals - base;
    const jsonp_value **items = pool_alloc(P->doc, n * sizeof *items);
    if (!items) return no_memory(P);
    memcpy(items, P->vals + base, n * sizeof *items);
    P->nvals = base;
    v->items = items;
    v->n = n;
    *out = v;
    return DRIP_OK;
}

static int member_cmp(const void *x, const void *y)
{
    const jsonp_member *a = *(const jsonp_member *const *)x, *b = *(const jsonp_member *const *)y;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c) return c;
    if (a->key_len != b->key_len) return a->key_len < b->key_len ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

/* Rejects a key that occurs twice (reporting the later occurrence). O(n log n). */
static int check_duplicates(parser *P, const jsonp_member *m, size_t n)
{
    if (n < 2) return DRIP_OK;
    const jsonp_member **s = malloc(n * sizeof *s);
    if (!s) return no_memory(P);
    for (size_t i = 0; i < n; i++)
        s[i] = &m[i];
    qsort(s, n, sizeof *s, member_cmp);
    for (size_t i = 1; i < n; i++)
        if (s[i]->key_len == s[i - 1]->key_len &&
            memcmp(s[i]->key, s[i - 1]->key, s[i]->key_len) == 0) {
            const jsonp_member *first = s[i - 1], *dup = s[i];
            free(s);
            P->status = DRIP_EBADMSG;
            if (P->err) {
                P->err->line = dup->line;
                P->err->col = dup->col;
                P->err->offset = 0;
                snprintf(P->err->msg, sizeof P->err->msg,
                         "%d:%d: duplicate key \"%.60s\" (first at %d:%d)", dup->line, dup->col,
                         dup->key, first->line, first->col);
            }
            return P->status;
        }
    free(s);
    return DRIP_OK;
}

static int parse_member(parser *P, size_t depth, int oline, int ocol)
{
    skip_ws(P);
    char d[32];
    if (P->p >= P->end || *P->p != '"')
        return fail(P, P->p, DRIP_EBADMSG,
                    "expected a \"key\" in the object opened at %d:%d, found %s", oline, ocol,
                    describe(P, P->p, d));
    jsonp_member m;
    m.line = P->line;
    m.col = column_at(P, P->p);
    if (scan_string(P) != DRIP_OK) return P->status;
    if (!(m.key = pool_string(P))) return P->status;
    m.key_len = P->nbuf;
    skip_ws(P);
    if (P->p >= P->end || *P->p != ':')
        return fail(P, P->p, DRIP_EBADMSG, "expected ':' after the key \"%.60s\", found %s", m.key,
                    describe(P, P->p, d));
    P->p++;
    const jsonp_value *val = NULL;
    if (parse_value(P, depth + 1, &val) != DRIP_OK) return P->status;
    m.value = val;
    if (grow((void **)&P->mems, &P->capmems, P->nmems + 1, sizeof *P->mems) != 0)
        return no_memory(P);
    P->mems[P->nmems++] = m;
    return DRIP_OK;
}

static int parse_object(parser *P, size_t depth, const jsonp_value **out)
{
    const unsigned char *open = P->p;
    jsonp_value *v = new_value(P, JSONP_OBJECT, open);
    if (!v || enter(P, open, depth) != DRIP_OK) return P->status;
    int oline = v->line, ocol = v->col;
    size_t base = P->nmems;
    P->p++;
    skip_ws(P);
    if (P->p < P->end && *P->p == '}') {
        P->p++;
        *out = v;
        return DRIP_OK;
    }
    for (;;) {
        if (parse_member(P, depth, oline, ocol) != DRIP_OK) return P->status;
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            skip_ws(P);
            if (P->p < P->end && *P->p == '}')
                return fail(P, P->p, DRIP_EBADMSG, "trailing comma before '}'");
            continue;
        }
        if (P->p < P->end && *P->p == '}') break;
        char d[32];
        return fail(P, P->p, DRIP_EBADMSG,
                    "expected ',' or '}' after a member of the object opened at %d:%d, found %s",
                    oline, ocol, describe(P, P->p, d));
    }
    P->p++;
    size_t n = P->nmems - base;
    jsonp_member *m = pool_alloc(P->doc, n * sizeof *m);
    if (!m) return no_memory(P);
    memcpy(m, P->mems + base, n * sizeof *m);
    P->nmems = base;
    if (check_duplicates(P, m, n) != DRIP_OK) return P->status;
    v->members = m;
    v->n = n;
    *out = v;
    return DRIP_OK;
}

static int parse_value(parser *P, size_t depth, const jsonp_value **out)
{
    skip_ws(P);
    char d[32];
    if (P->p >= P->end) return fail(P, P->p, DRIP_EBADMSG, "expected a value, found end of input");
    switch (*P->p) {
    case '{':
        return parse_object(P, depth, out);
    case '[':
        return parse_array(P, depth, out);
    case '"':
        return parse_string(P, out);
    case 't':
    case 'f':
    case 'n':
        return parse_literal(P, out);
    case '-':
        return parse_number(P, out);
    default:
        if (*P->p >= '0' && *P->p <= '9') return parse_number(P, out);
        if (*P->p == '+' || *P->p == '.')
            return fail(P, P->p, DRIP_EBADMSG, "numbers start with '-' or a digit, found %s",
                        describe(P, P->p, d));
        if (*P->p == '\'')
            return fail(P, P->p, DRIP_EBADMSG, "strings take double quotes, not single quotes");
        if (*P->p == '/') return fail(P, P->p, DRIP_EBADMSG, "comments are not allowed in JSON");
        return fail(P, P->p, DRIP_EBADMSG,
                    "expected a value (object, array, string, number, true, false or null), "
                    "found %s",
                    describe(P, P->p, d));
    }
}

/* ------------------------------------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------------------------------- */

static void no_position(jsonp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void no_position(jsonp_error *err, const char *fmt, ...)
{
    if (!err) return;
    err->line = err->col = 0;
    err->offset = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static size_t limit_size(const jsonp_limits *lim)
{
    return lim && lim->max_size ? lim->max_size : DEFAULT_SIZE;
}

int jsonp_parse(const char *text, size_t len, const jsonp_limits *lim, jsonp_doc **out,
                jsonp_error *err)
{
    *out = NULL;
    if (err) memset(err, 0, sizeof *err);
    size_t max_size = limit_size(lim);
    if (len > max_size) {
        no_position(err, "document is %zu bytes, over the limit of %zu", len, max_size);
        return DRIP_ETOOLARGE;
    }
    parser P;
    memset(&P, 0, sizeof P);
    P.start = P.p = (const unsigned char *)text;
    P.end = P.start + len;
    P.line = P.col = 1;
    P.col_ptr = P.p;
    P.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
    if (P.max_depth > HARD_DEPTH) P.max_depth = HARD_DEPTH;
    P.err = err;
    P.doc = calloc(1, sizeof *P.doc);
    if (!P.doc) {
        no_position(err, "out of memory");
        return DRIP_ENOMEM;
    }
    if (len >= 3 && memcmp(P.p, "\xEF\xBB\xBF", 3) == 0) { /* byte order mark */
        P.p += 3;
        P.col_ptr = P.p;
    }
    const jsonp_value *root = NULL;
    skip_ws(&P);
    if (P.p >= P.end) {
        fail(&P, P.p, DRIP_EBADMSG, "empty document (expected a JSON value)");
    } else if (parse_value(&P, 0, &root) == DRIP_OK) {
        skip_ws(&P);
        char d[32];
        if (P.p < P.end)
            fail(&P, P.p, DRIP_EBADMSG, "unexpected %s after the end of the JSON value",
                 describe(&P, P.p, d));
    }
    free(P.vals);
    free(P.mems);
    free(P.buf);
    if (P.status != DRIP_OK) {
        jsonp_free(P.doc);
        return P.status;
    }
    P.doc->root = root;
    *out = P.doc;
    return DRIP_OK;
}

/* Reads all of f (up to max bytes + 1) into a malloc'd buffer. */
static int slurp(FILE *f, size_t max, char **data, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) return DRIP_ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return DRIP_ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        return DRIP_EIO;
    }
    *data = buf;
    *len = n;
    return DRIP_OK;
}

int jsonp_parse_file(const char *path, const jsonp_limits *lim, jsonp_doc **out, jsonp_error *err)
{
    *out = NULL;
    if (err) memset(err, 0, sizeof *err);
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        no_position(err, "cannot open %s: %s", path, strerror(errno));
        return DRIP_EIO;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = slurp(f, limit_size(lim), &data, &len);
    int saved = errno;
    if (!is_stdin) fclose(f);
    if (rc == DRIP_EIO) {
        no_position(err, "cannot read %s: %s", path, strerror(saved));
        return rc;
    }
    if (rc != DRIP_OK) {
        no_position(err, "out of memory reading %s", path);
        return rc;
    }
    rc = jsonp_parse(data, len, lim, out, err);
    free(data);
    return rc;
}

const jsonp_value *jsonp_get(const jsonp_value *v, const char *key)
{
    if (!v || v->type != JSONP_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->n; i++)
        if (v->members[i].key_len == kl && memcmp(v->members[i].key, key, kl) == 0)
            return v->members[i].value;
    return NULL;
}

const char *jsonp_type_name(jsonp_type t)
{
    switch (t) {
    case JSONP_NULL:
        return "null";
    case JSONP_BOOL:
        return "boolean";
    case JSONP_NUMBER:
        return "number";
    case JSONP_STRING:
        return "string";
    case JSONP_ARRAY:
        return "array";
    case JSONP_OBJECT:
        return "object";
    }
    return "?";
}

int jsonp_int64(const jsonp_value *v, int64_t min, int64_t max, int64_t *out)
{
    if (!v || v->type != JSONP_NUMBER || strpbrk(v->number, ".eE")) return DRIP_EVALUE;
    errno = 0;
    char *end = NULL;
    long long x = strtoll(v->number, &end, 10);
    if (errno == ERANGE || !end || *end != '\0' || x < min || x > max) return DRIP_EVALUE;
    *out = (int64_t)x;
    return DRIP_OK;
}
