/* Where the program finds itself: cwd, argv[0], and its own file under the cwd (guest: /work). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	(void)argc;
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "(getcwd failed: %s)", strerror(errno));
	printf("cwd=%s\n", cwd);
	printf("argv0=%s\n", argv[0]);
	struct stat st;
	int r = stat(argv[0], &st);
	printf("stat(argv[0]): %s\n", r ? strerror(errno) : S_ISREG(st.st_mode) ? "regular file" : "not a regular file");
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	char abs[4200];
	snprintf(abs, sizeof(abs), "%s/%s", cwd, base);
	r = stat(abs, &st);
	printf("stat(cwd/basename): %s\n", r ? strerror(errno) : "found");
	return 0;
}
