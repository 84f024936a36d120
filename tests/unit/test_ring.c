/* The MPSC access-record ring: N producer threads against one consumer,
 * every record accounted for exactly once (consumed or counted as dropped),
 * per-producer order kept, nothing invented. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ring.h"

#define PRODUCERS 4

struct run {
	struct ring ring;
	uint64_t per_producer;
	uint64_t accepted[PRODUCERS]; /* push returned true */
	int done;                     /* producers finished (atomic) */
	/* consumer's view */
	uint64_t got[PRODUCERS];
	uint64_t next[PRODUCERS];     /* next sequence expected from each producer */
	uint64_t out_of_order, bad;
};

struct prod { struct run *r; unsigned id; };

static void *producer(void *arg)
{
	struct prod *p = arg;
	for (uint64_t i = 0; i < p->r->per_producer; i++) {
		struct ring_rec rec = { .vaddr = i, .time = i * 3, .tid = p->id,
					.flags = (uint16_t)(i & 1), .source = (uint16_t)p->id };
		if (ring_push(&p->r->ring, &rec))
			p->r->accepted[p->id]++;
	}
	__atomic_fetch_add(&p->r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void consume(struct run *r, const struct ring_rec *rec)
{
	if (rec->tid >= PRODUCERS || rec->source != rec->tid || rec->time != rec->vaddr * 3 ||
	    rec->flags != (rec->vaddr & 1)) {
		r->bad++;
		return;
	}
	/* a producer's records arrive in its order; drops only skip ahead */
	if (rec->vaddr < r->next[rec->tid])
		r->out_of_order++;
	r->next[rec->tid] = rec->vaddr + 1;
	r->got[rec->tid]++;
}

/* Run PRODUCERS threads of n pushes each into a ring of cap slots while this
 * thread consumes; check the accounting. Returns the drops. */
static uint64_t run(size_t cap, uint64_t n)
{
	struct run *r = calloc(1, sizeof *r);
	assert_non_null(r);
	assert_int_equal(ring_init(&r->ring, cap), 0);
	r->per_producer = n;
	pthread_t th[PRODUCERS];
	struct prod p[PRODUCERS];
	for (unsigned i = 0; i < PRODUCERS; i++) {
		p[i] = (struct prod){ r, i };
		assert_int_equal(pthread_create(&th[i], NULL, producer, &p[i]), 0);
	}
	struct ring_rec rec;
	for (;;) {
		int done = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
		bool any = false;
		while (ring_pop(&r->ring, &rec)) {
			consume(r, &rec);
			any = true;
		}
		if (done == PRODUCERS && !any)
			break;
	}
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	while (ring_pop(&r->ring, &rec))
		consume(r, &rec);

	uint64_t accepted = 0, got = 0;
	for (unsigned i = 0; i < PRODUCERS; i++) {
		/* everything a producer got accepted was consumed exactly once */
		assert_int_equal(r->got[i], r->accepted[i]);
		accepted += r->accepted[i];
		got += r->got[i];
	}
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->out_of_order, 0);
	assert_int_equal(ring_pushed(&r->ring), accepted);
	assert_int_equal(r->ring.popped, got);
	assert_int_equal(accepted + ring_dropped(&r->ring), PRODUCERS * n);
	uint64_t drops = ring_dropped(&r->ring);
	ring_free(&r->ring);
	free(r);
	return drops;
}

/* A ring large enough for everything: no drop, every record exactly once. */
static void no_loss_when_roomy(void **s)
{
	assert_int_equal(run(PRODUCERS * 50000, 50000), 0);
}

/* A tiny ring under four producers: drops happen and are all counted. */
static void drops_counted_when_full(void **s)
{
	uint64_t drops = run(8, 200000);
	assert_true(drops > 0);
}

/* Single-threaded: FIFO, full at capacity, empty pop fails. */
static void fifo_and_capacity(void **s)
{
	struct ring r;
	assert_int_equal(ring_init(&r, 5), 0); /* rounded up to 8 */
	struct ring_rec rec = { 0 }, out;
	assert_false(ring_pop(&r, &out));
	for (int i = 0; i < 8; i++) {
		rec.vaddr = (uint64_t)i;
		assert_true(ring_push(&r, &rec));
	}
	rec.vaddr = 99;
	assert_false(ring_push(&r, &rec));
	assert_int_equal(ring_dropped(&r), 1);
	for (int i = 0; i < 8; i++) {
		assert_true(ring_pop(&r, &out));
		assert_int_equal(out.vaddr, (uint64_t)i);
	}
	assert_false(ring_pop(&r, &out));
	/* wraps around */
	for (int lap = 0; lap < 3; lap++)
		for (int i = 0; i < 8; i++) {
			rec.vaddr = (uint64_t)(lap * 100 + i);
			assert_true(ring_push(&r, &rec));
			assert_true(ring_pop(&r, &out));
			assert_int_equal(out.vaddr, rec.vaddr);
		}
	ring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_and_capacity),
		cmocka_unit_test(no_loss_when_roomy),
		cmocka_unit_test(drops_counted_when_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
