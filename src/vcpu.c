#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/entry.h"
#include "arch/x86/insn_fixup.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

#define SIG_VCPU_KICK SIGUSR1

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING 1
#define MTRR_ENABLE		(1 << 11)
#define MTRR_TYPE_WRBACK	6

#define APIC_LVT_LINT0	 0x350
#define APIC_LVT_LINT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_signals_init(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL); /* no SA_RESTART: KVM_RUN must see EINTR */
}

static int vcpu_set_cpuid(struct vcpu *v)
{
	const struct vm_config *cfg = v->vm->cfg;
	struct cpuid_table t = v->vm->supported_cpuid;
	union { /* room for the entries after KVM's header */
		struct kvm_cpuid2 hdr;
		uint8_t bytes[sizeof(struct kvm_cpuid2) +
			      CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
	} c;

	if (cpuid_customize(&t, v->id, cfg->cpus, cfg->features, cfg->nfeatures) < 0)
		return -EINVAL;
	c.hdr.nent = t.nent;
	c.hdr.padding = 0;
	memcpy(c.hdr.entries, t.entries, t.nent * sizeof(t.entries[0]));
	if (ioctl(v->fd, KVM_SET_CPUID2, &c) < 0)
		return log_error("vCPU %u: KVM_SET_CPUID2", v->id);
	return 0;
}

static int vcpu_set_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_LSTAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
	    /* Firmware would enable MTRRs with write-back default; Linux expects that. */
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK},
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	union { /* room for the entries after KVM's header */
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + N * sizeof(struct kvm_msr_entry)];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (int i = 0; i < N; i++) {
		m.hdr.entries[i].index = boot_msrs[i].index;
		m.hdr.entries[i].data = boot_msrs[i].value;
	}
	r = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return log_error("vCPU %u: KVM_SET_MSRS", v->id);
	if (r != N)
		return log_errorx("vCPU %u: KVM refused MSR %#x", v->id, m.hdr.entries[r].index);
	return 0;
}

/* LINT0 takes the 8259's ExtINT, LINT1 the NMI, as PC firmware sets them up. */
static int vcpu_set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t lvt;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return log_error("vCPU %u: KVM_GET_LAPIC", v->id);
	memcpy(&lvt, &lapic.regs[APIC_LVT_LINT0], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT0], &lvt, 4);
	memcpy(&lvt, &lapic.regs[APIC_LVT_LINT1], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT1], &lvt, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return log_error("vCPU %u: KVM_SET_LAPIC", v->id);
	return 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, uint32_t id)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return log_error("KVM_CREATE_VCPU %u", id);
	v->run = mmap(NULL, vm->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return log_error("vCPU %u: mmap kvm_run", id);
	}
	if (vcpu_set_cpuid(v) < 0 || vcpu_set_msrs(v) < 0 || vcpu_set_lapic(v) < 0)
		return -1;
	/* Application processors wait in KVM for the guest's INIT/SIPI. */
	if (id == 0 && (r = x86_entry_set_vcpu(v->fd, &vm->entry)) < 0) {
		errno = -r;
		return log_error("vCPU 0: setting entry registers");
	}
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->kvm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

void vcpu_dump(struct vcpu *v, const char *why)
{
	const char *e = log_eol();
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t insn[16];
	size_t n;
	char hex[16 * 3 + 1] = "";

	fprintf(stderr, "kvmbox: vCPU %u: %s%s", v->id, why, e);
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "kvmbox: (registers unavailable: %s)%s", strerror(errno), e);
		return;
	}
	fprintf(stderr, " RIP %016llx  RSP %016llx  RFLAGS %08llx%s", r.rip, r.rsp, r.rflags, e);
	fprintf(stderr, " RAX %016llx  RBX %016llx  RCX %016llx  RDX %016llx%s", r.rax, r.rbx,
		r.rcx, r.rdx, e);
	fprintf(stderr, " RSI %016llx  RDI %016llx  RBP %016llx%s", r.rsi, r.rdi, r.rbp, e);
	fprintf(stderr, " R8  %016llx  R9  %016llx  R10 %016llx  R11 %016llx%s", r.r8, r.r9, r.r10,
		r.r11, e);
	fprintf(stderr, " R12 %016llx  R13 %016llx  R14 %016llx  R15 %016llx%s", r.r12, r.r13,
		r.r14, r.r15, e);
	fprintf(stderr, " CR0 %016llx  CR2 %016llx  CR3 %016llx  CR4 %016llx%s", s.cr0, s.cr2,
		s.cr3, s.cr4, e);
	fprintf(stderr, " EFER %llx  CS %04x (base %llx, %s)  SS %04x  CPL %u%s", s.efer,
		s.cs.selector, s.cs.base,
		s.cs.l	  ? "64-bit"
		: s.cs.db ? "32-bit"
			  : "16-bit",
		s.ss.selector, s.cs.dpl, e);
	n = insn_fetch(v->fd, &v->vm->mem, insn, sizeof(insn));
	for (size_t i = 0; i < n; i++)
		snprintf(hex + i * 3, 4, "%02x ", insn[i]);
	fprintf(stderr, " code at RIP: %s%s", n ? hex : "(not mapped)", e);
}

static const char *exit_reason_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN:
		return "unknown exit";
	case KVM_EXIT_EXCEPTION:
		return "exception";
	case KVM_EXIT_SHUTDOWN:
		return "shutdown (triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return "VM entry failed";
	case KVM_EXIT_INTERNAL_ERROR:
		return "KVM internal error";
	default:
		return "unexpected exit";
	}
}

/* Returns 0 to keep running, -1 when the VM must stop (already requested). */
static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++)
		bus_dispatch(&v->vm->pio, run->io.port, data + i * run->io.size, run->io.size,
			     is_write);
	return 0;
}

static int handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	bus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		     run->mmio.is_write);
	return 0;
}

static int handle_crash(struct vcpu *v, const char *what)
{
	vcpu_dump(v, what);
	vm_request_stop(v->vm, VM_STOP_CRASH);
	return -1;
}

static int handle_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[128];

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		switch (insn_fixup_apply(v->fd, &v->vm->mem)) {
		case INSN_FIXUP_INT3:
			log_once(log_info, "KVM could not emulate int3; kvmbox injected the #BP");
			return 0;
		case INSN_FIXUP_FWAIT:
			log_once(log_info, "KVM could not emulate fwait; kvmbox stepped over it");
			return 0;
		case INSN_FIXUP_NONE:
			break;
		}
		return handle_crash(v, "KVM internal error: instruction emulation failed");
	}
	snprintf(what, sizeof(what), "KVM internal error (suberror %u)", run->internal.suberror);
	return handle_crash(v, what);
}

static int handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_POWEROFF);
		return -1;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_REBOOT);
		return -1;
	default:
		return handle_crash(v, "guest reported a crash (system event)");
	}
}

static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		return handle_mmio(v);
	case KVM_EXIT_HLT: /* only without an in-kernel LAPIC; nothing to do */
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
	case KVM_EXIT_DEBUG:
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(v);
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(v);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return handle_crash(v, what);
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_UNKNOWN:
	case KVM_EXIT_EXCEPTION:
		return handle_crash(v, exit_reason_name(run->exit_reason));
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u", run->exit_reason);
		return handle_crash(v, what);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];

	sigset_t kick;

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (sandbox_enter(SANDBOX_VCPU) < 0) {
		vm_request_stop(v->vm, VM_STOP_ERROR);
		return NULL;
	}
	if (v->id == 0)
		log_info("vCPU 0 enters KVM_RUN %.2f ms after start", log_elapsed_ms());
	v->self = pthread_self();
	__atomic_store_n(&v->running, 1, __ATOMIC_SEQ_CST); /* before reading the stop flag */
	while (!vm_stopping(v->vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("vCPU %u: KVM_RUN", v->id);
			vm_request_stop(v->vm, VM_STOP_ERROR);
			break;
		}
		if (vcpu_handle_exit(v) < 0)
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t all, old;
	int r;

	/* The thread inherits our mask; only the kick signal is let through in it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		errno = r;
		return log_error("vCPU %u: creating thread", v->id);
	}
	v->thread_started = 1;
	return 0;
}

/*
 * The caller has set the VM's stop flag. A thread that has not published `running` yet will
 * see that flag before its first KVM_RUN (both are sequentially consistent); one that has
 * gets immediate_exit (if it is about to enter KVM_RUN) and the signal (if it is inside).
 * Checking main's thread_started instead missed a thread that main had just created: it
 * could enter KVM_RUN, as an AP waiting for SIPI, and never come back.
 */
void vcpu_kick(struct vcpu *v)
{
	if (!v->run)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->running, __ATOMIC_SEQ_CST))
		pthread_kill(v->self, SIG_VCPU_KICK);
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	v->thread_started = 0;
	__atomic_store_n(&v->running, 0, __ATOMIC_SEQ_CST);
}
