/* Linear-probing hash map: see u64map.h. */
#include "u64map.h"

#include <string.h>

static uint64_t bucket(const struct u64map *m, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull; /* murmur3 fmix64 */
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ull;
	key ^= key >> 33;
	return key & (m->cap - 1);
}

void u64map_init(struct u64map *m, const struct mos_allocator *alloc)
{
	memset(m, 0, sizeof *m);
	m->alloc = *alloc;
}

void u64map_fini(struct u64map *m)
{
	if (m->t)
		m->alloc.free(m->alloc.ctx, m->t, m->cap * sizeof *m->t);
	m->t = NULL;
	m->cap = m->n = 0;
}

static uint64_t find(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return UINT64_MAX;
	for (uint64_t i = bucket(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->t[i].key == key)
			return i;
		if (m->t[i].key == U64MAP_EMPTY)
			return UINT64_MAX;
	}
}

static void place(struct u64map *m, uint64_t key, uint64_t val)
{
	uint64_t i = bucket(m, key);
	while (m->t[i].key != U64MAP_EMPTY)
		i = (i + 1) & (m->cap - 1);
	m->t[i] = (struct u64map_slot){ key, val };
}

static enum mos_status grow(struct u64map *m)
{
	uint64_t ncap = m->cap ? m->cap * 2 : 256;
	struct u64map_slot *nt = m->alloc.zalloc(m->alloc.ctx, ncap * sizeof *nt);
	if (!nt)
		return MOS_EHOST;
	memset(nt, 0xff, ncap * sizeof *nt);
	struct u64map_slot *old = m->t;
	uint64_t ocap = m->cap;
	m->t = nt;
	m->cap = ncap;
	for (uint64_t i = 0; i < ocap; i++)
		if (old[i].key != U64MAP_EMPTY)
			place(m, old[i].key, old[i].val);
	if (old)
		m->alloc.free(m->alloc.ctx, old, ocap * sizeof *old);
	return MOS_OK;
}

enum mos_status u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	uint64_t i = find(m, key);
	if (i != UINT64_MAX) {
		m->t[i].val = val;
		return MOS_OK;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m) != MOS_OK)
		return MOS_EHOST;
	place(m, key, val);
	m->n++;
	return MOS_OK;
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	uint64_t i = find(m, key);
	if (i == UINT64_MAX)
		return false;
	if (val)
		*val = m->t[i].val;
	return true;
}

/* Empty bucket i and shift later members of its probe run back into it. */
static void erase_at(struct u64map *m, uint64_t i)
{
	uint64_t mask = m->cap - 1;
	for (uint64_t j = (i + 1) & mask; m->t[j].key != U64MAP_EMPTY; j = (j + 1) & mask) {
		uint64_t home = bucket(m, m->t[j].key);
		/* move j to i unless its home lies cyclically in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->t[i] = m->t[j];
			i = j;
		}
	}
	m->t[i].key = U64MAP_EMPTY;
	m->n--;
}

bool u64map_del(struct u64map *m, uint64_t key, uint64_t *val)
{
	uint64_t i = find(m, key);
	if (i == UINT64_MAX)
		return false;
	if (val)
		*val = m->t[i].val;
	erase_at(m, i);
	return true;
}

void u64map_range(struct u64map *m, uint64_t lo, uint64_t hi,
		  bool (*fn)(void *ctx, uint64_t key, uint64_t val), void *ctx)
{
	if (hi <= lo || !m->n)
		return;
	if (hi - lo <= m->cap) {
		for (uint64_t k = lo; k < hi; k++) {
			uint64_t i = find(m, k);
			if (i != UINT64_MAX && fn(ctx, k, m->t[i].val))
				erase_at(m, i);
		}
		return;
	}
	/* Whole-table pass starting after an empty bucket, so no probe run
	 * wraps past the start. Erasing at i shifts later members of the run
	 * back into i and beyond, never before i: look at i again. */
	uint64_t start = 0;
	while (m->t[start].key != U64MAP_EMPTY) /* begin at an empty bucket */
		start++;
	for (uint64_t c = 0; c < m->cap; c++) {
		uint64_t i = (start + 1 + c) & (m->cap - 1);
		for (;;) {
			uint64_t k = m->t[i].key;
			if (k == U64MAP_EMPTY || k < lo || k >= hi || !fn(ctx, k, m->t[i].val))
				break;
			erase_at(m, i);
		}
	}
}

void u64map_each(const struct u64map *m, void (*fn)(void *ctx, uint64_t key, uint64_t val),
		 void *ctx)
{
	for (uint64_t i = 0; i < m->cap; i++)
		if (m->t[i].key != U64MAP_EMPTY)
			fn(ctx, m->t[i].key, m->t[i].val);
}
