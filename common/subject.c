#include "subject.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "status.h"

/* A token may not be empty or contain separators/wildcards/whitespace. */
static int token_ok(const char *t)
{
    if (!t || !*t) return 0;
    for (; *t; t++)
        if (*t == '.' || *t == '*' || *t == '>' || isspace((unsigned char)*t)) return 0;
    return 1;
}

int subject_build(char *out, size_t cap, const char *prefix, const char *area, const char *region,
                  const char *dept, const char *last)
{
    if (!prefix || !area || !region || strlen(region) != 6 || !token_ok(dept) || !token_ok(last))
        return DRIP_EVALUE;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)region[i])) return DRIP_EVALUE;
    int n = snprintf(out, cap, "%s.%s.%.2s.%.2s.%.2s.%s.%s", prefix, area, region, region + 2,
                     region + 4, dept, last);
    return (n < 0 || (size_t)n >= cap) ? DRIP_EVALUE : DRIP_OK;
}

int subject_parse(const char *subject, int head_tokens, subject_parts *p)
{
    size_t len = strlen(subject);
    if (len >= sizeof(p->buf)) return DRIP_EENVELOPE;
    memcpy(p->buf, subject, len + 1);
    char *tok[16];
    int n = 0;
    for (char *s = p->buf; n < 16;) {
        tok[n++] = s;
        char *dot = strchr(s, '.');
        if (!dot) break;
        *dot = '\0';
        s = dot + 1;
    }
    if (n != head_tokens + 5) return DRIP_EENVELOPE;
    char **r = tok + head_tokens;
    for (int i = 0; i < 3; i++) {
        if (strlen(r[i]) != 2 || !isdigit((unsigned char)r[i][0]) ||
            !isdigit((unsigned char)r[i][1]))
            return DRIP_EENVELOPE;
        memcpy(p->region + 2 * i, r[i], 2);
    }
    p->region[6] = '\0';
    p->dept = r[3];
    p->last = r[4];
    if (!*p->dept || !*p->last) return DRIP_EENVELOPE;
    return DRIP_OK;
}

void subject_stream_name(char *out, size_t cap, const char *prefix, const char *service)
{
    size_t i = 0;
    for (const char *s = prefix; *s && i + 1 < cap; s++)
        out[i++] = (char)(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_');
    if (i + 1 < cap) out[i++] = '_';
    for (const char *s = service; *s && i + 1 < cap; s++)
        out[i++] = (char)(isalnum((unsigned char)*s) ? toupper((unsigned char)*s) : '_');
    out[i] = '\0';
}
