/*
 * Victim selection for page reclaim (internal to MimicOS; unit-tested on its
 * own with textbook reference strings).
 *
 * A `struct reclaim` tracks the resident reclaimable units of one machine,
 * each named by a 64-bit key (MimicOS uses the VPN of a 4 KiB page or of the
 * first page of a 2 MiB page), with per-unit flags: referenced (R, set by
 * rc_reference), dirty (D) and the policy's own state. rc_select removes
 * and returns the unit the policy evicts next. Pure and deterministic; time
 * is whatever monotonic unit the caller passes as `now` (the live runtime:
 * ns; tests: reference count).
 *
 * Policies (mos_config.reclaim_policy):
 * - FIFO: evict in insertion order; references are ignored (so it shows
 *   Belady's anomaly).
 * - CLOCK (second chance; Corbato 1968, as in Tanenbaum, Modern Operating
 *   Systems 4e section 3.4.5): the hand starts at the oldest unit; a unit
 *   with R set has R cleared and goes behind the hand, the first unit with R
 *   clear is evicted.
 * - LRU (approximation with active/inactive lists, after Linux mm/vmscan.c
 *   shrink_active_list / folio_check_references): R plays the PTE young bit
 *   (set by the instantiating fault and every reference), RC_PGREF Linux's
 *   PG_referenced. New units enter the inactive list. Before selecting,
 *   while the active list is longer than the inactive one its oldest unit
 *   is deactivated (R cleared; anon pages are deactivated referenced or
 *   not). The oldest inactive unit is evicted if R is clear; with R set and
 *   no PG_referenced it gets PG_referenced and another trip round the
 *   inactive list; with both it is activated.
 * - WSCLOCK (Carr and Hennessy, SOSP 1981): CLOCK over all units with a
 *   last-use time per unit and a working-set window tau. The hand clears R
 *   and sets last use = now on referenced units; an unreferenced unit older
 *   than tau is evicted at once if clean. Dirty old units are remembered; after
 *   one turn (at most RC_WSCLOCK_MAX_SCAN units) the first dirty old unit is
 *   evicted, else the unit with the oldest last use seen.
 */
#ifndef MIMICOS_RECLAIM_H
#define MIMICOS_RECLAIM_H

#include <stdbool.h>
#include <stdint.h>

#include "mimicos/mimicos.h"
#include "u64map.h"

/* Unit flags. */
enum {
	RC_REF = 1u << 0,    /* referenced since the policy last looked */
	RC_DIRTY = 1u << 1,  /* written since its swap copy was made (or never copied) */
	RC_ACTIVE = 1u << 2, /* LRU: on the active list (policy-owned) */
	RC_HUGE = 1u << 3,   /* caller's: the unit is a 2 MiB page */
	RC_PGREF = 1u << 4,  /* LRU: Linux's PG_referenced (policy-owned) */
};

/* Most units the WSCLOCK hand examines per selection (bounds the cost). */
#define RC_WSCLOCK_MAX_SCAN 4096u

struct rc_unit {
	uint64_t key;
	uint64_t last_use; /* WSCLOCK */
	uint32_t prev, next; /* list links (indices; RC_NIL ends) */
	uint8_t flags;
	uint8_t list;        /* 0 = inactive / the only list, 1 = active, 2 = free slot */
};

struct rc_list {
	uint32_t head, tail; /* head = oldest (eviction end) */
	uint64_t count;
};

struct reclaim {
	enum mos_reclaim_policy policy;
	uint64_t tau;                /* WSCLOCK window, caller's time unit */
	struct mos_allocator alloc;
	struct rc_unit *u;           /* cap units */
	uint32_t cap, free_head;
	struct u64map index;         /* key -> unit index */
	struct rc_list list[2];
	uint64_t scanned;            /* units the policy examined, cumulative */
	uint64_t activations, deactivations;
};

/* Initialise an empty tracker. Errors: MOS_EINVAL (policy out of range). */
enum mos_status rc_init(struct reclaim *rc, enum mos_reclaim_policy policy, uint64_t tau,
			const struct mos_allocator *alloc);

/* Release the tracker's memory (rc may be zeroed). */
void rc_fini(struct reclaim *rc);

/* Units tracked now. */
static inline uint64_t rc_count(const struct reclaim *rc)
{
	return rc->list[0].count + rc->list[1].count;
}

/*
 * A unit became resident at time now with flags (RC_DIRTY / RC_HUGE; RC_REF
 * sets R). If key is already tracked it is re-inserted as new. Errors:
 * MOS_EHOST (no host memory; the unit is then simply not tracked).
 */
enum mos_status rc_insert(struct reclaim *rc, uint64_t key, uint8_t flags, uint64_t now);

/* Stop tracking key. Returns false when it was not tracked. */
bool rc_remove(struct reclaim *rc, uint64_t key);

/* Stop tracking every key in [lo, hi). Cost O(min(hi - lo, units)). */
void rc_remove_range(struct reclaim *rc, uint64_t lo, uint64_t hi);

/*
 * The unit key was accessed (written if is_write: sets D). Returns false
 * when key is not tracked.
 */
bool rc_reference(struct reclaim *rc, uint64_t key, bool is_write, uint64_t now);

/* Flags of key in *flags; false when not tracked. */
bool rc_lookup(const struct reclaim *rc, uint64_t key, uint8_t *flags);

/* Set (or clear) flag bits of a tracked key; false when not tracked. */
bool rc_set_flags(struct reclaim *rc, uint64_t key, uint8_t set, uint8_t clear);

/*
 * Choose the next victim under the policy, stop tracking it and return its
 * key and flags. False when nothing is tracked.
 */
bool rc_select(struct reclaim *rc, uint64_t now, uint64_t *key, uint8_t *flags);

/*
 * Every tracked key, in no particular order: fn(ctx, key, flags); used for
 * invariant checks and rekeying. fn must not change the tracker.
 */
void rc_for_each(const struct reclaim *rc, void (*fn)(void *ctx, uint64_t key, uint8_t flags),
		 void *ctx);

#endif
