/* uname(2): the fields a program may rely on (sysname, machine, a numeric release). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	if (uname(&u)) {
		perror("uname");
		return 1;
	}
	int ok = 1;
	printf("sysname=%s\n", u.sysname);
	printf("machine=%s\n", u.machine);
	int numeric = isdigit((unsigned char)u.release[0]) && strchr(u.release, '.');
	printf("release is numeric (N.N...): %s\n", numeric ? "yes" : "no");
	printf("nodename non-empty: %s\n", u.nodename[0] ? "yes" : "no");
	ok = !strcmp(u.sysname, "Linux") && !strcmp(u.machine, "x86_64") && numeric && u.nodename[0];
	fprintf(stderr, "release=%s version=%s nodename=%s\n", u.release, u.version, u.nodename);
	printf("%s uname\n", ok ? "PASS" : "FAIL");
	return !ok;
}
