/*
 * Tests for the command line: sizes, every `kvmbox run` option in both `--opt value` and
 * `--opt=value` form, and the one-line errors for bad values. stderr/stdout are captured so
 * error messages can be checked for naming the option and the value.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "memory.h"

/* --- capturing stderr and stdout around a parse ----------------------------------------- */

static char err_text[4096];
static char out_text[16384];

struct capture {
	FILE *tmp;
	int saved;
	int fd;
};

static void capture_begin(struct capture *c, int fd)
{
	fflush(NULL);
	c->fd = fd;
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), fd) >= 0);
}

static void capture_end(struct capture *c, char *buf, size_t size)
{
	size_t n;

	fflush(NULL);
	dup2(c->saved, c->fd);
	close(c->saved);
	rewind(c->tmp);
	n = fread(buf, 1, size - 1, c->tmp);
	buf[n] = 0;
	fclose(c->tmp);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Gives getopt a clean slate, as a fresh process would have. */
static void getopt_full_reset(void)
{
	char *argv[] = {"reset", NULL};

	optind = 0;
	opterr = 0;
	while (getopt(1, argv, "") != -1)
		;
}

static int parse_argv(struct vm_config *cfg, char **argv)
{
	struct capture ec, oc;
	int argc = 0, r;

	while (argv[argc])
		argc++;
	config_defaults(cfg);
	getopt_full_reset();
	capture_begin(&ec, STDERR_FILENO);
	capture_begin(&oc, STDOUT_FILENO);
	r = config_parse_run(cfg, argc, argv);
	capture_end(&oc, out_text, sizeof(out_text));
	capture_end(&ec, err_text, sizeof(err_text));
	return r;
}

#define PARSE(cfg, ...) parse_argv(cfg, (char *[]){"run", __VA_ARGS__, NULL})

/* A failed parse printed exactly one line that contains `needle`. */
static void assert_one_error_line(const char *needle)
{
	if (count_lines(err_text) != 1 || !strstr(err_text, needle))
		fail_msg("expected one line naming '%s', got: \"%s\"", needle, err_text);
}

/* --- config_parse_size ------------------------------------------------------------------- */

static uint64_t size_of(const char *s)
{
	uint64_t v = 0xdead;

	if (config_parse_size(s, &v) != 0)
		fail_msg("config_parse_size(\"%s\") failed", s);
	return v;
}

static void assert_size_rejected(const char *s)
{
	uint64_t v;

	if (config_parse_size(s, &v) != -1)
		fail_msg("config_parse_size(\"%s\") accepted it as %llu", s, (unsigned long long)v);
}

static void test_config__size_suffixes_are_binary_units(void **state)
{
	assert_int_equal(size_of("512M"), 512 * MiB);
	assert_int_equal(size_of("512m"), 512 * MiB);
	assert_int_equal(size_of("1G"), GiB);
	assert_int_equal(size_of("2GiB"), 2 * GiB);
	assert_int_equal(size_of("2GB"), 2 * GiB);
	assert_int_equal(size_of("64K"), 64 * 1024);
	assert_int_equal(size_of("1T"), 1024 * GiB);
	assert_int_equal(size_of("0"), 0);
}

static void test_config__size_without_suffix_is_mib(void **state)
{
	assert_int_equal(size_of("1536"), 1536 * MiB);
	assert_int_equal(size_of("1"), MiB);
}

static void test_config__size_rejects_malformed_and_overflowing_input(void **state)
{
	assert_size_rejected("");
	assert_size_rejected("-1");
	assert_size_rejected("+1");
	assert_size_rejected("0x10");
	assert_size_rejected("12Q");
	assert_size_rejected("M");
	assert_size_rejected("1.5G");
	assert_size_rejected("1GiBx");
	assert_size_rejected("1Gi");
	assert_size_rejected("99999999999T");
	assert_size_rejected("18446744073709551615");	 /* fits in u64, but not times 1 MiB */
	assert_size_rejected("99999999999999999999999"); /* not even a u64 */
	assert_int_equal(config_parse_size(NULL, &(uint64_t){0}), -1);
}

/* --- config_parse_run: success paths ----------------------------------------------------- */

static void test_config__defaults_are_the_documented_values(void **state)
{
	struct vm_config cfg;

	config_defaults(&cfg);
	assert_null(cfg.kernel);
	assert_null(cfg.initrd);
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_int_equal(cfg.mem_size, 256 * MiB);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.nfeatures, 0);
	assert_int_equal(cfg.serial, SERIAL_STDIO);
	assert_null(cfg.serial_path);
	assert_int_equal(cfg.on_reboot, ON_REBOOT_RESTART);
	assert_true(cfg.acpi);
	assert_int_equal(cfg.verbosity, 0);
	assert_string_equal(cfg.kvm_path, "/dev/kvm");
}

static void test_config__kernel_alone_keeps_defaults(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "bzImage"), 0);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_int_equal(cfg.mem_size, 256 * MiB);
	assert_int_equal(cfg.cpus, 1);
	assert_true(cfg.acpi);
	assert_string_equal(err_text, "");
}

static void test_config__every_option_sets_its_field(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "vmlinux", "--initrd", "initrd.gz", "--cmdline",
			       "console=ttyS0 quiet", "--mem", "2G", "--cpus", "4",
			       "--cpu-features", "-cx16,+xsaveerptr", "--serial",
			       "file:/tmp/console.log", "--on-reboot", "exit", "--no-acpi", "--kvm",
			       "/tmp/kvm", "-v", "--verbose"),
			 0);
	assert_string_equal(cfg.kernel, "vmlinux");
	assert_string_equal(cfg.initrd, "initrd.gz");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_int_equal(cfg.mem_size, 2 * GiB);
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.nfeatures, 2);
	assert_string_equal(cfg.features[0].name, "cx16");
	assert_false(cfg.features[0].add);
	assert_string_equal(cfg.features[1].name, "xsaveerptr");
	assert_true(cfg.features[1].add);
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/tmp/console.log");
	assert_int_equal(cfg.on_reboot, ON_REBOOT_EXIT);
	assert_false(cfg.acpi);
	assert_string_equal(cfg.kvm_path, "/tmp/kvm");
	assert_int_equal(cfg.verbosity, 2);
}

static void test_config__equals_form_sets_the_same_fields(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel=k", "--initrd=i", "--cmdline=a=b c", "--mem=1G",
			       "--cpus=2", "--cpu-features=-xsave", "--serial=none",
			       "--on-reboot=restart", "--kvm=/dev/null"),
			 0);
	assert_string_equal(cfg.kernel, "k");
	assert_string_equal(cfg.initrd, "i");
	assert_string_equal(cfg.cmdline, "a=b c");
	assert_int_equal(cfg.mem_size, GiB);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.nfeatures, 1);
	assert_string_equal(cfg.features[0].name, "xsave");
	assert_int_equal(cfg.serial, SERIAL_NONE);
	assert_int_equal(cfg.on_reboot, ON_REBOOT_RESTART);
	assert_string_equal(cfg.kvm_path, "/dev/null");
}

static void test_config__append_and_memory_are_aliases(void **state)
{
	struct vm_config cfg;

	assert_int_equal(
	    PARSE(&cfg, "--append", "root=/dev/vda", "--memory", "512M", "--kernel", "k"), 0);
	assert_string_equal(cfg.cmdline, "root=/dev/vda");
	assert_int_equal(cfg.mem_size, 512 * MiB);
}

static void test_config__options_may_follow_in_any_order_and_repeat(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "-vv", "--mem", "64M", "--kernel", "a", "--kernel", "b",
			       "--mem", "128", "--cpu-features", "-cx16", "--cpu-features",
			       "-xsave"),
			 0);
	assert_string_equal(cfg.kernel, "b"); /* last one wins */
	assert_int_equal(cfg.mem_size, 128 * MiB);
	assert_int_equal(cfg.verbosity, 2);
	assert_int_equal(cfg.nfeatures, 2); /* feature changes accumulate */
}

static void test_config__accepts_limits_of_mem_and_cpus(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--mem", "32M", "--cpus", "1"), 0);
	assert_int_equal(cfg.mem_size, MEM_MIN_SIZE);
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--mem", "1024G", "--cpus", "64"), 0);
	assert_int_equal(cfg.mem_size, MEM_MAX_SIZE);
	assert_int_equal(cfg.cpus, CONFIG_MAX_CPUS);
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--mem", "3074M"), 0);
	assert_int_equal(cfg.mem_size, 3 * GiB + 2 * MiB);
}

static void test_config__help_returns_1_and_prints_usage(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--help"), 1);
	assert_non_null(strstr(out_text, "usage: kvmbox run"));
	assert_int_equal(PARSE(&cfg, "-h"), 1);
	assert_non_null(strstr(out_text, "--kernel FILE"));
	assert_int_equal(PARSE(&cfg, "--cpu-features", "help"), 1);
	assert_non_null(strstr(out_text, "xsaveerptr"));
}

/* --- config_parse_run: errors ------------------------------------------------------------ */

static void test_config__no_kernel_is_an_error(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--mem", "512M"), -1);
	assert_one_error_line("--kernel");
	assert_int_equal(parse_argv(&cfg, (char *[]){"run", NULL}), -1);
	assert_one_error_line("--kernel");
}

static void test_config__unknown_option_is_an_error_naming_it(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--bogus"), -1);
	assert_one_error_line("--bogus");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--bogus=3"), -1);
	assert_one_error_line("--bogus");
	assert_int_equal(PARSE(&cfg, "-x", "--kernel", "k"), -1);
	assert_one_error_line("'-x'");
}

/* The message names the option word the bad letter came from ('-x' or '-vx'). */
static void assert_error_names_option_with_x(void)
{
	const char *open = strchr(err_text, '\'');
	const char *close = open ? strchr(open + 1, '\'') : NULL;

	if (count_lines(err_text) != 1 || !close || open[1] != '-' ||
	    !memchr(open, 'x', (size_t)(close - open)))
		fail_msg("expected one line naming the option with 'x', got: \"%s\"", err_text);
}

/*
 * A bad letter followed by more letters in the same word ("-xv"): getopt has not moved
 * optind past the word yet, so argv[optind - 1] is the word before it.
 */
static void test_config__unknown_letter_inside_option_word_is_named(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "-vx", "--kernel", "k"), -1);
	assert_error_names_option_with_x();
	assert_int_equal(PARSE(&cfg, "-xv", "--kernel", "k"), -1);
	assert_error_names_option_with_x();
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "-xv"), -1);
	assert_error_names_option_with_x();
}

static void test_config__missing_value_is_an_error_naming_the_option(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--mem"), -1);
	assert_one_error_line("--mem");
	assert_non_null(strstr(err_text, "needs a value"));
	assert_int_equal(PARSE(&cfg, "--kernel"), -1);
	assert_one_error_line("--kernel");
}

static void test_config__stray_argument_is_an_error(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "extra"), -1);
	assert_one_error_line("'extra'");
}

static void assert_bad_value(const char *opt, const char *value)
{
	struct vm_config cfg;
	char expect[128];

	if (parse_argv(&cfg,
		       (char *[]){"run", "--kernel", "k", (char *)opt, (char *)value, NULL}) != -1)
		fail_msg("%s %s was accepted", opt, value);
	snprintf(expect, sizeof(expect), "%s %s", opt, value);
	assert_one_error_line(expect);
}

static void test_config__mem_rejects_bad_sizes_naming_the_value(void **state)
{
	assert_bad_value("--mem", "0");
	assert_bad_value("--mem", "1M");
	assert_bad_value("--mem", "31M");
	assert_bad_value("--mem", "5000G");
	assert_bad_value("--mem", "1025G");
	assert_bad_value("--mem", "abc");
	assert_bad_value("--mem", "33M");
	assert_bad_value("--mem", "3073M");
	assert_bad_value("--mem", "");
	assert_non_null(strstr(err_text, "not a size"));
}

static void test_config__mem_error_says_what_is_wrong(void **state)
{
	assert_bad_value("--mem", "1M");
	assert_non_null(strstr(err_text, "at least 32M"));
	assert_bad_value("--mem", "5000G");
	assert_non_null(strstr(err_text, "at most 1024G"));
	assert_bad_value("--mem", "33M");
	assert_non_null(strstr(err_text, "multiple of 2M"));
}

static void test_config__cpus_rejects_out_of_range_and_junk(void **state)
{
	assert_bad_value("--cpus", "0");
	assert_bad_value("--cpus", "65");
	assert_bad_value("--cpus", "2x");
	assert_bad_value("--cpus", "-1");
	assert_bad_value("--cpus", "");
	assert_bad_value("--cpus", "99999999999999999999");
}

static void test_config__serial_and_on_reboot_reject_unknown_modes(void **state)
{
	assert_bad_value("--serial", "bogus");
	assert_bad_value("--serial", "file:");
	assert_bad_value("--serial", "STDIO");
	assert_bad_value("--on-reboot", "bogus");
	assert_bad_value("--on-reboot", "");
}

static void test_config__cpu_features_rejects_unknown_unsigned_and_empty(void **state)
{
	assert_bad_value("--cpu-features", "+nosuchflag");
	assert_non_null(strstr(err_text, "unknown CPU feature 'nosuchflag'"));
	assert_bad_value("--cpu-features", "-cx16,-bogus");
	assert_non_null(strstr(err_text, "'bogus'"));
	assert_bad_value("--cpu-features", "cx16");
	assert_non_null(strstr(err_text, "+NAME or -NAME"));
	assert_bad_value("--cpu-features", "-");
	assert_bad_value("--cpu-features", ",-cx16");
	assert_bad_value("--cpu-features", "-cx16,,-xsave");
	assert_bad_value("--cpu-features", "-cx");
	assert_bad_value("--cpu-features", "-cx16x");
	assert_bad_value("--cpu-features", "-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void test_config__cpu_features_rejects_empty_list(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--cpu-features", ""), -1);
	assert_one_error_line("empty list");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--cpu-features="), -1);
	assert_one_error_line("empty list");
}

static void test_config__cpu_features_limits_the_number_of_changes(void **state)
{
	struct vm_config cfg;
	char list[CONFIG_MAX_CPU_FEATURES * 8 + 16] = "";

	for (int i = 0; i < CONFIG_MAX_CPU_FEATURES; i++)
		strcat(list, i ? ",-cx16" : "-cx16");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--cpu-features", list), 0);
	assert_int_equal(cfg.nfeatures, CONFIG_MAX_CPU_FEATURES);
	strcat(list, ",+xsaveerptr");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--cpu-features", list), -1);
	assert_one_error_line("more than 32 changes");
}

/*
 * config_parse_run must not depend on how an earlier call ended: an error or --help in the
 * middle of "-vx"/"-hv" leaves glibc's getopt halfway through that word, and `optind = 1`
 * does not reset that (only `optind = 0` does).
 */
static void test_config__parse_after_error_mid_word_starts_fresh(void **state)
{
	struct vm_config cfg;
	char *bad[] = {"run", "-xv", "--kernel", "k", NULL};
	char *good[] = {"run", "--kernel", "k2", NULL};
	struct capture ec;

	int r1, r2;

	getopt_full_reset();
	capture_begin(&ec, STDERR_FILENO);
	config_defaults(&cfg);
	r1 = config_parse_run(&cfg, 4, bad);
	config_defaults(&cfg);
	r2 = config_parse_run(&cfg, 3, good);
	capture_end(&ec, err_text, sizeof(err_text));
	assert_int_equal(r1, -1);
	assert_int_equal(r2, 0);
	assert_string_equal(cfg.kernel, "k2");
	assert_int_equal(cfg.verbosity, 0); /* the 'v' left over from "-xv" must not count */
}

static void test_config__parse_after_help_mid_word_starts_fresh(void **state)
{
	struct vm_config cfg;
	char *help[] = {"run", "-hv", NULL};
	char *good[] = {"run", "--kernel", "k", NULL};
	struct capture oc;

	int r1, r2;

	getopt_full_reset();
	capture_begin(&oc, STDOUT_FILENO);
	config_defaults(&cfg);
	r1 = config_parse_run(&cfg, 2, help);
	config_defaults(&cfg);
	r2 = config_parse_run(&cfg, 3, good);
	capture_end(&oc, out_text, sizeof(out_text));
	assert_int_equal(r1, 1);
	assert_int_equal(r2, 0);
	assert_int_equal(cfg.verbosity, 0);
}

static void test_config__repeated_parses_of_different_vectors_agree(void **state)
{
	struct vm_config cfg;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(PARSE(&cfg, "--kernel", "k", "--cpus", "3"), 0);
		assert_int_equal(cfg.cpus, 3);
		assert_int_equal(PARSE(&cfg, "--cpus", "9", "--kernel", "k", "-v"), 0);
		assert_int_equal(cfg.cpus, 9);
		assert_int_equal(cfg.verbosity, 1);
	}
}

/* --- --disk, --net, --rng, --console ------------------------------------------------------ */

/* config_parse_disk strdup()s each path; a test frees them as main() would at exit. */
static void free_disks(struct vm_config *cfg)
{
	for (int i = 0; i < cfg->ndisks; i++) {
		free(cfg->disks[i].path);
		cfg->disks[i].path = NULL;
	}
	cfg->ndisks = 0;
}

/* `--kernel k OPT VALUE` fails with one line on stderr that contains needle. */
static void assert_refused(const char *opt, const char *value, const char *needle)
{
	struct vm_config cfg;
	int r =
	    parse_argv(&cfg, (char *[]){"run", "--kernel", "k", (char *)opt, (char *)value, NULL});

	free_disks(&cfg);
	if (r != -1)
		fail_msg("%s %s was accepted", opt, value);
	if (count_lines(err_text) != 1 || !strstr(err_text, needle))
		fail_msg("%s %s: expected one line naming '%s', got: \"%s\"", opt, value, needle,
			 err_text);
}

static void test_config__disk_sets_every_key(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--disk",
			       "path=/tmp/a.img,readonly=on,cache=none,serial=SN-1,queues=4",
			       "--disk=path=b.img"),
			 0);
	assert_string_equal(err_text, "");
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.disks[0].path, "/tmp/a.img");
	assert_true(cfg.disks[0].readonly);
	assert_true(cfg.disks[0].direct);
	assert_string_equal(cfg.disks[0].serial, "SN-1");
	assert_int_equal(cfg.disks[0].queues, 4);
	/* Defaults: read-write, page cache, no serial, a queue per vCPU (0). */
	assert_string_equal(cfg.disks[1].path, "b.img");
	assert_false(cfg.disks[1].readonly);
	assert_false(cfg.disks[1].direct);
	assert_string_equal(cfg.disks[1].serial, "");
	assert_int_equal(cfg.disks[1].queues, 0);
	free_disks(&cfg);
}

static void test_config__disk_value_spellings_and_limits(void **state)
{
	struct vm_config cfg;

	/* Keys in any order; the last path wins; on/off synonyms; the limits themselves. */
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--disk",
			       "readonly=yes,path=x,path=y,cache=writeback,queues=64,"
			       "serial=01234567890123456789",
			       "--disk", "path=z,readonly=true,readonly=off,queues=1"),
			 0);
	assert_string_equal(cfg.disks[0].path, "y");
	assert_true(cfg.disks[0].readonly);
	assert_false(cfg.disks[0].direct);
	assert_int_equal(cfg.disks[0].queues, CONFIG_MAX_CPUS);
	assert_string_equal(cfg.disks[0].serial, "01234567890123456789");
	assert_false(cfg.disks[1].readonly);
	assert_int_equal(cfg.disks[1].queues, 1);
	free_disks(&cfg);
	/* A path with '=' in it and spaces. */
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--disk", "path=/tmp/a b=c.img"), 0);
	assert_string_equal(cfg.disks[0].path, "/tmp/a b=c.img");
	free_disks(&cfg);
}

static void test_config__disk_rejects_bad_keys_and_values(void **state)
{
	assert_refused("--disk", "path=a.img,bogus=1", "unknown key 'bogus'");
	assert_refused("--disk", "path=a.img,format=raw", "--disk path=a.img,format=raw");
	assert_refused("--disk", "readonly=on", "no image given");
	assert_refused("--disk", "path=", "no image given");
	assert_refused("--disk", "", "no image given");
	assert_refused("--disk", "path=a.img,readonly=maybe", "readonly=maybe: use on or off");
	assert_refused("--disk", "path=a.img,readonly=", "use on or off");
	assert_refused("--disk", "path=a.img,serial=012345678901234567890",
		       "serial=012345678901234567890: at most 20 characters");
	assert_refused("--disk", "path=a.img,queues=0", "queues=0: must be 1 to 64");
	assert_refused("--disk", "path=a.img,queues=65", "queues=65: must be 1 to 64");
	assert_refused("--disk", "path=a.img,queues=-1", "must be 1 to 64");
	assert_refused("--disk", "path=a.img,queues=2x", "queues=2x");
	assert_refused("--disk", "path=a.img,queues=", "must be 1 to 64");
	assert_refused("--disk", "path=a.img,cache=directsync", "cache=directsync");
	/* Not key=value pairs at all. */
	assert_refused("--disk", "a.img", "expected key=value pairs");
	assert_refused("--disk", "path=a.img,,readonly=on", "expected key=value pairs");
	assert_refused("--disk", "=a.img", "expected key=value pairs");
	assert_refused("--disk", "path=a.img,readonly", "expected key=value pairs");
}

static void test_config__disk_count_is_limited(void **state)
{
	struct vm_config cfg;
	char *argv[3 + 2 * (CONFIG_MAX_DISKS + 1) + 1] = {"run", "--kernel", "k"};
	int argc = 3;

	for (int i = 0; i <= CONFIG_MAX_DISKS; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = "path=d.img";
	}
	argv[argc] = NULL;
	assert_int_equal(parse_argv(&cfg, argv), -1);
	assert_int_equal(cfg.ndisks, CONFIG_MAX_DISKS);
	free_disks(&cfg);
	assert_one_error_line("at most 8 disks");
	argv[argc - 2] = NULL;
	assert_int_equal(parse_argv(&cfg, argv), 0);
	assert_int_equal(cfg.ndisks, CONFIG_MAX_DISKS);
	free_disks(&cfg);
}

static void test_config__net_sets_tap_and_mac(void **state)
{
	struct vm_config cfg;
	const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--net", "tap=tap0", "--net",
			       "mac=52:54:00:AB:cd:ef,tap=abcdefghijklmno"),
			 0);
	assert_string_equal(err_text, "");
	assert_int_equal(cfg.nnets, 2);
	assert_string_equal(cfg.nets[0].tap, "tap0");
	assert_false(cfg.nets[0].mac_set);
	assert_string_equal(cfg.nets[1].tap, "abcdefghijklmno"); /* 15: IFNAMSIZ - 1 */
	assert_true(cfg.nets[1].mac_set);
	assert_memory_equal(cfg.nets[1].mac, mac, 6);
}

static void test_config__net_rejects_bad_tap_mac_and_keys(void **state)
{
	assert_refused("--net", "tap=abcdefghijklmnop", "not a valid interface name");
	assert_refused("--net", "tap=", "not a valid interface name");
	assert_refused("--net", "tap=../x", "tap=../x");
	assert_refused("--net", "mac=52:54:00:12:34:56", "no tap device given");
	assert_refused("--net", "tap=t0,mac=52:54:00:12:34", "mac=52:54:00:12:34: not a MAC");
	assert_refused("--net", "tap=t0,mac=52:54:00:12:34:5g", "not a MAC address");
	assert_refused("--net", "tap=t0,mac=52-54-00-12-34-56", "not a MAC address");
	assert_refused("--net", "tap=t0,mac=52:54:00:12:34:567", "not a MAC address");
	assert_refused("--net", "tap=t0,mac=52:54:00:12:34: 6", "not a MAC address");
	assert_refused("--net", "tap=t0,mac=52:54:00:12:+3:56", "not a MAC address");
	assert_refused("--net", "tap=t0,mac=01:00:5e:00:00:01", "multicast");
	assert_refused("--net", "tap=t0,mac=ff:ff:ff:ff:ff:ff", "multicast");
	assert_refused("--net", "tap=t0,model=virtio", "unknown key 'model'");
	assert_refused("--net", "tap0", "expected key=value pairs");
}

static void test_config__net_count_is_limited(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--net", "tap=a", "--net", "tap=b", "--net",
			       "tap=c", "--net", "tap=d"),
			 0);
	assert_int_equal(cfg.nnets, CONFIG_MAX_NICS);
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--net", "tap=a", "--net", "tap=b", "--net",
			       "tap=c", "--net", "tap=d", "--net", "tap=e"),
			 -1);
	assert_one_error_line("at most 4 network devices");
}

static void test_config__parse_mac_accepts_only_six_hex_pairs(void **state)
{
	uint8_t mac[6] = {0};
	const uint8_t want[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x0f};

	assert_int_equal(config_parse_mac("02:AA:bb:Cc:dD:0f", mac), 0);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(config_parse_mac("", mac), -1);
	assert_int_equal(config_parse_mac("2:aa:bb:cc:dd:0f:", mac), -1);
	assert_int_equal(config_parse_mac("02:aa:bb:cc:dd:0fx", mac), -1);
	assert_int_equal(config_parse_mac("02:aa:bb:cc:dd:0", mac), -1);
	assert_int_equal(config_parse_mac("02aabbccddeeff00", mac), -1);
	assert_int_equal(config_parse_mac("-2:aa:bb:cc:dd:0f", mac), -1);
}

static void test_config__rng_and_console(void **state)
{
	struct vm_config cfg;

	assert_int_equal(PARSE(&cfg, "--kernel", "k"), 0);
	assert_false(cfg.rng);
	assert_int_equal(cfg.console, CONSOLE_SERIAL);
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--rng", "--console", "virtio"), 0);
	assert_true(cfg.rng);
	assert_int_equal(cfg.console, CONSOLE_VIRTIO);
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--console=virtio", "--console=serial"), 0);
	assert_int_equal(cfg.console, CONSOLE_SERIAL);
	assert_string_equal(err_text, "");

	assert_bad_value("--console", "hvc");
	assert_non_null(strstr(err_text, "use serial or virtio"));
	assert_bad_value("--console", "");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--console"), -1);
	assert_one_error_line("--console");
}

static void test_config__flag_given_a_value_is_named(void **state)
{
	struct vm_config cfg;

	/* Options that take no value, given one with '=': the message names the word. */
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--rng=1"), -1);
	assert_one_error_line("'--rng=1'");
	assert_int_equal(PARSE(&cfg, "--kernel", "k", "--no-acpi=yes"), -1);
	assert_one_error_line("'--no-acpi=yes'");
	assert_int_equal(PARSE(&cfg, "--debug-exit=", "--kernel", "k"), -1);
	assert_one_error_line("'--debug-exit='");
	/* Control characters never end up in the message. */
	for (const char *p = err_text; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			fail_msg("control character %#x in \"%s\"", *p, err_text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config__size_suffixes_are_binary_units),
	    cmocka_unit_test(test_config__size_without_suffix_is_mib),
	    cmocka_unit_test(test_config__size_rejects_malformed_and_overflowing_input),
	    cmocka_unit_test(test_config__defaults_are_the_documented_values),
	    cmocka_unit_test(test_config__kernel_alone_keeps_defaults),
	    cmocka_unit_test(test_config__every_option_sets_its_field),
	    cmocka_unit_test(test_config__equals_form_sets_the_same_fields),
	    cmocka_unit_test(test_config__append_and_memory_are_aliases),
	    cmocka_unit_test(test_config__options_may_follow_in_any_order_and_repeat),
	    cmocka_unit_test(test_config__accepts_limits_of_mem_and_cpus),
	    cmocka_unit_test(test_config__help_returns_1_and_prints_usage),
	    cmocka_unit_test(test_config__no_kernel_is_an_error),
	    cmocka_unit_test(test_config__unknown_option_is_an_error_naming_it),
	    cmocka_unit_test(test_config__unknown_letter_inside_option_word_is_named),
	    cmocka_unit_test(test_config__missing_value_is_an_error_naming_the_option),
	    cmocka_unit_test(test_config__stray_argument_is_an_error),
	    cmocka_unit_test(test_config__mem_rejects_bad_sizes_naming_the_value),
	    cmocka_unit_test(test_config__mem_error_says_what_is_wrong),
	    cmocka_unit_test(test_config__cpus_rejects_out_of_range_and_junk),
	    cmocka_unit_test(test_config__serial_and_on_reboot_reject_unknown_modes),
	    cmocka_unit_test(test_config__cpu_features_rejects_unknown_unsigned_and_empty),
	    cmocka_unit_test(test_config__cpu_features_rejects_empty_list),
	    cmocka_unit_test(test_config__cpu_features_limits_the_number_of_changes),
	    cmocka_unit_test(test_config__parse_after_error_mid_word_starts_fresh),
	    cmocka_unit_test(test_config__parse_after_help_mid_word_starts_fresh),
	    cmocka_unit_test(test_config__repeated_parses_of_different_vectors_agree),
	    cmocka_unit_test(test_config__disk_sets_every_key),
	    cmocka_unit_test(test_config__disk_value_spellings_and_limits),
	    cmocka_unit_test(test_config__disk_rejects_bad_keys_and_values),
	    cmocka_unit_test(test_config__disk_count_is_limited),
	    cmocka_unit_test(test_config__net_sets_tap_and_mac),
	    cmocka_unit_test(test_config__net_rejects_bad_tap_mac_and_keys),
	    cmocka_unit_test(test_config__net_count_is_limited),
	    cmocka_unit_test(test_config__parse_mac_accepts_only_six_hex_pairs),
	    cmocka_unit_test(test_config__rng_and_console),
	    cmocka_unit_test(test_config__flag_given_a_value_is_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
