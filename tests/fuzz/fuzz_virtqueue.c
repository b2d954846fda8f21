/*
 * libFuzzer target for the split virtqueue (src/virtio/virtqueue.c): the fuzzer plays a
 * hostile driver that controls the queue layout, the indices and all of guest RAM.
 *
 * Input: a 20-byte header, then the image of guest RAM (copied from gpa 0; the rest is 0).
 *	le16 size	queue size as the driver wrote it (invalid ones exercise virtq_init)
 *	u8   features	bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *	u8   ops	bit 0 disable notifications first, bit 1 push 0 bytes instead of all
 *	le32 desc, avail, used	guest-physical addresses of the areas
 *	le16 last_avail, used_idx	where the device's indices start
 *
 * Guest RAM is two small malloc'd regions with a gap between them (0-64 KiB and
 * 1 MiB-1 MiB+4 KiB), so ASan's redzones catch any access past a region. Every chain the
 * device takes is checked for the promises virtqueue.h makes; a broken one traps.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "log.h"
#include "memory.h"
#include "virtio/virtqueue.h"

#define HEADER_SIZE 20
#define MAX_POPS    64

static struct virtq_chain chain;

/* What virtq_pop promises about a chain it returns. */
static void check_chain(const struct guest_memory *mem, const struct virtq *q,
			const struct virtq_chain *c)
{
	uint64_t in = 0, out = 0;

	if (c->nbufs == 0 || c->nbufs > VIRTQ_MAX_CHAIN || c->head >= q->size)
		__builtin_trap();
	for (uint16_t i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		const volatile uint8_t *p = b->host;

		if (!b->host || b->host != gpa_to_host(mem, b->gpa, b->len))
			__builtin_trap();
		if (i && c->bufs[i - 1].write && !b->write)
			__builtin_trap();
		if (b->len) { /* ASan checks both ends really are RAM */
			(void)p[0];
			(void)p[b->len - 1];
		}
		if (b->write)
			in += b->len;
		else
			out += b->len;
	}
	if (in != c->in_len || out != c->out_len || in + out > UINT32_MAX)
		__builtin_trap();
}

/* A device touching the chain the way a real one does: header in, status out. */
static uint32_t use_chain(const struct virtq_chain *c)
{
	uint8_t buf[512];
	size_t n;

	n = virtq_chain_read(c, 0, buf, sizeof(buf));
	if (n > c->out_len || (n < sizeof(buf) && n != c->out_len))
		__builtin_trap();
	virtq_chain_read(c, c->out_len / 2, buf, sizeof(buf));
	n = virtq_chain_write(c, c->in_len / 3, buf, sizeof(buf));
	if (n > c->in_len)
		__builtin_trap();
	return (uint32_t)n + c->in_len / 3;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR); /* hostile rings trip warnings by design */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	struct virtq q;
	uint8_t features, ops;

	if (size < HEADER_SIZE)
		return 0;
	features = data[2];
	ops = data[3];
	fuzz_ring_memory(&mem, data + HEADER_SIZE, size - HEADER_SIZE);
	if (virtq_init(&q, &mem, le16_at(data), le32_at(data + 4), le32_at(data + 8),
		       le32_at(data + 12), features & 1, features & 2) < 0)
		return 0;
	q.last_avail = le16_at(data + 16);
	q.used_idx = le16_at(data + 18);

	if (ops & 1)
		virtq_disable_notify(&q);
	for (int i = 0; i < MAX_POPS; i++) {
		int r = virtq_pop(&q, &chain);

		if (r < 0) {
			if (!q.broken || virtq_pop(&q, &chain) != -1)
				__builtin_trap();
			break;
		}
		if (r == 0) {
			if (!virtq_enable_notify(&q))
				break;
			continue;
		}
		check_chain(&mem, &q, &chain);
		virtq_push(&q, &chain, ops & 2 ? 0 : use_chain(&chain));
		if (i % 4 == 3)
			virtq_should_notify(&q);
	}
	virtq_should_notify(&q);
	return 0;
}
