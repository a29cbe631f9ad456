/* gen.c — `dripctl gen`: realistic synthetic directory data for demos, load tests and the seeds.
 *
 *   dripctl gen enterprises --count N [--seed S] [--regions 130000,630000] [--bad-ratio P] [-o FILE]
 *   dripctl gen inspectors --count N --dept CODE --region R [--seed S] [--today YYYY-MM-DD]
 *                          [--quals 食品安全;计量] [-o FILE]
 *   dripctl gen items --dept CODE --count N [--seed S] [-o FILE]
 *   common: [--regions-file PATH] (default $DRIP_SOURCE_DIR/data/regions-gbt2260.csv, then
 *           ./data/regions-gbt2260.csv)
 *
 * Output is UTF-8 CSV with a header, streamed through a fixed buffer (constant memory, no per-row
 * allocation) and fully determined by --seed (xoshiro256** seeded through splitmix64) — except
 * inspectors' certificate expiry, which is relative to --today (default: today in UTC+8).
 * USCCs are unique within a run: their organisation-code part is a seed-keyed permutation of a
 * counter, not a random draw, so no set of issued codes has to be remembered. */
#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "status.h"

/* Exit statuses follow dripctl's: 0 ok, 1 bad arguments / unreadable input (and write errors). */
enum { GEN_EXIT_OK = 0, GEN_EXIT_USAGE = 1, GEN_EXIT_FAIL = 1 };

#define COUNT_ARRAY(a) (sizeof(a) / sizeof *(a))

/* ---- PRNG: xoshiro256** (fast, good quality, reproducible across platforms) ------------------ */

typedef struct {
    uint64_t s[4];
} gen_rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(gen_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32, irrelevant for test data). */
static inline uint32_t rng_below(gen_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in (0, 1]: never 0, so log() is safe. */
static inline double rng_unit(gen_rng *r) { return ((rng_next(r) >> 11) + 1) * 0x1.0p-53; }

static inline int rng_permille(gen_rng *r, unsigned p) { return rng_below(r, 1000) < p; }

static double rng_normal(gen_rng *r)
{
    return sqrt(-2.0 * log(rng_unit(r))) * cos(6.283185307179586 * rng_unit(r));
}

/* Weighted choice over parallel string/weight lists. */
typedef struct {
    const char *s;
    unsigned w;
} gen_wstr;

static const char *pick_w(gen_rng *r, const gen_wstr *v, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++) total += v[i].w;
    unsigned x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < v[i].w) return v[i].s;
        x -= v[i].w;
    }
    return v[n - 1].s;
}

static const char *pick(gen_rng *r, const char *const *v, size_t n) { return v[rng_below(r, (uint32_t)n)]; }

/* ---- buffered output ------------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    size_t n;
    int err;
    char buf[1 << 16];
} gen_out;

static void out_flush(gen_out *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n) o->err = errno ? errno : EIO;
    o->n = 0;
}

static void out_mem(gen_out *o, const void *p, size_t n)
{
    if (n > sizeof o->buf - o->n) {
        out_flush(o);
        if (n > sizeof o->buf) {
            if (fwrite(p, 1, n, o->f) != n) o->err = errno ? errno : EIO;
            return;
        }
    }
    memcpy(o->buf + o->n, p, n);
    o->n += n;
}

static inline void out_ch(gen_out *o, char c)
{
    if (o->n == sizeof o->buf) out_flush(o);
    o->buf[o->n++] = c;
}

static void out_str(gen_out *o, const char *s) { out_mem(o, s, strlen(s)); }

static void out_u64(gen_out *o, uint64_t v)
{
    char t[20];
    int i = 20;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_mem(o, t + i, (size_t)(20 - i));
}

/* Zero-padded decimal of exactly `width` digits (v must fit). */
static void out_u64_pad(gen_out *o, uint64_t v, int width)
{
    char t[20];
    for (int i = width - 1; i >= 0; i--) {
        t[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out_mem(o, t, (size_t)width);
}

/* A CSV field, quoted only when it must be (RFC 4180). */
static void out_field(gen_out *o, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        out_str(o, s);
        return;
    }
    out_ch(o, '"');
    for (; *s; s++) {
        if (*s == '"') out_ch(o, '"');
        out_ch(o, *s);
    }
    out_ch(o, '"');
}

/* ---- options -------------------------------------------------------------------------------- */

typedef struct {
    const char *what;
    uint64_t count;
    int has_count;
    uint64_t seed;
    const char *regions;
    double bad_ratio;
    const char *out;
    const char *dept;
    const char *region;
    const char *regions_file;
    const char *today;
    const char *quals;
} gen_opts;

static void gen_usage(void)
{
    fputs("usage:\n"
          "  dripctl gen enterprises --count N [--seed S] [--regions 130000,630000]\n"
          "                          [--bad-ratio 0.03] [-o FILE]\n"
          "  dripctl gen inspectors --count N --dept CODE --region R [--seed S]\n"
          "                          [--today YYYY-MM-DD] [--quals 食品安全;计量] [-o FILE]\n"
          "  dripctl gen items --dept CODE --count N [--seed S] [-o FILE]\n"
          "  any: [--regions-file PATH] (default $DRIP_SOURCE_DIR/data/regions-gbt2260.csv,\n"
          "       then ./data/regions-gbt2260.csv)\n"
          "Writes UTF-8 CSV with a header to FILE or stdout; the same --seed gives the same rows.\n",
          stderr);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return DRIP_EVALUE;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return DRIP_EVALUE;
    *out = v;
    return DRIP_OK;
}

static int parse_opts(int argc, char **argv, gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->regions = "130000,630000";
    if (argc < 2) {
        gen_usage();
        return GEN_EXIT_USAGE;
    }
    o->what = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            gen_usage();
            return GEN_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "gen: %s needs a value (or is unknown)\n", a);
            return GEN_EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--count") == 0) {
            if (parse_u64(v, 1000000000000ull, &o->count) != DRIP_OK) {
                fprintf(stderr, "gen: --count must be an integer 0..1e12, got \"%s\"\n", v);
                return GEN_EXIT_USAGE;
            }
            o->has_count = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, UINT64_MAX, &o->seed) != DRIP_OK) {
                fprintf(stderr, "gen: --seed must be an unsigned integer, got \"%s\"\n", v);
                return GEN_EXIT_USAGE;
            }
        } else if (strcmp(a, "--bad-ratio") == 0) {
            char *end;
            errno = 0;
            o->bad_ratio = strtod(v, &end);
            if (errno || end == v || *end || !(o->bad_ratio >= 0.0 && o->bad_ratio <= 1.0)) {
                fprintf(stderr, "gen: --bad-ratio must be a number in [0, 1], got \"%s\"\n", v);
                return GEN_EXIT_USAGE;
            }
        } else if (strcmp(a, "--regions") == 0) {
            o->regions = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--dept") == 0) {
            o->dept = v;
        } else if (strcmp(a, "--region") == 0) {
            o->region = v;
        } else if (strcmp(a, "--regions-file") == 0) {
            o->regions_file = v;
        } else if (strcmp(a, "--today") == 0) {
            o->today = v;
        } else if (strcmp(a, "--quals") == 0) {
            o->quals = v;
        } else {
            fprintf(stderr, "gen: unknown option %s\n", a);
            gen_usage();
            return GEN_EXIT_USAGE;
        }
    }
    if (!o->has_count) {
        fprintf(stderr, "gen %s: --count is required\n", o->what);
        return GEN_EXIT_USAGE;
    }
    return GEN_EXIT_OK;
}

/* Loads the region table from --regions-file or the usual places. NULL (and a message) if none. */
static codes_regions *load_regions(const gen_opts *o)
{
    char path[4096];
    const char *tried[3];
    int n = 0;
    if (o->regions_file) {
        tried[n++] = o->regions_file;
    } else {
        const char *src = getenv("DRIP_SOURCE_DIR");
        if (src && *src) {
            snprintf(path, sizeof path, "%s/data/regions-gbt2260.csv", src);
            tried[n++] = path;
        }
        tried[n++] = "data/regions-gbt2260.csv";
    }
    for (int i = 0; i < n; i++) {
        codes_regions *t = codes_regions_create();
        errno = 0;
        int rc = codes_regions_load(t, tried[i]);
        int err = errno; /* fopen's reason, before free() may touch errno */
        if (rc > 0) return t;
        codes_regions_destroy(t);
        if (rc != DRIP_EIO || o->regions_file) {
            if (rc == DRIP_EIO)
                fprintf(stderr, "gen: cannot read region table %s: %s\n", tried[i],
                        strerror(err ? err : EIO));
            else
                fprintf(stderr, "gen: region table %s is malformed (%s)\n", tried[i],
                        rc == 0 ? "no rows" : drip_status_name(rc));
            return NULL;
        }
    }
    fprintf(stderr, "gen: region table not found (tried %s%s%s); pass --regions-file PATH\n",
            tried[0], n > 1 ? ", " : "", n > 1 ? tried[1] : "");
    return NULL;
}

static int open_out(const gen_opts *o, gen_out *out)
{
    out->n = 0;
    out->err = 0;
    if (!o->out || strcmp(o->out, "-") == 0) {
        out->f = stdout;
        return GEN_EXIT_OK;
    }
    out->f = fopen(o->out, "wb");
    if (!out->f) {
        fprintf(stderr, "gen: cannot write %s: %s\n", o->out, strerror(errno));
        return GEN_EXIT_USAGE;
    }
    return GEN_EXIT_OK;
}

static int close_out(const gen_opts *o, gen_out *out)
{
    out_flush(out);
    int err = out->err;
    if (fflush(out->f) != 0 && !err) err = errno ? errno : EIO;
    if (out->f != stdout && fclose(out->f) != 0 && !err) err = errno ? errno : EIO;
    if (err) {
        fprintf(stderr, "gen: write to %s failed: %s\n", o->out ? o->out : "stdout", strerror(err));
        return GEN_EXIT_FAIL;
    }
    return GEN_EXIT_OK;
}

/* ---- UTF-8 name helpers --------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Byte length of the first `chars` UTF-8 characters of s. */
static size_t utf8_prefix_bytes(const char *s, size_t chars)
{
    size_t i = 0;
    while (s[i] && chars) {
        i++;
        while ((s[i] & 0xC0) == 0x80) i++;
        chars--;
    }
    return i;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if ((*s & 0xC0) != 0x80) n++;
    return n;
}

/* Copies s without the first matching suffix (keeping at least two characters). */
static void strip_suffix(const char *s, const char *const *suffixes, size_t ns, char *out, size_t cap)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < ns; i++) {
        size_t m = strlen(suffixes[i]);
        if (ends_with(s, suffixes[i]) && utf8_chars(s) - utf8_chars(suffixes[i]) >= 2) {
            n -= m;
            break;
        }
    }
    snprintf(out, cap, "%.*s", (int)n, s);
}

static void province_short(const char *name, char *out, size_t cap)
{
    static const char *const suf[] = {"壮族自治区", "回族自治区", "维吾尔自治区", "自治区",
                                      "特别行政区", "省", "市"};
    strip_suffix(name, suf, COUNT_ARRAY(suf), out, cap);
}

/* Short city name as used in company names: 石家庄市 -> 石家庄, 海北藏族自治州 -> 海北. */
static void city_short(const char *name, char *out, size_t cap)
{
    if (ends_with(name, "自治州")) {
        snprintf(out, cap, "%.*s", (int)utf8_prefix_bytes(name, 2), name);
        return;
    }
    static const char *const suf[] = {"地区", "盟", "市"};
    strip_suffix(name, suf, COUNT_ARRAY(suf), out, cap);
}

/* ---- region sampling ------------------------------------------------------------------------ */

/* Resident population by province (2020 census, 10k persons): enterprises are spread roughly in
 * proportion to it (Hebei 7461 : Qinghai 592 gives the ~92/8 split of the default). */
static const struct {
    int pp, pop;
} PROVINCE_POP[] = {
    {11, 2189}, {12, 1387}, {13, 7461}, {14, 3492}, {15, 2405}, {21, 4259}, {22, 2407},
    {23, 3185}, {31, 2487}, {32, 8475}, {33, 6457}, {34, 6103}, {35, 4154}, {36, 4519},
    {37, 10153}, {41, 9937}, {42, 5775}, {43, 6644}, {44, 12601}, {45, 5013}, {46, 1008},
    {50, 3205}, {51, 8367}, {52, 3856}, {53, 4721}, {54, 365},  {61, 3953}, {62, 2502},
    {63, 592},  {64, 720},  {65, 2585},
};

static int province_pop(const char *code)
{
    int pp = (code[0] - '0') * 10 + (code[1] - '0');
    for (size_t i = 0; i < COUNT_ARRAY(PROVINCE_POP); i++)
        if (PROVINCE_POP[i].pp == pp) return PROVINCE_POP[i].pop;
    return 1000;
}

typedef struct {
    char code[7];
    char county[64]; /* 正定县, or the city's short name when the county name is a zone's */
    char city[48];
    char prov[32];
    uint64_t cum; /* cumulative weight, for binary search */
} gen_county;

typedef struct {
    gen_county *v;
    size_t n;
    uint64_t total;
} gen_counties;

static int county_matches(const codes_region_info *ri, const char *root)
{
    return ri->county_level && codes_region_within(ri->code, root);
}

/* Collects the county-level units under the comma-separated roots, weighted by province
 * population shared evenly among the province's counties. */
static int counties_build(const codes_regions *t, const char *roots, gen_counties *c)
{
    memset(c, 0, sizeof *c);
    size_t nt = codes_regions_count(t);
    unsigned char *used = calloc(nt ? nt : 1, 1);
    if (!used) return DRIP_ENOMEM;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", roots);
    int rc = DRIP_OK;
    for (char *save = NULL, *root = strtok_r(buf, ",", &save); root;
         root = strtok_r(NULL, ",", &save)) {
        char why[CODES_WHY_MAX];
        if (codes_region_check(t, root, why) != DRIP_OK) {
            fprintf(stderr, "gen: --regions: %s\n", why);
            rc = DRIP_EREGION;
            goto out;
        }
        char prov[7];
        snprintf(prov, sizeof prov, "%.2s0000", root);
        size_t in_prov = 0;
        codes_region_info ri;
        for (size_t i = 0; codes_regions_at(t, i, &ri) == DRIP_OK; i++)
            if (county_matches(&ri, prov)) in_prov++;
        if (in_prov == 0) continue;
        uint64_t w = (uint64_t)province_pop(root) * 1000000u / in_prov;
        const char *pname = codes_regions_name(t, prov);
        for (size_t i = 0; codes_regions_at(t, i, &ri) == DRIP_OK; i++) {
            if (!county_matches(&ri, root) || used[i]) continue;
            used[i] = 1;
            gen_county *g = realloc(c->v, (c->n + 1) * sizeof *c->v);
            if (!g) {
                rc = DRIP_ENOMEM;
                goto out;
            }
            c->v = g;
            g = &c->v[c->n++];
            memcpy(g->code, ri.code, 7);
            province_short(pname ? pname : "", g->prov, sizeof g->prov);
            /* the city: the table parent for counties, the unit itself for 东莞-like cities */
            codes_region_info ci;
            const char *cname = NULL;
            if (ri.level == 3 && codes_regions_get(t, ri.parent, &ci) == DRIP_OK) cname = ci.name;
            if (ri.level == 2) cname = ri.name;
            if (!cname || strstr(cname, "直辖") || strcmp(cname, "市辖区") == 0 ||
                strcmp(cname, "县") == 0)
                snprintf(g->city, sizeof g->city, "%s", g->prov);
            else
                city_short(cname, g->city, sizeof g->city);
            /* zones (开发区, 园区) do not appear in company names; their city does */
            if (ri.level == 2 || strstr(ri.name, "开发区") || strstr(ri.name, "园区") ||
                strstr(ri.name, "新区") || utf8_chars(ri.name) > 5)
                snprintf(g->county, sizeof g->county, "%s", g->city);
            else
                snprintf(g->county, sizeof g->county, "%s", ri.name);
            c->total += w;
            g->cum = c->total;
        }
    }
    if (c->n == 0) {
        fprintf(stderr, "gen: --regions %s contains no county-level region\n", roots);
        rc = DRIP_EREGION;
    }
out:
    free(used);
    return rc;
}

static const gen_county *county_pick(gen_rng *r, const gen_counties *c)
{
    uint64_t x = rng_next(r) % c->total;
    size_t lo = 0, hi = c->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->v[mid].cum > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &c->v[lo];
}

/* ---- USCC construction ---------------------------------------------------------------------- */

static const char USCC_ALPHABET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
#define OLD_SPACE 100000000ull /* 8-digit organisation codes issued before 2015-10 */
#define MA_SPACE 887503681ull  /* 31^6: "MA" + 6 characters, issued with USCC since 2015-10 */

/* A seed-keyed bijection of [0, m): a mix of invertible steps on `bits`-bit words (xor with a
 * key, multiply by an odd constant, xorshift) with cycle walking back into range. Counter in,
 * unique scrambled value out: uniqueness without remembering issued codes. */
typedef struct {
    uint64_t key[3], mul[3];
    int bits;
    uint64_t m;
} gen_perm;

static void perm_init(gen_perm *p, gen_rng *r, int bits, uint64_t m)
{
    for (int i = 0; i < 3; i++) {
        p->key[i] = rng_next(r);
        p->mul[i] = rng_next(r) | 1;
    }
    p->bits = bits;
    p->m = m;
}

static uint64_t perm_apply(const gen_perm *p, uint64_t x)
{
    uint64_t mask = (1ull << p->bits) - 1;
    int sh = p->bits / 2 + 1;
    do {
        for (int i = 0; i < 3; i++) {
            x = ((x ^ p->key[i]) * p->mul[i]) & mask;
            x ^= x >> sh;
        }
    } while (x >= p->m);
    return x;
}

/* GB 11714 check character over an 8-character organisation code body. */
static char org_check_char(const char body[8])
{
    static const int w[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 8; i++) {
        char ch = body[i];
        sum += (ch >= '0' && ch <= '9' ? ch - '0' : ch - 'A' + 10) * w[i];
    }
    int c = 11 - sum % 11;
    return c == 10 ? 'X' : c == 11 ? '0' : (char)('0' + c);
}

typedef struct {
    gen_perm old_perm, ma_perm;
    uint64_t old_next, ma_next;
} gen_org;

/* Writes the 9-character organisation part: old-style digits for entities registered before the
 * USCC reform (2015-10-01), "MA..." afterwards. DRIP_ETOOLARGE when both spaces are used up. */
static int org_next(gen_org *g, int new_style, char out[9])
{
    if (!new_style && g->old_next < OLD_SPACE) {
        uint64_t x = perm_apply(&g->old_perm, g->old_next++);
        for (int i = 7; i >= 0; i--) {
            out[i] = (char)('0' + x % 10);
            x /= 10;
        }
    } else {
        if (g->ma_next >= MA_SPACE) return DRIP_ETOOLARGE;
        uint64_t x = perm_apply(&g->ma_perm, g->ma_next++);
        out[0] = 'M';
        out[1] = 'A';
        for (int i = 7; i >= 2; i--) {
            out[i] = USCC_ALPHABET[x % 31];
            x /= 31;
        }
    }
    out[8] = org_check_char(out);
    return DRIP_OK;
}

/* Assembles a USCC: 9, category, region, organisation part, check digit (out[19]). */
static void uscc_build(char category, const char *region, const char org[9], char out[19])
{
    out[0] = '9';
    out[1] = category;
    memcpy(out + 2, region, 6);
    memcpy(out + 8, org, 9);
    out[17] = codes_uscc_check_char(out);
    out[18] = '\0';
}

/* ---- enterprises ---------------------------------------------------------------------------- */

enum { KIND_ENT, KIND_IND, KIND_COOP };
static const char *const KIND_NAMES[] = {"enterprise", "individual", "cooperative"};

/* GB/T 4754-2017 classes with the word they give company names and the kinds that use them. */
enum { K_E = 1, K_I = 2, K_C = 4 };
typedef struct {
    const char *code, *word;
    int kinds;
    unsigned w;
    unsigned tags; /* bit i: affinity to TAGS[i] */
} gen_industry;

enum { T_FOOD = 1, T_SPECIAL = 2, T_ONLINE = 4, T_AD = 8, T_HAZCHEM = 16, T_MEDDEV = 32 };
static const char *const TAGS[] = {"食品经营", "特种设备", "网络交易", "广告",
                                   "危险化学品", "医疗器械", "外资",   "出口"};
enum { TAG_FOREIGN = 6, TAG_EXPORT = 7 };

static const gen_industry INDUSTRIES[] = {
    {"C1311", "粮油", K_E, 3, T_FOOD},          {"C1431", "食品", K_E, 3, T_FOOD},
    {"C1491", "营养食品", K_E, 1, T_FOOD},      {"C1512", "酒业", K_E, 1, T_FOOD},
    {"C1524", "饮品", K_E, 1, T_FOOD},          {"C1713", "纺织", K_E, 2, 0},
    {"C1819", "服饰", K_E, 2, 0},               {"C2110", "家具", K_E, 2, 0},
    {"C2231", "包装", K_E, 2, 0},               {"C2319", "印刷", K_E, 1, 0},
    {"C2614", "化工", K_E, 2, T_HAZCHEM},       {"C2710", "制药", K_E, 1, T_HAZCHEM},
    {"C2927", "塑料制品", K_E, 2, 0},           {"C3021", "建材", K_E, 3, 0},
    {"C3311", "钢结构", K_E, 2, T_SPECIAL},     {"C3484", "机械", K_E, 3, T_SPECIAL},
    {"C3670", "汽车配件", K_E, 2, 0},           {"C3829", "电气", K_E, 2, T_SPECIAL},
    {"C3976", "光电", K_E, 1, 0},               {"D4411", "热电", K_E, 1, T_SPECIAL},
    {"D4610", "供水", K_E, 1, 0},               {"E4710", "建筑工程", K_E, 6, T_SPECIAL},
    {"E4813", "市政工程", K_E, 3, T_SPECIAL},   {"E4910", "电气安装", K_E, 2, T_SPECIAL},
    {"E5011", "装饰工程", K_E, 4, 0},           {"F5121", "粮油", K_E | K_I, 4, T_FOOD},
    {"F5132", "服装", K_E | K_I, 4, 0},         {"F5165", "建材", K_E | K_I, 5, 0},
    {"F5181", "商贸", K_E, 10, 0},              {"F5211", "百货", K_E | K_I, 6, T_FOOD},
    {"F5212", "超市", K_E | K_I, 5, T_FOOD},    {"F5213", "便利", K_I, 6, T_FOOD},
    {"F5221", "粮油", K_I, 4, T_FOOD},          {"F5226", "烟酒茶叶", K_I, 5, T_FOOD},
    {"F5261", "汽车销售", K_E, 2, 0},           {"F5265", "石油", K_E, 1, T_HAZCHEM},
    {"F5271", "五金", K_I, 6, 0},               {"F5292", "电子商务", K_E | K_I, 5, T_ONLINE},
    {"G5431", "物流", K_E | K_I, 5, 0},         {"H6110", "酒店", K_E, 2, T_FOOD | T_SPECIAL},
    {"H6210", "餐饮", K_E | K_I, 8, T_FOOD},    {"H6220", "快餐", K_I, 5, T_FOOD},
    {"I6510", "软件", K_E, 3, 0},               {"I6540", "信息技术", K_E, 4, T_ONLINE},
    {"K7010", "房地产开发", K_E, 2, 0},         {"K7020", "物业服务", K_E, 2, T_SPECIAL},
    {"L7212", "投资管理", K_E, 3, 0},           {"L7251", "广告传媒", K_E, 3, T_AD | T_ONLINE},
    {"M7320", "技术研究", K_E, 2, 0},           {"M7484", "工程设计", K_E, 2, 0},
    {"N7721", "环保", K_E, 2, 0},               {"O8010", "家政服务", K_E | K_I, 2, 0},
    {"O8040", "美容美发", K_I, 5, 0},           {"O8111", "汽车维修", K_E | K_I, 4, T_SPECIAL},
    {"P8391", "教育咨询", K_E, 2, T_AD},        {"Q8411", "医疗", K_E, 1, T_MEDDEV},
    {"A0111", "种植", K_C, 5, 0},               {"A0141", "果蔬", K_C | K_I, 4, T_FOOD},
    {"A0151", "果品", K_C, 3, 0},               {"A0171", "中药材种植", K_C, 2, 0},
    {"A0311", "养殖", K_C, 3, 0},               {"A0321", "养殖", K_C, 3, 0},
    {"A0512", "农机", K_C, 2, 0},
};

/* Common characters of Chinese trade names (字号). */
static const char *const NAME_CHARS[] = {
    "华", "鑫", "盛", "源", "泰", "恒", "达", "宏", "信", "通", "瑞", "祥", "德", "福", "兴",
    "隆", "昌", "顺", "丰", "金", "鼎", "旺", "佳", "嘉", "聚", "汇", "和", "安", "康", "诚",
    "博", "远", "凯", "新", "天", "宇", "中", "正", "荣", "宝", "利", "晟", "辉", "航", "铭",
    "创", "锦", "程", "森", "林", "海", "洋", "峰", "山", "川", "润", "泽", "明", "光", "耀",
    "星", "辰", "朗", "智", "睿", "合", "众", "联", "建", "立", "成", "业", "永", "长", "久",
    "益", "乐", "美", "优", "品", "尚", "启", "腾", "飞", "翔", "扬", "万", "千", "百", "一",
    "元", "亨", "贞", "吉", "祥", "富", "贵", "春", "秋", "阳", "光", "蓝", "绿", "青", "红",
    "东", "西", "南", "北", "冀", "燕", "赵", "邦", "骏", "豪",
};

static const gen_wstr OWNERSHIP_ENT[] = {{"domestic", 929}, {"foreign", 43}, {"hmt", 28}};
static const gen_wstr STATUSES[] = {{"存续", 70}, {"在业", 15}, {"吊销", 5}, {"注销", 8}, {"迁出", 2}};
static const gen_wstr CREDIT[] = {{"A", 570}, {"B", 285}, {"C", 76}, {"D", 19}, {"", 50}};

enum {
    BAD_USCC,
    BAD_REGION,
    BAD_DATE,
    BAD_NAME,
    BAD_CAPITAL,
    BAD_STATUS,
    BAD_CREDIT,
    BAD_KINDS
};
static const char *const BAD_NAMES[BAD_KINDS] = {
    "uscc check digit changed", "unknown region",      "impossible date", "empty name",
    "capital not a number",     "unknown status",      "credit class E",
};
static const char *const BAD_DATES[] = {"2023-02-30", "2021-02-29", "2022-04-31", "2019-13-01"};
static const char *const BAD_CAPITALS[] = {"abc", "一百万", "1,000,000元"};
static const char *const BAD_STATUSES[] = {"营业中", "正常", "待定"};

typedef struct {
    gen_rng rng;
    gen_counties counties;
    gen_org org;
    const uint32_t *ind_idx[3]; /* industries usable per kind */
    size_t ind_n[3];
    unsigned ind_total[3];
    int32_t est_lo, est_hi, coop_lo, uscc_reform;
    uint32_t bad_ppm;
    uint64_t bad[BAD_KINDS];
} gen_ent;

static const gen_industry *industry_pick(gen_ent *g, int kind)
{
    unsigned x = rng_below(&g->rng, g->ind_total[kind]);
    for (size_t i = 0; i < g->ind_n[kind]; i++) {
        const gen_industry *ind = &INDUSTRIES[g->ind_idx[kind][i]];
        if (x < ind->w) return ind;
        x -= ind->w;
    }
    return &INDUSTRIES[g->ind_idx[kind][0]];
}

/* Registration date: skewed to recent years (about a tenth more registrations each year). */
static int32_t established_pick(gen_ent *g, int kind)
{
    int32_t lo = kind == KIND_COOP ? g->coop_lo : g->est_lo;
    for (;;) {
        double back = -log(rng_unit(&g->rng)) * 7.0 * 365.25;
        int32_t d = g->est_hi - (int32_t)back;
        if (d >= lo) return d;
    }
}

/* Registered capital in yuan: lognormal, rounded to two significant digits like real filings. */
static uint64_t capital_pick(gen_ent *g, int kind)
{
    double median = kind == KIND_ENT ? 1e6 : kind == KIND_IND ? 5e4 : 5e5;
    double sigma = kind == KIND_ENT ? 1.3 : 1.0;
    double v = median * exp(sigma * rng_normal(&g->rng));
    if (v < 1000) v = 1000;
    if (v > 5e10) v = 5e10;
    uint64_t x = (uint64_t)v, p = 1;
    while (x / p >= 100) p *= 10;
    return (x + p / 2) / p * p;
}

static void name_build(gen_ent *g, int kind, const gen_county *c, const gen_industry *ind,
                       char *out, size_t cap)
{
    gen_rng *r = &g->rng;
    const char *prefix;
    unsigned x = rng_below(r, 100);
    if (kind == KIND_ENT)
        prefix = x < 30 ? c->prov : x < 75 ? c->city : c->county;
    else if (kind == KIND_IND)
        prefix = x < 70 ? c->county : "";
    else
        prefix = c->county;
    char zh[16];
    int nchars = rng_below(r, 100) < 60 ? 2 : 3;
    size_t zl = 0;
    for (int i = 0; i < nchars; i++) {
        const char *ch = pick(r, NAME_CHARS, COUNT_ARRAY(NAME_CHARS));
        size_t l = strlen(ch);
        memcpy(zh + zl, ch, l);
        zl += l;
    }
    zh[zl] = '\0';
    const char *suffix;
    if (kind == KIND_ENT)
        suffix = rng_permille(r, 100) ? "股份有限公司" : "有限公司";
    else if (kind == KIND_IND)
        suffix = rng_permille(r, 400) ? "商行" : "店";
    else
        suffix = "专业合作社";
    snprintf(out, cap, "%s%s%s%s", prefix, zh, ind->word, suffix);
}

/* 0-3 tags, consistent with the industry and ownership, in list order. */
static void tags_build(gen_ent *g, const gen_industry *ind, const char *ownership, char *out,
                       size_t cap)
{
    gen_rng *r = &g->rng;
    unsigned want = 0;
    for (int i = 0; i < 6; i++) {
        unsigned p = (ind->tags & (1u << i)) ? 600 : 15;
        if (rng_permille(r, p)) want |= 1u << i;
    }
    if (strcmp(ownership, "domestic") != 0) want |= 1u << TAG_FOREIGN;
    if (ind->code[0] == 'C' && rng_permille(r, 150)) want |= 1u << TAG_EXPORT;
    size_t n = 0;
    int count = 0;
    out[0] = '\0';
    for (int i = 0; i < 8 && count < 3; i++) {
        if (!(want & (1u << i))) continue;
        int w = snprintf(out + n, cap - n, "%s%s", count ? ";" : "", TAGS[i]);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
        count++;
    }
}

static int enterprise_row(gen_ent *g, gen_out *o)
{
    gen_rng *r = &g->rng;
    unsigned k = rng_below(r, 1000);
    int kind = k < 700 ? KIND_ENT : k < 970 ? KIND_IND : KIND_COOP;
    int bad = -1;
    if (g->bad_ppm && rng_below(r, 1000000) < g->bad_ppm) bad = (int)rng_below(r, BAD_KINDS);

    const gen_county *c = county_pick(r, &g->counties);
    const char *region = c->code;
    char bad_region[7];
    if (bad == BAD_REGION) {
        snprintf(bad_region, sizeof bad_region, "%.2s9999", c->code);
        region = bad_region;
    }
    int32_t est = established_pick(g, kind);
    char org[9], uscc[19];
    if (org_next(&g->org, kind == KIND_IND || est >= g->uscc_reform, org) != DRIP_OK) {
        fprintf(stderr, "gen: organisation code space exhausted (> %llu rows)\n",
                (unsigned long long)(OLD_SPACE + MA_SPACE));
        return DRIP_ETOOLARGE;
    }
    uscc_build(kind == KIND_ENT ? '1' : kind == KIND_IND ? '2' : '3', region, org, uscc);
    if (bad == BAD_USCC) {
        const char *p = strchr(USCC_ALPHABET, uscc[17]);
        uscc[17] = USCC_ALPHABET[((p - USCC_ALPHABET) + 1 + rng_below(r, 30)) % 31];
    }
    const gen_industry *ind = industry_pick(g, kind);
    const char *ownership = kind == KIND_ENT ? pick_w(r, OWNERSHIP_ENT, 3) : "domestic";
    char name[256], tags[128], date[11];
    name_build(g, kind, c, ind, name, sizeof name);
    tags_build(g, ind, ownership, tags, sizeof tags);
    codes_date_format(est, date);
    uint64_t capital = capital_pick(g, kind);
    const char *status = pick_w(r, STATUSES, COUNT_ARRAY(STATUSES));
    const char *credit = pick_w(r, CREDIT, COUNT_ARRAY(CREDIT));

    out_mem(o, uscc, 18);
    out_ch(o, ',');
    if (bad != BAD_NAME) out_str(o, name);
    out_ch(o, ',');
    out_str(o, KIND_NAMES[kind]);
    out_ch(o, ',');
    out_str(o, region);
    out_ch(o, ',');
    out_str(o, ind->code);
    out_ch(o, ',');
    out_str(o, ownership);
    out_ch(o, ',');
    if (bad == BAD_CAPITAL)
        out_field(o, pick(r, BAD_CAPITALS, COUNT_ARRAY(BAD_CAPITALS)));
    else
        out_u64(o, capital);
    out_ch(o, ',');
    out_str(o, bad == BAD_DATE ? pick(r, BAD_DATES, COUNT_ARRAY(BAD_DATES)) : date);
    out_ch(o, ',');
    out_str(o, bad == BAD_STATUS ? pick(r, BAD_STATUSES, COUNT_ARRAY(BAD_STATUSES)) : status);
    out_ch(o, ',');
    out_str(o, bad == BAD_CREDIT ? "E" : credit);
    out_ch(o, ',');
    out_str(o, tags);
    out_ch(o, '\n');
    if (bad >= 0) g->bad[bad]++;
    return DRIP_OK;
}

static int gen_enterprises(const gen_opts *opt)
{
    codes_regions *t = load_regions(opt);
    if (!t) return GEN_EXIT_USAGE;
    gen_ent *g = calloc(1, sizeof *g);
    gen_out *o = calloc(1, sizeof *o);
    uint32_t *idx = calloc(3 * COUNT_ARRAY(INDUSTRIES), sizeof *idx);
    int rc = GEN_EXIT_USAGE;
    if (!g || !o || !idx) {
        fprintf(stderr, "gen: out of memory\n");
        goto out;
    }
    if (counties_build(t, opt->regions, &g->counties) != DRIP_OK) goto out;
    rng_seed(&g->rng, opt->seed);
    perm_init(&g->org.old_perm, &g->rng, 27, OLD_SPACE);
    perm_init(&g->org.ma_perm, &g->rng, 30, MA_SPACE);
    for (int k = 0; k < 3; k++) {
        uint32_t *v = idx + (size_t)k * COUNT_ARRAY(INDUSTRIES);
        g->ind_idx[k] = v;
        for (uint32_t i = 0; i < COUNT_ARRAY(INDUSTRIES); i++) {
            if (!(INDUSTRIES[i].kinds & (1 << k))) continue;
            v[g->ind_n[k]++] = i;
            g->ind_total[k] += INDUSTRIES[i].w;
        }
    }
    g->est_lo = codes_date_make(1995, 1, 1);
    g->est_hi = codes_date_make(2025, 12, 31);
    g->coop_lo = codes_date_make(2007, 7, 1); /* 农民专业合作社法 in force */
    g->uscc_reform = codes_date_make(2015, 10, 1);
    g->bad_ppm = (uint32_t)(opt->bad_ratio * 1e6 + 0.5);
    if (open_out(opt, o) != GEN_EXIT_OK) goto out;
    out_str(o, "uscc,name,kind,region,industry,ownership,registered_capital,established,status,"
               "credit_class,tags\n");
    rc = GEN_EXIT_OK;
    for (uint64_t i = 0; i < opt->count && !o->err; i++) {
        if (enterprise_row(g, o) != DRIP_OK) {
            rc = GEN_EXIT_FAIL;
            break;
        }
    }
    if (close_out(opt, o) != GEN_EXIT_OK) rc = GEN_EXIT_FAIL;
    if (opt->bad_ratio > 0) {
        uint64_t total = 0;
        for (int i = 0; i < BAD_KINDS; i++) total += g->bad[i];
        fprintf(stderr, "gen: %llu of %llu enterprise rows are deliberately invalid:\n",
                (unsigned long long)total, (unsigned long long)opt->count);
        for (int i = 0; i < BAD_KINDS; i++)
            fprintf(stderr, "gen:   %-26s %llu\n", BAD_NAMES[i], (unsigned long long)g->bad[i]);
    }
out:
    if (g) free(g->counties.v);
    free(g);
    free(o);
    free(idx);
    codes_regions_destroy(t);
    return rc;
}

/* ---- inspectors ----------------------------------------------------------------------------- */

static const gen_wstr SURNAMES[] = {
    {"王", 71}, {"李", 70}, {"张", 65}, {"刘", 53}, {"陈", 45}, {"杨", 31}, {"黄", 23}, {"赵", 20},
    {"吴", 20}, {"周", 19}, {"徐", 15}, {"孙", 15}, {"马", 14}, {"朱", 13}, {"胡", 12}, {"郭", 11},
    {"何", 11}, {"高", 10}, {"林", 10}, {"罗", 9},  {"郑", 9},  {"梁", 9},  {"谢", 7},  {"宋", 7},
    {"唐", 7},  {"许", 6},  {"韩", 6},  {"冯", 6},  {"邓", 6},  {"曹", 6},  {"彭", 5},  {"曾", 5},
    {"肖", 5},  {"田", 5},  {"董", 5},  {"袁", 5},  {"潘", 4},  {"于", 4},  {"蒋", 4},  {"蔡", 4},
    {"余", 4},  {"杜", 4},  {"叶", 4},  {"程", 4},  {"苏", 4},  {"魏", 4},  {"吕", 4},  {"丁", 4},
    {"任", 4},  {"沈", 3},  {"姚", 3},  {"卢", 3},  {"姜", 3},  {"崔", 3},  {"钟", 3},  {"谭", 3},
    {"陆", 3},  {"汪", 3},  {"范", 3},  {"金", 3},  {"石", 3},  {"廖", 3},  {"贾", 3},  {"夏", 3},
    {"韦", 3},  {"付", 3},  {"方", 3},  {"白", 3},  {"邹", 3},  {"孟", 3},  {"熊", 2},  {"秦", 2},
    {"邱", 2},  {"江", 2},  {"尹", 2},  {"薛", 2},  {"闫", 2},  {"段", 2},  {"雷", 2},  {"侯", 2},
    {"欧阳", 1}, {"司马", 1}, {"诸葛", 1},
};

static const char *const GIVEN_CHARS[] = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "辉", "建", "国", "红", "玉",
    "兰", "峰", "志", "新", "海", "宇", "浩", "鹏", "晨", "欣", "怡", "佳", "雪", "琳", "婷",
    "颖", "晓", "俊", "斌", "凯", "波", "鑫", "帅", "林", "丹", "萍", "飞", "宁", "瑞", "博",
    "健", "春", "梅", "亮", "阳", "云", "龙", "振", "宏", "彬", "庆", "成", "荣", "兴", "东",
    "晶", "慧", "莉", "倩", "然", "楠", "琪", "悦", "思", "梓", "子", "轩", "涵", "雨", "睿",
    "航", "蕾", "薇", "立", "永", "金", "生", "学", "德", "秋",
};

static const gen_wstr QUALS[] = {
    {"食品安全", 40}, {"特种设备", 20}, {"计量", 15},     {"广告监管", 15}, {"价格监督", 15},
    {"知识产权", 10}, {"消防", 5},      {"水土保持", 5},  {"劳动保障", 5},  {"税务稽查", 5},
};

/* A random valid USCC in one of `c`'s counties, for recusal lists. */
static void random_uscc(gen_rng *r, const gen_counties *c, char out[19])
{
    char org[9];
    org[0] = 'M';
    org[1] = 'A';
    for (int i = 2; i < 8; i++) org[i] = USCC_ALPHABET[rng_below(r, 31)];
    org[8] = org_check_char(org);
    uscc_build(rng_permille(r, 750) ? '1' : '2', county_pick(r, c)->code, org, out);
}

static int gen_inspectors(const gen_opts *opt)
{
    char why[CODES_WHY_MAX];
    if (!opt->dept || codes_dept_check(opt->dept, why) != DRIP_OK) {
        fprintf(stderr, "gen inspectors: --dept: %s\n", opt->dept ? why : "required");
        return GEN_EXIT_USAGE;
    }
    if (!opt->region) {
        fprintf(stderr, "gen inspectors: --region is required\n");
        return GEN_EXIT_USAGE;
    }
    int32_t today = codes_date_today_cst();
    if (opt->today && codes_date_parse(opt->today, &today, why) != DRIP_OK) {
        fprintf(stderr, "gen inspectors: --today: %s\n", why);
        return GEN_EXIT_USAGE;
    }
    /* --quals restricts the qualification pool (e.g. a water authority's inspectors) */
    gen_wstr quals[COUNT_ARRAY(QUALS)];
    size_t nq = 0;
    char qbuf[512];
    if (opt->quals) {
        snprintf(qbuf, sizeof qbuf, "%s", opt->quals);
        for (char *save = NULL, *q = strtok_r(qbuf, ";,", &save); q && nq < COUNT_ARRAY(quals);
             q = strtok_r(NULL, ";,", &save)) {
            if (codes_text_check(q, 1, 32, why) != DRIP_OK) {
                fprintf(stderr, "gen inspectors: --quals: %s\n", why);
                return GEN_EXIT_USAGE;
            }
            quals[nq].s = q;
            quals[nq++].w = 1;
        }
    } else {
        memcpy(quals, QUALS, sizeof QUALS);
        nq = COUNT_ARRAY(QUALS);
    }
    if (nq == 0) {
        fprintf(stderr, "gen inspectors: --quals is empty\n");
        return GEN_EXIT_USAGE;
    }

    codes_regions *t = load_regions(opt);
    if (!t) return GEN_EXIT_USAGE;
    int rc = GEN_EXIT_USAGE;
    gen_counties cs;
    memset(&cs, 0, sizeof cs);
    gen_out *o = calloc(1, sizeof *o);
    if (!o) goto out;
    if (codes_region_check(t, opt->region, why) != DRIP_OK) {
        fprintf(stderr, "gen inspectors: --region: %s\n", why);
        goto out;
    }
    /* recused enterprises are drawn from the inspector's province */
    char prov[7];
    snprintf(prov, sizeof prov, "%.2s0000", opt->region);
    if (counties_build(t, prov, &cs) != DRIP_OK) goto out;
    if (open_out(opt, o) != GEN_EXIT_OK) goto out;

    gen_rng rng;
    rng_seed(&rng, opt->seed);
    gen_rng *r = &rng;
    int ty;
    codes_date_civil(today, &ty, NULL, NULL);
    uint32_t per_year[12] = {0}; /* certificate serials per issue year (ty-11 .. ty) */
    out_str(o, "id,name,region,cert_no,cert_expiry,qualifications,expert,team,active,recusals\n");
    rc = GEN_EXIT_OK;
    for (uint64_t i = 1; i <= opt->count && !o->err; i++) {
        out_str(o, opt->dept);
        out_ch(o, '-');
        if (i < 1000000)
            out_u64_pad(o, i, 6);
        else
            out_u64(o, i);
        out_ch(o, ',');
        out_str(o, pick_w(r, SURNAMES, COUNT_ARRAY(SURNAMES)));
        int given = rng_permille(r, 300) ? 1 : 2;
        for (int k = 0; k < given; k++) out_str(o, pick(r, GIVEN_CHARS, COUNT_ARRAY(GIVEN_CHARS)));
        out_ch(o, ',');
        out_str(o, opt->region);
        out_ch(o, ',');
        /* expiry: ~5% within the last year (expired), else within the next five years */
        int32_t expiry = rng_permille(r, 50) ? today - 1 - (int32_t)rng_below(r, 365)
                                             : today + (int32_t)rng_below(r, 5 * 365 + 1);
        int ey;
        codes_date_civil(expiry, &ey, NULL, NULL);
        int issue = ey - 5 > ty ? ty : ey - 5; /* certificates run about five years */
        if (issue < ty - 11) issue = ty - 11;
        uint32_t serial = ++per_year[issue - (ty - 11)];
        out_str(o, opt->region);
        out_u64_pad(o, (uint64_t)issue, 4);
        if (serial < 10000)
            out_u64_pad(o, serial, 4);
        else
            out_u64(o, serial);
        out_ch(o, ',');
        char date[11];
        codes_date_format(expiry, date);
        out_str(o, date);
        out_ch(o, ',');
        /* 1-3 distinct qualifications, in list order */
        unsigned nwant = 1 + (rng_permille(r, 450) ? 1 : 0) + (rng_permille(r, 150) ? 1 : 0);
        unsigned have = 0;
        for (unsigned tries = 0; __builtin_popcount(have) < (int)nwant && tries < 20; tries++) {
            const char *q = pick_w(r, quals, nq);
            for (size_t k = 0; k < nq; k++)
                if (quals[k].s == q) have |= 1u << k;
        }
        int first = 1;
        for (size_t k = 0; k < nq; k++) {
            if (!(have & (1u << k))) continue;
            if (!first) out_ch(o, ';');
            out_field(o, quals[k].s);
            first = 0;
        }
        out_ch(o, ',');
        out_ch(o, rng_permille(r, 50) ? '1' : '0');
        out_ch(o, ',');
        if (rng_permille(r, 200)) {
            out_ch(o, 'T');
            out_u64_pad(o, 1 + rng_below(r, 20), 2);
        }
        out_ch(o, ',');
        out_ch(o, rng_permille(r, 970) ? '1' : '0');
        out_ch(o, ',');
        if (rng_permille(r, 100)) {
            int nrec = rng_permille(r, 700) ? 1 : 2;
            for (int k = 0; k < nrec; k++) {
                char u[19];
                random_uscc(r, &cs, u);
                if (k) out_ch(o, ';');
                out_mem(o, u, 18);
            }
        }
        out_ch(o, '\n');
    }
    if (close_out(opt, o) != GEN_EXIT_OK) rc = GEN_EXIT_FAIL;
out:
    free(cs.v);
    free(o);
    codes_regions_destroy(t);
    return rc;
}

/* ---- items ---------------------------------------------------------------------------------- */

typedef struct {
    const char *name, *basis, *method, *target, *quals;
} gen_item;

static const gen_item ITEMS[] = {
    {"食品经营许可情况的检查", "《中华人民共和国食品安全法》第三十五条", "现场检查", "enterprise",
     "食品安全"},
    {"食品生产者生产条件及过程控制的检查", "《中华人民共和国食品安全法》第一百一十条", "现场检查",
     "enterprise", "食品安全"},
    {"食品安全抽样检验", "《中华人民共和国食品安全法》第八十七条", "抽样检验", "enterprise",
     "食品安全"},
    {"食品小作坊、小餐饮经营行为的检查", "《中华人民共和国食品安全法》第三十六条", "现场检查",
     "individual", "食品安全"},
    {"餐饮服务食品安全操作规范执行情况的检查", "《中华人民共和国食品安全法》第一百一十条",
     "现场检查", "individual", "食品安全"},
    {"特种设备使用单位安全管理情况的检查", "《中华人民共和国特种设备安全法》第五十七条",
     "现场检查", "enterprise", "特种设备"},
    {"特种设备生产单位许可条件的检查", "《中华人民共和国特种设备安全法》第十八条", "现场检查",
     "enterprise", "特种设备"},
    {"企业公示信息情况的检查", "《企业信息公示暂行条例》第十四条", "书面检查", "enterprise", ""},
    {"住所（经营场所）真实性的检查", "《中华人民共和国市场主体登记管理条例》第三十八条",
     "实地核查", "enterprise", ""},
    {"个体工商户登记事项的检查", "《中华人民共和国市场主体登记管理条例》第三十八条", "实地核查",
     "individual", ""},
    {"农民专业合作社年度报告公示情况的检查", "《中华人民共和国农民专业合作社法》第十七条",
     "书面检查", "cooperative", ""},
    {"广告发布行为的检查", "《中华人民共和国广告法》第四十九条", "网络检查", "enterprise",
     "广告监管"},
    {"价格行为及明码标价情况的检查", "《中华人民共和国价格法》第三十三条", "现场检查",
     "enterprise", "价格监督"},
    {"计量器具使用情况的检查", "《中华人民共和国计量法》第十八条", "现场检查", "enterprise",
     "计量"},
    {"注册商标使用行为的检查", "《中华人民共和国商标法》第六十二条", "现场检查", "enterprise",
     "知识产权"},
    {"专利标识标注情况的检查", "《中华人民共和国专利法》第六十九条", "现场检查", "enterprise",
     "知识产权"},
    {"产品质量监督抽查", "《中华人民共和国产品质量法》第十五条", "抽样检验", "enterprise", ""},
    {"网络交易经营者亮照亮证情况的检查", "《中华人民共和国电子商务法》第十五条", "网络检查",
     "enterprise", ""},
    {"药品经营企业经营行为的检查", "《中华人民共和国药品管理法》第九十九条", "现场检查",
     "enterprise", ""},
    {"农药经营许可情况的检查", "《农药管理条例》第二十四条", "现场检查", "cooperative", ""},
    {"生产建设项目水土保持方案落实情况的检查", "《中华人民共和国水土保持法》第四十三条",
     "实地核查", "project", "水土保持"},
    {"取水许可情况的检查", "《中华人民共和国水法》第四十八条", "实地核查", "project", ""},
    {"河道管理范围内建设项目的检查", "《中华人民共和国水法》第三十八条", "实地核查", "project",
     ""},
    {"建设工程质量的检查", "《建设工程质量管理条例》第四十七条", "实地核查", "project", ""},
    {"消防安全管理情况的检查", "《中华人民共和国消防法》第五十三条", "现场检查", "enterprise",
     "消防"},
    {"用人单位遵守劳动保障法律法规情况的检查", "《劳动保障监察条例》第十一条", "书面检查",
     "enterprise", "劳动保障"},
    {"发票使用及纳税申报情况的检查", "《中华人民共和国税收征收管理法》第五十四条", "信息比对",
     "enterprise", "税务稽查"},
};

static const char *const METHODS[] = {"现场检查", "书面检查", "网络检查", "抽样检验",
                                      "委托专业机构核查", "信息比对", "实地核查"};

static int gen_items(const gen_opts *opt)
{
    char why[CODES_WHY_MAX];
    if (!opt->dept || codes_dept_check(opt->dept, why) != DRIP_OK) {
        fprintf(stderr, "gen items: --dept: %s\n", opt->dept ? why : "required");
        return GEN_EXIT_USAGE;
    }
    gen_out *o = calloc(1, sizeof *o);
    if (!o || open_out(opt, o) != GEN_EXIT_OK) {
        free(o);
        return GEN_EXIT_USAGE;
    }
    gen_rng rng;
    rng_seed(&rng, opt->seed);
    gen_rng *r = &rng;
    /* the department's catalogue: the templates in a seeded order, repeated as 专项 rounds */
    size_t order[COUNT_ARRAY(ITEMS)];
    for (size_t i = 0; i < COUNT_ARRAY(ITEMS); i++) order[i] = i;
    for (size_t i = COUNT_ARRAY(ITEMS) - 1; i > 0; i--) {
        size_t j = rng_below(r, (uint32_t)(i + 1)), tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    out_str(o, "code,name,level,legal_basis,methods,target_kind,required_qualifications\n");
    for (uint64_t i = 0; i < opt->count && !o->err; i++) {
        const gen_item *it = &ITEMS[order[i % COUNT_ARRAY(ITEMS)]];
        uint64_t round = i / COUNT_ARRAY(ITEMS);
        out_str(o, opt->dept);
        out_str(o, "-SX");
        if (i + 1 < 1000)
            out_u64_pad(o, i + 1, 3);
        else
            out_u64(o, i + 1);
        out_ch(o, ',');
        char name[256];
        if (round)
            snprintf(name, sizeof name, "%s（专项%llu）", it->name, (unsigned long long)round);
        else
            snprintf(name, sizeof name, "%s", it->name);
        out_field(o, name);
        out_ch(o, ',');
        out_str(o, rng_permille(r, 300) ? "重点" : "一般");
        out_ch(o, ',');
        out_field(o, it->basis);
        out_ch(o, ',');
        /* the item's own method first, then 0-2 others in list order */
        out_str(o, it->method);
        int extra = 0;
        for (size_t m = 0; m < COUNT_ARRAY(METHODS) && extra < 2; m++)
            if (strcmp(METHODS[m], it->method) != 0 && rng_permille(r, 150)) {
                out_ch(o, ';');
                out_str(o, METHODS[m]);
                extra++;
            }
        out_ch(o, ',');
        out_str(o, it->target);
        out_ch(o, ',');
        out_field(o, it->quals);
        out_ch(o, '\n');
    }
    int rc = close_out(opt, o);
    free(o);
    return rc;
}

/* ---- entry ---------------------------------------------------------------------------------- */

int dripctl_gen(int argc, char **argv)
{
    gen_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != GEN_EXIT_OK) return rc;
    if (strcmp(o.what, "enterprises") == 0) return gen_enterprises(&o);
    if (strcmp(o.what, "inspectors") == 0) return gen_inspectors(&o);
    if (strcmp(o.what, "items") == 0) return gen_items(&o);
    fprintf(stderr, "gen: unknown kind \"%s\" (enterprises, inspectors, items)\n", o.what);
    gen_usage();
    return GEN_EXIT_USAGE;
}
