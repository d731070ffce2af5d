#!/bin/sh
# Print the version of the Debian kernel the SVM test guest boots: the newest
# /boot/vmlinuz-VER whose modules include kvm-amd; SVM_KVER=VER chooses one.
# With none installed, installs linux-image-amd64 (images/ensure-deps.sh:
# apt-get when root, else the command to run).
set -eu
has_kvm_amd() { ls /lib/modules/"$1"/kernel/arch/x86/kvm/kvm-amd.ko* >/dev/null 2>&1; }
pick() {
	for v in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V -r); do
		if [ -r "/boot/vmlinuz-$v" ] && has_kvm_amd "$v"; then echo "$v"; return 0; fi
	done
	return 1
}
if [ -n "${SVM_KVER:-}" ]; then
	[ -r "/boot/vmlinuz-$SVM_KVER" ] && has_kvm_amd "$SVM_KVER" ||
		{ echo "kvmbox: SVM_KVER=$SVM_KVER: no readable /boot/vmlinuz-$SVM_KVER with kvm-amd.ko" >&2; exit 1; }
	echo "$SVM_KVER"
	exit 0
fi
pick && exit 0
"$(dirname "$0")/../ensure-deps.sh" linux-image-amd64 >&2
pick || { echo "kvmbox: no readable /boot/vmlinuz-* with kvm-amd.ko after installing linux-image-amd64" >&2; exit 1; }
