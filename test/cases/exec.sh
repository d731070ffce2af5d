# execve/execveat (guest/kernel/exec.c, the VMM's HC_EXEC in vmm/exec.c): exec_main
# runs one scenario and execs exec_target, which prints what it was given and
# what it inherited; everything is compared with the same run on the host.

case_exec() { # libc scenario: kvmbox vs native, exec_target beside exec_main
	local l=$1 s=$2
	prepare "$l" exec_main
	cp "$B/test/$l/exec_target" "$W/k/" && cp "$B/test/$l/exec_target" "$W/n/" || fail "exec_target missing"
	kvm --file ./exec_target ./exec_main "$s"
	(cd "$W/n" && native ./exec_main "$s")
	compare_native
	finish
}

case_exec_script() { # libc: a "#!./busybox sh" script (busybox copied in with --file)
	local l=$1
	[ -x /bin/busybox ] || skip "/bin/busybox missing (busybox-static)"
	readelf -l /bin/busybox 2>/dev/null | grep -q INTERP && skip "/bin/busybox is not static"
	prepare "$l" exec_main
	cp /bin/busybox "$W/n/busybox"
	kvm --file /bin/busybox ./exec_main script
	(cd "$W/n" && native ./exec_main script)
	compare_native
	expect_out_is 'script: $0=./script.sh args=2 [one] [two three]'
	finish
}

for l in $LIBCS; do
	for s in args noargs many self vfork fork cloexec signals fpu threads script-target execveat errors; do
		add e2e/$l/exec-$s kvm case_exec $l $s
	done
	add e2e/$l/exec-script kvm case_exec_script $l
	# "#!" chains: 2, 4 and 5 levels run, 6 is ELOOP (Linux's depth > 5), a missing link ENOENT
	for s in chain2 chain4 chain5 chain6 chain9 chain-missing; do
		add e2e/$l/exec-$s kvm case_exec $l $s
	done
	add e2e/$l/exec-thread-exec kvm case_exec $l thread-exec
done
