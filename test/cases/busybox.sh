# Debian's busybox-static as the guest program: `busybox sh -c '…'` with
# pipelines, subshells, command substitution, loops, here-documents,
# redirections, background jobs, traps, and the common applets. Each run's
# stdout, stderr and exit status are compared with the same busybox run
# natively (env -i, in a directory with the same contents).

bb_script() { # name: print the script
	case $1 in
	pipeline) cat <<'EOS' ;;
seq 1 2000 | grep 7 | sort -r | head -5
seq 1 50 | awk '{s+=$1} END {print s}'
echo a b c | tr ' ' '\n' | sort -r | tr '\n' ' '; echo
seq 1 20000 | sort -rn | md5sum
EOS
	subshell) cat <<'EOS' ;;
x=outer; (x=inner; echo $x); echo $x
(cd / && pwd)
( exit 3 ); echo "subshell status $?"
EOS
	cmdsubst) cat <<'EOS' ;;
a=$(echo one $(echo two)); echo "$a"
n=`seq 3 | wc -l`; echo $((n * 7))
echo "nested: $(echo "$(echo deep)")"
EOS
	loops) cat <<'EOS' ;;
i=0; while [ $i -lt 5 ]; do i=$((i+1)); printf '%s,' $i; done; echo
for w in a b c; do echo -n $w; done; echo
until [ $i -eq 0 ]; do i=$((i-1)); done; echo $i
for f in $(seq 1 3); do case $f in 1) echo one;; 2) echo two;; *) echo many;; esac; done
EOS
	heredoc) cat <<'EOS' ;;
cat <<EOT
line one $((1+1))
  indented
EOT
cat <<'EOT'
no $expansion here
EOT
EOS
	redirect) cat <<'EOS' ;;
echo out > f1; echo more >> f1; cat < f1
echo to-stderr 1>&2
ls nosuchfile 2>/dev/null || echo "ls failed: $?"
exec 3>f2; echo three >&3; exec 3>&-; cat f2
{ echo a; echo b; } | wc -l
echo both > f3 2>&1; cat f3; rm f1 f2 f3
EOS
	background) cat <<'EOS' ;;
(sleep 0.2; echo slow) &
(echo fast) &
wait; echo all done
sleep 0.1 & p=$!; wait $p; echo "status $?"
(exit 5) & wait $!; echo "background status $?"
EOS
	trap) cat <<'EOS' ;;
trap 'echo caught USR1' USR1
kill -USR1 $$
trap 'echo exiting' EXIT
echo body
EOS
	exitcodes) cat <<'EOS' ;;
false; echo $?; true; echo $?
sh -c 'exit 42'; echo $?
(exit 7); echo $?
sh -c 'kill -9 $$'; echo $?
exit 3
EOS
	applets) cat <<'EOS' ;;
mkdir -p d/e; printf 'b\na\nc\na\n' > d/in.txt
sort d/in.txt | uniq -c
cp d/in.txt d/e/copy; mv d/e/copy d/moved; ls d | sort
wc -l d/moved; grep -c a d/moved; sed -n '2p' d/moved
awk 'NR==3{print toupper($0)}' d/moved
find d -type f | sort
seq 3 | xargs echo args:
md5sum d/in.txt
head -2 d/in.txt; tail -1 d/in.txt
tar cf t.tar d; rm -r d; tar xf t.tar; find d | sort; rm -rf d t.tar
ls
EOS
	esac
}

case_busybox() { # name
	[ -f /bin/busybox ] || skip "no /bin/busybox on the host (apt-get install busybox-static)"
	local script; script=$(bb_script "$1")
	mkdir -p "$W/k" "$W/n"
	cp /bin/busybox "$W/k/busybox" && cp /bin/busybox "$W/n/busybox"
	cd "$W/k" || exit 1
	kvm ./busybox sh -c "$script"
	(cd "$W/n" && native env -i ./busybox sh -c "$script")
	compare_native
	finish
}

for c in pipeline subshell cmdsubst loops heredoc redirect background trap exitcodes applets; do
	add busybox/$c kvm case_busybox $c
done
