/* confirm_cmd.c — `dripctl confirm`: a department accepts or rejects drawn targets (比对和确认). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cli.h"
#include "cmds.h"
#include "codes.h"
#include "csv.h"
#include "draw.h"
#include "json.h"
#include "planrender.h"
#include "status.h"
#include "svc.h"

#define CONFIRM_BATCH 1000 /* decisions per ConfirmRequest (sampler.proto) */
#define REASON_CHARS 500

static const char confirm_help[] =
    "dripctl confirm TASK --accept USCC[,USCC...] | --reject USCC[,USCC...] --reason TEXT |\n"
    "                     --file DECISIONS.csv [--json]\n"
    "  Records the sending department's decisions on drawn targets of the task's current draw:\n"
    "  accept, or reject with a reason (required), which makes drip-sampler replace the target\n"
    "  with the next ticket of the same stratum. --accept and --reject may be repeated and\n"
    "  combined; --reason applies to every --reject.\n"
    "  --file: CSV (UTF-8 or GB18030) with the columns uscc,decision,reason; decision "
    "accept|reject\n"
    "  (or 确认|拒绝); a first line starting with 'uscc' is a header. Sent in requests of 1000.\n"
    "  Prints what was recorded, what the sampler refused (and why), the replacements and how\n"
    "  many targets are still pending. Exit 3 when some decision was refused.\n"
    "  --dept CODE --region R decide as another department (like registry import).\n"
    "  --json          print each reply as one JSON line instead\n";

void confirm_cmd_help(FILE *f)
{
    fputs(confirm_help, f);
    fputs(CLI_COMMON_HELP, f);
}

typedef struct {
    cli_common o;
    arena *a;
    Drip__DeptDecision **d;
    size_t n;
    char **rejects;
    size_t n_rejects;
    const char *reason, *file;
    int json;
} confirm_opts;

enum { O_ACCEPT = CLI_O_FIRST, O_REJECT, O_REASON, O_FILE, O_JSON };

static Drip__DeptDecision *add_decision(confirm_opts *c, const char *uscc, int accept,
                                        const char *reason)
{
    Drip__DeptDecision *d = arena_alloc(c->a, sizeof *d);
    drip__dept_decision__init(d);
    d->uscc = arena_strdup(c->a, uscc);
    d->has_accept = 1;
    d->accept = accept != 0;
    d->reason = reason && *reason ? arena_strdup(c->a, reason) : NULL;
    Drip__DeptDecision **nv = arena_alloc(c->a, (c->n + 1) * sizeof *nv);
    if (c->n) memcpy(nv, c->d, c->n * sizeof *nv);
    nv[c->n++] = d;
    c->d = nv;
    return d;
}

static int confirm_option(void *arg, int ch, const char *v)
{
    confirm_opts *c = arg;
    char **keys = NULL;
    size_t n = 0;
    switch (ch) {
    case O_ACCEPT:
        cli_split(c->a, v, ",", &keys, &n);
        for (size_t i = 0; i < n; i++)
            add_decision(c, keys[i], 1, NULL);
        return n ? CTL_EXIT_OK : cli_usage(&c->o, "--accept needs USCC[,USCC...]");
    case O_REJECT:
        cli_split(c->a, v, ",", &c->rejects, &c->n_rejects);
        return CTL_EXIT_OK;
    case O_REASON:
        c->reason = v;
        return CTL_EXIT_OK;
    case O_FILE:
        c->file = v;
        return CTL_EXIT_OK;
    case O_JSON:
        c->json = 1;
        return CTL_EXIT_OK;
    default:
        return cli_usage(&c->o, "bad option");
    }
}

/* "accept" / "reject" and their Chinese words; -1 for anything else. */
static int decision_word(const char *s)
{
    static const char *const yes[] = {"accept", "确认", "同意", "检查"};
    static const char *const no[] = {"reject", "拒绝", "不检查"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!strcmp(s, yes[i])) return 1;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (!strcmp(s, no[i])) return 0;
    return -1;
}

/* One CSV row; problems are printed and counted. */
static void csv_row(confirm_opts *c, char **f, int nf, long line, int *errors)
{
    char why[CODES_WHY_MAX];
    int accept = nf >= 2 ? decision_word(f[1]) : -1;
    const char *reason = nf >= 3 ? f[2] : "";
    if (nf < 2 || nf > 3) {
        fprintf(stderr, "dripctl: %s:%ld: expected uscc,decision[,reason], found %d field%s\n",
                c->file, line, nf, nf == 1 ? "" : "s");
    } else if (draw_key_check(f[0]) != DRIP_OK) {
        fprintf(stderr, "dripctl: %s:%ld: '%s' is not a target key\n", c->file, line, f[0]);
    } else if (accept < 0) {
        fprintf(stderr, "dripctl: %s:%ld: decision must be accept or reject, not '%s'\n", c->file,
                line, f[1]);
    } else if (!accept && codes_text_check(reason, 1, REASON_CHARS, why) != DRIP_OK) {
        fprintf(stderr, "dripctl: %s:%ld: a rejection needs a reason: %s\n", c->file, line, why);
    } else {
        add_decision(c, f[0], accept, reason);
        return;
    }
    (*errors)++;
}

static int read_file(confirm_opts *c)
{
    FILE *f = strcmp(c->file, "-") == 0 ? stdin : fopen(c->file, "rb");
    if (!f) {
        fprintf(stderr, "dripctl: cannot open %s: %s\n", c->file, strerror(errno));
        return CTL_EXIT_USAGE;
    }
    csv_reader *r = csv_reader_create(f, CSV_ENC_AUTO);
    if (!r) abort();
    int errors = 0, nf, first = 1;
    char **fields;
    while ((nf = csv_reader_next(r, &fields)) > 0) {
        if (first && !strcmp(fields[0], "uscc")) { /* header */
            first = 0;
            continue;
        }
        first = 0;
        csv_row(c, fields, nf, csv_reader_line(r), &errors);
    }
    if (nf < 0) {
        fprintf(stderr, "dripctl: %s: %s\n", c->file, csv_reader_error(r));
        errors++;
    }
    csv_reader_destroy(r);
    if (f != stdin) fclose(f);
    if (errors) {
        fprintf(stderr, "dripctl: %s: %d bad row%s; nothing was sent\n", c->file, errors,
                errors == 1 ? "" : "s");
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

/* Checks the collected decisions; adds the --reject ones. */
static int collect(confirm_opts *c)
{
    char why[CODES_WHY_MAX];
    if (c->n_rejects) {
        if (!c->reason || codes_text_check(c->reason, 1, REASON_CHARS, why) != DRIP_OK)
            return cli_usage(&c->o, "--reject needs --reason TEXT (1..500 characters)");
        for (size_t i = 0; i < c->n_rejects; i++)
            add_decision(c, c->rejects[i], 0, c->reason);
    } else if (c->reason) {
        return cli_usage(&c->o, "--reason goes with --reject");
    }
    if (c->file) {
        int rc = read_file(c);
        if (rc != CTL_EXIT_OK) return rc;
    }
    if (!c->n) return cli_usage(&c->o, "no decisions: give --accept, --reject or --file");
    for (size_t i = 0; i < c->n; i++)
        if (draw_key_check(c->d[i]->uscc) != DRIP_OK)
            return cli_usage(&c->o, "'%s' is not a target key (USCC)", c->d[i]->uscc);
    return CTL_EXIT_OK;
}

static void print_json(const Drip__ConfirmReply *r)
{
    json_writer w;
    json_init(&w, stdout, 0);
    json_begin_object(&w);
    json_key(&w, "accepted");
    json_begin_array(&w);
    for (size_t i = 0; i < r->n_accepted; i++) {
        const Drip__DeptDecision *d = r->accepted[i];
        json_begin_object(&w);
        json_key(&w, "uscc");
        json_string(&w, d->uscc);
        json_key(&w, "dept");
        json_string(&w, d->dept);
        json_key(&w, "accept");
        json_bool(&w, d->has_accept && d->accept);
        json_key(&w, "reason");
        json_string(&w, d->reason);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_key(&w, "replacements");
    json_begin_array(&w);
    for (size_t i = 0; i < r->n_replacements; i++) {
        const Drip__Replacement *x = r->replacements[i];
        json_begin_object(&w);
        json_key(&w, "rejected_uscc");
        json_string(&w, x->rejected_uscc);
        json_key(&w, "replacement_uscc");
        json_string(&w, x->replacement_uscc);
        json_key(&w, "ticket");
        json_string(&w, x->ticket);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_key(&w, "refused");
    json_begin_array(&w);
    for (size_t i = 0; i < r->n_rejected_reasons; i++)
        json_string(&w, r->rejected_reasons[i]);
    json_end_array(&w);
    json_key(&w, "pending");
    json_uint(&w, r->pending);
    json_end_object(&w);
    json_finish(&w);
}

int confirm_cmd(ctl_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"accept", required_argument, NULL, O_ACCEPT},
                                         {"reject", required_argument, NULL, O_REJECT},
                                         {"reason", required_argument, NULL, O_REASON},
                                         {"file", required_argument, NULL, O_FILE},
                                         {"json", no_argument, NULL, O_JSON},
                                         CLI_COMMON_OPTIONS,
                                         CLI_REGION_OPTION,
                                         {NULL, 0, NULL, 0}};
    confirm_opts c;
    memset(&c, 0, sizeof c);
    cli_common_init(&c.o, "confirm", NULL);
    c.a = arena_create();
    int rc = cli_parse(&c.o, argc, argv, opts, confirm_option, &c);
    if (rc == CTL_EXIT_OK && c.o.help) {
        confirm_cmd_help(stdout);
    } else if (rc == CTL_EXIT_OK && argc - optind != 1) {
        rc = cli_usage(&c.o, "expected one TASK code");
    } else if (rc == CTL_EXIT_OK && (rc = cli_apply_identity(ctx, &c.o)) == CTL_EXIT_OK &&
               (rc = collect(&c)) == CTL_EXIT_OK) {
        const char *task = argv[optind];
        int refused = 0;
        for (size_t i = 0; i < c.n && rc == CTL_EXIT_OK; i += CONFIRM_BATCH) {
            size_t n = c.n - i < CONFIRM_BATCH ? c.n - i : CONFIRM_BATCH;
            for (size_t k = 0; k < n; k++)
                c.d[i + k]->dept = (char *)ctx->dept;
            Drip__ConfirmReply *r = NULL;
            rc = svc_confirm(ctx, &c.o, task, c.d + i, n, &r);
            if (rc != CTL_EXIT_OK) break;
            if (!c.json && i == 0) printf("task %s, department %s:\n", task, ctx->dept);
            if (c.json)
                print_json(r);
            else
                render_confirm_text(stdout, r);
            refused += r->n_rejected_reasons > 0;
            drip__confirm_reply__free_unpacked(r, NULL);
        }
        fflush(stdout);
        if (rc == CTL_EXIT_OK && refused) rc = CTL_EXIT_REJECTED;
    }
    arena_destroy(c.a);
    return rc;
}
