#include "devices/debug_exit.h"

#include <string.h>

int debug_exit_status(uint32_t value)
{
	return (int)(((value << 1) | 1) & 0xff);
}

void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct debug_exit *d = opaque;
	uint32_t v = 0;

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	memcpy(&v, data, len < 4 ? len : 4);
	d->exit(d->ctx, debug_exit_status(v));
}
