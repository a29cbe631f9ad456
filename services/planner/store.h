/* store.h — the planner's rows (schema "planner", see schema.c) as protobuf messages, and the
 * reference data it reads from its projection of the registry (ref_record, see regproj.h).
 * Every function runs on a worker thread inside the caller's transaction. */
#ifndef DRIP_PLANNER_STORE_H
#define DRIP_PLANNER_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "drip/planner.pb-c.h"

/* The current version of one task. */
typedef struct task_row {
    int64_t id;
    char plan_code[64];
    char code[160];
    uint32_t version;
    int state;                 /* Drip__TaskState */
    int draw_pending;          /* a draw order waits for the sampler */
    char draw_ordered_at[32];  /* "YYYY-MM-DD HH:MM:SS" (CST) when pending */
    char commitment[65];       /* "" before publication */
    uint8_t nonce[32];
    int has_nonce;
    Drip__Task *task;          /* content + state, version, commitment, plan_code; owned */
} task_row;

void task_row_free(task_row *t);

/* DRIP_OK, DRIP_ENOTFOUND or a db status. lock = 1: SELECT ... FOR UPDATE. *out owned by caller. */
int store_plan_load(PGconn *c, const char *code, int lock, Drip__Plan **out);
int store_task_load(PGconn *c, const char *plan_code, const char *code, int lock, task_row *out);
/* Every task of a plan in code order (*out malloc'd array of n rows; free each and the array). */
int store_plan_tasks(PGconn *c, const char *plan_code, int lock, task_row **out, size_t *n);
void store_rows_free(task_row *rows, size_t n);

/* The stored form of a task's content: packed with the planner-set fields (state, commitment,
 * version, plan_code) cleared, so that equal content gives equal bytes. *body malloc'd. */
void store_task_body(const Drip__Task *t, uint8_t **body, size_t *len);
/* Deep copies (pack + unpack); never NULL. */
Drip__Task *task_dup(const Drip__Task *t);
Drip__Plan *plan_dup(const Drip__Plan *p);
/* Appends a copy of `t` to p->tasks. */
void plan_add_task(Drip__Plan *p, const Drip__Task *t);

/* A bytea parameter in text format ("\\x<hex>"), malloc'd. */
char *bytea_param(const uint8_t *p, size_t n);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void hex_encode(const uint8_t *p, size_t n, char *out);

/* Appends one row to task_log (the task's audit trail). */
int store_task_log(PGconn *c, int64_t task_id, int state, const char *what, const char *reason,
                   const char *actor);

/* ---- projection of the registry ------------------------------------------------------------- */
/* A current (not retired) department: DRIP_OK with region[7], *active and name (may be NULL)
 * filled, DRIP_ENOTFOUND, or a db status. */
int proj_dept(PGconn *c, const char *code, char region[7], int *active, char *name, size_t cap);
/* Name of a current region: DRIP_OK, DRIP_ENOTFOUND or a db status. */
int proj_region_name(PGconn *c, const char *code, char *name, size_t cap);

#endif
