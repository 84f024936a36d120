/*
 * Baseline policy: every page is 4 KiB, backed by its own order-0 frame from
 * the buddy allocator.
 *
 * Fault-around: of the aligned window of fault_around_pages pages around the
 * faulting page, clipped to the VMA, the maximal run of unmapped pages that
 * contains the faulting page is mapped (each page its own frame). When memory
 * does not suffice for the whole run, only the faulting page is mapped; when
 * not even that fits, the fault fails with MOS_ENOMEM and nothing changes.
 */
#include "policy.h"

static enum mos_status baseline_init(struct mos_env *env, void **state)
{
	*state = NULL;
	return MOS_OK;
}

uint64_t mos_frames_needed(const struct mos_env *env, uint64_t lo, uint64_t hi)
{
	struct pt_need nd;
	pt_need_init(&nd);
	/* Every 4 KiB page of a 2 MiB region shares its tables: one probe per region. */
	for (uint64_t va = lo; va < hi; va = (va | ((1ull << MOS_HPAGE_SHIFT) - 1)) + 1)
		pt_need_add(&env->pt, &nd, va, MOS_PAGE_SHIFT);
	return ((hi - lo) >> MOS_PAGE_SHIFT) + nd.tables;
}

enum mos_status mos_fault_4k(struct mos_env *env, uint64_t clip_lo, uint64_t clip_hi,
			     uint64_t vaddr, struct mos_fault_result *out)
{
	uint64_t page = vaddr & ~(MOS_PAGE_SIZE - 1);
	uint64_t window = (uint64_t)env->fault_around_pages << MOS_PAGE_SHIFT;
	uint64_t wlo = page & ~(window - 1), whi = wlo + window;
	if (wlo < clip_lo)
		wlo = clip_lo;
	if (whi > clip_hi)
		whi = clip_hi;

	/* The run of unmapped pages around the faulting page. */
	uint64_t lo = page, hi = page + MOS_PAGE_SIZE;
	while (lo > wlo && !pt_is_mapped(&env->pt, lo - MOS_PAGE_SIZE))
		lo -= MOS_PAGE_SIZE;
	while (hi < whi && !pt_is_mapped(&env->pt, hi))
		hi += MOS_PAGE_SIZE;

	uint64_t avail = phys_avail(&env->mem);
	if (mos_frames_needed(env, lo, hi) > avail) {
		lo = page;
		hi = page + MOS_PAGE_SIZE;
		if (mos_frames_needed(env, lo, hi) > avail)
			return MOS_ENOMEM;
	}

	/* Enough frames for data and tables: only host memory can fail now. */
	for (uint64_t va = lo; va < hi; va += MOS_PAGE_SIZE) {
		uint64_t pfn;
		enum mos_status st = phys_alloc(&env->mem, 0, va, &pfn);
		if (st == MOS_OK) {
			st = pt_map(&env->pt, va, pfn, MOS_PAGE_SHIFT);
			if (st != MOS_OK)
				phys_free(&env->mem, pfn, 0);
		}
		if (st != MOS_OK) {
			/* Undo the pages mapped so far (tables made for them stay, empty). */
			for (uint64_t u = lo; u < va; u += MOS_PAGE_SIZE) {
				uint64_t old;
				pt_unmap(&env->pt, u, &old, NULL);
				phys_free(&env->mem, old, 0);
			}
			return st;
		}
		if (va == page)
			out->pfn = pfn;
	}
	out->start = lo;
	out->len = hi - lo;
	out->page_shift = MOS_PAGE_SHIFT;
	out->refault = false;
	return MOS_OK;
}

static enum mos_status baseline_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				      uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	return mos_fault_4k(env, vma->start, vma->end, vaddr, out);
}

void mos_free_leaf(struct mos_env *env, const struct pt_leaf *leaf)
{
	if (leaf->page_shift > MOS_PAGE_SHIFT)
		env->ctr.huge_pages--;
	phys_free(&env->mem, leaf->pfn, leaf->page_shift - MOS_PAGE_SHIFT);
}

static void free_leaf(void *ctx, const struct pt_leaf *leaf)
{
	mos_free_leaf(ctx, leaf);
}

static uint64_t baseline_free_range(void *state, struct mos_env *env, uint64_t start, uint64_t end)
{
	return pt_unmap_range(&env->pt, start, end, free_leaf, env);
}

const struct mos_policy mos_policy_baseline = {
	.name = "baseline",
	.init = baseline_init,
	.fault = baseline_fault,
	.free_range = baseline_free_range,
	.fini = NULL,
};

/* free_range of every policy whose leaves follow the ownership rule alone. */
uint64_t mos_free_range_simple(void *state, struct mos_env *env, uint64_t start, uint64_t end)
{
	return pt_unmap_range(&env->pt, start, end, free_leaf, env);
}
