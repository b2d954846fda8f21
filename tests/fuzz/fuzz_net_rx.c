/*
 * libFuzzer target for virtio-net's receive path (net_rx_packet in src/virtio/net.c): the
 * fuzzer plays a hostile driver that controls the receive queue's layout and all of guest
 * RAM, including buffers too small for a packet, read-only "receive" buffers, overlapping
 * buffers and broken rings, with and without mergeable receive buffers.
 *
 * Input: a 20-byte header, then the image of guest RAM (copied from gpa 0; the rest is 0).
 *	le16 size	queue size as the driver wrote it
 *	u8   features	bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 MRG_RXBUF
 *	u8   packets	how many packets arrive from the tap (1 + packets % 8)
 *	le16 length	each packet's length (12-byte header included), 1 + length % 65550
 *	le16 unused
 *	le32 desc, avail, used	guest-physical addresses of the ring areas
 *
 * Properties, per packet:
 *  - delivered: used->idx moves by the chains taken (one without MRG_RXBUF), whose lengths
 *    add up to the packet (or, without MRG_RXBUF, to what the one chain could hold) unless
 *    the driver put buffers on the rings;
 *  - no buffers: nothing is published and every chain is handed back; with nothing new from
 *    the driver, asking to be notified for more must not report more (the old receive loop
 *    spun forever on that);
 *  - broken: nothing is published.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "log.h"
#include "memory.h"
#include "virtio/net.h"
#include "virtio/virtqueue.h"

#define HEADER_SIZE	 20
#define MAX_PACKET_BYTES (65535 + 14 + 1)

static uint8_t packet[MAX_PACKET_BYTES];
static struct virtq_chain first, chain;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR); /* hostile rings trip warnings by design */
	for (size_t i = 0; i < sizeof(packet); i++)
		packet[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

static uint16_t used_idx_in_ram(const struct virtq *q)
{
	return le16_at(q->used + 2);
}

/* The written lengths of n used entries from idx on, added up. */
static uint64_t used_lengths(const struct virtq *q, uint16_t idx, uint16_t n)
{
	uint64_t sum = 0;

	for (uint16_t i = 0; i < n; i++)
		sum += le32_at(q->used + 4 + 8 * (uint32_t)((uint16_t)(idx + i) % q->size) + 4);
	return sum;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Can a packet land on the rings? A driver may put receive buffers on the used ring or the
 * descriptor table; then the copied bytes overwrite the lengths kvmbox wrote or the chains it
 * has yet to read, and only the driver is to blame. Checked before each packet.
 */
static bool buffers_may_hit_rings(const struct virtq *q, const uint8_t *hdr)
{
	uint64_t desc = le32_at(hdr + 8), used = le32_at(hdr + 16);

	if (q->indirect)
		return true; /* not worth following here */
	for (uint16_t i = 0; i < q->size; i++) {
		const uint8_t *d = q->desc + 16 * (uint32_t)i;
		uint64_t addr = le32_at(d) | (uint64_t)le32_at(d + 4) << 32, len = le32_at(d + 8);
		if (overlaps(addr, len, used, 6 + 8 * (uint64_t)q->size) ||
		    overlaps(addr, len, desc, 16 * (uint64_t)q->size))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	struct virtq q;
	uint8_t features;
	bool mrg;
	int packets;
	size_t len;

	if (size < HEADER_SIZE)
		return 0;
	features = data[2];
	mrg = features & 4;
	packets = 1 + data[3] % 8;
	len = 1 + le16_at(data + 4) % (MAX_PACKET_BYTES - 1);
	fuzz_ring_memory(&mem, data + HEADER_SIZE, size - HEADER_SIZE);
	if (virtq_init(&q, &mem, le16_at(data), le32_at(data + 8), le32_at(data + 12),
		       le32_at(data + 16), features & 1, features & 2) < 0)
		return 0;

	for (int p = 0; p < packets; p++) {
		uint16_t last_avail = q.last_avail, before = q.used_idx;
		bool aliased = buffers_may_hit_rings(&q, data);
		enum net_rx_result r = net_rx_packet(&q, mrg, packet, len, &first, &chain);
		uint16_t taken = (uint16_t)(q.used_idx - before);

		switch (r) {
		case NET_RX_DELIVERED:
			FUZZ_CHECK(taken >= 1 && (mrg || taken == 1), "%u chains for one packet",
				   taken);
			FUZZ_CHECK(used_idx_in_ram(&q) == q.used_idx, "used->idx not published");
			FUZZ_CHECK(aliased ||
				       used_lengths(&q, before, taken) ==
					   (mrg ? len : (len < first.in_len ? len : first.in_len)),
				   "used lengths add up to %llu for a %zu-byte packet",
				   (unsigned long long)used_lengths(&q, before, taken), len);
			break;
		case NET_RX_NO_BUFFERS:
			FUZZ_CHECK(taken == 0 && q.last_avail == last_avail,
				   "a failed delivery kept %u chains", taken);
			FUZZ_CHECK(!virtq_enable_notify_for_more(&q),
				   "more buffers reported where the driver added none");
			return 0;
		case NET_RX_BROKEN:
			FUZZ_CHECK(taken == 0, "a broken delivery published %u chains", taken);
			return 0;
		}
	}
	return 0;
}
