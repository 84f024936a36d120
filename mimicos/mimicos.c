/*
 * MimicOS core: one emulated machine (struct mos) tying together the buddy
 * allocator, the page table, the VMA set and the allocation policy, plus the
 * statistics. See mimicos/include/mimicos/mimicos.h for the public contract.
 */
#include "mimicos/mimicos.h"

#include <string.h>

#include "buddy.h"
#include "pagetable.h"
#include "policy.h"
#include "vma.h"

#define MOS_MEM_LIMIT (1ull << 44) /* largest emulated memory, bytes */

struct mos {
	struct mos_env env; /* allocator, buddy, page table, fault-around */
	struct vma_set vmas;
	const struct mos_policy *policy;
	void *policy_state;
	bool policy_ready; /* policy->init succeeded */

	uint64_t data_frames, data_frames_peak, pt_pages_peak;
	uint64_t faults, refaults, pages_mapped, pages_unmapped, oom_events;
};

static const struct mos_policy *const policies[] = {
	&mos_policy_baseline,
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
	const struct mos_policy *policy = mos_policy_find(cfg->policy);
	if (cfg->mem_bytes == 0 || (cfg->mem_bytes & (MOS_PAGE_SIZE - 1)) ||
	    cfg->mem_bytes > MOS_MEM_LIMIT || fa == 0 || (fa & (fa - 1)) || !policy)
		return NULL;

	*st = MOS_EHOST;
	struct mos *m = alloc->zalloc(alloc->ctx, sizeof(*m));
	if (!m)
		return NULL;
	m->env.alloc = *alloc;
	m->env.fault_around_pages = fa;
	m->policy = policy;
	vma_set_init(&m->vmas, alloc);
	*st = buddy_init(&m->env.buddy, cfg->mem_bytes >> MOS_PAGE_SHIFT, alloc);
	if (*st == MOS_OK)
		*st = pt_init(&m->env.pt, &m->env.buddy, alloc);
	if (*st == MOS_OK)
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
	pt_fini(&m->env.pt);
	vma_set_fini(&m->vmas);
	buddy_fini(&m->env.buddy);
	struct mos_allocator a = m->env.alloc;
	a.free(a.ctx, m, sizeof(*m));
}

/* Let the policy unmap [start, end) and free its frames; keep the counters. */
static void unmap_pages(struct mos *m, uint64_t start, uint64_t end)
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

enum mos_status mos_vma_add(struct mos *m, uint64_t start, uint64_t len, uint32_t flags)
{
	if (!range_ok(start, len))
		return MOS_EINVAL;
	return vma_insert(&m->vmas, start, start + len, flags);
}

enum mos_status mos_vma_remove(struct mos *m, uint64_t start, uint64_t len)
{
	if (!aligned_ok(start, len))
		return MOS_EINVAL;
	uint64_t end = start + len;
	enum mos_status st = vma_remove_range(&m->vmas, start, end);
	if (st != MOS_OK)
		return st;
	unmap_pages(m, start, end);
	release_tables(m, start, end);
	return MOS_OK;
}

enum mos_status mos_discard(struct mos *m, uint64_t start, uint64_t len)
{
	if (!aligned_ok(start, len))
		return MOS_EINVAL;
	unmap_pages(m, start, start + len);
	return MOS_OK;
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

	/* The new range may overlap only the part being moved. */
	for (size_t i = vma_lower_bound(&m->vmas, new); i < m->vmas.n && m->vmas.v[i].start < new_end;
	     i++)
		if (i != vi || overlaps(new, new_end, v.start, old) ||
		    overlaps(new, new_end, old_end, v.end))
			return MOS_EEXIST;

	/* Plan: leaves must move whole and stay aligned; count the tables needed. */
	uint64_t keep = old_len < new_len ? old_len : new_len;
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
	if (nd.tables > buddy_free_frames(&m->env.buddy))
		return MOS_ENOMEM;
	if (vma_reserve(&m->vmas, 2) != MOS_OK)
		return MOS_EHOST;

	/* Pages beyond new_len go first, so that no moved page can land on one. */
	if (keep < old_len)
		unmap_pages(m, old + keep, old_end);
	enum mos_status st = move_leaves(m, old, old + keep, new);
	note_tables(m);
	if (st != MOS_OK)
		return st;
	vma_remove_range(&m->vmas, old, old_end);      /* room reserved: cannot fail */
	vma_insert(&m->vmas, new, new_end, v.flags); /* no overlap, room reserved */
	release_tables(m, old, old_end);
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
	enum mos_status st = m->policy->fault(m->policy_state, &m->env, &vma, vaddr, is_write, out);
	note_tables(m);
	if (st == MOS_ENOMEM)
		m->oom_events++;
	if (st != MOS_OK)
		return st;
	uint64_t pages = out->len >> MOS_PAGE_SHIFT;
	m->faults++;
	m->pages_mapped += pages;
	m->data_frames += pages;
	if (m->data_frames > m->data_frames_peak)
		m->data_frames_peak = m->data_frames;
	return MOS_OK;
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
	out->frames_total = m->env.buddy.nframes;
	out->frames_free = buddy_free_frames(&m->env.buddy);
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
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++)
		out->free_blocks[k] = buddy_free_blocks(&m->env.buddy, k);
}

const char *mos_policy_name(const struct mos *m)
{
	return m->policy->name;
}

/* State of the frame-ownership check in mos_check. */
struct own_check {
	const struct mos *m;
	uint8_t *seen; /* one bit per frame: owned by a table page or a leaf */
	uint64_t tables, data_frames;
	char *why;
	size_t why_len;
};

static bool own_frame(struct own_check *c, uint64_t pfn, const char *what)
{
	if (pfn >= c->m->env.buddy.nframes)
		return mos_why(c->why, c->why_len, what, pfn);
	if (buddy_block_of(&c->m->env.buddy, pfn, NULL, NULL) != BUDDY_ALLOC)
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
		if (buddy_block_of(&c->m->env.buddy, pfn, &head, &order) != BUDDY_ALLOC || head != pfn ||
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
	for (uint64_t f = 0; f < size >> MOS_PAGE_SHIFT; f++)
		if (!own_frame(c, pfn + f, "mapped frame beyond memory, pfn"))
			return false;
	c->data_frames += size >> MOS_PAGE_SHIFT;
	return true;
}

bool mos_check(const struct mos *m, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!buddy_check(&m->env.buddy, why, why_len) || !pt_check(&m->env.pt, why, why_len) ||
	    !vma_check(&m->vmas, why, why_len))
		return false;

	const struct mos_allocator *a = &m->env.alloc;
	uint64_t nframes = m->env.buddy.nframes;
	size_t bytes = (size_t)((nframes + 7) / 8);
	struct own_check c = { .m = m, .why = why, .why_len = why_len };
	c.seen = a->zalloc(a->ctx, bytes);
	if (!c.seen)
		return mos_why(why, why_len, "host memory for the check refused, bytes", bytes);
	bool ok = pt_for_each(&m->env.pt, own_visit, &c);
	a->free(a->ctx, c.seen, bytes);
	if (!ok)
		return false;

	/* Every allocated frame is a table page or mapped data (baseline holds no others). */
	if (c.data_frames != m->data_frames)
		return mos_why(why, why_len, "data_frames counter differs from the mapped frames:",
			       c.data_frames);
	if (nframes - buddy_free_frames(&m->env.buddy) != c.tables + c.data_frames)
		return mos_why(why, why_len, "allocated frames not owned by tables or mappings:",
			       nframes - buddy_free_frames(&m->env.buddy) - c.tables - c.data_frames);
	if (m->data_frames_peak < m->data_frames || m->pt_pages_peak < c.tables)
		return mos_why(why, why_len, "a peak counter is below its current value", 0);
	return true;
}
