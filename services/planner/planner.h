/* planner.h — internals of the planner daemon (年度抽查计划 and 抽查任务).
 *
 * Request flow (as in the registry): a NATS handler (loop thread) checks size, subject and envelope
 * and hands the command to the db pool; the work function (worker thread) authorises the sender
 * against the planner's projection of the registry, runs the verb inside one transaction that also
 * holds the outbox events and the inbox row with the reply, and the done function (loop thread)
 * sends the reply and kicks the outbox relay.
 *
 * Task lifecycle (TaskState): DRAFT -task_publish/plan_publish-> PUBLISHED -task_draw-> (draw
 * ordered, still PUBLISHED) -sampler DRAW_COMPLETED-> DRAWN -> CONFIRMING; DRAW_REFUSED clears the
 * order. Any state but CLOSED/CANCELLED -task_cancel-> CANCELLED. The matcher and intake move a task
 * further (MATCHED, IN_PROGRESS, CLOSED) later. */
#ifndef DRIP_PLANNER_H
#define DRIP_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "drip/planner.pb-c.h"
#include "drip/sampler.pb-c.h"
#include "metrics.h"
#include "outbox.h"
#include "status.h"
#include "store.h"
#include "subject.h"

#define PLANNER_MAX_INFLIGHT 64
#define PLANNER_WHY_MAX 512
#define PLANNER_NONCE_LEN 32
/* Inbox consumer name of request replies (the stream consumers use "planner"). */
#define PLANNER_INBOX "planner.cmd"

typedef struct {
    uv_loop_t *loop;
    cfg_common cfg;
    const char *operators; /* comma-separated operator department codes (DRIP_PLANNER_OPERATORS) */
    bus *bus;
    db_pool *db;
    metrics *metrics;
    outbox_relay *relay;
    consumer *registry_in; /* projection of departments, regions and items */
    consumer *sampler_in;  /* draw outcomes that move task states */
    consumer *matcher_in;  /* TASK_MATCHED: the task moves to MATCHED */
    int inflight;
    int stopping;
    metrics_counter *m_ok, *m_err, *m_replays, *m_internal;
} planner;

/* One command from decode to reply. */
typedef struct planner_req planner_req;
typedef int (*planner_verb_fn)(planner_req *q, PGconn *c);

typedef struct {
    const char *word;   /* last subject token, e.g. "task_draw" */
    int mutating;       /* 1: runs with the inbox, operators may not send it */
    planner_verb_fn run;
} planner_verb;

struct planner_req {
    planner *p;
    bus_msg *m;
    subject_parts sp;          /* sender: sp.region, sp.dept */
    const planner_verb *verb;
    Drip__PlanCommand *cmd;
    const char *corr;          /* the request's msg_id */
    char inbox_id[128];        /* "DEPT:msg_id" */
    /* sender, filled by the authorisation step */
    int is_operator;
    char sender_name[520];
    /* outcome of the current attempt (a retried transaction starts again) */
    int failed;                /* a domain error: reply with status/why, nothing stored */
    int status;
    char why[PLANNER_WHY_MAX];
    Drip__Plan *out_plan;      /* reply content, owned (freed with drip__plan__free_unpacked) */
    Drip__Task *out_task;
    int64_t now_ms;            /* transaction time: the time of every change it makes */
    int nevents;               /* events added to the outbox by this attempt */
    int replayed;
    uint8_t *reply;
    size_t reply_len;
};

/* 1 for the statuses that travel in a reply as a verdict on the command (bad value, not found,
 * forbidden, ...), 0 for local failures (database, internal) that mean "retry". */
static inline int status_is_domain(int st)
{
    return st <= DRIP_EBADMSG && st >= DRIP_EREFERENCE;
}

/* 1 when `dept` is one of the configured operator departments. */
int planner_is_operator(const planner *p, const char *dept);

/* schema.c */
extern const char *const PLANNER_MIGRATIONS[];
extern const int PLANNER_NMIGRATIONS;

/* handlers.c: subscribes <prefix>.plan.cmd.> in queue group "planner". */
int planner_serve(planner *p);

/* command.c: the db side of a command. */
/* Records a domain error of the current attempt; returns `status`. */
int req_fail(planner_req *q, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Work and done functions for db_pool_submit. */
int req_work(PGconn *c, void *arg);
void req_done(int status, void *arg);
void req_free(planner_req *q);
/* Adds a PlannerEvent caused by this command to the outbox: subject from the sender's region and
 * department, Nats-Msg-Id "planner:<DEPT>:<msg_id>:<n>" (stable: the inbox makes the transaction
 * commit once). Fills the header and at_ms. */
int req_emit(planner_req *q, PGconn *c, Drip__PlannerEvent *ev, const char *what);
/* Adds any PlannerEvent to the outbox (header filled here). */
int planner_emit(planner *p, PGconn *c, Drip__PlannerEvent *ev, const char *what,
                 const char *region, const char *dept, const char *msg_id, const char *corr,
                 int64_t at_ms);
/* Packs an error-only PlanReply and sends it. [loop thread] */
void planner_reply_error(planner *p, const bus_msg *m, const char *corr, int status,
                         const char *text);

/* plans.c / tasks.c: the verbs. Each returns DRIP_OK, a domain error through req_fail(), or a
 * database status (the transaction is retried or the command fails with ERR_INTERNAL). */
int verb_plan_create(planner_req *q, PGconn *c);
int verb_plan_publish(planner_req *q, PGconn *c);
int verb_plan_adjust(planner_req *q, PGconn *c);
int verb_plan_get(planner_req *q, PGconn *c);
int verb_plan_list(planner_req *q, PGconn *c);
int verb_task_create(planner_req *q, PGconn *c);
int verb_task_publish(planner_req *q, PGconn *c);
int verb_task_adjust(planner_req *q, PGconn *c);
int verb_task_cancel(planner_req *q, PGconn *c);
int verb_task_draw(planner_req *q, PGconn *c);
int verb_task_get(planner_req *q, PGconn *c);

/* plans.c: loads the plan named by the command (plan_code) and checks that the sender owns it
 * (write = 1) or may read it. *out is owned by the caller. Locks the row FOR UPDATE when writing,
 * which serialises every change to a plan and its tasks. */
int plan_for_command(planner_req *q, PGconn *c, int write, Drip__Plan **out);
/* Publishes one DRAFT task row in the open transaction: nonce, commitment, version 1 kept,
 * TASK_PUBLISHED event. */
int task_publish_row(planner_req *q, PGconn *c, const Drip__Plan *plan, task_row *t);

/* sampler.c: a consumer_apply_fn for the sampler stream (arg = planner). */
int planner_sampler_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);
/* sampler.c: consumer_apply_fn for <PREFIX>_MATCHER (TASK_MATCHED events only). */
int planner_matcher_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);

/* Name of a task state for messages, e.g. "PUBLISHED". */
const char *task_state_name(int state);

#endif
