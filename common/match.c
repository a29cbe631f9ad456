/* match.c — drip-match-v1 (see match.h and docs/match.md). */
#include "match.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "status.h"

/* ---- a string -> index map (open addressing), for unit loads and pool lookup ---------------- */

typedef struct {
    char **keys;
    uint32_t *vals;
    size_t cap, n;
} smap;

static uint64_t smap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int smap_grow(smap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    char **nk = calloc(ncap, sizeof *nk);
    uint32_t *nv = calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return DRIP_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = smap_hash(m->keys[i]) & (ncap - 1);
        while (nk[j]) j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return DRIP_OK;
}

/* Finds key; when absent and val_if_new != UINT32_MAX inserts it. Returns the slot's value, or
 * UINT32_MAX when absent (lookup) or out of memory. */
static uint32_t smap_get(smap *m, const char *key, uint32_t val_if_new)
{
    if (m->cap) {
        size_t j = smap_hash(key) & (m->cap - 1);
        while (m->keys[j]) {
            if (!strcmp(m->keys[j], key)) return m->vals[j];
            j = (j + 1) & (m->cap - 1);
        }
    }
    if (val_if_new == UINT32_MAX) return UINT32_MAX;
    if ((m->n + 1) * 2 > m->cap && smap_grow(m) != DRIP_OK) return UINT32_MAX;
    size_t j = smap_hash(key) & (m->cap - 1);
    while (m->keys[j]) j = (j + 1) & (m->cap - 1);
    if (!(m->keys[j] = strdup(key))) return UINT32_MAX;
    m->vals[j] = val_if_new;
    m->n++;
    return val_if_new;
}

static void smap_free(smap *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
}

/* ---- the match object ------------------------------------------------------------------------ */

typedef struct {
    uint32_t uid; /* unit id (load index) */
    char *key, *team;
    int tier, expert;
} cand;

typedef struct {
    uint32_t uid;
    char *key; /* "DEPT/#TEAM" */
    int tier;
    size_t *members; /* indices into the pool's cands, by key byte order */
    size_t nmembers;
} team;

typedef struct {
    size_t dept;
    char *region;
    cand *c;
    size_t n;
    team *t;
    size_t nt;
    unsigned cap, ecap;
    unsigned *pl; /* per cand: forms drawn from this pool (compared with the cap) */
    unsigned *tl; /* per team: the same */
    int max_tier;
} pool;

typedef struct {
    size_t dept;
    char *key;
    int reason;
} excl;

typedef struct {
    char *uscc, *region;
    unsigned char ticket[32];
    excl *x;
    size_t nx, xcap;
    size_t seq; /* 1.. after the run */
    match_slot *slots; /* ndepts */
} form;

struct match {
    char seed[DRAW_HEX_LEN + 1];
    char *task;
    match_dept *depts;
    size_t ndepts;
    pool *pools;
    size_t npools, pcap;
    form *forms;
    size_t nforms, fcap;
    size_t *order;
    smap units, poolmap;
    unsigned *load;
    size_t nunits, lcap;
    char *lines;
    size_t lines_len, nlines;
    EVP_MD *md;
    EVP_MD_CTX *base, *slot, *one;
    char keybuf[160];
    int ran;
};

static void pool_free(pool *p);

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    return r;
}

int match_create(match **out, const char *seed, const char *task, const match_dept *depts,
                 size_t ndepts)
{
    *out = NULL;
    if (!seed || !draw_is_hex64(seed) || !task || !*task || strchr(task, ':') || ndepts == 0 ||
        ndepts > MATCH_MAX_DEPTS)
        return DRIP_EVALUE;
    for (size_t i = 0; i < ndepts; i++) {
        if (!depts[i].dept || !*depts[i].dept || strchr(depts[i].dept, ',') ||
            strchr(depts[i].dept, ':') || depts[i].required > MATCH_MAX_REQUIRED ||
            depts[i].experts > MATCH_MAX_EXPERTS)
            return DRIP_EVALUE;
        if (depts[i].required == 0) return DRIP_EVALUE;
        /* departments in byte order of their code, each once: the order slots are drawn in */
        if (i > 0 && strcmp(depts[i - 1].dept, depts[i].dept) >= 0) return DRIP_EVALUE;
    }
    match *m = calloc(1, sizeof *m);
    if (!m) return DRIP_ENOMEM;
    memcpy(m->seed, seed, sizeof m->seed);
    m->task = xstrdup(task);
    m->depts = calloc(ndepts, sizeof *m->depts);
    m->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    m->base = EVP_MD_CTX_new();
    m->slot = EVP_MD_CTX_new();
    m->one = EVP_MD_CTX_new();
    if (!m->task || !m->depts || !m->md || !m->base || !m->slot || !m->one) {
        match_destroy(m);
        return DRIP_ENOMEM;
    }
    m->ndepts = ndepts;
    for (size_t i = 0; i < ndepts; i++) {
        m->depts[i] = depts[i];
        m->depts[i].dept = xstrdup(depts[i].dept);
    }
    /* "seed:task:" is the same for every ticket: hash it once, copy the state per ticket */
    if (!EVP_DigestInit_ex(m->base, m->md, NULL) || !EVP_DigestUpdate(m->base, m->seed, 64) ||
        !EVP_DigestUpdate(m->base, ":", 1) ||
        !EVP_DigestUpdate(m->base, m->task, strlen(m->task)) ||
        !EVP_DigestUpdate(m->base, ":", 1)) {
        match_destroy(m);
        return DRIP_EINTERNAL;
    }
    *out = m;
    return DRIP_OK;
}

void match_destroy(match *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->npools; i++) pool_free(&m->pools[i]);
    free(m->pools);
    for (size_t i = 0; i < m->nforms; i++) {
        form *f = &m->forms[i];
        for (size_t j = 0; j < f->nx; j++) free(f->x[j].key);
        free(f->x);
        if (f->slots)
            for (size_t d = 0; d < m->ndepts; d++) free(f->slots[d].picks);
        free(f->slots);
        free(f->uscc);
        free(f->region);
    }
    free(m->forms);
    free(m->order);
    if (m->depts)
        for (size_t i = 0; i < m->ndepts; i++) free((char *)m->depts[i].dept);
    free(m->depts);
    smap_free(&m->units);
    smap_free(&m->poolmap);
    free(m->load);
    free(m->lines);
    free(m->task);
    EVP_MD_CTX_free(m->base);
    EVP_MD_CTX_free(m->slot);
    EVP_MD_CTX_free(m->one);
    EVP_MD_free(m->md);
    free(m);
}

static uint32_t unit_id(match *m, const char *key)
{
    uint32_t id = smap_get(&m->units, key, (uint32_t)m->nunits);
    if (id == UINT32_MAX) return id;
    if (id == m->nunits) {
        if (m->nunits == m->lcap) {
            size_t nc = m->lcap ? m->lcap * 2 : 1024;
            unsigned *nl = realloc(m->load, nc * sizeof *nl);
            if (!nl) return UINT32_MAX;
            m->load = nl;
            m->lcap = nc;
        }
        m->load[m->nunits++] = 0;
    }
    return id;
}

static int text_ok(const char *s, int allow_empty)
{
    if (!s) return allow_empty;
    if (!*s) return allow_empty;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == ',' || *s == ':') return 0;
    return 1;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->tier != y->tier) return x->tier < y->tier ? -1 : 1;
    return strcmp(x->key, y->key);
}

static const char *pool_key(match *m, const char *dept, const char *region)
{
    snprintf(m->keybuf, sizeof m->keybuf, "%s\x1f%s", dept, region);
    return m->keybuf;
}

static int teams_build(match *m, pool *p)
{
    /* cands are sorted by (tier, key): members of one (tier, team) are collected in key order */
    for (size_t i = 0; i < p->n; i++) {
        cand *c = &p->c[i];
        if (c->expert || !*c->team) continue;
        const char *slash = strchr(c->key, '/');
        size_t dl = slash ? (size_t)(slash - c->key) : strlen(c->key);
        char tk[160];
        snprintf(tk, sizeof tk, "%.*s/#%s", (int)dl, c->key, c->team);
        size_t t;
        for (t = 0; t < p->nt; t++)
            if (p->t[t].tier == c->tier && !strcmp(p->t[t].key, tk)) break;
        if (t == p->nt) {
            team *nt = realloc(p->t, (p->nt + 1) * sizeof *nt);
            if (!nt) return DRIP_ENOMEM;
            p->t = nt;
            memset(&p->t[t], 0, sizeof p->t[t]);
            p->t[t].tier = c->tier;
            if (!(p->t[t].key = strdup(tk))) return DRIP_ENOMEM;
            p->t[t].uid = unit_id(m, tk);
            if (p->t[t].uid == UINT32_MAX) return DRIP_ENOMEM;
            p->nt++;
        }
        size_t *nm = realloc(p->t[t].members, (p->t[t].nmembers + 1) * sizeof *nm);
        if (!nm) return DRIP_ENOMEM;
        p->t[t].members = nm;
        nm[p->t[t].nmembers++] = i;
    }
    return DRIP_OK;
}

static int pool_add(match *m, size_t dept, const char *region, const match_cand *cands, size_t n);

static void pool_free(pool *p)
{
    for (size_t j = 0; j < p->n; j++) {
        free(p->c[j].key);
        free(p->c[j].team);
    }
    for (size_t j = 0; j < p->nt; j++) {
        free(p->t[j].key);
        free(p->t[j].members);
    }
    free(p->c);
    free(p->t);
    free(p->pl);
    free(p->tl);
    free(p->region);
    memset(p, 0, sizeof *p);
}

int match_pool_add(match *m, size_t dept, const char *region, const match_cand *cands, size_t n)
{
    size_t before = m->npools;
    int st = pool_add(m, dept, region, cands, n);
    if (st < 0 && m->npools != before) { /* drop the partial pool: nothing of it remains */
        pool_free(&m->pools[before]);
        m->npools = before;
    }
    return st;
}

static int pool_add(match *m, size_t dept, const char *region, const match_cand *cands, size_t n)
{
    if (m->ran || dept >= m->ndepts || !text_ok(region, 0)) return DRIP_EVALUE;
    if (smap_get(&m->poolmap, pool_key(m, m->depts[dept].dept, region), UINT32_MAX) != UINT32_MAX)
        return DRIP_ECONFLICT;
    if (m->npools == m->pcap) {
        size_t nc = m->pcap ? m->pcap * 2 : 16;
        pool *np = realloc(m->pools, nc * sizeof *np);
        if (!np) return DRIP_ENOMEM;
        m->pools = np;
        m->pcap = nc;
    }
    pool *p = &m->pools[m->npools];
    memset(p, 0, sizeof *p);
    p->dept = dept;
    p->region = xstrdup(region);
    p->c = calloc(n ? n : 1, sizeof *p->c);
    m->npools++; /* freed by match_destroy from here on */
    if (!p->region || !p->c) return DRIP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!text_ok(cands[i].key, 0) || !strchr(cands[i].key, '/') ||
            !text_ok(cands[i].team, 1) || strchr(cands[i].team ? cands[i].team : "", '/') ||
            cands[i].tier < 0 || cands[i].tier > 99)
            return DRIP_EVALUE;
        p->c[i].key = xstrdup(cands[i].key);
        p->c[i].team = xstrdup(cands[i].team);
        p->c[i].tier = cands[i].tier;
        p->c[i].expert = cands[i].expert ? 1 : 0;
        p->n = i + 1;
        if (!p->c[i].key || !p->c[i].team) return DRIP_ENOMEM;
        if ((p->c[i].uid = unit_id(m, p->c[i].key)) == UINT32_MAX) return DRIP_ENOMEM;
        if (p->c[i].tier > p->max_tier) p->max_tier = p->c[i].tier;
    }
    qsort(p->c, p->n, sizeof *p->c, cand_cmp);
    for (size_t i = 1; i < p->n; i++)
        if (p->c[i].tier == p->c[i - 1].tier && !strcmp(p->c[i].key, p->c[i - 1].key))
            return DRIP_ECONFLICT;
    int st = teams_build(m, p);
    if (st != DRIP_OK) return st;
    p->pl = calloc(p->n ? p->n : 1, sizeof *p->pl);
    p->tl = calloc(p->nt ? p->nt : 1, sizeof *p->tl);
    if (!p->pl || !p->tl) return DRIP_ENOMEM;
    if (smap_get(&m->poolmap, pool_key(m, m->depts[dept].dept, region), (uint32_t)(m->npools - 1)) ==
        UINT32_MAX)
        return DRIP_ENOMEM;
    return (int)(m->npools - 1);
}

int match_form_add(match *m, const char *uscc, const char *region)
{
    if (m->ran || draw_key_check(uscc) != DRIP_OK || !text_ok(region, 0)) return DRIP_EVALUE;
    if (m->nforms == m->fcap) {
        size_t nc = m->fcap ? m->fcap * 2 : 256;
        form *nf = realloc(m->forms, nc * sizeof *nf);
        if (!nf) return DRIP_ENOMEM;
        m->forms = nf;
        m->fcap = nc;
    }
    form *f = &m->forms[m->nforms];
    memset(f, 0, sizeof *f);
    f->uscc = xstrdup(uscc);
    f->region = xstrdup(region);
    m->nforms++;
    if (!f->uscc || !f->region) return DRIP_ENOMEM;
    if (draw_ticket(m->seed, m->task, uscc, f->ticket) != DRIP_OK) return DRIP_EVALUE;
    return (int)(m->nforms - 1);
}

int match_form_exclude(match *m, size_t fi, size_t dept, const char *key, int reason)
{
    if (m->ran || fi >= m->nforms || dept >= m->ndepts || !text_ok(key, 0) ||
        (reason != MATCH_EXCL_RECUSED && reason != MATCH_EXCL_ROTATION))
        return DRIP_EVALUE;
    form *f = &m->forms[fi];
    if (f->nx == f->xcap) {
        size_t nc = f->xcap ? f->xcap * 2 : 4;
        excl *nx = realloc(f->x, nc * sizeof *nx);
        if (!nx) return DRIP_ENOMEM;
        f->x = nx;
        f->xcap = nc;
    }
    f->x[f->nx].dept = dept;
    f->x[f->nx].reason = reason;
    if (!(f->x[f->nx].key = strdup(key))) return DRIP_ENOMEM;
    f->nx++;
    return DRIP_OK;
}

/* ---- pool lines ---------------------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int match_pool_lines(match *m, const char **lines, size_t *len, size_t *nlines, char digest[65])
{
    if (!m->lines) {
        size_t total = 0, cnt = 0;
        for (size_t i = 0; i < m->npools; i++) cnt += m->pools[i].n;
        char **v = calloc(cnt ? cnt : 1, sizeof *v);
        if (!v) return DRIP_ENOMEM;
        size_t k = 0;
        int st = DRIP_OK;
        for (size_t i = 0; i < m->npools && st == DRIP_OK; i++) {
            pool *p = &m->pools[i];
            for (size_t j = 0; j < p->n; j++) {
                cand *c = &p->c[j];
                int l = snprintf(NULL, 0, "%s,%s,%d,%s,%c,%s\n", m->depts[p->dept].dept,
                                 p->region, c->tier, c->key, c->expert ? 'E' : '-', c->team);
                if (!(v[k] = malloc((size_t)l + 1))) {
                    st = DRIP_ENOMEM;
                    break;
                }
                snprintf(v[k], (size_t)l + 1, "%s,%s,%d,%s,%c,%s\n", m->depts[p->dept].dept,
                         p->region, c->tier, c->key, c->expert ? 'E' : '-', c->team);
                total += (size_t)l;
                k++;
            }
        }
        if (st == DRIP_OK) {
            qsort(v, k, sizeof *v, str_cmp);
            m->lines = malloc(total + 1);
            if (!m->lines) st = DRIP_ENOMEM;
        }
        if (st == DRIP_OK) {
            size_t off = 0;
            for (size_t i = 0; i < k; i++) {
                size_t l = strlen(v[i]);
                memcpy(m->lines + off, v[i], l);
                off += l;
            }
            m->lines[off] = '\0';
            m->lines_len = off;
            m->nlines = k;
        }
        for (size_t i = 0; i < k; i++) free(v[i]);
        free(v);
        if (st != DRIP_OK) return st;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(m->lines, m->lines_len, md, &mdlen, m->md, NULL) || mdlen != 32)
        return DRIP_EINTERNAL;
    draw_hex(md, 32, digest);
    *lines = m->lines;
    *len = m->lines_len;
    *nlines = m->nlines;
    return DRIP_OK;
}

/* ---- the run ---------------------------------------------------------------------------------- */

typedef struct {
    const form *f;
    size_t idx;
} order_ent;

static int order_cmp(const void *a, const void *b)
{
    const form *x = ((const order_ent *)a)->f, *y = ((const order_ent *)b)->f;
    int c = memcmp(x->ticket, y->ticket, 32);
    return c ? c : strcmp(x->uscc, y->uscc);
}

static unsigned ceil_div(unsigned long long a, unsigned long long b)
{
    return (unsigned)((a + b - 1) / b);
}

/* Slot context: SHA-256 state after "seed:task:uscc:D:". */
static int slot_begin(match *m, const form *f, const char *dept)
{
    return EVP_MD_CTX_copy_ex(m->slot, m->base) &&
                   EVP_DigestUpdate(m->slot, f->uscc, strlen(f->uscc)) &&
                   EVP_DigestUpdate(m->slot, ":", 1) &&
                   EVP_DigestUpdate(m->slot, dept, strlen(dept)) &&
                   EVP_DigestUpdate(m->slot, ":", 1)
               ? DRIP_OK
               : DRIP_EINTERNAL;
}

static int unit_ticket(match *m, const char *unit, unsigned char out[32])
{
    unsigned int l = 0;
    return EVP_MD_CTX_copy_ex(m->one, m->slot) && EVP_DigestUpdate(m->one, unit, strlen(unit)) &&
                   EVP_DigestFinal_ex(m->one, out, &l) && l == 32
               ? DRIP_OK
               : DRIP_EINTERNAL;
}

typedef struct {
    size_t idx; /* cand or team index */
    unsigned load;
    unsigned char t[32];
} ranked;

static int ranked_less(const ranked *a, const ranked *b)
{
    if (a->load != b->load) return a->load < b->load;
    return memcmp(a->t, b->t, 32) < 0;
}

/* Inserts r into best[0..*n) kept sorted, at most cap entries. */
static void best_insert(ranked *best, size_t *n, size_t cap, const ranked *r)
{
    size_t i = *n;
    if (i == cap) {
        if (!ranked_less(r, &best[cap - 1])) return;
        i = cap - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && ranked_less(r, &best[i - 1])) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = *r;
}

static int excluded(const form *f, size_t dept, const char *key)
{
    for (size_t i = 0; i < f->nx; i++)
        if (f->x[i].dept == dept && !strcmp(f->x[i].key, key)) return 1;
    return 0;
}

typedef struct {
    uint32_t uid[512];
    size_t n;
} on_form;

static int is_on(const on_form *o, uint32_t uid)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->uid[i] == uid) return 1;
    return 0;
}

static int slot_push(match_slot *s, const cand *c, int role, unsigned load,
                     const unsigned char t[32])
{
    match_pick *np = realloc(s->picks, (s->npicks + 1) * sizeof *np);
    if (!np) return DRIP_ENOMEM;
    s->picks = np;
    match_pick *p = &np[s->npicks++];
    p->key = c->key;
    p->team = c->team;
    p->tier = c->tier;
    p->role = role;
    p->load = load;
    memcpy(p->ticket, t, 32);
    return DRIP_OK;
}

/* Individuals: members (expert = 0) or experts (1). */
static int draw_individuals(match *m, const form *f, size_t d, pool *p, match_slot *s, on_form *o,
                            int expert, unsigned need, unsigned *missing)
{
    unsigned cap = expert ? p->ecap : p->cap;
    ranked best[MATCH_MAX_REQUIRED];
    for (int tier = 0; tier <= p->max_tier && need > 0; tier++) {
        size_t nb = 0;
        for (size_t i = 0; i < p->n; i++) {
            cand *c = &p->c[i];
            if (c->tier != tier || c->expert != expert) continue;
            unsigned load = m->load[c->uid];
            if (p->pl[i] >= cap || is_on(o, c->uid) || excluded(f, d, c->key)) continue;
            ranked r = {.idx = i, .load = load};
            if (unit_ticket(m, c->key, r.t) != DRIP_OK) return DRIP_EINTERNAL;
            best_insert(best, &nb, need, &r);
        }
        for (size_t i = 0; i < nb; i++) {
            cand *c = &p->c[best[i].idx];
            if (slot_push(s, c, expert ? MATCH_ROLE_EXPERT : MATCH_ROLE_MEMBER, best[i].load,
                          best[i].t) != DRIP_OK)
                return DRIP_ENOMEM;
            m->load[c->uid]++;
            p->pl[best[i].idx]++;
            if (o->n == sizeof o->uid / sizeof o->uid[0]) return DRIP_ETOOLARGE;
            o->uid[o->n++] = c->uid;
        }
        need -= (unsigned)nb;
    }
    *missing = need;
    return DRIP_OK;
}

static int draw_team(match *m, const form *f, size_t d, pool *p, match_slot *s, on_form *o,
                     unsigned k, unsigned *missing)
{
    for (int tier = 0; tier <= p->max_tier; tier++) {
        size_t nb = 0;
        ranked best[1];
        for (size_t i = 0; i < p->nt; i++) {
            team *t = &p->t[i];
            if (t->tier != tier || p->tl[i] >= p->cap) continue;
            unsigned usable = 0;
            for (size_t j = 0; j < t->nmembers; j++) {
                cand *c = &p->c[t->members[j]];
                if (!is_on(o, c->uid) && !excluded(f, d, c->key)) usable++;
            }
            if (usable < k || usable == 0) continue;
            ranked r = {.idx = i, .load = m->load[t->uid]};
            if (unit_ticket(m, t->key, r.t) != DRIP_OK) return DRIP_EINTERNAL;
            best_insert(best, &nb, 1, &r);
        }
        if (nb == 0) continue;
        team *t = &p->t[best[0].idx];
        for (size_t j = 0; j < t->nmembers; j++) {
            cand *c = &p->c[t->members[j]];
            if (is_on(o, c->uid) || excluded(f, d, c->key)) continue;
            if (slot_push(s, c, MATCH_ROLE_MEMBER, best[0].load, best[0].t) != DRIP_OK)
                return DRIP_ENOMEM;
            m->load[c->uid]++;
            if (o->n == sizeof o->uid / sizeof o->uid[0]) return DRIP_ETOOLARGE;
            o->uid[o->n++] = c->uid;
        }
        m->load[t->uid]++;
        p->tl[best[0].idx]++;
        *missing = 0;
        return DRIP_OK;
    }
    *missing = k ? k : 1;
    return DRIP_OK;
}

static void caps_compute(match *m)
{
    for (size_t i = 0; i < m->npools; i++) {
        pool *p = &m->pools[i];
        const match_dept *md = &m->depts[p->dept];
        unsigned long long nr = 0;
        for (size_t j = 0; j < m->nforms; j++)
            if (!strcmp(m->forms[j].region, p->region)) nr++;
        size_t l0 = 0, lall = 0, e0 = 0, eall = 0;
        if (md->teams) {
            /* teams that can never field k members do not share the load */
            for (size_t j = 0; j < p->nt; j++) {
                if (p->t[j].nmembers < md->required) continue;
                lall++;
                if (p->t[j].tier == 0) l0++;
            }
        } else {
            for (size_t j = 0; j < p->n; j++)
                if (!p->c[j].expert) {
                    lall++;
                    if (p->c[j].tier == 0) l0++;
                }
        }
        for (size_t j = 0; j < p->n; j++)
            if (p->c[j].expert) {
                eall++;
                if (p->c[j].tier == 0) e0++;
            }
        size_t l = l0 ? l0 : (lall ? lall : 1);
        size_t le = e0 ? e0 : (eall ? eall : 1);
        unsigned k = md->teams ? 1 : md->required;
        p->cap = nr ? ceil_div(nr * k, l) : 0;
        p->ecap = (nr && md->experts) ? ceil_div(nr * md->experts, le) : 0;
    }
}

int match_run(match *m)
{
    if (m->ran) return DRIP_EVALUE;
    m->ran = 1;
    m->order = malloc((m->nforms ? m->nforms : 1) * sizeof *m->order);
    if (!m->order) return DRIP_ENOMEM;
    order_ent *oe = malloc((m->nforms ? m->nforms : 1) * sizeof *oe);
    if (!oe) return DRIP_ENOMEM;
    for (size_t i = 0; i < m->nforms; i++) oe[i] = (order_ent){.f = &m->forms[i], .idx = i};
    qsort(oe, m->nforms, sizeof *oe, order_cmp);
    for (size_t i = 0; i < m->nforms; i++) m->order[i] = oe[i].idx;
    free(oe);
    for (size_t i = 1; i < m->nforms; i++)
        if (!strcmp(m->forms[m->order[i]].uscc, m->forms[m->order[i - 1]].uscc))
            return DRIP_ECONFLICT; /* the same target twice */
    caps_compute(m);
    for (size_t q = 0; q < m->nforms; q++) {
        form *f = &m->forms[m->order[q]];
        f->seq = q + 1;
        if (!(f->slots = calloc(m->ndepts, sizeof *f->slots))) return DRIP_ENOMEM;
        on_form o = {.n = 0};
        for (size_t d = 0; d < m->ndepts; d++) {
            const match_dept *md = &m->depts[d];
            match_slot *s = &f->slots[d];
            uint32_t pi = smap_get(&m->poolmap, pool_key(m, md->dept, f->region), UINT32_MAX);
            if (pi == UINT32_MAX) {
                s->pool = -1;
                s->short_by = md->teams ? (md->required ? md->required : 1) : md->required;
                s->experts_short = md->experts > 0;
                continue;
            }
            s->pool = (int)pi;
            pool *p = &m->pools[pi];
            int st = slot_begin(m, f, md->dept);
            if (st != DRIP_OK) return st;
            unsigned missing = 0;
            st = md->teams ? draw_team(m, f, d, p, s, &o, md->required, &missing)
                           : draw_individuals(m, f, d, p, s, &o, 0, md->required, &missing);
            if (st != DRIP_OK) return st;
            s->short_by = missing;
            if (md->experts) {
                st = draw_individuals(m, f, d, p, s, &o, 1, md->experts, &missing);
                if (st != DRIP_OK) return st;
                s->experts_short = missing > 0;
            }
        }
    }
    return DRIP_OK;
}

size_t match_form_count(const match *m) { return m->nforms; }
size_t match_form_at(const match *m, size_t seq0) { return m->order[seq0]; }
size_t match_form_seq(const match *m, size_t fi) { return m->forms[fi].seq; }
const unsigned char *match_form_ticket(const match *m, size_t fi) { return m->forms[fi].ticket; }

const match_slot *match_slot_get(const match *m, size_t fi, size_t dept)
{
    if (!m->ran || fi >= m->nforms || dept >= m->ndepts || !m->forms[fi].slots) return NULL;
    return &m->forms[fi].slots[dept];
}

unsigned match_pool_cap(const match *m, int pi, int expert)
{
    if (pi < 0 || (size_t)pi >= m->npools) return 0;
    return expert ? m->pools[pi].ecap : m->pools[pi].cap;
}

size_t match_pool_count(const match *m) { return m->npools; }
const char *match_pool_region(const match *m, int pi) { return m->pools[pi].region; }
size_t match_pool_dept(const match *m, int pi) { return m->pools[pi].dept; }

size_t match_pool_size(const match *m, int pi, int tier)
{
    const pool *p = &m->pools[pi];
    if (tier < 0) return p->n;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].tier == tier) n++;
    return n;
}

unsigned match_load(const match *m, const char *key)
{
    uint32_t id = smap_get((smap *)&m->units, key, UINT32_MAX);
    return id == UINT32_MAX ? 0 : m->load[id];
}

int match_region_chain(const char *r, char out[3][7])
{
    int n = 0;
    if (!r || strlen(r) != 6) return 0;
    snprintf(out[n++], 7, "%s", r);
    if (strcmp(r + 4, "00") != 0) snprintf(out[n++], 7, "%.4s00", r);
    if (strcmp(r + 2, "0000") != 0) snprintf(out[n++], 7, "%.2s0000", r);
    return n;
}
