/*
 * The debug-exit port (--debug-exit), compatible with QEMU's isa-debug-exit at 0xf4: a guest
 * writes a value v (1, 2 or 4 bytes) and kvmbox exits at once with status (v << 1) | 1, so
 * test guests can report pass/fail without an OS.
 */
#ifndef KVMBOX_DEVICES_DEBUG_EXIT_H
#define KVMBOX_DEVICES_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define PORT_DEBUG_EXIT 0xf4
#define DEBUG_EXIT_LEN	4

struct debug_exit {
	void (*exit)(void *ctx, int status);
	void *ctx;
};

/* The exit status for a written value: the low 8 bits of (v << 1) | 1, as a shell sees it. */
int debug_exit_status(uint32_t value);
void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
