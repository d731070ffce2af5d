# Benchmarks: `make bench` (BENCHMARKS.md). Included by the Makefile, after
# images/images.mk (MUSL_CC, the hello image) and test/test.mk.
#   make bench                       measure and print the figures
#   make bench BENCH_ARGS=--write    ... and update BENCHMARKS.md
# Timings are never pass/fail: nothing here fails on a slow number.

BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror
BENCH_BINS   := $(BENCH_DIR)/kvm_floor $(BENCH_DIR)/rss_at_exit $(BENCH_DIR)/kvm_ioctl_names \
	$(BENCH_DIR)/benchrun $(BENCH_DIR)/getpid $(BENCH_DIR)/blk_bench $(BENCH_DIR)/console_write $(BENCH_DIR)/abibench \
	$(BENCH_DIR)/cpuloop
BENCH_ARGS   ?=

# Host tools, built like kvmbox (dynamically linked glibc: the floor pays
# the same exec and ld.so costs as kvmbox does).
$(BENCH_DIR)/kvm_floor $(BENCH_DIR)/rss_at_exit $(BENCH_DIR)/kvm_ioctl_names: $(BENCH_DIR)/%: test/bench/%.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $<

# The spawner is static musl: a child's ru_maxrss covers its spawner's RSS too.
$(BENCH_DIR)/benchrun: test/bench/benchrun.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static $(BENCH_CFLAGS) -o $@ $<

# Guest programs (and native, for the comparison).
$(BENCH_DIR)/getpid $(BENCH_DIR)/console_write $(BENCH_DIR)/blk_bench $(BENCH_DIR)/abibench $(BENCH_DIR)/cpuloop: $(BENCH_DIR)/%: test/bench/%.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static $(BENCH_CFLAGS) -o $@ $<

.PHONY: bench-bins
bench-bins: $(BENCH_BINS) $(BUILD)/images/hello-musl

bench: deps all bench-bins
	$(Q)BUILD='$(BUILD)' test/bench/run-bench.sh $(BENCH_ARGS)
	$(Q)BUILD='$(BUILD)' test/bench/gdb-stepi.sh
	$(Q)BUILD='$(BUILD)' test/bench/blk-bench.sh $(BENCH_ARGS)
	$(Q)BUILD='$(BUILD)' test/bench/console-bench.sh
	$(Q)BUILD='$(BUILD)' test/bench/gdb-attached.sh
