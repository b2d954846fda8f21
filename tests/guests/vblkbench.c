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

/* ---- PCI configuration space through ECAM (bus 0) ---- */
#define PCI_VENDOR	  0x00
#define PCI_DEVICE	  0x02
#define PCI_COMMAND	  0x04
#define PCI_STATUS	  0x06
#define PCI_BAR0	  0x10
#define PCI_SUBSYS_ID	  0x2e
#define PCI_CAP_PTR	  0x34
#define PCI_CMD_MEM	  (1u << 1)
#define PCI_CMD_MASTER	  (1u << 2)
#define PCI_STATUS_CAPS	  (1u << 4)
#define PCI_CAP_VENDOR	  0x09
#define VIRTIO_VENDOR	  0x1af4
#define VIRTIO_BLK_MODERN 0x1042
#define VIRTIO_BLK_LEGACY 0x1001 /* transitional device: subsystem ID 2 */
#define DEFAULT_ECAM	  0xe0000000ul
#define DEFAULT_MMIO32	  0xc0000000ul
#define MMIO32_WINDOW_END 0xe0000000ul

/* ---- virtio 1.x (spec 4.1.4) ---- */
#define VIRTIO_CAP_COMMON    1
#define VIRTIO_CAP_NOTIFY    2
#define VIRTIO_CAP_DEVICE    4
#define COMMON_DFSELECT	     0x00
#define COMMON_DF	     0x04
#define COMMON_GFSELECT	     0x08
#define COMMON_GF	     0x0c
#define COMMON_STATUS	     0x14
#define COMMON_Q_SELECT	     0x16
#define COMMON_Q_SIZE	     0x18
#define COMMON_Q_MSIX	     0x1a
#define COMMON_Q_ENABLE	     0x1c
#define COMMON_Q_NOFF	     0x1e
#define COMMON_Q_DESC	     0x20
#define COMMON_Q_DRIVER	     0x28
#define COMMON_Q_DEVICE	     0x30
#define STATUS_ACK	     1
#define STATUS_DRIVER	     2
#define STATUS_DRIVER_OK     4
#define STATUS_FEATURES_OK   8
#define F_BLK_RO	     5
#define F_BLK_FLUSH	     9
#define F_EVENT_IDX	     29
#define F_VERSION_1	     32
#define DESC_F_NEXT	     1
#define DESC_F_WRITE	     2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY     1
#define BLK_T_IN	     0
#define BLK_T_OUT	     1
#define BLK_T_FLUSH	     4
#define BLK_S_OK	     0
#define NO_VECTOR	     0xffff

#define QSIZE_MAX 128 /* 3 descriptors a request: up to 42 in flight */
#define QD_MAX	  (QSIZE_MAX / 3)
#define SEQ_BS	  (1u << 20)
#define RAND_BS	  4096u
#define BUF_SIZE  (QD_MAX * RAND_BS > SEQ_BS ? QD_MAX * RAND_BS : SEQ_BS)

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct blk_req_header {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vring_desc desc[QSIZE_MAX] ALIGNED(4096);
static volatile uint16_t avail[3 + QSIZE_MAX] ALIGNED(4096); /* flags idx ring[] used_event */
static volatile uint32_t used[1 + 2 * QSIZE_MAX + 1] ALIGNED(4096); /* flags|idx, ring, event */
static struct blk_req_header headers[QD_MAX];
static volatile uint8_t statuses[QD_MAX];
static uint8_t buf[BUF_SIZE] ALIGNED(4096);
static uint8_t check_buf[RAND_BS] ALIGNED(4096);

/* The device, as ring 0 found and set it up. */
static struct {
	uint64_t cfg; /* ECAM address of its configuration space */
	uint64_t bar[6];
	uint64_t common, notify, device; /* capability structures */
	uint64_t features;
	uint16_t qsize;
	bool event_idx, read_only;
	uint64_t capacity; /* sectors */
} dev;

/* The driver's view of queue 0 (touched by ring 3). */
static struct {
	uint16_t avail_idx, used_seen, last_notified;
	uint64_t requests, errors, bad_data;
	uint64_t sector[QD_MAX]; /* of the request in each slot */
	bool stamped;		 /* every 4 KiB block of the disk starts with its index */
} q;

/* ---- set-up, ring 0 ---- */

static uint64_t ecam_base(void)
{
	const struct acpi_header *mcfg = acpi_find_table("MCFG");
	uint64_t base;

	if (cmdline_u64("ecam", &base))
		return base;
	/* MCFG: header, 8 reserved bytes, then {base u64, segment u16, start bus, end bus} */
	if (mcfg && mcfg->length >= sizeof(*mcfg) + 8 + 16)
		return *(const uint64_t *)((const uint8_t *)(mcfg + 1) + 8);
	return DEFAULT_ECAM;
}

static bool is_virtio_blk(uint64_t cfg)
{
	uint16_t device = mmio_read16(cfg + PCI_DEVICE);

	return mmio_read16(cfg + PCI_VENDOR) == VIRTIO_VENDOR &&
	       (device == VIRTIO_BLK_MODERN ||
		(device == VIRTIO_BLK_LEGACY && mmio_read16(cfg + PCI_SUBSYS_ID) == 2));
}

/* Reads each BAR; gives unassigned memory BARs naturally aligned addresses from *next. */
static bool setup_bars(uint64_t *next)
{
	for (int i = 0; i < 6; i++) {
		uint64_t reg = dev.cfg + PCI_BAR0 + 4 * i;
		uint32_t lo = mmio_read32(reg);
		bool is64 = (lo & 7) == 4;
		uint64_t addr, size;

		if (lo & 1)
			continue; /* I/O BAR: not used (I/O space stays disabled) */
		addr = (lo & ~0xful) | (is64 ? (uint64_t)mmio_read32(reg + 4) << 32 : 0);
		if (!addr) {
			mmio_write32(reg, ~0u);
			size = ~(uint64_t)(mmio_read32(reg) & ~0xfu) + 1;
			size &= 0xffffffffu;
			if (size && size <= 0x10000000) {
				addr = (*next + size - 1) & ~(size - 1);
				if (addr + size > MMIO32_WINDOW_END) {
					printf("vblkbench: BAR%d (%lu bytes) does not fit the "
					       "window\n",
					       i, size);
					return false;
				}
				*next = addr + size;
			}
			mmio_write32(reg, (uint32_t)addr | (lo & 0xf));
			if (is64)
				mmio_write32(reg + 4, 0);
		}
		dev.bar[i] = addr;
		if (is64)
			i++;
	}
	return true;
}

/* Walks the vendor capabilities for the common, notify and device structures. */
static uint32_t find_caps(void)
{
	uint32_t notify_mult = 0;

	if (!(mmio_read16(dev.cfg + PCI_STATUS) & PCI_STATUS_CAPS))
		return 0;
	for (uint8_t off = mmio_read8(dev.cfg + PCI_CAP_PTR) & ~3, n = 0; off && n < 48;
	     off = mmio_read8(dev.cfg + off + 1) & ~3, n++) {
		uint64_t cap = dev.cfg + off;
		uint8_t type = mmio_read8(cap + 3), bar = mmio_read8(cap + 4);
		uint64_t addr;

		if (mmio_read8(cap) != PCI_CAP_VENDOR || bar > 5 || !dev.bar[bar])
			continue;
		addr = dev.bar[bar] + mmio_read32(cap + 8);
		if (type == VIRTIO_CAP_COMMON && !dev.common)
			dev.common = addr;
		else if (type == VIRTIO_CAP_DEVICE && !dev.device)
			dev.device = addr;
		else if (type == VIRTIO_CAP_NOTIFY && !dev.notify) {
			dev.notify = addr;
			notify_mult = mmio_read32(cap + 16);
		}
	}
	return notify_mult;
}

/* 64-bit fields are accessed as two 32-bit halves (virtio 1.2, 4.1.3.1). */
static void write64_halves(uint64_t addr, uint64_t v)
{
	mmio_write32(addr, (uint32_t)v);
	mmio_write32(addr + 4, (uint32_t)(v >> 32));
}

static uint64_t device_features(void)
{
	mmio_write32(dev.common + COMMON_DFSELECT, 0);
	uint64_t lo = mmio_read32(dev.common + COMMON_DF);
	mmio_write32(dev.common + COMMON_DFSELECT, 1);
	return lo | (uint64_t)mmio_read32(dev.common + COMMON_DF) << 32;
}

/* Status handshake, features (VERSION_1, and EVENT_IDX and FLUSH when offered, as Linux
 * does: without FLUSH a device may write through), queue 0. */
static bool setup_virtio(uint32_t notify_mult)
{
	uint64_t st = dev.common + COMMON_STATUS, offered, want;
	uint16_t max;

	mmio_write8(st, 0);
	if (mmio_read8(st) != 0)
		return false;
	mmio_write8(st, STATUS_ACK);
	mmio_write8(st, STATUS_ACK | STATUS_DRIVER);
	offered = device_features();
	if (!(offered & 1ul << F_VERSION_1))
		return false;
	want = offered &
	       (1ul << F_VERSION_1 | 1ul << F_EVENT_IDX | 1ul << F_BLK_FLUSH | 1ul << F_BLK_RO);
	for (uint32_t half = 0; half < 2; half++) {
		mmio_write32(dev.common + COMMON_GFSELECT, half);
		mmio_write32(dev.common + COMMON_GF, (uint32_t)(want >> (32 * half)));
	}
	mmio_write8(st, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(mmio_read8(st) & STATUS_FEATURES_OK))
		return false;
	dev.features = want;
	dev.event_idx = want & 1ul << F_EVENT_IDX;
	dev.read_only = want & 1ul << F_BLK_RO;

	mmio_write16(dev.common + COMMON_Q_SELECT, 0);
	max = mmio_read16(dev.common + COMMON_Q_SIZE);
	for (dev.qsize = QSIZE_MAX; dev.qsize > max; dev.qsize /= 2)
		;
	if (dev.qsize < 4)
		return false;
	mmio_write16(dev.common + COMMON_Q_SIZE, dev.qsize);
	mmio_write16(dev.common + COMMON_Q_MSIX, NO_VECTOR);
	write64_halves(dev.common + COMMON_Q_DESC, (uint64_t)desc);
	write64_halves(dev.common + COMMON_Q_DRIVER, (uint64_t)avail);
	write64_halves(dev.common + COMMON_Q_DEVICE, (uint64_t)used);
	/* We poll: no interrupts (used_event kept behind us, see complete_one). */
	avail[0] = dev.event_idx ? 0 : AVAIL_F_NO_INTERRUPT;
	avail[2 + dev.qsize] = 0xffff;
	dev.notify += (uint64_t)mmio_read16(dev.common + COMMON_Q_NOFF) * notify_mult;
	mmio_write16(dev.common + COMMON_Q_ENABLE, 1);
	mmio_write8(st, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
	dev.capacity = mmio_read32(dev.device) | (uint64_t)mmio_read32(dev.device + 4) << 32;
	return true;
}

static bool find_device(void)
{
	uint64_t ecam = ecam_base(), next = DEFAULT_MMIO32;

	cmdline_u64("mmio32", &next);
	for (int d = 0; d < 32 && !dev.cfg; d++)
		if (is_virtio_blk(ecam + ((uint64_t)d << 15)))
			dev.cfg = ecam + ((uint64_t)d << 15);
	if (!dev.cfg) {
		report(false, "a virtio-blk device on PCI bus 0 (ECAM at 0x%lx)", ecam);
		return false;
	}
	if (!setup_bars(&next))
		return false;
	mmio_write16(dev.cfg + PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	uint32_t notify_mult = find_caps();
	if (!dev.common || !dev.notify || !dev.device) {
		report(false, "virtio-pci capabilities (common 0x%lx notify 0x%lx device 0x%lx)",
		       dev.common, dev.notify, dev.device);
		return false;
	}
	if (!setup_virtio(notify_mult)) {
		report(false, "virtio set-up: status handshake, VERSION_1, queue 0");
		return false;
	}
	report(true, "virtio-blk at %02x:%02x.0, queue size %u, features 0x%lx, %lu sectors", 0,
	       (unsigned)((dev.cfg - ecam) >> 15), dev.qsize, dev.features, dev.capacity);
	return true;
}

/* ---- the I/O loop, ring 3 ---- */

static void publish(void)
{
	uint16_t old = q.last_notified, now = q.avail_idx;
	volatile uint16_t *avail_event = (volatile uint16_t *)&used[1 + 2 * dev.qsize];
	bool kick;

	barrier(); /* descriptors and ring entries before the index (x86 keeps store order) */
	avail[1] = now;
	asm volatile("mfence" ::: "memory"); /* the index before reading the device's wishes */
	if (dev.event_idx)
		kick = (uint16_t)(now - *avail_event - 1) < (uint16_t)(now - old);
	else
		kick = !(used[0] & USED_F_NO_NOTIFY);
	if (kick)
		mmio_write16(dev.notify, 0);
	q.last_notified = now;
}

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
	desc[3 * s] = (struct vring_desc){(uint64_t)&headers[s], sizeof(headers[s]), DESC_F_NEXT,
					  (uint16_t)(3 * s + 1)};
	if (len) {
		desc[3 * s + 1] = (struct vring_desc){
		    (uint64_t)data, len, DESC_F_NEXT | (type == BLK_T_IN ? DESC_F_WRITE : 0),
		    (uint16_t)(3 * s + 2)};
	} else {
		desc[3 * s].next = (uint16_t)(3 * s + 2);
	}
	desc[3 * s + 2] = (struct vring_desc){(uint64_t)&statuses[s], 1, DESC_F_WRITE, 0};
	avail[2 + q.avail_idx % dev.qsize] = (uint16_t)(3 * s);
	q.avail_idx++;
}

/* Waits for the next completion; returns its slot, or -1 if none came within ~5 s. */
static int complete_one(uint64_t tsc_per_ms)
{
	uint64_t give_up = rdtsc() + 5000 * tsc_per_ms;

	while ((uint16_t)(used[0] >> 16) == q.used_seen)
		if (rdtsc() > give_up)
			return -1;
		else
			pause();
	barrier(); /* the index before the entry it covers */
	uint32_t id = used[1 + 2 * (q.used_seen % dev.qsize)];
	q.used_seen++;
	avail[2 + dev.qsize] = (uint16_t)(q.used_seen - 1); /* used_event: never reached */
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
	    !stamp_ok((const uint8_t *)data->addr, q.sector[(data - desc) / 3], data->len))
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
	uint64_t blocks = dev.capacity * 512 / j->bs, b;

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
	publish();
	while (inflight) {
		int s = complete_one(j->tsc_per_ms);
		if (s < 0) {
			j->stalled = true;
			break;
		}
		inflight--;
		if (j->type == BLK_T_IN)
			check_read(&desc[3 * s + 1]);
		if (rdtsc() < end) {
			submit((unsigned)s, j->type, next_sector(j, &seq), buf + s * j->bs, j->bs);
			inflight++;
		}
		/* Batch: refill every slot that completed, then publish them together. */
		if (q.avail_idx != q.last_notified && q.used_seen == (uint16_t)(used[0] >> 16))
			publish();
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
	publish();
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
	if (dev.capacity * 512 < SEQ_BS)
		abort_test("the disk must hold at least 1 MiB (it has %lu sectors)", dev.capacity);
	if (qd > dev.qsize / 3)
		qd = dev.qsize / 3;
	if (cmdline_u64("sectors", &sectors))
		report(dev.capacity == sectors, "capacity %lu sectors (expected %lu)", dev.capacity,
		       sectors);

	if (!cmdline_has("only=check")) {
		figure("seq-read", BLK_T_IN, SEQ_BS, 1, false, khz, ms);
		figure("rand-read", BLK_T_IN, RAND_BS, 1, true, khz, ms);
		figure("rand-read", BLK_T_IN, RAND_BS, (uint32_t)qd, true, khz, ms);
		if (!dev.read_only) {
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
	if (dev.read_only) {
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
	report(one(BLK_T_IN, dev.capacity, buf, 512, khz) != BLK_S_OK,
	       "a read past the capacity fails");
	return 0;
}
