# kvmbox on a genuine hardware-virtualized KVM (AMD SVM) from any host:
# Debian's kernel under QEMU TCG with an SVM CPU model, kvm_amd loaded, the
# end-to-end suite run inside (test/svm/run-svm.sh). Included by the Makefile
# after test/test.mk.
#   make test-svm            the end-to-end suite inside; last line "N passed, N failed, N skipped"
#   make test-svm T=regex    only the matching cases
#   make bench-svm           test/bench's figures measured inside the SVM guest
# Needs: qemu-system-x86, a Debian kernel with kvm-amd.ko (linux-image-amd64,
# installed if there is none), busybox-static, cpio.

SVM_DEB_PKGS := qemu-system-x86 busybox-static cpio binutils util-linux diffutils gdb gdbserver bsdutils bc
SVM_IMAGE    := $(BUILD)/svm/initramfs.cpio

.PHONY: svm-deps svm-image test-svm bench-svm
svm-deps:
	$(Q)./images/ensure-deps.sh $(SVM_DEB_PKGS)
	$(Q)./images/svm/kernel.sh >/dev/null

# Rebuilt every time (a few seconds): it copies whatever is current in $(BUILD).
svm-image: svm-deps all images-test $(BUILD)/svm/pagefault $(BUILD)/svm/kvm_caps
	$(call say,IMAGE,$(SVM_IMAGE))
	$(Q)mkdir -p $(dir $(SVM_IMAGE))
	$(Q)./images/svm/mkimage.sh $(BUILD) "$$(./images/svm/kernel.sh)" $(SVM_IMAGE)

test-svm: svm-image
	$(Q)BUILD='$(BUILD)' T='$(T)' test/svm/run-svm.sh

# The page-fault benchmark program (a guest program, and native for comparison)
# and the start-up probe of what the guest's /dev/kvm offers.
$(BUILD)/svm/pagefault: test/svm/pagefault.c
	$(call say,MUSLCC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MUSL_CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/svm/kvm_caps: test/svm/kvm_caps.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

# The image copies $(BUILD)/bench when it exists.
bench-svm: svm-deps all bench-bins
	$(Q)$(MAKE) --no-print-directory svm-image
	$(Q)BUILD='$(BUILD)' test/svm/bench-svm.sh $(BENCH_ARGS)
