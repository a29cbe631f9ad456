/* db.h — PostgreSQL (libpq) for drip daemons.
 *
 * A daemon owns one schema; its login role's search_path points there, so SQL is unqualified.
 * libpq calls block, so database work never runs on the loop thread: db_pool_submit() runs a
 * work function on a libuv worker thread with a connection checked out of the pool, then calls
 * the done function back on the loop thread. */
#ifndef DRIP_DB_H
#define DRIP_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct db_pool db_pool;

/* Work: runs on a worker thread with exclusive use of `conn`. Returns a status. */
typedef int (*db_work_fn)(PGconn *conn, void *arg);
/* Done: runs on the loop thread with the work's status. */
typedef void (*db_done_fn)(int status, void *arg);

/* Connects `size` connections lazily (first use) and reconnects broken ones. */
int db_pool_create(db_pool **out, uv_loop_t *loop, const char *conninfo, int size);
/* Call when no work is pending (after the loop has drained). */
void db_pool_destroy(db_pool *p);
/* Queues work; `done` may be NULL. Returns DRIP_OK or DRIP_ENOMEM. [loop thread] */
int db_pool_submit(db_pool *p, db_work_fn work, db_done_fn done, void *arg);
/* Runs work synchronously on the calling thread (start-up code). */
int db_pool_run(db_pool *p, db_work_fn work, void *arg);
/* 1 when the last attempt to use a connection succeeded. */
int db_pool_healthy(const db_pool *p);
/* Work items queued or running. */
int db_pool_pending(const db_pool *p);

/* Opens one standalone connection (tools, tests). DRIP_OK or DRIP_EIO. */
int db_connect(PGconn **out, const char *conninfo);

/* Runs `sql` (no parameters); DRIP_OK, DRIP_EAGAIN (deadlock / serialization failure / unique
 * violation under concurrency: retry the transaction), DRIP_EIO (connection lost) or
 * DRIP_EINTERNAL (logged with the server's message). */
int db_exec(PGconn *c, const char *sql);
/* Parameterised query; returns the result (caller PQclear()s) or NULL with *status set.
 * Text-format parameters; lengths/formats may be NULL. */
PGresult *db_query(PGconn *c, const char *sql, int nparams, const char *const *values, int *status);
/* Maps a finished result to a status (PGRES_COMMAND_OK / TUPLES_OK -> DRIP_OK) and logs errors. */
int db_result_status(PGconn *c, const PGresult *r, const char *what);

/* Runs fn inside BEGIN ... COMMIT, retrying (up to 8 times, short random backoff) when it or the
 * commit returns DRIP_EAGAIN. Any other failure rolls back and returns it. */
int db_transaction(PGconn *c, int (*fn)(PGconn *c, void *arg), void *arg);
/* Same, starting the transaction with `begin_sql` (e.g. "BEGIN; SET LOCAL ...") in one round trip. */
int db_transaction_ex(PGconn *c, const char *begin_sql, int (*fn)(PGconn *c, void *arg), void *arg);

/* Applies migrations: `steps[i]` is the SQL of version i+1. Keeps a schema_version table in the
 * current schema and takes an advisory lock, so concurrent instances apply each step once. */
int db_migrate(PGconn *c, const char *const *steps, int nsteps);

/* COPY ... FROM STDIN helpers (text format). Use db_copy_escape for field values. */
int db_copy_begin(PGconn *c, const char *copy_sql);
int db_copy_put(PGconn *c, const char *buf, size_t len);
int db_copy_end(PGconn *c);

/* A growable byte buffer, used to build COPY text, array literals and payloads. */
typedef struct {
    char *data;
    size_t len, cap;
} db_buf;
void db_buf_init(db_buf *b);
void db_buf_free(db_buf *b);
void db_buf_reset(db_buf *b);
void db_buf_put(db_buf *b, const void *p, size_t n);
void db_buf_puts(db_buf *b, const char *s);
void db_buf_printf(db_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s escaped for COPY text format (NULL -> \N). */
void db_buf_copy_text(db_buf *b, const char *s);
/* Appends bytes as a COPY text bytea value (\\x<hex>). */
void db_buf_copy_bytea(db_buf *b, const void *p, size_t n);
/* Appends s as one element of a text[] array literal, quoted and escaped. */
void db_buf_array_elem(db_buf *b, const char *s);
/* Writes {"a","b"} into b from n strings. */
void db_buf_text_array(db_buf *b, const char *const *items, size_t n);

/* Decodes a bytea column in text (hex) format; caller frees with PQfreemem(). */
unsigned char *db_bytea_decode(const char *text, size_t *len);

#endif
