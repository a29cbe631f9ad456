/* drip-sampler — the publicly verifiable target draw (drip-draw-v1, MISSION §6) and the
 * departments' confirmation of the drawn list (比对和确认, MISSION §3 steps 3-4).
 *
 * Consumes <PREFIX>_REGISTRY (its own projection: targets versioned and typed, reference data)
 * and <PREFIX>_PLANNER (tasks, commitments, draw orders); publishes SamplerEvents on
 * <PREFIX>_SAMPLER through its outbox; answers
 * <prefix>.samp.cmd.PP.CC.DD.DEPT.{draw_get,draw_population,confirm}.
 *
 * Configuration (environment; common ones in README "Configuration"):
 *   DRIP_NATS_URL, DRIP_NATS_USER, DRIP_NATS_PASSWORD, DRIP_PG, DRIP_PREFIX, DRIP_HTTP_HOST,
 *   DRIP_HTTP_PORT (default 19103), DRIP_MAX_PAYLOAD, DRIP_LOG_LEVEL
 *   DRIP_SAMPLER_OPERATORS       operator department codes, comma-separated (default "OPS")
 *   DRIP_SAMPLER_DB_POOL         database connections (default 6)
 *   DRIP_SAMPLER_CHECKS_PER_INSPECTOR
 *                                checks one inspector can do within a task window, for the
 *                                capacity check before a draw (default 20)
 *   DRIP_SAMPLER_SETTLE_MS       a draw waits until its at_ms is this far in the past, so that
 *                                registry changes committed before at_ms are published (2000)
 *   DRIP_SAMPLER_CATCHUP_WAIT_MS how long a draw order waits for the registry projection to
 *                                catch up before it is put back and retried (20000)
 *   DRIP_SAMPLER_OVERDUE_INTERVAL_MS
 *                                period of the overdue check (default 60000)
 *   DRIP_SAMPLER_ORDER_ACK_WAIT_S
 *                                JetStream ack wait of the planner consumer: longer than the
 *                                longest draw; after a crash the order comes back after it (600)
 *   DRIP_SAMPLER_SORT_MEM_MB     memory for the draw's population sort (default 24): a larger
 *                                population is sorted in runs of this size, spilled to an
 *                                unlinked file and merged (spool.c)
 *   DRIP_SAMPLER_SORT_RUN_ROWS   at most this many rows per sorted run (default 0: memory only;
 *                                tests set it low to exercise the spill and the merge)
 *   DRIP_SAMPLER_SPOOL_DIR       where spilled runs go (default $TMPDIR, else /tmp)
 *   DRIP_SAMPLER_PASS2_THREADS   threads computing a draw's tickets (default 2, at most 16)
 *   DRIP_STREAM_REPLICAS         JetStream replicas of the sampler stream (default 1)
 *   UV_THREADPOOL_SIZE           libuv worker threads (set to 8 unless given; a draw holds one)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sampler.h"
#include "status.h"

static int migrate_work(PGconn *c, void *arg)
{
    (void)arg;
    return db_migrate(c, SAMPLER_MIGRATIONS, SAMPLER_NMIGRATIONS);
}

static int health(void *arg, char *why, unsigned cap)
{
    sampler *s = arg;
    if (!bus_connected(s->bus)) {
        snprintf(why, cap, "nats disconnected");
        return 0;
    }
    if (!db_pool_healthy(s->db)) {
        snprintf(why, cap, "database unreachable");
        return 0;
    }
    if (!s->reg_consumer) {
        snprintf(why, cap, "waiting for stream %s", s->reg_stream);
        return 0;
    }
    return 1;
}

static int stream_setup(sampler *s)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.evt.sampler.>", s->cfg.prefix);
    const char *subjects[1] = {subj};
    bus_stream_config sc = {.name = s->own_stream,
                            .subjects = subjects,
                            .nsubjects = 1,
                            .max_age_s = 0,
                            /* longer than any outbox retry horizon; inboxes catch the rest */
                            .duplicate_window_s = 24 * 3600,
                            .replicas = (int)cfg_int("DRIP_STREAM_REPLICAS", 1, 1, 5)};
    return bus_stream_ensure(s->bus, &sc);
}

static void metrics_setup(sampler *s)
{
    metrics *m = s->metrics;
    s->m_draws =
        metrics_counter_add(m, "drip_sampler_draws_total", "result=\"drawn\"", "Draw orders");
    s->m_refused =
        metrics_counter_add(m, "drip_sampler_draws_total", "result=\"refused\"", "Draw orders");
    s->m_confirms = metrics_counter_add(m, "drip_sampler_confirm_requests_total", "result=\"ok\"",
                                        "Confirmation requests");
    s->m_replays = metrics_counter_add(m, "drip_sampler_confirm_requests_total",
                                       "result=\"replayed\"", "Confirmation requests");
    s->m_replacements = metrics_counter_add(m, "drip_sampler_replacements_total", NULL,
                                            "Targets replaced after a rejection");
    s->m_overdue = metrics_counter_add(m, "drip_sampler_overdue_draws_total", NULL,
                                       "Draws escalated with targets unconfirmed by the deadline");
    s->m_queries =
        metrics_counter_add(m, "drip_sampler_queries_total", "result=\"ok\"", "Queries answered");
    s->m_query_err = metrics_counter_add(m, "drip_sampler_queries_total", "result=\"error\"",
                                         "Queries answered");
    s->m_draw_ms = metrics_gauge_add(m, "drip_sampler_last_draw_milliseconds", NULL,
                                     "Duration of the last draw (both population passes included)");
    s->m_draw_pop = metrics_gauge_add(m, "drip_sampler_last_draw_population", NULL,
                                      "Population size of the last draw");
}

static void after_apply(void *arg)
{
    sampler *s = arg;
    outbox_relay_kick(s->relay);
}

/* Binds the durable consumers; a missing stream (its producer not started yet) is retried by the
 * start timer. [loop thread; creation blocks briefly] */
static void consumers_bind(sampler *s)
{
    if (!s->reg_consumer) {
        bus_consumer_config cc = {.stream = s->reg_stream,
                                  .durable = "sampler",
                                  .max_deliver = 10000,
                                  .ack_wait_s = 60,
                                  .batch = 64};
        if (consumer_start(&s->reg_consumer, s->loop, s->bus, s->db, s->metrics, &cc, "sampler",
                           sampler_registry_apply, NULL, s) == DRIP_OK) {
            atomic_store(&s->reg_bound, 1);
            log_info("sampler.bound", "consuming %s", s->reg_stream);
        }
    }
    if (!s->plan_consumer) {
        /* one message at a time (a nak must not let a later order overtake an earlier one);
         * a draw may take minutes: ack_wait DRIP_SAMPLER_ORDER_ACK_WAIT_S */
        bus_consumer_config cc = {.stream = s->plan_stream,
                                  .durable = "sampler",
                                  .max_deliver = 10000,
                                  .ack_wait_s = s->order_ack_wait_s,
                                  .batch = 1};
        if (consumer_start(&s->plan_consumer, s->loop, s->bus, s->db, s->metrics, &cc, "sampler",
                           sampler_planner_apply, after_apply, s) == DRIP_OK)
            log_info("sampler.bound", "consuming %s", s->plan_stream);
    }
    if (s->reg_consumer && s->plan_consumer) uv_timer_stop(&s->start_timer);
}

static void on_start_timer(uv_timer_t *t)
{
    sampler *s = t->data;
    static const int every = 30; /* log the wait every 30 s */
    consumers_bind(s);
    if (!s->reg_consumer || !s->plan_consumer) {
        if (++s->bind_attempts % every == 1)
            log_warn("sampler.waiting", "waiting for stream(s):%s%s", s->reg_consumer ? "" : " ",
                     s->reg_consumer ? (s->plan_consumer ? "" : s->plan_stream) : s->reg_stream);
    }
}

static void on_signal(uv_signal_t *sig, int signum)
{
    sampler *s = sig->data;
    log_info("sampler.stop", "signal %d: stopping", signum);
    atomic_store(&s->stopping, 1);
    uv_stop(sig->loop);
}

int main(void)
{
    sampler s;
    memset(&s, 0, sizeof s);
    setenv("UV_THREADPOOL_SIZE", "8", 0); /* before the first uv_queue_work */
    uv_loop_t *loop = uv_default_loop();
    s.loop = loop;

    /* 1. configuration and logging */
    cfg_common_load(&s.cfg, 19103);
    log_init("sampler", log_level_parse(s.cfg.log_level, LOG_INFO));
    s.operators = cfg_str("DRIP_SAMPLER_OPERATORS", "OPS");
    s.checks_per_inspector = (int)cfg_int("DRIP_SAMPLER_CHECKS_PER_INSPECTOR", 20, 1, 100000);
    s.settle_ms = cfg_int("DRIP_SAMPLER_SETTLE_MS", 2000, 0, 600000);
    s.catchup_wait_ms = cfg_int("DRIP_SAMPLER_CATCHUP_WAIT_MS", 20000, 0, 300000);
    s.overdue_interval_ms = (int)cfg_int("DRIP_SAMPLER_OVERDUE_INTERVAL_MS", 60000, 100, 86400000);
    s.order_ack_wait_s = (int)cfg_int("DRIP_SAMPLER_ORDER_ACK_WAIT_S", 600, 5, 86400);
    s.spool_budget = (size_t)cfg_int("DRIP_SAMPLER_SORT_MEM_MB", 24, 1, 4096) << 20;
    s.spool_run_rows = (size_t)cfg_int("DRIP_SAMPLER_SORT_RUN_ROWS", 0, 0, INT64_MAX);
    s.pass2_threads = (int)cfg_int("DRIP_SAMPLER_PASS2_THREADS", 2, 1, SAMPLER_PASS2_MAX);
    s.spool_dir = cfg_str("DRIP_SAMPLER_SPOOL_DIR", cfg_str("TMPDIR", "/tmp"));
    if (getenv("DRIP_SAMPLER_SCAN"))
        log_warn("sampler.config", "DRIP_SAMPLER_SCAN is obsolete and ignored: the population is "
                                   "read unsorted and sorted by the sampler");
    if (strchr(s.cfg.prefix, '.') || !*s.cfg.prefix) {
        log_error("sampler.config", "DRIP_PREFIX must be one subject token");
        return 2;
    }
    subject_stream_name(s.reg_stream, sizeof s.reg_stream, s.cfg.prefix, "registry");
    subject_stream_name(s.plan_stream, sizeof s.plan_stream, s.cfg.prefix, "planner");
    subject_stream_name(s.own_stream, sizeof s.own_stream, s.cfg.prefix, "sampler");
    sampler_projection_config(&s);

    /* 2. database: pool and migrations */
    db_pool_create(&s.db, loop, s.cfg.pg_conninfo, (int)cfg_int("DRIP_SAMPLER_DB_POOL", 6, 3, 64));
    while (db_pool_run(s.db, migrate_work, &s) != DRIP_OK) {
        log_warn("sampler.start", "database not ready; retrying in 1 s");
        uv_sleep(1000);
    }

    /* 3. bus: connection, event stream, outbox relay, consumers */
    bus_options bo = {.url = s.cfg.nats_url,
                      .user = s.cfg.nats_user,
                      .pass = s.cfg.nats_pass,
                      .name = "drip-sampler"};
    if (bus_create(&s.bus, loop, &bo) != DRIP_OK) {
        log_error("sampler.start", "cannot set up the NATS connection");
        return 1;
    }
    while (stream_setup(&s) != DRIP_OK) {
        log_warn("sampler.start", "JetStream not ready; retrying in 1 s");
        uv_sleep(1000);
    }
    s.metrics = metrics_create(loop, "sampler");
    metrics_setup(&s);
    s.relay = outbox_relay_create(loop, s.db, s.bus, s.metrics, 1000);
    uv_timer_init(loop, &s.start_timer);
    s.start_timer.data = &s;
    consumers_bind(&s);
    if (!s.reg_consumer || !s.plan_consumer)
        uv_timer_start(&s.start_timer, on_start_timer, 1000, 1000);

    /* 4. serve requests, escalate overdue draws, metrics and health */
    if (sampler_serve(&s) != DRIP_OK) {
        log_error("sampler.start", "cannot subscribe: %s", bus_last_error(s.bus));
        return 1;
    }
    bus_flush(s.bus, 5000); /* subscriptions registered at the server before we say "ready" */
    sampler_overdue_start(&s);
    metrics_set_health(s.metrics, health, &s);
    if (metrics_listen(s.metrics, s.cfg.http_host, s.cfg.http_port) != DRIP_OK) {
        log_error("sampler.start", "cannot listen on %s:%d", s.cfg.http_host, s.cfg.http_port);
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    sigterm.data = sigint.data = &s;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    log_info("sampler.ready", "serving %s.samp.cmd.> (metrics on %s:%d)", s.cfg.prefix,
             s.cfg.http_host, s.cfg.http_port);
    uv_run(loop, UV_RUN_DEFAULT);

    /* 5. orderly stop: requests are dropped and a draw in progress gives up (s.stopping; its
     *    order is redelivered); finish in-flight work and the relay round while the bus is up,
     *    then close everything */
    uv_timer_stop(&s.start_timer);
    sampler_overdue_stop(&s);
    while (s.inflight > 0 || db_pool_pending(s.db) > 0)
        uv_run(loop, UV_RUN_ONCE);
    outbox_relay_destroy(s.relay);
    while (db_pool_pending(s.db) > 0)
        uv_run(loop, UV_RUN_ONCE);
    bus_destroy(s.bus);
    consumer_destroy(s.reg_consumer);
    consumer_destroy(s.plan_consumer);
    metrics_destroy(s.metrics);
    uv_close((uv_handle_t *)&s.start_timer, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    db_pool_destroy(s.db);
    sampler_tbatch_free(&s.tbatch);
    uv_loop_close(loop);
    log_info("sampler.stopped", "bye");
    return 0;
}
