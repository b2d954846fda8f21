/*
 * blkbench: block I/O figures from inside a guest, one static binary, few system calls.
 *
 *   blkbench read|write|randread DEVICE|FILE BLOCK_SIZE TOTAL_MIB
 *
 * O_DIRECT, queue depth 1. Prints "<mode> <bytes> bytes <seconds> s <MB/s> MB/s <IOPS> IOPS".
 * randread reads TOTAL_MIB worth of BLOCK_SIZE blocks at pseudo-random aligned offsets.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s read|write|randread DEVICE BLOCK_SIZE TOTAL_MIB\n",
			argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	size_t bs = strtoul(argv[3], NULL, 0);
	uint64_t total = strtoull(argv[4], NULL, 0) << 20, dev_size = 0;
	int writing = !strcmp(mode, "write"), random_io = !strcmp(mode, "randread");
	int fd = open(argv[2], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
	void *buf;

	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		dev_size = (uint64_t)st.st_size; /* an image file on the host: the baseline */
	else if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &dev_size) < 0)
		dev_size = 0;
	if (fd < 0 || dev_size == 0 || bs == 0 || bs % 512 || posix_memalign(&buf, 4096, bs)) {
		perror(argv[2]);
		return 1;
	}
	memset(buf, 0xa5, bs);
	uint64_t blocks = dev_size / bs, n = total / bs, x = 88172645463325252ull;
	if (blocks == 0 || (!random_io && n > blocks)) {
		fprintf(stderr, "%s: device too small\n", argv[2]);
		return 1;
	}
	double t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t block = i;
		if (random_io) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			block = x % blocks;
		}
		ssize_t r = writing ? pwrite(fd, buf, bs, (off_t)(block * bs))
				    : pread(fd, buf, bs, (off_t)(block * bs));
		if (r != (ssize_t)bs) {
			perror("I/O");
			return 1;
		}
	}
	if (writing && fdatasync(fd) < 0) {
		perror("fdatasync");
		return 1;
	}
	double s = now() - t0;
	printf("%s %llu bytes %.3f s %.2f MB/s %.0f IOPS\n", mode, (unsigned long long)(n * bs), s,
	       (double)(n * bs) / s / 1e6, (double)n / s);
	return 0;
}
