/* codes.c — validators for the identifier codes drip accepts (MISSION §8). Every rejection names
 * what is wrong, because operators fix spreadsheets from these messages. */
#include "codes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "status.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* Writes a reason if the caller asked for one. */
static void set_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(char *why, const char *fmt, ...)
{
    if (!why) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CODES_WHY_MAX, fmt, ap);
    va_end(ap);
}

static void clear_why(char *why)
{
    if (why) why[0] = '\0';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Describes one character for a message: printable ASCII quoted, anything else as a hex byte. */
static void describe_char(unsigned char c, char out[16])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02X", c);
}

/* ---- USCC ----------------------------------------------------------------------------------- */

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int USCC_WEIGHTS[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

/* Value of a USCC character (its index in the alphabet), or -1. */
static int uscc_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c < 'A' || c > 'Y') return -1;
    const char *p = strchr(USCC_ALPHABET + 10, c);
    return p ? (int)(p - USCC_ALPHABET) : -1;
}

char codes_uscc_check_char(const char *first17)
{
    if (!first17) return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int v = uscc_value(first17[i]);
        if (v < 0) return 0;
        sum += v * USCC_WEIGHTS[i];
    }
    int c = 31 - sum % 31;
    return USCC_ALPHABET[c == 31 ? 0 : c];
}

int codes_uscc_check(const char *uscc, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!uscc || !*uscc) {
        set_why(why, "empty USCC");
        return DRIP_EUSCC;
    }
    size_t len = strlen(uscc);
    /* Report a bad character first when it explains a wrong length (e.g. a full-width digit). */
    for (size_t i = 0; i < len && i < 18; i++) {
        if (uscc_value(uscc[i]) < 0) {
            char d[16];
            describe_char((unsigned char)uscc[i], d);
            const char *hint = "";
            if (uscc[i] >= 'a' && uscc[i] <= 'z') hint = " (letters must be upper-case)";
            else if (strchr("IOZSV", uscc[i])) hint = " (I, O, Z, S, V are not used)";
            set_why(why, "bad character %s at position %zu%s", d, i + 1, hint);
            return DRIP_EUSCC;
        }
    }
    if (len != 18) {
        set_why(why, "wrong length: %zu characters, expected 18", len);
        return DRIP_EUSCC;
    }
    char want = codes_uscc_check_char(uscc);
    if (want != uscc[17]) {
        set_why(why, "check digit is '%c', expected '%c'", uscc[17], want);
        return DRIP_EUSCC;
    }
    return DRIP_OK;
}

/* ---- region codes --------------------------------------------------------------------------- */

int codes_region_syntax(const char *code, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!code || !*code) {
        set_why(why, "empty region code");
        return DRIP_EREGION;
    }
    size_t len = strlen(code);
    for (size_t i = 0; i < len && i < 6; i++) {
        if (!is_digit(code[i])) {
            char d[16];
            describe_char((unsigned char)code[i], d);
            set_why(why, "region code has %s at position %zu, expected a digit", d, i + 1);
            return DRIP_EREGION;
        }
    }
    if (len != 6) {
        set_why(why, "region code has %zu characters, expected 6 digits", len);
        return DRIP_EREGION;
    }
    if (code[0] == '0' && code[1] == '0') {
        set_why(why, "region code %s has province part 00", code);
        return DRIP_EREGION;
    }
    if (code[2] == '0' && code[3] == '0' && !(code[4] == '0' && code[5] == '0')) {
        set_why(why, "region code %s has city part 00 but county part %.2s", code, code + 4);
        return DRIP_EREGION;
    }
    return DRIP_OK;
}

int codes_region_level(const char *code)
{
    if (codes_region_syntax(code, NULL) != DRIP_OK) return 0;
    if (memcmp(code + 2, "0000", 4) == 0) return 1;
    if (memcmp(code + 4, "00", 2) == 0) return 2;
    return 3;
}

void codes_region_parent(const char *code, char out[7])
{
    int level = codes_region_level(code);
    out[0] = '\0';
    if (level <= 1) return;
    memcpy(out, code, 6);
    out[6] = '\0';
    if (level == 3) {
        out[4] = out[5] = '0';
    } else {
        out[2] = out[3] = '0';
    }
}

void codes_region_tokens(const char *code, char out[9])
{
    if (codes_region_syntax(code, NULL) != DRIP_OK) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 9, "%.2s.%.2s.%.2s", code, code + 2, code + 4);
}

int codes_region_within(const char *code, const char *root)
{
    int rl = codes_region_level(root);
    if (rl == 0 || codes_region_level(code) == 0) return 0;
    size_t prefix = rl == 1 ? 2 : rl == 2 ? 4 : 6;
    return memcmp(code, root, prefix) == 0;
}

/* ---- region table --------------------------------------------------------------------------- */

/* Sorted array keyed by code: the table is small (a few thousand rows), loaded in code order
 * (appends), and needs ordered iteration for subtree scans, so a sorted array beats a hash. */
typedef struct {
    char code[7];
    char parent[7];
    int level;
    int county_level;
    char *name;
} region_row;

struct codes_regions {
    region_row *rows;
    size_t n, cap;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) abort(); /* out of memory: nothing sensible to do in a validator */
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

codes_regions *codes_regions_create(void)
{
    codes_regions *t = calloc(1, sizeof *t);
    if (!t) abort();
    return t;
}

void codes_regions_destroy(codes_regions *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) free(t->rows[i].name);
    free(t->rows);
    free(t);
}

/* Index of the first row with code >= `code` (binary search). */
static size_t regions_lower_bound(const codes_regions *t, const char *code)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->rows[mid].code, code, 6) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const region_row *regions_find(const codes_regions *t, const char *code)
{
    if (!t || !code || strlen(code) != 6) return NULL;
    size_t i = regions_lower_bound(t, code);
    if (i < t->n && memcmp(t->rows[i].code, code, 6) == 0) return &t->rows[i];
    return NULL;
}

int codes_regions_put(codes_regions *t, const char *code, const char *name, int level,
                      const char *parent)
{
    if (!t || !name || !*name) return DRIP_EVALUE;
    if (codes_region_syntax(code, NULL) != DRIP_OK) return DRIP_EREGION;
    if (level < 1 || level > 3) return DRIP_EVALUE;
    if (!parent) parent = "";
    size_t i = regions_lower_bound(t, code);
    int exists = i < t->n && memcmp(t->rows[i].code, code, 6) == 0;
    /* GB/T 2260 lists cities without districts (东莞市 441900) a second time as their own
     * county-level unit with themselves as parent: keep the city row and mark it county-level. */
    if (strcmp(parent, code) == 0) {
        if (!exists) return DRIP_EREGION;
        t->rows[i].county_level = 1;
        return DRIP_OK;
    }
    if (*parent && codes_region_syntax(parent, NULL) != DRIP_OK) return DRIP_EREGION;
    if (level == 1 && *parent) return DRIP_EREGION;
    if (level > 1 && !*parent) return DRIP_EREGION;
    if (*parent && !codes_region_within(code, parent)) return DRIP_EREGION;
    if (!exists) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 512;
            t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
        }
        memmove(&t->rows[i + 1], &t->rows[i], (t->n - i) * sizeof *t->rows);
        t->n++;
        memset(&t->rows[i], 0, sizeof t->rows[i]);
    } else {
        free(t->rows[i].name);
    }
    region_row *r = &t->rows[i];
    memcpy(r->code, code, 7);
    snprintf(r->parent, sizeof r->parent, "%s", parent);
    r->level = level;
    r->county_level = level == 3;
    r->name = xstrdup(name);
    return DRIP_OK;
}

static int level_from_word(const char *w)
{
    if (strcmp(w, "province") == 0) return 1;
    if (strcmp(w, "city") == 0) return 2;
    if (strcmp(w, "county") == 0) return 3;
    return 0;
}

int codes_regions_load(codes_regions *t, const char *path)
{
    if (!t || !path) return DRIP_EVALUE;
    FILE *f = fopen(path, "rb");
    if (!f) return DRIP_EIO;
    csv_reader *r = csv_reader_create(f, CSV_ENC_AUTO);
    if (!r) {
        fclose(f);
        return DRIP_ENOMEM;
    }
    char **fl;
    int n, loaded = 0, rc = DRIP_OK;
    n = csv_reader_next(r, &fl);
    if (n < 4 || strcmp(fl[0], "code") != 0 || strcmp(fl[1], "name") != 0 ||
        strcmp(fl[2], "level") != 0 || strcmp(fl[3], "parent") != 0) {
        rc = n < 0 ? n : DRIP_EBADMSG;
        goto out;
    }
    while ((n = csv_reader_next(r, &fl)) > 0) {
        int level = n >= 4 ? level_from_word(fl[2]) : 0;
        if (level == 0) {
            rc = DRIP_EBADMSG;
            goto out;
        }
        /* A self-parented "county" row is the alias of a city (see codes_regions_put). */
        if (strcmp(fl[3], fl[0]) == 0) level = codes_region_level(fl[0]);
        rc = codes_regions_put(t, fl[0], fl[1], level, fl[3]);
        if (rc != DRIP_OK) goto out;
        loaded++;
    }
    if (n < 0) rc = n;
out:
    csv_reader_destroy(r);
    fclose(f);
    return rc == DRIP_OK ? loaded : rc;
}

const char *codes_regions_name(const codes_regions *t, const char *code)
{
    const region_row *r = regions_find(t, code);
    return r ? r->name : NULL;
}

size_t codes_regions_count(const codes_regions *t)
{
    return t ? t->n : 0;
}

static void fill_info(const region_row *r, codes_region_info *out)
{
    out->code = r->code;
    out->name = r->name;
    out->level = r->level;
    out->parent = r->parent;
    out->county_level = r->county_level;
}

int codes_regions_get(const codes_regions *t, const char *code, codes_region_info *out)
{
    const region_row *r = regions_find(t, code);
    if (!r) return DRIP_ENOTFOUND;
    if (out) fill_info(r, out);
    return DRIP_OK;
}

int codes_regions_at(const codes_regions *t, size_t i, codes_region_info *out)
{
    if (!t || i >= t->n) return DRIP_ENOTFOUND;
    if (out) fill_info(&t->rows[i], out);
    return DRIP_OK;
}

int codes_region_check(const codes_regions *t, const char *code, char why[CODES_WHY_MAX])
{
    int rc = codes_region_syntax(code, why);
    if (rc != DRIP_OK) return rc;
    if (!regions_find(t, code)) {
        set_why(why, "region %s is not in the region table", code);
        return DRIP_EREGION;
    }
    return DRIP_OK;
}

/* ---- dates ---------------------------------------------------------------------------------- */

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void codes_date_civil(int32_t days, int *year, int *month, int *day)
{
    int32_t z = days + 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t y = yoe + era * 400;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    int32_t d = doy - (153 * mp + 2) / 5 + 1;
    int32_t m = mp < 10 ? mp + 3 : mp - 9;
    if (year) *year = (int)(y + (m <= 2));
    if (month) *month = (int)m;
    if (day) *day = (int)d;
}

int32_t codes_date_make(int year, int month, int day)
{
    return days_from_civil(year, month, day);
}

int codes_date_parse(const char *s, int32_t *days, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!s || !*s) {
        set_why(why, "empty date");
        return DRIP_EDATE;
    }
    size_t len = strlen(s);
    int shape_ok = len == 10 && s[4] == '-' && s[7] == '-';
    for (size_t i = 0; shape_ok && i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i])) shape_ok = 0;
    if (!shape_ok) {
        set_why(why, "date \"%.24s\" is not in the form YYYY-MM-DD", s);
        return DRIP_EDATE;
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || y > 2100) {
        set_why(why, "year %d out of range 1900..2100", y);
        return DRIP_EDATE;
    }
    if (m < 1 || m > 12) {
        set_why(why, "month %02d out of range 01..12", m);
        return DRIP_EDATE;
    }
    int dim = days_in_month(y, m);
    if (d < 1 || d > dim) {
        set_why(why, "day %02d out of range for %04d-%02d (%d days)", d, y, m, dim);
        return DRIP_EDATE;
    }
    if (days) *days = days_from_civil(y, m, d);
    return DRIP_OK;
}

void codes_date_format(int32_t days, char out[11])
{
    int y, m, d;
    codes_date_civil(days, &y, &m, &d);
    if (y < 0 || y > 9999) y = m = d = 0; /* unrepresentable: never a valid date */
    /* Digit by digit: hot in bulk exports, and provably fits the 11 bytes. */
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int codes_date_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday (index 3 with Monday = 0). */
    int r = (int)(days % 7);
    if (r < 0) r += 7;
    return (r + 3) % 7;
}

int32_t codes_date_today_cst(void)
{
    int64_t t = (int64_t)time(NULL) + 8 * 3600;
    int64_t d = t / 86400;
    if (t < 0 && t % 86400) d--;
    return (int32_t)d;
}

/* ---- departments, identifiers, text --------------------------------------------------------- */

int codes_dept_check(const char *code, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!code || !*code) {
        set_why(why, "empty department code");
        return DRIP_EVALUE;
    }
    size_t len = strlen(code);
    for (size_t i = 0; i < len; i++) {
        char c = code[i];
        if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_')) {
            char d[16];
            describe_char((unsigned char)c, d);
            set_why(why, "department code has %s at position %zu, allowed: A-Z 0-9 _", d, i + 1);
            return DRIP_EVALUE;
        }
    }
    if (len > 32) {
        set_why(why, "department code has %zu characters, max 32", len);
        return DRIP_EVALUE;
    }
    return DRIP_OK;
}

int codes_ident_check(const char *s, size_t max, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!s || !*s) {
        set_why(why, "empty identifier");
        return DRIP_EVALUE;
    }
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
              c == '.' || c == '-')) {
            char d[16];
            describe_char((unsigned char)c, d);
            set_why(why, "identifier has %s at position %zu, allowed: A-Z a-z 0-9 _ . -", d, i + 1);
            return DRIP_EVALUE;
        }
    }
    if (len > max) {
        set_why(why, "identifier has %zu characters, max %zu", len, max);
        return DRIP_EVALUE;
    }
    return DRIP_OK;
}

/* Decodes one UTF-8 sequence at s[0..n). Returns its length and sets *cp, or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

size_t codes_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (!l) break;
        i += l;
    }
    return i;
}

int codes_text_check(const char *s, size_t min_chars, size_t max_chars, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!s || !*s) {
        if (min_chars == 0) return DRIP_OK;
        set_why(why, "empty text");
        return DRIP_EMISSING;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, chars = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (!l) {
            set_why(why, "invalid UTF-8 (byte 0x%02X) at byte %zu", p[i], i + 1);
            return DRIP_EVALUE;
        }
        chars++;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            set_why(why, "control character U+%04X at character %zu", (unsigned)cp, chars);
            return DRIP_EVALUE;
        }
        i += l;
    }
    if (chars < min_chars) {
        set_why(why, "too short: %zu characters, min %zu", chars, min_chars);
        return DRIP_EVALUE;
    }
    if (max_chars && chars > max_chars) {
        set_why(why, "too long: %zu characters, max %zu", chars, max_chars);
        return DRIP_EVALUE;
    }
    return DRIP_OK;
}

/* ---- industry (GB/T 4754-2017) -------------------------------------------------------------- */

/* First and last two-digit division of each section A..T. */
static const struct {
    int lo, hi;
} SECTIONS[20] = {
    {1, 5},   {6, 12},  {13, 43}, {44, 46}, {47, 50}, {51, 52}, {53, 60},
    {61, 62}, {63, 65}, {66, 69}, {70, 70}, {71, 72}, {73, 75}, {76, 79},
    {80, 82}, {83, 83}, {84, 85}, {86, 90}, {91, 96}, {97, 97},
};

int codes_industry_check(const char *s, char why[CODES_WHY_MAX])
{
    clear_why(why);
    if (!s || !*s) {
        set_why(why, "empty industry code");
        return DRIP_EVALUE;
    }
    if (s[0] < 'A' || s[0] > 'T') {
        char d[16];
        describe_char((unsigned char)s[0], d);
        set_why(why, "industry code starts with %s, expected a section letter A..T", d);
        return DRIP_EVALUE;
    }
    size_t len = strlen(s);
    for (size_t i = 1; i < len; i++) {
        if (!is_digit(s[i])) {
            char d[16];
            describe_char((unsigned char)s[i], d);
            set_why(why, "industry code has %s at position %zu, expected a digit", d, i + 1);
            return DRIP_EVALUE;
        }
    }
    if (len == 1) return DRIP_OK;
    if (len < 3 || len > 5) {
        set_why(why, "industry code \"%.16s\" must be a letter and 2, 3 or 4 digits", s);
        return DRIP_EVALUE;
    }
    int div = (s[1] - '0') * 10 + (s[2] - '0');
    int sec = s[0] - 'A';
    if (div < SECTIONS[sec].lo || div > SECTIONS[sec].hi) {
        set_why(why, "industry division %02d is not in section %c (%02d..%02d)", div, s[0],
                SECTIONS[sec].lo, SECTIONS[sec].hi);
        return DRIP_EVALUE;
    }
    return DRIP_OK;
}
