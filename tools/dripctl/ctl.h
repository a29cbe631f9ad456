/* ctl.h — dripctl's shared plumbing: identity and connection from the environment, request/reply
 * on the registry subjects, exit statuses, and the small parsers every command needs.
 *
 * Environment (read once by ctl_ctx_load):
 *   DRIP_NATS_URL       default nats://127.0.0.1:14222
 *   DRIP_NATS_USER      default unset (no auth)
 *   DRIP_NATS_PASSWORD  default unset
 *   DRIP_PREFIX         first subject token and stream-name prefix, default drip
 *   DRIP_DEPT           sending department (identity), default OPS
 *   DRIP_REGION         region of that department, default 000000 */
#ifndef DRIPCTL_CTL_H
#define DRIPCTL_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "subject.h"

/* Process exit statuses of every dripctl command (also listed by `dripctl help`). */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_USAGE = 1,       /* bad arguments or unreadable input file */
    CTL_EXIT_UNREACHABLE = 2, /* NATS or the daemon could not be reached in time */
    CTL_EXIT_REJECTED = 3,    /* import --strict with rejects; retire with rejects */
    CTL_EXIT_NOT_FOUND = 4,   /* show: no such record */
    CTL_EXIT_REFUSED = 5,     /* the daemon answered with an error */
    CTL_EXIT_INVALID = 6,     /* draw / match verify: the record does not verify */
};

#define CTL_QUERY_TIMEOUT_MS 10000

typedef struct {
    const char *url, *user, *pass;
    const char *prefix;
    const char *dept;   /* identity: the Envelope's dept and the subject's DEPT token */
    const char *region; /* identity: the Envelope's region and the subject's PP.CC.DD */
    int region_from_env;/* DRIP_REGION was set explicitly */
    bus *bus;           /* NULL until ctl_connect */
} ctl_ctx;

/* Fills `c` from the environment (strings point into the environment). */
void ctl_ctx_load(ctl_ctx *c);
/* Connects a tool bus (fails fast). On failure prints why on stderr and returns DRIP_EIO. */
int ctl_connect(ctl_ctx *c);
void ctl_disconnect(ctl_ctx *c);

/* Builds the subject "<prefix>.<area>.PP.CC.DD.<dept>.<last>" of the identity. Prints and returns
 * DRIP_EVALUE when the identity does not make a valid subject (e.g. DRIP_REGION not 6 digits). */
int ctl_subject(const ctl_ctx *c, const char *area, const char *last, char out[SUBJECT_MAX]);

/* One request/reply on `subject` (see bus_request for statuses). */
int ctl_request(ctl_ctx *c, const char *subject, const void *data, size_t len, int timeout_ms,
                void **reply, size_t *reply_len);

/* Prints a transport failure of a request on `subject` to stderr in words an operator can act on
 * ("no daemon serves ...: is drip-registry running?") and returns the matching exit status. */
int ctl_report_transport(const ctl_ctx *c, const char *subject, int rc);

/* Prints a reply error (ErrorCode + message) to stderr; returns CTL_EXIT_NOT_FOUND for
 * ERR_NOT_FOUND and CTL_EXIT_REFUSED otherwise. */
int ctl_report_reply_error(int error_code, const char *message);

/* Decimal integer in [min, max], nothing else (no sign for unsigned use: pass min >= 0).
 * DRIP_OK or DRIP_EVALUE. */
int ctl_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Time for --as-of: "YYYY-MM-DD[THH:MM[:SS]]" in China Standard Time (UTC+8; a space may replace
 * the T), or "@<unix ms>". DRIP_OK or DRIP_EVALUE. */
int ctl_parse_time(const char *s, int64_t *ms);
/* Formats Unix ms as ISO 8601 in CST, e.g. "2024-05-01T10:00:00.123+08:00" (out[40]). */
void ctl_format_time(int64_t ms, char out[40]);

/* Monotonic clock in seconds. */
double ctl_now_s(void);
/* Sleeps `ms` milliseconds (resumes after signals). */
void ctl_sleep_ms(int64_t ms);

#endif
