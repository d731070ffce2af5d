/* gdb process-mode scenario: a global read and written in turn (rwatch, awatch, hbreak; test/cases/gdb_process.sh). */
volatile int counter;
volatile int neighbour;          /* same page: its accesses must not be reported */

__attribute__((noinline)) int reader(void)
{
	return counter + 1;          /* a read */
}

__attribute__((noinline)) void writer(int v)
{
	counter = v;                 /* a write */
	neighbour = v;
}

int main(void)
{
	writer(5);
	int r = reader();
	writer(r * 2);
	r = reader() + neighbour;
	return r;                    /* 13 + 12 = 25 */
}
