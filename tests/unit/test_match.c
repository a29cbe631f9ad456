/* test_match.c — drip-match-v1 (common/match.c, docs/match.md): form order, caps and load spread,
 * tier fallback and unstaffed slots, exclusions, one inspector once per form, team draws, experts,
 * determinism, bad input, and a cross-check against the independent Python reference
 * (tests/integration/match_reference.py).
 *
 * Every run is also checked by check_run(), which replays the documented rules over the published
 * results: tickets recomputed with EVP (no match.c code), loads replayed, caps, exclusions, no
 * inspector twice on a form, members before experts, short_by / experts_short consistent.
 *
 * The cross-check constants (test_reference_scenario) were printed by `python3 match_reference.py`
 * (its SCENARIO: 12 forms, 2 departments, 2 regions, 3 tiers, one recusal, experts); the reference
 * shares no code with match.c. Set DRIP_MATCH_OUT=DIR to get that scenario's pool lines and
 * transcript from match.c written to DIR/match_scenario.{pool,txt}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "draw.h"
#include "match.h"
#include "status.h"

/* SHA-256("drip-match-v1 test") */
#define SEED "3414419b279f0a9d074a0076ff4de5dba882c5dd5f3eb88e2a1174d5ec8f7f55"
#define TASK "联202301"
#define SCJ "130100SCJ"
#define TJJ "130100TJJ"

/* ------------------------------------------------------------------ helpers */

static void sha_of(const char *s, unsigned char out[32])
{
    unsigned int len = 0;
    assert_true(EVP_Digest(s, strlen(s), out, &len, EVP_sha256(), NULL));
    assert_int_equal(len, 32);
}

/* R(x) = SHA-256(seed ":" task ":" uscc ":" D ":" x), straight from the doc. */
static void rank_of(const char *uscc, const char *dept, const char *unit, unsigned char out[32])
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s:%s:%s:%s:%s", SEED, TASK, uscc, dept, unit);
    sha_of(buf, out);
}

static match *mk(const match_dept *d, size_t nd)
{
    match *m = NULL;
    assert_int_equal(match_create(&m, SEED, TASK, d, nd), DRIP_OK);
    return m;
}

static int add_pool(match *m, size_t dept, const char *region, const match_cand *c, size_t n)
{
    int p = match_pool_add(m, dept, region, c, n);
    assert_true(p >= 0);
    return p;
}

typedef struct {
    size_t form, dept;
    const char *key;
    int reason;
} texcl;

/* What the test fed in, to replay the rules against. */
typedef struct {
    const match_dept *depts;
    size_t nd;
    const char *const *uscc, *const *region;
    size_t nf;
    const texcl *x;
    size_t nx;
} tscen;

static void add_forms(match *m, const tscen *s)
{
    for (size_t i = 0; i < s->nf; i++)
        assert_int_equal(match_form_add(m, s->uscc[i], s->region[i]), (int)i);
    for (size_t i = 0; i < s->nx; i++)
        assert_int_equal(
            match_form_exclude(m, s->x[i].form, s->x[i].dept, s->x[i].key, s->x[i].reason),
            DRIP_OK);
}

/* a tiny key -> load table */
typedef struct {
    char key[128][64];
    unsigned load[128];
    size_t n;
} loads;

static unsigned *load_of(loads *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->key[i], key)) return &l->load[i];
    assert_true(l->n < 128);
    snprintf(l->key[l->n], sizeof l->key[0], "%s", key);
    l->load[l->n] = 0;
    return &l->load[l->n++];
}

static void team_unit(const match_pick *p, char out[64])
{
    const char *slash = strchr(p->key, '/');
    snprintf(out, 64, "%.*s/#%s", (int)(slash - p->key), p->key, p->team);
}

/* Departments in byte order of their code (docs/match.md, Order). */
static void dept_order(const tscen *s, size_t *ord)
{
    for (size_t i = 0; i < s->nd; i++)
        ord[i] = i;
    for (size_t i = 1; i < s->nd; i++)
        for (size_t j = i; j > 0 && strcmp(s->depts[ord[j]].dept, s->depts[ord[j - 1]].dept) < 0;
             j--) {
            size_t t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
}

/* Replays the documented rules over the results of a run (see the file comment). */
static void check_run(const match *m, const tscen *s)
{
    static loads l, drawn; /* task-wide loads; times drawn per pool line (pool|tier|unit) */
    memset(&l, 0, sizeof l);
    memset(&drawn, 0, sizeof drawn);
    size_t ord[MATCH_MAX_DEPTS];
    dept_order(s, ord);
    assert_int_equal(match_form_count(m), s->nf);
    for (size_t q = 0; q < s->nf; q++) {
        size_t fi = match_form_at(m, q);
        assert_int_equal(match_form_seq(m, fi), q + 1);
        unsigned char t[32];
        char buf[256];
        snprintf(buf, sizeof buf, "%s:%s:%s", SEED, TASK, s->uscc[fi]);
        sha_of(buf, t);
        assert_memory_equal(match_form_ticket(m, fi), t, 32);
        if (q > 0) assert_true(memcmp(match_form_ticket(m, match_form_at(m, q - 1)), t, 32) < 0);
        const char *on[64];
        size_t non = 0;
        for (size_t oi = 0; oi < s->nd; oi++) {
            size_t d = ord[oi];
            const match_dept *md = &s->depts[d];
            const match_slot *sl = match_slot_get(m, fi, d);
            assert_non_null(sl);
            size_t nmem = 0, nexp = 0;
            const char *team = NULL;
            for (size_t i = 0; i < sl->npicks; i++) {
                const match_pick *p = &sl->picks[i];
                for (size_t j = 0; j < non; j++)
                    if (!strcmp(on[j], p->key)) fail_msg("%s twice on form %zu", p->key, fi);
                assert_true(non < 64);
                on[non++] = p->key;
                for (size_t j = 0; j < s->nx; j++)
                    if (s->x[j].form == fi && s->x[j].dept == d && !strcmp(s->x[j].key, p->key))
                        fail_msg("%s excluded from form %zu dept %s but drawn", p->key, fi,
                                 md->dept);
                char unit[64];
                int is_team = md->teams && p->role == MATCH_ROLE_MEMBER;
                if (is_team) {
                    team_unit(p, unit);
                    if (team) assert_string_equal(team, p->team);
                    team = p->team;
                } else {
                    snprintf(unit, sizeof unit, "%s", p->key);
                }
                rank_of(s->uscc[fi], md->dept, unit, t);
                assert_memory_equal(p->ticket, t, 32);
                assert_int_equal(p->load, *load_of(&l, unit));
                char pk[64];
                snprintf(pk, sizeof pk, "%d|%d|%.50s", sl->pool, p->tier, unit);
                assert_true(*load_of(&drawn, pk) <
                            match_pool_cap(m, sl->pool, p->role == MATCH_ROLE_EXPERT));
                if (p->role == MATCH_ROLE_MEMBER) {
                    assert_int_equal(nexp, 0); /* members first */
                    nmem++;
                } else {
                    assert_int_equal(p->role, MATCH_ROLE_EXPERT);
                    nexp++;
                }
            }
            if (md->teams)
                assert_true(sl->short_by ? nmem == 0 : nmem >= md->required);
            else
                assert_int_equal(nmem + sl->short_by, md->required);
            assert_true(nexp <= md->experts);
            assert_int_equal(sl->experts_short, nexp < md->experts);
            /* loads are updated after the slot; a pool line counts each time it is drawn */
            char pk[64];
            for (size_t i = 0; i < sl->npicks; i++) {
                (*load_of(&l, sl->picks[i].key))++;
                if (!team) {
                    snprintf(pk, sizeof pk, "%d|%d|%.50s", sl->pool, sl->picks[i].tier,
                             sl->picks[i].key);
                    (*load_of(&drawn, pk))++;
                }
            }
            if (team && sl->npicks) {
                char unit[64];
                team_unit(&sl->picks[0], unit);
                (*load_of(&l, unit))++;
                snprintf(pk, sizeof pk, "%d|%d|%.50s", sl->pool, sl->picks[0].tier, unit);
                (*load_of(&drawn, pk))++;
            }
        }
    }
    for (size_t i = 0; i < l.n; i++)
        if (match_load(m, l.key[i]) != l.load[i])
            fail_msg("load of %s: %u, replayed %u", l.key[i], match_load(m, l.key[i]), l.load[i]);
}

static int on_slot(const match_slot *s, const char *key)
{
    for (size_t i = 0; i < s->npicks; i++)
        if (!strcmp(s->picks[i].key, key)) return 1;
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_form_order(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 1, 0, 0}};
    const char *uscc[] = {"TGT01", "TGT02", "TGT03", "TGT04", "TGT05", "TGT06"};
    const char *reg[] = {"130102", "130102", "130102", "130102", "130102", "130102"};
    tscen s = {d, 1, uscc, reg, 6, NULL, 0};
    match *m = mk(d, 1);
    match_cand c[] = {{SCJ "/a", "", 0, 0}, {SCJ "/b", "", 0, 0}};
    add_pool(m, 0, "130102", c, 2);
    add_forms(m, &s);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s);
    /* ascending SHA-256(seed:task:uscc), as printed by match_reference.py */
    const char *want[] = {"TGT03", "TGT02", "TGT01", "TGT05", "TGT06", "TGT04"};
    for (size_t q = 0; q < 6; q++)
        assert_string_equal(uscc[match_form_at(m, q)], want[q]);
    char hex[65];
    draw_hex(match_form_ticket(m, 2), 32, hex);
    assert_string_equal(hex, "1d3208ab69c0a13207982b5b9fbeda562964baa45276b7089c75fba1147e0427");
    match_destroy(m);
}

/* 7 forms, k = 2, 5 tier-0 members: cap = ceil(14/5) = 3, loads 3,3,3,3,2. */
static void test_caps_and_spread(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 1, 0}};
    const char *uscc[] = {"F1", "F2", "F3", "F4", "F5", "F6", "F7", "G1", "G2", "H1"};
    const char *reg[] = {"130102", "130102", "130102", "130102", "130102",
                         "130102", "130102", "130104", "130104", "130105"};
    tscen s = {d, 1, uscc, reg, 10, NULL, 0};
    match *m = mk(d, 1);
    match_cand c1[] = {{SCJ "/m1", "", 0, 0}, {SCJ "/m2", "", 0, 0},     {SCJ "/m3", "", 0, 0},
                       {SCJ "/m4", "", 0, 0}, {SCJ "/m5", "", 0, 0},     {SCJ "/e1", "", 0, 1},
                       {SCJ "/e2", "", 0, 1}, {"130000SCJ/p1", "", 1, 0}};
    /* no tier-0 member: L = members over all tiers (3); LE = 0 everywhere -> 1 */
    match_cand c2[] = {
        {"130000SCJ/q1", "", 1, 0}, {"130000SCJ/q2", "", 1, 0}, {"130100ZJJ/n1", "", 2, 0}};
    /* only an expert: L = 1 */
    match_cand c3[] = {{SCJ "/e9", "", 0, 1}};
    int p1 = add_pool(m, 0, "130102", c1, 8);
    int p2 = add_pool(m, 0, "130104", c2, 3);
    int p3 = add_pool(m, 0, "130105", c3, 1);
    add_forms(m, &s);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s);
    assert_int_equal(match_pool_cap(m, p1, 0), 3); /* ceil(7*2/5) */
    assert_int_equal(match_pool_cap(m, p1, 1), 4); /* ceil(7*1/2) */
    assert_int_equal(match_pool_cap(m, p2, 0), 2); /* ceil(2*2/3) */
    assert_int_equal(match_pool_cap(m, p2, 1), 2); /* ceil(2*1/1) */
    assert_int_equal(match_pool_cap(m, p3, 0), 2); /* ceil(1*2/1) */
    assert_int_equal(match_pool_cap(m, p3, 1), 1);
    unsigned lo = 99, hi = 0, sum = 0;
    for (int i = 1; i <= 5; i++) {
        char key[32];
        snprintf(key, sizeof key, SCJ "/m%d", i);
        unsigned ld = match_load(m, key);
        lo = ld < lo ? ld : lo, hi = ld > hi ? ld : hi, sum += ld;
    }
    assert_int_equal(sum, 14);
    assert_int_equal(hi, 3);
    assert_true(hi - lo <= 1);
    assert_int_equal(match_load(m, "130000SCJ/p1"), 0); /* tier 0 was never short */
    assert_int_equal(match_load(m, SCJ "/e1") + match_load(m, SCJ "/e2"), 7);
    assert_true(match_load(m, SCJ "/e1") >= 3 && match_load(m, SCJ "/e2") >= 3);
    assert_int_equal(match_pool_size(m, p1, 0), 7);
    assert_int_equal(match_pool_size(m, p1, -1), 8);
    assert_string_equal(match_pool_region(m, p2), "130104");
    /* H1 has members from no tier: unstaffed, short_by = k */
    const match_slot *h = match_slot_get(m, 9, 0);
    assert_int_equal(h->short_by, 2);
    assert_int_equal(h->npicks, 1); /* the expert still comes */
    match_destroy(m);
}

/* Tier 0 has 1 member, tier 1 has 1, tier 2 has 2: k = 3 takes one of each, then the smaller
 * ticket of tier 2. With k = 5: unstaffed, short_by 1, the four found stay and carry load. */
static void test_fallback_and_unstaffed(void **state)
{
    (void)state;
    match_cand c[] = {{"130100ZJJ/n2", "", 2, 0},
                      {"130100ZJJ/n1", "", 2, 0},
                      {"130000SCJ/p1", "", 1, 0},
                      {SCJ "/a1", "", 0, 0}};
    for (unsigned k = 3; k <= 5; k += 2) {
        match_dept d[] = {{SCJ, k, 0, 0}};
        const char *uscc[] = {"TGT01"}, *reg[] = {"130102"};
        tscen s = {d, 1, uscc, reg, 1, NULL, 0};
        match *m = mk(d, 1);
        add_pool(m, 0, "130102", c, 4);
        add_forms(m, &s);
        assert_int_equal(match_run(m), DRIP_OK);
        check_run(m, &s);
        const match_slot *sl = match_slot_get(m, 0, 0);
        assert_string_equal(sl->picks[0].key, SCJ "/a1");
        assert_int_equal(sl->picks[0].tier, 0);
        assert_string_equal(sl->picks[1].key, "130000SCJ/p1");
        assert_int_equal(sl->picks[1].tier, 1);
        if (k == 3) {
            unsigned char t1[32], t2[32];
            rank_of("TGT01", SCJ, "130100ZJJ/n1", t1);
            rank_of("TGT01", SCJ, "130100ZJJ/n2", t2);
            assert_int_equal(sl->npicks, 3);
            assert_string_equal(sl->picks[2].key,
                                memcmp(t1, t2, 32) < 0 ? "130100ZJJ/n1" : "130100ZJJ/n2");
            assert_int_equal(sl->picks[2].tier, 2);
            assert_int_equal(sl->short_by, 0);
        } else {
            assert_int_equal(sl->npicks, 4);
            assert_int_equal(sl->short_by, 1);
            assert_int_equal(match_load(m, "130100ZJJ/n1"), 1);
            assert_int_equal(match_load(m, "130100ZJJ/n2"), 1);
        }
        match_destroy(m);
    }
    /* a department without a pool for the region: pool -1, everything short */
    match_dept d[] = {{SCJ, 2, 1, 0}, {TJJ, 1, 0, 0}};
    match *m = mk(d, 2);
    add_pool(m, 1, "130102", c, 4);
    assert_int_equal(match_form_add(m, "TGT01", "130102"), 0);
    assert_int_equal(match_run(m), DRIP_OK);
    const match_slot *sl = match_slot_get(m, 0, 0);
    assert_int_equal(sl->pool, -1);
    assert_int_equal(sl->npicks, 0);
    assert_int_equal(sl->short_by, 2);
    assert_true(sl->experts_short);
    assert_int_equal(match_slot_get(m, 0, 1)->short_by, 0);
    match_destroy(m);
}

/* Exclusions are per form and department; a recused or rotated key is never drawn there. */
static void test_exclusions(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 3, 0, 0}, {TJJ, 1, 0, 0}};
    const char *uscc[] = {"TGT01", "TGT02", "TGT03"}, *reg[] = {"130102", "130102", "130102"};
    texcl x[] = {{0, 0, SCJ "/a", MATCH_EXCL_RECUSED},  /* TGT01: a recused for SCJ */
                 {1, 0, SCJ "/b", MATCH_EXCL_ROTATION}, /* TGT02: b rotated out for SCJ */
                 {2, 1, SCJ "/c", MATCH_EXCL_RECUSED},  /* TGT03: c excluded for TJJ only */
                 {2, 1, TJJ "/t1", MATCH_EXCL_ROTATION}};
    tscen s = {d, 2, uscc, reg, 3, x, 4};
    match *m = mk(d, 2);
    match_cand c[] = {{SCJ "/a", "", 0, 0}, {SCJ "/b", "", 0, 0}, {SCJ "/c", "", 0, 0}};
    match_cand t[] = {{TJJ "/t1", "", 0, 0}, {TJJ "/t2", "", 0, 0}};
    add_pool(m, 0, "130102", c, 3);
    add_pool(m, 1, "130102", t, 2);
    add_forms(m, &s);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s);
    const match_slot *s0 = match_slot_get(m, 0, 0), *s1 = match_slot_get(m, 1, 0),
                     *s2 = match_slot_get(m, 2, 0);
    assert_false(on_slot(s0, SCJ "/a"));
    assert_int_equal(s0->short_by, 1);
    assert_false(on_slot(s1, SCJ "/b"));
    assert_int_equal(s1->short_by, 1);
    assert_true(on_slot(s2, SCJ "/c")); /* the TJJ exclusion does not touch SCJ's slot */
    assert_int_equal(s2->short_by, 0);
    assert_string_equal(match_slot_get(m, 2, 1)->picks[0].key, TJJ "/t2");
    match_destroy(m);
}

/* Two departments with the same parent: a parent inspector is on a form at most once; and one
 * lent to two districts carries one load, which the cap of every pool it is in sees. */
static void test_shared_parent_once_per_form(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 0, 0}, {TJJ, 2, 0, 0}};
    const char *uscc[] = {"TGT01"}, *reg[] = {"130102"};
    tscen s = {d, 2, uscc, reg, 1, NULL, 0};
    match *m = mk(d, 2);
    match_cand p[] = {
        {"130000SCJ/p1", "", 1, 0}, {"130000SCJ/p2", "", 1, 0}, {"130000SCJ/p3", "", 1, 0}};
    add_pool(m, 0, "130102", p, 3);
    add_pool(m, 1, "130102", p, 3);
    add_forms(m, &s);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s);
    const match_slot *a = match_slot_get(m, 0, 0), *b = match_slot_get(m, 0, 1);
    assert_int_equal(a->npicks, 2); /* SCJ first (byte order) */
    assert_int_equal(a->short_by, 0);
    assert_int_equal(a->picks[0].tier, 1);
    assert_int_equal(b->npicks, 1); /* the one SCJ left */
    assert_int_equal(b->short_by, 1);
    assert_false(on_slot(a, b->picks[0].key));
    for (int i = 1; i <= 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "130000SCJ/p%d", i);
        assert_int_equal(match_load(m, key), 1);
    }
    match_destroy(m);

    /* p1 in the pools of two regions, cap 1 each (1 form, k 1, L 1): the cap counts per pool, so
     * TGT02 (processed first) takes him from 130104's pool and TGT01 from 130102's; his task-wide
     * load (2) only ranks him */
    match_dept d1[] = {{SCJ, 1, 0, 0}};
    const char *uscc2[] = {"TGT01", "TGT02"}, *reg2[] = {"130102", "130104"};
    tscen s2 = {d1, 1, uscc2, reg2, 2, NULL, 0};
    m = mk(d1, 1);
    int p0 = add_pool(m, 0, "130102", p, 1);
    add_pool(m, 0, "130104", p, 1);
    add_forms(m, &s2);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s2);
    assert_int_equal(match_pool_cap(m, p0, 0), 1);
    assert_int_equal(match_form_seq(m, 1), 1);
    assert_string_equal(match_slot_get(m, 1, 0)->picks[0].key, "130000SCJ/p1");
    assert_int_equal(match_slot_get(m, 0, 0)->short_by, 0);
    assert_string_equal(match_slot_get(m, 0, 0)->picks[0].key, "130000SCJ/p1");
    assert_int_equal(match_slot_get(m, 0, 0)->picks[0].load, 1);
    assert_int_equal(match_load(m, "130000SCJ/p1"), 2);
    match_destroy(m);
}

/* Departments are processed in byte order of their code, whatever order the caller lists them
 * in (docs/match.md, Order). Either match_create refuses an unsorted list or the run follows byte
 * order; here SCJ < TJJ must get the only shared inspector. (match.c as of 2736185 runs them in the
 * caller's order; services/matcher and dripctl match verify happen to sort before calling.) */
static void test_dept_byte_order(void **state)
{
    (void)state;
    match_dept d[] = {{TJJ, 1, 0, 0}, {SCJ, 1, 0, 0}};
    match *m = NULL;
    int st = match_create(&m, SEED, TASK, d, 2);
    if (st == DRIP_EVALUE) return; /* refusing is a fine answer too */
    assert_int_equal(st, DRIP_OK);
    match_cand p[] = {{"130000SCJ/p1", "", 1, 0}};
    add_pool(m, 0, "130102", p, 1);
    add_pool(m, 1, "130102", p, 1);
    assert_int_equal(match_form_add(m, "TGT01", "130102"), 0);
    assert_int_equal(match_run(m), DRIP_OK);
    const match_slot *tjj = match_slot_get(m, 0, 0), *scj = match_slot_get(m, 0, 1);
    if (scj->npicks != 1 || tjj->npicks != 0)
        fail_msg("departments not in byte order: %s drew %zu, %s drew %zu (doc: SCJ first)", SCJ,
                 scj->npicks, TJJ, tjj->npicks);
    assert_int_equal(tjj->short_by, 1);
    match_destroy(m);
}

/* Team draws: a team with fewer usable members than k is skipped; the team unit carries the load
 * (cap: ceil(N_R / tier-0 teams that can field k)) and the ticket; members join in key order; tier
 * 1 when tier 0 has no usable team. The forms are listed in processing order (TGT03 < TGT02 < TGT01
 * < TGT05 < TGT04). */
static void test_teams(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 1, 1}};
    const char *uscc[] = {"TGT03", "TGT02", "TGT01", "TGT05", "TGT04"};
    const char *reg[] = {"130102", "130102", "130102", "130104", "130104"};
    texcl x[] = {
        {0, 0, SCJ "/c1", MATCH_EXCL_RECUSED},  {0, 0, SCJ "/b1", MATCH_EXCL_RECUSED},
        {1, 0, SCJ "/b1", MATCH_EXCL_ROTATION}, {2, 0, SCJ "/b2", MATCH_EXCL_RECUSED},
        {4, 0, SCJ "/e1", MATCH_EXCL_RECUSED},  {4, 0, "130000SCJ/q1", MATCH_EXCL_ROTATION}};
    tscen s = {d, 1, uscc, reg, 5, x, 6};
    match *m = mk(d, 1);
    match_cand c[] = {
        {SCJ "/a3", "A", 0, 0}, {SCJ "/a1", "A", 0, 0},      {SCJ "/a2", "A", 0, 0},
        {SCJ "/b1", "B", 0, 0}, {SCJ "/b2", "B", 0, 0},      {SCJ "/c1", "C", 0, 0},
        {SCJ "/c2", "C", 0, 0}, {SCJ "/d1", "D", 0, 0},      {SCJ "/solo", "", 0, 0},
        {SCJ "/x", "A", 0, 1},  {"130000SCJ/p1", "P", 1, 0}, {"130000SCJ/p2", "P", 1, 0}};
    match_cand c2[] = {{SCJ "/b1", "B", 0, 0},      {SCJ "/e1", "E", 0, 0},
                       {SCJ "/e2", "E", 0, 0},      {"130000SCJ/q1", "Q", 1, 0},
                       {"130000SCJ/q2", "Q", 1, 0}, {"130000SCJ/q3", "Q", 1, 0}};
    int p = add_pool(m, 0, "130102", c, 12);
    int p2 = add_pool(m, 0, "130104", c2, 6);
    add_forms(m, &s);
    assert_int_equal(match_run(m), DRIP_OK);
    for (size_t q = 0; q < 5; q++)
        assert_int_equal(match_form_at(m, q), q);
    check_run(m, &s);
    assert_int_equal(match_pool_cap(m, p, 0), 1); /* ceil(3 forms * 1 / 3 teams: A B C, not D) */
    assert_int_equal(match_pool_cap(m, p, 1), 3);
    assert_int_equal(match_pool_cap(m, p2, 0), 2); /* ceil(2 / 1): E only, B cannot field 2 */
    /* TGT03: B and C have 1 usable member each: A, all three in key order, then the expert */
    const match_slot *s0 = match_slot_get(m, 0, 0);
    assert_int_equal(s0->short_by, 0);
    assert_int_equal(s0->npicks, 4);
    assert_string_equal(s0->picks[0].key, SCJ "/a1");
    assert_string_equal(s0->picks[1].key, SCJ "/a2");
    assert_string_equal(s0->picks[2].key, SCJ "/a3");
    assert_string_equal(s0->picks[0].team, "A");
    unsigned char t[32];
    rank_of("TGT03", SCJ, SCJ "/#A", t);
    assert_memory_equal(s0->picks[2].ticket, t, 32);
    assert_string_equal(s0->picks[3].key, SCJ "/x");
    assert_int_equal(s0->picks[3].role, MATCH_ROLE_EXPERT);
    /* TGT02: A has reached the cap, B has 1 usable: C */
    const match_slot *s1 = match_slot_get(m, 1, 0);
    assert_string_equal(s1->picks[0].key, SCJ "/c1");
    assert_string_equal(s1->picks[1].key, SCJ "/c2");
    /* TGT01: A and C capped, B has 1 usable, D 1 member: the parent's team P (tier 1) */
    const match_slot *s2 = match_slot_get(m, 2, 0);
    assert_string_equal(s2->picks[0].key, "130000SCJ/p1");
    assert_string_equal(s2->picks[1].key, "130000SCJ/p2");
    assert_int_equal(s2->picks[0].tier, 1);
    assert_string_equal(s2->picks[2].key, SCJ "/x");
    /* TGT05: E (B alone is too small); no expert in that pool */
    const match_slot *s3 = match_slot_get(m, 3, 0);
    assert_int_equal(s3->npicks, 2);
    assert_string_equal(s3->picks[0].key, SCJ "/e1");
    assert_true(s3->experts_short);
    assert_int_equal(s3->short_by, 0);
    /* TGT04: E below its cap but e1 recused: Q fields q2 q3 (q1 rotated out) */
    const match_slot *s4 = match_slot_get(m, 4, 0);
    assert_int_equal(s4->npicks, 2);
    assert_string_equal(s4->picks[0].key, "130000SCJ/q2");
    assert_string_equal(s4->picks[1].key, "130000SCJ/q3");
    assert_int_equal(s4->picks[0].tier, 1);
    assert_int_equal(match_load(m, SCJ "/#A"), 1);
    assert_int_equal(match_load(m, SCJ "/#E"), 1);
    assert_int_equal(match_load(m, "130000SCJ/#Q"), 1);
    assert_int_equal(match_load(m, SCJ "/x"), 3);
    assert_int_equal(match_load(m, SCJ "/solo"), 0); /* no team, never drawn */
    assert_int_equal(match_load(m, SCJ "/d1"), 0);
    match_destroy(m);

    /* nothing usable at all: unstaffed with short_by = k */
    match_dept d2[] = {{SCJ, 3, 0, 1}};
    m = mk(d2, 1);
    add_pool(m, 0, "130102", c, 12);
    assert_int_equal(match_form_add(m, "TGT01", "130102"), 0);
    assert_int_equal(match_form_exclude(m, 0, 0, SCJ "/a1", MATCH_EXCL_RECUSED), DRIP_OK);
    assert_int_equal(match_run(m), DRIP_OK);
    const match_slot *sl = match_slot_get(m, 0, 0);
    assert_int_equal(sl->short_by, 3);
    assert_int_equal(sl->npicks, 0);
    match_destroy(m);
}

/* Experts come on top of the members, from expert lines, with their own cap and fallback. */
static void test_experts(void **state)
{
    (void)state;
    match_cand c[] = {{SCJ "/m1", "", 0, 0},
                      {SCJ "/m2", "", 0, 0},
                      {SCJ "/x1", "", 0, 1},
                      {"130000SCJ/x2", "", 1, 1}};
    for (unsigned e = 2; e <= 3; e++) {
        match_dept d[] = {{SCJ, 1, e, 0}};
        const char *uscc[] = {"TGT01"}, *reg[] = {"130102"};
        tscen s = {d, 1, uscc, reg, 1, NULL, 0};
        match *m = mk(d, 1);
        int p = add_pool(m, 0, "130102", c, 4);
        add_forms(m, &s);
        assert_int_equal(match_run(m), DRIP_OK);
        check_run(m, &s);
        assert_int_equal(match_pool_cap(m, p, 1), e); /* ceil(1 * e / 1) */
        const match_slot *sl = match_slot_get(m, 0, 0);
        assert_int_equal(sl->npicks, 3);
        assert_int_equal(sl->picks[0].role, MATCH_ROLE_MEMBER);
        assert_string_equal(sl->picks[1].key, SCJ "/x1");
        assert_string_equal(sl->picks[2].key, "130000SCJ/x2");
        assert_int_equal(sl->picks[2].tier, 1);
        assert_int_equal(sl->short_by, 0); /* an expert shortfall does not unstaff */
        assert_int_equal(sl->experts_short, e == 3);
        match_destroy(m);
    }
}

/* ------------------------------------------------------------------ the reference scenario */

/* clang-format off */
/* Pool lines printed by match_reference.build_pool_lines(STRUCTURE, INSPECTORS, REGIONS). */
static const char REF_POOL[] =
    "130100SCJ,130102,0,130100SCJ/a1,-,\n"
    "130100SCJ,130102,0,130100SCJ/a2,-,\n"
    "130100SCJ,130102,0,130100SCJ/a3,-,\n"
    "130100SCJ,130102,0,130100SCJ/c1,-,\n"
    "130100SCJ,130102,0,130100SCJ/x1,E,\n"
    "130100SCJ,130102,1,130000SCJ/p1,-,\n"
    "130100SCJ,130102,1,130000SCJ/px,E,\n"
    "130100SCJ,130102,2,130100ZJJ/n1,-,\n"
    "130100SCJ,130102,2,130100ZJJ/n2,-,\n"
    "130100SCJ,130104,0,130100SCJ/b1,-,\n"
    "130100SCJ,130104,0,130100SCJ/c1,-,\n"
    "130100SCJ,130104,0,130100SCJ/x1,E,\n"
    "130100SCJ,130104,1,130000SCJ/p1,-,\n"
    "130100SCJ,130104,1,130000SCJ/px,E,\n"
    "130100SCJ,130104,2,130100ZJJ/n1,-,\n"
    "130100SCJ,130104,2,130100ZJJ/n2,-,\n"
    "130100TJJ,130102,0,130100TJJ/t1,-,\n"
    "130100TJJ,130102,1,130000SCJ/p1,-,\n"
    "130100TJJ,130102,1,130000SCJ/px,E,\n"
    "130100TJJ,130104,0,130100TJJ/t1,-,\n"
    "130100TJJ,130104,0,130100TJJ/t2,-,\n"
    "130100TJJ,130104,1,130000SCJ/p1,-,\n"
    "130100TJJ,130104,1,130000SCJ/px,E,\n";
#define REF_POOL_DIGEST "d774bff6bcfc99b141b856f7c0198b91aac335774d1ad543ef0acbface3b9d07"
#define REF_TRANSCRIPT_SHA256 "6120e3259a4b3afe4520fa7d5bd7cebc26dfed9016b9bd8e71f96b819bd2b1cd"
static const char *const REF_CAPS[] = {
    /* dept region cap expert_cap */
    "130100SCJ 130102 4 8", "130100SCJ 130104 4 4", "130100TJJ 130102 8 8", "130100TJJ 130104 2 4"};
static const char *const REF_FORMS[] = {
    "1 TGT03 130100SCJ: 130100SCJ/c1,130000SCJ/p1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t2,E:130000SCJ/px",
    "2 TGT08 130100SCJ: 130100SCJ/a2,130100SCJ/a3,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "3 TGT11 130100SCJ: 130100SCJ/a1,130100SCJ/a2,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "4 TGT09 130100SCJ: 130100SCJ/b1,130100SCJ/c1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t2,E:130000SCJ/px",
    "5 TGT10 130100SCJ: 130100SCJ/a3,130100SCJ/a1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "6 TGT02 130100SCJ: 130100SCJ/a2,130100SCJ/a3,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "7 TGT01 130100SCJ: 130100SCJ/a1,130100SCJ/c1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "8 TGT05 130100SCJ: 130100SCJ/a2,130100SCJ/c1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "9 TGT12 130100SCJ: 130100SCJ/b1,130100SCJ/c1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "10 TGT07 130100SCJ: 130100SCJ/a3,130100SCJ/a1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "11 TGT06 130100SCJ: 130100SCJ/b1,130100SCJ/c1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
    "12 TGT04 130100SCJ: 130100SCJ/c1,130000SCJ/p1,E:130100SCJ/x1 | 130100TJJ: 130100TJJ/t1,E:130000SCJ/px",
};
/* clang-format on */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Pools from published pool lines (sorted, so each (D, R) is one run of lines). */
static void pools_from_lines(match *m, const match_dept *d, size_t nd, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    assert_non_null(copy);
    char fields[64][6][64];
    match_cand c[64];
    size_t n = 0;
    char cur[128] = "";
    for (char *line = strtok_r(copy, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        char dr[128] = "";
        if (line) {
            assert_true(n < 64);
            char *f = line;
            for (int i = 0; i < 6; i++) {
                char *comma = i < 5 ? strchr(f, ',') : f + strlen(f);
                assert_non_null(comma);
                snprintf(fields[n][i], 64, "%.*s", (int)(comma - f), f);
                f = comma + 1;
            }
            snprintf(dr, sizeof dr, "%s,%s", fields[n][0], fields[n][1]);
        }
        if (n && (!line || strcmp(dr, cur))) { /* the previous pool is complete */
            size_t di = 0;
            while (di < nd && strcmp(d[di].dept, fields[0][0]))
                di++;
            assert_true(di < nd);
            add_pool(m, di, fields[0][1], c, n);
            if (line) memcpy(fields[0], fields[n], sizeof fields[0]);
            n = 0;
        }
        if (!line) break;
        snprintf(cur, sizeof cur, "%s", dr);
        /* c[] points into fields[]: built after a completed pool's first line moved to row 0 */
        c[n] = (match_cand){fields[n][3], fields[n][5], atoi(fields[n][2]), fields[n][4][0] == 'E'};
        n++;
    }
    free(copy);
}

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_reference_scenario(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 1, 0}, {TJJ, 1, 1, 0}};
    const char *uscc[12], *reg[12];
    char names[12][8];
    for (int i = 1; i <= 12; i++) {
        snprintf(names[i - 1], sizeof names[0], "TGT%02d", i);
        uscc[i - 1] = names[i - 1];
        reg[i - 1] = i % 3 == 0 ? "130104" : "130102";
    }
    texcl x[] = {{2, 0, SCJ "/b1", MATCH_EXCL_RECUSED}}; /* TGT03 */
    tscen s = {d, 2, uscc, reg, 12, x, 1};
    match *m = mk(d, 2);
    pools_from_lines(m, d, 2, REF_POOL);
    add_forms(m, &s);
    const char *lines;
    size_t len, nlines;
    char digest[65];
    assert_int_equal(match_pool_lines(m, &lines, &len, &nlines, digest), DRIP_OK);
    assert_int_equal(nlines, 23);
    assert_int_equal(len, strlen(REF_POOL));
    assert_memory_equal(lines, REF_POOL, len);
    assert_string_equal(digest, REF_POOL_DIGEST);
    assert_int_equal(match_run(m), DRIP_OK);
    check_run(m, &s);
    for (size_t i = 0; i < match_pool_count(m); i++) {
        char cap[64];
        snprintf(cap, sizeof cap, "%s %s %u %u", d[match_pool_dept(m, (int)i)].dept,
                 match_pool_region(m, (int)i), match_pool_cap(m, (int)i, 0),
                 match_pool_cap(m, (int)i, 1));
        assert_string_equal(cap, REF_CAPS[i]);
    }
    /* the readable summary and the full transcript, both as match_reference.py prints them */
    sbuf tr = {0}, sum = {0};
    for (size_t q = 0; q < 12; q++) {
        size_t fi = match_form_at(m, q);
        char hex[65];
        draw_hex(match_form_ticket(m, fi), 32, hex);
        sb_printf(&tr, "%zu %s %s\n", q + 1, uscc[fi], hex);
        sum.len = 0;
        sb_printf(&sum, "%zu %s ", q + 1, uscc[fi]);
        for (size_t di = 0; di < 2; di++) {
            const match_slot *sl = match_slot_get(m, fi, di);
            sb_printf(&tr, " %s short=%u eshort=%d\n", d[di].dept, sl->short_by, sl->experts_short);
            sb_printf(&sum, "%s%s: ", di ? " | " : "", d[di].dept);
            for (size_t i = 0; i < sl->npicks; i++) {
                const match_pick *p = &sl->picks[i];
                draw_hex(p->ticket, 32, hex);
                sb_printf(&tr, "  %d %s %d %u %s %s\n", p->role, p->key, p->tier, p->load, hex,
                          p->team);
                sb_printf(&sum, "%s%s%s", i ? "," : "", p->role == MATCH_ROLE_EXPERT ? "E:" : "",
                          p->key);
            }
            if (sl->short_by) sb_printf(&sum, " short=%u", sl->short_by);
            if (sl->experts_short) sb_printf(&sum, " eshort");
        }
        assert_string_equal(sum.p, REF_FORMS[q]);
    }
    const char *out = getenv("DRIP_MATCH_OUT");
    if (out && *out) {
        write_file(out, "match_scenario.pool", lines, len);
        write_file(out, "match_scenario.txt", tr.p, tr.len);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_true(EVP_Digest(tr.p, tr.len, md, &mdlen, EVP_sha256(), NULL));
    char hex[65];
    draw_hex(md, 32, hex);
    if (strcmp(hex, REF_TRANSCRIPT_SHA256)) {
        fprintf(stderr, "%s", tr.p);
        fail_msg("transcript sha256 %s, the reference printed %s", hex, REF_TRANSCRIPT_SHA256);
    }
    free(tr.p);
    free(sum.p);
    match_destroy(m);
}

/* The same inputs in another order (forms, pools, candidates) give the same run. */
static void test_determinism(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 1, 0}, {TJJ, 1, 0, 0}};
    const char *uscc[] = {"TGT01", "TGT02", "TGT03", "TGT04", "TGT05"};
    const char *reg[] = {"130102", "130102", "130104", "130102", "130104"};
    match_cand c[] = {{SCJ "/a", "", 0, 0}, {SCJ "/b", "", 0, 0},      {SCJ "/c", "", 0, 0},
                      {SCJ "/x", "", 0, 1}, {"130000SCJ/p", "", 1, 0}, {"130000SCJ/y", "", 1, 1}};
    match_cand rc[6];
    for (int i = 0; i < 6; i++)
        rc[i] = c[5 - i];
    match_cand t[] = {{TJJ "/t", "", 0, 0}, {"130000SCJ/p", "", 1, 0}};
    char runs[2][4096];
    for (int r = 0; r < 2; r++) {
        match *m = mk(d, 2);
        for (int k = 0; k < 2; k++) {
            int pi = r ? 1 - k : k;
            const char *region = pi ? "130104" : "130102";
            add_pool(m, 0, region, r ? rc : c, 6);
            add_pool(m, 1, region, t, 2);
        }
        for (int i = 0; i < 5; i++) {
            int fi = r ? 4 - i : i;
            assert_int_equal(match_form_add(m, uscc[fi], reg[fi]), i);
        }
        assert_int_equal(match_run(m), DRIP_OK);
        size_t off = 0;
        for (size_t q = 0; q < 5; q++) {
            size_t fi = match_form_at(m, q);
            size_t orig = r ? 4 - fi : fi;
            off += (size_t)snprintf(runs[r] + off, sizeof runs[0] - off, "%s:", uscc[orig]);
            for (size_t di = 0; di < 2; di++) {
                const match_slot *sl = match_slot_get(m, fi, di);
                for (size_t i = 0; i < sl->npicks; i++)
                    off += (size_t)snprintf(runs[r] + off, sizeof runs[0] - off, "%s/%u,",
                                            sl->picks[i].key, sl->picks[i].load);
                off += (size_t)snprintf(runs[r] + off, sizeof runs[0] - off, "%u;", sl->short_by);
            }
        }
        assert_true(off < sizeof runs[0]);
        match_destroy(m);
    }
    assert_string_equal(runs[0], runs[1]);
}

static void test_bad_input(void **state)
{
    (void)state;
    match_dept d[] = {{SCJ, 2, 1, 0}};
    match *m = NULL;
    const char *upper = "3414419B279F0A9D074A0076FF4DE5DBA882C5DD5F3EB88E2A1174D5EC8F7F55";
    assert_int_equal(match_create(&m, upper, TASK, d, 1), DRIP_EVALUE);
    assert_int_equal(match_create(&m, "abc", TASK, d, 1), DRIP_EVALUE);
    assert_int_equal(match_create(&m, NULL, TASK, d, 1), DRIP_EVALUE);
    assert_int_equal(match_create(&m, SEED, "", d, 1), DRIP_EVALUE);
    assert_int_equal(match_create(&m, SEED, "a:b", d, 1), DRIP_EVALUE);
    assert_int_equal(match_create(&m, SEED, TASK, d, 0), DRIP_EVALUE);
    match_dept bad[][1] = {{{"", 1, 0, 0}},
                           {{"A,B", 1, 0, 0}},
                           {{"A:B", 1, 0, 0}},
                           {{SCJ, MATCH_MAX_REQUIRED + 1, 0, 0}},
                           {{SCJ, 1, MATCH_MAX_EXPERTS + 1, 0}},
                           {{SCJ, 0, 0, 0}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(match_create(&m, SEED, TASK, bad[i], 1), DRIP_EVALUE);
    assert_null(m);

    m = mk(d, 1);
    match_cand dup[] = {{SCJ "/a", "", 0, 0}, {SCJ "/b", "", 0, 0}, {SCJ "/a", "", 0, 1}};
    assert_int_equal(match_pool_add(m, 0, "130102", dup, 3), DRIP_ECONFLICT);
    match_destroy(m);
    m = mk(d, 1);
    match_cand two_tiers[] = {{SCJ "/a", "", 0, 0}, {SCJ "/a", "", 2, 0}}; /* allowed */
    assert_int_equal(match_pool_add(m, 0, "130102", two_tiers, 2), 0);
    assert_int_equal(match_pool_add(m, 0, "130102", two_tiers, 2), DRIP_ECONFLICT); /* same pool */
    assert_int_equal(match_pool_add(m, 1, "130104", two_tiers, 2), DRIP_EVALUE);    /* no dept 1 */
    match_cand badc[][1] = {{{"noslash", "", 0, 0}},
                            {{SCJ "/a,b", "", 0, 0}},
                            {{SCJ "/a", "t/1", 0, 0}},
                            {{SCJ "/a", "", -1, 0}},
                            {{SCJ "/a", "t:1", 0, 0}}};
    for (size_t i = 0; i < sizeof badc / sizeof badc[0]; i++) {
        char region[7];
        snprintf(region, sizeof region, "13020%zu", i);
        assert_int_equal(match_pool_add(m, 0, region, badc[i], 1), DRIP_EVALUE);
    }
    assert_int_equal(match_pool_add(m, 0, "", two_tiers, 2), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "T:1", "130102"), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "T,1", "130102"), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "", "130102"), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "TGT01", ""), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "TGT01", "130102"), 0);
    assert_int_equal(match_form_exclude(m, 0, 0, SCJ "/a", 3), DRIP_EVALUE);
    assert_int_equal(match_form_exclude(m, 1, 0, SCJ "/a", MATCH_EXCL_RECUSED), DRIP_EVALUE);
    assert_int_equal(match_form_exclude(m, 0, 1, SCJ "/a", MATCH_EXCL_RECUSED), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "TGT01", "130104"), 1); /* the same target twice ... */
    assert_int_equal(match_run(m), DRIP_ECONFLICT);            /* ... is refused by the run */
    match_destroy(m);

    m = mk(d, 1);
    assert_int_equal(match_form_add(m, "TGT01", "130102"), 0);
    assert_int_equal(match_run(m), DRIP_OK);
    assert_int_equal(match_run(m), DRIP_EVALUE);
    assert_int_equal(match_form_add(m, "TGT02", "130102"), DRIP_EVALUE);
    assert_int_equal(match_pool_add(m, 0, "130102", two_tiers, 2), DRIP_EVALUE);
    match_destroy(m);

    char chain[3][7];
    assert_int_equal(match_region_chain("130102", chain), 3);
    assert_string_equal(chain[1], "130100");
    assert_string_equal(chain[2], "130000");
    assert_int_equal(match_region_chain("130100", chain), 2);
    assert_int_equal(match_region_chain("130000", chain), 1);
    assert_int_equal(match_region_chain("1301", chain), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_order),
        cmocka_unit_test(test_caps_and_spread),
        cmocka_unit_test(test_fallback_and_unstaffed),
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_shared_parent_once_per_form),
        cmocka_unit_test(test_teams),
        cmocka_unit_test(test_experts),
        cmocka_unit_test(test_reference_scenario),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_dept_byte_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
