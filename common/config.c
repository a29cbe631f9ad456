/* config.c — environment configuration (see config.h). A bad value is fatal at start-up: running a
 * daemon with a silently defaulted port or payload limit is worse than refusing to start. */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

const char *cfg_str(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v == NULL || v[0] == '\0') ? dflt : v;
}

int64_t cfg_int(const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') return dflt;

    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    /* reject trailing garbage ("80x") and overflow; strtoll itself skips leading blanks */
    if (errno != 0 || end == v || *end != '\0') {
        log_error("config.invalid", "%s=\"%s\" is not an integer", name, v);
        exit(2);
    }
    if ((int64_t)x < min || (int64_t)x > max) {
        log_error("config.invalid", "%s=%lld is outside [%" PRId64 ", %" PRId64 "]", name, x, min,
                  max);
        exit(2);
    }
    return (int64_t)x;
}

void cfg_common_load(cfg_common *c, int default_http_port)
{
    c->nats_url = cfg_str("DRIP_NATS_URL", "nats://127.0.0.1:14222");
    c->nats_user = cfg_str("DRIP_NATS_USER", NULL);
    c->nats_pass = cfg_str("DRIP_NATS_PASSWORD", NULL);
    c->pg_conninfo = cfg_str("DRIP_PG", "host=127.0.0.1 port=15432 dbname=drip");
    c->prefix = cfg_str("DRIP_PREFIX", "drip");
    c->http_host = cfg_str("DRIP_HTTP_HOST", "127.0.0.1");
    c->http_port = (int)cfg_int("DRIP_HTTP_PORT", default_http_port, 0, 65535);
    /* nats-server refuses max_payload above 64 MiB */
    c->max_payload = cfg_int("DRIP_MAX_PAYLOAD", 4194304, 1, 64 * 1024 * 1024);
    c->log_level = cfg_str("DRIP_LOG_LEVEL", "info");
}
