/*
 * "eagerpaging" policy: eager paging of RMM (Karakostas, Gandhi, Ayar,
 * Cristal, Hill, McKinley, Nemirovsky, Swift, Unsal, "Redundant Memory
 * Mappings for fast access to large memories", ISCA'15), as Virtuoso's
 * MimicOS EagerPaging allocator.
 *
 * The first fault in a VMA allocates physical memory for the whole VMA at
 * once, as the largest power-of-two buddy blocks that fit (up to
 * MOS_MAX_ORDER = 4 MiB; with unfragmented memory that is the minimal number
 * of blocks: pages >> 10 plus one per set bit of pages & 1023), and maps it.
 * Precisely, a fault at an unmapped vaddr allocates the maximal unmapped gap
 * of the VMA around vaddr (on the first fault: the whole VMA; after a
 * MADV_DONTNEED: the discarded hole), clipped to the aligned window of
 * eager_max_bytes around vaddr when that is set. Blocks are taken largest
 * first and laid out in ascending virtual order; if an order is not
 * available, the next smaller one is tried (fragmentation costs more blocks).
 *
 * Page size: always 4 KiB PTEs (RMM keeps the page table at 4 KiB and adds
 * range translations on top; the ranges are what mos_phys_ranges reports).
 * Each block is split into order-0 blocks right away, so munmap/discard
 * frees page by page.
 *
 * When the gap (data + page tables) does not fit in free memory, the fault
 * falls back to baseline's 4 KiB demand paging (eager_fallbacks), as RMM
 * falls back to demand paging. Hence, for a VMA larger than memory (vmemu's
 * reserved heap), set eager_max_bytes.
 *
 * The result's map range is everything mapped; its populate range is the
 * aligned window of eager_populate_bytes around vaddr clipped to the map
 * range (all of it when 0). Cost O(pages mapped + table pages skipped).
 */
#include "policy.h"

static enum mos_status eager_init(struct mos_env *env, void **state)
{
	*state = NULL;
	return MOS_OK;
}

static unsigned floor_log2(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/* Unmap [lo, hi) mapped so far by this fault and free its order-0 frames. */
static void undo(struct mos_env *env, uint64_t lo, uint64_t hi)
{
	for (uint64_t va = lo; va < hi; va += MOS_PAGE_SIZE) {
		uint64_t pfn;
		if (pt_unmap(&env->pt, va, &pfn, NULL) == MOS_OK)
			phys_free(&env->mem, pfn, 0);
	}
}

static enum mos_status eager_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				   uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	uint64_t page = vaddr & ~(MOS_PAGE_SIZE - 1);
	uint64_t lo = vma->start, hi = vma->end;
	struct pt_leaf lf;
	if (pt_prev_leaf(&env->pt, vma->start, page, &lf))
		lo = lf.vaddr + (1ull << lf.page_shift);
	if (pt_next_leaf(&env->pt, page, vma->end, &lf))
		hi = lf.vaddr;
	if (env->eager_max_bytes) {
		uint64_t w = page & ~(env->eager_max_bytes - 1);
		if (lo < w)
			lo = w;
		if (w + env->eager_max_bytes < hi)
			hi = w + env->eager_max_bytes;
	}
	if (mos_frames_needed(env, lo, hi) > phys_avail(&env->mem)) {
		env->ctr.eager_fallbacks++;
		return mos_fault_4k(env, vma->start, vma->end, vaddr, out);
	}

	/* Largest blocks first; orders only ever shrink (frees never happen here). */
	uint64_t va = lo, pfn_at_fault = 0;
	unsigned k = MOS_MAX_ORDER;
	while (va < hi) {
		uint64_t left = (hi - va) >> MOS_PAGE_SHIFT;
		if (k > floor_log2(left))
			k = floor_log2(left);
		uint64_t pfn;
		while (phys_alloc(&env->mem, k, va, &pfn) != MOS_OK) {
			if (k == 0) { /* cannot happen: frames were counted */
				undo(env, lo, va);
				return MOS_ENOMEM;
			}
			k--;
		}
		env->ctr.eager_blocks++;
		phys_split(&env->mem, pfn, k, 0);
		for (uint64_t i = 0; i < (1ull << k); i++, va += MOS_PAGE_SIZE) {
			enum mos_status st = pt_map(&env->pt, va, pfn + i, MOS_PAGE_SHIFT);
			if (st != MOS_OK) {
				for (uint64_t j = i; j < (1ull << k); j++)
					phys_free(&env->mem, pfn + j, 0);
				undo(env, lo, va);
				return st;
			}
			if (va == page)
				pfn_at_fault = pfn + i;
		}
	}
	env->ctr.eager_faults++;

	uint64_t plo = lo, phi = hi;
	if (env->eager_populate_bytes) {
		uint64_t w = page & ~(env->eager_populate_bytes - 1);
		if (plo < w)
			plo = w;
		if (w + env->eager_populate_bytes < phi)
			phi = w + env->eager_populate_bytes;
	}
	out->start = plo;
	out->len = phi - plo;
	out->map_start = lo;
	out->map_len = hi - lo;
	out->pfn = pfn_at_fault;
	out->page_shift = MOS_PAGE_SHIFT;
	out->refault = false;
	return MOS_OK;
}

const struct mos_policy mos_policy_eagerpaging = {
	.name = "eagerpaging",
	.init = eager_init,
	.fault = eager_fault,
	.free_range = mos_free_range_simple,
};
