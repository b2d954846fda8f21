/* Unit tests for the 16550A UART model: registers poked directly, no guest. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/serial_16550.h"

/* A fake interrupt line that records what the device drives. */
struct fake_irq {
	int level;
	int calls;
	int raises;
};

static void fake_set_level(void *ctx, uint32_t gsi, int level)
{
	struct fake_irq *f = ctx;

	f->level = level;
	f->calls++;
	if (level)
		f->raises++;
}

struct fixture {
	struct fake_irq fake;
	struct irq_line line;
	struct serial *s;
	int pipe_fd[2]; /* out_fd is pipe_fd[1] */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pipe2(f->pipe_fd, O_NONBLOCK | O_CLOEXEC), 0);
	f->line = (struct irq_line){.set_level = fake_set_level, .ctx = &f->fake, .gsi = 4};
	f->s = serial_create(&f->line, f->pipe_fd[1]);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(f->s);
	close(f->pipe_fd[0]);
	close(f->pipe_fd[1]);
	free(f);
	return 0;
}

static void outb(struct serial *s, unsigned int reg, uint8_t val)
{
	serial_io(s, reg, &val, 1, true);
}

static uint8_t inb(struct serial *s, unsigned int reg)
{
	uint8_t val = 0x5a;

	serial_io(s, reg, &val, 1, false);
	return val;
}

static void rx(struct serial *s, const char *str)
{
	size_t len = strlen(str);

	assert_int_equal(serial_receive(s, (const uint8_t *)str, len), len);
}

static void serial__dlab_selects_divisor_latch(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;

	outb(s, UART_IER, 0x05);
	outb(s, UART_LCR, UART_LCR_DLAB | 0x03);
	outb(s, UART_DLL, 0x0c);
	outb(s, UART_DLM, 0x34);
	assert_int_equal(inb(s, UART_DLL), 0x0c);
	assert_int_equal(inb(s, UART_DLM), 0x34);
	/* Writing THR's port with DLAB set transmitted nothing. */
	assert_int_equal(read(f->pipe_fd[0], &(char){0}, 1), -1);
	outb(s, UART_LCR, 0x03);
	assert_int_equal(inb(s, UART_LCR), 0x03);
	assert_int_equal(inb(s, UART_IER), 0x05);
	rx(s, "x");
	assert_int_equal(inb(s, UART_RBR), 'x');
	outb(s, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(inb(s, UART_DLL), 0x0c);
	assert_int_equal(inb(s, UART_DLM), 0x34);
}

static void serial__ier_masks_interrupt_sources(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;

	/* Only the four enable bits exist (Linux's XScale UUE probe relies on bit 6 reading 0). */
	outb(s, UART_IER, 0xff);
	assert_int_equal(inb(s, UART_IER), 0x0f);
	outb(s, UART_IER, 0);
	assert_int_equal(inb(s, UART_IER), 0);

	rx(s, "a");
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
	outb(s, UART_IER, UART_IER_RDI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_RDI);
	outb(s, UART_IER, UART_IER_THRI | UART_IER_MSI | UART_IER_RLSI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_THRI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(inb(s, UART_RBR), 'a');
}

static void serial__iir_reports_highest_priority_source(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	int i;

	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_1);
	outb(s, UART_IER, UART_IER_MASK);
	/* Make every source pending: overrun via loopback, a modem status change, THRE. */
	outb(s, UART_MCR, UART_MCR_LOOP);
	for (i = 0; i < UART_FIFO_SIZE + 1; i++)
		outb(s, UART_THR, (uint8_t)i);
	outb(s, UART_MCR, 0);

	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_RLSI);
	assert_true(inb(s, UART_LSR) & UART_LSR_OE); /* reading LSR acknowledges it */
	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_RDI);
	for (i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(inb(s, UART_RBR), i);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_THRI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_MSI);
	assert_true(inb(s, UART_MSR) & UART_MSR_DELTA_MASK);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_NO_INT);
}

static void serial__thre_interrupt_raise_and_clear(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;

	outb(s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
	/* Newly setting ETBEI while THR is empty raises THRE. */
	outb(s, UART_IER, UART_IER_THRI);
	assert_int_equal(f->fake.level, 1);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_THRI); /* reading IIR acknowledges it */
	assert_int_equal(f->fake.level, 0);
	/* Re-writing IER with ETBEI still set is not a new event. */
	outb(s, UART_IER, UART_IER_THRI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
	/* Each transmitted byte empties THR again. */
	outb(s, UART_THR, 'a');
	assert_int_equal(f->fake.level, 1);
	assert_true(inb(s, UART_LSR) & UART_LSR_THRE); /* LSR read does not acknowledge */
	assert_int_equal(f->fake.level, 1);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_THRI);
	assert_int_equal(f->fake.level, 0);
	/* Clearing ETBEI drops a pending THRE. */
	outb(s, UART_THR, 'b');
	assert_int_equal(f->fake.level, 1);
	outb(s, UART_IER, 0);
	assert_int_equal(f->fake.level, 0);
	outb(s, UART_IER, UART_IER_THRI);
	assert_int_equal(f->fake.level, 1);

	/* Linux's UART_BUG_THRE test: THRE must reassert when ETBEI is toggled. */
	outb(s, UART_IER, UART_IER_THRI);
	(void)inb(s, UART_IIR);
	outb(s, UART_IER, 0);
	outb(s, UART_IER, UART_IER_THRI);
	assert_false(inb(s, UART_IIR) & UART_IIR_NO_INT);
}

static void serial__rx_fifo_holds_16_and_overrun_sets_oe(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	uint8_t buf[20];
	int i;

	for (i = 0; i < 20; i++)
		buf[i] = (uint8_t)('A' + i);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	/* Host input is flow-controlled: only what fits is accepted, nothing is lost. */
	assert_int_equal(serial_receive(s, buf, sizeof(buf)), UART_FIFO_SIZE);
	assert_int_equal(serial_receive(s, buf, sizeof(buf)), 0);
	assert_int_equal(inb(s, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR);
	for (i = 0; i < UART_FIFO_SIZE; i++) {
		assert_true(inb(s, UART_LSR) & UART_LSR_DR);
		assert_int_equal(inb(s, UART_RBR), 'A' + i);
	}
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);

	/* A 17th character arriving at a full FIFO (loopback) is an overrun. */
	outb(s, UART_MCR, UART_MCR_LOOP);
	for (i = 0; i < 17; i++)
		outb(s, UART_THR, (uint8_t)i);
	assert_int_equal(inb(s, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(inb(s, UART_LSR) & UART_LSR_OE, 0); /* read clears OE */
	for (i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(inb(s, UART_RBR), i); /* the 17th byte was lost */
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);

	/* FCR can clear the receive FIFO. */
	outb(s, UART_THR, 'z');
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);
}

static void serial__fifo_trigger_level(void **state)
{
	static const struct {
		uint8_t fcr;
		int level;
	} cases[] = {
	    {UART_FCR_TRIGGER_1, 1},
	    {UART_FCR_TRIGGER_4, 4},
	    {UART_FCR_TRIGGER_8, 8},
	    {UART_FCR_TRIGGER_14, 14},
	};
	struct fixture *f = *state;
	struct serial *s = f->s;
	size_t c;
	int i;

	outb(s, UART_IER, UART_IER_RDI);
	outb(s, UART_MCR, UART_MCR_OUT2);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | cases[c].fcr);
		assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_NO_INT);
		assert_int_equal(f->fake.level, 0);
		for (i = 1; i <= cases[c].level; i++) {
			rx(s, "x");
			/* Data below the trigger is reported as a character timeout at once. */
			assert_int_equal(inb(s, UART_IIR) & UART_IIR_ID_MASK,
					 i < cases[c].level ? UART_IIR_TIMEOUT : UART_IIR_RDI);
			assert_int_equal(f->fake.level, 1);
		}
	}
	/* Draining below the trigger level goes back to timeout, then to nothing. */
	(void)inb(s, UART_RBR);
	assert_int_equal(inb(s, UART_IIR) & UART_IIR_ID_MASK, UART_IIR_TIMEOUT);
	for (i = 1; i < 14; i++)
		(void)inb(s, UART_RBR);
	assert_int_equal(inb(s, UART_IIR) & UART_IIR_ID_MASK, UART_IIR_NO_INT);
	assert_int_equal(f->fake.level, 0);
}

static void serial__fifo_disabled_receives_one_byte(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	uint8_t val;

	/* Reset state: FIFOs off, IIR bits 7:6 clear. */
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(serial_receive(s, (const uint8_t *)"abc", 3), 1);
	assert_int_equal(serial_receive(s, (const uint8_t *)"bc", 2), 0);
	outb(s, UART_IER, UART_IER_RDI);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_RDI); /* trigger is 1: never a timeout */
	assert_int_equal(inb(s, UART_RBR), 'a');
	assert_int_equal(serial_receive(s, (const uint8_t *)"bc", 2), 1);
	assert_int_equal(inb(s, UART_RBR), 'b');

	/* Enabling the FIFO clears it and allows 16; disabling clears again. */
	rx(s, "q");
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);
	rx(s, "0123456789abcdef");
	outb(s, UART_FCR, 0);
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);

	/* Loopback without FIFO: an unread RBR is overwritten, with OE. */
	outb(s, UART_MCR, UART_MCR_LOOP);
	outb(s, UART_THR, '1');
	outb(s, UART_THR, '2');
	val = inb(s, UART_LSR);
	assert_int_equal(val & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(inb(s, UART_RBR), '2');
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);
}

static void serial__loopback_routes_tx_to_rx_and_mcr_to_msr(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	char c;

	/* Out of loopback the modem is ready: CTS, DSR, DCD. */
	assert_int_equal(inb(s, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);

	outb(s, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(inb(s, UART_MSR) & 0xf0, 0);
	outb(s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	assert_int_equal(inb(s, UART_MSR), UART_MSR_DSR | UART_MSR_DDSR);
	outb(s, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	assert_int_equal(inb(s, UART_MSR), UART_MSR_CTS | UART_MSR_DCTS | UART_MSR_DDSR);
	outb(s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	assert_int_equal(inb(s, UART_MSR), UART_MSR_RI | UART_MSR_DCTS);
	outb(s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	assert_int_equal(inb(s, UART_MSR), UART_MSR_DCD | UART_MSR_DDCD | UART_MSR_TERI);
	assert_int_equal(inb(s, UART_MSR), UART_MSR_DCD); /* read cleared the deltas */

	outb(s, UART_THR, 'L');
	assert_true(inb(s, UART_LSR) & UART_LSR_DR);
	assert_int_equal(inb(s, UART_RBR), 'L');
	assert_int_equal(read(f->pipe_fd[0], &c, 1), -1); /* nothing went to the host */
	/* Host input is disconnected in loopback. */
	assert_int_equal(serial_receive(s, (const uint8_t *)"h", 1), 1);
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);

	outb(s, UART_MCR, 0);
	outb(s, UART_THR, 'T');
	assert_int_equal(read(f->pipe_fd[0], &c, 1), 1);
	assert_int_equal(c, 'T');
	assert_false(inb(s, UART_LSR) & UART_LSR_DR);
}

static void serial__msr_deltas_raise_modem_status_interrupt(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;

	outb(s, UART_IER, UART_IER_MSI);
	outb(s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->fake.level, 0);		  /* no deltas at reset */
	outb(s, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP); /* CTS, DSR, DCD drop */
	assert_int_equal(inb(s, UART_IIR), UART_IIR_MSI);
	outb(s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->fake.level, 1);
	/* DCD followed OUT2 in loopback, so only CTS and DSR changed. */
	assert_int_equal(inb(s, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD |
					       UART_MSR_DCTS | UART_MSR_DDSR);
	assert_int_equal(f->fake.level, 0);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_NO_INT);
}

static void serial__out2_gates_irq_line(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	int calls;

	outb(s, UART_IER, UART_IER_RDI);
	rx(s, "x");
	assert_int_equal(inb(s, UART_IIR), UART_IIR_RDI); /* pending ... */
	assert_int_equal(f->fake.calls, 0);		  /* ... but OUT2 is clear */
	outb(s, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	assert_int_equal(f->fake.level, 1);
	assert_int_equal(f->fake.calls, 1);
	/* The line is only driven on changes. */
	calls = f->fake.calls;
	outb(s, UART_SCR, 1);
	(void)inb(s, UART_LSR);
	assert_int_equal(f->fake.calls, calls);
	outb(s, UART_MCR, UART_MCR_DTR);
	assert_int_equal(f->fake.level, 0);
	outb(s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->fake.level, 1);
	/* Loopback forces the OUT pins inactive, disconnecting the IRQ on a PC. */
	outb(s, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	assert_int_equal(f->fake.level, 0);
	outb(s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->fake.level, 1);
	assert_int_equal(inb(s, UART_RBR), 'x');
	assert_int_equal(f->fake.level, 0);
	assert_int_equal(f->fake.raises, 3);
}

static void serial__tx_bytes_reach_out_fd(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	const char *msg = "Linux version 6.x\r\n";
	char buf[64];
	size_t i, n;

	outb(s, UART_LCR, 0x03);
	for (i = 0; msg[i]; i++) {
		assert_true(inb(s, UART_LSR) & UART_LSR_THRE);
		outb(s, UART_THR, (uint8_t)msg[i]);
	}
	n = (size_t)read(f->pipe_fd[0], buf, sizeof(buf));
	assert_int_equal(n, strlen(msg));
	assert_memory_equal(buf, msg, n);
}

static void serial__tx_to_full_nonblocking_fd_drops_bytes(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	int pipe_size = fcntl(f->pipe_fd[1], F_GETPIPE_SZ);
	int i;

	assert_true(pipe_size > 0);
	/* Overfilling a non-blocking pipe must neither block nor fail the device. */
	for (i = 0; i < pipe_size + 100; i++)
		outb(s, UART_THR, 'f');
	assert_true(inb(s, UART_LSR) & UART_LSR_THRE);
}

static void serial__tx_discarded_without_out_fd(void **state)
{
	struct serial *s = serial_create(NULL, -1);

	assert_non_null(s);
	outb(s, UART_IER, UART_IER_MASK);
	outb(s, UART_MCR, UART_MCR_OUT2);
	outb(s, UART_THR, 'x');
	assert_int_equal(serial_receive(s, (const uint8_t *)"y", 1), 1); /* NULL irq is fine */
	assert_int_equal(inb(s, UART_RBR), 'y');
	serial_destroy(s);
}

static bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void serial__rx_space_fd_readable_after_drain(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	int efd = serial_rx_space_fd(s);
	const char *text = "0123456789abcdefXYZ";
	uint64_t cnt;
	int i;

	assert_true(efd >= 0);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(serial_receive(s, (const uint8_t *)text, strlen(text)), 16);
	assert_false(fd_readable(efd));
	for (i = 0; i < 15; i++)
		(void)inb(s, UART_RBR);
	assert_false(fd_readable(efd)); /* not drained yet */
	(void)inb(s, UART_RBR);
	assert_true(fd_readable(efd));
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_false(fd_readable(efd));
	assert_int_equal(serial_receive(s, (const uint8_t *)text + 16, 3), 3);

	/* A FIFO clear by the guest also makes room. */
	assert_int_equal(serial_receive(s, (const uint8_t *)text, 16), 13);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_true(fd_readable(efd));
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));
}

static void serial__wide_access_uses_first_byte(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	uint8_t data[4] = {0x42, 0x99, 0x99, 0x99};

	serial_io(s, UART_SCR, data, 2, true);
	memset(data, 0, sizeof(data));
	serial_io(s, UART_SCR, data, 4, false);
	assert_int_equal(data[0], 0x42);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_int_equal(inb(s, UART_IER), 0); /* the neighbour was not written */
	/* Out of range offsets are refused quietly. */
	serial_io(s, 8, data, 1, true);
	serial_io(s, 1000, data, 4, false);
	assert_int_equal(data[0], 0xff);
	serial_io(s, 0, data, 0, false);
}

static void serial__random_register_writes_do_not_crash(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	unsigned int seed = 12345;
	uint8_t buf[64], data[8];
	int i;

	for (i = 0; i < 100000; i++) {
		unsigned int r = (unsigned int)rand_r(&seed);
		unsigned int reg = r % UART_NR_PORTS;
		uint32_t len = 1 + (r >> 8) % 8;

		memset(data, (int)(r >> 16), sizeof(data));
		switch ((r >> 24) % 8) {
		case 0:
			serial_receive(s, buf, (r >> 4) % sizeof(buf));
			break;
		case 1:
		case 2:
		case 3:
			serial_io(s, reg, data, len, false);
			break;
		default:
			serial_io(s, reg, data, len, true);
			break;
		}
		if (i % 1000 == 0) {
			/* Keep the pipe from filling (it is non-blocking anyway). */
			while (read(f->pipe_fd[0], buf, sizeof(buf)) > 0)
				;
		}
	}
	/* Still a working UART afterwards. */
	outb(s, UART_LCR, 0x03);
	outb(s, UART_MCR, 0);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	rx(s, "ok");
	assert_int_equal(inb(s, UART_RBR), 'o');
	assert_int_equal(inb(s, UART_RBR), 'k');
}

struct hammer {
	struct serial *s;
	unsigned int seed;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint8_t data[8] = {0};
	int i;

	for (i = 0; i < 20000; i++) {
		unsigned int r = (unsigned int)rand_r(&h->seed);

		data[0] = (uint8_t)(r >> 8);
		if (r % 5 == 0)
			serial_receive(h->s, data, 1 + r % 8);
		else
			serial_io(h->s, r % UART_NR_PORTS, data, 1, (r >> 20) & 1);
	}
	return NULL;
}

static void serial__concurrent_access_is_safe(void **state)
{
	struct serial *s = serial_create(NULL, -1);
	struct hammer h[4];
	pthread_t t[4];
	int i;

	assert_non_null(s);
	for (i = 0; i < 4; i++) {
		h[i] = (struct hammer){.s = s, .seed = (unsigned int)i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	serial_destroy(s);
}

/*
 * Linux's probe, transcribed from drivers/tty/serial/8250/8250_port.c: autoconfig(),
 * autoconfig_16550a() and size_fifo() (port I/O, no UPF_* quirk flags). Returns the
 * name Linux would print.
 */
#define UART_EFR	     2 /* with LCR = 0xbf (or 0x80 on ST16C650V1) */
#define UART_LCR_CONF_MODE_A 0x80
#define UART_LCR_CONF_MODE_B 0xbf
#define UART_FCR7_64BYTE     0x20
#define UART_IER_UUE	     0x40

static unsigned int dl_read(struct serial *s)
{
	return inb(s, UART_DLL) | (unsigned int)inb(s, UART_DLM) << 8;
}

static void dl_write(struct serial *s, unsigned int dl)
{
	outb(s, UART_DLL, (uint8_t)dl);
	outb(s, UART_DLM, (uint8_t)(dl >> 8));
}

static int linux_size_fifo(struct serial *s)
{
	uint8_t old_fcr, old_mcr, old_lcr;
	unsigned int old_dl;
	int count;

	old_lcr = inb(s, UART_LCR);
	outb(s, UART_LCR, 0);
	old_fcr = inb(s, UART_FCR);
	old_mcr = inb(s, UART_MCR);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	outb(s, UART_MCR, UART_MCR_LOOP);
	outb(s, UART_LCR, UART_LCR_CONF_MODE_A);
	old_dl = dl_read(s);
	dl_write(s, 1);
	outb(s, UART_LCR, 0x03);
	for (count = 0; count < 256; count++)
		outb(s, UART_THR, (uint8_t)count);
	for (count = 0; (inb(s, UART_LSR) & UART_LSR_DR) && count < 256; count++)
		(void)inb(s, UART_RBR);
	outb(s, UART_FCR, old_fcr);
	outb(s, UART_MCR, old_mcr);
	outb(s, UART_LCR, UART_LCR_CONF_MODE_A);
	dl_write(s, old_dl);
	outb(s, UART_LCR, old_lcr);
	return count;
}

static const char *linux_autoconfig_16550a(struct serial *s)
{
	uint8_t status1, status2, iersave;

	/* EFR present with LCR = 0x80? Only ST16C650V1 passes. */
	outb(s, UART_LCR, UART_LCR_CONF_MODE_A);
	if (inb(s, UART_EFR) == 0)
		return "ST16650 or FSL64 or Motorola";
	/* EFR with LCR = 0xbf? */
	outb(s, UART_LCR, UART_LCR_CONF_MODE_B);
	if (inb(s, UART_EFR) == 0)
		return "EFRv2 (ST16650V2/XR16C850/16C950)";
	/* National Semiconductor SuperIO: EXCR1 in bank 2 mirrors MCR.LOOP. */
	outb(s, UART_LCR, 0);
	status1 = inb(s, UART_MCR);
	outb(s, UART_LCR, 0xe0);
	status2 = inb(s, 0x02);
	if (!((status2 ^ status1) & UART_MCR_LOOP)) {
		outb(s, UART_LCR, 0);
		outb(s, UART_MCR, status1 ^ UART_MCR_LOOP);
		outb(s, UART_LCR, 0xe0);
		status2 = inb(s, 0x02);
		outb(s, UART_LCR, 0);
		outb(s, UART_MCR, status1);
		if ((status2 ^ status1) & UART_MCR_LOOP)
			return "NS16550A";
	}
	/* TI16750: IIR bit 5 follows FCR bit 5 only with DLAB set. */
	outb(s, UART_LCR, 0);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	status1 = inb(s, UART_IIR) >> 5;
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	outb(s, UART_LCR, UART_LCR_CONF_MODE_A);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
	status2 = inb(s, UART_IIR) >> 5;
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	outb(s, UART_LCR, 0);
	if (status1 == 6 && status2 == 7)
		return "TI16750";
	/* XScale: IER bit 6 (UUE) is writable. */
	iersave = inb(s, UART_IER);
	outb(s, UART_IER, iersave & ~UART_IER_UUE);
	if (!(inb(s, UART_IER) & UART_IER_UUE)) {
		outb(s, UART_IER, iersave | UART_IER_UUE);
		if (inb(s, UART_IER) & UART_IER_UUE)
			return "XScale";
	}
	outb(s, UART_IER, iersave);
	if (linux_size_fifo(s) == 64)
		return "U6_16550A";
	return "16550A";
}

static const char *linux_autoconfig(struct serial *s)
{
	uint8_t scratch, scratch2, scratch3, status1, save_mcr, save_lcr;
	const char *type = "unknown";

	/* IER existence test. */
	scratch = inb(s, UART_IER);
	outb(s, UART_IER, 0);
	scratch2 = inb(s, UART_IER) & 0x0f;
	outb(s, UART_IER, 0x0f);
	scratch3 = inb(s, UART_IER) & 0x0f;
	outb(s, UART_IER, scratch);
	if (scratch2 != 0 || scratch3 != 0x0f)
		return "IER test failed";

	save_mcr = inb(s, UART_MCR);
	save_lcr = inb(s, UART_LCR);
	/* Loopback test: RTS|OUT2 must come back as CTS|DCD. */
	outb(s, UART_MCR, UART_MCR_LOOP | 0x0a);
	status1 = inb(s, UART_MSR) & 0xf0;
	outb(s, UART_MCR, save_mcr);
	if (status1 != 0x90)
		return "LOOP test failed";

	outb(s, UART_LCR, UART_LCR_CONF_MODE_B);
	outb(s, UART_EFR, 0);
	outb(s, UART_LCR, 0);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	switch (inb(s, UART_IIR) >> 6) {
	case 0: {
		uint8_t st1, st2;

		type = "8250";
		scratch = inb(s, UART_SCR);
		outb(s, UART_SCR, 0xa5);
		st1 = inb(s, UART_SCR);
		outb(s, UART_SCR, 0x5a);
		st2 = inb(s, UART_SCR);
		outb(s, UART_SCR, scratch);
		if (st1 == 0xa5 && st2 == 0x5a)
			type = "16450";
		break;
	}
	case 1:
		type = "unknown";
		break;
	case 2:
		type = "16550";
		break;
	case 3:
		type = linux_autoconfig_16550a(s);
		break;
	}
	outb(s, UART_LCR, save_lcr);
	/* Reset the UART: restore MCR, serial8250_clear_fifos(), drain RX, IER = 0. */
	outb(s, UART_MCR, save_mcr);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO);
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	outb(s, UART_FCR, 0);
	(void)inb(s, UART_RBR);
	outb(s, UART_IER, 0);
	return type;
}

static void serial__linux_autoconfig_detects_16550a(void **state)
{
	struct fixture *f = *state;
	struct serial *s = f->s;
	char c;

	/* As the firmware/early console would leave it: 115200 8N1, DTR|RTS|OUT2. */
	outb(s, UART_LCR, UART_LCR_DLAB);
	dl_write(s, 1);
	outb(s, UART_LCR, 0x03);
	outb(s, UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);

	assert_string_equal(linux_autoconfig(s), "16550A");
	assert_int_equal(linux_size_fifo(s), UART_FIFO_SIZE);

	/* The probe left the port as it found it, and nothing leaked to the host. */
	assert_int_equal(inb(s, UART_LCR), 0x03);
	assert_int_equal(inb(s, UART_MCR), UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	outb(s, UART_LCR, UART_LCR_DLAB | 0x03);
	assert_int_equal(dl_read(s), 1);
	outb(s, UART_LCR, 0x03);
	assert_int_equal(read(f->pipe_fd[0], &c, 1), -1);
	assert_int_equal(inb(s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(f->fake.level, 0);

	/* Linux then programs the FIFO as uart_config[PORT_16550A].fcr. */
	outb(s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
	assert_int_equal(inb(s, UART_IIR), UART_IIR_FIFO_BITS | UART_IIR_NO_INT);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(serial__dlab_selects_divisor_latch),
	    T(serial__ier_masks_interrupt_sources),
	    T(serial__iir_reports_highest_priority_source),
	    T(serial__thre_interrupt_raise_and_clear),
	    T(serial__rx_fifo_holds_16_and_overrun_sets_oe),
	    T(serial__fifo_trigger_level),
	    T(serial__fifo_disabled_receives_one_byte),
	    T(serial__loopback_routes_tx_to_rx_and_mcr_to_msr),
	    T(serial__msr_deltas_raise_modem_status_interrupt),
	    T(serial__out2_gates_irq_line),
	    T(serial__tx_bytes_reach_out_fd),
	    T(serial__tx_to_full_nonblocking_fd_drops_bytes),
	    cmocka_unit_test(serial__tx_discarded_without_out_fd),
	    T(serial__rx_space_fd_readable_after_drain),
	    T(serial__wide_access_uses_first_byte),
	    T(serial__random_register_writes_do_not_crash),
	    cmocka_unit_test(serial__concurrent_access_is_safe),
	    T(serial__linux_autoconfig_detects_16550a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
