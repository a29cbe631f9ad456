/* log.c — JSON-lines logger (see log.h). Each line is assembled in a stack buffer and written with a
 * single write(2) so concurrent threads never interleave within a line. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_MSG_MAX 4096
#define LOG_SERVICE_MAX 64

/* The one deliberate global (see log.h). Written once by log_init before threads start; the
 * level is atomic so a late log_init cannot tear a read. */
static char log_service[LOG_SERVICE_MAX] = "drip";
static atomic_int log_min = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, log_level min)
{
    if (service != NULL && service[0] != '\0') snprintf(log_service, sizeof log_service, "%s", service);
    atomic_store(&log_min, (int)min);
}

log_level log_level_parse(const char *s, log_level dflt)
{
    if (s == NULL) return dflt;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, log_level_names[i]) == 0) return (log_level)i;
    if (strcasecmp(s, "warning") == 0) return LOG_WARN;
    return dflt;
}

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 when invalid. Strict: rejects
 * overlongs, surrogates and code points above U+10FFFF so the output is always valid JSON text. */
static int utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = (c == 0xe0) ? 0xa0 : 0x80, hi = (c == 0xed) ? 0x9f : 0xbf;
        if (p[1] < lo || p[1] > hi) return 0;
        return (p[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = (c == 0xf0) ? 0x90 : 0x80, hi = (c == 0xf4) ? 0x8f : 0xbf;
        if (p[1] < lo || p[1] > hi) return 0;
        if ((p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

void log_json_escape(const char *s, char *out, unsigned long cap)
{
    static const char hex[] = "0123456789abcdef";
    unsigned long o = 0;
    if (out == NULL || cap == 0) return;
    if (s == NULL) s = "";
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        char tmp[8];
        size_t n;
        int seq = utf8_seq_len(p);
        const char *src = tmp;
        if (seq == 0) {
            /* invalid byte: replace with U+FFFD rather than emit invalid JSON */
            memcpy(tmp, "\\ufffd", 6);
            n = 6;
            seq = 1;
        } else if (seq > 1) {
            src = (const char *)p;
            n = (size_t)seq;
        } else if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[*p >> 4];
            tmp[5] = hex[*p & 0xf];
            n = 6;
        } else {
            tmp[0] = (char)*p;
            n = 1;
        }
        /* never split an escape or a UTF-8 sequence when truncating */
        if (o + n + 1 > cap) break;
        memcpy(out + o, src, n);
        o += n;
        p += seq;
    }
    out[o] = '\0';
}

/* "2026-11-23T15:04:05.123Z" */
static void log_timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void log_write(log_level lvl, const char *event, const char *fmt, ...)
{
    if ((int)lvl < atomic_load(&log_min)) return;
    if ((int)lvl < LOG_DEBUG || (int)lvl > LOG_ERROR) lvl = LOG_ERROR;

    int saved_errno = errno; /* callers often log right before inspecting errno */
    char msg[LOG_MSG_MAX], emsg[LOG_MSG_MAX], eevent[256], eservice[2 * LOG_SERVICE_MAX];
    char ts[40], line[LOG_LINE_MAX];

    msg[0] = '\0';
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }

    log_json_escape(msg, emsg, sizeof emsg);
    log_json_escape(event ? event : "", eevent, sizeof eevent);
    log_json_escape(log_service, eservice, sizeof eservice);
    log_timestamp(ts, sizeof ts);

    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"event\":\"%s\","
                     "\"msg\":\"%s\"}\n",
                     ts, log_level_names[lvl], eservice, eevent, emsg);
    if (n < 0) {
        errno = saved_errno;
        return;
    }
    size_t len = (size_t)n;
    if (len >= sizeof line) {
        /* cannot happen with the buffer sizes above, but keep the line valid JSON anyway */
        len = sizeof line - 1;
        line[len - 1] = '\n';
    }
    /* one write per line; retry only on EINTR (a short write to a pipe > PIPE_BUF may split) */
    ssize_t w;
    do {
        w = write(STDERR_FILENO, line, len);
    } while (w < 0 && errno == EINTR);
    errno = saved_errno;
}
