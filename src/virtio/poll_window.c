#include "virtio/poll_window.h"

#include <time.h>

void poll_window_woken(struct poll_window *w, uint64_t now_ns)
{
	uint64_t slept;

	if (!w->enabled || !w->slept_at)
		return; /* not polling, or the first kick: nothing to learn from yet */
	slept = now_ns - w->slept_at;
	if (slept <= POLL_WINDOW_MAX_NS) {
		w->ns = w->ns ? w->ns * 2 : POLL_WINDOW_MIN_NS;
		if (w->ns > POLL_WINDOW_MAX_NS)
			w->ns = POLL_WINDOW_MAX_NS;
	} else {
		w->ns /= 2;
		if (w->ns < POLL_WINDOW_MIN_NS)
			w->ns = 0;
	}
}

void poll_window_sleeping(struct poll_window *w, uint64_t now_ns)
{
	w->slept_at = now_ns;
}

uint64_t poll_window_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
