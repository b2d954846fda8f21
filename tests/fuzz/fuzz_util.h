/*
 * Helpers shared by the libFuzzer targets in this directory: a reader that takes typed values
 * off the front of the input (zeros once it runs dry, so every input is a valid program), a
 * property check that traps, and a fake interrupt line that records what a device drives.
 */
#ifndef KVMBOX_TESTS_FUZZ_UTIL_H
#define KVMBOX_TESTS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A violated property is a bug like a sanitizer report: say which one on fd 2 (not through
 * stdio, which a target may have silenced) and trap, so libFuzzer keeps the input.
 */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(2, "%s:%d: property violated: %s: ", __FILE__, __LINE__, #cond);   \
			dprintf(2, __VA_ARGS__);                                                   \
			dprintf(2, "\n");                                                          \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

struct fuzz_reader {
	const uint8_t *p;
	size_t left;
};

static inline struct fuzz_reader fuzz_reader(const uint8_t *data, size_t size)
{
	return (struct fuzz_reader){data, size};
}

static inline bool fuzz_more(const struct fuzz_reader *r)
{
	return r->left > 0;
}

/* Copies up to n bytes into dst, zero-filling what the input no longer has. */
static inline void fuzz_bytes(struct fuzz_reader *r, void *dst, size_t n)
{
	size_t k = n < r->left ? n : r->left;

	memcpy(dst, r->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	r->p += k;
	r->left -= k;
}

static inline uint8_t fuzz_u8(struct fuzz_reader *r)
{
	uint8_t v;

	fuzz_bytes(r, &v, sizeof(v));
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_reader *r)
{
	uint8_t b[2];

	fuzz_bytes(r, b, sizeof(b));
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_reader *r)
{
	return fuzz_u16(r) | (uint32_t)fuzz_u16(r) << 16;
}

static inline uint64_t fuzz_u64(struct fuzz_reader *r)
{
	return fuzz_u32(r) | (uint64_t)fuzz_u32(r) << 32;
}

static inline bool fuzz_all_zero(const uint8_t *p, uint64_t n)
{
	static const uint8_t zeros[4096];

	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		if (memcmp(p, zeros, k))
			return false;
		p += k;
		n -= k;
	}
	return true;
}

/*
 * kvmbox logs its refusals of bad input on stderr (and --help on stdout); at thousands of
 * inputs a second that is slow and buries libFuzzer's own lines. Point the stdio streams at
 * /dev/null but leave file descriptors 1 and 2 alone: libFuzzer's status lines, its final
 * stats and the sanitizers' reports are written there and must stay visible (a dup2() over
 * fd 2 would hide them, and run-fuzz.sh reads them). FUZZ_VERBOSE=1 keeps kvmbox's output,
 * for reproducing a crash. Call from LLVMFuzzerInitialize.
 */
static inline void fuzz_silence_stdio(void)
{
	FILE *null;

	if (getenv("FUZZ_VERBOSE"))
		return;
	null = fopen("/dev/null", "w");
	if (!null)
		abort();
	stdout = null; /* glibc: stdin/stdout/stderr are plain variables */
	stderr = null;
}

/* An access width as the bus hands them to devices (1..8), biased to what PIO does. */
static inline uint32_t fuzz_width(struct fuzz_reader *r)
{
	static const uint8_t widths[8] = {1, 1, 1, 2, 2, 4, 4, 8};
	uint8_t b = fuzz_u8(r);

	/* Mostly 1/2/4/8; now and then any other width the bus allows (3, 5, 6, 7). */
	return b & 0x80 ? 1 + (b & 7) : widths[b & 7];
}

/*
 * An interrupt line that records the level a device drives and checks it is 0 or 1 (and, for
 * a device that promises to drive only changes, that it is a change).
 */
struct fuzz_irq {
	struct irq_line line;
	bool changes_only;
	int level;
	unsigned long changes;
};

static inline void fuzz_irq_set_level(void *ctx, uint32_t gsi, int level)
{
	struct fuzz_irq *irq = ctx;

	FUZZ_CHECK(level == 0 || level == 1, "gsi %u driven to %d", gsi, level);
	FUZZ_CHECK(!irq->changes_only || level != irq->level, "gsi %u driven to %d again", gsi,
		   level);
	irq->level = level;
	irq->changes++;
}

static inline void fuzz_irq_init(struct fuzz_irq *irq, uint32_t gsi, bool changes_only)
{
	*irq = (struct fuzz_irq){
	    .line = {.set_level = fuzz_irq_set_level, .ctx = irq, .gsi = gsi},
	    .changes_only = changes_only,
	};
}

#endif
