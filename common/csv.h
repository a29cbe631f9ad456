/* csv.h — reading spreadsheet exports: RFC 4180 quoting (quoted fields with "" escapes and embedded
 * commas/newlines), CRLF or LF line ends, UTF-8 with or without BOM, or GB18030/GBK (detected, or
 * forced), converted to UTF-8 with iconv. Streaming: memory is bounded by the longest record. */
#ifndef DRIP_CSV_H
#define DRIP_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef enum { CSV_ENC_AUTO = 0, CSV_ENC_UTF8, CSV_ENC_GB18030 } csv_encoding;

typedef struct csv_reader csv_reader;

/* Takes ownership of nothing: `f` stays the caller's. AUTO sniffs the first 64 KiB: a UTF-8 BOM or
 * valid UTF-8 -> UTF-8, else GB18030 (a superset of GBK/GB2312). While everything read is ASCII
 * (same bytes in both) the decision waits for the first 64 KiB block that has a non-ASCII byte.
 * Returns NULL only when out of memory. */
csv_reader *csv_reader_create(FILE *f, csv_encoding enc);
void csv_reader_destroy(csv_reader *r);

/* Caps the size of one record (all its fields): a longer one fails with DRIP_ETOOLARGE instead of
 * growing without bound (an unbalanced quote would otherwise swallow the file). Default 64 MiB;
 * 0 restores the default. */
void csv_reader_set_max_record(csv_reader *r, size_t bytes);

/* Reads the next record. Returns the number of fields (>= 1), 0 at end of file, or a negative
 * status (DRIP_EBADMSG: bad quoting or undecodable bytes; `csv_reader_error` says where).
 * fields[i] points into the reader's buffer, valid until the next call; fields are UTF-8 and NUL
 * terminated. Blank lines are skipped. */
int csv_reader_next(csv_reader *r, char ***fields);
/* Physical line number (1-based) where the last returned record started. */
long csv_reader_line(const csv_reader *r);
const char *csv_reader_error(const csv_reader *r);
/* Encoding that was detected or forced. */
csv_encoding csv_reader_encoding(const csv_reader *r);

/* Writes one field to `f` quoted if needed (comma, quote, CR/LF). */
void csv_write_field(FILE *f, const char *s);

#endif
