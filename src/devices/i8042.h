/*
 * i8042 keyboard controller, as much as guests use without a keyboard: the status and
 * command registers, the controller self tests, and the CPU reset line (command 0xfe, or
 * output port bit 0 cleared), which is how Linux reboots when ACPI reset is unavailable.
 */
#ifndef KVMBOX_DEVICES_I8042_H
#define KVMBOX_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct i8042;

struct i8042 *i8042_create(void (*reset)(void *ctx), void *ctx);
void i8042_destroy(struct i8042 *k);
/* Bus handlers: data port (0x60) and command/status port (0x64). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
