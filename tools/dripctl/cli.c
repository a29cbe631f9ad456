#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "drip/common.pb-c.h"
#include "drip/planner.pb-c.h"
#include "drip/registry.pb-c.h"
#include "drip/sampler.pb-c.h"
#include "status.h"
#include "vocab.h"

void cli_common_init(cli_common *o, const char *group, const char *verb)
{
    memset(o, 0, sizeof *o);
    o->group = group;
    o->verb = verb;
    o->timeout_ms = CTL_QUERY_TIMEOUT_MS;
    o->retry_for_s = 30;
}

int cli_usage(const cli_common *o, const char *fmt, ...)
{
    fputs("dripctl: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (o->verb)
        fprintf(stderr, "\n(see: dripctl %s %s --help)\n", o->group, o->verb);
    else
        fprintf(stderr, "\n(see: dripctl %s --help)\n", o->group);
    return CTL_EXIT_USAGE;
}

int cli_common_option(cli_common *o, int ch, const char *arg, int *rc)
{
    int64_t v;
    switch (ch) {
    case CLI_O_DEPT:
        o->dept = arg;
        return 1;
    case CLI_O_REGION:
    case CLI_O_DEPT_REGION:
        o->region = arg;
        return 1;
    case CLI_O_TIMEOUT:
        if (ctl_parse_int64(arg, 1, 3600, &v) != DRIP_OK)
            *rc = cli_usage(o, "--timeout must be 1..3600 seconds, not '%s'", arg);
        else
            o->timeout_ms = (int)v * 1000;
        return 1;
    case CLI_O_RETRY:
        if (ctl_parse_int64(arg, 0, 86400, &v) != DRIP_OK)
            *rc = cli_usage(o, "--retry-for must be 0..86400 seconds, not '%s'", arg);
        else
            o->retry_for_s = (int)v;
        return 1;
    case CLI_O_HELP:
        o->help = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_parse(cli_common *o, int argc, char **argv, const struct option *opts,
              int (*fn)(void *arg, int ch, const char *optarg), void *arg)
{
    int ch, rc = CTL_EXIT_OK;
    optind = 0;
    while (rc == CTL_EXIT_OK && !o->help &&
           (ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (cli_common_option(o, ch, optarg, &rc)) continue;
        if (ch == '?' || ch == ':' || !fn)
            rc = cli_usage(o, "bad option");
        else
            rc = fn(arg, ch, optarg);
    }
    return rc;
}

int cli_apply_identity(ctl_ctx *c, const cli_common *o)
{
    if (o->dept) {
        if (!o->region && !c->region_from_env)
            return cli_usage(o,
                             "--dept %s needs --region R / --dept-region R (or DRIP_REGION): the "
                             "department's region is part of the subject",
                             o->dept);
        c->dept = o->dept;
    }
    if (o->region) c->region = o->region;
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------------
 * Request / reply
 * ---------------------------------------------------------------------------------------------- */

static const char *daemon_of(const char *area)
{
    if (strncmp(area, "samp.", 5) == 0) return "drip-sampler";
    if (strncmp(area, "match.", 6) == 0) return "drip-matcher";
    return "drip-planner";
}

/* The ErrorCode (field 2, a varint) of any drip reply, read from the wire without knowing the
 * message type; 0 when absent or unreadable. */
static int wire_error_code(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint64_t key = 0;
        for (int shift = 0; i < len && shift < 64; shift += 7) {
            key |= (uint64_t)(p[i] & 0x7F) << shift;
            if (!(p[i++] & 0x80)) break;
        }
        uint64_t v = 0;
        unsigned wt = (unsigned)(key & 7);
        if (wt == 0 || wt == 2) {
            for (int shift = 0; i < len && shift < 64; shift += 7) {
                v |= (uint64_t)(p[i] & 0x7F) << shift;
                if (!(p[i++] & 0x80)) break;
            }
            if (wt == 0 && (key >> 3) == 2) return (int)v;
            if (wt == 2) {
                if (v > len - i) return 0;
                i += (size_t)v;
            }
        } else if (wt == 1) {
            i += 8;
        } else if (wt == 5) {
            i += 4;
        } else {
            return 0;
        }
    }
    return 0;
}

static int retryable(int rc)
{
    return rc == DRIP_ETIMEOUT || rc == DRIP_ENOTFOUND || rc == DRIP_EIO || rc == DRIP_EINTERNAL;
}

static const char *transport_words(int rc)
{
    switch (rc) {
    case DRIP_ENOTFOUND:
        return "no responders";
    case DRIP_ETIMEOUT:
        return "no reply in time";
    case DRIP_EIO:
        return "connection to NATS lost";
    case DRIP_EINTERNAL:
        return "internal error reported by the daemon";
    default:
        return drip_status_name(rc);
    }
}

static int report_transport(const ctl_ctx *c, const char *subject, const char *daemon, int rc)
{
    switch (rc) {
    case DRIP_ENOTFOUND:
        fprintf(stderr,
                "dripctl: no responders: no daemon serves %s (is %s running and using "
                "DRIP_PREFIX '%s'?)\n",
                subject, daemon, c->prefix);
        return CTL_EXIT_UNREACHABLE;
    case DRIP_ETIMEOUT:
        fprintf(stderr, "dripctl: no reply on %s in time (%s overloaded or stuck?)\n", subject,
                daemon);
        return CTL_EXIT_UNREACHABLE;
    case DRIP_EFORBIDDEN:
        fprintf(stderr, "dripctl: NATS refused %s for this user: %s\n", subject,
                c->bus ? bus_last_error(c->bus) : "permissions violation");
        return CTL_EXIT_REFUSED;
    default:
        fprintf(stderr, "dripctl: request on %s failed (%s): %s\n", subject, drip_status_name(rc),
                c->bus ? bus_last_error(c->bus) : "not connected");
        return CTL_EXIT_UNREACHABLE;
    }
}

int cli_call(ctl_ctx *c, const cli_common *o, const char *area, const char *verb,
             const uint8_t *data, size_t len, void **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    char subject[SUBJECT_MAX];
    if (ctl_subject(c, area, verb, subject) != DRIP_OK) return CTL_EXIT_USAGE;
    if (ctl_connect(c) != DRIP_OK) return CTL_EXIT_UNREACHABLE;
    const char *daemon = daemon_of(area);
    double first_fail = 0, last_note = 0;
    int64_t backoff_ms = 200;
    for (;;) {
        void *rep = NULL;
        size_t rlen = 0;
        int rc = ctl_request(c, subject, data, len, o->timeout_ms, &rep, &rlen);
        if (rc == DRIP_OK && wire_error_code(rep, rlen) == DRIP__ERROR_CODE__ERR_INTERNAL &&
            o->retry_for_s > 0) {
            rc = DRIP_EINTERNAL; /* e.g. a database fail-over: the same msg_id again */
            free(rep);
            rep = NULL;
        }
        if (rc == DRIP_OK) {
            if (last_note > 0)
                fprintf(stderr, "dripctl: %s answered after %.1f s of retries\n", daemon,
                        ctl_now_s() - first_fail);
            *reply = rep;
            *reply_len = rlen;
            return CTL_EXIT_OK;
        }
        if (!retryable(rc)) return report_transport(c, subject, daemon, rc);
        double now = ctl_now_s();
        if (first_fail == 0) first_fail = now;
        double left = o->retry_for_s - (now - first_fail);
        if (left <= 0) {
            if (rc == DRIP_EINTERNAL) {
                fprintf(stderr,
                        "dripctl: %s kept reporting an internal error on %s; try again "
                        "later\n",
                        daemon, subject);
                return CTL_EXIT_REFUSED;
            }
            return report_transport(c, subject, daemon, rc);
        }
        if (last_note == 0 || now - last_note >= 10) {
            fprintf(stderr, "dripctl: %s on %s; resending the same message for up to %.0f s more\n",
                    transport_words(rc), subject, left);
            last_note = now;
        }
        int64_t wait = backoff_ms;
        if ((double)wait > left * 1000) wait = (int64_t)(left * 1000) + 1;
        ctl_sleep_ms(wait);
        backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
    }
}

int cli_undecodable(const char *what, const char *daemon)
{
    fprintf(stderr, "dripctl: the %s could not be decoded (%s speaks another contract?)\n", what,
            daemon);
    return CTL_EXIT_REFUSED;
}

/* ------------------------------------------------------------------------------------------------
 * Value parsers
 * ---------------------------------------------------------------------------------------------- */

int cli_parse_percent(const char *s, uint32_t *ppm)
{
    if (!s) return DRIP_EVALUE;
    uint64_t whole = 0, frac = 0;
    int ndig = 0, nfrac = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++, ndig++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > 100) return DRIP_EVALUE;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
            if (nfrac >= 4) return DRIP_EVALUE; /* finer than one ppm */
            frac = frac * 10 + (uint64_t)(*p - '0');
        }
        if (nfrac == 0) return DRIP_EVALUE;
    }
    if (ndig == 0 || strcmp(p, "%") != 0) return DRIP_EVALUE;
    for (int i = nfrac; i < 4; i++)
        frac *= 10;
    uint64_t v = whole * 10000 + frac;
    if (v == 0 || v > 1000000) return DRIP_EVALUE;
    *ppm = (uint32_t)v;
    return DRIP_OK;
}

void cli_format_percent(uint32_t ppm, char out[16])
{
    unsigned whole = ppm / 10000, frac = ppm % 10000;
    if (frac == 0) {
        snprintf(out, 16, "%u%%", whole);
        return;
    }
    char f[8];
    snprintf(f, sizeof f, "%04u", frac);
    for (int i = 3; i > 0 && f[i] == '0'; i--)
        f[i] = '\0';
    snprintf(out, 16, "%u.%s%%", whole, f);
}

int cli_parse_window(arena *a, const char *s, char **start, char **end)
{
    const char *dots = s ? strstr(s, "..") : NULL;
    if (!dots || dots - s != 10 || strlen(dots + 2) != 10) return DRIP_EVALUE;
    char *b = arena_strndup(a, s, 10), *e = arena_strdup(a, dots + 2);
    int32_t db, de;
    if (codes_date_parse(b, &db, NULL) != DRIP_OK || codes_date_parse(e, &de, NULL) != DRIP_OK ||
        de < db)
        return DRIP_EVALUE;
    *start = b;
    *end = e;
    return DRIP_OK;
}

void cli_split(arena *a, const char *s, const char *seps, char ***v, size_t *n)
{
    size_t add = 1;
    for (const char *p = s; *p; p++)
        if (strchr(seps, *p)) add++;
    char **nv = arena_alloc(a, (*n + add) * sizeof *nv);
    if (*n) memcpy(nv, *v, *n * sizeof *nv);
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '\0' || strchr(seps, *p)) {
            const char *b = start, *e = p;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (e > b) nv[(*n)++] = arena_strndup(a, b, (size_t)(e - b));
            if (!*p) break;
            start = p + 1;
        }
    }
    *v = nv;
}

/* ------------------------------------------------------------------------------------------------
 * Enum words
 * ---------------------------------------------------------------------------------------------- */

int cli_plan_kind_parse(const char *s, int *kind)
{
    static const struct {
        const char *word;
        int v;
    } w[] = {{"joint", DRIP__PLAN_KIND__JOINT},           {"联合", DRIP__PLAN_KIND__JOINT},
             {"部门联合抽查", DRIP__PLAN_KIND__JOINT},    {"JOINT", DRIP__PLAN_KIND__JOINT},
             {"internal", DRIP__PLAN_KIND__INTERNAL},     {"内部", DRIP__PLAN_KIND__INTERNAL},
             {"部门内部抽查", DRIP__PLAN_KIND__INTERNAL}, {"INTERNAL", DRIP__PLAN_KIND__INTERNAL}};
    for (size_t i = 0; s && i < sizeof w / sizeof w[0]; i++)
        if (strcmp(s, w[i].word) == 0) {
            *kind = w[i].v;
            return DRIP_OK;
        }
    return DRIP_EVALUE;
}

const char *cli_plan_kind_name(int kind)
{
    switch (kind) {
    case DRIP__PLAN_KIND__JOINT:
        return "joint";
    case DRIP__PLAN_KIND__INTERNAL:
        return "internal";
    default:
        return NULL;
    }
}

const char *cli_task_state_name(int state)
{
    static const char *const names[] = {NULL,          "draft",      "published",
                                        "drawn",       "confirming", "matched",
                                        "in_progress", "closed",     "cancelled"};
    return state >= 0 && (size_t)state < sizeof names / sizeof names[0] ? names[state] : NULL;
}

const char *cli_decision_name(int d)
{
    static const char *const names[] = {NULL, "pending", "confirmed", "rejected", "overdue"};
    return d >= 0 && (size_t)d < sizeof names / sizeof names[0] ? names[d] : NULL;
}

int cli_credit_parse(const char *s, int *cls)
{
    if (s && strcmp(s, "-") == 0) {
        *cls = DRIP__CREDIT_CLASS__CREDIT_CLASS_UNSPECIFIED;
        return DRIP_OK;
    }
    return vocab_parse(VOCAB_CREDIT_CLASS, s, cls) == DRIP_OK ? DRIP_OK : DRIP_EVALUE;
}

const char *cli_credit_code(int cls)
{
    switch (cls) {
    case DRIP__CREDIT_CLASS__CREDIT_CLASS_UNSPECIFIED:
        return "-";
    case DRIP__CREDIT_CLASS__CLASS_A:
        return "A";
    case DRIP__CREDIT_CLASS__CLASS_B:
        return "B";
    case DRIP__CREDIT_CLASS__CLASS_C:
        return "C";
    case DRIP__CREDIT_CLASS__CLASS_D:
        return "D";
    default:
        return NULL;
    }
}
