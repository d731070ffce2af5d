# virtio-blk (sourced by test/run-tests.sh): --disk images as /dev/vda, /dev/vdb, ...
# written and read by test programs and busybox, checked against the image
# files on the host; read-only disks; bad --disk options.

# A fresh image of $2 bytes holding blk_io's pattern for seed $3 (made natively): mkimage PATH SIZE SEED
mkimage() {
	"$B/test/musl/blk_io" gen "$3" "$2" >"$1" || fail "blk_io gen failed"
}

case_blk_write_read() { # libc: a run writes the pattern, the host sees it, a second run reads it back
	local l=$1 size=$((3 * 1024 * 1024 + 512))
	prepare "$l" blk_io
	truncate -s "$size" "$W/disk.img"
	kvm --disk "$W/disk.img" ./blk_io write /dev/vda 7
	expect_rc 0
	expect_out_is "PASS write"
	mkimage "$W/expected.img" "$size" 7
	cmp -s "$W/expected.img" "$W/disk.img" ||
		problem "the image file does not hold the pattern the guest wrote" "$(cmp "$W/expected.img" "$W/disk.img" 2>&1 | head -2)"
	kvm --disk "$W/disk.img" ./blk_io read /dev/vda 7
	expect_rc 0
	expect_out_is "PASS read $size bytes"
	# The check can fail: another seed's pattern does not pass.
	kvm --disk "$W/disk.img" ./blk_io read /dev/vda 8
	expect_rc 1
	grep -q "^FAIL: byte 0 is" "$W/k.out" || problem "reading with the wrong seed did not fail at byte 0" "$(excerpt "$W/k.out" 3)"
	finish
}

case_blk_ro() { # libc: ,ro: writes fail with EPERM (as Linux), reads work, the image is unchanged
	local l=$1
	prepare "$l" blk_io
	mkimage "$W/disk.img" $((1024 * 1024)) 3
	cp "$W/disk.img" "$W/before.img"
	kvm --disk "$W/disk.img,ro" ./blk_io ro /dev/vda
	expect_rc 0
	expect_out_is "PASS ro"
	kvm --disk "$W/disk.img,ro" ./blk_io write /dev/vda 5
	expect_rc 1
	grep -q "^FAIL: write 1 at 0: -1 (Operation not permitted)" "$W/k.out" ||
		problem "the write to a read-only disk did not fail with EPERM" "$(excerpt "$W/k.out" 3)"
	kvm --disk "$W/disk.img,ro" /bin/busybox dd if=/dev/zero of=/dev/vda bs=4096 count=4
	[ "$(rc "$W/k")" != 0 ] || problem "busybox dd onto a read-only disk succeeded"
	expect_err_has "Operation not permitted"
	cmp -s "$W/before.img" "$W/disk.img" || problem "the read-only image changed"
	# The same disk read-write: the same dd succeeds and changes it (the ro check can fail).
	kvm --disk "$W/disk.img" /bin/busybox dd if=/dev/zero of=/dev/vda bs=4096 count=4
	expect_rc 0
	! cmp -s "$W/before.img" "$W/disk.img" || problem "busybox dd onto the read-write disk changed nothing"
	finish
}

case_blk_info() { # libc: sizes, fstat, the end of the disk, bad pointers, as Linux's loop devices do
	local l=$1
	prepare "$l" blk_io
	mkimage "$W/disk.img" $((1024 * 1024)) 1
	mkimage "$W/b.img" 4096 2
	kvm --disk "$W/b.img" --disk "$W/disk.img" ./blk_io info /dev/vdb
	expect_rc 0
	expect_out_is "S_ISBLK 1 st_size 0 rdev 254:16
size 1048576 getsize64 1048576 ssz 512
read across the end: 50
read at the end: 0
pread across the end: 700
pread past the end: 0
pwrite at the end: -1 No space left on device
pwrite across the end: 24
read into a bad pointer: -1 Bad address
write from a bad pointer: -1 Bad address
unaligned read into a bad pointer: -1 Bad address
PASS info"
	# Only the last 24 bytes changed (pwrite across the end), to 'E'.
	mkimage "$W/expected.img" $((1024 * 1024 - 24)) 1
	printf 'EEEEEEEEEEEEEEEEEEEEEEEE' >>"$W/expected.img"
	cmp -s "$W/expected.img" "$W/disk.img" || problem "the image is not the pattern with 24 E's at the end"
	finish
}

case_blk_discard() { # libc: BLKDISCARD zeroes the range in the image file; bad ranges are EINVAL
	local l=$1
	prepare "$l" blk_io
	mkimage "$W/disk.img" $((1024 * 1024)) 4
	kvm --disk "$W/disk.img" ./blk_io discard /dev/vda
	expect_rc 0
	expect_out_is "PASS discard"
	# Host view: 8 KiB..12 KiB 0x77, 12 KiB..28 KiB zeros, then 0x77 to 72 KiB.
	local z; z=$(od -An -v -tx1 -j $((12 * 1024)) -N 16384 "$W/disk.img" | tr -s ' \n' '\n' | grep -cv '^00$\|^$')
	[ "$z" = 0 ] || problem "$z bytes of the discarded range are not zero in the image"
	local s; s=$(od -An -v -tx1 -j $((28 * 1024)) -N 45056 "$W/disk.img" | tr -s ' \n' '\n' | grep -cv '^77$\|^$')
	[ "$s" = 0 ] || problem "$s bytes after the discarded range are not 0x77 in the image"
	finish
}

case_blk_two() { # libc: two disks at once, in --disk order; each run touches only its disk
	local l=$1
	prepare "$l" blk_io
	mkimage "$W/a.img" $((512 * 1024)) 11
	truncate -s $((256 * 1024)) "$W/b.img"
	cp "$W/a.img" "$W/a.before"
	kvm --disk "$W/a.img" --disk "$W/b.img" ./blk_io write /dev/vdb 12
	expect_rc 0
	mkimage "$W/b.expected" $((256 * 1024)) 12
	cmp -s "$W/b.expected" "$W/b.img" || problem "the second image does not hold what /dev/vdb was given"
	cmp -s "$W/a.before" "$W/a.img" || problem "the first image changed"
	kvm --disk "$W/a.img" --disk "$W/b.img" ./blk_io read /dev/vda 11
	expect_rc 0
	expect_out_is "PASS read 524288 bytes"
	kvm --disk "$W/a.img" --disk "$W/b.img" ./blk_io read /dev/vdb 12
	expect_rc 0
	expect_out_is "PASS read 262144 bytes"
	finish
}

case_blk_busybox() { # busybox md5sum and dd on the disks, against the host's md5sum of the images
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	head -c $((2 * 1024 * 1024 + 1536)) /dev/urandom >"$W/a.img"
	head -c $((64 * 1024)) /dev/urandom >"$W/b.img"
	kvm --disk "$W/a.img" --disk "$W/b.img,ro" /bin/busybox md5sum /dev/vda /dev/vdb
	expect_rc 0
	expect_out_is "$(md5sum <"$W/a.img" | cut -d' ' -f1)  /dev/vda
$(md5sum <"$W/b.img" | cut -d' ' -f1)  /dev/vdb"
	# dd of a middle piece with odd block size and offset.
	kvm --disk "$W/a.img" /bin/busybox sh -c 'busybox dd if=/dev/vda bs=1000 skip=777 count=300 2>/dev/null | busybox md5sum'
	expect_rc 0
	expect_out_is "$(dd if="$W/a.img" bs=1000 skip=777 count=300 2>/dev/null | md5sum)"
	# dd writes a file's bytes at an unaligned offset; the host sees them there.
	head -c 10000 /dev/urandom >"$W/piece"
	cp "$W/a.img" "$W/a.expected"
	dd if="$W/piece" of="$W/a.expected" bs=1 seek=12345 conv=notrunc 2>/dev/null
	kvm --file "$W/piece" --disk "$W/a.img" /bin/busybox dd if=/work/piece of=/dev/vda bs=1 seek=12345 conv=notrunc
	expect_rc 0
	cmp -s "$W/a.expected" "$W/a.img" || problem "busybox dd bs=1 seek=12345 did not land at 12345 in the image"
	finish
}

case_blk_err() { # status reason disk-spec: a bad --disk fails before the guest runs anything
	local why=$1 spec=$2
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp "$B/test/musl/hello" ./hello || fail "hello is missing (make images-test)"
	printf 'x%.0s' $(seq 1024) >"$W/good.img"
	mkdir -p "$W/a-directory"
	kvm --disk "$W/good.img" --disk "${spec//@W/$W}" ./hello ran
	expect_rc 125
	expect_err_has -i "$why"
	[ ! -s "$W/k.out" ] || problem "the program ran (stdout: $(head -c 80 "$W/k.out"))"
	finish
}

case_blk_no_irqchip() { # without the in-kernel LAPIC nothing delivers the disk's interrupts: 125, said so
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp "$B/test/musl/hello" ./hello || fail "hello is missing (make images-test)"
	truncate -s 4096 "$W/disk.img"
	KVMBOX_IRQCHIP=0 kvm --disk "$W/disk.img" ./hello ran
	expect_rc 125
	expect_err_has "--disk needs KVM's in-kernel local APIC"
	[ ! -s "$W/k.out" ] || problem "the program ran"
	finish
}

case_blk_unreadable() { # an image the user cannot read: 125 before the guest starts
	mkdir -p "$W/k" && cd "$W/k" || exit 1
	cp "$B/test/musl/hello" ./hello || fail "hello is missing (make images-test)"
	chmod 755 "$W" "$W/k" ./hello
	truncate -s 4096 "$W/secret.img"
	chmod 600 "$W/secret.img"
	if [ "$(id -u)" = 0 ]; then
		# root reads anything: run kvmbox as nobody (option parsing comes before /dev/kvm).
		command -v setpriv >/dev/null || skip "running as root and setpriv(1) is missing: cannot make the image unreadable"
		chown root:root "$W/secret.img"
		chmod o+x "$SCRATCH"
		# Control: readable by nobody, the same command gets past the image.
		chmod 644 "$W/secret.img"
		run_limited "$W/ctl" setpriv --reuid=65534 --regid=65534 --clear-groups "$KVMBOX" run --disk "$W/secret.img,ro" ./hello ran
		! grep -q "secret.img" "$W/ctl.err" || problem "nobody cannot open a readable image (the check would pass for another reason)" "$(excerpt "$W/ctl.err" 3)"
		chmod 600 "$W/secret.img"
		run_limited "$W/k" setpriv --reuid=65534 --regid=65534 --clear-groups "$KVMBOX" run --disk "$W/secret.img,ro" ./hello ran
	else
		chmod 000 "$W/secret.img"
		kvm --disk "$W/secret.img,ro" ./hello ran
	fi
	expect_rc 125
	expect_err_has "cannot open $W/secret.img for reading: Permission denied"
	[ ! -s "$W/k.out" ] || problem "the program ran"
	finish
}

for l in $LIBCS; do
	add blk/$l/write-read kvm case_blk_write_read $l
	add blk/$l/ro kvm case_blk_ro $l
	add blk/$l/info kvm case_blk_info $l
	add blk/$l/discard kvm case_blk_discard $l
	add blk/$l/two-disks kvm case_blk_two $l
done
add blk/busybox kvm case_blk_busybox
add err/disk-missing kvm case_blk_err "No such file or directory" "@W/no-such.img"
add err/disk-directory kvm case_blk_err "Is a directory" "@W/a-directory"
add err/disk-directory-ro kvm case_blk_err "not a regular file" "@W/a-directory,ro"
add err/disk-bad-flag kvm case_blk_err 'unknown flag "rw"' "@W/good.img,rw"
add err/disk-empty-path kvm case_blk_err "empty path" ",ro"
add err/disk-unreadable kvm case_blk_unreadable
add err/disk-no-irqchip kvm case_blk_no_irqchip
