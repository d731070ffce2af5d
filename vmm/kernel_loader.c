/* Guest kernel loading: ELF segments at their physical addresses, then the kernel header applied natively. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elf_symbols.h"
#include "guest_mem.h"
#include "kernel_loader.h"
#include "log.h"

void *kernel_ptr(struct vm *vm, uint64_t va, uint64_t len)
{
	/* The image mapping covers physical [0, 1 GiB) at KVMBOX_KERNEL_BASE (shared/boot.h). */
	if (va < KVMBOX_KERNEL_BASE || va - KVMBOX_KERNEL_BASE >= (1ull << 30))
		return NULL;
	return GUEST_PTR(vm, va - KVMBOX_KERNEL_BASE, len);
}

#define bad_kernel(vm, ...) do { \
	char __m[512]; snprintf(__m, sizeof(__m), __VA_ARGS__); \
	die(EXIT_VMM_ERROR, "guest kernel %s: %s", (vm)->kernel_path, __m); } while (0)

void kernel_load(struct vm *vm)
{
	int fd = open(vm->kernel_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(EXIT_VMM_ERROR, "cannot open the guest kernel %s: %s (build it with `make`, "
		    "or pass --kernel PATH or KVMBOX_KERNEL)", vm->kernel_path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		bad_kernel(vm, "not a kernel ELF file");
	size_t len = st.st_size;
	const uint8_t *b = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (b == MAP_FAILED)
		bad_kernel(vm, "mmap: %s", strerror(errno));

	Elf64_Ehdr eh;
	memcpy(&eh, b, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
		bad_kernel(vm, "not an x86-64 ELF executable");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		bad_kernel(vm, "bad program headers");

	uint64_t end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, b + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		/* Linked at -2 GiB: physical = virtual - KVMBOX_KERNEL_BASE (shared/boot.h). */
		if (ph.p_vaddr < KVMBOX_KERNEL_BASE)
			bad_kernel(vm, "segment at 0x%llx is below KVMBOX_KERNEL_BASE",
				   (unsigned long long)ph.p_vaddr);
		uint64_t pa = ph.p_vaddr - KVMBOX_KERNEL_BASE;
		if (ph.p_paddr != pa && ph.p_paddr != ph.p_vaddr)
			bad_kernel(vm, "segment paddr 0x%llx does not match vaddr 0x%llx",
				   (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_vaddr);
		if (pa < KVMBOX_KERNEL_PHYS)
			bad_kernel(vm, "segment at physical 0x%llx is below 1 MiB", (unsigned long long)pa);
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			bad_kernel(vm, "truncated segment");
		uint8_t *dst = GUEST_PTR(vm, pa, ph.p_memsz);
		if (!dst || pa + ph.p_memsz > (1ull << 30))
			die(EXIT_VMM_ERROR, "guest kernel %s does not fit in guest memory (raise --mem)",
			    vm->kernel_path);
		/* The rest up to p_memsz (.bss) is already zero: guest memory starts zero. */
		memcpy(dst, b + ph.p_offset, ph.p_filesz);
		if (pa + ph.p_memsz > end)
			end = pa + ph.p_memsz;
	}
	if (!end)
		bad_kernel(vm, "no loadable segments");
	vm->kernel_end = end;
	vm->kernel_entry = eh.e_entry;

	uint64_t off, size, addr;
	if (elf_find_section(b, len, KVMBOX_HEADER_SECTION, &off, &size, &addr))
		bad_kernel(vm, "no %s section: not a kvmbox guest kernel", KVMBOX_HEADER_SECTION);
	if (size < sizeof(vm->khdr) || off > len || sizeof(vm->khdr) > len - off)
		bad_kernel(vm, "%s section is too small", KVMBOX_HEADER_SECTION);
	memcpy(&vm->khdr, b + off, sizeof(vm->khdr));
	munmap((void *)b, len);

	const struct kvmbox_kernel_header *h = &vm->khdr;
	if (h->magic != KVMBOX_HEADER_MAGIC)
		bad_kernel(vm, "bad kernel header magic 0x%08x", h->magic);
	if (h->abi_version != KVMBOX_ABI_VERSION)
		bad_kernel(vm, "built for kvmbox ABI version %u, this kvmbox speaks version %u: "
			   "rebuild the kernel and kvmbox from the same tree", h->abi_version,
			   KVMBOX_ABI_VERSION);
	if (h->max_cpus == 0 || h->isr_stub_size == 0 || h->isr_stub_size > 4096)
		bad_kernel(vm, "bad kernel header (max_cpus %u, isr_stub_size %llu)", h->max_cpus,
			   (unsigned long long)h->isr_stub_size);
	if (!kernel_ptr(vm, h->idt, 256 * 16) || !kernel_ptr(vm, h->gdt, KVMBOX_GDT_ENTRIES * 8) ||
	    !kernel_ptr(vm, h->tss, 104) || !kernel_ptr(vm, h->percpu, 1) ||
	    !kernel_ptr(vm, h->isr_stubs, 256 * h->isr_stub_size) ||
	    !kernel_ptr(vm, h->syscall_entry, 1) || !kernel_ptr(vm, vm->kernel_entry, 1) ||
	    !kernel_ptr(vm, h->boot_stack_top - 1, 1) || !kernel_ptr(vm, h->ist1_stack_top - 1, 1))
		bad_kernel(vm, "kernel header addresses outside the kernel image");
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

void kernel_apply_header(struct vm *vm)
{
	const struct kvmbox_kernel_header *h = &vm->khdr;

	/*
	 * 64-bit IDT gates (SDM vol. 3A 6.14.1, figure 6-8): offset 15:0,
	 * selector, IST, type 0xE (interrupt gate: IF cleared on entry), DPL, P,
	 * offset 31:16, offset 63:32. DPL 3 for #BP and #OF so int3 and into work
	 * from ring 3; IST1 for NMI, #DF and #MC.
	 */
	uint8_t *idt = kernel_ptr(vm, h->idt, 256 * 16);
	for (unsigned v = 0; v < 256; v++) {
		uint8_t *g = idt + v * 16;
		uint64_t off = h->isr_stubs + v * h->isr_stub_size;
		unsigned dpl = (v == 3 || v == 4) ? 3 : 0;
		unsigned ist = (KVMBOX_IST_VECTORS_MASK >> v) & 1 && v < 32 ? 1 : 0;
		put16(g + 0, (uint16_t)off);
		put16(g + 2, KVMBOX_SEL_KCODE);
		g[4] = (uint8_t)ist;
		g[5] = 0x80 | (dpl << 5) | 0xE;
		put16(g + 6, (uint16_t)(off >> 16));
		put32(g + 8, (uint32_t)(off >> 32));
		put32(g + 12, 0);
	}

	for (uint32_t cpu = 0; cpu < h->max_cpus; cpu++) {
		uint64_t d = (uint64_t)cpu * h->percpu_stride;
		uint8_t *gdt = kernel_ptr(vm, h->gdt + d, KVMBOX_GDT_ENTRIES * 8);
		uint8_t *tss = kernel_ptr(vm, h->tss + d, 104);
		if (!gdt || !tss) {
			if (cpu == 0)
				die(EXIT_VMM_ERROR, "kernel header: GDT/TSS outside the kernel image");
			break;  /* later CPUs' areas are the kernel's to check against max_cpus */
		}
		if (cpu > 0 && h->percpu_stride == 0)
			break;
		/*
		 * 16-byte TSS descriptor in slots 5-6 (SDM vol. 3A 8.2.3, figure 8-4):
		 * limit 103, type 9 (available 64-bit TSS), P. LTR would mark it busy;
		 * KVM_SET_SREGS loads TR directly, so it stays "available" here.
		 */
		uint64_t base = h->tss + d;
		uint8_t *s = gdt + (KVMBOX_SEL_TSS >> 3) * 8;
		put16(s + 0, 103);
		put16(s + 2, (uint16_t)base);
		s[4] = (uint8_t)(base >> 16);
		s[5] = 0x80 | 0x9;
		s[6] = 0;
		s[7] = (uint8_t)(base >> 24);
		put32(s + 8, (uint32_t)(base >> 32));
		put32(s + 12, 0);
		/* 64-bit TSS (SDM vol. 3A 8.7, figure 8-11): RSP0 at 4, IST1 at 36, I/O map base at 102. */
		memset(tss, 0, 104);
		put64(tss + 4, h->boot_stack_top + d);
		put64(tss + 36, h->ist1_stack_top + d);
		put16(tss + 102, 104);  /* no I/O permission bitmap: every port traps at CPL3 */
	}
}
