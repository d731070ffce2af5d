#!/bin/sh
# Install the Debian packages kvmbox needs, or say exactly how to.
# Usage: ensure-deps.sh PKG...
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "kvmbox: installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || { echo "kvmbox: apt-get update failed" >&2; exit 1; }
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
		echo "kvmbox: apt-get install$missing failed" >&2; exit 1; }
	exit 0
fi
echo "kvmbox: missing Debian packages:$missing" >&2
echo "kvmbox: run:  sudo apt-get install -y$missing" >&2
exit 1
