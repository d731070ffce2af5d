/* Minimal host unit-test harness: TAP-style lines, nonzero exit on any failure. */
#ifndef KVMBOX_UNIT_H
#define KVMBOX_UNIT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_n, unit_failed;
#define CHECK(cond) do { \
	unit_n++; \
	if (cond) printf("ok %d - %s\n", unit_n, #cond); \
	else { unit_failed++; printf("not ok %d - %s (%s:%d)\n", unit_n, #cond, __FILE__, __LINE__); } \
} while (0)
#define CHECK_MSG(cond, ...) do { \
	unit_n++; \
	if (cond) { printf("ok %d - ", unit_n); printf(__VA_ARGS__); printf("\n"); } \
	else { unit_failed++; printf("not ok %d - ", unit_n); printf(__VA_ARGS__); \
	       printf(" (%s:%d)\n", __FILE__, __LINE__); } \
} while (0)
#define UNIT_DONE() do { printf("1..%d\n", unit_n); return unit_failed ? 1 : 0; } while (0)
#endif
