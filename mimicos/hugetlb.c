/* hugetlbfs-like pools of 2 MiB and 1 GiB pages. See hugetlb.h and mimicos.h. */
#include "hugetlb.h"

#include <string.h>

#define GIG_ORDER (MOS_GPAGE_SHIFT - MOS_PAGE_SHIFT) /* 18: frames of a 1 GiB page */
#define HUGE_ORDER (MOS_HPAGE_SHIFT - MOS_PAGE_SHIFT) /* 9 */
#define SLOT_1G (1u << 31)

static uint64_t page_frames(const struct ht_pool *pl)
{
	return 1ull << (pl->shift - MOS_PAGE_SHIFT);
}

static void *zalloc(struct hugetlb *h, size_t bytes)
{
	return h->alloc.zalloc(h->alloc.ctx, bytes);
}

static void release(struct hugetlb *h, void *p, size_t bytes)
{
	if (p)
		h->alloc.free(h->alloc.ctx, p, bytes);
}

static enum mos_status pool_setup(struct hugetlb *h, struct ht_pool *pl, uint64_t nr)
{
	if (!nr)
		return MOS_OK;
	pl->cap = nr;
	pl->head = zalloc(h, nr * sizeof(*pl->head));
	pl->free = zalloc(h, nr * sizeof(*pl->free));
	pl->in_use = zalloc(h, nr);
	return pl->head && pl->free && pl->in_use ? MOS_OK : MOS_EHOST;
}

/* Page `pl->nr` of pool `kind` starts at pfn: record it, free. */
static void pool_add(struct hugetlb *h, int kind, uint64_t pfn)
{
	struct ht_pool *pl = &h->pool[kind];
	uint64_t idx = pl->nr++;
	pl->head[idx] = pfn;
	pl->free[pl->nfree++] = (uint32_t)idx;
	uint32_t tag = (kind == MOS_HUGETLB_1G ? SLOT_1G : 0) | (uint32_t)(idx + 1);
	for (uint64_t b = pfn >> HUGE_ORDER; b < (pfn + page_frames(pl)) >> HUGE_ORDER; b++)
		h->slot[b] = tag;
}

/*
 * The highest 1 GiB-aligned range of node n whose frames are all free (256
 * free order-10 blocks), taken out of the buddy allocator. False if none.
 */
static bool carve_1g(struct phys *p, unsigned n, uint64_t *pfn)
{
	const uint64_t G = 1ull << GIG_ORDER, sub = 1ull << MOS_MAX_ORDER;
	uint64_t lo = p->start[n], hi = p->start[n + 1];
	if (hi - lo < G)
		return false;
	for (uint64_t g = (hi - G) & ~(G - 1); g >= lo; g -= G) {
		bool all = true;
		for (uint64_t b = g; all && b < g + G; b += sub) {
			uint64_t head;
			unsigned order;
			all = phys_block_of(p, b, &head, &order) == BUDDY_FREE && head == b &&
			      order == MOS_MAX_ORDER;
		}
		if (all) {
			for (uint64_t b = g; b < g + G; b += sub)
				phys_alloc_block_at(p, b, MOS_MAX_ORDER); /* free: cannot fail */
			*pfn = g;
			return true;
		}
		if (g < G)
			break;
	}
	return false;
}

enum mos_status ht_init(struct hugetlb *h, struct phys *p, uint64_t nr_2m, uint64_t nr_1g,
			const struct mos_allocator *alloc)
{
	memset(h, 0, sizeof(*h));
	h->alloc = *alloc;
	h->pool[MOS_HUGETLB_2M].shift = MOS_HPAGE_SHIFT;
	h->pool[MOS_HUGETLB_1G].shift = MOS_GPAGE_SHIFT;
	if (!nr_2m && !nr_1g)
		return MOS_OK;
	/* More pages than memory holds: refuse before sizing arrays by them. */
	if (nr_2m > p->nframes >> HUGE_ORDER || nr_1g > p->nframes >> GIG_ORDER)
		return MOS_ENOMEM;
	h->nblocks = (p->nframes + (1ull << HUGE_ORDER) - 1) >> HUGE_ORDER;
	h->slot = zalloc(h, h->nblocks * sizeof(*h->slot));
	if (!h->slot || pool_setup(h, &h->pool[MOS_HUGETLB_2M], nr_2m) != MOS_OK ||
	    pool_setup(h, &h->pool[MOS_HUGETLB_1G], nr_1g) != MOS_OK)
		return MOS_EHOST;

	/* 1 GiB pages first: they need whole aligned ranges. Nodes round-robin. */
	unsigned node = 0;
	for (uint64_t i = 0; i < nr_1g + nr_2m; i++) {
		bool gig = i < nr_1g, found = false;
		for (unsigned t = 0; t < p->nnodes && !found; t++) {
			unsigned n = (node + t) % p->nnodes;
			uint64_t pfn;
			found = gig ? carve_1g(p, n, &pfn)
				    : phys_alloc_on(p, n, HUGE_ORDER, &pfn) == MOS_OK;
			if (found) {
				pool_add(h, gig ? MOS_HUGETLB_1G : MOS_HUGETLB_2M, pfn);
				node = n + 1;
			}
		}
		if (!found)
			return MOS_ENOMEM;
		if (i + 1 == nr_1g)
			node = 0; /* the 2 MiB pages start their round at node 0 again */
	}
	return MOS_OK;
}

void ht_fini(struct hugetlb *h)
{
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		struct ht_pool *pl = &h->pool[k];
		release(h, pl->head, pl->cap * sizeof(*pl->head));
		release(h, pl->free, pl->cap * sizeof(*pl->free));
		release(h, pl->in_use, pl->cap);
		memset(pl, 0, sizeof(*pl));
	}
	release(h, h->slot, h->nblocks * sizeof(*h->slot));
	h->slot = NULL;
	h->nblocks = 0;
}

int ht_kind(uint32_t flags)
{
	bool m2 = flags & MOS_VMA_HUGETLB_2M, g1 = flags & MOS_VMA_HUGETLB_1G;
	if (m2 == g1)
		return -1;
	return m2 ? MOS_HUGETLB_2M : MOS_HUGETLB_1G;
}

bool ht_page_of(const struct hugetlb *h, uint64_t pfn, int *kind, uint64_t *idx)
{
	if (!h->slot || (pfn >> HUGE_ORDER) >= h->nblocks)
		return false;
	uint32_t s = h->slot[pfn >> HUGE_ORDER];
	if (!s)
		return false;
	int k = s & SLOT_1G ? MOS_HUGETLB_1G : MOS_HUGETLB_2M;
	uint64_t i = (s & ~SLOT_1G) - 1;
	if (i >= h->pool[k].nr || h->pool[k].head[i] != pfn)
		return false;
	*kind = k;
	*idx = i;
	return true;
}

uint64_t ht_free_frames(const struct hugetlb *h)
{
	uint64_t f = 0;
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++)
		f += h->pool[k].nfree * page_frames(&h->pool[k]);
	return f;
}

enum mos_status ht_vma_reserve(struct hugetlb *h, uint32_t flags, uint64_t start, uint64_t len)
{
	bool any = flags & (MOS_VMA_HUGETLB_2M | MOS_VMA_HUGETLB_1G);
	int k = ht_kind(flags);
	if (!any)
		return flags & MOS_VMA_HUGETLB_MORECORE ? MOS_EINVAL : MOS_OK;
	if (k < 0)
		return MOS_EINVAL; /* both sizes */
	if (flags & MOS_VMA_HUGETLB_MORECORE)
		return MOS_OK; /* any page-aligned range: regions not inside fall back */
	struct ht_pool *pl = &h->pool[k];
	uint64_t size = 1ull << pl->shift;
	if ((start | len) & (size - 1))
		return MOS_EINVAL;
	if (pl->nfree - pl->resv < len >> pl->shift) {
		pl->resv_fail++;
		return MOS_ENOMEM;
	}
	pl->resv += len >> pl->shift;
	return MOS_OK;
}

void ht_vma_unreserve(struct hugetlb *h, uint32_t flags, uint64_t len)
{
	int k = ht_kind(flags);
	if (k >= 0 && !(flags & MOS_VMA_HUGETLB_MORECORE))
		h->pool[k].resv -= len >> h->pool[k].shift;
}

/* Pop a free page: the most recently freed one on `node`, else the top. */
static uint64_t take(struct ht_pool *pl, const struct phys *mem, unsigned node)
{
	uint64_t j = pl->nfree - 1;
	if (mem->nnodes > 1)
		for (uint64_t i = pl->nfree; i-- > 0;)
			if (phys_node_of(mem, pl->head[pl->free[i]]) == node) {
				j = i;
				break;
			}
	uint32_t idx = pl->free[j];
	pl->free[j] = pl->free[pl->nfree - 1];
	pl->nfree--;
	pl->in_use[idx] = 1;
	return idx;
}

static void put_back(struct ht_pool *pl, uint64_t idx)
{
	pl->in_use[idx] = 0;
	pl->free[pl->nfree++] = (uint32_t)idx;
}

enum mos_status ht_fault(struct hugetlb *h, struct phys *mem, struct pt *pt,
			 const struct mos_vma *vma, uint64_t vaddr, struct mos_fault_result *out)
{
	struct ht_pool *pl = &h->pool[ht_kind(vma->flags)];
	bool morecore = vma->flags & MOS_VMA_HUGETLB_MORECORE;
	uint64_t size = 1ull << pl->shift, region = vaddr & ~(size - 1);
	struct pt_leaf lf;
	if (morecore && (region < vma->start || region + size > vma->end || pl->nfree <= pl->resv ||
			 pt_next_leaf(pt, region, region + size, &lf))) {
		pl->fallbacks++;
		return MOS_ENOENT;
	}
	if (pl->nfree == 0) /* cannot happen: the VMA reserved its pages */
		return MOS_ENOMEM;
	/* Nothing is mapped in the region: drop empty tables left by earlier mappings. */
	pt_free_tables(pt, region, region + size, region, region + size);
	struct pt_need nd;
	pt_need_init(&nd);
	pt_need_add(pt, &nd, region, pl->shift);
	if (nd.tables > phys_avail(mem))
		return MOS_ENOMEM;
	uint64_t idx = take(pl, mem, mem->cpu_node);
	enum mos_status st = pt_map(pt, region, pl->head[idx], pl->shift);
	if (st != MOS_OK) {
		put_back(pl, idx);
		return st;
	}
	pl->faults++;
	if (morecore)
		pl->morecore_faults++;
	else
		pl->resv--;
	out->start = region;
	out->len = size;
	out->pfn = pl->head[idx] + ((vaddr - region) >> MOS_PAGE_SHIFT);
	out->page_shift = pl->shift;
	out->refault = false;
	return MOS_OK;
}

uint64_t ht_release(struct hugetlb *h, struct pt *pt, const struct mos_vma *vma, uint64_t lo,
		    uint64_t hi, bool vma_going)
{
	int k = ht_kind(vma->flags);
	struct ht_pool *pl = &h->pool[k];
	uint64_t size = 1ull << pl->shift, freed = 0;
	struct pt_leaf lf;
	for (uint64_t cur = lo; cur < hi && pt_next_leaf(pt, cur, hi, &lf);) {
		uint64_t end = lf.vaddr + (1ull << lf.page_shift);
		int kk;
		uint64_t idx;
		if (lf.page_shift == pl->shift && ht_page_of(h, lf.pfn, &kk, &idx) && kk == k) {
			if (lf.vaddr >= lo && end <= hi) {
				pt_unmap(pt, lf.vaddr, NULL, NULL);
				put_back(pl, idx);
				freed++;
			}
			cur = end;
		} else { /* the policy's page: no pool page in this region */
			cur = (end + size - 1) & ~(size - 1);
			if (cur < end)
				break; /* wrapped past the top of the address space */
		}
	}
	if (!(vma->flags & MOS_VMA_HUGETLB_MORECORE)) {
		/* The pages of the part (lo and hi are aligned here) were reserved or mapped. */
		if (vma_going)
			pl->resv -= ((hi - lo) >> pl->shift) - freed;
		else
			pl->resv += freed;
	}
	return freed << (pl->shift - MOS_PAGE_SHIFT);
}

bool ht_check(const struct hugetlb *h, const struct phys *mem, const uint64_t mapped[],
	      const uint64_t reserved[], char *why, size_t why_len)
{
	uint64_t slots = 0, want = 0;
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		const struct ht_pool *pl = &h->pool[k];
		uint64_t frames = page_frames(pl), in_use = 0;
		if (pl->nr > pl->cap || pl->nfree > pl->nr || pl->resv > pl->nfree)
			return mos_why(why, why_len, "hugetlb pool counts broken (nr/free/resv), pool", k);
		for (uint64_t i = 0; i < pl->nfree; i++) {
			uint32_t idx = pl->free[i];
			if (idx >= pl->nr || pl->in_use[idx])
				return mos_why(why, why_len, "hugetlb free list holds a bad or mapped page, index",
					       idx);
			for (uint64_t j = 0; j < i; j++)
				if (pl->free[j] == idx)
					return mos_why(why, why_len, "hugetlb page twice on the free list, index",
						       idx);
		}
		for (uint64_t i = 0; i < pl->nr; i++) {
			uint64_t pfn = pl->head[i];
			in_use += pl->in_use[i];
			if (pfn & (frames - 1) || pfn + frames > mem->nframes)
				return mos_why(why, why_len, "hugetlb page misaligned or beyond memory, pfn", pfn);
			/* Its frames: one order-9 block, or 256 order-10 blocks, all allocated. */
			unsigned order = frames > (1ull << MOS_MAX_ORDER) ? MOS_MAX_ORDER : HUGE_ORDER;
			for (uint64_t b = pfn; b < pfn + frames; b += 1ull << order) {
				uint64_t head;
				unsigned o;
				if (phys_block_of(mem, b, &head, &o) != BUDDY_ALLOC || head != b || o != order)
					return mos_why(why, why_len,
						       "hugetlb page frames are not its allocated blocks, pfn", b);
			}
			if (frames > (1ull << MOS_MAX_ORDER) &&
			    phys_node_of(mem, pfn) != phys_node_of(mem, pfn + frames - 1))
				return mos_why(why, why_len, "1 GiB hugetlb page straddles two nodes, pfn", pfn);
			int kk;
			uint64_t idx;
			if (!ht_page_of(h, pfn, &kk, &idx) || kk != k || idx != i)
				return mos_why(why, why_len, "hugetlb slot does not lead back to the page, pfn",
					       pfn);
			for (uint64_t b = pfn >> HUGE_ORDER; b < (pfn + frames) >> HUGE_ORDER; b++)
				if (h->slot[b] != h->slot[pfn >> HUGE_ORDER])
					return mos_why(why, why_len, "hugetlb slot of a 2 MiB block wrong, block", b);
		}
		if (in_use != pl->nr - pl->nfree)
			return mos_why(why, why_len, "hugetlb in-use pages differ from nr - free, pool", k);
		if (mapped[k] != in_use)
			return mos_why(why, why_len, "hugetlb pages in use differ from the pool leaves mapped:",
				       mapped[k]);
		if (reserved[k] != pl->resv)
			return mos_why(why, why_len,
				       "hugetlb reservations differ from the unmapped pages of hugetlb VMAs:",
				       reserved[k]);
		want += pl->nr * (frames >> HUGE_ORDER);
	}
	for (uint64_t b = 0; b < h->nblocks; b++)
		slots += h->slot[b] != 0;
	if (slots != want)
		return mos_why(why, why_len, "hugetlb slots set for blocks of no pool page:", slots);
	return true;
}
