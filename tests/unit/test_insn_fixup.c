/*
 * Tests for deciding which emulation-failure instructions kvmbox completes itself (int3 and
 * fwait). Only the pure classifier is tested here; applying it needs a vCPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/x86/insn_fixup.h"

static void test_insn_fixup__int3_is_injected(void **state)
{
	const uint8_t int3[] = {0xcc};
	const uint8_t int3_then_more[] = {0xcc, 0x90, 0x90};

	assert_int_equal(insn_fixup_classify(int3, 1), INSN_FIXUP_INT3);
	assert_int_equal(insn_fixup_classify(int3_then_more, 3), INSN_FIXUP_INT3);
}

static void test_insn_fixup__fwait_is_stepped_over(void **state)
{
	const uint8_t fwait[] = {0x9b};
	const uint8_t fwait_fninit[] = {0x9b, 0xdb, 0xe3}; /* finit = fwait; fninit */

	assert_int_equal(insn_fixup_classify(fwait, 1), INSN_FIXUP_FWAIT);
	assert_int_equal(insn_fixup_classify(fwait_fninit, 3), INSN_FIXUP_FWAIT);
}

static void test_insn_fixup__other_instructions_are_left_alone(void **state)
{
	const uint8_t nop[] = {0x90};
	const uint8_t int_3_long_form[] = {0xcd, 0x03}; /* int 3: not the one-byte int3 */
	const uint8_t cmpxchg16b[] = {0x48, 0x0f, 0xc7, 0x0e};
	const uint8_t prefixed_int3[] = {0x66, 0xcc};

	assert_int_equal(insn_fixup_classify(nop, 1), INSN_FIXUP_NONE);
	assert_int_equal(insn_fixup_classify(int_3_long_form, 2), INSN_FIXUP_NONE);
	assert_int_equal(insn_fixup_classify(cmpxchg16b, 4), INSN_FIXUP_NONE);
	assert_int_equal(insn_fixup_classify(prefixed_int3, 2), INSN_FIXUP_NONE);
}

static void test_insn_fixup__no_bytes_fetched_is_none(void **state)
{
	const uint8_t int3[] = {0xcc};

	/* The fetch failed (len 0): the byte in the buffer must not be trusted. */
	assert_int_equal(insn_fixup_classify(int3, 0), INSN_FIXUP_NONE);
	assert_int_equal(insn_fixup_classify(NULL, 0), INSN_FIXUP_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insn_fixup__int3_is_injected),
	    cmocka_unit_test(test_insn_fixup__fwait_is_stepped_over),
	    cmocka_unit_test(test_insn_fixup__other_instructions_are_left_alone),
	    cmocka_unit_test(test_insn_fixup__no_bytes_fetched_is_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
