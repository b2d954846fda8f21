/*
 * vblkbench: a virtio-blk PCI driver whose I/O loop runs in ring 3, for bench/ (block
 * throughput without a guest kernel in the way) and as a check of the device from a driver
 * that is not Linux.
 *
 * Ring 0 finds the first virtio-blk device on PCI bus 0 through ECAM (the MCFG's base, else
 * 0xe0000000: kvmbox and QEMU microvm,pcie=on both put it there), gives its memory BARs
 * addresses if nobody did (QEMU microvm has no firmware that does; from mmio32=, default
 * 0xc0000000, the window both VMMs route to PCI), and sets up queue 0 over the modern
 * virtio-pci interface. Ring 3, where guest code runs natively even on kvm_pvm hosts, then
 * drives the queue by polling: it writes descriptors, notifies through the notify BAR (an
 * MMIO exit that the VMM's ioeventfd takes) and spins on the used ring. No interrupts: the
 * driver keeps used_event behind itself (EVENT_IDX), or sets NO_INTERRUPT without it.
 *
 * Figures, each run for ms= milliseconds, one line each:
 *   "vblkbench: <name> bs <bytes> qd <n> <requests> requests <MB/s x100> MB/s*100 <IOPS> IOPS"
 * seq-read/seq-write (1 MiB requests, QD1, wrapping around the disk), rand-read/rand-write
 * (4 KiB, QD1 and QD qd=, uniform over the disk). Then the checks: every request ended
 * VIRTIO_BLK_S_OK, a pattern written to sectors 0-7 and flushed reads back the same (the
 * e2e test also finds it in the image file), capacity matches sectors= if given, and with
 * "stamped" every block read carries its own index (see stamp()).
 *
 * cmdline: ms=1000 qd=32 tsc_khz=K (else calibrated) sectors=N mmio32=0xc0000000 ecam=A
 *          stamped only=check (skip the timed figures)
 */
#include "guest.h"
#include "virtio.h"

#define F_BLK_RO    5
#define F_BLK_FLUSH 9
#define BLK_T_IN    0
#define BLK_T_OUT   1
#define BLK_T_FLUSH 4
#define BLK_S_OK    0

#define QSIZE_MAX 128 /* 3 descriptors a request: up to 42 in flight */
#define QD_MAX	  (QSIZE_MAX / 3)
#define SEQ_BS	  (1u << 20)
#define RAND_BS	  4096u
#define BUF_SIZE  (QD_MAX * RAND_BS > SEQ_BS ? QD_MAX * RAND_BS : SEQ_BS)

struct blk_req_header {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct virtio_dev dev;
static struct vq vq ALIGNED(4096);
static struct blk_req_header headers[QD_MAX];
static volatile uint8_t statuses[QD_MAX];
static uint8_t buf[BUF_SIZE] ALIGNED(4096);
static uint8_t check_buf[RAND_BS] ALIGNED(4096);
static uint64_t capacity; /* sectors */
static bool read_only;

/* The driver's bookkeeping (touched by ring 3). */
static struct {
	uint64_t requests, errors, bad_data;
	uint64_t sector[QD_MAX]; /* of the request in each slot */
	bool stamped;		 /* every 4 KiB block of the disk starts with its index */
} q;

/* Set-up in ring 0: features VERSION_1, and EVENT_IDX and FLUSH when offered, as Linux
 * negotiates them (without FLUSH a device may write through); queue 0. */
static bool find_device(void)
{
	if (!virtio_pci_find(&dev, VIRTIO_ID_BLK))
		return false;
	if (!virtio_negotiate(&dev,
			      1ul << VIRTIO_F_EVENT_IDX | 1ul << F_BLK_FLUSH | 1ul << F_BLK_RO) ||
	    !vq_setup(&dev, &vq, 0, QSIZE_MAX) || vq.size < 4) {
		report(false, "virtio set-up: status handshake, VERSION_1, queue 0");
		return false;
	}
	virtio_driver_ok(&dev);
	read_only = dev.features & 1ul << F_BLK_RO;
	capacity = virtio_cfg_read32(&dev, 0) | (uint64_t)virtio_cfg_read32(&dev, 4) << 32;
	report(true, "virtio-blk at 00:%02x.0, queue size %u, features 0x%lx, %lu sectors",
	       dev.slot, vq.size, dev.features, capacity);
	return true;
}

/* ---- the I/O loop, ring 3 ---- */

/*
 * With stamped= the host made every 4 KiB block start with its block index (u64): reads
 * check it, writes keep it. So a device that returned the wrong block, or nothing, fails.
 */
static void stamp(uint8_t *data, uint64_t sector, uint32_t len)
{
	for (uint32_t off = 0; off + RAND_BS <= len; off += RAND_BS)
		*(uint64_t *)(data + off) = sector / 8 + off / RAND_BS;
}

static bool stamp_ok(const uint8_t *data, uint64_t sector, uint32_t len)
{
	for (uint32_t off = 0; off + RAND_BS <= len; off += RAND_BS)
		if (*(const uint64_t *)(data + off) != sector / 8 + off / RAND_BS)
			return false;
	return true;
}

/* Slot s owns descriptors 3s (header), 3s+1 (data), 3s+2 (status). */
static void submit(unsigned s, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	headers[s] = (struct blk_req_header){.type = type, .sector = sector};
	statuses[s] = 0xff;
	q.sector[s] = sector;
	if (q.stamped && type == BLK_T_OUT)
		stamp(data, sector, len);
	vq.desc[3 * s] = (struct vring_desc){(uint64_t)&headers[s], sizeof(headers[s]),
					     VIRTQ_DESC_F_NEXT, (uint16_t)(3 * s + 1)};
	if (len) {
		vq.desc[3 * s + 1] = (struct vring_desc){
		    (uint64_t)data, len,
		    VIRTQ_DESC_F_NEXT | (type == BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0),
		    (uint16_t)(3 * s + 2)};
	} else {
		vq.desc[3 * s].next = (uint16_t)(3 * s + 2);
	}
	vq.desc[3 * s + 2] = (struct vring_desc){(uint64_t)&statuses[s], 1, VIRTQ_DESC_F_WRITE, 0};
	vq_add(&vq, (uint16_t)(3 * s));
}

/* Waits for the next completion; returns its slot, or -1 if none came within ~5 s. */
static int complete_one(uint64_t tsc_per_ms)
{
	uint64_t give_up = rdtsc() + 5000 * tsc_per_ms;
	uint32_t id, len;

	while (!vq_poll(&vq, &id, &len))
		if (rdtsc() > give_up)
			return -1;
		else
			pause();
	if (id % 3 || id / 3 >= QD_MAX)
		return -1;
	q.requests++;
	q.errors += statuses[id / 3] != BLK_S_OK;
	return (int)(id / 3);
}

/* Checks the data of a completed read in slot s (see stamp). */
static void check_read(struct vring_desc *data)
{
	if (q.stamped &&
	    !stamp_ok((const uint8_t *)data->addr, q.sector[(data - vq.desc) / 3], data->len))
		q.bad_data++;
}

struct job {
	uint32_t type, bs, qd;
	bool random;
	uint64_t tsc_per_ms, ms;
	uint64_t done; /* out: requests completed */
	bool stalled;  /* out: a completion did not come */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ul;

static uint64_t next_sector(struct job *j, uint64_t *seq)
{
	uint64_t blocks = capacity * 512 / j->bs, b;

	if (j->random) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		b = rng_state % blocks;
	} else {
		b = (*seq)++ % blocks;
	}
	return b * (j->bs / 512);
}

static uint64_t run_job(void *arg)
{
	struct job *j = arg;
	uint64_t seq = 0, start = rdtsc(), end = start + j->ms * j->tsc_per_ms, before = q.requests;
	unsigned inflight = 0;

	for (unsigned s = 0; s < j->qd; s++, inflight++)
		submit(s, j->type, next_sector(j, &seq), buf + s * j->bs, j->bs);
	vq_publish(&vq);
	while (inflight) {
		int s = complete_one(j->tsc_per_ms);
		if (s < 0) {
			j->stalled = true;
			break;
		}
		inflight--;
		if (j->type == BLK_T_IN)
			check_read(&vq.desc[3 * s + 1]);
		if (rdtsc() < end) {
			submit((unsigned)s, j->type, next_sector(j, &seq), buf + s * j->bs, j->bs);
			inflight++;
		}
		/* Batch: refill every slot that completed, then publish them together. */
		if (vq_unpublished(&vq) && !vq_has_used(&vq))
			vq_publish(&vq);
	}
	j->done = q.requests - before;
	return rdtsc() - start;
}

/* One request of any type, waited for (ring 3). */
struct one_req {
	uint32_t type;
	uint64_t sector;
	void *data;
	uint32_t len;
	uint64_t tsc_per_ms;
	uint8_t status;
};

static uint64_t run_one(void *arg)
{
	struct one_req *r = arg;

	submit(0, r->type, r->sector, r->data, r->len);
	vq_publish(&vq);
	if (complete_one(r->tsc_per_ms) != 0)
		return 1;
	r->status = statuses[0];
	return 0;
}

static uint8_t one(uint32_t type, uint64_t sector, void *data, uint32_t len, uint64_t khz)
{
	struct one_req r = {type, sector, data, len, khz, 0xff};

	return run_user(run_one, &r, false) ? 0xfe : r.status;
}

static void figure(const char *name, uint32_t type, uint32_t bs, uint32_t qd, bool random,
		   uint64_t khz, uint64_t ms)
{
	struct job j = {type, bs, qd, random, khz, ms, 0, false};
	uint64_t ticks = run_user(run_job, &j, false), us = ticks * 1000 / khz;

	if (j.stalled) {
		report(false, "%s: a request did not complete within 5 s", name);
		return;
	}
	if (!us)
		us = 1;
	uint64_t iops = j.done * 1000000 / us, mbps100 = j.done * bs * 100 / us;
	printf("vblkbench: %s bs %u qd %u %lu requests %lu MB/s*100 %lu IOPS\n", name, bs, qd,
	       j.done, mbps100, iops);
}

int main(void)
{
	uint64_t khz, ms = 1000, qd = 32, sectors;

	cmdline_u64("ms", &ms);
	cmdline_u64("qd", &qd);
	q.stamped = cmdline_has("stamped");
	if (!cmdline_u64("tsc_khz", &khz))
		khz = tsc_khz();
	if (!khz || !qd)
		abort_test("tsc_khz= and qd= must be at least 1");
	if (!find_device())
		return 0;
	if (capacity * 512 < SEQ_BS)
		abort_test("the disk must hold at least 1 MiB (it has %lu sectors)", capacity);
	if (qd > vq.size / 3)
		qd = vq.size / 3;
	if (cmdline_u64("sectors", &sectors))
		report(capacity == sectors, "capacity %lu sectors (expected %lu)", capacity,
		       sectors);

	if (!cmdline_has("only=check")) {
		figure("seq-read", BLK_T_IN, SEQ_BS, 1, false, khz, ms);
		figure("rand-read", BLK_T_IN, RAND_BS, 1, true, khz, ms);
		figure("rand-read", BLK_T_IN, RAND_BS, (uint32_t)qd, true, khz, ms);
		if (!read_only) {
			figure("seq-write", BLK_T_OUT, SEQ_BS, 1, false, khz, ms);
			figure("rand-write", BLK_T_OUT, RAND_BS, 1, true, khz, ms);
			figure("rand-write", BLK_T_OUT, RAND_BS, (uint32_t)qd, true, khz, ms);
		}
		report(q.errors == 0, "%lu timed requests, %lu with an error status", q.requests,
		       q.errors);
		if (q.stamped)
			report(q.bad_data == 0, "every read returned its blocks (%lu did not)",
			       q.bad_data);
	}

	/* The pattern: byte i of sector s is (s * 31 + i) ^ 0x5a. */
	for (unsigned i = 0; i < RAND_BS; i++)
		check_buf[i] = (uint8_t)((i / 512 * 31 + i % 512) ^ 0x5a);
	if (read_only) {
		report(one(BLK_T_OUT, 0, check_buf, RAND_BS, khz) != BLK_S_OK,
		       "a write to the read-only disk fails");
		return 0;
	}
	report(one(BLK_T_OUT, 0, check_buf, RAND_BS, khz) == BLK_S_OK, "write sectors 0-7");
	if (dev.features & 1ul << F_BLK_FLUSH)
		report(one(BLK_T_FLUSH, 0, NULL, 0, khz) == BLK_S_OK, "flush");
	memset(buf, 0, RAND_BS);
	report(one(BLK_T_IN, 0, buf, RAND_BS, khz) == BLK_S_OK && !memcmp(buf, check_buf, RAND_BS),
	       "sectors 0-7 read back as written");
	report(one(BLK_T_IN, capacity, buf, 512, khz) != BLK_S_OK,
	       "a read past the capacity fails");
	return 0;
}
