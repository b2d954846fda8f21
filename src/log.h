/* Logging: log_warn appends strerror(errno); fatal/fatalx exit(1). */
#ifndef KVMBOX_LOG_H
#define KVMBOX_LOG_H

#include <stdnoreturn.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
/* Line ends: "\r\n" while the terminal is raw (no output processing), else "\n". */
void log_set_raw_terminal(int raw);
const char *log_eol(void);
/* Milliseconds since log_mark_start() (called first thing in main), or since the exec time
 * a launcher passed in KVMBOX_EXEC_NS (CLOCK_MONOTONIC nanoseconds). */
void log_mark_start(void);
double log_elapsed_ms(void);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs "kvmbox: <msg>: <strerror(errno)>" and returns -1 (git's error() habit). */
int log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_error without strerror. */
int log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log a guest-triggered message at most once per call site. */
#define log_once(level_fn, ...)                                                                    \
	do {                                                                                       \
		static int log_once_done_;                                                         \
		if (!__atomic_exchange_n(&log_once_done_, 1, __ATOMIC_RELAXED))                    \
			level_fn(__VA_ARGS__);                                                     \
	} while (0)

#endif
