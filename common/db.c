#include "db.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "status.h"

struct db_pool {
    uv_loop_t *loop;
    char *conninfo;
    int size;
    PGconn **conns;
    int *busy;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int healthy;
    atomic_int pending;
};

typedef struct {
    uv_work_t req;
    db_pool *pool;
    db_work_fn work;
    db_done_fn done;
    void *arg;
    int status;
} db_job;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* out of memory is not recoverable for a daemon */
    return p;
}

int db_connect(PGconn **out, const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("db.connect", "cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        *out = NULL;
        return DRIP_EIO;
    }
    /* Notices (e.g. "relation already exists, skipping") are noise in JSON logs. */
    PQsetNoticeProcessor(c, NULL, NULL);
    *out = c;
    return DRIP_OK;
}

int db_pool_create(db_pool **out, uv_loop_t *loop, const char *conninfo, int size)
{
    db_pool *p = xmalloc(sizeof *p);
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->conninfo = strdup(conninfo);
    p->size = size > 0 ? size : 1;
    p->conns = xmalloc(sizeof(PGconn *) * (size_t)p->size);
    p->busy = xmalloc(sizeof(int) * (size_t)p->size);
    for (int i = 0; i < p->size; i++) {
        p->conns[i] = NULL;
        p->busy[i] = 0;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_store(&p->healthy, 1);
    *out = p;
    return DRIP_OK;
}

void db_pool_destroy(db_pool *p)
{
    if (!p) return;
    for (int i = 0; i < p->size; i++)
        if (p->conns[i]) PQfinish(p->conns[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->conns);
    free(p->busy);
    free(p->conninfo);
    free(p);
}

static int pool_checkout(db_pool *p)
{
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (int i = 0; i < p->size; i++) {
            if (!p->busy[i]) {
                p->busy[i] = 1;
                pthread_mutex_unlock(&p->mu);
                return i;
            }
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
}

static void pool_checkin(db_pool *p, int i)
{
    pthread_mutex_lock(&p->mu);
    p->busy[i] = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Makes sure slot i holds a live connection (connect or reset). */
static int pool_ensure(db_pool *p, int i)
{
    PGconn *c = p->conns[i];
    if (c && PQstatus(c) == CONNECTION_OK) return DRIP_OK;
    if (c) {
        PQreset(c);
        if (PQstatus(c) == CONNECTION_OK) return DRIP_OK;
        PQfinish(c);
        p->conns[i] = NULL;
    }
    if (db_connect(&p->conns[i], p->conninfo) != DRIP_OK) return DRIP_EIO;
    return DRIP_OK;
}

int db_pool_run(db_pool *p, db_work_fn work, void *arg)
{
    int i = pool_checkout(p);
    int st = pool_ensure(p, i);
    if (st == DRIP_OK) st = work(p->conns[i], arg);
    /* A connection that broke during the work is reset on its next use. */
    atomic_store(&p->healthy, !(st == DRIP_EIO || PQstatus(p->conns[i]) != CONNECTION_OK));
    pool_checkin(p, i);
    return st;
}

static void job_work(uv_work_t *req)
{
    db_job *j = req->data;
    j->status = db_pool_run(j->pool, j->work, j->arg);
}

static void job_after(uv_work_t *req, int uvstatus)
{
    db_job *j = req->data;
    atomic_fetch_sub(&j->pool->pending, 1);
    if (j->done) j->done(uvstatus == UV_ECANCELED ? DRIP_EIO : j->status, j->arg);
    free(j);
}

int db_pool_submit(db_pool *p, db_work_fn work, db_done_fn done, void *arg)
{
    db_job *j = xmalloc(sizeof *j);
    j->req.data = j;
    j->pool = p;
    j->work = work;
    j->done = done;
    j->arg = arg;
    j->status = DRIP_OK;
    atomic_fetch_add(&p->pending, 1);
    if (uv_queue_work(p->loop, &j->req, job_work, job_after) != 0) {
        atomic_fetch_sub(&p->pending, 1);
        free(j);
        return DRIP_ENOMEM;
    }
    return DRIP_OK;
}

int db_pool_healthy(const db_pool *p)
{
    return atomic_load(&((db_pool *)p)->healthy);
}

int db_pool_pending(const db_pool *p)
{
    return atomic_load(&((db_pool *)p)->pending);
}

/* ---- statements -------------------------------------------------------------------------- */

static int status_from_sqlstate(const char *state)
{
    if (!state) return DRIP_EINTERNAL;
    /* serialization_failure, deadlock_detected, unique_violation (a concurrent insert of the same
     * key won; the retried transaction will see it), lock_not_available */
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "23505") ||
        !strcmp(state, "55P03"))
        return DRIP_EAGAIN;
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01")) return DRIP_EIO;
    return DRIP_EINTERNAL;
}

int db_result_status(PGconn *c, const PGresult *r, const char *what)
{
    if (!r) {
        log_error("db.error", "%s: %s", what, PQerrorMessage(c));
        return PQstatus(c) == CONNECTION_OK ? DRIP_EINTERNAL : DRIP_EIO;
    }
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_COPY_IN) return DRIP_OK;
    if (PQstatus(c) != CONNECTION_OK) {
        log_error("db.error", "%s: connection lost: %s", what, PQerrorMessage(c));
        return DRIP_EIO;
    }
    int st = status_from_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE));
    if (st == DRIP_EAGAIN)
        log_info("db.retry", "%s: %s", what, PQresultErrorMessage(r));
    else
        log_error("db.error", "%s: %s", what, PQresultErrorMessage(r));
    return st;
}

int db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int st = db_result_status(c, r, sql);
    PQclear(r);
    return st;
}

PGresult *db_query(PGconn *c, const char *sql, int nparams, const char *const *values, int *status)
{
    PGresult *r = PQexecParams(c, sql, nparams, NULL, values, NULL, NULL, 0);
    int st = db_result_status(c, r, sql);
    if (status) *status = st;
    if (st != DRIP_OK) {
        PQclear(r);
        return NULL;
    }
    return r;
}

static void backoff_sleep(int attempt)
{
    unsigned r = (unsigned)rand_r(&(unsigned){(unsigned)time(NULL) ^ (unsigned)attempt});
    long ms = 2L * attempt + (long)(r % (5u * (unsigned)attempt + 1));
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int db_transaction(PGconn *c, int (*fn)(PGconn *c, void *arg), void *arg)
{
    return db_transaction_ex(c, "BEGIN", fn, arg);
}

int db_transaction_ex(PGconn *c, const char *begin_sql, int (*fn)(PGconn *c, void *arg), void *arg)
{
    for (int attempt = 1;; attempt++) {
        int st = db_exec(c, begin_sql);
        if (st != DRIP_OK) return st;
        st = fn(c, arg);
        if (st == DRIP_OK) st = db_exec(c, "COMMIT");
        else if (PQstatus(c) == CONNECTION_OK) db_exec(c, "ROLLBACK");
        if (st != DRIP_EAGAIN || attempt >= 8) return st;
        /* COMMIT failure already ended the transaction; ROLLBACK outside one is harmless. */
        if (PQtransactionStatus(c) != PQTRANS_IDLE) db_exec(c, "ROLLBACK");
        backoff_sleep(attempt);
    }
}

int db_migrate(PGconn *c, const char *const *steps, int nsteps)
{
    int st = db_exec(c, "SELECT pg_advisory_lock(hashtext(current_schema()))");
    if (st != DRIP_OK) return st;
    st = db_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version integer PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())");
    int current = 0;
    if (st == DRIP_OK) {
        PGresult *r = db_query(c, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL, &st);
        if (r) {
            current = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    for (int v = current + 1; st == DRIP_OK && v <= nsteps; v++) {
        st = db_exec(c, "BEGIN");
        if (st == DRIP_OK) st = db_exec(c, steps[v - 1]);
        if (st == DRIP_OK) {
            char vs[16];
            snprintf(vs, sizeof vs, "%d", v);
            const char *params[1] = {vs};
            PGresult *r = db_query(c, "INSERT INTO schema_version(version) VALUES ($1)", 1, params, &st);
            PQclear(r);
        }
        if (st == DRIP_OK) st = db_exec(c, "COMMIT");
        else db_exec(c, "ROLLBACK");
        if (st == DRIP_OK) log_info("db.migrate", "applied schema version %d", v);
    }
    db_exec(c, "SELECT pg_advisory_unlock(hashtext(current_schema()))");
    return st;
}

/* ---- COPY ---------------------------------------------------------------------------------- */

int db_copy_begin(PGconn *c, const char *copy_sql)
{
    PGresult *r = PQexec(c, copy_sql);
    int st = db_result_status(c, r, copy_sql);
    if (st == DRIP_OK && PQresultStatus(r) != PGRES_COPY_IN) st = DRIP_EINTERNAL;
    PQclear(r);
    return st;
}

int db_copy_put(PGconn *c, const char *buf, size_t len)
{
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        if (PQputCopyData(c, buf, n) != 1) {
            log_error("db.copy", "PQputCopyData: %s", PQerrorMessage(c));
            return DRIP_EIO;
        }
        buf += n;
        len -= (size_t)n;
    }
    return DRIP_OK;
}

int db_copy_end(PGconn *c)
{
    if (PQputCopyEnd(c, NULL) != 1) {
        log_error("db.copy", "PQputCopyEnd: %s", PQerrorMessage(c));
        return DRIP_EIO;
    }
    int st = DRIP_OK;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        int s = db_result_status(c, r, "COPY");
        if (s != DRIP_OK) st = s;
        PQclear(r);
    }
    return st;
}

/* ---- buffers ------------------------------------------------------------------------------- */

void db_buf_init(db_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void db_buf_free(db_buf *b)
{
    free(b->data);
    db_buf_init(b);
}

void db_buf_reset(db_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

static void buf_reserve(db_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) abort();
    b->data = d;
    b->cap = cap;
}

void db_buf_put(db_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void db_buf_puts(db_buf *b, const char *s)
{
    db_buf_put(b, s, strlen(s));
}

void db_buf_printf(db_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void db_buf_copy_text(db_buf *b, const char *s)
{
    if (!s) {
        db_buf_put(b, "\\N", 2);
        return;
    }
    buf_reserve(b, strlen(s) * 2);
    for (; *s; s++) {
        char e = 0;
        switch (*s) {
        case '\\': e = '\\'; break;
        case '\t': e = 't'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        }
        if (e) {
            b->data[b->len++] = '\\';
            b->data[b->len++] = e;
        } else {
            b->data[b->len++] = *s;
        }
    }
    b->data[b->len] = '\0';
}

void db_buf_copy_bytea(db_buf *b, const void *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *u = p;
    buf_reserve(b, 3 + 2 * n);
    b->data[b->len++] = '\\';
    b->data[b->len++] = '\\';
    b->data[b->len++] = 'x';
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = hx[u[i] >> 4];
        b->data[b->len++] = hx[u[i] & 15];
    }
    b->data[b->len] = '\0';
}

void db_buf_array_elem(db_buf *b, const char *s)
{
    buf_reserve(b, strlen(s) * 2 + 2);
    b->data[b->len++] = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') b->data[b->len++] = '\\';
        b->data[b->len++] = *s;
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

void db_buf_text_array(db_buf *b, const char *const *items, size_t n)
{
    db_buf_put(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) db_buf_put(b, ",", 1);
        db_buf_array_elem(b, items[i]);
    }
    db_buf_put(b, "}", 1);
}

unsigned char *db_bytea_decode(const char *text, size_t *len)
{
    return PQunescapeBytea((const unsigned char *)text, len);
}
