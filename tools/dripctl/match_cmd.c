/* match_cmd.c — `dripctl match show|pool|report|verify|assign` (drip-matcher; verification with
 * common/match.h, the one implementation of drip-match-v1, in matchverify.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arena.h"
#include "cli.h"
#include "cmds.h"
#include "codes.h"
#include "draw.h"
#include "json.h"
#include "matchfile.h"
#include "matchrender.h"
#include "matchverify.h"
#include "status.h"
#include "svc.h"

#define MATCH_PAGE 500 /* forms per match_get request (the matcher allows 2000) */
#define ASSIGN_MAX 10  /* inspectors per AssignRequest (matcher.proto) */
#define REASON_CHARS 500

static const char show_help[] =
    "dripctl match show TASK [--plan P] [--uscc USCC] [--json]\n"
    "  Prints the published matching run of a task (drip-match-v1, docs/match.md) and its joint\n"
    "  inspection forms (一企一表). The run: algorithm, seed (the draw's), pool digest and lines,\n"
    "  forms, inspectors per check, lead department, unstaffed slots, direct assignments, and per\n"
    "  participating department its pool: members (or one team) and experts per form, the\n"
    "  workload cap, pool lines per tier (0 the department, 1 its parent_dept, 2.. its\n"
    "  neighbour_depts), required qualifications, own inspectors left out (inactive, certificate\n"
    "  expired, unqualified) and notes (e.g. a fallback department that is not registered).\n"
    "  Then every form in processing order: seq, target key, name and region, and per department\n"
    "  slot its items and methods, the inspectors (key, name, role member|expert, PARENT or\n"
    "  NEIGHBOUR when drawn from a fallback pool, DIRECT when assigned by hand, with who and why;\n"
    "  team), UNSTAFFED short by N, EXPERTS SHORT, the candidates excluded for this target\n"
    "  (recused|rotation), the check window and the latest result due date.\n"
    "  TASK may be PLAN/TASK (task codes are unique within a plan only), or use --plan P.\n"
    "  --uscc USCC   only that target's form\n"
    "  --json        one JSON document {\"run\": {...}, \"forms\": [...]} with every field (the\n"
    "                input of `match verify --record`)\n"
    "  Exit 4 when the task has not been matched (or has no form for --uscc).\n";

static const char pool_help[] =
    "dripctl match pool TASK [--plan P] [-o FILE]\n"
    "  Writes the inspector pool lines of a task's matching run exactly as drip-matcher hashed "
    "them\n"
    "  (\"<D>,<R>,<tier>,<DEPT/ID>,<E|->,<team>\\n\" in byte order, all pages: participating\n"
    "  department, target region, tier, inspector, expert or member, standing team) to FILE\n"
    "  (default: standard output; FILE is written as FILE.tmp and renamed when complete). Prints\n"
    "  the line count and the SHA-256 of the bytes (the run's pool_digest) on standard error.\n";

static const char report_help[] =
    "dripctl match report TASK [--plan P] [--json]\n"
    "  Prints the fairness report of a task's matching run, per participating department: the\n"
    "  pool (lines per tier, cap, own inspectors left out as inactive, certificate expired or\n"
    "  unqualified), the workload of the own pool's members (forms per member: min, median,\n"
    "  max), exclusions by reason (recused, rotation), inspectors taken from the parent\n"
    "  department, from neighbours and assigned directly, unstaffed slots with up to 20 of their\n"
    "  targets, forms short of experts, and how often the same members were paired (distinct\n"
    "  pairs, pairs that met on more than one form, the most forms one pair shared).\n"
    "  --json   the whole report as one JSON document (every unstaffed target the matcher lists)\n";

static const char verify_help[] =
    "dripctl match verify TASK [--plan P] [--record FILE.json] [--pool FILE]\n"
    "  Recomputes a matching run with common/match.c (drip-match-v1, docs/match.md) from what was\n"
    "  published and compares it with the forms: SHA-256 of the pool lines = pool_digest (and\n"
    "  their number); the run's seed = the seed of the draw record (DrawQuery to drip-sampler)\n"
    "  and the forms = the draw's targets whose state is confirmed; then the whole algorithm is\n"
    "  rerun from the seed, the run's departments (members, experts, teams), the pool lines and\n"
    "  every form's target region and exclusions, and every form is compared: seq, target\n"
    "  ticket, and per department slot the drawn inspectors in order (key, role, source tier,\n"
    "  load, rank ticket), unstaffed / short_by and experts_short. Inspectors assigned directly\n"
    "  (直接委派) are outside the draw: they are listed and skipped. Prints VALID, or INVALID and\n"
    "  each difference (the first 50, then how many more).\n"
    "  The run and its forms are fetched from drip-matcher unless --record gives a file written\n"
    "  by `match show --json` (without --uscc); the pool lines likewise unless --pool gives a "
    "file\n"
    "  written by `match pool`. With both no connection is needed (anyone can verify) and the\n"
    "  comparison with the draw record is skipped, which the output says (`draw verify` checks\n"
    "  the draw itself). Exit 0 when VALID, 6 when not.\n";

static const char assign_help[] =
    "dripctl match assign TASK --uscc USCC --inspector DEPT/ID [--inspector DEPT/ID ...]\n"
    "                          --reason TEXT [--dept D] [--plan P] [--json]\n"
    "  Direct assignment (直接委派): adds inspectors by hand to a department's slot of a form,\n"
    "  typically one the draw left UNSTAFFED. They are marked DIRECT with the reason and the\n"
    "  assigning department, the form's version goes up and drip-matcher dispatches it again;\n"
    "  `match verify` lists them as outside the draw. The matcher accepts only active inspectors\n"
    "  whose certificate is valid for the task's window and who are not recused for the target.\n"
    "  --uscc USCC           the form's target key\n"
    "  --inspector DEPT/ID   1..10 in all (repeat the option or separate keys with commas)\n"
    "  --reason TEXT         why (1..500 characters), required\n"
    "  --dept D              the slot's department (default: the sending department; an operator\n"
    "                        names the department whose slot it completes)\n"
    "  --json                print the updated form as JSON instead of text\n"
    "  Prints the form after the assignment. A resend after a lost reply gets the recorded\n"
    "  answer (noted on standard error). Exit 5 when the matcher refuses (message printed).\n";

/* assign uses --dept for the slot, so its sender override is --sender. */
#define ASSIGN_COMMON_HELP                                                                         \
    "  Common options: --sender CODE --dept-region R send as this department instead of\n"         \
    "  DRIP_DEPT / DRIP_REGION; --timeout S (wait per attempt, default 10); --retry-for S\n"       \
    "  (resend the same message while the daemon does not answer, default 30).\n"

void match_cmd_help(FILE *f, const char *verb)
{
    static const struct {
        const char *verb, *text;
    } h[] = {{"show", show_help},
             {"pool", pool_help},
             {"report", report_help},
             {"verify", verify_help},
             {"assign", assign_help}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!verb || strcmp(verb, h[i].verb) == 0) {
            fputs(h[i].text, f);
            if (verb) fputs(strcmp(verb, "assign") ? CLI_COMMON_HELP : ASSIGN_COMMON_HELP, f);
            if (!verb) fputc('\n', f);
        }
    if (!verb) {
        fputs(CLI_COMMON_HELP, f);
        fputs("  (match assign: --sender CODE instead of --dept CODE, which names the slot.)\n", f);
    }
}

/* ------------------------------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    cli_common o;
    arena *a;
    const char *plan, *uscc, *out, *record, *pool, *reason, *slot;
    char **inspectors;
    size_t n_inspectors;
    int json;
} match_opts;

enum {
    O_PLAN = CLI_O_FIRST,
    O_USCC,
    O_JSON,
    O_RECORD,
    O_POOL,
    O_INSPECTOR,
    O_REASON,
    O_SLOT,
    O_OUT = 'o'
};

static int match_option(void *arg, int ch, const char *v)
{
    match_opts *d = arg;
    switch (ch) {
    case O_PLAN:
        d->plan = v;
        return CTL_EXIT_OK;
    case O_USCC:
        d->uscc = v;
        return CTL_EXIT_OK;
    case O_JSON:
        d->json = 1;
        return CTL_EXIT_OK;
    case O_RECORD:
        d->record = v;
        return CTL_EXIT_OK;
    case O_POOL:
        d->pool = v;
        return CTL_EXIT_OK;
    case O_INSPECTOR:
        cli_split(d->a, v, ",", &d->inspectors, &d->n_inspectors);
        return CTL_EXIT_OK;
    case O_REASON:
        d->reason = v;
        return CTL_EXIT_OK;
    case O_SLOT:
        d->slot = v;
        return CTL_EXIT_OK;
    case O_OUT:
        d->out = v;
        return CTL_EXIT_OK;
    default:
        return cli_usage(&d->o, "bad option");
    }
}

// clang-format off
#define OPT(name, has, id) {name, has, NULL, id}
#define OPT_END {NULL, 0, NULL, 0}
#define MATCH_OPTIONS                                                                              \
    OPT("plan", required_argument, O_PLAN), OPT("uscc", required_argument, O_USCC),                \
    OPT("json", no_argument, O_JSON), OPT("record", required_argument, O_RECORD),                  \
    OPT("pool", required_argument, O_POOL), OPT("output", required_argument, O_OUT),              \
    OPT("inspector", required_argument, O_INSPECTOR), OPT("reason", required_argument, O_REASON)
// clang-format on

static const struct option match_opts_table[] = {MATCH_OPTIONS, CLI_COMMON_OPTIONS,
                                                 CLI_REGION_OPTION, OPT_END};

/* assign: --dept is the slot; the sender is --sender (see ASSIGN_COMMON_HELP). */
static const struct option assign_opts_table[] = {
    MATCH_OPTIONS,
    OPT("dept", required_argument, O_SLOT),
    OPT("sender", required_argument, CLI_O_DEPT),
    OPT("dept-region", required_argument, CLI_O_DEPT_REGION),
    OPT("region", required_argument, CLI_O_REGION),
    OPT("timeout", required_argument, CLI_O_TIMEOUT),
    OPT("retry-for", required_argument, CLI_O_RETRY),
    OPT("help", no_argument, CLI_O_HELP),
    OPT_END};

/* The task argument as the matcher wants it: with --plan P, "P/TASK". */
static const char *qualified_task(const match_opts *d, const char *task, char *buf, size_t cap)
{
    if (!d->plan || strchr(task, '/')) return task;
    snprintf(buf, cap, "%s/%s", d->plan, task);
    return buf;
}

/* Parses argv for `verb`; options a verb does not take are rejected here rather than in the table.
 * Returns 1 when the command should run (d->a is then to be destroyed by the caller). */
static int match_parse(match_opts *d, const char *verb, int argc, char **argv, ctl_ctx *c, int *rc)
{
    memset(d, 0, sizeof *d);
    d->a = arena_create();
    cli_common_init(&d->o, "match", verb);
    int assign = !strcmp(verb, "assign");
    *rc = cli_parse(&d->o, argc, argv, assign ? assign_opts_table : match_opts_table, match_option,
                    d);
    if (*rc == CTL_EXIT_OK && d->o.help) {
        match_cmd_help(stdout, verb);
        return 0;
    }
    if (*rc != CTL_EXIT_OK) return 0;
    int show = !strcmp(verb, "show"), pool = !strcmp(verb, "pool"),
        report = !strcmp(verb, "report"), verify = !strcmp(verb, "verify");
    const char *bad = d->out && !pool                          ? "-o"
                      : d->json && !(show || report || assign) ? "--json"
                      : d->uscc && !(show || assign)           ? "--uscc"
                      : d->record && !verify                   ? "--record"
                      : d->pool && !verify                     ? "--pool"
                      : d->n_inspectors && !assign             ? "--inspector"
                      : d->reason && !assign                   ? "--reason"
                                                               : NULL;
    if (bad) {
        *rc = cli_usage(&d->o, "match %s does not take %s", verb, bad);
        return 0;
    }
    if (argc - optind != 1) {
        *rc = cli_usage(&d->o, "expected one TASK code (or PLAN/TASK)");
        return 0;
    }
    if (d->uscc && draw_key_check(d->uscc) != DRIP_OK) {
        *rc = cli_usage(&d->o, "--uscc: '%s' is not a target key (USCC or USCC/PROJECT)", d->uscc);
        return 0;
    }
    if (assign) {
        char why[CODES_WHY_MAX];
        if (!d->uscc) {
            *rc = cli_usage(&d->o, "match assign needs --uscc USCC");
            return 0;
        }
        if (d->n_inspectors == 0 || d->n_inspectors > ASSIGN_MAX) {
            *rc = cli_usage(&d->o,
                            "match assign needs 1..%d inspectors (--inspector DEPT/ID), not %zu",
                            ASSIGN_MAX, d->n_inspectors);
            return 0;
        }
        for (size_t i = 0; i < d->n_inspectors; i++) {
            const char *k = d->inspectors[i], *slash = strchr(k, '/');
            if (!slash || slash == k || !slash[1] || strchr(slash + 1, '/')) {
                *rc = cli_usage(&d->o, "--inspector: '%s' is not an inspector key DEPT/ID", k);
                return 0;
            }
        }
        if (!d->reason || codes_text_check(d->reason, 1, REASON_CHARS, why) != DRIP_OK) {
            *rc = cli_usage(&d->o, "match assign needs --reason TEXT (1..500 characters)");
            return 0;
        }
    }
    if (assign && d->o.dept && !d->o.region && !c->region_from_env) {
        *rc = cli_usage(&d->o,
                        "--sender %s needs --dept-region R (or DRIP_REGION): the "
                        "department's region is part of the subject",
                        d->o.dept);
        return 0;
    }
    /* fully offline verification needs no identity (and no connection) */
    if (verify && d->record && d->pool) return 1;
    *rc = cli_apply_identity(c, &d->o);
    return *rc == CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Fetching the run and all its forms
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    Drip__MatchReply **pages;
    size_t npages;
    const Drip__Form **forms;
    size_t nforms;
} match_pages;

static void pages_free(match_pages *p)
{
    for (size_t i = 0; i < p->npages; i++)
        drip__match_reply__free_unpacked(p->pages[i], NULL);
    free(p->pages);
    free(p->forms);
    memset(p, 0, sizeof *p);
}

static void pages_add(match_pages *p, Drip__MatchReply *r)
{
    Drip__MatchReply **np = realloc(p->pages, (p->npages + 1) * sizeof *np);
    const Drip__Form **nf = realloc(p->forms, (p->nforms + r->n_forms + 1) * sizeof *nf);
    if (!np || !nf) abort();
    p->pages = np;
    p->forms = nf;
    p->pages[p->npages++] = r;
    for (size_t i = 0; i < r->n_forms; i++)
        p->forms[p->nforms++] = r->forms[i];
}

static int same_str(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* Every page of match_get (one form with uscc). The run is pages[0]->run. */
static int fetch_forms(ctl_ctx *c, const cli_common *o, const char *task, const char *uscc,
                       match_pages *out)
{
    memset(out, 0, sizeof *out);
    uint32_t offset = 0;
    for (;;) {
        Drip__MatchReply *r = NULL;
        int rc = svc_match_get(c, o, task, uscc, offset, MATCH_PAGE, &r);
        if (rc != CTL_EXIT_OK) {
            pages_free(out);
            return rc;
        }
        pages_add(out, r);
        const Drip__MatchRun *first = out->pages[0]->run;
        if (!same_str(r->run->pool_digest, first->pool_digest) ||
            r->run->draw_no != first->draw_no) {
            fprintf(stderr,
                    "dripctl: the matching run of %s changed while its forms were being fetched "
                    "(a new match?); run the command again\n",
                    task);
            pages_free(out);
            return CTL_EXIT_REFUSED;
        }
        if (!r->has_next_offset || r->next_offset == 0) break;
        if (r->next_offset <= offset) {
            fprintf(stderr,
                    "dripctl: drip-matcher returned a page offset that does not advance (%u after "
                    "%u); stopping\n",
                    r->next_offset, offset);
            pages_free(out);
            return CTL_EXIT_REFUSED;
        }
        offset = r->next_offset;
    }
    if (uscc && out->nforms == 0) {
        fprintf(stderr, "dripctl: not_found: task %s has no form for %s\n", task, uscc);
        pages_free(out);
        return CTL_EXIT_NOT_FOUND;
    }
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * show
 * ---------------------------------------------------------------------------------------------- */

int match_cmd_show(ctl_ctx *c, int argc, char **argv)
{
    match_opts d;
    int rc;
    if (!match_parse(&d, "show", argc, argv, c, &rc)) {
        arena_destroy(d.a);
        return rc;
    }
    char qbuf[192];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    match_pages p;
    rc = fetch_forms(c, &d.o, task, d.uscc, &p);
    if (rc == CTL_EXIT_OK) {
        const Drip__MatchRun *run = p.pages[0]->run;
        if (d.json) {
            json_writer w;
            json_init(&w, stdout, 1);
            matchfile_write(&w, run, p.forms, p.nforms);
            json_finish(&w);
        } else {
            render_match_run_text(stdout, run);
            printf("forms (%zu):\n", p.nforms);
            for (size_t i = 0; i < p.nforms; i++)
                render_match_form_text(stdout, p.forms[i]);
        }
        pages_free(&p);
    }
    fflush(stdout);
    arena_destroy(d.a);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * pool
 * ---------------------------------------------------------------------------------------------- */

/* Where pool pages go: a file (with the digest computed on the way) or memory (verify). */
typedef struct {
    FILE *f; /* NULL: keep in buf */
    EVP_MD_CTX *md;
    uint64_t lines, bytes;
    char *buf;
    size_t len, cap;
} pool_sink;

static int pool_write(const uint8_t *lines, size_t len, void *arg)
{
    pool_sink *s = arg;
    if (s->f) {
        if (fwrite(lines, 1, len, s->f) != len) {
            fprintf(stderr, "dripctl: cannot write the pool lines: %s\n",
                    strerror(errno ? errno : EIO));
            return CTL_EXIT_USAGE;
        }
    } else {
        if (s->len + len + 1 > s->cap) {
            size_t nc = s->cap ? s->cap : 1 << 16;
            while (nc < s->len + len + 1)
                nc *= 2;
            char *nb = realloc(s->buf, nc);
            if (!nb) abort();
            s->buf = nb;
            s->cap = nc;
        }
        memcpy(s->buf + s->len, lines, len);
        s->len += len;
        s->buf[s->len] = '\0';
    }
    if (s->md) EVP_DigestUpdate(s->md, lines, len);
    for (size_t i = 0; i < len; i++)
        s->lines += lines[i] == '\n';
    s->bytes += len;
    return CTL_EXIT_OK;
}

int match_cmd_pool(ctl_ctx *c, int argc, char **argv)
{
    match_opts d;
    int rc;
    if (!match_parse(&d, "pool", argc, argv, c, &rc)) {
        arena_destroy(d.a);
        return rc;
    }
    char qbuf[192];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    char *tmp = NULL;
    FILE *f = stdout;
    if (d.out && strcmp(d.out, "-") != 0) {
        size_t n = strlen(d.out) + 5;
        tmp = malloc(n);
        if (!tmp) abort();
        snprintf(tmp, n, "%s.tmp", d.out);
        f = fopen(tmp, "wb");
        if (!f) {
            fprintf(stderr, "dripctl: cannot create %s: %s\n", tmp, strerror(errno));
            free(tmp);
            arena_destroy(d.a);
            return CTL_EXIT_USAGE;
        }
    }
    pool_sink s = {.f = f, .md = EVP_MD_CTX_new()};
    if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) abort();
    rc = svc_match_pool(c, &d.o, task, pool_write, &s);
    if (rc == CTL_EXIT_OK && fflush(f) != 0) {
        fprintf(stderr, "dripctl: cannot write the pool lines: %s\n", strerror(errno));
        rc = CTL_EXIT_USAGE;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[DRAW_HEX_LEN + 1];
    EVP_DigestFinal_ex(s.md, md, &mdlen);
    EVP_MD_CTX_free(s.md);
    draw_hex(md, 32, hex);
    if (tmp) {
        if (fclose(f) != 0 && rc == CTL_EXIT_OK) {
            fprintf(stderr, "dripctl: cannot write %s: %s\n", tmp, strerror(errno));
            rc = CTL_EXIT_USAGE;
        }
        if (rc == CTL_EXIT_OK && rename(tmp, d.out) != 0) {
            fprintf(stderr, "dripctl: cannot rename %s to %s: %s\n", tmp, d.out, strerror(errno));
            rc = CTL_EXIT_USAGE;
        }
        if (rc != CTL_EXIT_OK) unlink(tmp);
        free(tmp);
    }
    if (rc == CTL_EXIT_OK)
        fprintf(stderr, "pool of %s: %llu lines, %llu bytes, sha256 %s\n", task,
                (unsigned long long)s.lines, (unsigned long long)s.bytes, hex);
    arena_destroy(d.a);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * report
 * ---------------------------------------------------------------------------------------------- */

int match_cmd_report(ctl_ctx *c, int argc, char **argv)
{
    match_opts d;
    int rc;
    if (!match_parse(&d, "report", argc, argv, c, &rc)) {
        arena_destroy(d.a);
        return rc;
    }
    char qbuf[192];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    Drip__MatchReport *r = NULL;
    rc = svc_match_report(c, &d.o, task, &r);
    if (rc == CTL_EXIT_OK) {
        if (d.json) {
            json_writer w;
            json_init(&w, stdout, 1);
            render_match_report_json(&w, r);
            json_finish(&w);
        } else {
            render_match_report_text(stdout, r);
        }
        drip__match_report__free_unpacked(r, NULL);
    }
    fflush(stdout);
    arena_destroy(d.a);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * assign
 * ---------------------------------------------------------------------------------------------- */

int match_cmd_assign(ctl_ctx *c, int argc, char **argv)
{
    match_opts d;
    int rc;
    if (!match_parse(&d, "assign", argc, argv, c, &rc)) {
        arena_destroy(d.a);
        return rc;
    }
    char qbuf[192];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    Drip__AssignRequest req = DRIP__ASSIGN_REQUEST__INIT;
    req.uscc = (char *)d.uscc;
    req.dept = (char *)d.slot;
    req.inspectors = d.inspectors;
    req.n_inspectors = d.n_inspectors;
    req.reason = (char *)d.reason;
    Drip__AssignReply *r = NULL;
    rc = svc_match_assign(c, &d.o, task, &req, &r);
    if (rc == CTL_EXIT_OK) {
        if (r->has_replayed && r->replayed)
            fprintf(stderr, "dripctl: drip-matcher had already recorded this assignment (the "
                            "reply is the recorded one)\n");
        if (!r->form) {
            fprintf(stderr, "dripctl: drip-matcher accepted the assignment but sent no form\n");
        } else if (d.json) {
            json_writer w;
            json_init(&w, stdout, 1);
            render_match_form_json(&w, r->form);
            json_finish(&w);
        } else {
            printf("form of %s after the assignment (version %u):\n", d.uscc, r->form->version);
            render_match_form_text(stdout, r->form);
        }
        drip__assign_reply__free_unpacked(r, NULL);
    }
    fflush(stdout);
    arena_destroy(d.a);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * verify
 * ---------------------------------------------------------------------------------------------- */

/* The whole of a file in memory (NUL-terminated). CTL_EXIT_OK or CTL_EXIT_USAGE (printed). */
static int read_all(const char *path, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dripctl: cannot open %s: %s\n", path, strerror(errno));
        return CTL_EXIT_USAGE;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) abort();
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) abort();
            b = nb;
        }
        size_t k = fread(b + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
    }
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (err) {
        fprintf(stderr, "dripctl: cannot read %s\n", path);
        free(b);
        return CTL_EXIT_USAGE;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return CTL_EXIT_OK;
}

/* The bare task code and plan of a TASK argument ("PLAN/TASK" or "TASK" + --plan). */
static const char *bare_task(const char *task, const char **plan, char *pbuf, size_t cap)
{
    const char *slash = strchr(task, '/');
    if (!slash) return task;
    snprintf(pbuf, cap, "%.*s", (int)(slash - task), task);
    *plan = pbuf;
    return slash + 1;
}

int match_cmd_verify(ctl_ctx *c, int argc, char **argv)
{
    match_opts d;
    int rc;
    if (!match_parse(&d, "verify", argc, argv, c, &rc)) {
        arena_destroy(d.a);
        return rc;
    }
    char qbuf[192], pbuf[128];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    const char *plan = d.plan;
    const char *code = bare_task(task, &plan, pbuf, sizeof pbuf);

    /* the run and its forms */
    match_pages pages = {0};
    const Drip__MatchRun *run = NULL;
    const Drip__Form *const *forms = NULL;
    size_t nforms = 0;
    if (d.record) {
        Drip__MatchRun *r = NULL;
        Drip__Form **fv = NULL;
        rc = matchfile_read(d.a, d.record, &r, &fv, &nforms);
        if (rc == CTL_EXIT_OK &&
            (!same_str(r->task_code, code) ||
             (plan && r->plan_code && *r->plan_code && strcmp(r->plan_code, plan) != 0))) {
            fprintf(stderr, "dripctl: %s is the match of task %s (plan %s), not of %s\n", d.record,
                    r->task_code ? r->task_code : "-",
                    r->plan_code && *r->plan_code ? r->plan_code : "-", task);
            rc = CTL_EXIT_USAGE;
        }
        run = r;
        forms = (const Drip__Form *const *)fv;
    } else {
        rc = fetch_forms(c, &d.o, task, NULL, &pages);
        if (rc == CTL_EXIT_OK) {
            run = pages.pages[0]->run;
            forms = pages.forms;
            nforms = pages.nforms;
        }
    }

    /* the pool lines */
    pool_sink s = {0};
    if (rc == CTL_EXIT_OK && d.pool) {
        char *buf = NULL;
        size_t len = 0;
        rc = read_all(d.pool, &buf, &len);
        s.buf = buf;
        s.len = len;
    } else if (rc == CTL_EXIT_OK) {
        rc = svc_match_pool(c, &d.o, task, pool_write, &s);
    }

    /* the draw record, unless fully offline */
    Drip__DrawReply *draw = NULL;
    int offline = d.record && d.pool;
    if (rc == CTL_EXIT_OK && !offline)
        rc = svc_draw_get(c, &d.o, task, run->has_draw_no ? run->draw_no : 0, &draw);

    if (rc == CTL_EXIT_OK) {
        matchverify_input in = {.run = run,
                                .forms = forms,
                                .nforms = nforms,
                                .pool = s.buf ? s.buf : "",
                                .pool_len = s.len,
                                .draw = draw ? draw->record : NULL,
                                .draw_skipped = offline};
        int st = matchverify_run(&in, stdout);
        rc = st == DRIP_OK ? CTL_EXIT_OK : CTL_EXIT_INVALID;
    }
    free(s.buf);
    if (draw) drip__draw_reply__free_unpacked(draw, NULL);
    pages_free(&pages);
    fflush(stdout);
    arena_destroy(d.a);
    return rc;
}
