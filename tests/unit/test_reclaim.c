/*
 * Unit tests of the victim selection policies (mimicos/reclaim.c) on
 * scripted reference strings, driven as a textbook demand-paging machine
 * with a fixed number of frames, and of the hash map under them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mimicos/mimicos.h"
#include "reclaim.h"
#include "u64map.h"

#include "mos_testlib.h"

/*
 * A demand-paging machine with `frames` frames under policy: reference
 * string refs (negative = a write to -ref) at times 0, 1, 2, ...; each miss
 * loads the page (evicting a victim when full) with load_flags. Returns the
 * number of faults; the evicted pages in order go to evicted (may be NULL).
 */
static int run(enum mos_reclaim_policy policy, uint64_t tau, int frames, const int *refs, int n,
	       uint8_t load_flags, int *evicted, int *nevicted)
{
	struct host h = { 0, -1 };
	struct mos_allocator a = alloc_of(&h);
	struct reclaim rc;
	assert_int_equal(rc_init(&rc, policy, tau, &a), MOS_OK);
	int faults = 0, ne = 0;
	for (int t = 0; t < n; t++) {
		bool w = refs[t] < 0;
		uint64_t page = (uint64_t)(w ? -refs[t] : refs[t]);
		if (rc_reference(&rc, page, w, (uint64_t)t))
			continue;
		faults++;
		if ((int)rc_count(&rc) == frames) {
			uint64_t victim;
			assert_true(rc_select(&rc, (uint64_t)t, &victim, NULL));
			assert_false(rc_lookup(&rc, victim, NULL));
			if (evicted)
				evicted[ne] = (int)victim;
			ne++;
		}
		assert_int_equal(rc_insert(&rc, page, (uint8_t)(load_flags | (w ? RC_DIRTY : 0)),
					   (uint64_t)t),
				 MOS_OK);
		assert_true((int)rc_count(&rc) <= frames);
	}
	if (nevicted)
		*nevicted = ne;
	rc_fini(&rc);
	assert_int_equal(h.live, 0);
	return faults;
}

/* Belady's anomaly (Belady, Nelson, Shedler, CACM 1969): FIFO faults more
 * with 4 frames than with 3 on this string. */
static void test_fifo_belady(void **state)
{
	const int s[] = { 1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5 };
	int n = (int)(sizeof s / sizeof s[0]);
	assert_int_equal(run(MOS_RECLAIM_FIFO, 0, 3, s, n, RC_REF, NULL, NULL), 9);
	assert_int_equal(run(MOS_RECLAIM_FIFO, 0, 4, s, n, RC_REF, NULL, NULL), 10);
}

/*
 * Second chance: 3 frames, pages loaded referenced. 4 faults with 1, 2, 3
 * all referenced: the hand clears all three and evicts 1. Then 2 is
 * referenced, so at 5 the hand skips 2 (clearing it) and evicts 3; at 6 it
 * evicts 2. FIFO evicts 1, 2, 3.
 */
static void test_clock_second_chance(void **state)
{
	const int s[] = { 1, 2, 3, 4, 2, 5, 6 };
	int ev[8], ne;
	run(MOS_RECLAIM_CLOCK, 0, 3, s, 7, RC_REF, ev, &ne);
	assert_int_equal(ne, 3);
	assert_int_equal(ev[0], 1);
	assert_int_equal(ev[1], 3);
	assert_int_equal(ev[2], 2);
	run(MOS_RECLAIM_FIFO, 0, 3, s, 7, RC_REF, ev, &ne);
	assert_int_equal(ne, 3);
	assert_int_equal(ev[0], 1);
	assert_int_equal(ev[1], 2);
	assert_int_equal(ev[2], 3);
}

/*
 * Scan resistance of the two-list LRU: 4 hot pages referenced between
 * every page of a one-time stream, 8 frames. Once the hot pages are active
 * the stream passes through the inactive list: no hot page faults in the
 * second half. FIFO keeps evicting them.
 */
static void test_lru_scan_resistance(void **state)
{
	enum { N = 4000 };
	static int s[2 * N];
	for (int i = 0; i < N; i++) {
		s[2 * i] = 100 + i;
		s[2 * i + 1] = 1 + i % 4;
	}
	/* faults in the second half, counted by running both halves vs the first */
	int lru_all = run(MOS_RECLAIM_LRU, 0, 8, s, 2 * N, RC_REF, NULL, NULL);
	int lru_first = run(MOS_RECLAIM_LRU, 0, 8, s, N, RC_REF, NULL, NULL);
	int fifo_all = run(MOS_RECLAIM_FIFO, 0, 8, s, 2 * N, RC_REF, NULL, NULL);
	int fifo_first = run(MOS_RECLAIM_FIFO, 0, 8, s, N, RC_REF, NULL, NULL);
	/* the second half has N/2 stream pages, each a compulsory fault */
	assert_int_equal(lru_all - lru_first, N / 2);
	assert_true(fifo_all - fifo_first > N / 2 + N / 8);
}

/*
 * WSClock with tau = 5, 4 frames, pages loaded at their load time.
 * t0-3: load 1, 2 (written), 3, 4; t4-9: page 1 used. t10: fault 5: 1 is
 * referenced (spared, last use 10); 2 is old but dirty (passed over); 3 is
 * old and clean: evicted. t11: fault 6: 4 is old and clean: evicted. t12:
 * fault 7: nothing clean is old (1: 2 ticks, 5 and 6 young), so the dirty old
 * page 2 goes.
 */
static void test_wsclock(void **state)
{
	const int s[] = { 1, -2, 3, 4, 1, 1, 1, 1, 1, 1, 5, 6, 7 };
	int ev[8], ne;
	run(MOS_RECLAIM_WSCLOCK, 5, 4, s, 13, 0, ev, &ne);
	assert_int_equal(ne, 3);
	assert_int_equal(ev[0], 3);
	assert_int_equal(ev[1], 4);
	assert_int_equal(ev[2], 2);
}

/* Every policy: units are never lost or duplicated under random use. */
static void test_random_consistency(void **state)
{
	for (int p = MOS_RECLAIM_FIFO; p <= MOS_RECLAIM_WSCLOCK; p++) {
		struct host h = { 0, -1 };
		struct mos_allocator a = alloc_of(&h);
		struct reclaim rc;
		assert_int_equal(rc_init(&rc, (enum mos_reclaim_policy)p, 50, &a), MOS_OK);
		static bool in[5000];
		memset(in, 0, sizeof in);
		uint64_t x = 7 + (uint64_t)p, count = 0;
		for (uint64_t t = 0; t < 200000; t++) {
			uint64_t k = rng_splitmix(&x) % 5000, r = rng_splitmix(&x) % 10;
			if (r < 5) {
				assert_int_equal(rc_reference(&rc, k, r == 0, t), in[k]);
			} else if (r < 7) {
				if (!in[k])
					count++;
				in[k] = true;
				rc_insert(&rc, k, (uint8_t)(r == 5 ? RC_REF : 0), t);
			} else if (r < 8) {
				assert_int_equal(rc_remove(&rc, k), in[k]);
				count -= in[k];
				in[k] = false;
			} else if (r < 9) {
				uint64_t v;
				assert_int_equal(rc_select(&rc, t, &v, NULL), count > 0);
				if (count) {
					assert_true(in[v]);
					in[v] = false;
					count--;
				}
			} else {
				uint64_t lo = rng_splitmix(&x) % 5000, len = rng_splitmix(&x) % 64;
				if (r == 9 && (t & 1))
					len = 5000; /* large ranges take the whole-table path */
				rc_remove_range(&rc, lo, lo + len);
				for (uint64_t i = lo; i < lo + len && i < 5000; i++) {
					count -= in[i];
					in[i] = false;
				}
			}
			assert_int_equal(rc_count(&rc), count);
		}
		for (uint64_t k = 0; k < 5000; k++)
			assert_int_equal(rc_lookup(&rc, k, NULL), in[k]);
		rc_fini(&rc);
		assert_int_equal(h.live, 0);
	}
}

static bool drop_odd(void *ctx, uint64_t key, uint64_t val)
{
	(*(int *)ctx)++;
	return val & 1;
}

/* The hash map against a plain array, with both range-removal paths. */
static void test_u64map(void **state)
{
	struct host h = { 0, -1 };
	struct mos_allocator a = alloc_of(&h);
	struct u64map m;
	u64map_init(&m, &a);
	enum { K = 20000 };
	static uint64_t ref[K];
	memset(ref, 0xff, sizeof ref);
	uint64_t x = 3;
	for (int i = 0; i < 300000; i++) {
		uint64_t k = rng_splitmix(&x) % K, v = rng_splitmix(&x) >> 1, got;
		switch (rng_splitmix(&x) % 4) {
		case 0:
		case 1:
			assert_int_equal(u64map_put(&m, k * 4096, v), MOS_OK);
			ref[k] = v;
			break;
		case 2:
			assert_int_equal(u64map_del(&m, k * 4096, &got), ref[k] != UINT64_MAX);
			if (ref[k] != UINT64_MAX)
				assert_int_equal(got, ref[k]);
			ref[k] = UINT64_MAX;
			break;
		default:
			assert_int_equal(u64map_get(&m, k * 4096, &got), ref[k] != UINT64_MAX);
			if (ref[k] != UINT64_MAX)
				assert_int_equal(got, ref[k]);
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		uint64_t lo = pass ? 0 : 1000 * 4096, hi = pass ? UINT64_MAX - 1 : 1100 * 4096;
		int seen = 0, want = 0;
		for (uint64_t k = 0; k < K; k++)
			if (ref[k] != UINT64_MAX && k * 4096 >= lo && k * 4096 < hi)
				want++;
		u64map_range(&m, lo, hi, drop_odd, &seen);
		assert_int_equal(seen, want);
		for (uint64_t k = 0; k < K; k++) {
			bool inr = k * 4096 >= lo && k * 4096 < hi;
			if (inr && ref[k] != UINT64_MAX && (ref[k] & 1))
				ref[k] = UINT64_MAX;
			assert_int_equal(u64map_get(&m, k * 4096, NULL), ref[k] != UINT64_MAX);
		}
	}
	u64map_fini(&m);
	assert_int_equal(h.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_belady),
		cmocka_unit_test(test_clock_second_chance),
		cmocka_unit_test(test_lru_scan_resistance),
		cmocka_unit_test(test_wsclock),
		cmocka_unit_test(test_random_consistency),
		cmocka_unit_test(test_u64map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
