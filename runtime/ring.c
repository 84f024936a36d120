#include "runtime/ring.h"

#include "runtime/ialloc.h"

int ring_init(struct ring *r, size_t capacity)
{
	size_t cap = 2;
	while (cap < capacity)
		cap <<= 1;
	*r = (struct ring){ 0 };
	r->slots = ialloc_zalloc(cap * sizeof *r->slots);
	if (!r->slots)
		return -1;
	r->mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		__atomic_store_n(&r->slots[i].seq, (uint64_t)i, __ATOMIC_RELAXED);
	return 0;
}

void ring_free(struct ring *r)
{
	ialloc_free(r->slots);
	r->slots = NULL;
}

bool ring_push(struct ring *r, const struct ring_rec *rec)
{
	uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	for (;;) {
		struct ring_slot *s = &r->slots[pos & r->mask];
		uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		int64_t diff = (int64_t)(seq - pos);
		if (diff == 0) {
			/* the slot is free for position pos: claim it */
			if (__atomic_compare_exchange_n(&r->tail, &pos, pos + 1, true,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				s->rec = *rec;
				__atomic_store_n(&s->seq, pos + 1, __ATOMIC_RELEASE);
				__atomic_fetch_add(&r->pushed, 1, __ATOMIC_RELAXED);
				return true;
			}
			/* pos was reloaded by the failed CAS */
		} else if (diff < 0) {
			/* the consumer has not freed this slot yet: full */
			__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
			return false;
		} else {
			pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
		}
	}
}

bool ring_pop(struct ring *r, struct ring_rec *out)
{
	struct ring_slot *s = &r->slots[r->head & r->mask];
	uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (seq != r->head + 1)
		return false; /* not published yet (or empty) */
	*out = s->rec;
	/* free the slot for the producer one lap ahead */
	__atomic_store_n(&s->seq, r->head + r->mask + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELAXED); /* tick reads it as a hint */
	r->popped++;
	return true;
}

uint64_t ring_pushed(const struct ring *r)
{
	return __atomic_load_n(&r->pushed, __ATOMIC_RELAXED);
}

uint64_t ring_dropped(const struct ring *r)
{
	return __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
}
