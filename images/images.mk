# Programs the guest runs: the demo, the end-to-end test programs (musl and
# glibc builds of each), and the bad-input fixtures. Included by the Makefile.

# Static glibc builds need libc.a (libc6-dev is only a Recommends of gcc);
# readelf (binutils) checks the static-PIE builds; head/dd/od make fixtures.
DEB_PKGS += libc6-dev binutils coreutils golang-go

MUSL_CC      := musl-gcc
PROG_CFLAGS  := -O1 -g -fno-omit-frame-pointer -Wall

E2E_PROGS     := $(sort $(basename $(notdir $(wildcard test/e2e/progs/*.c))))
E2E_HEADERS   := $(wildcard test/e2e/progs/*.h)
E2E_MUSL      := $(E2E_PROGS:%=$(BUILD)/test/musl/%)
E2E_GLIBC     := $(E2E_PROGS:%=$(BUILD)/test/glibc/%)
# Static PIE: the loader's ET_DYN path. musl-gcc's -static-pie is checked
# when built: Debian's musl-gcc makes a *dynamic* PIE from it (PT_INTERP
# /lib/ld-musl-x86_64.so.1), so that variant is skipped (hello-pie.skip says why).
E2E_PIE       := $(BUILD)/test/musl/hello-pie $(BUILD)/test/glibc/hello-pie
# Go static binaries (CGO_ENABLED=0): one per test/e2e/go/*.go.
GO_PROGS      := $(sort $(basename $(notdir $(wildcard test/e2e/go/*.go))))
E2E_GO        := $(GO_PROGS:%=$(BUILD)/test/go/%)
BAD           := $(BUILD)/test/bad
BAD_FIXTURES  := $(BAD)/dynamic $(BAD)/truncated-phdrs $(BAD)/truncated-half $(BAD)/elf32 \
	$(BAD)/aarch64 $(BAD)/text.txt $(BAD)/directory $(BAD)/empty $(BAD)/object.o $(BAD)/bigendian

.PHONY: images images-test
images: $(BUILD)/images/hello-musl
images-test: $(BUILD)/images/hello-musl $(E2E_MUSL) $(E2E_GLIBC) $(E2E_PIE) $(E2E_GO) $(BAD_FIXTURES)

$(BUILD)/test/go/%: test/e2e/go/%.go
	$(call say,GO,$@)
	$(Q)mkdir -p $(dir $@) $(abspath $(BUILD))/go-cache
	$(Q)cd $(dir $<) && CGO_ENABLED=0 GOCACHE=$(abspath $(BUILD))/go-cache GO111MODULE=off \
		go build -trimpath -o $(abspath $@) $(notdir $<)

$(BUILD)/images/hello-musl: images/demo/hello.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static -O2 -Wall -o $@ $<

$(BUILD)/test/musl/%: test/e2e/progs/%.c $(E2E_HEADERS)
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static $(PROG_CFLAGS) -o $@ $<

$(BUILD)/test/glibc/%: test/e2e/progs/%.c $(E2E_HEADERS)
	$(call say,GCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)gcc -static $(PROG_CFLAGS) -o $@ $<

# A static PIE is ET_DYN without PT_INTERP; anything else is not one.
is_static_pie = { readelf -h $(1) | grep -q 'Type:.*DYN' && ! readelf -l $(1) | grep -q INTERP; }

$(BUILD)/test/glibc/hello-pie: test/e2e/progs/hello.c
	$(call say,GCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)gcc -static-pie -fPIE $(PROG_CFLAGS) -o $@.tmp $<
	$(Q)$(call is_static_pie,$@.tmp) || { echo "gcc -static-pie did not make a static PIE" >&2; exit 1; }
	$(Q)mv $@.tmp $@

# Made only if musl-gcc really makes a static PIE; otherwise hello-pie.skip
# holds the reason (the target is retried on each make: one compile).
$(BUILD)/test/musl/hello-pie: test/e2e/progs/hello.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)rm -f $@.skip; \
	if ! $(MUSL_CC) -static-pie -fPIE $(PROG_CFLAGS) -o $@.tmp $< 2>$@.log; then \
		echo "musl-gcc -static-pie failed: $$(head -c 200 $@.log)" > $@.skip; rm -f $@.tmp; \
	elif ! $(call is_static_pie,$@.tmp); then \
		echo "musl-gcc -static-pie made a dynamic PIE ($$(readelf -l $@.tmp | grep -o 'interpreter: [^]]*')), not a static one" > $@.skip; \
		rm -f $@.tmp; \
	else mv $@.tmp $@; fi; rm -f $@.log

# ---- bad-input fixtures: each must be refused with a reason ---------------
$(BAD)/dynamic: test/e2e/progs/hello.c
	$(call say,GCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)gcc -O1 -o $@ $<

# ELF header intact, program header table cut off (header is 64 bytes).
$(BAD)/truncated-phdrs: $(BUILD)/test/musl/hello
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)head -c 100 $< > $@

# Headers intact, segments' file data cut off half way.
$(BAD)/truncated-half: $(BUILD)/test/musl/hello
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)head -c $$(( $$(stat -c %s $<) / 2 )) $< > $@

# e_ident[EI_CLASS] (offset 4) = ELFCLASS32.
$(BAD)/elf32: $(BUILD)/test/musl/hello
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)cp $< $@.tmp && printf '\001' | dd of=$@.tmp bs=1 seek=4 conv=notrunc status=none && mv $@.tmp $@

# e_machine (offset 18, little-endian) = EM_AARCH64 (183 = 0xb7).
$(BAD)/aarch64: $(BUILD)/test/musl/hello
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)cp $< $@.tmp && printf '\267\000' | dd of=$@.tmp bs=1 seek=18 conv=notrunc status=none && mv $@.tmp $@

$(BAD)/text.txt:
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\necho this is a text file, not an ELF\n' > $@ && chmod +x $@

$(BAD)/directory:
	$(call say,GEN,$@)
	$(Q)mkdir -p $@

$(BAD)/empty:
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q): > $@ && chmod +x $@

# A relocatable object (ET_REL), not an executable.
$(BAD)/object.o: test/e2e/progs/hello.c
	$(call say,GCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)gcc -c -o $@ $<

# e_ident[EI_DATA] (offset 5) = ELFDATA2MSB.
$(BAD)/bigendian: $(BUILD)/test/musl/hello
	$(call say,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)cp $< $@.tmp && printf '\002' | dd of=$@.tmp bs=1 seek=5 conv=notrunc status=none && mv $@.tmp $@
