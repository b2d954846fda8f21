#include "devices/test_device.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REG_COUNT	   0x800
#define REG_LAST_LEN	   0x808
#define REG_LAST_OFFSET	   0x810
#define REG_LAST_VALUE	   0x818
#define PORT_FIFO	   8
#define PORT_SANDBOX_PROBE 9

void test_device_init(struct test_device *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void test_device_destroy(struct test_device *t)
{
	pthread_mutex_destroy(&t->lock);
}

static void record(struct test_device *t, uint64_t offset, const uint8_t *data, uint32_t len,
		   bool is_write)
{
	t->count++;
	t->last_len = len;
	t->last_offset = offset;
	t->last_value = 0;
	if (is_write)
		memcpy(&t->last_value, data, len);
}

static uint64_t reg_value(struct test_device *t, uint64_t reg)
{
	switch (reg) {
	case REG_COUNT:
		return t->count;
	case REG_LAST_LEN:
		return t->last_len;
	case REG_LAST_OFFSET:
		return t->last_offset;
	case REG_LAST_VALUE:
		return t->last_value;
	default:
		return ~0ULL;
	}
}

void test_device_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct test_device *t = opaque;

	pthread_mutex_lock(&t->lock);
	if (offset + len <= sizeof(t->scratch)) {
		if (is_write)
			memcpy(t->scratch + offset, data, len);
		else
			memcpy(data, t->scratch + offset, len);
	} else if (!is_write) {
		/* Registers are read whole or in part from their 8-byte-aligned start. */
		uint64_t v = reg_value(t, offset & ~7ULL) >> (8 * (offset & 7));
		memcpy(data, &v, len);
	}
	/* Reading the registers does not count: the guest reads them to check the others. */
	if (offset < sizeof(t->scratch) || is_write)
		record(t, offset, data, len, is_write);
	pthread_mutex_unlock(&t->lock);
}

static void fifo_io(struct test_device *t, uint8_t *data, uint32_t len, bool is_write)
{
	for (uint32_t i = 0; i < len; i++) {
		if (is_write) {
			if (t->fifo_len < TEST_DEVICE_FIFO_SIZE) {
				t->fifo[(t->fifo_head + t->fifo_len) % TEST_DEVICE_FIFO_SIZE] =
				    data[i];
				t->fifo_len++;
			}
		} else if (t->fifo_len) {
			data[i] = t->fifo[t->fifo_head];
			t->fifo_head = (t->fifo_head + 1) % TEST_DEVICE_FIFO_SIZE;
			t->fifo_len--;
		} else {
			data[i] = 0xff;
		}
	}
}

static void sandbox_probe(struct test_device *t, uint8_t *data, uint32_t len, bool is_write)
{
	if (is_write) {
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		t->probe_result = fd < 0 ? (uint8_t)errno : 0;
		if (fd >= 0)
			close(fd);
	} else {
		memset(data, 0, len);
		data[0] = t->probe_result;
	}
}

void test_device_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct test_device *t = opaque;

	pthread_mutex_lock(&t->lock);
	if (offset == PORT_FIFO) {
		fifo_io(t, data, len, is_write);
	} else if (offset == PORT_SANDBOX_PROBE) {
		sandbox_probe(t, data, len, is_write);
	} else if (offset + len <= sizeof(t->port_scratch)) {
		if (is_write)
			memcpy(t->port_scratch + offset, data, len);
		else
			memcpy(data, t->port_scratch + offset, len);
	} else if (!is_write) {
		memset(data, 0xff, len);
	}
	record(t, offset, data, len, is_write);
	pthread_mutex_unlock(&t->lock);
}
