# Limits, times, getrusage, membarrier; hostname (guest only: natively it would rename the host);
# the VM reaper (vmm/vm_reaper.c).

case_hostname() {
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp /bin/busybox ./busybox
	kvm ./busybox sh -c 'hostname; hostname vm-test && hostname && uname -n'
	expect_rc 0
	expect_out_is "$(printf 'kvmbox\nvm-test\nvm-test')"
	finish
}

case_vm_reaper() { # KVM's teardown runs in a reaper holding only the VM fd; it ends with kvmbox, even a killed one
	prepare musl loop
	"$KVMBOX" run ./loop >"$W/k.out" 2>"$W/k.err" &
	local pid=$! i r=""
	for ((i = 0; i < 300; i++)); do grep -q looping "$W/k.out" && break; sleep 0.1; done
	grep -q looping "$W/k.out" || problem "the program never started" "$(excerpt "$W/k.err")"
	local d   # the child of kvmbox named kvmbox-reaper (/proc: no pgrep in make test-svm's image)
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = kvmbox-reaper ] &&
			[ "$(awk '{ print $4 }' "$d/stat" 2>/dev/null)" = "$pid" ] && r=${d#/proc/} && break
	done
	if [ -z "$r" ]; then
		problem "no kvmbox-reaper child while the VM runs"
	else
		# Only the VM and kvmbox's pidfd: no copy of stdout (a pipe reader would wait for it).
		local fds; fds=$(for f in /proc/"$r"/fd/*; do readlink "$f"; done | sort | tr '\n' ' ')
		[ "$fds" = "anon_inode:[pidfd] anon_inode:kvm-vm " ] || problem "the reaper holds: $fds"
	fi
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	if [ -n "$r" ]; then
		for ((i = 0; i < 100; i++)); do kill -0 "$r" 2>/dev/null || break; sleep 0.1; done
		! kill -0 "$r" 2>/dev/null || problem "kvmbox-reaper $r still runs 10 s after kvmbox was killed"
	fi
	# A normal exit: a pipe's reader sees end of file, and no reaper stays behind.
	prepare musl hello
	local out; out=$("$KVMBOX" run ./hello one | cat)
	[ "$(printf '%s\n' "$out" | grep -c 'argv')" -ge 2 ] || problem "no output through the pipe: $out"
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
add vm/reaper kvm case_vm_reaper
