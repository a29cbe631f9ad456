#include "envelope.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "status.h"

void envelope_new_id(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0) got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
}

int64_t envelope_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void envelope_fill(Drip__Envelope *e, const char *msg_id, const char *correlation_id,
                   const char *dept, const char *region)
{
    drip__envelope__init(e);
    e->msg_id = (char *)msg_id;
    e->correlation_id = (char *)correlation_id;
    e->dept = (char *)dept;
    e->region = (char *)region;
    e->has_sent_at_ms = 1;
    e->sent_at_ms = envelope_now_ms();
    e->has_schema_version = 1;
    e->schema_version = ENVELOPE_SCHEMA_VERSION;
}

int envelope_check(const Drip__Envelope *e, const char *subject_dept, const char *subject_region,
                   char *why, size_t cap)
{
    if (!e) {
        snprintf(why, cap, "header: missing envelope");
        return DRIP_EENVELOPE;
    }
    size_t n = e->msg_id ? strlen(e->msg_id) : 0;
    if (n == 0 || n > ENVELOPE_ID_MAX) {
        snprintf(why, cap, "header.msg_id: must be 1..%d characters", ENVELOPE_ID_MAX);
        return DRIP_EENVELOPE;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)e->msg_id[i];
        if (c < 0x21 || c > 0x7e) {
            snprintf(why, cap, "header.msg_id: character %zu is not printable ASCII", i + 1);
            return DRIP_EENVELOPE;
        }
    }
    if (!e->dept || strcmp(e->dept, subject_dept) != 0) {
        snprintf(why, cap, "header.dept: '%.32s' does not match the subject's department '%.32s'",
                 e->dept ? e->dept : "", subject_dept);
        return DRIP_EENVELOPE;
    }
    if (!e->region || strcmp(e->region, subject_region) != 0) {
        snprintf(why, cap, "header.region: '%.8s' does not match the subject's region '%s'",
                 e->region ? e->region : "", subject_region);
        return DRIP_EENVELOPE;
    }
    if (e->has_schema_version && e->schema_version > ENVELOPE_SCHEMA_VERSION) {
        snprintf(why, cap, "header.schema_version: %u is newer than this server (%d)",
                 e->schema_version, ENVELOPE_SCHEMA_VERSION);
        return DRIP_EENVELOPE;
    }
    return DRIP_OK;
}
