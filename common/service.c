/* service.c — see service.h. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regproj.h"
#include "status.h"

int service_is_operator(const char *list, const char *dept)
{
    size_t n = strlen(dept);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, dept, n)) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int service_sender_check(PGconn *c, const char *operators, const subject_parts *sp, char *why,
                         size_t cap)
{
    if (service_is_operator(operators, sp->dept)) {
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

uint8_t *service_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = malloc(*len ? *len : 1);
    if (!p) abort();
    protobuf_c_message_pack(msg, p);
    return p;
}

char *service_strdup(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

int32_t service_day_cst(int64_t ms)
{
    int64_t t = ms + 8LL * 3600 * 1000;
    int64_t d = t / 86400000LL;
    if (t % 86400000LL < 0) d--;
    return (int32_t)d;
}
