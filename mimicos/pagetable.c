/* 4-level x86-64 radix page table. See pagetable.h. */
#include "pagetable.h"

#define PTE_TABLE (PTE_P | PTE_RW | PTE_US) /* entry pointing to a table */
#define PTE_LEAF (PTE_P | PTE_RW | PTE_US)  /* leaf entry, plus PTE_PS when huge */

/* log2 of the bytes one entry of a level-L table covers. */
static inline unsigned entry_shift(unsigned level)
{
	return MOS_PAGE_SHIFT + 9u * level;
}

static inline unsigned pt_index(uint64_t vaddr, unsigned level)
{
	return (unsigned)(vaddr >> entry_shift(level)) & (PT_ENTRIES - 1);
}

static inline uint64_t pte_pfn(uint64_t e)
{
	return (e & PTE_PFN_MASK) >> MOS_PAGE_SHIFT;
}

static inline bool pte_is_leaf(uint64_t e, unsigned level)
{
	return level == PT_LEVEL_PT || (e & PTE_PS);
}

static size_t node_bytes(unsigned level)
{
	return sizeof(struct pt_node) + (level > PT_LEVEL_PT ? PT_ENTRIES * sizeof(struct pt_node *) : 0);
}

/* Leaf level for a page size, or -1. */
static int leaf_level(unsigned page_shift)
{
	switch (page_shift) {
	case MOS_PAGE_SHIFT: return PT_LEVEL_PT;
	case MOS_HPAGE_SHIFT: return PT_LEVEL_PD;
	case MOS_GPAGE_SHIFT: return PT_LEVEL_PDPT;
	default: return -1;
	}
}

static void frame_free(struct pt *pt, uint64_t pfn)
{
	if (pt->phys)
		phys_free(pt->phys, pfn, 0);
	else
		buddy_free(pt->buddy, pfn, 0);
}

static enum mos_status node_alloc(struct pt *pt, unsigned level, struct pt_node **out)
{
	uint64_t pfn;
	enum mos_status st = pt->phys ? phys_alloc(pt->phys, 0, PHYS_NO_ADDR, &pfn)
				      : buddy_alloc(pt->buddy, 0, &pfn);
	if (st != MOS_OK)
		return st;
	struct pt_node *n = pt->alloc.zalloc(pt->alloc.ctx, node_bytes(level));
	if (!n) {
		frame_free(pt, pfn);
		return MOS_EHOST;
	}
	n->pfn = pfn;
	n->level = (uint8_t)level;
	*out = n;
	return MOS_OK;
}

static void node_free(struct pt *pt, struct pt_node *n)
{
	frame_free(pt, n->pfn);
	pt->alloc.free(pt->alloc.ctx, n, node_bytes(n->level));
}

enum mos_status pt_init(struct pt *pt, struct buddy *buddy, const struct mos_allocator *alloc)
{
	pt->buddy = buddy;
	pt->phys = NULL;
	pt->alloc = *alloc;
	pt->root = NULL;
	pt->tables = 0;
	enum mos_status st = node_alloc(pt, PT_LEVEL_PML4, &pt->root);
	if (st == MOS_OK)
		pt->tables = 1;
	return st;
}

enum mos_status pt_init_phys(struct pt *pt, struct phys *phys, const struct mos_allocator *alloc)
{
	pt->buddy = NULL;
	pt->phys = phys;
	pt->alloc = *alloc;
	pt->root = NULL;
	pt->tables = 0;
	enum mos_status st = node_alloc(pt, PT_LEVEL_PML4, &pt->root);
	if (st == MOS_OK)
		pt->tables = 1;
	return st;
}

static void free_subtree(struct pt *pt, struct pt_node *n)
{
	if (n->level > PT_LEVEL_PT)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (n->child[i])
				free_subtree(pt, n->child[i]);
	node_free(pt, n);
}

void pt_fini(struct pt *pt)
{
	if (pt->root)
		free_subtree(pt, pt->root);
	pt->root = NULL;
	pt->tables = 0;
}

enum mos_status pt_map(struct pt *pt, uint64_t vaddr, uint64_t pfn, unsigned page_shift)
{
	int leaf = leaf_level(page_shift);
	if (leaf < 0)
		return MOS_EINVAL;
	uint64_t size = 1ull << page_shift, frames = size >> MOS_PAGE_SHIFT;
	if ((vaddr & (size - 1)) || vaddr >= PT_VA_LIMIT || (pfn & (frames - 1)) ||
	    pfn > (PTE_PFN_MASK >> MOS_PAGE_SHIFT))
		return MOS_EINVAL;

	/* Walk as far as tables exist. */
	struct pt_node *n = pt->root;
	unsigned level = PT_LEVEL_PML4;
	while (level > (unsigned)leaf) {
		uint64_t e = n->pte[pt_index(vaddr, level)];
		if (!(e & PTE_P))
			break;
		if (e & PTE_PS)
			return MOS_EEXIST; /* a huge leaf covers vaddr */
		n = n->child[pt_index(vaddr, level)];
		level--;
	}
	if (level == (unsigned)leaf && (n->pte[pt_index(vaddr, level)] & PTE_P))
		return MOS_EEXIST;

	/* Allocate every missing table first, so a failure changes nothing. */
	struct pt_node *fresh[MOS_PT_LEVELS - 1];
	unsigned nfresh = level - (unsigned)leaf;
	for (unsigned i = 0; i < nfresh; i++) {
		enum mos_status st = node_alloc(pt, level - 1 - i, &fresh[i]);
		if (st != MOS_OK) {
			while (i--)
				node_free(pt, fresh[i]);
			return st;
		}
	}
	for (unsigned i = 0; i < nfresh; i++) {
		unsigned ix = pt_index(vaddr, level);
		n->pte[ix] = (fresh[i]->pfn << MOS_PAGE_SHIFT) | PTE_TABLE;
		n->child[ix] = fresh[i];
		n->used++;
		n = fresh[i];
		level--;
	}
	n->pte[pt_index(vaddr, level)] =
		(pfn << MOS_PAGE_SHIFT) | PTE_LEAF | (level > PT_LEVEL_PT ? PTE_PS : 0);
	n->used++;
	pt->tables += nfresh;
	return MOS_OK;
}

/* The node and level holding the leaf entry for vaddr, or NULL. */
static struct pt_node *find_leaf(const struct pt *pt, uint64_t vaddr, unsigned *level)
{
	if (vaddr >= PT_VA_LIMIT)
		return NULL;
	struct pt_node *n = pt->root;
	for (unsigned l = PT_LEVEL_PML4;; l--) {
		uint64_t e = n->pte[pt_index(vaddr, l)];
		if (!(e & PTE_P))
			return NULL;
		if (pte_is_leaf(e, l)) {
			*level = l;
			return n;
		}
		n = n->child[pt_index(vaddr, l)];
	}
}

enum mos_status pt_unmap(struct pt *pt, uint64_t vaddr, uint64_t *pfn, unsigned *page_shift)
{
	unsigned l;
	struct pt_node *n = find_leaf(pt, vaddr, &l);
	if (!n)
		return MOS_ENOENT;
	unsigned ix = pt_index(vaddr, l);
	if (pfn)
		*pfn = pte_pfn(n->pte[ix]);
	if (page_shift)
		*page_shift = entry_shift(l);
	n->pte[ix] = 0;
	n->used--;
	return MOS_OK;
}

enum mos_status pt_lookup(const struct pt *pt, uint64_t vaddr, uint64_t *pfn,
			  unsigned *page_shift)
{
	unsigned l;
	const struct pt_node *n = find_leaf(pt, vaddr, &l);
	if (!n)
		return MOS_ENOENT;
	unsigned sh = entry_shift(l);
	if (pfn)
		*pfn = pte_pfn(n->pte[pt_index(vaddr, l)]) +
		       ((vaddr & ((1ull << sh) - 1)) >> MOS_PAGE_SHIFT);
	if (page_shift)
		*page_shift = sh;
	return MOS_OK;
}

int pt_table_used(const struct pt *pt, uint64_t vaddr, unsigned level)
{
	if (vaddr >= PT_VA_LIMIT || level > PT_LEVEL_PML4)
		return -1;
	const struct pt_node *n = pt->root;
	for (unsigned l = PT_LEVEL_PML4; l > level; l--) {
		uint64_t e = n->pte[pt_index(vaddr, l)];
		if (!(e & PTE_P))
			return 0;
		if (pte_is_leaf(e, l))
			return -1;
		n = n->child[pt_index(vaddr, l)];
	}
	return n->used;
}

unsigned pt_walk_path(const struct pt *pt, uint64_t vaddr, uint64_t paddr[MOS_PT_LEVELS])
{
	if (vaddr >= PT_VA_LIMIT)
		return 0;
	const struct pt_node *n = pt->root;
	unsigned count = 0;
	for (unsigned l = PT_LEVEL_PML4;; l--) {
		unsigned ix = pt_index(vaddr, l);
		paddr[count++] = (n->pfn << MOS_PAGE_SHIFT) + ix * sizeof(uint64_t);
		uint64_t e = n->pte[ix];
		if (!(e & PTE_P) || pte_is_leaf(e, l))
			return count;
		n = n->child[ix];
	}
}

/* First entry index of a table covering [base, ...) that may overlap addresses >= from. */
static inline unsigned first_index(uint64_t base, uint64_t from, unsigned level)
{
	return from > base ? (unsigned)((from - base) >> entry_shift(level)) : 0;
}

static uint64_t unmap_rec(struct pt_node *n, unsigned level, uint64_t base, uint64_t start,
			  uint64_t end, void (*fn)(void *, const struct pt_leaf *), void *ctx)
{
	unsigned sh = entry_shift(level);
	uint64_t span = 1ull << sh, pages = 0;
	for (unsigned i = first_index(base, start, level); i < PT_ENTRIES; i++) {
		uint64_t va = base + (uint64_t)i * span;
		if (va >= end)
			break;
		uint64_t e = n->pte[i];
		if (!(e & PTE_P))
			continue;
		if (!pte_is_leaf(e, level)) {
			pages += unmap_rec(n->child[i], level - 1, va, start, end, fn, ctx);
			continue;
		}
		if (va < start || va + span > end)
			continue; /* huge leaf only partly inside */
		struct pt_leaf leaf = { .vaddr = va, .pfn = pte_pfn(e), .page_shift = sh };
		n->pte[i] = 0;
		n->used--;
		pages += span >> MOS_PAGE_SHIFT;
		if (fn)
			fn(ctx, &leaf);
	}
	return pages;
}

uint64_t pt_unmap_range(struct pt *pt, uint64_t start, uint64_t end,
			void (*fn)(void *ctx, const struct pt_leaf *leaf), void *ctx)
{
	if (end > PT_VA_LIMIT)
		end = PT_VA_LIMIT;
	if (start >= end)
		return 0;
	return unmap_rec(pt->root, PT_LEVEL_PML4, 0, start, end, fn, ctx);
}

static uint64_t free_rec(struct pt *pt, struct pt_node *n, unsigned level, uint64_t base,
			 uint64_t start, uint64_t end, uint64_t floor, uint64_t ceiling)
{
	unsigned sh = entry_shift(level);
	uint64_t span = 1ull << sh, freed = 0;
	for (unsigned i = first_index(base, start, level); i < PT_ENTRIES; i++) {
		uint64_t va = base + (uint64_t)i * span;
		if (va >= end)
			break;
		uint64_t e = n->pte[i];
		if (!(e & PTE_P) || pte_is_leaf(e, level))
			continue;
		struct pt_node *c = n->child[i];
		if (c->level > PT_LEVEL_PT)
			freed += free_rec(pt, c, c->level, va, start, end, floor, ceiling);
		if (c->used == 0 && va >= floor && va + span <= ceiling) {
			n->pte[i] = 0;
			n->child[i] = NULL;
			n->used--;
			node_free(pt, c);
			pt->tables--;
			freed++;
		}
	}
	return freed;
}

uint64_t pt_free_tables(struct pt *pt, uint64_t start, uint64_t end, uint64_t floor,
			uint64_t ceiling)
{
	if (end > PT_VA_LIMIT)
		end = PT_VA_LIMIT;
	if (start >= end)
		return 0;
	return free_rec(pt, pt->root, PT_LEVEL_PML4, 0, start, end, floor, ceiling);
}

static bool next_rec(const struct pt_node *n, unsigned level, uint64_t base, uint64_t from,
		     uint64_t end, struct pt_leaf *out)
{
	unsigned sh = entry_shift(level);
	uint64_t span = 1ull << sh;
	for (unsigned i = first_index(base, from, level); i < PT_ENTRIES; i++) {
		uint64_t va = base + (uint64_t)i * span;
		if (va >= end)
			return false;
		uint64_t e = n->pte[i];
		if (!(e & PTE_P))
			continue;
		if (pte_is_leaf(e, level)) {
			*out = (struct pt_leaf){ .vaddr = va, .pfn = pte_pfn(e), .page_shift = sh };
			return true;
		}
		if (next_rec(n->child[i], level - 1, va, from, end, out))
			return true;
	}
	return false;
}

bool pt_next_leaf(const struct pt *pt, uint64_t from, uint64_t end, struct pt_leaf *out)
{
	if (end > PT_VA_LIMIT)
		end = PT_VA_LIMIT;
	if (from >= end)
		return false;
	return next_rec(pt->root, PT_LEVEL_PML4, 0, from, end, out);
}

static bool prev_rec(const struct pt_node *n, unsigned level, uint64_t base, uint64_t start,
		     uint64_t before, struct pt_leaf *out)
{
	unsigned sh = entry_shift(level);
	uint64_t span = 1ull << sh, last = before - 1;
	int i = last - base >= (uint64_t)PT_ENTRIES * span ? (int)PT_ENTRIES - 1
							    : (int)((last - base) >> sh);
	for (; i >= 0; i--) {
		uint64_t va = base + (uint64_t)i * span;
		if (va + span <= start)
			return false;
		uint64_t e = n->pte[i];
		if (!(e & PTE_P))
			continue;
		if (pte_is_leaf(e, level)) {
			*out = (struct pt_leaf){ .vaddr = va, .pfn = pte_pfn(e), .page_shift = sh };
			return true;
		}
		if (prev_rec(n->child[i], level - 1, va, start, before, out))
			return true;
	}
	return false;
}

bool pt_prev_leaf(const struct pt *pt, uint64_t start, uint64_t before, struct pt_leaf *out)
{
	if (before > PT_VA_LIMIT)
		before = PT_VA_LIMIT;
	if (start >= before)
		return false;
	return prev_rec(pt->root, PT_LEVEL_PML4, 0, start, before, out);
}

void pt_need_init(struct pt_need *nd)
{
	for (unsigned l = 0; l < MOS_PT_LEVELS; l++)
		nd->last[l] = UINT64_MAX;
	nd->tables = 0;
}

void pt_need_add(const struct pt *pt, struct pt_need *nd, uint64_t vaddr, unsigned page_shift)
{
	int leaf = leaf_level(page_shift);
	if (leaf < 0 || vaddr >= PT_VA_LIMIT)
		return;
	const struct pt_node *n = pt->root;
	unsigned level = PT_LEVEL_PML4;
	while (level > (unsigned)leaf) {
		uint64_t e = n->pte[pt_index(vaddr, level)];
		if (!(e & PTE_P))
			break;
		if (e & PTE_PS)
			return; /* the map would fail with MOS_EEXIST */
		n = n->child[pt_index(vaddr, level)];
		level--;
	}
	/* Tables of levels level-1 .. leaf are missing; a level-M table covers
	 * one entry of level M+1. */
	for (unsigned m = level; m-- > (unsigned)leaf;) {
		uint64_t region = vaddr >> entry_shift(m + 1);
		if (nd->last[m] != region) {
			nd->last[m] = region;
			nd->tables++;
		}
	}
}

static bool each_rec(const struct pt_node *n, uint64_t base,
		     bool (*fn)(void *, bool, uint64_t, uint64_t, unsigned), void *ctx)
{
	if (!fn(ctx, true, base, n->pfn, MOS_PAGE_SHIFT))
		return false;
	unsigned level = n->level, sh = entry_shift(level);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = n->pte[i], va = base + ((uint64_t)i << sh);
		if (!(e & PTE_P))
			continue;
		if (pte_is_leaf(e, level)) {
			if (!fn(ctx, false, va, pte_pfn(e), sh))
				return false;
		} else if (!each_rec(n->child[i], va, fn, ctx)) {
			return false;
		}
	}
	return true;
}

bool pt_for_each(const struct pt *pt,
		 bool (*fn)(void *ctx, bool is_table, uint64_t vaddr, uint64_t pfn,
			    unsigned page_shift),
		 void *ctx)
{
	return each_rec(pt->root, 0, fn, ctx);
}

static bool check_rec(const struct pt_node *n, unsigned level, uint64_t *count, char *why,
		      size_t why_len)
{
	(*count)++;
	if (n->level != level)
		return mos_why(why, why_len, "table page at the wrong level, pfn", n->pfn);
	unsigned used = 0;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = n->pte[i];
		const struct pt_node *c = level > PT_LEVEL_PT ? n->child[i] : NULL;
		if (!(e & PTE_P)) {
			if (e || c)
				return mos_why(why, why_len, "stray bits in an empty entry of table pfn", n->pfn);
			continue;
		}
		used++;
		uint64_t flags = e & ~PTE_PFN_MASK;
		if (level == PT_LEVEL_PT || (e & PTE_PS)) {
			if (level == PT_LEVEL_PML4)
				return mos_why(why, why_len, "PS set in a PML4 entry, table pfn", n->pfn);
			if (flags != (PTE_LEAF | (level > PT_LEVEL_PT ? PTE_PS : 0)))
				return mos_why(why, why_len, "bad leaf flags in table pfn", n->pfn);
			if (pte_pfn(e) & ((1ull << (9u * level)) - 1))
				return mos_why(why, why_len, "huge leaf frame not aligned, pfn", pte_pfn(e));
			if (c)
				return mos_why(why, why_len, "leaf entry with a child table, table pfn", n->pfn);
		} else {
			if (flags != PTE_TABLE)
				return mos_why(why, why_len, "bad table-entry flags in table pfn", n->pfn);
			if (!c || c->pfn != pte_pfn(e))
				return mos_why(why, why_len, "child pointer does not match the entry in table pfn",
					       n->pfn);
			if (!check_rec(c, level - 1, count, why, why_len))
				return false;
		}
	}
	if (used != n->used)
		return mos_why(why, why_len, "used-entry count wrong in table pfn", n->pfn);
	return true;
}

bool pt_check(const struct pt *pt, char *why, size_t why_len)
{
	if (!pt->root)
		return mos_why(why, why_len, "no PML4, tables", pt->tables);
	uint64_t count = 0;
	if (!check_rec(pt->root, PT_LEVEL_PML4, &count, why, why_len))
		return false;
	if (count != pt->tables)
		return mos_why(why, why_len, "table-page count wrong, found", count);
	return true;
}
