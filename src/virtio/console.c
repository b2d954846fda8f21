#include "virtio/console.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"
#include "log.h"

#define CONSOLE_QUEUE_SIZE 64
#define CONSOLE_RXQ	   0
#define CONSOLE_TXQ	   1
#define CONSOLE_INBUF	   4096

struct virtio_console {
	struct virtio_dev vdev;
	int out_fd; /* atomic: -1 once detached */
	struct event_loop loop;
	struct event_source rx_kick, tx_kick, input;
	int input_fd; /* eventfd: the front end queued input */
	int space_fd; /* eventfd: input space freed */
	pthread_mutex_t in_lock;
	uint8_t in[CONSOLE_INBUF];
	size_t in_len;
	struct virtq_chain chain;
};

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		log_once(log_warn, "virtio-console: eventfd");
}

/* Moves queued input into the guest's receive buffers. */
static void rx_run(struct virtio_console *c)
{
	struct virtio_queue *q = &c->vdev.queues[CONSOLE_RXQ];
	bool freed = false;
	int got = 0;

	pthread_mutex_lock(&c->in_lock);
	while (c->in_len) {
		got = virtq_pop(&q->vq, &c->chain);
		if (got != 1)
			break;
		size_t n = virtq_chain_write(&c->chain, 0, c->in, c->in_len);
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		freed = freed || n;
		virtq_push(&q->vq, &c->chain, (uint32_t)n);
	}
	pthread_mutex_unlock(&c->in_lock);
	if (got < 0)
		virtio_dev_needs_reset(&c->vdev);
	if (freed)
		signal_fd(c->space_fd);
	virtio_queue_interrupt(q);
}

static void on_input(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;

	eventfd_drain(c->input_fd);
	rx_run(c);
}

static void on_rx_kick(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;

	eventfd_drain(c->vdev.queues[CONSOLE_RXQ].kick_fd);
	rx_run(c);
}

/* Writes a chain's readable buffers to the terminal (dropped once it is detached). */
static uint32_t tx_write(void *opaque, struct virtq_chain *chain)
{
	struct virtio_console *c = opaque;
	int fd = __atomic_load_n(&c->out_fd, __ATOMIC_ACQUIRE);

	for (uint16_t i = 0; i < chain->nbufs && fd >= 0; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		const uint8_t *p = b->host;
		size_t left = b->write ? 0 : b->len;
		while (left) {
			ssize_t n = write(fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* the terminal is gone: output is dropped */
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

static void on_tx_kick(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;

	virtio_queue_serve(&c->vdev.queues[CONSOLE_TXQ], &c->chain, tx_write, c);
}

size_t virtio_console_receive(struct virtio_console *c, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&c->in_lock);
	n = sizeof(c->in) - c->in_len;
	if (n > len)
		n = len;
	memcpy(c->in + c->in_len, buf, n);
	c->in_len += n;
	pthread_mutex_unlock(&c->in_lock);
	if (n)
		signal_fd(c->input_fd);
	return n;
}

int virtio_console_space_fd(struct virtio_console *c)
{
	return c->space_fd;
}

void virtio_console_detach_output(struct virtio_console *c)
{
	if (c)
		__atomic_store_n(&c->out_fd, -1, __ATOMIC_RELEASE);
}

static void console_config_io(struct virtio_dev *v, uint64_t off, uint8_t *data, uint32_t len,
			      bool is_write)
{
	if (!is_write)
		memset(data, 0, len); /* no size, multiport or emergency-write features */
}

static int console_start(struct virtio_dev *v)
{
	struct virtio_console *c = v->priv;

	return event_loop_start(&c->loop);
}

static void console_stop(struct virtio_dev *v)
{
	struct virtio_console *c = v->priv;

	event_loop_stop(&c->loop);
}

static const struct virtio_dev_ops console_ops = {
    .config_io = console_config_io,
    .start = console_start,
    .stop = console_stop,
};

struct virtio_console *virtio_console_create(int out_fd, struct guest_memory *mem,
					     struct irq_router *router)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->out_fd = out_fd;
	c->loop.epfd = c->loop.stop_fd = -1;
	pthread_mutex_init(&c->in_lock, NULL);
	c->input_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = virtio_pci_init(&c->vdev, "virtio-console", VIRTIO_ID_CONSOLE, &console_ops, c, 0, 2,
			      CONSOLE_QUEUE_SIZE, mem, router);
	if (err < 0 || c->input_fd < 0 || c->space_fd < 0) {
		if (!err)
			virtio_pci_destroy(&c->vdev);
		goto fail;
	}
	c->vdev.pci.cfg[PCI_CLASS_DEVICE] = 0x80; /* communication, other */
	c->vdev.pci.cfg[PCI_CLASS_DEVICE + 1] = 0x07;
	c->input = (struct event_source){.fd = c->input_fd, .fn = on_input, .opaque = c};
	c->rx_kick = (struct event_source){
	    .fd = c->vdev.queues[CONSOLE_RXQ].kick_fd, .fn = on_rx_kick, .opaque = c};
	c->tx_kick = (struct event_source){
	    .fd = c->vdev.queues[CONSOLE_TXQ].kick_fd, .fn = on_tx_kick, .opaque = c};
	if (event_loop_init(&c->loop, "virtio-console") < 0 ||
	    event_loop_add(&c->loop, &c->input, EPOLLIN) < 0 ||
	    event_loop_add(&c->loop, &c->rx_kick, EPOLLIN) < 0 ||
	    event_loop_add(&c->loop, &c->tx_kick, EPOLLIN) < 0) {
		virtio_console_destroy(c);
		return NULL;
	}
	return c;
fail:
	if (c->input_fd >= 0)
		close(c->input_fd);
	if (c->space_fd >= 0)
		close(c->space_fd);
	pthread_mutex_destroy(&c->in_lock);
	free(c);
	return NULL;
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
	return &c->vdev;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	virtio_pci_destroy(&c->vdev);
	event_loop_destroy(&c->loop);
	close(c->input_fd);
	close(c->space_fd);
	pthread_mutex_destroy(&c->in_lock);
	free(c);
}
