/* Spin forever (for --timeout). Says so first, unbuffered. */
#include <unistd.h>

int main(void)
{
	volatile unsigned long n = 0;
	write(1, "looping\n", 8);
	for (;;)
		n++;
}
