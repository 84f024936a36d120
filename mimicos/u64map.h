/*
 * Hash map from 64-bit keys to 64-bit values (internal to MimicOS): open
 * addressing with linear probing and backward-shift deletion (Knuth, TAOCP
 * vol. 3, 6.4 Algorithm R), so there are no tombstones. The table doubles
 * at half load. Key UINT64_MAX is reserved (it marks empty buckets).
 * Memory comes from a struct mos_allocator.
 */
#ifndef MIMICOS_U64MAP_H
#define MIMICOS_U64MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "mimicos/mimicos.h"

#define U64MAP_EMPTY UINT64_MAX

struct u64map_slot {
	uint64_t key;
	uint64_t val;
};

struct u64map {
	struct mos_allocator alloc;
	struct u64map_slot *t; /* cap buckets, or NULL while empty */
	uint64_t cap;          /* power of two, or 0 */
	uint64_t n;            /* keys stored */
};

/* An empty map (no memory until the first put). */
void u64map_init(struct u64map *m, const struct mos_allocator *alloc);

/* Release the table. */
void u64map_fini(struct u64map *m);

/* Insert or replace key -> val. Errors: MOS_EHOST (nothing changed). */
enum mos_status u64map_put(struct u64map *m, uint64_t key, uint64_t val);

/* The value of key in *val (may be NULL); false when absent. */
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);

/* Remove key, returning its value in *val (may be NULL); false when absent. */
bool u64map_del(struct u64map *m, uint64_t key, uint64_t *val);

/*
 * Call fn for every key in [lo, hi) (in no particular order), then remove
 * those for which it returned true. Cost O(min(hi - lo, capacity)).
 * fn must not change the map.
 */
void u64map_range(struct u64map *m, uint64_t lo, uint64_t hi,
		  bool (*fn)(void *ctx, uint64_t key, uint64_t val), void *ctx);

/* Every entry (no particular order); fn must not change the map. */
void u64map_each(const struct u64map *m, void (*fn)(void *ctx, uint64_t key, uint64_t val),
		 void *ctx);

#endif
