/* select.c — pass 2 of a draw: every member's ticket, the k_s smallest per stratum (drip-draw-v1,
 * docs/draw.md §5-6), over the spool in several threads (the database is idle by then).
 *
 * The selection itself is common/draw.c's draw_selector; this file only decides which members it
 * needs to see. Each thread takes a part of the spool and computes each member's ticket once, from
 * a copy of the SHA-256 state after the constant prefix seed ":" task_code ":" (the 64 hex digits
 * of the seed are one compression, done once), and keeps per stratum the k_s members with the
 * smallest first 8 ticket bytes (a max-heap of prefixes, keys aside). At the end the threads' kept
 * members go to one draw_selector, which computes their tickets again (they must agree) and orders
 * them exactly. That is the selection over everybody: a member of it is never dropped by its
 * thread, since fewer than k_s members precede it, hence fewer than k_s have a smaller prefix — except
 * when prefixes tie, so that a member dropped while another with the same prefix stays, or arriving
 * with the prefix of the heap's top, goes to the selector as well (about never: 64 bits).
 *
 * Cost per member: one SHA-256 block and a comparison; the selector sees ~threads x sum(k_s)
 * members instead of ~sum(k_s) (1 + ln(n_s / k_s)) through its heavier heap. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sampler.h"
#include "status.h"

typedef struct {
    uint64_t prefix;
    uint32_t slot; /* the member's key in keys[] */
} gate_ent;

typedef struct {
    char key[DRAW_KEY_MAX + 1];
    char stratum;
} gate_member;

/* One thread's share. */
typedef struct {
    pop_spool *spool;
    atomic_int *stop;
    int part, nparts;
    const char *seed, *task_code;
    uint64_t k[DRAW_STRATA], sizes[DRAW_STRATA];
    EVP_MD_CTX *base, *ctx;
    gate_ent *heap[DRAW_STRATA]; /* max-heap of the k_s smallest prefixes so far */
    char (*keys[DRAW_STRATA])[DRAW_KEY_MAX + 1];
    size_t len[DRAW_STRATA], cap[DRAW_STRATA];
    gate_member *ties; /* members kept because of a prefix tie */
    size_t nties, tcap;
    uint64_t seen[DRAW_STRATA];
    int status;
    char why[SAMPLER_WHY];
} gate;

static uint64_t prefix_of(const unsigned char t[32])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | t[i];
    return v;
}

static void gate_tie(gate *g, const char *key, char stratum)
{
    if (g->nties == g->tcap) {
        g->tcap = g->tcap ? 2 * g->tcap : 16;
        if (!(g->ties = realloc(g->ties, g->tcap * sizeof *g->ties))) abort();
    }
    snprintf(g->ties[g->nties].key, sizeof g->ties[g->nties].key, "%s", key);
    g->ties[g->nties++].stratum = stratum;
}

static void heap_down(gate_ent *h, size_t n, size_t i)
{
    gate_ent x = h[i];
    for (;;) {
        size_t l = 2 * i + 1, big = l;
        if (l >= n) break;
        if (l + 1 < n && h[l + 1].prefix > h[l].prefix) big = l + 1;
        if (h[big].prefix <= x.prefix) break;
        h[i] = h[big];
        i = big;
    }
    h[i] = x;
}

static int gate_row(const char *key, char stratum, void *arg)
{
    gate *g = arg;
    int s = draw_stratum_index(stratum);
    if (s < 0) {
        snprintf(g->why, sizeof g->why, "population line for '%.80s': stratum '%c'", key, stratum);
        return DRIP_EINTERNAL;
    }
    g->seen[s]++;
    if (g->k[s] == 0) return DRIP_OK;
    size_t kl = strlen(key);
    unsigned char t[EVP_MAX_MD_SIZE];
    unsigned int tl = 0;
    if (!EVP_MD_CTX_copy_ex(g->ctx, g->base) || !EVP_DigestUpdate(g->ctx, key, kl) ||
        !EVP_DigestFinal_ex(g->ctx, t, &tl) || tl != 32) {
        snprintf(g->why, sizeof g->why, "SHA-256 failed");
        return DRIP_EINTERNAL;
    }
    uint64_t p = prefix_of(t);
    gate_ent *h = g->heap[s];
    size_t n = g->len[s];
    if (n < g->k[s]) {
        if (n == g->cap[s]) { /* sized once (gate_work), touched as it fills */
            snprintf(g->why, sizeof g->why, "stratum %c has more members than pass 1 counted",
                     stratum);
            return DRIP_EINTERNAL;
        }
        memcpy(g->keys[s][n], key, kl + 1);
        size_t i = g->len[s]++;
        while (i > 0 && h[(i - 1) / 2].prefix < p) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = (gate_ent){p, (uint32_t)n};
        return DRIP_OK;
    }
    if (p > h[0].prefix) return DRIP_OK;
    if (p == h[0].prefix) {
        gate_tie(g, key, stratum);
        return DRIP_OK;
    }
    /* p < top: the top leaves, the member takes its key slot */
    gate_ent out = h[0];
    char evicted[DRAW_KEY_MAX + 1];
    memcpy(evicted, g->keys[s][out.slot], sizeof evicted);
    memcpy(g->keys[s][out.slot], key, kl + 1);
    h[0] = (gate_ent){p, out.slot};
    heap_down(h, n, 0);
    if (h[0].prefix == out.prefix) gate_tie(g, evicted, stratum);
    return DRIP_OK;
}

static void *gate_work(void *arg)
{
    gate *g = arg;
    g->base = EVP_MD_CTX_new();
    g->ctx = EVP_MD_CTX_new();
    if (!g->base || !g->ctx || !EVP_DigestInit_ex(g->base, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(g->base, g->seed, strlen(g->seed)) ||
        !EVP_DigestUpdate(g->base, ":", 1) ||
        !EVP_DigestUpdate(g->base, g->task_code, strlen(g->task_code)) ||
        !EVP_DigestUpdate(g->base, ":", 1)) {
        snprintf(g->why, sizeof g->why, "SHA-256 set-up failed");
        g->status = DRIP_EINTERNAL;
        return NULL;
    }
    /* At most min(k_s, n_s) kept per stratum: allocated at once, so that no outgrown copies stay
     * resident (large blocks are mapped, and only their touched pages count). */
    for (int s = 0; s < DRAW_STRATA; s++) {
        size_t cap = (size_t)(g->k[s] < g->sizes[s] ? g->k[s] : g->sizes[s]);
        if (!cap) continue;
        if (!(g->heap[s] = malloc(cap * sizeof *g->heap[s])) ||
            !(g->keys[s] = malloc(cap * sizeof *g->keys[s])))
            abort();
        g->cap[s] = cap;
    }
    g->status = spool_each_part(g->spool, g->part, g->nparts, gate_row, g, g->stop, g->why,
                                sizeof g->why);
    return NULL;
}

static void gate_free(gate *g)
{
    EVP_MD_CTX_free(g->base);
    EVP_MD_CTX_free(g->ctx);
    for (int s = 0; s < DRAW_STRATA; s++) {
        free(g->heap[s]);
        free(g->keys[s]);
    }
    free(g->ties);
}

/* Hands one kept member to the selector, which must find the same ticket. */
static int feed(draw_selector *sel, const char *key, char stratum, uint64_t prefix, int check,
                char *why, size_t cap)
{
    unsigned char t[32];
    int st = draw_selector_add(sel, key, stratum, t);
    if (st != DRIP_OK) {
        snprintf(why, cap, "population line for '%.80s' rejected by the selector (%s)", key,
                 drip_status_name(st));
        return st == DRIP_ENOMEM ? st : DRIP_EINTERNAL;
    }
    if (check && prefix_of(t) != prefix) {
        snprintf(why, cap, "ticket of '%.80s': pass 2 and the selector disagree", key);
        return DRIP_EINTERNAL;
    }
    return DRIP_OK;
}

int select_members(pop_spool *sp, int threads, const char *seed, const char *task_code,
                   const uint64_t quotas[DRAW_STRATA], const uint64_t sizes[DRAW_STRATA],
                   atomic_int *stop, draw_selector **out, char *why, size_t cap)
{
    *out = NULL;
    int n = threads < 1 ? 1 : threads > SAMPLER_PASS2_MAX ? SAMPLER_PASS2_MAX : threads;
    gate *g = calloc((size_t)n, sizeof *g);
    if (!g) abort();
    for (int i = 0; i < n; i++) {
        g[i].spool = sp;
        g[i].stop = stop;
        g[i].part = i;
        g[i].nparts = n;
        g[i].seed = seed;
        g[i].task_code = task_code;
        memcpy(g[i].k, quotas, sizeof g[i].k);
        memcpy(g[i].sizes, sizes, sizeof g[i].sizes);
    }
    pthread_t th[SAMPLER_PASS2_MAX];
    int started[SAMPLER_PASS2_MAX] = {0};
    for (int i = 1; i < n; i++) /* a thread that cannot start runs its part here, below */
        started[i] = pthread_create(&th[i], NULL, gate_work, &g[i]) == 0;
    gate_work(&g[0]);
    for (int i = 1; i < n; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else gate_work(&g[i]);
    }
    int st = DRIP_OK;
    uint64_t seen[DRAW_STRATA] = {0};
    for (int i = 0; i < n && st == DRIP_OK; i++) {
        if (g[i].status != DRIP_OK) {
            snprintf(why, cap, "%s", g[i].why);
            st = g[i].status;
        }
        for (int s = 0; s < DRAW_STRATA; s++)
            seen[s] += g[i].seen[s];
    }
    if (st == DRIP_OK && memcmp(seen, sizes, sizeof seen) != 0) {
        snprintf(why, cap, "pass 2 read other strata sizes than pass 1");
        st = DRIP_EINTERNAL;
    }
    draw_selector *sel = NULL;
    if (st == DRIP_OK) st = draw_selector_create(&sel, seed, task_code, quotas);
    for (int i = 0; i < n; i++) { /* each thread's memory goes as soon as it is handed over */
        for (int s = 0; s < DRAW_STRATA && st == DRIP_OK; s++)
            for (size_t j = 0; j < g[i].len[s] && st == DRIP_OK; j++)
                st = feed(sel, g[i].keys[s][g[i].heap[s][j].slot], DRAW_STRATUM_CODES[s],
                          g[i].heap[s][j].prefix, 1, why, cap);
        for (size_t j = 0; j < g[i].nties && st == DRIP_OK; j++)
            st = feed(sel, g[i].ties[j].key, g[i].ties[j].stratum, 0, 0, why, cap);
        gate_free(&g[i]);
    }
    if (st == DRIP_OK) st = draw_selector_finish(sel);
    free(g);
    if (st != DRIP_OK) {
        if (sel) draw_selector_destroy(sel);
        return st == DRIP_ENOMEM || st == DRIP_EIO || st == DRIP_ETIMEOUT ? st : DRIP_EINTERNAL;
    }
    *out = sel;
    return DRIP_OK;
}
