/*
 * Buddy allocator of emulated physical memory (internal to MimicOS).
 *
 * Manages N frames of 4 KiB, PFN 0 .. N-1, as blocks of 2^order frames,
 * order 0 .. MOS_MAX_ORDER. A block of order k starts at a PFN that is a
 * multiple of 2^k; its buddy is the block at PFN ^ 2^k. Free blocks sit on
 * one intrusive doubly linked list per order (LIFO: the block freed last is
 * handed out first), so alloc and free cost O(MOS_MAX_ORDER).
 *
 * Per-frame metadata: only the first frame (the head) of every block, free or
 * allocated, records the block's order and state; every other frame of a block
 * is BUDDY_TAIL. A fresh allocator hands out the lowest PFNs first.
 */
#ifndef MIMICOS_BUDDY_H
#define MIMICOS_BUDDY_H

#include "mimicos/mimicos.h"

/* State of one frame's metadata. */
enum buddy_state {
	BUDDY_TAIL = 0,  /* not the head of a block (inside a larger block) */
	BUDDY_FREE = 1,  /* head of a free block (on the free list of its order) */
	BUDDY_ALLOC = 2, /* head of an allocated block */
};

/*
 * Metadata of one frame (12 bytes). Free-list links are PFNs; a list ends
 * where a link points to the frame itself (first: prev == own PFN, last:
 * next == own PFN), so every 32-bit PFN is usable and no sentinel is needed.
 */
struct buddy_frame {
	uint32_t next;
	uint32_t prev;
	uint8_t order;
	uint8_t state; /* enum buddy_state */
};

#define BUDDY_NIL UINT64_MAX /* empty free list */

struct buddy {
	struct mos_allocator alloc;
	uint64_t nframes;                /* frames managed */
	uint64_t frames_free;            /* frames in free blocks */
	struct buddy_frame *frames;      /* nframes entries */
	uint64_t head[MOS_NR_ORDERS];    /* first free block (PFN) per order, or BUDDY_NIL */
	uint64_t nfree[MOS_NR_ORDERS];   /* free blocks per order */
};

/*
 * Set up b over nframes frames (1 .. 2^32), all free, split into the largest
 * aligned blocks that fit: full order-MOS_MAX_ORDER blocks, then the tail
 * that is not a multiple of 2^MOS_MAX_ORDER frames as smaller aligned blocks.
 * The frame metadata array (12 bytes per frame) comes from alloc.
 * Errors: MOS_EINVAL for nframes out of range, MOS_EHOST when alloc fails.
 */
enum mos_status buddy_init(struct buddy *b, uint64_t nframes, const struct mos_allocator *alloc);

/* Release the metadata array (b may have been zeroed or failed init). */
void buddy_fini(struct buddy *b);

/*
 * Allocate a block of 2^order frames (order <= MOS_MAX_ORDER), splitting a
 * larger free block when no block of that order is free. *pfn receives the
 * block's first PFN (a multiple of 2^order). Errors: MOS_ENOMEM when no free
 * block of order >= order exists, MOS_EINVAL for order > MOS_MAX_ORDER.
 */
enum mos_status buddy_alloc(struct buddy *b, unsigned order, uint64_t *pfn);

/*
 * Free the block of 2^order frames at pfn, which must be a block allocated
 * with exactly this order, and coalesce it with its free buddies as far as
 * possible. Errors: MOS_EINVAL (nothing changed) when pfn/order do not name
 * an allocated block (double free, wrong order).
 */
enum mos_status buddy_free(struct buddy *b, uint64_t pfn, unsigned order);

/*
 * Split the allocated block (pfn, order) into 2^(order - to_order) allocated
 * blocks of order to_order (to_order <= order), each freeable on its own with
 * buddy_free(.., to_order). Only metadata changes; frames_free stays. Used to
 * demote a huge page or a reservation so its frames can be freed one by one.
 * Cost O(2^(order - to_order)). Errors: MOS_EINVAL (nothing changed) when
 * (pfn, order) is not an allocated block or to_order > order.
 */
enum mos_status buddy_split(struct buddy *b, uint64_t pfn, unsigned order, unsigned to_order);

/*
 * Allocate the single frame pfn as an order-0 block: the free block holding it
 * is split, the other halves stay free. Used to pin chosen frames (fragmentation
 * injection). Cost O(MOS_MAX_ORDER). Errors: MOS_EINVAL when pfn is beyond
 * memory or not free.
 */
enum mos_status buddy_alloc_at(struct buddy *b, uint64_t pfn);

/*
 * Allocate the chosen block of 2^order frames at pfn (a multiple of 2^order,
 * order <= MOS_MAX_ORDER) when all its frames are free, i.e. it lies inside
 * one free block: that block is split around it, as buddy_alloc_at does for
 * one frame (Linux alloc_contig_range takes chosen ranges out of the free
 * lists this way). Used to carve hugetlb pool pages. Cost O(MOS_MAX_ORDER).
 * Errors: MOS_EINVAL (nothing changed) when the block is misaligned, beyond
 * memory or not entirely free.
 */
enum mos_status buddy_alloc_block_at(struct buddy *b, uint64_t pfn, unsigned order);

/*
 * The block containing frame pfn: its state (BUDDY_FREE or BUDDY_ALLOC), its
 * head PFN in *head and its order in *order (either pointer may be NULL).
 * Cost O(MOS_MAX_ORDER). Returns BUDDY_TAIL only for pfn >= nframes or
 * corrupted metadata.
 */
enum buddy_state buddy_block_of(const struct buddy *b, uint64_t pfn, uint64_t *head,
				unsigned *order);

/* Frames in free blocks. */
static inline uint64_t buddy_free_frames(const struct buddy *b)
{
	return b->frames_free;
}

/* Free blocks of the given order (order <= MOS_MAX_ORDER). */
static inline uint64_t buddy_free_blocks(const struct buddy *b, unsigned order)
{
	return b->nfree[order];
}

/*
 * Verify every invariant: each free list is a consistent doubly linked list of
 * free heads of its order, aligned and inside memory, with as many blocks as
 * counted; the blocks (free and allocated) tile PFN 0..N-1 without overlap;
 * frames_free matches; no free block has a free buddy of the same order left
 * uncoalesced. Returns true when consistent, else false with a description in
 * why (why may be NULL). Cost O(frames).
 */
bool buddy_check(const struct buddy *b, char *why, size_t why_len);

/*
 * Write "msg" followed by " " and the decimal value into why (size why_len,
 * always NUL terminated; why may be NULL). Returns false so checkers can
 * `return mos_why(...)`. Shared by the MimicOS checkers.
 */
bool mos_why(char *why, size_t why_len, const char *msg, uint64_t value);

#endif
