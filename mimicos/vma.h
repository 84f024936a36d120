/*
 * The VMA set (internal to MimicOS): the virtual ranges MimicOS manages, as
 * an array of struct mos_vma sorted by address, never overlapping, every one
 * page aligned and non-empty. Lookups are binary searches (O(log VMAs));
 * insertion and removal shift the array. Adjacent VMAs are not merged.
 */
#ifndef MIMICOS_VMA_H
#define MIMICOS_VMA_H

#include "mimicos/mimicos.h"

struct vma_set {
	struct mos_allocator alloc;
	struct mos_vma *v; /* n VMAs in address order, room for cap */
	size_t n, cap;
};

/* An empty set whose array will come from alloc. */
void vma_set_init(struct vma_set *s, const struct mos_allocator *alloc);

/* Release the array. */
void vma_set_fini(struct vma_set *s);

/*
 * Make room for `extra` more VMAs so the next inserts/splits cannot fail.
 * MOS_EHOST when the allocator refuses.
 */
enum mos_status vma_reserve(struct vma_set *s, size_t extra);

/* Index of the first VMA whose end is above addr (s->n when none). */
size_t vma_lower_bound(const struct vma_set *s, uint64_t addr);

/* Index of the VMA containing addr, or SIZE_MAX. */
size_t vma_find(const struct vma_set *s, uint64_t addr);

/* True when some VMA overlaps [start, end). */
bool vma_overlaps(const struct vma_set *s, uint64_t start, uint64_t end);

/*
 * Add the VMA [start, end) (page aligned, start < end; checked by the
 * caller). Errors: MOS_EEXIST if it overlaps a VMA, MOS_EHOST if the array
 * cannot grow.
 */
enum mos_status vma_insert(struct vma_set *s, uint64_t start, uint64_t end, uint32_t flags);

/*
 * Remove [start, end) from the set: VMAs inside go, VMAs overlapping an edge
 * are trimmed, a VMA spanning the whole range is split in two (needs one free
 * slot: MOS_EHOST, nothing changed, if the array cannot grow).
 */
enum mos_status vma_remove_range(struct vma_set *s, uint64_t start, uint64_t end);

/*
 * Split the VMA containing addr into [start, addr) and [addr, end), both
 * keeping its flags, when addr lies strictly inside it (otherwise nothing to
 * do). MOS_EHOST if the array cannot grow (reserve first to make it safe).
 */
enum mos_status vma_split_at(struct vma_set *s, uint64_t addr);

/*
 * Verify order, alignment, non-emptiness and non-overlap. Returns true when
 * consistent, else false with a description in why.
 */
bool vma_check(const struct vma_set *s, char *why, size_t why_len);

#endif
