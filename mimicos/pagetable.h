/*
 * 4-level x86-64 radix page table (internal to MimicOS).
 *
 * Levels, top first: PML4 (level 3), PDPT (2), PD (1), PT (0); each table
 * page holds 512 eight-byte entries indexed by 9 bits of the virtual address
 * (VA bits 47..39, 38..30, 29..21, 20..12). Virtual addresses are 48-bit user
 * addresses (0 .. 2^48-1).
 *
 * Every table page is an order-0 frame of the buddy allocator, so it costs
 * emulated memory and has a physical address; the PML4 is allocated by
 * pt_init. The host copy of a table page (struct pt_node) holds its 512
 * x86-style entries:
 *   - table entry: next-level table PFN << 12 | P | RW | US
 *   - leaf entry:  frame PFN << 12 | P | RW | US, plus PS for a 2 MiB leaf (in a
 *     PD) or a 1 GiB leaf (in a PDPT); a PT entry is always a 4 KiB leaf.
 * Non-leaf levels also keep host pointers to their child nodes.
 *
 * The page table only records mappings: data frames are allocated and freed by
 * the caller (the policy); table pages are allocated and freed here.
 */
#ifndef MIMICOS_PAGETABLE_H
#define MIMICOS_PAGETABLE_H

#include "buddy.h"
#include "phys.h"

#define PT_ENTRIES 512u
#define PT_VA_BITS 48u
#define PT_VA_LIMIT (1ull << PT_VA_BITS) /* first address beyond user space */

#define PTE_P (1ull << 0)  /* present */
#define PTE_RW (1ull << 1) /* writable */
#define PTE_US (1ull << 2) /* user */
#define PTE_PS (1ull << 7) /* page size: leaf in a PD (2 MiB) or PDPT (1 GiB) */
#define PTE_PFN_MASK 0x000ffffffffff000ull

enum { PT_LEVEL_PT = 0, PT_LEVEL_PD = 1, PT_LEVEL_PDPT = 2, PT_LEVEL_PML4 = 3 };

/* Host copy of one table page. */
struct pt_node {
	uint64_t pte[PT_ENTRIES]; /* x86 entries, as a hardware walk would read them */
	uint64_t pfn;             /* frame holding this table page */
	uint16_t used;            /* present entries */
	uint8_t level;            /* PT_LEVEL_* */
	struct pt_node *child[];  /* levels PD and up: child of each table entry */
};

struct pt {
	struct buddy *buddy;        /* table pages come from here (order 0), unless phys */
	struct phys *phys;          /* if set: table pages from phys_alloc (NUMA placement) */
	struct mos_allocator alloc; /* host memory for pt_node */
	struct pt_node *root;       /* the PML4 */
	uint64_t tables;            /* table pages, including the PML4 */
};

/* One leaf mapping: [vaddr, vaddr + 2^page_shift) -> frames pfn .. */
struct pt_leaf {
	uint64_t vaddr;      /* first byte mapped by the leaf, aligned to its size */
	uint64_t pfn;        /* first frame of the leaf */
	unsigned page_shift; /* 12, 21 or 30 */
};

/*
 * Set up an empty page table: allocates the PML4 page (one order-0 frame from
 * buddy, which must outlive pt). Errors: MOS_ENOMEM (no frame), MOS_EHOST.
 */
enum mos_status pt_init(struct pt *pt, struct buddy *buddy, const struct mos_allocator *alloc);

/*
 * pt_init with table pages from the NUMA-aware physical memory: each is one
 * phys_alloc(phys, 0, PHYS_NO_ADDR) under the machine's placement policy
 * (phys must outlive pt). Errors as pt_init.
 */
enum mos_status pt_init_phys(struct pt *pt, struct phys *phys, const struct mos_allocator *alloc);

/*
 * Free every table page (frames back to the buddy, host nodes to the
 * allocator). Data frames of leaves are not touched. pt may be zeroed.
 */
void pt_fini(struct pt *pt);

/*
 * Map the page of 2^page_shift bytes (page_shift 12, 21 or 30) at vaddr to
 * the frames starting at pfn, allocating missing table pages. vaddr must be
 * aligned to the page size and below PT_VA_LIMIT, pfn to the page size in
 * frames. Errors, each leaving the table as it was: MOS_EINVAL (alignment,
 * range, page_shift), MOS_EEXIST (a leaf already covers part of the page, or a
 * lower-level table exists where a huge leaf would go), MOS_ENOMEM (no frame
 * for a table page), MOS_EHOST (no host memory for a node).
 */
enum mos_status pt_map(struct pt *pt, uint64_t vaddr, uint64_t pfn, unsigned page_shift);

/*
 * Remove the leaf covering vaddr (of any size). Returns its first frame in
 * *pfn and its page_shift in *page_shift (either may be NULL). Table pages
 * stay, even if empty. MOS_ENOENT when vaddr is unmapped.
 */
enum mos_status pt_unmap(struct pt *pt, uint64_t vaddr, uint64_t *pfn, unsigned *page_shift);

/*
 * Translate vaddr: *pfn is the 4 KiB frame backing vaddr (inside a huge leaf:
 * the leaf's first PFN plus the 4 KiB offset), *page_shift the leaf's size.
 * Either pointer may be NULL. MOS_ENOENT when unmapped.
 */
enum mos_status pt_lookup(const struct pt *pt, uint64_t vaddr, uint64_t *pfn,
			  unsigned *page_shift);

/* True when a leaf covers vaddr. */
static inline bool pt_is_mapped(const struct pt *pt, uint64_t vaddr)
{
	return pt_lookup(pt, vaddr, NULL, NULL) == MOS_OK;
}

/*
 * Physical byte addresses of the entries a hardware walk of vaddr reads
 * (table PFN * 4096 + index * 8), PML4E first. Returns the count, 1..4: the
 * walk stops at a non-present entry or a huge leaf. 0 for vaddr >= PT_VA_LIMIT.
 */
unsigned pt_walk_path(const struct pt *pt, uint64_t vaddr, uint64_t paddr[MOS_PT_LEVELS]);

/*
 * Remove every leaf lying entirely inside [start, end) and report each one to
 * fn (which may be NULL), in ascending address order, so the caller can free
 * its frames. A huge leaf that only partly overlaps the range is left mapped
 * (callers split it first). Table pages stay. Returns the number of 4 KiB
 * pages unmapped. Cost O(table pages in the range).
 */
uint64_t pt_unmap_range(struct pt *pt, uint64_t start, uint64_t end,
			void (*fn)(void *ctx, const struct pt_leaf *leaf), void *ctx);

/*
 * Free the table pages (never the PML4) reachable through [start, end) that
 * map nothing and whose whole coverage lies inside [floor, ceiling) (the
 * virtual range no other VMA uses, as Linux's free_pgd_range). A table whose
 * children all get freed becomes empty and is freed too. Returns the number of
 * table pages freed.
 */
uint64_t pt_free_tables(struct pt *pt, uint64_t start, uint64_t end, uint64_t floor,
			uint64_t ceiling);

/*
 * The lowest leaf that overlaps [from, end) in *out (its vaddr may lie below
 * from for a huge leaf). Returns false when there is none. Cost O(levels +
 * entries skipped).
 */
bool pt_next_leaf(const struct pt *pt, uint64_t from, uint64_t end, struct pt_leaf *out);

/* The highest leaf that overlaps [start, before) in *out; false when none. */
bool pt_prev_leaf(const struct pt *pt, uint64_t start, uint64_t before, struct pt_leaf *out);

/*
 * Counting the table pages that a batch of future pt_map calls will allocate,
 * without changing anything: pt_need_init, then pt_need_add for each planned
 * mapping in ascending vaddr order; nd->tables is the total. Table pages
 * shared by several planned mappings are counted once. Exact as long as the
 * table does not change in between.
 */
struct pt_need {
	uint64_t last[MOS_PT_LEVELS]; /* per level: last region counted as missing */
	uint64_t tables;              /* table pages needed */
};
void pt_need_init(struct pt_need *nd);
void pt_need_add(const struct pt *pt, struct pt_need *nd, uint64_t vaddr, unsigned page_shift);

/*
 * Present entries of the level-`level` table (PT_LEVEL_*) that covers vaddr:
 * 0 when that table does not exist, -1 when a leaf at a higher level covers
 * vaddr (or vaddr >= PT_VA_LIMIT). For level PT_LEVEL_PT this is the number
 * of 4 KiB leaves in vaddr's 2 MiB region. Cost O(levels).
 */
int pt_table_used(const struct pt *pt, uint64_t vaddr, unsigned level);

/* Table pages now, including the PML4. */
static inline uint64_t pt_tables(const struct pt *pt)
{
	return pt->tables;
}

/*
 * Call fn for every table page (is_table, vaddr = first byte it covers,
 * pfn = its frame, page_shift = 12) and every leaf (vaddr, first frame,
 * page size), parents before children, in address order. Stops early and
 * returns false when fn returns false.
 */
bool pt_for_each(const struct pt *pt,
		 bool (*fn)(void *ctx, bool is_table, uint64_t vaddr, uint64_t pfn,
			    unsigned page_shift),
		 void *ctx);

/*
 * Verify the structure: levels, used counts, child pointers matching table
 * entries' PFNs, PS only in PD/PDPT, leaf PFN alignment, no stray bits in
 * empty entries, table-page count. Returns true when consistent, else false
 * with a description in why. Cost O(table pages * 512).
 */
bool pt_check(const struct pt *pt, char *why, size_t why_len);

#endif
