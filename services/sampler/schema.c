/* schema.c — the sampler's tables (schema "sampler", owned by role drip_sampler).
 *
 * target        versioned projection of the registry's targets, built from RegistryEvents only
 *               (no daemon reads another's schema). Version v of a key is valid in
 *               [valid_from, valid_to), valid_to = 'infinity' while current, so "the directory
 *               as of T" is `valid_from <= T AND valid_to > T`: one version (or none) per key.
 *               Only the primary key (key, version) is indexed: population.c explains the plan.
 * ref_record    the other registry kinds (departments, regions, items, inspectors, calendar),
 *               kept by regproj.
 * task          the latest version of each published task (drip.Task, packed), its commitment.
 * draw          one row per draw of a task (draw_no 1, 2, ...; a redraw supersedes, never
 *               deletes): the task as drawn, everything needed to recompute the frozen population
 *               (as-of time, jurisdiction, exclusion watermarks), and `head` = the packed
 *               DrawRecord without selected / replacements / decisions (their own tables).
 * draw_member   every drawn target (and replacement): stratum, ticket, rank, state.
 * decision      every department decision (accept, or reject with a reason), append-only; its
 *               id is the watermark that keeps the exclusion "confirmed by this department
 *               within N days" reproducible for later population queries.
 * confirmation  a target becoming CONFIRMED in a draw (every participant accepted), append-only;
 *               the yearly inspection cap counts these.
 * replacement   the replacements made after rejections, in order.
 * refusal       draw orders that were refused (capacity shortfall, bad scope, ...). */
#include "outbox.h"
#include "regproj.h"
#include "sampler.h"

static const char V1[] =
    "CREATE TABLE target ("
    "  key text COLLATE \"C\" NOT NULL,"
    "  version integer NOT NULL,"
    "  valid_from timestamptz NOT NULL,"
    "  valid_to timestamptz NOT NULL DEFAULT 'infinity',"
    "  retired boolean NOT NULL DEFAULT false,"
    "  uscc text,"
    "  kind smallint NOT NULL DEFAULT 0,"
    "  region text,"
    "  industry text,"
    "  ownership smallint NOT NULL DEFAULT 0,"
    "  registered_capital bigint,"
    "  established date,"
    "  status smallint NOT NULL DEFAULT 0,"
    "  credit_class smallint NOT NULL DEFAULT 0," /* 0 unclassified ('-'), 1..4 = A..D */
    "  tags text[],"
    "  owner text,"
    "  PRIMARY KEY (key, version));"
    "CREATE TABLE task ("
    "  code text COLLATE \"C\" PRIMARY KEY,"
    "  plan_code text,"
    "  version integer NOT NULL DEFAULT 0,"
    "  lead_dept text NOT NULL DEFAULT '',"
    "  commitment text,"
    "  body bytea," /* packed drip.Task */
    "  cancelled boolean NOT NULL DEFAULT false,"
    "  cancel_reason text,"
    "  updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE draw ("
    "  task_code text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  plan_code text,"
    "  task_body bytea NOT NULL,"     /* the task as drawn (scope, strata, ...) */
    "  frozen_at_ms bigint NOT NULL," /* the order's at_ms: population as of then */
    "  lead_dept text NOT NULL,"
    "  lead_region text NOT NULL,"
    "  jurisdiction text NOT NULL,"  /* LIKE pattern of the lead's region subtree */
    "  decision_wm bigint NOT NULL," /* exclusions see decisions with id <= this */
    "  confirm_wm bigint NOT NULL,"  /* and confirmations with id <= this */
    "  seed text NOT NULL,"
    "  participants text[] NOT NULL,"
    "  deadline date," /* NULL: the calendar year was not loaded */
    "  deadline_note text,"
    "  head bytea NOT NULL," /* packed DrawRecord (no selected/replacements/decisions) */
    "  superseded boolean NOT NULL DEFAULT false,"
    "  settled boolean NOT NULL DEFAULT false,"
    "  overdue_reported boolean NOT NULL DEFAULT false,"
    "  drawn_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (task_code, draw_no));"
    "CREATE INDEX draw_open ON draw (deadline) WHERE NOT superseded AND NOT settled"
    "  AND NOT overdue_reported;"
    "CREATE TABLE draw_member ("
    "  task_code text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  uscc text COLLATE \"C\" NOT NULL," /* the member key (USCC, or USCC/PROJECT) */
    "  stratum char(1) NOT NULL,"
    "  ticket bytea NOT NULL,"
    "  rank integer NOT NULL,"
    "  state smallint NOT NULL," /* drip.TargetDecision */
    "  replaces text,"
    "  added_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (task_code, draw_no, uscc));"
    "CREATE TABLE decision ("
    "  id bigserial PRIMARY KEY,"
    "  task_code text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  uscc text COLLATE \"C\" NOT NULL,"
    "  dept text NOT NULL,"
    "  accept boolean NOT NULL,"
    "  reason text,"
    "  late boolean NOT NULL DEFAULT false,"
    "  at timestamptz NOT NULL DEFAULT now(),"
    "  UNIQUE (task_code, draw_no, uscc, dept));"
    "CREATE INDEX decision_by_dept ON decision (dept, at) WHERE accept;"
    "CREATE TABLE confirmation ("
    "  id bigserial PRIMARY KEY,"
    "  task_code text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  uscc text COLLATE \"C\" NOT NULL,"
    "  at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX confirmation_at ON confirmation (at);"
    "CREATE TABLE replacement ("
    "  task_code text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  seq integer NOT NULL,"
    "  rejected_uscc text NOT NULL,"
    "  dept text NOT NULL,"
    "  reason text,"
    "  replacement_uscc text NOT NULL DEFAULT '',"
    "  ticket text NOT NULL DEFAULT '',"
    "  at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (task_code, draw_no, seq));"
    "CREATE TABLE refusal ("
    "  id bigserial PRIMARY KEY,"
    "  task_code text NOT NULL,"
    "  order_id text NOT NULL,"
    "  reason text NOT NULL,"
    "  at timestamptz NOT NULL DEFAULT now());";

const char *const SAMPLER_MIGRATIONS[] = {V1, OUTBOX_DDL, REGPROJ_DDL};
const int SAMPLER_NMIGRATIONS = 3;
