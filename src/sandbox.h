/*
 * The seccomp sandbox. Once the VM is built, every kvmbox thread runs under an allow-list of
 * the system calls (and ioctl requests) its job needs; any other call stops kvmbox with one
 * line that names it and the thread. The lists nest, because a thread inherits the filter of
 * the thread that created it and stacked filters all have to allow a call:
 *
 *   main  (console, VM lifecycle: rebuilding the VM on a guest reboot)
 *    > vcpu  (KVM_RUN, register-level devices, starting and stopping I/O threads)
 *       > io  (virtqueue work: disk and tap I/O, eventfds, getrandom)
 *
 * The lists themselves, with the reason for each entry, are in sandbox.c and docs/sandbox.md.
 */
#ifndef KVMBOX_SANDBOX_H
#define KVMBOX_SANDBOX_H

#include <stdbool.h>

enum sandbox_role { SANDBOX_MAIN, SANDBOX_VCPU, SANDBOX_IO, SANDBOX_NR_ROLES };

/*
 * Compiles the three filters and installs the SIGSYS handler that reports a violation (after
 * calling cleanup, e.g. to restore the terminal; it must be async-signal-safe). Call once,
 * single-threaded, before any thread enters the sandbox. 0 or -1 (logged). Until it succeeds,
 * sandbox_enter does nothing: unit tests and --sandbox off run unconfined.
 */
int sandbox_prepare(void (*cleanup)(void));
/* Confines the calling thread (and the threads it creates later) to role's list. 0 or -1. */
int sandbox_enter(enum sandbox_role role);
bool sandbox_enabled(void);
const char *sandbox_role_name(enum sandbox_role role);

#endif
