#include "outbox.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "status.h"

const char OUTBOX_DDL[] =
    "CREATE TABLE outbox ("
    "  id bigserial PRIMARY KEY,"
    "  msg_id text NOT NULL,"
    "  subject text NOT NULL,"
    "  payload bytea NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE inbox ("
    "  consumer text NOT NULL,"
    "  msg_id text NOT NULL,"
    "  processed_at timestamptz NOT NULL DEFAULT now(),"
    "  reply bytea,"
    "  PRIMARY KEY (consumer, msg_id));"
    /* Payloads are protobuf (already dense) and written once, read once: compressing them costs
     * more CPU than the bytes it saves. */
    "ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL;"
    "ALTER TABLE inbox ALTER COLUMN reply SET STORAGE EXTERNAL;";

#define RELAY_BATCH 1000

int outbox_add(PGconn *c, const char *subject, const char *msg_id, const void *payload, size_t len)
{
    const char *values[3] = {subject, msg_id, payload};
    int lengths[3] = {0, 0, (int)len};
    int formats[3] = {0, 0, 1};
    PGresult *r = PQexecParams(c, "INSERT INTO outbox(subject, msg_id, payload) VALUES ($1,$2,$3)",
                               3, NULL, values, lengths, formats, 0);
    int st = db_result_status(c, r, "outbox insert");
    PQclear(r);
    return st;
}

void outbox_batch_init(outbox_batch *b)
{
    db_buf_init(&b->rows);
    b->n = 0;
}

void outbox_batch_add(outbox_batch *b, const char *subject, const char *msg_id, const void *payload,
                      size_t len)
{
    db_buf_copy_text(&b->rows, subject);
    db_buf_put(&b->rows, "\t", 1);
    db_buf_copy_text(&b->rows, msg_id);
    db_buf_put(&b->rows, "\t", 1);
    db_buf_copy_bytea(&b->rows, payload, len);
    db_buf_put(&b->rows, "\n", 1);
    b->n++;
}

int outbox_batch_flush(PGconn *c, outbox_batch *b)
{
    if (b->n == 0) return DRIP_OK;
    int st = db_copy_begin(c, "COPY outbox (subject, msg_id, payload) FROM STDIN");
    if (st == DRIP_OK) st = db_copy_put(c, b->rows.data, b->rows.len);
    if (st == DRIP_OK) st = db_copy_end(c);
    db_buf_reset(&b->rows);
    b->n = 0;
    return st;
}

void outbox_batch_free(outbox_batch *b)
{
    db_buf_free(&b->rows);
    b->n = 0;
}

struct outbox_relay {
    uv_loop_t *loop;
    db_pool *pool;
    bus *bus;
    uv_timer_t timer;
    int running;     /* a round is queued or running */
    int again;       /* kicked while running: run once more */
    int closing;
    int timer_closed;
    atomic_long backlog;
    metrics_counter *relayed;
    metrics_counter *failures;
    metrics_gauge *backlog_gauge;
};

typedef struct {
    outbox_relay *r;
    int published;
    int more;
} relay_round;

/* One round: claim a batch, publish it, delete it, all in one transaction so that a failure
 * anywhere leaves the rows for the next round. */
static int relay_work(PGconn *c, void *arg)
{
    relay_round *rd = arg;
    outbox_relay *r = rd->r;
    int st = db_exec(c, "BEGIN");
    if (st != DRIP_OK) return st;
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT id, msg_id, subject, payload FROM outbox ORDER BY id LIMIT %d "
             "FOR UPDATE SKIP LOCKED",
             RELAY_BATCH);
    /* binary results: payload arrives as raw bytes */
    PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
    st = db_result_status(c, res, "outbox claim");
    int n = st == DRIP_OK ? PQntuples(res) : 0;
    db_buf ids;
    db_buf_init(&ids);
    db_buf_puts(&ids, "{");
    /* the whole batch pipelined, then every ack awaited: all published, or all retried later */
    bus_js_msg *msgs = calloc(n ? (size_t)n : 1, sizeof *msgs);
    if (!msgs) abort();
    for (int i = 0; st == DRIP_OK && i < n; i++) {
        msgs[i].msg_id = PQgetvalue(res, i, 1);
        msgs[i].subject = PQgetvalue(res, i, 2);
        msgs[i].data = PQgetvalue(res, i, 3);
        msgs[i].len = (size_t)PQgetlength(res, i, 3);
    }
    if (st == DRIP_OK && n > 0) {
        st = bus_js_publish_many(r->bus, msgs, (size_t)n, 10000);
        if (st != DRIP_OK)
            log_warn("outbox.publish", "publishing %d events failed (%s): %s; retried", n,
                     drip_status_name(st), bus_last_error(r->bus));
    }
    free(msgs);
    for (int i = 0; st == DRIP_OK && i < n; i++) {
        /* id is a big-endian int8 in binary format */
        const unsigned char *p = (const unsigned char *)PQgetvalue(res, i, 0);
        long long id = 0;
        for (int k = 0; k < 8; k++) id = (id << 8) | p[k];
        db_buf_printf(&ids, "%s%lld", i ? "," : "", id);
        rd->published++;
    }
    db_buf_puts(&ids, "}");
    PQclear(res);
    if (rd->published > 0) {
        /* Delete what was acknowledged even if a later publish failed. */
        const char *params[1] = {ids.data};
        int dst;
        PGresult *d = db_query(c, "DELETE FROM outbox WHERE id = ANY($1::bigint[])", 1, params, &dst);
        PQclear(d);
        if (dst != DRIP_OK) st = dst;
    }
    db_buf_free(&ids);
    if (st == DRIP_OK || rd->published > 0) {
        int cst = db_exec(c, "COMMIT");
        if (st == DRIP_OK) st = cst;
    } else {
        db_exec(c, "ROLLBACK");
    }
    rd->more = (st == DRIP_OK && n == RELAY_BATCH);
    if (rd->more) {
        /* a full round: more follow at once; a count(*) over a large backlog per round would
         * cost more than the round (the gauge is a lower bound meanwhile) */
        if (atomic_load(&r->backlog) < RELAY_BATCH) atomic_store(&r->backlog, RELAY_BATCH);
    } else {
        PGresult *cnt = db_query(c, "SELECT count(*) FROM outbox", 0, NULL, NULL);
        if (cnt) {
            atomic_store(&r->backlog, strtol(PQgetvalue(cnt, 0, 0), NULL, 10));
            PQclear(cnt);
        }
    }
    return st;
}

static void relay_start(outbox_relay *r);

static void relay_free_if_done(outbox_relay *r)
{
    if (r->closing && !r->running && r->timer_closed) free(r);
}

static void relay_done(int status, void *arg)
{
    relay_round *rd = arg;
    outbox_relay *r = rd->r;
    if (rd->published) metrics_counter_inc(r->relayed, (uint64_t)rd->published);
    if (status != DRIP_OK) metrics_counter_inc(r->failures, 1);
    if (r->backlog_gauge) metrics_gauge_set(r->backlog_gauge, atomic_load(&r->backlog));
    int more = rd->more;
    free(rd);
    r->running = 0;
    if (r->closing) {
        relay_free_if_done(r);
        return;
    }
    /* On failure wait for the timer instead of spinning against a broken bus. */
    if (status == DRIP_OK && (more || r->again)) {
        r->again = 0;
        relay_start(r);
    }
}

static void relay_start(outbox_relay *r)
{
    if (r->running || r->closing) {
        r->again = 1;
        return;
    }
    relay_round *rd = calloc(1, sizeof *rd);
    if (!rd) abort();
    rd->r = r;
    r->running = 1;
    if (db_pool_submit(r->pool, relay_work, relay_done, rd) != DRIP_OK) {
        r->running = 0;
        free(rd);
    }
}

static void relay_tick(uv_timer_t *t)
{
    relay_start(t->data);
}

outbox_relay *outbox_relay_create(uv_loop_t *loop, db_pool *pool, bus *b, metrics *m,
                                  int interval_ms)
{
    outbox_relay *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->loop = loop;
    r->pool = pool;
    r->bus = b;
    if (m) {
        r->relayed = metrics_counter_add(m, "drip_outbox_relayed_total", NULL,
                                         "Events published from the outbox to JetStream");
        r->failures = metrics_counter_add(m, "drip_outbox_relay_failures_total", NULL,
                                          "Relay rounds that failed (retried later)");
        r->backlog_gauge = metrics_gauge_add(m, "drip_outbox_backlog", NULL,
                                             "Events committed but not yet relayed");
    }
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, relay_tick, (uint64_t)interval_ms, (uint64_t)interval_ms);
    relay_start(r); /* events left by a previous run */
    return r;
}

void outbox_relay_kick(outbox_relay *r)
{
    relay_start(r);
}

static void relay_timer_closed(uv_handle_t *h)
{
    outbox_relay *r = h->data;
    r->timer_closed = 1;
    relay_free_if_done(r);
}

void outbox_relay_destroy(outbox_relay *r)
{
    if (!r) return;
    r->closing = 1;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, relay_timer_closed);
}

long outbox_relay_backlog(const outbox_relay *r)
{
    return atomic_load(&((outbox_relay *)r)->backlog);
}

int inbox_claim(PGconn *c, const char *consumer, const char *msg_id, void **reply, size_t *len)
{
    const char *values[2] = {consumer, msg_id};
    int st;
    PGresult *r = db_query(c,
                           "INSERT INTO inbox(consumer, msg_id) VALUES ($1,$2) "
                           "ON CONFLICT DO NOTHING",
                           2, values, &st);
    if (!r) return st;
    int inserted = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (inserted) return 1;
    if (reply) {
        *reply = NULL;
        *len = 0;
        PGresult *q = PQexecParams(c, "SELECT reply FROM inbox WHERE consumer = $1 AND msg_id = $2",
                                   2, NULL, values, NULL, NULL, 1);
        st = db_result_status(c, q, "inbox reply");
        if (st != DRIP_OK) {
            PQclear(q);
            return st;
        }
        if (PQntuples(q) == 1 && !PQgetisnull(q, 0, 0)) {
            *len = (size_t)PQgetlength(q, 0, 0);
            *reply = malloc(*len ? *len : 1);
            if (!*reply) abort();
            memcpy(*reply, PQgetvalue(q, 0, 0), *len);
        }
        PQclear(q);
    }
    return 0;
}

int inbox_set_reply(PGconn *c, const char *consumer, const char *msg_id, const void *reply,
                    size_t len)
{
    const char *values[3] = {consumer, msg_id, reply};
    int lengths[3] = {0, 0, (int)len};
    int formats[3] = {0, 0, 1};
    PGresult *r = PQexecParams(c, "UPDATE inbox SET reply = $3 WHERE consumer = $1 AND msg_id = $2",
                               3, NULL, values, lengths, formats, 0);
    int st = db_result_status(c, r, "inbox reply");
    PQclear(r);
    return st;
}

int inbox_lookup(PGconn *c, const char *consumer, const char *msg_id, void **reply, size_t *len)
{
    const char *values[2] = {consumer, msg_id};
    *reply = NULL;
    *len = 0;
    PGresult *q = PQexecParams(c, "SELECT reply FROM inbox WHERE consumer = $1 AND msg_id = $2", 2,
                               NULL, values, NULL, NULL, 1);
    int st = db_result_status(c, q, "inbox lookup");
    if (st != DRIP_OK) {
        PQclear(q);
        return st;
    }
    int found = PQntuples(q) == 1;
    if (found && !PQgetisnull(q, 0, 0)) {
        *len = (size_t)PQgetlength(q, 0, 0);
        *reply = malloc(*len ? *len : 1);
        if (!*reply) abort();
        memcpy(*reply, PQgetvalue(q, 0, 0), *len);
    }
    PQclear(q);
    return found;
}

int inbox_record(PGconn *c, const char *consumer, const char *msg_id, const void *reply, size_t len)
{
    const char *values[3] = {consumer, msg_id, reply};
    int lengths[3] = {0, 0, (int)len};
    int formats[3] = {0, 0, 1};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO inbox(consumer, msg_id, reply) VALUES ($1,$2,$3) "
                               "ON CONFLICT DO NOTHING",
                               3, NULL, values, lengths, formats, 0);
    int st = db_result_status(c, r, "inbox record");
    int inserted = st == DRIP_OK && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return st != DRIP_OK ? st : inserted;
}
