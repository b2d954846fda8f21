/*
 * Helpers shared by the libFuzzer targets in this directory: a reader that takes typed values
 * off the front of the input (zeros once it runs dry, so every input is a valid program), a
 * property check that traps, a fake interrupt line that records what a device drives, and
 * fake guest RAM for the virtqueue targets.
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
#include "memory.h"

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

/* Little-endian loads from fuzz input. */
static inline uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)le16_at(p) | (uint32_t)le16_at(p + 2) << 16;
}

/*
 * Fake guest RAM for the ring targets: 64 KiB at 0 and 4 KiB at 1 MiB (two regions, so a
 * buffer can run off the end of one), filled from img (zeroes after it). Allocated once.
 */
#define FUZZ_RAM0_GPA  0x0ULL
#define FUZZ_RAM0_SIZE 0x10000ULL
#define FUZZ_RAM1_GPA  0x100000ULL
#define FUZZ_RAM1_SIZE 0x1000ULL

static inline void fuzz_ring_memory(struct guest_memory *mem, const uint8_t *img, size_t len)
{
	static uint8_t *ram0, *ram1;
	size_t n0 = len < FUZZ_RAM0_SIZE ? len : FUZZ_RAM0_SIZE;
	size_t n1 = len - n0 < FUZZ_RAM1_SIZE ? len - n0 : FUZZ_RAM1_SIZE;

	if (!ram0) {
		ram0 = malloc(FUZZ_RAM0_SIZE);
		ram1 = malloc(FUZZ_RAM1_SIZE);
		if (!ram0 || !ram1)
			abort();
	}
	memset(ram0, 0, FUZZ_RAM0_SIZE);
	memset(ram1, 0, FUZZ_RAM1_SIZE);
	memcpy(ram0, img, n0);
	memcpy(ram1, img + n0, n1);
	memset(mem, 0, sizeof(*mem));
	mem->base = ram0;
	mem->size = FUZZ_RAM0_SIZE + FUZZ_RAM1_SIZE;
	mem->nregions = 2;
	mem->regions[0] =
	    (struct mem_region){.gpa = FUZZ_RAM0_GPA, .size = FUZZ_RAM0_SIZE, .host = ram0};
	mem->regions[1] =
	    (struct mem_region){.gpa = FUZZ_RAM1_GPA, .size = FUZZ_RAM1_SIZE, .host = ram1};
	mem->low_end = FUZZ_RAM1_GPA + FUZZ_RAM1_SIZE;
}

#endif
