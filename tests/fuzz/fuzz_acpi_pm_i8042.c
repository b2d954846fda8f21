/*
 * The small register-level devices, on PIO and MMIO buses at their real addresses: ACPI PM
 * (0x600), i8042 (0x60, 0x64), reset control (0xcf9), POST (0x80), debug exit (0xf4) and the
 * test device (ports 0xe0, MMIO page 0xfe000000). The input is a list of accesses:
 *   dev:u8 off:u16 w:u8 dir:u8 value:u64
 * dev % 8 picks the device (i8042 has two), off % (its length + 2) the offset (a little past
 * the end, to reach the bus's refusal), w a width 1..8.
 * Callbacks (poweroff, reset, exit) only count. Properties: debug exit reports
 * (v << 1 | 1) & 0xff for the bytes written; reset control resets exactly on RST_CPU; ACPI PM
 * powers off exactly on SLP_EN with SLP_TYP = S5 written to PM1a_CNT; nothing resets or
 * exits on a read; the SCI is 0 or 1; the POST port and the test device's scratch areas read
 * back what was written; the test device's port FIFO behaves as a 4 KiB FIFO.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/platform.h"
#include "bus.h"
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/post_port.h"
#include "devices/reset_control.h"
#include "devices/test_device.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio();
	return 0;
}

struct counts {
	unsigned long poweroff, reset, exits;
	int exit_status;
};

static void on_poweroff(void *ctx)
{
	((struct counts *)ctx)->poweroff++;
}

static void on_reset(void *ctx)
{
	((struct counts *)ctx)->reset++;
}

static void on_exit_status(void *ctx, int status)
{
	struct counts *c = ctx;

	c->exits++;
	c->exit_status = status;
}

enum dev { ACPI_PM, I8042_DATA, I8042_CMD, RESET_CONTROL, POST, DEBUG_EXIT, TEST_PIO, TEST_MMIO };

static const struct {
	uint64_t base, len;
	bool mmio;
} devs[] = {
    [ACPI_PM] = {PORT_ACPI_PM_BASE, ACPI_PM_LEN, false},
    [I8042_DATA] = {PORT_I8042_DATA, 1, false},
    [I8042_CMD] = {PORT_I8042_CMD, 1, false},
    [RESET_CONTROL] = {PORT_RESET_CONTROL, 1, false},
    [POST] = {PORT_POST, 1, false},
    [DEBUG_EXIT] = {PORT_DEBUG_EXIT, DEBUG_EXIT_LEN, false},
    [TEST_PIO] = {TEST_DEVICE_PORT_BASE, TEST_DEVICE_PORT_LEN, false},
    [TEST_MMIO] = {TEST_DEVICE_MMIO_BASE, TEST_DEVICE_MMIO_LEN, true},
};

/* What the harness expects of the test device's port FIFO. */
struct fifo_model {
	uint8_t bytes[TEST_DEVICE_FIFO_SIZE];
	uint32_t head, len;
};

struct harness {
	struct bus pio, mmio;
	struct counts counts;
	struct fuzz_irq sci;
	struct acpi_pm *pm;
	struct i8042 *kbd;
	struct reset_control rc;
	struct post_port post;
	struct debug_exit dbg;
	struct test_device test;
	struct fifo_model fifo;
	int post_last; /* -1 until written */
};

static void reg(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque)
{
	if (bus_register(b, base, len, fn, opaque, "fuzz") < 0)
		abort();
}

static void harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	bus_init(&h->pio, "pio");
	bus_init(&h->mmio, "mmio");
	fuzz_irq_init(&h->sci, ACPI_SCI_IRQ, false);
	h->pm = acpi_pm_create(&h->sci.line, on_poweroff, &h->counts);
	h->kbd = i8042_create(on_reset, &h->counts);
	if (!h->pm || !h->kbd)
		abort();
	h->rc = (struct reset_control){.reset = on_reset, .ctx = &h->counts};
	h->dbg = (struct debug_exit){.exit = on_exit_status, .ctx = &h->counts};
	test_device_init(&h->test);
	h->post_last = -1;
	reg(&h->pio, PORT_ACPI_PM_BASE, ACPI_PM_LEN, acpi_pm_io, h->pm);
	reg(&h->pio, PORT_I8042_DATA, 1, i8042_data_io, h->kbd);
	reg(&h->pio, PORT_I8042_CMD, 1, i8042_cmd_io, h->kbd);
	reg(&h->pio, PORT_RESET_CONTROL, 1, reset_control_io, &h->rc);
	reg(&h->pio, PORT_POST, 1, post_port_io, &h->post);
	reg(&h->pio, PORT_DEBUG_EXIT, DEBUG_EXIT_LEN, debug_exit_io, &h->dbg);
	reg(&h->pio, TEST_DEVICE_PORT_BASE, TEST_DEVICE_PORT_LEN, test_device_pio, &h->test);
	reg(&h->mmio, TEST_DEVICE_MMIO_BASE, TEST_DEVICE_MMIO_LEN, test_device_mmio, &h->test);
}

static void harness_destroy(struct harness *h)
{
	bus_destroy(&h->pio);
	bus_destroy(&h->mmio);
	acpi_pm_destroy(h->pm);
	i8042_destroy(h->kbd);
	test_device_destroy(&h->test);
}

/* The expectations for one claimed access, checked after it. */
static void check_access(struct harness *h, enum dev d, uint64_t off, uint8_t *buf,
			 const uint8_t *written, uint32_t width, bool is_write,
			 const struct counts *before)
{
	const struct counts *now = &h->counts;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	memcpy(&v32, written, width < 4 ? width : 4);
	memcpy(&v16, written, width < 2 ? width : 2);
	if (!is_write) {
		FUZZ_CHECK(now->reset == before->reset && now->exits == before->exits &&
			       now->poweroff == before->poweroff,
			   "a read of device %d at %#llx had an effect", d,
			   (unsigned long long)off);
	}
	switch (d) {
	case ACPI_PM: {
		bool s5 = is_write && off == ACPI_PM1_CNT_OFF && width >= 2 && (v16 & 0x2000) &&
			  ((v16 >> 10) & 7) == ACPI_S5_SLP_TYP;
		FUZZ_CHECK(now->poweroff == before->poweroff + s5, "poweroff %lu -> %lu, s5 %d",
			   before->poweroff, now->poweroff, s5);
		break;
	}
	case RESET_CONTROL:
		FUZZ_CHECK(now->reset == before->reset + (is_write && (written[0] & 0x04)),
			   "reset control: %#x", written[0]);
		break;
	case POST:
		if (is_write)
			h->post_last = written[0];
		else if (h->post_last >= 0)
			FUZZ_CHECK(buf[0] == h->post_last, "POST reads %#x after %#x", buf[0],
				   h->post_last);
		break;
	case DEBUG_EXIT:
		if (is_write)
			FUZZ_CHECK(now->exits == before->exits + 1 &&
				       now->exit_status == (int)(((v32 << 1) | 1) & 0xff),
				   "debug exit %#x gave %d", v32, now->exit_status);
		break;
	case TEST_PIO:
		if (off == 8) { /* the FIFO: each byte of the access pushes or pops one */
			struct fifo_model *f = &h->fifo;
			for (uint32_t i = 0; i < width; i++) {
				if (is_write && f->len < TEST_DEVICE_FIFO_SIZE) {
					f->bytes[(f->head + f->len++) % TEST_DEVICE_FIFO_SIZE] =
					    written[i];
				} else if (!is_write) {
					uint8_t want = 0xff;
					if (f->len) {
						want = f->bytes[f->head];
						f->head = (f->head + 1) % TEST_DEVICE_FIFO_SIZE;
						f->len--;
					}
					FUZZ_CHECK(buf[i] == want, "FIFO read %#x, want %#x",
						   buf[i], want);
				}
			}
		} else if (is_write && off + width <= sizeof(h->test.port_scratch)) {
			uint8_t back[8];
			bus_dispatch(&h->pio, devs[d].base + off, back, width, false);
			FUZZ_CHECK(!memcmp(back, written, width), "port scratch %#llx",
				   (unsigned long long)off);
		}
		break;
	case TEST_MMIO:
		if (is_write && off + width <= sizeof(h->test.scratch)) {
			uint8_t back[8];
			bus_dispatch(&h->mmio, devs[d].base + off, back, width, false);
			FUZZ_CHECK(!memcmp(back, written, width), "MMIO scratch %#llx",
				   (unsigned long long)off);
		}
		break;
	default: /* i8042: resets are counted, not predicted */
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_reader r = fuzz_reader(data, size);
	static struct harness h; /* the FIFO model and test device are big */

	harness_init(&h);
	while (fuzz_more(&r)) {
		enum dev d = (enum dev)(fuzz_u8(&r) % 8);
		uint64_t off = fuzz_u16(&r) % (devs[d].len + 2);
		uint32_t width = fuzz_width(&r);
		bool is_write = fuzz_u8(&r) & 1;
		uint64_t value = fuzz_u64(&r);
		uint8_t buf[8], written[8];
		struct counts before = h.counts;
		int rc;

		memcpy(buf, &value, sizeof(buf));
		memcpy(written, buf, sizeof(written));
		rc = bus_dispatch(devs[d].mmio ? &h.mmio : &h.pio, devs[d].base + off, buf, width,
				  is_write);
		FUZZ_CHECK((rc == 0) == (off + width <= devs[d].len), "bus: %d for %#llx+%u", rc,
			   (unsigned long long)(devs[d].base + off), width);
		if (rc == 0)
			check_access(&h, d, off, buf, written, width, is_write, &before);
		else if (!is_write)
			for (uint32_t i = 0; i < width; i++)
				FUZZ_CHECK(buf[i] == 0xff, "unclaimed read byte %u %#x", i, buf[i]);
	}
	harness_destroy(&h);
	return 0;
}
