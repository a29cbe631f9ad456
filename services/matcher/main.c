/* drip-matcher — the random inspector draw, random matching and the joint inspection form
 * (一企一表) of every confirmed target (drip-match-v1, docs/match.md; MISSION §3 step 5).
 *
 * Consumes <PREFIX>_REGISTRY (inspectors, items, departments, regions, calendar, targets),
 * <PREFIX>_PLANNER (tasks) and <PREFIX>_SAMPLER (DRAW_SETTLED); publishes MatcherEvents on
 * <PREFIX>_MATCHER through its outbox; answers
 * <prefix>.match.cmd.PP.CC.DD.DEPT.{match_get,match_pool,match_report,match_assign}.
 *
 * Configuration (environment; common ones in README "Configuration"):
 *   DRIP_NATS_URL, DRIP_NATS_USER, DRIP_NATS_PASSWORD, DRIP_PG, DRIP_PREFIX, DRIP_HTTP_HOST,
 *   DRIP_HTTP_PORT (default 19104), DRIP_MAX_PAYLOAD, DRIP_LOG_LEVEL
 *   DRIP_MATCHER_OPERATORS     operator department codes, comma-separated (default "OPS")
 *   DRIP_MATCHER_DB_POOL       database connections (default 6)
 *   DRIP_MATCHER_CATCHUP_WAIT_MS
 *                              how long a settlement waits for the registry and planner projections
 *                              to catch up before it is put back and retried (20000)
 *   DRIP_MATCHER_ACK_WAIT_S    JetStream ack wait of the sampler consumer: longer than the longest
 *                              run; after a crash the settlement comes back after it (600)
 *   DRIP_STREAM_REPLICAS       JetStream replicas of the matcher stream (default 1)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "matcher.h"
#include "status.h"

static int migrate_work(PGconn *c, void *arg)
{
    (void)arg;
    return db_migrate(c, MATCHER_MIGRATIONS, MATCHER_NMIGRATIONS);
}

static int health(void *arg, char *why, unsigned cap)
{
    matcher *m = arg;
    if (!bus_connected(m->bus)) {
        snprintf(why, cap, "nats disconnected");
        return 0;
    }
    if (!db_pool_healthy(m->db)) {
        snprintf(why, cap, "database unreachable");
        return 0;
    }
    if (!m->reg_consumer) {
        snprintf(why, cap, "waiting for stream %s", m->reg_stream);
        return 0;
    }
    return 1;
}

static int stream_setup(matcher *m)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.evt.matcher.>", m->cfg.prefix);
    const char *subjects[1] = {subj};
    bus_stream_config sc = {.name = m->own_stream,
                            .subjects = subjects,
                            .nsubjects = 1,
                            .max_age_s = 0,
                            .duplicate_window_s = 24 * 3600,
                            .replicas = (int)cfg_int("DRIP_STREAM_REPLICAS", 1, 1, 5)};
    return bus_stream_ensure(m->bus, &sc);
}

static void metrics_setup(matcher *m)
{
    metrics *x = m->metrics;
    m->m_runs = metrics_counter_add(x, "drip_matcher_runs_total", NULL, "Tasks matched");
    m->m_forms = metrics_counter_add(x, "drip_matcher_forms_total", NULL, "Forms (一企一表) made");
    m->m_unstaffed = metrics_counter_add(x, "drip_matcher_unstaffed_slots_total", NULL,
                                         "Department slots left unstaffed by the draw");
    m->m_assign = metrics_counter_add(x, "drip_matcher_direct_assignments_total", NULL,
                                      "Direct assignment requests recorded");
    m->m_queries =
        metrics_counter_add(x, "drip_matcher_queries_total", "result=\"ok\"", "Queries answered");
    m->m_query_err =
        metrics_counter_add(x, "drip_matcher_queries_total", "result=\"error\"", "Queries answered");
    m->m_run_ms = metrics_gauge_add(x, "drip_matcher_last_run_milliseconds", NULL,
                                    "Duration of the last matching run");
}

static void after_apply(void *arg)
{
    matcher *m = arg;
    outbox_relay_kick(m->relay);
}

/* Binds the durable consumers; a missing stream (its producer not started yet) is retried by the
 * start timer. */
static void consumers_bind(matcher *m)
{
    if (!m->reg_consumer) {
        bus_consumer_config cc = {
            .stream = m->reg_stream, .durable = "matcher", .max_deliver = 10000, .ack_wait_s = 60,
            .batch = 64};
        if (consumer_start(&m->reg_consumer, m->loop, m->bus, m->db, m->metrics, &cc, "matcher",
                           matcher_registry_apply, NULL, m) == DRIP_OK)
            log_info("matcher.bound", "consuming %s", m->reg_stream);
    }
    if (!m->plan_consumer) {
        bus_consumer_config cc = {
            .stream = m->plan_stream, .durable = "matcher", .max_deliver = 10000, .ack_wait_s = 60,
            .batch = 64};
        if (consumer_start(&m->plan_consumer, m->loop, m->bus, m->db, m->metrics, &cc,
                           "matcher_planner", matcher_planner_apply, NULL, m) == DRIP_OK)
            log_info("matcher.bound", "consuming %s", m->plan_stream);
    }
    if (!m->samp_consumer) {
        /* one message at a time; a run may take minutes: ack_wait DRIP_MATCHER_ACK_WAIT_S */
        bus_consumer_config cc = {.stream = m->samp_stream,
                                  .durable = "matcher",
                                  .max_deliver = 10000,
                                  .ack_wait_s = (int)cfg_int("DRIP_MATCHER_ACK_WAIT_S", 600, 5, 86400),
                                  .batch = 1};
        if (consumer_start(&m->samp_consumer, m->loop, m->bus, m->db, m->metrics, &cc,
                           "matcher_sampler", matcher_sampler_apply, after_apply, m) == DRIP_OK)
            log_info("matcher.bound", "consuming %s", m->samp_stream);
    }
    if (m->reg_consumer && m->plan_consumer && m->samp_consumer) uv_timer_stop(&m->start_timer);
}

static void on_start_timer(uv_timer_t *t)
{
    matcher *m = t->data;
    consumers_bind(m);
    if ((!m->reg_consumer || !m->plan_consumer || !m->samp_consumer) && ++m->bind_attempts % 30 == 1)
        log_warn("matcher.waiting", "waiting for stream(s):%s%s%s",
                 m->reg_consumer ? "" : " registry", m->plan_consumer ? "" : " planner",
                 m->samp_consumer ? "" : " sampler");
}

static void on_signal(uv_signal_t *sig, int signum)
{
    matcher *m = sig->data;
    log_info("matcher.stop", "signal %d: stopping", signum);
    atomic_store(&m->stopping, 1);
    uv_stop(sig->loop);
}

int main(void)
{
    matcher m;
    memset(&m, 0, sizeof m);
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    uv_loop_t *loop = uv_default_loop();
    m.loop = loop;

    /* 1. configuration and logging */
    cfg_common_load(&m.cfg, 19104);
    log_init("matcher", log_level_parse(m.cfg.log_level, LOG_INFO));
    m.operators = cfg_str("DRIP_MATCHER_OPERATORS", "OPS");
    m.catchup_wait_ms = cfg_int("DRIP_MATCHER_CATCHUP_WAIT_MS", 20000, 0, 600000);
    if (strchr(m.cfg.prefix, '.') || !*m.cfg.prefix) {
        log_error("matcher.config", "DRIP_PREFIX must be one subject token");
        return 2;
    }
    subject_stream_name(m.reg_stream, sizeof m.reg_stream, m.cfg.prefix, "registry");
    subject_stream_name(m.plan_stream, sizeof m.plan_stream, m.cfg.prefix, "planner");
    subject_stream_name(m.samp_stream, sizeof m.samp_stream, m.cfg.prefix, "sampler");
    subject_stream_name(m.own_stream, sizeof m.own_stream, m.cfg.prefix, "matcher");
    matcher_projection_config(&m);

    /* 2. database: pool and migrations */
    db_pool_create(&m.db, loop, m.cfg.pg_conninfo, (int)cfg_int("DRIP_MATCHER_DB_POOL", 6, 4, 64));
    while (db_pool_run(m.db, migrate_work, &m) != DRIP_OK) {
        log_warn("matcher.start", "database not ready; retrying in 1 s");
        uv_sleep(1000);
    }

    /* 3. bus: connection, event stream, outbox relay, consumers */
    bus_options bo = {.url = m.cfg.nats_url,
                      .user = m.cfg.nats_user,
                      .pass = m.cfg.nats_pass,
                      .name = "drip-matcher"};
    if (bus_create(&m.bus, loop, &bo) != DRIP_OK) {
        log_error("matcher.start", "cannot set up the NATS connection");
        return 1;
    }
    while (stream_setup(&m) != DRIP_OK) {
        log_warn("matcher.start", "JetStream not ready; retrying in 1 s");
        uv_sleep(1000);
    }
    m.metrics = metrics_create(loop, "matcher");
    metrics_setup(&m);
    m.relay = outbox_relay_create(loop, m.db, m.bus, m.metrics, 1000);
    uv_timer_init(loop, &m.start_timer);
    m.start_timer.data = &m;
    consumers_bind(&m);
    if (!m.reg_consumer || !m.plan_consumer || !m.samp_consumer)
        uv_timer_start(&m.start_timer, on_start_timer, 1000, 1000);

    /* 4. serve requests, metrics and health */
    if (matcher_serve(&m) != DRIP_OK) {
        log_error("matcher.start", "cannot subscribe: %s", bus_last_error(m.bus));
        return 1;
    }
    bus_flush(m.bus, 5000);
    metrics_set_health(m.metrics, health, &m);
    if (metrics_listen(m.metrics, m.cfg.http_host, m.cfg.http_port) != DRIP_OK) {
        log_error("matcher.start", "cannot listen on %s:%d", m.cfg.http_host, m.cfg.http_port);
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    sigterm.data = sigint.data = &m;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    log_info("matcher.ready", "serving %s.match.cmd.> (metrics on %s:%d)", m.cfg.prefix,
             m.cfg.http_host, m.cfg.http_port);
    uv_run(loop, UV_RUN_DEFAULT);

    /* 5. orderly stop: the relay finishes its current round only (a backlog waits in the outbox
     *    for the next start), in-flight work finishes while the bus is up */
    uv_timer_stop(&m.start_timer);
    outbox_relay_destroy(m.relay);
    while (m.inflight > 0 || db_pool_pending(m.db) > 0)
        uv_run(loop, UV_RUN_ONCE);
    bus_destroy(m.bus);
    consumer_destroy(m.reg_consumer);
    consumer_destroy(m.plan_consumer);
    consumer_destroy(m.samp_consumer);
    metrics_destroy(m.metrics);
    uv_close((uv_handle_t *)&m.start_timer, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    db_pool_destroy(m.db);
    uv_loop_close(loop);
    log_info("matcher.stopped", "bye");
    return 0;
}
