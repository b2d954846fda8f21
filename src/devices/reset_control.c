#include "devices/reset_control.h"

#define RC_SYS_RST  0x02 /* hard (system) reset instead of soft */
#define RC_RST_CPU  0x04 /* 0 -> 1 starts the reset */
#define RC_FULL_RST 0x08

void reset_control_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct reset_control *rc = opaque;
	uint8_t v;

	if (!is_write) {
		data[0] = __atomic_load_n(&rc->value, __ATOMIC_RELAXED);
		for (uint32_t i = 1; i < len; i++)
			data[i] = 0xff;
		return;
	}
	v = data[0] & (RC_SYS_RST | RC_FULL_RST);
	__atomic_store_n(&rc->value, v, __ATOMIC_RELAXED);
	if ((data[0] & RC_RST_CPU) && rc->reset)
		rc->reset(rc->ctx);
}
