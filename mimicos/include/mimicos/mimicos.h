/*
 * MimicOS: the emulated OS memory manager of vmemu.
 *
 * Pure and deterministic: no syscalls, no threads, no global state. Every
 * function operates on one `struct mos` instance; callers serialise access
 * (the runtime holds one lock around each call). Memory for MimicOS' own
 * bookkeeping comes from the allocator given to mos_create(), never from
 * malloc, so the live runtime can keep it outside the emulated heap.
 *
 * Terms: a *frame* is one 4 KiB emulated physical page named by its PFN
 * (page frame number, 0 .. frames_total-1). A *VMA* is a virtual range the
 * emulated OS manages. Virtual addresses are the program's real addresses.
 */
#ifndef MIMICOS_MIMICOS_H
#define MIMICOS_MIMICOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOS_PAGE_SHIFT 12u
#define MOS_PAGE_SIZE (1ull << MOS_PAGE_SHIFT)
#define MOS_HPAGE_SHIFT 21u /* 2 MiB */
#define MOS_GPAGE_SHIFT 30u /* 1 GiB */
/* Largest buddy order: blocks of 2^MOS_MAX_ORDER frames (4 MiB), as Linux. */
#define MOS_MAX_ORDER 10u
#define MOS_NR_ORDERS (MOS_MAX_ORDER + 1u)
/* Levels of the x86-64 radix page table: PML4, PDPT, PD, PT. */
#define MOS_PT_LEVELS 4u

/* Result codes. Every function that can fail returns one of these. */
enum mos_status {
	MOS_OK = 0,
	MOS_EINVAL,  /* bad argument (unaligned, zero length, overlap, ...) */
	MOS_ENOVMA,  /* address not inside any VMA MimicOS manages */
	MOS_ENOMEM,  /* emulated OOM: no frame left for data or page tables */
	MOS_EEXIST,  /* range already managed / already mapped */
	MOS_ENOENT,  /* nothing mapped there */
	MOS_EHOST,   /* the host allocator refused bookkeeping memory */
};

/* Human-readable name of a status ("ok", "emulated OOM", ...). */
const char *mos_status_str(enum mos_status st);

/*
 * Allocator for MimicOS' own bookkeeping (frame metadata, host copies of
 * page-table pages, VMA arrays). zalloc returns zeroed memory or NULL;
 * free receives the size that was allocated.
 */
struct mos_allocator {
	void *(*zalloc)(void *ctx, size_t bytes);
	void (*free)(void *ctx, void *p, size_t bytes);
	void *ctx;
};

/* Configuration of one emulated machine. */
struct mos_config {
	uint64_t mem_bytes;   /* emulated physical memory, bytes; multiple of 4 KiB */
	const char *policy;   /* allocation policy name: "baseline" */
	uint32_t fault_around_pages; /* pages populated per fault, power of two, >= 1 */
};

/* VMA flags. */
enum {
	MOS_VMA_HEAP = 1u << 0, /* the reserved malloc heap */
	MOS_VMA_MMAP = 1u << 1, /* an anonymous mmap of the program */
};

/* One VMA as stored by MimicOS: [start, end), page aligned. */
struct mos_vma {
	uint64_t start;
	uint64_t end;
	uint32_t flags;
};

/*
 * What the runtime must do to resolve one fault: populate [start, start+len)
 * on the host (all pages there are newly mapped by MimicOS and missing on the
 * host) and wake the faulting thread.
 */
struct mos_fault_result {
	uint64_t start;      /* page-aligned first byte to populate */
	uint64_t len;        /* bytes to populate, multiple of 4 KiB, >= 4 KiB */
	uint64_t pfn;        /* PFN backing the faulting page */
	uint32_t page_shift; /* emulated page size of the mapping: 12, 21 or 30 */
	bool refault;        /* MimicOS had the page mapped but the host lost it */
};

/* Counters of one emulated machine (all emulated, nothing measured). */
struct mos_stats {
	uint64_t frames_total;     /* frames of emulated memory */
	uint64_t frames_free;      /* frames free in the buddy allocator */
	uint64_t data_frames;      /* frames mapped as program data, now */
	uint64_t data_frames_peak; /* high-water mark of data_frames */
	uint64_t pt_pages;         /* page-table pages (incl. the PML4), now */
	uint64_t pt_pages_peak;    /* high-water mark of pt_pages */
	uint64_t faults;           /* calls to mos_fault that mapped memory */
	uint64_t refaults;         /* faults on pages MimicOS thought mapped */
	uint64_t pages_mapped;     /* 4 KiB pages mapped by faults, cumulative */
	uint64_t pages_unmapped;   /* 4 KiB pages unmapped (munmap/discard), cumulative */
	uint64_t oom_events;       /* faults refused with MOS_ENOMEM */
	uint64_t vmas;             /* VMAs now */
	uint64_t free_blocks[MOS_NR_ORDERS]; /* free buddy blocks per order */
};

struct mos;

/*
 * Create an emulated machine: cfg->mem_bytes of physical memory as frames in
 * a buddy allocator, an empty page table (its PML4 page already allocated),
 * no VMAs, and the named policy. Returns NULL and sets *st on failure:
 * MOS_EINVAL for a size that is zero, not a multiple of 4 KiB or above 2^44
 * bytes, an unknown policy or a fault_around_pages that is not a power of two;
 * MOS_EHOST when the allocator fails.
 */
struct mos *mos_create(const struct mos_config *cfg, const struct mos_allocator *alloc,
		       enum mos_status *st);

/* Release all bookkeeping memory of m (NULL is accepted). */
void mos_destroy(struct mos *m);

/*
 * Manage [start, start+len) as a VMA. start and len must be page aligned and
 * len > 0. MOS_EEXIST if it overlaps a managed VMA; MOS_EHOST if the VMA
 * array cannot grow.
 */
enum mos_status mos_vma_add(struct mos *m, uint64_t start, uint64_t len, uint32_t flags);

/*
 * munmap: stop managing [start, start+len). Parts of VMAs inside the range
 * are removed (a VMA may be split in two), every page mapped there is
 * unmapped, its frames freed, and page-table pages left empty are freed.
 * Parts of the range outside any VMA are ignored. MOS_EINVAL if unaligned.
 */
enum mos_status mos_vma_remove(struct mos *m, uint64_t start, uint64_t len);

/*
 * mremap: the kernel moved/resized [old, old+old_len) to [new, new+new_len).
 * Mappings of the first min(old_len, new_len) bytes move to the new address
 * with their frames; mappings beyond new_len are unmapped and freed; the VMA
 * follows. MOS_ENOVMA if old is not inside a VMA, MOS_EEXIST if the new range
 * overlaps another VMA, MOS_ENOMEM if page-table pages for the new address
 * cannot be allocated (nothing is changed then).
 */
enum mos_status mos_vma_move(struct mos *m, uint64_t old, uint64_t old_len, uint64_t new,
			     uint64_t new_len);

/*
 * madvise(MADV_DONTNEED): unmap every page in [start, start+len) and free
 * its frames; the VMAs stay (the next touch faults again). Page-table pages
 * stay allocated, as in Linux. MOS_EINVAL if unaligned.
 */
enum mos_status mos_discard(struct mos *m, uint64_t start, uint64_t len);

/*
 * The program touched vaddr (read, or write if is_write) and the host page is
 * missing: let the policy allocate frames and map them. On MOS_OK *out says
 * which host range to populate. Errors: MOS_ENOVMA (vaddr outside every VMA:
 * the runtime wakes the thread, which then gets the kernel's SIGSEGV),
 * MOS_ENOMEM (emulated OOM; nothing was changed).
 */
enum mos_status mos_fault(struct mos *m, uint64_t vaddr, bool is_write,
			  struct mos_fault_result *out);

/*
 * Translation of vaddr: PFN of the 4 KiB frame that backs it and the page
 * size of its mapping. MOS_ENOENT when unmapped.
 */
enum mos_status mos_translate(const struct mos *m, uint64_t vaddr, uint64_t *pfn,
			      uint32_t *page_shift);

/*
 * Physical addresses (bytes) of the page-table entries a hardware walk of
 * vaddr reads, top level (PML4E) first. Returns how many were written
 * (1..4; fewer when a level is absent or a huge page ends the walk).
 */
unsigned mos_walk_path(const struct mos *m, uint64_t vaddr, uint64_t pte_paddr[MOS_PT_LEVELS]);

/* The VMA containing vaddr, or NULL. The pointer is valid until the next change. */
const struct mos_vma *mos_vma_find(const struct mos *m, uint64_t vaddr);

/* Number of VMAs and the i-th in address order (i < count), for iteration. */
size_t mos_vma_count(const struct mos *m);
const struct mos_vma *mos_vma_at(const struct mos *m, size_t i);

/* Snapshot of the counters. */
void mos_get_stats(const struct mos *m, struct mos_stats *out);

/* Name of the policy in force ("baseline"). */
const char *mos_policy_name(const struct mos *m);

/*
 * Names of the built-in policies, for config validation and help: the i-th
 * name (i = 0, 1, ...), or NULL past the last.
 */
const char *mos_policy_builtin(size_t i);

/*
 * Check every internal invariant (buddy free lists, frame ownership, page
 * table accounting). Returns true when consistent; otherwise false with a
 * description in why. Cost: O(frames + table pages); for tests.
 */
bool mos_check(const struct mos *m, char *why, size_t why_len);

#endif
