# Timer, idle and preemption cases (sourced by test/run-tests.sh): sleeps are
# not early and not lost, CPU-bound processes share the CPU, the tickless
# timer takes at most 2 interrupts for a 1 s sleep, an idle vCPU halts.

TIMER_PROGS="timer_sleep timer_starve"

# The guest's scheduler counters, printed at exit with --verbose: timer_stat NAME -> the number
# before NAME in "guest scheduler: N timer interrupts, N context switches, ..." ("" if absent).
timer_stat() {
	sed -n "s/.*guest scheduler:.* \([0-9][0-9]*\) $1.*/\1/p" "$W/k.err" | head -n 1
}

case_timer_self() { # libc prog: self-checking; stdout and status as native (stderr has the times)
	local l=$1 p=$2
	prepare "$l" "$p"
	kvm "./$p"
	(cd "$W/n" && native "./$p")
	compare_native "out rc"
	grep -qx "PASS $p" "$W/k.out" || problem "no \"PASS $p\" line" "$(excerpt "$W/k.out")"
	finish
}

case_timer_fair() { # libc: the guest scheduler shares one vCPU fairly (no native reference:
	# natively the two processes run on two host CPUs, and on a loaded host their
	# counts say more about the host's other work than about anything we test)
	local l=$1
	prepare "$l" timer_fair
	kvm ./timer_fair
	expect_rc 0
	grep -qx "PASS timer_fair" "$W/k.out" || problem "no \"PASS timer_fair\" line" "$(excerpt "$W/k.out")"
	finish
}

case_timer_ticks() { # libc how: one 1 s sleep of one thread takes at most 2 timer interrupts
	local l=$1 how=$2
	prepare "$l" timer_sleep
	kvm --verbose ./timer_sleep "$how" 1000
	expect_rc 0
	expect_out_is "$how 1000 ms: done"
	local n; n=$(timer_stat "timer interrupts")
	if [ -z "$n" ]; then problem "--verbose printed no \"guest scheduler: N timer interrupts\" line"
	elif ((n > 2)); then problem "$n timer interrupts during a 1 s sleep (at most 2: tickless)"
	fi
	finish
}

# The CPU time (user + system, ms) that one run of kvmbox took: "0m0.012s 0m0.034s" from times(1).
cpu_ms_of_times() {
	[[ $1 =~ ^([0-9]+)m([0-9.]+)s\ ([0-9]+)m([0-9.]+)s$ ]] || { echo -1; return; }
	awk -v a="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" -v c="${BASH_REMATCH[3]}" \
		-v d="${BASH_REMATCH[4]}" 'BEGIN { printf "%d", (a * 60 + b + c * 60 + d) * 1000 }'
}

case_timer_idle_halts() { # libc how: a 1 s sleep halts the vCPU: a woken timer, and little host CPU time
	local l=$1 how=$2
	prepare "$l" timer_sleep
	# times(1) in a subshell: the CPU time of exactly this run (kvmbox is reaped inside it).
	# A 1 ms sleep first: the difference leaves out start-up and exit, which a slow
	# (e.g. nested, emulated) host makes costly, and keeps only the sleeping.
	local t0 t; t0=$( (kvm ./timer_sleep "$how" 1 >/dev/null; times) | tail -n 1)
	t=$( (kvm --verbose ./timer_sleep "$how" 1000; times) | tail -n 1)
	expect_rc 0
	expect_out_is "$how 1000 ms: done"
	local n h
	n=$(timer_stat "timer interrupts")
	h=$(timer_stat "idle halts")
	[ "${n:-0}" -ge 1 ] || problem "no timer interrupt ended the sleep (${n:-no} timer interrupts)"
	[ "${h:-0}" -ge 1 ] || problem "the idle CPU never halted (${h:-no} idle halts)"
	local ms0 ms; ms0=$(cpu_ms_of_times "$t0"); ms=$(cpu_ms_of_times "$t")
	{ [ "$ms0" -ge 0 ] && [ "$ms" -ge 0 ]; } || problem "cannot read times: $t0 / $t"
	# A vCPU that polled through the second adds 270+ ms even here, where KVM exits on PAUSE (KVMBOX_IRQCHIP=0 idles so).
	((ms - ms0 < 200)) || problem "a 1 s sleep cost ${ms} ms of CPU time against ${ms0} ms for 1 ms (the vCPU spins?)"
	finish
}

case_timer_preempt_stats() { # libc: two CPU-bound processes: the timer preempted them
	local l=$1
	prepare "$l" timer_fair
	kvm --verbose ./timer_fair 300
	expect_rc 0
	local n; n=$(timer_stat preemptions)
	[ "${n:-0}" -ge 2 ] || problem "${n:-no} preemptions of two CPU-bound processes in 0.3 s"
	finish
}

case_timer_no_irqchip() { # libc: without an interrupt controller (KVMBOX_IRQCHIP=0) sleeps still end
	local l=$1 how
	prepare "$l" timer_sleep
	for how in nanosleep futex; do
		KVMBOX_IRQCHIP=0 kvm --verbose ./timer_sleep $how 50
		expect_rc 0
		expect_out_is "$how 50 ms: done"
	done
	local n; n=$(timer_stat "timer interrupts")
	[ "$n" = 0 ] || problem "${n:-no} timer interrupts without an interrupt controller (expected 0)"
	finish
}

case_timer_timeout_halted() { # libc: --timeout ends a guest whose vCPU is halted in KVM, promptly
	local l=$1
	prepare "$l" timer_sleep
	local t0=$SECONDS
	kvm --timeout 1 ./timer_sleep nanosleep 30000
	expect_rc 124
	expect_err_has -i timeout
	((SECONDS - t0 <= 15)) || problem "took $((SECONDS - t0))s to stop (--timeout 1)"
	finish
}

for l in $LIBCS; do
	for p in $TIMER_PROGS; do
		add native/$l/$p native case_native_selfcheck $l $p
		add e2e/$l/$p kvm case_timer_self $l $p
	done
	add e2e/$l/timer_fair kvm case_timer_fair $l
	add e2e/$l/timer-ticks-nanosleep kvm case_timer_ticks $l nanosleep
	add e2e/$l/timer-ticks-futex kvm case_timer_ticks $l futex
	add e2e/$l/timer-idle-halts-nanosleep kvm case_timer_idle_halts $l nanosleep
	add e2e/$l/timer-idle-halts-futex kvm case_timer_idle_halts $l futex
	add e2e/$l/timer-preempt-stats kvm case_timer_preempt_stats $l
	add e2e/$l/timer-no-irqchip kvm case_timer_no_irqchip $l
	add e2e/$l/timer-timeout-halted kvm case_timer_timeout_halted $l
done
