/* envelope.h — filling and checking drip.Envelope (proto/drip/common.proto). */
#ifndef DRIP_ENVELOPE_H
#define DRIP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "drip/common.pb-c.h"

#define ENVELOPE_ID_MAX 64
#define ENVELOPE_SCHEMA_VERSION 1

/* A random UUIDv4 string (out[37]) from getrandom(2). */
void envelope_new_id(char out[37]);
/* Current time, Unix epoch milliseconds. */
int64_t envelope_now_ms(void);

/* Initialises `e` (Drip__Envelope__INIT) pointing at the given strings (not copied; any may be
 * NULL), sent_at = now, schema_version = 1. */
void envelope_fill(Drip__Envelope *e, const char *msg_id, const char *correlation_id,
                   const char *dept, const char *region);

/* Checks an incoming envelope against the subject it arrived on: msg_id present and 1..64
 * printable ASCII, dept and region equal to the subject's, schema_version 0 or 1 (0 = unset).
 * Returns DRIP_OK or DRIP_EENVELOPE with a specific reason in why. */
int envelope_check(const Drip__Envelope *e, const char *subject_dept, const char *subject_region,
                   char *why, size_t cap);

#endif
