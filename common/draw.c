/* draw.c — drip-draw-v1 (see draw.h and docs/draw.md). */
#include "draw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "status.h"

#define SEED_PREFIX "drip-draw-v1|"

/* ---------------------------------------------------------------- small helpers */

int draw_stratum_index(char code)
{
    switch (code) {
    case 'A': return 0;
    case 'B': return 1;
    case 'C': return 2;
    case 'D': return 3;
    case '-': return 4;
    default: return -1;
    }
}

static char stratum_code(int s) { return DRAW_STRATUM_CODES[s]; }

static size_t key_len_checked(const char *key)
{
    if (!key) return 0;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++) {
        if (n >= DRAW_KEY_MAX || *p < 0x20 || *p == 0x7f || *p == ',' || *p == ':') return 0;
    }
    return n;
}

int draw_key_check(const char *key) { return key_len_checked(key) ? DRIP_OK : DRIP_EVALUE; }

void draw_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int draw_unhex(const char *hex, unsigned char *out, size_t n)
{
    if (!hex) return DRIP_EVALUE;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]);
        if (hi < 0) return DRIP_EVALUE;
        int lo = hex_value(hex[2 * i + 1]); /* hex[2i] != NUL here, so reading on is safe */
        if (lo < 0) return DRIP_EVALUE;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return hex[2 * n] == '\0' ? DRIP_OK : DRIP_EVALUE;
}

int draw_is_hex64(const char *s)
{
    if (!s) return 0;
    for (int i = 0; i < DRAW_HEX_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    }
    return s[DRAW_HEX_LEN] == '\0';
}

/* One SHA-256 over the concatenation of n strings (no separators added, no terminators hashed). */
static int sha256_strings(const char *const *parts, size_t n, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return DRIP_ENOMEM;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
    unsigned int len = 0;
    if (ok) ok = EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    return ok && len == 32 ? DRIP_OK : DRIP_EINTERNAL;
}

/* ---------------------------------------------------------------- commitment, seed, tickets */

int draw_nonce_new(unsigned char nonce[32])
{
    size_t got = 0;
    while (got < 32) {
        ssize_t r = getrandom(nonce + got, 32 - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return DRIP_EIO;
        }
        got += (size_t)r;
    }
    return DRIP_OK;
}

int draw_commitment(const unsigned char nonce[32], char hex[DRAW_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (!EVP_Digest(nonce, 32, md, &len, EVP_sha256(), NULL) || len != 32) return DRIP_EINTERNAL;
    draw_hex(md, 32, hex);
    return DRIP_OK;
}

int draw_seed(const char *nonce_hex, const char *digest_hex, const char *entropy,
              char seed_hex[DRAW_HEX_LEN + 1])
{
    if (!draw_is_hex64(nonce_hex) || !draw_is_hex64(digest_hex)) return DRIP_EVALUE;
    const char *parts[] = {SEED_PREFIX, nonce_hex, "|", digest_hex, "|", entropy ? entropy : ""};
    unsigned char md[32];
    int rc = sha256_strings(parts, sizeof parts / sizeof *parts, md);
    if (rc != DRIP_OK) return rc;
    draw_hex(md, 32, seed_hex);
    return DRIP_OK;
}

int draw_ticket(const char *seed_hex, const char *task_code, const char *key, unsigned char out[32])
{
    if (!draw_is_hex64(seed_hex) || !task_code || !key_len_checked(key)) return DRIP_EVALUE;
    const char *parts[] = {seed_hex, ":", task_code, ":", key};
    return sha256_strings(parts, sizeof parts / sizeof *parts, out);
}

static int field_ok(const char *s) { return s && *s && !strchr(s, ':'); }

int draw_ticket_inspector(const char *seed_hex, const char *task_code, const char *key,
                          const char *dept, const char *inspector_id, unsigned char out[32])
{
    if (!draw_is_hex64(seed_hex) || !task_code || !key_len_checked(key) || !field_ok(dept) ||
        !field_ok(inspector_id))
        return DRIP_EVALUE;
    const char *parts[] = {seed_hex, ":", task_code, ":", key, ":", dept, ":", inspector_id};
    return sha256_strings(parts, sizeof parts / sizeof *parts, out);
}

/* Tickets of one draw, many times over: one fetched SHA-256 and one reused context, so a pass over
 * ten million members does not allocate per member. */
typedef struct {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
    char *prefix; /* seed ":" task_code ":" */
    size_t prefix_len;
} ticketer;

static void ticketer_fini(ticketer *t)
{
    EVP_MD_CTX_free(t->ctx);
    EVP_MD_free(t->md);
    free(t->prefix);
    memset(t, 0, sizeof *t);
}

static int ticketer_init(ticketer *t, const char *seed_hex, const char *task_code)
{
    memset(t, 0, sizeof *t);
    if (!draw_is_hex64(seed_hex) || !task_code) return DRIP_EVALUE;
    size_t tl = strlen(task_code);
    t->prefix_len = DRAW_HEX_LEN + 1 + tl + 1;
    t->prefix = malloc(t->prefix_len + 1);
    t->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    t->ctx = EVP_MD_CTX_new();
    if (!t->prefix || !t->md || !t->ctx) {
        ticketer_fini(t);
        return DRIP_ENOMEM;
    }
    memcpy(t->prefix, seed_hex, DRAW_HEX_LEN);
    t->prefix[DRAW_HEX_LEN] = ':';
    memcpy(t->prefix + DRAW_HEX_LEN + 1, task_code, tl);
    t->prefix[t->prefix_len - 1] = ':';
    t->prefix[t->prefix_len] = '\0';
    return DRIP_OK;
}

static int ticketer_ticket(ticketer *t, const char *key, size_t key_len, unsigned char out[32])
{
    unsigned int len = 0;
    if (!EVP_DigestInit_ex(t->ctx, t->md, NULL) ||
        !EVP_DigestUpdate(t->ctx, t->prefix, t->prefix_len) ||
        !EVP_DigestUpdate(t->ctx, key, key_len) || !EVP_DigestFinal_ex(t->ctx, out, &len) ||
        len != 32)
        return DRIP_EINTERNAL;
    return DRIP_OK;
}

/* ---------------------------------------------------------------- population digest */

struct draw_digest {
    EVP_MD_CTX *ctx;
    uint64_t n[DRAW_STRATA];
    char prev[DRAW_KEY_MAX + 4]; /* previous line, for the order check */
    size_t prev_len;             /* 0 before the first line */
    int finished;
};

draw_digest *draw_digest_create(void)
{
    draw_digest *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || !EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL)) {
        draw_digest_destroy(d);
        return NULL;
    }
    return d;
}

void draw_digest_destroy(draw_digest *d)
{
    if (!d) return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

int draw_digest_add(draw_digest *d, const char *key, char stratum)
{
    size_t kl = key_len_checked(key);
    int s = draw_stratum_index(stratum);
    if (d->finished || !kl || s < 0) return DRIP_EVALUE;
    char line[DRAW_KEY_MAX + 4];
    memcpy(line, key, kl);
    line[kl] = ',';
    line[kl + 1] = stratum;
    line[kl + 2] = '\n';
    size_t len = kl + 3;
    /* Byte order of whole lines, as the contract sorts them (not the order of the keys alone). */
    int in_order = 1;
    if (d->prev_len) {
        size_t m = len < d->prev_len ? len : d->prev_len;
        int c = memcmp(d->prev, line, m);
        in_order = c < 0 || (c == 0 && d->prev_len < len);
    }
    if (!EVP_DigestUpdate(d->ctx, line, len)) return DRIP_EINTERNAL;
    d->n[s]++;
    memcpy(d->prev, line, len);
    d->prev_len = len;
    return in_order ? DRIP_OK : DRIP_EVALUE;
}

uint64_t draw_digest_sizes(const draw_digest *d, uint64_t n[DRAW_STRATA])
{
    uint64_t total = 0;
    for (int s = 0; s < DRAW_STRATA; s++) {
        if (n) n[s] = d->n[s];
        total += d->n[s];
    }
    return total;
}

int draw_digest_final(draw_digest *d, char hex[DRAW_HEX_LEN + 1])
{
    if (d->finished) return DRIP_EVALUE;
    unsigned char md[32];
    unsigned int len = 0;
    d->finished = 1;
    if (!EVP_DigestFinal_ex(d->ctx, md, &len) || len != 32) return DRIP_EINTERNAL;
    draw_hex(md, 32, hex);
    return DRIP_OK;
}

/* ---------------------------------------------------------------- quotas */

int draw_quotas_ratio(const uint64_t n[DRAW_STRATA], const uint32_t ppm[DRAW_STRATA],
                      uint64_t k_out[DRAW_STRATA])
{
    for (int s = 0; s < DRAW_STRATA; s++)
        if (ppm[s] > DRAW_PPM_ONE) return DRIP_EVALUE;
    for (int s = 0; s < DRAW_STRATA; s++) {
        /* ceil(n r / 1e6) in 128 bits: n r can pass 2^64 for absurd n, never for real ones. */
        unsigned __int128 num = (unsigned __int128)n[s] * ppm[s] + (DRAW_PPM_ONE - 1);
        unsigned __int128 k = num / DRAW_PPM_ONE;
        k_out[s] = k < n[s] ? (uint64_t)k : n[s];
    }
    return DRIP_OK;
}

int draw_quotas_count(const uint64_t n[DRAW_STRATA], uint64_t k, uint64_t k_out[DRAW_STRATA])
{
    uint64_t total = 0;
    for (int s = 0; s < DRAW_STRATA; s++) {
        if (n[s] > UINT64_MAX - total) return DRIP_EVALUE;
        total += n[s];
    }
    if (k > total) k = total;
    uint64_t rem[DRAW_STRATA] = {0};
    uint64_t given = 0;
    for (int s = 0; s < DRAW_STRATA; s++) {
        k_out[s] = 0;
        if (total == 0) continue;
        unsigned __int128 prod = (unsigned __int128)k * n[s]; /* up to 1e7 * 1e7: past 2^64 */
        k_out[s] = (uint64_t)(prod / total);
        rem[s] = (uint64_t)(prod % total);
        given += k_out[s];
    }
    /* Order the strata by remainder descending, then code byte order ('-' < 'A' < ... < 'D'). */
    int order[DRAW_STRATA] = {4, 0, 1, 2, 3}; /* already in code byte order */
    for (int i = 1; i < DRAW_STRATA; i++) {  /* stable insertion sort keeps the code order on ties */
        int x = order[i], j = i;
        while (j > 0 && rem[order[j - 1]] < rem[x]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    /* The leftover is sum(rem) / total < the number of non-zero remainders, so each extra seat
     * goes to a distinct stratum with rem > 0, which has k_s < n_s: no stratum exceeds its size. */
    for (uint64_t i = 0; i < k - given && i < DRAW_STRATA; i++) k_out[order[i]]++;
    return DRIP_OK;
}

/* ---------------------------------------------------------------- bounded heaps */

static int pick_cmp(const draw_pick *x, const draw_pick *y)
{
    int c = memcmp(x->ticket, y->ticket, 32);
    return c ? c : strcmp(x->key, y->key);
}

static int pick_qsort_cmp(const void *a, const void *b) { return pick_cmp(a, b); }

/* Max-heap of the k smallest picks seen: a[0] is the largest kept, the first to go. */
typedef struct {
    draw_pick *a;
    size_t len, cap;
    uint64_t k;
} pick_heap;

static void heap_sift_down(pick_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < h->len && pick_cmp(&h->a[l], &h->a[big]) > 0) big = l;
        if (r < h->len && pick_cmp(&h->a[r], &h->a[big]) > 0) big = r;
        if (big == i) return;
        draw_pick tmp = h->a[i];
        h->a[i] = h->a[big];
        h->a[big] = tmp;
        i = big;
    }
}

static void heap_sift_up(pick_heap *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (pick_cmp(&h->a[i], &h->a[p]) <= 0) return;
        draw_pick tmp = h->a[i];
        h->a[i] = h->a[p];
        h->a[p] = tmp;
        i = p;
    }
}

static void pick_fill(draw_pick *p, const char *key, size_t kl, char stratum,
                      const unsigned char ticket[32])
{
    memcpy(p->key, key, kl);
    p->key[kl] = '\0';
    p->stratum = stratum;
    memcpy(p->ticket, ticket, 32);
    p->rank = 0;
}

static int heap_offer(pick_heap *h, const char *key, size_t kl, char stratum,
                      const unsigned char ticket[32])
{
    if (h->k == 0) return DRIP_OK;
    if (h->len < h->k) {
        if (h->len == h->cap) {
            /* Grow on demand, never past k: memory follows min(k, members seen). */
            size_t cap = h->cap ? h->cap * 2 : 16;
            if (cap > h->k) cap = (size_t)h->k;
            if (cap > SIZE_MAX / sizeof(draw_pick)) return DRIP_ENOMEM;
            draw_pick *a = realloc(h->a, cap * sizeof *a);
            if (!a) return DRIP_ENOMEM;
            h->a = a;
            h->cap = cap;
        }
        pick_fill(&h->a[h->len], key, kl, stratum, ticket);
        heap_sift_up(h, h->len++);
        return DRIP_OK;
    }
    int c = memcmp(ticket, h->a[0].ticket, 32);
    if (c > 0 || (c == 0 && strcmp(key, h->a[0].key) >= 0)) return DRIP_OK;
    pick_fill(&h->a[0], key, kl, stratum, ticket);
    heap_sift_down(h, 0);
    return DRIP_OK;
}

/* ---------------------------------------------------------------- selector */

struct draw_selector {
    ticketer tk;
    pick_heap heap[DRAW_STRATA];
    uint64_t seen[DRAW_STRATA];
    int finished;
};

int draw_selector_create(draw_selector **out, const char *seed_hex, const char *task_code,
                         const uint64_t k[DRAW_STRATA])
{
    *out = NULL;
    draw_selector *sel = calloc(1, sizeof *sel);
    if (!sel) return DRIP_ENOMEM;
    int rc = ticketer_init(&sel->tk, seed_hex, task_code);
    if (rc != DRIP_OK) {
        free(sel);
        return rc;
    }
    for (int s = 0; s < DRAW_STRATA; s++) sel->heap[s].k = k[s];
    *out = sel;
    return DRIP_OK;
}

void draw_selector_destroy(draw_selector *sel)
{
    if (!sel) return;
    for (int s = 0; s < DRAW_STRATA; s++) free(sel->heap[s].a);
    ticketer_fini(&sel->tk);
    free(sel);
}

int draw_selector_add(draw_selector *sel, const char *key, char stratum, unsigned char ticket[32])
{
    size_t kl = key_len_checked(key);
    int s = draw_stratum_index(stratum);
    if (sel->finished || !kl || s < 0) return DRIP_EVALUE;
    unsigned char t[32];
    int rc = ticketer_ticket(&sel->tk, key, kl, t);
    if (rc != DRIP_OK) return rc;
    if (ticket) memcpy(ticket, t, 32);
    sel->seen[s]++;
    return heap_offer(&sel->heap[s], key, kl, stratum, t);
}

int draw_selector_finish(draw_selector *sel)
{
    if (sel->finished) return DRIP_EVALUE;
    sel->finished = 1;
    for (int s = 0; s < DRAW_STRATA; s++) {
        pick_heap *h = &sel->heap[s];
        if (h->len) qsort(h->a, h->len, sizeof *h->a, pick_qsort_cmp);
        for (size_t i = 0; i < h->len; i++) h->a[i].rank = i + 1;
    }
    return DRIP_OK;
}

size_t draw_selector_selected(const draw_selector *sel, int s, const draw_pick **picks)
{
    if (!sel->finished || s < 0 || s >= DRAW_STRATA) {
        *picks = NULL;
        return 0;
    }
    *picks = sel->heap[s].a;
    return sel->heap[s].len;
}

int draw_selector_threshold(const draw_selector *sel, int s, unsigned char ticket[32])
{
    if (!sel->finished || s < 0 || s >= DRAW_STRATA || sel->heap[s].len == 0)
        return DRIP_ENOTFOUND;
    memcpy(ticket, sel->heap[s].a[sel->heap[s].len - 1].ticket, 32);
    return DRIP_OK;
}

uint64_t draw_selector_seen(const draw_selector *sel, int s)
{
    return s >= 0 && s < DRAW_STRATA ? sel->seen[s] : 0;
}

/* ---------------------------------------------------------------- replacement */

struct draw_min_tracker {
    char **excluded; /* sorted by strcmp */
    size_t n_excluded;
    pick_heap heap;
    draw_pick *result; /* sorted copy of the heap */
    size_t result_cap;
};

static int str_qsort_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

draw_min_tracker *draw_min_tracker_create(const char *const *excluded, size_t n_excluded,
                                          size_t want)
{
    draw_min_tracker *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->heap.k = want;
    if (n_excluded) {
        t->excluded = calloc(n_excluded, sizeof *t->excluded);
        if (!t->excluded) {
            free(t);
            return NULL;
        }
        for (size_t i = 0; i < n_excluded; i++) {
            t->excluded[i] = strdup(excluded[i] ? excluded[i] : "");
            t->n_excluded = i + 1;
            if (!t->excluded[i]) {
                draw_min_tracker_destroy(t);
                return NULL;
            }
        }
        qsort(t->excluded, t->n_excluded, sizeof *t->excluded, str_qsort_cmp);
    }
    return t;
}

void draw_min_tracker_destroy(draw_min_tracker *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_excluded; i++) free(t->excluded[i]);
    free(t->excluded);
    free(t->heap.a);
    free(t->result);
    free(t);
}

int draw_min_tracker_add(draw_min_tracker *t, const char *key, const unsigned char ticket[32])
{
    size_t kl = key_len_checked(key);
    if (!kl) return DRIP_EVALUE;
    if (t->n_excluded &&
        bsearch(&key, t->excluded, t->n_excluded, sizeof *t->excluded, str_qsort_cmp))
        return DRIP_OK;
    return heap_offer(&t->heap, key, kl, 0, ticket);
}

int draw_min_tracker_result(draw_min_tracker *t, const draw_pick **picks, size_t *count)
{
    /* Sort a copy: the heap itself must stay a heap for later adds. */
    size_t n = t->heap.len;
    *picks = NULL;
    *count = 0;
    if (n > t->result_cap) {
        draw_pick *r = realloc(t->result, n * sizeof *r);
        if (!r) return DRIP_ENOMEM;
        t->result = r;
        t->result_cap = n;
    }
    if (n) {
        memcpy(t->result, t->heap.a, n * sizeof *t->result);
        qsort(t->result, n, sizeof *t->result, pick_qsort_cmp);
    }
    for (size_t i = 0; i < n; i++) t->result[i].rank = i + 1;
    *picks = t->result;
    *count = n;
    return DRIP_OK;
}

/* ---------------------------------------------------------------- verification */

/* One listed member (drawn or replacement), in an array sorted by key for lookups while the
 * population streams by. */
typedef struct {
    const draw_record_entry *e;
    size_t order;      /* position in its list */
    int is_replacement;
    int seen;          /* found in the population */
    char pop_stratum;  /* its stratum there */
    int matched;       /* among the true selection of its stratum */
    int replaced;      /* some replacement says it replaced this member */
} listed_member;

/* Kinds of difference that can repeat once per member: each shows at most VERIFY_SHOWN lines, so a
 * wrong task code or the wrong population file gives a readable report, not a million lines. */
enum { CAT_POPULATION, CAT_TICKET, CAT_MEMBER, CAT_SELECTION, CAT_REPLACEMENT, CAT_N };
#define VERIFY_SHOWN 10

struct draw_verifier {
    const draw_record *rec;
    draw_report_fn report;
    void *arg;
    unsigned long problems;
    unsigned long cat_count[CAT_N]; /* see vreport_cat */
    int finished;
    int nonce_ok;
    char nonce_hex[DRAW_HEX_LEN + 1]; /* lower-case, as the seed hashes it */
    int params_ok;
    draw_digest *digest;
    draw_selector *sel; /* NULL when the published seed is unusable */
    uint64_t kept[DRAW_STRATA]; /* how many smallest tickets the selector keeps */
    uint64_t n_repl[DRAW_STRATA];
    listed_member *listed;
    size_t n_listed;
    uint64_t line_no;
    int order_reported;
};

static void vreport(draw_verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vreport(draw_verifier *v, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    v->problems++;
    if (v->report) v->report(v->arg, buf);
}

static const char *const CAT_NAME[CAT_N] = {"population", "ticket", "member", "selection",
                                            "replacement"};

static void vreport_cat(draw_verifier *v, int cat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vreport_cat(draw_verifier *v, int cat, const char *fmt, ...)
{
    if (++v->cat_count[cat] > VERIFY_SHOWN) {
        v->problems++;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    vreport(v, "%s", buf);
}

static void vreport_hidden(draw_verifier *v)
{
    for (int c = 0; c < CAT_N; c++)
        if (v->cat_count[c] > VERIFY_SHOWN)
            vreport(v, "%s: %lu more differences of this kind not shown", CAT_NAME[c],
                    v->cat_count[c] - VERIFY_SHOWN);
}

static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }

static int listed_cmp(const void *a, const void *b)
{
    const listed_member *x = a, *y = b;
    return strcmp(x->e->key, y->e->key);
}

static listed_member *listed_find(draw_verifier *v, const char *key)
{
    if (!v->n_listed) return NULL;
    draw_record_entry probe = {.key = key};
    listed_member m = {.e = &probe};
    return bsearch(&m, v->listed, v->n_listed, sizeof *v->listed, listed_cmp);
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* Quotas from sizes and the record's parameters. */
static int record_quotas(const draw_record *rec, const uint64_t n[DRAW_STRATA],
                         uint64_t k[DRAW_STRATA])
{
    return rec->by_count ? draw_quotas_count(n, rec->count, k)
                         : draw_quotas_ratio(n, rec->ratio_ppm, k);
}

/* Checks one list entry's own fields and indexes it. */
static void verifier_list(draw_verifier *v, const draw_record_entry *e, size_t order, int repl,
                          uint64_t per_stratum[DRAW_STRATA])
{
    const char *what = repl ? "replacement" : "selected";
    if (!e->key || draw_key_check(e->key) != DRIP_OK) {
        vreport(v, "%s #%zu: key '%s' is not a valid member key", what, order + 1,
                str_or(e->key, "(null)"));
        return;
    }
    int s = draw_stratum_index(e->stratum);
    if (s < 0) {
        vreport(v, "member %s: stratum '%c' is not one of A B C D -", e->key,
                e->stratum ? e->stratum : '?');
        return;
    }
    per_stratum[s]++;
    listed_member *m = &v->listed[v->n_listed++];
    memset(m, 0, sizeof *m);
    m->e = e;
    m->order = order;
    m->is_replacement = repl;
}

draw_verifier *draw_verifier_create(const draw_record *rec, draw_report_fn report, void *arg)
{
    draw_verifier *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->rec = rec;
    v->report = report;
    v->arg = arg;
    v->digest = draw_digest_create();
    size_t total = rec->n_selected + rec->n_replacements;
    if (total) v->listed = calloc(total, sizeof *v->listed);
    if (!v->digest || (total && !v->listed)) {
        draw_verifier_destroy(v);
        return NULL;
    }
    if (!rec->task_code) vreport(v, "task_code: missing");

    /* The commitment was published first: it is the anchor the nonce must match. */
    unsigned char nonce[32];
    if (draw_unhex(rec->nonce, nonce, 32) != DRIP_OK) {
        vreport(v, "nonce: '%s' is not 64 hex digits", str_or(rec->nonce, "(null)"));
    } else {
        v->nonce_ok = 1;
        draw_hex(nonce, 32, v->nonce_hex);
        char c[DRAW_HEX_LEN + 1];
        if (draw_commitment(nonce, c) != DRIP_OK) {
            draw_verifier_destroy(v);
            return NULL;
        }
        if (!rec->commitment || strcasecmp(c, rec->commitment) != 0)
            vreport(v, "nonce: SHA-256(nonce) is %s, but the commitment published with the task "
                       "is %s", c, str_or(rec->commitment, "(none)"));
    }

    v->params_ok = 1;
    if (!rec->by_count) {
        for (int s = 0; s < DRAW_STRATA; s++) {
            if (rec->ratio_ppm[s] > DRAW_PPM_ONE) {
                vreport(v, "ratio[%c]: %u ppm is above 1000000 (100 %%)", stratum_code(s),
                        rec->ratio_ppm[s]);
                v->params_ok = 0;
            }
        }
    }

    uint64_t listed_s[DRAW_STRATA] = {0};
    for (size_t i = 0; i < rec->n_selected; i++) verifier_list(v, &rec->selected[i], i, 0, listed_s);
    for (size_t i = 0; i < rec->n_replacements; i++)
        verifier_list(v, &rec->replacements[i], i, 1, v->n_repl);
    if (v->n_listed) qsort(v->listed, v->n_listed, sizeof *v->listed, listed_cmp);
    for (size_t i = 1; i < v->n_listed; i++)
        if (strcmp(v->listed[i - 1].e->key, v->listed[i].e->key) == 0)
            vreport(v, "member %s: listed more than once", v->listed[i].e->key);

    /* The true quotas depend on sizes we only know at the end, so keep enough for anything the
     * record could justify: its quotas, quotas from its sizes, its list; plus the replacements.
     * If the population is larger than the record says, finish() notices and says so. */
    uint64_t from_sizes[DRAW_STRATA] = {0};
    if (v->params_ok && record_quotas(rec, rec->sizes, from_sizes) != DRIP_OK)
        memset(from_sizes, 0, sizeof from_sizes);
    for (int s = 0; s < DRAW_STRATA; s++) {
        uint64_t m = rec->quotas[s];
        if (from_sizes[s] > m) m = from_sizes[s];
        if (listed_s[s] > m) m = listed_s[s];
        v->kept[s] = sat_add(m, v->n_repl[s]);
    }
    if (!draw_is_hex64(rec->seed)) {
        vreport(v, "seed: '%s' is not 64 lower-case hex digits; tickets and selection not checked",
                str_or(rec->seed, "(null)"));
    } else if (rec->task_code) {
        int rc = draw_selector_create(&v->sel, rec->seed, rec->task_code, v->kept);
        if (rc != DRIP_OK) {
            draw_verifier_destroy(v);
            return NULL;
        }
    }
    return v;
}

void draw_verifier_destroy(draw_verifier *v)
{
    if (!v) return;
    draw_digest_destroy(v->digest);
    draw_selector_destroy(v->sel);
    free(v->listed);
    free(v);
}

int draw_verifier_add(draw_verifier *v, const char *key, char stratum)
{
    v->line_no++;
    if (v->finished) return DRIP_EVALUE;
    if (draw_key_check(key) != DRIP_OK || draw_stratum_index(stratum) < 0) {
        vreport_cat(v, CAT_POPULATION,
                    "population: line %llu: '%s' with stratum '%c' is not a valid member",
                (unsigned long long)v->line_no, str_or(key, "(null)"), stratum ? stratum : '?');
        return DRIP_EVALUE;
    }
    int rc = draw_digest_add(v->digest, key, stratum);
    int out_of_order = rc == DRIP_EVALUE;
    if (rc != DRIP_OK && !out_of_order) return rc;
    if (out_of_order && !v->order_reported) {
        v->order_reported = 1;
        vreport(v, "population: line %llu (%s) is not after the line before it in byte order",
                (unsigned long long)v->line_no, key);
    }
    listed_member *m = listed_find(v, key);
    if (m) {
        m->seen = 1;
        m->pop_stratum = stratum;
    }
    if (v->sel) {
        rc = draw_selector_add(v->sel, key, stratum, NULL);
        if (rc != DRIP_OK) return rc;
    }
    return out_of_order ? DRIP_EVALUE : DRIP_OK;
}

/* Listed tickets, membership, selection, thresholds and replacements, under the published seed. */
static int verifier_check_selection(draw_verifier *v, const uint64_t k[DRAW_STRATA])
{
    const draw_record *rec = v->rec;
    int rc = draw_selector_finish(v->sel);
    if (rc != DRIP_OK) return rc;

    for (size_t i = 0; i < v->n_listed; i++) {
        const draw_record_entry *e = v->listed[i].e;
        unsigned char want[32], got[32];
        char want_hex[DRAW_HEX_LEN + 1];
        rc = draw_ticket(rec->seed, rec->task_code, e->key, want);
        if (rc != DRIP_OK) return rc;
        draw_hex(want, 32, want_hex);
        if (draw_unhex(e->ticket, got, 32) != DRIP_OK || memcmp(got, want, 32) != 0)
            vreport_cat(v, CAT_TICKET, "ticket of %s: record says %s, recomputed %s", e->key,
                    str_or(e->ticket, "(none)"), want_hex);
    }

    for (int s = 0; s < DRAW_STRATA; s++) {
        char code = stratum_code(s);
        const draw_pick *picks = NULL;
        size_t have = draw_selector_selected(v->sel, s, &picks);
        uint64_t seen = draw_selector_seen(v->sel, s);
        /* True selection = the first k[s] picks; the selector kept v->kept[s]. */
        uint64_t need = sat_add(k[s], v->n_repl[s]);
        if (need > seen) need = seen;
        if (need > have) {
            vreport(v, "selection[%c]: not checked: the stratum has more members than the record "
                       "allows for", code);
            continue;
        }
        uint64_t ks = k[s] < have ? k[s] : have;
        for (uint64_t i = 0; i < ks; i++) {
            listed_member *m = listed_find(v, picks[i].key);
            if (m && !m->is_replacement && m->e->stratum == code) {
                m->matched = 1;
            } else {
                char th[DRAW_HEX_LEN + 1];
                draw_hex(picks[i].ticket, 32, th);
                vreport_cat(v, CAT_SELECTION,
                            "selection[%c]: %s (ticket %s, rank %llu) is among the %llu smallest "
                           "tickets but is not listed", code, picks[i].key, th,
                        (unsigned long long)picks[i].rank, (unsigned long long)k[s]);
            }
        }
        int sets_equal = 1;
        uint64_t listed_here = 0;
        for (size_t i = 0; i < rec->n_selected; i++) {
            const draw_record_entry *e = &rec->selected[i];
            if (e->stratum != code || draw_key_check(e->key) != DRIP_OK) continue;
            listed_here++;
            listed_member *m = listed_find(v, e->key);
            if (m && m->matched) continue;
            sets_equal = 0;
            if (m && m->seen && m->pop_stratum == code)
                vreport_cat(v, CAT_SELECTION,
                            "selection[%c]: %s is listed but its ticket is not among the %llu "
                           "smallest", code, e->key, (unsigned long long)k[s]);
        }
        if (listed_here != ks) sets_equal = 0;
        if (sets_equal) {
            uint64_t pos = 0;
            for (size_t i = 0; i < rec->n_selected; i++) {
                const draw_record_entry *e = &rec->selected[i];
                if (e->stratum != code || draw_key_check(e->key) != DRIP_OK) continue;
                if (strcmp(e->key, picks[pos].key) != 0) {
                    vreport(v, "selection[%c]: not listed in ticket order: position %llu is %s, "
                               "expected %s", code, (unsigned long long)pos + 1, e->key,
                            picks[pos].key);
                    break;
                }
                pos++;
            }
        }

        /* Threshold: the k_s-th smallest ticket; none when nothing is drawn. */
        const char *th_pub = rec->thresholds[s];
        if (ks == 0) {
            if (th_pub && *th_pub)
                vreport(v, "threshold[%c]: record says %s, but nothing is drawn in the stratum",
                        code, th_pub);
        } else {
            unsigned char got[32];
            char want_hex[DRAW_HEX_LEN + 1];
            draw_hex(picks[ks - 1].ticket, 32, want_hex);
            if (draw_unhex(th_pub, got, 32) != DRIP_OK || memcmp(got, picks[ks - 1].ticket, 32))
                vreport(v, "threshold[%c]: record says %s, the ticket of rank %llu is %s",
                        code, str_or(th_pub, "(none)"), (unsigned long long)ks, want_hex);
        }

        /* Replacements: everything excluded so far is a drawn member or an earlier replacement,
         * all below in ticket order, so the j-th replacement is the (k_s + j)-th smallest. */
        uint64_t j = 0;
        for (size_t i = 0; i < rec->n_replacements; i++) {
            const draw_record_entry *e = &rec->replacements[i];
            if (e->stratum != code || draw_key_check(e->key) != DRIP_OK) continue;
            uint64_t at = ks + j++;
            if (at >= have) {
                vreport_cat(v, CAT_REPLACEMENT,
                            "replacement[%c] #%llu: record says %s, but the stratum has no member "
                           "left to draw", code, (unsigned long long)j, e->key);
            } else if (strcmp(picks[at].key, e->key) != 0) {
                vreport_cat(v, CAT_REPLACEMENT,
                            "replacement[%c] #%llu: record says %s, expected %s (rank %llu in "
                            "ticket order)", code, (unsigned long long)j, e->key,
                        picks[at].key, (unsigned long long)at + 1);
            }
        }
    }
    return DRIP_OK;
}

/* Each replacement replaces a drawn (or earlier replacement) member of its stratum, once. */
static void verifier_check_replaced(draw_verifier *v)
{
    const draw_record *rec = v->rec;
    for (size_t i = 0; i < rec->n_replacements; i++) {
        const draw_record_entry *e = &rec->replacements[i];
        if (draw_stratum_index(e->stratum) < 0) continue;
        listed_member *m = e->replaces ? listed_find(v, e->replaces) : NULL;
        if (!m || m->e->stratum != e->stratum || (m->is_replacement && m->order >= i)) {
            vreport_cat(v, CAT_REPLACEMENT,
                        "replacement %s: replaces %s, which is not a drawn member of stratum %c",
                    str_or(e->key, "(null)"), str_or(e->replaces, "(none)"), e->stratum);
        } else if (m->replaced) {
            vreport_cat(v, CAT_REPLACEMENT, "replacement %s: replaces %s, which was already replaced",
                    str_or(e->key, "(null)"), e->replaces);
        } else {
            m->replaced = 1;
        }
    }
}

int draw_verifier_finish(draw_verifier *v)
{
    if (v->finished) return DRIP_EVALUE;
    v->finished = 1;
    const draw_record *rec = v->rec;

    char digest[DRAW_HEX_LEN + 1];
    int rc = draw_digest_final(v->digest, digest);
    if (rc != DRIP_OK) return rc;
    if (!rec->population_digest || strcmp(digest, rec->population_digest) != 0)
        vreport(v, "population_digest: record says %s, the population hashes to %s",
                str_or(rec->population_digest, "(none)"), digest);

    uint64_t n[DRAW_STRATA];
    draw_digest_sizes(v->digest, n);
    for (int s = 0; s < DRAW_STRATA; s++)
        if (n[s] != rec->sizes[s])
            vreport(v, "size[%c]: record says %llu, the population has %llu", stratum_code(s),
                    (unsigned long long)rec->sizes[s], (unsigned long long)n[s]);

    uint64_t k[DRAW_STRATA] = {0};
    int quotas_ok = v->params_ok && record_quotas(rec, n, k) == DRIP_OK;
    for (int s = 0; quotas_ok && s < DRAW_STRATA; s++) {
        if (k[s] == rec->quotas[s]) continue;
        if (rec->by_count)
            vreport(v, "quota[%c]: record says %llu, recomputed %llu from the sizes and count %llu "
                       "(largest remainder)", stratum_code(s), (unsigned long long)rec->quotas[s],
                    (unsigned long long)k[s], (unsigned long long)rec->count);
        else
            vreport(v, "quota[%c]: record says %llu, recomputed %llu from size %llu and ratio %u "
                       "ppm", stratum_code(s), (unsigned long long)rec->quotas[s],
                    (unsigned long long)k[s], (unsigned long long)n[s], rec->ratio_ppm[s]);
    }

    /* The seed from the population actually given, so a wrong digest field alone is one line. */
    int seed_ok = 0;
    if (v->nonce_ok && draw_is_hex64(rec->seed)) {
        char seed[DRAW_HEX_LEN + 1];
        rc = draw_seed(v->nonce_hex, digest, rec->entropy, seed);
        if (rc != DRIP_OK) return rc;
        seed_ok = strcmp(seed, rec->seed) == 0;
        if (!seed_ok)
            vreport(v, "seed: record says %s, recomputed %s from nonce, population and entropy "
                       "'%s'; tickets and selection not checked", rec->seed, seed,
                    str_or(rec->entropy, ""));
    } else if (!v->nonce_ok) {
        vreport(v, "seed: cannot be recomputed without a valid nonce; tickets and selection not "
                   "checked");
    }
    if (seed_ok && v->sel) {
        if (!quotas_ok) {
            vreport(v, "selection: not checked, the quotas cannot be recomputed");
        } else {
            rc = verifier_check_selection(v, k);
            if (rc != DRIP_OK) return rc;
        }
    }
    for (size_t i = 0; i < v->n_listed; i++) {
        const listed_member *m = &v->listed[i];
        if (!m->seen)
            vreport_cat(v, CAT_MEMBER, "member %s: not in the population", m->e->key);
        else if (m->pop_stratum != m->e->stratum)
            vreport_cat(v, CAT_MEMBER, "member %s: stratum %c in the population, record says %c",
                        m->e->key,
                    m->pop_stratum, m->e->stratum);
    }
    verifier_check_replaced(v);
    vreport_hidden(v);
    return v->problems ? DRIP_EVALUE : DRIP_OK;
}

int draw_verify(const draw_record *rec, FILE *population, draw_report_fn report, void *arg)
{
    draw_verifier *v = draw_verifier_create(rec, report, arg);
    if (!v) return DRIP_ENOMEM;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = DRIP_OK;
    while ((len = getline(&line, &cap, population)) > 0) {
        size_t l = (size_t)len;
        /* Exactly "<key>,<S>\n": anything else would hash differently from what it parses to. */
        if (l < 4 || line[l - 1] != '\n' || line[l - 3] != ',' || strlen(line) != l) {
            v->line_no++;
            int crlf = l >= 2 && line[l - 1] == '\n' && line[l - 2] == '\r';
            vreport_cat(v, CAT_POPULATION, "population: line %llu is not of the form <key>,<stratum>\\n%s",
                    (unsigned long long)v->line_no,
                    crlf ? " (it ends in CR LF; the file must use LF only)"
                    : line[l - 1] != '\n' ? " (no final newline)" : "");
            continue;
        }
        line[l - 3] = '\0';
        rc = draw_verifier_add(v, line, line[l - 2]);
        if (rc != DRIP_OK && rc != DRIP_EVALUE) break;
        rc = DRIP_OK;
    }
    free(line);
    if (rc == DRIP_OK && ferror(population)) rc = DRIP_EIO;
    if (rc == DRIP_OK) rc = draw_verifier_finish(v);
    draw_verifier_destroy(v);
    return rc;
}
