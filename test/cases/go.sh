# Go static binaries (golang-go, CGO_ENABLED=0): goroutines on several threads,
# channels, a mutex, timers, recovered and unrecovered panics.

prepare_go() { # prog
	local src=$B/test/go/$1
	[ -f "$src" ] || fail "$src is missing (make images-test)"
	mkdir -p "$W/k" "$W/n"
	cp "$src" "$W/k/$1" && cp "$src" "$W/n/$1"
	cd "$W/k" || exit 1
}

case_go_same() { # prog: stdout, stderr and status as native
	prepare_go "$1"
	kvm "./$1"
	(cd "$W/n" && native "./$1")
	compare_native
	finish
}

case_go_panic() { # an unrecovered panic: status 2, the message on stderr, as native
	prepare_go panic
	kvm ./panic
	(cd "$W/n" && native ./panic)
	compare_native "out rc"
	expect_rc 2
	expect_err_has "panic: boom: unrecovered"
	expect_err_has "goroutine 1 [running]:"
	finish
}

add go/goroutines kvm case_go_same goroutines
add go/panic kvm case_go_panic
