/*
 * A device for test guests (--test-device): it records accesses so a guest can prove that
 * MMIO and PIO of every width reach the VMM intact.
 *
 * MMIO page at TEST_DEVICE_MMIO_BASE:
 *   0x000-0x7ff  scratch: reads return what was written, at any width
 *   0x800        access count (u64): accesses to the device before this read
 *   0x808        last access: width in bytes (u64)
 *   0x810        last access: offset (u64, MMIO offset or port - TEST_DEVICE_PORT_BASE)
 *   0x818        last access: value written (u64)
 * Ports at TEST_DEVICE_PORT_BASE:
 *   +0..+7       scratch, like the MMIO scratch
 *   +8           FIFO of 4096 bytes: out/outs append, in/ins take (empty reads 0xff);
 *                lets a guest check the order of rep outs/ins data
 *   +9           sandbox probe: a write makes this vCPU thread call socket(), which no
 *                kvmbox thread needs once the VM runs, so the sandbox stops kvmbox
 *                (sandbox.h). A read returns 0 if the call succeeded (no sandbox), else
 *                its errno. It proves, from a guest exit, that the filter is in force.
 */
#ifndef KVMBOX_DEVICES_TEST_DEVICE_H
#define KVMBOX_DEVICES_TEST_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TEST_DEVICE_MMIO_BASE 0xfe000000ULL
#define TEST_DEVICE_MMIO_LEN  0x1000
#define TEST_DEVICE_PORT_BASE 0xe0
#define TEST_DEVICE_PORT_LEN  10
#define TEST_DEVICE_FIFO_SIZE 4096

struct test_device {
	pthread_mutex_t lock;
	uint8_t scratch[0x800];
	uint8_t port_scratch[8];
	uint8_t fifo[TEST_DEVICE_FIFO_SIZE];
	uint32_t fifo_head, fifo_len;
	uint64_t count, last_len, last_offset, last_value;
	uint8_t probe_result;
};

void test_device_init(struct test_device *t);
void test_device_destroy(struct test_device *t);
void test_device_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void test_device_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
