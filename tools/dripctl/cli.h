/* cli.h — what the planner / sampler / matcher commands (plan, task, draw, confirm, match) share:
 * the common options (--dept/--region identity override, --timeout, --retry-for), usage errors, a
 * request/reply with retries on the "<prefix>.<area>.PP.CC.DD.DEPT.<verb>" subjects, and small
 * value parsers (percentages, windows, comma lists). */
#ifndef DRIPCTL_CLI_H
#define DRIPCTL_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "ctl.h"

/* Option ids of the common options; each command numbers its own from CLI_O_FIRST. */
enum {
    CLI_O_DEPT = 1000,
    CLI_O_REGION,
    CLI_O_DEPT_REGION,
    CLI_O_TIMEOUT,
    CLI_O_RETRY,
    CLI_O_HELP,
    CLI_O_FIRST = 1
};

/* Entries of every command's getopt_long table. --region (the sender's region) is separate because
 * task create/adjust use --region for the scope filter, as `registry count` does; --dept-region is
 * its name everywhere. */
// clang-format off
#define CLI_COMMON_OPTIONS                                                  \
    {"dept", required_argument, NULL, CLI_O_DEPT},                          \
    {"dept-region", required_argument, NULL, CLI_O_DEPT_REGION},            \
    {"timeout", required_argument, NULL, CLI_O_TIMEOUT},                    \
    {"retry-for", required_argument, NULL, CLI_O_RETRY},                    \
    {"help", no_argument, NULL, CLI_O_HELP}
#define CLI_REGION_OPTION {"region", required_argument, NULL, CLI_O_REGION}
// clang-format on

/* Help text describing CLI_COMMON_OPTIONS (+ CLI_REGION_OPTION). */
#define CLI_COMMON_HELP                                                                            \
    "  Common options: --dept CODE --region R (or --dept-region R) send as this department\n"      \
    "  instead of DRIP_DEPT / DRIP_REGION; --timeout S (wait per attempt, default 10);\n"          \
    "  --retry-for S (resend the same message while the daemon does not answer, default 30).\n"

typedef struct {
    const char *group, *verb;  /* for messages: "task", "create" */
    const char *dept, *region; /* --dept / --region */
    int timeout_ms;
    int retry_for_s;
    int help; /* --help was given */
} cli_common;

void cli_common_init(cli_common *o, const char *group, const char *verb);

/* Handles one common option (ch = getopt's return). Returns 1 if it was one (0 otherwise) and
 * sets *rc to CTL_EXIT_USAGE after printing when its value is bad. */
int cli_common_option(cli_common *o, int ch, const char *arg, int *rc);

/* Runs getopt_long over argv (argv[0] = the verb): common options go to o, every other option to
 * fn(arg, ch, optarg), which returns CTL_EXIT_OK or an exit status (after printing). Returns
 * CTL_EXIT_OK with the positional arguments at argv[optind..], or an exit status. When --help was
 * given, o->help is set and the caller prints its help. The one short option, -o FILE, reaches fn
 * as 'o' (commands without it reject it as a bad option). */
int cli_parse(cli_common *o, int argc, char **argv, const struct option *opts,
              int (*fn)(void *arg, int ch, const char *optarg), void *arg);

/* Applies --dept/--region to the identity (--dept needs --region or DRIP_REGION). */
int cli_apply_identity(ctl_ctx *c, const cli_common *o);

/* Prints "dripctl: <message>\n(see: dripctl GROUP VERB --help)" and returns CTL_EXIT_USAGE. */
int cli_usage(const cli_common *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends `data` on "<prefix>.<area>.PP.CC.DD.DEPT.<verb>" (area "plan.cmd", "samp.cmd" or
 * "match.cmd") and returns the raw reply. Resends the same bytes (same msg_id: the daemons answer a
 * resend with the stored reply) after a time-out or "no responders" for up to o->retry_for_s
 * seconds. Returns CTL_EXIT_OK with *reply (free()) or the exit status after printing why. */
int cli_call(ctl_ctx *c, const cli_common *o, const char *area, const char *verb,
             const uint8_t *data, size_t len, void **reply, size_t *reply_len);

/* Prints that a reply could not be decoded; returns CTL_EXIT_REFUSED. */
int cli_undecodable(const char *what, const char *daemon);

/* ---- value parsers (DRIP_OK or DRIP_EVALUE) ---- */

/* "1%", "0.5%", "12.3456%" (at most 4 decimals) -> parts per million, 1..1000000. */
int cli_parse_percent(const char *s, uint32_t *ppm);
/* Formats ppm as a percentage without trailing zeros: 10000 -> "1%", 5000 -> "0.5%" (out[16]). */
void cli_format_percent(uint32_t ppm, char out[16]);
/* "YYYY-MM-DD..YYYY-MM-DD" (start <= end) -> two arena strings. */
int cli_parse_window(arena *a, const char *s, char **start, char **end);
/* Splits s at any of the characters in seps, trimming blanks, dropping empty items; appends the
 * items (arena copies) to the array *v of *n items. */
void cli_split(arena *a, const char *s, const char *seps, char ***v, size_t *n);

/* ---- words for planner / sampler enums ---- */

/* PlanKind: joint|联合|部门联合抽查|JOINT, internal|内部|部门内部抽查|INTERNAL. */
int cli_plan_kind_parse(const char *s, int *kind);
const char *cli_plan_kind_name(int kind);   /* "joint", "internal" or NULL */
const char *cli_task_state_name(int state); /* "draft", "published", ... or NULL */
const char *cli_decision_name(int d);       /* "pending", "confirmed", ... or NULL */
/* Credit class word -> proto value, accepting "-" and "" for unclassified. */
int cli_credit_parse(const char *s, int *cls);
/* Stratum code of a credit class: "A".."D", "-" for unclassified, NULL for an unknown value. */
const char *cli_credit_code(int cls);

#endif
