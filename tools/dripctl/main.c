/* dripctl — the operator / department command-line client of drip.
 *
 * This file is the table of contents: it reads the identity from the environment (ctl.h lists the
 * variables) and dispatches `dripctl <group> <verb> ...` to the functions in registry_cmd.c,
 * events_cmd.c, plan_cmd.c, task_cmd.c, draw_cmd.c, confirm_cmd.c, match_cmd.c and gen.c. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "gen.h"

typedef struct {
    const char *group, *verb; /* verb NULL: the group is the command */
    int (*run)(ctl_ctx *c, int argc, char **argv);
    const char *summary;
} command;

/* `dripctl gen` needs no connection or identity. */
static int run_gen(ctl_ctx *c, int argc, char **argv)
{
    (void)c;
    return dripctl_gen(argc, argv);
}

static const command commands[] = {
    {"registry", "import", registry_cmd_import, "push a CSV export (targets, inspectors, ...)"},
    {"registry", "retire", registry_cmd_retire, "retire records by key"},
    {"registry", "show", registry_cmd_show, "print one record as JSON (optionally as of a time)"},
    {"registry", "count", registry_cmd_count, "count records (targets by filter)"},
    {"registry", "list", registry_cmd_list, "list regions, departments, items, inspectors, years"},
    {"events", "dump", events_cmd_dump, "print the messages of an event stream"},
    {"plan", "create", plan_cmd_create, "create an annual inspection plan (年度抽查计划)"},
    {"plan", "show", plan_cmd_show, "print a plan and its tasks"},
    {"plan", "publish", plan_cmd_publish, "publish a plan with its tasks (draw commitments)"},
    {"plan", "adjust", plan_cmd_adjust, "change a plan's note (published: with a reason)"},
    {"plan", "list", plan_cmd_list, "list the plans of a region and year"},
    {"plan", "load", plan_cmd_load, "create a plan and its tasks from a JSON plan file"},
    {"task", "create", task_cmd_create, "add a task (抽查任务) to a plan"},
    {"task", "show", task_cmd_show, "print a task (--json: the task file format)"},
    {"task", "publish", task_cmd_publish, "publish one task with its draw commitment"},
    {"task", "adjust", task_cmd_adjust, "change a task (published: a new version with a reason)"},
    {"task", "cancel", task_cmd_cancel, "cancel a task, with a reason"},
    {"task", "draw", task_cmd_draw, "order the target draw (public entropy, redraw, force)"},
    {"draw", "show", draw_cmd_show, "print a published draw record"},
    {"draw", "population", draw_cmd_population, "download a draw's frozen population"},
    {"draw", "verify", draw_cmd_verify, "recompute a draw (drip-draw-v1): VALID or differences"},
    {"confirm", NULL, confirm_cmd, "accept / reject drawn targets (比对和确认)"},
    {"match", "show", match_cmd_show, "print a task's inspector matching and forms (一企一表)"},
    {"match", "pool", match_cmd_pool, "download a matching run's inspector pool lines"},
    {"match", "report", match_cmd_report, "print a matching run's fairness report"},
    {"match", "verify", match_cmd_verify,
     "recompute a matching (drip-match-v1): VALID or differences"},
    {"match", "assign", match_cmd_assign, "assign inspectors to a slot by hand (直接委派)"},
    {"gen", NULL, run_gen, "generate synthetic directory CSV (dripctl gen --help)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Groups with verbs and their help printers (verb NULL: every verb of the group). */
static const struct {
    const char *group;
    void (*help)(FILE *f, const char *verb);
} group_help[] = {
    {"registry", registry_cmd_help}, {"events", events_cmd_help}, {"plan", plan_cmd_help},
    {"task", task_cmd_help},         {"draw", draw_cmd_help},     {"match", match_cmd_help},
};
#define N_GROUP_HELP (sizeof group_help / sizeof group_help[0])

static void help(FILE *f)
{
    fputs("usage: dripctl <command> [options]   (dripctl <command> --help for details)\n\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %-10s %s\n", commands[i].group,
                commands[i].verb ? commands[i].verb : "", commands[i].summary);
    fputs("\nEnvironment: DRIP_NATS_URL (default nats://127.0.0.1:14222), DRIP_NATS_USER,\n"
          "  DRIP_NATS_PASSWORD, DRIP_PREFIX (default drip), DRIP_DEPT (sending department,\n"
          "  default OPS), DRIP_REGION (its region, default 000000), DRIP_MAX_PAYLOAD (bytes per\n"
          "  message, default 4194304).\n"
          "Exit status: 0 ok; 1 usage or unreadable input; 2 NATS or the daemon not reachable in\n"
          "  time; 3 rows/keys rejected (import --strict, retire; decisions refused by confirm);\n"
          "  4 not found; 5 refused by the daemon; 6 draw / match verify: it does not verify.\n\n",
          f);
    for (size_t i = 0; i < N_GROUP_HELP; i++)
        group_help[i].help(f, NULL);
    confirm_cmd_help(f);
}

/* `dripctl GROUP` / `dripctl GROUP --help` / `dripctl help GROUP`: the group's help. Returns -1
 * when `group` has no help of its own. */
static int print_group_help(const char *group, FILE *f)
{
    for (size_t i = 0; i < N_GROUP_HELP; i++)
        if (strcmp(group, group_help[i].group) == 0) {
            group_help[i].help(f, NULL);
            return 0;
        }
    if (strcmp(group, "confirm") == 0) {
        confirm_cmd_help(f);
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc > 2 && print_group_help(argv[2], stdout) == 0) return CTL_EXIT_OK;
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
    const char *group = argv[1];
    const char *verb = argc > 2 ? argv[2] : NULL;
    int want_help = !verb || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0;
    if (want_help && strcmp(group, "confirm") != 0 &&
        print_group_help(group, verb ? stdout : stderr) == 0)
        return verb ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    int group_known = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const command *cmd = &commands[i];
        if (strcmp(cmd->group, group) != 0) continue;
        group_known = 1;
        if (cmd->verb && (!verb || strcmp(cmd->verb, verb) != 0)) continue;
        ctl_ctx c;
        ctl_ctx_load(&c);
        /* the command sees argv[0] = its verb (or the group for single-word commands) */
        int skip = cmd->verb ? 2 : 1;
        int rc = cmd->run(&c, argc - skip, argv + skip);
        ctl_disconnect(&c);
        return rc;
    }
    if (group_known) {
        fprintf(stderr, "dripctl: %s: unknown command '%s'; one of:", group, verb ? verb : "");
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(commands[i].group, group) == 0 && commands[i].verb)
                fprintf(stderr, " %s", commands[i].verb);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "dripctl: unknown command '%s' (dripctl help)\n", group);
    }
    return CTL_EXIT_USAGE;
}
