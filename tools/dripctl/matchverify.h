/* matchverify.h — `match verify`: recomputes a published matching run with common/match.h (the
 * one implementation of drip-match-v1, docs/match.md) and compares it with the published forms.
 *
 * Checked: SHA-256(pool lines) = run.pool_digest and their number = run.pool_lines; the lines are
 * canonical (match.h re-serialises them to the same bytes); with a draw record, run.seed =
 * record.seed and the set of forms = the record's selected targets in state confirmed; then the
 * algorithm is rerun (departments from run.depts in byte order, the pools from the lines, every
 * form with its target region and exclusions) and every form's seq and target ticket and every
 * slot's drawn units (key, role, source tier, load, rank ticket), short_by / unstaffed and
 * experts_short are compared. Direct assignments (SOURCE_DIRECT) are outside the draw: they are
 * listed, skipped, and allowed to have lowered short_by / cleared experts_short. */
#ifndef DRIPCTL_MATCHVERIFY_H
#define DRIPCTL_MATCHVERIFY_H

#include <stddef.h>
#include <stdio.h>

#include "drip/matcher.pb-c.h"
#include "drip/sampler.pb-c.h"

#define MATCHVERIFY_SHOWN 50 /* differences printed; the rest are counted */

typedef struct {
    const Drip__MatchRun *run;
    const Drip__Form *const *forms; /* every form of the run, any order */
    size_t nforms;
    const char *pool; /* the pool lines exactly as published */
    size_t pool_len;
    const Drip__DrawRecord *draw; /* the draw the run is of; NULL: not compared */
    int draw_skipped;             /* offline: say why the draw was not compared */
} matchverify_input;

/* Prints the verification to out (a header, differences and notes, a summary, then VALID or
 * INVALID). Returns DRIP_OK when VALID, DRIP_EVALUE when INVALID. */
int matchverify_run(const matchverify_input *in, FILE *out);

#endif
