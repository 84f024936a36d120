/* Unit tests of the MimicOS buddy allocator (mimicos/buddy.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buddy.h"

static void *t_zalloc(void *ctx, size_t n)
{
	return calloc(1, n);
}

static void t_free(void *ctx, void *p, size_t n)
{
	free(p);
}

static const struct mos_allocator A = { t_zalloc, t_free, NULL };

static void assert_consistent(const struct buddy *b)
{
	char why[256];
	if (!buddy_check(b, why, sizeof(why)))
		fail_msg("buddy_check: %s", why);
}

/* The PFNs on the free list of `order`, head first; returns how many. */
static size_t list_of(const struct buddy *b, unsigned order, uint64_t *out, size_t max)
{
	size_t n = 0;
	for (uint64_t p = b->head[order]; p != BUDDY_NIL;) {
		assert_true(n < max);
		out[n++] = p;
		p = b->frames[p].next == p ? BUDDY_NIL : b->frames[p].next;
	}
	return n;
}

/* Assert the free list of `order` is exactly `want` (head first). */
static void assert_list(const struct buddy *b, unsigned order, const uint64_t *want, size_t n)
{
	uint64_t got[64];
	size_t m = list_of(b, order, got, 64);
	assert_int_equal(m, n);
	assert_int_equal(b->nfree[order], n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

static void test_init_multiple_of_max_block(void **state)
{
	struct buddy b;
	assert_int_equal(buddy_init(&b, 2048, &A), MOS_OK);
	assert_int_equal(buddy_free_frames(&b), 2048);
	assert_list(&b, 10, (uint64_t[]){ 0, 1024 }, 2);
	for (unsigned k = 0; k < 10; k++)
		assert_int_equal(buddy_free_blocks(&b, k), 0);
	assert_consistent(&b);
	buddy_fini(&b);
}

static void test_init_tail(void **state)
{
	/* 3*1024 + 37 frames: 37 = 32 + 4 + 1 -> blocks 3072 (order 5), 3104 (2), 3108 (0). */
	struct buddy b;
	assert_int_equal(buddy_init(&b, 3 * 1024 + 37, &A), MOS_OK);
	assert_int_equal(buddy_free_frames(&b), 3109);
	assert_list(&b, 10, (uint64_t[]){ 0, 1024, 2048 }, 3);
	assert_list(&b, 5, (uint64_t[]){ 3072 }, 1);
	assert_list(&b, 2, (uint64_t[]){ 3104 }, 1);
	assert_list(&b, 0, (uint64_t[]){ 3108 }, 1);
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++)
		if (k != 10 && k != 5 && k != 2 && k != 0)
			assert_int_equal(buddy_free_blocks(&b, k), 0);
	assert_consistent(&b);

	/* The lone tail frame has no buddy inside memory: it stays order 0. */
	uint64_t pfn;
	assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_OK);
	assert_int_equal(pfn, 3108);
	assert_int_equal(buddy_free(&b, 3108, 0), MOS_OK);
	assert_list(&b, 0, (uint64_t[]){ 3108 }, 1);
	assert_consistent(&b);
	buddy_fini(&b);
}

static void test_bad_sizes(void **state)
{
	struct buddy b;
	assert_int_equal(buddy_init(&b, 0, &A), MOS_EINVAL);
	buddy_fini(&b);
	assert_int_equal(buddy_init(&b, (1ull << 32) + 1, &A), MOS_EINVAL);
	buddy_fini(&b);
}

static void test_split_by_hand(void **state)
{
	struct buddy b;
	uint64_t pfn;
	assert_int_equal(buddy_init(&b, 1024, &A), MOS_OK);

	/* Splitting the 4 MiB block for one frame leaves one block of each order 0..9. */
	assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_OK);
	assert_int_equal(pfn, 0);
	assert_int_equal(buddy_free_frames(&b), 1023);
	for (unsigned k = 0; k < 10; k++)
		assert_list(&b, k, (uint64_t[]){ 1ull << k }, 1);
	assert_int_equal(buddy_free_blocks(&b, 10), 0);
	assert_consistent(&b);

	assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_OK);
	assert_int_equal(pfn, 1);
	assert_int_equal(buddy_alloc(&b, 1, &pfn), MOS_OK);
	assert_int_equal(pfn, 2);
	assert_int_equal(buddy_free_blocks(&b, 0), 0);
	assert_int_equal(buddy_free_blocks(&b, 1), 0);
	assert_int_equal(buddy_free_frames(&b), 1020);
	assert_consistent(&b);

	/* 1's buddy 0 is allocated: no merge. */
	assert_int_equal(buddy_free(&b, 1, 0), MOS_OK);
	assert_list(&b, 0, (uint64_t[]){ 1 }, 1);
	/* 0 + 1 -> order 1 at 0, whose buddy 2 is allocated. */
	assert_int_equal(buddy_free(&b, 0, 0), MOS_OK);
	assert_list(&b, 0, NULL, 0);
	assert_list(&b, 1, (uint64_t[]){ 0 }, 1);
	assert_consistent(&b);
	/* Freeing 2 (order 1) cascades all the way up to one 4 MiB block. */
	assert_int_equal(buddy_free(&b, 2, 1), MOS_OK);
	for (unsigned k = 0; k < 10; k++)
		assert_int_equal(buddy_free_blocks(&b, k), 0);
	assert_list(&b, 10, (uint64_t[]){ 0 }, 1);
	assert_int_equal(buddy_free_frames(&b), 1024);
	assert_consistent(&b);
	buddy_fini(&b);
}

static void test_coalesce_lifo(void **state)
{
	struct buddy b;
	uint64_t p[4];
	assert_int_equal(buddy_init(&b, 16, &A), MOS_OK);
	assert_list(&b, 4, (uint64_t[]){ 0 }, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(buddy_alloc(&b, 2, &p[i]), MOS_OK);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[1], 4);
	assert_int_equal(p[2], 8);
	assert_int_equal(p[3], 12);
	assert_int_equal(buddy_free_frames(&b), 0);
	assert_int_equal(buddy_alloc(&b, 0, &p[0]), MOS_ENOMEM);

	/* 4 and 8 are not buddies (4^4 = 0, 8^4 = 12): both stay, last freed first. */
	assert_int_equal(buddy_free(&b, 4, 2), MOS_OK);
	assert_int_equal(buddy_free(&b, 8, 2), MOS_OK);
	assert_list(&b, 2, (uint64_t[]){ 8, 4 }, 2);
	assert_consistent(&b);
	/* LIFO: the next order-2 allocation returns 8. */
	assert_int_equal(buddy_alloc(&b, 2, &p[0]), MOS_OK);
	assert_int_equal(p[0], 8);
	assert_int_equal(buddy_free(&b, 8, 2), MOS_OK);

	assert_int_equal(buddy_free(&b, 0, 2), MOS_OK); /* 0 + 4 -> order 3 at 0 */
	assert_list(&b, 2, (uint64_t[]){ 8 }, 1);
	assert_list(&b, 3, (uint64_t[]){ 0 }, 1);
	assert_int_equal(buddy_free(&b, 12, 2), MOS_OK); /* 8 + 12 -> 8 (order 3) -> 0 (order 4) */
	assert_list(&b, 2, NULL, 0);
	assert_list(&b, 3, NULL, 0);
	assert_list(&b, 4, (uint64_t[]){ 0 }, 1);
	assert_consistent(&b);
	buddy_fini(&b);
}

static void test_errors(void **state)
{
	struct buddy b;
	uint64_t pfn;
	assert_int_equal(buddy_init(&b, 5, &A), MOS_OK); /* order 2 at 0, order 0 at 4 */
	assert_int_equal(buddy_alloc(&b, MOS_MAX_ORDER + 1, &pfn), MOS_EINVAL);
	assert_int_equal(buddy_alloc(&b, 3, &pfn), MOS_ENOMEM);
	assert_int_equal(buddy_free(&b, 0, 0), MOS_EINVAL); /* never allocated */
	assert_int_equal(buddy_free(&b, 99, 0), MOS_EINVAL);

	assert_int_equal(buddy_alloc(&b, 1, &pfn), MOS_OK);
	assert_int_equal(pfn, 0);
	assert_int_equal(buddy_free(&b, 0, 0), MOS_EINVAL); /* wrong order */
	assert_int_equal(buddy_free(&b, 1, 0), MOS_EINVAL); /* inside the block */
	assert_int_equal(buddy_free(&b, 0, 1), MOS_OK);
	assert_int_equal(buddy_free(&b, 0, 1), MOS_EINVAL); /* double free */
	assert_consistent(&b);

	/* Exhaust: exactly 5 single frames. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_OK);
	assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_ENOMEM);
	assert_int_equal(buddy_free_frames(&b), 0);
	assert_consistent(&b);
	buddy_fini(&b);
}

static void test_block_of(void **state)
{
	struct buddy b;
	uint64_t pfn, head;
	unsigned order;
	assert_int_equal(buddy_init(&b, 64, &A), MOS_OK);
	assert_int_equal(buddy_alloc(&b, 3, &pfn), MOS_OK); /* 0..7 */
	assert_int_equal(buddy_block_of(&b, 5, &head, &order), BUDDY_ALLOC);
	assert_int_equal(head, 0);
	assert_int_equal(order, 3);
	assert_int_equal(buddy_block_of(&b, 9, &head, &order), BUDDY_FREE); /* 8..15, order 3 */
	assert_int_equal(head, 8);
	assert_int_equal(order, 3);
	assert_int_equal(buddy_block_of(&b, 40, &head, &order), BUDDY_FREE); /* 32..63 */
	assert_int_equal(head, 32);
	assert_int_equal(order, 5);
	assert_int_equal(buddy_block_of(&b, 64, NULL, NULL), BUDDY_TAIL);
	buddy_fini(&b);
}

static void test_check_detects_corruption(void **state)
{
	struct buddy b;
	uint64_t pfn;
	char why[128];
	assert_int_equal(buddy_init(&b, 64, &A), MOS_OK);
	assert_int_equal(buddy_alloc(&b, 0, &pfn), MOS_OK);
	assert_consistent(&b);

	b.nfree[1]++;
	assert_false(buddy_check(&b, why, sizeof(why)));
	assert_true(strlen(why) > 0);
	b.nfree[1]--;

	b.frames_free++;
	assert_false(buddy_check(&b, why, sizeof(why)));
	b.frames_free--;

	b.frames[0].state = BUDDY_TAIL; /* the allocated frame belongs to no block */
	assert_false(buddy_check(&b, why, sizeof(why)));
	b.frames[0].state = BUDDY_ALLOC;

	b.frames[3].state = BUDDY_ALLOC; /* inside the free order-1 block at 2 */
	assert_false(buddy_check(&b, why, sizeof(why)));
	b.frames[3].state = BUDDY_TAIL;
	assert_consistent(&b);

	/* Two free order-0 buddies (0 and 1) left uncoalesced. */
	b.frames[0].state = BUDDY_FREE;
	b.frames[0].prev = 0;
	b.frames[0].next = 1;
	b.frames[1].prev = 0;
	b.head[0] = 0;
	b.nfree[0] = 2;
	b.frames_free++;
	assert_false(buddy_check(&b, why, sizeof(why)));
	assert_non_null(strstr(why, "uncoalesced"));
	buddy_fini(&b);
}

/* xorshift64*: deterministic test randomness. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

struct blk {
	uint64_t pfn;
	unsigned order;
};

/* Is there an aligned range of 2^order frames, inside memory, owned by nobody? */
static bool free_aligned_range_exists(const uint8_t *owned, uint64_t n, unsigned order)
{
	uint64_t size = 1ull << order;
	for (uint64_t p = 0; p + size <= n; p += size) {
		uint64_t i = 0;
		while (i < size && !owned[p + i])
			i++;
		if (i == size)
			return true;
	}
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void run_random(uint64_t n, uint64_t seed, int steps)
{
	struct buddy b;
	assert_int_equal(buddy_init(&b, n, &A), MOS_OK);

	/* Initial free blocks per order, as sorted sets. */
	uint64_t init_lists[MOS_NR_ORDERS][64];
	size_t init_n[MOS_NR_ORDERS];
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++) {
		init_n[k] = list_of(&b, k, init_lists[k], 64);
		qsort(init_lists[k], init_n[k], sizeof(uint64_t), cmp_u64);
	}

	uint8_t *owned = calloc(n, 1);
	struct blk *blks = calloc(n, sizeof(*blks));
	size_t nblks = 0;
	uint64_t owned_frames = 0;
	uint64_t s = seed;
	for (int step = 0; step < steps; step++) {
		uint64_t r = rng_next(&s);
		if (nblks > 0 && (r & 3) < 2) {
			size_t i = (size_t)(rng_next(&s) % nblks);
			struct blk k = blks[i];
			blks[i] = blks[--nblks];
			assert_int_equal(buddy_free(&b, k.pfn, k.order), MOS_OK);
			for (uint64_t f = 0; f < (1ull << k.order); f++)
				owned[k.pfn + f] = 0;
			owned_frames -= 1ull << k.order;
		} else {
			unsigned order = (r >> 8) % 100 < 60 ? 0 : (unsigned)((r >> 16) % MOS_NR_ORDERS);
			uint64_t pfn;
			enum mos_status st = buddy_alloc(&b, order, &pfn);
			if (st == MOS_ENOMEM) {
				assert_false(free_aligned_range_exists(owned, n, order));
			} else {
				assert_int_equal(st, MOS_OK);
				uint64_t size = 1ull << order;
				assert_int_equal(pfn & (size - 1), 0);
				assert_true(pfn + size <= n);
				for (uint64_t f = 0; f < size; f++) {
					assert_int_equal(owned[pfn + f], 0); /* no overlap with a live block */
					owned[pfn + f] = 1;
				}
				owned_frames += size;
				blks[nblks++] = (struct blk){ pfn, order };
			}
		}
		assert_int_equal(buddy_free_frames(&b), n - owned_frames);
		assert_consistent(&b);
		/* Ownership as the allocator sees it matches ours for a few frames. */
		for (int j = 0; j < 4; j++) {
			uint64_t f = rng_next(&s) % n;
			assert_int_equal(buddy_block_of(&b, f, NULL, NULL), owned[f] ? BUDDY_ALLOC : BUDDY_FREE);
		}
	}

	/* Free everything in random order: the initial free blocks come back. */
	while (nblks > 0) {
		size_t i = (size_t)(rng_next(&s) % nblks);
		assert_int_equal(buddy_free(&b, blks[i].pfn, blks[i].order), MOS_OK);
		blks[i] = blks[--nblks];
	}
	assert_consistent(&b);
	assert_int_equal(buddy_free_frames(&b), n);
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++) {
		uint64_t now[64];
		size_t m = list_of(&b, k, now, 64);
		assert_int_equal(m, init_n[k]);
		qsort(now, m, sizeof(uint64_t), cmp_u64);
		for (size_t i = 0; i < m; i++)
			assert_int_equal(now[i], init_lists[k][i]);
	}
	free(owned);
	free(blks);
	buddy_fini(&b);
}

static void test_random_power_of_two(void **state)
{
	run_random(4096, 42, 6000);
}

static void test_random_odd_size(void **state)
{
	run_random(3 * 1024 + 733, 7, 6000);
	run_random(37, 99, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_multiple_of_max_block),
		cmocka_unit_test(test_init_tail),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_split_by_hand),
		cmocka_unit_test(test_coalesce_lifo),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_block_of),
		cmocka_unit_test(test_check_detects_corruption),
		cmocka_unit_test(test_random_power_of_two),
		cmocka_unit_test(test_random_odd_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
