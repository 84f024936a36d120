/*
 * "thp" policy: Linux transparent huge pages for anonymous memory, after
 * Documentation/admin-guide/mm/transhuge.rst and mm/huge_memory.c
 * (do_huge_pmd_anonymous_page) / mm/khugepaged.c.
 *
 * Mode (mos_config.thp_mode, Linux's transparent_hugepage/enabled):
 *   never   - 4 KiB pages only, exactly as baseline;
 *   always  - every VMA may get huge pages;
 *   madvise - only VMAs advised MADV_HUGEPAGE (mos_vma_advise).
 * A VMA advised MADV_NOHUGEPAGE never gets one (Linux VM_NOHUGEPAGE).
 *
 * Fault: when the mode allows it for the VMA, the 2 MiB-aligned region around
 * the fault lies entirely inside the VMA and nothing is mapped in it yet,
 * one order-9 block is allocated and mapped as one 2 MiB leaf; the runtime
 * populates all 512 pages at once (result: start = region, len = 2 MiB,
 * page_shift 21; Linux's thp_fault_alloc). When no order-9 block is free the
 * fault falls back to baseline's 4 KiB path (thp_fault_fallback). Deviation
 * from Linux: Linux requires the PMD to be empty (pmd_none); an empty page
 * table left behind by MADV_DONTNEED/munmap would block the huge page there,
 * MimicOS frees such an empty page table and maps the huge page (as
 * khugepaged's collapse would later). The 4 KiB fallback's fault-around window
 * is clipped to the 2 MiB region so it cannot spoil a neighbouring region.
 *
 * Splitting (mimicos.c): munmap/MADV_DONTNEED/mremap of part of a 2 MiB page
 * demotes it to 512 4 KiB PTEs on the same frames (Linux split_huge_pmd);
 * the order-9 block is split into 512 order-0 blocks (buddy_split) so every
 * subpage is freed on its own from then on.
 *
 * mos_scan (khugepaged): a region mapped with 4 KiB pages whose mapped
 * fraction exceeds promotion_threshold (0: any mapped page, Linux's default
 * max_ptes_none = 511) is collapsed into a fresh order-9 block, the old frames
 * are freed, and the region is reported for the runtime to populate.
 */
#include "policy.h"

bool mos_thp_allowed(enum mos_thp_mode mode, const struct mos_vma *vma)
{
	if (vma->flags & MOS_VMA_NOHUGEPAGE)
		return false;
	switch (mode) {
	case MOS_THP_ALWAYS: return true;
	case MOS_THP_MADVISE: return (vma->flags & MOS_VMA_HUGEPAGE) != 0;
	default: return false;
	}
}

bool mos_over_threshold(const struct mos_env *env, uint64_t populated)
{
	return (double)populated > env->promotion_threshold * (double)MOS_HPAGE_PAGES;
}

uint64_t mos_make_huge(struct mos_env *env, uint64_t region, uint64_t pfn,
		       void (*free_leaf)(void *ctx, const struct pt_leaf *leaf), void *ctx)
{
	uint64_t end = region + MOS_HPAGE_SIZE;
	uint64_t n = pt_unmap_range(&env->pt, region, end, free_leaf, ctx);
	pt_free_tables(&env->pt, region, end, region, end);
	/* The PD that held the PT page exists: no allocation, cannot fail. */
	pt_map(&env->pt, region, pfn, MOS_HPAGE_SHIFT);
	env->ctr.huge_pages++;
	return n;
}

static void free_leaf_simple(void *ctx, const struct pt_leaf *leaf)
{
	mos_free_leaf(ctx, leaf);
}

bool mos_collapse_region(struct mos_env *env, uint64_t region)
{
	int used = pt_table_used(&env->pt, region, PT_LEVEL_PT);
	if (used <= 0 || !mos_over_threshold(env, (uint64_t)used))
		return false;
	uint64_t pfn;
	if (phys_alloc(&env->mem, MOS_HPAGE_ORDER, region, &pfn) != MOS_OK)
		return false;
	uint64_t removed = mos_make_huge(env, region, pfn, free_leaf_simple, env);
	env->extra_mapped += MOS_HPAGE_PAGES - removed;
	env->ctr.collapses++;
	return true;
}

static enum mos_status thp_init(struct mos_env *env, void **state)
{
	*state = NULL;
	return MOS_OK;
}

static enum mos_status thp_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				 uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	uint64_t region = vaddr & ~(MOS_HPAGE_SIZE - 1), rend = region + MOS_HPAGE_SIZE;
	if (mos_thp_allowed(env->thp_mode, vma) && region >= vma->start && rend <= vma->end &&
	    pt_table_used(&env->pt, region, PT_LEVEL_PT) == 0) {
		uint64_t pfn;
		if (phys_alloc(&env->mem, MOS_HPAGE_ORDER, region, &pfn) == MOS_OK) {
			pt_free_tables(&env->pt, region, rend, region, rend); /* an empty PT page */
			enum mos_status st = pt_map(&env->pt, region, pfn, MOS_HPAGE_SHIFT);
			if (st == MOS_OK) {
				env->ctr.huge_pages++;
				env->ctr.thp_fault_alloc++;
				out->start = region;
				out->len = MOS_HPAGE_SIZE;
				out->pfn = pfn + ((vaddr - region) >> MOS_PAGE_SHIFT);
				out->page_shift = MOS_HPAGE_SHIFT;
				out->refault = false;
				return MOS_OK;
			}
			phys_free(&env->mem, pfn, MOS_HPAGE_ORDER);
			if (st != MOS_ENOMEM)
				return st;
		}
		env->ctr.thp_fault_fallback++;
	}
	uint64_t lo = region > vma->start ? region : vma->start;
	uint64_t hi = rend < vma->end ? rend : vma->end;
	return mos_fault_4k(env, lo, hi, vaddr, out);
}

static bool thp_scan_region(void *state, struct mos_env *env, const struct mos_vma *vma,
			    uint64_t region)
{
	return mos_thp_allowed(env->thp_mode, vma) && mos_collapse_region(env, region);
}

const struct mos_policy mos_policy_thp = {
	.name = "thp",
	.init = thp_init,
	.fault = thp_fault,
	.free_range = mos_free_range_simple,
	.scan_region = thp_scan_region,
};
