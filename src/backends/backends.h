/*
 * The host resources a run holds from start to exit: disk images (open and locked) and taps.
 * They are opened once, before the sandbox closes, and outlive guest reboots, so a reboot
 * neither drops an image lock nor deletes and re-creates a tap (losing its addresses).
 */
#ifndef KVMBOX_BACKENDS_BACKENDS_H
#define KVMBOX_BACKENDS_BACKENDS_H

#include "backends/disk.h"
#include "config.h"

struct backends {
	struct disk disks[CONFIG_MAX_DISKS];
	int taps[CONFIG_MAX_NICS];
	int ndisks, ntaps;
};

/* Opens every --disk and --net of cfg. 0, or -1 after one line on stderr (nothing left open). */
int backends_open(struct backends *b, const struct vm_config *cfg);
void backends_close(struct backends *b);

#endif
