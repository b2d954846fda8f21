#include "virtio/virtio_pci.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "event_loop.h"
#include "log.h"

/* Capability types (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

struct virtio_pci_cap {
	uint8_t cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2];
	uint32_t offset, length;
} __attribute__((packed));

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
} __attribute__((packed));

struct virtio_pci_cfg_cap {
	struct virtio_pci_cap cap;
	uint8_t pci_cfg_data[4];
} __attribute__((packed));

/* Common configuration structure offsets (4.1.4.3). */
enum {
	COMMON_DFSELECT = 0x00,
	COMMON_DF = 0x04,
	COMMON_GFSELECT = 0x08,
	COMMON_GF = 0x0c,
	COMMON_MSIX = 0x10,
	COMMON_NUMQ = 0x12,
	COMMON_STATUS = 0x14,
	COMMON_CFGGENERATION = 0x15,
	COMMON_Q_SELECT = 0x16,
	COMMON_Q_SIZE = 0x18,
	COMMON_Q_MSIX = 0x1a,
	COMMON_Q_ENABLE = 0x1c,
	COMMON_Q_NOFF = 0x1e,
	COMMON_Q_DESC = 0x20,
	COMMON_Q_DRIVER = 0x28,
	COMMON_Q_DEVICE = 0x30,
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

bool virtio_negotiated(const struct virtio_dev *v, unsigned int bit)
{
	return bit < 64 && (v->driver_features >> bit) & 1;
}

/* Interrupts the driver: MSI-X vector if enabled, else the ISR bit and INTx. */
static void interrupt(struct virtio_dev *v, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&v->msix)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			msix_notify(&v->msix, vector);
		return;
	}
	__atomic_or_fetch(&v->isr, isr_bit, __ATOMIC_SEQ_CST);
	pci_device_set_intx(&v->pci, true);
}

void virtio_queue_interrupt(struct virtio_queue *q)
{
	if (virtq_should_notify(&q->vq))
		interrupt(q->dev, __atomic_load_n(&q->msix_vector, __ATOMIC_RELAXED),
			  VIRTIO_ISR_QUEUE);
}

/* Watches the avail ring for up to the queue's poll window (see poll_window.h). */
static bool poll_for_more(struct virtio_queue *q)
{
	uint64_t end;

	if (!q->poll.ns)
		return false;
	end = poll_window_now() + q->poll.ns;
	do {
		if (virtq_has_avail(&q->vq))
			return true;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} while (poll_window_now() < end);
	return false;
}

void virtio_queue_serve(struct virtio_queue *q, struct virtq_chain *c,
			uint32_t (*handle)(void *opaque, struct virtq_chain *c), void *opaque)
{
	int got;

	eventfd_drain(q->kick_fd);
	if (q->poll.enabled)
		poll_window_woken(&q->poll, poll_window_now());
	for (;;) {
		virtq_disable_notify(&q->vq);
		while ((got = virtq_pop(&q->vq, c)) == 1)
			virtq_push(&q->vq, c, handle(opaque, c));
		if (got < 0)
			break;
		virtio_queue_interrupt(q); /* the batch's completions before we wait for more */
		if (!poll_for_more(q) && !virtq_enable_notify(&q->vq))
			break;
	}
	if (got < 0)
		virtio_dev_needs_reset(q->dev);
	virtio_queue_interrupt(q);
	if (q->poll.enabled)
		poll_window_sleeping(&q->poll, poll_window_now());
}

void virtio_config_read(const void *cfg, size_t cfg_len, uint64_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	if (off < cfg_len)
		memcpy(data, (const uint8_t *)cfg + off,
		       off + len <= cfg_len ? len : cfg_len - off);
}

void virtio_config_changed(struct virtio_dev *v)
{
	__atomic_add_fetch(&v->config_generation, 1, __ATOMIC_SEQ_CST);
	interrupt(v, __atomic_load_n(&v->msix_config, __ATOMIC_RELAXED), VIRTIO_ISR_CONFIG);
}

void virtio_dev_needs_reset(struct virtio_dev *v)
{
	uint8_t old =
	    __atomic_fetch_or(&v->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET, __ATOMIC_SEQ_CST);

	if (!(old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		/* Once per device: a guest can break and reset it in a loop. */
		if (!__atomic_exchange_n(&v->warned_needs_reset, true, __ATOMIC_RELAXED))
			log_warnx("%s: the driver broke the virtio rules; device needs reset",
				  v->name);
		virtio_config_changed(v);
	}
}

/* Registers (addr != 0) or removes the queues' ioeventfds at notify base addr. */
static void set_ioeventfds(struct virtio_dev *v, uint64_t addr)
{
	if (v->vm_fd < 0)
		return;
	for (uint16_t i = 0; i < v->nqueues; i++) {
		struct kvm_ioeventfd io = {
		    .len = 2, /* the 16-bit queue index drivers write (4.1.4.4.1) */
		    .fd = v->queues[i].kick_fd,
		};
		if (v->notify_addr) {
			io.addr = v->notify_addr + (uint64_t)i * VIRTIO_NOTIFY_MULT;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(v->vm_fd, KVM_IOEVENTFD, &io);
		}
		if (addr) {
			io.addr = addr + (uint64_t)i * VIRTIO_NOTIFY_MULT;
			io.flags = 0;
			if (ioctl(v->vm_fd, KVM_IOEVENTFD, &io) < 0)
				log_once(log_warn, "%s: KVM_IOEVENTFD", v->name);
		}
	}
	v->notify_addr = addr;
}

/* Back to the state after power-on (the driver wrote 0 to device_status). v->lock held. */
static void device_reset(struct virtio_dev *v)
{
	if (v->started) {
		v->ops->stop(v);
		v->started = false;
	}
	v->driver_features = 0;
	v->device_feature_select = v->driver_feature_select = 0;
	v->queue_select = 0;
	__atomic_store_n(&v->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	__atomic_store_n(&v->status, 0, __ATOMIC_SEQ_CST);
	for (uint16_t i = 0; i < v->nqueues; i++) {
		struct virtio_queue *q = &v->queues[i];
		q->size = v->queue_max;
		__atomic_store_n(&q->msix_vector, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		memset(&q->vq, 0, sizeof(q->vq));
		eventfd_drain(q->kick_fd);
	}
	__atomic_store_n(&v->isr, 0, __ATOMIC_SEQ_CST);
}

/* DRIVER_OK: check and map the rings, then let the device run. v->lock held. */
static void driver_ok(struct virtio_dev *v)
{
	bool event_idx = virtio_negotiated(v, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = virtio_negotiated(v, VIRTIO_RING_F_INDIRECT_DESC);

	for (uint16_t i = 0; i < v->nqueues; i++) {
		struct virtio_queue *q = &v->queues[i];
		if (!q->enabled)
			continue;
		if (virtq_init(&q->vq, v->mem, q->size, q->desc, q->driver, q->device, event_idx,
			       indirect) < 0) {
			virtio_dev_needs_reset(v);
			return;
		}
	}
	int r = v->ops->start(v);
	if (r < 0) {
		log_warnx("%s: cannot start: %s", v->name, strerror(-r));
		virtio_dev_needs_reset(v);
		return;
	}
	v->started = true;
}

static void write_status(struct virtio_dev *v, uint8_t written)
{
	uint8_t old = __atomic_load_n(&v->status, __ATOMIC_SEQ_CST), value;

	if (written == 0) {
		device_reset(v);
		return;
	}
	/* A compare-and-swap: an I/O thread may set NEEDS_RESET meanwhile; it must stay. */
	do {
		value = written;
		/* FEATURES_OK only sticks if the driver accepted a subset of what we offer. */
		if ((value & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
		    ((v->driver_features & ~v->host_features) ||
		     !virtio_negotiated(v, VIRTIO_F_VERSION_1)))
			value &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		/*
		 * The driver may only add bits (2.1.2: it must not clear one; clearing DRIVER_OK
		 * and setting it again would start the device twice); NEEDS_RESET is ours.
		 */
		value = (uint8_t)((value & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | old);
	} while (!__atomic_compare_exchange_n(&v->status, &old, value, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	if ((value & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    (value & VIRTIO_STATUS_FEATURES_OK) && !(value & VIRTIO_STATUS_FAILED))
		driver_ok(v);
}

static struct virtio_queue *selected(struct virtio_dev *v)
{
	return v->queue_select < v->nqueues ? &v->queues[v->queue_select] : NULL;
}

/* The common structure as the driver reads it right now. */
static void common_image(struct virtio_dev *v, uint8_t img[VIRTIO_BAR_COMMON_LEN])
{
	struct virtio_queue *q = selected(v);
	uint32_t sel = v->device_feature_select;

	memset(img, 0, VIRTIO_BAR_COMMON_LEN);
	put32(img + COMMON_DFSELECT, sel);
	put32(img + COMMON_DF, sel < 2 ? (uint32_t)(v->host_features >> (32 * sel)) : 0);
	put32(img + COMMON_GFSELECT, v->driver_feature_select);
	put32(img + COMMON_GF,
	      v->driver_feature_select < 2
		  ? (uint32_t)(v->driver_features >> (32 * v->driver_feature_select))
		  : 0);
	put16(img + COMMON_MSIX, v->msix_config);
	put16(img + COMMON_NUMQ, v->nqueues);
	img[COMMON_STATUS] = __atomic_load_n(&v->status, __ATOMIC_SEQ_CST);
	img[COMMON_CFGGENERATION] = __atomic_load_n(&v->config_generation, __ATOMIC_SEQ_CST);
	put16(img + COMMON_Q_SELECT, v->queue_select);
	if (!q)
		return; /* a queue that does not exist reads as size 0 (4.1.4.3.2) */
	put16(img + COMMON_Q_SIZE, q->size);
	put16(img + COMMON_Q_MSIX, q->msix_vector);
	put16(img + COMMON_Q_ENABLE, q->enabled);
	put16(img + COMMON_Q_NOFF, q->index);
	put32(img + COMMON_Q_DESC, (uint32_t)q->desc);
	put32(img + COMMON_Q_DESC + 4, (uint32_t)(q->desc >> 32));
	put32(img + COMMON_Q_DRIVER, (uint32_t)q->driver);
	put32(img + COMMON_Q_DRIVER + 4, (uint32_t)(q->driver >> 32));
	put32(img + COMMON_Q_DEVICE, (uint32_t)q->device);
	put32(img + COMMON_Q_DEVICE + 4, (uint32_t)(q->device >> 32));
}

static bool overlaps(uint64_t off, uint32_t len, uint32_t field, uint32_t flen)
{
	return off < field + flen && field < off + len;
}

static uint16_t checked_vector(struct virtio_dev *v, uint16_t vec)
{
	/* An MSI-X vector the device does not have reads back as NO_VECTOR (4.1.5.1.2). */
	return vec < v->msix.nvec ? vec : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_dev *v, uint64_t off, const uint8_t *data, uint32_t len)
{
	uint8_t img[VIRTIO_BAR_COMMON_LEN];
	struct virtio_queue *q = selected(v);
	bool queue_locked = (v->status & VIRTIO_STATUS_DRIVER_OK) || (q && q->enabled);

	common_image(v, img);
	memcpy(img + off, data, len);
	if (overlaps(off, len, COMMON_DFSELECT, 4))
		v->device_feature_select = get32(img + COMMON_DFSELECT);
	if (overlaps(off, len, COMMON_GFSELECT, 4))
		v->driver_feature_select = get32(img + COMMON_GFSELECT);
	if (overlaps(off, len, COMMON_GF, 4) && v->driver_feature_select < 2 &&
	    !(v->status & VIRTIO_STATUS_FEATURES_OK)) {
		unsigned int shift = 32 * v->driver_feature_select;
		v->driver_features = (v->driver_features & ~(0xffffffffull << shift)) |
				     (uint64_t)get32(img + COMMON_GF) << shift;
	}
	if (overlaps(off, len, COMMON_MSIX, 2))
		__atomic_store_n(&v->msix_config, checked_vector(v, get16(img + COMMON_MSIX)),
				 __ATOMIC_RELAXED);
	if (overlaps(off, len, COMMON_STATUS, 1))
		write_status(v, img[COMMON_STATUS]);
	if (overlaps(off, len, COMMON_Q_SELECT, 2))
		v->queue_select = get16(img + COMMON_Q_SELECT);
	if (!q)
		return;
	if (overlaps(off, len, COMMON_Q_MSIX, 2))
		__atomic_store_n(&q->msix_vector, checked_vector(v, get16(img + COMMON_Q_MSIX)),
				 __ATOMIC_RELAXED);
	if (queue_locked)
		return; /* ring layout is fixed once the queue is enabled */
	if (overlaps(off, len, COMMON_Q_SIZE, 2)) {
		uint16_t size = get16(img + COMMON_Q_SIZE);
		/* Checked again (power of two) when the rings are mapped at DRIVER_OK. */
		q->size = size <= v->queue_max ? size : v->queue_max;
	}
	if (overlaps(off, len, COMMON_Q_DESC, 8))
		q->desc = get32(img + COMMON_Q_DESC) | (uint64_t)get32(img + COMMON_Q_DESC + 4)
							   << 32;
	if (overlaps(off, len, COMMON_Q_DRIVER, 8))
		q->driver =
		    get32(img + COMMON_Q_DRIVER) | (uint64_t)get32(img + COMMON_Q_DRIVER + 4) << 32;
	if (overlaps(off, len, COMMON_Q_DEVICE, 8))
		q->device =
		    get32(img + COMMON_Q_DEVICE) | (uint64_t)get32(img + COMMON_Q_DEVICE + 4) << 32;
	if (overlaps(off, len, COMMON_Q_ENABLE, 2) && get16(img + COMMON_Q_ENABLE) == 1)
		q->enabled = true;
}

void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_dev *v = opaque;
	bool lower_intx = false;

	if (off >= VIRTIO_BAR_MSIX_PBA) {
		msix_pba_io(&v->msix, off - VIRTIO_BAR_MSIX_PBA, data, len, is_write);
		return;
	}
	if (off >= VIRTIO_BAR_MSIX_TABLE) {
		msix_table_io(&v->msix, off - VIRTIO_BAR_MSIX_TABLE, data, len, is_write);
		return;
	}
	if (off >= VIRTIO_BAR_NOTIFY) {
		/* Notifications KVM's ioeventfds did not take (other widths, no KVM). */
		uint64_t qi = (off - VIRTIO_BAR_NOTIFY) / VIRTIO_NOTIFY_MULT;
		uint64_t one = 1;
		if (!is_write)
			memset(data, 0, len);
		else if (qi < v->nqueues && write(v->queues[qi].kick_fd, &one, sizeof(one)) < 0)
			log_once(log_warn, "%s: queue notification", v->name);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (off >= VIRTIO_BAR_DEVICE) {
		off -= VIRTIO_BAR_DEVICE;
		if (off + len <= VIRTIO_BAR_DEVICE_LEN)
			v->ops->config_io(v, off, data, len, is_write);
		else if (!is_write)
			memset(data, 0, len);
	} else if (off >= VIRTIO_BAR_ISR) {
		/* Reading the ISR status acknowledges the interrupt (4.1.4.5). */
		if (!is_write) {
			memset(data, 0, len);
			if (off == VIRTIO_BAR_ISR) {
				data[0] = __atomic_exchange_n(&v->isr, 0, __ATOMIC_SEQ_CST);
				lower_intx = true;
			}
		}
	} else if (off + len > VIRTIO_BAR_COMMON_LEN || len > 8) {
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		common_write(v, off, data, len);
		/* Reset, by a write of any width that covers the status byte: nothing pends. */
		lower_intx = __atomic_load_n(&v->status, __ATOMIC_SEQ_CST) == 0;
	} else {
		uint8_t img[VIRTIO_BAR_COMMON_LEN];
		common_image(v, img);
		memcpy(data, img + off, len);
	}
	pthread_mutex_unlock(&v->lock);
	/* Outside v->lock: the PCI bus lock is taken before v->lock elsewhere. */
	if (lower_intx)
		pci_device_set_intx(&v->pci, false);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window onto BAR 0 through configuration space (4.1.4.9). */
static bool pci_cfg_window(struct virtio_dev *v, uint32_t off, uint32_t len, uint64_t *bar_off,
			   uint32_t *access_len)
{
	const uint8_t *c = &v->pci.cfg[v->pci_cfg_cap];
	uint32_t data_off =
	    v->pci_cfg_cap + (uint32_t)offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	uint32_t length = get32(c + offsetof(struct virtio_pci_cap, length));

	if (!v->pci_cfg_cap || off + len <= data_off || off >= data_off + 4)
		return false;
	if (c[offsetof(struct virtio_pci_cap, bar)] != 0 ||
	    (length != 1 && length != 2 && length != 4))
		return false;
	*bar_off = get32(c + offsetof(struct virtio_pci_cap, offset));
	*access_len = length;
	return *bar_off + length <= VIRTIO_BAR_SIZE;
}

static void cfg_before_read(struct pci_device *d, uint32_t off, uint32_t len)
{
	struct virtio_dev *v = d->opaque;
	uint64_t bar_off;
	uint32_t n;

	if (pci_cfg_window(v, off, len, &bar_off, &n))
		virtio_pci_bar_io(
		    v, bar_off,
		    &d->cfg[v->pci_cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)], n,
		    false);
}

static void cfg_written(struct pci_device *d, uint32_t off, uint32_t len)
{
	struct virtio_dev *v = d->opaque;
	uint64_t bar_off;
	uint32_t n;

	msix_cfg_written(&v->msix, off, len);
	if (pci_cfg_window(v, off, len, &bar_off, &n))
		virtio_pci_bar_io(
		    v, bar_off,
		    &d->cfg[v->pci_cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)], n,
		    true);
}

static void bar_moved(struct pci_device *d, int bar, uint64_t addr)
{
	struct virtio_dev *v = d->opaque;

	if (bar == 0)
		set_ioeventfds(v, addr ? addr + VIRTIO_BAR_NOTIFY : 0);
}

static const struct pci_device_ops virtio_pci_ops = {
    .cfg_written = cfg_written,
    .cfg_before_read = cfg_before_read,
    .bar_moved = bar_moved,
};

static int add_cap(struct virtio_dev *v, uint8_t type, uint32_t offset, uint32_t length)
{
	struct virtio_pci_cap cap = {
	    .cap_vndr = PCI_CAP_ID_VNDR,
	    .cap_len = sizeof(cap),
	    .cfg_type = type,
	    .offset = offset,
	    .length = length,
	};
	return pci_device_add_cap(&v->pci, &cap, sizeof(cap), NULL);
}

/* MSI-X without KVM (unit tests): vectors go nowhere unless the test installs its ops. */
static int null_route(void *ctx, uint16_t vector, uint64_t addr, uint32_t data)
{
	return 0;
}
static void null_signal(void *ctx, uint16_t vector)
{
}
static const struct msix_ops null_msix_ops = {.route = null_route, .signal = null_signal};

static int add_caps(struct virtio_dev *v)
{
	struct virtio_pci_notify_cap notify = {
	    .cap = {.cap_vndr = PCI_CAP_ID_VNDR,
		    .cap_len = sizeof(notify),
		    .cfg_type = VIRTIO_PCI_CAP_NOTIFY_CFG,
		    .offset = VIRTIO_BAR_NOTIFY,
		    .length = (uint32_t)v->nqueues * VIRTIO_NOTIFY_MULT},
	    .notify_off_multiplier = VIRTIO_NOTIFY_MULT,
	};
	struct virtio_pci_cfg_cap cfg = {
	    .cap = {.cap_vndr = PCI_CAP_ID_VNDR,
		    .cap_len = sizeof(cfg),
		    .cfg_type = VIRTIO_PCI_CAP_PCI_CFG},
	};
	uint8_t cfg_wmask[sizeof(cfg)] = {0};
	int off;

	/* The driver picks BAR, offset, length and data of the window. */
	memset(cfg_wmask + offsetof(struct virtio_pci_cap, bar), 0xff, 1);
	memset(cfg_wmask + offsetof(struct virtio_pci_cap, offset), 0xff, 8);
	memset(cfg_wmask + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data), 0xff, 4);
	if (add_cap(v, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_BAR_COMMON, VIRTIO_BAR_COMMON_LEN) < 0 ||
	    add_cap(v, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_BAR_ISR, VIRTIO_BAR_ISR_LEN) < 0 ||
	    add_cap(v, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_BAR_DEVICE, VIRTIO_BAR_DEVICE_LEN) < 0 ||
	    pci_device_add_cap(&v->pci, &notify, sizeof(notify), NULL) < 0)
		return -ENOSPC;
	off = pci_device_add_cap(&v->pci, &cfg, sizeof(cfg), cfg_wmask);
	if (off < 0)
		return off;
	v->pci_cfg_cap = (uint8_t)off;
	return 0;
}

int virtio_pci_init(struct virtio_dev *v, const char *name, uint16_t device_id,
		    const struct virtio_dev_ops *ops, void *priv, uint64_t features,
		    uint16_t nqueues, uint16_t queue_max, struct guest_memory *mem,
		    struct irq_router *router)
{
	uint16_t nvec = (uint16_t)(nqueues + 1);
	int r;

	if (nqueues == 0 || nqueues > VIRTIO_MAX_QUEUES || nvec > MSIX_MAX_VECTORS)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->device_id = device_id;
	v->ops = ops;
	v->priv = priv;
	v->mem = mem;
	v->vm_fd = router ? router->vm_fd : -1;
	v->host_features = features | 1ull << VIRTIO_F_VERSION_1 |
			   1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX;
	v->nqueues = nqueues;
	v->queue_max = queue_max;
	pthread_mutex_init(&v->lock, NULL);
	for (uint16_t i = 0; i < nqueues; i++) {
		v->queues[i] = (struct virtio_queue){.dev = v, .index = i, .kick_fd = -1};
		v->queues[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->queues[i].kick_fd < 0) {
			r = -errno;
			goto fail;
		}
	}
	/* Network, block, ... class codes matter little to Linux; "other" unless told. */
	pci_device_init(&v->pci, name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + device_id), 0xff0000,
			VIRTIO_PCI_VENDOR, device_id);
	v->pci.cfg[PCI_REVISION_ID] = 1; /* modern-only device (4.1.2.1) */
	v->pci.cfg[PCI_INTERRUPT_PIN] = 1;
	v->pci.ops = &virtio_pci_ops;
	v->pci.opaque = v;
	pci_device_set_bar(&v->pci, 0, VIRTIO_BAR_SIZE, false, virtio_pci_bar_io, v);
	r = add_caps(v);
	if (r < 0)
		goto fail;
	if (router) {
		r = msix_kvm_init(&v->msix_kvm, router, nvec);
		if (r < 0)
			goto fail;
	}
	r = msix_init(&v->msix, &v->pci, nvec, 0, VIRTIO_BAR_MSIX_TABLE, VIRTIO_BAR_MSIX_PBA,
		      router ? &msix_kvm_ops : &null_msix_ops, &v->msix_kvm);
	if (r < 0)
		goto fail;
	device_reset(v);
	return 0;
fail:
	virtio_pci_destroy(v);
	return r;
}

void virtio_pci_destroy(struct virtio_dev *v)
{
	if (!v->nqueues)
		return;
	pthread_mutex_lock(&v->lock);
	if (v->started)
		v->ops->stop(v);
	v->started = false;
	pthread_mutex_unlock(&v->lock);
	set_ioeventfds(v, 0);
	if (v->msix_kvm.nvec)
		msix_kvm_destroy(&v->msix_kvm);
	msix_destroy(&v->msix);
	for (uint16_t i = 0; i < v->nqueues; i++)
		if (v->queues[i].kick_fd >= 0)
			close(v->queues[i].kick_fd);
	pthread_mutex_destroy(&v->lock);
	v->nqueues = 0;
}
