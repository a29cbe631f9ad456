/* drip-registry — keeps 一单两库 (inspection items, target directory, inspector directory) and the
 * reference data (regions, departments, working-day calendar), versioned, with every accepted
 * change published on JetStream through the outbox.
 *
 * Configuration (environment; common ones in README "Configuration"):
 *   DRIP_NATS_URL, DRIP_NATS_USER, DRIP_NATS_PASSWORD, DRIP_PG, DRIP_PREFIX, DRIP_HTTP_HOST,
 *   DRIP_HTTP_PORT (default 19101), DRIP_MAX_PAYLOAD, DRIP_LOG_LEVEL
 *   DRIP_REGISTRY_OPERATORS  operator department codes, comma-separated (default "OPS")
 *   DRIP_REGISTRY_DB_POOL    database connections (default 3)
 *   DRIP_STREAM_REPLICAS     JetStream replicas of the registry stream (default 1)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "registry.h"
#include "status.h"

static int migrate_work(PGconn *c, void *arg)
{
    registry *r = arg;
    int st = db_migrate(c, REGISTRY_MIGRATIONS, REGISTRY_NMIGRATIONS);
    if (st == DRIP_OK) st = refcache_reload(r->ref, c);
    return st;
}

static int health(void *arg, char *why, unsigned cap)
{
    registry *r = arg;
    if (!bus_connected(r->bus)) {
        snprintf(why, cap, "nats disconnected");
        return 0;
    }
    if (!db_pool_healthy(r->db)) {
        snprintf(why, cap, "database unreachable");
        return 0;
    }
    return 1;
}

static int stream_setup(registry *r)
{
    char name[64], subj[SUBJECT_MAX];
    subject_stream_name(name, sizeof name, r->cfg.prefix, "registry");
    snprintf(subj, sizeof subj, "%s.evt.registry.>", r->cfg.prefix);
    const char *subjects[1] = {subj};
    bus_stream_config sc = {.name = name, .subjects = subjects, .nsubjects = 1,
                            .max_age_s = 0,
                            /* longer than any outbox retry horizon; inboxes catch the rest */
                            .duplicate_window_s = 24 * 3600,
                            .replicas = (int)cfg_int("DRIP_STREAM_REPLICAS", 1, 1, 5)};
    return bus_stream_ensure(r->bus, &sc);
}

static void metrics_setup(registry *r)
{
    metrics *m = r->metrics;
    r->m_batches_ok = metrics_counter_add(m, "drip_registry_batches_total", "result=\"ok\"",
                                          "Change batches processed");
    r->m_batches_err = metrics_counter_add(m, "drip_registry_batches_total", "result=\"error\"",
                                           "Change batches processed");
    r->m_replays = metrics_counter_add(m, "drip_registry_batches_total", "result=\"replayed\"",
                                       "Change batches processed");
    r->m_queries = metrics_counter_add(m, "drip_registry_queries_total", "result=\"ok\"",
                                       "Queries answered");
    r->m_query_err = metrics_counter_add(m, "drip_registry_queries_total", "result=\"error\"",
                                         "Queries answered");
    static const char *const names[6] = {NULL, "created", "updated", "unchanged", "retired",
                                          "rejected"};
    for (int o = 1; o <= 5; o++) {
        char label[32];
        snprintf(label, sizeof label, "outcome=\"%s\"", names[o]);
        r->m_outcome[o] = metrics_counter_add(m, "drip_registry_records_total", label,
                                              "Records by outcome");
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    registry *r = s->data;
    log_info("registry.stop", "signal %d: stopping", signum);
    r->stopping = 1;
    uv_stop(s->loop);
}

int main(void)
{
    registry r;
    memset(&r, 0, sizeof r);
    uv_loop_t *loop = uv_default_loop();
    r.loop = loop;

    /* 1. configuration and logging */
    cfg_common_load(&r.cfg, 19101);
    log_init("registry", log_level_parse(r.cfg.log_level, LOG_INFO));
    r.operators = cfg_str("DRIP_REGISTRY_OPERATORS", "OPS");
    if (strchr(r.cfg.prefix, '.') || !*r.cfg.prefix) {
        log_error("registry.config", "DRIP_PREFIX must be one subject token");
        return 2;
    }

    /* 2. database: pool, migrations, reference cache */
    r.ref = refcache_create();
    db_pool_create(&r.db, loop, r.cfg.pg_conninfo,
                   (int)cfg_int("DRIP_REGISTRY_DB_POOL", 3, 1, 32));
    while (db_pool_run(r.db, migrate_work, &r) != DRIP_OK) {
        log_warn("registry.start", "database not ready; retrying in 1 s");
        uv_sleep(1000);
    }

    /* 3. bus: connection, event stream, outbox relay */
    bus_options bo = {.url = r.cfg.nats_url, .user = r.cfg.nats_user, .pass = r.cfg.nats_pass,
                      .name = "drip-registry"};
    if (bus_create(&r.bus, loop, &bo) != DRIP_OK) {
        log_error("registry.start", "cannot set up the NATS connection");
        return 1;
    }
    while (stream_setup(&r) != DRIP_OK) {
        log_warn("registry.start", "JetStream not ready; retrying in 1 s");
        uv_sleep(1000);
    }
    r.metrics = metrics_create(loop, "registry");
    metrics_setup(&r);
    r.relay = outbox_relay_create(loop, r.db, r.bus, r.metrics, 1000);

    /* 4. serve requests, metrics and health */
    if (registry_serve(&r) != DRIP_OK) {
        log_error("registry.start", "cannot subscribe: %s", bus_last_error(r.bus));
        return 1;
    }
    bus_flush(r.bus, 5000); /* subscriptions registered at the server before we say "ready" */
    metrics_set_health(r.metrics, health, &r);
    if (metrics_listen(r.metrics, r.cfg.http_host, r.cfg.http_port) != DRIP_OK) {
        log_error("registry.start", "cannot listen on %s:%d", r.cfg.http_host, r.cfg.http_port);
        return 1;
    }
    uv_signal_t sigterm, sigint;
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    sigterm.data = sigint.data = &r;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    log_info("registry.ready", "serving %s.reg.> (metrics on %s:%d)", r.cfg.prefix,
             r.cfg.http_host, r.cfg.http_port);
    uv_run(loop, UV_RUN_DEFAULT);

    /* 5. orderly stop: new requests are dropped (r.stopping); finish in-flight work and the
     *    relay round in progress while the bus is still up, then close everything */
    while (r.inflight > 0 || db_pool_pending(r.db) > 0) uv_run(loop, UV_RUN_ONCE);
    outbox_relay_destroy(r.relay);
    while (db_pool_pending(r.db) > 0) uv_run(loop, UV_RUN_ONCE);
    bus_destroy(r.bus);
    metrics_destroy(r.metrics);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    db_pool_destroy(r.db);
    refcache_destroy(r.ref);
    uv_loop_close(loop);
    log_info("registry.stopped", "bye");
    return 0;
}
