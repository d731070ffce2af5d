# Host unit tests and the test runner. Included by the Makefile.
#   make test             everything (unit + end-to-end), one line per case
#   T=regex make test     only the cases whose name matches
#   make unit / make e2e  one half

UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. -Ishared -Iguest/lib/pure

# A unit test exists once both its test file and the code under test do (the
# VMM's files land separately; the tree builds either way).
UNIT_BINS :=
define unit_test # name, sources under test, extra libs
ifeq ($$(words $$(wildcard test/unit/$(1).c $(2))),$$(words test/unit/$(1).c $(2)))
UNIT_BINS += $$(BUILD)/test/unit/$(1)
$$(BUILD)/test/unit/$(1): test/unit/$(1).c $(2) test/unit/unit.h $$(wildcard $(2:.c=.h) shared/*.h)
	$$(call say,CC,$$@)
	$$(Q)mkdir -p $$(dir $$@)
	$$(Q)$$(CC) $$(UNIT_CFLAGS) -o $$@ test/unit/$(1).c $(2) $(3)
endif
endef
$(eval $(call unit_test,test_elf,vmm/elf.c))
$(eval $(call unit_test,test_cpio,guest/lib/pure/cpio.c))
$(eval $(call unit_test,test_fdt,vmm/fdt.c guest/lib/pure/fdt_prop.c,-lfdt))
$(eval $(call unit_test,test_guest_mem,vmm/guest_mem.c,-lfdt))
$(eval $(call unit_test,test_gdb_framing,vmm/gdb_framing.c))
$(eval $(call unit_test,test_gdb_tdesc,vmm/gdb_tdesc.c))
$(eval $(call unit_test,test_gdb_packets,vmm/gdb_packets.c vmm/gdb_tdesc.c vmm/gdb_framing.c))
$(eval $(call unit_test,test_virtio_blk,devices/virtio_blk.c devices/virtqueue.c devices/virtio.c devices/virtio_mmio.c vmm/guest_mem.c,-luring -lpthread))
$(eval $(call unit_test,test_virtq,devices/virtqueue.c devices/virtio.c devices/virtio_mmio.c devices/virtio_rng.c devices/virtio_console.c vmm/guest_mem.c,-lpthread))

# libFuzzer target for the descriptor-chain walker (clang, libclang-rt-14-dev):
# a short run is the test case fuzz/virtq-short, `make fuzz-virtq` the long one.
DEB_PKGS += clang libclang-rt-14-dev
FUZZ_VIRTQ := $(BUILD)/test/fuzz/fuzz_virtq
$(FUZZ_VIRTQ): test/fuzz/fuzz_virtq.c devices/virtqueue.c vmm/guest_mem.c devices/virtqueue.h vmm/guest_mem.h
	$(call say,CLANG,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Ishared \
		-o $@ test/fuzz/fuzz_virtq.c devices/virtqueue.c vmm/guest_mem.c

.PHONY: unit-bins fuzz-virtq
unit-bins: $(UNIT_BINS) $(FUZZ_VIRTQ)

# The walker fuzzed for FUZZ_TIME seconds (default 10 minutes), corpus kept in build/fuzz-virtq-corpus.
fuzz-virtq: deps $(FUZZ_VIRTQ)
	$(Q)mkdir -p $(BUILD)/fuzz-virtq-corpus
	$(Q)$(FUZZ_VIRTQ) -max_total_time=$${FUZZ_TIME:-600} -max_len=4097 $(BUILD)/fuzz-virtq-corpus

RUN_TESTS = BUILD='$(BUILD)' T='$(T)' test/run-tests.sh

test: deps all images-test unit-bins
	$(Q)$(RUN_TESTS)

unit: deps unit-bins images-test
	$(Q)$(RUN_TESTS) --unit

e2e: deps all images-test
	$(Q)$(RUN_TESTS) --e2e

# The syscall fuzzer at full length: 1,000,000 calls (about an hour where
# guest CPL0 code is interpreted; minutes on hardware-virtualized hosts).
.PHONY: fuzz-syscalls
fuzz-syscalls: deps all images-test
	$(Q)FUZZ_CALLS=$${FUZZ_CALLS:-1000000} FUZZ_LIMIT=$${FUZZ_LIMIT:-14400} BUILD='$(BUILD)' T='^fuzz/' test/run-tests.sh

# The gdb stub's libFuzzer target (test/fuzz/fuzz_gdb.c): a short run is a
# case of `make test` (fuzz/gdb-stub); `make fuzz-gdb` runs it for
# FUZZ_GDB_SECONDS (default 600) from the seed corpus, keeping what it finds
# in $(BUILD)/fuzz-gdb-corpus.
FUZZ_CC := clang
GDB_FUZZ := $(BUILD)/test/fuzz/fuzz_gdb
GDB_FUZZ_SRCS := test/fuzz/fuzz_gdb.c vmm/gdb_framing.c vmm/gdb_packets.c vmm/gdb_tdesc.c
$(GDB_FUZZ): $(GDB_FUZZ_SRCS) $(wildcard vmm/gdb_*.h)
	$(call say,FUZZCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Ishared \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $(GDB_FUZZ_SRCS)
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
unit-bins: $(GDB_FUZZ)
endif

.PHONY: fuzz-gdb
fuzz-gdb: deps $(GDB_FUZZ)
	$(Q)mkdir -p $(BUILD)/fuzz-gdb-corpus
	$(Q)$(GDB_FUZZ) -max_total_time=$${FUZZ_GDB_SECONDS:-600} -max_len=20000 -print_final_stats=1 \
		$(BUILD)/fuzz-gdb-corpus test/fuzz/gdb-corpus

# The raw gdb protocol client of the gdb stub's tests: static, so it also
# runs inside make test-svm's guest (which copies $(BUILD)/test/*/).
$(BUILD)/test/gdb/gdb_raw: test/gdb/gdb_raw.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<
images-test: $(BUILD)/test/gdb/gdb_raw
