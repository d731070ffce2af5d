/* gdb process-mode scenarios (test/cases/gdb_process.sh): calls through several frames, locals, a watched global, a write(2). */
#include <string.h>
#include <unistd.h>

volatile int watched;

__attribute__((noinline)) int leaf(int x)
{
	volatile int sq = x * x;
	watched = sq + 1;            /* the watchpoint fires here */
	return sq;
}

__attribute__((noinline)) int middle(int x)
{
	volatile int r = leaf(x + 1);
	return r + 2;
}

__attribute__((noinline)) int top(int x)
{
	volatile int v = middle(x);
	return v * 2;
}

int main(void)
{
	static const char msg[] = "basic done\n";
	int result = top(5);
	write(1, msg, strlen(msg));
	return result & 0x7f;        /* 76 unless a debugger changed v */
}
