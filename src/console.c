#include "console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "devices/serial_16550.h"
#include "log.h"
#include "vm.h"

#define CTRL_A 0x01

static struct termios saved_termios;
static int saved_fd = -1;

void console_restore(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
		log_set_raw_terminal(0);
	}
}

/* A crash of kvmbox itself must not leave the user's terminal in raw mode. */
static void crash_handler(int sig)
{
	console_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int console_raw(int fd)
{
	struct termios t;
	static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};

	if (tcgetattr(fd, &saved_termios) < 0)
		return log_error("tcgetattr");
	saved_fd = fd;
	atexit(console_restore);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		signal(crash_signals[i], crash_handler);
	t = saved_termios;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return log_error("tcsetattr");
	log_set_raw_terminal(1);
	return 0;
}

int console_init(struct console *c, int in_fd)
{
	sigset_t stop;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->is_tty = in_fd >= 0 && isatty(in_fd);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	/* Blocked before any vCPU thread exists, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	c->signal_fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->signal_fd < 0)
		return log_error("signalfd");
	if (c->is_tty && console_raw(in_fd) < 0)
		return -1;
	return 0;
}

void console_close(struct console *c)
{
	console_restore();
	if (c->signal_fd >= 0)
		close(c->signal_fd);
	c->signal_fd = -1;
}

static void console_help(void)
{
	const char *e = log_eol();

	fprintf(stderr,
		"%skvmbox console escapes:%s  Ctrl-A h    this help%s"
		"  Ctrl-A x    quit kvmbox (the guest is stopped at once)%s"
		"  Ctrl-A a    send Ctrl-A to the guest%s",
		e, e, e, e, e);
}

int console_escape_feed(struct console *c, uint8_t byte, bool *quit, bool *help)
{
	*quit = *help = false;
	if (!c->escape) {
		if (byte == CTRL_A) {
			c->escape = true;
			return -1;
		}
		return byte;
	}
	c->escape = false;
	switch (byte) {
	case 'x':
	case 'X':
		*quit = true;
		return -1;
	case 'h':
	case 'H':
	case '?':
		*help = true;
		return -1;
	case 'a':
	case CTRL_A:
		return CTRL_A;
	default:
		return -1; /* unknown escape: ignored, as QEMU does */
	}
}

/* Reads what stdin has, applies escapes, and queues the result for the guest's console. */
static void console_read_input(struct console *c, struct vm *vm)
{
	uint8_t raw[sizeof(c->buf)];
	ssize_t n = read(c->in_fd, raw, sizeof(raw));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		c->in_fd = -1; /* end of input: the guest keeps running without it */
		return;
	}
	c->len = c->off = 0;
	for (ssize_t i = 0; i < n; i++) {
		bool quit, help;
		int out = c->is_tty ? console_escape_feed(c, raw[i], &quit, &help) : raw[i];
		if (c->is_tty && quit) {
			fprintf(stderr, "%skvmbox: quit from the console%s", log_eol(), log_eol());
			vm_request_stop(vm, VM_STOP_QUIT);
			return;
		}
		if (c->is_tty && help)
			console_help();
		if (out >= 0)
			c->buf[c->len++] = (uint8_t)out;
	}
}

void console_run(struct console *c, struct vm *vm)
{
	int space_fd = vm_console_space_fd(vm);

	while (!vm_stopping(vm)) {
		struct pollfd p[3] = {
		    {.fd = vm->stop_fd, .events = POLLIN},
		    {.fd = c->signal_fd, .events = POLLIN},
		    {.fd = -1, .events = POLLIN},
		};
		/* With input pending, wait for FIFO room instead of reading more. */
		if (c->off < c->len)
			p[2].fd = space_fd;
		else
			p[2].fd = c->in_fd;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(c->signal_fd, &si, sizeof(si)) == sizeof(si)) {
				c->exit_signal = (int)si.ssi_signo;
				vm_request_stop(vm, VM_STOP_QUIT);
			}
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (c->off < c->len) {
				uint64_t drained;
				if (read(space_fd, &drained, sizeof(drained)) < 0 &&
				    errno != EAGAIN)
					log_warn("serial space eventfd");
			} else {
				console_read_input(c, vm);
			}
		}
		if (c->off < c->len)
			c->off += vm_console_receive(vm, c->buf + c->off, c->len - c->off);
	}
}
