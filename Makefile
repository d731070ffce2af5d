# kvmbox: one Makefile for the VMM, the guest kernel, images, tests and benchmarks.
# `make run` and `make test` install what is missing (see deps) and build first.

BUILD   ?= build
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)
say      = $(if $(filter 1,$(V)),,@printf '  %-6s %s\n' $(1) $(2);)

CC      ?= cc
HOST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-D_GNU_SOURCE -I. -Ishared -MMD -MP
HOST_LDLIBS := -lfdt -luring -lpthread

# The guest kernel is freestanding: no libc, no SSE (it never touches the
# user's FPU state), no red zone (interrupts push onto the kernel stack),
# linked at -2 GiB (shared/boot.h).
GUEST_CC     := gcc
GUEST_CFLAGS := -std=gnu11 -O2 -g -flto -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffreestanding -fno-builtin -nostdlib -fno-pie -fno-pic -fno-stack-protector \
	-fno-omit-frame-pointer -mno-red-zone -mgeneral-regs-only -mcmodel=kernel \
	-fno-asynchronous-unwind-tables -fcf-protection=none -mno-sse -mno-mmx \
	-Iguest/include -Iguest/lib/pure -Ishared -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
	-Wl,-T,guest/arch/x86_64/kernel.ld

VMM_SRCS   := $(wildcard vmm/*.c devices/*.c)
# Pure logic shared by the guest kernel and the host (parsers): compiled twice.
PURE_SRCS  := $(wildcard guest/lib/pure/*.c)
GUEST_SRCS := $(wildcard guest/*/*.c guest/*/*/*.c guest/*/*.S guest/*/*/*.S)

VMM_OBJS   := $(VMM_SRCS:%.c=$(BUILD)/host/%.o) $(PURE_SRCS:%.c=$(BUILD)/host/%.o)
GUEST_OBJS := $(patsubst %,$(BUILD)/guest-obj/%.o,$(basename $(GUEST_SRCS)))

KVMBOX := $(BUILD)/kvmbox
KERNEL := $(BUILD)/guest/kernel.elf

.PHONY: all deps run test unit e2e bench clean fuzz
all: $(KVMBOX) $(KERNEL)

# ---- dependencies (Debian packages) ---------------------------------------
DEB_PKGS := gcc make libc6-dev libfdt-dev liburing-dev musl-tools busybox-static cpio gdb clang libclang-rt-14-dev gdbserver
deps:
	$(Q)./images/ensure-deps.sh $(DEB_PKGS)

# ---- host: the VMM --------------------------------------------------------
$(BUILD)/host/%.o: %.c
	$(call say,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(KVMBOX): $(VMM_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) -o $@ $^ $(HOST_LDLIBS)

# ---- guest kernel ---------------------------------------------------------
$(BUILD)/guest-obj/%.o: %.c
	$(call say,GCC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/guest-obj/%.o: %.S
	$(call say,AS,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(KERNEL): $(GUEST_OBJS) guest/arch/x86_64/kernel.ld
	$(call say,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS) -lgcc

# ---- images, tests, benchmarks --------------------------------------------
include images/images.mk
include test/test.mk
include test/bench/bench.mk
include test/svm/svm.mk

run: deps all $(BUILD)/images/hello-musl
	$(KVMBOX) run $(BUILD)/images/hello-musl hello from 'a microVM'

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/svm -prune -o -name '*.d' -type f -print 2>/dev/null)
