/* schema.c — the matcher's tables (schema "matcher", owned by role drip_matcher).
 *
 * ref_record    departments, regions, items, inspectors, calendar (regproj), current versions.
 * target        the current name and region of every target (from RegistryEvents): the form's
 *               header and the region that selects the inspector pools.
 * task          the latest version of each published task (drip.Task, packed), key "PLAN/TASK".
 * settle_part   parts of a DRAW_SETTLED event (a draw of 100 000 targets arrives in 20 parts);
 *               the run starts in the transaction that stores the last part.
 * run           one matching run per task (and draw): the published MatchRun, the fairness
 *               report and the pool lines exactly as hashed.
 * form          one 一企一表 per (task, target): the packed drip.Form (version 1, then one more per
 *               direct assignment).
 * form_member   every inspector on every form (one row per slot member): the rotation rule reads
 *               a target's previous form from here; the report counts from it. */
#include "matcher.h"
#include "outbox.h"
#include "regproj.h"

static const char V1[] =
    "CREATE TABLE target ("
    "  key text COLLATE \"C\" PRIMARY KEY,"
    "  version integer NOT NULL,"
    "  retired boolean NOT NULL DEFAULT false,"
    "  name text,"
    "  region text);"
    "CREATE TABLE task ("
    "  key text COLLATE \"C\" PRIMARY KEY,"
    "  version integer NOT NULL DEFAULT 0,"
    "  cancelled boolean NOT NULL DEFAULT false,"
    "  body bytea,"
    "  updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE settle_part ("
    "  task_key text COLLATE \"C\" NOT NULL,"
    "  draw_no integer NOT NULL,"
    "  part integer NOT NULL,"
    "  parts integer NOT NULL,"
    "  body bytea NOT NULL," /* packed SamplerEvent */
    "  PRIMARY KEY (task_key, draw_no, part));"
    "CREATE TABLE run ("
    "  task_key text COLLATE \"C\" PRIMARY KEY,"
    "  draw_no integer NOT NULL,"
    "  head bytea NOT NULL,"   /* packed MatchRun */
    "  report bytea NOT NULL," /* packed MatchReport (without header) */
    "  pool_lines bytea NOT NULL,"
    "  matched_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE form ("
    "  task_key text COLLATE \"C\" NOT NULL,"
    "  uscc text COLLATE \"C\" NOT NULL,"
    "  seq integer NOT NULL,"
    "  version integer NOT NULL DEFAULT 1,"
    "  body bytea NOT NULL," /* packed drip.Form */
    "  PRIMARY KEY (task_key, uscc));"
    "CREATE UNIQUE INDEX form_seq ON form (task_key, seq);"
    "CREATE TABLE form_member ("
    "  task_key text COLLATE \"C\" NOT NULL,"
    "  uscc text COLLATE \"C\" NOT NULL,"
    "  dept text COLLATE \"C\" NOT NULL,"
    "  inspector text COLLATE \"C\" NOT NULL,"
    "  role smallint NOT NULL,"
    "  source smallint NOT NULL,"
    "  at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX form_member_target ON form_member (uscc, dept, at);"
    "CREATE INDEX form_member_task ON form_member (task_key, inspector);";

const char *const MATCHER_MIGRATIONS[] = {V1, OUTBOX_DDL, REGPROJ_DDL};
const int MATCHER_NMIGRATIONS = 3;
