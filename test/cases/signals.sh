# Signals and timers: handlers and their frames, masks, waiting, restarts,
# alternate stacks, the FPU state, interval and POSIX timers. Each program
# is self-checking; its stdout and exit status must match a native run.

# Stdout and exit status as native; stderr only where the program's
# children die of crash-class signals (the VMM reports each one there).
case_sig() { # libc prog [args...]
	local l=$1 p=$2; shift 2
	prepare "$l" "$p"
	kvm "./$p" "$@"
	(cd "$W/n" && native "./$p" "$@")
	compare_native "out rc"
	grep -v '^kvmbox: ' "$W/k.err" | cmp -s - "$W/n.err" ||
		problem "stderr differs from native (beyond kvmbox crash reports)" "$(excerpt "$W/k.err")"
	finish
}

for l in $LIBCS; do
	for p in sig_info sig_segv sig_fpu sig_vector sig_mask sig_restart sig_wait sig_timer sig_child sig_thread sig_exec sig_jobctl sig_orphan; do
		add e2e/$l/$p kvm case_sig $l $p
	done
done

# The Go runtime's signal machinery: os/signal, a nil dereference recovered
# as a panic, asynchronous preemption by SIGURG, SIGCHLD (case_go_same: go.sh).
add go/signals kvm case_go_same signals
