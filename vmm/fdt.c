/* The flattened device tree (Devicetree Specification v0.4; Linux's /chosen initrd and rng-seed bindings). */
#include <libfdt.h>
#include <stdio.h>
#include <kvmbox.h>
#include "fdt.h"

#define TRY(x) do { int __e = (x); if (__e < 0) { what = #x; err_code = __e; goto fail; } } while (0)

#define FDT_APIC_PHANDLE 1

int fdt_build(void *buf, size_t size, const struct fdt_params *p, char *err, size_t err_size)
{
	const char *what = "";
	int err_code = 0;

	/* Sequential-write mode: nodes are opened and closed in order (libfdt fdt_sw.c). */
	TRY(fdt_create(buf, size));
	TRY(fdt_finish_reservemap(buf));
	TRY(fdt_begin_node(buf, ""));
	TRY(fdt_property_u32(buf, "#address-cells", 2));
	TRY(fdt_property_u32(buf, "#size-cells", 2));
	TRY(fdt_property_string(buf, "compatible", "kvmbox,microvm"));
	TRY(fdt_property_string(buf, "model", "kvmbox"));

	/* /chosen (DT spec 3.6; Linux Documentation/devicetree/bindings/chosen.txt). */
	TRY(fdt_begin_node(buf, "chosen"));
	TRY(fdt_property_string(buf, "bootargs", p->bootargs ? p->bootargs : ""));
	TRY(fdt_property_u64(buf, "linux,initrd-start", p->initrd_start));
	TRY(fdt_property_u64(buf, "linux,initrd-end", p->initrd_end));
	TRY(fdt_property(buf, "rng-seed", p->rng_seed, sizeof(p->rng_seed)));
	TRY(fdt_property_u64(buf, "kvmbox,tsc-khz", p->tsc_khz));
	TRY(fdt_property_u64(buf, "kvmbox,boot-tsc", p->boot_tsc));
	TRY(fdt_property_u64(buf, "kvmbox,boot-realtime-ns", p->boot_realtime_ns));
	TRY(fdt_property_u32(buf, "kvmbox,abi-version", KVMBOX_ABI_VERSION));
	if (p->cpl0_emulated)
		TRY(fdt_property(buf, "kvmbox,cpl0-emulated", NULL, 0));
	TRY(fdt_end_node(buf));

	/* /memory (DT spec 3.4): one range at gpa 0. */
	TRY(fdt_begin_node(buf, "memory@0"));
	TRY(fdt_property_string(buf, "device_type", "memory"));
	fdt64_t reg[2] = { cpu_to_fdt64(0), cpu_to_fdt64(p->mem_size) };
	TRY(fdt_property(buf, "reg", reg, sizeof(reg)));
	TRY(fdt_end_node(buf));

	/* /cpus (DT spec 3.7): reg is the CPU number. */
	TRY(fdt_begin_node(buf, "cpus"));
	TRY(fdt_property_u32(buf, "#address-cells", 1));
	TRY(fdt_property_u32(buf, "#size-cells", 0));
	for (uint32_t i = 0; i < p->nr_cpus; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cpu@%u", i);
		TRY(fdt_begin_node(buf, name));
		TRY(fdt_property_string(buf, "device_type", "cpu"));
		TRY(fdt_property_u32(buf, "reg", i));
		TRY(fdt_end_node(buf));
	}
	TRY(fdt_end_node(buf));

	/*
	 * The local APIC (one per vCPU, KVM's in-kernel irqchip), used in
	 * x2APIC mode through MSRs (SDM vol. 3A 11.12): reg is the xAPIC page
	 * it would decode in xAPIC mode. Our own binding, "kvmbox,x2apic":
	 * interrupts are named by their vector (#interrupt-cells = 1), and
	 * "kvmbox,tsc-deadline" says the timer offers TSC-deadline mode (the
	 * kernel's tickless timer). The boot flag KVMBOX_BOOT_LAPIC says the same.
	 */
	if (p->lapic) {
		TRY(fdt_begin_node(buf, "interrupt-controller@fee00000"));
		TRY(fdt_property_string(buf, "compatible", "kvmbox,x2apic"));
		fdt64_t apic_reg[2] = { cpu_to_fdt64(0xfee00000), cpu_to_fdt64(0x1000) };
		TRY(fdt_property(buf, "reg", apic_reg, sizeof(apic_reg)));
		TRY(fdt_property(buf, "interrupt-controller", NULL, 0));
		TRY(fdt_property_u32(buf, "#interrupt-cells", 1));
		TRY(fdt_property(buf, "kvmbox,tsc-deadline", NULL, 0));
		TRY(fdt_property_u32(buf, "phandle", FDT_APIC_PHANDLE));
		TRY(fdt_end_node(buf));
	}

	/*
	 * virtio-mmio devices (Linux's binding, Documentation/devicetree/
	 * bindings/virtio/mmio.yaml): reg is the register window, interrupts
	 * the LAPIC vector its MSI route delivers (our interrupt controller's
	 * one cell). The guest finds its devices only here.
	 */
	for (unsigned i = 0; p->lapic && i < p->nr_virtio; i++) {
		const struct fdt_virtio_mmio *v = &p->virtio[i];
		char name[48];
		snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)v->base);
		TRY(fdt_begin_node(buf, name));
		TRY(fdt_property_string(buf, "compatible", "virtio,mmio"));
		fdt64_t vreg[2] = { cpu_to_fdt64(v->base), cpu_to_fdt64(v->size) };
		TRY(fdt_property(buf, "reg", vreg, sizeof(vreg)));
		TRY(fdt_property_u32(buf, "interrupts", v->vector));
		TRY(fdt_property_u32(buf, "interrupt-parent", FDT_APIC_PHANDLE));
		TRY(fdt_end_node(buf));
	}

	TRY(fdt_end_node(buf));
	TRY(fdt_finish(buf));
	TRY(fdt_pack(buf));
	return (int)fdt_totalsize(buf);
fail:
	snprintf(err, err_size, "%s: %s", what, fdt_strerror(err_code));
	return -1;
}
