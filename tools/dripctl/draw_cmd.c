/* draw_cmd.c — `dripctl draw show|population|verify` (drip-sampler; verification with
 * common/draw.h, the one implementation of drip-draw-v1). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arena.h"
#include "cli.h"
#include "cmds.h"
#include "draw.h"
#include "json.h"
#include "json_parse.h"
#include "planrender.h"
#include "status.h"
#include "svc.h"

static const char show_help[] =
    "dripctl draw show TASK [--plan P] [--draw N] [--json]\n"
    "  Prints the published record of a task's draw (default: the latest): commitment, nonce,\n"
    "  entropy and its source, population digest and size, per stratum the size, quota, ratio and\n"
    "  threshold (the k-th smallest ticket: an enterprise is drawn iff its ticket is not above "
    "its\n"
    "  stratum's threshold), the seed, the drawn list with tickets, replacements, the\n"
    "  departments' decisions and the confirmation deadline. --plan P checks that the record\n"
    "  belongs to plan P. --json prints the full record (the input of `draw verify --record`).\n";

static const char population_help[] =
    "dripctl draw population TASK [--draw N] [-o FILE]\n"
    "  Writes the frozen population of a draw exactly as the sampler hashed it (lines\n"
    "  \"uscc,stratum\\n\" in byte order, all pages) to FILE (default: standard output; FILE is\n"
    "  written as FILE.tmp and renamed when complete). Prints the line count and the SHA-256 of\n"
    "  the bytes (the population digest) on standard error.\n";

static const char verify_help[] =
    "dripctl draw verify TASK [--draw N] [--population FILE] [--record FILE.json] [--plan P]\n"
    "  Recomputes a draw from its published record and population (drip-draw-v1, docs/draw.md):\n"
    "  SHA-256(nonce) = commitment, the population digest and strata sizes, the quotas, the seed,\n"
    "  every ticket, the selection and thresholds per stratum, and the replacements. Prints "
    "VALID,\n"
    "  or INVALID and each difference. The record and population are fetched from drip-sampler\n"
    "  unless given: --record takes a file written by `draw show --json` and --population one\n"
    "  written by `draw population` (with both, no connection is needed — anyone can verify).\n"
    "  Exit 0 when VALID, 6 when not.\n";

void draw_cmd_help(FILE *f, const char *verb)
{
    static const struct {
        const char *verb, *text;
    } h[] = {{"show", show_help}, {"population", population_help}, {"verify", verify_help}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!verb || strcmp(verb, h[i].verb) == 0) {
            fputs(h[i].text, f);
            if (verb) fputs(CLI_COMMON_HELP, f);
            if (!verb) fputc('\n', f);
        }
    if (!verb) fputs(CLI_COMMON_HELP, f);
}

typedef struct {
    cli_common o;
    const char *plan, *out, *population, *record;
    uint32_t draw_no;
    int json;
} draw_opts;

enum { O_PLAN = CLI_O_FIRST, O_DRAW, O_JSON, O_POP, O_RECORD, O_OUT = 'o' };

static int draw_option(void *arg, int ch, const char *v)
{
    draw_opts *d = arg;
    int64_t n;
    switch (ch) {
    case O_PLAN:
        d->plan = v;
        return CTL_EXIT_OK;
    case O_DRAW:
        if (ctl_parse_int64(v, 1, UINT32_MAX, &n) != DRIP_OK)
            return cli_usage(&d->o, "--draw must be a draw number >= 1, not '%s'", v);
        d->draw_no = (uint32_t)n;
        return CTL_EXIT_OK;
    case O_JSON:
        d->json = 1;
        return CTL_EXIT_OK;
    case O_POP:
        d->population = v;
        return CTL_EXIT_OK;
    case O_RECORD:
        d->record = v;
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
// clang-format on

static const struct option draw_opts_table[] = {OPT("plan", required_argument, O_PLAN),
                                                OPT("draw", required_argument, O_DRAW),
                                                OPT("json", no_argument, O_JSON),
                                                OPT("population", required_argument, O_POP),
                                                OPT("record", required_argument, O_RECORD),
                                                OPT("output", required_argument, O_OUT),
                                                CLI_COMMON_OPTIONS,
                                                CLI_REGION_OPTION,
                                                OPT_END};

/* The task argument as the sampler wants it: with --plan P, "P/TASK" (task codes are unique
 * within a plan only). */
static const char *qualified_task(const draw_opts *d, const char *task, char *buf, size_t cap)
{
    if (!d->plan || strchr(task, '/')) return task;
    snprintf(buf, cap, "%s/%s", d->plan, task);
    return buf;
}

/* Options not every verb takes are rejected here rather than in the table. */
static int draw_parse(draw_opts *d, const char *verb, int argc, char **argv, ctl_ctx *c, int *rc)
{
    memset(d, 0, sizeof *d);
    cli_common_init(&d->o, "draw", verb);
    *rc = cli_parse(&d->o, argc, argv, draw_opts_table, draw_option, d);
    if (*rc != CTL_EXIT_OK) return 0;
    if (d->o.help) {
        draw_cmd_help(stdout, verb);
        return 0;
    }
    int show = !strcmp(verb, "show"), pop = !strcmp(verb, "population");
    const char *bad = d->out && !pop                                  ? "-o"
                      : d->json && !show                              ? "--json"
                      : (d->population || d->record) && (show || pop) ? "--population/--record"
                                                                      : NULL;
    if (bad) {
        *rc = cli_usage(&d->o, "draw %s does not take %s", verb, bad);
        return 0;
    }
    if (argc - optind != 1) {
        *rc = cli_usage(&d->o, "expected one TASK code");
        return 0;
    }
    *rc = cli_apply_identity(c, &d->o);
    return *rc == CTL_EXIT_OK;
}

/* The record of the draw; with --plan, it must belong to that plan. */
static int fetch_record(ctl_ctx *c, const draw_opts *d, const char *task, Drip__DrawReply **out)
{
    int rc = svc_draw_get(c, &d->o, task, d->draw_no, out);
    if (rc != CTL_EXIT_OK) return rc;
    const char *pc = (*out)->record->plan_code;
    if (d->plan && pc && *pc && strcmp(pc, d->plan) != 0) {
        fprintf(stderr, "dripctl: not_found: the draw of task %s belongs to plan %s, not %s\n",
                task, pc, d->plan);
        drip__draw_reply__free_unpacked(*out, NULL);
        *out = NULL;
        return CTL_EXIT_NOT_FOUND;
    }
    return CTL_EXIT_OK;
}

int draw_cmd_show(ctl_ctx *c, int argc, char **argv)
{
    draw_opts d;
    int rc;
    if (!draw_parse(&d, "show", argc, argv, c, &rc)) return rc;
    Drip__DrawReply *r = NULL;
    char qbuf[192];
    rc = fetch_record(c, &d, qualified_task(&d, argv[optind], qbuf, sizeof qbuf), &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (d.json) {
        json_writer w;
        json_init(&w, stdout, 1);
        render_draw_json(&w, r->record);
        json_finish(&w);
    } else {
        render_draw_text(stdout, r->record, r->draw_nos, r->n_draw_nos);
    }
    fflush(stdout);
    drip__draw_reply__free_unpacked(r, NULL);
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * population
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    EVP_MD_CTX *md;
    uint64_t lines, bytes;
    int write_error;
} pop_sink;

static int pop_write(const uint8_t *lines, size_t len, void *arg)
{
    pop_sink *s = arg;
    if (fwrite(lines, 1, len, s->f) != len) {
        s->write_error = errno ? errno : EIO;
        fprintf(stderr, "dripctl: cannot write the population: %s\n", strerror(s->write_error));
        return CTL_EXIT_USAGE;
    }
    if (s->md) EVP_DigestUpdate(s->md, lines, len);
    for (size_t i = 0; i < len; i++)
        s->lines += lines[i] == '\n';
    s->bytes += len;
    return CTL_EXIT_OK;
}

/* Fetches all pages of the population of draw `draw_no` into f. */
static int fetch_population(ctl_ctx *c, const cli_common *o, const char *task, uint32_t draw_no,
                            FILE *f, pop_sink *s)
{
    memset(s, 0, sizeof *s);
    s->f = f;
    s->md = EVP_MD_CTX_new();
    if (!s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) abort();
    int rc = svc_population(c, o, task, draw_no, pop_write, s);
    if (rc == CTL_EXIT_OK && fflush(f) != 0) {
        fprintf(stderr, "dripctl: cannot write the population: %s\n", strerror(errno));
        rc = CTL_EXIT_USAGE;
    }
    return rc;
}

static void digest_hex(pop_sink *s, char hex[DRAW_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(s->md, md, &n);
    EVP_MD_CTX_free(s->md);
    s->md = NULL;
    draw_hex(md, 32, hex);
}

int draw_cmd_population(ctl_ctx *c, int argc, char **argv)
{
    draw_opts d;
    int rc;
    if (!draw_parse(&d, "population", argc, argv, c, &rc)) return rc;
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
            return CTL_EXIT_USAGE;
        }
    }
    pop_sink s;
    rc = fetch_population(c, &d.o, task, d.draw_no, f, &s);
    char hex[DRAW_HEX_LEN + 1];
    digest_hex(&s, hex);
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
        fprintf(stderr, "population of %s: %llu lines, %llu bytes, sha256 %s\n", task,
                (unsigned long long)s.lines, (unsigned long long)s.bytes, hex);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * verify: the record as draw.h wants it
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned differences;
} verdict;

static void report(void *arg, const char *what)
{
    verdict *v = arg;
    v->differences++;
    printf("  %s\n", what);
}

static void reportf(verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reportf(verdict *v, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    report(v, line);
}

/* Stratum index of a record's stratum code ("A".."D", "-"), -1 if it is none. */
static int stratum_of(const char *code)
{
    return code && code[0] && !code[1] ? draw_stratum_index(code[0]) : -1;
}

static void record_strata(const Drip__DrawRecord *r, draw_record *out, verdict *v)
{
    for (size_t i = 0; i < r->n_strata; i++) {
        const Drip__StratumRecord *s = r->strata[i];
        int k = stratum_of(s->stratum);
        if (k < 0) {
            reportf(v, "strata[%zu]: unknown stratum '%s' (A, B, C, D or -)", i,
                    s->stratum ? s->stratum : "");
            continue;
        }
        out->sizes[k] = s->size;
        out->quotas[k] = s->quota;
        out->ratio_ppm[k] = s->has_ratio_ppm ? s->ratio_ppm : 0;
        out->thresholds[k] = s->threshold;
    }
}

static const Drip__DrawnTarget *member(const Drip__DrawRecord *r, const char *uscc)
{
    for (size_t i = 0; uscc && i < r->n_selected; i++)
        if (r->selected[i]->uscc && !strcmp(r->selected[i]->uscc, uscc)) return r->selected[i];
    return NULL;
}

/* Replacements in the order made; "no candidate left" entries are checked here (the stratum must
 * really be used up) rather than by draw.h. */
static void record_replacements(arena *a, const Drip__DrawRecord *r, draw_record *out, verdict *v)
{
    draw_record_entry *e = arena_alloc(a, (r->n_replacements + 1) * sizeof *e);
    uint64_t used[DRAW_STRATA] = {0};
    for (size_t i = 0; i < r->n_replacements; i++) {
        const Drip__Replacement *x = r->replacements[i];
        const Drip__DrawnTarget *rej = member(r, x->rejected_uscc);
        int s = rej ? stratum_of(rej->stratum) : -1;
        if (s < 0) {
            reportf(v, "replacements[%zu]: the rejected %s is not in the drawn list", i,
                    x->rejected_uscc ? x->rejected_uscc : "(none)");
            continue;
        }
        if (!x->replacement_uscc || !*x->replacement_uscc) {
            if (out->quotas[s] + used[s] < out->sizes[s])
                reportf(v,
                        "replacements[%zu]: record says stratum %c had no candidate left to "
                        "replace %s, but it has %llu members and only %llu were drawn",
                        i, DRAW_STRATUM_CODES[s], x->rejected_uscc,
                        (unsigned long long)out->sizes[s],
                        (unsigned long long)(out->quotas[s] + used[s]));
            continue;
        }
        used[s]++;
        draw_record_entry *y = &e[out->n_replacements++];
        y->key = x->replacement_uscc;
        y->stratum = DRAW_STRATUM_CODES[s];
        y->ticket = x->ticket;
        y->replaces = x->rejected_uscc;
    }
    out->replacements = e;
}

/* DrawRecord (proto) -> draw_record (draw.h). Problems the conversion itself finds are reported. */
static void to_draw_record(arena *a, const Drip__DrawRecord *r, draw_record *out, verdict *v)
{
    memset(out, 0, sizeof *out);
    out->task_code = r->task_code;
    out->commitment = r->commitment;
    out->nonce = r->nonce;
    out->entropy = r->entropy;
    out->population_digest = r->population_digest;
    out->seed = r->seed;
    out->by_count = r->has_count && r->count > 0;
    out->count = r->count;
    if (r->algorithm && *r->algorithm && strcmp(r->algorithm, "drip-draw-v1") != 0)
        reportf(v, "algorithm: record says %s; this dripctl verifies drip-draw-v1", r->algorithm);
    record_strata(r, out, v);
    draw_record_entry *sel = arena_alloc(a, (r->n_selected + 1) * sizeof *sel);
    for (size_t i = 0; i < r->n_selected; i++) {
        const Drip__DrawnTarget *t = r->selected[i];
        if (t->replaces && *t->replaces) continue; /* a replacement: listed with those */
        int s = stratum_of(t->stratum);
        if (s < 0) {
            reportf(v, "selected[%zu]: %s has an unknown stratum '%s'", i, t->uscc ? t->uscc : "",
                    t->stratum ? t->stratum : "");
            continue;
        }
        draw_record_entry *e = &sel[out->n_selected++];
        e->key = t->uscc;
        e->stratum = DRAW_STRATUM_CODES[s];
        e->ticket = t->ticket;
    }
    out->selected = sel;
    record_replacements(a, r, out, v);
}

/* ------------------------------------------------------------------------------------------------
 * verify: a record from a JSON file (draw show --json)
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    arena *a;
    const char *file;
    int errors;
} rjctx;

static void rjfail(rjctx *j, const jsonp_value *v, const char *what)
{
    fprintf(stderr, "dripctl: %s:%d:%d: %s\n", j->file, v ? v->line : 0, v ? v->col : 0, what);
    j->errors++;
}

static char *rj_str(rjctx *j, const jsonp_value *obj, const char *key)
{
    const jsonp_value *v = jsonp_get(obj, key);
    if (!v || v->type == JSONP_NULL) return NULL;
    if (v->type != JSONP_STRING) {
        char m[128];
        snprintf(m, sizeof m, "%s: expected a string", key);
        rjfail(j, v, m);
        return NULL;
    }
    return arena_strdup(j->a, v->string);
}

static uint64_t rj_uint(rjctx *j, const jsonp_value *obj, const char *key, protobuf_c_boolean *has)
{
    const jsonp_value *v = jsonp_get(obj, key);
    int64_t n = 0;
    if (has) *has = 0;
    if (!v || v->type == JSONP_NULL) return 0;
    if (jsonp_int64(v, 0, INT64_MAX, &n) != DRIP_OK) {
        char m[128];
        snprintf(m, sizeof m, "%s: expected a whole number >= 0", key);
        rjfail(j, v, m);
        return 0;
    }
    if (has) *has = 1;
    return (uint64_t)n;
}

/* The array member `key` (NULL and no error when absent or null). */
static const jsonp_value *rj_array(rjctx *j, const jsonp_value *obj, const char *key)
{
    const jsonp_value *v = jsonp_get(obj, key);
    if (!v || v->type == JSONP_NULL) return NULL;
    if (v->type == JSONP_ARRAY) return v;
    char m[128];
    snprintf(m, sizeof m, "%s: expected an array", key);
    rjfail(j, v, m);
    return NULL;
}

static void rj_strata(rjctx *j, const jsonp_value *root, Drip__DrawRecord *r)
{
    const jsonp_value *arr = rj_array(j, root, "strata");
    if (!arr) return;
    r->strata = arena_alloc(j->a, (arr->n + 1) * sizeof *r->strata);
    for (size_t i = 0; i < arr->n; i++) {
        const jsonp_value *e = arr->items[i];
        Drip__StratumRecord *s = arena_alloc(j->a, sizeof *s);
        drip__stratum_record__init(s);
        s->stratum = rj_str(j, e, "stratum");
        s->size = rj_uint(j, e, "size", &s->has_size);
        s->quota = rj_uint(j, e, "quota", &s->has_quota);
        s->threshold = rj_str(j, e, "threshold");
        s->ratio_ppm = (uint32_t)rj_uint(j, e, "ratio_ppm", &s->has_ratio_ppm);
        r->strata[r->n_strata++] = s;
    }
}

static void rj_selected(rjctx *j, const jsonp_value *root, Drip__DrawRecord *r)
{
    const jsonp_value *arr = rj_array(j, root, "selected");
    if (!arr) return;
    r->selected = arena_alloc(j->a, (arr->n + 1) * sizeof *r->selected);
    for (size_t i = 0; i < arr->n; i++) {
        const jsonp_value *e = arr->items[i];
        Drip__DrawnTarget *t = arena_alloc(j->a, sizeof *t);
        drip__drawn_target__init(t);
        t->uscc = rj_str(j, e, "uscc");
        t->stratum = rj_str(j, e, "stratum");
        t->ticket = rj_str(j, e, "ticket");
        t->rank = (uint32_t)rj_uint(j, e, "rank", &t->has_rank);
        t->replaces = rj_str(j, e, "replaces");
        r->selected[r->n_selected++] = t;
    }
}

static void rj_replacements(rjctx *j, const jsonp_value *root, Drip__DrawRecord *r)
{
    const jsonp_value *arr = rj_array(j, root, "replacements");
    if (!arr) return;
    r->replacements = arena_alloc(j->a, (arr->n + 1) * sizeof *r->replacements);
    for (size_t i = 0; i < arr->n; i++) {
        const jsonp_value *e = arr->items[i];
        Drip__Replacement *x = arena_alloc(j->a, sizeof *x);
        drip__replacement__init(x);
        x->rejected_uscc = rj_str(j, e, "rejected_uscc");
        x->dept = rj_str(j, e, "dept");
        x->reason = rj_str(j, e, "reason");
        x->replacement_uscc = rj_str(j, e, "replacement_uscc");
        x->ticket = rj_str(j, e, "ticket");
        r->replacements[r->n_replacements++] = x;
    }
}

/* Reads a record written by `draw show --json` (unknown keys are ignored: a publisher may add
 * fields). Returns CTL_EXIT_OK or CTL_EXIT_USAGE (printed). */
static int record_from_file(arena *a, const char *path, Drip__DrawRecord **out)
{
    jsonp_doc *d = NULL;
    jsonp_error e;
    if (jsonp_parse_file(path, NULL, &d, &e) != DRIP_OK) {
        if (e.line)
            fprintf(stderr, "dripctl: %s:%s\n", path, e.msg);
        else
            fprintf(stderr, "dripctl: %s\n", e.msg);
        return CTL_EXIT_USAGE;
    }
    rjctx j = {.a = a, .file = path};
    const jsonp_value *root = jsonp_root(d);
    Drip__DrawRecord *r = arena_alloc(a, sizeof *r);
    drip__draw_record__init(r);
    if (root->type != JSONP_OBJECT) {
        rjfail(&j, root, "expected a draw record object (dripctl draw show --json)");
    } else {
        r->task_code = rj_str(&j, root, "task_code");
        r->plan_code = rj_str(&j, root, "plan_code");
        r->draw_no = (uint32_t)rj_uint(&j, root, "draw_no", &r->has_draw_no);
        r->algorithm = rj_str(&j, root, "algorithm");
        r->commitment = rj_str(&j, root, "commitment");
        r->nonce = rj_str(&j, root, "nonce");
        r->entropy = rj_str(&j, root, "entropy");
        r->entropy_source = rj_str(&j, root, "entropy_source");
        r->population_digest = rj_str(&j, root, "population_digest");
        r->population_size = rj_uint(&j, root, "population_size", &r->has_population_size);
        r->seed = rj_str(&j, root, "seed");
        r->count = (uint32_t)rj_uint(&j, root, "count", &r->has_count);
        rj_strata(&j, root, r);
        rj_selected(&j, root, r);
        rj_replacements(&j, root, r);
        if (!r->task_code) rjfail(&j, root, "task_code: missing");
    }
    jsonp_free(d);
    if (j.errors) return CTL_EXIT_USAGE;
    *out = r;
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * verify
 * ---------------------------------------------------------------------------------------------- */

static int run_verify(const Drip__DrawRecord *r, FILE *pop, arena *a)
{
    verdict v = {0};
    draw_record rec;
    printf("verifying draw %u of task %s (plan %s), %s\n", r->draw_no, r->task_code,
           r->plan_code ? r->plan_code : "-", r->algorithm ? r->algorithm : "drip-draw-v1");
    to_draw_record(a, r, &rec, &v);
    if (r->has_population_size) {
        uint64_t total = 0;
        for (int s = 0; s < DRAW_STRATA; s++)
            total += rec.sizes[s];
        if (total != r->population_size)
            reportf(&v, "population_size: record says %llu, its strata add up to %llu",
                    (unsigned long long)r->population_size, (unsigned long long)total);
    }
    int st = draw_verify(&rec, pop, report, &v);
    if (st != DRIP_OK && st != DRIP_EVALUE) {
        fprintf(stderr, "dripctl: verification could not run: %s\n", drip_status_name(st));
        return CTL_EXIT_USAGE;
    }
    if (v.differences == 0 && st == DRIP_OK) {
        printf("VALID\n");
        return CTL_EXIT_OK;
    }
    printf("INVALID (%u difference%s)\n", v.differences, v.differences == 1 ? "" : "s");
    return CTL_EXIT_INVALID;
}

/* The record: from --record, or fetched. *reply holds a fetched one (free it). */
static int get_record(ctl_ctx *c, const draw_opts *d, const char *task, arena *a,
                      const Drip__DrawRecord **rec, Drip__DrawReply **reply)
{
    *reply = NULL;
    if (!d->record) {
        int rc = fetch_record(c, d, task, reply);
        if (rc == CTL_EXIT_OK) *rec = (*reply)->record;
        return rc;
    }
    Drip__DrawRecord *r = NULL;
    int rc = record_from_file(a, d->record, &r);
    if (rc != CTL_EXIT_OK) return rc;
    if (strcmp(r->task_code, task) != 0 || (d->draw_no && r->draw_no != d->draw_no) ||
        (d->plan && r->plan_code && strcmp(r->plan_code, d->plan) != 0)) {
        fprintf(stderr,
                "dripctl: %s is the record of draw %u of task %s (plan %s), not what was "
                "asked for\n",
                d->record, r->draw_no, r->task_code, r->plan_code ? r->plan_code : "-");
        return CTL_EXIT_USAGE;
    }
    *rec = r;
    return CTL_EXIT_OK;
}

int draw_cmd_verify(ctl_ctx *c, int argc, char **argv)
{
    draw_opts d;
    int rc;
    if (!draw_parse(&d, "verify", argc, argv, c, &rc)) return rc;
    char qbuf[192];
    const char *task = qualified_task(&d, argv[optind], qbuf, sizeof qbuf);
    arena *a = arena_create();
    const Drip__DrawRecord *rec = NULL;
    Drip__DrawReply *reply = NULL;
    FILE *pop = NULL;
    rc = get_record(c, &d, task, a, &rec, &reply);
    if (rc == CTL_EXIT_OK && d.population) {
        pop = fopen(d.population, "rb");
        if (!pop) {
            fprintf(stderr, "dripctl: cannot open %s: %s\n", d.population, strerror(errno));
            rc = CTL_EXIT_USAGE;
        }
    } else if (rc == CTL_EXIT_OK) {
        pop = tmpfile();
        if (!pop) {
            fprintf(stderr, "dripctl: cannot create a temporary file: %s\n", strerror(errno));
            rc = CTL_EXIT_USAGE;
        } else {
            pop_sink s;
            rc = fetch_population(c, &d.o, task, rec->draw_no, pop, &s);
            EVP_MD_CTX_free(s.md);
            rewind(pop);
        }
    }
    if (rc == CTL_EXIT_OK) rc = run_verify(rec, pop, a);
    if (pop) fclose(pop);
    if (reply) drip__draw_reply__free_unpacked(reply, NULL);
    arena_destroy(a);
    fflush(stdout);
    return rc;
}
