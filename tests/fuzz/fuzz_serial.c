/*
 * The 16550A UART (devices/serial_16550.c) driven at the register level by a guest, on a PIO
 * bus at COM1, with host input arriving in between. The input is a list of operations:
 *   0 reg:u8 w:u8 value:u64  write: port COM1 + reg % 10 (the last two are unclaimed), width
 *                            1..8
 *   1 reg:u8 w:u8            read, the same ports and widths
 *   2 n:u8 bytes:n%32        host input: serial_receive()
 *   3                        the console thread drains the "RX space" eventfd
 * Transmitted bytes are discarded (out_fd -1). The interrupt line records its level.
 * Properties: the line is only driven to 0 or 1 and only when it changes; it is never high
 * while MCR.OUT2 is clear or loopback is on (the PC board gates it); serial_receive accepts
 * at most what the FIFO holds, and everything in loopback (where input is dropped); an
 * unclaimed port reads as all ones.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/platform.h"
#include "bus.h"
#include "devices/serial_16550.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio();
	return 0;
}

static uint8_t read_mcr(struct bus *b)
{
	uint8_t mcr;

	bus_dispatch(b, PORT_COM1 + UART_MCR, &mcr, 1, false); /* no side effects */
	return mcr;
}

static void check_irq(struct bus *b, const struct fuzz_irq *irq, unsigned long *changes)
{
	uint8_t mcr = read_mcr(b);

	FUZZ_CHECK(irq->changes <= *changes + 1, "line driven %lu times by one access",
		   irq->changes - *changes);
	*changes = irq->changes;
	if (irq->level)
		FUZZ_CHECK((mcr & UART_MCR_OUT2) && !(mcr & UART_MCR_LOOP),
			   "interrupt raised with MCR %#x", mcr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);
	struct fuzz_irq irq;
	unsigned long changes = 0;
	struct serial *s;
	struct bus b;

	fuzz_irq_init(&irq, IRQ_COM1, true); /* serial_update_irq drives changes */
	s = serial_create(&irq.line, -1);
	if (!s)
		abort();
	bus_init(&b, "pio");
	if (bus_register(&b, PORT_COM1, UART_NR_PORTS, serial_io, s, "serial") < 0)
		abort();

	while (fuzz_more(&r)) {
		uint8_t op = fuzz_u8(&r) % 4, buf[32];
		uint16_t port;
		uint32_t width;
		size_t n, accepted;
		uint64_t value, count;
		uint8_t mcr;

		switch (op) {
		case 0:
			port = PORT_COM1 + fuzz_u8(&r) % 10;
			width = fuzz_width(&r);
			value = fuzz_u64(&r);
			memcpy(buf, &value, sizeof(value));
			bus_dispatch(&b, port, buf, width, true);
			break;
		case 1:
			port = PORT_COM1 + fuzz_u8(&r) % 10;
			width = fuzz_width(&r);
			memset(buf, 0x5a, sizeof(buf));
			bus_dispatch(&b, port, buf, width, false);
			for (uint32_t i = port < PORT_COM1 + UART_NR_PORTS ? 1 : 0; i < width; i++)
				FUZZ_CHECK(buf[i] == 0xff, "port %#x width %u byte %u reads %#x",
					   port, width, i, buf[i]);
			break;
		case 2:
			n = fuzz_u8(&r) % 32;
			fuzz_bytes(&r, buf, n);
			mcr = read_mcr(&b);
			accepted = serial_receive(s, buf, n);
			if (mcr & UART_MCR_LOOP)
				FUZZ_CHECK(accepted == n, "loopback took %zu of %zu", accepted, n);
			else
				FUZZ_CHECK(accepted <= n && accepted <= UART_FIFO_SIZE,
					   "accepted %zu of %zu", accepted, n);
			break;
		default:
			if (read(serial_rx_space_fd(s), &count, sizeof(count)) == sizeof(count))
				FUZZ_CHECK(count > 0, "eventfd read 0");
			break;
		}
		check_irq(&b, &irq, &changes);
	}
	bus_destroy(&b);
	serial_destroy(s);
	return 0;
}
