/* assign.c — match_assign: direct assignment (直接委派) of inspectors to one department's slot of
 * a form, by that department (or an operator), outside the random draw. The form gets a new
 * version and is dispatched again; each added inspector gets an INSPECTOR_ASSIGNED event. All in
 * one transaction with the inbox row, so a retried request (same msg_id) returns the first reply. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "draw.h"
#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "status.h"

#define ASSIGN_MAX 10

typedef struct {
    matcher *m;
    bus_msg *msg;
    subject_parts sp;
    Drip__AssignRequest *req;
    const char *corr;
    char inbox_id[160];
    char why[MATCHER_WHY];
    uint8_t *reply;
    size_t reply_len;
    int replayed, emitted;
} job;

static void job_free(job *j)
{
    if (j->req) drip__assign_request__free_unpacked(j->req, NULL);
    free(j->reply);
    if (j->msg) bus_msg_destroy(j->msg);
    free(j);
}

static int refuse(job *j, int st)
{
    Drip__Envelope hdr;
    char id[37];
    envelope_new_id(id);
    envelope_fill(&hdr, id, j->corr, "MATCHER", "000000");
    Drip__AssignReply r = DRIP__ASSIGN_REPLY__INIT;
    r.header = &hdr;
    r.has_error = 1;
    r.error = drip_status_to_wire(st);
    r.error_message = j->why;
    free(j->reply);
    j->reply = service_pack(&r.base, &j->reply_len);
    return DRIP_OK;
}

static int has_str(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return 1;
    return 0;
}

static int assign_tx(PGconn *c, void *arg)
{
    job *j = arg;
    matcher *m = j->m;
    const Drip__AssignRequest *q = j->req;
    void *stored = NULL;
    size_t stored_len = 0;
    int st = inbox_lookup(c, "matcher.assign", j->inbox_id, &stored, &stored_len);
    if (st < 0) return st;
    if (st == 1) {
        free(j->reply);
        j->reply = stored;
        j->reply_len = stored_len;
        j->replayed = 1;
        return stored ? DRIP_OK : DRIP_EINTERNAL;
    }
    char key[160];
    st = matcher_task_resolve(c, q->plan_code, q->task_code, key, sizeof key, j->why, sizeof j->why);
    if (st != DRIP_OK) return st == DRIP_EIO || st == DRIP_EINTERNAL ? st : refuse(j, st);
    const char *dept = q->dept && *q->dept ? q->dept : j->sp.dept;
    if (strcmp(dept, j->sp.dept) != 0 && !matcher_is_operator(m, j->sp.dept)) {
        snprintf(j->why, sizeof j->why, "department %s may assign only to its own slots, not %s's",
                 j->sp.dept, dept);
        return refuse(j, DRIP_EFORBIDDEN);
    }
    const char *v[2] = {key, q->uscc};
    PGresult *r = PQexecParams(c,
                               "SELECT body, version FROM form WHERE task_key = $1 AND uscc = $2"
                               " FOR UPDATE",
                               2, NULL, v, NULL, NULL, 1);
    st = db_result_status(c, r, "form load");
    if (st != DRIP_OK) {
        PQclear(r);
        return st;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        snprintf(j->why, sizeof j->why, "no form for %s in task %s", q->uscc, key);
        return refuse(j, DRIP_ENOTFOUND);
    }
    Drip__Form *f = drip__form__unpack(NULL, (size_t)PQgetlength(r, 0, 0),
                                       (const uint8_t *)PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!f) return DRIP_EINTERNAL;
    Drip__DeptSlot *slot = NULL;
    for (size_t i = 0; i < f->n_depts; i++)
        if (f->depts[i]->dept && !strcmp(f->depts[i]->dept, dept)) slot = f->depts[i];
    int32_t wend = -1;
    if (f->window_end) codes_date_parse(f->window_end, &wend, NULL);
    st = DRIP_OK;
    if (!slot) {
        snprintf(j->why, sizeof j->why, "department %s has no slot on the form of %s", dept, q->uscc);
        st = DRIP_ENOTFOUND;
    }
    /* validate every inspector first: all or nothing */
    Drip__Change *chs[ASSIGN_MAX] = {0};
    for (size_t i = 0; st == DRIP_OK && i < q->n_inspectors; i++) {
        const char *ik = q->inspectors[i];
        for (size_t z = 0; z < i; z++)
            if (!strcmp(q->inspectors[z], ik)) {
                snprintf(j->why, sizeof j->why, "inspectors[%zu]: %s listed twice", i, ik);
                st = DRIP_ECONFLICT;
            }
        if (st != DRIP_OK) break;
        for (size_t d = 0; d < f->n_depts && st == DRIP_OK; d++)
            for (size_t z = 0; z < f->depts[d]->n_inspectors; z++)
                if (!strcmp(f->depts[d]->inspectors[z]->inspector, ik)) {
                    snprintf(j->why, sizeof j->why, "inspectors[%zu]: %s is already on this form",
                             i, ik);
                    st = DRIP_ECONFLICT;
                    break;
                }
        if (st != DRIP_OK) break;
        int gst;
        chs[i] = regproj_get(c, DRIP__RECORD_KIND__KIND_INSPECTOR, ik, &gst);
        if (!chs[i] || !chs[i]->inspector) {
            if (gst != DRIP_ENOTFOUND && gst != DRIP_OK) {
                st = gst;
                break;
            }
            snprintf(j->why, sizeof j->why, "inspectors[%zu]: %s is not a registered inspector", i,
                     ik);
            st = DRIP_EREFERENCE;
            break;
        }
        const Drip__Inspector *p = chs[i]->inspector;
        int32_t exp = -1;
        if (p->has_active && !p->active) {
            snprintf(j->why, sizeof j->why, "inspectors[%zu]: %s is inactive", i, ik);
            st = DRIP_EVALUE;
        } else if (!p->cert_expiry || codes_date_parse(p->cert_expiry, &exp, NULL) != DRIP_OK ||
                   exp < wend) {
            snprintf(j->why, sizeof j->why,
                     "inspectors[%zu]: %s's certificate expires %s, before the window ends (%s)", i,
                     ik, p->cert_expiry ? p->cert_expiry : "(none)",
                     f->window_end ? f->window_end : "?");
            st = DRIP_EVALUE;
        } else if (has_str(p->recusals, p->n_recusals, q->uscc)) {
            snprintf(j->why, sizeof j->why, "inspectors[%zu]: %s declared a conflict with %s", i,
                     ik, q->uscc);
            st = DRIP_EFORBIDDEN;
        }
    }
    if (st != DRIP_OK) {
        for (size_t i = 0; i < q->n_inspectors; i++)
            if (chs[i]) drip__change__free_unpacked(chs[i], NULL);
        drip__form__free_unpacked(f, NULL);
        return st == DRIP_EIO || st == DRIP_EINTERNAL ? st : refuse(j, st);
    }
    /* add them */
    int64_t now = envelope_now_ms();
    size_t n0 = slot->n_inspectors;
    Drip__FormInspector **nv =
        realloc(slot->inspectors, (n0 + q->n_inspectors) * sizeof *slot->inspectors);
    if (!nv) abort();
    slot->inspectors = nv;
    Drip__FormInspector *added = calloc(q->n_inspectors, sizeof *added);
    if (!added) abort();
    for (size_t i = 0; i < q->n_inspectors; i++) {
        Drip__FormInspector *fi = &added[i];
        drip__form_inspector__init(fi);
        fi->inspector = q->inspectors[i];
        fi->name = chs[i]->inspector->name;
        fi->has_role = fi->has_source = fi->has_assigned_at_ms = 1;
        fi->role = DRIP__SLOT_ROLE__ROLE_MEMBER;
        fi->source = DRIP__SLOT_SOURCE__SOURCE_DIRECT;
        fi->team = chs[i]->inspector->team;
        fi->reason = q->reason;
        fi->assigned_by = (char *)j->sp.dept;
        fi->assigned_at_ms = now;
        slot->inspectors[slot->n_inspectors++] = fi;
    }
    unsigned members = 0;
    for (size_t z = 0; z < slot->n_inspectors; z++)
        if (slot->inspectors[z]->role == DRIP__SLOT_ROLE__ROLE_MEMBER) members++;
    slot->has_short_by = slot->has_unstaffed = 1;
    slot->short_by = members >= slot->required ? 0 : slot->required - members;
    slot->unstaffed = slot->short_by > 0;
    f->version = f->version + 1;
    size_t blen;
    uint8_t *body = service_pack(&f->base, &blen);
    char ver[16];
    snprintf(ver, sizeof ver, "%u", f->version);
    const char *uv[4] = {key, q->uscc, ver, (const char *)body};
    int ul[4] = {0, 0, 0, (int)blen}, uf[4] = {0, 0, 0, 1};
    r = PQexecParams(c, "UPDATE form SET body = $4, version = $3::int WHERE task_key = $1 AND uscc = $2",
                     4, NULL, uv, ul, uf, 0);
    st = db_result_status(c, r, "form update");
    PQclear(r);
    free(body);
    for (size_t i = 0; st == DRIP_OK && i < q->n_inspectors; i++) {
        const char *iv[4] = {key, q->uscc, dept, q->inspectors[i]};
        r = db_query(c,
                     "INSERT INTO form_member (task_key, uscc, dept, inspector, role, source)"
                     " VALUES ($1, $2, $3, $4, 1, 4)",
                     4, iv, &st);
        PQclear(r);
    }
    /* events: the form again (new version), and each added inspector */
    outbox_batch ob;
    outbox_batch_init(&ob);
    if (st == DRIP_OK) {
        Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__MATCHER_EVENT_KIND__FORM_DISPATCHED;
        ev.task_code = f->task_code;
        ev.plan_code = f->plan_code;
        ev.form = f;
        char tail[96];
        snprintf(tail, sizeof tail, "form-%s-v%u", q->uscc, f->version);
        st = matcher_event_add(m, &ob, key, f->target_region ? f->target_region : "000000",
                               f->lead_dept && *f->lead_dept ? f->lead_dept : "MATCHER", "form",
                               tail, j->corr, &ev);
    }
    for (size_t i = 0; st == DRIP_OK && i < q->n_inspectors; i++) {
        Drip__InspectorAssignment ia = DRIP__INSPECTOR_ASSIGNMENT__INIT;
        ia.inspector = q->inspectors[i];
        ia.name = chs[i]->inspector->name;
        char *u[1] = {q->uscc};
        Drip__SlotRole roles[1] = {DRIP__SLOT_ROLE__ROLE_MEMBER};
        ia.uscc = u;
        ia.n_uscc = 1;
        ia.roles = roles;
        ia.n_roles = 1;
        ia.window_start = f->window_start;
        ia.window_end = f->window_end;
        Drip__MatcherEvent ev = DRIP__MATCHER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = DRIP__MATCHER_EVENT_KIND__INSPECTOR_ASSIGNED;
        ev.task_code = f->task_code;
        ev.plan_code = f->plan_code;
        ev.assignment = &ia;
        char idept[40];
        const char *slash = strchr(q->inspectors[i], '/');
        snprintf(idept, sizeof idept, "%.*s", (int)(slash ? slash - q->inspectors[i] : 0),
                 q->inspectors[i]);
        Drip__Change *dch = regproj_get(c, DRIP__RECORD_KIND__KIND_DEPARTMENT, idept, NULL);
        const char *iregion = dch && dch->department && dch->department->region
                                  ? dch->department->region
                                  : "000000";
        char tail[160];
        snprintf(tail, sizeof tail, "direct-%s-%s-v%u", q->uscc, q->inspectors[i], f->version);
        st = matcher_event_add(m, &ob, key, iregion, idept, "assignment", tail, j->corr, &ev);
        if (dch) drip__change__free_unpacked(dch, NULL);
    }
    if (st == DRIP_OK) st = outbox_batch_flush(c, &ob);
    outbox_batch_free(&ob);
    if (st == DRIP_OK) {
        Drip__Envelope hdr;
        char id[37];
        envelope_new_id(id);
        envelope_fill(&hdr, id, j->corr, "MATCHER", "000000");
        Drip__AssignReply rep = DRIP__ASSIGN_REPLY__INIT;
        rep.header = &hdr;
        rep.has_error = 1;
        rep.form = f;
        free(j->reply);
        j->reply = service_pack(&rep.base, &j->reply_len);
        int ist = inbox_record(c, "matcher.assign", j->inbox_id, j->reply, j->reply_len);
        st = ist < 0 ? ist : ist == 1 ? DRIP_OK : DRIP_EAGAIN;
        j->emitted = st == DRIP_OK;
        if (st == DRIP_OK)
            log_info("assign.done", "task %s form %s dept %s: %zu inspectors assigned directly by %s",
                     key, q->uscc, dept, q->n_inspectors, j->sp.dept);
    }
    /* the slot's pointers into `added` and the request must not be freed by the unpacked form */
    slot->n_inspectors = n0;
    free(added);
    for (size_t i = 0; i < q->n_inspectors; i++)
        if (chs[i]) drip__change__free_unpacked(chs[i], NULL);
    drip__form__free_unpacked(f, NULL);
    return st;
}

static int assign_work(PGconn *c, void *arg)
{
    job *j = arg;
    int st = matcher_sender_check(j->m, c, &j->sp, j->why, sizeof j->why);
    if (st == DRIP_EIO || st == DRIP_EINTERNAL) return st;
    if (st != DRIP_OK) return refuse(j, st);
    return db_transaction(c, assign_tx, j);
}

static void assign_done(int status, void *arg)
{
    job *j = arg;
    matcher *m = j->m;
    m->inflight--;
    if (status != DRIP_OK || !j->reply) {
        metrics_counter_inc(m->m_query_err, 1);
        matcher_reply_error(m, j->msg, "match_assign", j->corr, DRIP_EINTERNAL,
                            "the matcher could not record the assignment now; nothing was "
                            "changed; retry with the same msg_id");
    } else {
        if (!j->replayed) metrics_counter_inc(m->m_assign, 1);
        bus_respond(m->bus, j->msg, j->reply, j->reply_len);
    }
    if (j->emitted) outbox_relay_kick(m->relay);
    job_free(j);
}

void matcher_assign_start(matcher *m, bus_msg *msg, const subject_parts *sp)
{
    char why[256];
    Drip__AssignRequest *q = drip__assign_request__unpack(NULL, bus_msg_size(msg), bus_msg_data(msg));
    int st = DRIP_OK;
    if (!q) {
        st = DRIP_EBADMSG;
        snprintf(why, sizeof why, "payload is not a drip.AssignRequest protobuf message");
    } else {
        st = envelope_check(q->header, sp->dept, sp->region, why, sizeof why);
    }
    const char *corr = q && q->header ? q->header->msg_id : NULL;
    char cwhy[CODES_WHY_MAX];
    if (st == DRIP_OK && (!q->task_code || !*q->task_code)) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "task_code: required");
    } else if (st == DRIP_OK && (!q->uscc || draw_key_check(q->uscc) != DRIP_OK)) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "uscc: required (the target key of the form)");
    } else if (st == DRIP_OK && strlen(q->uscc) == 18 && codes_uscc_check(q->uscc, cwhy) != DRIP_OK) {
        st = DRIP_EUSCC;
        snprintf(why, sizeof why, "uscc: %s", cwhy);
    } else if (st == DRIP_OK && (q->n_inspectors == 0 || q->n_inspectors > ASSIGN_MAX)) {
        st = q->n_inspectors ? DRIP_ETOOLARGE : DRIP_EMISSING;
        snprintf(why, sizeof why, "inspectors: 1..%d", ASSIGN_MAX);
    } else if (st == DRIP_OK && (!q->reason || !*q->reason || strlen(q->reason) > 1500)) {
        st = DRIP_EMISSING;
        snprintf(why, sizeof why, "reason: required (1..500 characters)");
    }
    for (size_t i = 0; st == DRIP_OK && i < q->n_inspectors; i++)
        if (!q->inspectors[i] || !strchr(q->inspectors[i], '/') || strlen(q->inspectors[i]) > 70) {
            st = DRIP_EVALUE;
            snprintf(why, sizeof why, "inspectors[%zu]: must be DEPT/ID", i);
        }
    if (st == DRIP_OK && m->inflight >= MATCHER_MAX_INFLIGHT) {
        st = DRIP_EINTERNAL;
        snprintf(why, sizeof why, "matcher busy; retry with the same msg_id");
    }
    if (st != DRIP_OK) {
        matcher_reply_error(m, msg, "match_assign", corr, st, why);
        if (q) drip__assign_request__free_unpacked(q, NULL);
        bus_msg_destroy(msg);
        return;
    }
    job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->m = m;
    j->msg = msg;
    j->sp = *sp;
    j->sp.dept = j->sp.buf + (sp->dept - sp->buf);
    j->sp.last = j->sp.buf + (sp->last - sp->buf);
    j->req = q;
    j->corr = corr;
    /* ids are per sender: two departments may pick the same msg_id */
    snprintf(j->inbox_id, sizeof j->inbox_id, "%s:%s", sp->dept, q->header->msg_id);
    m->inflight++;
    if (db_pool_submit(m->db, assign_work, assign_done, j) != DRIP_OK) {
        m->inflight--;
        matcher_reply_error(m, msg, "match_assign", corr, DRIP_EINTERNAL, "cannot queue work");
        j->msg = NULL;
        bus_msg_destroy(msg);
        job_free(j);
    }
}
