/* draw.h — drip-draw-v1, the public verifiable draw (MISSION §6, docs/draw.md; byte-exact contract).
 *
 *   population line   "<key>,<S>\n", S in A B C D -, lines strictly increasing in byte order
 *   population_digest hex(SHA-256(all lines))
 *   commitment        hex(SHA-256(nonce)), nonce = 32 bytes from getrandom
 *   seed              hex(SHA-256("drip-draw-v1|" + hex(nonce) + "|" + population_digest + "|" + E))
 *   ticket            SHA-256(seed + ":" + task_code + ":" + key), ordered as 32-byte big-endian
 *   inspector ticket  SHA-256(seed + ":" + task_code + ":" + key + ":" + dept + ":" + inspector_id)
 *   selection         per stratum the k_s smallest tickets; threshold = the k_s-th smallest
 *   replacement       the smallest ticket of the stratum not yet selected or rejected
 * Hex is lower-case; strings are hashed as their UTF-8 bytes, with no terminator.
 *
 * A member key (USCC, or a project code for targets that are projects) is 1..DRAW_KEY_MAX bytes with
 * no control character, ',' or ':' — so that lines and ticket inputs can be split only one way.
 *
 * Strata are indexed 0..4 in the fixed reporting order A, B, C, D, - (DRAW_STRATUM_CODES). Where a
 * tie must be broken by stratum code (Hamilton remainders) the codes' byte order is used:
 * '-' (0x2D) < 'A' < 'B' < 'C' < 'D'.
 *
 * Ties between equal tickets (only possible for a key fed twice) are broken by key byte order, so
 * every order here is total and results never depend on the order rows arrive in.
 * Objects are not thread-safe; functions without an object are. */
#ifndef DRIP_DRAW_H
#define DRIP_DRAW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DRAW_STRATA 5
#define DRAW_STRATUM_CODES "ABCD-"  /* index -> code */
#define DRAW_KEY_MAX 64             /* bytes of a member key */
#define DRAW_HEX_LEN 64             /* hex of a SHA-256, without the NUL */
#define DRAW_PPM_ONE 1000000u       /* ratio 100 % in parts per million */

/* Index 0..4 of a stratum code, or -1 if `code` is not one of A B C D -. */
int draw_stratum_index(char code);

/* DRIP_OK if `key` may be a member key (see above), else DRIP_EVALUE. */
int draw_key_check(const char *key);

/* Writes 2n lower-case hex digits and a NUL to out (2n + 1 bytes). */
void draw_hex(const unsigned char *p, size_t n, char *out);
/* Parses exactly 2n hex digits (either case) into out[n]. DRIP_OK or DRIP_EVALUE. */
int draw_unhex(const char *hex, unsigned char *out, size_t n);
/* 1 if s is exactly 64 lower-case hex digits (the form the contract hashes), else 0. */
int draw_is_hex64(const char *s);

/* ---- commitment, seed, tickets ---- */

/* 32 fresh random bytes from getrandom(2). DRIP_OK or DRIP_EIO. */
int draw_nonce_new(unsigned char nonce[32]);
/* hex(SHA-256(nonce)). DRIP_OK or DRIP_EINTERNAL (OpenSSL failure). */
int draw_commitment(const unsigned char nonce[32], char hex[DRAW_HEX_LEN + 1]);
/* The seed. nonce_hex and digest_hex must be 64 lower-case hex digits (DRIP_EVALUE otherwise);
 * entropy is E as published, NULL meaning "" (no entropy source). */
int draw_seed(const char *nonce_hex, const char *digest_hex, const char *entropy,
              char seed_hex[DRAW_HEX_LEN + 1]);
/* The ticket of one member. DRIP_EVALUE for a bad seed (not 64 lower-case hex), a NULL task code or
 * a bad key. */
int draw_ticket(const char *seed_hex, const char *task_code, const char *key, unsigned char out[32]);
/* The matcher's ranking ticket of one inspector for one target and department. dept and
 * inspector_id must be non-empty and contain no ':' (DRIP_EVALUE). */
int draw_ticket_inspector(const char *seed_hex, const char *task_code, const char *key,
                          const char *dept, const char *inspector_id, unsigned char out[32]);

/* ---- population digest (streaming) ---- */

typedef struct draw_digest draw_digest;
/* NULL when out of memory. */
draw_digest *draw_digest_create(void);
void draw_digest_destroy(draw_digest *d);
/* Appends the line "<key>,<stratum>\n" and counts it in its stratum.
 * DRIP_EVALUE without adding anything for a bad key or stratum; DRIP_EVALUE with the line added
 * (hashed and counted, so that a verifier can go on) when it is not strictly after the previous
 * line in byte order — a sampler must then give up. DRIP_EINTERNAL on an OpenSSL failure. */
int draw_digest_add(draw_digest *d, const char *key, char stratum);
/* Lines added so far per stratum index (n[5]), and in total (return value). */
uint64_t draw_digest_sizes(const draw_digest *d, uint64_t n[DRAW_STRATA]);
/* hex(SHA-256(every line added)). Ends the digest: later adds fail with DRIP_EVALUE. */
int draw_digest_final(draw_digest *d, char hex[DRAW_HEX_LEN + 1]);

/* ---- quotas (exact integer arithmetic, no floating point) ---- */

/* k_s = min(n_s, ceil(n_s * ppm_s / 1e6)); ppm_s = 0 means the stratum is not drawn.
 * DRIP_EVALUE if some ppm_s > 1e6. */
int draw_quotas_ratio(const uint64_t n[DRAW_STRATA], const uint32_t ppm[DRAW_STRATA],
                      uint64_t k_out[DRAW_STRATA]);
/* Fixed total k (capped at N = sum n_s), Hamilton / largest remainder: k_s = floor(k n_s / N), then
 * one more seat to each of the (k - sum k_s) strata with the largest remainders (k n_s mod N), equal
 * remainders in stratum code byte order ('-' first). A stratum never gets more than n_s.
 * DRIP_EVALUE if sum n_s overflows 64 bits. */
int draw_quotas_count(const uint64_t n[DRAW_STRATA], uint64_t k, uint64_t k_out[DRAW_STRATA]);

/* ---- selection ---- */

typedef struct {
    char key[DRAW_KEY_MAX + 1];
    char stratum;                /* code: A B C D - */
    unsigned char ticket[32];
    uint64_t rank;               /* 1-based position in ticket order within its stratum / list */
} draw_pick;

/* Keeps, per stratum, the k_s smallest tickets in a bounded max-heap: memory O(sum min(k_s, n_s)),
 * independent of the population size and of row order. Feed every member once. */
typedef struct draw_selector draw_selector;
/* DRIP_OK, DRIP_EVALUE (bad seed or task code), DRIP_ENOMEM. k[s] may exceed n_s. */
int draw_selector_create(draw_selector **out, const char *seed_hex, const char *task_code,
                         const uint64_t k[DRAW_STRATA]);
void draw_selector_destroy(draw_selector *sel);
/* Computes the member's ticket and keeps it if it is among the k_s smallest so far. `ticket`
 * (may be NULL) receives it. DRIP_OK, DRIP_EVALUE (bad key or stratum, or after finish),
 * DRIP_ENOMEM, DRIP_EINTERNAL. */
int draw_selector_add(draw_selector *sel, const char *key, char stratum, unsigned char ticket[32]);
/* Sorts the selection of each stratum by ticket ascending and numbers it 1..k_s. Once only. */
int draw_selector_finish(draw_selector *sel);
/* After finish: the selected members of stratum index s (count returned, *picks the array, valid
 * until destroy). Fewer than k_s only when the stratum had fewer members. */
size_t draw_selector_selected(const draw_selector *sel, int s, const draw_pick **picks);
/* After finish: the threshold of stratum index s = the largest selected ticket (the k_s-th smallest
 * when the stratum had k_s members or more). A member is selected iff its ticket <= threshold.
 * DRIP_OK, or DRIP_ENOTFOUND when nothing was selected in s. */
int draw_selector_threshold(const draw_selector *sel, int s, unsigned char ticket[32]);
/* Members added so far in stratum index s. */
uint64_t draw_selector_seen(const draw_selector *sel, int s);

/* ---- replacement ---- */

/* The next replacements after rejections: among the candidates fed (one stratum's members with
 * their tickets), the `want` smallest whose key is not excluded (already selected, replaced or
 * rejected). want = 1 gives "the smallest ticket not yet selected or rejected". */
typedef struct draw_min_tracker draw_min_tracker;
/* Copies the exclusion list (any order; sorted inside for binary search). NULL when out of memory. */
draw_min_tracker *draw_min_tracker_create(const char *const *excluded, size_t n_excluded,
                                          size_t want);
void draw_min_tracker_destroy(draw_min_tracker *t);
/* DRIP_OK (kept or ignored), DRIP_EVALUE (bad key), DRIP_ENOMEM. */
int draw_min_tracker_add(draw_min_tracker *t, const char *key, const unsigned char ticket[32]);
/* The smallest non-excluded candidates so far, ascending, rank 1..; *count = how many (0 when the
 * stratum is exhausted). *picks is valid until the next call or destroy; their stratum is 0.
 * DRIP_OK or DRIP_ENOMEM. */
int draw_min_tracker_result(draw_min_tracker *t, const draw_pick **picks, size_t *count);

/* ---- verification of a published draw record (dripctl draw verify) ---- */

typedef struct {
    const char *key;
    char stratum;
    const char *ticket;   /* hex */
    const char *replaces; /* replacements only: the key of the rejected member it replaces */
} draw_record_entry;

typedef struct {
    const char *task_code;
    const char *commitment;           /* hex, published with the task */
    const char *nonce;                /* hex, published after the draw */
    const char *entropy;              /* E; NULL or "" when there was no entropy source */
    const char *population_digest;
    const char *seed;
    uint64_t sizes[DRAW_STRATA];      /* by stratum index */
    uint64_t quotas[DRAW_STRATA];
    int by_count;                     /* 1: fixed total `count`; 0: ratio_ppm per stratum */
    uint64_t count;
    uint32_t ratio_ppm[DRAW_STRATA];
    const char *thresholds[DRAW_STRATA]; /* hex; NULL or "" where the quota is 0 */
    const draw_record_entry *selected;   /* the drawn list, each stratum in ticket order */
    size_t n_selected;
    const draw_record_entry *replacements; /* in the order they were made */
    size_t n_replacements;
} draw_record;

/* Receives one human-readable line per difference, starting with the field's name, e.g.
 * "quota[B]: record says 3, recomputed 2 from size 150 and ratio 10000 ppm". */
typedef void (*draw_report_fn)(void *arg, const char *what);

/* Streaming verifier: create, add every population line, finish. `rec` must stay valid until
 * destroy. Checks: SHA-256(nonce) = commitment; the digest of the lines; sizes; quotas recomputed
 * from the sizes and the ratios or count; seed = f(nonce, recomputed digest, E); every listed ticket
 * (from the published seed); members exist with that stratum; per stratum the listed members are
 * exactly the k_s smallest tickets in ticket order; thresholds; the j-th replacement of a stratum is
 * its (k_s + j)-th smallest ticket and replaces a drawn, not yet replaced member of that stratum.
 * When the seed is wrong, tickets and selection are not checked (the report says so).
 * NULL when out of memory. */
typedef struct draw_verifier draw_verifier;
draw_verifier *draw_verifier_create(const draw_record *rec, draw_report_fn report, void *arg);
void draw_verifier_destroy(draw_verifier *v);
/* One population line, in file order. DRIP_OK, or DRIP_EVALUE (reported) for a bad or out-of-order
 * line, DRIP_ENOMEM / DRIP_EINTERNAL. Verification goes on after DRIP_EVALUE. */
int draw_verifier_add(draw_verifier *v, const char *key, char stratum);
/* Runs the remaining checks. DRIP_OK when the record is VALID (nothing reported), DRIP_EVALUE when
 * something was reported, DRIP_ENOMEM / DRIP_EINTERNAL. Once only. */
int draw_verifier_finish(draw_verifier *v);

/* All of the above over a population file of lines "<key>,<S>\n" (LF only, last line included).
 * Same returns, plus DRIP_EIO on a read error. */
int draw_verify(const draw_record *rec, FILE *population, draw_report_fn report, void *arg);

#endif
