/*
 * Unit tests of the MimicOS allocation policies: thp, reservethp,
 * eagerpaging, fragmentation injection, huge-page splitting, mos_scan and
 * the invariants after random workloads under every policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mimicos/mimicos.h"

#define P 4096ull
#define MB2 (2ull << 20)

static const uint64_t A = 0x40000000ull; /* 1 GiB aligned */
static const uint64_t B = 0x80000000ull;

#include "mos_testlib.h"

static struct mos_config cfg(uint64_t mem, const char *policy)
{
	return (struct mos_config){ .mem_bytes = mem, .policy = policy, .fault_around_pages = 1 };
}

/* ---------------------------------------------------------------- config */

static void test_builtin_and_config(void **state)
{
	const char *want[] = { "baseline", "thp", "reservethp", "eagerpaging" };
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(mos_policy_builtin(i), want[i]);
	assert_null(mos_policy_builtin(4));

	struct host h;
	struct mos_allocator a = { h_zalloc, h_free, &h };
	h.live = 0;
	enum mos_status st;
	struct mos_config bad[] = {
		{ .mem_bytes = 1 << 22, .policy = "thp", .fault_around_pages = 1, .thp_mode = 3 },
		{ .mem_bytes = 1 << 22, .policy = "reservethp", .fault_around_pages = 1,
		  .promotion_threshold = 1.5 },
		{ .mem_bytes = 1 << 22, .policy = "reservethp", .fault_around_pages = 1,
		  .promotion_threshold = -0.01 },
		{ .mem_bytes = 1 << 22, .policy = "reservethp", .fault_around_pages = 1,
		  .promotion_threshold = NAN },
		{ .mem_bytes = 1 << 22, .policy = "baseline", .fault_around_pages = 1,
		  .fragmentation = 1.01 },
		{ .mem_bytes = 1 << 22, .policy = "baseline", .fault_around_pages = 1,
		  .fragmentation = NAN },
		{ .mem_bytes = 1 << 22, .policy = "eagerpaging", .fault_around_pages = 1,
		  .eager_max_bytes = 3 * P },
		{ .mem_bytes = 1 << 22, .policy = "eagerpaging", .fault_around_pages = 1,
		  .eager_populate_bytes = 2048 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(mos_create(&bad[i], &a, &st));
		assert_int_equal(st, MOS_EINVAL);
	}
	assert_int_equal(h.live, 0);
	for (size_t i = 0; i < 4; i++) {
		struct mos_config c = cfg(1 << 22, want[i]);
		struct mos *m = mkc(&h, &c);
		assert_string_equal(mos_policy_name(m), want[i]);
		done(m, &h);
	}
}

/* Baseline results keep the new fields zero; stats give the unusable index. */
static void test_baseline_compat(void **state)
{
	struct host h;
	struct mos_config c = cfg(256 << 20, "baseline");
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 8 * MB2, 0), MOS_OK);
	struct mos_fault_result r = fault(m, A + 5 * P);
	assert_int_equal(r.map_len, 0);
	assert_int_equal(r.promoted_len, 0);
	assert_int_equal(r.page_shift, 12);
	struct mos_stats s = stats(m);
	assert_int_equal(s.frames_pinned, 0);
	assert_int_equal(s.huge_pages, 0);
	/* Free frames are all in blocks of order >= 0; few are below order 9. */
	assert_true(s.unusable_index[0] == 0.0);
	assert_true(s.unusable_index[9] < 0.01);
	assert_true(s.unusable_index[9] > 0.0);
	assert_int_equal(mos_scan(m, 1 << 20, (struct mos_range[4]){ 0 }, 4), 0);
	done(m, &h);
}

/* --------------------------------------------------------------- advice */

static void test_vma_advise(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "baseline");
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 16 * P, MOS_VMA_MMAP), MOS_OK);
	assert_int_equal(mos_vma_advise(m, A + 4 * P, 4 * P, MOS_ADV_HUGEPAGE), MOS_OK);
	assert_int_equal(mos_vma_count(m), 3);
	assert_int_equal(mos_vma_at(m, 1)->start, A + 4 * P);
	assert_int_equal(mos_vma_at(m, 1)->end, A + 8 * P);
	assert_int_equal(mos_vma_at(m, 1)->flags, MOS_VMA_MMAP | MOS_VMA_HUGEPAGE);
	assert_int_equal(mos_vma_at(m, 0)->flags, MOS_VMA_MMAP);
	assert_int_equal(mos_vma_at(m, 2)->flags, MOS_VMA_MMAP);
	/* NOHUGEPAGE over part of it: clears HUGEPAGE there, sets NOHUGEPAGE. */
	assert_int_equal(mos_vma_advise(m, A + 6 * P, 4 * P, MOS_ADV_NOHUGEPAGE), MOS_OK);
	assert_int_equal(mos_vma_count(m), 5);
	assert_int_equal(mos_vma_find(m, A + 5 * P)->flags, MOS_VMA_MMAP | MOS_VMA_HUGEPAGE);
	assert_int_equal(mos_vma_find(m, A + 7 * P)->flags, MOS_VMA_MMAP | MOS_VMA_NOHUGEPAGE);
	assert_int_equal(mos_vma_find(m, A + 9 * P)->flags, MOS_VMA_MMAP | MOS_VMA_NOHUGEPAGE);
	assert_int_equal(mos_vma_find(m, A + 10 * P)->flags, MOS_VMA_MMAP);
	/* Partly outside every VMA: the inside is advised, ENOVMA reported. */
	assert_int_equal(mos_vma_advise(m, A + 12 * P, 8 * P, MOS_ADV_HUGEPAGE), MOS_ENOVMA);
	assert_int_equal(mos_vma_find(m, A + 15 * P)->flags, MOS_VMA_MMAP | MOS_VMA_HUGEPAGE);
	assert_int_equal(mos_vma_advise(m, A + 1, P, MOS_ADV_HUGEPAGE), MOS_EINVAL);
	assert_int_equal(mos_vma_advise(m, A, P, 4), MOS_EINVAL);
	done(m, &h);
}

/* ------------------------------------------------------------------ thp */

static void test_thp_modes(void **state)
{
	/* mode x advice -> huge page at the first fault, as transhuge.rst */
	const enum mos_thp_mode modes[] = { MOS_THP_NEVER, MOS_THP_ALWAYS, MOS_THP_MADVISE };
	const int advs[] = { 0, MOS_ADV_HUGEPAGE, MOS_ADV_NOHUGEPAGE };
	const bool want[3][3] = { { false, false, false }, { true, true, false }, { false, true, false } };
	for (int mi = 0; mi < 3; mi++)
		for (int ai = 0; ai < 3; ai++) {
			struct host h;
			struct mos_config c = cfg(16 << 20, "thp");
			c.thp_mode = modes[mi];
			struct mos *m = mkc(&h, &c);
			assert_int_equal(mos_vma_add(m, A, 2 * MB2, 0), MOS_OK);
			if (advs[ai])
				assert_int_equal(mos_vma_advise(m, A, 2 * MB2, advs[ai]), MOS_OK);
			struct mos_fault_result r = fault(m, A + MB2 + 7 * P + 5);
			if (want[mi][ai]) {
				assert_int_equal(r.page_shift, 21);
				assert_int_equal(r.start, A + MB2);
				assert_int_equal(r.len, MB2);
				assert_int_equal(r.pfn % 512, 7);
				assert_int_equal(stats(m).thp_fault_alloc, 1);
				assert_int_equal(stats(m).data_frames, 512);
				assert_int_equal(stats(m).huge_pages, 1);
			} else {
				assert_int_equal(r.page_shift, 12);
				assert_int_equal(r.len, P);
			}
			done(m, &h);
		}
}

static void test_thp_needs_whole_empty_region(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "thp");
	c.thp_mode = MOS_THP_ALWAYS;
	struct mos *m = mkc(&h, &c);
	/* The VMA does not cover its first region entirely. */
	assert_int_equal(mos_vma_add(m, A + P, 2 * MB2 - P, 0), MOS_OK);
	assert_int_equal(fault(m, A + 3 * P).page_shift, 12);
	assert_int_equal(fault(m, A + MB2).page_shift, 21);
	/* A region already holding a 4 KiB page stays 4 KiB. */
	assert_int_equal(mos_vma_add(m, B, MB2, 0), MOS_OK);
	assert_int_equal(mos_vma_advise(m, B, MB2, MOS_ADV_NOHUGEPAGE), MOS_OK);
	assert_int_equal(fault(m, B).page_shift, 12);
	assert_int_equal(mos_vma_advise(m, B, MB2, MOS_ADV_HUGEPAGE), MOS_OK);
	assert_int_equal(fault(m, B + P).page_shift, 12);
	/* After the page goes (its PT page stays, empty), the region can be huge. */
	assert_int_equal(mos_discard(m, B, MB2), MOS_OK);
	assert_int_equal(fault(m, B + 9 * P).page_shift, 21);
	done(m, &h);
}

static void test_thp_fallback_when_fragmented(void **state)
{
	struct host h;
	struct mos_config c = cfg(64 << 20, "thp");
	c.thp_mode = MOS_THP_ALWAYS;
	c.fragmentation = 1.0;
	c.seed = 7;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB2, 0), MOS_OK);
	assert_int_equal(fault(m, A).page_shift, 12);
	assert_int_equal(stats(m).thp_fault_fallback, 1);
	assert_int_equal(stats(m).thp_fault_alloc, 0);
	done(m, &h);
}

/* Partial munmap / discard of a 2 MiB page keeps the other subpages' frames. */
static void test_thp_split_keeps_frames(void **state)
{
	for (int discard = 0; discard < 2; discard++) {
		struct host h;
		struct mos_config c = cfg(16 << 20, "thp");
		c.thp_mode = MOS_THP_ALWAYS;
		struct mos *m = mkc(&h, &c);
		uint64_t free0 = stats(m).frames_free;
		assert_int_equal(mos_vma_add(m, A, 2 * MB2, 0), MOS_OK);
		struct mos_fault_result r = fault(m, A + 3 * P);
		assert_int_equal(r.page_shift, 21);
		uint64_t base = r.pfn - 3;
		uint64_t free1 = stats(m).frames_free;
		if (discard)
			assert_int_equal(mos_discard(m, A + 10 * P, 20 * P), MOS_OK);
		else
			assert_int_equal(mos_vma_remove(m, A + 10 * P, 20 * P), MOS_OK);
		for (uint64_t i = 0; i < 512; i++) {
			uint32_t sh;
			uint64_t pfn = xl(m, A + i * P, &sh);
			if (i >= 10 && i < 30) {
				assert_int_equal(pfn, NONE);
			} else {
				assert_int_equal(pfn, base + i);
				assert_int_equal(sh, 12);
			}
		}
		struct mos_stats s = stats(m);
		assert_int_equal(s.thp_split, 1);
		assert_int_equal(s.huge_pages, 0);
		assert_int_equal(s.data_frames, 492);
		assert_int_equal(s.frames_free, free1 + 20 - 1); /* one new PT page */
		chk(m);
		/* Freed page by page: everything coalesces back at the end. */
		assert_int_equal(mos_vma_remove(m, 0, 1ull << 47), MOS_OK);
		assert_int_equal(stats(m).frames_free, free0);
		assert_int_equal(stats(m).data_frames, 0);
		done(m, &h);
	}
}

static void test_thp_split_on_mremap(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "thp");
	c.thp_mode = MOS_THP_ALWAYS;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, MB2, 0), MOS_OK);
	uint64_t base = fault(m, A).pfn;
	uint32_t sh;
	/* Aligned move: the 2 MiB page moves whole. */
	assert_int_equal(mos_vma_move(m, A, MB2, B, MB2), MOS_OK);
	assert_int_equal(xl(m, B + 5 * P, &sh), base + 5);
	assert_int_equal(sh, 21);
	/* Misaligned destination: split, then moved as 4 KiB pages. */
	assert_int_equal(mos_vma_move(m, B, MB2, A + P, MB2), MOS_OK);
	for (uint64_t i = 0; i < 512; i++) {
		assert_int_equal(xl(m, A + P + i * P, &sh), base + i);
		assert_int_equal(sh, 12);
	}
	chk(m);
	/* Part of a 2 MiB page moves: the rest stays. */
	assert_int_equal(mos_vma_add(m, B, MB2, 0), MOS_OK);
	uint64_t b2 = fault(m, B).pfn;
	assert_int_equal(mos_vma_move(m, B + 4 * P, 8 * P, B + 2 * MB2, 8 * P), MOS_OK);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t va = i >= 4 && i < 12 ? B + 2 * MB2 + (i - 4) * P : B + i * P;
		assert_int_equal(xl(m, va, &sh), b2 + i);
		assert_int_equal(sh, 12);
	}
	assert_int_equal(xl(m, B + 4 * P, NULL), NONE);
	assert_int_equal(stats(m).thp_split, 2);
	done(m, &h);
}

/* ----------------------------------------------------------- reservethp */

static void test_reservation_promotes_exactly_at_threshold(void **state)
{
	const double ts[] = { 0.0, 0.1, 0.25, 0.5, 0.75, 0.999 };
	for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
		struct host h;
		struct mos_config c = cfg(16 << 20, "reservethp");
		c.promotion_threshold = ts[ti];
		struct mos *m = mkc(&h, &c);
		assert_int_equal(mos_vma_add(m, A, 2 * MB2, 0), MOS_OK);
		uint64_t need = (uint64_t)(ts[ti] * 512) + 1; /* first count > t * 512 */
		uint64_t base = NONE;
		for (uint64_t k = 1; k <= need; k++) {
			uint64_t i = (k * 37) % 512; /* scattered subpages */
			struct mos_fault_result r = fault(m, A + i * P);
			if (base == NONE)
				base = r.pfn - i;
			assert_int_equal(r.pfn, base + i); /* matching offset */
			assert_int_equal(base % 512, 0);
			struct mos_stats s = stats(m);
			if (k < need) {
				assert_int_equal(r.page_shift, 12);
				assert_int_equal(r.promoted_len, 0);
				assert_int_equal(s.promotions, 0);
				assert_int_equal(s.reservations, 1);
				assert_int_equal(s.frames_reserved, 512 - k);
				assert_int_equal(s.data_frames, k);
			} else {
				assert_int_equal(r.page_shift, 21);
				assert_int_equal(r.start, A + i * P);
				assert_int_equal(r.len, P);
				assert_int_equal(r.promoted_start, A);
				assert_int_equal(r.promoted_len, MB2);
				assert_int_equal(s.promotions, 1);
				assert_int_equal(s.reservations, 0);
				assert_int_equal(s.frames_reserved, 0);
				assert_int_equal(s.data_frames, 512);
				assert_int_equal(s.huge_pages, 1);
			}
			chk(m);
		}
		uint32_t sh;
		assert_int_equal(xl(m, A + 511 * P, &sh), base + 511);
		assert_int_equal(sh, 21);
		done(m, &h);
	}
	/* Threshold 1: never promoted by faults, even when full. */
	struct host h;
	struct mos_config c = cfg(16 << 20, "reservethp");
	c.promotion_threshold = 1.0;
	c.fault_around_pages = 16;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, MB2, 0), MOS_OK);
	for (uint64_t i = 0; i < 512; i += 16)
		assert_int_equal(fault(m, A + i * P).len, 16 * P);
	assert_int_equal(stats(m).promotions, 0);
	assert_int_equal(stats(m).frames_reserved, 0);
	done(m, &h);
}

static void test_reservation_unmap_and_nohugepage(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "reservethp");
	c.promotion_threshold = 0.5;
	struct mos *m = mkc(&h, &c);
	uint64_t free0 = stats(m).frames_free;
	assert_int_equal(mos_vma_add(m, A, MB2, 0), MOS_OK);
	fault(m, A);
	fault(m, A + P);
	/* Unmapping a subpage returns it to the reservation, not to the buddy. */
	uint64_t f = stats(m).frames_free;
	assert_int_equal(mos_discard(m, A, P), MOS_OK);
	assert_int_equal(stats(m).frames_free, f);
	assert_int_equal(stats(m).frames_reserved, 511);
	chk(m);
	/* The last one: the whole block goes back. */
	assert_int_equal(mos_discard(m, A + P, P), MOS_OK);
	assert_int_equal(stats(m).frames_free, f + 512);
	assert_int_equal(stats(m).reservations, 0);
	assert_int_equal(mos_vma_remove(m, A, MB2), MOS_OK);
	assert_int_equal(stats(m).frames_free, free0);
	/* MADV_NOHUGEPAGE: no reservation at all. */
	assert_int_equal(mos_vma_add(m, B, MB2, 0), MOS_OK);
	assert_int_equal(mos_vma_advise(m, B, MB2, MOS_ADV_NOHUGEPAGE), MOS_OK);
	fault(m, B);
	assert_int_equal(stats(m).reservations, 0);
	assert_int_equal(stats(m).reservations_made, 1);
	done(m, &h);
}

/*
 * Memory pressure: 4 MiB + 64 KiB. Two reservations (3 and 10 subpages
 * populated), then plain pages in an unaligned VMA until memory is full: the
 * next fault demotes the reservation with 3 subpages and only it, returning
 * its 509 unused subpages; the populated ones keep their frames.
 */
static void test_demotion_returns_unused_subpages(void **state)
{
	struct host h;
	struct mos_config c = cfg(4 * MB2 / 2 * 2 + 16 * P, "reservethp");
	c.mem_bytes = 1040 * P;
	c.promotion_threshold = 1.0;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 2 * MB2, 0), MOS_OK);
	const uint64_t r1[] = { 0, 5, 7 };
	uint64_t b1 = NONE, b2 = NONE;
	for (int i = 0; i < 3; i++) {
		uint64_t pfn = fault(m, A + r1[i] * P).pfn;
		if (b1 == NONE)
			b1 = pfn;
	}
	for (uint64_t i = 0; i < 10; i++) {
		uint64_t pfn = fault(m, A + MB2 + i * P).pfn;
		if (b2 == NONE)
			b2 = pfn;
	}
	assert_int_equal(stats(m).reservations, 2);
	assert_int_equal(stats(m).frames_reserved, 509 + 502);
	/* An unaligned VMA gets ordinary frames; fill memory. */
	assert_int_equal(mos_vma_add(m, B + P, 64 * P, 0), MOS_OK);
	uint64_t va = B + P;
	while (stats(m).frames_free > 0) {
		struct mos_fault_result r = fault(m, va);
		assert_int_equal(r.page_shift, 12);
		va += P;
	}
	assert_int_equal(stats(m).demotions, 0);
	struct mos_fault_result r = fault(m, va);
	struct mos_stats s = stats(m);
	assert_int_equal(s.demotions, 1);
	assert_int_equal(s.demoted_frames, 509);
	assert_int_equal(s.reservations, 1);
	assert_int_equal(s.frames_reserved, 502);
	assert_int_equal(s.frames_free, 509 - 1);
	/* The new page got one of the returned subpages. */
	assert_true(r.pfn > b1 && r.pfn < b1 + 512 && r.pfn != b1 + 5 && r.pfn != b1 + 7);
	for (int i = 0; i < 3; i++)
		assert_int_equal(xl(m, A + r1[i] * P, NULL), b1 + r1[i]);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(xl(m, A + MB2 + i * P, NULL), b2 + i);
	chk(m);
	/* The demoted region now takes ordinary pages; R2 still serves its own. */
	uint64_t p8 = fault(m, A + 8 * P).pfn;
	assert_true(p8 >= b1 && p8 < b1 + 512);
	assert_int_equal(fault(m, A + MB2 + 100 * P).pfn, b2 + 100);
	chk(m);
	/* Exhaust everything: R2 is demoted too, then emulated OOM. */
	assert_int_equal(mos_vma_add(m, B + MB2 + P, 1024 * P, 0), MOS_OK);
	struct mos_fault_result rr;
	uint64_t ok = 0;
	for (va = B + MB2 + P; mos_fault(m, va, true, &rr) == MOS_OK; va += P)
		ok++;
	s = stats(m);
	assert_int_equal(s.demotions, 2);
	assert_int_equal(s.reservations, 0);
	assert_int_equal(s.frames_free, 0);
	assert_int_equal(s.oom_events, 1);
	done(m, &h);
}

static void test_reservation_mremap_demotes(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "reservethp");
	c.promotion_threshold = 0.5;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, MB2, 0), MOS_OK);
	uint64_t base = fault(m, A).pfn;
	fault(m, A + 3 * P);
	assert_int_equal(mos_vma_move(m, A, MB2, B + P, MB2), MOS_OK);
	struct mos_stats s = stats(m);
	assert_int_equal(s.reservations, 0);
	assert_int_equal(s.demotions, 1);
	assert_int_equal(s.frames_reserved, 0);
	assert_int_equal(xl(m, B + P, NULL), base);
	assert_int_equal(xl(m, B + 4 * P, NULL), base + 3);
	done(m, &h);
}

/* -------------------------------------------------------------- mos_scan */

static void test_scan_collapses(void **state)
{
	struct host h;
	struct mos_config c = cfg(32 << 20, "thp");
	c.thp_mode = MOS_THP_MADVISE;
	c.promotion_threshold = 0.5;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB2, 0), MOS_OK);
	for (uint64_t i = 0; i < 300; i++) /* region 0: 300 pages, region 2: 100 pages */
		fault(m, A + i * P);
	for (uint64_t i = 0; i < 100; i++)
		fault(m, A + 2 * MB2 + i * P);
	struct mos_range out[4];
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 0); /* not advised */
	assert_int_equal(mos_vma_advise(m, A, 4 * MB2, MOS_ADV_HUGEPAGE), MOS_OK);
	uint64_t free0 = stats(m).frames_free;
	assert_int_equal(mos_scan(m, 512, out, 4), 1); /* budget: one region */
	assert_int_equal(out[0].start, A);
	assert_int_equal(out[0].len, MB2);
	uint32_t sh;
	assert_true(xl(m, A + 400 * P, &sh) != NONE);
	assert_int_equal(sh, 21);
	struct mos_stats s = stats(m);
	assert_int_equal(s.collapses, 1);
	assert_int_equal(s.data_frames, 512 + 100);
	assert_int_equal(s.frames_free, free0 - 512 + 300 + 1); /* old frames and the PT page back */
	chk(m);
	/* Region 2 has 100 <= 256 pages: never collapsed. */
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 0);
	assert_int_equal(stats(m).collapses, 1);
	done(m, &h);

	/* reservethp: a region of ordinary pages (after a demotion) collapses too. */
	c = cfg(16 << 20, "reservethp");
	c.promotion_threshold = 0.5;
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, MB2, 0), MOS_OK);
	fault(m, A);
	assert_int_equal(mos_vma_move(m, A, MB2, B, MB2), MOS_OK); /* demotes */
	for (uint64_t i = 1; i < 300; i++)
		fault(m, B + i * P);
	assert_int_equal(stats(m).reservations, 0);
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 1);
	assert_int_equal(out[0].start, B);
	assert_int_equal(stats(m).data_frames, 512);
	done(m, &h);
}

/* ---------------------------------------------------------- fragmentation */

static void test_fragmentation_target(void **state)
{
	const double ts[] = { 0.05, 0.1, 0.25, 0.33, 0.5, 0.75, 0.9, 0.99, 1.0 };
	const uint64_t mems[] = { 64ull << 20, 256ull << 20, (1ull << 30) + 12 * P };
	for (size_t mi = 0; mi < 3; mi++)
		for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
			struct host h, h2, h3;
			struct mos_config c = cfg(mems[mi], "baseline");
			c.fragmentation = ts[ti];
			c.seed = 42 + ti;
			struct mos *m = mkc(&h, &c);
			struct mos_stats s = stats(m);
			/* Granularity: one usable 2 MiB block is 512 / free frames of the index. */
			double tol = mi == 0 ? 512.0 / (double)s.frames_free + 0.001 : 0.01;
			if (fabs(s.unusable_index[9] - ts[ti]) > tol)
				fail_msg("mem %llu target %.2f reached %.4f", (unsigned long long)mems[mi],
					 ts[ti], s.unusable_index[9]);
			assert_true(s.frames_pinned > 0);
			if (ts[ti] == 1.0) {
				assert_int_equal(s.free_blocks[9], 0);
				assert_int_equal(s.free_blocks[10], 0);
			}
			/* Same seed, same machine: identical state. */
			struct mos *m2 = mkc(&h2, &c);
			struct mos_stats s2 = stats(m2);
			assert_memory_equal(&s, &s2, sizeof(s));
			struct mos_config c3 = c;
			c3.seed = c.seed + 1000;
			struct mos *m3 = mkc(&h3, &c3);
			/* Identical placement too: the same faults get the same frames. */
			assert_int_equal(mos_vma_add(m, A, 64 * P, 0), MOS_OK);
			assert_int_equal(mos_vma_add(m2, A, 64 * P, 0), MOS_OK);
			assert_int_equal(mos_vma_add(m3, A, 64 * P, 0), MOS_OK);
			bool differs = false;
			for (uint64_t i = 0; i < 64; i++) {
				uint64_t p1 = fault(m, A + i * P).pfn;
				assert_int_equal(fault(m2, A + i * P).pfn, p1);
				differs |= fault(m3, A + i * P).pfn != p1;
			}
			if (ts[ti] >= 0.25)
				assert_true(differs); /* another seed pins elsewhere */
			done(m3, &h3);
			done(m2, &h2);
			done(m, &h);
		}
	/* 0: nothing pinned. */
	struct host h;
	struct mos_config c = cfg(64 << 20, "baseline");
	struct mos *m = mkc(&h, &c);
	assert_int_equal(stats(m).frames_pinned, 0);
	done(m, &h);
}

/* ------------------------------------------------------------ eagerpaging */

static unsigned popcount(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

static void test_eager_minimal_blocks(void **state)
{
	const uint64_t ns[] = { 1, 3, 511, 512, 1000, 1024, 1025, 3000, 2048 + 513, 8191 };
	for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
		uint64_t n = ns[ni];
		struct host h;
		struct mos_config c = cfg(64 << 20, "eagerpaging");
		struct mos *m = mkc(&h, &c);
		uint64_t v = A + 3 * P; /* deliberately unaligned */
		assert_int_equal(mos_vma_add(m, v, n * P, 0), MOS_OK);
		struct mos_fault_result r = fault(m, v + (n / 2) * P);
		assert_int_equal(r.start, v);
		assert_int_equal(r.len, n * P);
		assert_int_equal(r.map_start, v);
		assert_int_equal(r.map_len, n * P);
		struct mos_stats s = stats(m);
		assert_int_equal(s.eager_blocks, (n >> 10) + popcount(n & 1023));
		assert_int_equal(s.data_frames, n);
		for (uint64_t i = 0; i < n; i++)
			assert_true(xl(m, v + i * P, NULL) != NONE);
		/* The physical ranges: at most one per block, covering the VMA. */
		size_t cnt = mos_phys_ranges(m, v, v + n * P, NULL, 0);
		assert_true(cnt >= 1 && cnt <= s.eager_blocks);
		struct mos_phys_range pr[64];
		assert_int_equal(mos_phys_ranges(m, v, v + n * P, pr, 64), cnt);
		uint64_t sum = 0, at = v;
		for (size_t i = 0; i < cnt; i++) {
			assert_int_equal(pr[i].vaddr, at);
			for (uint64_t o = 0; o < pr[i].len; o += P)
				assert_int_equal(xl(m, at + o, NULL), pr[i].pfn + o / P);
			at += pr[i].len;
			sum += pr[i].len;
		}
		assert_int_equal(sum, n * P);
		done(m, &h);
	}
}

static void test_eager_holes_caps_fallback(void **state)
{
	struct host h;
	struct mos_config c = cfg(16 << 20, "eagerpaging");
	c.eager_populate_bytes = 16 * P;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 256 * P, 0), MOS_OK);
	struct mos_fault_result r = fault(m, A + 100 * P);
	assert_int_equal(r.start, A + 96 * P); /* populate window */
	assert_int_equal(r.len, 16 * P);
	assert_int_equal(r.map_start, A);
	assert_int_equal(r.map_len, 256 * P);
	assert_int_equal(stats(m).pages_mapped, 256);
	/* A discarded hole is refilled eagerly, and only it. */
	assert_int_equal(mos_discard(m, A + 40 * P, 24 * P), MOS_OK);
	r = fault(m, A + 50 * P);
	assert_int_equal(r.map_start, A + 40 * P);
	assert_int_equal(r.map_len, 24 * P);
	assert_int_equal(r.start, A + 48 * P);
	assert_int_equal(r.len, 16 * P);
	assert_int_equal(stats(m).eager_faults, 2);
	chk(m);
	mos_destroy(m);

	/* eager_max_bytes limits one eager fault to its aligned window. */
	c = cfg(16 << 20, "eagerpaging");
	c.eager_max_bytes = 64 * P;
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A + 8 * P, 1000 * P, 0), MOS_OK);
	r = fault(m, A + 70 * P);
	assert_int_equal(r.map_start, A + 64 * P);
	assert_int_equal(r.map_len, 64 * P);
	r = fault(m, A + 9 * P);
	assert_int_equal(r.map_start, A + 8 * P);
	assert_int_equal(r.map_len, 56 * P);
	chk(m);
	mos_destroy(m);

	/* A VMA larger than memory: 4 KiB demand paging. */
	c = cfg(4 << 20, "eagerpaging");
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB2, 0), MOS_OK);
	r = fault(m, A);
	assert_int_equal(r.len, P);
	assert_int_equal(r.map_len, 0);
	assert_int_equal(stats(m).eager_fallbacks, 1);
	done(m, &h);
}

/* --------------------------------------------------- random workloads */

#define WP 8192u /* pages of the virtual window: 32 MiB */

/*
 * Random adds (often 2 MiB aligned), munmaps, discards, mremaps, advice,
 * faults and scans over a 32 MiB window on 8 MiB of memory (pressure, OOM,
 * demotions); mos_check after every step, consistent fault results, and
 * everything freed at the end.
 */
static void random_policy_workload(struct mos_config c, uint64_t seed, int steps)
{
	struct host h;
	struct mos *m = mkc(&h, &c);
	uint64_t free0 = stats(m).frames_free;
	uint64_t s = seed;
	int nfault = 0;
	const struct rw_opts o = { A, WP, true, true, true, 0, c.policy };
	for (int step = 0; step < steps; step++) {
		struct rw_fault f;
		rw_step(m, &s, &o, step, &f);
		nfault += f.ok;
	}
	assert_true(nfault > 0);
	assert_int_equal(mos_vma_remove(m, 0, 1ull << 47), MOS_OK);
	struct mos_stats st = stats(m);
	assert_int_equal(st.data_frames, 0);
	assert_int_equal(st.frames_reserved, 0);
	assert_int_equal(st.pt_pages, 1);
	assert_int_equal(st.frames_free, free0);
	done(m, &h);
}

static void test_random_workloads(void **state)
{
	struct mos_config base = cfg(8 << 20, "baseline");
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct mos_config c = base;
		random_policy_workload(c, seed, 1500);
		c.policy = "thp";
		c.thp_mode = MOS_THP_ALWAYS;
		random_policy_workload(c, seed, 1500);
		c.thp_mode = MOS_THP_MADVISE;
		c.fault_around_pages = 8;
		random_policy_workload(c, seed, 1500);
		c = base;
		c.policy = "reservethp";
		c.promotion_threshold = 0.5;
		random_policy_workload(c, seed, 1500);
		c.promotion_threshold = 0.05;
		c.fault_around_pages = 16;
		c.fragmentation = 0.5;
		c.seed = seed;
		random_policy_workload(c, seed, 1500);
		c = base; /* tight memory: demotions and emulated OOM */
		c.mem_bytes = 3 << 20;
		c.policy = "reservethp";
		c.promotion_threshold = 0.9;
		c.fault_around_pages = 4;
		random_policy_workload(c, seed, 1500);
		c.policy = "thp";
		c.thp_mode = MOS_THP_ALWAYS;
		random_policy_workload(c, seed, 1500);
		c = base;
		c.policy = "eagerpaging";
		c.eager_max_bytes = 1 << 20;
		c.eager_populate_bytes = 64 * P;
		random_policy_workload(c, seed, 1500);
		c.eager_max_bytes = 0;
		c.fragmentation = 0.3;
		random_policy_workload(c, seed, 1500);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_and_config),
		cmocka_unit_test(test_baseline_compat),
		cmocka_unit_test(test_vma_advise),
		cmocka_unit_test(test_thp_modes),
		cmocka_unit_test(test_thp_needs_whole_empty_region),
		cmocka_unit_test(test_thp_fallback_when_fragmented),
		cmocka_unit_test(test_thp_split_keeps_frames),
		cmocka_unit_test(test_thp_split_on_mremap),
		cmocka_unit_test(test_reservation_promotes_exactly_at_threshold),
		cmocka_unit_test(test_reservation_unmap_and_nohugepage),
		cmocka_unit_test(test_demotion_returns_unused_subpages),
		cmocka_unit_test(test_reservation_mremap_demotes),
		cmocka_unit_test(test_scan_collapses),
		cmocka_unit_test(test_fragmentation_target),
		cmocka_unit_test(test_eager_minimal_blocks),
		cmocka_unit_test(test_eager_holes_caps_fallback),
		cmocka_unit_test(test_random_workloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
