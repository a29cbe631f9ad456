/* codes.h — identifier codes: USCC (GB 32100-2015), GB/T 2260 region codes, dates, dept codes.
 * Pure functions, no I/O except codes_regions_load(). Validators fill `why` (if non-NULL) with a
 * specific, human-readable reason naming what is wrong, e.g. "check digit is 'F', expected 'E'". */
#ifndef DRIP_CODES_H
#define DRIP_CODES_H

#include <stddef.h>
#include <stdint.h>

#define CODES_WHY_MAX 128

/* USCC: 18 chars of 0-9 A-H J-N P-R T-U W-Y; check digit per MISSION §8.
 * Returns DRIP_OK or DRIP_EUSCC. */
int codes_uscc_check(const char *uscc, char why[CODES_WHY_MAX]);
/* The check character for the first 17 chars (which must be valid alphabet chars), or 0. */
char codes_uscc_check_char(const char *first17);

/* Region code syntax: 6 digits, not 000000, city part 00 implies district part 00.
 * Returns DRIP_OK or DRIP_EREGION. Does not check existence. */
int codes_region_syntax(const char *code, char why[CODES_WHY_MAX]);
/* Level implied by a code: 1 province (PP0000), 2 city (PPCC00), 3 county. 0 if bad syntax. */
int codes_region_level(const char *code);
/* Parent implied by the code (PPCCDD -> PPCC00 -> PP0000 -> ""), written to out[7]. */
void codes_region_parent(const char *code, char out[7]);
/* Subject tokens "PP.CC.DD" for a code (out[9]). */
void codes_region_tokens(const char *code, char out[9]);
/* Is `code` inside the subtree rooted at `root` (root itself included)? Syntax assumed valid. */
int codes_region_within(const char *code, const char *root);

/* In-memory region table (loaded from data/regions-gbt2260.csv: code,name,level,parent). */
typedef struct codes_regions codes_regions;
codes_regions *codes_regions_create(void);
void codes_regions_destroy(codes_regions *t);
/* Adds or replaces one region. name copied. */
int codes_regions_put(codes_regions *t, const char *code, const char *name, int level,
                      const char *parent);
/* Loads a CSV file with header. Returns number loaded (>= 0) or a negative status.
 * The count includes the alias rows of cities without districts (see codes_region_info), so the
 * shipped file loads 3351 rows into 3348 distinct codes. */
int codes_regions_load(codes_regions *t, const char *path);
/* Name of an existing region, or NULL. */
const char *codes_regions_name(const codes_regions *t, const char *code);
size_t codes_regions_count(const codes_regions *t);

/* One row of the table. Pointers stay valid until the row is replaced or the table destroyed. */
typedef struct {
    const char *code;   /* 6 digits */
    const char *name;
    int level;          /* 1 province, 2 city, 3 county, as the table says */
    const char *parent; /* "" for a province */
    int county_level;   /* 1 for counties, and for cities without districts that GB/T 2260 also
                         * lists as their own county-level unit (东莞市 441900, parent = itself) */
} codes_region_info;
/* Looks up one region. DRIP_OK or DRIP_ENOTFOUND. `out` may be NULL. */
int codes_regions_get(const codes_regions *t, const char *code, codes_region_info *out);
/* The i-th region in code order, 0 <= i < codes_regions_count(). DRIP_OK or DRIP_ENOTFOUND. */
int codes_regions_at(const codes_regions *t, size_t i, codes_region_info *out);
/* Syntax and existence in the table: DRIP_OK or DRIP_EREGION ("region 139999 is not in the
 * region table"). */
int codes_region_check(const codes_regions *t, const char *code, char why[CODES_WHY_MAX]);

/* Date "YYYY-MM-DD" (proleptic Gregorian, 1900..2100). Returns DRIP_OK or DRIP_EDATE and sets
 * *days (days since 1970-01-01) if non-NULL. */
int codes_date_parse(const char *s, int32_t *days, char why[CODES_WHY_MAX]);
/* Formats days since 1970-01-01 as YYYY-MM-DD (out[11]). */
void codes_date_format(int32_t days, char out[11]);
/* Day of week for days since 1970-01-01: 0 = Monday .. 6 = Sunday. */
int codes_date_weekday(int32_t days);
/* Days since 1970-01-01 of a civil date (no range check; see codes_date_parse for that). */
int32_t codes_date_make(int year, int month, int day);
/* Civil date of days since 1970-01-01; any out pointer may be NULL. */
void codes_date_civil(int32_t days, int *year, int *month, int *day);
/* Today's date in China Standard Time (UTC+8), as days since 1970-01-01. */
int32_t codes_date_today_cst(void);

/* Department code: [A-Z0-9_]{1,32}. DRIP_OK or DRIP_EVALUE. */
int codes_dept_check(const char *code, char why[CODES_WHY_MAX]);
/* Generic identifier: 1..max chars from [A-Za-z0-9_.-]. DRIP_OK or DRIP_EVALUE. */
int codes_ident_check(const char *s, size_t max, char why[CODES_WHY_MAX]);
/* UTF-8 text of 1..max_chars characters (min_chars may be 0), no control chars. DRIP_OK,
 * DRIP_EMISSING (empty when min_chars > 0) or DRIP_EVALUE. max_chars 0 means no upper limit.
 * Control chars are U+0000..U+001F (tab and newline included) and U+007F..U+009F. */
int codes_text_check(const char *s, size_t min_chars, size_t max_chars, char why[CODES_WHY_MAX]);
/* Length of the longest prefix of s[0..n) that is well-formed UTF-8 (n when all of it is). */
size_t codes_utf8_valid_prefix(const char *s, size_t n);
/* GB/T 4754 industry code: section letter A..T, optionally followed by 2, 3 or 4 digits; the
 * two-digit division must belong to the section (C13..C43, F51..F52, ...). */
int codes_industry_check(const char *s, char why[CODES_WHY_MAX]);

#endif
