# Pipes, FIFOs, poll/select/epoll, eventfd, timerfd, signalfd, futexes (issue #3).
# Sourced by run-tests.sh: case_* functions with its helpers, registered with `add`.

IPC_PROGS="ipc_pipe"

case_ipc_same() { # libc prog [args...]: the self-checking program, identical to native
	local l=$1 p=$2; shift 2
	prepare "$l" "$p"
	kvm "./$p" "$@"
	(cd "$W/n" && native "./$p" "$@")
	compare_native
	grep -qx "PASS $p" "$W/k.out" || problem "no \"PASS $p\" line" "$(grep -m5 FAIL "$W/k.out" | sed 's/^/      /')"
	finish
}

for l in $LIBCS; do
	for p in $IPC_PROGS; do
		add native/$l/$p native case_native_selfcheck $l $p
		add e2e/$l/$p kvm case_ipc_same $l $p
	done
done
