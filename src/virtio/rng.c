#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "event_loop.h"
#include "log.h"

#define RNG_QUEUE_SIZE 256

struct virtio_rng {
	struct virtio_dev vdev;
	struct event_loop loop;
	struct event_source kick;
	struct virtq_chain chain;
};

/* Fills every writable buffer of a request with random bytes. */
static uint32_t rng_fill(void *opaque, struct virtq_chain *c)
{
	uint32_t written = 0;

	for (uint16_t i = 0; i < c->nbufs; i++) {
		struct virtq_buf *b = &c->bufs[i];
		if (!b->write)
			continue;
		ssize_t n = getrandom(b->host, b->len, 0);
		if (n > 0)
			written += (uint32_t)n;
		if (n != (ssize_t)b->len)
			break;
	}
	return written;
}

static void rng_kick(void *opaque, uint32_t events)
{
	struct virtio_rng *r = opaque;

	virtio_queue_serve(&r->vdev.queues[0], &r->chain, rng_fill, r);
}

static void rng_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	if (!is_write)
		memset(data, 0, len); /* no configuration space */
}

static int rng_start(struct virtio_dev *v)
{
	struct virtio_rng *r = v->priv;

	return event_loop_start(&r->loop);
}

static void rng_stop(struct virtio_dev *v)
{
	struct virtio_rng *r = v->priv;

	event_loop_stop(&r->loop);
}

static const struct virtio_dev_ops rng_ops = {
    .config_io = rng_config_io,
    .start = rng_start,
    .stop = rng_stop,
};

struct virtio_rng *virtio_rng_create(struct guest_memory *mem, struct irq_router *router)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	err = virtio_pci_init(&r->vdev, "virtio-rng", VIRTIO_ID_RNG, &rng_ops, r, 0, 1,
			      RNG_QUEUE_SIZE, mem, router);
	if (err < 0) {
		free(r);
		errno = -err;
		return NULL;
	}
	r->kick =
	    (struct event_source){.fd = r->vdev.queues[0].kick_fd, .fn = rng_kick, .opaque = r};
	if (event_loop_init(&r->loop, "virtio-rng") < 0 ||
	    event_loop_add(&r->loop, &r->kick, EPOLLIN) < 0) {
		virtio_rng_destroy(r);
		return NULL;
	}
	return r;
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r)
{
	return &r->vdev;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	virtio_pci_destroy(&r->vdev);
	event_loop_destroy(&r->loop);
	free(r);
}
