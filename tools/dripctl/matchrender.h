/* matchrender.h — drip-matcher messages (proto/drip/matcher.proto) as JSON and as text for people.
 *
 * JSON as in planrender.h: proto field names, enums as words (source local|parent|neighbour|direct,
 * role member|expert, exclusion reason recused|rotation, methods as in vocab.h; the number when
 * this build does not know a value), absent optional fields null, and "<field without _ms>" ISO
 * 8601 (CST) next to every *_ms time. `match show --json` writes {"run": MatchRun, "forms":
 * [Form, ...]}, the input of `match verify --record`. */
#ifndef DRIPCTL_MATCHRENDER_H
#define DRIPCTL_MATCHRENDER_H

#include <stdio.h>

#include "drip/matcher.pb-c.h"
#include "json.h"

void render_match_run_json(json_writer *w, const Drip__MatchRun *r);
void render_match_form_json(json_writer *w, const Drip__Form *f);
void render_match_report_json(json_writer *w, const Drip__MatchReport *r);

/* Text: the run with its per-department pools (match show), one form, the fairness report. */
void render_match_run_text(FILE *f, const Drip__MatchRun *r);
void render_match_form_text(FILE *f, const Drip__Form *form);
void render_match_report_text(FILE *f, const Drip__MatchReport *r);

/* Enum words (NULL for values this build does not know) and their inverse: the word or a decimal
 * number -> value (DRIP_OK or DRIP_EVALUE). */
const char *match_source_word(int v);
const char *match_role_word(int v);
const char *match_reason_word(int v);
int match_source_parse(const char *s, int *v);
int match_role_parse(const char *s, int *v);
int match_reason_parse(const char *s, int *v);

#endif
