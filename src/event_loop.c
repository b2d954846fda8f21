#include "event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

int event_loop_init(struct event_loop *l, const char *name)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	memset(l, 0, sizeof(*l));
	l->name = name;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_fd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		int err = -errno;
		event_loop_destroy(l);
		return err;
	}
	return 0;
}

static int ctl(struct event_loop *l, int op, struct event_source *src, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = src};

	return epoll_ctl(l->epfd, op, src->fd, &ev) < 0 ? -errno : 0;
}

int event_loop_add(struct event_loop *l, struct event_source *src, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, src, events);
}

int event_loop_mod(struct event_loop *l, struct event_source *src, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, src, events);
}

int event_loop_del(struct event_loop *l, struct event_source *src)
{
	return ctl(l, EPOLL_CTL_DEL, src, 0);
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event evs[16];

	/* Named from inside: naming another thread opens /proc, which the sandbox forbids. */
	pthread_setname_np(pthread_self(), l->name);
	if (sandbox_enter(SANDBOX_IO) < 0)
		return NULL;
	for (;;) {
		int n = epoll_wait(l->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("%s: epoll_wait", l->name);
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct event_source *src = evs[i].data.ptr;
			if (!src)
				return NULL; /* stop requested */
			src->fn(src->opaque, evs[i].events);
		}
	}
}

int event_loop_start(struct event_loop *l)
{
	int r = pthread_create(&l->thread, NULL, loop_thread, l);

	if (r)
		return -r;
	l->running = true;
	return 0;
}

void event_loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	if (!l->running)
		return;
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		log_warn("%s: waking the I/O thread", l->name);
	pthread_join(l->thread, NULL);
	eventfd_drain(l->stop_fd);
	l->running = false;
}

void event_loop_destroy(struct event_loop *l)
{
	event_loop_stop(l);
	if (l->epfd >= 0) /* callers mark never-initialised loops with -1 */
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->epfd = l->stop_fd = -1;
}

uint64_t eventfd_drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}
