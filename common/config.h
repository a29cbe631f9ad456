/* config.h — configuration from environment variables with documented defaults.
 * Every daemon lists the variables it reads in its main.c and in README "Configuration".
 * Values are read once at start; nothing is cached here. */
#ifndef DRIP_CONFIG_H
#define DRIP_CONFIG_H

#include <stdint.h>

/* Value of `name`, or `dflt` when unset or empty. */
const char *cfg_str(const char *name, const char *dflt);
/* Integer value of `name` within [min, max]; `dflt` when unset. An unparsable or out-of-range
 * value is a fatal configuration error: logged and the process exits with status 2. */
int64_t cfg_int(const char *name, int64_t dflt, int64_t min, int64_t max);

/* The settings every daemon shares. */
typedef struct {
    const char *nats_url;     /* DRIP_NATS_URL, default nats://127.0.0.1:14222 */
    const char *nats_user;    /* DRIP_NATS_USER, default unset */
    const char *nats_pass;    /* DRIP_NATS_PASSWORD, default unset */
    const char *pg_conninfo;  /* DRIP_PG, default "host=127.0.0.1 port=15432 dbname=drip" */
    const char *prefix;       /* DRIP_PREFIX: first subject token and stream-name prefix, default "drip" */
    const char *http_host;    /* DRIP_HTTP_HOST, default 127.0.0.1 */
    int http_port;            /* DRIP_HTTP_PORT (metrics/healthz), per daemon default; 0 = off */
    int64_t max_payload;      /* DRIP_MAX_PAYLOAD bytes, default 4194304 */
    const char *log_level;    /* DRIP_LOG_LEVEL, default info */
} cfg_common;

/* Fills `c` from the environment; `default_http_port` is the daemon's own default. */
void cfg_common_load(cfg_common *c, int default_http_port);

#endif
