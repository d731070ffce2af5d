# Cold-start breakdown of `kvmbox run` from a tracefs log (trace-breakdown.sh).
#
# Input: first the output of kvm_ioctl_names ("hex NAME" lines, FILE 1), then
# the trace (FILE 2) of a benchrun process (-v parent=PID) spawning kvmbox
# RUNS times: raw_syscalls:sys_enter/sys_exit, kvm:kvm_pio and
# exceptions:page_fault_user/_kernel of benchrun and kvmbox, and the sched
# events (fork, exit, switch, wakeup) of every task.
#
# Each run is cut into phases at syscall landmarks (the order kvmbox issues
# them in: vmm/main.c, vmm/boot.c); per phase it prints the median over the
# runs of the wall time, of the time the process was on a CPU (wall minus
# the time it was preempted or blocked: this machine is shared), and of the
# page faults taken. Times in µs.
function hexval(s,   i, c, v) {
	v = 0
	s = tolower(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (!c) break
		v = v * 16 + c - 1
	}
	return v
}
function median(arr, n,   i, j, t, a) {
	if (n < 1) return 0
	for (i = 1; i <= n; i++) a[i] = arr[i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# Off-CPU time of run r inside [a, b): kind 0 all, 1 runnable but preempted, 2 blocked (sleeping).
function offcpu(r, a, b, kind,   i, s, e, sum) {
	sum = 0
	for (i = 1; i <= noff[r]; i++) {
		if (kind == 1 && !off_p[r, i] || kind == 2 && off_p[r, i]) continue
		s = off_s[r, i]; e = off_e[r, i]
		if (s < a) s = a
		if (e > b) e = b
		if (e > s) sum += e - s
	}
	return sum
}
function faults(r, a, b,   i, n) {
	n = 0
	for (i = 1; i <= nflt[r]; i++)
		if (flt[r, i] >= a && flt[r, i] < b) n++
	return n
}
function newrun(pid) {
	nrun++
	run_of[pid] = nrun
	rpid[nrun] = pid
	T[nrun, "spawn"] = spawn_t
	return nrun
}

FNR == NR { ioname[$1] = $2; next }

{
	if (!match($0, /-[0-9]+ +\[[0-9]+\]/)) next
	s = substr($0, RSTART + 1, RLENGTH - 1)
	split(s, a, " ")
	pid = a[1] + 0
	cpu = a[2]; gsub(/[^0-9]/, "", cpu); cpu += 0
	rest = substr($0, RSTART + RLENGTH)
	if (!match(rest, /[0-9]+\.[0-9]+: /)) next
	ts = substr(rest, RSTART, RLENGTH - 2) * 1e6
	ev = substr(rest, RSTART + RLENGTH)
	split(ev, f, " ")
	name = f[1]
}

# ---- off-CPU intervals -------------------------------------------------------
# The thread a run is tracked by: its main thread until that is a zombie, then
# KVM's worker thread (kvm-nx-lpage-recovery, created inside KVM_RUN as a
# thread of the VMM's process), which exits last and frees the VM and the mm.
# An interval opens when the thread is switched out (preempted if it was still
# runnable, else blocked), turns into "preempted" when the thread is woken, and
# closes when the thread is seen running again (its switch-in, or any event
# in its context, or its wakeup onto an idle CPU: a switch-in is not always
# recorded).
function tracked(p,   r) {
	if (p in run_of) { r = run_of[p]; return ((r, "zombie") in T) ? 0 : r }
	if (p in worker_of) { r = worker_of[p]; return (((r, "zombie") in T) && !((r, "group_dead") in T)) ? r : 0 }
	return 0
}
function off_open(r, t, preempted) {
	off_close(r, t)
	noff[r]++; off_s[r, noff[r]] = t; off_e[r, noff[r]] = 1e18; off_p[r, noff[r]] = preempted
	is_open[r] = 1
}
function off_close(r, t) { if (is_open[r]) { off_e[r, noff[r]] = t; is_open[r] = 0 } }

{ tr = tracked(pid); if (tr) off_close(tr, ts) }

# ---- the parent (benchrun): spawn and reap ---------------------------------
pid == parent && name == "sys_enter:" && (f[3] == "56" || f[3] == "435" || f[3] == "57" || f[3] == "58") { spawn_t = ts; next }
pid == parent && name == "sched_process_fork:" {
	c = ev; sub(/.*child_pid=/, "", c); c += 0
	r = newrun(c)
	off_open(r, ts, 1)      # runnable from here until it first gets a CPU
	next
}
pid == parent && name == "sys_exit:" && f[3] == "61" {
	c = f[5] + 0
	if (c in run_of) {
		r = run_of[c]
		T[r, "reaped"] = ts
		# benchrun woke when the process group died; waiting for a CPU after that is not the run's.
		w0 = parent_wake > T[r, "group_dead"] ? parent_wake : T[r, "group_dead"]
		reapwait[r] = parent_in > w0 ? parent_in - w0 : 0
	}
	next
}
name == "sched_wakeup:" || name == "sched_wakeup_new:" {
	wp = ev; sub(/.* pid=/, "", wp); wp += 0
	if (wp == parent) parent_wake = ts
	if ((pid in run_of) && ev ~ /comm=kvm-/ && !(wp in run_of)) { worker_of[wp] = run_of[pid]; worker[run_of[pid]] = wp }
	r = tracked(wp)
	tc = ev; sub(/.*target_cpu=/, "", tc); tc += 0
	# Woken onto an idle CPU: it runs now (that switch-in is not always in the trace).
	if (r && is_open[r] && (tc in curr) && curr[tc] == 0) off_close(r, ts)
	else if (r && is_open[r] && !off_p[r, noff[r]]) off_open(r, ts, 1)
	next
}
name == "sched_switch:" {
	# prev_comm=.. prev_pid=N prev_prio=.. prev_state=S ==> next_comm=.. next_pid=M
	pp = ev; sub(/.*prev_pid=/, "", pp); pp += 0
	nxp = ev; sub(/.*next_pid=/, "", nxp); nxp += 0
	st = ev; sub(/.*prev_state=/, "", st); sub(/ .*/, "", st)
	r = tracked(pp)
	if (r && st ~ /^[ZX]/) {
		if (pp in run_of) {
			T[r, "zombie"] = ts
			if (!(r in worker) || worker_dead[r]) T[r, "group_dead"] = ts
			else off_open(r, ts, 1)   # the worker, woken by exit_group, waits for a CPU
		} else {
			T[r, "group_dead"] = ts
			off_close(r, ts)
		}
	} else if (r) {
		off_open(r, ts, st ~ /^R/)
	} else if ((pp in worker_of) && st ~ /^[ZX]/) {
		worker_dead[worker_of[pp]] = 1
	}
	r = tracked(nxp)
	if (r) off_close(r, ts)
	curr[cpu] = nxp
	if (nxp == parent) parent_in = ts
	next
}
pid == parent { next }

# ---- a child: one kvmbox run (its other threads, e.g. KVM's, are not followed)
!(pid in run_of) { next }
{ r = run_of[pid] }
name == "page_fault_user:" || name == "page_fault_kernel:" { nflt[r]++; flt[r, nflt[r]] = ts; next }
name == "kvm_pio:" { port[r] = f[4]; next }
name == "sched_process_exit:" { T[r, "pexit"] = ts; next }
name == "sys_enter:" {
	nr = f[3] + 0
	arg1 = f[5]; sub(/,$/, "", arg1)
	cur_nr[r] = nr
	# the syscall sequence after exec (the same in every run): what, the user time before it, its time
	if ((r, "exec_done") in T) {
		q = ++nseq[r]
		sq_name[r, q] = nr == 16 && (arg1 in ioname) ? ioname[arg1] : (nr in scname ? scname[nr] : "syscall " nr)
		sq_gap[r, q] = ts - last_exit[r] - offcpu(r, last_exit[r], ts, 0)
		sq_t[r, q] = ts
	}
	if (nr == 59) T[r, "exec"] = ts
	else if (nr == 13 && !((r, "main") in T)) T[r, "main"] = ts
	else if (nr == 257) last_open[r] = ts
	else if (nr == 319 && !((r, "memfd") in T)) T[r, "memfd"] = ts
	else if (nr == 231) T[r, "exit_group"] = ts
	else if (nr == 16) {
		cmd = ioname[arg1]
		cur_cmd[r] = cmd
		cur_t[r] = ts
		if (cmd ~ /^KVM_/ && !((r, "kvm_open") in T)) T[r, "kvm_open"] = last_open[r]
		if (cmd == "KVM_SET_USER_MEMORY_REGION") T[r, "slot"] = ts
		else if (cmd == "KVM_CREATE_VCPU") T[r, "vcpu"] = ts
		else if (cmd == "KVM_RUN" && !((r, "run1") in T)) T[r, "run1"] = ts
		if (cmd == "KVM_RUN") port[r] = ""
	}
	next
}
name == "sys_exit:" {
	nr = f[3] + 0
	last_exit[r] = ts
	if (nseq[r]) sq_dur[r, nseq[r]] = ts - sq_t[r, nseq[r]] - offcpu(r, sq_t[r, nseq[r]], ts, 0)
	if (nr == 59) T[r, "exec_done"] = ts
	else if (nr == 16) {
		cmd = cur_cmd[r]
		if (cmd == "KVM_CREATE_VM") T[r, "vm"] = ts
		else if (cmd == "KVM_SET_USER_MEMORY_REGION") T[r, "slot_done"] = ts
		else if (cmd == "KVM_GET_SUPPORTED_CPUID") T[r, "cpuid_done"] = ts
		else if (cmd == "KVM_RUN") {
			nkr[r]++
			d = ts - cur_t[r]
			inrun[r] += d
			inrun_off[r] += offcpu(r, cur_t[r], ts)
			p = port[r] == "" ? "none" : port[r]
			hc = hexval(substr(p, 3)) - 1280
			lbl = p == "none" ? "(no I/O exit)" : (hc >= 0 && hc < nhc ? "hc " hcname[hc] : "port " p)
			krun_lbl[r, nkr[r]] = lbl
			krun_d[r, nkr[r]] = d
			krun_on[r, nkr[r]] = d - offcpu(r, cur_t[r], ts)
			krun_flt[r, nkr[r]] = faults(r, cur_t[r], ts)
		}
	}
	next
}

BEGIN {
	ns = split("0 read 1 write 3 close 5 fstat 8 lseek 9 mmap 10 mprotect 11 munmap 12 brk 13 rt_sigaction " \
		"14 rt_sigprocmask 16 ioctl 17 pread64 19 readv 20 writev 21 access 39 getpid 56 clone 59 execve " \
		"61 wait4 72 fcntl 77 ftruncate 89 readlink 158 arch_prctl 202 futex 218 set_tid_address " \
		"228 clock_gettime 231 exit_group 257 openat 262 newfstatat 273 set_robust_list 302 prlimit64 " \
		"318 getrandom 319 memfd_create 334 rseq 435 clone3", sc, " ")
	for (i = 1; i < ns; i += 2) scname[sc[i]] = sc[i + 1]
	nhc = split("EXIT CONSOLE_WRITE CONSOLE_READ PANIC CRASH NOTICE MEMOP SHARED_PAGE STOP START_CPU TRACE_FLUSH", hcn, " ")
	for (i = 1; i <= nhc; i++) hcname[i - 1] = hcn[i]
	np = split("spawn exec exec_done main kvm_open vm slot slot_done cpuid_done vcpu run1 exit_group zombie group_dead reaped", PH, " ")
	label["spawn"]      = "spawn: benchrun's posix_spawn to the execve"
	label["exec"]       = "execve (kernel)"
	label["exec_done"]  = "ld.so + libc start-up"
	label["main"]       = "main: CLI, program lookup, kernel path"
	label["kvm_open"]   = "open /dev/kvm, caps, KVM_CREATE_VM"
	label["vm"]         = "guest memory: memfd, ftruncate, mmap"
	label["slot"]       = "KVM_SET_USER_MEMORY_REGION"
	label["slot_done"]  = "cpu_probe: KVM_GET_SUPPORTED_CPUID"
	label["cpuid_done"] = "kernel load, page tables, initramfs, first process"
	label["vcpu"]       = "vCPU: create, CPUID, sregs, MSRs, regs, FDT"
	label["run1"]       = "guest run: first KVM_RUN to exit_group"
	label["exit_group"] = "exit: exit_group until the main thread is a zombie"
	label["zombie"]     = "exit: KVM's worker thread (kvm-nx-lpage-recovery) wakes, exits last: mm, VM freed"
	label["group_dead"] = "reap: benchrun's wait4 returns"
}

END {
	ok = 0
	for (r = 1; r <= nrun; r++) {
		# A landmark the program does not have (kvm_floor has no rt_sigaction, no
		# CPUID probe) makes its phase empty: a start landmark takes the next
		# landmark's time, an end landmark (cpuid_done) the previous one's.
		# Runs without the start or the end are dropped.
		good = ((r, "spawn") in T) && ((r, "reaped") in T) && ((r, "exec_done") in T)
		if (good && !((r, "cpuid_done") in T) && ((r, "slot_done") in T)) { T[r, "cpuid_done"] = T[r, "slot_done"]; missing["slot_done"] = 1 }
		for (i = np - 1; good && i >= 2; i--) if (!((r, PH[i]) in T)) { T[r, PH[i]] = T[r, PH[i + 1]]; missing[PH[i]] = 1 }
		if (!good) miss = ((r, "spawn") in T) ? (((r, "reaped") in T) ? "exec" : "reaped") : "spawn"
		if (!good) { printf "breakdown: run %d (pid %d) incomplete (no %s): skipped\n", r, rpid[r], miss > "/dev/stderr"; continue }
		ok++
		for (i = 1; i < np; i++) {
			ta = T[r, PH[i]]; tb = T[r, PH[i + 1]]
			W[PH[i], ok] = tb - ta
			PR[PH[i], ok] = offcpu(r, ta, tb, 1)
			BL[PH[i], ok] = offcpu(r, ta, tb, 2)
			FL[PH[i], ok] = faults(r, ta, tb)
		}
		PR["group_dead", ok] = reapwait[r]; BL["group_dead", ok] = 0
		TOT[ok] = T[r, "reaped"] - T[r, "spawn"]
		TPR[ok] = offcpu(r, T[r, "spawn"], T[r, "reaped"], 1) + reapwait[r]
		TBL[ok] = offcpu(r, T[r, "spawn"], T[r, "reaped"], 2)
		IR[ok] = inrun[r]; IRON[ok] = inrun[r] - inrun_off[r]
		NKR[ok] = nkr[r]
		for (k = 1; k <= nkr[r]; k++) {
			KL[k] = krun_lbl[r, k]; KD[k, ok] = krun_d[r, k]; KO[k, ok] = krun_on[r, k]; KF[k, ok] = krun_flt[r, k]
		}
	}
	if (!ok) { print "breakdown: no complete run in the trace" > "/dev/stderr"; exit 1 }
	n = ok
	printf "| phase | wall | on CPU | preempted | blocked | page faults |\n|---|--:|--:|--:|--:|--:|\n"
	sumw = sumo = 0
	for (i = 1; i < np; i++) {
		p = PH[i]
		for (k = 1; k <= n; k++) { w[k] = W[p, k]; o[k] = W[p, k] - PR[p, k] - BL[p, k]; pr[k] = PR[p, k]; bl[k] = BL[p, k]; fl[k] = FL[p, k] }
		mw = median(w, n); mo = median(o, n)
		sumw += mw; sumo += mo
		printf "| %s%s | %.0f | %.0f | %.0f | %.0f | %d |\n", label[p], missing[p] ? " (none in this program)" : "", mw, mo, median(pr, n), median(bl, n), median(fl, n)
		if (p == "run1") {
			for (k = 1; k <= n; k++) { w[k] = IR[k]; o[k] = IRON[k]; cnt[k] = NKR[k] }
			printf "| &nbsp;&nbsp;of which inside KVM_RUN (%d calls) | %.0f | %.0f | | | |\n", median(cnt, n), median(w, n), median(o, n)
			nk = median(cnt, n)
			for (j = 1; j <= nk; j++) {
				for (k = 1; k <= n; k++) { w[k] = KD[j, k]; o[k] = KO[j, k]; fl[k] = KF[j, k] }
				printf "| &nbsp;&nbsp;&nbsp;&nbsp;KVM_RUN #%d, ends in %s | %.0f | %.0f | | | %d |\n", j, KL[j], median(w, n), median(o, n), median(fl, n)
			}
		}
	}
	for (k = 1; k <= n; k++) { w[k] = TOT[k]; o[k] = TOT[k] - TPR[k] - TBL[k]; pr[k] = TPR[k]; bl[k] = TBL[k] }
	printf "| **total**, spawn to reap | **%.0f** | **%.0f** | %.0f | %.0f | |\n", median(w, n), median(o, n), median(pr, n), median(bl, n)
	printf "\nTimes in µs, each the median over %d traced runs (the total is the median of the totals;\n", n
	printf "the phases' medians sum to %.0f wall, %.0f on CPU). preempted: runnable, waiting for a CPU;\n", sumw, sumo
	printf "blocked: sleeping in the kernel. page faults: host faults taken by the process (user and kernel mode).\n"

	# ---- syscall by syscall, from kvmbox's exec to its exit_group -----------
	# Runs whose sequence has the usual length (the mode) only; each row is the
	# median over them. Rows under THRESH µs (user time before + the syscall)
	# are summed into one line.
	if (!THRESH) THRESH = 40
	for (k = 1; k <= n; k++) cnt[k] = 0
	m = 0
	for (r = 1; r <= nrun; r++) if ((r, "reaped") in T) len_n[nseq[r]]++
	for (l in len_n) if (len_n[l] > m) { m = len_n[l]; mode = l + 0 }
	n2 = 0
	for (r = 1; r <= nrun; r++) if (((r, "reaped") in T) && nseq[r] == mode) sel[++n2] = r
	printf "\n%d syscalls from the exec to exit_group (%d of the runs have that sequence); rows of %d µs or more:\n\n", mode, n2, THRESH
	printf "| # | syscall | user time before it | in the syscall |\n|--:|---|--:|--:|\n"
	restn = restg = restd = 0
	for (q = 1; q <= mode; q++) {
		for (k = 1; k <= n2; k++) { GA[k] = sq_gap[sel[k], q]; DA[k] = sq_dur[sel[k], q] }
		mg = median(GA, n2); md = median(DA, n2)
		if (mg + md >= THRESH) printf "| %d | %s | %.0f | %.0f |\n", q, sq_name[sel[1], q], mg, md
		else { restn++; restg += mg; restd += md }
	}
	printf "| | the other %d syscalls | %.0f | %.0f |\n", restn, restg, restd
	printf "\nOn-CPU µs (preempted and blocked time removed); KVM_RUN is the guest running.\n"
}
