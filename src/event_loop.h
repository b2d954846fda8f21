/*
 * An I/O thread: epoll over a device's file descriptors (ioeventfds, a tap, a console),
 * calling one handler per ready source. Queue work runs here, off the vCPU threads. Sources
 * are owned by the caller; add them before event_loop_start or from the loop's own thread.
 */
#ifndef KVMBOX_EVENT_LOOP_H
#define KVMBOX_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct event_source {
	int fd;
	void (*fn)(void *opaque, uint32_t events); /* events: EPOLLIN, ... */
	void *opaque;
};

struct event_loop {
	const char *name;
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool running;
};

int event_loop_init(struct event_loop *l, const char *name);
/* Watches src->fd for events (EPOLLIN | EPOLLOUT ...); 0 or -errno. */
int event_loop_add(struct event_loop *l, struct event_source *src, uint32_t events);
int event_loop_mod(struct event_loop *l, struct event_source *src, uint32_t events);
int event_loop_del(struct event_loop *l, struct event_source *src);
int event_loop_start(struct event_loop *l);
/* Stops and joins the thread (no handler runs after it returns). Not from the loop itself. */
void event_loop_stop(struct event_loop *l);
void event_loop_destroy(struct event_loop *l);

/* Reads an eventfd to zero; returns the count (0 if none). */
uint64_t eventfd_drain(int fd);

#endif
