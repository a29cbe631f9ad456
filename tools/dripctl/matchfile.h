/* matchfile.h — the published matching run as one JSON document: what `match show --json` writes
 * and `match verify --record` reads back:
 *
 *   {"run": MatchRun, "forms": [Form, ...]}
 *
 * with the field names and words of matchrender.h. Reading ignores unknown keys (a publisher may
 * add fields) and the derived ISO times; it is strict about the types of the keys it knows. */
#ifndef DRIPCTL_MATCHFILE_H
#define DRIPCTL_MATCHFILE_H

#include <stddef.h>

#include "arena.h"
#include "drip/matcher.pb-c.h"
#include "json.h"

void matchfile_write(json_writer *w, const Drip__MatchRun *run, const Drip__Form *const *forms,
                     size_t n);

/* Reads `path` ("-" = standard input) into arena memory. CTL_EXIT_OK with *run and forms[0..*n),
 * or CTL_EXIT_USAGE after printing every problem as "FILE:LINE:COL: what". */
int matchfile_read(arena *a, const char *path, Drip__MatchRun **run, Drip__Form ***forms,
                   size_t *n);

#endif
