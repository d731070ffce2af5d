/* Print argc and every argument in brackets, so spaces and empty strings are visible. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=[%s]\n", i, argv[i]);
	printf("argv[argc]=%s\n", argv[argc] ? "non-NULL" : "NULL");
	return 0;
}
