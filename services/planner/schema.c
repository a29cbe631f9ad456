/* schema.c — the planner's tables (schema "planner", owned by role drip_planner).
 *
 * A task row holds the current version; every version from publication on is kept in task_version
 * with the reason of the adjustment (a published task is public: its history must stay readable).
 * The nonce of drip-draw-v1 lives in task.nonce and leaves the database only in the
 * TASK_DRAW_ORDERED event: no reply ever carries it. draw_order keeps every draw ever ordered
 * ("a draw is never deleted or silently redone"); at most one waits for the sampler at a time. */
#include "outbox.h"
#include "planner.h"
#include "regproj.h"

static const char V1[] =
    "CREATE TABLE plan ("
    "  code text COLLATE \"C\" PRIMARY KEY,"   /* <year>-<region>-<J|I>-<seq> */
    "  year integer NOT NULL,"
    "  region text NOT NULL,"
    "  kind smallint NOT NULL,"                /* drip.PlanKind */
    "  seq integer NOT NULL,"
    "  owner text NOT NULL,"
    "  name text NOT NULL,"
    "  note text NOT NULL DEFAULT '',"
    "  published boolean NOT NULL DEFAULT false,"
    "  version integer NOT NULL DEFAULT 1,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  published_at timestamptz,"
    "  updated_at timestamptz NOT NULL DEFAULT now(),"
    "  UNIQUE (year, region, kind, seq));"
    "CREATE INDEX plan_owner ON plan (owner, year);"
    "CREATE TABLE plan_version ("
    "  plan_code text COLLATE \"C\" NOT NULL REFERENCES plan (code),"
    "  version integer NOT NULL,"
    "  note text NOT NULL,"
    "  reason text,"
    "  changed_by text NOT NULL,"
    "  changed_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (plan_code, version));"
    "CREATE TABLE task ("
    "  id bigserial PRIMARY KEY,"
    "  plan_code text COLLATE \"C\" NOT NULL REFERENCES plan (code),"
    "  code text COLLATE \"C\" NOT NULL,"
    "  version integer NOT NULL DEFAULT 1,"
    "  state smallint NOT NULL,"               /* drip.TaskState */
    "  body bytea NOT NULL,"                   /* packed drip.Task, planner-set fields cleared */
    "  nonce bytea CHECK (nonce IS NULL OR length(nonce) = 32)," /* secret until the draw */
    "  commitment text,"                       /* hex SHA-256(nonce) */
    "  draw_ordered_at timestamptz,"           /* a draw order waits for the sampler */
    "  created_by text NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  published_at timestamptz,"
    "  updated_at timestamptz NOT NULL DEFAULT now(),"
    "  UNIQUE (plan_code, code));"
    "CREATE TABLE task_version ("
    "  task_id bigint NOT NULL REFERENCES task (id),"
    "  version integer NOT NULL,"
    "  body bytea NOT NULL,"
    "  reason text,"                           /* NULL for version 1 (publication) */
    "  changed_by text NOT NULL,"
    "  changed_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (task_id, version));"
    "CREATE TABLE draw_order ("
    "  task_id bigint NOT NULL REFERENCES task (id),"
    "  order_no integer NOT NULL,"
    "  ordered_at timestamptz NOT NULL DEFAULT now(),"
    "  ordered_by text NOT NULL,"
    "  task_version integer NOT NULL,"
    "  entropy text NOT NULL,"
    "  entropy_source text NOT NULL,"
    "  redraw boolean NOT NULL,"
    "  force boolean NOT NULL,"
    "  reason text,"
    "  status text NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'completed', 'refused')),"
    "  settled_at timestamptz,"
    "  draw_no integer,"                       /* the sampler's draw number, once completed */
    "  refuse_reason text,"
    "  PRIMARY KEY (task_id, order_no));"
    /* at most one draw waits for the sampler per task, whatever the race */
    "CREATE UNIQUE INDEX draw_order_pending ON draw_order (task_id) WHERE status = 'ordered';"
    "CREATE TABLE task_log ("
    "  id bigserial PRIMARY KEY,"
    "  task_id bigint NOT NULL REFERENCES task (id),"
    "  at timestamptz NOT NULL DEFAULT now(),"
    "  state smallint NOT NULL,"               /* state after the change */
    "  what text NOT NULL,"
    "  reason text,"
    "  actor text NOT NULL);"
    "CREATE INDEX task_log_task ON task_log (task_id, id);";

const char *const PLANNER_MIGRATIONS[] = {V1, OUTBOX_DDL, REGPROJ_DDL};
const int PLANNER_NMIGRATIONS = 3;
