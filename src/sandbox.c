#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"

/* One allowed system call; with an ioctl list or an argument rule where it needs one. */
struct allow {
	int nr;
	enum {
		ANY,
		IOCTLS,
		NO_EXEC_PROT,
		RDONLY_OPEN,
		THREAD_CLONE,
		PRCTL_OPS,
		SECCOMP_FILTER,
		OWN_PROCESS
	} rule;
};

/*
 * io: what an I/O thread (virtio queue work, event_loop.c) calls. Memory calls are for
 * malloc and never map executable pages.
 */
static const struct allow io_list[] = {
    {SCMP_SYS(read), ANY},	    /* eventfds, tap */
    {SCMP_SYS(write), ANY},	    /* eventfds, irqfds, tap, console output, log */
    {SCMP_SYS(readv), ANY},	    /* tap receive */
    {SCMP_SYS(writev), ANY},	    /* tap transmit */
    {SCMP_SYS(pread64), ANY},	    /* disk */
    {SCMP_SYS(pwrite64), ANY},	    /* disk */
    {SCMP_SYS(preadv), ANY},	    /* disk */
    {SCMP_SYS(pwritev), ANY},	    /* disk */
    {SCMP_SYS(fdatasync), ANY},	    /* virtio-blk flush */
    {SCMP_SYS(fallocate), ANY},	    /* discard, write-zeroes */
    {SCMP_SYS(getrandom), ANY},	    /* virtio-rng */
    {SCMP_SYS(epoll_wait), ANY},    /* the event loop */
    {SCMP_SYS(epoll_pwait), ANY},   /* the event loop */
    {SCMP_SYS(epoll_ctl), ANY},	    /* tap polling on/off */
    {SCMP_SYS(futex), ANY},	    /* mutexes */
    {SCMP_SYS(clock_gettime), ANY}, /* when the vDSO falls back */
    {SCMP_SYS(clock_nanosleep), ANY},
    {SCMP_SYS(nanosleep), ANY},
    {SCMP_SYS(sched_yield), ANY},
    {SCMP_SYS(gettid), ANY},
    {SCMP_SYS(getpid), ANY},
    {SCMP_SYS(mmap), NO_EXEC_PROT}, /* malloc */
    {SCMP_SYS(mprotect), NO_EXEC_PROT},
    {SCMP_SYS(mremap), ANY},
    {SCMP_SYS(munmap), ANY},
    {SCMP_SYS(madvise), ANY}, /* malloc, thread exit */
    {SCMP_SYS(brk), ANY},
    {SCMP_SYS(rt_sigprocmask), ANY},
    {SCMP_SYS(rt_sigreturn), ANY},
    {SCMP_SYS(restart_syscall), ANY},
    {SCMP_SYS(exit), ANY},
    {SCMP_SYS(exit_group), ANY},
    {SCMP_SYS(ioctl), IOCTLS},
};
static const unsigned long io_ioctls[] = {
    KVM_IRQ_LINE_STATUS, /* INTx of a PCI device */
    TCGETS, TCSETSF,	 /* the violation report restores the terminal */
};

/* vcpu: KVM_RUN and the devices that run in the vCPU thread, which also starts I/O threads. */
static const struct allow vcpu_list[] = {
    {SCMP_SYS(eventfd2), ANY},		 /* MSI-X vector irqfds */
    {SCMP_SYS(close), ANY},		 /* MSI-X irqfds on reset */
    {SCMP_SYS(clone), THREAD_CLONE},	 /* I/O threads at DRIVER_OK; never a process */
    {SCMP_SYS(set_robust_list), ANY},	 /* new threads */
    {SCMP_SYS(rseq), ANY},		 /* new threads */
    {SCMP_SYS(tgkill), OWN_PROCESS},	 /* kicking the other vCPUs on a stop */
    {SCMP_SYS(prctl), PRCTL_OPS},	 /* thread names, no_new_privs for the I/O filter */
    {SCMP_SYS(seccomp), SECCOMP_FILTER}, /* adding the I/O thread's (stricter) filter */
};
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS, /* crash dump, insn fixup */
    KVM_TRANSLATE,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS, /* insn fixup */
    KVM_SET_GSI_ROUTING,
    KVM_IRQFD,	   /* MSI-X */
    KVM_IOEVENTFD, /* BAR moves, virtio notify */
    TUNSETOFFLOAD, /* virtio-net features */
};

/*
 * main: the console and the VM's lifecycle. A guest reboot builds a new VM, so this list
 * holds what vm_create needs: KVM's VM and vCPU set-up ioctls, guest RAM mappings and
 * read-only opens of the kernel, initrd and firmware. Disk images and taps stay open across
 * reboots (run_vm), so nothing here opens a file for writing or makes a socket.
 */
static const struct allow main_list[] = {
    {SCMP_SYS(openat), RDONLY_OPEN}, {SCMP_SYS(fstat), ANY}, {SCMP_SYS(newfstatat), ANY},
    {SCMP_SYS(lseek), ANY},	     {SCMP_SYS(poll), ANY}, /* console */
    {SCMP_SYS(ppoll), ANY},				    /* console */
    {SCMP_SYS(epoll_create1), ANY}, /* I/O loops of the next boot's devices */
};
static const unsigned long main_ioctls[] = {
    KVM_CREATE_VM,
    KVM_CHECK_EXTENSION,
    KVM_GET_SUPPORTED_CPUID,
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CREATE_IRQCHIP,
    KVM_CREATE_PIT2,
    KVM_SET_USER_MEMORY_REGION,
    KVM_CREATE_VCPU,
    KVM_SET_CPUID2,
    KVM_SET_MSRS,
    KVM_GET_LAPIC,
    KVM_SET_LAPIC,
    TCSETS,
    TCSETSW, /* console raw mode */
};

struct role_lists {
	const char *name;
	const struct allow *lists[3];
	size_t counts[3];
	const unsigned long *ioctls[3];
	size_t nioctls[3];
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Each role allows its own list and those of the roles it contains. */
static const struct role_lists roles[SANDBOX_NR_ROLES] = {
    [SANDBOX_MAIN] = {"main",
		      {main_list, vcpu_list, io_list},
		      {N(main_list), N(vcpu_list), N(io_list)},
		      {main_ioctls, vcpu_ioctls, io_ioctls},
		      {N(main_ioctls), N(vcpu_ioctls), N(io_ioctls)}},
    [SANDBOX_VCPU] = {"vcpu",
		      {vcpu_list, io_list},
		      {N(vcpu_list), N(io_list)},
		      {vcpu_ioctls, io_ioctls},
		      {N(vcpu_ioctls), N(io_ioctls)}},
    [SANDBOX_IO] = {"io", {io_list}, {N(io_list)}, {io_ioctls}, {N(io_ioctls)}},
};

static struct sock_fprog programs[SANDBOX_NR_ROLES];
static bool prepared;
static void (*violation_cleanup)(void);

/* Syscall names for the violation report, resolved beforehand: the handler cannot malloc. */
#define MAX_SYSCALL_NAMES 512
static char *syscall_names[MAX_SYSCALL_NAMES];
static __thread char thread_name[16];
static __thread const char *thread_role;

static int add_rule(scmp_filter_ctx ctx, const struct allow *a)
{
	int nr = a->nr;

	switch (a->rule) {
	case ANY:
	case IOCTLS: /* added one request at a time by the caller */
		return a->rule == ANY ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) : 0;
	case NO_EXEC_PROT:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case RDONLY_OPEN:
		return seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, nr, 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	case THREAD_CLONE:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case PRCTL_OPS: {
		static const int ops[] = {PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS};
		for (size_t i = 0; i < N(ops); i++) {
			int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						 SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)ops[i]));
			if (r < 0)
				return r;
		}
		return 0;
	}
	case SECCOMP_FILTER:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER));
	case OWN_PROCESS: /* signals to our own threads only, never another process */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	}
	return -EINVAL;
}

static int add_role_rules(scmp_filter_ctx ctx, const struct role_lists *rl)
{
	int r = 0;

	for (size_t l = 0; l < 3 && rl->lists[l]; l++)
		for (size_t i = 0; i < rl->counts[l] && r == 0; i++)
			r = add_rule(ctx, &rl->lists[l][i]);
	/* ioctl's request is an unsigned int to the kernel: compare the low 32 bits. */
	for (size_t l = 0; l < 3 && rl->ioctls[l]; l++)
		for (size_t i = 0; i < rl->nioctls[l] && r == 0; i++)
			r = seccomp_rule_add(
			    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, rl->ioctls[l][i]));
	/* glibc tries clone3 first, whose flags a filter cannot see; it falls back to clone. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return r;
}

/* Compiles one role's filter to a classic BPF program kept for sandbox_enter. */
static int compile_role(enum sandbox_role role)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int fd = -1, r;
	off_t size;

	if (!ctx)
		return -ENOMEM;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* A binary search over syscall numbers, and ioctl (KVM_RUN: every exit) looked at first. */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r == 0)
		r = seccomp_syscall_priority(ctx, SCMP_SYS(ioctl), 255);
	if (r == 0)
		r = add_role_rules(ctx, &roles[role]);
	if (r == 0) {
		fd = memfd_create("kvmbox-seccomp", MFD_CLOEXEC);
		r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	if (r == 0) {
		size = lseek(fd, 0, SEEK_END);
		programs[role].len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
		programs[role].filter = malloc((size_t)size);
		if (size <= 0 || !programs[role].filter ||
		    pread(fd, programs[role].filter, (size_t)size, 0) != size)
			r = -EIO;
	}
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

/* Async-signal-safe: builds the report by hand, restores the terminal, and exits. */
static void on_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	char msg[320], num[16];
	int nr = si->si_syscall, i = (int)sizeof(num) - 1;
	unsigned int u = nr < 0 ? 0u : (unsigned int)nr;
	size_t n = 0;

	(void)sig;
	(void)ucontext;
	num[i] = '\0';
	do
		num[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 0);
	if (violation_cleanup)
		violation_cleanup();
	n = append(msg, n, sizeof(msg), "kvmbox: sandbox: thread ");
	n = append(msg, n, sizeof(msg), thread_name[0] ? thread_name : "?");
	n = append(msg, n, sizeof(msg), " (");
	n = append(msg, n, sizeof(msg), thread_role ? thread_role : "?");
	n = append(msg, n, sizeof(msg), " list) made system call ");
	n = append(msg, n, sizeof(msg),
		   nr >= 0 && nr < MAX_SYSCALL_NAMES && syscall_names[nr] ? syscall_names[nr]
									  : "?");
	n = append(msg, n, sizeof(msg), " (");
	n = append(msg, n, sizeof(msg), num + i);
	n = append(msg, n, sizeof(msg),
		   "), which its allow-list forbids; stopping. This is a kvmbox bug or an "
		   "attack: please report it (--sandbox off runs without the filter)\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing left to tell */
	}
	_exit(128 + SIGSYS);
}

int sandbox_prepare(void (*cleanup)(void))
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};

	if (prepared)
		return 0;
	for (int nr = 0; nr < MAX_SYSCALL_NAMES; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	for (int role = 0; role < SANDBOX_NR_ROLES; role++) {
		int r = compile_role((enum sandbox_role)role);
		if (r < 0) {
			errno = -r;
			return log_error("sandbox: building the %s seccomp filter",
					 roles[role].name);
		}
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return log_error("sandbox: SIGSYS handler");
	violation_cleanup = cleanup;
	prepared = true;
	return 0;
}

bool sandbox_enabled(void)
{
	return prepared;
}

const char *sandbox_role_name(enum sandbox_role role)
{
	return role < SANDBOX_NR_ROLES ? roles[role].name : "?";
}

int sandbox_enter(enum sandbox_role role)
{
	sigset_t sys;

	if (!prepared)
		return 0;
	prctl(PR_GET_NAME, thread_name);
	thread_role = roles[role].name;
	/* A blocked SIGSYS would kill the process without the report. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &programs[role]) < 0)
		return log_error("sandbox: installing the %s seccomp filter", roles[role].name);
	return 0;
}
