/*
 * The services a policy may call on the machine (mimicos/include/mimicos/
 * policy_api.h), as one constant table every struct mos_env points to, and
 * the validation of caller-supplied policy tables. Thin wrappers over the
 * buddy allocator and the page table that keep the core's counters right
 * and refuse mappings that break the frame ownership rule.
 */
#include "policy.h"

#include <string.h>

/* One definition of the hook types: the public table's must match ours. */
#define SAME_TYPE(member)                                                                     \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((struct mos_policy *)0)->member), \
						    __typeof__(((struct mos_policy_ops *)0)->member)), \
		       "mos_policy_ops." #member " differs from mos_policy." #member)
SAME_TYPE(name);
SAME_TYPE(init);
SAME_TYPE(fault);
SAME_TYPE(free_range);
SAME_TYPE(fini);
SAME_TYPE(check);

bool mos_policy_from_ops(const struct mos_policy_ops *ops, struct mos_policy *out)
{
	if (!ops || ops->abi_version < MOS_POLICY_ABI_MIN ||
	    ops->abi_version > MOS_POLICY_ABI_VERSION || !ops->name || !ops->name[0] || !ops->fault ||
	    !ops->free_range)
		return false;
	*out = (struct mos_policy){
		.name = ops->name,
		.init = ops->init,
		.fault = ops->fault,
		.free_range = ops->free_range,
		.fini = ops->fini,
		.check = ops->check,
	};
	return true;
}

static enum mos_status svc_alloc(struct mos_env *env, unsigned order, uint64_t *pfn)
{
	return phys_alloc(&env->mem, order, PHYS_NO_ADDR, pfn);
}

static enum mos_status svc_alloc_at(struct mos_env *env, uint64_t pfn)
{
	if (pfn >= env->mem.nframes)
		return MOS_EINVAL;
	if (phys_block_of(&env->mem, pfn, NULL, NULL) != BUDDY_FREE)
		return MOS_EEXIST;
	return phys_alloc_at(&env->mem, pfn);
}

/* Some frame of [pfn, pfn + n) is reserved by the policy (pfn + n <= frames). */
static bool any_reserved(const struct mos_env *env, uint64_t pfn, uint64_t n)
{
	for (uint64_t f = pfn; env->ures && f < pfn + n; f++)
		if (mos_ures_test(env, f))
			return true;
	return false;
}

static enum mos_status svc_free(struct mos_env *env, uint64_t pfn, unsigned order)
{
	if (pfn >= env->mem.nframes || order > MOS_MAX_ORDER ||
	    (pfn + (1ull << order) <= env->mem.nframes && any_reserved(env, pfn, 1ull << order)))
		return MOS_EINVAL;
	return phys_free(&env->mem, pfn, order);
}

static enum mos_status svc_split(struct mos_env *env, uint64_t pfn, unsigned order,
				 unsigned to_order)
{
	if (pfn >= env->mem.nframes || order > MOS_MAX_ORDER)
		return MOS_EINVAL;
	return phys_split(&env->mem, pfn, order, to_order);
}

static enum mos_status svc_map(struct mos_env *env, uint64_t vaddr, uint64_t pfn,
			       unsigned page_shift)
{
	if (page_shift != MOS_PAGE_SHIFT && page_shift != MOS_HPAGE_SHIFT)
		return MOS_EINVAL;
	/* The ownership rule: the leaf maps exactly one allocated block of its size. */
	uint64_t head;
	unsigned order;
	if (pfn >= env->mem.nframes ||
	    phys_block_of(&env->mem, pfn, &head, &order) != BUDDY_ALLOC || head != pfn ||
	    order != page_shift - MOS_PAGE_SHIFT || any_reserved(env, pfn, 1ull << order))
		return MOS_EINVAL;
	enum mos_status st = pt_map(&env->pt, vaddr, pfn, page_shift);
	if (st == MOS_OK && page_shift == MOS_HPAGE_SHIFT)
		env->ctr.huge_pages++;
	return st;
}

static enum mos_status svc_unmap(struct mos_env *env, uint64_t vaddr, uint64_t *pfn,
				 unsigned *page_shift)
{
	unsigned shift;
	if (vaddr >= PT_VA_LIMIT)
		return MOS_ENOENT;
	enum mos_status st = pt_unmap(&env->pt, vaddr, pfn, &shift);
	if (st != MOS_OK)
		return st;
	if (shift > MOS_PAGE_SHIFT)
		env->ctr.huge_pages--;
	if (page_shift)
		*page_shift = shift;
	return MOS_OK;
}

/* unmap_range: the policy's callback and what it is given. */
struct leaf_cb {
	struct mos_env *env;
	void (*fn)(void *ctx, const struct mos_leaf *leaf);
	void *ctx;
};

static void leaf_to_policy(void *ctx, const struct pt_leaf *lf)
{
	struct leaf_cb *cb = ctx;
	if (lf->page_shift > MOS_PAGE_SHIFT)
		cb->env->ctr.huge_pages--;
	if (!cb->fn) {
		phys_free(&cb->env->mem, lf->pfn, lf->page_shift - MOS_PAGE_SHIFT);
		return;
	}
	const struct mos_leaf pub = { lf->vaddr, lf->pfn, lf->page_shift };
	cb->fn(cb->ctx, &pub);
}

static uint64_t svc_unmap_range(struct mos_env *env, uint64_t start, uint64_t end,
				void (*fn)(void *ctx, const struct mos_leaf *leaf), void *ctx)
{
	if (end > PT_VA_LIMIT)
		end = PT_VA_LIMIT;
	if (start >= end)
		return 0;
	struct leaf_cb cb = { env, fn, ctx };
	return pt_unmap_range(&env->pt, start, end, leaf_to_policy, &cb);
}

static enum mos_status svc_lookup(const struct mos_env *env, uint64_t vaddr, uint64_t *pfn,
				  unsigned *page_shift)
{
	if (vaddr >= PT_VA_LIMIT)
		return MOS_ENOENT;
	return pt_lookup(&env->pt, vaddr, pfn, page_shift);
}

static bool svc_next_leaf(const struct mos_env *env, uint64_t from, uint64_t end,
			  struct mos_leaf *out)
{
	if (end > PT_VA_LIMIT)
		end = PT_VA_LIMIT;
	struct pt_leaf lf;
	if (from >= end || !pt_next_leaf(&env->pt, from, end, &lf))
		return false;
	*out = (struct mos_leaf){ lf.vaddr, lf.pfn, lf.page_shift };
	return true;
}

static uint64_t svc_frames_free(const struct mos_env *env)
{
	return phys_avail(&env->mem);
}

static uint64_t svc_frames_total(const struct mos_env *env)
{
	return env->mem.nframes;
}

static uint64_t svc_frames_needed(const struct mos_env *env, uint64_t lo, uint64_t hi)
{
	lo &= ~(MOS_PAGE_SIZE - 1);
	if (hi > PT_VA_LIMIT)
		hi = PT_VA_LIMIT;
	return lo < hi ? mos_frames_needed(env, lo, hi) : 0;
}

static uint32_t svc_fault_around_pages(const struct mos_env *env)
{
	return env->fault_around_pages;
}

static enum mos_status svc_fault_4k(struct mos_env *env, uint64_t lo, uint64_t hi, uint64_t vaddr,
				    struct mos_fault_result *out)
{
	if (vaddr < lo || vaddr >= hi || hi > PT_VA_LIMIT || ((lo | hi) & (MOS_PAGE_SIZE - 1)))
		return MOS_EINVAL;
	return mos_fault_4k(env, lo, hi, vaddr, out);
}

static void *svc_host_zalloc(struct mos_env *env, size_t bytes)
{
	return env->alloc.zalloc(env->alloc.ctx, bytes);
}

static void svc_host_free(struct mos_env *env, void *p, size_t bytes)
{
	if (p)
		env->alloc.free(env->alloc.ctx, p, bytes);
}

/* [pfn, pfn + n) is a non-empty range of frames of the machine. */
static bool frames_ok(const struct mos_env *env, uint64_t pfn, uint64_t n)
{
	return n && pfn < env->mem.nframes && n <= env->mem.nframes - pfn;
}

static enum mos_status svc_reserve(struct mos_env *env, uint64_t pfn, uint64_t n)
{
	if (!frames_ok(env, pfn, n))
		return MOS_EINVAL;
	for (uint64_t f = pfn; f < pfn + n; f++)
		if (phys_block_of(&env->mem, f, NULL, NULL) != BUDDY_ALLOC)
			return MOS_EINVAL;
	if (any_reserved(env, pfn, n))
		return MOS_EEXIST;
	if (!env->ures && !(env->ures = env->alloc.zalloc(env->alloc.ctx, mos_ures_bytes(env))))
		return MOS_EHOST;
	for (uint64_t f = pfn; f < pfn + n; f++)
		env->ures[f >> 3] |= (uint8_t)(1u << (f & 7));
	env->ures_count += n;
	return MOS_OK;
}

static enum mos_status svc_unreserve(struct mos_env *env, uint64_t pfn, uint64_t n)
{
	if (!frames_ok(env, pfn, n))
		return MOS_EINVAL;
	for (uint64_t f = pfn; f < pfn + n; f++)
		if (!mos_ures_test(env, f))
			return MOS_EINVAL;
	for (uint64_t f = pfn; f < pfn + n; f++)
		env->ures[f >> 3] &= (uint8_t)~(1u << (f & 7));
	env->ures_count -= n;
	return MOS_OK;
}

static uint64_t *svc_counter(struct mos_env *env, const char *name)
{
	size_t len = 0;
	for (; name && name[len]; len++) {
		char ch = name[len];
		if (len >= MOS_POLICY_COUNTER_NAME_MAX ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return NULL;
	}
	if (!len)
		return NULL;
	for (unsigned i = 0; i < env->ncounters; i++)
		if (!strcmp(env->counter[i].name, name))
			return &env->counter[i].value;
	if (env->ncounters == MOS_POLICY_MAX_COUNTERS)
		return NULL;
	unsigned i = env->ncounters++;
	memcpy(env->counter[i].name, name, len + 1);
	env->counter[i].value = 0;
	return &env->counter[i].value;
}

const struct mos_policy_services mos_services = {
	.abi_version = MOS_POLICY_ABI_VERSION,
	.alloc = svc_alloc,
	.alloc_at = svc_alloc_at,
	.free = svc_free,
	.split = svc_split,
	.map = svc_map,
	.unmap = svc_unmap,
	.unmap_range = svc_unmap_range,
	.lookup = svc_lookup,
	.next_leaf = svc_next_leaf,
	.frames_free = svc_frames_free,
	.frames_total = svc_frames_total,
	.frames_needed = svc_frames_needed,
	.fault_around_pages = svc_fault_around_pages,
	.fault_4k = svc_fault_4k,
	.host_zalloc = svc_host_zalloc,
	.host_free = svc_host_free,
	.reserve = svc_reserve,
	.unreserve = svc_unreserve,
	.counter = svc_counter,
};

/* Version 1 policies see the table as it was: its members keep their places. */
_Static_assert(offsetof(struct mos_policy_services, host_free) == 16 * sizeof(void *),
	       "policy ABI 1: services moved");
_Static_assert(offsetof(struct mos_policy_ops, check) == 6 * sizeof(void *),
	       "policy ABI 1: ops moved");
