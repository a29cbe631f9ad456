/* json.h — a small streaming JSON writer for dripctl's output (pretty or one object per line).
 * The writer inserts commas, colons and indentation itself; the caller only says what comes next.
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 are written as U+FFFD so that
 * the output is always valid JSON, whatever a record contains. */
#ifndef DRIPCTL_JSON_H
#define DRIPCTL_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct {
    FILE *f;
    int pretty;                   /* 1: two-space indentation, one member per line */
    int depth;
    int count[JSON_MAX_DEPTH];    /* values written so far at each depth */
    int after_key;                /* a key was just written: the next value needs no comma */
} json_writer;

void json_init(json_writer *w, FILE *f, int pretty);

void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w);
void json_end_array(json_writer *w);
/* Member name inside an object; must be followed by exactly one value. */
void json_key(json_writer *w, const char *key);

void json_string(json_writer *w, const char *s); /* NULL writes null */
void json_int(json_writer *w, int64_t v);
void json_uint(json_writer *w, uint64_t v);
void json_double(json_writer *w, double v);
void json_bool(json_writer *w, int v);
void json_null(json_writer *w);

/* Ends the top-level value with a newline (call once per document / JSON line). */
void json_finish(json_writer *w);

/* "key": value pairs; the opt_ forms write null when the field is absent (has = 0). */
void json_kv_str(json_writer *w, const char *k, const char *v);
void json_kv_opt_uint(json_writer *w, const char *k, int has, uint64_t v);
void json_kv_opt_bool(json_writer *w, const char *k, int has, int v);
void json_kv_str_list(json_writer *w, const char *k, char **v, size_t n);

/* Writes `s` escaped (without the quotes) to f. Exposed for tests and ad-hoc output. */
void json_write_escaped(FILE *f, const char *s);

#endif
