/* spool.c — the population of one draw, received once and read twice: pass 1 in key order (the
 * digest), pass 2 in any order (the tickets).
 *
 * Why not let PostgreSQL sort: a cursor never runs in parallel, and sorting 5.6 M text keys took
 * 4-6 s of a 10 M-target draw — twice, as each pass ran the ordered query again — against ~2 s for
 * the scan itself (tests/bench/bench_draw.py, docs/draw.md "Performance"). Here the population
 * arrives unsorted from one statement (so both passes see one snapshot, by construction) and is
 * gathered into runs. A run holds at most `budget` bytes (key bytes + 3 + 16-byte sort entries) and
 * `run_rows` rows; it is sorted in memory and, when the next row does not fit, written to an
 * unlinked temporary file as population lines "key,S\n". Pass 1 then merges the runs; pass 2 reads
 * the file straight through. A population that fits in one run never touches the disk.
 *
 * The order is that of the lines (docs/draw.md §3), which the digest checks again line by line. A
 * run is sorted on 8 line bytes taken after the run's common prefix (USCCs of one province share
 * their first characters, so bytes 0..7 would mostly tie) as one big-endian integer: a radix pass
 * per byte, then comparisons of the rest of the keys where those 8 bytes tie.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sampler.h"
#include "status.h"

#define SPOOL_WBUF (256u * 1024u) /* write buffer of a spilled run */
#define SPOOL_MERGE_BUF (64u * 1024u) /* read buffer per run while merging */
#define SPOOL_SCAN_BUF (1024u * 1024u) /* read buffer of pass 2 over the file */
#define SPOOL_STOP_EVERY 8192          /* rows between two looks at the stop flag */

typedef struct {
    uint64_t hi;  /* line bytes [lcp, lcp + 8), big-endian, zero-padded (see run_sort) */
    uint32_t off; /* the key's record in the arena */
    uint8_t len;
    char stratum;
} spool_ent;

typedef struct {
    off_t start, end;
} spool_run;

struct pop_spool {
    size_t budget, run_rows;
    char dir[256];
    char *arena; /* records of the current run: key, NUL, stratum, '\n' (in arrival order) */
    size_t alen, acap, aready;
    spool_ent *ent;
    size_t n, ecap, eready; /* *ready: bytes already faulted in */
    size_t tail; /* bytes compared through hi: lcp + 8 */
    int fd;      /* -1 until the first spill */
    off_t fsize;
    char *wbuf;
    size_t wlen;
    spool_run *runs;
    size_t nruns, rcap;
    uint64_t rows;
    int finished;
    double sort_ms;
};

/* ---- sorting one run ------------------------------------------------------------------------ */

/* Lines "key,S\n" sort as the strings key + ",": a key that is a prefix of another sorts after it
 * when the other continues with a byte below ',' (docs/draw.md §3: `AB+,A` < `AB,A`). Keys hold no
 * ',' and no NUL, so two different keys never tie. */
static int line_cmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    unsigned char ca = *a ? (unsigned char)*a : ',', cb = *b ? (unsigned char)*b : ',';
    return (ca > cb) - (ca < cb);
}

static inline int ent_cmp(const spool_ent *a, const spool_ent *b, const char *arena, size_t tail)
{
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    /* Equal hi: equal line bytes up to tail. A line whose key ends before tail put its ',' there,
     * which no key byte equals: both keys then have the same length, i.e. are equal. */
    size_t la = a->len, lb = b->len, m = la < lb ? la : lb;
    const unsigned char *ka = (const unsigned char *)arena + a->off;
    const unsigned char *kb = (const unsigned char *)arena + b->off;
    if (m > tail) {
        int c = memcmp(ka + tail, kb + tail, m - tail);
        if (c) return c;
    }
    if (la == lb) return 0;
    unsigned ca = la > m ? ka[m] : ',', cb = lb > m ? kb[m] : ',';
    return (ca > cb) - (ca < cb);
}

static inline void ent_swap(spool_ent *a, spool_ent *b)
{
    spool_ent t = *a;
    *a = *b;
    *b = t;
}

static void ent_sift(spool_ent *a, size_t i, size_t n, const char *arena, size_t tail)
{
    for (;;) {
        size_t l = 2 * i + 1, big = i;
        if (l < n && ent_cmp(&a[l], &a[big], arena, tail) > 0) big = l;
        if (l + 1 < n && ent_cmp(&a[l + 1], &a[big], arena, tail) > 0) big = l + 1;
        if (big == i) return;
        ent_swap(&a[i], &a[big]);
        i = big;
    }
}

/* The fallback when partitions keep coming out lopsided: O(n log n) whatever the input. */
static void ent_heapsort(spool_ent *a, size_t n, const char *arena, size_t tail)
{
    for (size_t i = n / 2; i-- > 0;)
        ent_sift(a, i, n, arena, tail);
    for (size_t end = n; end-- > 1;) {
        ent_swap(&a[0], &a[end]);
        ent_sift(a, 0, end, arena, tail);
    }
}

static void ent_insertion(spool_ent *a, size_t n, const char *arena, size_t tail)
{
    for (size_t i = 1; i < n; i++) {
        spool_ent x = a[i];
        size_t j = i;
        while (j > 0 && ent_cmp(&a[j - 1], &x, arena, tail) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Introsort: quicksort with a median-of-three pivot moved to a[0] (Hoare partition, which then
 * always splits into two non-empty parts), heapsort past a depth limit, insertion sort for short
 * ranges. Recurses on the smaller part only. Used where the radix pass below ran out of hi. */
static void ent_sort(spool_ent *a, size_t n, const char *arena, size_t tail, int depth)
{
    while (n > 16) {
        if (depth-- <= 0) {
            ent_heapsort(a, n, arena, tail);
            return;
        }
        size_t mid = n / 2;
        if (ent_cmp(&a[mid], &a[0], arena, tail) < 0) ent_swap(&a[mid], &a[0]);
        if (ent_cmp(&a[n - 1], &a[0], arena, tail) < 0) ent_swap(&a[n - 1], &a[0]);
        if (ent_cmp(&a[n - 1], &a[mid], arena, tail) < 0) ent_swap(&a[n - 1], &a[mid]);
        ent_swap(&a[0], &a[mid]); /* the median is the pivot */
        spool_ent pivot = a[0];
        ptrdiff_t i = -1, j = (ptrdiff_t)n;
        for (;;) {
            do
                j--;
            while (ent_cmp(&a[j], &pivot, arena, tail) > 0);
            do
                i++;
            while (ent_cmp(&a[i], &pivot, arena, tail) < 0);
            if (i >= j) break;
            ent_swap(&a[i], &a[j]);
        }
        /* [0, j] <= pivot <= [j + 1, n), both non-empty since the pivot came from a[0] */
        size_t left = (size_t)j + 1;
        if (left < n - left) {
            ent_sort(a, left, arena, tail, depth);
            a += left;
            n -= left;
        } else {
            ent_sort(a + left, n - left, arena, tail, depth);
            n = left;
        }
    }
    ent_insertion(a, n, arena, tail);
}

/* In-place MSD radix sort on hi, one byte at a time from the top (bucket counts, then every entry
 * cycled into its bucket), comparison sorts for small buckets and for equal hi. About three times
 * faster than introsort alone on 1 M USCCs: each level is one sequential pass, no comparisons. */
static void ent_radix(spool_ent *a, size_t n, int shift, const char *arena, size_t tail)
{
    if (n <= 64 || shift < 0) {
        int depth = 0;
        for (size_t m = n; m; m >>= 1)
            depth += 2;
        ent_sort(a, n, arena, tail, depth);
        return;
    }
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[(a[i].hi >> shift) & 0xFF]++;
    size_t next[256], end[256], at = 0;
    for (int b = 0; b < 256; b++) {
        next[b] = at;
        at += count[b];
        end[b] = at;
    }
    for (int b = 0; b < 256; b++) {
        while (next[b] < end[b]) {
            spool_ent e = a[next[b]];
            unsigned d = (unsigned)(e.hi >> shift) & 0xFF;
            while (d != (unsigned)b) { /* put e in its bucket, carry on with what was there */
                spool_ent t = a[next[d]];
                a[next[d]++] = e;
                e = t;
                d = (unsigned)(e.hi >> shift) & 0xFF;
            }
            a[next[b]++] = e;
        }
    }
    for (int b = 0; b < 256; b++)
        if (count[b] > 1) ent_radix(a + end[b] - count[b], count[b], shift - 8, arena, tail);
}

static void run_sort(pop_spool *sp)
{
    if (sp->n == 0) return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* common prefix of every key of the run */
    const char *k0 = sp->arena + sp->ent[0].off;
    size_t lcp = sp->ent[0].len;
    for (size_t i = 1; i < sp->n && lcp; i++) {
        const char *k = sp->arena + sp->ent[i].off;
        size_t m = sp->ent[i].len < lcp ? sp->ent[i].len : lcp, p = 0;
        while (p < m && k[p] == k0[p])
            p++;
        lcp = p;
    }
    /* hi = the line's bytes [lcp, lcp + 8): key bytes, then ',', then zeros */
    for (size_t i = 0; i < sp->n; i++) {
        const unsigned char *k = (const unsigned char *)sp->arena + sp->ent[i].off;
        size_t len = sp->ent[i].len;
        uint64_t hi = 0;
        for (size_t p = lcp; p < lcp + 8; p++)
            hi = hi << 8 | (p < len ? k[p] : p == len ? (unsigned char)',' : 0);
        sp->ent[i].hi = hi;
    }
    sp->tail = lcp + 8;
    ent_radix(sp->ent, sp->n, 56, sp->arena, sp->tail);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sp->sort_ms += (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* ---- the file ------------------------------------------------------------------------------- */

static int file_open(pop_spool *sp, char *why, size_t cap)
{
    char path[320];
    snprintf(path, sizeof path, "%s/drip-sampler-spool-XXXXXX", sp->dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "population spool: cannot create a file in %s: %s", sp->dir,
                 strerror(errno));
        return DRIP_EIO;
    }
    unlink(path); /* nothing to clean up after a crash */
    sp->fd = fd;
    if (!(sp->wbuf = malloc(SPOOL_WBUF))) abort();
    return DRIP_OK;
}

static int file_flush(pop_spool *sp, char *why, size_t cap)
{
    size_t done = 0;
    while (done < sp->wlen) {
        ssize_t w = pwrite(sp->fd, sp->wbuf + done, sp->wlen - done, sp->fsize);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(why, cap, "population spool: write failed after %lld bytes: %s",
                     (long long)sp->fsize, w < 0 ? strerror(errno) : "no progress");
            return DRIP_EIO;
        }
        done += (size_t)w;
        sp->fsize += w;
    }
    sp->wlen = 0;
    return DRIP_OK;
}

/* Sorts the current run and appends it to the file as population lines. */
static int run_spill(pop_spool *sp, char *why, size_t cap)
{
    int st = DRIP_OK;
    if (sp->fd < 0 && (st = file_open(sp, why, cap)) != DRIP_OK) return st;
    run_sort(sp);
    off_t start = sp->fsize;
    for (size_t i = 0; i < sp->n; i++) {
        const spool_ent *e = &sp->ent[i];
        if (sp->wlen + e->len + 3 > SPOOL_WBUF && (st = file_flush(sp, why, cap)) != DRIP_OK)
            return st;
        memcpy(sp->wbuf + sp->wlen, sp->arena + e->off, e->len);
        sp->wlen += e->len;
        sp->wbuf[sp->wlen++] = ',';
        sp->wbuf[sp->wlen++] = e->stratum;
        sp->wbuf[sp->wlen++] = '\n';
    }
    if ((st = file_flush(sp, why, cap)) != DRIP_OK) return st;
    if (sp->nruns == sp->rcap) {
        sp->rcap = sp->rcap ? 2 * sp->rcap : 16;
        if (!(sp->runs = realloc(sp->runs, sp->rcap * sizeof *sp->runs))) abort();
    }
    sp->runs[sp->nruns++] = (spool_run){start, sp->fsize};
    sp->n = 0;
    sp->alen = 0;
    return DRIP_OK;
}

/* ---- reading the file back ------------------------------------------------------------------ */

typedef struct {
    int fd;
    off_t pos, end; /* not yet read */
    char *buf;
    size_t cap, at, len; /* unread bytes are buf[at, len) */
    const char *key;     /* current line, its ',' replaced by a NUL */
    char stratum;
} run_reader;

/* Next line: 1, or 0 at the end of the range, or DRIP_EIO (read error, torn line). */
static int reader_next(run_reader *r, char *why, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf + r->at, '\n', r->len - r->at);
        if (nl) {
            char *line = r->buf + r->at;
            size_t ll = (size_t)(nl - line);
            r->at += ll + 1;
            if (ll < 3 || line[ll - 2] != ',') break;
            line[ll - 2] = '\0';
            r->key = line;
            r->stratum = line[ll - 1];
            return 1;
        }
        if (r->pos >= r->end) {
            if (r->at == r->len) return 0;
            break;
        }
        memmove(r->buf, r->buf + r->at, r->len - r->at);
        r->len -= r->at;
        r->at = 0;
        size_t want = r->cap - r->len;
        if ((off_t)want > r->end - r->pos) want = (size_t)(r->end - r->pos);
        ssize_t got = pread(r->fd, r->buf + r->len, want, r->pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            snprintf(why, cap, "population spool: read failed at %lld: %s", (long long)r->pos,
                     got < 0 ? strerror(errno) : "unexpected end of file");
            return DRIP_EIO;
        }
        r->pos += got;
        r->len += (size_t)got;
    }
    snprintf(why, cap, "population spool: malformed line before offset %lld", (long long)r->pos);
    return DRIP_EIO;
}

static int stopped(atomic_int *stop, char *why, size_t cap)
{
    if (stop && atomic_load(stop)) {
        snprintf(why, cap, "stopping");
        return 1;
    }
    return 0;
}

/* Min-heap of readers by current key. */
static void merge_sift(run_reader **h, size_t i, size_t n)
{
    for (;;) {
        size_t l = 2 * i + 1, small = i;
        if (l < n && line_cmp(h[l]->key, h[small]->key) < 0) small = l;
        if (l + 1 < n && line_cmp(h[l + 1]->key, h[small]->key) < 0) small = l + 1;
        if (small == i) return;
        run_reader *t = h[i];
        h[i] = h[small];
        h[small] = t;
        i = small;
    }
}

static int file_merge(pop_spool *sp, pop_row_fn fn, void *arg, atomic_int *stop, char *why,
                      size_t cap)
{
    size_t k = sp->nruns;
    run_reader *rd = calloc(k, sizeof *rd);
    run_reader **h = calloc(k, sizeof *h);
    if (!rd || !h) abort();
    size_t n = 0;
    int st = DRIP_OK;
    /* the buffers share the sort budget; any size holds a whole line (at most DRAW_KEY_MAX + 3) */
    size_t bufsz = sp->budget / k;
    if (bufsz > SPOOL_MERGE_BUF) bufsz = SPOOL_MERGE_BUF;
    if (bufsz < 4 * (DRAW_KEY_MAX + 3)) bufsz = 4 * (DRAW_KEY_MAX + 3);
    for (size_t i = 0; i < k; i++) {
        rd[i] = (run_reader){
            .fd = sp->fd, .pos = sp->runs[i].start, .end = sp->runs[i].end, .cap = bufsz};
        if (!(rd[i].buf = malloc(bufsz))) abort();
    }
    for (size_t i = 0; i < k && st == DRIP_OK; i++) {
        int r = reader_next(&rd[i], why, cap);
        if (r < 0) st = r;
        else if (r) h[n++] = &rd[i];
    }
    for (size_t i = n / 2; i-- > 0;)
        merge_sift(h, i, n);
    uint64_t rows = 0;
    while (st == DRIP_OK && n) {
        if (++rows % SPOOL_STOP_EVERY == 0 && stopped(stop, why, cap)) {
            st = DRIP_ETIMEOUT;
            break;
        }
        run_reader *top = h[0];
        st = fn(top->key, top->stratum, arg);
        if (st != DRIP_OK) break;
        int r = reader_next(top, why, cap);
        if (r < 0) {
            st = r;
            break;
        }
        if (!r) h[0] = h[--n];
        merge_sift(h, 0, n);
    }
    for (size_t i = 0; i < k; i++)
        free(rd[i].buf);
    free(rd);
    free(h);
    return st;
}

/* ---- memory of a run ------------------------------------------------------------------------- */

/* The arena and the entries are mapped at their largest once (only touched pages count) and faulted
 * in SPOOL_PREFAULT at a time: a page fault costs ~16 us on the 2-core VM of the benchmarks, and
 * 1 M targets touch ~5 000 pages — 80 ms one by one, a third of that by madvise. */
#define SPOOL_PREFAULT (1u << 20)

static void *region_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    return p;
}

static void region_ready(char *base, size_t cap, size_t *ready, size_t need)
{
    while (*ready < need) {
        size_t step = cap - *ready < SPOOL_PREFAULT ? cap - *ready : SPOOL_PREFAULT;
#ifdef MADV_POPULATE_WRITE
        (void)madvise(base + *ready, step, MADV_POPULATE_WRITE); /* older kernels: plain faults */
#endif
        *ready += step;
    }
}

static void run_unmap(pop_spool *sp)
{
    if (sp->arena) munmap(sp->arena, sp->acap);
    if (sp->ent) munmap(sp->ent, sp->ecap * sizeof *sp->ent);
    sp->arena = NULL;
    sp->ent = NULL;
    sp->acap = sp->ecap = sp->aready = sp->eready = 0;
}

/* ---- the interface -------------------------------------------------------------------------- */

int spool_create(pop_spool **out, size_t budget, size_t run_rows, const char *dir)
{
    pop_spool *sp = calloc(1, sizeof *sp);
    if (!sp) return DRIP_ENOMEM;
    sp->budget = budget < 4096 ? 4096 : budget;
    sp->run_rows = run_rows ? run_rows : SIZE_MAX;
    snprintf(sp->dir, sizeof sp->dir, "%s", dir && *dir ? dir : "/tmp");
    sp->fd = -1;
    *out = sp;
    return DRIP_OK;
}

void spool_destroy(pop_spool *sp)
{
    if (!sp) return;
    if (sp->fd >= 0) close(sp->fd);
    run_unmap(sp);
    free(sp->wbuf);
    free(sp->runs);
    free(sp);
}

int spool_add(pop_spool *sp, const char *key, char stratum, char *why, size_t cap)
{
    size_t len = strlen(key);
    /* the same rule as the digest's, so that a record or a spilled line splits one way only */
    if (sp->finished || draw_key_check(key) != DRIP_OK) {
        snprintf(why, cap, "population key '%.80s' is not a member key (1..%d bytes, no control "
                 "character, ',' or ':')", key, DRAW_KEY_MAX);
        return DRIP_EVALUE;
    }
    int st;
    size_t rec = len + 3;
    if (sp->n && (sp->n >= sp->run_rows ||
                  sp->alen + rec + (sp->n + 1) * sizeof(spool_ent) > sp->budget) &&
        (st = run_spill(sp, why, cap)) != DRIP_OK)
        return st;
    if (!sp->arena) {
        /* never reallocated: growing by doubling on a worker thread's malloc arena left the
         * outgrown blocks resident (93 MiB peak for a 32 MiB budget) */
        sp->acap = sp->budget;
        sp->ecap = sp->budget / sizeof(spool_ent);
        sp->arena = region_map(sp->acap);
        sp->ent = region_map(sp->ecap * sizeof *sp->ent);
    }
    region_ready(sp->arena, sp->acap, &sp->aready, sp->alen + rec);
    region_ready((char *)sp->ent, sp->ecap * sizeof *sp->ent, &sp->eready,
                 (sp->n + 1) * sizeof *sp->ent);
    char *r = sp->arena + sp->alen;
    memcpy(r, key, len + 1);
    r[len + 1] = stratum;
    r[len + 2] = '\n';
    sp->ent[sp->n++] = (spool_ent){.off = (uint32_t)sp->alen, .len = (uint8_t)len,
                                   .stratum = stratum};
    sp->alen += rec;
    sp->rows++;
    return DRIP_OK;
}

int spool_finish(pop_spool *sp, char *why, size_t cap)
{
    if (sp->finished) return DRIP_OK;
    sp->finished = 1;
    if (sp->nruns == 0) {
        run_sort(sp); /* everything fits: stays in memory */
        return DRIP_OK;
    }
    int st = sp->n ? run_spill(sp, why, cap) : DRIP_OK;
    /* the merge needs only the readers' buffers */
    run_unmap(sp);
    free(sp->wbuf);
    sp->wbuf = NULL;
    return st;
}

int spool_each_sorted(pop_spool *sp, pop_row_fn fn, void *arg, atomic_int *stop, char *why,
                      size_t cap)
{
    if (!sp->finished) return DRIP_EINTERNAL;
    if (sp->nruns) return file_merge(sp, fn, arg, stop, why, cap);
    for (size_t i = 0; i < sp->n; i++) {
        if ((i + 1) % SPOOL_STOP_EVERY == 0 && stopped(stop, why, cap)) return DRIP_ETIMEOUT;
        int st = fn(sp->arena + sp->ent[i].off, sp->ent[i].stratum, arg);
        if (st != DRIP_OK) return st;
    }
    return DRIP_OK;
}

/* Offset of the first line that starts at or after `off` (lines are at most DRAW_KEY_MAX + 3). */
static int line_align(const pop_spool *sp, off_t off, off_t *out, char *why, size_t cap)
{
    if (off <= 0 || off >= sp->fsize) {
        *out = off <= 0 ? 0 : sp->fsize;
        return DRIP_OK;
    }
    char b[2 * (DRAW_KEY_MAX + 3)];
    ssize_t got;
    do
        got = pread(sp->fd, b, sizeof b, off - 1);
    while (got < 0 && errno == EINTR);
    char *nl = got > 0 ? memchr(b, '\n', (size_t)got) : NULL;
    if (!nl) {
        snprintf(why, cap, "population spool: no line boundary near %lld", (long long)off);
        return DRIP_EIO;
    }
    *out = off - 1 + (nl - b) + 1;
    return DRIP_OK;
}

int spool_each_part(pop_spool *sp, int part, int nparts, pop_row_fn fn, void *arg,
                    atomic_int *stop, char *why, size_t cap)
{
    if (!sp->finished || nparts < 1 || part < 0 || part >= nparts) return DRIP_EINTERNAL;
    if (!sp->nruns) {
        /* the arena in arrival order (sequential memory, unlike the sorted entries), cut after
         * record ends: '\n' occurs nowhere else */
        size_t at = sp->alen / (size_t)nparts * (size_t)part, end = sp->alen;
        if (part + 1 < nparts) end = sp->alen / (size_t)nparts * (size_t)(part + 1);
        const char *a = sp->arena;
        if (at) {
            const char *nl = memchr(a + at - 1, '\n', sp->alen - (at - 1));
            at = nl ? (size_t)(nl - a) + 1 : sp->alen;
        }
        if (end < sp->alen && end) {
            const char *nl = memchr(a + end - 1, '\n', sp->alen - (end - 1));
            end = nl ? (size_t)(nl - a) + 1 : sp->alen;
        }
        uint64_t rows = 0;
        while (at < end) {
            if (++rows % SPOOL_STOP_EVERY == 0 && stopped(stop, why, cap)) return DRIP_ETIMEOUT;
            const char *key = a + at;
            size_t len = strlen(key);
            int st = fn(key, key[len + 1], arg);
            if (st != DRIP_OK) return st;
            at += len + 3;
        }
        return DRIP_OK;
    }
    off_t from, to;
    int st = line_align(sp, sp->fsize / nparts * part, &from, why, cap);
    if (st == DRIP_OK)
        st = line_align(sp, part + 1 == nparts ? sp->fsize : sp->fsize / nparts * (part + 1), &to,
                        why, cap);
    if (st != DRIP_OK) return st;
    run_reader r = {.fd = sp->fd, .pos = from, .end = to, .cap = SPOOL_SCAN_BUF};
    if (!(r.buf = malloc(SPOOL_SCAN_BUF))) abort();
    uint64_t rows = 0;
    for (;;) {
        int got = reader_next(&r, why, cap);
        if (got <= 0) {
            st = got;
            break;
        }
        if (++rows % SPOOL_STOP_EVERY == 0 && stopped(stop, why, cap)) {
            st = DRIP_ETIMEOUT;
            break;
        }
        if ((st = fn(r.key, r.stratum, arg)) != DRIP_OK) break;
    }
    free(r.buf);
    return st;
}

int spool_each(pop_spool *sp, pop_row_fn fn, void *arg, atomic_int *stop, char *why, size_t cap)
{
    return spool_each_part(sp, 0, 1, fn, arg, stop, why, cap);
}

void spool_stats(const pop_spool *sp, spool_info *out)
{
    out->rows = sp->rows;
    out->runs = sp->nruns ? sp->nruns : (sp->rows ? 1 : 0);
    out->spilled_bytes = (uint64_t)sp->fsize;
    out->sort_ms = sp->sort_ms;
}
