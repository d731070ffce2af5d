/* Kernel library: string functions, formatted output, panic. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H
#include "types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
size_t strlcpy(char *dst, const char *src, size_t size);

/* snprintf subset: %d %i %u %x %lx %llx %p %s %c %%, with l/ll/z, width, 0-pad. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Kernel messages to the VMM's stderr (HC_CONSOLE_WRITE on fd 2). */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct trap_frame;
/* A broken kernel invariant: report to the VMM (HC_PANIC) and end the VM (status 125). */
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void panic_trap(struct trap_frame *tf, uint64_t vector, uint64_t error_code,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define BUG_ON(c) do { if (unlikely(c)) panic("BUG_ON(%s) at %s:%d", #c, __FILE__, __LINE__); } while (0)
#endif
