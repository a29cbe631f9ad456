/* schema.c — the registry's tables (schema "registry", owned by role drip_registry).
 *
 * Every record is versioned: a change closes the current row (valid_to = now()) and inserts the
 * next version, so "the directory as of T" is `valid_from <= T AND (valid_to IS NULL OR
 * valid_to > T)`. A retirement is a version with retired = true. Targets have typed columns
 * because draws and counts filter on them; the other kinds keep the packed protobuf record. */
#include "outbox.h"
#include "registry.h"

static const char V1[] =
    "CREATE TABLE target ("
    /* keys are codes: byte order ("C") is their natural order and spares locale-aware compares */
    "  key text COLLATE \"C\" NOT NULL,"   /* USCC, or USCC/PROJECT_CODE for projects */
    "  version integer NOT NULL,"
    "  valid_from timestamptz NOT NULL DEFAULT now(),"
    "  valid_to timestamptz,"
    "  retired boolean NOT NULL DEFAULT false,"
    "  changed_by text NOT NULL,"
    "  owner text NOT NULL,"
    "  hash bytea NOT NULL,"               /* digest of the packed record: detects no-op upserts */
    "  kind smallint NOT NULL,"
    "  uscc text NOT NULL,"
    "  project_code text,"
    "  name text NOT NULL,"
    "  region text NOT NULL,"
    "  registering_authority text,"
    "  industry text,"
    "  ownership smallint NOT NULL,"
    "  registered_capital bigint,"
    "  established date,"
    "  status smallint NOT NULL,"
    "  credit_class smallint NOT NULL,"
    "  supervising_depts text[],"
    "  tags text[],"
    "  retire_reason text,"
    "  PRIMARY KEY (key, version));"
    "CREATE TABLE record ("
    "  kind smallint NOT NULL,"            /* drip.RecordKind */
    "  key text COLLATE \"C\" NOT NULL,"
    "  version integer NOT NULL,"
    "  valid_from timestamptz NOT NULL DEFAULT now(),"
    "  valid_to timestamptz,"
    "  retired boolean NOT NULL DEFAULT false,"
    "  changed_by text NOT NULL,"
    "  owner text NOT NULL,"
    "  hash bytea NOT NULL,"
    "  scope text NOT NULL DEFAULT '',"    /* region (regions, departments) or dept (items, inspectors) */
    "  body bytea NOT NULL,"               /* packed drip.Region / Department / Item / Inspector / CalendarYear */
    "  retire_reason text,"
    "  PRIMARY KEY (kind, key, version));";

const char *const REGISTRY_MIGRATIONS[] = {V1, OUTBOX_DDL};
const int REGISTRY_NMIGRATIONS = 2;
