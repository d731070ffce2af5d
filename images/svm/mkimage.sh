#!/bin/bash
# The initramfs of the SVM test guest (test/svm/run-svm.sh, `make test-svm`):
# Debian's kernel booted under QEMU TCG with an SVM CPU model loads kvm_amd
# and so gives kvmbox a genuine hardware-virtualized /dev/kvm.
#
#   images/svm/mkimage.sh BUILD KVER OUT.cpio
#
# Contents (one uncompressed cpio newc; TCG decompresses slowly):
#   /init                 images/svm/init (busybox sh)
#   /bin                  busybox-static and its applet links (mount, insmod, poweroff...)
#   /usr/bin, /lib*       the host's own bash, coreutils, grep, sed, awk, diff,
#                         readelf, cpio, setpriv, gdb, gdbserver, script... with
#                         their shared libraries (and gdb's Python library), so
#                         test/run-tests.sh runs unchanged, with the same tools
#   /lib/modules/KVER     kvm-amd.ko and what it depends on (modules.dep order
#                         in /etc/kvmbox-modules)
#   /kvmbox               test/run-tests.sh and build/ (kvmbox with its shared
#                         libraries, the guest kernel, the test programs,
#                         the bench tools if built)
# Run-time parameters (mode, T=...) come in a second cpio appended by the driver.
set -euo pipefail
[ $# = 3 ] || { echo "usage: $0 BUILD KVER OUT.cpio" >&2; exit 2; }
BUILD=$1 KVER=$2 OUT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODDIR=/lib/modules/$KVER
R=$(dirname "$OUT")/rootfs
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,kvmbox/test,kvmbox/build}
chmod 1777 "$R/tmp"

# ---- busybox: init's shell and the system tools ----
BB=$(command -v busybox) || { echo "mkimage: no busybox (apt-get install busybox-static)" >&2; exit 1; }
if readelf -l "$BB" | grep -q INTERP; then
	echo "mkimage: $BB is dynamically linked; install busybox-static" >&2
	exit 1
fi
cp "$BB" "$R/bin/busybox"
for a in $("$BB" --list); do
	[ "$a" = busybox ] || ln -s busybox "$R/bin/$a"
done

# ---- host tools with their shared libraries ----
declare -A LIBS=()
add_libs() { # binary: its shared libraries, at the paths ldd names
	local l
	for l in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' || true); do
		LIBS[$l]=1
	done
}
add_tool() { # name [dest-dir]: the host's NAME (symlinks resolved) at DEST/NAME
	local p; p=$(type -P "$1") || { echo "mkimage: no $1 on the host" >&2; exit 1; }
	cp -L "$p" "$R${2:-/usr/bin}/$1"
	add_libs "$p"
}
# What test/run-tests.sh and test/bench use, as the host has them.
TOOLS="bash timeout cat cmp diff tail head cut sed awk paste grep egrep cp mkdir mktemp rm mv
	chmod ln find sort tr seq date id readelf cpio setpriv test stat env sleep uname dirname
	basename ls true false wc uniq xargs tee touch od dd nproc printf expr numfmt bc"
for t in $TOOLS; do add_tool "$t"; done
# The real debugger for the gdb cases (and gdbserver for their native runs),
# script(1) for the terminal cases. gdb embeds Python: the part of the
# standard library it imports, without tests, GUIs and packaging (~20 MB).
for t in gdb gdbserver script; do add_tool "$t"; done
mkdir -p "$R/usr/share"
cp -r /usr/share/gdb "$R/usr/share/"
PYLIB=$(ldd "$(type -P gdb)" | grep -oE 'libpython3\.[0-9]+' | head -n 1 | sed 's/^lib//')
if [ -n "$PYLIB" ] && [ -d "/usr/lib/$PYLIB" ]; then
	mkdir -p "$R/usr/lib"
	tar -C /usr/lib -cf - --exclude="$PYLIB/test" --exclude="$PYLIB/idlelib" --exclude="$PYLIB/tkinter" \
		--exclude="$PYLIB/ensurepip" --exclude="$PYLIB/lib2to3" --exclude="$PYLIB/pydoc_data" \
		--exclude="$PYLIB/config-3*" --exclude="$PYLIB/distutils" --exclude="$PYLIB/unittest" \
		--exclude="$PYLIB/turtledemo" --exclude="$PYLIB/venv" --exclude="$PYLIB/site-packages" \
		--exclude="$PYLIB/dist-packages" "$PYLIB" | tar -C "$R/usr/lib" -xf -
fi
# gdb converts names to UTF-32 through iconv: glibc's gconv modules for the Unicode forms.
GCONV=/usr/lib/$(uname -m)-linux-gnu/gconv
if [ -d "$GCONV" ]; then
	mkdir -p "$R$GCONV"
	cp -r "$GCONV"/gconv-modules* "$GCONV"/UTF-*.so "$GCONV"/UNICODE.so "$R$GCONV/"
fi
ln -sf ../usr/bin/bash "$R/bin/bash"
for f in build/kvmbox build/bench/kvm_floor build/bench/rss_at_exit build/bench/kvm_ioctl_names; do
	[ -f "$BUILD/${f#build/}" ] && add_libs "$BUILD/${f#build/}"
done
for l in "${!LIBS[@]}"; do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done

# ---- kernel modules: kvm-amd and its dependencies, in load order ----
[ -f "$MODDIR/modules.dep" ] || { echo "mkimage: $MODDIR/modules.dep missing" >&2; exit 1; }
ORDER=()
declare -A SEEN=()
add_mod() { # path relative to MODDIR: dependencies first
	local m=$1 d
	[ -n "${SEEN[$m]:-}" ] && return
	SEEN[$m]=1
	for d in $(awk -v m="$m:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$MODDIR/modules.dep"); do
		add_mod "$d"
	done
	ORDER+=("$m")
}
add_mod kernel/arch/x86/kvm/kvm-amd.ko
: >"$R/etc/kvmbox-modules"
for m in "${ORDER[@]}"; do
	mkdir -p "$R$MODDIR/$(dirname "$m")"
	case $m in
	*.ko) cp "$MODDIR/$m" "$R$MODDIR/$m" ;;
	*.ko.xz) xz -dc "$MODDIR/$m" >"$R$MODDIR/${m%.xz}"; m=${m%.xz} ;;
	*.ko.zst) zstd -qdc "$MODDIR/$m" >"$R$MODDIR/${m%.zst}"; m=${m%.zst} ;;
	*.ko.gz) gzip -dc "$MODDIR/$m" >"$R$MODDIR/${m%.gz}"; m=${m%.gz} ;;
	esac
	echo "$MODDIR/$m" >>"$R/etc/kvmbox-modules"
done

# ---- kvmbox, its guest kernel, the tests ----
cp "$ROOT/test/run-tests.sh" "$R/kvmbox/test/"
for d in cases bench e2e fuzz; do
	[ -d "$ROOT/test/$d" ] && cp -r "$ROOT/test/$d" "$R/kvmbox/test/"
done
mkdir -p "$R/kvmbox/test/svm"
cp "$ROOT/test/svm/bench-guest.sh" "$R/kvmbox/test/svm/"
B=$R/kvmbox/build
mkdir -p "$B/guest" "$B/test" "$B/images"
cp "$BUILD/kvmbox" "$B/kvmbox"
cp "$BUILD/guest/kernel.elf" "$B/guest/kernel.elf"
for d in "$BUILD"/test/*/; do # musl, glibc, go, bad...: what make images-test built (not unit/)
	[ "$(basename "$d")" = unit ] || cp -a "$d" "$B/test/"
done
cp "$BUILD/images/hello-musl" "$B/images/"
[ -d "$BUILD/bench" ] && { mkdir -p "$B/bench"; find "$BUILD/bench" -maxdepth 1 -type f -perm -u+x -exec cp {} "$B/bench/" \;; }

mkdir -p "$B/svm"
for f in pagefault kvm_caps; do [ -f "$BUILD/svm/$f" ] && cp "$BUILD/svm/$f" "$B/svm/"; done

# ---- init ----
cp "$ROOT/images/svm/init" "$R/init"
chmod 755 "$R/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"

(cd "$R" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$KVER" >"$OUT.kver"
