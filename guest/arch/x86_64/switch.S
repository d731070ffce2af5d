/*
 * Kernel context switch (the xv6 swtch model): push the callee-saved
 * registers on the old thread's kernel stack, save its rsp, load the new
 * thread's, pop, return into it. Everything else the C caller saved.
 */
	.text
	.globl swtch
swtch:                          /* void swtch(uint64_t *save_ksp, uint64_t new_ksp) */
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* A new thread's first switch lands here, its trap frame at rsp (sched.c). */
	.globl thread_start
thread_start:
	call sched_finish_switch
	jmp return_to_user_full

	.section .note.GNU-stack, "", @progbits
