/* import.h — `dripctl registry import`: CSV -> RegistryBatch pipeline with a bounded window of
 * batches in flight, and the retrying batch sender it shares with `registry retire`.
 *
 * Reliability: each batch is packed once with its own msg_id; on a time-out, "no responders"
 * (registry restarting), a lost connection, or a reply with ERR_INTERNAL the very same bytes are sent
 * again (200 ms backoff doubling to 2 s) for up to retry_for_s seconds. The registry remembers
 * processed msg_ids, so a resend returns the original reply instead of applying the batch twice.
 * Results are merged in batch order, so counts and the rejects file do not depend on timing. */
#ifndef DRIPCTL_IMPORT_H
#define DRIPCTL_IMPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "csv.h"
#include "ctl.h"
#include "drip/registry.pb-c.h"

#define IMPORT_BATCH_MAX 1000 /* records per RegistryBatch (registry.proto) */
#define IMPORT_WINDOW_MAX 64

typedef struct {
    int retry_for_s; /* give up after this long without an answer (default 120) */
    int timeout_ms;  /* per attempt */
} send_policy;

/* Sends one packed RegistryBatch on `subject` and decodes the BatchReply, retrying as described
 * above; `label` names the batch in retry notes ("batch 3 (lines 2002-3001)"). `cancel` (may be
 * NULL) stops the retries early. Returns DRIP_OK with *out set (caller frees with
 * drip__batch_reply__free_unpacked), DRIP_EBADMSG for an undecodable reply, DRIP_EFORBIDDEN for a
 * NATS permissions violation, or the last transport status once retry_for_s has passed. */
int import_send_batch(ctl_ctx *c, const char *subject, const uint8_t *data, size_t len,
                      const char *msg_id, const char *label, const send_policy *p,
                      atomic_int *cancel, Drip__BatchReply **out);

typedef struct {
    const char *kind;         /* --kind word */
    const char *path;         /* CSV file */
    csv_encoding encoding;
    const char *rejects_path; /* NULL: <path>.rejects.csv */
    int batch;                /* 1..IMPORT_BATCH_MAX */
    int window;               /* 1..IMPORT_WINDOW_MAX */
    int strict;
    int progress;             /* force progress lines (else only when stderr is a tty) */
    int64_t max_payload;      /* bytes per message (DRIP_MAX_PAYLOAD, default 4 MiB) */
    send_policy send;
} import_options;

/* Runs an import with the identity and connection of `c` (connects if needed). Prints the summary
 * on stdout and returns the process exit status (CTL_EXIT_*). */
int import_run(ctl_ctx *c, const import_options *o);

#endif
