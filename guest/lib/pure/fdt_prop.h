/* Minimal flattened-device-tree property lookup (pure C: guest kernel and host tests). */
#ifndef KVMBOX_FDT_PROP_H
#define KVMBOX_FDT_PROP_H
#include <stddef.h>
#include <stdint.h>

/*
 * Find property `prop` of the node at `path` ("/chosen", "/memory@0"; "/" for
 * the root) in the FDT blob fdt[0, size) (devicetree spec v0.4, 5.4). Returns
 * a pointer to the value and its length in *len, or NULL. Never reads outside
 * the blob.
 */
const void *fdt_prop_find(const void *fdt, size_t size, const char *path, const char *prop,
			  uint32_t *len);
/*
 * Nodes by compatible string (devicetree spec v0.4, 2.3.1): the offset of
 * the first node after offset `after` (-1: from the start) whose
 * "compatible" list contains compat, or -1. Offsets are opaque handles for
 * fdt_node_prop.
 */
long fdt_next_compatible(const void *fdt, size_t size, long after, const char *compat);
/* Property prop of the node at offset node (its own properties only), or NULL. */
const void *fdt_node_prop(const void *fdt, size_t size, long node, const char *prop, uint32_t *len);
/* Big-endian cells. */
uint64_t fdt_read_u64(const void *p);
uint32_t fdt_read_u32(const void *p);
#endif
