/* outbox.h — transactional outbox and inbox: nothing lost, nothing twice.
 *
 * Outbox: a state change and the event announcing it commit in one transaction (outbox_add inside
 * the caller's transaction). A relay later claims committed rows with FOR UPDATE SKIP LOCKED (so a
 * transaction that commits late is never skipped, and several daemon instances can relay at once),
 * publishes each to JetStream with Nats-Msg-Id = the row's msg_id, and deletes the rows only after
 * the stream acknowledged them. A crash between publish and delete republishes the same msg_id:
 * JetStream's duplicate window drops it, and consumers' inboxes catch anything older.
 *
 * Inbox: consumers record each processed message id in the same transaction as its effects, so a
 * redelivered message is recognised and changes nothing. Request/reply handlers also store their
 * reply so a retried request gets the original answer. */
#ifndef DRIP_OUTBOX_H
#define DRIP_OUTBOX_H

#include <libpq-fe.h>
#include <stddef.h>

#include "bus.h"
#include "db.h"
#include "metrics.h"

/* DDL for both tables, to include in a daemon's migrations. */
extern const char OUTBOX_DDL[];

/* Adds an event in the caller's open transaction. DRIP_OK or a db status. */
int outbox_add(PGconn *c, const char *subject, const char *msg_id, const void *payload, size_t len);

/* Many events of one transaction in one COPY (a matching run emits ~10^5): add them to a batch,
 * then outbox_batch_flush inside the transaction. The relay publishes them in insertion order. */
typedef struct {
    db_buf rows;
    size_t n;
} outbox_batch;

void outbox_batch_init(outbox_batch *b);
void outbox_batch_add(outbox_batch *b, const char *subject, const char *msg_id, const void *payload,
                      size_t len);
/* COPYs the batch into the outbox (caller's open transaction) and empties it. */
int outbox_batch_flush(PGconn *c, outbox_batch *b);
void outbox_batch_free(outbox_batch *b);

typedef struct outbox_relay outbox_relay;

/* The relay runs its rounds on the db pool (JetStream publishes block, which is fine on a worker
 * thread). It runs when kicked and every `interval_ms` as a safety net. */
outbox_relay *outbox_relay_create(uv_loop_t *loop, db_pool *pool, bus *b, metrics *m,
                                  int interval_ms);
/* Call after committing a transaction that added events. [loop thread] */
void outbox_relay_kick(outbox_relay *r);
/* Stops the timer; frees when the last round has finished (the loop must keep running). */
void outbox_relay_destroy(outbox_relay *r);
/* Rows waiting to be relayed, as of the last round. */
long outbox_relay_backlog(const outbox_relay *r);

/* Inbox. Claims (consumer, msg_id) in the caller's open transaction.
 * Returns 1 when new (the caller goes on and may later inbox_set_reply), 0 when already processed
 * (then reply and len hold the stored reply if any, malloc'd, caller frees), or a negative status.
 * A concurrent claim of the same id waits for the first transaction and then sees it. */
int inbox_claim(PGconn *c, const char *consumer, const char *msg_id, void **reply, size_t *len);
int inbox_set_reply(PGconn *c, const char *consumer, const char *msg_id, const void *reply,
                    size_t len);
/* Looks an id up without claiming it: 1 and the stored reply (malloc'd, may be NULL) when it was
 * processed, 0 when not, or a negative status. */
int inbox_lookup(PGconn *c, const char *consumer, const char *msg_id, void **reply, size_t *len);
/* Records (consumer, msg_id) with its reply in one write at the end of the caller's transaction.
 * Returns 1 when recorded, 0 when a concurrent transaction recorded it first (the caller rolls back
 * and answers with inbox_lookup's reply), or a negative status. */
int inbox_record(PGconn *c, const char *consumer, const char *msg_id, const void *reply, size_t len);

#endif
