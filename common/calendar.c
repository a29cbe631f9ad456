/* calendar.c — working days under the official schedule. One flag per year (loaded or not) and,
 * for years with exceptions, a 366-byte table of per-day overrides: lookups are O(1) and the whole
 * 1900..2100 range costs at most ~74 KB. */
#include "calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes.h"
#include "csv.h"
#include "status.h"

#define CAL_MIN_YEAR 1900
#define CAL_MAX_YEAR 2100
#define CAL_YEARS (CAL_MAX_YEAR - CAL_MIN_YEAR + 1)

enum { DAY_DEFAULT = 0, DAY_OFF = 1, DAY_WORK = 2 };

struct calendar {
    unsigned char loaded[CAL_YEARS];
    unsigned char *days[CAL_YEARS]; /* NULL until the year has an exception */
};

calendar *calendar_create(void)
{
    calendar *c = calloc(1, sizeof *c);
    if (!c) abort();
    return c;
}

void calendar_destroy(calendar *c)
{
    if (!c) return;
    for (int i = 0; i < CAL_YEARS; i++) free(c->days[i]);
    free(c);
}

static int year_ok(int year) { return year >= CAL_MIN_YEAR && year <= CAL_MAX_YEAR; }

int calendar_add_year(calendar *c, int year)
{
    if (!c || !year_ok(year)) return DRIP_EVALUE;
    c->loaded[year - CAL_MIN_YEAR] = 1;
    return DRIP_OK;
}

int calendar_add_day(calendar *c, int32_t day, int off)
{
    int y, m, d;
    if (!c) return DRIP_EVALUE;
    codes_date_civil(day, &y, &m, &d);
    if (!year_ok(y)) return DRIP_EVALUE;
    unsigned char **tab = &c->days[y - CAL_MIN_YEAR];
    if (!*tab) {
        *tab = calloc(366, 1);
        if (!*tab) return DRIP_ENOMEM;
    }
    (*tab)[day - codes_date_make(y, 1, 1)] = off ? DAY_OFF : DAY_WORK;
    return DRIP_OK;
}

int calendar_has_year(const calendar *c, int year)
{
    return c && year_ok(year) && c->loaded[year - CAL_MIN_YEAR];
}

int calendar_load_csv(calendar *c, const char *path)
{
    if (!c || !path) return DRIP_EVALUE;
    FILE *f = fopen(path, "rb");
    if (!f) return DRIP_EIO;
    csv_reader *r = csv_reader_create(f, CSV_ENC_AUTO);
    if (!r) {
        fclose(f);
        return DRIP_ENOMEM;
    }
    char **fl;
    int n, rows = 0, rc = DRIP_OK;
    n = csv_reader_next(r, &fl);
    if (n < 3 || strcmp(fl[0], "date") != 0 || strcmp(fl[2], "kind") != 0) {
        rc = n < 0 ? n : DRIP_EBADMSG;
        goto out;
    }
    /* Years are marked loaded only once the whole file parsed: a file that fails halfway must not
     * make a year look complete. */
    unsigned char seen[CAL_YEARS];
    memset(seen, 0, sizeof seen);
    while ((n = csv_reader_next(r, &fl)) > 0) {
        int32_t day;
        int off;
        if (n < 3 || codes_date_parse(fl[0], &day, NULL) != DRIP_OK) {
            rc = DRIP_EBADMSG;
            goto out;
        }
        if (strcmp(fl[2], "off") == 0)
            off = 1;
        else if (strcmp(fl[2], "workday") == 0)
            off = 0;
        else {
            rc = DRIP_EBADMSG;
            goto out;
        }
        rc = calendar_add_day(c, day, off);
        if (rc != DRIP_OK) goto out;
        int y;
        codes_date_civil(day, &y, NULL, NULL);
        /* A schedule may start in the previous December (2018-12-29 is part of 2019's 元旦);
         * per the data contract a year counts as loaded once any entry falls in it. */
        seen[y - CAL_MIN_YEAR] = 1;
        rows++;
    }
    if (n < 0) {
        rc = n;
        goto out;
    }
    for (int i = 0; i < CAL_YEARS; i++)
        if (seen[i]) c->loaded[i] = 1;
out:
    csv_reader_destroy(r);
    fclose(f);
    return rc == DRIP_OK ? rows : rc;
}

/* Working-day status of `day`: 1, 0, or DRIP_ENOTFOUND with *missing_year set. */
static int day_status(const calendar *c, int32_t day, int *missing_year)
{
    int y, m, d;
    codes_date_civil(day, &y, &m, &d);
    if (!calendar_has_year(c, y)) {
        *missing_year = y;
        return DRIP_ENOTFOUND;
    }
    const unsigned char *tab = c->days[y - CAL_MIN_YEAR];
    if (tab) {
        unsigned char o = tab[day - codes_date_make(y, 1, 1)];
        if (o == DAY_OFF) return 0;
        if (o == DAY_WORK) return 1;
    }
    return codes_date_weekday(day) < 5;
}

static int missing(char *why, int year)
{
    if (why) snprintf(why, 128, "calendar for %d not loaded", year);
    return DRIP_ENOTFOUND;
}

int calendar_is_workday(const calendar *c, int32_t day)
{
    int y;
    if (!c) return DRIP_EVALUE;
    return day_status(c, day, &y);
}

int calendar_add_workdays(const calendar *c, int32_t start, int n, int32_t *out, char why[128])
{
    if (why) why[0] = '\0';
    if (!c || !out || n < 0) {
        if (why) snprintf(why, 128, "invalid arguments (n = %d)", n);
        return DRIP_EVALUE;
    }
    int32_t day = start;
    while (n > 0) {
        int y, s = day_status(c, ++day, &y);
        if (s < 0) return missing(why, y);
        n -= s;
    }
    *out = day;
    return DRIP_OK;
}

int calendar_workdays_between(const calendar *c, int32_t from, int32_t to, int *out, char why[128])
{
    if (why) why[0] = '\0';
    if (!c || !out) return DRIP_EVALUE;
    int sign = 1;
    if (to < from) {
        int32_t t = from;
        from = to;
        to = t;
        sign = -1;
    }
    int count = 0;
    for (int32_t day = from + 1; day <= to; day++) {
        int y, s = day_status(c, day, &y);
        if (s < 0) return missing(why, y);
        count += s;
    }
    *out = sign * count;
    return DRIP_OK;
}
