# Memory syscalls beyond mmap/munmap: mremap (grow, shrink, move with the
# pages, FIXED, DONTUNMAP, the errors) and realloc of big blocks through it.

for l in $LIBCS; do
	add e2e/$l/mremap kvm case_e2e_same $l mremap
done

# Thousands of random mmap/munmap/mprotect among ~1,000 mappings, checked against /proc/self/maps.
for l in $LIBCS; do
	add e2e/$l/mmap_many kvm case_e2e_same $l mmap_many
done
