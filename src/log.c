#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_WARN;
static int raw_terminal;

void log_set_raw_terminal(int raw)
{
	raw_terminal = raw;
}
const char *log_eol(void)
{
	return raw_terminal ? "\r\n" : "\n";
}

void log_set_level(enum log_level level)
{
	current_level = level;
}
enum log_level log_get_level(void)
{
	return current_level;
}

/* One fprintf per message so lines from different threads do not interleave. */
static void log_vprint(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "kvmbox: %s%s: %s%s", prefix, msg, strerror(errnum), log_eol());
	else
		fprintf(stderr, "kvmbox: %s%s%s", prefix, msg, log_eol());
}

#define LOG_BODY(level, prefix, errnum)                                                            \
	do {                                                                                       \
		va_list ap;                                                                        \
		if (current_level < (level))                                                       \
			break;                                                                     \
		va_start(ap, fmt);                                                                 \
		log_vprint(prefix, errnum, fmt, ap);                                               \
		va_end(ap);                                                                        \
	} while (0)

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double start_ms;

void log_mark_start(void)
{
	/* A benchmark launcher may pass the CLOCK_MONOTONIC time just before its execve(). */
	const char *exec_ns = getenv("KVMBOX_EXEC_NS");

	start_ms = exec_ns ? strtoull(exec_ns, NULL, 10) / 1e6 : monotonic_ms();
}

double log_elapsed_ms(void)
{
	return monotonic_ms() - start_ms;
}

void log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_WARN, "warning: ", e);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARN, "warning: ", 0);
}
void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "", 0);
}
void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, "debug: ", 0);
}

int log_error(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_ERROR, "", e);
	return -1;
}

int log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERROR, "", 0);
	return -1;
}

void fatal(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_ERROR, "", e);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERROR, "", 0);
	exit(1);
}
