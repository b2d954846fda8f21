/*
 * Finishing instructions KVM's emulator rejected. Some hosts (nested, shadow-paging KVM
 * whose guest kernel code runs in KVM's instruction emulator) cannot emulate every
 * instruction; a few are simple enough for kvmbox to complete itself from the
 * emulation-failure exit instead of killing the guest.
 */
#ifndef KVMBOX_ARCH_X86_INSN_FIXUP_H
#define KVMBOX_ARCH_X86_INSN_FIXUP_H

#include <stdint.h>

#include "memory.h"

enum insn_fixup_result {
	INSN_FIXUP_NONE,  /* not an instruction we can complete */
	INSN_FIXUP_INT3,  /* int3: #BP injected after RIP */
	INSN_FIXUP_FWAIT, /* fwait: stepped over */
};

/* Decides what to do about the instruction bytes at RIP (pure; unit-tested). */
enum insn_fixup_result insn_fixup_classify(const uint8_t *bytes, size_t len);
/* Reads the instruction at RIP through the guest's page tables and completes it. */
enum insn_fixup_result insn_fixup_apply(int vcpu_fd, const struct guest_memory *mem);
/* Copies up to len bytes at the vCPU's RIP; returns how many could be read. */
size_t insn_fetch(int vcpu_fd, const struct guest_memory *mem, uint8_t *buf, size_t len);

#endif
