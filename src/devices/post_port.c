#include "devices/post_port.h"

void post_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct post_port *p = opaque;

	if (is_write) {
		__atomic_store_n(&p->last, data[0], __ATOMIC_RELAXED);
		return;
	}
	data[0] = __atomic_load_n(&p->last, __ATOMIC_RELAXED);
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0xff;
}
