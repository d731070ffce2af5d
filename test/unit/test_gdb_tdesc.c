/*
 * Unit tests of the gdb target description and register image
 * (vmm/gdb_tdesc.c): the g-image layout gdb derives from the description
 * (gdb/features/i386/64bit-*.xml order and sizes), the XML's features and
 * register count, the x87 tag word rebuilt from FXSAVE's abridged one (SDM
 * vol. 1 8.1.7), and a register set surviving the trip to the wire and back.
 */
#include "unit.h"
#include "vmm/gdb_tdesc.h"

static size_t off(int regno)
{
	size_t o, s;
	return gdb_reg_span(regno, &o, &s) ? (size_t)-1 : o;
}
static size_t size(int regno)
{
	size_t o, s;
	return gdb_reg_span(regno, &o, &s) ? 0 : s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

int main(void)
{
	CHECK(off(0) == 0 && size(0) == 8);                  /* rax */
	CHECK(off(16) == 128 && size(16) == 8);              /* rip */
	CHECK(off(17) == 136 && size(17) == 4);              /* eflags */
	CHECK(off(23) == 160 && size(23) == 4);              /* gs */
	CHECK(off(24) == 164 && size(24) == 10);             /* st0 */
	CHECK(off(32) == 244 && size(32) == 4);              /* fctrl */
	CHECK(off(40) == 276 && size(40) == 16);             /* xmm0 */
	CHECK(off(56) == 532 && size(56) == 4);              /* mxcsr */
	CHECK(off(57) == 536 && size(57) == 8);              /* orig_rax */
	CHECK(off(58) == 544 && off(59) == 552 && size(59) == 8); /* fs_base, gs_base */
	CHECK(off(59) + size(59) == GDB_REGS_BYTES && GDB_REGS_BYTES == 560);
	CHECK(off(60) == (size_t)-1 && off(-1) == (size_t)-1);

	const char *x = gdb_tdesc_xml(0), *xl = gdb_tdesc_xml(1);
	CHECK(count(x, "<reg ") == GDB_NUM_REGS);
	CHECK(strstr(x, "<feature name=\"org.gnu.gdb.i386.core\">") && strstr(x, "<feature name=\"org.gnu.gdb.i386.sse\">") &&
	      strstr(x, "<feature name=\"org.gnu.gdb.i386.linux\">") && strstr(x, "<feature name=\"org.gnu.gdb.i386.segments\">"));
	CHECK(strstr(x, "<reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>") != NULL);
	CHECK(strstr(x, "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>") != NULL);
	CHECK(!strstr(x, "<osabi>") && strstr(xl, "<osabi>GNU/Linux</osabi>") && strstr(x, "</target>"));
	CHECK(count(x, "<feature ") == count(x, "</feature>") && count(x, "<flags ") == count(x, "</flags>"));

	/* x87 tags: TOP = 6; physical 6 (ST0) valid, 7 (ST1) zero, 0 (ST2) special
	   (exponent all ones), 1 (ST3) empty, the rest empty. */
	struct gdb_regs r;
	memset(&r, 0, sizeof(r));
	uint8_t *fx = r.fxsave;
	fx[2] = 0;
	fx[3] = 6 << 3;                       /* FSW.TOP (bits 11-13) = 6 */
	fx[4] = (1 << 6) | (1 << 7) | (1 << 0); /* abridged: physical 6, 7, 0 in use */
	fx[32 + 7] = 0x80;                    /* ST0: integer bit set, exponent 1 -> valid */
	fx[32 + 8] = 1;
	/* ST1 all zero -> zero */
	fx[32 + 32 + 8] = 0xff;               /* ST2: exponent 0x7fff -> special */
	fx[32 + 32 + 9] = 0x7f;
	uint8_t wire[GDB_REGS_BYTES];
	gdb_regs_to_wire(&r, wire);
	uint32_t ftag;
	memcpy(&ftag, wire + off(34), 4);
	uint32_t want = 0xffff;
	want &= ~(3u << 12);                  /* physical 6: valid 00 */
	want = (want & ~(3u << 14)) | (1u << 14); /* physical 7: zero 01 */
	want = (want & ~3u) | 2u;             /* physical 0: special 10 */
	CHECK_MSG(ftag == want, "full tag word 0x%04x (want 0x%04x)", ftag, want);

	/* Round trip: every field the image carries comes back unchanged. */
	for (size_t i = 0; i < sizeof(r); i++)
		((uint8_t *)&r)[i] = (uint8_t)(i * 37 + 11);
	r.fxsave[4] = 0;                      /* the abridged tag is rebuilt from ftag: all empty */
	r.fxsave[5] = 0;                      /* reserved */
	r.fxsave[7] &= 0x07;                  /* FOP is 11 bits */
	memset(r.fxsave + 28, 0, 4);          /* MXCSR_MASK is not in the image */
	for (int i = 0; i < 8; i++)
		memset(r.fxsave + 32 + 16 * i + 10, 0, 6); /* padding after each 80-bit register */
	memset(r.fxsave + 416, 0, 96);        /* reserved tail */
	r.eflags &= 0xffffffff;
	r.cs &= 0xffffffff; r.ss &= 0xffffffff; r.ds &= 0xffffffff;
	r.es &= 0xffffffff; r.fs &= 0xffffffff; r.gs &= 0xffffffff;
	memset(r.fxsave + 12 + 2, 0, 2);      /* FIP/FDP's upper halves are not in the image either */
	memset(r.fxsave + 20 + 2, 0, 2);
	struct gdb_regs back;
	gdb_regs_to_wire(&r, wire);
	memset(&back, 0, sizeof(back));
	gdb_regs_from_wire(&back, wire);
	CHECK(back.rax == r.rax && back.r15 == r.r15 && back.rip == r.rip && back.eflags == r.eflags);
	CHECK(back.cs == r.cs && back.gs == r.gs && back.fs_base == r.fs_base && back.gs_base == r.gs_base &&
	      back.orig_rax == r.orig_rax);
	int st_ok = 1;
	for (int i = 0; i < 8; i++)
		st_ok &= !memcmp(back.fxsave + 32 + 16 * i, r.fxsave + 32 + 16 * i, 10);
	CHECK(st_ok);
	CHECK(!memcmp(back.fxsave + 160, r.fxsave + 160, 256));   /* xmm0-15 */
	CHECK(!memcmp(back.fxsave + 24, r.fxsave + 24, 4));       /* mxcsr */
	CHECK(!memcmp(back.fxsave, r.fxsave, 4));                 /* fcw, fsw */
	CHECK(back.fxsave[4] == 0);                               /* all empty again */
	CHECK(!memcmp(back.fxsave + 8, r.fxsave + 8, 6));         /* fip, fcs */
	CHECK(!memcmp(back.fxsave + 16, r.fxsave + 16, 6));       /* fdp, fds */
	UNIT_DONE();
}
