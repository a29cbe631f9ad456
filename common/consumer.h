/* consumer.h — durable JetStream consumption with an inbox: each message is applied in one
 * PostgreSQL transaction together with its (consumer, Nats-Msg-Id) inbox row, then acked. A
 * redelivered message finds its inbox row and changes nothing; a message that cannot be decoded is
 * terminated (poison) and counted; a database outage naks with a delay.
 * Messages are applied one at a time in stream order, so projections see changes in the order the
 * producer committed them. */
#ifndef DRIP_CONSUMER_H
#define DRIP_CONSUMER_H

#include <libpq-fe.h>

#include "bus.h"
#include "db.h"
#include "metrics.h"

/* Applies one message inside the open transaction. Returns DRIP_OK, DRIP_EBADMSG (poison: term)
 * or another status (rolled back, retried later). Runs on a worker thread. */
typedef int (*consumer_apply_fn)(PGconn *c, const void *data, size_t len, const char *subject,
                                 void *arg);
/* Optional: called on the loop thread after a message was committed (e.g. to kick a relay). */
typedef void (*consumer_after_fn)(void *arg);

typedef struct consumer consumer;

/* `name` is both the durable consumer name and the inbox consumer name. */
int consumer_start(consumer **out, uv_loop_t *loop, bus *b, db_pool *db, metrics *m,
                   const bus_consumer_config *cfg, const char *name, consumer_apply_fn apply,
                   consumer_after_fn after, void *arg);
/* Messages applied so far (for health / tests). */
unsigned long consumer_applied(const consumer *c);
/* 1 when the durable consumer `durable` of `stream` has nothing pending and nothing unacknowledged
 * (JetStream consumer info, asked through the $JS.API request subject), else 0 with the reason in
 * why. Blocking (up to 5 s): call it on a worker thread. A daemon uses it before work that must
 * see every change another stream already holds (e.g. the registry before a draw or a matching). */
int consumer_caught_up(bus *b, const char *stream, const char *durable, char *why, size_t cap);
/* Frees; call after bus_destroy (which stops delivery) and after pending db work finished. */
void consumer_destroy(consumer *c);

#endif
