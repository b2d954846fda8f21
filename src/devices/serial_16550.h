/*
 * A 16550A UART (8 I/O ports). Transmission is instantaneous: a byte written to THR goes to
 * out_fd at once and THR is empty again. Received bytes come from the host through
 * serial_receive() into a 16-byte RX FIFO. Interrupts drive one level-triggered line, gated
 * by MCR.OUT2 as on PC boards. Enough of the chip is modelled for Linux's 8250 autoconfig
 * (loopback, scratch, FIFO identification) to report a 16550A.
 *
 * Accesses wider than one byte use only the first byte: writes take data[0], reads fill
 * data[0] with the register and the other bytes with 0xff (an undriven bus).
 */
#ifndef KVMBOX_DEVICES_SERIAL_16550_H
#define KVMBOX_DEVICES_SERIAL_16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "irq.h"

#define UART_NR_PORTS  8
#define UART_FIFO_SIZE 16

/* Register offsets (NS16550A datasheet, table II). */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01 /* received data available (and character timeout) */
#define UART_IER_THRI 0x02 /* THR empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */
#define UART_IER_MASK 0x0f

#define UART_IIR_NO_INT	   0x01
#define UART_IIR_MSI	   0x00
#define UART_IIR_THRI	   0x02
#define UART_IIR_RDI	   0x04
#define UART_IIR_RLSI	   0x06
#define UART_IIR_TIMEOUT   0x0c
#define UART_IIR_ID_MASK   0x0f
#define UART_IIR_FIFO_BITS 0xc0 /* both set: FIFOs enabled (16550A) */

#define UART_FCR_ENABLE_FIFO  0x01
#define UART_FCR_CLEAR_RCVR   0x02
#define UART_FCR_CLEAR_XMIT   0x04
#define UART_FCR_DMA_SELECT   0x08
#define UART_FCR_TRIGGER_1    0x00
#define UART_FCR_TRIGGER_4    0x40
#define UART_FCR_TRIGGER_8    0x80
#define UART_FCR_TRIGGER_14   0xc0
#define UART_FCR_TRIGGER_MASK 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_DCTS	    0x01
#define UART_MSR_DDSR	    0x02
#define UART_MSR_TERI	    0x04
#define UART_MSR_DDCD	    0x08
#define UART_MSR_DELTA_MASK 0x0f
#define UART_MSR_CTS	    0x10
#define UART_MSR_DSR	    0x20
#define UART_MSR_RI	    0x40
#define UART_MSR_DCD	    0x80

struct serial;

/*
 * out_fd: where transmitted bytes go (-1 = discard); not owned, never closed here.
 * irq: the UART's interrupt line (may be NULL); must outlive the device.
 * Returns NULL (errno set, logged) on failure.
 */
struct serial *serial_create(const struct irq_line *irq, int out_fd);
void serial_destroy(struct serial *s);
/* From any thread when the VM stops: later output is dropped and a write blocked on a full
 * output (interrupted by the vCPU kick) gives up, so a stopped reader cannot hang kvmbox. */
void serial_detach_output(struct serial *s);

/* Bus handler for the 8 ports; opaque is the struct serial. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Host side input: queue bytes for the guest. Returns how many were accepted (the RX FIFO
 * holds 16 bytes; with the FIFO disabled, 1). Raises the RX interrupt as configured. Bytes
 * sent while the guest has the UART in loopback mode are accepted and dropped, as the chip
 * disconnects its serial input then. Thread-safe.
 */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/*
 * A non-blocking eventfd that becomes readable when the guest empties the RX FIFO after
 * serial_receive() found it (or left it) full, so the console thread can poll it instead of
 * busy-waiting. The reader clears it with read(); wake-ups may be spurious, never lost.
 */
int serial_rx_space_fd(struct serial *s);

#endif
