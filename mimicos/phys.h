/*
 * Emulated physical memory with NUMA nodes (internal to MimicOS).
 *
 * Memory is split into nnodes nodes, each a contiguous PFN range with a
 * buddy allocator of its own (node 0 first: node n holds PFNs start[n] ..
 * start[n+1]-1), so PFN -> node is a range lookup. Node sizes other than
 * the single-node case are multiples of 4 MiB (2^MOS_MAX_ORDER frames), so
 * every buddy block, of any order, lies inside one node and the per-node
 * allocators together behave like one allocator whose free lists are kept
 * per node (as Linux keeps free areas per zone of each node's pgdat).
 *
 * Every allocation MimicOS makes without naming its frame goes through
 * phys_alloc(), which applies the machine's placement policy (struct
 * mos_config, numa_*): it builds the node fallback list of the policy,
 * O(nodes), and takes the first node that can serve the block. With one
 * node phys_alloc() is exactly buddy_alloc() of the only node.
 */
#ifndef MIMICOS_PHYS_H
#define MIMICOS_PHYS_H

#include "buddy.h"

/* phys_alloc's addr when the allocation serves no virtual address. */
#define PHYS_NO_ADDR UINT64_MAX

struct phys {
	unsigned nnodes;                       /* 1 .. MOS_MAX_NODES */
	uint64_t nframes;                      /* frames of all nodes */
	uint64_t start[MOS_MAX_NODES + 1];     /* first PFN of node n; start[nnodes] = nframes */
	struct buddy node[MOS_MAX_NODES];      /* node-local PFNs 0 .. frames of the node - 1 */
	uint8_t dist[MOS_MAX_NODES][MOS_MAX_NODES];     /* SLIT distances */
	uint8_t fallback[MOS_MAX_NODES][MOS_MAX_NODES]; /* nodes by distance from n (n first) */
	enum mos_numa_policy policy;
	uint32_t mask;       /* policy nodes (bit n = node n), already defaulted */
	double spill;        /* spill threshold, 0..1 (0 = spill only when full) */
	unsigned cpu_node;   /* node of the CPU that allocates now (local, bind) */
	uint64_t il_next;    /* interleave round-robin for allocations without address */
	uint64_t allocs[MOS_MAX_NODES]; /* blocks placed on each node, cumulative */
	uint64_t remote;     /* blocks placed on a node other than the policy's target */
	uint64_t spills;     /* of those, moved off the target by the spill threshold */
};

/* The NUMA fields of cfg are valid (see struct mos_config). */
bool phys_config_ok(const struct mos_config *cfg);

/*
 * Validate the NUMA fields of cfg (see struct mos_config) and set p up over
 * cfg->mem_bytes: MOS_EINVAL for a bad configuration (nothing allocated),
 * MOS_EHOST when alloc fails (call phys_fini either way).
 */
enum mos_status phys_init(struct phys *p, const struct mos_config *cfg,
			  const struct mos_allocator *alloc);

/* Release the buddy metadata (p may be zeroed or failed init). */
void phys_fini(struct phys *p);

/* Node holding pfn (pfn < nframes). O(nodes). */
unsigned phys_node_of(const struct phys *p, uint64_t pfn);

/*
 * Allocate 2^order frames under the placement policy. addr is the virtual
 * address the block will back (its interleave index is addr >> (12 +
 * order)), or PHYS_NO_ADDR (page-table pages: interleave takes the next
 * node of a round-robin instead). Errors as buddy_alloc; MOS_ENOMEM when
 * no node the policy allows has a free block of that order.
 */
enum mos_status phys_alloc(struct phys *p, unsigned order, uint64_t addr, uint64_t *pfn);

/* buddy_free / buddy_split / buddy_alloc_at / buddy_alloc_block_at /
 * buddy_block_of on global PFNs (no placement policy, not counted in allocs). */
enum mos_status phys_free(struct phys *p, uint64_t pfn, unsigned order);
enum mos_status phys_split(struct phys *p, uint64_t pfn, unsigned order, unsigned to_order);
enum mos_status phys_alloc_at(struct phys *p, uint64_t pfn);
enum mos_status phys_alloc_block_at(struct phys *p, uint64_t pfn, unsigned order);

/*
 * buddy_alloc on node `node` only (< nnodes), bypassing the placement policy
 * and not counted in allocs: for boot-time carving that spreads blocks over
 * the nodes itself (hugetlb pools). Errors as buddy_alloc.
 */
enum mos_status phys_alloc_on(struct phys *p, unsigned node, unsigned order, uint64_t *pfn);
enum buddy_state phys_block_of(const struct phys *p, uint64_t pfn, uint64_t *head,
			       unsigned *order);

/* Free frames of all nodes. */
uint64_t phys_free_frames(const struct phys *p);

/*
 * Free frames the placement policy may allocate from: those of the bound
 * nodes under bind, of all nodes otherwise. Policies compare their needs
 * with this, so "enough frames" still means an order-0 allocation succeeds.
 */
uint64_t phys_avail(const struct phys *p);

/* Free blocks of the given order over all nodes. */
uint64_t phys_free_blocks(const struct phys *p, unsigned order);

/* Every node's buddy_check, plus node ranges; false with why. O(frames). */
bool phys_check(const struct phys *p, char *why, size_t why_len);

#endif
