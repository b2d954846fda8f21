/* The VM's whole configuration as one plain struct, filled from the command line. */
#ifndef KVMBOX_CONFIG_H
#define KVMBOX_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_MAX_CPUS		64
#define CONFIG_MAX_CPU_FEATURES 32

#define CONFIG_MAX_DISKS       8
#define CONFIG_MAX_NICS	       4
#define CONFIG_DISK_SERIAL_LEN 20 /* VIRTIO_BLK_ID_BYTES */

enum serial_mode { SERIAL_STDIO, SERIAL_FILE, SERIAL_NONE };
enum on_reboot { ON_REBOOT_RESTART, ON_REBOOT_EXIT };

struct cpu_feature_change {
	char name[32];
	bool add; /* true: +name, false: -name */
};

/* --disk path=FILE[,readonly=on][,cache=none][,serial=ID][,queues=N] */
struct disk_config {
	char *path;
	bool readonly;
	bool direct; /* cache=none: O_DIRECT */
	char serial[CONFIG_DISK_SERIAL_LEN + 1];
	uint32_t queues; /* 0: one per vCPU */
};

/* --net tap=NAME[,mac=52:54:00:12:34:56] */
struct net_config {
	char tap[16]; /* IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;
};

enum console_mode { CONSOLE_SERIAL, CONSOLE_VIRTIO };

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	uint32_t cpus;
	struct cpu_feature_change features[CONFIG_MAX_CPU_FEATURES];
	int nfeatures;

	enum serial_mode serial;
	const char *serial_path;
	enum on_reboot on_reboot;
	bool acpi;
	const char *firmware; /* raw image started at the reset vector, instead of --kernel */
	bool debug_exit;      /* QEMU-compatible isa-debug-exit port at 0xf4 */
	bool test_device;     /* devices/test_device.h, for test guests */
	struct disk_config disks[CONFIG_MAX_DISKS];
	int ndisks;
	struct net_config nets[CONFIG_MAX_NICS];
	int nnets;
	bool rng;		   /* virtio-rng */
	enum console_mode console; /* where stdin goes and the guest's console lives */
	bool sandbox;		   /* seccomp allow-lists once the VM is built (sandbox.h) */
	int verbosity;		   /* 0 = warnings, 1 = info (-v), 2 = debug (-vv) */
	const char *kvm_path;
};

void config_defaults(struct vm_config *cfg);
/* Frees what parsing allocated (disk paths). */
void config_free(struct vm_config *cfg);
/*
 * Parses `kvmbox run` arguments (argv[0] is "run"). Returns 0, 1 if --help was printed, or -1
 * after printing one line that names the bad option and value.
 */
int config_parse_run(struct vm_config *cfg, int argc, char **argv);
void config_print_run_help(void);

/* "512M", "1G", "1536" (MiB, as QEMU's -m). Returns 0 or -1 (malformed / overflow). */
int config_parse_size(const char *s, uint64_t *out);
/* "-cx16,+xsaveerptr,-xsave". Returns 0 or -1 (prints why). */
int config_parse_cpu_features(struct vm_config *cfg, const char *list);
/* One --disk / --net value. Return 0 or -1 (prints why). */
int config_parse_disk(struct vm_config *cfg, const char *arg);
int config_parse_net(struct vm_config *cfg, const char *arg);
/* "52:54:00:12:34:56" -> 6 bytes; 0 or -1. */
int config_parse_mac(const char *s, uint8_t mac[6]);

#endif
