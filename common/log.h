/* log.h — JSON-lines logging to stderr: one object per line
 *   {"ts":"2026-11-23T15:04:05.123Z","level":"info","service":"registry","event":"batch.done","msg":"..."}
 * Thread-safe (one write(2) per line). The logger is process-wide state set once by log_init():
 * a daemon is one service, so this is the one deliberate global. */
#ifndef DRIP_LOG_H
#define DRIP_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* service: short daemon name; min: lowest level written. Parses "debug|info|warn|error". */
void log_init(const char *service, log_level min);
log_level log_level_parse(const char *s, log_level dflt);

/* event: dotted machine-readable name; fmt: printf-style human message (JSON-escaped on output). */
void log_write(log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

/* Escapes `s` as the inside of a JSON string into out (always NUL-terminated, truncated to cap). */
void log_json_escape(const char *s, char *out, unsigned long cap);

#endif
