/*
 * blkbench: block I/O figures from inside a guest, one static binary, few system calls.
 *
 *   blkbench read|write|randread|randwrite DEVICE|FILE BLOCK_SIZE TOTAL_MIB [SECONDS [QD]]
 *
 * O_DIRECT. QD threads (default 1) each keep one request in flight, so QD is the queue
 * depth the device sees. The run ends after TOTAL_MIB (sequential modes: in order from offset
 * 0, split across the threads in stripes) or after SECONDS (default 10), whichever is first.
 * Random modes pick aligned blocks with a per-thread xorshift. Writes end with fdatasync.
 * Prints "<mode> <bytes> bytes <seconds> s <MB/s> MB/s <IOPS> IOPS qd <QD>".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define MAX_QD 64

static int fd, writing, random_io, qd;
static size_t bs;
static uint64_t blocks, per_thread;
static double deadline;

struct worker {
	pthread_t thread;
	int index;
	uint64_t done;
	int failed;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t x = 88172645463325252ull + (uint64_t)w->index * 0x9e3779b97f4a7c15ull;
	void *buf;

	if (posix_memalign(&buf, 4096, bs)) {
		w->failed = 1;
		return NULL;
	}
	memset(buf, 0xa5, bs);
	for (uint64_t i = 0; i < per_thread; i++) {
		uint64_t block = (uint64_t)w->index + i * (uint64_t)qd; /* stripes */
		if (random_io) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			block = x % blocks;
		}
		ssize_t r = writing ? pwrite(fd, buf, bs, (off_t)(block * bs))
				    : pread(fd, buf, bs, (off_t)(block * bs));
		if (r != (ssize_t)bs) {
			perror("I/O");
			w->failed = 1;
			break;
		}
		w->done++;
		if ((i & 7) == 7 && now() > deadline)
			break;
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_QD];
	uint64_t dev_size = 0, total, done = 0;
	double seconds = 10, t0, s;
	const char *mode;
	struct stat st;

	if (argc < 5 || argc > 7) {
		fprintf(stderr,
			"usage: %s read|write|randread|randwrite DEVICE BLOCK_SIZE TOTAL_MIB "
			"[SECONDS [QD]]\n",
			argv[0]);
		return 2;
	}
	mode = argv[1];
	bs = strtoul(argv[3], NULL, 0);
	total = strtoull(argv[4], NULL, 0) << 20;
	if (argc > 5)
		seconds = strtod(argv[5], NULL);
	qd = argc > 6 ? atoi(argv[6]) : 1;
	writing = !strcmp(mode, "write") || !strcmp(mode, "randwrite");
	random_io = !strncmp(mode, "rand", 4);
	fd = open(argv[2], (writing ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		dev_size = (uint64_t)st.st_size; /* an image file on the host: the baseline */
	else if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &dev_size) < 0)
		dev_size = 0;
	if (fd < 0 || dev_size == 0 || bs == 0 || bs % 512 || qd < 1 || qd > MAX_QD) {
		perror(argv[2]);
		return 1;
	}
	blocks = dev_size / bs;
	per_thread = total / bs / (uint64_t)qd;
	if (blocks == 0 || per_thread == 0 || (!random_io && total / bs > blocks)) {
		fprintf(stderr, "%s: device too small for %s\n", argv[2], argv[4]);
		return 1;
	}
	t0 = now();
	deadline = t0 + seconds;
	for (int i = 0; i < qd; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, work, &workers[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	for (int i = 0; i < qd; i++) {
		pthread_join(workers[i].thread, NULL);
		if (workers[i].failed)
			return 1;
		done += workers[i].done;
	}
	if (writing && fdatasync(fd) < 0) {
		perror("fdatasync");
		return 1;
	}
	s = now() - t0;
	printf("%s %llu bytes %.3f s %.2f MB/s %.0f IOPS qd %d\n", mode,
	       (unsigned long long)(done * bs), s, (double)(done * bs) / s / 1e6, (double)done / s,
	       qd);
	return 0;
}
