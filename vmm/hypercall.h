/* Hypercall dispatch: a table indexed by number, each entry {name, argument size, handler}. */
#ifndef VMM_HYPERCALL_H
#define VMM_HYPERCALL_H
#include <stddef.h>
#include <stdint.h>
#include "vm.h"

/*
 * A handler gets a host pointer to the call's argument struct, already
 * checked to lie inside guest memory for its full size, and sets its ret.
 */
typedef void (*hc_handler_fn)(struct vcpu *vcpu, void *arg);

/* Register handler for nr; -1 if nr is out of range or already taken (duplicates are refused). */
int hc_register(unsigned nr, const char *name, size_t arg_size, hc_handler_fn fn);

/* Register the core hypercalls of shared/hypercall.h. */
void hc_register_core(void);

/* Handle an OUT of `value` to port (in the hypercall range). */
void hc_dispatch(struct vcpu *vcpu, uint16_t port, uint32_t size, uint32_t value);

/* Name of hypercall nr or NULL. */
const char *hc_name(unsigned nr);
#endif
