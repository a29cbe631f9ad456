/* bus.c — NATS core + JetStream on nats.c 3.4.1 (see bus.h for the threading contract).
 *
 * Shape:
 *  - nats.c threads (message delivery, connection events, our fetch threads) never call user code.
 *    They append a bus_item to b->queue under b->mu and uv_async_send() while still holding the
 *    mutex, so bus_destroy (which flips b->closing under the same mutex before closing the handle)
 *    can never race a send on a closed handle. The async callback swaps the whole queue out and
 *    dispatches it on the loop thread (sends coalesce).
 *  - A durable pull consumer has one fetch thread. It fetches a batch, hands every message to the
 *    loop and sleeps on a condvar until each one was finished (ack/nak/term, or destroyed), so at
 *    most `batch` messages are ever outstanding per consumer.
 *  - nats.c stores a raw natsSubscription pointer in every natsMsg and dereferences it on ack, so
 *    a consumer (and its subscription) is reference counted: one reference for the bus, one per
 *    live bus_msg. A message that outlives bus_destroy can still be destroyed (or acked, which
 *    then fails cleanly because the connection is closed).
 *  - Connection callbacks run on nats.c's single global callback thread, in order; the closed
 *    callback is the last one for a connection, so bus_destroy waits for it before freeing. */
#include "bus.h"

#include "log.h"
#include "status.h"

#include <nats/nats.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUS_RECONNECT_WAIT_MS 500
#define BUS_PING_INTERVAL_MS 10000
#define BUS_CLOSE_WAIT_MS 5000
#define BUS_FETCH_TIMEOUT_MS 1000
#define BUS_RETRY_MS 1000
#define BUS_SCAN_IDLE_MS 5000
#define BUS_SCAN_BATCH 256
#define BUS_MAX_BATCH 1024
#define BUS_ERR_MAX 256
#define NS_PER_S INT64_C(1000000000)

typedef struct bus_consumer bus_consumer;

struct bus_msg {
    natsMsg *nm;
    bus_consumer *cons; /* NULL: core message (or a scan message) */
    uint64_t deliveries;
    uint64_t stream_seq;
    int finished; /* ack/nak/term sent (or destroyed unfinished) */
};

enum { ITEM_MSG, ITEM_STATE };

typedef struct bus_item {
    struct bus_item *next;
    int kind;
    bus_msg *msg;
    bus_msg_fn fn;
    void *arg;
    int connected;
} bus_item;

typedef struct bus_serve_sub {
    struct bus_serve_sub *next;
    bus *b;
    natsSubscription *sub;
    bus_msg_fn fn;
    void *arg;
    int completed; /* delivery thread finished (guarded by b->mu) */
} bus_serve_sub;

struct bus_consumer {
    bus_consumer *next; /* in b->consumers */
    bus *b;             /* NULL once the bus is gone */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    natsSubscription *sub; /* guarded by mu; NULL until bound */
    pthread_t thread;
    int thread_started;
    int stop;
    int outstanding; /* handed out in the current batch and not finished */
    int refs;        /* bus + live bus_msgs */
    bus_msg_fn fn;
    void *arg;
    char *stream, *durable, *filter;
    int max_deliver, ack_wait_s, batch;
};

struct bus {
    uv_loop_t *loop;
    uv_async_t *async; /* heap: freed in its close callback, after the bus itself */
    natsConnection *nc;
    jsCtx *js;
    atomic_int connected;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* closed callback / serve completions */
    bus_item *qhead, *qtail;
    bus_item *inflight; /* rest of the batch being dispatched (loop thread only) */
    int closing;   /* bus_destroy started: nothing is queued any more */
    int closed_cb; /* nats.c's closed callback has run */
    bus_serve_sub *serves;
    bus_consumer *consumers;
    bus_state_fn state_fn;
    void *state_arg;
    int draining;  /* inside the async callback (loop thread only) */
    int destroyed; /* bus_destroy ran while draining: the drain frees */
    uint64_t perm_seq;
    atomic_ulong async_failures; /* async publishes that failed (bus_js_publish_many) */
    char last_error[BUS_ERR_MAX];
};

/* --- small helpers ---------------------------------------------------------------------------- */

/* nats.c thread: an async publish failed; bus_js_publish_many sees the count change. */
static void bus_on_pub_err(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pae; /* the message is destroyed by nats.c after this returns */
    bus *b = closure;
    atomic_fetch_add(&b->async_failures, 1);
}

static char *bus_strdup(const char *s)
{
    if (s == NULL) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

static struct timespec deadline_in_ms(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3))) static void bus_set_error(bus *b, const char *fmt, ...)
{
    char tmp[BUS_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&b->mu);
    memcpy(b->last_error, tmp, sizeof tmp);
    pthread_mutex_unlock(&b->mu);
}

static void bus_error_copy(bus *b, char *out, size_t cap)
{
    pthread_mutex_lock(&b->mu);
    snprintf(out, cap, "%s", b->last_error);
    pthread_mutex_unlock(&b->mu);
}

/* Detailed text of the last nats.c error on this thread (falls back to the status text). */
static const char *nats_err_text(natsStatus s)
{
    natsStatus ls = NATS_OK;
    const char *t = nats_GetLastError(&ls);
    /* the thread's error record may be stale: only trust it for the same status */
    if (t == NULL || t[0] == '\0' || ls != s) return natsStatus_GetText(s);
    /* drop nats.c's "(conn.c:2088): " source prefix */
    if (t[0] == '(') {
        const char *e = strstr(t, "): ");
        if (e != NULL && e - t < 40) t = e + 3;
    }
    return t;
}

static int map_status(natsStatus s)
{
    switch (s) {
    case NATS_OK: return DRIP_OK;
    case NATS_TIMEOUT: return DRIP_ETIMEOUT;
    case NATS_NO_RESPONDERS: return DRIP_ENOTFOUND;
    case NATS_NOT_FOUND: return DRIP_ENOTFOUND;
    case NATS_NOT_PERMITTED: return DRIP_EFORBIDDEN;
    case NATS_NO_MEMORY: return DRIP_ENOMEM;
    case NATS_MAX_PAYLOAD: return DRIP_ETOOLARGE;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT: return DRIP_EVALUE;
    default: return DRIP_EIO;
    }
}

/* Records a failed nats.c call as this bus's last error and maps its status. */
static int bus_fail(bus *b, natsStatus s, const char *what)
{
    bus_set_error(b, "%s: %s", what, nats_err_text(s));
    return map_status(s);
}

/* --- loop queue ------------------------------------------------------------------------------- */

/* Appends an item for the loop thread. Returns -1 (caller keeps ownership) when the bus has no
 * loop or is shutting down. */
static int bus_push(bus *b, bus_item *it)
{
    pthread_mutex_lock(&b->mu);
    if (b->closing || b->async == NULL) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    it->next = NULL;
    if (b->qtail) b->qtail->next = it;
    else b->qhead = it;
    b->qtail = it;
    uv_async_send(b->async); /* under mu: see the file comment */
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static int bus_push_msg(bus *b, bus_msg *m, bus_msg_fn fn, void *arg)
{
    bus_item *it = calloc(1, sizeof *it);
    if (it == NULL) return -1;
    it->kind = ITEM_MSG;
    it->msg = m;
    it->fn = fn;
    it->arg = arg;
    if (bus_push(b, it) != 0) {
        free(it);
        return -1;
    }
    return 0;
}

static void bus_push_state(bus *b, int connected)
{
    if (b->loop == NULL) return;
    bus_item *it = calloc(1, sizeof *it);
    if (it == NULL) return;
    it->kind = ITEM_STATE;
    it->connected = connected;
    if (bus_push(b, it) != 0) free(it);
}

static void bus_item_drop(bus_item *it)
{
    if (it->kind == ITEM_MSG) bus_msg_destroy(it->msg);
    free(it);
}

static void bus_free(bus *b);

static void bus_on_async(uv_async_t *h)
{
    bus *b = h->data;
    if (b == NULL) return;
    pthread_mutex_lock(&b->mu);
    b->inflight = b->qhead;
    b->qhead = b->qtail = NULL;
    pthread_mutex_unlock(&b->mu);

    /* b->inflight (loop thread only) lets a handler that calls bus_destroy hand the rest of this
     * batch back to the server */
    b->draining = 1;
    while (b->inflight != NULL && !b->destroyed) {
        bus_item *it = b->inflight;
        b->inflight = it->next;
        if (it->kind == ITEM_MSG) {
            it->fn(it->msg, it->arg); /* the handler owns the message now */
        } else if (b->state_fn) {
            b->state_fn(it->connected, b->state_arg);
        }
        free(it);
    }
    b->draining = 0;
    if (b->destroyed) bus_free(b);
}

static void bus_on_async_close(uv_handle_t *h)
{
    free(h);
}

/* --- connection callbacks (nats.c callback thread) ------------------------------------------- */

static void bus_on_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    bus *b = closure;
    atomic_store(&b->connected, 1);
    log_info("bus.connected", "connected to NATS");
    bus_push_state(b, 1);
}

static void bus_on_reconnected(natsConnection *nc, void *closure)
{
    bus *b = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    atomic_store(&b->connected, 1);
    log_info("bus.reconnected", "reconnected to %s", url);
    bus_push_state(b, 1);
}

static void bus_on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    bus *b = closure;
    atomic_store(&b->connected, 0);
    pthread_mutex_lock(&b->mu);
    int closing = b->closing;
    if (!closing) snprintf(b->last_error, sizeof b->last_error, "disconnected from NATS");
    pthread_mutex_unlock(&b->mu);
    if (!closing) log_warn("bus.disconnected", "lost the NATS connection; reconnecting");
    bus_push_state(b, 0);
}

static void bus_on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    bus *b = closure;
    atomic_store(&b->connected, 0);
    pthread_mutex_lock(&b->mu);
    int closing = b->closing;
    pthread_mutex_unlock(&b->mu);
    if (!closing) bus_push_state(b, 0); /* refused (safely) if bus_destroy began meanwhile */
    pthread_mutex_lock(&b->mu);
    b->closed_cb = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    /* after the unlock bus_destroy may free b: touch nothing of it below */
    if (!closing) log_error("bus.closed", "NATS connection closed for good");
}

static void bus_on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)sub;
    bus *b = closure;
    /* the callback thread sets the server's text as this thread's last error; the connection
     * keeps a copy too (natsConnection_GetLastError) */
    natsStatus ls = NATS_OK;
    const char *text = nats_GetLastError(&ls);
    if (ls != err) text = NULL;
    if (text == NULL || text[0] == '\0') {
        const char *ct = NULL;
        if (natsConnection_GetLastError(nc, &ct) == err && ct != NULL) text = ct;
    }
    if (text == NULL || text[0] == '\0') text = natsStatus_GetText(err);

    pthread_mutex_lock(&b->mu);
    snprintf(b->last_error, sizeof b->last_error, "%s", text);
    if (err == NATS_NOT_PERMITTED) b->perm_seq++;
    pthread_mutex_unlock(&b->mu);
    /* A daemon has nobody to tell but its log. A tool bus reports the failure of the call that
     * caused it (bus_last_error), so the log line would only repeat it on the user's terminal. */
    log_level lvl = b->loop ? LOG_ERROR : LOG_DEBUG;
    if (err == NATS_NOT_PERMITTED) log_write(lvl, "bus.permission", "%s", text);
    else log_write(b->loop ? LOG_WARN : LOG_DEBUG, "bus.error", "%s (%s)", text, natsStatus_GetText(err));
}

/* --- create / destroy -------------------------------------------------------------------------- */

/* Splits "nats://a:1, nats://b:2" into natsOptions_SetServers (SetURL takes a single URL). */
static natsStatus bus_set_servers(natsOptions *opts, const char *url)
{
    char *copy = bus_strdup(url);
    if (copy == NULL) return NATS_NO_MEMORY;
    const char *list[32];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < 32; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        if (*tok) list[n++] = tok;
    }
    natsStatus s = n > 0 ? natsOptions_SetServers(opts, list, n) : NATS_ADDRESS_MISSING;
    free(copy);
    return s;
}

int bus_create(bus **out, uv_loop_t *loop, const bus_options *o)
{
    if (out == NULL) return DRIP_EVALUE;
    *out = NULL;
    if (o == NULL || o->url == NULL || o->url[0] == '\0') return DRIP_EVALUE;

    bus *b = calloc(1, sizeof *b);
    if (b == NULL) return DRIP_ENOMEM;
    if (pthread_mutex_init(&b->mu, NULL) != 0) {
        free(b);
        return DRIP_ENOMEM;
    }
    if (cond_init_monotonic(&b->cv) != 0) {
        pthread_mutex_destroy(&b->mu);
        free(b);
        return DRIP_ENOMEM;
    }
    b->loop = loop;
    atomic_init(&b->connected, 0);

    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = bus_set_servers(opts, o->url);
    if (s == NATS_OK && o->user != NULL && o->user[0] != '\0')
        s = natsOptions_SetUserInfo(opts, o->user, o->pass ? o->pass : "");
    if (s == NATS_OK && o->name != NULL) s = natsOptions_SetName(opts, o->name);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, BUS_RECONNECT_WAIT_MS);
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, BUS_PING_INTERVAL_MS);
    /* a request in flight when the link drops fails at once instead of waiting its timeout */
    if (s == NATS_OK) s = natsOptions_SetFailRequestsOnDisconnect(opts, true);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, bus_on_error, b);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, bus_on_closed, b);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, bus_on_disconnected, b);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, bus_on_reconnected, b);
    if (s == NATS_OK && loop != NULL)
        s = natsOptions_SetRetryOnFailedConnect(opts, true, bus_on_connected, b);
    if (s != NATS_OK) {
        log_error("bus.options", "bad NATS options: %s", nats_err_text(s));
        natsOptions_Destroy(opts);
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return map_status(s) == DRIP_ENOMEM ? DRIP_ENOMEM : DRIP_EVALUE;
    }

    if (loop != NULL) {
        b->async = malloc(sizeof *b->async);
        if (b->async == NULL || uv_async_init(loop, b->async, bus_on_async) != 0) {
            free(b->async);
            natsOptions_Destroy(opts);
            pthread_cond_destroy(&b->cv);
            pthread_mutex_destroy(&b->mu);
            free(b);
            return DRIP_ENOMEM;
        }
        b->async->data = b;
    }

    s = natsConnection_Connect(&b->nc, opts);
    natsOptions_Destroy(opts);
    if (s == NATS_OK) {
        atomic_store(&b->connected, 1);
    } else if (s == NATS_NOT_YET_CONNECTED && loop != NULL) {
        log_warn("bus.connect", "NATS at %s not reachable yet; retrying in the background",
                 o->url);
        bus_set_error(b, "not connected yet");
    } else {
        log_error("bus.connect", "cannot connect to NATS at %s: %s", o->url, nats_err_text(s));
        if (b->async) {
            b->async->data = NULL;
            uv_close((uv_handle_t *)b->async, bus_on_async_close);
        }
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return s == NATS_NO_MEMORY ? DRIP_ENOMEM : DRIP_EIO;
    }

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.ErrHandler = bus_on_pub_err;
    jo.PublishAsync.ErrHandlerClosure = b;
    jo.PublishAsync.MaxPending = 4096;
    s = natsConnection_JetStream(&b->js, b->nc, &jo);
    if (s != NATS_OK) {
        log_error("bus.connect", "cannot create JetStream context: %s", nats_err_text(s));
        b->closing = 1;
        bus_destroy(b);
        return DRIP_ENOMEM;
    }
    *out = b;
    return DRIP_OK;
}

int bus_connected(const bus *b)
{
    return b ? atomic_load(&((bus *)b)->connected) : 0;
}

void bus_on_state(bus *b, bus_state_fn fn, void *arg)
{
    if (b == NULL) return;
    pthread_mutex_lock(&b->mu);
    b->state_fn = fn;
    b->state_arg = arg;
    pthread_mutex_unlock(&b->mu);
}

const char *bus_last_error(const bus *b)
{
    return b ? b->last_error : "no bus";
}

static void consumer_release(bus_consumer *c);

static void bus_free(bus *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void bus_destroy(bus *b)
{
    if (b == NULL) return;

    /* 1. no more items for the loop; take what is queued */
    pthread_mutex_lock(&b->mu);
    b->closing = 1;
    bus_item *items = b->qhead;
    b->qhead = b->qtail = NULL;
    pthread_mutex_unlock(&b->mu);
    if (b->inflight != NULL) { /* called from a handler: the undispatched rest goes first */
        bus_item *last = b->inflight;
        while (last->next) last = last->next;
        last->next = items;
        items = b->inflight;
        b->inflight = NULL;
    }

    /* 2. stop fetch threads: unsubscribing wakes a Fetch() blocked on the subscription (the
     *    consumer was bound, not created by the subscribe call, so the durable survives) */
    for (bus_consumer *c = b->consumers; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        if (c->sub) natsSubscription_Unsubscribe(c->sub);
        pthread_mutex_unlock(&c->mu);
    }
    for (bus_consumer *c = b->consumers; c; c = c->next)
        if (c->thread_started) pthread_join(c->thread, NULL);

    /* 3. queued but undelivered JetStream messages go back at once instead of after AckWait */
    while (items) {
        bus_item *next = items->next;
        if (items->kind == ITEM_MSG && items->msg->cons != NULL && !items->msg->finished)
            bus_msg_nak(items->msg, 0);
        bus_item_drop(items);
        items = next;
    }

    /* 4. close the connection: flushes pending acks, closes every subscription (joining the
     *    read loop first, so no message can reach a subscription being destroyed) */
    natsConnection_Close(b->nc);
    struct timespec dl = deadline_in_ms(BUS_CLOSE_WAIT_MS);
    pthread_mutex_lock(&b->mu);
    for (;;) {
        int pending = !b->closed_cb;
        for (bus_serve_sub *s = b->serves; s; s = s->next)
            if (!s->completed) pending = 1;
        if (!pending) break;
        if (pthread_cond_timedwait(&b->cv, &b->mu, &dl) == ETIMEDOUT) {
            log_error("bus.destroy", "NATS callbacks did not finish in time");
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);

    /* 5. free subscriptions, detach consumers (freed when their last message goes) */
    bus_serve_sub *s = b->serves;
    while (s) {
        bus_serve_sub *next = s->next;
        natsSubscription_Destroy(s->sub);
        free(s);
        s = next;
    }
    b->serves = NULL;
    bus_consumer *c = b->consumers;
    while (c) {
        bus_consumer *next = c->next;
        pthread_mutex_lock(&c->mu);
        c->b = NULL;
        pthread_mutex_unlock(&c->mu);
        consumer_release(c);
        c = next;
    }
    b->consumers = NULL;
    jsCtx_Destroy(b->js);
    b->js = NULL;
    natsConnection_Destroy(b->nc);
    b->nc = NULL;

    /* 6. let the caller's uv_run finish */
    if (b->async) {
        b->async->data = NULL;
        uv_close((uv_handle_t *)b->async, bus_on_async_close);
        b->async = NULL;
    }
    if (b->draining) b->destroyed = 1; /* bus_on_async frees after the handler returns */
    else bus_free(b);
}

/* --- messages ------------------------------------------------------------------------------- */

static bus_msg *bus_msg_new(natsMsg *nm, bus_consumer *c)
{
    bus_msg *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->nm = nm;
    m->cons = c;
    if (c != NULL) {
        /* parse the ack subject now: later calls must not depend on the subscription */
        jsMsgMetaData *meta = NULL;
        if (natsMsg_GetMetaData(&meta, nm) == NATS_OK) {
            m->deliveries = meta->NumDelivered;
            m->stream_seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
    }
    return m;
}

const char *bus_msg_subject(const bus_msg *m)
{
    return m ? natsMsg_GetSubject(m->nm) : NULL;
}

const char *bus_msg_reply(const bus_msg *m)
{
    const char *r = m ? natsMsg_GetReply(m->nm) : NULL;
    return (r != NULL && r[0] != '\0') ? r : NULL;
}

const void *bus_msg_data(const bus_msg *m)
{
    return m ? natsMsg_GetData(m->nm) : NULL;
}

size_t bus_msg_size(const bus_msg *m)
{
    return m ? (size_t)natsMsg_GetDataLength(m->nm) : 0;
}

const char *bus_msg_header(const bus_msg *m, const char *key)
{
    const char *v = NULL;
    if (m == NULL || key == NULL) return NULL;
    if (natsMsgHeader_Get(m->nm, key, &v) != NATS_OK) return NULL;
    return v;
}

uint64_t bus_msg_deliveries(const bus_msg *m)
{
    return m ? m->deliveries : 0;
}

uint64_t bus_msg_stream_seq(const bus_msg *m)
{
    return m ? m->stream_seq : 0;
}

static void consumer_finish(bus_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    if (--c->outstanding <= 0) {
        c->outstanding = 0;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

void bus_msg_destroy(bus_msg *m)
{
    if (m == NULL) return;
    bus_consumer *c = m->cons;
    /* destroyed without ack: the server redelivers after AckWait; don't stall the fetch thread */
    if (c != NULL && !m->finished) consumer_finish(c);
    natsMsg_Destroy(m->nm);
    free(m);
    if (c != NULL) consumer_release(c);
}

enum { FIN_ACK, FIN_NAK, FIN_TERM };

static int bus_msg_finish(bus_msg *m, int how, int64_t delay_ms)
{
    if (m == NULL) return DRIP_EVALUE;
    if (m->cons == NULL) return DRIP_EINTERNAL; /* core messages have nothing to ack */
    if (m->finished) return DRIP_ECONFLICT;
    natsStatus s;
    switch (how) {
    case FIN_ACK: s = natsMsg_Ack(m->nm, NULL); break;
    case FIN_NAK: s = natsMsg_NakWithDelay(m->nm, delay_ms > 0 ? delay_ms : 0, NULL); break;
    default: s = natsMsg_Term(m->nm, NULL); break;
    }
    /* finished even on failure: the server redelivers after AckWait either way */
    m->finished = 1;
    consumer_finish(m->cons);
    if (s != NATS_OK) {
        log_warn("bus.ack", "ack/nak/term of seq %llu failed: %s",
                 (unsigned long long)m->stream_seq, nats_err_text(s));
    }
    return map_status(s);
}

int bus_msg_ack(bus_msg *m)
{
    return bus_msg_finish(m, FIN_ACK, 0);
}

int bus_msg_nak(bus_msg *m, int64_t delay_ms)
{
    return bus_msg_finish(m, FIN_NAK, delay_ms);
}

int bus_msg_term(bus_msg *m)
{
    return bus_msg_finish(m, FIN_TERM, 0);
}

int bus_msg_in_progress(bus_msg *m)
{
    if (m == NULL) return DRIP_EVALUE;
    if (m->cons == NULL) return DRIP_EINTERNAL;
    if (m->finished) return DRIP_ECONFLICT;
    natsStatus s = natsMsg_InProgress(m->nm, NULL);
    return map_status(s);
}

/* --- core NATS ------------------------------------------------------------------------------ */

static void serve_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *nm, void *closure)
{
    (void)nc;
    (void)sub;
    bus_serve_sub *s = closure;
    bus_msg *m = bus_msg_new(nm, NULL);
    if (m == NULL) {
        natsMsg_Destroy(nm);
        return;
    }
    if (bus_push_msg(s->b, m, s->fn, s->arg) != 0) bus_msg_destroy(m);
}

static void serve_on_complete(void *closure)
{
    bus_serve_sub *s = closure;
    bus *b = s->b;
    pthread_mutex_lock(&b->mu);
    s->completed = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

int bus_serve(bus *b, const char *subject, const char *queue, bus_msg_fn fn, void *arg)
{
    if (b == NULL || subject == NULL || fn == NULL) return DRIP_EVALUE;
    if (b->loop == NULL) return DRIP_EINTERNAL; /* a tool bus has nowhere to deliver */
    bus_serve_sub *s = calloc(1, sizeof *s);
    if (s == NULL) return DRIP_ENOMEM;
    s->b = b;
    s->fn = fn;
    s->arg = arg;
    natsStatus st;
    if (queue != NULL && queue[0] != '\0')
        st = natsConnection_QueueSubscribe(&s->sub, b->nc, subject, queue, serve_on_msg, s);
    else st = natsConnection_Subscribe(&s->sub, b->nc, subject, serve_on_msg, s);
    if (st != NATS_OK) {
        free(s);
        return bus_fail(b, st, "subscribe");
    }
    /* bus_destroy waits for this: after it no delivery thread can touch s or b */
    if (natsSubscription_SetOnCompleteCB(s->sub, serve_on_complete, s) != NATS_OK)
        s->completed = 1;
    pthread_mutex_lock(&b->mu);
    s->next = b->serves;
    b->serves = s;
    pthread_mutex_unlock(&b->mu);
    return DRIP_OK;
}

int bus_respond(bus *b, const bus_msg *m, const void *data, size_t len)
{
    if (b == NULL || m == NULL) return DRIP_EVALUE;
    const char *reply = bus_msg_reply(m);
    if (reply == NULL) return DRIP_OK;
    return bus_publish(b, reply, data, len);
}

int bus_flush(bus *b, int timeout_ms)
{
    if (b == NULL || timeout_ms <= 0) return DRIP_EVALUE;
    natsStatus s = natsConnection_FlushTimeout(b->nc, timeout_ms);
    return s == NATS_OK ? DRIP_OK : bus_fail(b, s, "flush");
}

int bus_publish(bus *b, const char *subject, const void *data, size_t len)
{
    if (b == NULL || subject == NULL) return DRIP_EVALUE;
    if (len > INT_MAX) return DRIP_ETOOLARGE;
    natsStatus s = natsConnection_Publish(b->nc, subject, data, (int)len);
    return s == NATS_OK ? DRIP_OK : bus_fail(b, s, "publish");
}

/* The server reports a publish permission violation asynchronously (-ERR), so the request itself
 * just times out. Decide afterwards: did a violation arrive meanwhile, or does the connection's
 * last error name this subject? */
static int bus_forbidden_since(bus *b, uint64_t seq0, const char *subject)
{
    pthread_mutex_lock(&b->mu);
    int seen = b->perm_seq != seq0;
    pthread_mutex_unlock(&b->mu);
    if (seen) return 1;
    const char *txt = NULL;
    if (natsConnection_GetLastError(b->nc, &txt) == NATS_NOT_PERMITTED && txt != NULL) {
        char quoted[300];
        snprintf(quoted, sizeof quoted, "\"%s\"", subject);
        if (strstr(txt, quoted) != NULL) {
            bus_set_error(b, "%s", txt);
            return 1;
        }
    }
    return 0;
}

int bus_request(bus *b, const char *subject, const void *data, size_t len, int timeout_ms,
                void **reply, size_t *reply_len)
{
    if (reply) *reply = NULL;
    if (reply_len) *reply_len = 0;
    if (b == NULL || subject == NULL || reply == NULL || timeout_ms <= 0) return DRIP_EVALUE;
    if (len > INT_MAX) return DRIP_ETOOLARGE;

    pthread_mutex_lock(&b->mu);
    uint64_t seq0 = b->perm_seq;
    pthread_mutex_unlock(&b->mu);

    natsMsg *r = NULL;
    natsStatus s = natsConnection_Request(&r, b->nc, subject, data, (int)len, timeout_ms);
    if (s == NATS_OK) {
        int n = natsMsg_GetDataLength(r);
        char *copy = malloc((size_t)n + 1); /* NUL-terminated for convenience */
        if (copy == NULL) {
            natsMsg_Destroy(r);
            return DRIP_ENOMEM;
        }
        if (n > 0) memcpy(copy, natsMsg_GetData(r), (size_t)n);
        copy[n] = '\0';
        natsMsg_Destroy(r);
        *reply = copy;
        if (reply_len) *reply_len = (size_t)n;
        return DRIP_OK;
    }
    if (s == NATS_NO_RESPONDERS) {
        bus_set_error(b, "no responders on %s", subject);
        return DRIP_ENOTFOUND;
    }
    if (s == NATS_TIMEOUT) {
        if (bus_forbidden_since(b, seq0, subject)) return DRIP_EFORBIDDEN;
        bus_set_error(b, "request on %s timed out after %d ms", subject, timeout_ms);
        return DRIP_ETIMEOUT;
    }
    return bus_fail(b, s, "request");
}

/* --- JetStream: streams ---------------------------------------------------------------------- */

int bus_stream_ensure(bus *b, const bus_stream_config *c)
{
    if (b == NULL || c == NULL || c->name == NULL || c->nsubjects <= 0 || c->subjects == NULL)
        return DRIP_EVALUE;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = c->name;
    cfg.Subjects = c->subjects;
    cfg.SubjectsLen = c->nsubjects;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.MaxAge = c->max_age_s > 0 ? c->max_age_s * NS_PER_S : 0;
    cfg.Duplicates = c->duplicate_window_s > 0 ? c->duplicate_window_s * NS_PER_S : 0;
    cfg.Replicas = c->replicas > 0 ? c->replicas : 1;

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(&si, b->js, &cfg, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {
        /* exists with another config: bring subjects/limits up to date */
        jerr = 0;
        s = js_UpdateStream(&si, b->js, &cfg, NULL, &jerr);
    }
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK) return DRIP_OK;
    int rc = bus_fail(b, s, "stream ensure");
    char why[BUS_ERR_MAX];
    bus_error_copy(b, why, sizeof why);
    log_error("bus.stream", "cannot create/update stream %s: %s (err_code %d)", c->name, why,
              (int)jerr);
    if (jerr == JSStreamSubjectOverlapErr || jerr == JSStreamNameExistErr ||
        jerr == JSStreamInvalidConfig || jerr == JSStreamUpdateErr)
        return DRIP_ECONFLICT;
    return rc;
}

int bus_stream_info(bus *b, const char *stream, uint64_t *msgs, uint64_t *last_seq)
{
    if (msgs) *msgs = 0;
    if (last_seq) *last_seq = 0;
    if (b == NULL || stream == NULL) return DRIP_EVALUE;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
    if (s != NATS_OK) {
        int rc = bus_fail(b, s, "stream info");
        return jerr == JSStreamNotFoundErr ? DRIP_ENOTFOUND : rc;
    }
    if (msgs) *msgs = si->State.Msgs;
    if (last_seq) *last_seq = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return DRIP_OK;
}

int bus_js_publish(bus *b, const char *subject, const void *data, size_t len, const char *msg_id,
                   int timeout_ms, int *duplicate)
{
    if (duplicate) *duplicate = 0;
    if (b == NULL || subject == NULL || timeout_ms <= 0) return DRIP_EVALUE;
    if (len > INT_MAX) return DRIP_ETOOLARGE;

    natsMsg *nm = NULL;
    natsStatus s = natsMsg_Create(&nm, subject, NULL, data, (int)len);
    if (s == NATS_OK && msg_id != NULL && msg_id[0] != '\0')
        s = natsMsgHeader_Set(nm, "Nats-Msg-Id", msg_id);
    if (s != NATS_OK) {
        natsMsg_Destroy(nm);
        return bus_fail(b, s, "js publish");
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    s = js_PublishMsg(&pa, b->js, nm, &po, &jerr);
    natsMsg_Destroy(nm);
    if (s != NATS_OK) {
        if (s == NATS_NO_RESPONDERS) {
            bus_set_error(b, "no stream stores subject %s", subject);
            return DRIP_ENOTFOUND;
        }
        return bus_fail(b, s, "js publish");
    }
    if (duplicate) *duplicate = pa->Duplicate ? 1 : 0;
    jsPubAck_Destroy(pa);
    return DRIP_OK;
}

int bus_js_publish_many(bus *b, const bus_js_msg *msgs, size_t n, int timeout_ms)
{
    if (b == NULL || timeout_ms <= 0) return DRIP_EVALUE;
    unsigned long failures = atomic_load(&b->async_failures);
    natsStatus s = NATS_OK;
    for (size_t i = 0; i < n && s == NATS_OK; i++) {
        if (msgs[i].len > INT_MAX) return DRIP_ETOOLARGE;
        natsMsg *nm = NULL;
        s = natsMsg_Create(&nm, msgs[i].subject, NULL, msgs[i].data, (int)msgs[i].len);
        if (s == NATS_OK && msgs[i].msg_id && msgs[i].msg_id[0])
            s = natsMsgHeader_Set(nm, "Nats-Msg-Id", msgs[i].msg_id);
        if (s == NATS_OK) s = js_PublishMsgAsync(b->js, &nm, NULL); /* takes nm on success */
        if (nm) natsMsg_Destroy(nm);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    /* wait for the acks of what went out, even after a failure (nothing left in flight) */
    natsStatus w = js_PublishAsyncComplete(b->js, &po);
    if (s == NATS_OK) s = w;
    if (s != NATS_OK) {
        if (w == NATS_TIMEOUT) {
            /* drop what is still pending: it is retried as a whole by the caller */
            natsMsgList pending = {0};
            if (js_PublishAsyncGetPendingList(&pending, b->js) == NATS_OK) natsMsgList_Destroy(&pending);
        }
        return bus_fail(b, s, "js publish (pipelined)");
    }
    if (atomic_load(&b->async_failures) != failures) {
        bus_set_error(b, "%lu pipelined publish(es) refused by JetStream",
                      atomic_load(&b->async_failures) - failures);
        return DRIP_EIO;
    }
    return DRIP_OK;
}

/* --- JetStream: durable pull consumers ------------------------------------------------------- */

static void consumer_free(bus_consumer *c)
{
    if (c->sub) natsSubscription_Destroy(c->sub);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->stream);
    free(c->durable);
    free(c->filter);
    free(c);
}

static void consumer_release(bus_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) consumer_free(c);
}

/* Sleeps up to ms unless stopped. Returns 1 when stopped. */
static int consumer_sleep(bus_consumer *c, int64_t ms)
{
    struct timespec dl = deadline_in_ms(ms);
    pthread_mutex_lock(&c->mu);
    while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &dl) != ETIMEDOUT) {
    }
    int stop = c->stop;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

static void consumer_config(const bus_consumer *c, jsConsumerConfig *cc)
{
    jsConsumerConfig_Init(cc);
    cc->Durable = c->durable;
    cc->AckPolicy = js_AckExplicit;
    cc->DeliverPolicy = js_DeliverAll;
    cc->MaxDeliver = c->max_deliver;
    cc->AckWait = (int64_t)c->ack_wait_s * NS_PER_S;
    cc->FilterSubject = c->filter;
}

/* Creates the durable if absent (explicitly: one created by js_PullSubscribe would be deleted on
 * unsubscribe), aligns its redelivery limits, then binds a pull subscription to it. */
static int consumer_setup(bus_consumer *c)
{
    bus *b = c->b;
    jsConsumerConfig cc;
    consumer_config(c, &cc);
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, b->js, c->stream, c->durable, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
        jerr = 0;
        s = js_AddConsumer(&ci, b->js, c->stream, &cc, NULL, &jerr);
        if (s != NATS_OK && (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr)) {
            /* another instance created it first */
            jerr = 0;
            s = js_GetConsumerInfo(&ci, b->js, c->stream, c->durable, NULL, &jerr);
        } else if (s == NATS_OK) {
            log_info("bus.consumer", "created durable %s on %s", c->durable, c->stream);
        }
    } else if (s == NATS_OK && ci->Config != NULL &&
               (ci->Config->MaxDeliver != cc.MaxDeliver || ci->Config->AckWait != cc.AckWait)) {
        jsConsumerInfo *ui = NULL;
        natsStatus us = js_UpdateConsumer(&ui, b->js, c->stream, &cc, NULL, &jerr);
        if (us != NATS_OK)
            log_warn("bus.consumer", "cannot update durable %s: %s", c->durable,
                     nats_err_text(us));
        jsConsumerInfo_Destroy(ui);
    }
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        int rc = bus_fail(b, s, "consumer");
        if (jerr == JSStreamNotFoundErr) rc = DRIP_ENOTFOUND;
        return rc;
    }

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->stream;
    so.Consumer = c->durable;
    natsSubscription *sub = NULL;
    s = js_PullSubscribe(&sub, b->js, NULL, c->durable, NULL, &so, &jerr);
    if (s != NATS_OK) return bus_fail(b, s, "pull subscribe");
    pthread_mutex_lock(&c->mu);
    if (c->stop) {
        pthread_mutex_unlock(&c->mu);
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
        return DRIP_OK;
    }
    c->sub = sub;
    pthread_mutex_unlock(&c->mu);
    return DRIP_OK;
}

/* Drops the subscription so the next round binds afresh (e.g. the durable was deleted). Only
 * called with no outstanding message, so nothing will ack through the old subscription. */
static void consumer_unbind(bus_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    natsSubscription *old = c->sub;
    c->sub = NULL;
    pthread_mutex_unlock(&c->mu);
    if (old) {
        natsSubscription_Unsubscribe(old);
        natsSubscription_Destroy(old);
    }
}

static void consumer_dispatch(bus_consumer *c, natsMsgList *list)
{
    pthread_mutex_lock(&c->mu);
    c->outstanding += list->Count;
    c->refs += list->Count;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < list->Count; i++) {
        natsMsg *nm = list->Msgs[i];
        list->Msgs[i] = NULL; /* ours now */
        bus_msg *m = bus_msg_new(nm, c);
        if (m == NULL) {
            natsMsg_Nak(nm, NULL);
            natsMsg_Destroy(nm);
            consumer_finish(c);
            consumer_release(c);
            continue;
        }
        if (bus_push_msg(c->b, m, c->fn, c->arg) != 0) {
            /* shutting down: hand it straight back to the server */
            bus_msg_nak(m, 0);
            bus_msg_destroy(m);
        }
    }
}

static void *consumer_main(void *arg)
{
    bus_consumer *c = arg;
    int errors = 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stop;
        natsSubscription *sub = c->sub;
        pthread_mutex_unlock(&c->mu);
        if (stop) break;

        if (sub == NULL) {
            if (bus_connected(c->b)) {
                if (consumer_setup(c) == DRIP_OK) {
                    errors = 0;
                    continue;
                }
                if (errors++ == 0) {
                    char why[BUS_ERR_MAX];
                    bus_error_copy(c->b, why, sizeof why);
                    log_warn("bus.consumer", "cannot bind durable %s on %s (retrying): %s",
                             c->durable, c->stream, why);
                }
            }
            if (consumer_sleep(c, BUS_RETRY_MS)) break;
            continue;
        }

        natsMsgList list = {NULL, 0};
        jsErrCode jerr = 0;
        int64_t t0 = mono_ms();
        natsStatus s = natsSubscription_Fetch(&list, sub, c->batch, BUS_FETCH_TIMEOUT_MS, &jerr);
        int64_t took = mono_ms() - t0;
        if (took > 3 * BUS_FETCH_TIMEOUT_MS)
            log_warn("bus.fetch", "fetch on %s took %lld ms (asked for %d)", c->durable,
                     (long long)took, BUS_FETCH_TIMEOUT_MS);

        if (s == NATS_OK && list.Count > 0) {
            errors = 0;
            consumer_dispatch(c, &list);
            natsMsgList_Destroy(&list);
            /* the next batch only after every message of this one was finished */
            pthread_mutex_lock(&c->mu);
            while (c->outstanding > 0 && !c->stop) pthread_cond_wait(&c->cv, &c->mu);
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        natsMsgList_Destroy(&list);
        if (s == NATS_OK || s == NATS_TIMEOUT) {
            /* 3.4.1 can return a stale 408 from an earlier pull at once (nats.c #631): never spin */
            if (took < BUS_FETCH_TIMEOUT_MS / 2 && consumer_sleep(c, 50)) break;
            continue;
        }
        pthread_mutex_lock(&c->mu);
        stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop) break;
        if (errors++ == 0)
            log_warn("bus.fetch", "fetch on %s failed: %s", c->durable, natsStatus_GetText(s));
        if (consumer_sleep(c, BUS_RETRY_MS)) break;
        if (errors >= 3 && bus_connected(c->b)) {
            consumer_unbind(c); /* rebinds (and recreates the durable) next round */
            errors = 0;
        }
    }
    nats_ReleaseThreadMemory();
    return NULL;
}

int bus_consume(bus *b, const bus_consumer_config *cfg, bus_msg_fn fn, void *arg)
{
    if (b == NULL || cfg == NULL || fn == NULL || cfg->stream == NULL || cfg->durable == NULL ||
        cfg->max_deliver <= 0 || cfg->ack_wait_s <= 0 || cfg->batch <= 0)
        return DRIP_EVALUE;
    if (b->loop == NULL) return DRIP_EINTERNAL;

    bus_consumer *c = calloc(1, sizeof *c);
    if (c == NULL) return DRIP_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return DRIP_ENOMEM;
    }
    if (cond_init_monotonic(&c->cv) != 0) {
        pthread_mutex_destroy(&c->mu);
        free(c);
        return DRIP_ENOMEM;
    }
    c->b = b;
    c->refs = 1;
    c->fn = fn;
    c->arg = arg;
    c->stream = bus_strdup(cfg->stream);
    c->durable = bus_strdup(cfg->durable);
    c->filter = bus_strdup(cfg->filter_subject);
    c->max_deliver = cfg->max_deliver;
    c->ack_wait_s = cfg->ack_wait_s;
    c->batch = cfg->batch > BUS_MAX_BATCH ? BUS_MAX_BATCH : cfg->batch;
    if (!c->stream || !c->durable || (cfg->filter_subject && !c->filter)) {
        consumer_free(c);
        return DRIP_ENOMEM;
    }
    /* connected: surface configuration errors now; otherwise the thread keeps trying */
    if (bus_connected(b)) {
        int rc = consumer_setup(c);
        if (rc != DRIP_OK) {
            consumer_free(c);
            return rc;
        }
    }
    if (pthread_create(&c->thread, NULL, consumer_main, c) != 0) {
        if (c->sub) natsSubscription_Unsubscribe(c->sub);
        consumer_free(c);
        return DRIP_ENOMEM;
    }
    c->thread_started = 1;
    c->next = b->consumers;
    b->consumers = c;
    return DRIP_OK;
}

/* --- JetStream: scan ---------------------------------------------------------------------------- */

int bus_stream_scan(bus *b, const char *stream, const char *filter, uint64_t start_seq,
                    int (*fn)(const bus_msg *m, void *arg), void *arg)
{
    if (b == NULL || stream == NULL || fn == NULL) return DRIP_EVALUE;
    if (start_seq == 0) start_seq = 1;

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
    if (s != NATS_OK) {
        int rc = bus_fail(b, s, "stream info");
        return jerr == JSStreamNotFoundErr ? DRIP_ENOTFOUND : rc;
    }
    uint64_t last = si->State.LastSeq, nmsgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (nmsgs == 0 || start_seq > last) return DRIP_OK;

    /* ephemeral, unacknowledged pull consumer; the server reaps it if we die before deleting */
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.AckPolicy = js_AckNone;
    cc.DeliverPolicy = js_DeliverByStartSequence;
    cc.OptStartSeq = start_seq;
    cc.FilterSubject = filter;
    cc.InactiveThreshold = 300 * NS_PER_S;
    cc.MemoryStorage = true;
    jsConsumerInfo *ci = NULL;
    s = js_AddConsumer(&ci, b->js, stream, &cc, NULL, &jerr);
    if (s != NATS_OK) return bus_fail(b, s, "scan consumer");
    char *name = bus_strdup(ci->Name);
    uint64_t pending = ci->NumPending;
    jsConsumerInfo_Destroy(ci);
    if (name == NULL) return DRIP_ENOMEM;

    int rc = DRIP_OK;
    natsSubscription *sub = NULL;
    if (pending > 0) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream;
        so.Consumer = name;
        /* 3.4.1 refuses to bind unless this matches the consumer's own setting */
        so.Config.MemoryStorage = true;
        s = js_PullSubscribe(&sub, b->js, NULL, NULL, NULL, &so, &jerr);
        if (s != NATS_OK) rc = bus_fail(b, s, "scan subscribe");
    }
    int done = (pending == 0 || rc != DRIP_OK);
    int64_t idle_deadline = mono_ms() + BUS_SCAN_IDLE_MS;
    while (!done) {
        natsMsgList list = {NULL, 0};
        s = natsSubscription_Fetch(&list, sub, BUS_SCAN_BATCH, BUS_FETCH_TIMEOUT_MS, &jerr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
            natsMsgList_Destroy(&list);
            /* our own deadline: Fetch alone cannot be trusted to bound the wait (#631) */
            if (mono_ms() > idle_deadline) {
                bus_set_error(b, "scan of %s stalled", stream);
                rc = DRIP_ETIMEOUT;
                break;
            }
            continue;
        }
        if (s != NATS_OK) {
            rc = bus_fail(b, s, "scan fetch");
            break;
        }
        idle_deadline = mono_ms() + BUS_SCAN_IDLE_MS;
        for (int i = 0; i < list.Count && !done; i++) {
            bus_msg m = {list.Msgs[i], NULL, 0, 0, 1};
            uint64_t left = 0;
            jsMsgMetaData *meta = NULL;
            if (natsMsg_GetMetaData(&meta, m.nm) == NATS_OK) {
                m.deliveries = meta->NumDelivered;
                m.stream_seq = meta->Sequence.Stream;
                left = meta->NumPending;
                jsMsgMetaData_Destroy(meta);
            }
            if (m.stream_seq > last) { /* stored after the call began */
                done = 1;
                break;
            }
            if (fn(&m, arg) != 0) done = 1;
            if (m.stream_seq >= last || left == 0) done = 1;
        }
        natsMsgList_Destroy(&list);
    }
    if (sub) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    js_DeleteConsumer(b->js, stream, name, NULL, NULL); /* else the server reaps it when idle */
    free(name);
    return rc;
}
