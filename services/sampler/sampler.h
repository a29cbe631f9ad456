/* sampler.h — internals of the sampler daemon (drip-draw-v1 target draw + 比对和确认).
 *
 * Flow:
 *  - registry consumer (durable "sampler" on <PREFIX>_REGISTRY): regproj keeps departments,
 *    regions, items, inspectors and the calendar; project.c keeps targets, versioned, typed.
 *  - planner consumer (durable "sampler" on <PREFIX>_PLANNER, one message at a time): tasks, their
 *    commitments and cancellations; TASK_DRAW_ORDERED runs the draw (order.c) inside the
 *    consumer's transaction, events through the outbox in the same transaction.
 *  - request/reply on <prefix>.samp.cmd.PP.CC.DD.DEPT.<verb> (handlers.c): draw_get,
 *    draw_population (query.c), confirm (confirm.c).
 *  - a timer (overdue.c) escalates draws whose confirmation deadline passed.
 * Database work always runs on the db pool's worker threads; NATS callbacks on the loop thread. */
#ifndef DRIP_SAMPLER_H
#define DRIP_SAMPLER_H

#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "draw.h"
#include "drip/planner.pb-c.h"
#include "drip/sampler.pb-c.h"
#include "metrics.h"
#include "outbox.h"
#include "regproj.h"
#include "subject.h"
#include "tfilter.h"

#define SAMPLER_MAX_INFLIGHT 64
#define SAMPLER_MAX_DECISIONS 1000
#define SAMPLER_EVENT_PART 5000 /* targets per event message (SamplerEvent.part) */
#define SAMPLER_PAGE_MAX 50000  /* population lines per page */
#define SAMPLER_WHY 1024
#define SAMPLER_PASS2_MAX 16 /* threads of a draw's pass 2 at most */

typedef struct sampler sampler;

/* project.c: accumulates the target changes of one RegistryEvent, stored set-wise at its end. */
typedef struct {
    db_buf rows; /* COPY text rows for the staging table */
    db_buf tmp;
    size_t n;
} target_batch;

struct sampler {
    uv_loop_t *loop;
    cfg_common cfg;
    const char *operators;    /* DRIP_SAMPLER_OPERATORS */
    int checks_per_inspector; /* DRIP_SAMPLER_CHECKS_PER_INSPECTOR */
    int64_t settle_ms;        /* DRIP_SAMPLER_SETTLE_MS */
    int64_t catchup_wait_ms;  /* DRIP_SAMPLER_CATCHUP_WAIT_MS */
    int overdue_interval_ms;  /* DRIP_SAMPLER_OVERDUE_INTERVAL_MS */
    int order_ack_wait_s;     /* DRIP_SAMPLER_ORDER_ACK_WAIT_S */
    size_t spool_budget;      /* DRIP_SAMPLER_SORT_MEM_MB, in bytes */
    size_t spool_run_rows;    /* DRIP_SAMPLER_SORT_RUN_ROWS (0 = by memory only) */
    const char *spool_dir;    /* DRIP_SAMPLER_SPOOL_DIR */
    int pass2_threads;        /* DRIP_SAMPLER_PASS2_THREADS */
    bus *bus;
    db_pool *db;
    metrics *metrics;
    outbox_relay *relay;
    char reg_stream[64], plan_stream[64], own_stream[64];
    consumer *reg_consumer, *plan_consumer;
    regproj_config proj;
    target_batch tbatch;    /* used by the registry consumer only (one message at a time) */
    uv_timer_t start_timer; /* retries binding consumers whose stream is missing */
    uv_timer_t overdue_timer;
    int overdue_running;
    int bind_attempts;
    int inflight;
    atomic_int stopping;
    atomic_int reg_bound; /* the registry consumer is bound (set on the loop thread) */
    metrics_counter *m_draws, *m_refused, *m_confirms, *m_replacements, *m_overdue;
    metrics_counter *m_queries, *m_query_err, *m_replays;
    metrics_gauge *m_draw_ms, *m_draw_pop;
};

/* schema.c */
extern const char *const SAMPLER_MIGRATIONS[];
extern const int SAMPLER_NMIGRATIONS;

/* 1 when `dept` is one of the configured operator departments. */
int sampler_is_operator(const sampler *s, const char *dept);

/* project.c: consumer_apply_fn for <PREFIX>_REGISTRY (arg = sampler). */
int sampler_registry_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);
void sampler_tbatch_free(target_batch *b);
/* Fills s->proj: kinds kept by regproj, targets through project.c. */
void sampler_projection_config(sampler *s);

/* planner.c: consumer_apply_fn for <PREFIX>_PLANNER (arg = sampler). */
int sampler_planner_apply(PGconn *c, const void *data, size_t len, const char *subject, void *arg);
/* 1 when the registry projection has applied everything its stream held (blocking: worker). */
int sampler_registry_caught_up(sampler *s, char *why, size_t cap);
/* Waits (at most DRIP_SAMPLER_CATCHUP_WAIT_MS) until at_ms + DRIP_SAMPLER_SETTLE_MS has passed and
 * the registry projection is caught up: DRIP_OK, or DRIP_ETIMEOUT (the order is retried later). */
int sampler_wait_registry(sampler *s, int64_t at_ms);

/* ---- the frozen population (population.c) ----------------------------------------------- */

/* Everything that determines a draw's population; stored in the draw row. */
typedef struct {
    const Drip__Task *task;
    int64_t at_ms;            /* frozen at: the directory as of this time */
    const char *jurisdiction; /* LIKE pattern of the lead department's region subtree */
    const char *lead_dept;
    int64_t decision_wm, confirm_wm;
    int stratify;
} pop_spec;

/* Stratum code of a credit class for this spec ('-' when not stratified or unclassified). */
char pop_stratum(const pop_spec *p, int credit_class);
/* Checks the task's scope (a bad filter -> a status and why). */
int pop_check(const pop_spec *p, char *why, size_t cap);
/* Streams the members in no particular order (one statement: one snapshot), calling fn for each;
 * only stratum `only` when only >= 0 (a stratum index). A non-OK return of fn stops and is
 * returned. Stops with DRIP_ETIMEOUT when *stop becomes non-zero (daemon stopping). */
typedef int (*pop_row_fn)(const char *key, char stratum, void *arg);
int pop_stream(PGconn *c, const pop_spec *p, int only, pop_row_fn fn, void *arg, atomic_int *stop,
               char *why, size_t cap);

/* ---- the population of a draw, held for its two passes (spool.c) ------------------------------ */

typedef struct pop_spool pop_spool;
typedef struct {
    uint64_t rows, spilled_bytes;
    size_t runs; /* sorted runs (1 = in memory only) */
    double sort_ms;
} spool_info;
/* budget: bytes of one in-memory run (keys + 16 bytes a row); run_rows: rows of one run at most
 * (0 = no limit; tests use tiny runs); dir: where the unlinked spill file goes. */
int spool_create(pop_spool **out, size_t budget, size_t run_rows, const char *dir);
void spool_destroy(pop_spool *sp);
/* Copies one member (DRIP_EVALUE for a key of 0 or more than DRAW_KEY_MAX bytes; DRIP_EIO when
 * a run cannot be spilled). */
int spool_add(pop_spool *sp, const char *key, char stratum, char *why, size_t cap);
/* After the last add: sorts (and spills) what is left. */
int spool_finish(pop_spool *sp, char *why, size_t cap);
/* Every member once, in key byte order (pass 1) / in any order (pass 2). Like pop_stream. */
int spool_each_sorted(pop_spool *sp, pop_row_fn fn, void *arg, atomic_int *stop, char *why,
                      size_t cap);
int spool_each(pop_spool *sp, pop_row_fn fn, void *arg, atomic_int *stop, char *why, size_t cap);
/* Part `part` of `nparts` disjoint parts that together hold every member once (pass 2's threads). */
int spool_each_part(pop_spool *sp, int part, int nparts, pop_row_fn fn, void *arg,
                    atomic_int *stop, char *why, size_t cap);
void spool_stats(const pop_spool *sp, spool_info *out);

/* select.c: pass 2 — the selection over every member of the spool, in `threads` threads. sizes:
 * pass 1's strata sizes (pass 2 must see the same). *out: a finished selector. */
int select_members(pop_spool *sp, int threads, const char *seed, const char *task_code,
                   const uint64_t quotas[DRAW_STRATA], const uint64_t sizes[DRAW_STRATA],
                   atomic_int *stop, draw_selector **out, char *why, size_t cap);
/* One page of lines (keys > after), at most limit lines; *more set when lines remain. */
int pop_page(PGconn *c, const pop_spec *p, const char *after, unsigned limit, db_buf *lines,
             char *last_key, size_t last_cap, int *more, char *why, size_t cap);

/* ---- draws (order.c, record.c) -------------------------------------------------------------- */

/* One stored draw row. */
typedef struct {
    char task_code[128];
    uint32_t draw_no;
    Drip__Task *task;       /* unpacked task_body */
    Drip__DrawRecord *head; /* unpacked head */
    int64_t frozen_at_ms;
    char lead_dept[40], lead_region[8], jurisdiction[8];
    int64_t decision_wm, confirm_wm;
    char seed[DRAW_HEX_LEN + 1];
    char **participants;
    size_t n_participants;
    int32_t deadline; /* days since epoch, or -1 */
    int superseded, settled, overdue_reported;
} draw_row;

/* Loads draw `draw_no` (0 = latest) of a task; DRIP_ENOTFOUND when none. lock: FOR UPDATE. */
int draw_row_load(PGconn *c, const char *task_code, uint32_t draw_no, int lock, draw_row *out);
void draw_row_free(draw_row *d);
/* The pop_spec of a stored draw (borrows from d). */
void draw_row_spec(const draw_row *d, pop_spec *p);
/* Members of a draw in record order (stratum A B C D -, then rank), a page of them. */
int draw_members_count(PGconn *c, const draw_row *d, size_t *n);
int draw_members_load(PGconn *c, const draw_row *d, size_t offset, size_t limit,
                      Drip__DrawnTarget ***out, size_t *n);
void draw_targets_free(Drip__DrawnTarget **t, size_t n);
int draw_replacements_load(PGconn *c, const draw_row *d, Drip__Replacement ***out, size_t *n);
void draw_replacements_free(Drip__Replacement **v, size_t n);
/* Whole record: head + selected (stratum order, then rank) + replacements (+ decisions). */
int draw_record_load(PGconn *c, const draw_row *d, int with_decisions, Drip__DrawRecord **out);
/* Frees a record built by draw_record_load. */
void draw_record_free(Drip__DrawRecord *r);

/* Performs a TASK_DRAW_ORDERED inside the open transaction. */
int sampler_draw(sampler *s, PGconn *c, const Drip__PlannerEvent *ev);

/* capacity.c: the capacity check before drawing. Fills note; *short_ set when some participating
 * department lacks eligible inspectors. */
int sampler_capacity(sampler *s, PGconn *c, const Drip__Task *task, int64_t at_ms,
                     char **participants, size_t n_participants, uint64_t total_quota, char *note,
                     size_t cap, int *short_);

/* ---- events (events.c) ---------------------------------------------------------------------- */

/* Adds a SamplerEvent to the outbox (inside the open transaction). what = the subject's last
 * token; id_tail makes the msg_id unique ("sampler-<hash of task code>-<id_tail>"); corr = the
 * msg_id of the order or request that caused it. */
int sampler_emit(sampler *s, PGconn *c, const char *task_code, const char *lead_region,
                 const char *lead_dept, const char *what, const char *id_tail, const char *corr,
                 Drip__SamplerEvent *ev);
/* Emits the stored draw (head, members paged from draw_member, replacements) in parts of at most
 * SAMPLER_EVENT_PART targets. */
int sampler_emit_draw(sampler *s, PGconn *c, const draw_row *d, Drip__SamplerEventKind kind,
                      const char *what, const char *id_tail, const char *corr, const char *reason);
/* The same with the members at hand (record order: stratum A B C D -, then rank), as the draw that
 * just stored them has them: no reading back, page by page, of what it wrote. */
int sampler_emit_draw_members(sampler *s, PGconn *c, const draw_row *d,
                              Drip__SamplerEventKind kind, const char *what, const char *id_tail,
                              const char *corr, const char *reason, Drip__DrawnTarget **members,
                              size_t n);
/* Emits a list of keys (confirmed / overdue) in parts, with the record head. */
int sampler_emit_keys(sampler *s, PGconn *c, const draw_row *d, Drip__SamplerEventKind kind,
                      const char *what, const char *id_tail, const char *corr, char **keys,
                      size_t n, const char *reason);

/* ---- requests ----------------------------------------------------------------------------------
 */

/* handlers.c */
int sampler_serve(sampler *s);
void sampler_reply_error(sampler *s, const bus_msg *m, const char *verb, const char *corr,
                         int status, const char *text);
/* Sender checks: registered, active department of that region, or an operator with 000000. */
int sampler_sender_check(sampler *s, PGconn *c, const subject_parts *sp, char *why, size_t cap);

/* query.c: draw_get / draw_population. Takes ownership of m. [loop thread] */
void sampler_query_start(sampler *s, bus_msg *m, const subject_parts *sp);
/* confirm.c. Takes ownership of m. [loop thread] */
void sampler_confirm_start(sampler *s, bus_msg *m, const subject_parts *sp);

/* overdue.c: starts the periodic check (and runs it once now). */
void sampler_overdue_start(sampler *s);
void sampler_overdue_stop(sampler *s);

/* misc helpers (events.c) */
uint8_t *sampler_pack(const ProtobufCMessage *msg, size_t *len);
int32_t sampler_day_cst(int64_t ms); /* date (days since epoch) in UTC+8 of a Unix ms time */
char *sampler_strdup(const char *s); /* abort on OOM; NULL stays NULL */

/* Task codes (联202301) are unique within a plan only: inside the sampler a task is keyed
 * "PLAN_CODE/TASK_CODE" (plan codes contain no '/'). Tickets and published records use the bare
 * task code, as drip-draw-v1 specifies. */
const char *sampler_task_code(const char *key);
/* The key of a requested task: plan_code given -> "PLAN/TASK"; otherwise the only known task with
 * that code (DRIP_ECONFLICT with the plans listed in why when several plans have it). */
int sampler_task_resolve(PGconn *c, const char *plan_code, const char *task_code, char *key,
                         size_t cap, char *why, size_t whycap);

#endif
