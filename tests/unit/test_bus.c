/* test_bus.c — bus.c against a real nats-server (started per group in a temp dir), plus log,
 * config and metrics. Handlers run on a libuv loop in a separate thread; cmocka assertions are only
 * made on the test thread, handlers just record what they saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bus.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "status.h"

#include <nats/nats.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USER "drip"
#define PASS "s3cret"

/* --- time ------------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --- nats-server child process ---------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char url[64];
} natsd;

static const char *natsd_binary(void)
{
    static char found[512];
    if (access("/usr/sbin/nats-server", X_OK) == 0) return "/usr/sbin/nats-server";
    if (access("/usr/bin/nats-server", X_OK) == 0) return "/usr/bin/nats-server";
    const char *path = getenv("PATH");
    if (path == NULL) return NULL;
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/nats-server", d);
        if (access(found, X_OK) == 0) return found;
    }
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Two users: "drip" may do anything, "limited" may not publish to forbidden.> */
static int natsd_write_conf(const natsd *d)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nats.conf", d->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    fprintf(f, "authorization {\n"
               "  users = [\n"
               "    { user: \"" USER "\", password: \"" PASS "\" }\n"
               "    { user: \"limited\", password: \"" PASS "\",\n"
               "      permissions: { publish: { deny: [\"forbidden.>\"] } } }\n"
               "  ]\n"
               "}\n");
    fclose(f);
    return 0;
}

/* Starts (or restarts, same port and store) the server and waits until it accepts connections. */
static int natsd_start(natsd *d)
{
    const char *bin = natsd_binary();
    if (bin == NULL) return -1;
    char port[16], conf[300], store[300], logf[300];
    snprintf(port, sizeof port, "%d", d->port);
    snprintf(conf, sizeof conf, "%s/nats.conf", d->dir);
    snprintf(store, sizeof store, "%s/js", d->dir);
    snprintf(logf, sizeof logf, "%s/server.log", d->dir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(bin, "nats-server", "-c", conf, "-js", "-a", "127.0.0.1", "-p", port, "-sd", store,
              (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = 0;
            return -1;
        }
        int fd = tcp_connect(d->port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        sleep_ms(20);
    }
    return -1;
}

static void natsd_kill(natsd *d, int sig)
{
    if (d->pid <= 0) return;
    kill(d->pid, sig);
    int st;
    while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR) {
    }
    d->pid = 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static natsd *natsd_new(void)
{
    natsd *d = calloc(1, sizeof *d);
    if (d == NULL) return NULL;
    snprintf(d->dir, sizeof d->dir, "/tmp/drip-test-bus-XXXXXX");
    if (mkdtemp(d->dir) == NULL || natsd_write_conf(d) != 0) {
        free(d);
        return NULL;
    }
    d->port = free_port();
    snprintf(d->url, sizeof d->url, "nats://127.0.0.1:%d", d->port);
    return d;
}

static void natsd_free(natsd *d)
{
    if (d == NULL) return;
    natsd_kill(d, SIGTERM);
    nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static int group_setup(void **state)
{
    natsd *d = natsd_new();
    if (d == NULL) return -1;
    if (natsd_start(d) != 0) {
        fprintf(stderr, "cannot start nats-server (see %s/server.log)\n", d->dir);
        natsd_free(d);
        return -1;
    }
    *state = d;
    return 0;
}

static int group_teardown(void **state)
{
    natsd_free(*state);
    return 0;
}

/* --- a libuv loop on its own thread ---------------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    uv_async_t call;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void (*fn)(void *);
    void *arg;
    int done;
    int quit;
} loopt;

static void loopt_on_call(uv_async_t *h)
{
    loopt *L = h->data;
    pthread_mutex_lock(&L->mu);
    void (*fn)(void *) = L->fn;
    void *arg = L->arg;
    int quit = L->quit;
    pthread_mutex_unlock(&L->mu);
    if (fn) fn(arg);
    if (quit) uv_close((uv_handle_t *)&L->call, NULL);
    pthread_mutex_lock(&L->mu);
    L->fn = NULL;
    L->done = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void *loopt_main(void *arg)
{
    loopt *L = arg;
    uv_run(&L->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void loopt_start(loopt *L)
{
    memset(L, 0, sizeof *L);
    assert_int_equal(uv_loop_init(&L->loop), 0);
    assert_int_equal(uv_async_init(&L->loop, &L->call, loopt_on_call), 0);
    L->call.data = L;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    assert_int_equal(pthread_create(&L->thread, NULL, loopt_main, L), 0);
}

/* Runs fn(arg) on the loop thread and waits for it. */
static void loopt_call(loopt *L, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&L->mu);
    L->fn = fn;
    L->arg = arg;
    L->done = 0;
    uv_async_send(&L->call);
    while (!L->done) pthread_cond_wait(&L->cv, &L->mu);
    pthread_mutex_unlock(&L->mu);
}

/* Runs fn (e.g. bus_destroy) on the loop thread, then requires the loop to end with no handle
 * left open: that is how we check that every uv handle was closed. */
static void loopt_stop(loopt *L, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&L->mu);
    L->quit = 1;
    pthread_mutex_unlock(&L->mu);
    loopt_call(L, fn, arg);
    pthread_join(L->thread, NULL);
    assert_int_equal(uv_loop_close(&L->loop), 0);
    pthread_mutex_destroy(&L->mu);
    pthread_cond_destroy(&L->cv);
}

/* --- bus helpers run on the loop thread -------------------------------------------------------- */

typedef struct {
    loopt *L;
    const char *url;
    const char *user;
    bus *b;
    int rc;
} create_args;

static void do_create(void *p)
{
    create_args *a = p;
    bus_options o = {a->url, a->user ? a->user : USER, PASS, "drip-test"};
    a->rc = bus_create(&a->b, &a->L->loop, &o);
}

static bus *loop_bus(loopt *L, const natsd *d)
{
    create_args a = {L, d->url, NULL, NULL, -1};
    loopt_call(L, do_create, &a);
    assert_int_equal(a.rc, DRIP_OK);
    assert_non_null(a.b);
    return a.b;
}

static void do_destroy(void *p)
{
    bus_destroy(p);
}

static bus *tool_bus(const natsd *d, const char *user)
{
    bus *b = NULL;
    bus_options o = {d->url, user ? user : USER, PASS, "drip-tool"};
    assert_int_equal(bus_create(&b, NULL, &o), DRIP_OK);
    return b;
}

/* What handlers saw; assertions happen on the test thread. */
enum { MODE_ACK, MODE_NAK_FIRST, MODE_TERM, MODE_NAK_ALWAYS, MODE_ECHO, MODE_DESTROY_BUS };

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t loop_thread;
    int mode;
    bus *b;
    int count;
    int wrong_thread;
    int ack_errors;
    uint64_t seq[128];
    uint64_t deliv[128];
    char data[128][32];
    char msgid[128][32];
    int states[16];
    int nstates;
} rec;

static void rec_init(rec *r, loopt *L, int mode)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->loop_thread = L->thread;
    r->mode = mode;
}

static void rec_fini(rec *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/* Waits until r->count >= n; returns the count reached. */
static int rec_wait(rec *r, int n, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    pthread_mutex_lock(&r->mu);
    while (r->count < n && now_ms() < deadline) {
        pthread_mutex_unlock(&r->mu);
        sleep_ms(5);
        pthread_mutex_lock(&r->mu);
    }
    int c = r->count;
    pthread_mutex_unlock(&r->mu);
    return c;
}

static int rec_count(rec *r)
{
    pthread_mutex_lock(&r->mu);
    int c = r->count;
    pthread_mutex_unlock(&r->mu);
    return c;
}

static void on_msg(bus_msg *m, void *arg)
{
    rec *r = arg;
    int rc = DRIP_OK;
    pthread_mutex_lock(&r->mu);
    int i = r->count < 128 ? r->count : 127;
    if (!pthread_equal(pthread_self(), r->loop_thread)) r->wrong_thread++;
    r->seq[i] = bus_msg_stream_seq(m);
    r->deliv[i] = bus_msg_deliveries(m);
    size_t n = bus_msg_size(m) < 31 ? bus_msg_size(m) : 31;
    memcpy(r->data[i], bus_msg_data(m), n);
    r->data[i][n] = '\0';
    const char *id = bus_msg_header(m, "Nats-Msg-Id");
    snprintf(r->msgid[i], sizeof r->msgid[i], "%s", id ? id : "");
    int mode = r->mode;
    pthread_mutex_unlock(&r->mu);

    switch (mode) {
    case MODE_ACK:
        rc = bus_msg_in_progress(m);
        if (rc == DRIP_OK) rc = bus_msg_ack(m);
        /* exactly one finish per message */
        if (rc == DRIP_OK && bus_msg_ack(m) != DRIP_ECONFLICT) rc = DRIP_EINTERNAL;
        break;
    case MODE_NAK_FIRST:
        rc = bus_msg_deliveries(m) == 1 ? bus_msg_nak(m, 0) : bus_msg_ack(m);
        break;
    case MODE_TERM: rc = bus_msg_term(m); break;
    case MODE_NAK_ALWAYS: rc = bus_msg_nak(m, 0); break;
    case MODE_DESTROY_BUS:
        /* destroy the bus from inside its own handler, then ack a message that outlived it */
        bus_destroy(r->b);
        rc = bus_msg_ack(m) == DRIP_OK ? DRIP_EINTERNAL : DRIP_OK;
        break;
    case MODE_ECHO: {
        char out[64];
        int k = snprintf(out, sizeof out, "echo:%s", r->data[i]);
        rc = bus_respond(r->b, m, out, (size_t)k);
        if (bus_msg_ack(m) != DRIP_EINTERNAL) rc = DRIP_EINTERNAL; /* core: nothing to ack */
        break;
    }
    }
    bus_msg_destroy(m);

    pthread_mutex_lock(&r->mu);
    if (rc != DRIP_OK) r->ack_errors++;
    r->count++;
    pthread_mutex_unlock(&r->mu);
}

static void on_state(int connected, void *arg)
{
    rec *r = arg;
    pthread_mutex_lock(&r->mu);
    if (r->nstates < 16) r->states[r->nstates++] = connected;
    pthread_mutex_unlock(&r->mu);
}

typedef struct {
    bus *b;
    const char *subject, *queue;
    bus_consumer_config cc;
    rec *r;
    int rc;
} sub_args;

static void do_serve(void *p)
{
    sub_args *a = p;
    a->rc = bus_serve(a->b, a->subject, a->queue, on_msg, a->r);
}

static void do_consume(void *p)
{
    sub_args *a = p;
    a->rc = bus_consume(a->b, &a->cc, on_msg, a->r);
}

static void do_on_state(void *p)
{
    sub_args *a = p;
    bus_on_state(a->b, on_state, a->r);
}

static int wait_connected(bus *b, int want, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (bus_connected(b) != want && now_ms() < deadline) sleep_ms(10);
    return bus_connected(b);
}

/* --- local tests: log, config, metrics render ------------------------------------------------ */

static void test_log_escape(void **state)
{
    (void)state;
    char out[128];
    log_json_escape("a\"b\\c\nd\x01\x1f\t", out, sizeof out);
    assert_string_equal(out, "a\\\"b\\\\c\\u000ad\\u0001\\u001f\\u0009");
    log_json_escape("caf\xc3\xa9 \xff!", out, sizeof out); /* valid UTF-8 kept, junk replaced */
    assert_string_equal(out, "caf\xc3\xa9 \\ufffd!");
    log_json_escape("abc\ndef", out, 8); /* never cuts an escape in half */
    assert_string_equal(out, "abc");
    log_json_escape(NULL, out, sizeof out);
    assert_string_equal(out, "");
    assert_int_equal(log_level_parse("WARN", LOG_INFO), LOG_WARN);
    assert_int_equal(log_level_parse("nope", LOG_ERROR), LOG_ERROR);
}

static void test_log_line(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    log_init("test\"svc", LOG_INFO);
    log_debug("x.hidden", "not written");
    log_info("ev.one", "v=%d s=%s", 42, "q\"\n");
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    char buf[1024] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    /* exactly one line */
    assert_int_equal(strchr(buf, '\n') - buf, n - 1);
    assert_memory_equal(buf, "{\"ts\":\"", 7);
    /* 2026-11-23T15:04:05.123Z */
    const char *ts = buf + 7;
    assert_true(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[19] == '.' &&
                ts[23] == 'Z' && ts[24] == '"');
    assert_non_null(strstr(buf, "\"level\":\"info\",\"service\":\"test\\\"svc\","
                                "\"event\":\"ev.one\",\"msg\":\"v=42 s=q\\\"\\u000a\"}\n"));
    log_init("test_bus", LOG_INFO);
}

static void test_config(void **state)
{
    (void)state;
    setenv("DRIP_TEST_INT", "123", 1);
    assert_int_equal(cfg_int("DRIP_TEST_INT", 5, 0, 1000), 123);
    unsetenv("DRIP_TEST_INT");
    assert_int_equal(cfg_int("DRIP_TEST_INT", 5, 0, 1000), 5);
    setenv("DRIP_TEST_STR", "", 1);
    assert_string_equal(cfg_str("DRIP_TEST_STR", "dflt"), "dflt");
    unsetenv("DRIP_TEST_STR");
    /* deploy/dev test exports the stack's settings: this test is about the defaults */
    const char *vars[] = {"DRIP_NATS_URL", "DRIP_NATS_USER", "DRIP_NATS_PASSWORD", "DRIP_PG",
                          "DRIP_PREFIX", "DRIP_HTTP_HOST", "DRIP_HTTP_PORT", "DRIP_MAX_PAYLOAD",
                          "DRIP_LOG_LEVEL"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) unsetenv(vars[i]);
    cfg_common c;
    cfg_common_load(&c, 9101);
    assert_string_equal(c.nats_url, "nats://127.0.0.1:14222");
    assert_null(c.nats_user);
    assert_int_equal(c.http_port, 9101);
    assert_int_equal(c.max_payload, 4194304);
    assert_string_equal(c.prefix, "drip");
}

static void test_metrics_render(void **state)
{
    (void)state;
    metrics *m = metrics_create(uv_default_loop(), "test");
    assert_non_null(m);
    metrics_counter *a = metrics_counter_add(m, "drip_test_msgs_total", "kind=\"a\"", "Messages.");
    metrics_counter *b = metrics_counter_add(m, "drip_test_msgs_total", "kind=\"b\"", "Messages.");
    metrics_gauge *g = metrics_gauge_add(m, "drip_test_depth", NULL, "Queue depth\nnow.");
    metrics_counter *other = metrics_counter_add(m, "drip_test_other_total", NULL, "Other.");
    assert_null(metrics_counter_add(m, "bad name", NULL, "x"));
    assert_ptr_equal(metrics_counter_add(m, "drip_test_msgs_total", "kind=\"a\"", "Messages."), a);
    metrics_counter_inc(a, 3);
    metrics_counter_inc(b, 1);
    metrics_counter_inc(other, 7);
    metrics_gauge_set(g, -5);
    assert_int_equal(metrics_counter_get(a), 3);
    char *txt = metrics_render(m);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "# HELP drip_test_msgs_total Messages.\n"
                                "# TYPE drip_test_msgs_total counter\n"
                                "drip_test_msgs_total{kind=\"a\"} 3\n"
                                "drip_test_msgs_total{kind=\"b\"} 1\n"));
    assert_non_null(strstr(txt, "# HELP drip_test_depth Queue depth\\nnow.\n"
                                "# TYPE drip_test_depth gauge\ndrip_test_depth -5\n"));
    assert_non_null(strstr(txt, "drip_test_other_total 7\n"));
    assert_non_null(strstr(txt, "# TYPE process_resident_memory_bytes gauge\n"
                                "process_resident_memory_bytes "));
    assert_non_null(strstr(txt, "\nprocess_max_resident_memory_bytes "));
    assert_null(strstr(txt, "process_resident_memory_bytes 0\n"));
    free(txt);
    metrics_destroy(m); /* never listened: freed at once */
}

/* --- metrics over HTTP ------------------------------------------------------------------------- */

typedef struct {
    loopt *L;
    metrics *m;
    int port;
    int healthy;
    int rc;
} http_args;

static int health_fn(void *arg, char *why, unsigned cap)
{
    http_args *a = arg;
    if (!a->healthy) snprintf(why, cap, "nats disconnected");
    return a->healthy;
}

static void do_metrics_start(void *p)
{
    http_args *a = p;
    a->m = metrics_create(&a->L->loop, "test");
    metrics_counter_inc(metrics_counter_add(a->m, "drip_test_requests_total", NULL, "Requests."),
                        9);
    metrics_set_health(a->m, health_fn, a);
    a->rc = metrics_listen(a->m, "127.0.0.1", a->port);
}

static void do_metrics_destroy(void *p)
{
    http_args *a = p;
    metrics_destroy(a->m);
}

/* Sends raw bytes, returns the whole response (until the server closes). */
static void http_exchange(int port, const char *req, size_t len, char *out, size_t cap)
{
    int fd = tcp_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    size_t got = 0;
    ssize_t n;
    while (got < cap - 1 && (n = read(fd, out + got, cap - 1 - got)) > 0) got += (size_t)n;
    out[got] = '\0';
    close(fd);
}

static void test_metrics_http(void **state)
{
    (void)state;
    loopt L;
    loopt_start(&L);
    http_args a = {&L, NULL, free_port(), 1, -1};
    loopt_call(&L, do_metrics_start, &a);
    assert_int_equal(a.rc, DRIP_OK);

    char resp[16384];
    const char *get_h = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    http_exchange(a.port, get_h, strlen(get_h), resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 200 OK\r\n", 17);
    assert_non_null(strstr(resp, "\r\n\r\nok\n"));

    a.healthy = 0;
    http_exchange(a.port, get_h, strlen(get_h), resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 503 ", 13);
    assert_non_null(strstr(resp, "\r\n\r\nnats disconnected\n"));

    const char *get_m = "GET /metrics?x=1 HTTP/1.0\r\n\r\n";
    http_exchange(a.port, get_m, strlen(get_m), resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 200 OK\r\n", 17);
    assert_non_null(strstr(resp, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(resp, "\ndrip_test_requests_total 9\n"));

    const char *get_x = "GET /nope HTTP/1.0\r\n\r\n";
    http_exchange(a.port, get_x, strlen(get_x), resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 404 ", 13);

    const char *post = "POST /metrics HTTP/1.0\r\n\r\n";
    http_exchange(a.port, post, strlen(post), resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 405 ", 13);

    const char garbage[] = "\x01\x02\0zz\r\n\r\n";
    http_exchange(a.port, garbage, sizeof garbage - 1, resp, sizeof resp);
    assert_memory_equal(resp, "HTTP/1.0 400 ", 13);

    /* an oversized header block is refused, not buffered */
    char *big = malloc(20000);
    memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
    memset(big + 26, 'a', 20000 - 26);
    http_exchange(a.port, big, 9000, resp, sizeof resp);
    free(big);
    assert_memory_equal(resp, "HTTP/1.0 431 ", 13);

    /* a client that connects and says nothing is still open when we shut down */
    int idle = tcp_connect(a.port);
    assert_true(idle >= 0);
    sleep_ms(50);
    loopt_stop(&L, do_metrics_destroy, &a);
    close(idle);
}

/* --- core NATS ----------------------------------------------------------------------------------- */

static void test_request_reply(void **state)
{
    natsd *d = *state;
    loopt L;
    loopt_start(&L);
    bus *srv = loop_bus(&L, d);
    assert_int_equal(bus_connected(srv), 1);
    rec r;
    rec_init(&r, &L, MODE_ECHO);
    r.b = srv;
    sub_args sa = {srv, "svc.echo", "workers", {0}, &r, -1};
    loopt_call(&L, do_serve, &sa);
    assert_int_equal(sa.rc, DRIP_OK);
    /* the SUB must reach the server before another connection asks */
    assert_int_equal(bus_flush(srv, 2000), DRIP_OK);

    bus *cli = tool_bus(d, NULL);
    for (int i = 0; i < 5; i++) {
        char q[16], want[32];
        int n = snprintf(q, sizeof q, "ping%d", i);
        snprintf(want, sizeof want, "echo:ping%d", i);
        void *rep = NULL;
        size_t rlen = 0;
        assert_int_equal(bus_request(cli, "svc.echo", q, (size_t)n, 2000, &rep, &rlen), DRIP_OK);
        assert_int_equal(rlen, strlen(want));
        assert_memory_equal(rep, want, rlen);
        free(rep);
    }
    /* the loop bus's blocking call from a non-loop thread works too */
    void *rep = NULL;
    size_t rlen = 0;
    assert_int_equal(bus_request(srv, "svc.echo", "x", 1, 2000, &rep, &rlen), DRIP_OK);
    assert_string_equal(rep, "echo:x");
    free(rep);

    assert_int_equal(rec_count(&r), 6);
    assert_int_equal(r.wrong_thread, 0);
    assert_int_equal(r.ack_errors, 0);
    assert_int_equal(bus_msg_deliveries(NULL), 0);

    bus_destroy(cli);
    loopt_stop(&L, do_destroy, srv);
    rec_fini(&r);
}

static void test_no_responders(void **state)
{
    natsd *d = *state;
    bus *b = tool_bus(d, NULL);
    void *rep = (void *)1;
    size_t len = 7;
    int64_t t0 = now_ms();
    assert_int_equal(bus_request(b, "svc.nobody", "x", 1, 3000, &rep, &len), DRIP_ENOTFOUND);
    assert_true(now_ms() - t0 < 1000); /* reported at once, not after the timeout */
    assert_null(rep);
    assert_int_equal(len, 0);
    assert_non_null(strstr(bus_last_error(b), "no responders"));
    assert_int_equal(bus_serve(b, "x", NULL, on_msg, NULL), DRIP_EINTERNAL); /* tool bus */
    bus_destroy(b);
}

static void test_permission_violation(void **state)
{
    natsd *d = *state;
    bus *b = tool_bus(d, "limited");
    void *rep = NULL;
    size_t len = 0;
    int rc = bus_request(b, "forbidden.op", "x", 1, 500, &rep, &len);
    assert_int_equal(rc, DRIP_EFORBIDDEN);
    assert_non_null(strstr(bus_last_error(b), "Permissions Violation"));
    assert_null(rep);
    bus_destroy(b);
}

/* A loop bus whose server never came up still shuts down cleanly (and ends the loop). */
static void test_loop_bus_never_connected(void **state)
{
    (void)state;
    natsd d = {0};
    d.port = free_port();
    snprintf(d.url, sizeof d.url, "nats://127.0.0.1:%d", d.port);
    loopt L;
    loopt_start(&L);
    bus *b = loop_bus(&L, &d);
    assert_int_equal(bus_connected(b), 0);
    rec r;
    rec_init(&r, &L, MODE_ACK);
    sub_args sa = {b, "svc.none", "q", {"S", "d", NULL, 3, 5, 1}, &r, -1};
    loopt_call(&L, do_serve, &sa); /* subscriptions are accepted before the first connect */
    assert_int_equal(sa.rc, DRIP_OK);
    loopt_call(&L, do_consume, &sa); /* the fetch thread keeps trying in the background */
    assert_int_equal(sa.rc, DRIP_OK);
    sleep_ms(100);
    loopt_stop(&L, do_destroy, b);
    rec_fini(&r);
}

static void test_tool_connect_fails_fast(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", free_port());
    bus_options o = {url, NULL, NULL, "nobody"};
    bus *b = (bus *)1;
    int64_t t0 = now_ms();
    assert_int_equal(bus_create(&b, NULL, &o), DRIP_EIO);
    assert_null(b);
    assert_true(now_ms() - t0 < 3000);
}

/* --- JetStream ---------------------------------------------------------------------------------- */

static void ensure_stream(bus *b, const char *name, const char *subject)
{
    const char *subjects[] = {subject};
    bus_stream_config sc = {name, subjects, 1, 3600, 600, 1};
    int rc = DRIP_EIO;
    /* JetStream may need a moment after the listener is up */
    for (int i = 0; i < 50 && rc != DRIP_OK; i++) {
        rc = bus_stream_ensure(b, &sc);
        if (rc != DRIP_OK) sleep_ms(100);
    }
    assert_int_equal(rc, DRIP_OK);
}

static void publish_n(bus *b, const char *subject, const char *idprefix, int n)
{
    for (int i = 0; i < n; i++) {
        char id[64], data[32];
        snprintf(id, sizeof id, "%s-%d", idprefix, i);
        int len = snprintf(data, sizeof data, "m%d", i);
        int dup = -1;
        assert_int_equal(bus_js_publish(b, subject, data, (size_t)len, id, 2000, &dup), DRIP_OK);
        assert_int_equal(dup, 0);
    }
}

static void test_stream_ensure(void **state)
{
    natsd *d = *state;
    bus *b = tool_bus(d, NULL);
    ensure_stream(b, "ENS", "ens.a.>");
    ensure_stream(b, "ENS", "ens.a.>"); /* idempotent */
    const char *subjects[] = {"ens.a.>", "ens.b.>"};
    bus_stream_config sc = {"ENS", subjects, 2, 3600, 600, 1};
    assert_int_equal(bus_stream_ensure(b, &sc), DRIP_OK); /* updated in place */
    publish_n(b, "ens.b.x", "ens", 1);
    uint64_t msgs = 0, last = 0;
    assert_int_equal(bus_stream_info(b, "ENS", &msgs, &last), DRIP_OK);
    assert_int_equal(msgs, 1);
    assert_int_equal(last, 1);
    assert_int_equal(bus_stream_info(b, "NOPE", &msgs, &last), DRIP_ENOTFOUND);
    /* a subject no stream stores */
    assert_int_equal(bus_js_publish(b, "nostream.x", "x", 1, "id", 1000, NULL), DRIP_ENOTFOUND);
    bus_destroy(b);
}

static void test_js_publish_dedupe(void **state)
{
    natsd *d = *state;
    bus *b = tool_bus(d, NULL);
    ensure_stream(b, "DUP", "dup.>");
    int dup = -1;
    assert_int_equal(bus_js_publish(b, "dup.x", "one", 3, "id-1", 2000, &dup), DRIP_OK);
    assert_int_equal(dup, 0);
    assert_int_equal(bus_js_publish(b, "dup.x", "one", 3, "id-1", 2000, &dup), DRIP_OK);
    assert_int_equal(dup, 1);
    uint64_t msgs = 0, last = 0;
    assert_int_equal(bus_stream_info(b, "DUP", &msgs, &last), DRIP_OK);
    assert_int_equal(msgs, 1);
    assert_int_equal(last, 1);
    bus_destroy(b);
}

typedef struct {
    loopt L;
    bus *b;
    rec r;
} consumer_env;

static void consumer_env_start(consumer_env *e, const natsd *d, int mode, const char *stream,
                               const char *durable, const char *filter, int max_deliver,
                               int ack_wait_s, int batch)
{
    loopt_start(&e->L);
    e->b = loop_bus(&e->L, d);
    rec_init(&e->r, &e->L, mode);
    e->r.b = e->b;
    sub_args sa = {e->b, NULL, NULL, {stream, durable, filter, max_deliver, ack_wait_s, batch},
                   &e->r, -1};
    loopt_call(&e->L, do_consume, &sa);
    assert_int_equal(sa.rc, DRIP_OK);
}

static void consumer_env_stop(consumer_env *e)
{
    loopt_stop(&e->L, do_destroy, e->b);
    rec_fini(&e->r);
}

static void test_consume_ack(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "ACK", "ack.>");
    publish_n(t, "ack.x", "ack", 10);

    consumer_env e;
    consumer_env_start(&e, d, MODE_ACK, "ACK", "d_ack", "ack.>", 5, 5, 4);
    assert_int_equal(rec_wait(&e.r, 10, 5000), 10);
    sleep_ms(200);
    assert_int_equal(rec_count(&e.r), 10); /* nothing extra */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(e.r.seq[i], (uint64_t)i + 1); /* in order, one batch after another */
        assert_int_equal(e.r.deliv[i], 1);
    }
    assert_string_equal(e.r.data[3], "m3");
    assert_string_equal(e.r.msgid[3], "ack-3");
    assert_int_equal(e.r.wrong_thread, 0);
    assert_int_equal(e.r.ack_errors, 0);
    /* configuration errors surface at once */
    sub_args bad = {e.b, NULL, NULL, {"NOSUCH", "d_x", NULL, 3, 5, 1}, &e.r, -1};
    loopt_call(&e.L, do_consume, &bad);
    assert_int_equal(bad.rc, DRIP_ENOTFOUND);
    consumer_env_stop(&e);
    bus_destroy(t);
}

static void test_consume_nak_redelivers(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "NAK", "nak.>");
    publish_n(t, "nak.x", "nak", 1);
    consumer_env e;
    consumer_env_start(&e, d, MODE_NAK_FIRST, "NAK", "d_nak", NULL, 5, 5, 1);
    assert_int_equal(rec_wait(&e.r, 2, 5000), 2);
    assert_int_equal(e.r.seq[0], 1);
    assert_int_equal(e.r.deliv[0], 1);
    assert_int_equal(e.r.seq[1], 1);
    assert_int_equal(e.r.deliv[1], 2);
    sleep_ms(200);
    assert_int_equal(rec_count(&e.r), 2); /* acked on the second delivery */
    assert_int_equal(e.r.ack_errors, 0);
    consumer_env_stop(&e);
    bus_destroy(t);
}

static void test_consume_term(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "TERM", "term.>");
    publish_n(t, "term.x", "term", 1);
    consumer_env e;
    consumer_env_start(&e, d, MODE_TERM, "TERM", "d_term", NULL, 5, 1, 1);
    assert_int_equal(rec_wait(&e.r, 1, 5000), 1);
    /* AckWait is 1 s: an unterminated message would be back by now */
    sleep_ms(1500);
    assert_int_equal(rec_count(&e.r), 1);
    pthread_mutex_lock(&e.r.mu);
    e.r.mode = MODE_ACK;
    pthread_mutex_unlock(&e.r.mu);
    publish_n(t, "term.x", "term2", 1);
    assert_int_equal(rec_wait(&e.r, 2, 5000), 2);
    assert_int_equal(e.r.seq[1], 2);
    assert_int_equal(e.r.deliv[1], 1);
    consumer_env_stop(&e);
    bus_destroy(t);
}

static void test_consume_max_deliver(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "MAXD", "maxd.>");
    publish_n(t, "maxd.x", "maxd", 1);
    consumer_env e;
    consumer_env_start(&e, d, MODE_NAK_ALWAYS, "MAXD", "d_maxd", NULL, 3, 5, 1);
    assert_int_equal(rec_wait(&e.r, 3, 5000), 3);
    sleep_ms(600);
    assert_int_equal(rec_count(&e.r), 3);
    for (int i = 0; i < 3; i++) assert_int_equal(e.r.deliv[i], (uint64_t)i + 1);
    consumer_env_stop(&e);
    bus_destroy(t);
}

static void test_consume_durable_resumes(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "RES", "res.>");
    publish_n(t, "res.x", "res-a", 5);

    consumer_env e;
    consumer_env_start(&e, d, MODE_ACK, "RES", "d_res", NULL, 5, 5, 2);
    assert_int_equal(rec_wait(&e.r, 5, 5000), 5);
    consumer_env_stop(&e);

    publish_n(t, "res.x", "res-b", 3);
    consumer_env_start(&e, d, MODE_ACK, "RES", "d_res", NULL, 5, 5, 2);
    assert_int_equal(rec_wait(&e.r, 3, 5000), 3);
    sleep_ms(300);
    assert_int_equal(rec_count(&e.r), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e.r.seq[i], (uint64_t)i + 6); /* resumed after the acked ones */
        assert_int_equal(e.r.deliv[i], 1);
    }
    consumer_env_stop(&e);
    bus_destroy(t);
}

/* bus_destroy called from a handler: the rest of the batch (queued, not yet handed out) goes back
 * to the server at once (nak) instead of waiting out AckWait; the message held by the handler
 * outlives the bus and can still be acked (fails cleanly) and destroyed. */
static void test_consume_destroy_in_handler(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "PEND", "pend.>");
    publish_n(t, "pend.x", "pend", 4);
    consumer_env e;
    consumer_env_start(&e, d, MODE_DESTROY_BUS, "PEND", "d_pend", NULL, 5, 30, 4);
    assert_int_equal(rec_wait(&e.r, 1, 5000), 1);
    sleep_ms(100);
    assert_int_equal(rec_count(&e.r), 1);
    assert_int_equal(e.r.ack_errors, 0);
    loopt_stop(&e.L, NULL, NULL); /* the bus is gone already */
    rec_fini(&e.r);

    /* seq 1 is held until AckWait (30 s); 2..4 come back now */
    consumer_env_start(&e, d, MODE_ACK, "PEND", "d_pend", NULL, 5, 30, 4);
    assert_int_equal(rec_wait(&e.r, 3, 5000), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e.r.seq[i], (uint64_t)i + 2);
        assert_int_equal(e.r.deliv[i], 2);
    }
    consumer_env_stop(&e);
    bus_destroy(t);
}

typedef struct {
    int n;
    uint64_t seq[16];
    char subj[16][32];
    int stop_after;
} scan_rec;

static int on_scan(const bus_msg *m, void *arg)
{
    scan_rec *s = arg;
    if (s->n < 16) {
        s->seq[s->n] = bus_msg_stream_seq(m);
        snprintf(s->subj[s->n], sizeof s->subj[0], "%s", bus_msg_subject(m));
    }
    s->n++;
    return s->stop_after > 0 && s->n >= s->stop_after;
}

static void test_stream_scan(void **state)
{
    natsd *d = *state;
    bus *t = tool_bus(d, NULL);
    ensure_stream(t, "SCAN", "scan.>");
    publish_n(t, "scan.a", "sa", 3);
    publish_n(t, "scan.b", "sb", 2);
    publish_n(t, "scan.a", "sa2", 1);

    scan_rec s = {0};
    int rc = bus_stream_scan(t, "SCAN", NULL, 1, on_scan, &s);
    if (rc != DRIP_OK) fprintf(stderr, "scan: %s\n", bus_last_error(t));
    assert_int_equal(rc, DRIP_OK);
    assert_int_equal(s.n, 6);
    for (int i = 0; i < 6; i++) assert_int_equal(s.seq[i], (uint64_t)i + 1);
    assert_string_equal(s.subj[3], "scan.b");

    memset(&s, 0, sizeof s);
    assert_int_equal(bus_stream_scan(t, "SCAN", "scan.b", 1, on_scan, &s), DRIP_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 4);
    assert_int_equal(s.seq[1], 5);

    memset(&s, 0, sizeof s);
    assert_int_equal(bus_stream_scan(t, "SCAN", NULL, 5, on_scan, &s), DRIP_OK);
    assert_int_equal(s.n, 2);

    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(bus_stream_scan(t, "SCAN", NULL, 1, on_scan, &s), DRIP_OK);
    assert_int_equal(s.n, 2);

    memset(&s, 0, sizeof s);
    assert_int_equal(bus_stream_scan(t, "SCAN", "scan.none", 1, on_scan, &s), DRIP_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(bus_stream_scan(t, "SCAN", NULL, 99, on_scan, &s), DRIP_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(bus_stream_scan(t, "NOPE", NULL, 1, on_scan, &s), DRIP_ENOTFOUND);
    bus_destroy(t);
}

/* --- reconnect ----------------------------------------------------------------------------------- */

static void test_reconnect(void **state)
{
    (void)state;
    natsd *d = natsd_new();
    assert_non_null(d);

    /* a daemon may start before nats-server: bus_create succeeds and retries */
    loopt L;
    loopt_start(&L);
    bus *b = loop_bus(&L, d);
    assert_int_equal(bus_connected(b), 0);
    rec r;
    rec_init(&r, &L, MODE_ECHO);
    r.b = b;
    sub_args sa = {b, "svc.rc", NULL, {0}, &r, -1};
    loopt_call(&L, do_on_state, &sa);
    loopt_call(&L, do_serve, &sa);
    assert_int_equal(sa.rc, DRIP_OK);

    assert_int_equal(natsd_start(d), 0);
    assert_int_equal(wait_connected(b, 1, 5000), 1);

    void *rep = NULL;
    size_t len = 0;
    assert_int_equal(bus_request(b, "svc.rc", "a", 1, 2000, &rep, &len), DRIP_OK);
    assert_string_equal(rep, "echo:a");
    free(rep);

    /* a durable consumer on the same bus must keep working across the restart too */
    ensure_stream(b, "RC", "rc.>");
    rec rj;
    rec_init(&rj, &L, MODE_ACK);
    sub_args cj = {b, NULL, NULL, {"RC", "d_rc", NULL, 5, 5, 1}, &rj, -1};
    loopt_call(&L, do_consume, &cj);
    assert_int_equal(cj.rc, DRIP_OK);
    publish_n(b, "rc.x", "rc-a", 1);
    assert_int_equal(rec_wait(&rj, 1, 5000), 1);

    natsd_kill(d, SIGKILL);
    assert_int_equal(wait_connected(b, 0, 5000), 0);
    assert_int_not_equal(bus_request(b, "svc.rc", "b", 1, 300, &rep, &len), DRIP_OK);

    assert_int_equal(natsd_start(d), 0);
    assert_int_equal(wait_connected(b, 1, 5000), 1);
    assert_int_equal(bus_request(b, "svc.rc", "c", 1, 2000, &rep, &len), DRIP_OK);
    assert_string_equal(rep, "echo:c");
    free(rep);

    /* JetStream recovers its store after the restart: retry the publish until it is back */
    int rc = DRIP_EIO;
    for (int i = 0; i < 50 && rc != DRIP_OK; i++) {
        rc = bus_js_publish(b, "rc.x", "z", 1, "rc-b", 1000, NULL);
        if (rc != DRIP_OK) sleep_ms(100);
    }
    assert_int_equal(rc, DRIP_OK);
    assert_int_equal(rec_wait(&rj, 2, 8000), 2);
    assert_int_equal(rj.seq[1], 2);
    assert_int_equal(rj.wrong_thread, 0);

    /* the loop heard about every transition, in order */
    sleep_ms(50);
    pthread_mutex_lock(&r.mu);
    int ns = r.nstates;
    int s0 = r.states[0], s1 = r.states[1], s2 = r.states[2];
    pthread_mutex_unlock(&r.mu);
    assert_true(ns >= 3);
    assert_int_equal(s0, 1);
    assert_int_equal(s1, 0);
    assert_int_equal(s2, 1);
    assert_int_equal(r.wrong_thread, 0);

    loopt_stop(&L, do_destroy, b);
    rec_fini(&r);
    rec_fini(&rj);
    natsd_free(d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    log_init("test_bus", LOG_INFO);
    if (natsd_binary() == NULL) {
        fprintf(stderr, "nats-server not found\n");
        return 1;
    }
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_log_escape),     cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_config),         cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_metrics_http),   cmocka_unit_test(test_tool_connect_fails_fast),
        cmocka_unit_test(test_loop_bus_never_connected),
    };
    const struct CMUnitTest core[] = {
        cmocka_unit_test(test_request_reply),
        cmocka_unit_test(test_no_responders),
        cmocka_unit_test(test_permission_violation),
    };
    const struct CMUnitTest js[] = {
        cmocka_unit_test(test_stream_ensure),
        cmocka_unit_test(test_js_publish_dedupe),
        cmocka_unit_test(test_consume_ack),
        cmocka_unit_test(test_consume_nak_redelivers),
        cmocka_unit_test(test_consume_term),
        cmocka_unit_test(test_consume_max_deliver),
        cmocka_unit_test(test_consume_durable_resumes),
        cmocka_unit_test(test_consume_destroy_in_handler),
        cmocka_unit_test(test_stream_scan),
    };
    const struct CMUnitTest rc[] = {
        cmocka_unit_test(test_reconnect),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("local", local, NULL, NULL);
    failed += cmocka_run_group_tests_name("core", core, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("jetstream", js, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("reconnect", rc, NULL, NULL);
    /* process-wide nats.c shutdown (bus_destroy deliberately leaves it alone) */
    nats_CloseAndWait(5000);
    return failed;
}
