# /proc: /proc/self/maps in Linux's format (the program's output and status as native).

for l in $LIBCS; do
	add e2e/$l/maps kvm case_e2e_same $l maps
done
