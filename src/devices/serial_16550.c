/*
 * 16550A UART. References: NS16550A datasheet (PC16550D), and Linux's
 * drivers/tty/serial/8250/8250_port.c autoconfig(), which a guest uses to identify us.
 *
 * Model:
 *  - TX is instantaneous: THR and the transmitter are always empty (LSR.THRE|TEMT), a written
 *    byte goes to out_fd (or, in loopback, into the RX FIFO).
 *  - RX is a FIFO of 16 (1 with FIFOs disabled) filled by serial_receive() or by loopback.
 *    Host input is flow-controlled (serial_receive() accepts what fits), so overrun (LSR.OE)
 *    only happens in loopback, as in Linux's FIFO-size probe.
 *  - No timers: data present below the FIFO trigger level is reported at once as a character
 *    timeout (IIR 0x0c), so the guest always learns about it.
 *  - The interrupt line is level driven: (any enabled source pending) && MCR.OUT2 && !loopback.
 *    The OUT2 pin gates the IRQ on PC boards; loopback forces the OUT pins inactive.
 */
#include "devices/serial_16550.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct serial {
	pthread_mutex_t lock;
	const struct irq_line *irq;
	int out_fd;
	int rx_space_fd;
	bool output_detached; /* set once the VM stops: output is dropped, never waited for */

	uint8_t dll, dlm;
	uint8_t ier;
	uint8_t fcr; /* UART_FCR_ENABLE_FIFO | trigger bits | DMA select; 0 when disabled */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_errors; /* sticky LSR error bits (only OE), cleared by reading LSR */
	uint8_t msr;	    /* status bits 7:4 and delta bits 3:0 */
	uint8_t scr;

	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned int rx_head; /* index of the oldest byte */
	unsigned int rx_count;
	bool rx_waiter; /* serial_receive() found the FIFO full: signal rx_space_fd on drain */

	bool thr_ipending; /* THRE interrupt pending (cleared by IIR read or THR write) */
	int irq_level;
};

static bool serial_fifo_enabled(const struct serial *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

static unsigned int serial_rx_capacity(const struct serial *s)
{
	return serial_fifo_enabled(s) ? UART_FIFO_SIZE : 1;
}

static unsigned int serial_rx_trigger(const struct serial *s)
{
	static const unsigned int levels[4] = {1, 4, 8, 14};

	if (!serial_fifo_enabled(s))
		return 1;
	return levels[(s->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

/* The modem status inputs: wired to MCR in loopback, else a modem that is always ready. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
	uint8_t in = 0;

	if (!(s->mcr & UART_MCR_LOOP))
		return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	if (s->mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

/* Latch new modem inputs into MSR, setting the delta bits for what changed. */
static void serial_update_msr(struct serial *s)
{
	uint8_t old = s->msr & 0xf0;
	uint8_t now = serial_modem_inputs(s);
	uint8_t changed = old ^ now;
	uint8_t delta = s->msr & UART_MSR_DELTA_MASK;

	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI)) /* trailing edge only */
		delta |= UART_MSR_TERI;
	s->msr = now | delta;
}

/* Interrupt identification, highest priority first (datasheet table IV). */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr_errors & UART_LSR_OE))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count > 0)
		return s->rx_count >= serial_rx_trigger(s) ? UART_IIR_RDI : UART_IIR_TIMEOUT;
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTA_MASK))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	int level = serial_iir_id(s) != UART_IIR_NO_INT && (s->mcr & UART_MCR_OUT2) &&
		    !(s->mcr & UART_MCR_LOOP);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(s->irq, level);
	}
}

static void serial_signal_rx_space(struct serial *s)
{
	uint64_t one = 1;

	if (!s->rx_waiter)
		return;
	s->rx_waiter = false;
	/* Non-blocking; EAGAIN means the counter is already huge, i.e. readable. */
	if (write(s->rx_space_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_once(log_warn, "serial: signalling rx space");
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	serial_signal_rx_space(s);
}

/* A byte arrives at the receiver (from the host or from loopback). */
static bool serial_rx_push(struct serial *s, uint8_t byte)
{
	if (!serial_fifo_enabled(s)) {
		/* 16450 behaviour: an unread RBR is overwritten and OE reports the loss. */
		if (s->rx_count)
			s->lsr_errors |= UART_LSR_OE;
		s->rx_head = 0;
		s->rx_fifo[0] = byte;
		s->rx_count = 1;
		return true;
	}
	if (s->rx_count >= UART_FIFO_SIZE) {
		/* FIFO full: the character in the shift register is lost. */
		s->lsr_errors |= UART_LSR_OE;
		return false;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = byte;
	s->rx_count++;
	return true;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
	s->rx_count--;
	if (!s->rx_count)
		serial_signal_rx_space(s);
	return byte;
}

/* Blocking on a terminal is acceptable; a full non-blocking fd drops the byte. */
static void serial_tx_out(struct serial *s, uint8_t byte)
{
	ssize_t n;

	if (s->out_fd < 0 || __atomic_load_n(&s->output_detached, __ATOMIC_SEQ_CST))
		return;
	for (;;) {
		n = write(s->out_fd, &byte, 1);
		if (n == 1)
			return;
		/* A stopping VM kicks us out of a write blocked on a full pipe or terminal. */
		if (n < 0 && errno == EINTR &&
		    !__atomic_load_n(&s->output_detached, __ATOMIC_SEQ_CST))
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			log_once(log_warn, "serial: writing console output");
		return; /* EAGAIN, error, or a zero-length write: drop the byte */
	}
}

static void serial_write_thr(struct serial *s, uint8_t byte)
{
	s->thr_ipending = false;
	if (s->mcr & UART_MCR_LOOP)
		serial_rx_push(s, byte);
	else
		serial_tx_out(s, byte);
	/* The byte left at once: THR is empty again, which is a new THRE event. */
	s->thr_ipending = true;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	uint8_t old = s->ier;

	s->ier = val & UART_IER_MASK;
	/* Setting ETBEI while THR is empty (always, here) raises THRE; clearing it drops it. */
	if (!(s->ier & UART_IER_THRI))
		s->thr_ipending = false;
	else if (!(old & UART_IER_THRI))
		s->thr_ipending = true;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	bool was_enabled = serial_fifo_enabled(s);

	/* FCR0 must be set for the other bits to be programmed; toggling it clears both FIFOs. */
	if (!(val & UART_FCR_ENABLE_FIFO)) {
		s->fcr = 0;
		if (was_enabled)
			serial_rx_clear(s);
		return;
	}
	s->fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT | UART_FCR_TRIGGER_MASK);
	if (!was_enabled || (val & UART_FCR_CLEAR_RCVR))
		serial_rx_clear(s);
	/* UART_FCR_CLEAR_XMIT: the TX FIFO is always empty. */
}

static void serial_write(struct serial *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER:
		if (dlab)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & UART_MCR_MASK;
		serial_update_msr(s);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR, MSR: factory test registers, writes ignored */
		break;
	}
}

static uint8_t serial_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t val;

	switch (reg) {
	case UART_RBR:
		return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		val = serial_iir_id(s);
		/* Reading IIR acknowledges a THRE interrupt when that is what it reports. */
		if (val == UART_IIR_THRI)
			s->thr_ipending = false;
		if (serial_fifo_enabled(s))
			val |= UART_IIR_FIFO_BITS;
		return val;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | s->lsr_errors;
		if (s->rx_count)
			val |= UART_LSR_DR;
		s->lsr_errors = 0;
		return val;
	case UART_MSR:
		val = s->msr;
		s->msr &= ~UART_MSR_DELTA_MASK;
		return val;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	if (!len)
		return;
	if (offset >= UART_NR_PORTS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		serial_write(s, (unsigned int)offset, data[0]);
	} else {
		data[0] = serial_read(s, (unsigned int)offset);
		memset(data + 1, 0xff, len - 1);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->mcr & UART_MCR_LOOP) {
		/* Serial input is disconnected in loopback: what arrives on the wire is lost. */
		n = len;
		goto out;
	}
	while (n < len && s->rx_count < serial_rx_capacity(s))
		serial_rx_push(s, buf[n++]);
	if (s->rx_count >= serial_rx_capacity(s))
		s->rx_waiter = true;
	serial_update_irq(s);
out:
	pthread_mutex_unlock(&s->lock);
	return n;
}

int serial_rx_space_fd(struct serial *s)
{
	return s->rx_space_fd;
}

struct serial *serial_create(const struct irq_line *irq, int out_fd)
{
	struct serial *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("serial: allocating device");
		return NULL;
	}
	s->rx_space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->rx_space_fd < 0) {
		err = errno;
		log_error("serial: eventfd");
		goto err_free;
	}
	err = pthread_mutex_init(&s->lock, NULL);
	if (err) {
		errno = err;
		log_error("serial: mutex");
		goto err_close;
	}
	s->irq = irq;
	s->out_fd = out_fd;
	/* Reset values (datasheet table III); the divisor is left at 115200 baud. */
	s->dll = 1;
	s->msr = serial_modem_inputs(s);
	return s;

err_close:
	close(s->rx_space_fd);
err_free:
	free(s);
	errno = err;
	return NULL;
}

void serial_detach_output(struct serial *s)
{
	if (s)
		__atomic_store_n(&s->output_detached, true, __ATOMIC_SEQ_CST);
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	close(s->rx_space_fd);
	free(s);
}
