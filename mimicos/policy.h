/*
 * Allocation policies (internal to MimicOS).
 *
 * A policy decides, on each fault, which frames back the faulting address,
 * at which page size, and how many neighbouring pages to map at once; and
 * it frees what it allocated when a range is unmapped. It works on the
 * machine's shared state (struct mos_env: buddy allocator, page table,
 * configuration). The core (mimicos.c) handles everything policy-independent:
 * VMA lookup, refaults, statistics, moving mappings on mremap, and freeing
 * empty page-table pages on munmap.
 *
 * Policies are found by name in a static table (mos_policy_find). Reclaim
 * slots will be added with the first policy that needs them.
 */
#ifndef MIMICOS_POLICY_H
#define MIMICOS_POLICY_H

#include <stddef.h>

#include "buddy.h"
#include "phys.h"
#include "mimicos/policy_api.h"
#include "pagetable.h"

/* Counters policies (and the core) update; copied into struct mos_stats. */
struct mos_counters {
	uint64_t huge_pages, thp_fault_alloc, thp_fault_fallback, thp_split;
	uint64_t reservations_made, reservation_fallback, promotions, demotions, demoted_frames;
	uint64_t collapses, scan_pages;
	uint64_t eager_faults, eager_fallbacks, eager_blocks;
	uint64_t gigantic_pages; /* 1 GiB leaves mapped now (hugetlb) */
};

/* The emulated machine state a policy works on. */
struct mos_env {
	/*
	 * Must stay the first member: policy_api.h's mos_env_services() reads
	 * it through the opaque pointer (the public ABI).
	 */
	const struct mos_policy_services *svc;
	struct mos_allocator alloc;  /* host memory for bookkeeping */
	struct phys mem;             /* emulated physical memory: NUMA nodes, one buddy each */
	struct pt pt;                /* the process' page table */
	uint32_t fault_around_pages; /* cfg: pages considered per fault, power of two */
	enum mos_thp_mode thp_mode;  /* cfg */
	double promotion_threshold;  /* cfg, 0..1 */
	uint64_t eager_max_bytes;    /* cfg, 0 or power of two */
	uint64_t eager_populate_bytes; /* cfg, 0 or power of two */
	struct mos_counters ctr;
	/*
	 * Scratch: 4 KiB pages a policy call mapped beyond what its result
	 * range says (promotions, collapses). The core zeroes it before each
	 * fault/scan call and adds it to the data-frame counters afterwards.
	 */
	uint64_t extra_mapped;

	/*
	 * Policy API version 2 (policy_api.c). Frames a user policy reserved
	 * (mos_env_reserve): one bit per frame, allocated on the first
	 * reservation (NULL before), and their number.
	 */
	uint8_t *ures;
	uint64_t ures_count;
	/* Named counters a user policy published (mos_env_counter). */
	unsigned ncounters;
	struct {
		char name[MOS_POLICY_COUNTER_NAME_MAX + 1];
		uint64_t value;
	} counter[MOS_POLICY_MAX_COUNTERS];
};

/*
 * Frame ownership rule shared by all policies (mos_check verifies it): a
 * 2 MiB leaf is exactly one allocated order-9 block starting at its PFN; a
 * 4 KiB leaf is an allocated order-0 block, unless the policy's owns_subpage
 * vouches for it (a reservation subpage). Frames that are neither mapped nor
 * page tables are counted by the policy's reserved_frames.
 */
struct mos_policy {
	const char *name; /* as given in the config: "baseline" */

	/*
	 * Set up the policy's private state in *state (may stay NULL).
	 * Errors: MOS_EHOST.
	 */
	enum mos_status (*init)(struct mos_env *env, void **state);

	/*
	 * Resolve a fault at vaddr inside vma, where no leaf maps vaddr yet:
	 * allocate frames, map them, and describe in *out (zeroed by the core;
	 * refault = false) the page-aligned range [start, start+len) inside vma
	 * that is now mapped and was unmapped before, including vaddr's page;
	 * out->pfn is the 4 KiB frame backing vaddr. map_start/map_len and
	 * promoted_start/promoted_len as in struct mos_fault_result; pages mapped
	 * outside the map range go to env->extra_mapped. Errors: MOS_ENOMEM with
	 * nothing mapped (no frame for data or page-table pages), MOS_EHOST.
	 */
	enum mos_status (*fault)(void *state, struct mos_env *env, const struct mos_vma *vma,
				 uint64_t vaddr, bool is_write, struct mos_fault_result *out);

	/*
	 * Unmap every page in [start, end) (page aligned; huge leaves straddling
	 * the ends were split by the core) and free the frames this policy
	 * allocated for it. Page-table pages stay. Returns the number of 4 KiB
	 * pages unmapped.
	 */
	uint64_t (*free_range)(void *state, struct mos_env *env, uint64_t start, uint64_t end);

	/* Release the private state (the machine is being destroyed). May be NULL. */
	void (*fini)(void *state, struct mos_env *env);

	/*
	 * Optional. The mappings of [lo, hi) are about to move (mremap) to an
	 * address that may break the policy's virtual/physical correspondence:
	 * drop such bookkeeping (reservethp demotes overlapping reservations).
	 */
	void (*before_move)(void *state, struct mos_env *env, uint64_t lo, uint64_t hi);

	/*
	 * Optional (NULL: mos_scan does nothing). The 2 MiB region at `region`,
	 * entirely inside vma and holding at least one 4 KiB leaf, was reached by
	 * mos_scan: promote or collapse it to one 2 MiB leaf if the policy wants
	 * to (pages newly mapped go to env->extra_mapped). Returns true when the
	 * region is now one 2 MiB leaf.
	 */
	bool (*scan_region)(void *state, struct mos_env *env, const struct mos_vma *vma,
			    uint64_t region);

	/* Optional: frames the policy holds allocated but not mapped. */
	uint64_t (*reserved_frames)(const void *state);

	/* Optional: reservations now (for mos_stats). */
	uint64_t (*reservations)(const void *state);

	/*
	 * Optional: true when the 4 KiB leaf vaddr -> pfn, whose frame is not an
	 * order-0 block of its own, belongs to the policy (a reservation subpage).
	 */
	bool (*owns_subpage)(const void *state, const struct mos_env *env, uint64_t vaddr,
			     uint64_t pfn);

	/* Optional: verify the policy's own structures; false with why. */
	bool (*check)(const void *state, const struct mos_env *env, char *why, size_t why_len);
};

_Static_assert(offsetof(struct mos_env, svc) == 0, "svc must be the first member of mos_env");

/*
 * Public policies (policy_api.h) and this table. A caller-supplied struct
 * mos_policy_ops is deliberately a separate, smaller struct, not this one:
 * the slots here beyond the public six (before_move, scan_region,
 * reserved_frames, reservations, owns_subpage) lean on internals (the
 * extra_mapped scratch, the reserved-subpage exemption of the ownership
 * check) that must stay free to change, and a public table needs an ABI
 * version. The shared members have identical types (asserted in
 * policy_api.c), so mos_create copies them into a struct mos_policy held in
 * the machine and the core calls user and built-in policies the same way.
 */

/* Built-in policies. */
extern const struct mos_policy mos_policy_baseline;
extern const struct mos_policy mos_policy_thp;
extern const struct mos_policy mos_policy_reservethp;
extern const struct mos_policy mos_policy_eagerpaging;

/* The built-in policy called name, or NULL. */
const struct mos_policy *mos_policy_find(const char *name);

/* The services behind policy_api.h's mos_env_* functions (policy_api.c). */
extern const struct mos_policy_services mos_services;

/*
 * Validate a caller-supplied ops table (ABI version, non-empty name, fault
 * and free_range set) and copy it into *out (other slots NULL). False when
 * invalid.
 */
bool mos_policy_from_ops(const struct mos_policy_ops *ops, struct mos_policy *out);

/* Bytes of env->ures: one bit per frame. */
static inline size_t mos_ures_bytes(const struct mos_env *env)
{
	return (size_t)((env->mem.nframes + 7) / 8);
}

/* Frame pfn is reserved by the user policy. */
static inline bool mos_ures_test(const struct mos_env *env, uint64_t pfn)
{
	return env->ures && (env->ures[pfn >> 3] >> (pfn & 7)) & 1;
}

/* Shared helpers (policy_baseline.c / policy_thp.c). */

#define MOS_HPAGE_SIZE (1ull << MOS_HPAGE_SHIFT)
#define MOS_HPAGE_PAGES (MOS_HPAGE_SIZE >> MOS_PAGE_SHIFT)  /* 512 */
#define MOS_HPAGE_ORDER (MOS_HPAGE_SHIFT - MOS_PAGE_SHIFT) /* 9 */

/*
 * Baseline's 4 KiB fault with fault-around, the window clipped to [lo, hi)
 * (which contains vaddr): each page its own order-0 frame. Errors: MOS_ENOMEM
 * (nothing changed), MOS_EHOST.
 */
enum mos_status mos_fault_4k(struct mos_env *env, uint64_t lo, uint64_t hi, uint64_t vaddr,
			     struct mos_fault_result *out);

/* Frames needed to map the 4 KiB pages of [lo, hi): data plus page tables. */
uint64_t mos_frames_needed(const struct mos_env *env, uint64_t lo, uint64_t hi);

/* Free a leaf under the ownership rule (order-9 block or order-0 frame). */
void mos_free_leaf(struct mos_env *env, const struct pt_leaf *leaf);

/* free_range for policies whose leaves follow the ownership rule alone. */
uint64_t mos_free_range_simple(void *state, struct mos_env *env, uint64_t start, uint64_t end);

/* Linux's rule for a huge page in vma under mode (transhuge.rst). */
bool mos_thp_allowed(enum mos_thp_mode mode, const struct mos_vma *vma);

/* populated > threshold * 512, the promotion/collapse test. */
bool mos_over_threshold(const struct mos_env *env, uint64_t populated);

/*
 * Replace the 4 KiB leaves of the 2 MiB region (inside one VMA) by one 2 MiB
 * leaf on the allocated order-9 block at pfn: unmaps them (calling free_leaf
 * for each, if not NULL), frees the now empty PT page and maps the huge leaf,
 * which needs no new frame (the PD exists). Counts huge_pages. Returns the
 * number of 4 KiB leaves removed.
 */
uint64_t mos_make_huge(struct mos_env *env, uint64_t region, uint64_t pfn,
		       void (*free_leaf)(void *ctx, const struct pt_leaf *leaf), void *ctx);

/*
 * khugepaged collapse of a region of 4 KiB leaves (all owned as order-0
 * frames): if the mapped fraction is over the threshold and an order-9 block
 * is free, frees the old frames and maps the block as one 2 MiB leaf
 * (extra_mapped += 512 - mapped). True on collapse.
 */
bool mos_collapse_region(struct mos_env *env, uint64_t region);

#endif
