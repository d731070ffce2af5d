/* Unknown system calls return -1/ENOSYS (999 twice: --verbose must report it once). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int failed;

static void expect_enosys(long nr)
{
	errno = 0;
	long r = syscall(nr);
	int err = errno;
	int ok = r == -1 && err == ENOSYS;
	printf("%s syscall(%ld) = %ld: %s\n", ok ? "PASS" : "FAIL", nr, r, r == -1 ? strerror(err) : "succeeded");
	failed |= !ok;
}

int main(void)
{
	expect_enosys(999);
	expect_enosys(999);
	expect_enosys(511);   /* last slot of a 512-entry table */
	expect_enosys(512);   /* first past it */
	expect_enosys(100000);
	expect_enosys(-1);
	printf("%s enosys\n", failed ? "FAIL" : "PASS");
	return failed;
}
