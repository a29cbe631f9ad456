/* metrics.c — Prometheus text format 0.0.4 on GET /metrics, liveness on GET /healthz (see metrics.h).
 *
 * The HTTP side is deliberately tiny: one request per connection, answered with HTTP/1.0 and
 * "Connection: close". Requests are bounded (METRICS_REQ_MAX bytes, METRICS_CLIENT_TIMEOUT_MS, at
 * most METRICS_MAX_CLIENTS at once) so a scraper gone wrong cannot exhaust the daemon. Memory of
 * every handle is released only in its close callback (libuv rule); the metrics object itself is
 * freed when the last handle has closed after metrics_destroy(). */
#include "metrics.h"

#include "log.h"
#include "status.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define METRICS_REQ_MAX 8192
#define METRICS_CLIENT_TIMEOUT_MS 5000
#define METRICS_MAX_CLIENTS 64
#define METRICS_LINGER_MS 5000

enum { METRIC_COUNTER, METRIC_GAUGE };

struct metrics_counter {
    _Atomic uint64_t v;
};
struct metrics_gauge {
    _Atomic int64_t v;
};

typedef struct metric {
    struct metric *next;
    int type;
    char *name;
    char *labels; /* NULL = none */
    char *help;
    struct metrics_counter counter;
    struct metrics_gauge gauge;
} metric;

typedef struct http_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    struct metrics *m;
    struct http_client *prev, *next;
    char *resp;
    size_t len;
    int open_handles; /* tcp + timer; freed when both closed */
    int closing;
    int answered;
    char buf[METRICS_REQ_MAX];
} http_client;

struct metrics {
    uv_loop_t *loop;
    char *service;
    pthread_mutex_t mu; /* registry: metrics may be added while another thread renders */
    metric *head, *tail;
    metrics_health_fn health;
    void *health_arg;
    uv_tcp_t server;
    int listening;
    int open_handles; /* server + clients */
    int nclients;
    int destroyed;
    http_client *clients;
};

/* --- registry ------------------------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    if (s == NULL) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) memcpy(d, s, n);
    return d;
}

metrics *metrics_create(uv_loop_t *loop, const char *service)
{
    metrics *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    m->loop = loop;
    m->service = dup_str(service ? service : "drip");
    if (m->service == NULL || pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->service);
        free(m);
        return NULL;
    }
    return m;
}

static int metric_name_valid(const char *s)
{
    if (s == NULL || *s == '\0') return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != s && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

static int same_labels(const char *a, const char *b)
{
    if (a == NULL || b == NULL) return a == b;
    return strcmp(a, b) == 0;
}

static metric *metric_add(metrics *m, int type, const char *name, const char *labels,
                          const char *help)
{
    if (m == NULL) return NULL;
    if (!metric_name_valid(name)) {
        log_error("metrics.invalid", "invalid metric name \"%s\"", name ? name : "(null)");
        return NULL;
    }
    if (labels != NULL && labels[0] == '\0') labels = NULL;

    pthread_mutex_lock(&m->mu);
    for (metric *e = m->head; e; e = e->next) {
        if (strcmp(e->name, name) != 0) continue;
        if (e->type != type) {
            pthread_mutex_unlock(&m->mu);
            log_error("metrics.invalid", "metric %s registered with two types", name);
            return NULL;
        }
        /* same name + labels again: hand back the existing series */
        if (same_labels(e->labels, labels)) {
            pthread_mutex_unlock(&m->mu);
            return e;
        }
    }
    metric *e = calloc(1, sizeof *e);
    if (e != NULL) {
        e->type = type;
        e->name = dup_str(name);
        e->labels = dup_str(labels);
        e->help = dup_str(help ? help : "");
        if (e->name == NULL || e->help == NULL || (labels != NULL && e->labels == NULL)) {
            free(e->name);
            free(e->labels);
            free(e->help);
            free(e);
            e = NULL;
        }
    }
    if (e != NULL) {
        if (m->tail) m->tail->next = e;
        else m->head = e;
        m->tail = e;
    }
    pthread_mutex_unlock(&m->mu);
    return e;
}

metrics_counter *metrics_counter_add(metrics *m, const char *name, const char *labels,
                                     const char *help)
{
    metric *e = metric_add(m, METRIC_COUNTER, name, labels, help);
    return e ? &e->counter : NULL;
}

metrics_gauge *metrics_gauge_add(metrics *m, const char *name, const char *labels,
                                 const char *help)
{
    metric *e = metric_add(m, METRIC_GAUGE, name, labels, help);
    return e ? &e->gauge : NULL;
}

void metrics_counter_inc(metrics_counter *c, uint64_t n)
{
    if (c) atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t metrics_counter_get(const metrics_counter *c)
{
    return c ? atomic_load_explicit(&((metrics_counter *)c)->v, memory_order_relaxed) : 0;
}

void metrics_gauge_set(metrics_gauge *g, int64_t v)
{
    if (g) atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

void metrics_set_health(metrics *m, metrics_health_fn fn, void *arg)
{
    if (m == NULL) return;
    m->health = fn;
    m->health_arg = arg;
}

/* --- rendering -------------------------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2;
        while (ncap - b->len <= (size_t)n) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* HELP text escaping per the text format: backslash and line feed. */
static void sb_help(sbuf *b, const char *name, const char *help)
{
    sb_printf(b, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\') sb_printf(b, "\\\\");
        else if (*p == '\n') sb_printf(b, "\\n");
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\n");
}

static void sb_series(sbuf *b, const metric *e)
{
    if (e->labels) sb_printf(b, "%s{%s} ", e->name, e->labels);
    else sb_printf(b, "%s ", e->name);
    if (e->type == METRIC_COUNTER)
        sb_printf(b, "%llu\n", (unsigned long long)atomic_load(&((metric *)e)->counter.v));
    else sb_printf(b, "%lld\n", (long long)atomic_load(&((metric *)e)->gauge.v));
}

static long long process_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (long long)resident * (page > 0 ? page : 4096);
}

static long long process_max_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (long long)ru.ru_maxrss * 1024; /* Linux reports kilobytes */
}

char *metrics_render(metrics *m)
{
    sbuf b = {malloc(1024), 0, 1024, 0};
    if (b.p == NULL) return NULL;
    b.p[0] = '\0';

    if (m != NULL) {
        pthread_mutex_lock(&m->mu);
        /* one family per name: HELP/TYPE once, then every label set of that name */
        for (metric *e = m->head; e; e = e->next) {
            int seen = 0;
            for (metric *f = m->head; f != e; f = f->next)
                if (strcmp(f->name, e->name) == 0) {
                    seen = 1;
                    break;
                }
            if (seen) continue;
            sb_help(&b, e->name, e->help);
            sb_printf(&b, "# TYPE %s %s\n", e->name,
                      e->type == METRIC_COUNTER ? "counter" : "gauge");
            for (metric *f = e; f; f = f->next)
                if (strcmp(f->name, e->name) == 0) sb_series(&b, f);
        }
        pthread_mutex_unlock(&m->mu);
    }

    sb_printf(&b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %lld\n",
              process_rss_bytes());
    sb_printf(&b, "# HELP process_max_resident_memory_bytes Peak resident memory size in bytes.\n"
                  "# TYPE process_max_resident_memory_bytes gauge\n"
                  "process_max_resident_memory_bytes %lld\n",
              process_max_rss_bytes());
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* --- HTTP ----------------------------------------------------------------------------------- */

static void metrics_maybe_free(metrics *m)
{
    if (!m->destroyed || m->open_handles > 0) return;
    metric *e = m->head;
    while (e) {
        metric *n = e->next;
        free(e->name);
        free(e->labels);
        free(e->help);
        free(e);
        e = n;
    }
    pthread_mutex_destroy(&m->mu);
    free(m->service);
    free(m);
}

static void client_on_close(uv_handle_t *h)
{
    http_client *c = h->data;
    if (--c->open_handles > 0) return;
    metrics *m = c->m;
    if (c->prev) c->prev->next = c->next;
    else m->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    m->nclients--;
    m->open_handles--;
    free(c->resp);
    free(c);
    metrics_maybe_free(m);
}

static void client_on_timeout(uv_timer_t *t);

static void client_close(http_client *c)
{
    if (c->closing) return;
    c->closing = 1;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, client_on_close);
    uv_close((uv_handle_t *)&c->tcp, client_on_close);
}

/* After the response: FIN sent, keep reading (and discarding) until the client closes, so unread
 * request bytes never turn our close into a RST that could destroy the response in flight. */
static void client_on_shutdown(uv_shutdown_t *req, int status)
{
    http_client *c = req->data;
    if (status < 0 && !c->closing) client_close(c);
}

static void client_on_write(uv_write_t *req, int status)
{
    http_client *c = req->data;
    if (c->closing) return; /* cancelled by close: the close callback frees */
    if (status < 0 || uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp,
                                  client_on_shutdown) != 0)
        client_close(c);
}

static void client_respond(http_client *c, int code, const char *reason, const char *ctype,
                           const char *body, int head_only)
{
    char hdr[256];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     code, reason, ctype, blen, code == 405 ? "Allow: GET, HEAD\r\n" : "");
    c->answered = 1;
    uv_timer_start(&c->timer, client_on_timeout, METRICS_LINGER_MS, 0);
    if (n < 0 || (size_t)n >= sizeof hdr) {
        client_close(c);
        return;
    }
    size_t total = (size_t)n + (head_only ? 0 : blen);
    c->resp = malloc(total);
    if (c->resp == NULL) {
        client_close(c);
        return;
    }
    memcpy(c->resp, hdr, (size_t)n);
    if (!head_only && blen) memcpy(c->resp + n, body, blen);
    uv_buf_t buf = uv_buf_init(c->resp, (unsigned)total);
    c->write_req.data = c;
    c->shutdown_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, client_on_write) != 0)
        client_close(c);
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static void client_handle(http_client *c, char *line)
{
    metrics *m = c->m;
    /* request line: METHOD SP target SP HTTP/x.y (HTTP/0.9 "GET /x" tolerated) */
    char *sp1 = strchr(line, ' ');
    if (sp1 == NULL) {
        client_respond(c, 400, "Bad Request", TEXT_PLAIN, "bad request\n", 0);
        return;
    }
    *sp1 = '\0';
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (sp2) {
        *sp2 = '\0';
        if (strncmp(sp2 + 1, "HTTP/", 5) != 0) {
            client_respond(c, 400, "Bad Request", TEXT_PLAIN, "bad request\n", 0);
            return;
        }
    }
    int head = strcmp(line, "HEAD") == 0;
    if (!head && strcmp(line, "GET") != 0) {
        client_respond(c, 405, "Method Not Allowed", TEXT_PLAIN, "method not allowed\n", 0);
        return;
    }
    char *q = strchr(target, '?');
    if (q) *q = '\0';

    if (strcmp(target, "/metrics") == 0) {
        char *body = metrics_render(m);
        if (body == NULL) {
            client_respond(c, 500, "Internal Server Error", TEXT_PLAIN, "out of memory\n", head);
            return;
        }
        client_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
        free(body);
    } else if (strcmp(target, "/healthz") == 0) {
        char why[256] = "";
        int ok = m->health ? m->health(m->health_arg, why, sizeof why) : 1;
        if (ok) {
            client_respond(c, 200, "OK", TEXT_PLAIN, "ok\n", head);
        } else {
            char body[300];
            why[sizeof why - 1] = '\0';
            snprintf(body, sizeof body, "%s\n", why[0] ? why : "unhealthy");
            client_respond(c, 503, "Service Unavailable", TEXT_PLAIN, body, head);
        }
    } else {
        client_respond(c, 404, "Not Found", TEXT_PLAIN, "not found\n", head);
    }
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_client *c = h->data;
    if (c->answered) c->len = 0; /* lingering: discard */
    /* keep one byte for the terminating NUL */
    buf->base = c->buf + c->len;
    buf->len = sizeof c->buf - 1 - c->len;
}

static void client_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    http_client *c = s->data;
    if (c->closing) return;
    if (nread < 0) {
        client_close(c);
        return;
    }
    if (c->answered) return;
    if (nread == 0) return;
    c->len += (size_t)nread;
    c->buf[c->len] = '\0';
    if (memchr(c->buf, '\0', c->len) != NULL) {
        client_respond(c, 400, "Bad Request", TEXT_PLAIN, "bad request\n", 0);
        return;
    }
    /* wait for the end of the header block so closing never resets unread request bytes */
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) end = strstr(c->buf, "\n\n");
    if (end == NULL) {
        if (c->len >= sizeof c->buf - 1)
            client_respond(c, 431, "Request Header Fields Too Large", TEXT_PLAIN,
                           "request too large\n", 0);
        return;
    }
    char *eol = strpbrk(c->buf, "\r\n");
    *eol = '\0';
    client_handle(c, c->buf);
}

static void client_on_timeout(uv_timer_t *t)
{
    client_close(t->data);
}

static void server_on_connection(uv_stream_t *server, int status)
{
    metrics *m = server->data;
    if (status < 0) {
        log_warn("metrics.accept", "accept failed: %s", uv_strerror(status));
        return;
    }
    http_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        /* accept-and-drop is impossible without a handle; libuv retries on the next tick */
        return;
    }
    c->m = m;
    if (uv_tcp_init(m->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    uv_timer_init(m->loop, &c->timer); /* cannot fail */
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = m->clients;
    if (m->clients) m->clients->prev = c;
    m->clients = c;
    m->nclients++;
    m->open_handles++;

    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || m->nclients > METRICS_MAX_CLIENTS ||
        uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_on_read) != 0) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, client_on_timeout, METRICS_CLIENT_TIMEOUT_MS, 0);
}

int metrics_listen(metrics *m, const char *host, int port)
{
    if (m == NULL || port < 0 || port > 65535) return DRIP_EVALUE;
    if (port == 0) return DRIP_OK;
    if (m->listening) return DRIP_ECONFLICT;
    if (host == NULL || host[0] == '\0') host = "127.0.0.1";

    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0) {
        log_error("metrics.listen", "bad address %s: %s", host, uv_strerror(rc));
        return DRIP_EVALUE;
    }
    rc = uv_tcp_init(m->loop, &m->server);
    if (rc != 0) return DRIP_EIO;
    m->server.data = m;
    m->listening = 1;
    m->open_handles++;
    rc = uv_tcp_bind(&m->server, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&m->server, 64, server_on_connection);
    if (rc != 0) {
        log_error("metrics.listen", "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        /* keep the handle open; metrics_destroy closes it like a working one */
        return DRIP_EIO;
    }
    log_info("metrics.listen", "%s metrics on http://%s:%d/metrics", m->service, host, port);
    return DRIP_OK;
}

static void server_on_close(uv_handle_t *h)
{
    metrics *m = h->data;
    m->open_handles--;
    metrics_maybe_free(m);
}

void metrics_destroy(metrics *m)
{
    if (m == NULL || m->destroyed) return;
    m->destroyed = 1;
    if (m->listening) uv_close((uv_handle_t *)&m->server, server_on_close);
    for (http_client *c = m->clients; c; c = c->next) client_close(c);
    metrics_maybe_free(m);
}
