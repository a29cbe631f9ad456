/* plan_cmd.c — `dripctl plan create|show|publish|adjust|list|load` (drip-planner). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "cmds.h"
#include "codes.h"
#include "json.h"
#include "planfile.h"
#include "planrender.h"
#include "status.h"
#include "svc.h"

static const char create_help[] =
    "dripctl plan create --year Y --kind joint|internal [--note TEXT]\n"
    "  Creates an annual inspection plan (年度抽查计划) owned by the sending department "
    "(DRIP_DEPT)\n"
    "  in its region (DRIP_REGION). The planner sets the code (<year>-<region>-J|I-<seq>) and the\n"
    "  name (seed 000 rule: year + region + 部门联合抽查计划（第N号）). Prints the plan as JSON.\n"
    "  Add tasks with `dripctl task create --plan CODE ...`, or load a whole plan file with\n"
    "  `dripctl plan load`.\n";

static const char show_help[] =
    "dripctl plan show CODE [--json]\n"
    "  Prints a plan and its tasks (drafts only to their department). --json: the plan with every\n"
    "  task in full (the format `plan load` reads).\n";

static const char publish_help[] =
    "dripctl plan publish CODE [--json]\n"
    "  Publishes the plan and every draft task in it (one transaction); each task gets its draw\n"
    "  commitment (drip-draw-v1). Prints the tasks with their commitments.\n";

static const char adjust_help[] =
    "dripctl plan adjust CODE --note TEXT [--reason TEXT]\n"
    "  Changes the plan's note; once the plan is published the change is a recorded, published\n"
    "  adjustment and --reason is required. Tasks change with `dripctl task adjust`.\n";

static const char list_help[] =
    "dripctl plan list [--year Y] [--json]\n"
    "  Lists the plans of the sending department's region for year Y (default: this year, CST):\n"
    "  CODE YEAR KIND STATE OWNER TASKS NAME, tab-separated (--json: one plan per line, without\n"
    "  tasks). Plans are found by their codes <year>-<region>-J|I-<seq> with plan_get, since the\n"
    "  planner does not serve plan_list yet; other departments' unpublished drafts show as\n"
    "  'draft (not readable)'.\n";

static const char load_help[] =
    "dripctl plan load FILE.json [--publish] [--dry-run] [--into CODE] [--json]\n"
    "  Creates a plan and its tasks from a plan file (format: docs/dripctl-plans.md; examples in\n"
    "  examples/plans/). The whole file is checked first (every problem is reported as\n"
    "  FILE:LINE:COLUMN: path: what) and nothing is sent if it has any.\n"
    "  --publish       publish the plan and its tasks once all are created\n"
    "  --dry-run       only check the file and print the plan it describes as JSON\n"
    "  --into CODE     add the file's tasks to an existing plan instead of creating one; tasks\n"
    "                  whose code the plan already has are skipped (resumes an interrupted load)\n"
    "  --json          print the resulting plan as JSON instead of text\n"
    "  The file's optional \"owner\" and \"region\" must match the sending department.\n";

void plan_cmd_help(FILE *f, const char *verb)
{
    static const struct {
        const char *verb, *text;
    } h[] = {{"create", create_help}, {"show", show_help}, {"publish", publish_help},
             {"adjust", adjust_help}, {"list", list_help}, {"load", load_help}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!verb || strcmp(verb, h[i].verb) == 0) {
            fputs(h[i].text, f);
            if (verb) fputs(CLI_COMMON_HELP, f);
            if (!verb) fputc('\n', f);
        }
    if (!verb) fputs(CLI_COMMON_HELP, f);
}

/* Options every plan verb shares besides the common ones. */
typedef struct {
    cli_common o;
    int json, publish, dry_run;
    const char *note, *reason, *into;
    int has_year, kind;
    uint32_t year;
} plan_opts;

enum { O_YEAR = CLI_O_FIRST, O_KIND, O_NOTE, O_REASON, O_JSON, O_PUBLISH, O_DRY, O_INTO };

static int plan_option(void *arg, int ch, const char *v)
{
    plan_opts *p = arg;
    int64_t n;
    switch (ch) {
    case O_YEAR:
        if (ctl_parse_int64(v, 2000, 2100, &n) != DRIP_OK)
            return cli_usage(&p->o, "--year must be 2000..2100, not '%s'", v);
        p->has_year = 1;
        p->year = (uint32_t)n;
        return CTL_EXIT_OK;
    case O_KIND:
        if (cli_plan_kind_parse(v, &p->kind) != DRIP_OK)
            return cli_usage(&p->o, "--kind must be joint or internal, not '%s'", v);
        return CTL_EXIT_OK;
    case O_NOTE:
        p->note = v;
        return CTL_EXIT_OK;
    case O_REASON:
        p->reason = v;
        return CTL_EXIT_OK;
    case O_JSON:
        p->json = 1;
        return CTL_EXIT_OK;
    case O_PUBLISH:
        p->publish = 1;
        return CTL_EXIT_OK;
    case O_DRY:
        p->dry_run = 1;
        return CTL_EXIT_OK;
    case O_INTO:
        p->into = v;
        return CTL_EXIT_OK;
    default:
        return cli_usage(&p->o, "bad option");
    }
}

/* Parses argv with the options `opts`; *rc is the exit status to return when this returns 0
 * (help printed, or a usage error). `npos` positional arguments are required. */
static int plan_parse(plan_opts *p, const char *verb, int argc, char **argv,
                      const struct option *opts, int npos, ctl_ctx *c, int *rc)
{
    memset(p, 0, sizeof *p);
    cli_common_init(&p->o, "plan", verb);
    *rc = cli_parse(&p->o, argc, argv, opts, plan_option, p);
    if (*rc != CTL_EXIT_OK) return 0;
    if (p->o.help) {
        plan_cmd_help(stdout, verb);
        return 0;
    }
    if (argc - optind != npos) {
        *rc = npos ? cli_usage(&p->o, "expected %d argument%s", npos, npos == 1 ? "" : "s")
                   : cli_usage(&p->o, "unexpected argument '%s'", argv[optind]);
        return 0;
    }
    *rc = cli_apply_identity(c, &p->o);
    return *rc == CTL_EXIT_OK;
}

// clang-format off
#define OPT(name, has, id) {name, has, NULL, id}
#define OPT_END {NULL, 0, NULL, 0}
// clang-format on

static void print_plan(const Drip__Plan *plan, int json)
{
    if (json) {
        json_writer w;
        json_init(&w, stdout, 1);
        render_plan_json(&w, plan, 1);
        json_finish(&w);
    } else {
        render_plan_text(stdout, plan);
    }
    fflush(stdout);
}

/* plan_get of `code`. */
static int get_plan(ctl_ctx *c, const cli_common *o, const char *code, Drip__PlanReply **out)
{
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)code;
    int rc = svc_plan(c, o, "plan_get", &cmd, out);
    if (rc == CTL_EXIT_OK && !(*out)->plan) {
        drip__plan_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return cli_undecodable("PlanReply (no plan)", "drip-planner");
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * create / show / publish / adjust
 * ---------------------------------------------------------------------------------------------- */

/* plan_create; *out is the reply (with the plan). */
static int create_plan(ctl_ctx *c, const cli_common *o, uint32_t year, int kind, const char *note,
                       Drip__PlanReply **out)
{
    Drip__Plan plan = DRIP__PLAN__INIT;
    plan.has_year = 1;
    plan.year = year;
    plan.has_kind = 1;
    plan.kind = (Drip__PlanKind)kind;
    plan.note = (char *)note;
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan = &plan;
    int rc = svc_plan(c, o, "plan_create", &cmd, out);
    if (rc == CTL_EXIT_OK && (!(*out)->plan || !(*out)->plan->code)) {
        drip__plan_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return cli_undecodable("PlanReply (no plan code)", "drip-planner");
    }
    return rc;
}

int plan_cmd_create(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("year", required_argument, O_YEAR),
                                         OPT("kind", required_argument, O_KIND),
                                         OPT("note", required_argument, O_NOTE),
                                         CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION,
                                         OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "create", argc, argv, opts, 0, c, &rc)) return rc;
    if (!p.has_year) return cli_usage(&p.o, "--year is required");
    if (!p.kind) return cli_usage(&p.o, "--kind joint|internal is required");
    Drip__PlanReply *r = NULL;
    rc = create_plan(c, &p.o, p.year, p.kind, p.note, &r);
    if (rc != CTL_EXIT_OK) return rc;
    print_plan(r->plan, 1);
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

int plan_cmd_show(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("json", no_argument, O_JSON), CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION, OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "show", argc, argv, opts, 1, c, &rc)) return rc;
    Drip__PlanReply *r = NULL;
    rc = get_plan(c, &p.o, argv[optind], &r);
    if (rc != CTL_EXIT_OK) return rc;
    print_plan(r->plan, p.json);
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

/* After publication: each task with its commitment. */
static void print_published(FILE *f, const Drip__Plan *plan)
{
    fprintf(f, "published plan %s (%s), version %u\n", plan->code, plan->name ? plan->name : "-",
            plan->version);
    for (size_t i = 0; i < plan->n_tasks; i++) {
        const Drip__Task *t = plan->tasks[i];
        const char *st = t->has_state ? cli_task_state_name(t->state) : NULL;
        fprintf(f, "  task %s\t%s\tcommitment %s\n", t->code ? t->code : "-", st ? st : "-",
                t->commitment && *t->commitment ? t->commitment : "-");
    }
    fflush(f);
}

/* plan_publish; prints the plan as JSON (json) or the commitments as text on `f`. */
static int publish_plan(ctl_ctx *c, const cli_common *o, const char *code, int json, FILE *f)
{
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)code;
    Drip__PlanReply *r = NULL;
    int rc = svc_plan(c, o, "plan_publish", &cmd, &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (!r->plan)
        fprintf(f, "published plan %s\n", code);
    else if (json)
        print_plan(r->plan, 1);
    else
        print_published(f, r->plan);
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

int plan_cmd_publish(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("json", no_argument, O_JSON), CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION, OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "publish", argc, argv, opts, 1, c, &rc)) return rc;
    return publish_plan(c, &p.o, argv[optind], p.json, stdout);
}

int plan_cmd_adjust(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("note", required_argument, O_NOTE),
                                         OPT("reason", required_argument, O_REASON),
                                         OPT("json", no_argument, O_JSON),
                                         CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION,
                                         OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "adjust", argc, argv, opts, 1, c, &rc)) return rc;
    if (!p.note) return cli_usage(&p.o, "--note TEXT is required (the plan's new note)");
    Drip__Plan plan = DRIP__PLAN__INIT;
    plan.note = (char *)p.note;
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = argv[optind];
    cmd.plan = &plan;
    cmd.reason = (char *)p.reason;
    Drip__PlanReply *r = NULL;
    rc = svc_plan(c, &p.o, "plan_adjust", &cmd, &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (r->plan)
        print_plan(r->plan, p.json);
    else
        printf("adjusted plan %s\n", argv[optind]);
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * list
 * ---------------------------------------------------------------------------------------------- */

/* Lists the plans <year>-<region>-<K>-1, -2, ... until the first that does not exist. */
static int list_kind(ctl_ctx *c, const cli_common *o, uint32_t year, char kind, int json,
                     int *found)
{
    for (unsigned seq = 1; seq < 100000; seq++) {
        char code[64];
        snprintf(code, sizeof code, "%u-%s-%c-%u", year, c->region, kind, seq);
        Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
        cmd.plan_code = code;
        Drip__PlanReply *r = NULL;
        int rc = svc_plan_raw(c, o, "plan_get", &cmd, &r);
        if (rc != CTL_EXIT_OK) return rc;
        int err = r->has_error ? (int)r->error : 0;
        if (err == DRIP__ERROR_CODE__ERR_NOT_FOUND) {
            drip__plan_reply__free_unpacked(r, NULL);
            return CTL_EXIT_OK;
        }
        if (err == DRIP__ERROR_CODE__ERR_FORBIDDEN) {
            if (json)
                printf("{\"code\":\"%s\",\"readable\":false}\n", code);
            else
                printf("%s\t%u\t%s\tdraft (not readable)\n", code, year,
                       kind == 'J' ? "joint" : "internal");
        } else if (err != 0 || !r->plan) {
            rc = ctl_report_reply_error(err, r->error_message);
            drip__plan_reply__free_unpacked(r, NULL);
            return rc;
        } else if (json) {
            json_writer w;
            json_init(&w, stdout, 0);
            render_plan_json(&w, r->plan, 0);
            json_finish(&w);
        } else {
            render_plan_line(stdout, r->plan);
        }
        (*found)++;
        drip__plan_reply__free_unpacked(r, NULL);
    }
    return CTL_EXIT_OK;
}

int plan_cmd_list(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("year", required_argument, O_YEAR),
                                         OPT("json", no_argument, O_JSON), CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION, OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "list", argc, argv, opts, 0, c, &rc)) return rc;
    if (!p.has_year) {
        int y;
        codes_date_civil(codes_date_today_cst(), &y, NULL, NULL);
        p.year = (uint32_t)y;
    }
    int found = 0;
    rc = list_kind(c, &p.o, p.year, 'J', p.json, &found);
    if (rc == CTL_EXIT_OK) rc = list_kind(c, &p.o, p.year, 'I', p.json, &found);
    fflush(stdout);
    if (rc == CTL_EXIT_OK && !found && !p.json)
        fprintf(stderr, "dripctl: no plans for %u in region %s\n", p.year, c->region);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * load
 * ---------------------------------------------------------------------------------------------- */

static int identity_matches(const ctl_ctx *c, const planfile *pf, const char *path)
{
    if ((pf->owner && strcmp(pf->owner, c->dept) != 0) ||
        (pf->region && strcmp(pf->region, c->region) != 0)) {
        fprintf(stderr,
                "dripctl: %s is a plan of %s/%s, but you send as %s/%s: set DRIP_DEPT and "
                "DRIP_REGION (or --dept and --region)\n",
                path, pf->owner ? pf->owner : c->dept, pf->region ? pf->region : c->region, c->dept,
                c->region);
        return 0;
    }
    return 1;
}

static int task_exists(const Drip__Plan *plan, const char *code)
{
    for (size_t i = 0; plan && i < plan->n_tasks; i++)
        if (plan->tasks[i]->code && strcmp(plan->tasks[i]->code, code) == 0) return 1;
    return 0;
}

/* Creates the tasks of pf in plan `code` (skipping those `existing` has). */
static int create_tasks(ctl_ctx *c, const cli_common *o, const char *code, const planfile *pf,
                        const Drip__Plan *existing, FILE *log, int *created)
{
    for (size_t i = 0; i < pf->n_tasks; i++) {
        Drip__Task *t = pf->tasks[i];
        if (task_exists(existing, t->code)) {
            fprintf(log, "  task %s: exists, skipped\n", t->code);
            continue;
        }
        Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
        cmd.plan_code = (char *)code;
        cmd.task_code = t->code;
        cmd.task = t;
        Drip__PlanReply *r = NULL;
        int rc = svc_plan(c, o, "task_create", &cmd, &r);
        if (rc != CTL_EXIT_OK) {
            fprintf(stderr,
                    "dripctl: task %s (tasks[%zu]) was not created; %d of the file's tasks are in "
                    "plan %s. Fix the file and resume with: dripctl plan load FILE --into %s\n",
                    t->code, i, *created, code, code);
            return rc;
        }
        (*created)++;
        fprintf(log, "  task %s: created\n", t->code);
        drip__plan_reply__free_unpacked(r, NULL);
    }
    fflush(log);
    return CTL_EXIT_OK;
}

static void print_dry_run(const planfile *pf)
{
    Drip__Plan plan = pf->plan;
    plan.owner = (char *)pf->owner;
    plan.region = (char *)pf->region;
    plan.tasks = pf->tasks;
    plan.n_tasks = pf->n_tasks;
    print_plan(&plan, 1);
}

/* The plan to load into: an existing one (--into, checked against the file) or a new one. */
static int target_plan(ctl_ctx *c, const plan_opts *p, const planfile *pf, FILE *log,
                       Drip__PlanReply **out)
{
    if (!p->into) {
        int rc = create_plan(c, &p->o, pf->plan.year, pf->plan.kind, pf->plan.note, out);
        if (rc == CTL_EXIT_OK)
            fprintf(log, "plan %s created: %s\n", (*out)->plan->code,
                    (*out)->plan->name ? (*out)->plan->name : "-");
        return rc;
    }
    int rc = get_plan(c, &p->o, p->into, out);
    if (rc != CTL_EXIT_OK) return rc;
    const Drip__Plan *plan = (*out)->plan;
    if (plan->year != pf->plan.year || plan->kind != pf->plan.kind) {
        fprintf(stderr, "dripctl: plan %s is %s %u, the file describes %s %u\n", p->into,
                cli_plan_kind_name(plan->kind) ? cli_plan_kind_name(plan->kind) : "?", plan->year,
                cli_plan_kind_name(pf->plan.kind), pf->plan.year);
        drip__plan_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return CTL_EXIT_USAGE;
    }
    fprintf(log, "plan %s: adding the file's tasks\n", plan->code);
    return CTL_EXIT_OK;
}

int plan_cmd_load(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("publish", no_argument, O_PUBLISH),
                                         OPT("dry-run", no_argument, O_DRY),
                                         OPT("into", required_argument, O_INTO),
                                         OPT("json", no_argument, O_JSON),
                                         CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION,
                                         OPT_END};
    plan_opts p;
    int rc;
    if (!plan_parse(&p, "load", argc, argv, opts, 1, c, &rc)) return rc;
    if (p.dry_run && (p.publish || p.into))
        return cli_usage(&p.o, "--dry-run sends nothing: it does not go with --publish or --into");
    const char *path = argv[optind];
    arena *a = arena_create();
    planfile pf;
    rc = planfile_load(a, path, &pf);
    if (rc == CTL_EXIT_OK && p.dry_run) print_dry_run(&pf);
    if (rc != CTL_EXIT_OK || p.dry_run) {
        arena_destroy(a);
        return rc;
    }
    if (!identity_matches(c, &pf, path)) {
        arena_destroy(a);
        return CTL_EXIT_USAGE;
    }
    FILE *log = p.json ? stderr : stdout; /* progress; stdout carries the JSON */
    Drip__PlanReply *r = NULL;
    int created = 0;
    rc = target_plan(c, &p, &pf, log, &r);
    char *code = rc == CTL_EXIT_OK ? strdup(r->plan->code) : NULL;
    if (rc == CTL_EXIT_OK && !code) abort();
    if (rc == CTL_EXIT_OK)
        rc = create_tasks(c, &p.o, code, &pf, p.into ? r->plan : NULL, log, &created);
    if (r) drip__plan_reply__free_unpacked(r, NULL);
    arena_destroy(a);
    if (rc == CTL_EXIT_OK && p.publish) rc = publish_plan(c, &p.o, code, 0, log);
    Drip__PlanReply *final = NULL;
    if (rc == CTL_EXIT_OK && get_plan(c, &p.o, code, &final) == CTL_EXIT_OK) {
        if (!p.json) fputc('\n', stdout);
        print_plan(final->plan, p.json);
        drip__plan_reply__free_unpacked(final, NULL);
    }
    free(code);
    return rc;
}
