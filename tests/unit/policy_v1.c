/*
 * A user policy built for policy ABI version 1 (mimicos/policy_api.h), as a
 * .so compiled before version 2 existed would be: abi_version 1, and only
 * the services version 1 had (no reserved frames, no counters). Version 2
 * only appended to the services table, so this must still load and run;
 * test_policy_api dlopen()s build/tests/policy_v1.so to check that.
 *
 * "lowfirst": every fault maps just the faulting page on the lowest free
 * frame the buddy allocator has (alloc_at from a cursor that restarts at 0
 * after each free), falling back to any frame.
 */
#include <mimicos/policy_api.h>

struct lowfirst {
	uint64_t cursor; /* no free frame below this, as far as we know */
	uint64_t live;   /* pages mapped now */
};

static enum mos_status lf_init(struct mos_env *env, void **state)
{
	*state = mos_env_host_zalloc(env, sizeof(struct lowfirst));
	return *state ? MOS_OK : MOS_EHOST;
}

static void lf_fini(void *state, struct mos_env *env)
{
	mos_env_host_free(env, state, sizeof(struct lowfirst));
}

static enum mos_status lf_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	struct lowfirst *s = state;
	uint64_t page = vaddr & ~(MOS_PAGE_SIZE - 1), pfn = s->cursor;
	(void)vma;
	(void)is_write;
	if (mos_env_frames_needed(env, page, page + MOS_PAGE_SIZE) > mos_env_frames_free(env))
		return MOS_ENOMEM;
	/* a few probes upward, then whatever the buddy allocator gives */
	while (pfn < s->cursor + 64 && pfn < mos_env_frames_total(env) &&
	       mos_env_alloc_at(env, pfn) != MOS_OK)
		pfn++;
	if (pfn == s->cursor + 64 || pfn == mos_env_frames_total(env)) {
		enum mos_status st = mos_env_alloc(env, 0, &pfn);
		if (st != MOS_OK)
			return st;
	} else {
		s->cursor = pfn + 1;
	}
	enum mos_status st = mos_env_map(env, page, pfn, MOS_PAGE_SHIFT);
	if (st != MOS_OK) {
		mos_env_free(env, pfn, 0);
		return st;
	}
	s->live++;
	out->start = page;
	out->len = MOS_PAGE_SIZE;
	out->pfn = pfn;
	out->page_shift = MOS_PAGE_SHIFT;
	return MOS_OK;
}

static uint64_t lf_free_range(void *state, struct mos_env *env, uint64_t start, uint64_t end)
{
	struct lowfirst *s = state;
	uint64_t n = mos_env_unmap_range(env, start, end, NULL, NULL);
	s->live -= n;
	if (n)
		s->cursor = 0;
	return n;
}

MOS_POLICY_EXPORT const struct mos_policy_ops vmemu_policy = {
	.abi_version = 1,
	.name = "lowfirst",
	.init = lf_init,
	.fault = lf_fault,
	.free_range = lf_free_range,
	.fini = lf_fini,
};
