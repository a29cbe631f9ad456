/* handlers.c — NATS entry points of the registry: size and subject checks, then dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "envelope.h"
#include "log.h"
#include "registry.h"
#include "service.h"
#include "status.h"

int registry_is_operator(const registry *r, const char *dept)
{
    return service_is_operator(r->operators, dept);
}

void registry_reply_error(registry *r, const bus_msg *m, const char *verb, const char *corr,
                          int status, const char *text)
{
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "REGISTRY", "000000");
    int code = drip_status_to_wire(status);
    ProtobufCMessage *msg;
    Drip__BatchReply b = DRIP__BATCH_REPLY__INIT;
    Drip__GetReply g = DRIP__GET_REPLY__INIT;
    Drip__CountReply c = DRIP__COUNT_REPLY__INIT;
    Drip__ListReply l = DRIP__LIST_REPLY__INIT;
    if (!strcmp(verb, "get")) {
        g.header = &hdr, g.has_error = 1, g.error = code, g.error_message = (char *)text;
        msg = &g.base;
    } else if (!strcmp(verb, "count")) {
        c.header = &hdr, c.has_error = 1, c.error = code, c.error_message = (char *)text;
        msg = &c.base;
    } else if (!strcmp(verb, "list")) {
        l.header = &hdr, l.has_error = 1, l.error = code, l.error_message = (char *)text;
        msg = &l.base;
    } else {
        b.header = &hdr, b.has_error = 1, b.error = code, b.error_message = (char *)text;
        msg = &b.base;
    }
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    protobuf_c_message_pack(msg, buf);
    bus_respond(r->bus, m, buf, len);
    free(buf);
    log_info("request.rejected", "subject=%s error=%s reason=%s", bus_msg_subject(m),
             drip_status_name(status), text);
}

/* Common gate for both subjects: size and subject shape. Returns 1 when m may proceed. */
static int gate(registry *r, bus_msg *m, const char *verb, subject_parts *sp)
{
    char why[160];
    if (r->stopping) {
        bus_msg_destroy(m); /* no reply: the client retries on another instance */
        return 0;
    }
    if ((int64_t)bus_msg_size(m) > r->cfg.max_payload) {
        snprintf(why, sizeof why, "payload of %zu bytes exceeds the limit of %lld bytes",
                 bus_msg_size(m), (long long)r->cfg.max_payload);
        registry_reply_error(r, m, verb, NULL, DRIP_ETOOLARGE, why);
        bus_msg_destroy(m);
        return 0;
    }
    char dwhy[CODES_WHY_MAX];
    if (subject_parse(bus_msg_subject(m), 3, sp) != DRIP_OK ||
        codes_dept_check(sp->dept, dwhy) != DRIP_OK) {
        snprintf(why, sizeof why, "subject must be <prefix>.reg.%s.PP.CC.DD.<DEPT>.<name>",
                 !strcmp(verb, "cmd") ? "cmd" : "qry");
        registry_reply_error(r, m, verb, NULL, DRIP_EENVELOPE, why);
        bus_msg_destroy(m);
        return 0;
    }
    return 1;
}

static void on_cmd(bus_msg *m, void *arg)
{
    registry *r = arg;
    subject_parts sp;
    if (gate(r, m, "cmd", &sp)) registry_batch_start(r, m, &sp);
}

static void on_query(bus_msg *m, void *arg)
{
    registry *r = arg;
    subject_parts sp;
    /* the reply type depends on the verb; use it for errors found by the gate too */
    const char *subj = bus_msg_subject(m);
    const char *last = strrchr(subj, '.');
    const char *verb = last && (!strcmp(last + 1, "count") || !strcmp(last + 1, "list"))
                           ? last + 1 : "get";
    if (gate(r, m, verb, &sp)) registry_query_start(r, m, &sp);
}

int registry_serve(registry *r)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.reg.cmd.>", r->cfg.prefix);
    int st = bus_serve(r->bus, subj, "registry", on_cmd, r);
    if (st != DRIP_OK) return st;
    snprintf(subj, sizeof subj, "%s.reg.qry.>", r->cfg.prefix);
    return bus_serve(r->bus, subj, "registry", on_query, r);
}
