/*
 * reset: the guest asks for a reset and must not get to run on. With --on-reboot exit
 * kvmbox then ends with status 0 and no SUMMARY line appears.
 *
 * cmdline: method=cf9 (write value= to the reset control register 0xcf9, default 0x06)
 *          method=i8042 (pulse the reset line: command 0xfe to port 0x64)
 *          A value without the RST_CPU bit (value=0x02) must not reset: that run FAILs.
 */
#include "guest.h"

int main(void)
{
	size_t len = 0;
	const char *method = cmdline_get("method", &len);
	uint64_t value = 0x06;

	cmdline_u64("value", &value);
	if (method && len == 3 && !strncmp(method, "cf9", 3)) {
		printf("resetting via 0xcf9 (value 0x%lx)\n", value);
		outb(0xcf9, (uint8_t)value);
	} else if (method && len == 5 && !strncmp(method, "i8042", 5)) {
		printf("resetting via i8042 (command 0xfe to port 0x64)\n");
		outb(0x64, 0xfe);
	} else {
		abort_test("method=cf9 or method=i8042 on the command line");
	}
	delay_us(200000);
	report(false, "the reset request ended the VM (still running 200 ms later)");
	return 0;
}
