/* taskspec.h — the content of an inspection task (Drip__Task) as given on the command line (flags
 * of `task create` / `task adjust`) or in JSON (task files, the "tasks" of a plan file; the format
 * is docs/dripctl-plans.md), and laying a partial spec over an existing task (`task adjust` changes
 * only what its flags name).
 *
 * A spec records which fields were given. Lists given as flags replace the whole list on their
 * first use in a command and append on later uses (--items, --coop, --tag and the scope lists).
 * ratio_ppm, class_ratios and count exclude each other: giving one clears the other two. A
 * targeting condition among the scope flags (credit, ownership, capital, industry, tag, owner)
 * makes the task targeted (定向) unless --untargeted is given as well; region, kind, status and
 * establishment dates may limit an untargeted (不定向) task too. */
#ifndef DRIPCTL_TASKSPEC_H
#define DRIPCTL_TASKSPEC_H

#include <getopt.h>

#include "arena.h"
#include "cli.h"
#include "drip/planner.pb-c.h"
#include "json_parse.h"

/* Fields of a Task (bits of taskspec.set). */
enum {
    TS_CODE = 1u << 0,
    TS_NAME = 1u << 1,
    TS_KIND = 1u << 2,
    TS_TARGETED = 1u << 3,
    TS_LEAD = 1u << 4,
    TS_COOP = 1u << 5,
    TS_ITEMS = 1u << 6,
    TS_TKIND = 1u << 7,
    TS_RATIO = 1u << 8,
    TS_CLASS = 1u << 9,
    TS_COUNT = 1u << 10,
    TS_STRATIFY = 1u << 11,
    TS_INSPECTORS = 1u << 12,
    TS_CONFIRM = 1u << 13,
    TS_RESULT = 1u << 14,
    TS_WINDOW = 1u << 15,
    TS_EXCLUDE = 1u << 16,
    TS_MAXYEAR = 1u << 17,
    TS_CAPEXEMPT = 1u << 18,
    TS_SCOPE = 1u << 19,
};

/* Fields of the scope filter (bits of taskspec.scope_set). */
enum {
    SC_REGIONS = 1u << 0,
    SC_KINDS = 1u << 1,
    SC_STATUSES = 1u << 2,
    SC_CREDITS = 1u << 3,
    SC_OWNERSHIPS = 1u << 4,
    SC_CMIN = 1u << 5,
    SC_CMAX = 1u << 6,
    SC_EBEFORE = 1u << 7,
    SC_EAFTER = 1u << 8,
    SC_INDUSTRIES = 1u << 9,
    SC_TAGS = 1u << 10,
    SC_OWNER = 1u << 11,
};

typedef struct {
    arena *a;
    Drip__Task t;             /* the given fields (arena memory) */
    Drip__TargetFilter scope; /* the given scope fields */
    unsigned set, scope_set;
    unsigned flag_lists;       /* list fields (TS_*) already started by a flag in this command */
    unsigned scope_flag_lists; /* the same for scope lists (SC_*) */
    int untargeted_flag;       /* --untargeted was given */
} taskspec;

void taskspec_init(taskspec *ts, arena *a);

/* getopt_long entries of the task flags. */
// clang-format off
#define TASKSPEC_OPTIONS                                                      \
    {"code", required_argument, NULL, TS_O_CODE},                             \
    {"name", required_argument, NULL, TS_O_NAME},                             \
    {"kind", required_argument, NULL, TS_O_KIND},                             \
    {"targeted", no_argument, NULL, TS_O_TARGETED},                           \
    {"untargeted", no_argument, NULL, TS_O_UNTARGETED},                       \
    {"lead", required_argument, NULL, TS_O_LEAD},                             \
    {"coop", required_argument, NULL, TS_O_COOP},                             \
    {"items", required_argument, NULL, TS_O_ITEMS},                           \
    {"target-kind", required_argument, NULL, TS_O_TKIND},                     \
    {"ratio", required_argument, NULL, TS_O_RATIO},                           \
    {"ratio-ppm", required_argument, NULL, TS_O_RATIO_PPM},                   \
    {"class-ratio", required_argument, NULL, TS_O_CLASS_RATIO},               \
    {"count", required_argument, NULL, TS_O_COUNT},                           \
    {"stratify", no_argument, NULL, TS_O_STRATIFY},                           \
    {"no-stratify", no_argument, NULL, TS_O_NO_STRATIFY},                     \
    {"inspectors", required_argument, NULL, TS_O_INSPECTORS},                 \
    {"confirm-days", required_argument, NULL, TS_O_CONFIRM},                  \
    {"result-days", required_argument, NULL, TS_O_RESULT},                    \
    {"window", required_argument, NULL, TS_O_WINDOW},                         \
    {"exclude-inspected-days", required_argument, NULL, TS_O_EXCLUDE},        \
    {"max-per-year", required_argument, NULL, TS_O_MAXYEAR},                  \
    {"cap-exempt", required_argument, NULL, TS_O_CAPEXEMPT},                  \
    {"region", required_argument, NULL, TS_O_SC_REGION},                      \
    {"status", required_argument, NULL, TS_O_SC_STATUS},                      \
    {"credit", required_argument, NULL, TS_O_SC_CREDIT},                      \
    {"ownership", required_argument, NULL, TS_O_SC_OWNERSHIP},                \
    {"capital-min", required_argument, NULL, TS_O_SC_CMIN},                   \
    {"capital-max", required_argument, NULL, TS_O_SC_CMAX},                   \
    {"established-before", required_argument, NULL, TS_O_SC_EBEFORE},         \
    {"established-after", required_argument, NULL, TS_O_SC_EAFTER},           \
    {"industry", required_argument, NULL, TS_O_SC_INDUSTRY},                  \
    {"tag", required_argument, NULL, TS_O_SC_TAG},                            \
    {"scope-kind", required_argument, NULL, TS_O_SC_KIND},                    \
    {"owner", required_argument, NULL, TS_O_SC_OWNER}
// clang-format on

enum {
    TS_O_CODE = 2000,
    TS_O_NAME,
    TS_O_KIND,
    TS_O_TARGETED,
    TS_O_UNTARGETED,
    TS_O_LEAD,
    TS_O_COOP,
    TS_O_ITEMS,
    TS_O_TKIND,
    TS_O_RATIO,
    TS_O_RATIO_PPM,
    TS_O_CLASS_RATIO,
    TS_O_COUNT,
    TS_O_STRATIFY,
    TS_O_NO_STRATIFY,
    TS_O_INSPECTORS,
    TS_O_CONFIRM,
    TS_O_RESULT,
    TS_O_WINDOW,
    TS_O_EXCLUDE,
    TS_O_MAXYEAR,
    TS_O_CAPEXEMPT,
    TS_O_SC_REGION,
    TS_O_SC_STATUS,
    TS_O_SC_CREDIT,
    TS_O_SC_OWNERSHIP,
    TS_O_SC_CMIN,
    TS_O_SC_CMAX,
    TS_O_SC_EBEFORE,
    TS_O_SC_EAFTER,
    TS_O_SC_INDUSTRY,
    TS_O_SC_TAG,
    TS_O_SC_KIND,
    TS_O_SC_OWNER
};

/* Help text of the task flags. */
extern const char taskspec_flags_help[];

/* Handles one task flag. Returns 1 if `ch` was one (setting *rc to CTL_EXIT_USAGE after printing
 * when its value is bad), 0 otherwise. */
int taskspec_option(taskspec *ts, const cli_common *o, int ch, const char *arg, int *rc);

/* Reads a task object (JSON) into ts (strings are copied into ts's arena). Problems are printed as
 * "FILE:LINE:COL: PATH: what" and counted; returns their number (0 = fine). `path` names the object
 * in messages ("task", "tasks[2]"). */
int taskspec_from_json(taskspec *ts, const char *file, const jsonp_value *v, const char *path);

/* Reads a task file: a JSON object as above. Returns CTL_EXIT_OK or CTL_EXIT_USAGE (printed). */
int taskspec_load_file(taskspec *ts, const char *path);

/* out = base (NULL: an empty task) with every field given in ts replacing base's; out's scope
 * storage is *scope_out. Pointers in out borrow from base and from ts's arena. */
void taskspec_apply(const taskspec *ts, const Drip__Task *base, Drip__Task *out,
                    Drip__TargetFilter *scope_out);

/* Local checks of a complete task before it is sent (the planner checks everything again against
 * the registry): code and name present, exactly one of ratio / class ratios / count. Prints the
 * problems with `what` ("task 联202301") and returns their number. */
int taskspec_check(const Drip__Task *t, const char *what);

#endif
