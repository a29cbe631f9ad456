/* registry_cmd.c — `dripctl registry import|retire|show|count|list`. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cmds.h"
#include "drip/registry.pb-c.h"
#include "envelope.h"
#include "import.h"
#include "json.h"
#include "render.h"
#include "rows.h"
#include "status.h"
#include "vocab.h"

static const char import_help[] =
    "dripctl registry import --kind KIND [options] FILE.csv\n"
    "  Pushes a CSV export into the registry in batches (RegistryBatch on\n"
    "  <prefix>.reg.cmd.PP.CC.DD.DEPT.<target|inspector|item|department|region|calendar>).\n"
    "  --kind region|department|enterprise|inspector|item|calendar\n"
    "  --dept CODE          send as this department (needs --region or DRIP_REGION)\n"
    "  --region R           region of the sending department (default DRIP_REGION or 000000)\n"
    "  --encoding auto|utf8|gb18030   file encoding (default auto: BOM/UTF-8 else GB18030)\n"
    "  --rejects FILE       where rejected rows go (default FILE.rejects.csv)\n"
    "  --batch N            records per batch, 1..1000 (default 1000)\n"
    "  --window W           batches in flight, 1..64 (default 4; regions: always 1, since a\n"
    "                       region's parent may be in an earlier batch)\n"
    "  --retry-for S        keep resending a batch (same msg_id) while the registry does not\n"
    "                       answer, for up to S seconds (default 120)\n"
    "  --timeout S          wait per attempt (default 10)\n"
    "  --progress           progress lines on stderr every second (default: only on a tty)\n"
    "  --strict             exit 3 when any row was rejected\n"
    "  Columns (first line = header, names and order exact; [optional] trailing columns):\n"
    "    region      code,name,level,parent[,custom]\n"
    "                level province|city|county; custom 0|1\n"
    "    department  code,region,name[,active,draws_teams,parent_dept,neighbour_depts]\n"
    "                active 0|1, empty = 1; draws_teams 0|1 (the matcher draws standing teams);\n"
    "                parent_dept, neighbour_depts (';'-separated, in order): department codes,\n"
    "                the matcher's fallback pools when the department is short of inspectors\n"
    "    enterprise  uscc,name,kind,region,industry,ownership,registered_capital,established,\n"
    "                status,credit_class,tags[,project_code,registering_authority,"
    "supervising_depts]\n"
    "                kind enterprise|individual|cooperative|project (企业|个体工商户|农民专业合作社|\n"
    "                生产建设项目); ownership domestic|foreign|hmt|other (内资|外资|港澳台|其他);\n"
    "                registered_capital integer yuan; established YYYY-MM-DD;\n"
    "                status 存续|在业|吊销|注销|迁出|撤销|停业|清算 (or existing|operating|revoked|\n"
    "                deregistered|moved_out|annulled|suspended|liquidating);\n"
    "                credit_class A|B|C|D, empty = not yet classified;\n"
    "                tags, supervising_depts ';'-separated\n"
    "    inspector   id,name,region,cert_no,cert_expiry,qualifications,expert,team,active,recusals\n"
    "                dept = the sending department; qualifications, recusals (USCCs) ';'-separated;\n"
    "                expert 0|1; active 0|1, empty = 1\n"
    "    item        code,name,level,legal_basis,methods,target_kind,required_qualifications\n"
    "                [,experts]\n"
    "                dept = the sending department; level 一般|重点 (general|key); methods\n"
    "                ';'-separated: 现场检查|书面检查|网络检查|抽样检验|委托专业机构核查|信息比对|实地核查\n"
    "                (on_site|documentary|online|sampling|expert_agency|info_comparison|\n"
    "                field_verification); target_kind as for enterprise; experts 0..5: experts\n"
    "                the matcher adds to each form on top of the inspectors per check\n"
    "    calendar    date,name,kind     kind off|workday (休|班); one record per schedule year\n"
    "                (元旦 days dated in December belong to the next year); all years in one\n"
    "                batch; a year with a rejected row is not sent (its rows: year_incomplete)\n"
    "  Rows that cannot be encoded (field count, non-integer capital, unknown word, bad 0|1 flag)\n"
    "  are rejected locally; the registry judges the rest. Rejects file columns:\n"
    "  line,key,error,reason (sorted by line). Summary on stdout:\n"
    "    import KIND FILE: rows=N created=N updated=N unchanged=N retired=N rejected=N\n"
    "    (local=N server=N) seconds=F rows_per_s=N\n"
    "  (rows and rejected count CSV rows; created..retired count records, for calendar: years)\n"
    "  Exit 0 when the import completed (even with rejects), 1 usage or unreadable file,\n"
    "  2 registry not reachable within --retry-for, 3 --strict and rows were rejected.\n";

static const char retire_help[] =
    "dripctl registry retire --kind KIND [--reason TEXT] [--dept CODE --region R] KEY...\n"
    "  Retires (soft-deletes) records; their history stays. KIND as for import (or target).\n"
    "  Keys: targets USCC (projects USCC/PROJECT_CODE), inspectors and items DEPT/ID,\n"
    "  departments and regions their code, calendar the year.\n"
    "  --retry-for S, --timeout S as for import. Exit 3 if any key was rejected.\n";

static const char show_help[] =
    "dripctl registry show KEY [--kind target|inspector|item|department|region|calendar]\n"
    "                      [--as-of TIME]\n"
    "  Prints the record (Change) as JSON. --kind defaults to target.\n"
    "  TIME: YYYY-MM-DD[THH:MM[:SS]] in China Standard Time, or @<unix ms>.\n"
    "  Exit 4 when there is no such record.\n";

static const char count_help[] =
    "dripctl registry count [--kind target|...] [filters] [--as-of TIME] [--json]\n"
    "  Counts records. For targets, all given filters must hold; lists match any value:\n"
    "  --region R,...            region subtrees (130000 = all Hebei)\n"
    "  --target-kind K,...       enterprise|individual|cooperative|project\n"
    "  --status S,...            存续|在业|... (or existing|operating|...)\n"
    "  --credit C,...            A|B|C|D, '-' = not yet classified\n"
    "  --ownership O,...         domestic|foreign|hmt|other\n"
    "  --capital-min N / --capital-max N     registered capital in yuan, inclusive\n"
    "  --established-before D / --established-after D   YYYY-MM-DD, inclusive\n"
    "  --industry C,...          GB/T 4754 prefixes (C, C13, ...)\n"
    "  --tag T                   repeatable; every tag is required\n"
    "  --owner DEPT              owning department\n"
    "  Other kinds: the number of current records.\n";

static const char list_help[] =
    "dripctl registry list --kind department|region|item|inspector|calendar\n"
    "                      [--region R] [--dept D] [--json]\n"
    "  Lists current records, one per line, tab-separated:\n"
    "    region: code level parent name    department: code region name\n"
    "    item: dept code name              inspector: dept id name\n"
    "    calendar: year number-of-listed-days\n"
    "  --region filters regions/departments by subtree, --dept items/inspectors.\n"
    "  --json prints each record as one JSON line instead.\n";

void registry_cmd_help(FILE *f, const char *verb)
{
    static const struct {
        const char *verb, *text;
    } h[] = {{"import", import_help}, {"retire", retire_help}, {"show", show_help},
             {"count", count_help},   {"list", list_help}};
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (!verb || strcmp(verb, h[i].verb) == 0) {
            fputs(h[i].text, f);
            if (!verb) fputc('\n', f);
        }
}

static int usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(const char *verb, const char *fmt, ...)
{
    fputs("dripctl: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see: dripctl registry %s --help)\n", verb);
    return CTL_EXIT_USAGE;
}

/* --kind word -> record kind ("enterprise" and "target" both mean targets). */
static int parse_kind(const char *s, Drip__RecordKind *kind)
{
    int v;
    if (vocab_parse(VOCAB_RECORD_KIND, s, &v) != DRIP_OK) return DRIP_EENUM;
    *kind = (Drip__RecordKind)v;
    return DRIP_OK;
}

/* Applies --dept/--region to the identity. */
static int apply_identity(ctl_ctx *c, const char *verb, const char *dept, const char *region)
{
    if (dept) {
        if (!region && !c->region_from_env)
            return usage(verb, "--dept %s needs --region R (or DRIP_REGION): the department's "
                               "region is part of the subject",
                         dept);
        c->dept = dept;
    }
    if (region) c->region = region;
    return CTL_EXIT_OK;
}

static int parse_seconds(const char *verb, const char *opt, const char *s, int64_t min,
                         int64_t max, int *out)
{
    int64_t v;
    if (ctl_parse_int64(s, min, max, &v) != DRIP_OK)
        return usage(verb, "%s must be %lld..%lld seconds, not '%s'", opt, (long long)min,
                     (long long)max, s);
    *out = (int)v;
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * import
 * ---------------------------------------------------------------------------------------------- */

int registry_cmd_import(ctl_ctx *c, int argc, char **argv)
{
    enum { O_KIND = 1, O_DEPT, O_REGION, O_ENC, O_REJ, O_BATCH, O_WINDOW, O_STRICT, O_RETRY,
           O_TIMEOUT, O_PROGRESS, O_HELP };
    static const struct option opts[] = {
        {"kind", required_argument, NULL, O_KIND},     {"dept", required_argument, NULL, O_DEPT},
        {"region", required_argument, NULL, O_REGION}, {"encoding", required_argument, NULL, O_ENC},
        {"rejects", required_argument, NULL, O_REJ},   {"batch", required_argument, NULL, O_BATCH},
        {"window", required_argument, NULL, O_WINDOW}, {"strict", no_argument, NULL, O_STRICT},
        {"retry-for", required_argument, NULL, O_RETRY},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"progress", no_argument, NULL, O_PROGRESS},   {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    import_options o = {.encoding = CSV_ENC_AUTO,
                        .batch = IMPORT_BATCH_MAX,
                        .window = 4,
                        .max_payload = 4194304,
                        .send = {.retry_for_s = 120, .timeout_ms = 10000}};
    const char *dept = NULL, *region = NULL;
    int64_t v;
    int secs = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_KIND: o.kind = optarg; break;
        case O_DEPT: dept = optarg; break;
        case O_REGION: region = optarg; break;
        case O_ENC:
            if (strcmp(optarg, "auto") == 0)
                o.encoding = CSV_ENC_AUTO;
            else if (strcmp(optarg, "utf8") == 0 || strcmp(optarg, "utf-8") == 0)
                o.encoding = CSV_ENC_UTF8;
            else if (strcmp(optarg, "gb18030") == 0 || strcmp(optarg, "gbk") == 0)
                o.encoding = CSV_ENC_GB18030;
            else
                return usage("import", "--encoding must be auto|utf8|gb18030, not '%s'", optarg);
            break;
        case O_REJ: o.rejects_path = optarg; break;
        case O_BATCH:
            if (ctl_parse_int64(optarg, 1, IMPORT_BATCH_MAX, &v) != DRIP_OK)
                return usage("import", "--batch must be 1..1000, not '%s'", optarg);
            o.batch = (int)v;
            break;
        case O_WINDOW:
            if (ctl_parse_int64(optarg, 1, IMPORT_WINDOW_MAX, &v) != DRIP_OK)
                return usage("import", "--window must be 1..64, not '%s'", optarg);
            o.window = (int)v;
            break;
        case O_STRICT: o.strict = 1; break;
        case O_RETRY:
            if (parse_seconds("import", "--retry-for", optarg, 0, 86400, &secs) != CTL_EXIT_OK)
                return CTL_EXIT_USAGE;
            o.send.retry_for_s = secs;
            break;
        case O_TIMEOUT:
            if (parse_seconds("import", "--timeout", optarg, 1, 3600, &secs) != CTL_EXIT_OK)
                return CTL_EXIT_USAGE;
            o.send.timeout_ms = secs * 1000;
            break;
        case O_PROGRESS: o.progress = 1; break;
        case O_HELP: registry_cmd_help(stdout, "import"); return CTL_EXIT_OK;
        default: return usage("import", "bad option");
        }
    }
    if (!o.kind) return usage("import", "--kind is required");
    if (!rows_format_find(o.kind))
        return usage("import",
                     "--kind must be region|department|enterprise|inspector|item|calendar, "
                     "not '%s'",
                     o.kind);
    if (optind + 1 != argc) return usage("import", "exactly one FILE.csv expected");
    o.path = argv[optind];
    const char *mp = getenv("DRIP_MAX_PAYLOAD");
    if (mp && *mp) {
        if (ctl_parse_int64(mp, 65536, INT32_MAX, &v) != DRIP_OK)
            return usage("import", "DRIP_MAX_PAYLOAD must be 65536.. bytes, not '%s'", mp);
        o.max_payload = v;
    }
    int rc = apply_identity(c, "import", dept, region);
    if (rc != CTL_EXIT_OK) return rc;
    return import_run(c, &o);
}

/* ------------------------------------------------------------------------------------------------
 * retire
 * ---------------------------------------------------------------------------------------------- */

int registry_cmd_retire(ctl_ctx *c, int argc, char **argv)
{
    enum { O_KIND = 1, O_REASON, O_DEPT, O_REGION, O_RETRY, O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        {"kind", required_argument, NULL, O_KIND},     {"reason", required_argument, NULL, O_REASON},
        {"dept", required_argument, NULL, O_DEPT},     {"region", required_argument, NULL, O_REGION},
        {"retry-for", required_argument, NULL, O_RETRY},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, O_HELP},           {NULL, 0, NULL, 0}};
    const char *kind_word = NULL, *reason = NULL, *dept = NULL, *region = NULL;
    send_policy pol = {.retry_for_s = 120, .timeout_ms = 10000};
    int secs = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_KIND: kind_word = optarg; break;
        case O_REASON: reason = optarg; break;
        case O_DEPT: dept = optarg; break;
        case O_REGION: region = optarg; break;
        case O_RETRY:
            if (parse_seconds("retire", "--retry-for", optarg, 0, 86400, &secs) != CTL_EXIT_OK)
                return CTL_EXIT_USAGE;
            pol.retry_for_s = secs;
            break;
        case O_TIMEOUT:
            if (parse_seconds("retire", "--timeout", optarg, 1, 3600, &secs) != CTL_EXIT_OK)
                return CTL_EXIT_USAGE;
            pol.timeout_ms = secs * 1000;
            break;
        case O_HELP: registry_cmd_help(stdout, "retire"); return CTL_EXIT_OK;
        default: return usage("retire", "bad option");
        }
    }
    const rows_format *f = rows_format_find(kind_word);
    if (!f)
        return usage("retire", "--kind must be region|department|enterprise|inspector|item|"
                               "calendar, not '%s'",
                     kind_word);
    if (optind >= argc) return usage("retire", "at least one KEY expected");
    int rc = apply_identity(c, "retire", dept, region);
    if (rc != CTL_EXIT_OK) return rc;
    char subject[SUBJECT_MAX];
    if (ctl_subject(c, "reg.cmd", f->subject_last, subject) != DRIP_OK) return CTL_EXIT_USAGE;
    if (ctl_connect(c) != DRIP_OK) return CTL_EXIT_UNREACHABLE;

    long retired = 0, unchanged = 0, rejected = 0, other = 0;
    int exit_status = CTL_EXIT_OK;
    for (int start = optind; start < argc; start += IMPORT_BATCH_MAX) {
        int n = argc - start < IMPORT_BATCH_MAX ? argc - start : IMPORT_BATCH_MAX;
        Drip__Retirement *rs = calloc((size_t)n, sizeof *rs);
        Drip__Retirement **rp = calloc((size_t)n, sizeof *rp);
        if (!rs || !rp) abort();
        for (int i = 0; i < n; i++) {
            drip__retirement__init(&rs[i]);
            rs[i].key = argv[start + i];
            rs[i].reason = (char *)reason;
            rp[i] = &rs[i];
        }
        char msg_id[37];
        envelope_new_id(msg_id);
        Drip__Envelope env;
        envelope_fill(&env, msg_id, NULL, c->dept, c->region);
        Drip__RegistryBatch b = DRIP__REGISTRY_BATCH__INIT;
        b.header = &env;
        b.retirements = rp;
        b.n_retirements = (size_t)n;
        size_t len = drip__registry_batch__get_packed_size(&b);
        uint8_t *data = malloc(len ? len : 1);
        if (!data) abort();
        drip__registry_batch__pack(&b, data);
        char label[64];
        snprintf(label, sizeof label, "retire batch %d", (start - optind) / IMPORT_BATCH_MAX + 1);
        Drip__BatchReply *r = NULL;
        int st = import_send_batch(c, subject, data, len, msg_id, label, &pol, NULL, &r);
        free(data);
        if (st != DRIP_OK) {
            free(rs);
            free(rp);
            if (st == DRIP_EBADMSG) {
                fprintf(stderr, "dripctl: the reply on %s could not be decoded\n", subject);
                return CTL_EXIT_REFUSED;
            }
            return ctl_report_transport(c, subject, st);
        }
        if (r->has_error && r->error != DRIP__ERROR_CODE__OK) {
            rc = ctl_report_reply_error(r->error, r->error_message);
            drip__batch_reply__free_unpacked(r, NULL);
            free(rs);
            free(rp);
            return rc;
        }
        for (size_t k = 0; k < r->n_results; k++) {
            const Drip__RecordResult *res = r->results[k];
            size_t i = res->has_index ? res->index : k;
            const char *key = (res->key && *res->key) ? res->key
                              : i < (size_t)n         ? rs[i].key
                                                      : "?";
            switch (res->has_outcome ? res->outcome : DRIP__OUTCOME__OUTCOME_UNSPECIFIED) {
            case DRIP__OUTCOME__RETIRED: retired++; break;
            case DRIP__OUTCOME__UNCHANGED: unchanged++; break;
            case DRIP__OUTCOME__REJECTED:
                rejected++;
                fprintf(stderr, "dripctl: %s: %s: %s\n", key,
                        res->has_error ? drip_status_name(-(int)res->error) : "rejected",
                        res->reason ? res->reason : "");
                break;
            default: other++; break;
            }
        }
        drip__batch_reply__free_unpacked(r, NULL);
        free(rs);
        free(rp);
    }
    printf("retire %s: keys=%d retired=%ld unchanged=%ld rejected=%ld\n", kind_word, argc - optind,
           retired, unchanged, rejected);
    if (other) fprintf(stderr, "dripctl: %ld results with an unexpected outcome\n", other);
    if (rejected > 0) exit_status = CTL_EXIT_REJECTED;
    return exit_status;
}

/* ------------------------------------------------------------------------------------------------
 * show
 * ---------------------------------------------------------------------------------------------- */

/* Sends a packed query on reg.qry.<verb>; returns CTL_EXIT_OK with the raw reply or an exit
 * status after reporting. */
static int query(ctl_ctx *c, const char *verb, const uint8_t *data, size_t len, void **reply,
                 size_t *reply_len)
{
    char subject[SUBJECT_MAX];
    if (ctl_subject(c, "reg.qry", verb, subject) != DRIP_OK) return CTL_EXIT_USAGE;
    if (ctl_connect(c) != DRIP_OK) return CTL_EXIT_UNREACHABLE;
    int rc = ctl_request(c, subject, data, len, CTL_QUERY_TIMEOUT_MS, reply, reply_len);
    if (rc != DRIP_OK) return ctl_report_transport(c, subject, rc);
    return CTL_EXIT_OK;
}

static int undecodable(const char *what)
{
    fprintf(stderr, "dripctl: the %s could not be decoded (registry speaks another contract?)\n",
            what);
    return CTL_EXIT_REFUSED;
}

int registry_cmd_show(ctl_ctx *c, int argc, char **argv)
{
    enum { O_KIND = 1, O_ASOF, O_HELP };
    static const struct option opts[] = {{"kind", required_argument, NULL, O_KIND},
                                         {"as-of", required_argument, NULL, O_ASOF},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    Drip__RecordKind kind = DRIP__RECORD_KIND__KIND_TARGET;
    int64_t as_of = 0;
    int has_as_of = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_KIND:
            if (parse_kind(optarg, &kind) != DRIP_OK)
                return usage("show", "--kind must be target|inspector|item|department|region|"
                                     "calendar, not '%s'",
                             optarg);
            break;
        case O_ASOF:
            if (ctl_parse_time(optarg, &as_of) != DRIP_OK)
                return usage("show", "--as-of must be YYYY-MM-DD[THH:MM[:SS]] (CST) or @<unix ms>, "
                                     "not '%s'",
                             optarg);
            has_as_of = 1;
            break;
        case O_HELP: registry_cmd_help(stdout, "show"); return CTL_EXIT_OK;
        default: return usage("show", "bad option");
        }
    }
    if (optind + 1 != argc) return usage("show", "exactly one KEY expected");

    char msg_id[37];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    Drip__GetRequest req = DRIP__GET_REQUEST__INIT;
    req.header = &env;
    req.has_kind = 1;
    req.kind = kind;
    req.key = argv[optind];
    req.has_as_of_ms = has_as_of;
    req.as_of_ms = as_of;
    size_t len = drip__get_request__get_packed_size(&req);
    uint8_t *data = malloc(len ? len : 1);
    if (!data) abort();
    drip__get_request__pack(&req, data);
    void *raw = NULL;
    size_t raw_len = 0;
    int rc = query(c, "get", data, len, &raw, &raw_len);
    free(data);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__GetReply *r = drip__get_reply__unpack(NULL, raw_len, raw);
    free(raw);
    if (!r) return undecodable("GetReply");
    if (r->has_error && r->error != DRIP__ERROR_CODE__OK) {
        rc = ctl_report_reply_error(r->error, r->error_message);
    } else if (!r->record) {
        fprintf(stderr, "dripctl: not_found: no %s '%s'\n", vocab_name(VOCAB_RECORD_KIND, kind),
                argv[optind]);
        rc = CTL_EXIT_NOT_FOUND;
    } else {
        json_writer w;
        json_init(&w, stdout, 1);
        render_change(&w, r->record);
        json_finish(&w);
        rc = CTL_EXIT_OK;
    }
    drip__get_reply__free_unpacked(r, NULL);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * count
 * ---------------------------------------------------------------------------------------------- */

/* Appends the comma-separated items of s (trimmed, non-empty) to a growing arena array. */
static void list_add(arena *a, char ***v, size_t *n, const char *s)
{
    size_t add = 1;
    for (const char *p = s; *p; p++)
        if (*p == ',') add++;
    char **nv = arena_alloc(a, (*n + add) * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || *p == '\0') {
            const char *b = start, *e = p;
            while (b < e && (*b == ' ' || *b == '\t')) b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
            if (e > b) nv[(*n)++] = arena_strndup(a, b, (size_t)(e - b));
            if (!*p) break;
            start = p + 1;
        }
    }
    *v = nv;
}

/* Parses the enum words of a comma list into an arena array of enum values. */
static int enum_list(arena *a, vocab_table t, const char *s, int **out, size_t *n,
                     const char *opt)
{
    char **words = NULL;
    size_t nw = 0;
    list_add(a, &words, &nw, s);
    int *nv = arena_alloc(a, (*n + nw + 1) * sizeof *nv);
    if (*n) memcpy(nv, *out, *n * sizeof *nv);
    for (size_t i = 0; i < nw; i++) {
        int v;
        if (t == VOCAB_CREDIT_CLASS && strcmp(words[i], "-") == 0) {
            v = 0; /* the stratum name of "not yet classified" */
        } else if (vocab_parse(t, words[i], &v) != DRIP_OK) {
            fprintf(stderr, "dripctl: %s: unknown %s '%s' (expected %s)\n", opt,
                    vocab_table_name(t), words[i], vocab_describe(t));
            return CTL_EXIT_USAGE;
        }
        nv[(*n)++] = v;
    }
    *out = nv;
    return CTL_EXIT_OK;
}

int registry_cmd_count(ctl_ctx *c, int argc, char **argv)
{
    enum { O_KIND = 1, O_REGION, O_TKIND, O_STATUS, O_CREDIT, O_OWN, O_CMIN, O_CMAX, O_EBEFORE,
           O_EAFTER, O_INDUSTRY, O_TAG, O_OWNER, O_ASOF, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"kind", required_argument, NULL, O_KIND},
        {"region", required_argument, NULL, O_REGION},
        {"target-kind", required_argument, NULL, O_TKIND},
        {"status", required_argument, NULL, O_STATUS},
        {"credit", required_argument, NULL, O_CREDIT},
        {"ownership", required_argument, NULL, O_OWN},
        {"capital-min", required_argument, NULL, O_CMIN},
        {"capital-max", required_argument, NULL, O_CMAX},
        {"established-before", required_argument, NULL, O_EBEFORE},
        {"established-after", required_argument, NULL, O_EAFTER},
        {"industry", required_argument, NULL, O_INDUSTRY},
        {"tag", required_argument, NULL, O_TAG},
        {"owner", required_argument, NULL, O_OWNER},
        {"as-of", required_argument, NULL, O_ASOF},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    Drip__RecordKind kind = DRIP__RECORD_KIND__KIND_TARGET;
    Drip__TargetFilter flt = DRIP__TARGET_FILTER__INIT;
    int filtered = 0, json = 0, has_as_of = 0, ch, rc = CTL_EXIT_OK;
    int64_t as_of = 0, v;
    arena *a = arena_create();
    /* enum lists are collected as int arrays, then narrowed to the proto enum types */
    int *kinds = NULL, *statuses = NULL, *credits = NULL, *owns = NULL;
    size_t nkinds = 0, nstatuses = 0, ncredits = 0, nowns = 0;
    optind = 0;
    while (rc == CTL_EXIT_OK && (ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != O_KIND && ch != O_ASOF && ch != O_JSON && ch != O_HELP && ch != '?') filtered = 1;
        switch (ch) {
        case O_KIND:
            if (parse_kind(optarg, &kind) != DRIP_OK)
                rc = usage("count", "--kind must be target|inspector|item|department|region|"
                                    "calendar, not '%s'",
                           optarg);
            break;
        case O_REGION: list_add(a, &flt.regions, &flt.n_regions, optarg); break;
        case O_TKIND: rc = enum_list(a, VOCAB_TARGET_KIND, optarg, &kinds, &nkinds, "--target-kind"); break;
        case O_STATUS: rc = enum_list(a, VOCAB_TARGET_STATUS, optarg, &statuses, &nstatuses, "--status"); break;
        case O_CREDIT: rc = enum_list(a, VOCAB_CREDIT_CLASS, optarg, &credits, &ncredits, "--credit"); break;
        case O_OWN: rc = enum_list(a, VOCAB_OWNERSHIP, optarg, &owns, &nowns, "--ownership"); break;
        case O_CMIN:
        case O_CMAX:
            if (ctl_parse_int64(optarg, 0, INT64_MAX, &v) != DRIP_OK) {
                rc = usage("count", "capital must be a whole number of yuan, not '%s'", optarg);
            } else if (ch == O_CMIN) {
                flt.has_capital_min = 1;
                flt.capital_min = v;
            } else {
                flt.has_capital_max = 1;
                flt.capital_max = v;
            }
            break;
        case O_EBEFORE: flt.established_before = optarg; break;
        case O_EAFTER: flt.established_after = optarg; break;
        case O_INDUSTRY: list_add(a, &flt.industries, &flt.n_industries, optarg); break;
        case O_TAG: list_add(a, &flt.tags_all, &flt.n_tags_all, optarg); break;
        case O_OWNER: flt.owner = optarg; break;
        case O_ASOF:
            if (ctl_parse_time(optarg, &as_of) != DRIP_OK)
                rc = usage("count", "--as-of must be YYYY-MM-DD[THH:MM[:SS]] (CST) or @<unix ms>, "
                                    "not '%s'",
                           optarg);
            has_as_of = 1;
            break;
        case O_JSON: json = 1; break;
        case O_HELP:
            registry_cmd_help(stdout, "count");
            arena_destroy(a);
            return CTL_EXIT_OK;
        default: rc = usage("count", "bad option"); break;
        }
    }
    if (rc == CTL_EXIT_OK && optind != argc) rc = usage("count", "unexpected argument '%s'", argv[optind]);
    if (rc == CTL_EXIT_OK && filtered && kind != DRIP__RECORD_KIND__KIND_TARGET)
        rc = usage("count", "filters apply to --kind target only");
    if (rc != CTL_EXIT_OK) {
        arena_destroy(a);
        return rc;
    }
    /* the proto enum arrays (enums are int-sized in protobuf-c, but do not rely on it) */
    flt.kinds = arena_alloc(a, (nkinds + 1) * sizeof *flt.kinds);
    for (size_t i = 0; i < nkinds; i++) flt.kinds[i] = (Drip__TargetKind)kinds[i];
    flt.n_kinds = nkinds;
    flt.statuses = arena_alloc(a, (nstatuses + 1) * sizeof *flt.statuses);
    for (size_t i = 0; i < nstatuses; i++) flt.statuses[i] = (Drip__TargetStatus)statuses[i];
    flt.n_statuses = nstatuses;
    flt.credit_classes = arena_alloc(a, (ncredits + 1) * sizeof *flt.credit_classes);
    for (size_t i = 0; i < ncredits; i++) flt.credit_classes[i] = (Drip__CreditClass)credits[i];
    flt.n_credit_classes = ncredits;
    flt.ownerships = arena_alloc(a, (nowns + 1) * sizeof *flt.ownerships);
    for (size_t i = 0; i < nowns; i++) flt.ownerships[i] = (Drip__Ownership)owns[i];
    flt.n_ownerships = nowns;

    char msg_id[37];
    envelope_new_id(msg_id);
    Drip__Envelope env;
    envelope_fill(&env, msg_id, NULL, c->dept, c->region);
    Drip__CountRequest req = DRIP__COUNT_REQUEST__INIT;
    req.header = &env;
    req.has_kind = 1;
    req.kind = kind;
    req.filter = filtered ? &flt : NULL;
    req.has_as_of_ms = has_as_of;
    req.as_of_ms = as_of;
    size_t len = drip__count_request__get_packed_size(&req);
    uint8_t *data = arena_alloc(a, len ? len : 1);
    drip__count_request__pack(&req, data);
    void *raw = NULL;
    size_t raw_len = 0;
    rc = query(c, "count", data, len, &raw, &raw_len);
    arena_destroy(a);
    if (rc != CTL_EXIT_OK) return rc;
    Drip__CountReply *r = drip__count_reply__unpack(NULL, raw_len, raw);
    free(raw);
    if (!r) return undecodable("CountReply");
    if (r->has_error && r->error != DRIP__ERROR_CODE__OK) {
        rc = ctl_report_reply_error(r->error, r->error_message);
    } else if (json) {
        printf("{\"count\":%llu}\n", (unsigned long long)r->count);
    } else {
        printf("%llu\n", (unsigned long long)r->count);
    }
    drip__count_reply__free_unpacked(r, NULL);
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * list
 * ---------------------------------------------------------------------------------------------- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void print_tsv(const Drip__Change *ch)
{
    if (ch->region) {
        const Drip__Region *r = ch->region;
        const char *lv = r->has_level ? vocab_name(VOCAB_REGION_LEVEL, r->level) : NULL;
        printf("%s\t%s\t%s\t%s\n", or_empty(r->code), or_empty(lv), or_empty(r->parent),
               or_empty(r->name));
    } else if (ch->department) {
        const Drip__Department *d = ch->department;
        printf("%s\t%s\t%s\n", or_empty(d->code), or_empty(d->region), or_empty(d->name));
    } else if (ch->item) {
        printf("%s\t%s\t%s\n", or_empty(ch->item->dept), or_empty(ch->item->code),
               or_empty(ch->item->name));
    } else if (ch->inspector) {
        printf("%s\t%s\t%s\n", or_empty(ch->inspector->dept), or_empty(ch->inspector->id),
               or_empty(ch->inspector->name));
    } else if (ch->calendar_year) {
        printf("%u\t%zu\n", ch->calendar_year->year, ch->calendar_year->n_days);
    } else {
        printf("%s\n", or_empty(ch->key)); /* a retired record carries no body */
    }
}

int registry_cmd_list(ctl_ctx *c, int argc, char **argv)
{
    enum { O_KIND = 1, O_REGION, O_DEPT, O_JSON, O_HELP };
    static const struct option opts[] = {{"kind", required_argument, NULL, O_KIND},
                                         {"region", required_argument, NULL, O_REGION},
                                         {"dept", required_argument, NULL, O_DEPT},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"help", no_argument, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    Drip__RecordKind kind = DRIP__RECORD_KIND__RECORD_KIND_UNSPECIFIED;
    const char *region = NULL, *dept = NULL;
    int json = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case O_KIND:
            if (parse_kind(optarg, &kind) != DRIP_OK || kind == DRIP__RECORD_KIND__KIND_TARGET)
                return usage("list", "--kind must be department|region|item|inspector|calendar, "
                                     "not '%s'",
                             optarg);
            break;
        case O_REGION: region = optarg; break;
        case O_DEPT: dept = optarg; break;
        case O_JSON: json = 1; break;
        case O_HELP: registry_cmd_help(stdout, "list"); return CTL_EXIT_OK;
        default: return usage("list", "bad option");
        }
    }
    if (kind == DRIP__RECORD_KIND__RECORD_KIND_UNSPECIFIED)
        return usage("list", "--kind is required");
    if (optind != argc) return usage("list", "unexpected argument '%s'", argv[optind]);

    char *after = NULL; /* malloc'd copy of the previous page's next_key */
    int rc = CTL_EXIT_OK;
    for (;;) {
        char msg_id[37];
        envelope_new_id(msg_id);
        Drip__Envelope env;
        envelope_fill(&env, msg_id, NULL, c->dept, c->region);
        Drip__ListRequest req = DRIP__LIST_REQUEST__INIT;
        req.header = &env;
        req.has_kind = 1;
        req.kind = kind;
        req.region = (char *)region;
        req.dept = (char *)dept;
        req.after_key = after;
        req.has_limit = 1;
        req.limit = 1000;
        size_t len = drip__list_request__get_packed_size(&req);
        uint8_t *data = malloc(len ? len : 1);
        if (!data) abort();
        drip__list_request__pack(&req, data);
        void *raw = NULL;
        size_t raw_len = 0;
        rc = query(c, "list", data, len, &raw, &raw_len);
        free(data);
        if (rc != CTL_EXIT_OK) break;
        Drip__ListReply *r = drip__list_reply__unpack(NULL, raw_len, raw);
        free(raw);
        if (!r) {
            rc = undecodable("ListReply");
            break;
        }
        if (r->has_error && r->error != DRIP__ERROR_CODE__OK) {
            rc = ctl_report_reply_error(r->error, r->error_message);
            drip__list_reply__free_unpacked(r, NULL);
            break;
        }
        for (size_t i = 0; i < r->n_records; i++) {
            if (json) {
                json_writer w;
                json_init(&w, stdout, 0);
                render_change(&w, r->records[i]);
                json_finish(&w);
            } else {
                print_tsv(r->records[i]);
            }
        }
        int more = r->next_key && *r->next_key;
        /* a server that hands back the same cursor would loop forever */
        if (more && after && strcmp(after, r->next_key) == 0) {
            fprintf(stderr, "dripctl: registry returned the same page cursor twice; stopping\n");
            rc = CTL_EXIT_REFUSED;
            more = 0;
        }
        if (more) {
            free(after);
            after = strdup(r->next_key);
            if (!after) abort();
        }
        drip__list_reply__free_unpacked(r, NULL);
        if (!more) break;
    }
    free(after);
    fflush(stdout);
    return rc;
}
