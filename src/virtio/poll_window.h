/*
 * How long a virtqueue's I/O thread watches the ring for more work after a batch before it
 * goes back to sleep on the kick eventfd (adaptive polling, as QEMU's AioContext does).
 *
 * A driver that adds its next request within the window costs neither a notification exit
 * nor a thread wake-up. The window adapts to the driver: when a kick comes soon after the
 * thread went to sleep (within POLL_WINDOW_MAX_NS), a longer window would have caught it, so
 * it doubles; when kicks come later, polling only burns CPU, so it halves, down to 0.
 *
 * Only for a queue whose thread serves nothing else: while it polls, its other event sources
 * wait (virtio-net's transmit queue shares a thread with the tap's receive side).
 */
#ifndef KVMBOX_VIRTIO_POLL_WINDOW_H
#define KVMBOX_VIRTIO_POLL_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define POLL_WINDOW_MIN_NS 4000	 /* the first step up from 0 */
#define POLL_WINDOW_MAX_NS 64000 /* longer than a fast guest's completion-to-resubmit time */

struct poll_window {
	bool enabled;	   /* set by the device; otherwise the window stays 0 */
	uint32_t ns;	   /* the current window, 0 = no polling */
	uint64_t slept_at; /* when the thread last went to sleep (0: never) */
};

/* A kick woke the thread at now: adapt the window to how long it slept. */
void poll_window_woken(struct poll_window *w, uint64_t now_ns);
/* The thread goes to sleep at now (the window passed without work). */
void poll_window_sleeping(struct poll_window *w, uint64_t now_ns);
/* CLOCK_MONOTONIC in ns (the vDSO: no system call). */
uint64_t poll_window_now(void);

#endif
