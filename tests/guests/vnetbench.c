/*
 * vnetbench: a virtio-net PCI driver whose loops run in ring 3, for bench/ (the VMM's packet
 * path without a guest kernel in the way) and as a check of the device from a driver that is
 * not Linux. Set-up as vblkbench (lib/virtio.c): features VERSION_1, MAC and EVENT_IDX (no
 * offloads, no mergeable buffers); receive queue 0, transmit queue 1, polled, no interrupts.
 *
 * Frames carry the IEEE "local experimental" EtherTypes, which the host's stack drops at
 * once: the flood uses 0x88B6, which nobody listens to, and the echo requests 0x88B5, which
 * the host end (bench/tools/tap_echo.c, on an AF_PACKET socket at the tap) sends back with
 * the MAC addresses swapped. Payload byte 0 is 'S' or 'E', bytes 1-8 a sequence number.
 *
 * Figures, each run for ms= milliseconds, one line each:
 *   "vnetbench: tx size <frame bytes> <n> frames <MB/s x100> MB/s*100 <pps> pps"
 *       every transmit slot kept in flight (0x88B6 frames of size= bytes, default 1514);
 *   "vnetbench: rtt size 60 <n> round trips <ns> ns"
 *       one 'E' frame at a time, waiting for its echo: transmit and receive paths together.
 * Checks: every frame sent completed, every echo came back intact and in order (frames that
 * are not ours, e.g. the host's IPv6 neighbour discovery, are counted and recycled).
 *
 * cmdline: ms=1000 size=1514 tsc_khz=K (else calibrated) only=tx|rtt stall_ms=5000
 */
#include "guest.h"
#include "virtio.h"

#define F_NET_MAC      5
#define NET_HDR_LEN    12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define ETHERTYPE_ECHO 0x88b5
#define ETHERTYPE_SINK 0x88b6
#define ETH_HLEN       14
#define FRAME_MIN      60
#define FRAME_MAX      1514
#define BUF_LEN	       2048 /* header + the largest frame, without mergeable buffers */
#define QSIZE	       256

static struct virtio_dev dev;
static struct vq rxq ALIGNED(4096), txq ALIGNED(4096);
static uint8_t rx_bufs[QSIZE][BUF_LEN] ALIGNED(4096);
static uint8_t tx_bufs[QSIZE][BUF_LEN] ALIGNED(4096);
static uint8_t mac[6];
/* Any locally administered address: tap_echo answers whatever the frame says. */
static const uint8_t host_mac[6] = {0x02, 0x6b, 0x62, 0x78, 0x00, 0x01};

static struct {
	uint64_t khz, stall_ms; /* a transmit or an echo that takes longer is a failure */
	uint64_t tx_done, tx_bad, rx_ours, rx_other, rx_bad;
	bool stalled;
} st;

/* ---- set-up, ring 0 ---- */

static bool find_device(void)
{
	if (!virtio_pci_find(&dev, VIRTIO_ID_NET))
		return false;
	if (!virtio_negotiate(&dev, 1ul << VIRTIO_F_EVENT_IDX | 1ul << F_NET_MAC) ||
	    !vq_setup(&dev, &rxq, 0, QSIZE) || !vq_setup(&dev, &txq, 1, QSIZE)) {
		report(false, "virtio set-up: status handshake, VERSION_1, queues 0 and 1");
		return false;
	}
	if (dev.features & 1ul << F_NET_MAC)
		for (int i = 0; i < 6; i++)
			mac[i] = virtio_cfg_read8(&dev, (uint32_t)i);
	/* Every receive buffer is posted before the device may use the queue. */
	for (uint16_t i = 0; i < rxq.size; i++) {
		rxq.desc[i] =
		    (struct vring_desc){(uint64_t)rx_bufs[i], BUF_LEN, VIRTQ_DESC_F_WRITE, 0};
		vq_add(&rxq, i);
	}
	virtio_driver_ok(&dev);
	vq_publish(&rxq);
	report(true,
	       "virtio-net at 00:%02x.0, queues %u/%u, features 0x%lx, MAC "
	       "%02x:%02x:%02x:%02x:%02x:%02x",
	       dev.slot, rxq.size, txq.size, dev.features, mac[0], mac[1], mac[2], mac[3], mac[4],
	       mac[5]);
	return true;
}

/* ---- ring 3 ---- */

static uint16_t tx_free[QSIZE]; /* transmit slots (one descriptor each) not in flight */
static unsigned tx_nfree;

/* Queues a frame of len bytes of the given kind ('S' sink, 'E' echo) and sequence number. */
static void tx_send(uint32_t len, uint8_t kind, uint64_t seq)
{
	uint16_t type = kind == 'E' ? ETHERTYPE_ECHO : ETHERTYPE_SINK;
	uint16_t s = tx_free[--tx_nfree];
	uint8_t *b = tx_bufs[s], *f = b + NET_HDR_LEN;

	memset(b, 0, NET_HDR_LEN); /* no offloads */
	memcpy(f, host_mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	f[ETH_HLEN] = kind;
	memcpy(f + ETH_HLEN + 1, &seq, sizeof(seq));
	txq.desc[s] = (struct vring_desc){(uint64_t)b, NET_HDR_LEN + len, 0, 0};
	vq_add(&txq, s);
}

/* Takes back every completed transmit slot; returns how many. */
static unsigned tx_reclaim(void)
{
	uint32_t id, len;
	unsigned n = 0;

	while (vq_poll(&txq, &id, &len)) {
		if (id < txq.size && tx_nfree < txq.size) {
			tx_free[tx_nfree++] = (uint16_t)id;
			st.tx_done++;
		} else {
			st.tx_bad++;
		}
		n++;
	}
	return n;
}

struct job {
	uint32_t len;
	uint64_t ms;
	uint64_t done; /* out: frames sent, or round trips */
};

/* Keeps every transmit slot in flight for ms, then waits for all of them to come back. */
static uint64_t tx_flood(void *arg)
{
	struct job *j = arg;
	uint64_t start = rdtsc(), end = start + j->ms * st.khz, last = start, seq = 0,
		 before = st.tx_done;

	for (;;) {
		uint64_t now = rdtsc();

		if (now < end)
			while (tx_nfree)
				tx_send(j->len, 'S', seq++);
		if (vq_unpublished(&txq))
			vq_publish(&txq);
		if (now >= end && tx_nfree == txq.size)
			break;
		if (tx_reclaim()) {
			last = now;
		} else if (now - last > st.stall_ms * st.khz) {
			st.stalled = true;
			break;
		} else {
			pause();
		}
	}
	j->done = st.tx_done - before;
	return rdtsc() - start;
}

/* Takes the next received frame; true if it is the echo of seq. Recycles its buffer. */
static bool rx_echo(uint64_t seq)
{
	uint32_t id, len;
	bool ours = false;

	if (!vq_poll(&rxq, &id, &len))
		return false;
	if (id >= rxq.size) {
		st.rx_bad++;
		return false;
	}
	const uint8_t *f = rx_bufs[id] + NET_HDR_LEN;
	if (len < NET_HDR_LEN + ETH_HLEN || f[12] != ETHERTYPE_ECHO >> 8 ||
	    f[13] != (ETHERTYPE_ECHO & 0xff))
		st.rx_other++;
	else if (len >= NET_HDR_LEN + FRAME_MIN && f[ETH_HLEN] == 'E' &&
		 !memcmp(f + ETH_HLEN + 1, &seq, sizeof(seq)) && !memcmp(f, mac, 6))
		ours = true;
	else
		st.rx_bad++;
	st.rx_ours += ours;
	vq_add(&rxq, (uint16_t)id);
	vq_publish(&rxq);
	return ours;
}

/* One echo frame at a time, for ms: transmit and receive paths and the host's echo. */
static uint64_t round_trips(void *arg)
{
	struct job *j = arg;
	uint64_t start = rdtsc(), end = start + j->ms * st.khz, seq = 0;

	while (rdtsc() < end) {
		uint64_t sent = rdtsc();

		while (!tx_nfree && !tx_reclaim())
			if (rdtsc() - sent > st.stall_ms * st.khz) {
				st.stalled = true;
				return rdtsc() - start;
			}
		tx_send(FRAME_MIN, 'E', seq);
		vq_publish(&txq);
		while (!rx_echo(seq)) {
			tx_reclaim();
			if (rdtsc() - sent > st.stall_ms * st.khz) {
				st.stalled = true;
				return rdtsc() - start;
			}
		}
		seq++;
	}
	j->done = seq;
	return rdtsc() - start;
}

int main(void)
{
	uint64_t ms = 1000, size = FRAME_MAX;
	bool tx = !cmdline_has("only=rtt"), rtt = !cmdline_has("only=tx");

	cmdline_u64("ms", &ms);
	cmdline_u64("size", &size);
	st.stall_ms = 5000;
	cmdline_u64("stall_ms", &st.stall_ms);
	if (!cmdline_u64("tsc_khz", &st.khz))
		st.khz = tsc_khz();
	if (!st.khz || size < FRAME_MIN || size > FRAME_MAX)
		abort_test("tsc_khz= must be at least 1, size= within %u-%u", FRAME_MIN, FRAME_MAX);
	if (!find_device())
		return 0;
	for (uint16_t s = 0; s < txq.size; s++)
		tx_free[tx_nfree++] = s;

	if (tx) {
		struct job j = {(uint32_t)size, ms, 0};
		uint64_t us = run_user(tx_flood, &j, false) * 1000 / st.khz;

		if (!us)
			us = 1;
		printf("vnetbench: tx size %lu %lu frames %lu MB/s*100 %lu pps\n", size, j.done,
		       j.done * size * 100 / us, j.done * 1000000 / us);
		report(!st.stalled && j.done > 0 && st.tx_bad == 0,
		       "tx: %lu frames sent, every one completed", j.done);
	}
	if (rtt && !st.stalled) {
		struct job j = {FRAME_MIN, ms, 0};
		uint64_t ns = run_user(round_trips, &j, false) * 1000000 / st.khz;

		printf("vnetbench: rtt size %u %lu round trips %lu ns\n", FRAME_MIN, j.done,
		       j.done ? ns / j.done : 0);
		report(!st.stalled && j.done > 0 && st.rx_bad == 0,
		       "rtt: %lu echoes came back in order (%lu other frames, %lu bad)", j.done,
		       st.rx_other, st.rx_bad);
	}
	return 0;
}
