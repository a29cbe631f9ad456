/* matcher.h — internals of the matcher daemon (drip-match-v1 inspector draw, 一企一表 dispatch).
 *
 * Flow:
 *  - registry consumer (durable "matcher" on <PREFIX>_REGISTRY): regproj keeps departments,
 *    regions, items, inspectors and the calendar; registry.c keeps targets' names and regions.
 *  - planner consumer (durable "matcher" on <PREFIX>_PLANNER): tasks (planner.c).
 *  - sampler consumer (durable "matcher" on <PREFIX>_SAMPLER, one message at a time):
 *    DRAW_SETTLED parts are stored; the last part runs the matching (run.c) inside the consumer's
 *    transaction — forms, members and every event (outbox) commit together, or nothing does.
 *  - request/reply on <prefix>.match.cmd.PP.CC.DD.DEPT.<verb> (handlers.c): match_get,
 *    match_pool, match_report (query.c), match_assign (assign.c).
 * Database work runs on the db pool's worker threads; NATS callbacks on the loop thread. */
#ifndef DRIP_MATCHER_H
#define DRIP_MATCHER_H

#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "drip/matcher.pb-c.h"
#include "drip/planner.pb-c.h"
#include "drip/sampler.pb-c.h"
#include "match.h"
#include "metrics.h"
#include "outbox.h"
#include "regproj.h"
#include "service.h"
#include "subject.h"

#define MATCHER_MAX_INFLIGHT 64
#define MATCHER_EVENT_KEYS 5000 /* USCCs per SLOTS_UNSTAFFED message */
#define MATCHER_PAGE_FORMS 2000
#define MATCHER_PAGE_LINES 50000
#define MATCHER_WHY 1024
#define MATCHER_FLUSH_FORMS 2000 /* forms per COPY chunk of a run's output */

typedef struct matcher matcher;

struct matcher {
    uv_loop_t *loop;
    cfg_common cfg;
    const char *operators;   /* DRIP_MATCHER_OPERATORS */
    int64_t catchup_wait_ms; /* DRIP_MATCHER_CATCHUP_WAIT_MS */
    bus *bus;
    db_pool *db;
    metrics *metrics;
    outbox_relay *relay;
    char reg_stream[64], plan_stream[64], samp_stream[64], own_stream[64];
    consumer *reg_consumer, *plan_consumer, *samp_consumer;
    regproj_config proj;
    uv_timer_t start_timer;
    int bind_attempts;
    int inflight;
    atomic_int stopping;
    metrics_counter *m_runs, *m_forms, *m_unstaffed, *m_assign, *m_queries, *m_query_err;
    metrics_gauge *m_run_ms;
};

/* schema.c */
extern const char *const MATCHER_MIGRATIONS[];
extern const int MATCHER_NMIGRATIONS;

/* registry.c: consumer_apply_fn for <PREFIX>_REGISTRY (arg = matcher). */
int matcher_registry_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);
void matcher_projection_config(matcher *m);

/* planner.c: consumer_apply_fn for <PREFIX>_PLANNER. */
int matcher_planner_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);
/* The stored task "PLAN/TASK" (free with drip__task__free_unpacked) or NULL + *st. */
Drip__Task *matcher_task_load(PGconn *c, const char *key, int *st);

/* sampler.c: consumer_apply_fn for <PREFIX>_SAMPLER. */
int matcher_sampler_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);

/* run.c: matches a settled draw inside the open transaction (record = the whole DRAW_SETTLED
 * record, every part's selected targets merged). corr: msg_id of the settling event. */
int matcher_run(matcher *m, PGconn *c, const char *task_key, const Drip__DrawRecord *rec,
                const char *corr);

/* events.c */
/* Adds a MatcherEvent to a batch (msg id "matcher-<16 hex of SHA-256(task_key)>-<tail>"). */
int matcher_event_add(matcher *m, outbox_batch *b, const char *task_key, const char *region,
                      const char *dept, const char *what, const char *tail, const char *corr,
                      Drip__MatcherEvent *ev);

/* handlers.c */
int matcher_serve(matcher *m);
int matcher_is_operator(const matcher *m, const char *dept);
int matcher_sender_check(matcher *m, PGconn *c, const subject_parts *sp, char *why, size_t cap);
void matcher_reply_error(matcher *m, const bus_msg *msg, const char *verb, const char *corr,
                         int status, const char *text);
/* The key of a requested task ("PLAN/TASK"): plan given, or the only run with that task code. */
int matcher_task_resolve(PGconn *c, const char *plan_code, const char *task_code, char *key,
                         size_t cap, char *why, size_t whycap);

/* query.c / assign.c: take ownership of msg. [loop thread] */
void matcher_query_start(matcher *m, bus_msg *msg, const subject_parts *sp);
void matcher_assign_start(matcher *m, bus_msg *msg, const subject_parts *sp);

#endif
