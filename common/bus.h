/* bus.h — NATS (core + JetStream) for drip daemons and tools, on top of nats.c 3.4.1.
 *
 * Threading contract (see ENGINEERING.md: nats.c 3.4.1's libuv adapter is NOT used):
 *  - nats.c keeps its own threads. Every callback it makes (message, disconnect, reconnect, close)
 *    only pushes onto a mutex-protected queue and calls uv_async_send(); the async callback drains
 *    the whole queue on the loop thread. So every bus_msg_fn runs on the loop thread.
 *  - Functions marked [loop-safe] never block and may be called from the loop thread.
 *    Functions marked [blocking] must never be called on the loop thread: use a worker thread
 *    (uv_queue_work) or call them from tools / start-up code before uv_run().
 *  - A bus created with loop == NULL is a "tool" bus: only the blocking functions may be used.
 */
#ifndef DRIP_BUS_H
#define DRIP_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct bus bus;
typedef struct bus_msg bus_msg;

typedef struct {
    const char *url;   /* nats://host:port[,nats://...] */
    const char *user;  /* NULL: no auth */
    const char *pass;
    const char *name;  /* connection name shown by nats-server, e.g. "drip-registry" */
} bus_options;

/* Connects. With a loop, a failed first connect keeps retrying in the background
 * (natsOptions_SetRetryOnFailedConnect) and DRIP_OK is returned; a tool bus fails fast (DRIP_EIO).
 * [blocking] */
int bus_create(bus **out, uv_loop_t *loop, const bus_options *o);
/* Stops consumers (drains, joins their threads), closes the connection, frees. Call on the loop
 * thread before the loop is closed; pending callbacks are dropped. */
void bus_destroy(bus *b);
/* 1 while connected. [loop-safe] */
int bus_connected(const bus *b);
/* Optional: called on the loop thread after the connection is lost (0) or (re-)established (1),
 * e.g. to flip a health flag or re-announce state. Not available on a tool bus. [loop-safe] */
typedef void (*bus_state_fn)(int connected, void *arg);
void bus_on_state(bus *b, bus_state_fn fn, void *arg);

/* --- messages ----------------------------------------------------------------------------- */
const char *bus_msg_subject(const bus_msg *m);
const char *bus_msg_reply(const bus_msg *m);   /* NULL when none */
const void *bus_msg_data(const bus_msg *m);
size_t bus_msg_size(const bus_msg *m);
/* Header value or NULL (e.g. "Nats-Msg-Id"). */
const char *bus_msg_header(const bus_msg *m, const char *key);
/* JetStream metadata: delivery count (1 = first delivery) and stream sequence; 0 for core msgs. */
uint64_t bus_msg_deliveries(const bus_msg *m);
uint64_t bus_msg_stream_seq(const bus_msg *m);
void bus_msg_destroy(bus_msg *m);

/* Handler for incoming messages; runs on the loop thread and owns `m` (must bus_msg_destroy it,
 * possibly later, e.g. after a database round trip). */
typedef void (*bus_msg_fn)(bus_msg *m, void *arg);

/* --- core NATS ------------------------------------------------------------------------------ */
/* Subscribes `subject` (wildcards allowed) in queue group `queue`. [loop-safe] */
int bus_serve(bus *b, const char *subject, const char *queue, bus_msg_fn fn, void *arg);
/* Publishes a reply to m's reply subject; DRIP_OK and nothing sent when m has none. [loop-safe] */
int bus_respond(bus *b, const bus_msg *m, const void *data, size_t len);
/* Waits until the server has processed everything sent so far (subscriptions included), e.g.
 * before announcing readiness: a request from another connection issued right after bus_serve
 * can otherwise still find no responder. [blocking] */
int bus_flush(bus *b, int timeout_ms);
/* At-most-once publish. [loop-safe] */
int bus_publish(bus *b, const char *subject, const void *data, size_t len);
/* Request/reply. *reply is malloc'd (caller frees). Returns DRIP_OK, DRIP_ETIMEOUT,
 * DRIP_ENOTFOUND when no daemon serves the subject (NATS no-responders), DRIP_EFORBIDDEN on a
 * permissions violation, DRIP_EIO otherwise. [blocking] */
int bus_request(bus *b, const char *subject, const void *data, size_t len, int timeout_ms,
                void **reply, size_t *reply_len);
/* Last error text of this bus (connection errors, permission violations). The buffer belongs to
 * the bus and is overwritten by later errors: copy it if you keep it. */
const char *bus_last_error(const bus *b);

/* --- JetStream ------------------------------------------------------------------------------ */
typedef struct {
    const char *name;
    const char **subjects;
    int nsubjects;
    int64_t max_age_s;          /* 0 = unlimited */
    int64_t duplicate_window_s; /* dedupe window for Nats-Msg-Id; 0 = server default (2 min) */
    int replicas;               /* 0 = 1 */
} bus_stream_config;

/* Creates the stream, or updates subjects/limits of an existing one. [blocking] */
int bus_stream_ensure(bus *b, const bus_stream_config *c);
/* Number of messages and last sequence of a stream. [blocking] */
int bus_stream_info(bus *b, const char *stream, uint64_t *msgs, uint64_t *last_seq);

/* Publishes with header Nats-Msg-Id = msg_id and waits for the stream's ack. *duplicate (if non-NULL)
 * is set to 1 when the server reports it already had this id. [blocking] */
int bus_js_publish(bus *b, const char *subject, const void *data, size_t len, const char *msg_id,
                   int timeout_ms, int *duplicate);

/* One message of a pipelined publish. */
typedef struct {
    const char *subject, *msg_id;
    const void *data;
    size_t len;
} bus_js_msg;

/* Publishes n messages without waiting for each ack (pipelined, JetStream async publish), then waits
 * at most timeout_ms for all acks. DRIP_OK only when every message was acknowledged; otherwise the
 * caller must treat all n as unpublished and retry them (Nats-Msg-Id makes the retry harmless).
 * One caller at a time per bus (it waits for every async publish of the bus). [blocking] */
int bus_js_publish_many(bus *b, const bus_js_msg *msgs, size_t n, int timeout_ms);

typedef struct {
    const char *stream;
    const char *durable;        /* durable consumer name, created with js_AddConsumer if absent */
    const char *filter_subject; /* NULL = whole stream */
    int max_deliver;            /* > 0; after that many deliveries the message is dropped (term) */
    int ack_wait_s;             /* > 0 */
    int batch;                  /* messages per fetch, also the bound on outstanding messages */
} bus_consumer_config;

/* Starts a dedicated fetch thread on a durable pull consumer; messages are handed to fn on the
 * loop thread. The handler must finish each message with exactly one of bus_msg_ack / nak / term
 * and then destroy it. The thread fetches the next batch only after every message of the previous
 * one was finished. [loop-safe once created; creation itself blocks briefly] */
int bus_consume(bus *b, const bus_consumer_config *c, bus_msg_fn fn, void *arg);
int bus_msg_ack(bus_msg *m);                  /* [loop-safe] */
int bus_msg_nak(bus_msg *m, int64_t delay_ms);/* redeliver after delay; [loop-safe] */
int bus_msg_term(bus_msg *m);                 /* never redeliver (poison); [loop-safe] */
int bus_msg_in_progress(bus_msg *m);          /* reset the ack timer; [loop-safe] */

/* Reads the messages of `stream` matching `filter` (NULL = all) from sequence `start_seq`
 * (1 = beginning) up to the stream's last sequence at call time, in order, with an ephemeral
 * consumer; calls fn for each (stop early by returning non-zero). For tools and tests. [blocking] */
int bus_stream_scan(bus *b, const char *stream, const char *filter, uint64_t start_seq,
                    int (*fn)(const bus_msg *m, void *arg), void *arg);

#endif
