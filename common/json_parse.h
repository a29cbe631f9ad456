/* json_parse.h — a small, strict JSON (RFC 8259) reader that builds a read-only tree.
 *
 * Strict means: exactly one value per document (surrounded by optional white space: space, tab, CR,
 * LF); no comments, trailing commas, single quotes, NaN/Infinity, leading '+' or zeros, "1." or
 * ".5"; control characters (U+0000..U+001F) inside strings must be escaped; the input must be
 * well-formed UTF-8 (no overlong forms, no encoded surrogates); \u escapes must form valid code
 * points (a high surrogate must be followed by a \u low surrogate, lone surrogates are errors). Two
 * deliberate restrictions on top of RFC 8259, for a reader whose values end up in C strings and
 * protobuf fields: duplicate keys in one object are errors, and so is \u0000. A leading UTF-8 byte
 * order mark is skipped (editors on Windows write one).
 *
 * Limits: nesting depth (default 64, at most 1000) and document size (default 16 MiB) — over a
 * limit the parse fails with DRIP_ETOOLARGE.
 *
 * Errors say where: line and column (1-based; the column counts characters, not bytes, so it
 * matches what an editor shows for Chinese text) and what was expected, e.g. "3:17: expected ',' or
 * '}' after a member of the object opened at 1:1, found '\"'".
 *
 * The tree lives in one allocation pool owned by the jsonp_doc; strings are NUL-terminated UTF-8.
 * Pure: no global state; thread-safe for distinct documents. */
#ifndef DRIP_JSON_PARSE_H
#define DRIP_JSON_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    JSONP_NULL = 0,
    JSONP_BOOL,
    JSONP_NUMBER,
    JSONP_STRING,
    JSONP_ARRAY,
    JSONP_OBJECT,
} jsonp_type;

typedef struct jsonp_value jsonp_value;

typedef struct {
    const char *key; /* NUL-terminated UTF-8 */
    size_t key_len;
    int line, col; /* where the key starts */
    const jsonp_value *value;
} jsonp_member;

struct jsonp_value {
    jsonp_type type;
    int line, col;       /* where the value starts (1-based; col in characters) */
    int boolean;         /* JSONP_BOOL */
    const char *number;  /* JSONP_NUMBER: the text as written, e.g. "-1.5e3" */
    double number_value; /* JSONP_NUMBER: strtod of it (may be inf for 1e999) */
    const char *string;  /* JSONP_STRING: decoded UTF-8, NUL-terminated */
    size_t string_len;
    const jsonp_value *const *items; /* JSONP_ARRAY: n values in document order */
    const jsonp_member *members;     /* JSONP_OBJECT: n members in document order */
    size_t n;
};

typedef struct {
    size_t max_depth; /* 0: 64; capped at 1000 */
    size_t max_size;  /* bytes, 0: 16 MiB */
} jsonp_limits;

#define JSONP_ERROR_MAX 200

typedef struct {
    int line, col; /* 0 when the error has no position (file unreadable, out of memory) */
    size_t offset; /* byte offset of the position */
    char msg[JSONP_ERROR_MAX]; /* "LINE:COL: what" (or just "what" without a position) */
} jsonp_error;

typedef struct jsonp_doc jsonp_doc;

/* Parses text[0..len) (need not be NUL-terminated). `lim` may be NULL (defaults). On success
 * returns DRIP_OK and *out (free with jsonp_free); otherwise *out = NULL, `err` (may be NULL) says
 * why, and the status is DRIP_EBADMSG (not JSON), DRIP_ETOOLARGE (a limit) or DRIP_ENOMEM. */
int jsonp_parse(const char *text, size_t len, const jsonp_limits *lim, jsonp_doc **out,
                jsonp_error *err);

/* Reads and parses a file ("-" = standard input). Besides jsonp_parse's statuses: DRIP_EIO when the
 * file cannot be read (err->msg names the file and the system error). */
int jsonp_parse_file(const char *path, const jsonp_limits *lim, jsonp_doc **out, jsonp_error *err);

void jsonp_free(jsonp_doc *d);

/* The document's single top-level value. */
const jsonp_value *jsonp_root(const jsonp_doc *d);

/* Member `key` of an object, or NULL (also when v is NULL or not an object). */
const jsonp_value *jsonp_get(const jsonp_value *v, const char *key);

/* "null", "boolean", "number", "string", "array", "object". */
const char *jsonp_type_name(jsonp_type t);

/* A number written as an integer (no fraction, no exponent) within [min, max]: DRIP_OK and *out;
 * DRIP_EVALUE otherwise (wrong type, "1.0", "1e3", out of range). */
int jsonp_int64(const jsonp_value *v, int64_t min, int64_t max, int64_t *out);

#endif
