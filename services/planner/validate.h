/* validate.h — checks every field of a Task against its plan and the planner's projection of the
 * registry (departments, regions, items). Returns DRIP_OK or the status of the first problem with
 * a reason naming the field, e.g. "task.items[1].item_codes[0]: item 130190SWJ/X is retired".
 * Validation also normalises: stratify defaults to true, and a scope without regions gets the
 * plan's region (a task never draws outside its plan's jurisdiction, and the published task says
 * so explicitly). */
#ifndef DRIP_PLANNER_VALIDATE_H
#define DRIP_PLANNER_VALIDATE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "drip/planner.pb-c.h"

#define TASK_CODE_MAX 32
#define TASK_REASON_MAX 500

typedef struct {
    PGconn *c;
    const Drip__Plan *plan; /* year, kind, region, owner */
} task_vctx;

int task_validate(const task_vctx *v, Drip__Task *t, char *why, size_t cap);

/* A reason for an adjustment, cancellation or redraw: 1..500 characters of text.
 * `field` names it in the message ("reason"). */
int reason_check(const char *reason, const char *what, char *why, size_t cap);

#endif
