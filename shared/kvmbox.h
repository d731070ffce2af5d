/* The whole kvmbox guest/VMM ABI. Freestanding: C99 <stdint.h> only. */
#ifndef KVMBOX_H
#define KVMBOX_H
#include "abi.h"
#include "regs.h"
#include "boot.h"
#include "hypercall.h"
#include "debug.h"
#endif
