/* events.c — SamplerEvents through the outbox (in the caller's transaction), split into parts of
 * at most SAMPLER_EVENT_PART targets; and small helpers.
 *
 * Subject: <prefix>.evt.sampler.PP.CC.DD.<lead dept>.<what>, PP.CC.DD = the lead department's
 * region. Nats-Msg-Id / header.msg_id: "sampler-<16 hex of SHA-256(task code)>-<tail>", stable for
 * a given fact (e.g. "...-d2-drawn-3" = part 3 of draw 2's DRAW_COMPLETED), so that a redelivered
 * order or a replayed request never publishes twice (JetStream duplicate window + the consumers'
 * inboxes). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "sampler.h"
#include "status.h"

uint8_t *sampler_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(*len ? *len : 1);
    if (!p) abort();
    protobuf_c_message_pack(msg, p);
    return p;
}

int32_t sampler_day_cst(int64_t ms)
{
    int64_t t = ms + 8LL * 3600 * 1000;
    int64_t d = t / 86400000LL;
    if (t % 86400000LL < 0) d--;
    return (int32_t)d;
}

char *sampler_strdup(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void msg_id(char out[ENVELOPE_ID_MAX + 1], const char *task_code, const char *tail)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)task_code, strlen(task_code), h);
    char hex[17];
    draw_hex(h, 8, hex);
    snprintf(out, ENVELOPE_ID_MAX + 1, "sampler-%s-%s", hex, tail);
}

int sampler_emit(sampler *s, PGconn *c, const char *task_code, const char *lead_region,
                 const char *lead_dept, const char *what, const char *id_tail, const char *corr,
                 Drip__SamplerEvent *ev)
{
    char id[ENVELOPE_ID_MAX + 1], subject[SUBJECT_MAX];
    msg_id(id, task_code, id_tail);
    int st = subject_build(subject, sizeof subject, s->cfg.prefix, "evt.sampler", lead_region,
                           lead_dept, what);
    if (st != DRIP_OK) {
        log_error("event.subject", "cannot build an event subject for task %s (dept %s, region %s)",
                  task_code, lead_dept, lead_region);
        return DRIP_EINTERNAL;
    }
    Drip__Envelope hdr;
    envelope_fill(&hdr, id, corr, lead_dept, lead_region);
    ev->header = &hdr;
    size_t len;
    uint8_t *payload = sampler_pack(&ev->base, &len);
    ev->header = NULL;
    if ((int64_t)len > s->cfg.max_payload) {
        log_error("event.size", "event %s is %zu bytes, over DRIP_MAX_PAYLOAD", id, len);
        free(payload);
        return DRIP_ETOOLARGE;
    }
    st = outbox_add(c, subject, id, payload, len);
    free(payload);
    return st;
}

/* The parts of a draw event; members: all of them in record order, or NULL to read each part
 * back from draw_member. */
static int emit_parts(sampler *s, PGconn *c, const draw_row *d, Drip__SamplerEventKind kind,
                      const char *what, const char *id_tail, const char *corr, const char *reason,
                      Drip__DrawnTarget **members, size_t nmembers)
{
    size_t nrep = 0, nmem = nmembers;
    Drip__Replacement **reps = NULL;
    int st = draw_replacements_load(c, d, &reps, &nrep);
    if (st == DRIP_OK && !members) st = draw_members_count(c, d, &nmem);
    size_t parts = nmem ? (nmem + SAMPLER_EVENT_PART - 1) / SAMPLER_EVENT_PART : 1;
    for (size_t p = 0; st == DRIP_OK && p < parts; p++) {
        Drip__DrawnTarget **sel = NULL;
        size_t nsel = 0;
        if (members) {
            sel = members + p * SAMPLER_EVENT_PART;
            nsel = nmem - p * SAMPLER_EVENT_PART;
            if (nsel > SAMPLER_EVENT_PART) nsel = SAMPLER_EVENT_PART;
        } else {
            st = draw_members_load(c, d, p * SAMPLER_EVENT_PART, SAMPLER_EVENT_PART, &sel, &nsel);
            if (st != DRIP_OK) break;
        }
        Drip__DrawRecord rec = *d->head; /* shallow: the head keeps its fields */
        rec.has_superseded = 1;
        rec.superseded = d->superseded;
        rec.selected = sel;
        rec.n_selected = nsel;
        rec.replacements = reps;
        rec.n_replacements = nrep;
        Drip__SamplerEvent ev = DRIP__SAMPLER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = kind;
        ev.record = &rec;
        ev.reason = (char *)reason;
        ev.has_part = ev.has_parts = 1;
        ev.part = (uint32_t)(p + 1);
        ev.parts = (uint32_t)parts;
        char tail[48];
        snprintf(tail, sizeof tail, "d%u-%s-%zu", d->draw_no, id_tail, p + 1);
        st = sampler_emit(s, c, d->task_code, d->lead_region, d->lead_dept, what, tail, corr, &ev);
        if (!members) draw_targets_free(sel, nsel);
    }
    draw_replacements_free(reps, nrep);
    return st;
}

int sampler_emit_draw(sampler *s, PGconn *c, const draw_row *d, Drip__SamplerEventKind kind,
                      const char *what, const char *id_tail, const char *corr, const char *reason)
{
    return emit_parts(s, c, d, kind, what, id_tail, corr, reason, NULL, 0);
}

int sampler_emit_draw_members(sampler *s, PGconn *c, const draw_row *d,
                              Drip__SamplerEventKind kind, const char *what, const char *id_tail,
                              const char *corr, const char *reason, Drip__DrawnTarget **members,
                              size_t n)
{
    static Drip__DrawnTarget *none[1];
    return emit_parts(s, c, d, kind, what, id_tail, corr, reason, members ? members : none, n);
}

int sampler_emit_keys(sampler *s, PGconn *c, const draw_row *d, Drip__SamplerEventKind kind,
                      const char *what, const char *id_tail, const char *corr, char **keys,
                      size_t n, const char *reason)
{
    size_t parts = n ? (n + SAMPLER_EVENT_PART - 1) / SAMPLER_EVENT_PART : 1;
    int st = DRIP_OK;
    for (size_t p = 0; st == DRIP_OK && p < parts; p++) {
        Drip__DrawRecord rec = *d->head;
        rec.has_superseded = 1;
        rec.superseded = d->superseded;
        Drip__SamplerEvent ev = DRIP__SAMPLER_EVENT__INIT;
        ev.has_kind = 1;
        ev.kind = kind;
        ev.record = &rec;
        ev.reason = (char *)reason;
        size_t from = p * SAMPLER_EVENT_PART;
        ev.uscc = keys + from;
        ev.n_uscc = n - from < SAMPLER_EVENT_PART ? n - from : SAMPLER_EVENT_PART;
        ev.has_part = ev.has_parts = 1;
        ev.part = (uint32_t)(p + 1);
        ev.parts = (uint32_t)parts;
        char tail[64];
        snprintf(tail, sizeof tail, "d%u-%s-%zu", d->draw_no, id_tail, p + 1);
        st = sampler_emit(s, c, d->task_code, d->lead_region, d->lead_dept, what, tail, corr, &ev);
    }
    return st;
}
