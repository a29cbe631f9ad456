/* planrender.h — planner and sampler messages as JSON and as text for people.
 *
 * JSON uses the proto field names (as render.h does for registry records), enums as words
 * (plan kind joint|internal, task state draft|published|..., target decision pending|confirmed|...,
 * credit classes A..D and "-" for unclassified, registry enums as in vocab.h), absent optional
 * fields as null, and adds "<field without _ms>" ISO 8601 (CST) next to every *_ms time. A task's
 * JSON is also the input format of task files (docs/dripctl-plans.md): `task show --json` output
 * can be edited and fed back to `task adjust --file`. */
#ifndef DRIPCTL_PLANRENDER_H
#define DRIPCTL_PLANRENDER_H

#include <stdio.h>

#include "drip/planner.pb-c.h"
#include "drip/sampler.pb-c.h"
#include "json.h"

void render_task_json(json_writer *w, const Drip__Task *t);
/* with_tasks: include "tasks" (the plan's tasks) */
void render_plan_json(json_writer *w, const Drip__Plan *p, int with_tasks);
void render_draw_json(json_writer *w, const Drip__DrawRecord *r);

/* Text: a plan with its task table; one task; a one-line plan summary (plan list). */
void render_plan_text(FILE *f, const Drip__Plan *p);
void render_task_text(FILE *f, const Drip__Task *t);
void render_plan_line(FILE *f, const Drip__Plan *p);
/* Text: a draw record (draw show); draw_nos: every draw of the task (may be empty). */
void render_draw_text(FILE *f, const Drip__DrawRecord *r, const uint32_t *draw_nos, size_t n);
/* Text: what a confirmation recorded (confirm). */
void render_confirm_text(FILE *f, const Drip__ConfirmReply *r);

/* "1%" / "per class A 1%, B 2%" / "count 30" (out[256]). */
void render_task_ratio(const Drip__Task *t, char out[256]);

#endif
