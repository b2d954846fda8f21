/*
 * The terminal as the guest's console: raw mode while the guest runs (restored on every exit
 * path), stdin forwarded to the UART with back-pressure, and QEMU's Ctrl-A escapes.
 */
#ifndef KVMBOX_CONSOLE_H
#define KVMBOX_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct console {
	int in_fd; /* -1 when the guest gets no input */
	bool is_tty;
	bool escape;	  /* Ctrl-A seen, waiting for the command key */
	uint8_t buf[256]; /* input read but not yet accepted by the UART */
	size_t len, off;
	int signal_fd;	 /* SIGINT/SIGTERM/SIGHUP, to stop the guest cleanly */
	int exit_signal; /* the signal that stopped us, or 0 */
};

/* Sets up input from in_fd (raw mode if it is a terminal). Blocks the stop signals. */
int console_init(struct console *c, int in_fd);
/* Forwards input to the guest until the VM stops; handles Ctrl-A commands. */
void console_run(struct console *c, struct vm *vm);
/* Restores the terminal; safe to call more than once and from a signal handler. */
void console_restore(void);
void console_close(struct console *c);

/*
 * Escape processing, separated for unit tests: feeds one input byte; returns the byte to
 * forward (or -1 for none) and sets quit or help for Ctrl-A x or Ctrl-A h.
 */
int console_escape_feed(struct console *c, uint8_t byte, bool *quit, bool *help);

#endif
