/* metrics.h — Prometheus text exposition on GET /metrics and liveness on GET /healthz, served from
 * the daemon's libuv loop on its own port. Counters and gauges are atomics: they may be updated
 * from any thread. Names follow Prometheus conventions (drip_<service>_<thing>_total). */
#ifndef DRIP_METRICS_H
#define DRIP_METRICS_H

#include <stdint.h>
#include <uv.h>

typedef struct metrics metrics;
typedef struct metrics_counter metrics_counter;
typedef struct metrics_gauge metrics_gauge;

/* Health callback: returns 1 when healthy; may write a short reason into why (cap bytes).
 * Runs on the loop thread. /healthz answers 200 "ok" or 503 with the reason. */
typedef int (*metrics_health_fn)(void *arg, char *why, unsigned cap);

metrics *metrics_create(uv_loop_t *loop, const char *service);
/* Starts listening; port 0 = do not listen. Returns 0 or a negative status. */
int metrics_listen(metrics *m, const char *host, int port);
void metrics_set_health(metrics *m, metrics_health_fn fn, void *arg);
/* Closes the listener and all client handles; call before uv_run ends. Frees on close. */
void metrics_destroy(metrics *m);

/* Registers a metric (owned by m). `labels` is either NULL or a preformatted label set such as
 * "kind=\"target\"" — the same name may be registered with different label sets. */
metrics_counter *metrics_counter_add(metrics *m, const char *name, const char *labels,
                                     const char *help);
void metrics_counter_inc(metrics_counter *c, uint64_t n);
uint64_t metrics_counter_get(const metrics_counter *c);
metrics_gauge *metrics_gauge_add(metrics *m, const char *name, const char *labels,
                                 const char *help);
void metrics_gauge_set(metrics_gauge *g, int64_t v);

/* Renders the exposition text into a malloc'd string (also used by tests). Includes
 * process_resident_memory_bytes and process_max_resident_memory_bytes (peak RSS from getrusage). */
char *metrics_render(metrics *m);

#endif
