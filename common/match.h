/* match.h — drip-match-v1, the inspector draw and matching (docs/match.md; byte-exact contract).
 * Pure computation, shared by the matcher (which builds pools from its projection) and
 * `dripctl match verify` (which builds them from the published pool lines).
 *
 *   pool line   "<D>,<R>,<tier>,<DEPT/ID>,<E|->,<team>\n" — participating department D, target
 *               region R, tier 0 (D), 1 (D's parent_dept), 2.. (D's neighbour_depts)
 *   pool_digest hex(SHA-256(all lines sorted by byte order))
 *   form order  ascending SHA-256(seed ":" task ":" uscc)
 *   rank        (load, SHA-256(seed ":" task ":" uscc ":" D ":" unit)) ascending, unit = "DEPT/ID"
 *               or a team "DEPT/#TEAM"
 *   cap         ceil(N_R * k / L) per pool (D, R); N_R forms of region R, L tier-0 units; a unit
 *               is drawn from one pool at most cap times (its load over the task ranks it)
 *
 * Usage: match_create; match_pool_add for every (dept, region) pool with its candidates;
 * match_form_add for every form (with its exclusions); match_run; read match_slot_get per
 * (form, dept). All strings passed in are copied. Not thread-safe. */
#ifndef DRIP_MATCH_H
#define DRIP_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define MATCH_ALGORITHM "drip-match-v1"
#define MATCH_MAX_DEPTS 16
#define MATCH_MAX_REQUIRED 10 /* members per check */
#define MATCH_MAX_EXPERTS 5

enum { MATCH_ROLE_MEMBER = 1, MATCH_ROLE_EXPERT = 2 };               /* = drip.SlotRole */
enum { MATCH_EXCL_RECUSED = 1, MATCH_EXCL_ROTATION = 2 };            /* = drip.ExclusionReason */

/* One department taking part in the task. */
typedef struct {
    const char *dept;
    unsigned required; /* k_D members (teams: the members a team must field) */
    unsigned experts;  /* e_D */
    int teams;         /* draws one standing team per form */
} match_dept;

/* One pool line (a candidate of a pool). */
typedef struct {
    const char *key;  /* "DEPT/ID" */
    const char *team; /* "" when none */
    int tier;         /* 0, 1, 2.. */
    int expert;
} match_cand;

/* One unit drawn into a slot. */
typedef struct {
    const char *key;  /* inspector "DEPT/ID" (owned by the match object) */
    const char *team; /* its team ("" for individuals) */
    int tier, role;
    unsigned load;    /* the unit's load before this form (team draws: the team's) */
    unsigned char ticket[32]; /* rank ticket of the unit (team draws: of the team) */
} match_pick;

typedef struct {
    match_pick *picks; /* members (draw order), then experts */
    size_t npicks;
    unsigned short_by; /* members missing: > 0 means unstaffed */
    int experts_short;
    int pool;          /* index of the pool used, -1 when the (dept, region) has no pool */
} match_slot;

typedef struct match match;

/* seed: 64 lower-case hex; task: the bare task code; depts in byte order of their code (the order
 * their slots are drawn in), each once, required >= 1. DRIP_OK, DRIP_EVALUE or DRIP_ENOMEM. */
int match_create(match **out, const char *seed, const char *task, const match_dept *depts,
                 size_t ndepts);
void match_destroy(match *m);

/* Adds the pool of (depts[dept], region). Candidates in any order; a key listed twice in one tier
 * is an error (DRIP_ECONFLICT). Returns the pool's index (>= 0) or a negative status (and then
 * nothing of the pool was added). */
int match_pool_add(match *m, size_t dept, const char *region, const match_cand *cands, size_t n);

/* Adds a form (target key and region). Returns its index (in the order of adding) or a negative
 * status. Exclusions are added with match_form_exclude. */
int match_form_add(match *m, const char *uscc, const char *region);
int match_form_exclude(match *m, size_t form, size_t dept, const char *key, int reason);

/* The pool lines, sorted, as one buffer (owned by m) and their digest (hex). */
int match_pool_lines(match *m, const char **lines, size_t *len, size_t *nlines,
                     char digest[65]);

/* Runs the algorithm. DRIP_OK or a status. */
int match_run(match *m);

/* After match_run: forms in processing order (seq 1.. = position + 1). */
size_t match_form_count(const match *m);
size_t match_form_at(const match *m, size_t seq0);    /* index of the form processed seq0-th */
size_t match_form_seq(const match *m, size_t form);   /* 1-based seq of a form */
const unsigned char *match_form_ticket(const match *m, size_t form);
const match_slot *match_slot_get(const match *m, size_t form, size_t dept);
/* Cap of a pool (members; experts). */
unsigned match_pool_cap(const match *m, int pool, int expert);
/* Pool info for reports. */
size_t match_pool_count(const match *m);
const char *match_pool_region(const match *m, int pool);
size_t match_pool_dept(const match *m, int pool);
size_t match_pool_size(const match *m, int pool, int tier); /* lines of a tier (-1: all) */
/* Load of a unit key after the run (0 if unknown). */
unsigned match_load(const match *m, const char *key);

/* Region ancestors by code: "130102" -> {"130102", "130100", "130000"} (n = 3). Returns n. */
int match_region_chain(const char *region, char out[3][7]);

#endif
