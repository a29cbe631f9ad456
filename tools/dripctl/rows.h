/* rows.h — the CSV formats of `dripctl registry import` and the encoding of one CSV record into
 * one registry record (proto/drip/registry.proto).
 *
 * The first record of a file is its header: column names exact and in this order; the columns in
 * [brackets] are optional trailing columns (a header may stop after any of them). Every data record
 * must have exactly as many fields as the header. Fields are trimmed of surrounding blanks.
 *
 *   region      code,name,level,parent[,custom]
 *               level province|city|county; parent empty for provinces; custom 0|1
 *   department  code,region,name[,active,draws_teams,parent_dept,neighbour_depts]
 *               active 0|1, empty = 1; draws_teams 0|1 (the matcher draws standing teams), empty =
 *               absent; parent_dept a department code; neighbour_depts ';'-separated codes (the
 *               matcher's fallback pools, in order)
 *   enterprise  uscc,name,kind,region,industry,ownership,registered_capital,established,status,
 *               credit_class,tags[,project_code,registering_authority,supervising_depts]
 *               kind enterprise|individual|cooperative|project (or 企业|个体工商户|农民专业合作社|
 *               生产建设项目); ownership domestic|foreign|hmt|other (内资|外资|港澳台|其他);
 *               registered_capital integer yuan (a ".00" tail is accepted); established YYYY-MM-DD;
 *               status 存续|在业|吊销|注销|迁出|撤销|停业|清算 (or existing|operating|revoked|
 *               deregistered|moved_out|annulled|suspended|liquidating); credit_class A|B|C|D, empty =
 *               not yet classified; tags and supervising_depts ';'-separated (also '；')
 *   inspector   id,name,region,cert_no,cert_expiry,qualifications,expert,team,active,recusals
 *               dept = the sender's department; region empty = the department's region;
 *               qualifications and recusals (USCCs) ';'-separated; expert 0|1; active 0|1, empty = 1
 *   item        code,name,level,legal_basis,methods,target_kind,required_qualifications[,experts]
 *               dept = the sender's department; level 一般|重点 (general|key); methods ';'-separated
 *               (现场检查|书面检查|网络检查|抽样检验|委托专业机构核查|信息比对|实地核查 or on_site|
 *               documentary|online|sampling|expert_agency|info_comparison|field_verification);
 *               target_kind as for enterprise; required_qualifications ';'-separated; experts a
 *               whole number (0..5, judged by the registry): experts the matcher adds per form
 *   calendar    date,name,kind
 *               kind off|workday (休|班); rows are grouped into one CalendarYear per schedule year:
 *               the date's year, except that 元旦 days dated in December belong to the next year
 *               (2018-12-29 元旦 is part of the 2019 schedule); import does not send a year
 *               that has a rejected row, since a pushed year replaces the whole schedule
 * 0|1 flags also accept true|false and 是|否.
 *
 * Only what cannot be encoded is rejected here (field count, numbers, enum words, flags, and for
 * calendar rows a date whose year cannot be read); everything else (USCC check digits, region
 * existence, date ranges, lengths) is the registry's to judge. */
#ifndef DRIPCTL_ROWS_H
#define DRIPCTL_ROWS_H

#include <stddef.h>

#include "arena.h"
#include "drip/registry.pb-c.h"

#define ROWS_WHY_MAX 256

typedef struct {
    const char *word;          /* --kind word: "enterprise" */
    const char *subject_last;  /* last subject token: "target" */
    Drip__RecordKind record_kind;
    const char *const *columns;/* header names */
    int required;              /* columns every header has */
    int total;                 /* required + optional trailing */
} rows_format;

/* Format of a --kind word (region|department|enterprise|target|inspector|item|calendar) or NULL. */
const rows_format *rows_format_find(const char *word);
/* Format by record kind (for retire/show/list): "enterprise" for KIND_TARGET. NULL if none. */
const rows_format *rows_format_of_kind(Drip__RecordKind kind);
/* The documented header, e.g. "code,name,level,parent[,custom]" (static). */
const char *rows_format_header(const rows_format *f);

/* Checks a header record. Returns DRIP_OK or DRIP_EBADMSG with a reason naming the first
 * offending column. Trims the fields in place. */
int rows_check_header(const rows_format *f, char **fields, int n, char why[ROWS_WHY_MAX]);

typedef struct {
    void *record;    /* Drip__Region / Department / Target / Inspector / Item; calendar: CalendarDay */
    const char *key; /* record key (Change.key) when readable, else NULL; calendar: the date */
    unsigned year;   /* calendar: the schedule year the day belongs to; also set on failure
                      * when the date's year is readable (0 otherwise) */
} rows_record;

/* Encodes one data record (n fields; `ncols` = fields in the header) into arena memory. `dept` is
 * the sender's department (inspector and item records). Trims the fields in place. Returns DRIP_OK,
 * or a local rejection: DRIP_EBADMSG (field count), DRIP_EVALUE (number, flag), DRIP_EENUM (word),
 * DRIP_EDATE (calendar date without a readable year), with the reason in why ("column: ..."); out->key
 * is set whenever the key column could be read. */
int rows_encode(const rows_format *f, arena *a, const char *dept, char **fields, int n, int ncols,
                rows_record *out, char why[ROWS_WHY_MAX]);

/* Encoded size of one record inside a RegistryBatch (field tag and length included). */
size_t rows_record_size(const rows_format *f, const void *record);

/* Points the batch's repeated field for f's kind at records[0..n) (arrays stay the caller's). */
void rows_batch_attach(const rows_format *f, Drip__RegistryBatch *b, void **records, size_t n);

#endif
