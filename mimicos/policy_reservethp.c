/*
 * "reservethp" policy: reservation-based transparent huge pages, after
 * FreeBSD's superpage reservations (Navarro, Iyer, Druschel, Cox, "Practical,
 * transparent operating system support for superpages", OSDI'02) as imitated
 * by Virtuoso's MimicOS ReserveTHP (Kanellopoulos et al., ASPLOS'25).
 *
 * Reservation: the first fault in a 2 MiB-aligned region that lies entirely
 * inside a VMA not advised MADV_NOHUGEPAGE, with nothing mapped in it,
 * allocates an order-9 block and reserves it for the region. Each 4 KiB page
 * of the region is then mapped, when it faults, to the subpage at the same
 * offset (PFN = block + (vaddr - region) / 4 KiB); fault-around maps the run
 * of unmapped pages of the window from the reservation too (the window is
 * clipped to the region). When no order-9 block is free, the region gets
 * ordinary order-0 frames (reservation_fallback) and never a reservation.
 *
 * Promotion: as soon as the populated subpages exceed promotion_threshold *
 * 512 (strictly greater), the 4 KiB PTEs are replaced by one 2 MiB leaf on the
 * same block, in place (no copy): all 512 subpages are then mapped; the fault
 * result reports the promoted region (promoted_start/len) and the runtime
 * populates the missing pages. The reservation ends; the 2 MiB page is an
 * ordinary order-9 block (split like thp's on partial munmap).
 *
 * Demotion under memory pressure: when a fault needs order-0 frames (data or
 * page tables) that the buddy allocator does not have, the least-utilised
 * reservation (fewest populated subpages; lowest PFN on ties; never the one
 * being faulted on, never a full one) is demoted: its block is split into 512
 * order-0 blocks, the unpopulated subpages are freed, the populated ones stay
 * mapped as ordinary 4 KiB pages. Repeated until the request fits; only then
 * MOS_ENOMEM. Cost O(reservations) per demotion (only under pressure).
 *
 * Unmapping a populated subpage returns it to its reservation (still
 * reserved); a reservation whose last subpage is unmapped frees its block.
 * mremap demotes the reservations overlapping the moved range (before_move),
 * since moved pages would no longer sit at their matching offset.
 *
 * Bookkeeping: one record per physical order-9 block (80 bytes per 2 MiB of
 * emulated memory) indexed by PFN >> 9, plus a dense list of the active ones.
 * A region's reservation is found through any 4 KiB leaf in the region (by
 * construction all of them belong to it): O(levels + 512) per fault.
 *
 * mos_scan: a reservation over the threshold is promoted (normally done at
 * fault time already); a region of ordinary 4 KiB pages is collapsed as
 * khugepaged does (see policy_thp.c).
 */
#include "policy.h"

#include <string.h>

struct resv {
	uint64_t vregion;   /* 2 MiB-aligned virtual region served */
	uint64_t bits[MOS_HPAGE_PAGES / 64]; /* populated subpages */
	uint32_t idx;       /* position in the active list */
	uint16_t populated; /* set bits */
	uint8_t active;
};

struct rstate {
	struct resv *r;    /* one per order-9 physical block */
	uint64_t nblocks;
	uint32_t *active;  /* block numbers of active reservations */
	uint64_t nactive;
	uint64_t reserved; /* sum of 512 - populated over active reservations */
};

static enum mos_status rt_init(struct mos_env *env, void **state)
{
	struct rstate *s = env->alloc.zalloc(env->alloc.ctx, sizeof(*s));
	if (!s)
		return MOS_EHOST;
	s->nblocks = env->mem.nframes >> MOS_HPAGE_ORDER;
	if (s->nblocks) {
		s->r = env->alloc.zalloc(env->alloc.ctx, s->nblocks * sizeof(*s->r));
		s->active = env->alloc.zalloc(env->alloc.ctx, s->nblocks * sizeof(*s->active));
		if (!s->r || !s->active) {
			if (s->r)
				env->alloc.free(env->alloc.ctx, s->r, s->nblocks * sizeof(*s->r));
			if (s->active)
				env->alloc.free(env->alloc.ctx, s->active,
						s->nblocks * sizeof(*s->active));
			env->alloc.free(env->alloc.ctx, s, sizeof(*s));
			return MOS_EHOST;
		}
	}
	*state = s;
	return MOS_OK;
}

static void rt_fini(void *state, struct mos_env *env)
{
	struct rstate *s = state;
	if (s->nblocks) {
		env->alloc.free(env->alloc.ctx, s->r, s->nblocks * sizeof(*s->r));
		env->alloc.free(env->alloc.ctx, s->active, s->nblocks * sizeof(*s->active));
	}
	env->alloc.free(env->alloc.ctx, s, sizeof(*s));
}

static inline uint64_t blk_of(const struct rstate *s, const struct resv *r)
{
	return (uint64_t)(r - s->r);
}

static inline bool bit_get(const struct resv *r, unsigned i)
{
	return (r->bits[i / 64] >> (i % 64)) & 1;
}

static inline void bit_set(struct resv *r, unsigned i, bool v)
{
	if (v)
		r->bits[i / 64] |= 1ull << (i % 64);
	else
		r->bits[i / 64] &= ~(1ull << (i % 64));
}

/* The active reservation serving region, or NULL. */
static struct resv *resv_find(struct rstate *s, struct mos_env *env, uint64_t region)
{
	if (pt_table_used(&env->pt, region, PT_LEVEL_PT) <= 0)
		return NULL;
	struct pt_leaf lf;
	if (!pt_next_leaf(&env->pt, region, region + MOS_HPAGE_SIZE, &lf) ||
	    lf.page_shift != MOS_PAGE_SHIFT)
		return NULL;
	uint64_t b = lf.pfn >> MOS_HPAGE_ORDER;
	if (b >= s->nblocks || !s->r[b].active || s->r[b].vregion != region)
		return NULL;
	return &s->r[b];
}

static struct resv *resv_new(struct rstate *s, struct mos_env *env, uint64_t pfn, uint64_t region)
{
	struct resv *r = &s->r[pfn >> MOS_HPAGE_ORDER];
	memset(r, 0, sizeof(*r));
	r->active = 1;
	r->vregion = region;
	r->idx = (uint32_t)s->nactive;
	s->active[s->nactive++] = (uint32_t)(pfn >> MOS_HPAGE_ORDER);
	s->reserved += MOS_HPAGE_PAGES;
	env->ctr.reservations_made++;
	return r;
}

/* End the reservation (its frames are accounted elsewhere by the caller). */
static void resv_drop(struct rstate *s, struct resv *r)
{
	s->reserved -= MOS_HPAGE_PAGES - r->populated;
	uint32_t last = s->active[--s->nactive];
	s->active[r->idx] = last;
	s->r[last].idx = r->idx;
	r->active = 0;
}

/* Demote r: split its block, free the unpopulated subpages, end it. */
static void demote(struct rstate *s, struct mos_env *env, struct resv *r)
{
	uint64_t base = blk_of(s, r) << MOS_HPAGE_ORDER, freed = 0;
	phys_split(&env->mem, base, MOS_HPAGE_ORDER, 0);
	for (unsigned i = 0; i < MOS_HPAGE_PAGES; i++)
		if (!bit_get(r, i)) {
			phys_free(&env->mem, base + i, 0);
			freed++;
		}
	resv_drop(s, r);
	env->ctr.demotions++;
	env->ctr.demoted_frames += freed;
}

/*
 * Demote least-utilised reservations (never keep) until `need` frames are
 * free. False when no demotable reservation is left.
 */
static bool relieve(struct rstate *s, struct mos_env *env, uint64_t need, const struct resv *keep)
{
	while (phys_avail(&env->mem) < need) {
		struct resv *best = NULL;
		for (uint64_t i = 0; i < s->nactive; i++) {
			struct resv *r = &s->r[s->active[i]];
			if (r == keep || r->populated >= MOS_HPAGE_PAGES)
				continue;
			if (!best || r->populated < best->populated ||
			    (r->populated == best->populated && r < best))
				best = r;
		}
		if (!best)
			return false;
		demote(s, env, best);
	}
	return true;
}

/* Promote r in place to one 2 MiB leaf; returns the pages newly mapped. */
static uint64_t promote(struct rstate *s, struct mos_env *env, struct resv *r)
{
	uint64_t extra = MOS_HPAGE_PAGES - r->populated;
	mos_make_huge(env, r->vregion, blk_of(s, r) << MOS_HPAGE_ORDER, NULL, NULL);
	s->reserved -= extra;
	r->populated = MOS_HPAGE_PAGES; /* resv_drop then subtracts nothing more */
	resv_drop(s, r);
	env->extra_mapped += extra;
	return extra;
}

static enum mos_status rt_fault(void *state, struct mos_env *env, const struct mos_vma *vma,
				uint64_t vaddr, bool is_write, struct mos_fault_result *out)
{
	struct rstate *s = state;
	uint64_t region = vaddr & ~(MOS_HPAGE_SIZE - 1), rend = region + MOS_HPAGE_SIZE;
	bool in_vma = region >= vma->start && rend <= vma->end;
	bool allowed = in_vma && !(vma->flags & MOS_VMA_NOHUGEPAGE);
	uint64_t lo = region > vma->start ? region : vma->start;
	uint64_t hi = rend < vma->end ? rend : vma->end;
	uint64_t page = vaddr & ~(MOS_PAGE_SIZE - 1);

	struct resv *r = resv_find(s, env, region);
	bool fresh = false;
	if (!r && allowed && s->nblocks && pt_table_used(&env->pt, region, PT_LEVEL_PT) == 0) {
		uint64_t pfn;
		if (phys_alloc(&env->mem, MOS_HPAGE_ORDER, region, &pfn) == MOS_OK) {
			struct pt_need nd;
			pt_need_init(&nd);
			pt_need_add(&env->pt, &nd, page, MOS_PAGE_SHIFT);
			if (relieve(s, env, nd.tables, NULL)) {
				r = resv_new(s, env, pfn, region);
				fresh = true;
			} else {
				phys_free(&env->mem, pfn, MOS_HPAGE_ORDER);
			}
		} else {
			env->ctr.reservation_fallback++;
		}
	}

	if (!r) { /* ordinary 4 KiB frames, demoting reservations if short */
		relieve(s, env, mos_frames_needed(env, page, page + MOS_PAGE_SIZE), NULL);
		return mos_fault_4k(env, lo, hi, vaddr, out);
	}

	/* The run of unmapped pages of the fault-around window, from the reservation. */
	uint64_t window = (uint64_t)env->fault_around_pages << MOS_PAGE_SHIFT;
	uint64_t wlo = page & ~(window - 1), whi = wlo + window;
	if (wlo < lo)
		wlo = lo;
	if (whi > hi)
		whi = hi;
	uint64_t a = page, z = page + MOS_PAGE_SIZE;
	while (a > wlo && !pt_is_mapped(&env->pt, a - MOS_PAGE_SIZE))
		a -= MOS_PAGE_SIZE;
	while (z < whi && !pt_is_mapped(&env->pt, z))
		z += MOS_PAGE_SIZE;
	uint64_t base = blk_of(s, r) << MOS_HPAGE_ORDER;
	for (uint64_t va = a; va < z; va += MOS_PAGE_SIZE) {
		unsigned i = (unsigned)((va - region) >> MOS_PAGE_SHIFT);
		enum mos_status st = pt_map(&env->pt, va, base + i, MOS_PAGE_SHIFT);
		if (st != MOS_OK) { /* host memory (tables were made affordable) */
			for (uint64_t u = a; u < va; u += MOS_PAGE_SIZE)
				pt_unmap(&env->pt, u, NULL, NULL);
			if (fresh) {
				resv_drop(s, r);
				phys_free(&env->mem, base, MOS_HPAGE_ORDER);
			}
			return st;
		}
	}
	for (uint64_t va = a; va < z; va += MOS_PAGE_SIZE)
		bit_set(r, (unsigned)((va - region) >> MOS_PAGE_SHIFT), true);
	uint64_t n = (z - a) >> MOS_PAGE_SHIFT;
	r->populated = (uint16_t)(r->populated + n);
	s->reserved -= n;

	out->start = a;
	out->len = z - a;
	out->pfn = base + ((page - region) >> MOS_PAGE_SHIFT);
	out->page_shift = MOS_PAGE_SHIFT;
	out->refault = false;
	if (allowed && mos_over_threshold(env, r->populated)) {
		promote(s, env, r);
		env->ctr.promotions++;
		out->page_shift = MOS_HPAGE_SHIFT;
		out->promoted_start = region;
		out->promoted_len = MOS_HPAGE_SIZE;
	}
	return MOS_OK;
}

struct free_ctx {
	struct rstate *s;
	struct mos_env *env;
};

static void rt_free_leaf(void *ctx, const struct pt_leaf *leaf)
{
	struct free_ctx *c = ctx;
	struct rstate *s = c->s;
	if (leaf->page_shift == MOS_PAGE_SHIFT) {
		uint64_t b = leaf->pfn >> MOS_HPAGE_ORDER;
		struct resv *r = b < s->nblocks ? &s->r[b] : NULL;
		if (r && r->active && r->vregion == (leaf->vaddr & ~(MOS_HPAGE_SIZE - 1))) {
			bit_set(r, (unsigned)(leaf->pfn & (MOS_HPAGE_PAGES - 1)), false);
			r->populated--;
			s->reserved++;
			if (r->populated == 0) { /* empty: the block goes back */
				resv_drop(s, r);
				phys_free(&c->env->mem, b << MOS_HPAGE_ORDER, MOS_HPAGE_ORDER);
			}
			return;
		}
	}
	mos_free_leaf(c->env, leaf);
}

static uint64_t rt_free_range(void *state, struct mos_env *env, uint64_t start, uint64_t end)
{
	struct free_ctx c = { state, env };
	return pt_unmap_range(&env->pt, start, end, rt_free_leaf, &c);
}

static void rt_before_move(void *state, struct mos_env *env, uint64_t lo, uint64_t hi)
{
	struct rstate *s = state;
	for (uint64_t i = s->nactive; i-- > 0;) {
		struct resv *r = &s->r[s->active[i]];
		if (r->vregion < hi && r->vregion + MOS_HPAGE_SIZE > lo)
			demote(s, env, r); /* swaps the last entry into i: already visited */
	}
}

static bool rt_scan_region(void *state, struct mos_env *env, const struct mos_vma *vma,
			   uint64_t region)
{
	struct rstate *s = state;
	if (vma->flags & MOS_VMA_NOHUGEPAGE)
		return false;
	struct resv *r = resv_find(s, env, region);
	if (r) {
		if (!mos_over_threshold(env, r->populated))
			return false;
		promote(s, env, r);
		env->ctr.collapses++;
		return true;
	}
	return mos_collapse_region(env, region);
}

static uint64_t rt_reserved_frames(const void *state)
{
	return ((const struct rstate *)state)->reserved;
}

static uint64_t rt_reservations(const void *state)
{
	return ((const struct rstate *)state)->nactive;
}

static bool rt_owns_subpage(const void *state, const struct mos_env *env, uint64_t vaddr,
			    uint64_t pfn)
{
	const struct rstate *s = state;
	uint64_t b = pfn >> MOS_HPAGE_ORDER;
	if (b >= s->nblocks)
		return false;
	const struct resv *r = &s->r[b];
	unsigned i = (unsigned)(pfn & (MOS_HPAGE_PAGES - 1));
	return r->active && r->vregion == (vaddr & ~(MOS_HPAGE_SIZE - 1)) &&
	       ((vaddr >> MOS_PAGE_SHIFT) & (MOS_HPAGE_PAGES - 1)) == i && bit_get(r, i);
}

static bool rt_check(const void *state, const struct mos_env *env, char *why, size_t why_len)
{
	const struct rstate *s = state;
	uint64_t reserved = 0, active = 0;
	for (uint64_t b = 0; b < s->nblocks; b++) {
		const struct resv *r = &s->r[b];
		if (!r->active)
			continue;
		active++;
		if (r->idx >= s->nactive || s->active[r->idx] != b)
			return mos_why(why, why_len, "reservation missing from the active list, block", b);
		uint64_t head;
		unsigned order;
		if (phys_block_of(&env->mem, b << MOS_HPAGE_ORDER, &head, &order) != BUDDY_ALLOC ||
		    head != b << MOS_HPAGE_ORDER || order != MOS_HPAGE_ORDER)
			return mos_why(why, why_len, "reservation is not an allocated order-9 block, block", b);
		if (r->vregion & (MOS_HPAGE_SIZE - 1))
			return mos_why(why, why_len, "reservation region not 2 MiB aligned, block", b);
		unsigned pop = 0;
		for (unsigned i = 0; i < MOS_HPAGE_PAGES; i++) {
			uint64_t pfn;
			unsigned shift;
			bool mapped = pt_lookup(&env->pt, r->vregion + ((uint64_t)i << MOS_PAGE_SHIFT), &pfn,
						&shift) == MOS_OK;
			if (bit_get(r, i)) {
				pop++;
				if (!mapped || shift != MOS_PAGE_SHIFT || pfn != (b << MOS_HPAGE_ORDER) + i)
					return mos_why(why, why_len,
						       "populated subpage not mapped at its offset, block", b);
			} else if (mapped) {
				return mos_why(why, why_len, "region of a reservation maps a foreign page, block",
					       b);
			}
		}
		if (pop != r->populated || pop == 0)
			return mos_why(why, why_len, "reservation populated count wrong, block", b);
		reserved += MOS_HPAGE_PAGES - pop;
	}
	if (active != s->nactive)
		return mos_why(why, why_len, "active reservation count wrong:", s->nactive);
	if (reserved != s->reserved)
		return mos_why(why, why_len, "reserved frame count wrong:", s->reserved);
	return true;
}

const struct mos_policy mos_policy_reservethp = {
	.name = "reservethp",
	.init = rt_init,
	.fault = rt_fault,
	.free_range = rt_free_range,
	.fini = rt_fini,
	.before_move = rt_before_move,
	.scan_region = rt_scan_region,
	.reserved_frames = rt_reserved_frames,
	.reservations = rt_reservations,
	.owns_subpage = rt_owns_subpage,
	.check = rt_check,
};
