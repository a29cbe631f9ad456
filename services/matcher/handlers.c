/* handlers.c — NATS entry points of the matcher: size and subject checks, then dispatch on the
 * verb (the subject's last token): match_get, match_pool, match_report, match_assign.
 * Every reply type carries header = 1, error = 2, error_message = 3, so an error reply is encoded
 * once (as a MatchReply) and decodes as whichever reply the client expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "service.h"
#include "status.h"

int matcher_is_operator(const matcher *m, const char *dept)
{
    return service_is_operator(m->operators, dept);
}

int matcher_sender_check(matcher *m, PGconn *c, const subject_parts *sp, char *why, size_t cap)
{
    return service_sender_check(c, m->operators, sp, why, cap);
}

void matcher_reply_error(matcher *m, const bus_msg *msg, const char *verb, const char *corr,
                         int status, const char *text)
{
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, corr, "MATCHER", "000000");
    Drip__MatchReply r = DRIP__MATCH_REPLY__INIT;
    r.header = &hdr;
    r.has_error = 1;
    r.error = drip_status_to_wire(status);
    r.error_message = (char *)text;
    size_t len;
    uint8_t *buf = service_pack(&r.base, &len);
    bus_respond(m->bus, msg, buf, len);
    free(buf);
    log_info("request.rejected", "subject=%s verb=%s error=%s reason=%s", bus_msg_subject(msg),
             verb, drip_status_name(status), text);
}

int matcher_task_resolve(PGconn *c, const char *plan_code, const char *task_code, char *key,
                         size_t cap, char *why, size_t whycap)
{
    if (!task_code || !*task_code || strchr(task_code, '/')) {
        snprintf(why, whycap, "task_code: required (without '/'; the plan goes in plan_code)");
        return DRIP_EMISSING;
    }
    if (plan_code && *plan_code) {
        snprintf(key, cap, "%s/%s", plan_code, task_code);
        return DRIP_OK;
    }
    /* the only matched task with that code */
    char pat[160];
    snprintf(pat, sizeof pat, "%%/%s", task_code);
    const char *v[1] = {pat};
    int st;
    PGresult *r = db_query(c, "SELECT task_key FROM run WHERE task_key LIKE $1 ORDER BY 1 LIMIT 9",
                           1, v, &st);
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    int n = PQntuples(r);
    if (n == 0) {
        snprintf(why, whycap, "task %s has not been matched", task_code);
        st = DRIP_ENOTFOUND;
    } else if (n > 1) {
        snprintf(why, whycap, "task code %s exists in several plans (%s, %s%s): give plan_code",
                 task_code, PQgetvalue(r, 0, 0), PQgetvalue(r, 1, 0), n > 2 ? ", ..." : "");
        st = DRIP_ECONFLICT;
    } else {
        snprintf(key, cap, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return st;
}

static void on_cmd(bus_msg *msg, void *arg)
{
    matcher *m = arg;
    char why[200];
    subject_parts sp;
    const char *subj = bus_msg_subject(msg);
    const char *last = strrchr(subj, '.');
    const char *verb = last ? last + 1 : "";
    if (atomic_load(&m->stopping)) {
        bus_msg_destroy(msg); /* no reply: the client retries on another instance */
        return;
    }
    if ((int64_t)bus_msg_size(msg) > m->cfg.max_payload) {
        snprintf(why, sizeof why, "payload of %zu bytes exceeds the limit of %lld bytes",
                 bus_msg_size(msg), (long long)m->cfg.max_payload);
        matcher_reply_error(m, msg, verb, NULL, DRIP_ETOOLARGE, why);
        bus_msg_destroy(msg);
        return;
    }
    if (subject_parse(subj, 3, &sp) != DRIP_OK) {
        matcher_reply_error(m, msg, verb, NULL, DRIP_EENVELOPE,
                            "subject must be <prefix>.match.cmd.PP.CC.DD.<DEPT>.<verb>");
        bus_msg_destroy(msg);
        return;
    }
    if (!strcmp(sp.last, "match_get") || !strcmp(sp.last, "match_pool") ||
        !strcmp(sp.last, "match_report")) {
        matcher_query_start(m, msg, &sp);
    } else if (!strcmp(sp.last, "match_assign")) {
        matcher_assign_start(m, msg, &sp);
    } else {
        snprintf(why, sizeof why,
                 "unknown verb '%.32s' (match_get|match_pool|match_report|match_assign)", sp.last);
        matcher_reply_error(m, msg, verb, NULL, DRIP_EBADMSG, why);
        bus_msg_destroy(msg);
    }
}

int matcher_serve(matcher *m)
{
    char subj[SUBJECT_MAX];
    snprintf(subj, sizeof subj, "%s.match.cmd.>", m->cfg.prefix);
    return bus_serve(m->bus, subj, "matcher", on_cmd, m);
}
