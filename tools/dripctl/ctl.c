#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codes.h"
#include "drip/common.pb-c.h"
#include "status.h"

/* Value of an environment variable, or dflt when unset or empty. */
static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v && *v) ? v : dflt;
}

void ctl_ctx_load(ctl_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->url = env_or("DRIP_NATS_URL", "nats://127.0.0.1:14222");
    c->user = env_or("DRIP_NATS_USER", NULL);
    c->pass = env_or("DRIP_NATS_PASSWORD", NULL);
    c->prefix = env_or("DRIP_PREFIX", "drip");
    c->dept = env_or("DRIP_DEPT", "OPS");
    c->region = env_or("DRIP_REGION", NULL);
    c->region_from_env = c->region != NULL;
    if (!c->region) c->region = "000000";
}

int ctl_connect(ctl_ctx *c)
{
    if (c->bus) return DRIP_OK;
    bus_options o = {.url = c->url, .user = c->user, .pass = c->pass, .name = "dripctl"};
    bus *b = NULL;
    int rc = bus_create(&b, NULL, &o);
    if (rc != DRIP_OK) {
        fprintf(stderr, "dripctl: cannot connect to NATS at %s (%s)%s\n", c->url,
                drip_status_name(rc),
                c->user ? "" : "; set DRIP_NATS_USER/DRIP_NATS_PASSWORD if the server needs auth");
        if (b) bus_destroy(b);
        return DRIP_EIO;
    }
    c->bus = b;
    return DRIP_OK;
}

void ctl_disconnect(ctl_ctx *c)
{
    if (c->bus) bus_destroy(c->bus);
    c->bus = NULL;
}

int ctl_subject(const ctl_ctx *c, const char *area, const char *last, char out[SUBJECT_MAX])
{
    int rc = subject_build(out, SUBJECT_MAX, c->prefix, area, c->region, c->dept, last);
    if (rc != DRIP_OK)
        fprintf(stderr,
                "dripctl: cannot build a subject from DRIP_PREFIX '%s', region '%s' and department "
                "'%s' (region must be 6 digits, department a code like 130110SCJ)\n",
                c->prefix, c->region, c->dept);
    return rc;
}

int ctl_request(ctl_ctx *c, const char *subject, const void *data, size_t len, int timeout_ms,
                void **reply, size_t *reply_len)
{
    *reply = NULL;
    *reply_len = 0;
    if (!c->bus) return DRIP_EIO;
    return bus_request(c->bus, subject, data, len, timeout_ms, reply, reply_len);
}

int ctl_report_transport(const ctl_ctx *c, const char *subject, int rc)
{
    switch (rc) {
    case DRIP_ENOTFOUND:
        fprintf(stderr,
                "dripctl: no responders: no daemon serves %s (is drip-registry running and using "
                "DRIP_PREFIX '%s'?)\n",
                subject, c->prefix);
        return CTL_EXIT_UNREACHABLE;
    case DRIP_ETIMEOUT:
        fprintf(stderr, "dripctl: no reply on %s in time (daemon overloaded or stuck?)\n", subject);
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

int ctl_report_reply_error(int error_code, const char *message)
{
    fprintf(stderr, "dripctl: %s: %s\n", drip_status_name(-error_code),
            (message && *message) ? message : "(no message)");
    return error_code == DRIP__ERROR_CODE__ERR_NOT_FOUND ? CTL_EXIT_NOT_FOUND : CTL_EXIT_REFUSED;
}

int ctl_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s) return DRIP_EVALUE;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (*p < '0' || *p > '9') return DRIP_EVALUE; /* strtoll would accept leading blanks */
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || !end || *end != '\0' || v < min || v > max) return DRIP_EVALUE;
    *out = (int64_t)v;
    return DRIP_OK;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int ctl_parse_time(const char *s, int64_t *ms)
{
    if (!s || !*s) return DRIP_EVALUE;
    if (s[0] == '@') return ctl_parse_int64(s + 1, 0, INT64_MAX, ms);
    size_t n = strlen(s);
    if (n < 10) return DRIP_EVALUE;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    int32_t days;
    if (codes_date_parse(date, &days, NULL) != DRIP_OK) return DRIP_EVALUE;
    int h = 0, m = 0, sec = 0;
    if (n > 10) {
        const char *t = s + 10;
        if ((*t != 'T' && *t != ' ') || (n != 16 && n != 19)) return DRIP_EVALUE;
        h = two_digits(t + 1);
        if (t[3] != ':') return DRIP_EVALUE;
        m = two_digits(t + 4);
        if (n == 19) {
            if (t[6] != ':') return DRIP_EVALUE;
            sec = two_digits(t + 7);
        }
        if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return DRIP_EVALUE;
    }
    int64_t secs = (int64_t)days * 86400 + h * 3600 + m * 60 + sec - 8 * 3600; /* CST = UTC+8 */
    *ms = secs * 1000;
    return DRIP_OK;
}

void ctl_format_time(int64_t ms, char out[40])
{
    int64_t t = ms + (int64_t)8 * 3600 * 1000; /* shown in CST */
    int64_t day_ms = (int64_t)86400 * 1000;
    int64_t days = t / day_ms, rem = t % day_ms;
    if (rem < 0) { /* floor division for times before 1970 */
        rem += day_ms;
        days--;
    }
    char date[11];
    codes_date_format((int32_t)days, date);
    int h = (int)(rem / 3600000), m = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60);
    int frac = (int)(rem % 1000);
    snprintf(out, 40, "%sT%02d:%02d:%02d.%03d+08:00", date, h, m, s, frac);
}

double ctl_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ctl_sleep_ms(int64_t ms)
{
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
