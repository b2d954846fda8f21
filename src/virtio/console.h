/*
 * virtio-console (virtio 1.2, 5.3), one port without the multiport protocol: the guest's
 * hvc0. Output goes to a host fd (the terminal); input comes from the console front end
 * through virtio_console_receive, with back-pressure like the UART's.
 */
#ifndef KVMBOX_VIRTIO_CONSOLE_H
#define KVMBOX_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio_pci.h"

struct virtio_console;

struct virtio_console *virtio_console_create(int out_fd, struct guest_memory *mem,
					     struct irq_router *router);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
void virtio_console_destroy(struct virtio_console *c);
/* Queues input for the guest; returns how many bytes were taken (0 when full). */
size_t virtio_console_receive(struct virtio_console *c, const uint8_t *buf, size_t len);
/* Readable (eventfd) when input space became free after a short receive. */
int virtio_console_space_fd(struct virtio_console *c);
/* Stop writing output (the VM is stopping; the terminal is being restored). */
void virtio_console_detach_output(struct virtio_console *c);

#endif
