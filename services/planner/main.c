/* drip-planner — annual inspection plans (年度抽查计划) and their tasks (抽查任务): validation against
 * the registry's reference data, publication with the drip-draw-v1 commitment, recorded
 * adjustments, draw orders for the sampler, and the task state the sampler's outcomes imply. Every
 * change is published on JetStream (stream <PREFIX>_PLANNER) through the outbox.
 *
 * Configuration (environment; common ones in README "Configuration"):
 *   DRIP_NATS_URL, DRIP_NATS_USER, DRIP_NATS_PASSWORD, DRIP_PG, DRIP_PREFIX, DRIP_HTTP_HOST,
 *   DRIP_HTTP_PORT (default 19102), DRIP_MAX_PAYLOAD, DRIP_LOG_LEVEL
 *   DRIP_PLANNER_OPERATORS  operator department codes, comma-separated (default "OPS")
 *   DRIP_PLANNER_DB_POOL    database connections (default 4)
 *   DRIP_STREAM_REPLICAS    JetStream replicas of the streams it ensures (default 1)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "planner.h"
#include "regproj.h"
#include "status.h"

static int migrate_work(PGconn *c, void *arg)
{
    (void)arg;
    return db_migrate(c, PLANNER_MIGRATIONS, PLANNER_NMIGRATIONS);
}

static int health(void *arg, char *why, unsigned cap)
{
    planner *p = arg;
    if (!bus_connected(p->bus)) {
        snprintf(why, cap, "nats disconnected");
        return 0;
    }
    if (!db_pool_healthy(p->db)) {
        snprintf(why, cap, "database unreachable");
        return 0;
    }
    return 1;
}

/* Ensures stream <PREFIX>_<SERVICE> on "<prefix>.evt.<service>.>" with the settings every drip
 * service uses for its own stream, so that whichever daemon starts first creates the same stream
 * and the others' calls change nothing. */
static int stream_ensure(planner *p, const char *service)
{
    char name[64], subj[SUBJECT_MAX];
    subject_stream_name(name, sizeof name, p->cfg.prefix, service);
    snprintf(subj, sizeof subj, "%s.evt.%s.>", p->cfg.prefix, service);
    const char *subjects[1] = {subj};
    bus_stream_config sc = {.name = name, .subjects = subjects, .nsubjects = 1,
                            .max_age_s = 0,
                            /* longer than any outbox retry horizon; inboxes catch the rest */
                            .duplicate_window_s = 24 * 3600,
                            .replicas = (int)cfg_int("DRIP_STREAM_REPLICAS", 1, 1, 5)};
    return bus_stream_ensure(p->bus, &sc);
}

/* Our own stream, and the two we consume: they may not exist yet when we start. */
static int streams_setup(planner *p)
{
    int st = stream_ensure(p, "planner");
    if (st == DRIP_OK) st = stream_ensure(p, "registry");
    if (st == DRIP_OK) st = stream_ensure(p, "sampler");
    if (st == DRIP_OK) st = stream_ensure(p, "matcher");
    return st;
}

static void metrics_setup(planner *p)
{
    metrics *m = p->metrics;
    const char *help = "Plan commands answered";
    p->m_ok = metrics_counter_add(m, "drip_planner_commands_total", "result=\"ok\"", help);
    p->m_err = metrics_counter_add(m, "drip_planner_commands_total", "result=\"error\"", help);
    p->m_replays = metrics_counter_add(m, "drip_planner_commands_total", "result=\"replayed\"", help);
    p->m_internal = metrics_counter_add(m, "drip_planner_commands_total", "result=\"internal\"", help);
}

static void after_commit(void *arg)
{
    planner *p = arg;
    outbox_relay_kick(p->relay);
}

/* The projection of departments, regions and items, and the sampler's outcomes. */
static int consumers_start(planner *p, regproj_config *proj)
{
    char registry[64], sampler[64], matcher[64];
    subject_stream_name(registry, sizeof registry, p->cfg.prefix, "registry");
    subject_stream_name(sampler, sizeof sampler, p->cfg.prefix, "sampler");
    subject_stream_name(matcher, sizeof matcher, p->cfg.prefix, "matcher");
    bus_consumer_config rc = {.stream = registry, .durable = "planner", .filter_subject = NULL,
                              .max_deliver = 20, .ack_wait_s = 60, .batch = 64};
    int st = consumer_start(&p->registry_in, p->loop, p->bus, p->db, p->metrics, &rc, "planner",
                            regproj_apply, NULL, proj);
    if (st != DRIP_OK) return st;
    bus_consumer_config sc = {.stream = sampler, .durable = "planner", .filter_subject = NULL,
                              .max_deliver = 20, .ack_wait_s = 60, .batch = 64};
    st = consumer_start(&p->sampler_in, p->loop, p->bus, p->db, p->metrics, &sc, "planner",
                        planner_sampler_apply, after_commit, p);
    if (st != DRIP_OK) return st;
    /* only the run events: forms and assignments are not the planner's business */
    char filter[SUBJECT_MAX];
    snprintf(filter, sizeof filter, "%s.evt.matcher.*.*.*.*.matched", p->cfg.prefix);
    bus_consumer_config mc = {.stream = matcher, .durable = "planner", .filter_subject = filter,
                              .max_deliver = 20, .ack_wait_s = 60, .batch = 64};
    return consumer_start(&p->matcher_in, p->loop, p->bus, p->db, p->metrics, &mc, "planner",
                          planner_matcher_apply, after_commit, p);
}

static void on_signal(uv_signal_t *s, int signum)
{
    planner *p = s->data;
    log_info("planner.stop", "signal %d: stopping", signum);
    p->stopping = 1;
    uv_stop(s->loop);
}

int main(void)
{
    planner p;
    memset(&p, 0, sizeof p);
    uv_loop_t *loop = uv_default_loop();
    p.loop = loop;

    /* 1. configuration and logging */
    cfg_common_load(&p.cfg, 19102);
    log_init("planner", log_level_parse(p.cfg.log_level, LOG_INFO));
    p.operators = cfg_str("DRIP_PLANNER_OPERATORS", "OPS");
    if (strchr(p.cfg.prefix, '.') || !*p.cfg.prefix) {
        log_error("planner.config", "DRIP_PREFIX must be one subject token");
        return 2;
    }

    /* 2. database: pool and migrations */
    db_pool_create(&p.db, loop, p.cfg.pg_conninfo,
                   (int)cfg_int("DRIP_PLANNER_DB_POOL", 4, 2, 32));
    while (db_pool_run(p.db, migrate_work, &p) != DRIP_OK) {
        log_warn("planner.start", "database not ready; retrying in 1 s");
        uv_sleep(1000);
    }

    /* 3. bus: connection, streams, outbox relay */
    bus_options bo = {.url = p.cfg.nats_url, .user = p.cfg.nats_user, .pass = p.cfg.nats_pass,
                      .name = "drip-planner"};
    if (bus_create(&p.bus, loop, &bo) != DRIP_OK) {
        log_error("planner.start", "cannot set up the NATS connection");
        return 1;
    }
    while (streams_setup(&p) != DRIP_OK) {
        log_warn("planner.start", "JetStream not ready; retrying in 1 s");
        uv_sleep(1000);
    }
    p.metrics = metrics_create(loop, "planner");
    metrics_setup(&p);
    p.relay = outbox_relay_create(loop, p.db, p.bus, p.metrics, 1000);

    /* 4. consume the registry (projection) and the sampler (task states) */
    regproj_config proj = {.kind_mask = REGPROJ_BIT(DRIP__RECORD_KIND__KIND_DEPARTMENT) |
                                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_REGION) |
                                        REGPROJ_BIT(DRIP__RECORD_KIND__KIND_ITEM),
                           .on_change = NULL, .arg = NULL};
    if (consumers_start(&p, &proj) != DRIP_OK) {
        log_error("planner.start", "cannot start stream consumers: %s", bus_last_error(p.bus));
        return 1;
    }

    /* 5. serve commands, metrics and health */
    if (planner_serve(&p) != DRIP_OK) {
        log_error("planner.start", "cannot subscribe: %s", bus_last_error(p.bus));
        return 1;
    }
    bus_flush(p.bus, 5000); /* subscriptions registered at the server before we say "ready" */
    metrics_set_health(p.metrics, health, &p);
    if (metrics_listen(p.metrics, p.cfg.http_host, p.cfg.http_port) != DRIP_OK) {
        log_error("planner.start", "cannot listen on %s:%d", p.cfg.http_host, p.cfg.http_port);
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    sigterm.data = sigint.data = &p;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    log_info("planner.ready", "serving %s.plan.cmd.> (metrics on %s:%d)", p.cfg.prefix,
             p.cfg.http_host, p.cfg.http_port);
    uv_run(loop, UV_RUN_DEFAULT);

    /* 6. orderly stop: new commands are dropped (p.stopping); finish in-flight work and the relay
     *    round in progress while the bus is still up; bus_destroy stops the consumers' delivery,
     *    then the consumers free what they still queued */
    while (p.inflight > 0 || db_pool_pending(p.db) > 0) uv_run(loop, UV_RUN_ONCE);
    outbox_relay_destroy(p.relay);
    while (db_pool_pending(p.db) > 0) uv_run(loop, UV_RUN_ONCE);
    bus_destroy(p.bus);
    consumer_destroy(p.registry_in);
    consumer_destroy(p.sampler_in);
    consumer_destroy(p.matcher_in);
    metrics_destroy(p.metrics);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    db_pool_destroy(p.db);
    uv_loop_close(loop);
    log_info("planner.stopped", "bye");
    return 0;
}
