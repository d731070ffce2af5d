/* gdb process-mode scenario: two threads each run worker(), where gdb breaks. */
#include <pthread.h>
#include <stdio.h>

volatile int done_count;

__attribute__((noinline)) void worker_body(int id)
{
	__atomic_add_fetch(&done_count, id, __ATOMIC_SEQ_CST);
}

static void *worker(void *arg)
{
	worker_body((int)(long)arg);
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("threads done %d\n", done_count);
	return done_count;
}
