/* Helpers shared by the unit tests: temporary files and reproducible test bytes. */
#ifndef KVMBOX_TESTS_UNIT_TEST_UTIL_H
#define KVMBOX_TESTS_UNIT_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define TEST_TEMP_PATH_MAX 64

/* Bytes with a reproducible pattern (so a failure can be reproduced); caller frees. */
static inline uint8_t *test_pattern_bytes(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 9));
	return p;
}

/* Writes data to a new file in /tmp whose name goes into path; the caller unlinks it. */
static inline const char *test_write_temp_file(char path[TEST_TEMP_PATH_MAX], const void *data,
					       size_t len)
{
	int fd;

	snprintf(path, TEST_TEMP_PATH_MAX, "/tmp/kvmbox-unit-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A loader refused its input: the reason it gave must mention why_part. */
static inline void test_assert_reason(const char *why, const char *why_part)
{
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("reason \"%s\" does not mention '%s'", why, why_part);
}

#endif
