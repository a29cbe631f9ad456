/* service.h — small pieces every daemon's request handling needs, kept once: the operator list,
 * the sender check against the daemon's own projection of departments, packing a message, and
 * the China Standard Time day of an instant. */
#ifndef DRIP_SERVICE_H
#define DRIP_SERVICE_H

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "subject.h"

/* 1 when `dept` is one of the comma-separated department codes in `list`. */
int service_is_operator(const char *list, const char *dept);

/* The sender of a request (its subject's region and department): an operator sending with region
 * 000000, or a registered, active department of exactly that region, as the daemon's regproj
 * projection knows it. DRIP_OK, or a status with the reason in why (DRIP_EDEPT unknown,
 * DRIP_EFORBIDDEN wrong region / inactive / operator elsewhere, a db status). */
int service_sender_check(PGconn *c, const char *operators, const subject_parts *sp, char *why,
                         size_t cap);

/* Packs a message into a new buffer (abort on OOM; free it). */
uint8_t *service_pack(const ProtobufCMessage *msg, size_t *len);

/* strdup that aborts on OOM; NULL stays NULL. */
char *service_strdup(const char *s);

/* Date (days since 1970-01-01) in UTC+8 of a Unix time in ms. */
int32_t service_day_cst(int64_t ms);

#endif
