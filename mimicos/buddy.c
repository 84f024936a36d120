/* Buddy allocator of emulated physical memory. See buddy.h. */
#include "buddy.h"

#include <string.h>

#define BLOCK(order) (1ull << (order))

bool mos_why(char *why, size_t why_len, const char *msg, uint64_t value)
{
	if (!why || why_len == 0)
		return false;
	size_t n = strlen(msg);
	if (n > why_len - 1)
		n = why_len - 1;
	memcpy(why, msg, n);
	char digits[21];
	size_t d = 0;
	do {
		digits[d++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	if (n < why_len - 1)
		why[n++] = ' ';
	while (d && n < why_len - 1)
		why[n++] = digits[--d];
	why[n] = '\0';
	return false;
}

/* Put the free block (pfn, order) at the head of its free list. */
static void list_push(struct buddy *b, uint64_t pfn, unsigned order)
{
	struct buddy_frame *f = &b->frames[pfn];
	f->state = BUDDY_FREE;
	f->order = (uint8_t)order;
	f->prev = (uint32_t)pfn;
	if (b->head[order] == BUDDY_NIL) {
		f->next = (uint32_t)pfn;
	} else {
		f->next = (uint32_t)b->head[order];
		b->frames[b->head[order]].prev = (uint32_t)pfn;
	}
	b->head[order] = pfn;
	b->nfree[order]++;
}

/* Take the free block (pfn, order) off its free list; its head becomes a tail. */
static void list_del(struct buddy *b, uint64_t pfn, unsigned order)
{
	struct buddy_frame *f = &b->frames[pfn];
	bool first = f->prev == pfn, last = f->next == pfn;
	if (first)
		b->head[order] = last ? BUDDY_NIL : f->next;
	else
		b->frames[f->prev].next = last ? f->prev : f->next;
	if (!last)
		b->frames[f->next].prev = first ? f->next : f->prev;
	b->nfree[order]--;
	f->state = BUDDY_TAIL;
	f->order = 0;
}

enum mos_status buddy_init(struct buddy *b, uint64_t nframes, const struct mos_allocator *alloc)
{
	memset(b, 0, sizeof(*b));
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++)
		b->head[k] = BUDDY_NIL;
	if (nframes == 0 || nframes > (1ull << 32))
		return MOS_EINVAL;
	b->alloc = *alloc;
	b->frames = alloc->zalloc(alloc->ctx, nframes * sizeof(struct buddy_frame));
	if (!b->frames)
		return MOS_EHOST;
	b->nframes = nframes;
	b->frames_free = nframes;

	/*
	 * Maximal aligned blocks: full MAX_ORDER blocks, then one block per set
	 * bit of the remainder, largest first. Pushed from the top of memory
	 * down so that each list starts with its lowest PFN.
	 */
	uint64_t full = nframes >> MOS_MAX_ORDER;
	uint64_t end = nframes;
	for (unsigned k = 0; k < MOS_MAX_ORDER; k++) {
		if ((nframes >> k) & 1) {
			end -= BLOCK(k);
			list_push(b, end, k);
		}
	}
	for (uint64_t i = full; i > 0; i--)
		list_push(b, (i - 1) << MOS_MAX_ORDER, MOS_MAX_ORDER);
	return MOS_OK;
}

void buddy_fini(struct buddy *b)
{
	if (b->frames)
		b->alloc.free(b->alloc.ctx, b->frames, b->nframes * sizeof(struct buddy_frame));
	b->frames = NULL;
	b->nframes = 0;
}

enum mos_status buddy_alloc(struct buddy *b, unsigned order, uint64_t *pfn)
{
	if (order > MOS_MAX_ORDER)
		return MOS_EINVAL;
	unsigned k = order;
	while (k <= MOS_MAX_ORDER && b->head[k] == BUDDY_NIL)
		k++;
	if (k > MOS_MAX_ORDER)
		return MOS_ENOMEM;
	uint64_t p = b->head[k];
	list_del(b, p, k);
	while (k > order) { /* split: the upper half goes back as a free block */
		k--;
		list_push(b, p + BLOCK(k), k);
	}
	b->frames[p].state = BUDDY_ALLOC;
	b->frames[p].order = (uint8_t)order;
	b->frames_free -= BLOCK(order);
	*pfn = p;
	return MOS_OK;
}

enum mos_status buddy_free(struct buddy *b, uint64_t pfn, unsigned order)
{
	if (order > MOS_MAX_ORDER || pfn >= b->nframes || b->frames[pfn].state != BUDDY_ALLOC ||
	    b->frames[pfn].order != order)
		return MOS_EINVAL;
	b->frames[pfn].state = BUDDY_TAIL;
	b->frames[pfn].order = 0;
	b->frames_free += BLOCK(order);
	while (order < MOS_MAX_ORDER) {
		uint64_t buddy = pfn ^ BLOCK(order);
		if (buddy + BLOCK(order) > b->nframes)
			break;
		const struct buddy_frame *bf = &b->frames[buddy];
		if (bf->state != BUDDY_FREE || bf->order != order)
			break;
		list_del(b, buddy, order);
		if (buddy < pfn)
			pfn = buddy;
		order++;
	}
	list_push(b, pfn, order);
	return MOS_OK;
}

enum mos_status buddy_split(struct buddy *b, uint64_t pfn, unsigned order, unsigned to_order)
{
	if (order > MOS_MAX_ORDER || to_order > order || pfn >= b->nframes ||
	    b->frames[pfn].state != BUDDY_ALLOC || b->frames[pfn].order != order)
		return MOS_EINVAL;
	for (uint64_t p = pfn; p < pfn + BLOCK(order); p += BLOCK(to_order)) {
		b->frames[p].state = BUDDY_ALLOC;
		b->frames[p].order = (uint8_t)to_order;
	}
	return MOS_OK;
}

enum mos_status buddy_alloc_block_at(struct buddy *b, uint64_t pfn, unsigned order)
{
	uint64_t h;
	unsigned k;
	if (order > MOS_MAX_ORDER || (pfn & (BLOCK(order) - 1)) || pfn >= b->nframes ||
	    buddy_block_of(b, pfn, &h, &k) != BUDDY_FREE || k < order)
		return MOS_EINVAL;
	list_del(b, h, k);
	while (k > order) { /* keep the half holding pfn, free the other */
		k--;
		if (pfn >= h + BLOCK(k)) {
			list_push(b, h, k);
			h += BLOCK(k);
		} else {
			list_push(b, h + BLOCK(k), k);
		}
	}
	b->frames[pfn].state = BUDDY_ALLOC;
	b->frames[pfn].order = (uint8_t)order;
	b->frames_free -= BLOCK(order);
	return MOS_OK;
}

enum mos_status buddy_alloc_at(struct buddy *b, uint64_t pfn)
{
	return buddy_alloc_block_at(b, pfn, 0);
}

enum buddy_state buddy_block_of(const struct buddy *b, uint64_t pfn, uint64_t *head,
				unsigned *order)
{
	if (pfn >= b->nframes)
		return BUDDY_TAIL;
	/* The first non-tail frame at pfn aligned down to 2^k is the block's head. */
	for (unsigned k = 0; k <= MOS_MAX_ORDER; k++) {
		uint64_t h = pfn & ~(BLOCK(k) - 1);
		const struct buddy_frame *f = &b->frames[h];
		if (f->state == BUDDY_TAIL)
			continue;
		if (h + BLOCK(f->order) <= pfn)
			return BUDDY_TAIL;
		if (head)
			*head = h;
		if (order)
			*order = f->order;
		return (enum buddy_state)f->state;
	}
	return BUDDY_TAIL;
}

bool buddy_check(const struct buddy *b, char *why, size_t why_len)
{
	uint64_t listed_frames = 0, listed_blocks = 0;
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++) {
		uint64_t p = b->head[k], prev = BUDDY_NIL, seen = 0;
		while (p != BUDDY_NIL) {
			if (p >= b->nframes)
				return mos_why(why, why_len, "free list entry beyond memory, order", k);
			const struct buddy_frame *f = &b->frames[p];
			if (f->state != BUDDY_FREE || f->order != k)
				return mos_why(why, why_len, "free list holds a non-free or wrong-order block, pfn", p);
			if (p & (BLOCK(k) - 1))
				return mos_why(why, why_len, "free block not aligned to its order, pfn", p);
			if (p + BLOCK(k) > b->nframes)
				return mos_why(why, why_len, "free block extends beyond memory, pfn", p);
			if (f->prev != (prev == BUDDY_NIL ? p : prev))
				return mos_why(why, why_len, "free list prev link broken at pfn", p);
			if (++seen > b->nfree[k])
				return mos_why(why, why_len, "free list longer than its count, order", k);
			prev = p;
			p = f->next == p ? BUDDY_NIL : f->next;
		}
		if (seen != b->nfree[k])
			return mos_why(why, why_len, "free list shorter than its count, order", k);
		listed_blocks += seen;
		listed_frames += seen << k;
	}
	if (listed_frames != b->frames_free)
		return mos_why(why, why_len, "frames_free does not match the free lists:", b->frames_free);

	/* The blocks must tile 0..N-1; count free heads to match the lists. */
	uint64_t free_heads = 0;
	for (uint64_t p = 0; p < b->nframes;) {
		const struct buddy_frame *f = &b->frames[p];
		unsigned k = f->order;
		if (f->state != BUDDY_FREE && f->state != BUDDY_ALLOC)
			return mos_why(why, why_len, "frame belongs to no block, pfn", p);
		if (k > MOS_MAX_ORDER || (p & (BLOCK(k) - 1)) || p + BLOCK(k) > b->nframes)
			return mos_why(why, why_len, "block with bad order or alignment at pfn", p);
		for (uint64_t t = p + 1; t < p + BLOCK(k); t++)
			if (b->frames[t].state != BUDDY_TAIL)
				return mos_why(why, why_len, "block overlaps another block at pfn", t);
		if (f->state == BUDDY_FREE) {
			free_heads++;
			uint64_t buddy = p ^ BLOCK(k);
			if (k < MOS_MAX_ORDER && buddy + BLOCK(k) <= b->nframes &&
			    b->frames[buddy].state == BUDDY_FREE && b->frames[buddy].order == k)
				return mos_why(why, why_len, "free buddies left uncoalesced at pfn", p);
		}
		p += BLOCK(k);
	}
	if (free_heads != listed_blocks)
		return mos_why(why, why_len, "free blocks missing from the free lists:",
			       free_heads - listed_blocks);
	return true;
}
