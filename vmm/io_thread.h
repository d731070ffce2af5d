/* The I/O thread: one epoll loop that runs device work (queue kicks), never on a vCPU thread. */
#ifndef VMM_IO_THREAD_H
#define VMM_IO_THREAD_H

/* Call fn(arg) on the I/O thread whenever fd is readable (level-triggered; fn must drain it). */
void io_thread_watch(int fd, void (*fn)(void *arg), void *arg);

/* Start the thread (once, after the first watches; later ones are picked up too). */
void io_thread_start(void);
#endif
