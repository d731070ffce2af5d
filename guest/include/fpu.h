/* The user FPU, SSE and vector register state (arch/x86_64/fpu.c). */
#ifndef GUEST_FPU_H
#define GUEST_FPU_H
#include "types.h"

/*
 * Bytes of an XSAVE area (standard layout) holding the whole user state,
 * or 0 where only FXSAVE's 512 bytes exist; and the state components such
 * an area holds (XCR0 as ring 3 sees it).
 */
extern uint32_t fpu_xsave_size;
extern uint64_t fpu_xfeatures;

/* Learn the sizes, once at boot (before anything below). */
void fpu_setup(void);
/* Bytes a save area needs (64-byte aligned areas). */
static inline uint32_t fpu_area_size(void) { return fpu_xsave_size ? fpu_xsave_size : 512; }
/* Store the live state at `save` (if any), then load `load` (if any). -EINVAL: `load` refused. */
int fpu_switch(void *save, const void *load);
/* The state a new program and a signal handler start with (FCW 0x37f, MXCSR 0x1f80, the rest zero). */
void fpu_load_init(void);
#endif
