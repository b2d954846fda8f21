#include "backends/backends.h"

#include <string.h>
#include <unistd.h>

#include "backends/tap.h"
#include "virtio/net.h"

int backends_open(struct backends *b, const struct vm_config *cfg)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		if (disk_open(&b->disks[i], d->path, d->readonly, d->direct) < 0)
			goto fail;
		b->ndisks = i + 1;
	}
	for (int i = 0; i < cfg->nnets; i++) {
		b->taps[i] = tap_open(cfg->nets[i].tap, sizeof(struct virtio_net_hdr));
		if (b->taps[i] < 0)
			goto fail;
		b->ntaps = i + 1;
	}
	return 0;
fail:
	backends_close(b);
	return -1;
}

void backends_close(struct backends *b)
{
	for (int i = 0; i < b->ndisks; i++)
		disk_close(&b->disks[i]);
	for (int i = 0; i < b->ntaps; i++)
		close(b->taps[i]);
	b->ndisks = b->ntaps = 0;
}
