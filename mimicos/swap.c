/*
 * Swap slots, swap cache, readahead, refault distance and reclaim (see
 * "Swap and reclaim" in mimicos.h). Internal to MimicOS.
 *
 * A page's swap copy is an entry VPN -> slot in sw.map. The entry of a
 * mapped page (SLOT_RESIDENT) is its clean copy; any other entry is a
 * swapped-out page, whose contents may also sit in a swap-cache frame
 * (SLOT_CACHED, read ahead). Resident pages are reclaim units in sw.rc,
 * keyed by the VPN of a 4 KiB page or of the first page of a 2 MiB page
 * (RC_HUGE); the tracker is validated lazily against the page table when a
 * victim is chosen, so policy-internal remappings (promotions, collapses,
 * splits) need no hook.
 */
#include <math.h>
#include <string.h>

#include "core.h"

#define PG MOS_PAGE_SIZE
#define VPN(va) ((va) >> MOS_PAGE_SHIFT)

static void *zalloc(struct mos *m, size_t n)
{
	return m->env.alloc.zalloc(m->env.alloc.ctx, n);
}

static void hfree(struct mos *m, void *p, size_t n)
{
	if (p)
		m->env.alloc.free(m->env.alloc.ctx, p, n);
}

/* Linux's watermarks for a zone of `frames` frames (see mos_config). */
static void watermarks(struct swap *sw, uint64_t frames, uint64_t min_frames)
{
	if (!min_frames) {
		double kb = sqrt((double)frames * 4.0 * 16.0);
		if (kb < 128)
			kb = 128;
		if (kb > 262144)
			kb = 262144;
		min_frames = (uint64_t)kb / 4;
	}
	uint64_t step = min_frames / 4;
	if (step < frames / 1000)
		step = frames / 1000;
	sw->wmark[0] = min_frames;
	sw->wmark[1] = min_frames + step;
	sw->wmark[2] = min_frames + 2 * step;
}

enum mos_status swap_init(struct mos *m, const struct mos_config *cfg)
{
	struct swap *sw = &m->sw;
	sw->cache_head = sw->cache_tail = SWAP_NIL;
	sw->last_swapin_vpn = UINT64_MAX;
	u64map_init(&sw->map, &m->env.alloc);
	enum mos_status st = rc_init(&sw->rc, cfg->reclaim_policy, cfg->reclaim_tau, &m->env.alloc);
	if (st != MOS_OK || !cfg->swap_pages)
		return st;
	if (cfg->swap_pages >= SWAP_NIL)
		return MOS_EINVAL;
	sw->info = zalloc(m, cfg->swap_pages * sizeof *sw->info);
	if (!sw->info)
		return MOS_EHOST;
	sw->nslots = cfg->swap_pages;
	sw->thp_whole = cfg->swap_thp_whole;
	sw->ra_max = cfg->swap_readahead ? cfg->swap_readahead : 1;
	sw->ra_window = 1;
	watermarks(sw, m->env.mem.nframes, cfg->wmark_min_frames);
	return MOS_OK;
}

void swap_fini(struct mos *m)
{
	struct swap *sw = &m->sw;
	hfree(m, sw->info, sw->nslots * sizeof *sw->info);
	hfree(m, sw->pending, sw->pending_cap * sizeof *sw->pending);
	hfree(m, sw->to_free, sw->free_cap * sizeof *sw->to_free);
	u64map_fini(&sw->map);
	rc_fini(&sw->rc);
	memset(sw, 0, sizeof *sw);
}

/* ------------------------------------------------------------- slots */

static void slot_take(struct swap *sw, uint64_t s, uint64_t vpn)
{
	sw->info[s] = (struct swap_slot){ .vpn = vpn, .flags = SLOT_USED,
					  .prev = SWAP_NIL, .next = SWAP_NIL };
	if (++sw->used > sw->used_peak)
		sw->used_peak = sw->used;
}

/* A free slot (next fit from the cursor), or UINT64_MAX. */
static uint64_t slot_alloc(struct swap *sw, uint64_t vpn)
{
	for (uint64_t k = 0; k < sw->nslots; k++) {
		uint64_t s = (sw->cursor + k) % sw->nslots;
		if (!(sw->info[s].flags & SLOT_USED)) {
			slot_take(sw, s, vpn);
			sw->cursor = s + 1;
			return s;
		}
	}
	return UINT64_MAX;
}

/* 512 free slots starting at a multiple of 512 (a cluster), or UINT64_MAX. */
static uint64_t cluster_alloc(struct swap *sw, uint64_t vpn)
{
	for (uint64_t c = 0; c + MOS_HPAGE_PAGES <= sw->nslots; c += MOS_HPAGE_PAGES) {
		uint64_t i = 0;
		while (i < MOS_HPAGE_PAGES && !(sw->info[c + i].flags & SLOT_USED))
			i++;
		if (i == MOS_HPAGE_PAGES) {
			for (i = 0; i < MOS_HPAGE_PAGES; i++)
				slot_take(sw, c + i, vpn + i);
			return c;
		}
	}
	return UINT64_MAX;
}

static void cache_unlink(struct swap *sw, uint64_t s)
{
	struct swap_slot *x = &sw->info[s];
	if (x->prev != SWAP_NIL)
		sw->info[x->prev].next = x->next;
	else
		sw->cache_head = x->next;
	if (x->next != SWAP_NIL)
		sw->info[x->next].prev = x->prev;
	else
		sw->cache_tail = x->prev;
	x->prev = x->next = SWAP_NIL;
}

/* Drop slot s's swap-cache frame, if any (wasted when it was never used). */
static void cache_drop(struct mos *m, uint64_t s, bool used)
{
	struct swap *sw = &m->sw;
	struct swap_slot *x = &sw->info[s];
	if (!(x->flags & SLOT_CACHED))
		return;
	cache_unlink(sw, s);
	phys_free(&m->env.mem, x->cache_pfn, 0);
	sw->cache_frames--;
	if (x->flags & SLOT_RA) {
		if (used)
			sw->ctr.readahead_hits++;
		else
			sw->ctr.readahead_wasted++;
	}
	x->flags &= (uint8_t)~(SLOT_CACHED | SLOT_RA);
}

static void slot_free(struct mos *m, uint64_t s)
{
	struct swap *sw = &m->sw;
	cache_drop(m, s, false);
	sw->info[s].flags = 0;
	sw->used--;
}

/* ------------------------------------------------------- fault path */

static bool push(struct mos *m, void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *na = zalloc(m, ncap * elem);
	if (!na)
		return false;
	if (*arr) {
		memcpy(na, *arr, *cap * elem);
		hfree(m, *arr, *cap * elem);
	}
	*arr = na;
	*cap = ncap;
	return true;
}

void swap_begin(struct mos *m)
{
	mos_swapin_done(m);
	m->sw.npending = m->sw.pending_read = 0;
}

void swap_before_fault(struct mos *m, uint64_t vaddr, struct mos_fault_result *out)
{
	struct swap *sw = &m->sw;
	uint64_t s;
	if (!sw->nslots || !u64map_get(&sw->map, VPN(vaddr), &s))
		return;
	if (sw->info[s].flags & SLOT_CACHED) {
		/* minor fault: the policy maps a fresh frame, the cached one goes */
		cache_drop(m, s, true);
		out->swapcache_hit = true;
	} else {
		out->major = true;
	}
}

/* State of one swap_after_map pass. */
struct consume {
	struct mos *m;
	uint64_t fault_vpn;
	bool is_write;
};

static bool consume_one(void *ctx, uint64_t vpn, uint64_t s)
{
	struct consume *c = ctx;
	struct mos *m = c->m;
	struct swap *sw = &m->sw;
	struct swap_slot *x = &sw->info[s];
	if (x->flags & SLOT_RESIDENT)
		return false; /* a clean copy of a page mapped before */
	unsigned shift = 0;
	if (pt_lookup(&m->env.pt, vpn << MOS_PAGE_SHIFT, NULL, &shift) != MOS_OK)
		return false; /* inside the range but not mapped (eager hole) */
	cache_drop(m, s, true);
	/* refault distance (mm/workingset.c workingset_refault) */
	uint64_t dist = sw->age - x->shadow;
	unsigned k = 0;
	while (k < 15 && (dist >> (k + 1)))
		k++;
	sw->ctr.distance[k]++;
	sw->ctr.refaults++;
	if (dist <= m->data_frames)
		sw->ctr.activate++;
	sw->ctr.swapins++;
	bool keep = shift == MOS_PAGE_SHIFT && !(vpn == c->fault_vpn && c->is_write);
	if (push(m, (void **)&sw->pending, &sw->pending_cap, sw->npending, sizeof *sw->pending))
		sw->pending[sw->npending++] =
			(struct mos_swapin){ vpn << MOS_PAGE_SHIFT, s, keep };
	else
		keep = false; /* no host memory: the page reads as zero; counted */
	if (keep) {
		x->flags |= SLOT_RESIDENT;
		return false;
	}
	if (push(m, (void **)&sw->to_free, &sw->free_cap, sw->nfree, sizeof *sw->to_free))
		sw->to_free[sw->nfree++] = s;
	else
		slot_free(m, s);
	return true; /* the entry goes; the slot is freed once read */
}

/* pfn is the first frame of a hugetlb pool page (never swapped, as in Linux). */
static bool is_pool_page(const struct mos *m, uint64_t pfn)
{
	int kind;
	uint64_t idx;
	return ht_page_of(&m->ht, pfn, &kind, &idx);
}

/* Track the leaves of [lo, hi) as resident units. */
static void track_leaves(struct mos *m, uint64_t lo, uint64_t hi, uint64_t fault_va, bool is_write)
{
	struct pt_leaf lf;
	for (uint64_t va = lo; pt_next_leaf(&m->env.pt, va, hi, &lf);) {
		uint64_t size = 1ull << lf.page_shift;
		va = lf.vaddr + size;
		if (is_pool_page(m, lf.pfn))
			continue; /* hugetlb pool pages are never swapped, as in Linux */
		bool here = fault_va >= lf.vaddr && fault_va < lf.vaddr + size;
		uint64_t s;
		bool clean = lf.page_shift == MOS_PAGE_SHIFT &&
			     u64map_get(&m->sw.map, VPN(lf.vaddr), &s) &&
			     (m->sw.info[s].flags & SLOT_RESIDENT);
		uint8_t fl = (uint8_t)((clean ? 0 : RC_DIRTY) |
				       (lf.page_shift == MOS_PAGE_SHIFT ? 0 : RC_HUGE) |
				       (here ? RC_REF : 0) | (here && is_write ? RC_DIRTY : 0));
		rc_insert(&m->sw.rc, VPN(lf.vaddr), fl, m->sw.now);
	}
}

void swap_after_map(struct mos *m, uint64_t lo, uint64_t hi, uint64_t vaddr, bool is_write)
{
	struct swap *sw = &m->sw;
	if (!sw->nslots || lo >= hi)
		return;
	struct consume c = { m, vaddr == UINT64_MAX ? UINT64_MAX : VPN(vaddr), is_write };
	u64map_range(&sw->map, VPN(lo), VPN(hi), consume_one, &c);
	track_leaves(m, lo, hi, vaddr, is_write);
}

void swap_readahead(struct mos *m, uint64_t vaddr, struct mos_fault_result *out)
{
	struct swap *sw = &m->sw;
	uint64_t vpn = VPN(vaddr);
	bool fwd = true, seq = false;
	if (sw->last_swapin_vpn != UINT64_MAX) {
		seq = vpn == sw->last_swapin_vpn + 1 || vpn + 1 == sw->last_swapin_vpn;
		fwd = vpn + 1 != sw->last_swapin_vpn;
	}
	if (out->major || out->swapcache_hit)
		sw->last_swapin_vpn = vpn;
	if (out->major)
		sw->ctr.major_faults++;
	if (out->swapcache_hit)
		sw->ctr.swapcache_hits++;
	if (!out->major && !out->swapcache_hit)
		return;
	if (seq || out->swapcache_hit) {
		uint32_t w = sw->ra_window < 2 ? 2 : sw->ra_window * 2;
		sw->ra_window = w > sw->ra_max ? sw->ra_max : w;
	} else {
		sw->ra_window = 1;
	}
	if (!out->major)
		return;
	const struct mos_vma *v = mos_vma_find(m, vaddr);
	for (uint32_t k = 1; v && k < sw->ra_window; k++) {
		uint64_t n = fwd ? vpn + k : vpn - k;
		uint64_t va = n << MOS_PAGE_SHIFT, s, pfn;
		if (!fwd && vpn < k)
			break;
		if (va < v->start || va >= v->end)
			break;
		if (!u64map_get(&sw->map, n, &s) ||
		    (sw->info[s].flags & (SLOT_RESIDENT | SLOT_CACHED)))
			continue;
		if (phys_free_frames(&m->env.mem) <= sw->wmark[0] ||
		    phys_alloc(&m->env.mem, 0, va, &pfn) != MOS_OK)
			break; /* readahead never eats into the min reserve */
		struct swap_slot *x = &sw->info[s];
		x->cache_pfn = (uint32_t)pfn;
		x->flags |= SLOT_CACHED | SLOT_RA;
		x->prev = sw->cache_tail;
		x->next = SWAP_NIL;
		if (sw->cache_tail != SWAP_NIL)
			sw->info[sw->cache_tail].next = (uint32_t)s;
		else
			sw->cache_head = (uint32_t)s;
		sw->cache_tail = (uint32_t)s;
		sw->cache_frames++;
		sw->ctr.readahead_pages++;
		out->readahead_pages++;
	}
}

size_t mos_swapin_pending(struct mos *m, struct mos_swapin *out, size_t max_out)
{
	struct swap *sw = &m->sw;
	size_t n = 0;
	while (n < max_out && sw->pending_read < sw->npending)
		out[n++] = sw->pending[sw->pending_read++];
	return n;
}

void mos_swapin_done(struct mos *m)
{
	struct swap *sw = &m->sw;
	for (size_t i = 0; i < sw->nfree; i++)
		slot_free(m, sw->to_free[i]);
	sw->nfree = 0;
}

bool mos_page_access(struct mos *m, uint64_t vaddr, bool is_write, uint64_t now)
{
	struct swap *sw = &m->sw;
	if (!sw->nslots)
		return false;
	sw->now = now;
	unsigned shift;
	if (pt_lookup(&m->env.pt, vaddr, NULL, &shift) != MOS_OK)
		return false;
	uint64_t key = shift == MOS_PAGE_SHIFT ? VPN(vaddr) : VPN(vaddr & ~((1ull << shift) - 1));
	rc_reference(&sw->rc, key, is_write, now);
	uint64_t s;
	if (!is_write || !u64map_get(&sw->map, VPN(vaddr), &s) ||
	    !(sw->info[s].flags & SLOT_RESIDENT))
		return false;
	mos_page_dirty(m, vaddr);
	return true;
}

void mos_page_dirty(struct mos *m, uint64_t vaddr)
{
	struct swap *sw = &m->sw;
	uint64_t s;
	if (!sw->nslots || !u64map_get(&sw->map, VPN(vaddr), &s) ||
	    !(sw->info[s].flags & SLOT_RESIDENT))
		return;
	u64map_del(&sw->map, VPN(vaddr), NULL);
	slot_free(m, s);
	rc_set_flags(&sw->rc, VPN(vaddr), RC_DIRTY, 0);
}

static bool forget_resident(void *ctx, uint64_t vpn, uint64_t s)
{
	struct mos *m = ctx;
	if (!(m->sw.info[s].flags & SLOT_RESIDENT))
		return false;
	slot_free(m, s);
	rc_set_flags(&m->sw.rc, vpn, RC_DIRTY, 0);
	return true;
}

void mos_swap_forget_clean(struct mos *m)
{
	u64map_range(&m->sw.map, 0, UINT64_MAX, forget_resident, m);
}

uint64_t mos_reclaim_target(const struct mos *m, bool *below_min)
{
	const struct swap *sw = &m->sw;
	uint64_t fr = phys_free_frames(&m->env.mem);
	if (below_min)
		*below_min = sw->nslots && fr < sw->wmark[0];
	if (!sw->nslots || fr >= sw->wmark[1])
		return 0;
	return sw->wmark[2] - fr;
}

/* ---------------------------------------------------------- reclaim */

/* Re-track the leaves of a 2 MiB region as 4 KiB units (after a split). */
static void track_split(struct mos *m, uint64_t hva, uint8_t flags)
{
	struct pt_leaf lf;
	for (uint64_t va = hva; pt_next_leaf(&m->env.pt, va, hva + MOS_HPAGE_SIZE, &lf);) {
		rc_insert(&m->sw.rc, VPN(lf.vaddr),
			  (uint8_t)((flags & ~RC_HUGE) | (lf.page_shift == MOS_PAGE_SHIFT ? 0 : RC_HUGE)),
			  m->sw.now);
		va = lf.vaddr + (1ull << lf.page_shift);
	}
}

size_t mos_reclaim_isolate(struct mos *m, uint64_t frames, uint64_t now, struct mos_victim *out,
			   size_t max_out)
{
	struct swap *sw = &m->sw;
	if (!sw->nslots)
		return 0;
	sw->now = now;
	uint64_t freed = 0;
	while (freed < frames && sw->cache_head != SWAP_NIL) {
		cache_drop(m, sw->cache_head, false);
		freed++;
	}
	size_t n = 0;
	/* each step evicts, puts back or turns one unit into smaller ones */
	for (uint64_t steps = 0; freed < frames && n < max_out && steps < 4 * (frames + max_out) + 1024;
	     steps++) {
		uint64_t key;
		uint8_t fl;
		if (!rc_select(&sw->rc, now, &key, &fl))
			break;
		uint64_t va = key << MOS_PAGE_SHIFT, pfn;
		unsigned shift;
		if (pt_lookup(&m->env.pt, va, &pfn, &shift) != MOS_OK ||
		    is_pool_page(m, pfn))
			continue; /* stale: unmapped since, or now a hugetlb pool page */
		if ((fl & RC_HUGE) && shift != MOS_HPAGE_SHIFT) {
			track_split(m, va, fl); /* split since it was tracked */
			continue;
		}
		if (!(fl & RC_HUGE) && shift != MOS_PAGE_SHIFT) {
			uint64_t head = VPN(va & ~(MOS_HPAGE_SIZE - 1));
			if (!rc_lookup(&sw->rc, head, NULL))
				rc_insert(&sw->rc, head, RC_HUGE | RC_DIRTY, now); /* collapsed since */
			continue;
		}
		struct mos_victim v = { va, PG, 0, true };
		if (fl & RC_HUGE) {
			if (!sw->thp_whole &&
			    mos_core_split(m, va, pfn) == MOS_OK) {
				sw->ctr.thp_swap_split++;
				track_split(m, va, (uint8_t)(fl & ~RC_REF));
				continue;
			}
			v.len = MOS_HPAGE_SIZE;
			v.slot = cluster_alloc(sw, key);
		} else {
			uint64_t s;
			if (u64map_get(&sw->map, key, &s) && (sw->info[s].flags & SLOT_RESIDENT)) {
				v.slot = s; /* clean: the copy in the slot is valid */
				v.write = false;
			} else {
				v.slot = slot_alloc(sw, key);
			}
		}
		if (v.slot == UINT64_MAX) {
			sw->ctr.swap_full++;
			rc_insert(&sw->rc, key, fl, now);
			break;
		}
		out[n++] = v;
		freed += v.len >> MOS_PAGE_SHIFT;
	}
	sw->ctr.isolated += n;
	return n;
}

void mos_reclaim_finish(struct mos *m, const struct mos_victim *v, bool ok, uint64_t now)
{
	struct swap *sw = &m->sw;
	uint64_t pages = v->len >> MOS_PAGE_SHIFT;
	sw->now = now;
	if (!ok) {
		if (v->write)
			for (uint64_t i = 0; i < pages; i++)
				slot_free(m, v->slot + i);
		rc_insert(&sw->rc, VPN(v->vaddr),
			  (uint8_t)(RC_REF | (v->write ? RC_DIRTY : 0) | (pages > 1 ? RC_HUGE : 0)), now);
		sw->ctr.putback++;
		return;
	}
	for (uint64_t i = 0; i < pages; i++) {
		struct swap_slot *x = &sw->info[v->slot + i];
		x->flags &= (uint8_t)~SLOT_RESIDENT;
		x->shadow = sw->age;
		x->vpn = VPN(v->vaddr) + i;
		u64map_put(&sw->map, x->vpn, v->slot + i);
	}
	sw->age += pages;
	mos_core_unmap(m, v->vaddr, v->vaddr + v->len);
	sw->ctr.swapouts += pages;
	if (v->write)
		sw->ctr.swapout_writes += pages;
	else
		sw->ctr.swapout_clean += pages;
	if (pages > 1)
		sw->ctr.thp_swapout++;
}

/* ------------------------------------------------ address-space changes */

static bool drop_entry(void *ctx, uint64_t vpn, uint64_t s)
{
	slot_free(ctx, s);
	return true;
}

void swap_drop_range(struct mos *m, uint64_t start, uint64_t end)
{
	if (!m->sw.nslots)
		return;
	u64map_range(&m->sw.map, VPN(start), VPN(end), drop_entry, m);
	rc_remove_range(&m->sw.rc, VPN(start), VPN(end));
}

/* State of a swap_move pass: entries leaving the old range. */
struct move_ctx {
	struct mos *m;
	uint64_t old_vpn, keep_pages, new_vpn;
	uint64_t *keep; /* slots to re-key, up to cap */
	size_t n, cap;
	bool host_fail;
};

static bool move_one(void *ctx, uint64_t vpn, uint64_t s)
{
	struct move_ctx *c = ctx;
	struct swap_slot *x = &c->m->sw.info[s];
	/* the moved PTEs lose their userfaultfd write protection: a clean
	 * copy of a resident page is no longer tracked */
	if ((x->flags & SLOT_RESIDENT) || vpn - c->old_vpn >= c->keep_pages ||
	    !push(c->m, (void **)&c->keep, &c->cap, c->n, sizeof *c->keep)) {
		if (!(x->flags & SLOT_RESIDENT) && vpn - c->old_vpn < c->keep_pages)
			c->host_fail = true;
		slot_free(c->m, s);
		return true;
	}
	c->keep[c->n++] = s;
	return true;
}

void swap_move(struct mos *m, uint64_t old, uint64_t old_len, uint64_t new, uint64_t new_len)
{
	struct swap *sw = &m->sw;
	if (!sw->nslots)
		return;
	uint64_t keep = old_len < new_len ? old_len : new_len;
	struct move_ctx c = { m, VPN(old), VPN(keep), VPN(new), NULL, 0, 0, false };
	u64map_range(&sw->map, VPN(old), VPN(old + old_len), move_one, &c);
	for (size_t i = 0; i < c.n; i++) {
		struct swap_slot *x = &sw->info[c.keep[i]];
		x->vpn = x->vpn - c.old_vpn + c.new_vpn;
		if (u64map_put(&sw->map, x->vpn, c.keep[i]) != MOS_OK)
			slot_free(m, c.keep[i]);
	}
	hfree(m, c.keep, c.cap * sizeof *c.keep);
	rc_remove_range(&sw->rc, VPN(old), VPN(old + old_len));
	track_leaves(m, new, new + keep, UINT64_MAX, false);
}

void swap_stats(const struct mos *m, struct mos_stats *out)
{
	const struct swap *sw = &m->sw;
	out->swap_slots = sw->nslots;
	out->swap_used = sw->used;
	out->swap_used_peak = sw->used_peak;
	out->swapouts = sw->ctr.swapouts;
	out->swapout_writes = sw->ctr.swapout_writes;
	out->swapout_clean = sw->ctr.swapout_clean;
	out->swapins = sw->ctr.swapins;
	out->major_faults = sw->ctr.major_faults;
	out->swapcache_hits = sw->ctr.swapcache_hits;
	out->swapcache_frames = sw->cache_frames;
	out->readahead_pages = sw->ctr.readahead_pages;
	out->readahead_hits = sw->ctr.readahead_hits;
	out->readahead_wasted = sw->ctr.readahead_wasted;
	out->reclaim_scanned = sw->rc.scanned;
	out->reclaim_isolated = sw->ctr.isolated;
	out->reclaim_putback = sw->ctr.putback;
	out->thp_swap_split = sw->ctr.thp_swap_split;
	out->thp_swapout = sw->ctr.thp_swapout;
	out->swap_full = sw->ctr.swap_full;
	out->workingset_refaults = sw->ctr.refaults;
	out->workingset_activate = sw->ctr.activate;
	memcpy(out->refault_distance, sw->ctr.distance, sizeof out->refault_distance);
	out->wmark_min = sw->wmark[0];
	out->wmark_low = sw->wmark[1];
	out->wmark_high = sw->wmark[2];
}

/* State of swap_check's pass over the map. */
struct swap_chk {
	const struct mos *m;
	uint64_t entries, bad_vpn;
	const char *bad;
};

static void chk_entry(void *ctx, uint64_t vpn, uint64_t s)
{
	struct swap_chk *c = ctx;
	const struct swap *sw = &c->m->sw;
	c->entries++;
	if (c->bad)
		return;
	const struct swap_slot *x = s < sw->nslots ? &sw->info[s] : NULL;
	bool mapped = pt_is_mapped(&c->m->env.pt, vpn << MOS_PAGE_SHIFT);
	if (!x || !(x->flags & SLOT_USED) || x->vpn != vpn)
		c->bad = "swap entry names a slot that is not its own, vpn";
	else if (!!(x->flags & SLOT_RESIDENT) != mapped)
		c->bad = "swap entry residency differs from the page table, vpn";
	else if ((x->flags & SLOT_CACHED) && (x->flags & SLOT_RESIDENT))
		c->bad = "resident page also in the swap cache, vpn";
	else if (!mos_vma_find(c->m, vpn << MOS_PAGE_SHIFT))
		c->bad = "swap entry outside every VMA, vpn";
	if (c->bad)
		c->bad_vpn = vpn;
}

bool swap_check(const struct mos *m, uint8_t *seen, char *why, size_t why_len)
{
	const struct swap *sw = &m->sw;
	if (!sw->nslots)
		return true;
	struct swap_chk c = { m, 0, 0, NULL };
	u64map_each(&sw->map, chk_entry, &c);
	if (c.bad)
		return mos_why(why, why_len, c.bad, c.bad_vpn);
	uint64_t used = 0, cached = 0;
	for (uint64_t s = 0; s < sw->nslots; s++) {
		const struct swap_slot *x = &sw->info[s];
		if (!(x->flags & SLOT_USED))
			continue;
		used++;
		if (!(x->flags & SLOT_CACHED))
			continue;
		cached++;
		uint64_t pfn = x->cache_pfn, head;
		unsigned order;
		if (phys_block_of(&m->env.mem, pfn, &head, &order) != BUDDY_ALLOC || head != pfn ||
		    order != 0 || (seen[pfn >> 3] & (1u << (pfn & 7))))
			return mos_why(why, why_len, "swap-cache frame not an owned order-0 block, pfn",
				       pfn);
		seen[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
	}
	if (used != sw->used || used != c.entries + sw->nfree)
		return mos_why(why, why_len, "slots in use differ from swap entries + pending frees:",
			       used);
	if (cached != sw->cache_frames)
		return mos_why(why, why_len, "swap-cache frame count is wrong:", cached);
	return true;
}
