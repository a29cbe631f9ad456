/* registry.h — internals of the registry daemon (一单两库 + reference data).
 *
 * Request flow: a NATS handler (loop thread) decodes and checks the envelope, then hands the
 * request to the db pool; the work function (worker thread) validates every record, applies the
 * accepted ones in one transaction together with the outbox event and the inbox entry holding
 * the reply; the done function (loop thread) sends the reply and kicks the outbox relay. */
#ifndef DRIP_REGISTRY_H
#define DRIP_REGISTRY_H

#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "db.h"
#include "drip/registry.pb-c.h"
#include "metrics.h"
#include "outbox.h"
#include "refcache.h"
#include "subject.h"

#define REGISTRY_MAX_BATCH 1000
#define REGISTRY_MAX_INFLIGHT 64

typedef struct {
    uv_loop_t *loop;
    cfg_common cfg;
    const char *operators;  /* comma-separated operator department codes (DRIP_REGISTRY_OPERATORS) */
    bus *bus;
    db_pool *db;
    metrics *metrics;
    outbox_relay *relay;
    refcache *ref;
    int inflight;
    int stopping;
    metrics_counter *m_batches_ok, *m_batches_err, *m_replays, *m_queries, *m_query_err;
    metrics_counter *m_outcome[6]; /* indexed by Drip__Outcome */
} registry;

/* 1 when `dept` is one of the configured operator departments. */
int registry_is_operator(const registry *r, const char *dept);

/* schema.c */
extern const char *const REGISTRY_MIGRATIONS[];
extern const int REGISTRY_NMIGRATIONS;

/* handlers.c: subscribes the command and query subjects. */
int registry_serve(registry *r);

/* batch.c: one change batch from decode to reply. */
typedef struct registry_batch registry_batch;
/* Takes ownership of m. Always replies (success or error). [loop thread] */
void registry_batch_start(registry *r, bus_msg *m, const subject_parts *sp);

/* query.c: get / count / list. Takes ownership of m. [loop thread] */
void registry_query_start(registry *r, bus_msg *m, const subject_parts *sp);

/* Packs and sends an error-only reply of the right type for `verb`. [loop thread] */
void registry_reply_error(registry *r, const bus_msg *m, const char *verb, const char *corr,
                          int status, const char *text);

#endif
