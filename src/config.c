#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "log.h"
#include "memory.h"

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cmdline = "console=ttyS0";
	cfg->mem_size = 256 * MiB;
	cfg->cpus = 1;
	cfg->serial = SERIAL_STDIO;
	cfg->on_reboot = ON_REBOOT_RESTART;
	cfg->acpi = true;
	cfg->kvm_path = "/dev/kvm";
#ifdef KVMBOX_SANITIZE
	/* The sanitizers' runtimes need calls the allow-lists leave out (LeakSanitizer: ptrace). */
	cfg->sandbox = false;
#else
	cfg->sandbox = true;
#endif
}

void config_print_run_help(void)
{
	printf(
	    "usage: kvmbox run --kernel FILE [options]\n"
	    "       kvmbox run --firmware FILE [options]\n"
	    "\n"
	    "Boots a Linux kernel (bzImage, or an ELF vmlinux with a PVH entry note).\n"
	    "\n"
	    "  --kernel FILE          kernel to boot: bzImage, ELF vmlinux (PVH) or multiboot\n"
	    "  --initrd FILE          initial ramdisk\n"
	    "  --cmdline STRING       kernel command line (default \"console=ttyS0\")\n"
	    "  --mem SIZE             guest RAM, e.g. 512M, 2G (plain number = MiB; default "
	    "256M)\n"
	    "  --cpus N               number of vCPUs, 1..%d (default 1)\n"
	    "  --cpu-features LIST    add/remove CPUID flags: -cx16,-xsave,+xsaveerptr\n"
	    "                         ('--cpu-features help' lists the names)\n"
	    "  --serial MODE          stdio (default), file:PATH or none\n"
	    "  --on-reboot ACTION     restart (default) or exit when the guest reboots\n"
	    "  --disk KEYS            virtio-blk disk (repeatable), keys: path=FILE (raw image),\n"
	    "                         readonly=on, cache=none (O_DIRECT), serial=ID,\n"
	    "                         queues=N (default: one per vCPU)\n"
	    "  --net KEYS             virtio-net on a tap device (repeatable), keys: tap=NAME\n"
	    "                         (opened, or created when missing), mac=52:54:00:12:34:56\n"
	    "  --rng                  virtio-rng entropy device (the host's getrandom)\n"
	    "  --console MODE         serial (default) or virtio: stdin/stdout become the\n"
	    "                         guest's hvc0 (add console=hvc0 to --cmdline)\n"
	    "  --no-acpi              no ACPI tables; an MP table describes the CPUs\n"
	    "  --kvm PATH             KVM device (default /dev/kvm)\n"
	    "  --firmware FILE        start a raw firmware image at the reset vector instead\n"
	    "                         of --kernel (mapped read-only below 4 GiB)\n"
	    "  --debug-exit           exit port 0xf4: a guest write of v exits with (v<<1)|1\n"
	    "  --test-device          MMIO/PIO test device for test guests (0xfe000000, 0xe0)\n"
	    "  --sandbox on|off       seccomp allow-lists for every thread once the VM is\n"
	    "                         built (default on; off is for debugging)\n"
	    "  -v, --verbose          more log output (repeat for debug)\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Console: the guest's serial port is the terminal. Ctrl-A x quits, Ctrl-A h "
	    "helps.\n"
	    "Exit status: 0 guest powered off (or rebooted with --on-reboot exit),\n"
	    "             1 bad usage or host error, 2 guest crashed,\n"
	    "             (v<<1)|1 when a guest writes v to the --debug-exit port,\n"
	    "             159 (128 + SIGSYS) a thread broke the sandbox.\n",
	    CONFIG_MAX_CPUS);
}

void config_free(struct vm_config *cfg)
{
	for (int i = 0; i < cfg->ndisks; i++) {
		free(cfg->disks[i].path);
		cfg->disks[i].path = NULL;
	}
	cfg->ndisks = 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = MiB;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1024;
			break;
		case 'm':
		case 'M':
			mult = MiB;
			break;
		case 'g':
		case 'G':
			mult = GiB;
			break;
		case 't':
		case 'T':
			mult = 1024 * GiB;
			break;
		default:
			return -1;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (__builtin_mul_overflow((uint64_t)v, mult, out))
		return -1;
	return 0;
}

int config_parse_cpu_features(struct vm_config *cfg, const char *list)
{
	const char *p = list;

	if (!*p)
		return log_errorx("--cpu-features: empty list; use e.g. -cx16,-xsave");
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct cpu_feature_change *c;

		if (n < 2 || (p[0] != '+' && p[0] != '-'))
			return log_errorx("--cpu-features %s: '%.*s' must be +NAME or -NAME", list,
					  (int)n, p);
		if (n - 1 >= sizeof(c->name) || !cpuid_feature_find_n(p + 1, n - 1))
			return log_errorx("--cpu-features %s: unknown CPU feature '%.*s'; "
					  "'--cpu-features help' lists them",
					  list, (int)(n - 1), p + 1);
		if (cfg->nfeatures == CONFIG_MAX_CPU_FEATURES)
			return log_errorx("--cpu-features: more than %d changes",
					  CONFIG_MAX_CPU_FEATURES);
		c = &cfg->features[cfg->nfeatures++];
		c->add = p[0] == '+';
		memcpy(c->name, p + 1, n - 1);
		c->name[n - 1] = 0;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/*
 * Splits the next "key=value" of a comma-separated list (QEMU/cloud-hypervisor style) into
 * key[] and val[]. Returns 1 with *p advanced, 0 at the end, -1 if malformed.
 */
static int next_kv(const char **p, char *key, size_t keylen, char *val, size_t vallen)
{
	const char *s = *p, *eq, *end;

	if (!*s)
		return 0;
	end = strchr(s, ',');
	if (!end)
		end = s + strlen(s);
	eq = memchr(s, '=', (size_t)(end - s));
	if (!eq || eq == s || (size_t)(eq - s) >= keylen || (size_t)(end - eq - 1) >= vallen)
		return -1;
	memcpy(key, s, (size_t)(eq - s));
	key[eq - s] = 0;
	memcpy(val, eq + 1, (size_t)(end - eq - 1));
	val[end - eq - 1] = 0;
	*p = *end ? end + 1 : end;
	return 1;
}

static int parse_on_off(const char *opt, const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true") || !strcmp(val, "yes")) {
		*out = true;
	} else if (!strcmp(val, "off") || !strcmp(val, "false") || !strcmp(val, "no")) {
		*out = false;
	} else {
		return log_errorx("%s %s=%s: use on or off", opt, key, val);
	}
	return 0;
}

int config_parse_disk(struct vm_config *cfg, const char *arg)
{
	struct disk_config d = {0};
	char key[32], val[4096];
	const char *p = arg;
	int r;

	if (cfg->ndisks == CONFIG_MAX_DISKS)
		return log_errorx("--disk %s: at most %d disks", arg, CONFIG_MAX_DISKS);
	while ((r = next_kv(&p, key, sizeof(key), val, sizeof(val))) == 1) {
		if (!strcmp(key, "path")) {
			free(d.path);
			d.path = strdup(val);
			if (!d.path)
				return log_errorx("out of memory");
		} else if (!strcmp(key, "readonly")) {
			if (parse_on_off("--disk", key, val, &d.readonly) < 0)
				goto fail;
		} else if (!strcmp(key, "cache")) {
			if (strcmp(val, "none") && strcmp(val, "writeback")) {
				log_errorx("--disk cache=%s: use none (O_DIRECT) or writeback",
					   val);
				goto fail;
			}
			d.direct = !strcmp(val, "none");
		} else if (!strcmp(key, "serial")) {
			if (strlen(val) > CONFIG_DISK_SERIAL_LEN) {
				log_errorx("--disk serial=%s: at most %d characters", val,
					   CONFIG_DISK_SERIAL_LEN);
				goto fail;
			}
			strcpy(d.serial, val);
		} else if (!strcmp(key, "queues")) {
			char *end;
			long n = strtol(val, &end, 10);
			if (end == val || *end || n < 1 || n > CONFIG_MAX_CPUS) {
				log_errorx("--disk queues=%s: must be 1 to %d", val,
					   CONFIG_MAX_CPUS);
				goto fail;
			}
			d.queues = (uint32_t)n;
		} else {
			log_errorx(
			    "--disk %s: unknown key '%s'; use path, readonly, cache, serial, "
			    "queues",
			    arg, key);
			goto fail;
		}
	}
	if (r < 0) {
		log_errorx("--disk %s: expected key=value pairs, e.g. path=disk.img,readonly=on",
			   arg);
		goto fail;
	}
	if (!d.path || !d.path[0]) {
		log_errorx("--disk %s: no image given; use path=FILE", arg);
		goto fail;
	}
	cfg->disks[cfg->ndisks++] = d;
	return 0;
fail:
	free(d.path);
	return -1;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (s[3 * i] == ' ' || s[3 * i + 1] == ' ' || s[3 * i] == '+' || s[3 * i] == '-')
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int config_parse_net(struct vm_config *cfg, const char *arg)
{
	struct net_config n = {0};
	char key[32], val[64];
	const char *p = arg;
	int r;

	if (cfg->nnets == CONFIG_MAX_NICS)
		return log_errorx("--net %s: at most %d network devices", arg, CONFIG_MAX_NICS);
	while ((r = next_kv(&p, key, sizeof(key), val, sizeof(val))) == 1) {
		if (!strcmp(key, "tap")) {
			if (!val[0] || strlen(val) >= sizeof(n.tap) || strchr(val, '/'))
				return log_errorx(
				    "--net tap=%s: not a valid interface name (1 to %zu "
				    "characters, no '/')",
				    val, sizeof(n.tap) - 1);
			strcpy(n.tap, val);
		} else if (!strcmp(key, "mac")) {
			if (config_parse_mac(val, n.mac) < 0)
				return log_errorx("--net mac=%s: not a MAC address; use e.g. "
						  "52:54:00:12:34:56",
						  val);
			if (n.mac[0] & 1)
				return log_errorx("--net mac=%s: a multicast address cannot be a "
						  "NIC's; clear the lowest bit of the first byte",
						  val);
			n.mac_set = true;
		} else {
			return log_errorx("--net %s: unknown key '%s'; use tap, mac", arg, key);
		}
	}
	if (r < 0)
		return log_errorx("--net %s: expected key=value pairs, e.g. tap=tap0", arg);
	if (!n.tap[0])
		return log_errorx("--net %s: no tap device given; use tap=NAME", arg);
	cfg->nets[cfg->nnets++] = n;
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_CPUS,
	OPT_CPU_FEATURES,
	OPT_SERIAL,
	OPT_ON_REBOOT,
	OPT_NO_ACPI,
	OPT_KVM,
	OPT_FIRMWARE,
	OPT_DEBUG_EXIT,
	OPT_TEST_DEVICE,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_SANDBOX,
};

static const struct option run_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"append", required_argument, NULL, OPT_CMDLINE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"memory", required_argument, NULL, OPT_MEM},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"cpu-features", required_argument, NULL, OPT_CPU_FEATURES},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"on-reboot", required_argument, NULL, OPT_ON_REBOOT},
    {"no-acpi", no_argument, NULL, OPT_NO_ACPI},
    {"kvm", required_argument, NULL, OPT_KVM},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"bios", required_argument, NULL, OPT_FIRMWARE},
    {"debug-exit", no_argument, NULL, OPT_DEBUG_EXIT},
    {"test-device", no_argument, NULL, OPT_TEST_DEVICE},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", required_argument, NULL, OPT_NET},
    {"rng", no_argument, NULL, OPT_RNG},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_cpus(struct vm_config *cfg, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1 || v > CONFIG_MAX_CPUS)
		return log_errorx("--cpus %s: must be a whole number from 1 to %d", arg,
				  CONFIG_MAX_CPUS);
	cfg->cpus = (uint32_t)v;
	return 0;
}

static int parse_mem(struct vm_config *cfg, const char *arg)
{
	uint64_t size;

	if (config_parse_size(arg, &size) < 0)
		return log_errorx("--mem %s: not a size; use e.g. 512M or 2G", arg);
	if (size < MEM_MIN_SIZE)
		return log_errorx("--mem %s: guest memory must be at least %lluM", arg,
				  MEM_MIN_SIZE / MiB);
	if (size > MEM_MAX_SIZE)
		return log_errorx("--mem %s: guest memory must be at most %lluG", arg,
				  MEM_MAX_SIZE / GiB);
	if (size % (2 * MiB))
		return log_errorx("--mem %s: must be a multiple of 2M", arg);
	cfg->mem_size = size;
	return 0;
}

static int parse_serial(struct vm_config *cfg, const char *arg)
{
	if (!strcmp(arg, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else {
		return log_errorx("--serial %s: use stdio, none or file:PATH", arg);
	}
	return 0;
}

int config_parse_run(struct vm_config *cfg, int argc, char **argv)
{
	int c;

	optind = 0; /* glibc: 0 also clears state left by an earlier argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", run_options, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case OPT_KERNEL:
			cfg->kernel = optarg;
			break;
		case OPT_INITRD:
			cfg->initrd = optarg;
			break;
		case OPT_CMDLINE:
			cfg->cmdline = optarg;
			break;
		case OPT_MEM:
			r = parse_mem(cfg, optarg);
			break;
		case OPT_CPUS:
			r = parse_cpus(cfg, optarg);
			break;
		case OPT_CPU_FEATURES:
			if (!strcmp(optarg, "help")) {
				cpuid_print_feature_names();
				return 1;
			}
			r = config_parse_cpu_features(cfg, optarg);
			break;
		case OPT_SERIAL:
			r = parse_serial(cfg, optarg);
			break;
		case OPT_ON_REBOOT:
			if (!strcmp(optarg, "restart"))
				cfg->on_reboot = ON_REBOOT_RESTART;
			else if (!strcmp(optarg, "exit"))
				cfg->on_reboot = ON_REBOOT_EXIT;
			else
				r = log_errorx("--on-reboot %s: use restart or exit", optarg);
			break;
		case OPT_NO_ACPI:
			cfg->acpi = false;
			break;
		case OPT_KVM:
			cfg->kvm_path = optarg;
			break;
		case OPT_FIRMWARE:
			cfg->firmware = optarg;
			break;
		case OPT_DEBUG_EXIT:
			cfg->debug_exit = true;
			break;
		case OPT_TEST_DEVICE:
			cfg->test_device = true;
			break;
		case OPT_DISK:
			r = config_parse_disk(cfg, optarg);
			break;
		case OPT_NET:
			r = config_parse_net(cfg, optarg);
			break;
		case OPT_RNG:
			cfg->rng = true;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				cfg->console = CONSOLE_SERIAL;
			else if (!strcmp(optarg, "virtio"))
				cfg->console = CONSOLE_VIRTIO;
			else
				r = log_errorx("--console %s: use serial or virtio", optarg);
			break;
		case OPT_SANDBOX:
			if (!strcmp(optarg, "on"))
				cfg->sandbox = true;
			else if (!strcmp(optarg, "off"))
				cfg->sandbox = false;
			else
				r = log_errorx("--sandbox %s: use on or off", optarg);
			break;
		case 'v':
			cfg->verbosity++;
			break;
		case 'h':
			config_print_run_help();
			return 1;
		case ':':
			return log_errorx("option %s needs a value; see 'kvmbox run --help'",
					  argv[optind - 1]);
		default:
			if (optopt >= OPT_KERNEL) /* --flag=value: getopt reports the flag's val */
				return log_errorx("option '%s' takes no value; see 'kvmbox run "
						  "--help'",
						  argv[optind - 1]);
			if (optopt) /* a short option: optind may still point at its word */
				return log_errorx("unknown option '-%c'; see 'kvmbox run --help'",
						  optopt);
			return log_errorx("unknown option '%s'; see 'kvmbox run --help'",
					  argv[optind - 1]);
		}
		if (r < 0)
			return -1;
	}
	if (optind < argc)
		return log_errorx("unexpected argument '%s'; see 'kvmbox run --help'",
				  argv[optind]);
	if (cfg->firmware && (cfg->kernel || cfg->initrd))
		return log_errorx("--firmware boots the firmware image alone; drop --kernel and "
				  "--initrd");
	if (!cfg->kernel && !cfg->firmware)
		return log_errorx("no kernel given: use --kernel FILE (see 'kvmbox run --help')");
	return 0;
}
