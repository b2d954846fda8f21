/*
 * Command-line parsing (config.c): the input, split at NUL bytes, is the argument list after
 * `kvmbox run` (at most MAX_ARGS words). config_defaults + config_parse_run must accept or
 * refuse it without touching memory out of bounds. Properties of an accepted configuration:
 * what main() relies on without checking again — a kernel or a firmware image but not both
 * (and no initrd with firmware), 1..64 CPUs, a memory size from 32M to 1T in whole 2M steps,
 * at most CONFIG_MAX_CPU_FEATURES feature changes with short, terminated names, a serial file
 * path when the serial mode is file, disks with a path, a serial of at most 20 characters
 * and at most 64 queues, tap names that fit IFNAMSIZ, unicast MACs. Each argument also goes
 * through config_parse_size, whose result must not overflow.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_util.h"
#include "memory.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_silence_stdio(); /* every refusal prints a line; --help prints a page */
	return 0;
}

static void check_config(const struct vm_config *cfg)
{
	FUZZ_CHECK(!cfg->firmware != !cfg->kernel, "kernel %p firmware %p", (void *)cfg->kernel,
		   (void *)cfg->firmware);
	FUZZ_CHECK(!(cfg->firmware && cfg->initrd), "firmware with an initrd");
	FUZZ_CHECK(cfg->cpus >= 1 && cfg->cpus <= CONFIG_MAX_CPUS, "cpus %u", cfg->cpus);
	FUZZ_CHECK(cfg->mem_size >= MEM_MIN_SIZE && cfg->mem_size <= MEM_MAX_SIZE &&
		       cfg->mem_size % (2 * MiB) == 0,
		   "mem_size %llu", (unsigned long long)cfg->mem_size);
	FUZZ_CHECK(cfg->nfeatures >= 0 && cfg->nfeatures <= CONFIG_MAX_CPU_FEATURES, "nfeatures %d",
		   cfg->nfeatures);
	for (int i = 0; i < cfg->nfeatures; i++) {
		size_t n = strnlen(cfg->features[i].name, sizeof(cfg->features[i].name));
		FUZZ_CHECK(n > 0 && n < sizeof(cfg->features[i].name), "feature %d name", i);
	}
	FUZZ_CHECK(cfg->cmdline != NULL, "no command line");
	FUZZ_CHECK(cfg->serial != SERIAL_FILE || (cfg->serial_path && *cfg->serial_path),
		   "serial file without a path");
	FUZZ_CHECK(cfg->verbosity >= 0, "verbosity %d", cfg->verbosity);
	FUZZ_CHECK(cfg->ndisks >= 0 && cfg->ndisks <= CONFIG_MAX_DISKS, "ndisks %d", cfg->ndisks);
	for (int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		FUZZ_CHECK(d->path && *d->path, "disk %d without a path", i);
		FUZZ_CHECK(strnlen(d->serial, sizeof(d->serial)) <= CONFIG_DISK_SERIAL_LEN,
			   "disk %d serial", i);
		FUZZ_CHECK(d->queues <= CONFIG_MAX_CPUS, "disk %d queues %u", i, d->queues);
	}
	FUZZ_CHECK(cfg->nnets >= 0 && cfg->nnets <= CONFIG_MAX_NICS, "nnets %d", cfg->nnets);
	for (int i = 0; i < cfg->nnets; i++) {
		size_t n = strnlen(cfg->nets[i].tap, sizeof(cfg->nets[i].tap));
		FUZZ_CHECK(n > 0 && n < sizeof(cfg->nets[i].tap) && !strchr(cfg->nets[i].tap, '/'),
			   "net %d tap name", i);
		FUZZ_CHECK(!cfg->nets[i].mac_set || !(cfg->nets[i].mac[0] & 1),
			   "net %d multicast MAC", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1); /* own copy: the words must be NUL-terminated */
	char *argv[MAX_ARGS + 2];
	struct vm_config cfg;
	int argc = 0, r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "run";
	for (char *p = buf, *end = buf + size; argc <= MAX_ARGS && p <= end; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	for (int i = 1; i < argc; i++) {
		uint64_t v;
		if (config_parse_size(argv[i], &v) == 0)
			FUZZ_CHECK(strlen(argv[i]) > 0, "empty size accepted");
	}

	config_defaults(&cfg);
	r = config_parse_run(&cfg, argc, argv);
	FUZZ_CHECK(r == 0 || r == 1 || r == -1, "config_parse_run returned %d", r);
	if (r == 0)
		check_config(&cfg);
	for (int i = 0; i < cfg.ndisks; i++) /* kept on errors too: main() exits then */
		free(cfg.disks[i].path);
	free(buf);
	return 0;
}
