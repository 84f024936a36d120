/*
 * The machine structure and the core helpers shared by mimicos.c and
 * swap.c (internal to MimicOS).
 */
#ifndef MIMICOS_CORE_H
#define MIMICOS_CORE_H

#include "hugetlb.h"
#include "policy.h"
#include "reclaim.h"
#include "u64map.h"
#include "vma.h"

/* A swap slot's state (struct swap.info). */
struct swap_slot {
	uint64_t vpn;      /* page whose copy the slot holds */
	uint64_t shadow;   /* non-resident age at eviction (refault distance) */
	uint32_t cache_pfn; /* frame of the swap-cache copy, if SLOT_CACHED */
	uint32_t prev, next; /* swap-cache FIFO links (slot numbers) */
	uint8_t flags;     /* SLOT_* */
};

enum {
	SLOT_USED = 1u << 0,     /* allocated */
	SLOT_RESIDENT = 1u << 1, /* the page is mapped; the slot is its clean copy */
	SLOT_CACHED = 1u << 2,   /* a swap-cache frame holds it (not mapped) */
	SLOT_RA = 1u << 3,       /* read ahead and not used yet */
};

#define SWAP_NIL UINT32_MAX

/* Swap state of one machine (swap.c). */
struct swap {
	uint64_t nslots;            /* 0: no swap */
	struct swap_slot *info;     /* nslots entries */
	uint64_t cursor;            /* next-fit slot search starts here */
	uint64_t used, used_peak;
	struct u64map map;          /* VPN -> slot of its swap copy */
	struct reclaim rc;          /* resident units: VPN keys */
	uint32_t cache_head, cache_tail; /* swap-cache FIFO, oldest first */
	uint64_t cache_frames;
	bool thp_whole;
	uint32_t ra_max, ra_window;
	uint64_t last_swapin_vpn;
	uint64_t age;               /* non-resident age (evictions) */
	uint64_t wmark[3];          /* min, low, high, frames */
	struct mos_swapin *pending; /* swap-ins of the last fault/scan */
	size_t npending, pending_cap, pending_read;
	uint64_t *to_free;          /* slots to free at mos_swapin_done */
	size_t nfree, free_cap;
	uint64_t now;               /* latest time the caller gave */
	struct {
		uint64_t swapouts, swapout_writes, swapout_clean, swapins, major_faults,
			swapcache_hits, readahead_pages, readahead_hits, readahead_wasted,
			isolated, putback, thp_swap_split, thp_swapout, swap_full,
			refaults, activate, distance[16];
	} ctr;
};

struct mos {
	struct mos_env env; /* allocator, buddy, page table, fault-around */
	struct vma_set vmas;
	const struct mos_policy *policy; /* a built-in, or &user_policy */
	struct mos_policy user_policy;   /* copied from mos_config.policy_ops */
	void *policy_state;
	bool policy_ready; /* policy->init succeeded */

	uint64_t data_frames, data_frames_peak, pt_pages_peak;
	uint64_t faults, refaults, pages_mapped, pages_unmapped, oom_events;
	uint64_t frames_pinned; /* fragmentation injection, never freed */
	uint64_t scan_cursor;   /* mos_scan resumes here */
	struct swap sw;         /* swap slots, swap cache, reclaim units */
	struct hugetlb ht;      /* hugetlb pools */
};

/* mimicos.c: let the policy unmap [start, end) and free its frames. */
void mos_core_unmap(struct mos *m, uint64_t start, uint64_t end);

/*
 * mimicos.c: demote the 2 MiB leaf at hva (frames from head) to 512 4 KiB
 * PTEs; needs one free frame (MOS_ENOMEM otherwise, nothing changed).
 */
enum mos_status mos_core_split(struct mos *m, uint64_t hva, uint64_t head);

/* swap.c: set up (cfg->swap_pages > 0) or leave empty. Errors: MOS_EINVAL, MOS_EHOST. */
enum mos_status swap_init(struct mos *m, const struct mos_config *cfg);
void swap_fini(struct mos *m);

/* swap.c: before the policy maps vaddr on a fault: swap-cache bookkeeping. */
void swap_before_fault(struct mos *m, uint64_t vaddr, struct mos_fault_result *out);

/*
 * swap.c: [lo, hi) was just mapped by a fault at vaddr (or a scan, vaddr =
 * UINT64_MAX): consume swap entries into the pending list, track the new
 * resident units.
 */
void swap_after_map(struct mos *m, uint64_t lo, uint64_t hi, uint64_t vaddr, bool is_write);

/* swap.c: a new fault or scan starts: free what the last one left pending. */
void swap_begin(struct mos *m);

/* swap.c: readahead after a major fault at vaddr (out->readahead_pages). */
void swap_readahead(struct mos *m, uint64_t vaddr, struct mos_fault_result *out);

/* swap.c: [start, end) is being unmapped / discarded: free its swap entries and units. */
void swap_drop_range(struct mos *m, uint64_t start, uint64_t end);

/* swap.c: mremap moved [old, old+keep) to new (after the leaves moved). */
void swap_move(struct mos *m, uint64_t old, uint64_t old_len, uint64_t new, uint64_t new_len);

/* swap.c: counters into out. */
void swap_stats(const struct mos *m, struct mos_stats *out);

/* swap.c: invariants; marks swap-cache frames in seen. */
bool swap_check(const struct mos *m, uint8_t *seen, char *why, size_t why_len);

#endif
