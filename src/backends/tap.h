/*
 * A host TAP interface carrying virtio-net headers (IFF_VNET_HDR, 12-byte
 * virtio_net_hdr_v1), non-blocking. Opened by name; the kernel creates it if missing (needs
 * CAP_NET_ADMIN), and kvmbox brings its link up.
 */
#ifndef KVMBOX_BACKENDS_TAP_H
#define KVMBOX_BACKENDS_TAP_H

#include <stdbool.h>

/* Returns the fd, or -1 after printing one line that names the tap and the remedy. */
int tap_open(const char *name, int vnet_hdr_len);
/* TUN_F_* offloads the reader (the guest) accepts. 0 or -errno. */
int tap_set_offload(int fd, unsigned int flags);

#endif
