/* The I/O thread (epoll(7)): device queue work arrives here as ioeventfd wakeups. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "io_thread.h"
#include "log.h"

struct watch {
	void (*fn)(void *arg);
	void *arg;
};

static int epfd = -1;

void io_thread_watch(int fd, void (*fn)(void *arg), void *arg)
{
	if (epfd < 0 && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die(EXIT_VMM_ERROR, "epoll_create1: %s", strerror(errno));
	struct watch *w = malloc(sizeof(*w));
	if (!w)
		die(EXIT_VMM_ERROR, "out of memory");
	*w = (struct watch){ fn, arg };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die(EXIT_VMM_ERROR, "epoll_ctl: %s", strerror(errno));
}

static void *io_main(void *unused)
{
	struct epoll_event evs[16];
	for (;;) {
		int n = epoll_wait(epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_VMM_ERROR, "epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			w->fn(w->arg);
		}
	}
	return NULL;
}

void io_thread_start(void)
{
	if (epfd < 0)
		return;
	/* The vCPU thread takes the process's signals (--timeout's SIGUSR1, SIGPIPE is ignored). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&t, &attr, io_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		die(EXIT_VMM_ERROR, "cannot start the I/O thread: %s", strerror(e));
}
