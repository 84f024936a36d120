/*
 * "nextfit": an example of a loadable MimicOS allocation policy.
 *
 *     make                      # builds build/examples/policy_nextfit.so
 *     vmemu run -s mimicos.policy=$PWD/build/examples/policy_nextfit.so -- prog
 *
 * Idea: contiguity-first placement. Every 4 KiB page a fault maps gets the
 * frame right after the last frame this policy allocated, when that frame
 * is free; otherwise a frame from the buddy allocator (which then becomes
 * the new "last frame"). Pages faulted one after the other - a sequential
 * first touch of an array, a fault-around run - thus land on consecutive
 * PFNs even when memory is fragmented and the buddy allocator would hand
 * out scattered, recently freed frames (its free lists are LIFO). That
 * physical contiguity is what range-translation and coalescing TLB designs
 * exploit.
 *
 * Sources: next fit is Knuth's "roving pointer" variant of first fit (The
 * Art of Computer Programming, Vol. 1, section 2.5): resume the search where
 * the previous allocation ended. Here the search window is one frame.
 * Contiguity-aware paging (CA paging; Alverti, Psomadakis, Karakostas,
 * Gandhi, Nikas, Goumas, Koziris, "Enhancing and Exploiting Contiguity for
 * Fast Memory Virtualization", ISCA 2020) is the full-fledged version of the
 * idea: it places each fault at the frame that extends the VMA's existing
 * virtual-to-physical offset, with a contiguity map to find large free
 * ranges.
 *
 * Details: page size is always 4 KiB. Fault-around as the baseline policy:
 * of the aligned window of fault_around_pages pages around the faulting
 * page, clipped to the VMA, the run of unmapped pages containing it is
 * mapped, in ascending order; when memory does not suffice for the run,
 * only the faulting page; when not even that fits, MOS_ENOMEM with nothing
 * changed. The data frames of a run (up to 64 pages at a time) are all
 * allocated before they are mapped, so the page-table pages that mapping
 * creates - which the buddy allocator often takes from right after the
 * last frame - do not split the run. Frames are freed by the core's
 * default rule (by leaf size).
 *
 * Counters (policy ABI 2, mos_env_counter): "contiguous", frames taken at
 * the cursor, and "fallback", frames the buddy allocator chose instead; the
 * vmemu report and its JSON (memory.policy_counters) show them.
 *
 * Uses only <mimicos/policy_api.h>: no vmemu symbols, no malloc, no stdio.
 */
#include <mimicos/policy_api.h>

#define NF_CHUNK 64u /* pages whose frames are allocated before they are mapped */

struct nextfit {
	uint64_t next;        /* frame after the last one allocated (wraps to 0) */
	uint64_t *contiguous; /* counter: frames allocated at `next` */
	uint64_t *fallback;   /* counter: frames that came from the buddy allocator instead */
	uint64_t live;        /* 4 KiB pages mapped now */
};

static enum mos_status nf_init(struct mos_env *env, void **state)
{
	struct nextfit *nf = mos_env_host_zalloc(env, sizeof(*nf));
	if (!nf)
		return MOS_EHOST;
	nf->contiguous = mos_env_counter(env, "contiguous");
	nf->fallback = mos_env_counter(env, "fallback");
	if (!nf->contiguous || !nf->fallback) { /* cannot happen: two valid names */
		mos_env_host_free(env, nf, sizeof(*nf));
		return MOS_EINVAL;
	}
	*state = nf;
	return MOS_OK;
}

static void nf_fini(void *state, struct mos_env *env)
{
	mos_env_host_free(env, state, sizeof(struct nextfit));
}

/* One order-0 frame: `next` if free, else any from the buddy allocator. */
static enum mos_status nf_frame(struct nextfit *nf, struct mos_env *env, uint64_t *pfn)
{
	enum mos_status st = mos_env_alloc_at(env, nf->next);
	if (st == MOS_OK) {
		*pfn = nf->next;
		(*nf->contiguous)++;
	} else {
		st = mos_env_alloc(env, 0, pfn);
		if (st != MOS_OK)
			return st;
		(*nf->fallback)++;
	}
	nf->next = *pfn + 1 < mos_env_frames_total(env) ? *pfn + 1 : 0;
	return MOS_OK;
}

static enum mos_status nf_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	struct nextfit *nf = state;
	(void)is_write;
	const uint64_t psz = MOS_PAGE_SIZE;
	uint64_t page = vaddr & ~(psz - 1);
	uint64_t window = (uint64_t)mos_env_fault_around_pages(env) * psz;
	uint64_t wlo = page & ~(window - 1), whi = wlo + window;
	if (wlo < vma->start)
		wlo = vma->start;
	if (whi > vma->end)
		whi = vma->end;

	/* The run of unmapped pages around the faulting page. */
	uint64_t lo = page, hi = page + psz;
	while (lo > wlo && !mos_env_is_mapped(env, lo - psz))
		lo -= psz;
	while (hi < whi && !mos_env_is_mapped(env, hi))
		hi += psz;
	uint64_t avail = mos_env_frames_free(env);
	if (mos_env_frames_needed(env, lo, hi) > avail) {
		lo = page;
		hi = page + psz;
		if (mos_env_frames_needed(env, lo, hi) > avail)
			return MOS_ENOMEM;
	}

	/*
	 * Allocate each chunk's data frames before mapping them, so the
	 * page-table pages the first mapping creates (taken from the buddy
	 * allocator, often the very next frames) do not split the run.
	 */
	enum mos_status st = MOS_OK;
	uint64_t va = lo; /* the pages of [lo, va) are mapped */
	while (va < hi && st == MOS_OK) {
		uint64_t pfn[NF_CHUNK];
		unsigned n = 0, k = 0;
		while (n < NF_CHUNK && va + n * psz < hi) {
			st = nf_frame(nf, env, &pfn[n]);
			if (st != MOS_OK)
				break;
			n++;
		}
		while (st == MOS_OK && k < n) {
			st = mos_env_map(env, va, pfn[k], MOS_PAGE_SHIFT);
			if (st != MOS_OK)
				break;
			if (va == page)
				out->pfn = pfn[k];
			k++;
			va += psz;
		}
		for (unsigned u = k; u < n; u++) /* allocated but not mapped: failure only */
			mos_env_free(env, pfn[u], 0);
	}
	if (st != MOS_OK) { /* undo this fault's pages: nothing stays mapped */
		for (uint64_t u = lo; u < va; u += psz) {
			uint64_t old;
			if (mos_env_unmap(env, u, &old, NULL) == MOS_OK)
				mos_env_free(env, old, 0);
		}
		return st;
	}
	nf->live += (hi - lo) / psz;
	out->start = lo;
	out->len = hi - lo;
	out->page_shift = MOS_PAGE_SHIFT;
	return MOS_OK;
}

static uint64_t nf_free_range(void *state, struct mos_env *env, uint64_t start, uint64_t end)
{
	struct nextfit *nf = state;
	uint64_t n = mos_env_unmap_range(env, start, end, NULL, NULL);
	nf->live -= n;
	return n;
}

/* Write msg into why (always NUL terminated); false. */
static bool nf_why(char *why, size_t why_len, const char *msg)
{
	size_t i = 0;
	for (; why && i + 1 < why_len && msg[i]; i++)
		why[i] = msg[i];
	if (why && why_len)
		why[i] = '\0';
	return false;
}

/* The cursor is a frame, and `live` counts the 4 KiB leaves this policy made. */
static bool nf_check(const void *state, const struct mos_env *env, char *why, size_t why_len)
{
	const struct nextfit *nf = state;
	if (nf->next >= mos_env_frames_total(env))
		return nf_why(why, why_len, "nextfit: cursor beyond memory");
	uint64_t leaves = 0;
	struct mos_leaf lf;
	for (uint64_t va = 0; mos_env_next_leaf(env, va, UINT64_MAX, &lf);
	     va = lf.vaddr + (1ull << lf.page_shift)) {
		if (lf.page_shift != MOS_PAGE_SHIFT)
			return nf_why(why, why_len, "nextfit: a leaf that is not 4 KiB");
		leaves++;
	}
	if (leaves != nf->live)
		return nf_why(why, why_len, "nextfit: live page count differs from the leaves");
	if (*nf->contiguous + *nf->fallback < nf->live)
		return nf_why(why, why_len, "nextfit: more pages live than frames allocated");
	return true;
}

MOS_POLICY_EXPORT const struct mos_policy_ops vmemu_policy = {
	.abi_version = MOS_POLICY_ABI_VERSION,
	.name = "nextfit",
	.init = nf_init,
	.fault = nf_fault,
	.free_range = nf_free_range,
	.fini = nf_fini,
	.check = nf_check,
};
