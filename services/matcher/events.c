/* events.c — MatcherEvents into an outbox batch (COPYed in the run's transaction), and helpers.
 * Nats-Msg-Id / header.msg_id: "matcher-<16 hex of SHA-256(task key)>-<tail>", stable per fact
 * (tail e.g. "form-<uscc>-v1", "insp-<DEPT/ID>"), so that a redelivered settlement or a replayed
 * request never publishes twice (JetStream duplicate window + consumers' inboxes). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "envelope.h"
#include "log.h"
#include "matcher.h"
#include "status.h"

int matcher_event_add(matcher *m, outbox_batch *b, const char *task_key, const char *region,
                      const char *dept, const char *what, const char *tail, const char *corr,
                      Drip__MatcherEvent *ev)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)task_key, strlen(task_key), h);
    char hex[17], id[ENVELOPE_ID_MAX + 1], subject[SUBJECT_MAX];
    draw_hex(h, 8, hex);
    /* msg ids are at most 64 printable chars: long tails (inspector keys) are hashed */
    if (strlen(tail) + 25 > ENVELOPE_ID_MAX) {
        unsigned char t[SHA256_DIGEST_LENGTH];
        char th[33];
        SHA256((const unsigned char *)tail, strlen(tail), t);
        draw_hex(t, 16, th);
        snprintf(id, sizeof id, "matcher-%s-%s", hex, th);
    } else {
        snprintf(id, sizeof id, "matcher-%s-%s", hex, tail);
    }
    if (subject_build(subject, sizeof subject, m->cfg.prefix, "evt.matcher", region, dept, what) !=
        DRIP_OK) {
        log_error("event.subject", "cannot build an event subject (dept %s, region %s)", dept,
                  region);
        return DRIP_EINTERNAL;
    }
    Drip__Envelope hdr;
    envelope_fill(&hdr, id, corr, "MATCHER", "000000");
    ev->header = &hdr;
    size_t len;
    uint8_t *payload = service_pack(&ev->base, &len);
    ev->header = NULL;
    if ((int64_t)len > m->cfg.max_payload) {
        log_error("event.size", "event %s is %zu bytes, over DRIP_MAX_PAYLOAD", id, len);
        free(payload);
        return DRIP_ETOOLARGE;
    }
    outbox_batch_add(b, subject, id, payload, len);
    free(payload);
    return DRIP_OK;
}
