# Limits, times, getrusage, membarrier; hostname (guest only: natively it would rename the host).

case_hostname() {
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp /bin/busybox ./busybox
	kvm ./busybox sh -c 'hostname; hostname vm-test && hostname && uname -n'
	expect_rc 0
	expect_out_is "$(printf 'kvmbox\nvm-test\nvm-test')"
	finish
}

for l in $LIBCS; do
	add e2e/$l/misc_limits kvm case_e2e_same $l misc_limits
done
add busybox/hostname kvm case_hostname
# CPU-time clocks, times, getrusage, children's times after wait (cputime.c).
for l in $LIBCS; do
	add e2e/$l/cputime kvm case_e2e_same $l cputime
done
