/*
 * exitbench: the cost of one exit to the VMM's userspace and back, for bench/ (not a
 * conformance check). It times n writes to a device the VMM emulates in userspace:
 *   pio   out to port pio= (default 0xe0: kvmbox's --test-device, QEMU's pc-testdev) from
 *         ring 0 (on kvm_pvm hosts ring 3 cannot do port I/O, see README.md);
 *   mmio  32-bit stores to mmio= (kvmbox's test device at 0xfe000000; QEMU's pc-testdev
 *         at 0xff000000) from a loop in ring 3, where guest code runs natively;
 *   ring0 the same ring-0 loop without the out (what the PIO figure includes besides exits).
 * Prints one line per figure: "exitbench: <name> <n> exits <ns> ns/exit", timed with the TSC.
 * Its frequency comes from tsc_khz= (the host's: guest and host TSC tick alike without TSC
 * scaling), else from the runtime's calibration, which needs an ACPI PM timer or a PIT.
 *
 * cmdline: n=100000 pio=0xe0 mmio=0xfe000000 tsc_khz=2600000
 */
#include "guest.h"

static uint64_t n = 100000, pio_port = 0xe0, mmio_addr = 0xfe000000, khz;

static uint64_t ns(uint64_t ticks)
{
	return ticks * 1000000 / khz;
}

static void print_figure(const char *name, uint64_t ticks)
{
	uint64_t total = ns(ticks);

	printf("exitbench: %s %lu exits %lu.%02lu ns/exit\n", name, n, total / n,
	       total % n * 100 / n);
}

static uint64_t pio_loop(void)
{
	uint64_t t0 = rdtsc();

	for (uint64_t i = 0; i < n; i++)
		outb((uint16_t)pio_port, (uint8_t)i);
	return rdtsc() - t0;
}

static uint64_t ring0_loop(void)
{
	uint64_t t0 = rdtsc();

	for (uint64_t i = 0; i < n; i++)
		asm volatile("" ::"r"(i) : "memory");
	return rdtsc() - t0;
}

static uint64_t mmio_loop_user(void *arg)
{
	volatile uint32_t *reg = arg;
	uint64_t t0 = rdtsc();

	for (uint64_t i = 0; i < n; i++)
		*reg = (uint32_t)i;
	return rdtsc() - t0;
}

int main(void)
{
	cmdline_u64("n", &n);
	cmdline_u64("pio", &pio_port);
	cmdline_u64("mmio", &mmio_addr);
	if (!cmdline_u64("tsc_khz", &khz))
		khz = tsc_khz();
	if (n == 0 || khz == 0)
		abort_test("n= and tsc_khz= must be at least 1");
	printf("exitbench: TSC %lu kHz\n", khz);
	print_figure("pio", pio_loop());
	print_figure("ring0-loop", ring0_loop());
	print_figure("mmio", run_user(mmio_loop_user, (void *)mmio_addr, false));
	report(true, "exitbench ran");
	return 0;
}
