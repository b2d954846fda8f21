/* vCPU threads and the KVM_RUN loop: one handler per exit reason. */
#ifndef KVMBOX_VCPU_H
#define KVMBOX_VCPU_H

#include <pthread.h>
#include <stdint.h>
#include <linux/kvm.h>

struct vm;

struct vcpu {
	struct vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int thread_started; /* main's view: the thread exists and must be joined */
	/*
	 * The thread's own view: set by the thread (with self) before it first checks whether
	 * the VM stops, so a stop requested at any moment either is seen by the thread or sees
	 * the thread and kicks it (see vcpu_kick).
	 */
	int running;
	pthread_t self;
};

/* Creates the vCPU with its CPUID, MSRs and LAPIC set up; the BSP also gets the entry state. */
int vcpu_create(struct vcpu *v, struct vm *vm, uint32_t id);
void vcpu_destroy(struct vcpu *v);
int vcpu_start(struct vcpu *v);
/* Makes the vCPU leave KVM_RUN soon (immediate_exit + signal). Safe from any thread. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/* Prints the registers and the instruction at RIP to stderr, with a title. */
void vcpu_dump(struct vcpu *v, const char *why);
/* Installs the (empty) kick signal handler; call once per process. */
void vcpu_signals_init(void);

#endif
