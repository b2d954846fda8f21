/*
 * Port 0x80, the POST diagnostic port. Linux also writes it as an I/O delay, so it must be
 * cheap and silent. Reads return the last value written.
 */
#ifndef KVMBOX_DEVICES_POST_PORT_H
#define KVMBOX_DEVICES_POST_PORT_H

#include <stdbool.h>
#include <stdint.h>

struct post_port {
	uint8_t last;
};

void post_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
