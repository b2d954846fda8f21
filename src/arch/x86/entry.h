/* The boot vCPU's entry state: GDT, identity page tables and registers for each boot mode. */
#ifndef KVMBOX_ARCH_X86_ENTRY_H
#define KVMBOX_ARCH_X86_ENTRY_H

#include "boot/boot.h"
#include "memory.h"

/* Writes the GDT (and, for 64-bit entry, page tables identity-mapping 4 GiB). */
int x86_entry_setup_memory(struct guest_memory *mem, const struct boot_entry *entry);
/* Sets the boot vCPU's registers and segment state for entry. */
int x86_entry_set_vcpu(int vcpu_fd, const struct boot_entry *entry);

#endif
