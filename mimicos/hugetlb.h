/*
 * hugetlbfs-like pools of 2 MiB and 1 GiB pages (internal to MimicOS), after
 * Documentation/admin-guide/mm/hugetlbpage.rst and mm/hugetlb.c.
 *
 * A pool is a fixed set of pages carved from physical memory at mos_create
 * (struct mos_config, hugetlb_nr_*): a 2 MiB page is one allocated order-9
 * buddy block, a 1 GiB page 256 allocated order-10 blocks forming one
 * 1 GiB-aligned PFN range. Pool pages never return to the buddy allocator:
 * unmapped, they go back on the pool's free list.
 *
 * Accounting, as Linux's hstate (HugePages_Total / _Free / _Rsvd):
 *   nr     pages in the pool;
 *   nfree  pages not mapped (on the free list);
 *   resv   free pages promised to hugetlb VMAs: every page of a (non-
 *          MORECORE) hugetlb VMA that is not mapped is reserved, so
 *          resv <= nfree and a fault there always finds a page.
 * Deviation from Linux, documented in mimicos.h: MADV_DONTNEED of a page of
 * a private hugetlb VMA keeps its reservation (Linux keeps it for shared
 * mappings; for private ones it allocates unreserved at the next fault and
 * may SIGBUS). Frames of free pool pages are allocated in the buddy
 * allocator and owned by the pool (mos_check).
 *
 * PFN -> pool page: one 32-bit slot per 2 MiB block of memory (4 bytes per
 * 2 MiB, allocated only when a pool is configured): 0 for ordinary memory,
 * else the page's index + 1, with bit 31 set for the 1 GiB pool (every block
 * of a 1 GiB page points to it).
 */
#ifndef MIMICOS_HUGETLB_H
#define MIMICOS_HUGETLB_H

#include "buddy.h"
#include "pagetable.h"
#include "phys.h"

struct ht_pool {
	unsigned shift;   /* page size: 21 or 30 */
	uint64_t nr;      /* pages */
	uint64_t cap;     /* pages the arrays below hold (nr once carving succeeded) */
	uint64_t *head;   /* first PFN of page i, i < nr */
	uint32_t *free;   /* indices of the free pages, a stack: top = freed last */
	uint8_t *in_use;  /* page i is mapped (not on the free stack) */
	uint64_t nfree;
	uint64_t resv;    /* free pages reserved by hugetlb VMAs */
	uint64_t faults, morecore_faults, fallbacks, resv_fail;
};

struct hugetlb {
	struct mos_allocator alloc;
	struct ht_pool pool[MOS_HUGETLB_SIZES];
	uint32_t *slot;   /* per 2 MiB block (PFN >> 9), see above; NULL without pools */
	uint64_t nblocks;
};

/*
 * Carve nr_2m pages of 2 MiB and nr_1g of 1 GiB out of p (see struct
 * mos_config, hugetlb_nr_*: 1 GiB pages first, each the highest free
 * 1 GiB-aligned range of its node; nodes round-robin). p must be fresh (all
 * free). Errors: MOS_ENOMEM when the pages do not fit (what was carved stays
 * allocated: call ht_fini and drop p), MOS_EHOST for bookkeeping memory.
 */
enum mos_status ht_init(struct hugetlb *h, struct phys *p, uint64_t nr_2m, uint64_t nr_1g,
			const struct mos_allocator *alloc);

/* Release the bookkeeping (h may be zeroed). Pool frames stay with p. */
void ht_fini(struct hugetlb *h);

/* Pool index of a VMA's flags (MOS_HUGETLB_2M/_1G), or -1 for no hugetlb flag. */
int ht_kind(uint32_t vma_flags);

/* True when [pfn, ..) is the first frame of a pool page: its pool and index. */
bool ht_page_of(const struct hugetlb *h, uint64_t pfn, int *kind, uint64_t *idx);

/* Frames of all free pool pages (owned by the pools, not mapped). */
uint64_t ht_free_frames(const struct hugetlb *h);

/*
 * A hugetlb VMA [start, start+len) with these flags is about to be added:
 * check the flags (one size at most; MORECORE only with a size) and the
 * alignment, and reserve its pages unless MORECORE. MOS_EINVAL (bad flags,
 * misaligned), MOS_ENOMEM (too few unreserved free pages; counted in
 * resv_fail). Nothing changes on error. No-op for other flags.
 */
enum mos_status ht_vma_reserve(struct hugetlb *h, uint32_t flags, uint64_t start, uint64_t len);

/* Undo ht_vma_reserve (the VMA could not be added after all). */
void ht_vma_unreserve(struct hugetlb *h, uint32_t flags, uint64_t len);

/*
 * Fault at vaddr inside the hugetlb VMA vma: map one pool page over the
 * aligned region holding vaddr and fill *out (start = region, len = the page
 * size, page_shift 21 or 30). The page comes from the free stack, the most
 * recently freed page on node cpu_node first (Linux dequeues from the local
 * node's free list). MORECORE: MOS_ENOENT when the pool cannot serve it (the
 * caller asks the policy; fallbacks counted). Errors: MOS_ENOMEM when no
 * frame is left for page-table pages (nothing changed), MOS_EHOST.
 */
enum mos_status ht_fault(struct hugetlb *h, struct phys *mem, struct pt *pt,
			 const struct mos_vma *vma, uint64_t vaddr, struct mos_fault_result *out);

/*
 * Unmap the pool pages lying entirely inside [lo, hi), a part of the hugetlb
 * VMA vma, and put them back on the free list; other leaves are left alone.
 * When the VMA part goes away (munmap, mremap shrink) its unmapped pages
 * stop being reserved; when it stays (MADV_DONTNEED) the freed pages become
 * reserved again. Returns the 4 KiB pages unmapped. Cost O(regions of the
 * page size holding leaves + table pages).
 */
uint64_t ht_release(struct hugetlb *h, struct pt *pt, const struct mos_vma *vma, uint64_t lo,
		    uint64_t hi, bool vma_going);

/*
 * The pools' own invariants (free stack, in-use flags, slots, frames
 * allocated as the blocks described above, resv <= nfree). mapped[k] is the
 * number of pool leaves of pool k the caller found in the page table,
 * reserved[k] the pages of its non-MORECORE hugetlb VMAs not mapped.
 * False with why.
 */
bool ht_check(const struct hugetlb *h, const struct phys *mem, const uint64_t mapped[],
	      const uint64_t reserved[], char *why, size_t why_len);

#endif
