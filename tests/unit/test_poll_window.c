/*
 * Tests for the adaptive polling window of virtqueue I/O threads: it grows while kicks come
 * soon after the thread went to sleep (a longer window would have caught them), shrinks to 0
 * while they come late, never leaves [0, max], and stays 0 for queues that did not enable it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio/poll_window.h"

#define T0 1000000000ull /* any clock reading */

/* The thread sleeps at T0 and a kick wakes it slept_ns later. */
static void sleep_and_wake(struct poll_window *w, uint64_t slept_ns)
{
	poll_window_sleeping(w, T0);
	poll_window_woken(w, T0 + slept_ns);
}

static void test_poll_window__starts_closed_and_the_first_kick_changes_nothing(void **state)
{
	struct poll_window w = {.enabled = true};

	poll_window_woken(&w, T0);
	assert_int_equal(w.ns, 0);
}

static void test_poll_window__grows_from_min_by_doubling_up_to_max_on_early_kicks(void **state)
{
	struct poll_window w = {.enabled = true};
	uint32_t expect = POLL_WINDOW_MIN_NS;

	for (int i = 0; i < 10; i++) {
		sleep_and_wake(&w, 1000);
		assert_int_equal(w.ns, expect);
		expect = expect * 2 > POLL_WINDOW_MAX_NS ? POLL_WINDOW_MAX_NS : expect * 2;
	}
	assert_int_equal(w.ns, POLL_WINDOW_MAX_NS);
}

static void test_poll_window__a_kick_just_within_max_still_grows(void **state)
{
	struct poll_window w = {.enabled = true};

	sleep_and_wake(&w, POLL_WINDOW_MAX_NS);
	assert_int_equal(w.ns, POLL_WINDOW_MIN_NS);
}

static void test_poll_window__halves_on_late_kicks_and_closes_below_min(void **state)
{
	struct poll_window w = {.enabled = true, .ns = POLL_WINDOW_MAX_NS};

	sleep_and_wake(&w, POLL_WINDOW_MAX_NS + 1);
	assert_int_equal(w.ns, POLL_WINDOW_MAX_NS / 2);
	for (int i = 0; i < 10; i++)
		sleep_and_wake(&w, 10 * 1000 * 1000);
	assert_int_equal(w.ns, 0);
	sleep_and_wake(&w, 10 * 1000 * 1000);
	assert_int_equal(w.ns, 0);
}

static void test_poll_window__reopens_when_kicks_come_early_again(void **state)
{
	struct poll_window w = {.enabled = true};

	sleep_and_wake(&w, 1000000);
	assert_int_equal(w.ns, 0);
	sleep_and_wake(&w, 2000);
	assert_int_equal(w.ns, POLL_WINDOW_MIN_NS);
}

static void test_poll_window__stays_closed_unless_enabled(void **state)
{
	struct poll_window w = {0};

	for (int i = 0; i < 5; i++)
		sleep_and_wake(&w, 1000);
	assert_int_equal(w.ns, 0);
}

static void test_poll_window__clock_moves_forward(void **state)
{
	uint64_t a = poll_window_now(), b = poll_window_now();

	assert_true(a > 0);
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poll_window__starts_closed_and_the_first_kick_changes_nothing),
	    cmocka_unit_test(test_poll_window__grows_from_min_by_doubling_up_to_max_on_early_kicks),
	    cmocka_unit_test(test_poll_window__a_kick_just_within_max_still_grows),
	    cmocka_unit_test(test_poll_window__halves_on_late_kicks_and_closes_below_min),
	    cmocka_unit_test(test_poll_window__reopens_when_kicks_come_early_again),
	    cmocka_unit_test(test_poll_window__stays_closed_unless_enabled),
	    cmocka_unit_test(test_poll_window__clock_moves_forward),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
