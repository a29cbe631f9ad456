#include "import.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "envelope.h"
#include "rows.h"
#include "status.h"

/* ------------------------------------------------------------------------------------------------
 * The retrying sender
 * ---------------------------------------------------------------------------------------------- */

static int retryable(int rc)
{
    return rc == DRIP_ETIMEOUT || rc == DRIP_ENOTFOUND || rc == DRIP_EIO;
}

static const char *transport_words(int rc)
{
    switch (rc) {
    case DRIP_ENOTFOUND: return "no responders (registry not running or restarting)";
    case DRIP_ETIMEOUT: return "no reply in time";
    case DRIP_EIO: return "connection to NATS lost";
    case DRIP_EINTERNAL: return "registry reported an internal error";
    default: return drip_status_name(rc);
    }
}

int import_send_batch(ctl_ctx *c, const char *subject, const uint8_t *data, size_t len,
                      const char *msg_id, const char *label, const send_policy *p,
                      atomic_int *cancel, Drip__BatchReply **out)
{
    *out = NULL;
    double first_fail = 0, last_note = 0;
    int64_t backoff_ms = 200;
    int last = DRIP_OK, notes = 0;
    char last_msg[160] = "";
    for (;;) {
        void *rep = NULL;
        size_t rlen = 0;
        int rc = ctl_request(c, subject, data, len, p->timeout_ms, &rep, &rlen);
        if (rc == DRIP_OK) {
            Drip__BatchReply *r = drip__batch_reply__unpack(NULL, rlen, rep);
            free(rep);
            if (!r) return DRIP_EBADMSG;
            if (r->has_error && r->error == DRIP__ERROR_CODE__ERR_INTERNAL) {
                /* a fault on the registry's side (e.g. database failover): same msg_id again */
                last = DRIP_EINTERNAL;
                snprintf(last_msg, sizeof last_msg, ": %s",
                         r->error_message ? r->error_message : "");
                drip__batch_reply__free_unpacked(r, NULL);
            } else {
                if (notes)
                    fprintf(stderr, "dripctl: %s: answered after %.1f s of retries\n", label,
                            ctl_now_s() - first_fail);
                *out = r;
                return DRIP_OK;
            }
        } else if (retryable(rc)) {
            last = rc;
            last_msg[0] = '\0';
        } else {
            return rc; /* permissions, bad subject: resending cannot help */
        }
        double now = ctl_now_s();
        if (first_fail == 0) first_fail = now;
        double left = p->retry_for_s - (now - first_fail);
        if (left <= 0 || (cancel && atomic_load(cancel))) return last;
        if (notes == 0 || now - last_note >= 10) {
            fprintf(stderr,
                    "dripctl: %s: %s on %s%s; retrying the same message (msg_id %s) for up to "
                    "%.0f s more\n",
                    label, transport_words(last), subject, last_msg, msg_id, left);
            notes++;
            last_note = now;
        }
        int64_t wait = backoff_ms;
        if ((double)wait > left * 1000) wait = (int64_t)(left * 1000) + 1;
        ctl_sleep_ms(wait);
        backoff_ms = backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2;
    }
}

/* ------------------------------------------------------------------------------------------------
 * Batches
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    long line;          /* physical line of the CSV record */
    int rec;            /* index of its record in the batch; -1 = rejected locally */
    const char *key;    /* record key when known */
    const char *error;  /* rejection: error name ("bad_uscc"), else NULL */
    const char *reason;
} row_ref;

typedef struct {
    size_t index;
    arena *a;
    void **records;
    size_t n, cap;
    size_t bytes; /* packed size of the records so far */
    row_ref *rows;
    size_t nrows, rows_cap;
    size_t nsend_rows; /* rows that travel (rec >= 0) */
    char msg_id[37];
    uint8_t *data;
    size_t len;
    /* set by the worker, read by the main thread after `done` (under the pipeline mutex) */
    int done;
    int status;
    Drip__BatchReply *reply;
} batch;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) abort();
    return q;
}

static batch *batch_new(size_t index)
{
    batch *b = xrealloc(NULL, sizeof *b);
    memset(b, 0, sizeof *b);
    b->index = index;
    b->a = arena_create();
    return b;
}

static void batch_free(batch *b)
{
    if (!b) return;
    if (b->reply) drip__batch_reply__free_unpacked(b->reply, NULL);
    free(b->records);
    free(b->rows);
    free(b->data);
    arena_destroy(b->a);
    free(b);
}

static row_ref *batch_add_row(batch *b, long line, int rec, const char *key)
{
    if (b->nrows == b->rows_cap) {
        b->rows_cap = b->rows_cap ? b->rows_cap * 2 : 64;
        b->rows = xrealloc(b->rows, b->rows_cap * sizeof *b->rows);
    }
    row_ref *r = &b->rows[b->nrows++];
    memset(r, 0, sizeof *r);
    r->line = line;
    r->rec = rec;
    r->key = key;
    if (rec >= 0) b->nsend_rows++;
    return r;
}

static int batch_add_record(batch *b, void *rec)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->records = xrealloc(b->records, b->cap * sizeof *b->records);
    }
    b->records[b->n] = rec;
    return (int)b->n++;
}

/* Lines of the rows that travel, for messages: "lines 2-1001". */
static void batch_label(const batch *b, char *out, size_t cap)
{
    long lo = 0, hi = 0;
    for (size_t i = 0; i < b->nrows; i++) {
        long l = b->rows[i].line;
        if (lo == 0 || l < lo) lo = l;
        if (l > hi) hi = l;
    }
    snprintf(out, cap, "batch %zu (lines %ld-%ld)", b->index + 1, lo, hi);
}

/* ------------------------------------------------------------------------------------------------
 * Pipeline: the main thread reads and packs, `window` workers send, the main thread merges the
 * results strictly in batch order (slots form a ring of 2 x window batches).
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    ctl_ctx *c;
    const import_options *o;
    const rows_format *f;
    char subject[SUBJECT_MAX];
    send_policy send;

    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    batch **slots;
    size_t nslots;
    size_t next_submit, next_dispatch, next_write; /* batch indexes */
    int closed;
    atomic_int cancel;
    atomic_long rows_sent;

    /* main thread only */
    long rows_read;
    long created, updated, unchanged, retired, rej_local, rej_server, accepted;
    int fatal;             /* a batch could not be delivered: stop */
    int fatal_status;
    char fatal_label[96];
    long done_up_to_line;  /* last line of the last batch merged */
    FILE *rej;
    char rej_path[4096];
    int rej_failed;
    double t0, last_progress;
    int progress, tty;
} pipeline;

static void *worker_main(void *arg)
{
    pipeline *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->next_dispatch == p->next_submit && !p->closed)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->next_dispatch == p->next_submit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        batch *b = p->slots[p->next_dispatch % p->nslots];
        p->next_dispatch++;
        pthread_mutex_unlock(&p->mu);

        int status = DRIP_OK;
        Drip__BatchReply *reply = NULL;
        if (b->n == 0) {
            /* only local rejects: nothing to send */
        } else if (atomic_load(&p->cancel)) {
            status = DRIP_EAGAIN; /* not sent: an earlier batch failed */
        } else {
            char label[96];
            batch_label(b, label, sizeof label);
            atomic_fetch_add(&p->rows_sent, (long)b->nsend_rows);
            status = import_send_batch(p->c, p->subject, b->data, b->len, b->msg_id, label,
                                       &p->send, &p->cancel, &reply);
        }
        pthread_mutex_lock(&p->mu);
        b->status = status;
        b->reply = reply;
        b->done = 1;
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void progress(pipeline *p, int final)
{
    if (!p->progress) return;
    double now = ctl_now_s();
    if (!final && now - p->last_progress < 1.0) return;
    p->last_progress = now;
    double el = now - p->t0;
    long rejected = p->rej_local + p->rej_server;
    fprintf(stderr, "%simport %s: read=%ld sent=%ld accepted=%ld rejected=%ld rows/s=%.0f%s",
            p->tty ? "\r" : "", p->o->kind, p->rows_read, (long)atomic_load(&p->rows_sent),
            p->accepted, rejected, el > 0 ? (double)p->rows_read / el : 0.0,
            p->tty ? (final ? "\033[K\n" : "\033[K") : "\n");
}

static int row_cmp(const void *x, const void *y)
{
    const row_ref *a = x, *b = y;
    return (a->line > b->line) - (a->line < b->line);
}

static void write_rejects(pipeline *p, batch *b)
{
    size_t nrej = 0;
    for (size_t i = 0; i < b->nrows; i++)
        if (b->rows[i].error) nrej++;
    if (nrej == 0 || p->rej_failed) return;
    if (!p->rej) {
        p->rej = fopen(p->rej_path, "w");
        if (!p->rej) {
            fprintf(stderr, "dripctl: cannot write rejects to %s: %s\n", p->rej_path,
                    strerror(errno));
            p->rej_failed = 1;
            return;
        }
        fputs("line,key,error,reason\n", p->rej);
    }
    /* rows of one batch are in line order except calendar rows regrouped by year */
    qsort(b->rows, b->nrows, sizeof *b->rows, row_cmp);
    for (size_t i = 0; i < b->nrows; i++) {
        const row_ref *r = &b->rows[i];
        if (!r->error) continue;
        fprintf(p->rej, "%ld,", r->line);
        csv_write_field(p->rej, r->key ? r->key : "");
        fputc(',', p->rej);
        csv_write_field(p->rej, r->error);
        fputc(',', p->rej);
        csv_write_field(p->rej, r->reason ? r->reason : "");
        fputc('\n', p->rej);
    }
}

/* Applies a batch's reply to its rows and counters. */
static void merge_reply(pipeline *p, batch *b)
{
    const Drip__BatchReply *r = b->reply;
    /* per record: error name + reason when rejected, else NULL */
    const char **err = xrealloc(NULL, (b->n ? b->n : 1) * sizeof *err);
    const char **why = xrealloc(NULL, (b->n ? b->n : 1) * sizeof *why);
    const char **key = xrealloc(NULL, (b->n ? b->n : 1) * sizeof *key);
    for (size_t i = 0; i < b->n; i++) {
        err[i] = "internal";
        why[i] = "no result for this record in the reply";
        key[i] = NULL;
    }
    if (b->status == DRIP_EFORBIDDEN || b->status == DRIP_EBADMSG || b->status == DRIP_EAGAIN) {
        const char *e = b->status == DRIP_EFORBIDDEN ? "forbidden" : "internal";
        const char *w = b->status == DRIP_EFORBIDDEN
                            ? "NATS refused the subject for this user (permissions)"
                            : b->status == DRIP_EBADMSG ? "the reply could not be decoded"
                                                        : "not sent";
        for (size_t i = 0; i < b->n; i++) {
            err[i] = e;
            why[i] = w;
        }
    } else if (r && r->has_error && r->error != DRIP__ERROR_CODE__OK) {
        /* whole batch refused (bad envelope, forbidden, too large ...) */
        const char *w = arena_strdup(b->a, r->error_message ? r->error_message : "");
        for (size_t i = 0; i < b->n; i++) {
            err[i] = drip_status_name(-(int)r->error);
            why[i] = w;
        }
    } else if (r) {
        for (size_t k = 0; k < r->n_results; k++) {
            const Drip__RecordResult *res = r->results[k];
            size_t i = res->has_index ? res->index : k;
            if (i >= b->n) continue;
            if (res->key && *res->key) key[i] = arena_strdup(b->a, res->key);
            Drip__Outcome oc = res->has_outcome ? res->outcome : DRIP__OUTCOME__OUTCOME_UNSPECIFIED;
            err[i] = NULL;
            why[i] = NULL;
            switch (oc) {
            case DRIP__OUTCOME__CREATED: p->created++; break;
            case DRIP__OUTCOME__UPDATED: p->updated++; break;
            case DRIP__OUTCOME__UNCHANGED: p->unchanged++; break;
            case DRIP__OUTCOME__RETIRED: p->retired++; break;
            default:
                err[i] = res->has_error && res->error != DRIP__ERROR_CODE__OK
                             ? drip_status_name(-(int)res->error)
                             : "rejected";
                why[i] = arena_strdup(b->a, res->reason ? res->reason : "");
                break;
            }
        }
    }
    for (size_t k = 0; k < b->nrows; k++) {
        row_ref *row = &b->rows[k];
        if (row->rec < 0) continue; /* local reject, already described */
        size_t i = (size_t)row->rec;
        if (key[i]) row->key = key[i];
        if (err[i]) {
            row->error = err[i];
            row->reason = why[i];
            p->rej_server++;
        } else {
            p->accepted++;
        }
    }
    free(err);
    free(why);
    free(key);
}

/* Merges every finished batch at the head of the ring, in order. Main thread only. */
static void flush_ready(pipeline *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        batch *b = NULL;
        if (p->next_write < p->next_submit) {
            b = p->slots[p->next_write % p->nslots];
            if (!b->done) b = NULL;
        }
        pthread_mutex_unlock(&p->mu);
        if (!b) return;

        int transport_failed = b->n > 0 && b->status != DRIP_OK && b->status != DRIP_EFORBIDDEN &&
                               b->status != DRIP_EBADMSG && b->status != DRIP_EAGAIN;
        if (transport_failed && !p->fatal) {
            p->fatal = 1;
            p->fatal_status = b->status;
            batch_label(b, p->fatal_label, sizeof p->fatal_label);
            atomic_store(&p->cancel, 1);
        }
        if (!p->fatal) {
            for (size_t i = 0; i < b->nrows; i++)
                if (b->rows[i].rec < 0) p->rej_local++;
            merge_reply(p, b);
            write_rejects(p, b);
            for (size_t i = 0; i < b->nrows; i++)
                if (b->rows[i].line > p->done_up_to_line) p->done_up_to_line = b->rows[i].line;
        }
        pthread_mutex_lock(&p->mu);
        p->slots[p->next_write % p->nslots] = NULL;
        p->next_write++;
        pthread_mutex_unlock(&p->mu);
        batch_free(b);
    }
}

/* Waits up to ~1 s for a batch to finish (progress keeps ticking meanwhile). */
static void wait_done(pipeline *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&p->mu);
    batch *head = p->next_write < p->next_submit ? p->slots[p->next_write % p->nslots] : NULL;
    if (head && !head->done) pthread_cond_timedwait(&p->done_cv, &p->mu, &ts);
    pthread_mutex_unlock(&p->mu);
}

/* Packs `b` with a fresh msg_id (fixed for all its resends) and queues it. */
static void submit(pipeline *p, batch *b)
{
    if (b->n > 0) {
        envelope_new_id(b->msg_id);
        Drip__Envelope env;
        envelope_fill(&env, b->msg_id, NULL, p->c->dept, p->c->region);
        Drip__RegistryBatch rb = DRIP__REGISTRY_BATCH__INIT;
        rb.header = &env;
        rows_batch_attach(p->f, &rb, b->records, b->n);
        b->len = drip__registry_batch__get_packed_size(&rb);
        b->data = xrealloc(NULL, b->len ? b->len : 1);
        drip__registry_batch__pack(&rb, b->data);
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int full = p->next_submit - p->next_write >= p->nslots;
        if (!full) {
            p->slots[p->next_submit % p->nslots] = b;
            p->next_submit++;
            pthread_cond_signal(&p->work_cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (!full) break;
        wait_done(p);
        flush_ready(p);
        progress(p, 0);
    }
    flush_ready(p);
    progress(p, 0);
}

/* ------------------------------------------------------------------------------------------------
 * Calendar: rows regrouped into one CalendarYear per schedule year, all in one batch.
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned year;
    Drip__CalendarDay **days;
    size_t n, cap;
    long bad_line; /* first row of this year rejected locally: the year is not sent */
} year_acc;

typedef struct {
    year_acc *y;
    size_t n, cap;
} years_acc;

static size_t years_slot(years_acc *ys, unsigned year)
{
    for (size_t i = 0; i < ys->n; i++)
        if (ys->y[i].year == year) return i;
    if (ys->n == ys->cap) {
        ys->cap = ys->cap ? ys->cap * 2 : 16;
        ys->y = xrealloc(ys->y, ys->cap * sizeof *ys->y);
    }
    memset(&ys->y[ys->n], 0, sizeof ys->y[0]);
    ys->y[ys->n].year = year;
    return ys->n++;
}

static void years_add(years_acc *ys, size_t slot, Drip__CalendarDay *d)
{
    year_acc *y = &ys->y[slot];
    if (y->n == y->cap) {
        y->cap = y->cap ? y->cap * 2 : 64;
        y->days = xrealloc(y->days, y->cap * sizeof *y->days);
    }
    y->days[y->n++] = d;
}

/* Turns the accumulated years into records of `b` in ascending year order; rows whose rec holds
 * a year slot are renumbered to the record index. A year with a locally rejected row is not sent
 * at all (pushing a year replaces its whole schedule, so a partial year would lose that day):
 * its other rows are rejected as year_incomplete. */
static void years_to_batch(years_acc *ys, batch *b)
{
    size_t *rank = xrealloc(NULL, (ys->n ? ys->n : 1) * sizeof *rank);
    for (size_t i = 0; i < ys->n; i++) {
        size_t r = 0;
        for (size_t j = 0; j < ys->n; j++)
            if (!ys->y[j].bad_line && ys->y[j].year < ys->y[i].year) r++;
        rank[i] = r;
    }
    for (size_t r = 0; r < ys->n; r++) {
        for (size_t i = 0; i < ys->n; i++) {
            if (rank[i] != r || ys->y[i].bad_line) continue;
            Drip__CalendarYear *cy = arena_alloc(b->a, sizeof *cy);
            drip__calendar_year__init(cy);
            cy->has_year = 1;
            cy->year = ys->y[i].year;
            cy->n_days = ys->y[i].n;
            cy->days = arena_alloc(b->a, (ys->y[i].n ? ys->y[i].n : 1) * sizeof *cy->days);
            memcpy(cy->days, ys->y[i].days, ys->y[i].n * sizeof *cy->days);
            batch_add_record(b, cy);
        }
    }
    for (size_t k = 0; k < b->nrows; k++) {
        row_ref *row = &b->rows[k];
        if (row->rec < 0) continue;
        const year_acc *y = &ys->y[row->rec];
        char *key = arena_alloc(b->a, 12);
        snprintf(key, 12, "%u", y->year);
        row->key = key;
        if (y->bad_line) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "the %u schedule was not sent: line %ld was rejected and a year is replaced "
                     "as a whole",
                     y->year, y->bad_line);
            row->rec = -1;
            b->nsend_rows--;
            row->error = "year_incomplete";
            row->reason = arena_strdup(b->a, msg);
        } else {
            row->rec = (int)rank[row->rec];
        }
    }
    free(rank);
}

static void years_free(years_acc *ys)
{
    for (size_t i = 0; i < ys->n; i++) free(ys->y[i].days);
    free(ys->y);
    memset(ys, 0, sizeof *ys);
}

/* ------------------------------------------------------------------------------------------------
 * The import
 * ---------------------------------------------------------------------------------------------- */

int import_run(ctl_ctx *c, const import_options *o)
{
    const rows_format *f = rows_format_find(o->kind);
    if (!f) {
        fprintf(stderr,
                "dripctl: unknown --kind '%s' (region|department|enterprise|inspector|item|"
                "calendar)\n",
                o->kind ? o->kind : "");
        return CTL_EXIT_USAGE;
    }
    pipeline p;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.o = o;
    p.f = f;
    p.tty = isatty(STDERR_FILENO);
    p.progress = o->progress || p.tty;
    p.send = o->send;
    if (ctl_subject(c, "reg.cmd", f->subject_last, p.subject) != DRIP_OK) return CTL_EXIT_USAGE;
    int n;
    if (o->rejects_path) {
        n = snprintf(p.rej_path, sizeof p.rej_path, "%s", o->rejects_path);
    } else {
        /* targets.csv -> targets.rejects.csv (other names get the suffix appended) */
        size_t len = strlen(o->path);
        if (len > 4 && strcasecmp(o->path + len - 4, ".csv") == 0) len -= 4;
        n = snprintf(p.rej_path, sizeof p.rej_path, "%.*s.rejects.csv", (int)len, o->path);
    }
    if (n < 0 || (size_t)n >= sizeof p.rej_path) {
        fprintf(stderr, "dripctl: path too long: %s\n", o->path);
        return CTL_EXIT_USAGE;
    }

    FILE *in = fopen(o->path, "rb");
    if (!in) {
        fprintf(stderr, "dripctl: cannot open %s: %s\n", o->path, strerror(errno));
        return CTL_EXIT_USAGE;
    }
    csv_reader *rd = csv_reader_create(in, o->encoding);
    if (!rd) {
        fprintf(stderr, "dripctl: cannot read %s\n", o->path);
        fclose(in);
        return CTL_EXIT_USAGE;
    }
    char **fields = NULL;
    int nf = csv_reader_next(rd, &fields);
    char why[ROWS_WHY_MAX];
    if (nf <= 0) {
        if (nf == 0)
            fprintf(stderr, "dripctl: %s: empty file, expected the header %s\n", o->path,
                    rows_format_header(f));
        else
            fprintf(stderr, "dripctl: %s:%ld: %s\n", o->path, csv_reader_line(rd),
                    csv_reader_error(rd));
        csv_reader_destroy(rd);
        fclose(in);
        return CTL_EXIT_USAGE;
    }
    if (rows_check_header(f, fields, nf, why) != DRIP_OK) {
        fprintf(stderr, "dripctl: %s:%ld: bad header for --kind %s: %s\n  expected: %s\n", o->path,
                csv_reader_line(rd), o->kind, why, rows_format_header(f));
        csv_reader_destroy(rd);
        fclose(in);
        return CTL_EXIT_USAGE;
    }
    int ncols = nf;

    if (ctl_connect(c) != DRIP_OK) {
        csv_reader_destroy(rd);
        fclose(in);
        return CTL_EXIT_UNREACHABLE;
    }

    /* Regions name their parents, which may sit in an earlier batch of the same file: the
     * registry must have committed that batch first, so region files go one batch at a time. */
    int window = f->record_kind == DRIP__RECORD_KIND__KIND_REGION ? 1 : o->window;
    p.nslots = (size_t)window * 2;
    p.slots = xrealloc(NULL, p.nslots * sizeof *p.slots);
    memset(p.slots, 0, p.nslots * sizeof *p.slots);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work_cv, NULL);
    pthread_cond_init(&p.done_cv, NULL);
    atomic_init(&p.cancel, 0);
    atomic_init(&p.rows_sent, 0);
    pthread_t *workers = xrealloc(NULL, (size_t)window * sizeof *workers);
    int nworkers = 0;
    for (int i = 0; i < window; i++) {
        if (pthread_create(&workers[nworkers], NULL, worker_main, &p) != 0) break;
        nworkers++;
    }
    if (nworkers == 0) {
        fprintf(stderr, "dripctl: cannot start sender threads\n");
        abort(); /* nothing sent yet; a process that cannot make threads cannot do much else */
    }
    p.t0 = ctl_now_s();
    p.last_progress = p.t0;

    /* room for the envelope and framing of the batch message itself */
    size_t limit = o->max_payload > 8192 ? (size_t)o->max_payload - 4096 : 4096;
    int calendar = f->record_kind == DRIP__RECORD_KIND__KIND_CALENDAR;
    years_acc years = {0};
    size_t next_index = 0;
    batch *cur = batch_new(next_index++);
    int input_error = 0;
    for (;;) {
        if (p.fatal) break;
        nf = csv_reader_next(rd, &fields);
        if (nf == 0) break;
        if (nf < 0) {
            fprintf(stderr, "dripctl: %s:%ld: %s; stopped reading\n", o->path, csv_reader_line(rd),
                    csv_reader_error(rd));
            input_error = 1;
            break;
        }
        long line = csv_reader_line(rd);
        p.rows_read++;
        if (!calendar && (int)cur->n >= o->batch) {
            submit(&p, cur);
            cur = batch_new(next_index++);
        }
        rows_record rec;
        int rc = rows_encode(f, cur->a, c->dept, fields, nf, ncols, &rec, why);
        size_t sz = (rc == DRIP_OK && !calendar) ? rows_record_size(f, rec.record) : 0;
        if (rc == DRIP_OK && !calendar && sz <= limit && cur->n > 0 && cur->bytes + sz > limit) {
            /* Does not fit the message any more: close this batch and encode the row again into
             * the next one (encoding is repeatable; records never point into another batch). */
            submit(&p, cur);
            cur = batch_new(next_index++);
            rc = rows_encode(f, cur->a, c->dept, fields, nf, ncols, &rec, why);
        }
        if (rc != DRIP_OK) {
            row_ref *r = batch_add_row(cur, line, -1, rec.key);
            r->error = drip_status_name(rc); /* local rejections use the wire names */
            r->reason = arena_strdup(cur->a, why);
            if (calendar && rec.year) {
                year_acc *y = &years.y[years_slot(&years, rec.year)];
                if (!y->bad_line) y->bad_line = line;
            }
        } else if (calendar) {
            size_t slot = years_slot(&years, rec.year);
            years_add(&years, slot, rec.record);
            batch_add_row(cur, line, (int)slot, rec.key);
        } else if (sz > limit) {
            row_ref *r = batch_add_row(cur, line, -1, rec.key);
            r->error = drip_status_name(DRIP_ETOOLARGE);
            char msg[96];
            snprintf(msg, sizeof msg, "record is %zu bytes, over the message limit of %zu", sz,
                     limit);
            r->reason = arena_strdup(cur->a, msg);
        } else {
            cur->bytes += sz;
            int idx = batch_add_record(cur, rec.record);
            batch_add_row(cur, line, idx, rec.key);
        }
        progress(&p, 0);
    }
    /* A calendar record replaces a whole year: never send years cut short by a bad file. */
    int send_last = !p.fatal && !(calendar && input_error);
    if (calendar && send_last) years_to_batch(&years, cur);
    years_free(&years);
    if (cur->nrows > 0 && send_last)
        submit(&p, cur);
    else
        batch_free(cur);

    /* drain */
    pthread_mutex_lock(&p.mu);
    p.closed = 1;
    pthread_cond_broadcast(&p.work_cv);
    pthread_mutex_unlock(&p.mu);
    for (;;) {
        flush_ready(&p);
        progress(&p, 0);
        pthread_mutex_lock(&p.mu);
        int left = p.next_write < p.next_submit;
        pthread_mutex_unlock(&p.mu);
        if (!left) break;
        wait_done(&p);
    }
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
    free(workers);
    progress(&p, 1);
    csv_reader_destroy(rd);
    fclose(in);
    if (p.rej && fclose(p.rej) != 0) {
        fprintf(stderr, "dripctl: writing %s failed: %s\n", p.rej_path, strerror(errno));
        p.rej_failed = 1;
    }
    pthread_cond_destroy(&p.work_cv);
    pthread_cond_destroy(&p.done_cv);
    pthread_mutex_destroy(&p.mu);
    free(p.slots);

    double secs = ctl_now_s() - p.t0;
    if (p.fatal) {
        if (p.fatal_status == DRIP_ETOOLARGE)
            fprintf(stderr,
                    "dripctl: import %s %s: %s is larger than the NATS server accepts "
                    "(max_payload); set DRIP_MAX_PAYLOAD to the server's limit or lower --batch\n",
                    o->kind, o->path, p.fatal_label);
        else if (retryable(p.fatal_status) || p.fatal_status == DRIP_EINTERNAL)
            fprintf(stderr, "dripctl: import %s %s: gave up on %s after %d s: %s on %s\n", o->kind,
                    o->path, p.fatal_label, o->send.retry_for_s, transport_words(p.fatal_status),
                    p.subject);
        else
            fprintf(stderr, "dripctl: import %s %s: %s failed on %s: %s (%s)\n", o->kind, o->path,
                    p.fatal_label, p.subject, drip_status_name(p.fatal_status),
                    bus_last_error(c->bus));
        if (p.done_up_to_line > 0)
            fprintf(stderr,
                    "dripctl: rows up to line %ld were processed (created=%ld updated=%ld "
                    "unchanged=%ld rejected=%ld); re-running the same import is safe\n",
                    p.done_up_to_line, p.created, p.updated, p.unchanged,
                    p.rej_local + p.rej_server);
        else
            fprintf(stderr, "dripctl: no rows were processed\n");
        if (p.rej) fprintf(stderr, "dripctl: rejects so far: %s\n", p.rej_path);
        return CTL_EXIT_UNREACHABLE;
    }
    long rejected = p.rej_local + p.rej_server;
    printf("import %s %s: rows=%ld created=%ld updated=%ld unchanged=%ld retired=%ld rejected=%ld "
           "(local=%ld server=%ld) seconds=%.2f rows_per_s=%.0f\n",
           o->kind, o->path, p.rows_read, p.created, p.updated, p.unchanged, p.retired, rejected,
           p.rej_local, p.rej_server, secs, secs > 0 ? (double)p.rows_read / secs : 0.0);
    if (rejected > 0 && !p.rej_failed) printf("rejects: %s\n", p.rej_path);
    fflush(stdout);
    if (input_error || p.rej_failed) return CTL_EXIT_USAGE;
    if (o->strict && rejected > 0) return CTL_EXIT_REJECTED;
    return CTL_EXIT_OK;
}
