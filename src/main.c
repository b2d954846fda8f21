/*
 * kvmbox: a small virtual machine monitor for Linux/KVM.
 * argv -> struct vm_config -> build the VM -> run it until it stops -> exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "config.h"
#include "console.h"
#include "kvm.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

enum exit_status {
	EXIT_GUEST_OFF = 0,  /* powered off, or rebooted with --on-reboot exit, or quit */
	EXIT_HOST_ERROR = 1, /* bad usage, missing files, KVM problems */
	EXIT_GUEST_CRASH = 2,
};

static void print_usage(FILE *out)
{
	fprintf(out, "usage: kvmbox COMMAND [options]\n"
		     "\n"
		     "Commands:\n"
		     "  run       boot a guest (see 'kvmbox run --help')\n"
		     "  check     tell whether this host can run guests, and what it lacks\n"
		     "  version   print the version\n"
		     "  help      this help\n");
}

/*
 * The console log file is truncated only once the VM is built, and removed again if we
 * created it and the VM could not start: a failed start leaves nothing behind.
 */
static int open_serial_output(const struct vm_config *cfg, bool *created)
{
	int fd;

	*created = false;
	switch (cfg->serial) {
	case SERIAL_STDIO:
		return STDOUT_FILENO;
	case SERIAL_NONE:
		return -1;
	case SERIAL_FILE:
		break;
	}
	fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0)
		*created = true;
	else if (errno == EEXIST)
		fd = open(cfg->serial_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error("--serial file:%s", cfg->serial_path) - 1;
	return fd;
}

static const char *stop_reason_text(enum vm_stop_reason r)
{
	switch (r) {
	case VM_STOP_POWEROFF:
		return "guest powered off";
	case VM_STOP_REBOOT:
		return "guest rebooted";
	case VM_STOP_CRASH:
		return "guest crashed";
	case VM_STOP_QUIT:
		return "stopped by the user";
	case VM_STOP_ERROR:
		return "stopped by an internal error";
	case VM_STOP_DEBUG_EXIT:
		return "guest wrote the debug-exit port";
	default:
		return "stopped";
	}
}

static int run_vm(const struct vm_config *cfg);

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	int r, status;

	config_defaults(&cfg);
	r = config_parse_run(&cfg, argc, argv);
	status = r > 0 ? 0 : r < 0 ? EXIT_HOST_ERROR : run_vm(&cfg);
	config_free(&cfg);
	return status;
}

static int run_vm(const struct vm_config *cfg)
{
	struct kvm kvm;
	struct console con;
	struct backends backends;
	struct vm vm;
	int serial_fd, status = EXIT_HOST_ERROR, debug_status;
	bool serial_created, booted = false;

	log_set_level(cfg->verbosity >= 2 ? LOG_DEBUG : cfg->verbosity ? LOG_INFO : LOG_WARN);
	if (kvm_open(&kvm, cfg->kvm_path) < 0)
		return EXIT_HOST_ERROR;
	if (backends_open(&backends, cfg) < 0) {
		kvm_close(&kvm);
		return EXIT_HOST_ERROR;
	}
	serial_fd = open_serial_output(cfg, &serial_created);
	if (serial_fd < -1) {
		backends_close(&backends);
		kvm_close(&kvm);
		return EXIT_HOST_ERROR;
	}
	vcpu_signals_init();
	if (console_init(&con, cfg->serial == SERIAL_STDIO ? STDIN_FILENO : -1) < 0)
		goto out;
	if (cfg->sandbox && sandbox_prepare(console_restore) < 0)
		goto out;
	for (;;) {
		enum vm_stop_reason reason;
		if (vm_create(&vm, cfg, &kvm, &backends, serial_fd) < 0) {
			vm_destroy(&vm);
			break;
		}
		/* Built: now the old log may go, before a vCPU can write the new one. */
		if (!booted && cfg->serial == SERIAL_FILE && ftruncate(serial_fd, 0) < 0)
			log_warn("--serial file:%s: truncating", cfg->serial_path);
		if (vm_start(&vm) < 0) {
			vm_destroy(&vm);
			break;
		}
		/* Set up once: from here on the main thread keeps to its allow-list too. */
		if (!booted && sandbox_enter(SANDBOX_MAIN) < 0) {
			vm_destroy(&vm);
			break;
		}
		booted = true;
		console_run(&con, &vm);
		reason = vm_join(&vm);
		debug_status = vm.exit_status;
		vm_destroy(&vm);
		log_info("%s", stop_reason_text(reason));
		/* A signal read while the guest was rebooting still ends kvmbox. */
		if (reason == VM_STOP_REBOOT && cfg->on_reboot == ON_REBOOT_RESTART &&
		    !con.exit_signal)
			continue;
		if (reason == VM_STOP_DEBUG_EXIT)
			status = debug_status;
		else if (reason == VM_STOP_CRASH)
			status = EXIT_GUEST_CRASH;
		else if (reason == VM_STOP_ERROR)
			status = EXIT_HOST_ERROR;
		else if (con.exit_signal)
			status = 128 + con.exit_signal;
		else
			status = EXIT_GUEST_OFF;
		break;
	}
out:
	console_close(&con);
	if (serial_fd > STDERR_FILENO)
		close(serial_fd);
	if (serial_created && !booted)
		unlink(cfg->serial_path);
	backends_close(&backends);
	kvm_close(&kvm);
	return status;
}

static int cmd_check(int argc, char **argv)
{
	struct kvm kvm;
	bool ok = true;
	const char *path = argc > 1 ? argv[1] : "/dev/kvm";

	if (kvm_open(&kvm, path) < 0) {
		printf("kvmbox cannot run guests on this host (see the message above).\n");
		return EXIT_HOST_ERROR;
	}
	printf("%s: KVM API version %d, up to %d vCPUs per VM\n", path, KVM_API_VERSION,
	       kvm.max_vcpus);
	for (size_t i = 0; i < kvm_required_caps_count; i++) {
		bool have = kvm_check_extension(&kvm, kvm_required_caps[i].cap) > 0;
		printf("  %-28s %-8s (%s)\n", kvm_required_caps[i].name, have ? "ok" : "MISSING",
		       kvm_required_caps[i].why);
		ok = ok && have;
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		printf(
		    "note: this host's KVM is kvm_pvm (nested, shadow paging): guest kernel code "
		    "is emulated,\n      so boots are slow; run Linux guests with "
		    "--cpu-features -cx16,-xsave\n      (see guest/README.md for the guest "
		    "kernel command line this host needs).\n");
	printf(ok ? "This host can run kvmbox guests.\n"
		  : "This host cannot run kvmbox guests: a capability above is missing.\n");
	kvm_close(&kvm);
	return ok ? 0 : EXIT_HOST_ERROR;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_mark_start();
	if (!cmd) {
		print_usage(stderr);
		return EXIT_HOST_ERROR;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("kvmbox %s\n", KVMBOX_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		print_usage(stdout);
		return 0;
	}
	fprintf(stderr, "kvmbox: unknown command '%s'; commands are run, check, version, help\n",
		cmd);
	return EXIT_HOST_ERROR;
}
