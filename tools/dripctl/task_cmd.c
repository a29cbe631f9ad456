/* task_cmd.c — `dripctl task create|show|publish|adjust|cancel|draw` (drip-planner; `draw --wait`
 * also asks drip-sampler for the record). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "cmds.h"
#include "json.h"
#include "planrender.h"
#include "status.h"
#include "svc.h"
#include "taskspec.h"

static const char create_help[] =
    "dripctl task create --plan CODE [--file TASK.json] [task flags]\n"
    "  Adds a draft task (抽查任务) to a plan of the sending department. The content comes from\n"
    "  --file (a JSON task, docs/dripctl-plans.md) and/or the flags below (flags override the\n"
    "  file). Without --kind the task takes the plan's kind. Prints the task as the planner\n"
    "  stored it (--json: as JSON).\n";

static const char show_help[] =
    "dripctl task show PLAN TASK [--json]\n"
    "  Prints a task. --json: the task as JSON — the format of task files, so it can be edited\n"
    "  and sent back with `task adjust PLAN TASK --file FILE --reason R`.\n";

static const char publish_help[] =
    "dripctl task publish PLAN TASK [--json]\n"
    "  Publishes one draft task: the planner draws a secret nonce and publishes the task with its\n"
    "  commitment hex(SHA-256(nonce)) (drip-draw-v1). `plan publish` publishes all of them.\n";

static const char adjust_help[] =
    "dripctl task adjust PLAN TASK [--reason R] [--file TASK.json] [task flags]\n"
    "  Changes a task. With --file the file is the full new content (flags override it); without\n"
    "  it the current task is fetched and only the fields named by flags change (a list flag\n"
    "  replaces the whole list). Adjusting a published task makes a new, published version and\n"
    "  needs --reason.\n";

static const char cancel_help[] =
    "dripctl task cancel PLAN TASK --reason R [--json]\n"
    "  Cancels a task (any state but closed); the reason is recorded and published.\n";

static const char draw_help[] =
    "dripctl task draw PLAN TASK [--entropy STR --entropy-source TEXT] [--redraw --reason R]\n"
    "                            [--force --reason R] [--wait S] [--json]\n"
    "  Orders the target draw of a published task; drip-sampler freezes the population, then\n"
    "  draws with the public entropy E (drip-draw-v1; no --entropy: E is empty, and the record\n"
    "  says so). Use entropy announced after the order, e.g. a lottery result, and name it with\n"
    "  --entropy-source (\"福彩3D 2023-03-02 第2023055期\").\n"
    "  --redraw --reason R   draw again (the earlier record is kept and marked superseded)\n"
    "  --force --reason R    draw despite an inspector capacity shortfall\n"
    "  --wait S              wait up to S seconds for the draw record and print it (as `draw\n"
    "                        show`); exit 2 if it does not appear in time\n";

void task_cmd_help(FILE *f, const char *verb)
{
    static const struct {
        const char *verb, *text;
        int flags;
    } h[] = {{"create", create_help, 1}, {"show", show_help, 0},     {"publish", publish_help, 0},
             {"adjust", adjust_help, 1}, {"cancel", cancel_help, 0}, {"draw", draw_help, 0}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!verb || strcmp(verb, h[i].verb) == 0) {
            fputs(h[i].text, f);
            if (verb && h[i].flags) fputs(taskspec_flags_help, f);
            if (verb) fputs(CLI_COMMON_HELP, f);
            if (!verb) fputc('\n', f);
        }
    if (!verb)
        fputs("  Task flags: see `dripctl task create --help`.\n"
              "  Common options --dept CODE --dept-region R (task create/adjust use --region for\n"
              "  the scope) or --region R, --timeout S, --retry-for S.\n",
              f);
}

typedef struct {
    cli_common o;
    taskspec ts;
    int json, redraw, force, wait_s, file_given;
    const char *plan, *file, *reason, *entropy, *entropy_source;
} task_opts;

enum {
    O_PLAN = CLI_O_FIRST,
    O_FILE,
    O_REASON,
    O_JSON,
    O_ENTROPY,
    O_SOURCE,
    O_REDRAW,
    O_FORCE,
    O_WAIT
};

static int task_option(void *arg, int ch, const char *v)
{
    task_opts *t = arg;
    int64_t n;
    int rc = CTL_EXIT_OK;
    switch (ch) {
    case O_PLAN:
        t->plan = v;
        return rc;
    case O_FILE:
        t->file = v;
        return rc;
    case O_REASON:
        t->reason = v;
        return rc;
    case O_JSON:
        t->json = 1;
        return rc;
    case O_ENTROPY:
        t->entropy = v;
        return rc;
    case O_SOURCE:
        t->entropy_source = v;
        return rc;
    case O_REDRAW:
        t->redraw = 1;
        return rc;
    case O_FORCE:
        t->force = 1;
        return rc;
    case O_WAIT:
        if (ctl_parse_int64(v, 0, 3600, &n) != DRIP_OK)
            return cli_usage(&t->o, "--wait must be 0..3600 seconds, not '%s'", v);
        t->wait_s = (int)n;
        return rc;
    }
    if (taskspec_option(&t->ts, &t->o, ch, v, &rc)) return rc;
    return cli_usage(&t->o, "bad option");
}

// clang-format off
#define OPT(name, has, id) {name, has, NULL, id}
#define OPT_END {NULL, 0, NULL, 0}
// clang-format on

/* Parses argv; returns 0 when the caller should return *rc (help, usage error). */
static int task_parse(task_opts *t, arena *a, const char *verb, int argc, char **argv,
                      const struct option *opts, int npos, ctl_ctx *c, int *rc)
{
    memset(t, 0, sizeof *t);
    cli_common_init(&t->o, "task", verb);
    taskspec_init(&t->ts, a);
    *rc = cli_parse(&t->o, argc, argv, opts, task_option, t);
    if (*rc != CTL_EXIT_OK) return 0;
    if (t->o.help) {
        task_cmd_help(stdout, verb);
        return 0;
    }
    if (argc - optind != npos) {
        *rc = npos ? cli_usage(&t->o, "expected PLAN TASK")
                   : cli_usage(&t->o, "unexpected argument '%s'", argv[optind]);
        return 0;
    }
    *rc = cli_apply_identity(c, &t->o);
    return *rc == CTL_EXIT_OK;
}

static void print_task(const Drip__Task *t, int json)
{
    if (json) {
        json_writer w;
        json_init(&w, stdout, 1);
        render_task_json(&w, t);
        json_finish(&w);
    } else {
        render_task_text(stdout, t);
    }
    fflush(stdout);
}

/* Sends a task verb and prints the task of the reply. */
static int task_verb(ctl_ctx *c, const task_opts *t, const char *verb, Drip__PlanCommand *cmd)
{
    Drip__PlanReply *r = NULL;
    int rc = svc_plan(c, &t->o, verb, cmd, &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (r->task)
        print_task(r->task, t->json);
    else
        printf("%s: done (the planner sent no task back)\n", verb);
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

/* task_get; *out is the reply (with the task). */
static int get_task(ctl_ctx *c, const cli_common *o, const char *plan, const char *task,
                    Drip__PlanReply **out)
{
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)plan;
    cmd.task_code = (char *)task;
    int rc = svc_plan(c, o, "task_get", &cmd, out);
    if (rc == CTL_EXIT_OK && !(*out)->task) {
        drip__plan_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return cli_undecodable("PlanReply (no task)", "drip-planner");
    }
    return rc;
}

/* The file (if any) as a base spec, the flags laid over it. */
static int content_from(task_opts *t, arena *a, const Drip__Task *current, Drip__Task *out,
                        Drip__TargetFilter *scope)
{
    if (!t->file) {
        taskspec_apply(&t->ts, current, out, scope);
        return CTL_EXIT_OK;
    }
    taskspec file;
    taskspec_init(&file, a);
    int rc = taskspec_load_file(&file, t->file);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__Task *base = arena_alloc(a, sizeof *base);
    Drip__TargetFilter *base_scope = arena_alloc(a, sizeof *base_scope);
    taskspec_apply(&file, NULL, base, base_scope);
    taskspec_apply(&t->ts, base, out, scope);
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * create / show / publish / adjust / cancel
 * ---------------------------------------------------------------------------------------------- */

#define TASK_CONTENT_OPTIONS                                                                       \
    OPT("plan", required_argument, O_PLAN), OPT("file", required_argument, O_FILE),                \
        OPT("json", no_argument, O_JSON), TASKSPEC_OPTIONS, CLI_COMMON_OPTIONS

/* The plan's kind, for a task given without --kind. */
static int plan_kind(ctl_ctx *c, const cli_common *o, const char *plan, Drip__PlanKind *kind)
{
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)plan;
    Drip__PlanReply *r = NULL;
    int rc = svc_plan(c, o, "plan_get", &cmd, &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (r->plan && r->plan->has_kind) *kind = r->plan->kind;
    drip__plan_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

int task_cmd_create(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {TASK_CONTENT_OPTIONS, OPT_END};
    arena *a = arena_create();
    task_opts t;
    int rc;
    if (!task_parse(&t, a, "create", argc, argv, opts, 0, c, &rc)) goto out;
    if (!t.plan) {
        rc = cli_usage(&t.o, "--plan CODE is required");
        goto out;
    }
    Drip__Task task;
    Drip__TargetFilter scope;
    if ((rc = content_from(&t, a, NULL, &task, &scope)) != CTL_EXIT_OK) goto out;
    if (taskspec_check(&task, "task")) {
        rc = cli_usage(&t.o, "the task is incomplete");
        goto out;
    }
    if (!task.has_kind && (rc = plan_kind(c, &t.o, t.plan, &task.kind)) != CTL_EXIT_OK) goto out;
    task.has_kind = task.kind != 0;
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)t.plan;
    cmd.task_code = task.code;
    cmd.task = &task;
    rc = task_verb(c, &t, "task_create", &cmd);
out:
    arena_destroy(a);
    return rc;
}

/* The verbs that take PLAN TASK and nothing else but --reason / --json. */
static int simple_verb(ctl_ctx *c, int argc, char **argv, const char *verb, const char *wire,
                       int need_reason)
{
    static const struct option opts[] = {OPT("reason", required_argument, O_REASON),
                                         OPT("json", no_argument, O_JSON), CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION, OPT_END};
    arena *a = arena_create();
    task_opts t;
    int rc;
    if (task_parse(&t, a, verb, argc, argv, opts, 2, c, &rc)) {
        if (need_reason && !t.reason) {
            rc = cli_usage(&t.o, "--reason TEXT is required");
        } else if (!wire) {
            Drip__PlanReply *r = NULL;
            rc = get_task(c, &t.o, argv[optind], argv[optind + 1], &r);
            if (rc == CTL_EXIT_OK) print_task(r->task, t.json);
            if (r) drip__plan_reply__free_unpacked(r, NULL);
        } else {
            Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
            cmd.plan_code = argv[optind];
            cmd.task_code = argv[optind + 1];
            cmd.reason = (char *)t.reason;
            rc = task_verb(c, &t, wire, &cmd);
        }
    }
    arena_destroy(a);
    return rc;
}

int task_cmd_show(ctl_ctx *c, int argc, char **argv)
{
    return simple_verb(c, argc, argv, "show", NULL, 0);
}

int task_cmd_publish(ctl_ctx *c, int argc, char **argv)
{
    return simple_verb(c, argc, argv, "publish", "task_publish", 0);
}

int task_cmd_cancel(ctl_ctx *c, int argc, char **argv)
{
    return simple_verb(c, argc, argv, "cancel", "task_cancel", 1);
}

int task_cmd_adjust(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {TASK_CONTENT_OPTIONS,
                                         OPT("reason", required_argument, O_REASON), OPT_END};
    arena *a = arena_create();
    task_opts t;
    Drip__PlanReply *cur = NULL;
    int rc;
    if (!task_parse(&t, a, "adjust", argc, argv, opts, 2, c, &rc)) goto out;
    const char *plan = argv[optind], *code = argv[optind + 1];
    if (t.plan && strcmp(t.plan, plan) != 0) {
        rc = cli_usage(&t.o, "--plan %s contradicts PLAN %s", t.plan, plan);
        goto out;
    }
    if (!t.file && !t.ts.set) {
        rc = cli_usage(&t.o, "nothing to change: give --file or task flags");
        goto out;
    }
    if (!t.file && (rc = get_task(c, &t.o, plan, code, &cur)) != CTL_EXIT_OK) goto out;
    Drip__Task task;
    Drip__TargetFilter scope;
    if ((rc = content_from(&t, a, cur ? cur->task : NULL, &task, &scope)) != CTL_EXIT_OK) goto out;
    if (task.code && strcmp(task.code, code) != 0) {
        rc = cli_usage(&t.o, "the task's code is %s, not %s (a code cannot change)", task.code,
                       code);
        goto out;
    }
    task.code = (char *)code;
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)plan;
    cmd.task_code = (char *)code;
    cmd.task = &task;
    cmd.reason = (char *)t.reason;
    rc = task_verb(c, &t, "task_adjust", &cmd);
out:
    if (cur) drip__plan_reply__free_unpacked(cur, NULL);
    arena_destroy(a);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * draw
 * ---------------------------------------------------------------------------------------------- */

/* Number of the task's latest draw (0 when none), without printing errors. */
static uint32_t latest_draw(ctl_ctx *c, const cli_common *o, const char *task)
{
    Drip__DrawReply *r = NULL;
    uint32_t n = 0;
    if (svc_draw_get_raw(c, o, task, 0, &r) == CTL_EXIT_OK && r && r->record &&
        (!r->has_error || r->error == DRIP__ERROR_CODE__OK))
        n = r->record->draw_no;
    if (r) drip__draw_reply__free_unpacked(r, NULL);
    return n;
}

/* Watching the sampler's event stream for a DRAW_REFUSED of the task (only credentials that may
 * read <PREFIX>_SAMPLER can; for the others `--wait` just waits for the record). */
typedef struct {
    char stream[128];
    int usable;
    uint64_t next_seq; /* first sequence not looked at yet */
    const char *task, *plan;
    char *reason; /* malloc'd: the refusal, once seen */
} refusal_watch;

static void watch_start(ctl_ctx *c, refusal_watch *w, const char *task, const char *plan)
{
    memset(w, 0, sizeof *w);
    w->task = task;
    w->plan = plan;
    subject_stream_name(w->stream, sizeof w->stream, c->prefix, "sampler");
    uint64_t msgs = 0, last = 0;
    if (ctl_connect(c) == DRIP_OK && bus_stream_info(c->bus, w->stream, &msgs, &last) == DRIP_OK) {
        w->usable = 1;
        w->next_seq = last + 1;
    }
}

static int watch_one(const bus_msg *m, void *arg)
{
    refusal_watch *w = arg;
    w->next_seq = bus_msg_stream_seq(m) + 1;
    Drip__SamplerEvent *ev = drip__sampler_event__unpack(NULL, bus_msg_size(m), bus_msg_data(m));
    if (!ev) return 0;
    const Drip__DrawRecord *r = ev->record;
    if (ev->has_kind && ev->kind == DRIP__SAMPLER_EVENT_KIND__DRAW_REFUSED && r && r->task_code &&
        !strcmp(r->task_code, w->task) &&
        (!r->plan_code || !*r->plan_code || !strcmp(r->plan_code, w->plan))) {
        free(w->reason);
        w->reason = strdup(ev->reason && *ev->reason               ? ev->reason
                           : r->capacity_note && *r->capacity_note ? r->capacity_note
                                                                   : "(no reason given)");
        if (!w->reason) abort();
    }
    drip__sampler_event__free_unpacked(ev, NULL);
    return 0;
}

/* 1 when the sampler has refused the draw since watch_start (w->reason says why). */
static int watch_refused(ctl_ctx *c, refusal_watch *w)
{
    if (w->usable && bus_stream_scan(c->bus, w->stream, NULL, w->next_seq, watch_one, w) != DRIP_OK)
        w->usable = 0;
    return w->reason != NULL;
}

/* Polls draw_get until a draw newer than `before` appears (or wait_s passes) and prints it. */
static int wait_for_draw(ctl_ctx *c, const task_opts *t, const char *plan, const char *task,
                         uint32_t before, refusal_watch *w)
{
    cli_common quick = t->o;
    quick.retry_for_s = 0; /* each poll is one attempt */
    double deadline = ctl_now_s() + t->wait_s;
    for (;;) {
        if (watch_refused(c, w)) {
            fprintf(stderr, "dripctl: drip-sampler refused the draw of %s: %s\n%s", task, w->reason,
                    t->force ? ""
                             : "(after fixing the cause, order it again; --force --reason R draws "
                               "despite an inspector capacity shortfall)\n");
            return CTL_EXIT_REFUSED;
        }
        Drip__DrawReply *r = NULL;
        char qtask[192];
        snprintf(qtask, sizeof qtask, "%s/%s", plan, task);
        int rc = svc_draw_get_raw(c, &quick, qtask, 0, &r);
        if (rc == CTL_EXIT_OK && r->record && r->record->draw_no > before &&
            (!r->record->plan_code || !*r->record->plan_code ||
             !strcmp(r->record->plan_code, plan))) {
            if (t->json) {
                json_writer w;
                json_init(&w, stdout, 1);
                render_draw_json(&w, r->record);
                json_finish(&w);
            } else {
                render_draw_text(stdout, r->record, r->draw_nos, r->n_draw_nos);
            }
            drip__draw_reply__free_unpacked(r, NULL);
            fflush(stdout);
            return CTL_EXIT_OK;
        }
        if (r) drip__draw_reply__free_unpacked(r, NULL);
        if (ctl_now_s() >= deadline) break;
        ctl_sleep_ms(1000);
    }
    fprintf(stderr,
            "dripctl: no draw record for %s after %d s; the sampler may still be freezing the "
            "population, or refused the draw (e.g. an inspector capacity shortfall: see `dripctl "
            "events dump --service sampler`)\n",
            task, t->wait_s);
    return CTL_EXIT_UNREACHABLE;
}

int task_cmd_draw(ctl_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {OPT("entropy", required_argument, O_ENTROPY),
                                         OPT("entropy-source", required_argument, O_SOURCE),
                                         OPT("redraw", no_argument, O_REDRAW),
                                         OPT("force", no_argument, O_FORCE),
                                         OPT("reason", required_argument, O_REASON),
                                         OPT("wait", required_argument, O_WAIT),
                                         OPT("json", no_argument, O_JSON),
                                         CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION,
                                         OPT_END};
    arena *a = arena_create();
    task_opts t;
    refusal_watch w;
    memset(&w, 0, sizeof w);
    int rc;
    if (!task_parse(&t, a, "draw", argc, argv, opts, 2, c, &rc)) goto out;
    if ((t.redraw || t.force) && !t.reason) {
        rc = cli_usage(&t.o, "--%s needs --reason TEXT", t.redraw ? "redraw" : "force");
        goto out;
    }
    if (t.entropy_source && !t.entropy) {
        rc = cli_usage(&t.o, "--entropy-source names where --entropy comes from; give --entropy");
        goto out;
    }
    const char *plan = argv[optind], *task = argv[optind + 1];
    char qtask[192]; /* the sampler knows the task as PLAN/TASK */
    snprintf(qtask, sizeof qtask, "%s/%s", plan, task);
    uint32_t before = t.wait_s ? latest_draw(c, &t.o, qtask) : 0;
    if (t.wait_s) watch_start(c, &w, task, plan);
    Drip__PlanCommand cmd = DRIP__PLAN_COMMAND__INIT;
    cmd.plan_code = (char *)plan;
    cmd.task_code = (char *)task;
    cmd.entropy = (char *)(t.entropy ? t.entropy : "");
    cmd.entropy_source = (char *)t.entropy_source;
    cmd.reason = (char *)t.reason;
    cmd.has_redraw = t.redraw;
    cmd.redraw = t.redraw;
    cmd.has_force = t.force;
    cmd.force = t.force;
    Drip__PlanReply *r = NULL;
    if ((rc = svc_plan(c, &t.o, "task_draw", &cmd, &r)) != CTL_EXIT_OK) goto out;
    FILE *log = t.wait_s ? stderr : stdout;
    fprintf(log, "%s ordered for task %s of plan %s; ", t.redraw ? "redraw" : "draw", task, plan);
    if (t.entropy)
        fprintf(log, "entropy \"%s\"%s%s%s\n", t.entropy, t.entropy_source ? " (source: " : "",
                t.entropy_source ? t.entropy_source : "", t.entropy_source ? ")" : "");
    else
        fputs("no public entropy (E is empty, and the record will say so)\n", log);
    drip__plan_reply__free_unpacked(r, NULL);
    if (t.wait_s)
        rc = wait_for_draw(c, &t, plan, task, before, &w);
    else
        fprintf(log, "the sampler draws now; see: dripctl draw show %s --plan %s\n", task, plan);
out:
    free(w.reason);
    arena_destroy(a);
    return rc;
}
