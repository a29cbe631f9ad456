#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void json_init(json_writer *w, FILE *f, int pretty)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->pretty = pretty;
}

static void indent(json_writer *w)
{
    if (!w->pretty) return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

/* Separator before a value (or key): comma between siblings, newline+indent when pretty. */
static void before_value(json_writer *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->count[w->depth] > 0) fputc(',', w->f);
        indent(w);
    }
    if (w->depth < JSON_MAX_DEPTH) w->count[w->depth]++;
}

static void begin(json_writer *w, char c)
{
    before_value(w);
    fputc(c, w->f);
    if (w->depth + 1 < JSON_MAX_DEPTH) {
        w->depth++;
        w->count[w->depth] = 0;
    }
}

static void end(json_writer *w, char c)
{
    int had = w->count[w->depth] > 0;
    if (w->depth > 0) w->depth--;
    if (had) indent(w);
    fputc(c, w->f);
}

void json_begin_object(json_writer *w) { begin(w, '{'); }
void json_end_object(json_writer *w) { end(w, '}'); }
void json_begin_array(json_writer *w) { begin(w, '['); }
void json_end_array(json_writer *w) { end(w, ']'); }

void json_key(json_writer *w, const char *key)
{
    before_value(w);
    fputc('"', w->f);
    json_write_escaped(w->f, key);
    fputs(w->pretty ? "\": " : "\":", w->f);
    w->after_key = 1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) return 1;
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
    unsigned cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL terminator */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

void json_write_escaped(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            p++;
        } else {
            int n = utf8_len(p);
            if (n == 0) {
                fputs("\xEF\xBF\xBD", f); /* U+FFFD for one bad byte, then resynchronise */
                p++;
            } else {
                fwrite(p, 1, (size_t)n, f);
                p += n;
            }
        }
    }
}

void json_string(json_writer *w, const char *s)
{
    if (!s) {
        json_null(w);
        return;
    }
    before_value(w);
    fputc('"', w->f);
    json_write_escaped(w->f, s);
    fputc('"', w->f);
}

void json_int(json_writer *w, int64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRId64, v);
}

void json_uint(json_writer *w, uint64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void json_double(json_writer *w, double v)
{
    before_value(w);
    if (isfinite(v))
        fprintf(w->f, "%.17g", v);
    else
        fputs("null", w->f); /* JSON has no NaN/Infinity */
}

void json_bool(json_writer *w, int v)
{
    before_value(w);
    fputs(v ? "true" : "false", w->f);
}

void json_null(json_writer *w)
{
    before_value(w);
    fputs("null", w->f);
}

void json_finish(json_writer *w)
{
    fputc('\n', w->f);
    w->depth = 0;
    w->count[0] = 0;
    w->after_key = 0;
}

void json_kv_str(json_writer *w, const char *k, const char *v)
{
    json_key(w, k);
    json_string(w, v);
}

void json_kv_opt_uint(json_writer *w, const char *k, int has, uint64_t v)
{
    json_key(w, k);
    if (has)
        json_uint(w, v);
    else
        json_null(w);
}

void json_kv_opt_bool(json_writer *w, const char *k, int has, int v)
{
    json_key(w, k);
    if (has)
        json_bool(w, v);
    else
        json_null(w);
}

void json_kv_str_list(json_writer *w, const char *k, char **v, size_t n)
{
    json_key(w, k);
    json_begin_array(w);
    for (size_t i = 0; i < n; i++) json_string(w, v[i]);
    json_end_array(w);
}
