/* Victim selection policies: see reclaim.h. */
#include "reclaim.h"

#include <string.h>

#define RC_NIL UINT32_MAX
#define RC_FREE 2

enum mos_status rc_init(struct reclaim *rc, enum mos_reclaim_policy policy, uint64_t tau,
			const struct mos_allocator *alloc)
{
	memset(rc, 0, sizeof *rc);
	if ((unsigned)policy > MOS_RECLAIM_WSCLOCK)
		return MOS_EINVAL;
	rc->policy = policy;
	rc->tau = tau;
	rc->alloc = *alloc;
	rc->free_head = RC_NIL;
	u64map_init(&rc->index, alloc);
	for (int i = 0; i < 2; i++)
		rc->list[i] = (struct rc_list){ RC_NIL, RC_NIL, 0 };
	return MOS_OK;
}

void rc_fini(struct reclaim *rc)
{
	if (rc->u)
		rc->alloc.free(rc->alloc.ctx, rc->u, rc->cap * sizeof *rc->u);
	u64map_fini(&rc->index);
	rc->u = NULL;
	rc->cap = 0;
}

static uint32_t find(const struct reclaim *rc, uint64_t key)
{
	uint64_t i;
	return u64map_get(&rc->index, key, &i) ? (uint32_t)i : RC_NIL;
}

static void list_unlink(struct reclaim *rc, uint32_t i)
{
	struct rc_unit *x = &rc->u[i];
	struct rc_list *l = &rc->list[x->list];
	if (x->prev != RC_NIL)
		rc->u[x->prev].next = x->next;
	else
		l->head = x->next;
	if (x->next != RC_NIL)
		rc->u[x->next].prev = x->prev;
	else
		l->tail = x->prev;
	l->count--;
}

static void list_append(struct reclaim *rc, uint32_t i, uint8_t which)
{
	struct rc_unit *x = &rc->u[i];
	struct rc_list *l = &rc->list[which];
	x->list = which;
	x->next = RC_NIL;
	x->prev = l->tail;
	if (l->tail != RC_NIL)
		rc->u[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
	l->count++;
}

/* Double the unit array; new units join the free list. */
static enum mos_status grow(struct reclaim *rc)
{
	uint32_t ncap = rc->cap ? rc->cap * 2 : 1024;
	if (ncap <= rc->cap || ncap > RC_NIL / 2)
		return MOS_EHOST;
	struct rc_unit *nu = rc->alloc.zalloc(rc->alloc.ctx, ncap * sizeof *nu);
	if (!nu)
		return MOS_EHOST;
	if (rc->u) {
		memcpy(nu, rc->u, rc->cap * sizeof *nu);
		rc->alloc.free(rc->alloc.ctx, rc->u, rc->cap * sizeof *rc->u);
	}
	rc->u = nu;
	for (uint32_t i = ncap; i-- > rc->cap;) {
		nu[i].list = RC_FREE;
		nu[i].next = rc->free_head;
		rc->free_head = i;
	}
	rc->cap = ncap;
	return MOS_OK;
}

static void release(struct reclaim *rc, uint32_t i)
{
	list_unlink(rc, i);
	u64map_del(&rc->index, rc->u[i].key, NULL);
	rc->u[i].list = RC_FREE;
	rc->u[i].next = rc->free_head;
	rc->free_head = i;
}

enum mos_status rc_insert(struct reclaim *rc, uint64_t key, uint8_t flags, uint64_t now)
{
	uint32_t i = find(rc, key);
	if (i != RC_NIL)
		release(rc, i);
	if (rc->free_head == RC_NIL) {
		enum mos_status st = grow(rc);
		if (st)
			return st;
	}
	i = rc->free_head;
	if (u64map_put(&rc->index, key, i) != MOS_OK)
		return MOS_EHOST;
	rc->free_head = rc->u[i].next;
	struct rc_unit *x = &rc->u[i];
	x->key = key;
	x->flags = flags & (RC_REF | RC_DIRTY | RC_HUGE);
	x->last_use = now;
	list_append(rc, i, 0);
	return MOS_OK;
}

bool rc_remove(struct reclaim *rc, uint64_t key)
{
	uint32_t i = find(rc, key);
	if (i == RC_NIL)
		return false;
	release(rc, i);
	return true;
}

static bool rm_one(void *ctx, uint64_t key, uint64_t i)
{
	struct reclaim *rc = ctx;
	list_unlink(rc, (uint32_t)i);
	rc->u[i].list = RC_FREE;
	rc->u[i].next = rc->free_head;
	rc->free_head = (uint32_t)i;
	return true; /* u64map_range removes the key */
}

void rc_remove_range(struct reclaim *rc, uint64_t lo, uint64_t hi)
{
	u64map_range(&rc->index, lo, hi, rm_one, rc);
}

bool rc_reference(struct reclaim *rc, uint64_t key, bool is_write, uint64_t now)
{
	uint32_t i = find(rc, key);
	if (i == RC_NIL)
		return false;
	struct rc_unit *x = &rc->u[i];
	if (is_write)
		x->flags |= RC_DIRTY;
	x->flags |= RC_REF;
	return true;
}

bool rc_lookup(const struct reclaim *rc, uint64_t key, uint8_t *flags)
{
	uint32_t i = find(rc, key);
	if (i == RC_NIL)
		return false;
	if (flags)
		*flags = rc->u[i].flags;
	return true;
}

bool rc_set_flags(struct reclaim *rc, uint64_t key, uint8_t set, uint8_t clear)
{
	uint32_t i = find(rc, key);
	if (i == RC_NIL)
		return false;
	rc->u[i].flags = (uint8_t)((rc->u[i].flags | set) & ~clear);
	return true;
}

/* Move the oldest unit of list `from` to the newest end of list `to`. */
static void rotate(struct reclaim *rc, uint8_t from, uint8_t to)
{
	uint32_t i = rc->list[from].head;
	list_unlink(rc, i);
	list_append(rc, i, to);
	if (to == 1)
		rc->u[i].flags |= RC_ACTIVE;
	else
		rc->u[i].flags &= (uint8_t)~RC_ACTIVE;
}

static uint32_t select_clock(struct reclaim *rc)
{
	for (;;) {
		uint32_t i = rc->list[0].head;
		rc->scanned++;
		if (!(rc->u[i].flags & RC_REF))
			return i;
		rc->u[i].flags &= (uint8_t)~RC_REF; /* second chance */
		rotate(rc, 0, 0);
	}
}

static uint32_t select_lru(struct reclaim *rc)
{
	for (;;) {
		/* shrink_active_list: keep the inactive list at least as long
		 * as the active one (inactive_is_low, ratio 1); active anon
		 * pages are deactivated whether referenced or not, R cleared */
		while (rc->list[1].count > rc->list[0].count) {
			rc->u[rc->list[1].head].flags &= (uint8_t)~RC_REF;
			rotate(rc, 1, 0);
			rc->scanned++;
			rc->deactivations++;
		}
		/* shrink_folio_list / folio_check_references on the oldest
		 * inactive unit: not referenced: evict; referenced once (R, no
		 * PG_referenced): mark it and give it another trip; referenced
		 * again: activate */
		uint32_t i = rc->list[0].head;
		struct rc_unit *x = &rc->u[i];
		rc->scanned++;
		if (!(x->flags & RC_REF))
			return i;
		x->flags &= (uint8_t)~RC_REF;
		if (x->flags & RC_PGREF) {
			rotate(rc, 0, 1);
			rc->activations++;
		} else {
			x->flags |= RC_PGREF;
			rotate(rc, 0, 0);
		}
	}
}

static uint32_t select_wsclock(struct reclaim *rc, uint64_t now)
{
	uint32_t dirty_old = RC_NIL, oldest = RC_NIL;
	uint64_t n = rc->list[0].count < RC_WSCLOCK_MAX_SCAN ? rc->list[0].count
							    : RC_WSCLOCK_MAX_SCAN;
	for (uint64_t k = 0; k < n; k++) {
		uint32_t i = rc->list[0].head;
		struct rc_unit *x = &rc->u[i];
		rc->scanned++;
		if (x->flags & RC_REF) {
			x->flags &= (uint8_t)~RC_REF;
			x->last_use = now;
		} else if (now - x->last_use > rc->tau) {
			if (!(x->flags & RC_DIRTY))
				return i;
			if (dirty_old == RC_NIL)
				dirty_old = i;
		}
		if (oldest == RC_NIL || x->last_use < rc->u[oldest].last_use)
			oldest = i;
		rotate(rc, 0, 0);
	}
	return dirty_old != RC_NIL ? dirty_old : oldest;
}

bool rc_select(struct reclaim *rc, uint64_t now, uint64_t *key, uint8_t *flags)
{
	if (!rc_count(rc))
		return false;
	uint32_t i;
	switch (rc->policy) {
	case MOS_RECLAIM_FIFO:
		i = rc->list[0].head;
		rc->scanned++;
		break;
	case MOS_RECLAIM_CLOCK:
		i = select_clock(rc);
		break;
	case MOS_RECLAIM_LRU:
		i = select_lru(rc);
		break;
	default:
		i = select_wsclock(rc, now);
		break;
	}
	*key = rc->u[i].key;
	if (flags)
		*flags = rc->u[i].flags;
	release(rc, i);
	return true;
}

void rc_for_each(const struct reclaim *rc, void (*fn)(void *ctx, uint64_t key, uint8_t flags),
		 void *ctx)
{
	for (uint32_t i = 0; i < rc->cap; i++)
		if (rc->u[i].list != RC_FREE)
			fn(ctx, rc->u[i].key, rc->u[i].flags);
}
