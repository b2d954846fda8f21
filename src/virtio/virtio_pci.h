/*
 * Virtio over PCI, modern interface only (virtio 1.2, 4.1): one memory BAR holding the
 * common, ISR, device-specific and notification structures plus the MSI-X table. The
 * transport owns feature negotiation, device status, queue setup, notifications (one
 * ioeventfd per queue) and interrupts (MSI-X through irqfd, INTx as fallback); a device
 * supplies a small ops table and serves its queues from its own I/O thread(s).
 *
 * Locking: v->lock guards the registers; the device's start/stop run under it. Devices
 * signal the driver (virtio_queue_interrupt) without it.
 */
#ifndef KVMBOX_VIRTIO_VIRTIO_PCI_H
#define KVMBOX_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "memory.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "virtio/poll_window.h"
#include "virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR	  0x1af4
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040 /* + virtio device ID (4.1.2.1) */
#define VIRTIO_MSI_NO_VECTOR	  0xffff
#define VIRTIO_MAX_QUEUES	  64
#define VIRTIO_ISR_QUEUE	  1
#define VIRTIO_ISR_CONFIG	  2

/* BAR 0 layout. */
#define VIRTIO_BAR_COMMON     0x0000
#define VIRTIO_BAR_COMMON_LEN 0x40
#define VIRTIO_BAR_ISR	      0x0040
#define VIRTIO_BAR_ISR_LEN    4
#define VIRTIO_BAR_DEVICE     0x0100
#define VIRTIO_BAR_DEVICE_LEN 0x100
#define VIRTIO_BAR_NOTIFY     0x0200
#define VIRTIO_NOTIFY_MULT    4
#define VIRTIO_BAR_MSIX_TABLE 0x1000
#define VIRTIO_BAR_MSIX_PBA   0x1800
#define VIRTIO_BAR_SIZE	      0x2000

struct virtio_dev;

struct virtio_dev_ops {
	/* Device-specific configuration (reads and writes at offsets into it). */
	void (*config_io)(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write);
	/* DRIVER_OK: the queues are ready, start serving them. 0 or -errno (-> needs reset). */
	int (*start)(struct virtio_dev *v);
	/* Reset or shutdown: stop serving; no queue may be touched after this returns. */
	void (*stop)(struct virtio_dev *v);
};

struct virtio_queue {
	struct virtio_dev *dev;
	uint16_t index;
	struct virtq vq;
	uint16_t size; /* what the driver chose (starts at max) */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device; /* ring addresses as the driver wrote them */
	int kick_fd;		       /* ioeventfd: the driver's notifications */
	struct poll_window poll;       /* used by its I/O thread only */
};

struct virtio_dev {
	const char *name;
	uint16_t device_id;
	const struct virtio_dev_ops *ops;
	void *priv;
	struct guest_memory *mem;
	int vm_fd;
	pthread_mutex_t lock;
	struct pci_device pci;
	struct msix msix;
	struct msix_kvm msix_kvm;
	uint64_t host_features, driver_features;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t queue_select, msix_config, queue_max;
	uint8_t status, config_generation;
	uint8_t isr; /* atomic */
	bool started;
	bool warned_needs_reset; /* the log line, once per device: not cleared by a reset */
	uint64_t notify_addr;	 /* guest address the ioeventfds are registered at, 0 if none */
	uint8_t pci_cfg_cap;	 /* offset of the VIRTIO_PCI_CAP_PCI_CFG window */
	uint16_t nqueues;
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
};

/*
 * Sets up the transport for a device: nqueues queues of at most queue_max entries, the
 * device's own feature bits (VERSION_1, INDIRECT_DESC and EVENT_IDX are added), MSI-X with a
 * vector per queue plus one for configuration changes. Returns 0 or -errno.
 */
int virtio_pci_init(struct virtio_dev *v, const char *name, uint16_t device_id,
		    const struct virtio_dev_ops *ops, void *priv, uint64_t features,
		    uint16_t nqueues, uint16_t queue_max, struct guest_memory *mem,
		    struct irq_router *router);
/* Stops the device and frees the transport. */
void virtio_pci_destroy(struct virtio_dev *v);

/* Was feature bit `bit` negotiated? */
bool virtio_negotiated(const struct virtio_dev *v, unsigned int bit);
/* After pushing used buffers: interrupt the driver if the ring asks for it. */
void virtio_queue_interrupt(struct virtio_queue *q);
/*
 * The usual way to serve a queue from its I/O thread (after its kick): takes every
 * available chain, lets handle() process it (it returns the bytes it wrote to the chain),
 * returns it, with notifications suppressed meanwhile; a broken ring marks the device
 * "needs reset"; then interrupts the driver once if the ring asks for it. c is scratch.
 */
void virtio_queue_serve(struct virtio_queue *q, struct virtq_chain *c,
			uint32_t (*handle)(void *opaque, struct virtq_chain *c), void *opaque);
/* For config_io: reads [off, off + len) of a device configuration image (zeroes beyond). */
void virtio_config_read(const void *cfg, size_t cfg_len, uint64_t off, uint8_t *data, uint32_t len);

/* The device found the driver broke the rules: set DEVICE_NEEDS_RESET and tell it. */
void virtio_dev_needs_reset(struct virtio_dev *v);
/* The device configuration changed (e.g. disk resized, link state). */
void virtio_config_changed(struct virtio_dev *v);

/* BAR 0 handler (exposed for tests and fuzzing). */
void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
