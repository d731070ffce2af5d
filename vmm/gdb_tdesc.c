/* The x86-64 target description and the g/G/p/P register image (see gdb_tdesc.h). */
#include "gdb_tdesc.h"
#include <stdio.h>
#include <string.h>

/*
 * One document rather than xi:include'd files (gdb accepts both): the
 * features and register types of gdb/features/i386/64bit-{core,sse,linux,
 * segments}.xml, so gdb recognises the standard amd64 registers.
 */
static const char tdesc_template[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386:x86-64</architecture>\n"
	"%s"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"i386_eflags\" size=\"4\">\n"
	"<field name=\"CF\" start=\"0\" end=\"0\"/>\n"
	"<field name=\"\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"PF\" start=\"2\" end=\"2\"/>\n"
	"<field name=\"AF\" start=\"4\" end=\"4\"/>\n"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/>\n"
	"<field name=\"SF\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"TF\" start=\"8\" end=\"8\"/>\n"
	"<field name=\"IF\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"DF\" start=\"10\" end=\"10\"/>\n"
	"<field name=\"OF\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"NT\" start=\"14\" end=\"14\"/>\n"
	"<field name=\"RF\" start=\"16\" end=\"16\"/>\n"
	"<field name=\"VM\" start=\"17\" end=\"17\"/>\n"
	"<field name=\"AC\" start=\"18\" end=\"18\"/>\n"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>\n"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
	"</flags>\n"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
	"<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>\n"
	"<vector id=\"v8h\" type=\"ieee_half\" count=\"8\"/>\n"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	"<union id=\"vec128\">\n"
	"<field name=\"v8_bfloat16\" type=\"v8bf16\"/>\n"
	"<field name=\"v8_half\" type=\"v8h\"/>\n"
	"<field name=\"v4_float\" type=\"v4f\"/>\n"
	"<field name=\"v2_double\" type=\"v2d\"/>\n"
	"<field name=\"v16_int8\" type=\"v16i8\"/>\n"
	"<field name=\"v8_int16\" type=\"v8i16\"/>\n"
	"<field name=\"v4_int32\" type=\"v4i32\"/>\n"
	"<field name=\"v2_int64\" type=\"v2i64\"/>\n"
	"<field name=\"uint128\" type=\"uint128\"/>\n"
	"</union>\n"
	"<flags id=\"i386_mxcsr\" size=\"4\">\n"
	"<field name=\"IE\" start=\"0\" end=\"0\"/>\n"
	"<field name=\"DE\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/>\n"
	"<field name=\"OE\" start=\"3\" end=\"3\"/>\n"
	"<field name=\"UE\" start=\"4\" end=\"4\"/>\n"
	"<field name=\"PE\" start=\"5\" end=\"5\"/>\n"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/>\n"
	"<field name=\"IM\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"DM\" start=\"8\" end=\"8\"/>\n"
	"<field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"OM\" start=\"10\" end=\"10\"/>\n"
	"<field name=\"UM\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"PM\" start=\"12\" end=\"12\"/>\n"
	"<field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
	"</flags>\n"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>\n"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.linux\"><reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" regnum=\"57\"/></feature>\n"
	"<feature name=\"org.gnu.gdb.i386.segments\"><reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/><reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/></feature>\n"
	"</target>\n";

const char *gdb_tdesc_xml(int linux_osabi)
{
	static char xml[2][sizeof(tdesc_template) + 64];
	char *x = xml[!!linux_osabi];
	if (!x[0])
		snprintf(x, sizeof(xml[0]), tdesc_template, linux_osabi ? "<osabi>GNU/Linux</osabi>\n" : "");
	return x;
}

/* Register sizes in description order; offsets are their running sum. */
static size_t reg_size(int regno)
{
	if (regno < 17) return 8;       /* rax..r15, rip */
	if (regno < 24) return 4;       /* eflags, cs..gs */
	if (regno < 32) return 10;      /* st0..st7 */
	if (regno < 40) return 4;       /* fctrl..fop */
	if (regno < 56) return 16;      /* xmm0..xmm15 */
	if (regno == 56) return 4;      /* mxcsr */
	return 8;                       /* orig_rax, fs_base, gs_base */
}

int gdb_reg_span(int regno, size_t *offset, size_t *size)
{
	if (regno < 0 || regno >= GDB_NUM_REGS)
		return -1;
	size_t off = 0;
	for (int i = 0; i < regno; i++)
		off += reg_size(i);
	*offset = off;
	*size = reg_size(regno);
	return 0;
}

_Static_assert(GDB_REGS_BYTES == 16 * 8 + 8 + 4 + 24 + 80 + 32 + 256 + 4 + 24, "g image size");

/* FXSAVE offsets (Intel SDM vol. 1 table 10-2, 64-bit format). */
enum { FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FCS = 12, FX_FDP = 16,
       FX_FDS = 20, FX_MXCSR = 24, FX_ST = 32, FX_XMM = 160 };

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/*
 * FXSAVE keeps an abridged tag byte (one "not empty" bit per physical
 * register); gdb's ftag is the full x87 tag word (2 bits per physical
 * register: 00 valid, 01 zero, 10 special, 11 empty), rebuilt from the
 * register contents as the FSAVE format would have it (SDM vol. 1 8.1.7).
 */
static uint32_t full_tag_word(const uint8_t *fx)
{
	unsigned top = (get16(fx + FX_FSW) >> 11) & 7, abridged = fx[FX_FTW];
	uint32_t tw = 0;
	for (unsigned phys = 0; phys < 8; phys++) {
		unsigned tag = 3;
		if (abridged & (1u << phys)) {
			const uint8_t *st = fx + FX_ST + 16 * ((phys - top) & 7);
			unsigned exp = get16(st + 8) & 0x7fff;
			uint64_t mant;
			memcpy(&mant, st, 8);
			if (exp == 0x7fff)
				tag = 2;
			else if (exp == 0)
				tag = mant ? 2 : 1;
			else
				tag = (mant >> 63) ? 0 : 2;
		}
		tw |= tag << (2 * phys);
	}
	return tw;
}

static uint8_t abridged_tag(uint32_t tw)
{
	uint8_t a = 0;
	for (unsigned phys = 0; phys < 8; phys++)
		if (((tw >> (2 * phys)) & 3) != 3)
			a |= (uint8_t)(1u << phys);
	return a;
}

#define PUT(v, n) do { uint64_t v_ = (v); memcpy(w, &v_, (n)); w += (n); } while (0)

void gdb_regs_to_wire(const struct gdb_regs *r, uint8_t *wire)
{
	uint8_t *w = wire;
	const uint64_t gpr[16] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
				   r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
	for (int i = 0; i < 16; i++)
		PUT(gpr[i], 8);
	PUT(r->rip, 8);
	PUT(r->eflags, 4);
	PUT(r->cs, 4); PUT(r->ss, 4); PUT(r->ds, 4); PUT(r->es, 4); PUT(r->fs, 4); PUT(r->gs, 4);
	const uint8_t *fx = r->fxsave;
	for (int i = 0; i < 8; i++) {
		memcpy(w, fx + FX_ST + 16 * i, 10);
		w += 10;
	}
	PUT(get16(fx + FX_FCW), 4);
	PUT(get16(fx + FX_FSW), 4);
	PUT(full_tag_word(fx), 4);
	PUT(get16(fx + FX_FCS), 4);
	PUT(get32(fx + FX_FIP), 4);
	PUT(get16(fx + FX_FDS), 4);
	PUT(get32(fx + FX_FDP), 4);
	PUT(get16(fx + FX_FOP) & 0x7ff, 4);
	memcpy(w, fx + FX_XMM, 256);
	w += 256;
	PUT(get32(fx + FX_MXCSR), 4);
	PUT(r->orig_rax, 8);
	PUT(r->fs_base, 8);
	PUT(r->gs_base, 8);
}

#define GET(dst, n) do { uint64_t v_ = 0; memcpy(&v_, w, (n)); w += (n); (dst) = v_; } while (0)
#define GETFX(off, n) do { memcpy(fx + (off), w, (n)); w += 4; } while (0)

void gdb_regs_from_wire(struct gdb_regs *r, const uint8_t *wire)
{
	const uint8_t *w = wire;
	uint64_t *gpr[16] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			      &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	for (int i = 0; i < 16; i++)
		GET(*gpr[i], 8);
	GET(r->rip, 8);
	GET(r->eflags, 4);
	GET(r->cs, 4); GET(r->ss, 4); GET(r->ds, 4); GET(r->es, 4); GET(r->fs, 4); GET(r->gs, 4);
	uint8_t *fx = r->fxsave;
	for (int i = 0; i < 8; i++) {
		memcpy(fx + FX_ST + 16 * i, w, 10);
		w += 10;
	}
	GETFX(FX_FCW, 2);
	GETFX(FX_FSW, 2);
	fx[FX_FTW] = abridged_tag(get32(w));
	w += 4;
	GETFX(FX_FCS, 2);
	GETFX(FX_FIP, 4);
	GETFX(FX_FDS, 2);
	GETFX(FX_FDP, 4);
	GETFX(FX_FOP, 2);
	memcpy(fx + FX_XMM, w, 256);
	w += 256;
	GETFX(FX_MXCSR, 4);
	GET(r->orig_rax, 8);
	GET(r->fs_base, 8);
	GET(r->gs_base, 8);
}
