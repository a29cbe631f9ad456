/* handlers.c — NATS entry points of the sampler: size and subject checks, then dispatch on the
 * verb (the subject's last token): draw_get, draw_population, confirm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "service.h"
#include "status.h"

int sampler_is_operator(const sampler *s, const char *dept)
{
    return service_is_operator(s->operators, dept);
}

int sampler_sender_check(sampler *s, PGconn *c, const subject_parts *sp, char *why, size_t cap)
{
    return service_sender_check(c, s->operators, sp, why, cap);
}

void sampler_reply_error(sampler *s, const bus_msg *m, const char *verb, const char *corr,
                         int status, const char *text)
{
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "SAMPLER", "000000");
    int code = drip_status_to_wire(status);
    ProtobufCMessage *msg;
    Drip__DrawReply d = DRIP__DRAW_REPLY__INIT;
    Drip__PopulationPage p = DRIP__POPULATION_PAGE__INIT;
    Drip__ConfirmReply c = DRIP__CONFIRM_REPLY__INIT;
    if (!strcmp(verb, "draw_population")) {
        p.header = &hdr, p.has_error = 1, p.error = code, p.error_message = (char *)text;
        msg = &p.base;
    } else if (!strcmp(verb, "confirm")) {
        c.header = &hdr, c.has_error = 1, c.error = code, c.error_message = (char *)text;
        msg = &c.base;
    } else {
        d.header = &hdr, d.has_error = 1, d.error = code, d.error_message = (char *)text;
        msg = &d.base;
    }
    size_t len;
    uint8_t *buf = sampler_pack(msg, &len);
    bus_respond(s->bus, m, buf, len);
    free(buf);
    log_info("request.rejected", "subject=%s error=%s reason=%s", bus_msg_subject(m),
             drip_status_name(status), text);
}

static void on_cmd(bus_msg *m, void *arg)
{
    sampler *s = arg;
    char why[200];
    subject_parts sp;
    const char *subj = bus_msg_subject(m);
    const char *last = strrchr(subj, '.');
    const char *verb = last ? last + 1 : "";
    if (atomic_load(&s->stopping)) {
        bus_msg_destroy(m); /* no reply: the client retries on another instance */
        return;
    }
    if ((int64_t)bus_msg_size(m) > s->cfg.max_payload) {
        snprintf(why, sizeof why, "payload of %zu bytes exceeds the limit of %lld bytes",
                 bus_msg_size(m), (long long)s->cfg.max_payload);
        sampler_reply_error(s, m, verb, NULL, DRIP_ETOOLARGE, why);
        bus_msg_destroy(m);
        return;
    }
    if (subject_parse(subj, 3, &sp) != DRIP_OK) {
        sampler_reply_error(s, m, verb, NULL, DRIP_EENVELOPE,
                            "subject must be <prefix>.samp.cmd.PP.CC.DD.<DEPT>.<verb>");
        bus_msg_destroy(m);
        return;
    }
    if (!strcmp(sp.last, "draw_get") || !strcmp(sp.last, "draw_population")) {
        sampler_query_start(s, m, &sp);
    } else if (!strcmp(sp.last, "confirm")) {
        sampler_confirm_start(s, m, &sp);
    } else {
        snprintf(why, sizeof why, "unknown verb '%.32s' (draw_get|draw_population|confirm)",
                 sp.last);
        sampler_reply_error(s, m, "draw_get", NULL, DRIP_EBADMSG, why);
        bus_msg_destroy(m);
    }
}

int sampler_serve(sampler *s)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.samp.cmd.>", s->cfg.prefix);
    return bus_serve(s->bus, subj, "sampler", on_cmd, s);
}
