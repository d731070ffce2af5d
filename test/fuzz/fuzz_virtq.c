/*
 * libFuzzer target: the device-side descriptor-chain walker (devices/virtqueue.c)
 * on guest memory the input controls. Built with -fsanitize=fuzzer,address:
 * guest memory is an exact-size heap block, so any access outside it is an
 * ASan report. Input: byte 0 picks the queue size and features, the rest is
 * guest memory from gpa 0 (descriptors at 0, available ring at 256, used
 * ring at 512; rings and buffers all come from the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "devices/virtqueue.h"

#define MEM 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct vm vm = { .mem = malloc(MEM), .mem_size = MEM };
	memset(vm.mem, 0, MEM);
	memcpy(vm.mem, data + 1, size - 1 < MEM ? size - 1 : MEM);
	uint32_t num = 1u << (data[0] & 7);           /* 1..128; 16 is the largest that fits */
	if (data[0] & 0x80)
		num += 3;                              /* not a power of 2: setup must refuse */
	bool indirect = data[0] & 0x40, event_idx = data[0] & 0x20;

	struct virtq vq;
	struct virtq_iov iov[64];
	if (virtq_setup(&vq, &vm, num, 0, 256, 512, event_idx, indirect) == 0) {
		vq.last_avail = 0; /* see whatever the input's avail->idx offers */
		struct virtq_chain c = { .iov = iov, .cap = 64 };
		uint8_t scratch[256];
		for (int n = 0; n < 64; n++) {
			int r = virtq_pop(&vq, &c);
			if (r <= 0)
				break;
			/* Touch every byte the walker handed out: ASan checks they are guest memory. */
			virtq_chain_read(&c, 0, scratch, sizeof(scratch));
			for (unsigned i = 0; i < c.nr_out + c.nr_in; i++) {
				volatile uint8_t *b = c.iov[i].base;
				(void)b[0];
				(void)b[c.iov[i].len - 1];
			}
			virtq_chain_write(&c, 0, scratch, sizeof(scratch));
			virtq_push(&vq, c.head, (uint32_t)c.in_len);
			virtq_should_interrupt(&vq);
		}
		virtq_enable_notify(&vq);
	}
	free(vm.mem);
	return 0;
}
