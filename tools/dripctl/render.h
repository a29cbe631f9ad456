/* render.h — registry records as JSON (dripctl show / list --json / events dump).
 * Field names are the proto field names; enums are vocab words (vocab.h; the number when a newer
 * server sends a value this build does not know); absent optional fields are null; Change also
 * gets "valid_from", the ISO 8601 time (CST) of valid_from_ms. */
#ifndef DRIPCTL_RENDER_H
#define DRIPCTL_RENDER_H

#include "drip/registry.pb-c.h"
#include "json.h"

void render_change(json_writer *w, const Drip__Change *c);
void render_target(json_writer *w, const Drip__Target *t);
void render_inspector(json_writer *w, const Drip__Inspector *p);
void render_item(json_writer *w, const Drip__Item *it);
void render_department(json_writer *w, const Drip__Department *d);
void render_region(json_writer *w, const Drip__Region *r);
void render_calendar_year(json_writer *w, const Drip__CalendarYear *y);

#endif
