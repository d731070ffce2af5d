/* Diagnostics of the kvmbox process: one "kvmbox: " prefix, exit statuses from DESIGN.md. */
#ifndef VMM_LOG_H
#define VMM_LOG_H
#include <stdbool.h>
#include <stdnoreturn.h>

/* Exit statuses of the kvmbox process (DESIGN.md "Exit status and errors"). */
#define EXIT_TIMEOUT     124
#define EXIT_VMM_ERROR   125
#define EXIT_CANNOT_RUN  126
#define EXIT_NOT_FOUND   127

extern bool log_verbose;

/* Print "kvmbox: <message>" to stderr and exit with status. */
noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "kvmbox: <message>" to stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, only with --verbose. */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
