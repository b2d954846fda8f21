#include "arch/x86/insn_fixup.h"

#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define OPCODE_INT3  0xcc
#define OPCODE_FWAIT 0x9b
#define VECTOR_BP    3

enum insn_fixup_result insn_fixup_classify(const uint8_t *bytes, size_t len)
{
	if (len < 1)
		return INSN_FIXUP_NONE;
	if (bytes[0] == OPCODE_INT3)
		return INSN_FIXUP_INT3;
	if (bytes[0] == OPCODE_FWAIT)
		return INSN_FIXUP_FWAIT;
	return INSN_FIXUP_NONE;
}

size_t insn_fetch(int vcpu_fd, const struct guest_memory *mem, uint8_t *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	size_t done = 0;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return 0;
	/* Byte by byte: the instruction may straddle a page boundary. */
	while (done < len) {
		struct kvm_translation tr = {.linear_address = sregs.cs.base + regs.rip + done};
		const uint8_t *p;
		if (ioctl(vcpu_fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
			break;
		p = gpa_to_host(mem, tr.physical_address, 1);
		if (!p)
			break;
		buf[done++] = *p;
	}
	return done;
}

enum insn_fixup_result insn_fixup_apply(int vcpu_fd, const struct guest_memory *mem)
{
	uint8_t insn[1];
	struct kvm_regs regs;
	struct kvm_vcpu_events events;
	enum insn_fixup_result what = insn_fixup_classify(insn, insn_fetch(vcpu_fd, mem, insn, 1));

	if (what == INSN_FIXUP_NONE || ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return INSN_FIXUP_NONE;
	regs.rip += 1; /* both are one-byte instructions */
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return INSN_FIXUP_NONE;
	if (what == INSN_FIXUP_INT3) {
		/* #BP is a trap: delivered with RIP after the int3, as the CPU would. */
		if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events) < 0)
			return INSN_FIXUP_NONE;
		events.flags = 0;
		events.exception.injected = 1;
		events.exception.nr = VECTOR_BP;
		events.exception.has_error_code = 0;
		events.exception.error_code = 0;
		if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
			return INSN_FIXUP_NONE;
	}
	return what;
}
