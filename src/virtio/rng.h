/* virtio-rng (virtio 1.2, 5.4): entropy from the host's getrandom(). */
#ifndef KVMBOX_VIRTIO_RNG_H
#define KVMBOX_VIRTIO_RNG_H

#include "virtio/virtio_pci.h"

struct virtio_rng;

struct virtio_rng *virtio_rng_create(struct guest_memory *mem, struct irq_router *router);
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
void virtio_rng_destroy(struct virtio_rng *r);

#endif
