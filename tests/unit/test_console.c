/*
 * Tests for the console's Ctrl-A escapes (QEMU's keys): what reaches the guest, and when
 * kvmbox quits or prints help. Only the pure escape state machine is tested here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "console.h"

#define CTRL_A 0x01

struct result {
	char out[64]; /* bytes forwarded to the guest */
	size_t nout;
	int quits;
	int helps;
};

/* Feeds `len` bytes through a fresh console (or the given one) and collects the result. */
static struct result feed(struct console *c, const char *in, size_t len)
{
	struct result r = {0};

	for (size_t i = 0; i < len; i++) {
		bool quit = true, help = true;
		int out = console_escape_feed(c, (uint8_t)in[i], &quit, &help);

		assert_true(out >= -1 && out <= 0xff);
		if (out >= 0)
			r.out[r.nout++] = (char)out;
		r.quits += quit;
		r.helps += help;
	}
	return r;
}

#define FEED(c, s) feed(c, s, sizeof(s) - 1)

static void test_console__plain_bytes_pass_through(void **state)
{
	struct console c = {0};
	const char in[] = "ls -l\r\x03\x1b[A\x7f\xff";
	struct result r = feed(&c, in, sizeof(in) - 1);

	assert_int_equal(r.nout, sizeof(in) - 1);
	assert_memory_equal(r.out, in, sizeof(in) - 1);
	assert_int_equal(r.quits, 0);
	assert_int_equal(r.helps, 0);
}

static void test_console__ctrl_a_x_quits(void **state)
{
	struct console c = {0};
	struct result r = FEED(&c, "ab\x01x");

	assert_int_equal(r.quits, 1);
	assert_int_equal(r.nout, 2); /* neither Ctrl-A nor 'x' reaches the guest */
	assert_memory_equal(r.out, "ab", 2);
	r = FEED(&c, "\x01X");
	assert_int_equal(r.quits, 1);
}

static void test_console__ctrl_a_h_asks_for_help(void **state)
{
	struct console c = {0};
	struct result r = FEED(&c, "\x01h\x01H\x01?");

	assert_int_equal(r.helps, 3);
	assert_int_equal(r.quits, 0);
	assert_int_equal(r.nout, 0);
}

static void test_console__ctrl_a_a_and_ctrl_a_ctrl_a_send_one_ctrl_a(void **state)
{
	struct console c = {0};
	struct result r = FEED(&c, "\x01"
				   "a");

	assert_int_equal(r.nout, 1);
	assert_int_equal(r.out[0], CTRL_A);
	r = FEED(&c, "\x01\x01");
	assert_int_equal(r.nout, 1);
	assert_int_equal(r.out[0], CTRL_A);
	/* The forwarded Ctrl-A does not start a new escape: 'x' after it is plain. */
	r = FEED(&c, "\x01\x01x");
	assert_int_equal(r.nout, 2);
	assert_memory_equal(r.out, "\x01x", 2);
	assert_int_equal(r.quits, 0);
}

static void test_console__unknown_escape_is_dropped(void **state)
{
	struct console c = {0};
	struct result r = FEED(&c, "\x01q\x01\r\x01"
				   "A");

	assert_int_equal(r.nout, 0);
	assert_int_equal(r.quits, 0);
	assert_int_equal(r.helps, 0);
}

static void test_console__escape_state_resets_after_each_command(void **state)
{
	struct console c = {0};
	struct result r;

	r = FEED(&c, "\x01");
	assert_true(c.escape);
	assert_int_equal(r.nout, 0);
	r = FEED(&c, "z"); /* unknown: dropped, and the escape is over */
	assert_false(c.escape);
	r = FEED(&c, "x"); /* plain 'x' now */
	assert_int_equal(r.nout, 1);
	assert_int_equal(r.out[0], 'x');
	assert_int_equal(r.quits, 0);
	r = FEED(&c, "\x01hx");
	assert_int_equal(r.helps, 1);
	assert_int_equal(r.nout, 1);
	assert_int_equal(r.quits, 0);
	assert_false(c.escape);
}

static void test_console__flags_are_cleared_on_every_byte(void **state)
{
	struct console c = {0};
	bool quit = true, help = true;

	assert_int_equal(console_escape_feed(&c, 'k', &quit, &help), 'k');
	assert_false(quit);
	assert_false(help);
	assert_int_equal(console_escape_feed(&c, CTRL_A, &quit, &help), -1);
	assert_false(quit);
	assert_false(help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_console__plain_bytes_pass_through),
	    cmocka_unit_test(test_console__ctrl_a_x_quits),
	    cmocka_unit_test(test_console__ctrl_a_h_asks_for_help),
	    cmocka_unit_test(test_console__ctrl_a_a_and_ctrl_a_ctrl_a_send_one_ctrl_a),
	    cmocka_unit_test(test_console__unknown_escape_is_dropped),
	    cmocka_unit_test(test_console__escape_state_resets_after_each_command),
	    cmocka_unit_test(test_console__flags_are_cleared_on_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
