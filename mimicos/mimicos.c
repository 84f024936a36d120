/*
 * MimicOS core: one emulated machine (struct mos) tying together the buddy
 * allocator, the page table, the VMA set and the allocation policy, plus the
 * statistics. See mimicos/include/mimicos/mimicos.h for the public contract.
 */
#include "mimicos/mimicos.h"

#include <string.h>

#include "buddy.h"
#include "hugetlb.h"
#include "phys.h"
#include "pagetable.h"
#include "policy.h"
#include "vma.h"
#include "core.h"

#define MOS_MEM_LIMIT (1ull << 44) /* largest emulated memory, bytes */

static const struct mos_policy *const policies[] = {
	&mos_policy_baseline,
	&mos_policy_thp,
	&mos_policy_reservethp,
	&mos_policy_eagerpaging,
};

const char *mos_policy_builtin(size_t i)
{
	return i < sizeof policies / sizeof policies[0] ? policies[i]->name : NULL;
}

const struct mos_policy *mos_policy_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
		if (strcmp(policies[i]->name, name) == 0)
			return policies[i];
	return NULL;
}

const char *mos_status_str(enum mos_status st)
{
	switch (st) {
	case MOS_OK: return "ok";
	case MOS_EINVAL: return "invalid argument";
	case MOS_ENOVMA: return "address outside every managed VMA";
	case MOS_ENOMEM: return "emulated OOM";
	case MOS_EEXIST: return "already managed or mapped";
	case MOS_ENOENT: return "not mapped";
	case MOS_EHOST: return "host allocator refused bookkeeping memory";
	}
	return "unknown status";
}

/* [start, start+len) is non-empty, page aligned and inside user space. */
static bool range_ok(uint64_t start, uint64_t len)
{
	return len && !((start | len) & (MOS_PAGE_SIZE - 1)) && start < PT_VA_LIMIT &&
	       len <= PT_VA_LIMIT - start;
}

/* [start, start+len) is page aligned and does not wrap (it may be empty of VMAs). */
static bool aligned_ok(uint64_t start, uint64_t len)
{
	return len && !((start | len) & (MOS_PAGE_SIZE - 1)) && len <= UINT64_MAX - start;
}

static void note_tables(struct mos *m)
{
	uint64_t t = pt_tables(&m->env.pt);
	if (t > m->pt_pages_peak)
		m->pt_pages_peak = t;
}

/* Counting newly mapped pages (faults, promotions, collapses). */
static void note_mapped(struct mos *m, uint64_t pages)
{
	m->pages_mapped += pages;
	m->data_frames += pages;
	if (m->data_frames > m->data_frames_peak)
		m->data_frames_peak = m->data_frames;
}

/* 0 or a power of two >= 4 KiB. */
static bool pow2_or_zero(uint64_t x)
{
	return x == 0 || (x >= MOS_PAGE_SIZE && !(x & (x - 1)));
}

static bool unit_interval(double x)
{
	return x >= 0.0 && x <= 1.0; /* false for NaN */
}

/* splitmix64 (Steele, Lea, Flood 2014): the seeded RNG of the injection. */
static uint64_t rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is negligible and deterministic). */
static uint64_t rng_below(uint64_t *x, uint64_t n)
{
	return rng_next(x) % n;
}

/* Free frames outside free blocks of order >= k (Linux's unusable numerator). */
static uint64_t unusable_frames(const struct phys *p, unsigned k)
{
	uint64_t suitable = 0;
	for (unsigned j = k; j < MOS_NR_ORDERS; j++)
		suitable += phys_free_blocks(p, j) << j;
	return phys_free_frames(p) - suitable;
}

/*
 * Fragmentation injection: pin frames until the unusable free space index
 * for order 9 reaches target. The 2 MiB-aligned regions that are wholly free
 * are visited in a seeded random order; each gets one pinned frame at a
 * random offset (turning its 511 other frames unusable for 2 MiB) while that
 * keeps the index at or below target; the region that would overshoot gets p
 * pins at distinct random offsets, p chosen so the index lands on target
 * (index = (U + 512 - p) / (F - p) for U unusable of F free frames before),
 * unless stopping short is closer to target (small memories, where one
 * region moves the index by more than 0.01). With target 1 every free 2 MiB
 * region gets a pin. Cost O(frames / 512).
 * NUMA: the index and the candidate regions are machine-wide (all nodes);
 * pins are chosen frames (phys_alloc_at), so no placement policy applies
 * and they are not counted in node_allocs.
 */
static enum mos_status inject_fragmentation(struct mos *m, double target, uint64_t seed)
{
	struct phys *b = &m->env.mem;
	const struct mos_allocator *a = &m->env.alloc;
	uint64_t nreg = b->nframes >> MOS_HPAGE_ORDER, ncand = 0;
	if (target <= 0.0 || nreg == 0)
		return MOS_OK;
	uint32_t *cand = a->zalloc(a->ctx, nreg * sizeof(*cand));
	if (!cand)
		return MOS_EHOST;
	for (uint64_t r = 0; r < nreg; r++) {
		unsigned order;
		if (phys_block_of(b, r << MOS_HPAGE_ORDER, NULL, &order) == BUDDY_FREE &&
		    order >= MOS_HPAGE_ORDER)
			cand[ncand++] = (uint32_t)r;
	}
	uint64_t x = seed;
	for (uint64_t i = ncand; i > 1; i--) { /* Fisher-Yates */
		uint64_t j = rng_below(&x, i);
		uint32_t t = cand[i - 1];
		cand[i - 1] = cand[j];
		cand[j] = t;
	}
	for (uint64_t c = 0; c < ncand; c++) {
		double U = (double)unusable_frames(b, MOS_HPAGE_ORDER), F = (double)phys_free_frames(b);
		if (F <= 0.0 || U / F >= target)
			break;
		uint64_t p = 1;
		if ((U + 511.0) / (F - 1.0) > target) { /* the last region: land on target */
			double q = (U + 512.0 - target * F) / (1.0 - target);
			p = q < 1.0 ? 1 : q > 512.0 ? 512 : (uint64_t)(q + 0.5);
			/* More pins lower the index; if even 512 overshoot, stop if that is closer. */
			double got = (U + 512.0 - (double)p) / (F - (double)p);
			if (got - target > target - U / F)
				break;
		}
		uint16_t off[MOS_HPAGE_PAGES];
		for (unsigned i = 0; i < MOS_HPAGE_PAGES; i++)
			off[i] = (uint16_t)i;
		uint64_t base = (uint64_t)cand[c] << MOS_HPAGE_ORDER;
		for (uint64_t i = 0; i < p; i++) { /* p distinct offsets */
			uint64_t j = i + rng_below(&x, MOS_HPAGE_PAGES - i);
			uint16_t t = off[i];
			off[i] = off[j];
			off[j] = t;
			phys_alloc_at(b, base + off[i]);
			m->frames_pinned++;
		}
		if (p > 1)
			break;
	}
	a->free(a->ctx, cand, nreg * sizeof(*cand));
	return MOS_OK;
}

struct mos *mos_create(const struct mos_config *cfg, const struct mos_allocator *alloc,
		       enum mos_status *st)
{
	enum mos_status dummy;
	if (!st)
		st = &dummy;
	*st = MOS_EINVAL;
	if (!cfg || !alloc || !alloc->zalloc || !alloc->free)
		return NULL;
	uint32_t fa = cfg->fault_around_pages;
	struct mos_policy user = { 0 };
	const struct mos_policy *policy = NULL;
	if (!cfg->policy_ops)
		policy = mos_policy_find(cfg->policy);
	else if (mos_policy_from_ops(cfg->policy_ops, &user))
		policy = &user;
	if (cfg->mem_bytes == 0 || (cfg->mem_bytes & (MOS_PAGE_SIZE - 1)) ||
	    cfg->mem_bytes > MOS_MEM_LIMIT || fa == 0 || (fa & (fa - 1)) || !policy)
		return NULL;
	if ((unsigned)cfg->thp_mode > MOS_THP_MADVISE || !unit_interval(cfg->promotion_threshold) ||
	    !unit_interval(cfg->fragmentation) || !pow2_or_zero(cfg->eager_max_bytes) ||
	    !pow2_or_zero(cfg->eager_populate_bytes) || !phys_config_ok(cfg) ||
	    (unsigned)cfg->reclaim_policy > MOS_RECLAIM_WSCLOCK || cfg->swap_pages >= (1ull << 32))
		return NULL;

	*st = MOS_EHOST;
	struct mos *m = alloc->zalloc(alloc->ctx, sizeof(*m));
	if (!m)
		return NULL;
	m->env.svc = &mos_services;
	m->env.alloc = *alloc;
	m->env.fault_around_pages = fa;
	m->env.thp_mode = cfg->thp_mode;
	m->env.promotion_threshold = cfg->promotion_threshold;
	m->env.eager_max_bytes = cfg->eager_max_bytes;
	m->env.eager_populate_bytes = cfg->eager_populate_bytes;
	if (policy == &user) {
		m->user_policy = user;
		policy = &m->user_policy;
	}
	m->policy = policy;
	vma_set_init(&m->vmas, alloc);
	*st = phys_init(&m->env.mem, cfg, alloc);
	if (*st == MOS_OK) /* boot-time pools first, as Linux's hugepages= */
		*st = ht_init(&m->ht, &m->env.mem, cfg->hugetlb_nr_2m, cfg->hugetlb_nr_1g, alloc);
	if (*st == MOS_OK)
		*st = pt_init_phys(&m->env.pt, &m->env.mem, alloc);
	if (*st == MOS_OK)
		*st = inject_fragmentation(m, cfg->fragmentation, cfg->seed);
	if (*st == MOS_OK)
		*st = swap_init(m, cfg);
	if (*st == MOS_OK && policy->init) /* NULL only for a caller-supplied policy */
		*st = policy->init(&m->env, &m->policy_state);
	if (*st != MOS_OK) {
		mos_destroy(m);
		return NULL;
	}
	m->policy_ready = true;
	note_tables(m);
	return m;
}

void mos_destroy(struct mos *m)
{
	if (!m)
		return;
	if (m->policy_ready && m->policy->fini)
		m->policy->fini(m->policy_state, &m->env);
	swap_fini(m);
	if (m->env.ures)
		m->env.alloc.free(m->env.alloc.ctx, m->env.ures, mos_ures_bytes(&m->env));
	pt_fini(&m->env.pt);
	ht_fini(&m->ht);
	vma_set_fini(&m->vmas);
	phys_fini(&m->env.mem);
	struct mos_allocator a = m->env.alloc;
	a.free(a.ctx, m, sizeof(*m));
}

/* Let the policy unmap [start, end) and free its frames; keep the counters. */
void mos_core_unmap(struct mos *m, uint64_t start, uint64_t end)
{
	uint64_t n = m->policy->free_range(m->policy_state, &m->env, start, end);
	m->pages_unmapped += n;
	m->data_frames -= n;
}

/*
 * Free the page-table pages of [lo, hi) that no VMA needs any more: for each
 * VMA-free gap overlapping [lo, hi), tables lying entirely inside the gap.
 */
static void release_tables(struct mos *m, uint64_t lo, uint64_t hi)
{
	const struct vma_set *s = &m->vmas;
	if (hi > PT_VA_LIMIT)
		hi = PT_VA_LIMIT;
	while (lo < hi) {
		size_t i = vma_lower_bound(s, lo);
		if (i < s->n && s->v[i].start <= lo) { /* lo is inside a VMA: skip it */
			lo = s->v[i].end;
			continue;
		}
		uint64_t floor = i > 0 ? s->v[i - 1].end : 0;
		uint64_t ceiling = i < s->n ? s->v[i].start : PT_VA_LIMIT;
		uint64_t end = ceiling < hi ? ceiling : hi;
		pt_free_tables(&m->env.pt, lo, end, floor, ceiling);
		lo = end;
	}
}

/*
 * Demote the 2 MiB leaf at hva (frames head..head+511, one order-9 block) to
 * 512 4 KiB PTEs on the same frames, as Linux's split_huge_pmd. The block is
 * split into 512 order-0 blocks, so from now on each subpage is freed on its
 * own. When free_inside, the subpages inside [lo, hi) are freed instead of
 * remapped (munmap/discard); this also guarantees the frame for the new page
 * table. Otherwise one free frame is needed: MOS_ENOMEM (nothing changed)
 * without it. On MOS_EHOST (host memory for the table node) the remaining
 * subpages are unmapped and freed too.
 */
static enum mos_status demote_huge(struct mos *m, uint64_t hva, uint64_t head, uint64_t lo,
				   uint64_t hi, bool free_inside)
{
	struct mos_env *env = &m->env;
	uint64_t ilo = lo > hva ? lo : hva, ihi = hi < hva + MOS_HPAGE_SIZE ? hi : hva + MOS_HPAGE_SIZE;
	bool frees = free_inside && ilo < ihi;
	if (!frees && phys_avail(&env->mem) == 0)
		return MOS_ENOMEM;
	pt_unmap(&env->pt, hva, NULL, NULL);
	phys_split(&env->mem, head, MOS_HPAGE_ORDER, 0);
	env->ctr.huge_pages--;
	env->ctr.thp_split++;
	uint64_t gone = 0;
	if (frees) {
		for (uint64_t va = ilo; va < ihi; va += MOS_PAGE_SIZE, gone++)
			phys_free(&env->mem, head + ((va - hva) >> MOS_PAGE_SHIFT), 0);
	}
	enum mos_status st = MOS_OK;
	for (uint64_t va = hva; va < hva + MOS_HPAGE_SIZE; va += MOS_PAGE_SIZE) {
		if (frees && va >= ilo && va < ihi)
			continue;
		uint64_t pfn = head + ((va - hva) >> MOS_PAGE_SHIFT);
		if (st == MOS_OK)
			st = pt_map(&env->pt, va, pfn, MOS_PAGE_SHIFT);
		if (st != MOS_OK) { /* host OOM: give up this page and the rest */
			phys_free(&env->mem, pfn, 0);
			gone++;
		}
	}
	if (st != MOS_OK) /* unmap what was remapped before the failure */
		for (uint64_t va = hva; va < hva + MOS_HPAGE_SIZE; va += MOS_PAGE_SIZE) {
			uint64_t pfn;
			if (pt_unmap(&env->pt, va, &pfn, NULL) == MOS_OK) {
				phys_free(&env->mem, pfn, 0);
				gone++;
			}
		}
	m->pages_unmapped += gone;
	m->data_frames -= gone;
	note_tables(m);
	return st;
}

enum mos_status mos_core_split(struct mos *m, uint64_t hva, uint64_t head)
{
	return demote_huge(m, hva, head, 0, 0, false);
}

/* Split the 2 MiB leaf covering addr if addr falls strictly inside it. */
static enum mos_status split_at(struct mos *m, uint64_t addr, uint64_t lo, uint64_t hi,
				bool free_inside)
{
	uint64_t pfn;
	unsigned shift;
	if (!(addr & (MOS_HPAGE_SIZE - 1)) || addr >= PT_VA_LIMIT ||
	    pt_lookup(&m->env.pt, addr, &pfn, &shift) != MOS_OK || shift != MOS_HPAGE_SHIFT)
		return MOS_OK;
	uint64_t hva = addr & ~(MOS_HPAGE_SIZE - 1), head = pfn - ((addr - hva) >> MOS_PAGE_SHIFT);
	int kind;
	uint64_t idx;
	if (ht_page_of(&m->ht, head, &kind, &idx))
		return MOS_OK; /* a hugetlb page is never split (callers keep it whole) */
	return demote_huge(m, hva, head, lo, hi, free_inside);
}

/* munmap/discard: split 2 MiB leaves straddling the ends, freeing the inside part. */
static enum mos_status split_edges(struct mos *m, uint64_t start, uint64_t end)
{
	enum mos_status a = split_at(m, start, start, end, true);
	enum mos_status b = split_at(m, end, start, end, true);
	return a != MOS_OK ? a : b;
}

unsigned mos_vma_hugetlb_shift(const struct mos_vma *v)
{
	int k = ht_kind(v->flags);
	return k < 0 ? 0 : k == MOS_HUGETLB_1G ? MOS_GPAGE_SHIFT : MOS_HPAGE_SHIFT;
}

uint64_t mos_hugetlb_available(const struct mos *m, unsigned page_shift)
{
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		const struct ht_pool *pl = &m->ht.pool[k];
		if (pl->shift == page_shift)
			return pl->nfree - pl->resv;
	}
	return 0;
}

bool mos_hugetlb_cuts(const struct mos *m, uint64_t addr, bool morecore)
{
	size_t i = vma_find(&m->vmas, addr);
	if (i == SIZE_MAX || m->vmas.v[i].start == addr)
		return false;
	const struct mos_vma *v = &m->vmas.v[i];
	unsigned sh = mos_vma_hugetlb_shift(v);
	return sh && (morecore || !(v->flags & MOS_VMA_HUGETLB_MORECORE)) &&
	       (addr & ((1ull << sh) - 1));
}

/*
 * Give the pool pages of the hugetlb VMA parts inside [start, end) back to
 * their pools (ht_release; going: the VMA parts are being removed) and keep
 * the counters. For MADV_DONTNEED (!going) of a hugetlb VMA the part's end
 * is aligned down to the page size, as Linux's
 * madvise_dontneed_free_valid_vma does; the caller checked the start.
 */
static void unmap_hugetlb(struct mos *m, uint64_t start, uint64_t end, bool going)
{
	const struct vma_set *s = &m->vmas;
	for (size_t i = vma_lower_bound(s, start); i < s->n && s->v[i].start < end; i++) {
		const struct mos_vma *v = &s->v[i];
		unsigned sh = mos_vma_hugetlb_shift(v);
		if (!sh)
			continue;
		uint64_t lo = start > v->start ? start : v->start, hi = end < v->end ? end : v->end;
		if (!going && !(v->flags & MOS_VMA_HUGETLB_MORECORE))
			hi &= ~((1ull << sh) - 1);
		if (hi <= lo)
			continue;
		uint64_t n = ht_release(&m->ht, &m->env.pt, v, lo, hi, going);
		m->pages_unmapped += n;
		m->data_frames -= n;
		if (sh == MOS_HPAGE_SHIFT)
			m->env.ctr.huge_pages -= n >> (sh - MOS_PAGE_SHIFT);
		else
			m->env.ctr.gigantic_pages -= n >> (sh - MOS_PAGE_SHIFT);
	}
}

enum mos_status mos_vma_add(struct mos *m, uint64_t start, uint64_t len, uint32_t flags)
{
	if (!range_ok(start, len))
		return MOS_EINVAL;
	enum mos_status st = ht_vma_reserve(&m->ht, flags, start, len);
	if (st != MOS_OK)
		return st;
	st = vma_insert(&m->vmas, start, start + len, flags);
	if (st != MOS_OK)
		ht_vma_unreserve(&m->ht, flags, len);
	return st;
}

enum mos_status mos_vma_remove(struct mos *m, uint64_t start, uint64_t len)
{
	if (!aligned_ok(start, len))
		return MOS_EINVAL;
	uint64_t end = start + len;
	if (mos_hugetlb_cuts(m, start, true) || mos_hugetlb_cuts(m, end, true))
		return MOS_EINVAL;
	if (vma_reserve(&m->vmas, 1) != MOS_OK) /* a split in two needs a slot */
		return MOS_EHOST;
	unmap_hugetlb(m, start, end, true); /* while the VMAs still say what is hugetlb */
	vma_remove_range(&m->vmas, start, end); /* room reserved: cannot fail */
	enum mos_status st = split_edges(m, start, end);
	swap_drop_range(m, start, end);
	mos_core_unmap(m, start, end);
	release_tables(m, start, end);
	return st;
}

enum mos_status mos_discard(struct mos *m, uint64_t start, uint64_t len)
{
	if (!aligned_ok(start, len))
		return MOS_EINVAL;
	if (mos_hugetlb_cuts(m, start, false))
		return MOS_EINVAL;
	unmap_hugetlb(m, start, start + len, false);
	enum mos_status st = split_edges(m, start, start + len);
	swap_drop_range(m, start, start + len);
	mos_core_unmap(m, start, start + len);
	return st;
}

enum mos_status mos_vma_advise(struct mos *m, uint64_t start, uint64_t len, enum mos_advice advice)
{
	if (!range_ok(start, len) || (advice != MOS_ADV_HUGEPAGE && advice != MOS_ADV_NOHUGEPAGE))
		return MOS_EINVAL;
	uint64_t end = start + len;
	if (mos_hugetlb_cuts(m, start, true) || mos_hugetlb_cuts(m, end, true))
		return MOS_EINVAL;
	if (vma_reserve(&m->vmas, 2) != MOS_OK)
		return MOS_EHOST;
	/* A VMA boundary inside a 2 MiB page splits it (Linux vma_adjust_trans_huge). */
	uint64_t need = 0;
	for (int e = 0; e < 2; e++) {
		uint64_t at = e ? end : start;
		unsigned shift;
		if ((at & (MOS_HPAGE_SIZE - 1)) && at < PT_VA_LIMIT &&
		    pt_lookup(&m->env.pt, at, NULL, &shift) == MOS_OK && shift == MOS_HPAGE_SHIFT)
			need++;
	}
	if (need > phys_avail(&m->env.mem))
		return MOS_ENOMEM;
	enum mos_status st = split_at(m, start, 0, 0, false);
	if (st == MOS_OK)
		st = split_at(m, end, 0, 0, false);
	if (st != MOS_OK)
		return st;
	vma_split_at(&m->vmas, start); /* room reserved: cannot fail */
	vma_split_at(&m->vmas, end);
	uint32_t set = advice == MOS_ADV_HUGEPAGE ? MOS_VMA_HUGEPAGE : MOS_VMA_NOHUGEPAGE;
	uint32_t clear = advice == MOS_ADV_HUGEPAGE ? MOS_VMA_NOHUGEPAGE : MOS_VMA_HUGEPAGE;
	uint64_t covered = 0;
	for (size_t i = vma_lower_bound(&m->vmas, start); i < m->vmas.n && m->vmas.v[i].start < end;
	     i++) {
		struct mos_vma *v = &m->vmas.v[i];
		v->flags = (v->flags & ~clear) | set;
		covered += v->end - v->start; /* the splits keep every VMA inside [start, end) */
	}
	return covered == len ? MOS_OK : MOS_ENOVMA;
}

/*
 * Move every leaf of [lo, hi) to dst + (vaddr - lo), keeping its frames, in
 * memmove order so that no leaf lands on one not yet moved. The tables for
 * the destination must be affordable (checked by the caller); if host memory
 * runs out part-way, the leaves moved so far are moved back.
 */
static enum mos_status move_leaves(struct mos *m, uint64_t lo, uint64_t hi, uint64_t dst)
{
	struct pt *pt = &m->env.pt;
	if (dst == lo || lo >= hi)
		return MOS_OK;
	bool up = dst > lo; /* moving up: highest leaf first */
	uint64_t done_lo = up ? hi : lo, done_hi = done_lo; /* source range already moved */
	struct pt_leaf lf;
	enum mos_status st = MOS_OK;
	while (up ? pt_prev_leaf(pt, lo, done_lo, &lf) : pt_next_leaf(pt, done_hi, hi, &lf)) {
		st = pt_map(pt, dst + (lf.vaddr - lo), lf.pfn, lf.page_shift);
		if (st != MOS_OK)
			break;
		pt_unmap(pt, lf.vaddr, NULL, NULL);
		if (up)
			done_lo = lf.vaddr;
		else
			done_hi = lf.vaddr + (1ull << lf.page_shift);
	}
	if (st != MOS_OK) /* the way back has all its tables: it cannot fail */
		move_leaves(m, dst + (done_lo - lo), dst + (done_hi - lo), done_lo);
	return st;
}

/* [a0, a1) and [b0, b1) share an address (an empty range shares none). */
static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return (a0 > b0 ? a0 : b0) < (a1 < b1 ? a1 : b1);
}

enum mos_status mos_vma_move(struct mos *m, uint64_t old, uint64_t old_len, uint64_t new,
			     uint64_t new_len)
{
	if (!range_ok(old, old_len) || !range_ok(new, new_len))
		return MOS_EINVAL;
	uint64_t old_end = old + old_len, new_end = new + new_len;
	size_t vi = vma_find(&m->vmas, old);
	if (vi == SIZE_MAX || old_end > m->vmas.v[vi].end)
		return MOS_ENOVMA;
	const struct mos_vma v = m->vmas.v[vi];
	unsigned hsh = mos_vma_hugetlb_shift(&v);
	if (hsh && (((old | new | old_len | new_len) & ((1ull << hsh) - 1)) || new_len > old_len))
		return MOS_EINVAL; /* Linux mremap of hugetlb: aligned, and never growing */

	/* The new range may overlap only the part being moved. */
	for (size_t i = vma_lower_bound(&m->vmas, new); i < m->vmas.n && m->vmas.v[i].start < new_end;
	     i++)
		if (i != vi || overlaps(new, new_end, v.start, old) ||
		    overlaps(new, new_end, old_end, v.end))
			return MOS_EEXIST;

	uint64_t keep = old_len < new_len ? old_len : new_len;

	/* Reservations cannot follow pages to another offset: demote them. */
	if (m->policy->before_move) {
		m->policy->before_move(m->policy_state, &m->env, old, old_end);
		m->policy->before_move(m->policy_state, &m->env, new, new_end);
	}
	/* 2 MiB leaves cut by old, old+keep or old_end, or landing misaligned: split. */
	enum mos_status sst = MOS_OK;
	if (sst == MOS_OK)
		sst = split_at(m, old, 0, 0, false);
	if (sst == MOS_OK)
		sst = split_at(m, old + keep, 0, 0, false);
	if (sst == MOS_OK)
		sst = split_at(m, old_end, 0, 0, false);
	if (sst == MOS_OK && ((new - old) & (MOS_HPAGE_SIZE - 1))) {
		struct pt_leaf hl;
		for (uint64_t cur = old; sst == MOS_OK && pt_next_leaf(&m->env.pt, cur, old + keep, &hl);) {
			if (hl.page_shift == MOS_HPAGE_SHIFT)
				sst = demote_huge(m, hl.vaddr, hl.pfn, 0, 0, false);
			cur = hl.vaddr + (1ull << hl.page_shift);
		}
	}
	if (sst != MOS_OK)
		return sst;

	/* Plan: leaves must move whole and stay aligned; count the tables needed. */
	struct pt_need nd;
	pt_need_init(&nd);
	struct pt_leaf lf;
	for (uint64_t cur = old; pt_next_leaf(&m->env.pt, cur, old_end, &lf);) {
		uint64_t size = 1ull << lf.page_shift;
		if (lf.vaddr < old || lf.vaddr + size > old_end)
			return MOS_EINVAL; /* a huge leaf straddles the range: split it first */
		if (lf.vaddr < old + keep) {
			uint64_t to = new + (lf.vaddr - old);
			if (lf.vaddr + size > old + keep || (to & (size - 1)))
				return MOS_EINVAL; /* a huge leaf would be cut or misaligned */
			pt_need_add(&m->env.pt, &nd, to, lf.page_shift);
		}
		cur = lf.vaddr + size;
	}
	if (nd.tables > phys_avail(&m->env.mem))
		return MOS_ENOMEM;
	if (vma_reserve(&m->vmas, 2) != MOS_OK)
		return MOS_EHOST;

	/* Pages beyond new_len go first, so that no moved page can land on one. */
	if (keep < old_len) {
		unmap_hugetlb(m, old + keep, old_end, true);
		mos_core_unmap(m, old + keep, old_end);
	}
	enum mos_status st = move_leaves(m, old, old + keep, new);
	note_tables(m);
	if (st != MOS_OK) {
		/* The VMA stays whole: the hugetlb pages cut off above are all
		 * unmapped now and reserved again (the pool has them: it got the
		 * mapped ones back and lost none). */
		if (hsh && keep < old_len)
			ht_vma_reserve(&m->ht, v.flags, old + keep, old_len - keep);
		return st;
	}
	vma_remove_range(&m->vmas, old, old_end);      /* room reserved: cannot fail */
	vma_insert(&m->vmas, new, new_end, v.flags); /* no overlap, room reserved */
	release_tables(m, old, old_end);
	swap_move(m, old, old_len, new, new_len);
	return MOS_OK;
}

enum mos_status mos_fault(struct mos *m, uint64_t vaddr, bool is_write,
			  struct mos_fault_result *out)
{
	size_t i = vma_find(&m->vmas, vaddr);
	if (i == SIZE_MAX)
		return MOS_ENOVMA;
	uint64_t pfn;
	unsigned shift;
	memset(out, 0, sizeof(*out));
	if (pt_lookup(&m->env.pt, vaddr, &pfn, &shift) == MOS_OK) {
		/* MimicOS has the page; the host lost it: populate just this page. */
		out->start = vaddr & ~(MOS_PAGE_SIZE - 1);
		out->len = MOS_PAGE_SIZE;
		out->pfn = pfn;
		out->page_shift = shift;
		out->refault = true;
		m->refaults++;
		return MOS_OK;
	}
	const struct mos_vma vma = m->vmas.v[i];
	m->env.extra_mapped = 0;
	swap_begin(m);
	swap_before_fault(m, vaddr, out);
	bool major = out->major, hit = out->swapcache_hit;
	enum mos_status st = MOS_ENOENT; /* hugetlb VMAs: the pool; the rest: the policy */
	if (ht_kind(vma.flags) >= 0) {
		st = ht_fault(&m->ht, &m->env.mem, &m->env.pt, &vma, vaddr, out);
		if (st == MOS_OK && out->page_shift == MOS_HPAGE_SHIFT)
			m->env.ctr.huge_pages++;
		else if (st == MOS_OK)
			m->env.ctr.gigantic_pages++;
	}
	if (st == MOS_ENOENT) /* not hugetlb, or a MORECORE fault the pool cannot serve */
		st = m->policy->fault(m->policy_state, &m->env, &vma, vaddr, is_write, out);
	note_tables(m);
	if (st == MOS_ENOMEM)
		m->oom_events++;
	if (st != MOS_OK)
		return st;
	out->major = major;
	out->swapcache_hit = hit;
	m->faults++;
	note_mapped(m, ((out->map_len ? out->map_len : out->len) >> MOS_PAGE_SHIFT) +
			       m->env.extra_mapped);
	if (m->sw.nslots) {
		uint64_t lo = out->map_len ? out->map_start : out->start;
		uint64_t hi = lo + (out->map_len ? out->map_len : out->len);
		swap_after_map(m, lo, hi, vaddr, is_write);
		if (out->promoted_len)
			swap_after_map(m, out->promoted_start, out->promoted_start + out->promoted_len,
				       vaddr, is_write);
		swap_readahead(m, vaddr, out);
	}
	return MOS_OK;
}

size_t mos_scan(struct mos *m, uint64_t max_pages, struct mos_range *out, size_t max_out)
{
	if (!m->policy->scan_region || max_out == 0)
		return 0;
	const struct vma_set *s = &m->vmas;
	uint64_t cur = m->scan_cursor, budget = max_pages;
	size_t n = 0;
	swap_begin(m);
	bool wrapped = false;
	while (budget > 0 && n < max_out) {
		size_t i = vma_lower_bound(s, cur);
		if (i == s->n) { /* past the last VMA: wrap once per call */
			if (wrapped || s->n == 0)
				break;
			wrapped = true;
			cur = 0;
			continue;
		}
		const struct mos_vma v = s->v[i];
		if (ht_kind(v.flags) >= 0 && !(v.flags & MOS_VMA_HUGETLB_MORECORE)) {
			cur = v.end; /* only pool pages there: nothing to collapse */
			continue;
		}
		if (cur < v.start)
			cur = v.start;
		uint64_t region = (cur + MOS_HPAGE_SIZE - 1) & ~(MOS_HPAGE_SIZE - 1);
		struct pt_leaf lf;
		if (region >= v.end || !pt_next_leaf(&m->env.pt, region, v.end, &lf)) {
			cur = v.end;
			continue;
		}
		region = lf.vaddr & ~(MOS_HPAGE_SIZE - 1);
		if (region + MOS_HPAGE_SIZE > v.end) {
			cur = v.end;
			continue;
		}
		cur = region + MOS_HPAGE_SIZE;
		if (lf.page_shift != MOS_PAGE_SHIFT) { /* already huge: free to skip */
			if (lf.vaddr + (1ull << lf.page_shift) > cur)
				cur = lf.vaddr + (1ull << lf.page_shift); /* all of a 1 GiB leaf */
			continue;
		}
		budget = budget > MOS_HPAGE_PAGES ? budget - MOS_HPAGE_PAGES : 0;
		m->env.ctr.scan_pages += MOS_HPAGE_PAGES;
		m->env.extra_mapped = 0;
		if (m->policy->scan_region(m->policy_state, &m->env, &v, region)) {
			note_mapped(m, m->env.extra_mapped);
			swap_after_map(m, region, region + MOS_HPAGE_SIZE, UINT64_MAX, false);
			out[n].start = region;
			out[n].len = MOS_HPAGE_SIZE;
			n++;
		}
		note_tables(m);
	}
	m->scan_cursor = cur;
	return n;
}

bool mos_next_mapped(const struct mos *m, uint64_t from, uint64_t end, uint64_t *leaf_vaddr,
		     uint32_t *page_shift)
{
	struct pt_leaf lf;
	if (!pt_next_leaf(&m->env.pt, from, end, &lf))
		return false;
	*leaf_vaddr = lf.vaddr;
	*page_shift = lf.page_shift;
	return true;
}

size_t mos_phys_ranges(const struct mos *m, uint64_t start, uint64_t end,
		       struct mos_phys_range *out, size_t max_out)
{
	size_t n = 0;
	struct mos_phys_range cur = { 0, 0, 0 };
	struct pt_leaf lf;
	for (uint64_t va = start; pt_next_leaf(&m->env.pt, va, end, &lf);) {
		uint64_t size = 1ull << lf.page_shift;
		va = lf.vaddr + size;
		if (cur.len && lf.vaddr == cur.vaddr + cur.len &&
		    lf.pfn == cur.pfn + (cur.len >> MOS_PAGE_SHIFT)) {
			cur.len += size;
			continue;
		}
		if (cur.len && n++ < max_out)
			out[n - 1] = cur;
		cur = (struct mos_phys_range){ lf.vaddr, lf.pfn, size };
	}
	if (cur.len && n++ < max_out)
		out[n - 1] = cur;
	return n;
}

enum mos_status mos_translate(const struct mos *m, uint64_t vaddr, uint64_t *pfn,
			      uint32_t *page_shift)
{
	unsigned shift;
	enum mos_status st = pt_lookup(&m->env.pt, vaddr, pfn, &shift);
	if (st == MOS_OK && page_shift)
		*page_shift = shift;
	return st;
}

unsigned mos_walk_path(const struct mos *m, uint64_t vaddr, uint64_t pte_paddr[MOS_PT_LEVELS])
{
	return pt_walk_path(&m->env.pt, vaddr, pte_paddr);
}

const struct mos_vma *mos_vma_find(const struct mos *m, uint64_t vaddr)
{
	size_t i = vma_find(&m->vmas, vaddr);
	return i == SIZE_MAX ? NULL : &m->vmas.v[i];
}

size_t mos_vma_count(const struct mos *m)
{
	return m->vmas.n;
}

const struct mos_vma *mos_vma_at(const struct mos *m, size_t i)
{
	return i < m->vmas.n ? &m->vmas.v[i] : NULL;
}

void mos_get_stats(const struct mos *m, struct mos_stats *out)
{
	memset(out, 0, sizeof(*out));
	const struct phys *ph = &m->env.mem;
	out->frames_total = ph->nframes;
	out->frames_free = phys_free_frames(ph);
	out->data_frames = m->data_frames;
	out->data_frames_peak = m->data_frames_peak;
	out->pt_pages = pt_tables(&m->env.pt);
	out->pt_pages_peak = m->pt_pages_peak;
	out->faults = m->faults;
	out->refaults = m->refaults;
	out->pages_mapped = m->pages_mapped;
	out->pages_unmapped = m->pages_unmapped;
	out->oom_events = m->oom_events;
	out->vmas = m->vmas.n;
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++) {
		out->free_blocks[k] = phys_free_blocks(ph, k);
		uint64_t fr = out->frames_free;
		out->unusable_index[k] = fr ? (double)unusable_frames(ph, k) / (double)fr : 1.0;
	}
	out->numa_nodes = ph->nnodes;
	for (unsigned n = 0; n < ph->nnodes; n++) {
		out->node_frames[n] = ph->node[n].nframes;
		out->node_frames_free[n] = ph->node[n].frames_free;
		out->node_frames_used[n] = ph->node[n].nframes - ph->node[n].frames_free;
		out->node_allocs[n] = ph->allocs[n];
	}
	out->numa_remote = ph->remote;
	out->numa_spills = ph->spills;
	const struct mos_counters *c = &m->env.ctr;
	out->frames_pinned = m->frames_pinned;
	out->frames_reserved =
		(m->policy->reserved_frames ? m->policy->reserved_frames(m->policy_state) : 0) +
		m->env.ures_count;
	out->reservations = m->policy->reservations ? m->policy->reservations(m->policy_state) : 0;
	out->huge_pages = c->huge_pages;
	out->thp_fault_alloc = c->thp_fault_alloc;
	out->thp_fault_fallback = c->thp_fault_fallback;
	out->thp_split = c->thp_split;
	out->reservations_made = c->reservations_made;
	out->reservation_fallback = c->reservation_fallback;
	out->promotions = c->promotions;
	out->demotions = c->demotions;
	out->demoted_frames = c->demoted_frames;
	out->collapses = c->collapses;
	out->scan_pages = c->scan_pages;
	out->eager_faults = c->eager_faults;
	out->eager_fallbacks = c->eager_fallbacks;
	out->eager_blocks = c->eager_blocks;
	swap_stats(m, out);
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		const struct ht_pool *pl = &m->ht.pool[k];
		out->hugetlb_pages[k] = pl->nr;
		out->hugetlb_free[k] = pl->nfree;
		out->hugetlb_resv[k] = pl->resv;
		out->hugetlb_faults[k] = pl->faults;
		out->hugetlb_morecore_faults[k] = pl->morecore_faults;
		out->hugetlb_fallback[k] = pl->fallbacks;
		out->hugetlb_resv_fail[k] = pl->resv_fail;
	}
	out->gigantic_pages = c->gigantic_pages;
}

enum mos_status mos_set_cpu_node(struct mos *m, unsigned node)
{
	if (node >= m->env.mem.nnodes)
		return MOS_EINVAL;
	m->env.mem.cpu_node = node;
	return MOS_OK;
}

int mos_pfn_node(const struct mos *m, uint64_t pfn)
{
	return pfn < m->env.mem.nframes ? (int)phys_node_of(&m->env.mem, pfn) : -1;
}

unsigned mos_node_distance(const struct mos *m, unsigned from, unsigned to)
{
	const struct phys *p = &m->env.mem;
	return from < p->nnodes && to < p->nnodes ? p->dist[from][to] : 0;
}

bool mos_policy_counter(const struct mos *m, size_t i, const char **name, uint64_t *value)
{
	if (i >= m->env.ncounters)
		return false;
	if (name)
		*name = m->env.counter[i].name;
	if (value)
		*value = m->env.counter[i].value;
	return true;
}

const char *mos_policy_name(const struct mos *m)
{
	return m->policy->name;
}

/* State of the frame-ownership check in mos_check. */
struct own_check {
	const struct mos *m;
	uint8_t *seen; /* one bit per frame: owned by a table page or a leaf */
	uint64_t tables, data_frames, huge, gig;
	uint64_t ht_mapped[MOS_HUGETLB_SIZES]; /* pool leaves per pool */
	uint64_t ht_strict[MOS_HUGETLB_SIZES]; /* of those, in non-MORECORE VMAs */
	char *why;
	size_t why_len;
};

static bool own_frame(struct own_check *c, uint64_t pfn, const char *what)
{
	if (pfn >= c->m->env.mem.nframes)
		return mos_why(c->why, c->why_len, what, pfn);
	if (phys_block_of(&c->m->env.mem, pfn, NULL, NULL) != BUDDY_ALLOC)
		return mos_why(c->why, c->why_len, "frame in use but free in the buddy allocator, pfn", pfn);
	if (c->seen[pfn >> 3] & (1u << (pfn & 7)))
		return mos_why(c->why, c->why_len, "frame used twice, pfn", pfn);
	c->seen[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
	return true;
}

static bool own_visit(void *ctx, bool is_table, uint64_t vaddr, uint64_t pfn, unsigned page_shift)
{
	struct own_check *c = ctx;
	if (is_table) {
		uint64_t head;
		unsigned order;
		if (phys_block_of(&c->m->env.mem, pfn, &head, &order) != BUDDY_ALLOC || head != pfn ||
		    order != 0)
			return mos_why(c->why, c->why_len, "table page is not an allocated order-0 block, pfn",
				       pfn);
		c->tables++;
		return own_frame(c, pfn, "table page beyond memory, pfn");
	}
	uint64_t size = 1ull << page_shift;
	const struct mos_vma *v = mos_vma_find(c->m, vaddr);
	if (!v || vaddr + size > v->end)
		return mos_why(c->why, c->why_len, "mapping outside every VMA at vaddr", vaddr);
	const struct phys *b = &c->m->env.mem;
	uint64_t head = 0;
	unsigned order = 0;
	bool own_block = pfn < b->nframes && phys_block_of(b, pfn, &head, &order) == BUDDY_ALLOC &&
			 head == pfn && order == page_shift - MOS_PAGE_SHIFT;
	/* hugetlb: pool pages only in hugetlb VMAs of their size; strict ones hold nothing else */
	const struct hugetlb *ht = &c->m->ht;
	int vk = ht_kind(v->flags), pk;
	uint64_t idx;
	bool pool = ht_page_of(ht, pfn, &pk, &idx) && ht->pool[pk].shift == page_shift;
	if (pool) {
		if (pk != vk)
			return mos_why(c->why, c->why_len,
				       "hugetlb page mapped outside a hugetlb VMA of its size, vaddr", vaddr);
		if (!ht->pool[pk].in_use[idx])
			return mos_why(c->why, c->why_len, "hugetlb page mapped but free in its pool, pfn",
				       pfn);
		c->ht_mapped[pk]++;
		if (!(v->flags & MOS_VMA_HUGETLB_MORECORE))
			c->ht_strict[pk]++;
	} else if (vk >= 0 && !(v->flags & MOS_VMA_HUGETLB_MORECORE)) {
		return mos_why(c->why, c->why_len, "hugetlb VMA maps a page not from its pool, vaddr",
			       vaddr);
	}
	if (page_shift == MOS_GPAGE_SHIFT) {
		c->gig++;
		if (!pool)
			return mos_why(c->why, c->why_len, "1 GiB leaf is not a hugetlb pool page, pfn", pfn);
	} else if (page_shift == MOS_HPAGE_SHIFT) {
		c->huge++;
		if (!own_block)
			return mos_why(c->why, c->why_len, "2 MiB leaf is not one order-9 block, pfn", pfn);
	} else if (page_shift == MOS_PAGE_SHIFT && !own_block) {
		const struct mos_policy *p = c->m->policy;
		if (!p->owns_subpage ||
		    !p->owns_subpage(c->m->policy_state, &c->m->env, vaddr, pfn))
			return mos_why(c->why, c->why_len,
				       "4 KiB leaf is neither an order-0 block nor a reserved subpage, pfn",
				       pfn);
	}
	for (uint64_t f = 0; f < size >> MOS_PAGE_SHIFT; f++) {
		uint64_t x = pfn + f;
		if (pool) { /* ht_check verifies its blocks: only count it once */
			if (c->seen[x >> 3] & (1u << (x & 7)))
				return mos_why(c->why, c->why_len, "frame used twice, pfn", x);
			c->seen[x >> 3] |= (uint8_t)(1u << (x & 7));
		} else if (!own_frame(c, x, "mapped frame beyond memory, pfn")) {
			return false;
		}
	}
	c->data_frames += size >> MOS_PAGE_SHIFT;
	return true;
}

bool mos_check(const struct mos *m, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!phys_check(&m->env.mem, why, why_len) || !pt_check(&m->env.pt, why, why_len) ||
	    !vma_check(&m->vmas, why, why_len))
		return false;

	const struct mos_allocator *a = &m->env.alloc;
	uint64_t nframes = m->env.mem.nframes;
	size_t bytes = (size_t)((nframes + 7) / 8);
	struct own_check c = { .m = m, .why = why, .why_len = why_len };
	c.seen = a->zalloc(a->ctx, bytes);
	if (!c.seen)
		return mos_why(why, why_len, "host memory for the check refused, bytes", bytes);
	bool ok = pt_for_each(&m->env.pt, own_visit, &c) && swap_check(m, c.seen, why, why_len);
	/* A user policy's reserved frames: allocated, neither mapped nor tables. */
	uint64_t ures = 0;
	for (uint64_t f = 0; ok && m->env.ures && f < nframes; f++) {
		if (!mos_ures_test(&m->env, f))
			continue;
		ures++;
		if (c.seen[f >> 3] & (1u << (f & 7)))
			ok = mos_why(why, why_len, "reserved frame is mapped or a page-table page, pfn", f);
		else if (phys_block_of(&m->env.mem, f, NULL, NULL) != BUDDY_ALLOC)
			ok = mos_why(why, why_len, "reserved frame is free in the buddy allocator, pfn", f);
	}
	a->free(a->ctx, c.seen, bytes);
	if (!ok)
		return false;
	if (ures != m->env.ures_count)
		return mos_why(why, why_len, "reserved frame count differs from the reserved bits:",
			       m->env.ures_count);

	/* Every allocated frame is a table page, mapped data, reserved or pinned. */
	if (c.data_frames != m->data_frames)
		return mos_why(why, why_len, "data_frames counter differs from the mapped frames:",
			       c.data_frames);
	if (c.huge != m->env.ctr.huge_pages)
		return mos_why(why, why_len, "huge_pages counter differs from the 2 MiB leaves:", c.huge);
	if (c.gig != m->env.ctr.gigantic_pages)
		return mos_why(why, why_len, "gigantic_pages counter differs from the 1 GiB leaves:",
			       c.gig);
	/* Every page of a (non-MORECORE) hugetlb VMA is mapped or reserved in its pool. */
	uint64_t ht_resv[MOS_HUGETLB_SIZES] = { 0 };
	for (size_t i = 0; i < m->vmas.n; i++) {
		const struct mos_vma *v = &m->vmas.v[i];
		int k = ht_kind(v->flags);
		if (k >= 0 && !(v->flags & MOS_VMA_HUGETLB_MORECORE))
			ht_resv[k] += (v->end - v->start) >> m->ht.pool[k].shift;
	}
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++)
		ht_resv[k] -= c.ht_strict[k];
	if (!ht_check(&m->ht, &m->env.mem, c.ht_mapped, ht_resv, why, why_len))
		return false;
	uint64_t reserved =
		(m->policy->reserved_frames ? m->policy->reserved_frames(m->policy_state) : 0) +
		m->env.ures_count + m->sw.cache_frames;
	uint64_t owned = c.tables + c.data_frames + reserved + m->frames_pinned +
			 ht_free_frames(&m->ht);
	if (nframes - phys_free_frames(&m->env.mem) != owned)
		return mos_why(why, why_len,
			       "allocated frames not owned by tables, mappings, reservations, pins, "
			       "the swap cache or hugetlb pools:",
			       nframes - phys_free_frames(&m->env.mem) - owned);
	if (m->policy->check && !m->policy->check(m->policy_state, &m->env, why, why_len))
		return false;
	if (m->data_frames_peak < m->data_frames || m->pt_pages_peak < c.tables)
		return mos_why(why, why_len, "a peak counter is below its current value", 0);
	return true;
}
