/* The PIIX/ICH reset control register at 0xcf9: writing RST_CPU resets the machine. */
#ifndef KVMBOX_DEVICES_RESET_CONTROL_H
#define KVMBOX_DEVICES_RESET_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

struct reset_control {
	uint8_t value;
	void (*reset)(void *ctx);
	void *ctx;
};

void reset_control_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
