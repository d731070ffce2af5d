/* Unit test of vmm/fdt.c: build the boot device tree from params and read it back with libfdt (and the guest's fdt_prop.c). */
#include <libfdt.h>
#include <stdint.h>
#include "unit.h"
#include "vmm/fdt.h"
#include "fdt_prop.h"
#include <kvmbox.h>

static uint64_t prop_u64(const void *fdt, int node, const char *name, int *len)
{
	const fdt64_t *p = fdt_getprop(fdt, node, name, len);
	return p && *len == 8 ? fdt64_to_cpu(*p) : ~0ull;
}

int main(void)
{
	static uint8_t buf[FDT_MAX_SIZE];
	struct fdt_params p = {
		.mem_size = 256ull << 20, .nr_cpus = 2, .bootargs = "console=hvc quiet",
		.initrd_start = 0x200000, .initrd_end = 0x2345678,
		.tsc_khz = 2400000, .boot_tsc = 123456789, .boot_realtime_ns = 1700000000123456789ull,
		.cpl0_emulated = true, .lapic = true,
	};
	static const struct fdt_virtio_mmio virtio[2] = {
		{ 0x40000000, 0x200, 0x40 }, { 0x40001000, 0x200, 0x41 },
	};
	p.virtio = virtio;
	p.nr_virtio = 2;
	for (int i = 0; i < FDT_RNG_SEED_BYTES; i++)
		p.rng_seed[i] = (uint8_t)i;
	char err[256];
	int size = fdt_build(buf, sizeof(buf), &p, err, sizeof(err));
	CHECK_MSG(size > 0, "fdt_build: %s", size > 0 ? "ok" : err);
	CHECK(fdt_check_header(buf) == 0);
	CHECK(size <= FDT_MAX_SIZE && (int)fdt_totalsize(buf) == size);

	int len;
	int root = fdt_path_offset(buf, "/");
	const char *compat = fdt_getprop(buf, root, "compatible", &len);
	CHECK(compat && !strcmp(compat, "kvmbox,microvm"));
	const fdt32_t *cells = fdt_getprop(buf, root, "#address-cells", &len);
	CHECK(cells && len == 4 && fdt32_to_cpu(*cells) == 2);

	int mem = fdt_path_offset(buf, "/memory@0");
	CHECK(mem >= 0);
	const char *dt = fdt_getprop(buf, mem, "device_type", &len);
	CHECK(dt && !strcmp(dt, "memory"));
	const fdt64_t *reg = fdt_getprop(buf, mem, "reg", &len);
	CHECK(reg && len == 16 && fdt64_to_cpu(reg[0]) == 0 && fdt64_to_cpu(reg[1]) == 256ull << 20);

	int chosen = fdt_path_offset(buf, "/chosen");
	CHECK(chosen >= 0);
	const char *args = fdt_getprop(buf, chosen, "bootargs", &len);
	CHECK(args && !strcmp(args, "console=hvc quiet"));
	CHECK(prop_u64(buf, chosen, "linux,initrd-start", &len) == 0x200000);
	CHECK(prop_u64(buf, chosen, "linux,initrd-end", &len) == 0x2345678);
	CHECK(prop_u64(buf, chosen, "kvmbox,tsc-khz", &len) == 2400000);
	CHECK(prop_u64(buf, chosen, "kvmbox,boot-tsc", &len) == 123456789);
	CHECK(prop_u64(buf, chosen, "kvmbox,boot-realtime-ns", &len) == 1700000000123456789ull);
	const fdt32_t *abi = fdt_getprop(buf, chosen, "kvmbox,abi-version", &len);
	CHECK(abi && len == 4 && fdt32_to_cpu(*abi) == KVMBOX_ABI_VERSION);
	const uint8_t *seed = fdt_getprop(buf, chosen, "rng-seed", &len);
	CHECK(seed && len == FDT_RNG_SEED_BYTES && seed[0] == 0 && seed[63] == 63);
	CHECK(fdt_getprop(buf, chosen, "kvmbox,cpl0-emulated", &len) != NULL && len == 0);

	int cpus = fdt_path_offset(buf, "/cpus"), n = 0, node;
	CHECK(cpus >= 0);
	fdt_for_each_subnode(node, buf, cpus) {
		const char *t = fdt_getprop(buf, node, "device_type", &len);
		const fdt32_t *r = fdt_getprop(buf, node, "reg", &len);
		CHECK(t && !strcmp(t, "cpu") && r && fdt32_to_cpu(*r) == (uint32_t)n);
		n++;
	}
	CHECK(n == 2);

	/* The local APIC node (kvmbox,x2apic binding in vmm/fdt.c). */
	int apic = fdt_node_offset_by_compatible(buf, -1, "kvmbox,x2apic");
	CHECK(apic >= 0 && apic == fdt_path_offset(buf, "/interrupt-controller@fee00000"));
	CHECK(fdt_getprop(buf, apic, "interrupt-controller", &len) != NULL && len == 0);
	CHECK(fdt_getprop(buf, apic, "kvmbox,tsc-deadline", &len) != NULL && len == 0);
	const fdt32_t *icells = fdt_getprop(buf, apic, "#interrupt-cells", &len);
	CHECK(icells && len == 4 && fdt32_to_cpu(*icells) == 1);

	const fdt32_t *phandle = fdt_getprop(buf, apic, "phandle", &len);
	CHECK(phandle && len == 4);

	/* virtio-mmio nodes (Linux's virtio/mmio.yaml binding), found by libfdt and by the guest's parser. */
	int v = fdt_node_offset_by_compatible(buf, -1, "virtio,mmio");
	CHECK(v >= 0 && v == fdt_path_offset(buf, "/virtio_mmio@40000000"));
	const fdt64_t *vreg = fdt_getprop(buf, v, "reg", &len);
	CHECK(vreg && len == 16 && fdt64_to_cpu(vreg[0]) == 0x40000000 && fdt64_to_cpu(vreg[1]) == 0x200);
	const fdt32_t *virq = fdt_getprop(buf, v, "interrupts", &len);
	CHECK(virq && len == 4 && fdt32_to_cpu(*virq) == 0x40);
	const fdt32_t *vparent = fdt_getprop(buf, v, "interrupt-parent", &len);
	CHECK(vparent && phandle && *vparent == *phandle);
	uint32_t plen;
	long g = fdt_next_compatible(buf, size, -1, "virtio,mmio");
	CHECK(g >= 0);
	const void *greg = fdt_node_prop(buf, size, g, "reg", &plen);
	CHECK(greg && plen == 16 && fdt_read_u64(greg) == 0x40000000);
	g = fdt_next_compatible(buf, size, g, "virtio,mmio");
	const void *girq = g >= 0 ? fdt_node_prop(buf, size, g, "interrupts", &plen) : NULL;
	CHECK(girq && plen == 4 && fdt_read_u32(girq) == 0x41);
	CHECK(fdt_node_prop(buf, size, g, "no-such-property", &plen) == NULL);
	CHECK(fdt_next_compatible(buf, size, g, "virtio,mmio") == -1);
	CHECK(fdt_next_compatible(buf, size, -1, "virtio") == -1);       /* whole strings only */
	CHECK(fdt_next_compatible(buf, size - 100, -1, "virtio,mmio") == -1); /* a truncated blob */
	CHECK(fdt_node_prop(buf, size, g + 1, "reg", &plen) == NULL);   /* not a node offset */

	/* Without CPL0 emulation the flag property is absent. */
	p.cpl0_emulated = false;
	p.nr_cpus = 1;
	CHECK(fdt_build(buf, sizeof(buf), &p, err, sizeof(err)) > 0);
	CHECK(fdt_getprop(buf, fdt_path_offset(buf, "/chosen"), "kvmbox,cpl0-emulated", &len) == NULL);
	CHECK(fdt_path_offset(buf, "/cpus/cpu@0") >= 0 && fdt_path_offset(buf, "/cpus/cpu@1") < 0);
	/* Without an in-kernel local APIC there is no interrupt-controller node. */
	p.lapic = false;
	CHECK(fdt_build(buf, sizeof(buf), &p, err, sizeof(err)) > 0);
	CHECK(fdt_node_offset_by_compatible(buf, -1, "kvmbox,x2apic") < 0);
	CHECK(fdt_node_offset_by_compatible(buf, -1, "virtio,mmio") < 0); /* no interrupts, no devices */

	/* Too small a buffer is an error with a reason, not an overflow. */
	static uint8_t small[128];
	CHECK(fdt_build(small, sizeof(small), &p, err, sizeof(err)) == -1 && err[0]);
	UNIT_DONE();
}
