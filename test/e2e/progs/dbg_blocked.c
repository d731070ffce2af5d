/*
 * gdb process-mode scenario: a thread blocked in read(2) with known values
 * in callee-saved registers while gdb stops in main; gdb reads them and
 * changes one, and the thread must see the change when the read returns.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];
static unsigned long seen_rbx, seen_r12;

static void *blocker(void *arg)
{
	(void)arg;
	char c;
	__asm__ volatile("push %%rbx\n\t"
			 "push %%r12\n\t"
			 "mov $0x1111111111111111, %%rbx\n\t"
			 "mov $0x1212121212121212, %%r12\n\t"
			 "xor %%eax, %%eax\n\t" /* read(fds[0], &c, 1) */
			 "syscall\n\t"
			 "mov %%rbx, %0\n\t"
			 "mov %%r12, %1\n\t"
			 "pop %%r12\n\t"
			 "pop %%rbx"
			 : "=m"(seen_rbx), "=m"(seen_r12)
			 : "D"((long)fds[0]), "S"(&c), "d"(1L)
			 : "rax", "rcx", "r11", "memory");
	return NULL;
}

__attribute__((noinline)) void stop_here(void)
{
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	pthread_t t;
	if (pipe(fds))
		return 2;
	pthread_create(&t, NULL, blocker, NULL);
	usleep(300000); /* the blocker is asleep in its read */
	stop_here();
	if (write(fds[1], "x", 1) != 1)
		return 2;
	pthread_join(t, NULL);
	printf("rbx %lx r12 %lx\n", seen_rbx, seen_r12);
	return 0;
}
