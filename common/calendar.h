/* calendar.h — working days under the official schedule (holidays + make-up workdays).
 * Weekdays are working days and Saturdays/Sundays are off unless the loaded schedule says otherwise.
 * A computation that needs a year whose schedule is not loaded fails with DRIP_ENOTFOUND and names
 * the year ("calendar for 2027 not loaded"): never guess. */
#ifndef DRIP_CALENDAR_H
#define DRIP_CALENDAR_H

#include <stdint.h>

typedef struct calendar calendar;

calendar *calendar_create(void);
void calendar_destroy(calendar *c);

/* Marks `year` as loaded (its schedule may be empty). */
int calendar_add_year(calendar *c, int year);
/* Adds an exception day: off = 1 (holiday), off = 0 (make-up workday). Date in days since epoch.
 * Does not mark its year loaded: a schedule is complete only when calendar_add_year says so. */
int calendar_add_day(calendar *c, int32_t day, int off);
/* Loads data/cn-holidays.csv (date,name,kind with kind off|workday) and marks every year that has
 * at least one entry as loaded. Returns the number of rows loaded or a negative status. */
int calendar_load_csv(calendar *c, const char *path);
int calendar_has_year(const calendar *c, int year);

/* 1 if `day` is a working day, 0 if not, DRIP_ENOTFOUND if its year is not loaded. */
int calendar_is_workday(const calendar *c, int32_t day);
/* The date `n` working days after `start` (start itself not counted; n >= 0; n = 0 returns start).
 * On DRIP_ENOTFOUND, why names the missing year. */
int calendar_add_workdays(const calendar *c, int32_t start, int n, int32_t *out, char why[128]);
/* Number of working days in (from, to]; negative when to < from. */
int calendar_workdays_between(const calendar *c, int32_t from, int32_t to, int *out, char why[128]);

#endif
