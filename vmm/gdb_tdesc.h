/*
 * The x86-64 target description gdb reads with qXfer:features:read:target.xml
 * and the register image of the g/G/p/P packets, in the description's
 * numbering: rax..r15 (0-15), rip, eflags, cs ss ds es fs gs (16-23),
 * st0-st7, fctrl fstat ftag fiseg fioff foseg fooff fop (24-39),
 * xmm0-xmm15, mxcsr (40-56), orig_rax (57), fs_base, gs_base (58, 59) --
 * the features org.gnu.gdb.i386.core, .sse, .linux and .segments as gdb's
 * own amd64-linux description orders them (gdb/features/i386/64bit-*.xml).
 */
#ifndef VMM_GDB_TDESC_H
#define VMM_GDB_TDESC_H
#include <stddef.h>
#include <stdint.h>
#include "gdb_target.h"

#define GDB_NUM_REGS 60
#define GDB_REGS_BYTES (16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 8 + 8 + 8)

/* The description, NUL terminated; `linux` adds <osabi>GNU/Linux</osabi>. */
const char *gdb_tdesc_xml(int linux_osabi);

/* Offset and size of register `regno` in the g image; -1 if there is no such register. */
int gdb_reg_span(int regno, size_t *offset, size_t *size);

/* The g image (GDB_REGS_BYTES, target byte order = little endian) of *r, and back. */
void gdb_regs_to_wire(const struct gdb_regs *r, uint8_t *wire);
void gdb_regs_from_wire(struct gdb_regs *r, const uint8_t *wire);
#endif
