/* subject.h — the NATS subject scheme (README "Subject scheme").
 *
 *   <prefix>.reg.cmd.PP.CC.DD.<DEPT>.<kind>        registry change batches (request/reply)
 *   <prefix>.reg.qry.PP.CC.DD.<DEPT>.<verb>        registry queries (request/reply)
 *   <prefix>.evt.<service>.PP.CC.DD.<DEPT>.<kind>  events (JetStream stream <PREFIX>_<SERVICE>)
 *
 * PP.CC.DD is the sender's 6-digit region split in pairs, so wildcards follow province -> city ->
 * district ("drip.reg.cmd.13.>" is all of Hebei) and a department's credentials can be confined to
 * "drip.reg.cmd.13.01.02.130102SCJ.>". <prefix> is "drip" in production (DRIP_PREFIX); tests use
 * their own so that several worlds share one nats-server. */
#ifndef DRIP_SUBJECT_H
#define DRIP_SUBJECT_H

#include <stddef.h>

#define SUBJECT_MAX 256

/* Builds "<prefix>.<area>.PP.CC.DD.<dept>.<last>" (area e.g. "reg.cmd", "evt.registry").
 * Returns DRIP_OK or DRIP_EVALUE when it does not fit or a token is invalid. */
int subject_build(char *out, size_t cap, const char *prefix, const char *area, const char *region,
                  const char *dept, const char *last);

/* Parsed form of a subject built by subject_build. Pointers into `buf`. */
typedef struct {
    char buf[SUBJECT_MAX];
    char region[7]; /* "130102" */
    const char *dept;
    const char *last;
} subject_parts;

/* Parses `subject` given the number of tokens of prefix+area (e.g. "drip.reg.cmd" = 3).
 * Returns DRIP_OK or DRIP_EENVELOPE. */
int subject_parse(const char *subject, int head_tokens, subject_parts *p);

/* Stream name for a service: "<PREFIX uppercased>_<SERVICE uppercased>", e.g. DRIP_REGISTRY. */
void subject_stream_name(char *out, size_t cap, const char *prefix, const char *service);

#endif
