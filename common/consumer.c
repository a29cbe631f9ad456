#include "consumer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "status.h"

struct consumer {
    uv_loop_t *loop;
    bus *bus;
    db_pool *db;
    char name[64];
    consumer_apply_fn apply;
    consumer_after_fn after;
    void *arg;
    /* one message at a time: the queue of messages waiting for the one in the database */
    bus_msg **queue;
    size_t qhead, qlen, qcap;
    int busy;
    atomic_ulong applied;
    metrics_counter *m_applied, *m_dups, *m_poison, *m_retries;
};

typedef struct {
    consumer *c;
    bus_msg *m;
    int duplicate;
} job;

static int job_tx(PGconn *conn, void *arg)
{
    job *j = arg;
    const char *id = bus_msg_header(j->m, "Nats-Msg-Id");
    char fallback[32];
    if (!id || !*id) {
        /* producers always set it; fall back to the stream sequence so that a bare message is
         * still applied once */
        snprintf(fallback, sizeof fallback, "seq:%llu", (unsigned long long)bus_msg_stream_seq(j->m));
        id = fallback;
    }
    int st = inbox_claim(conn, j->c->name, id, NULL, NULL);
    if (st < 0) return st;
    if (st == 0) {
        j->duplicate = 1;
        return DRIP_OK;
    }
    return j->c->apply(conn, bus_msg_data(j->m), bus_msg_size(j->m), bus_msg_subject(j->m), j->c->arg);
}

static int job_work(PGconn *conn, void *arg)
{
    return db_transaction(conn, job_tx, arg);
}

static void pump(consumer *c);

static void job_done(int status, void *arg)
{
    job *j = arg;
    consumer *c = j->c;
    if (status == DRIP_OK) {
        bus_msg_ack(j->m);
        if (j->duplicate) {
            metrics_counter_inc(c->m_dups, 1);
        } else {
            atomic_fetch_add(&c->applied, 1);
            metrics_counter_inc(c->m_applied, 1);
            if (c->after) c->after(c->arg);
        }
    } else if (status == DRIP_EBADMSG) {
        log_error("consumer.poison", "%s: terminating undecodable message on %s (seq %llu)", c->name,
                  bus_msg_subject(j->m), (unsigned long long)bus_msg_stream_seq(j->m));
        metrics_counter_inc(c->m_poison, 1);
        bus_msg_term(j->m);
    } else {
        log_warn("consumer.retry", "%s: %s; message redelivered later", c->name,
                 drip_status_name(status));
        metrics_counter_inc(c->m_retries, 1);
        bus_msg_nak(j->m, 1000);
    }
    bus_msg_destroy(j->m);
    free(j);
    c->busy = 0;
    pump(c);
}

static void pump(consumer *c)
{
    if (c->busy || c->qlen == 0) return;
    bus_msg *m = c->queue[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->c = c;
    j->m = m;
    c->busy = 1;
    if (db_pool_submit(c->db, job_work, job_done, j) != DRIP_OK) {
        c->busy = 0;
        bus_msg_nak(m, 1000);
        bus_msg_destroy(m);
        free(j);
    }
}

static void on_msg(bus_msg *m, void *arg)
{
    consumer *c = arg;
    if (c->qlen == c->qcap) {
        size_t ncap = c->qcap ? c->qcap * 2 : 64;
        bus_msg **q = malloc(ncap * sizeof *q);
        if (!q) abort();
        for (size_t i = 0; i < c->qlen; i++) q[i] = c->queue[(c->qhead + i) % c->qcap];
        free(c->queue);
        c->queue = q;
        c->qhead = 0;
        c->qcap = ncap;
    }
    c->queue[(c->qhead + c->qlen) % c->qcap] = m;
    c->qlen++;
    pump(c);
}

int consumer_start(consumer **out, uv_loop_t *loop, bus *b, db_pool *db, metrics *m,
                   const bus_consumer_config *cfg, const char *name, consumer_apply_fn apply,
                   consumer_after_fn after, void *arg)
{
    consumer *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->loop = loop;
    c->bus = b;
    c->db = db;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->apply = apply;
    c->after = after;
    c->arg = arg;
    if (m) {
        char label[96];
        snprintf(label, sizeof label, "consumer=\"%s\",result=\"applied\"", c->name);
        c->m_applied = metrics_counter_add(m, "drip_consumer_messages_total", label, "Consumed messages");
        snprintf(label, sizeof label, "consumer=\"%s\",result=\"duplicate\"", c->name);
        c->m_dups = metrics_counter_add(m, "drip_consumer_messages_total", label, "Consumed messages");
        snprintf(label, sizeof label, "consumer=\"%s\",result=\"poison\"", c->name);
        c->m_poison = metrics_counter_add(m, "drip_consumer_messages_total", label, "Consumed messages");
        snprintf(label, sizeof label, "consumer=\"%s\",result=\"retry\"", c->name);
        c->m_retries = metrics_counter_add(m, "drip_consumer_messages_total", label, "Consumed messages");
    }
    int st = bus_consume(b, cfg, on_msg, c);
    if (st != DRIP_OK) {
        free(c);
        return st;
    }
    *out = c;
    return DRIP_OK;
}

unsigned long consumer_applied(const consumer *c)
{
    return atomic_load(&((consumer *)c)->applied);
}

void consumer_destroy(consumer *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->qlen; i++) bus_msg_destroy(c->queue[(c->qhead + i) % c->qcap]);
    free(c->queue);
    free(c);
}

static long long info_field(const char *txt, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(txt, pat);
    if (!p) return -1;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    char *end;
    long long v = strtoll(p, &end, 10);
    return end == p ? -1 : v;
}

int consumer_caught_up(bus *b, const char *stream, const char *durable, char *why, size_t cap)
{
    char subj[256];
    snprintf(subj, sizeof subj, "$JS.API.CONSUMER.INFO.%s.%s", stream, durable);
    void *reply = NULL;
    size_t len = 0;
    int st = bus_request(b, subj, "", 0, 5000, &reply, &len);
    if (st != DRIP_OK) {
        snprintf(why, cap, "consumer info %s/%s: %s", stream, durable, drip_status_name(st));
        return 0;
    }
    char *txt = malloc(len + 1);
    if (!txt) abort();
    memcpy(txt, reply, len);
    txt[len] = '\0';
    free(reply);
    long long pending = info_field(txt, "num_pending");
    long long unacked = info_field(txt, "num_ack_pending");
    int ok = !strstr(txt, "\"error\"") && pending == 0 && unacked == 0;
    if (!ok)
        snprintf(why, cap, "%s consumer %s: %lld pending, %lld unacknowledged", stream, durable,
                 pending, unacked);
    free(txt);
    return ok;
}
