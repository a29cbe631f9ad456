/* planfile.h — plan files for `dripctl plan load` (format: docs/dripctl-plans.md).
 *
 *   {"format": "drip-plan-v1", "year": 2023, "kind": "joint", "note": "...",
 *    "owner": "130102SCJ", "region": "130102",          (optional: who must load it)
 *    "defaults": { task fields every task starts from },
 *    "tasks": [ { task fields }, ... ]}
 *
 * Each task is its "defaults" with its own fields laid over them (scope fields one by one); a task
 * without "kind" gets the plan's. Every problem in the file is reported (FILE:LINE:COL: path: what)
 * before giving up. */
#ifndef DRIPCTL_PLANFILE_H
#define DRIPCTL_PLANFILE_H

#include "arena.h"
#include "drip/planner.pb-c.h"

typedef struct {
    Drip__Plan plan;   /* year, kind, note */
    const char *owner; /* "owner" / "region" of the file, NULL when absent */
    const char *region;
    Drip__Task **tasks; /* complete tasks (arena) */
    size_t n_tasks;
} planfile;

/* Reads and checks `path`. Returns CTL_EXIT_OK or CTL_EXIT_USAGE (problems printed). Everything
 * lives in `a`. */
int planfile_load(arena *a, const char *path, planfile *out);

#endif
