/* handlers.c — NATS entry points of the sampler: size and subject checks, then dispatch on the
 * verb (the subject's last token): draw_get, draw_population, confirm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

int sampler_is_operator(const sampler *s, const char *dept)
{
    size_t n = strlen(dept);
    for (const char *p = s->operators; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, dept, n)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int sampler_sender_check(sampler *s, PGconn *c, const subject_parts *sp, char *why, size_t cap)
{
    if (sampler_is_operator(s, sp->dept)) {
        if (strcmp(sp->region, "000000") != 0) {
            snprintf(why, cap, "operator %s must send with region 000000", sp->dept);
            return DRIP_EFORBIDDEN;
        }
        return DRIP_OK;
    }
    int st;
    Drip__Change *ch = regproj_get(c, DRIP__RECORD_KIND__KIND_DEPARTMENT, sp->dept, &st);
    if (!ch) {
        if (st != DRIP_ENOTFOUND) return st;
        snprintf(why, cap, "department %s is not registered", sp->dept);
        return DRIP_EDEPT;
    }
    const Drip__Department *d = ch->department;
    if (!d || !d->region || strcmp(d->region, sp->region) != 0) {
        snprintf(why, cap, "department %s belongs to region %s, not %s", sp->dept,
                 d && d->region ? d->region : "?", sp->region);
        st = DRIP_EFORBIDDEN;
    } else if (d->has_active && !d->active) {
        snprintf(why, cap, "department %s is inactive", sp->dept);
        st = DRIP_EFORBIDDEN;
    } else {
        st = DRIP_OK;
    }
    drip__change__free_unpacked(ch, NULL);
    return st;
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
