/* Unit tests of the MimicOS public API (mimicos/mimicos.c, baseline policy). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mimicos/mimicos.h"

#define P 4096ull
#define MB2 (2ull << 20)
#define GB1 (1ull << 30)

#include "mos_testlib.h"

static struct mos *mk(struct host *h, uint64_t mem, uint32_t fa)
{
	struct mos_config c = { .mem_bytes = mem, .policy = "baseline", .fault_around_pages = fa };
	return mkc(h, &c);
}

static uint64_t pfn_at(const struct mos *m, uint64_t va)
{
	uint64_t pfn;
	uint32_t shift;
	if (mos_translate(m, va, &pfn, &shift) != MOS_OK)
		return NONE;
	assert_int_equal(shift, 12);
	return pfn;
}

static void fault_ok(struct mos *m, uint64_t va, uint64_t start, uint64_t len)
{
	struct mos_fault_result r;
	assert_int_equal(mos_fault(m, va, true, &r), MOS_OK);
	assert_false(r.refault);
	assert_int_equal(r.start, start);
	assert_int_equal(r.len, len);
	assert_int_equal(r.page_shift, 12);
	assert_int_equal(pfn_at(m, va), r.pfn);
}

static const uint64_t A = 0x40000000ull; /* 1 GiB aligned */
static const uint64_t B = 0x80000000ull; /* the next 1 GiB region */

static void test_create(void **state)
{
	struct host h = { 0, -1 };
	struct mos_allocator a = alloc_of(&h);
	struct mos_config good = { .mem_bytes = 1 << 20, .policy = "baseline", .fault_around_pages = 1 };
	enum mos_status st = MOS_OK;
	struct mos_config c;

	c = good, c.mem_bytes = 0;
	assert_null(mos_create(&c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	c = good, c.mem_bytes = (1 << 20) + 100;
	assert_null(mos_create(&c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	c = good, c.mem_bytes = (1ull << 44) + P;
	assert_null(mos_create(&c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	c = good, c.policy = "nope";
	assert_null(mos_create(&c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	c = good, c.policy = NULL;
	assert_null(mos_create(&c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	for (uint32_t fa = 0; fa < 20; fa++) {
		if (fa == 1 || fa == 2 || fa == 4 || fa == 8 || fa == 16)
			continue;
		c = good, c.fault_around_pages = fa;
		assert_null(mos_create(&c, &a, &st));
		assert_int_equal(st, MOS_EINVAL);
	}
	assert_int_equal(h.live, 0);

	struct mos *m = mos_create(&good, &a, &st);
	assert_non_null(m);
	assert_int_equal(st, MOS_OK);
	assert_string_equal(mos_policy_name(m), "baseline");
	struct mos_stats s = stats(m);
	assert_int_equal(s.frames_total, 256);
	assert_int_equal(s.frames_free, 255); /* the PML4 took one */
	assert_int_equal(s.pt_pages, 1);
	assert_int_equal(s.pt_pages_peak, 1);
	assert_int_equal(s.vmas, 0);
	assert_int_equal(s.data_frames, 0);
	/* 255 free frames = 2^0 + ... + 2^7: one block of each order 0..7. */
	for (unsigned k = 0; k < MOS_NR_ORDERS; k++)
		assert_int_equal(s.free_blocks[k], k < 8 ? 1 : 0);
	done(m, &h);

	/* The host allocator refusing at each step: EHOST, nothing leaked. */
	int fail;
	for (fail = 0;; fail++) {
		h.fail_after = fail;
		m = mos_create(&good, &a, &st);
		if (m)
			break;
		assert_int_equal(st, MOS_EHOST);
		assert_int_equal(h.live, 0);
	}
	assert_true(fail >= 3); /* machine, frame metadata, PML4 */
	h.fail_after = -1;
	done(m, &h);

	assert_string_equal(mos_status_str(MOS_ENOMEM), "emulated OOM");
	assert_string_equal(mos_status_str(MOS_OK), "ok");
}

static void assert_vma(const struct mos *m, size_t i, uint64_t start, uint64_t end, uint32_t flags)
{
	const struct mos_vma *v = mos_vma_at(m, i);
	assert_non_null(v);
	assert_int_equal(v->start, start);
	assert_int_equal(v->end, end);
	assert_int_equal(v->flags, flags);
}

static void test_vma_add_remove(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 1);
	assert_int_equal(mos_vma_add(m, A, 16 * P, MOS_VMA_HEAP), MOS_OK);
	assert_int_equal(mos_vma_count(m), 1);
	assert_int_equal(mos_vma_add(m, A + 8 * P, 16 * P, 0), MOS_EEXIST);
	assert_int_equal(mos_vma_add(m, A - 4 * P, 8 * P, 0), MOS_EEXIST);
	assert_int_equal(mos_vma_add(m, A - 4 * P, 32 * P, 0), MOS_EEXIST);
	assert_int_equal(mos_vma_add(m, A + 1, P, 0), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, A + 100 * P, 100, 0), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, A + 100 * P, 0, 0), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, (1ull << 48) - P, 2 * P, 0), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, A + 16 * P, 4 * P, MOS_VMA_MMAP), MOS_OK); /* adjacent */
	assert_int_equal(mos_vma_add(m, A - 8 * P, 8 * P, MOS_VMA_MMAP), MOS_OK);  /* adjacent below */
	assert_int_equal(mos_vma_count(m), 3);
	assert_int_equal(stats(m).vmas, 3);

	assert_int_equal(mos_vma_find(m, A + 5 * P + 3)->start, A);
	assert_int_equal(mos_vma_find(m, A + 16 * P)->start, A + 16 * P);
	assert_int_equal(mos_vma_find(m, A - 1)->start, A - 8 * P);
	assert_null(mos_vma_find(m, A + 20 * P));
	assert_null(mos_vma_find(m, A - 8 * P - 1));
	assert_int_equal(mos_vma_remove(m, A - 8 * P, 8 * P), MOS_OK);

	/* Hole in the middle of a VMA: split in two, flags kept. */
	assert_int_equal(mos_vma_remove(m, A + 4 * P, 4 * P), MOS_OK);
	assert_int_equal(mos_vma_count(m), 3);
	assert_vma(m, 0, A, A + 4 * P, MOS_VMA_HEAP);
	assert_vma(m, 1, A + 8 * P, A + 16 * P, MOS_VMA_HEAP);
	assert_vma(m, 2, A + 16 * P, A + 20 * P, MOS_VMA_MMAP);
	assert_null(mos_vma_at(m, 3));
	/* Across VMAs: trims the first, drops the second, trims the third. */
	assert_int_equal(mos_vma_remove(m, A + 2 * P, 16 * P), MOS_OK);
	assert_int_equal(mos_vma_count(m), 2);
	assert_vma(m, 0, A, A + 2 * P, MOS_VMA_HEAP);
	assert_vma(m, 1, A + 18 * P, A + 20 * P, MOS_VMA_MMAP);
	/* Outside every VMA: ignored. Unaligned: refused. */
	assert_int_equal(mos_vma_remove(m, A + 100 * P, 4 * P), MOS_OK);
	assert_int_equal(mos_vma_remove(m, A + 1, P), MOS_EINVAL);
	assert_int_equal(mos_vma_count(m), 2);
	assert_int_equal(mos_vma_remove(m, 0, 1ull << 47), MOS_OK);
	assert_int_equal(mos_vma_count(m), 0);
	done(m, &h);
}

static void test_fault_translate_refault(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 1);
	assert_int_equal(mos_vma_add(m, A, 16 * P, MOS_VMA_HEAP), MOS_OK);

	struct mos_fault_result r;
	assert_int_equal(mos_fault(m, A + 5 * P + 123, true, &r), MOS_OK);
	assert_int_equal(r.start, A + 5 * P);
	assert_int_equal(r.len, P);
	assert_int_equal(r.page_shift, 12);
	assert_false(r.refault);
	uint64_t pfn;
	uint32_t shift;
	assert_int_equal(mos_translate(m, A + 5 * P + 7, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, r.pfn);
	assert_int_equal(shift, 12);
	assert_int_equal(mos_translate(m, A + 6 * P, &pfn, &shift), MOS_ENOENT);

	struct mos_stats s = stats(m);
	assert_int_equal(s.faults, 1);
	assert_int_equal(s.pages_mapped, 1);
	assert_int_equal(s.data_frames, 1);
	assert_int_equal(s.data_frames_peak, 1);
	assert_int_equal(s.pt_pages, 4);
	assert_int_equal(s.frames_free, 256 - 4 - 1);

	/* The walk: 4 entries; the PTE is entry 5 of its PT (A is 2 MiB aligned). */
	uint64_t pa[4], pa2[4];
	assert_int_equal(mos_walk_path(m, A + 5 * P, pa), 4);
	assert_int_equal(pa[3] % 4096, 5 * 8);
	assert_int_equal(pa[0], 0 * 8); /* PML4 at PFN 0 (first frame), entry 0 */
	assert_int_equal(pa[1] % 4096, 1 * 8); /* A = 1 GiB: PDPT entry 1 */
	assert_int_equal(pa[2] % 4096, 0);
	/* Another page of the same PT shares the upper levels. */
	assert_int_equal(mos_walk_path(m, A + 9 * P, pa2), 4);
	assert_memory_equal(pa, pa2, 3 * sizeof(uint64_t));
	assert_int_equal(pa2[3], pa[3] + 4 * 8);

	/* Outside every VMA. */
	assert_int_equal(mos_fault(m, A + 16 * P, false, &r), MOS_ENOVMA);
	assert_int_equal(mos_fault(m, A - 1, false, &r), MOS_ENOVMA);
	struct mos_stats s2 = stats(m);
	assert_memory_equal(&s, &s2, sizeof(s));

	/* Refault: the host lost the page; same frame, one page, nothing allocated. */
	assert_int_equal(mos_fault(m, A + 5 * P + 9, false, &r), MOS_OK);
	assert_true(r.refault);
	assert_int_equal(r.start, A + 5 * P);
	assert_int_equal(r.len, P);
	assert_int_equal(r.pfn, pfn);
	s2 = stats(m);
	assert_int_equal(s2.refaults, 1);
	assert_int_equal(s2.faults, 1);
	assert_int_equal(s2.pages_mapped, 1);
	assert_int_equal(s2.frames_free, s.frames_free);
	done(m, &h);
}

static void test_fault_around_clipping(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 16);
	assert_int_equal(mos_vma_add(m, A + 5 * P, 15 * P, 0), MOS_OK); /* pages 5..19 */

	/* Window pages 0..15 clipped to the VMA: 5..15. */
	fault_ok(m, A + 7 * P + 1, A + 5 * P, 11 * P);
	uint64_t seen[11];
	for (int i = 0; i < 11; i++) {
		seen[i] = pfn_at(m, A + (5 + i) * P);
		assert_int_not_equal(seen[i], NONE);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(seen[i], seen[j]);
	}
	assert_int_equal(pfn_at(m, A + 4 * P), NONE);
	assert_int_equal(pfn_at(m, A + 16 * P), NONE);
	/* Window 16..31 clipped: 16..19. */
	fault_ok(m, A + 17 * P, A + 16 * P, 4 * P);
	assert_int_equal(pfn_at(m, A + 20 * P), NONE);
	struct mos_stats s = stats(m);
	assert_int_equal(s.faults, 2);
	assert_int_equal(s.pages_mapped, 15);
	assert_int_equal(s.data_frames, 15);
	assert_int_equal(s.frames_free, 256 - 4 - 15);
	done(m, &h);
}

static void test_fault_around_mapped_pages(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 8);
	assert_int_equal(mos_vma_add(m, A, 64 * P, 0), MOS_OK);
	fault_ok(m, A + 2 * P, A, 8 * P);
	assert_int_equal(mos_discard(m, A + 3 * P, P), MOS_OK);
	assert_int_equal(mos_discard(m, A + 5 * P, P), MOS_OK);
	assert_int_equal(pfn_at(m, A + 3 * P), NONE);
	assert_int_equal(pfn_at(m, A + 4 * P) != NONE, true);
	/* Holes between mapped pages: only the hole itself. */
	fault_ok(m, A + 5 * P, A + 5 * P, P);
	fault_ok(m, A + 3 * P, A + 3 * P, P);
	/* A run of 6 unmapped pages in the window. */
	assert_int_equal(mos_discard(m, A + P, 6 * P), MOS_OK);
	fault_ok(m, A + 4 * P, A + P, 6 * P);
	fault_ok(m, A + 9 * P, A + 8 * P, 8 * P);
	assert_int_equal(mos_discard(m, A + P, 100), MOS_EINVAL);
	struct mos_stats s = stats(m);
	assert_int_equal(s.pages_unmapped, 8);
	assert_int_equal(s.pages_mapped, 8 + 1 + 1 + 6 + 8);
	assert_int_equal(s.data_frames, 16);
	done(m, &h);
}

static void test_oom(void **state)
{
	struct host h;
	/* 6 frames: PML4 + 3 tables leave 2 for data. */
	struct mos *m = mk(&h, 6 * P, 4);
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	/* 4 pages + 3 tables do not fit in 5 frames: fall back to the faulting page. */
	fault_ok(m, A, A, P);
	assert_int_equal(stats(m).frames_free, 1);
	/* Run 1..3 needs 3 frames, 1 free: just the page. */
	fault_ok(m, A + P, A + P, P);
	assert_int_equal(stats(m).frames_free, 0);

	struct mos_stats before = stats(m);
	struct mos_fault_result r;
	assert_int_equal(mos_fault(m, A + 2 * P, true, &r), MOS_ENOMEM);
	struct mos_stats after = stats(m);
	assert_int_equal(after.oom_events, before.oom_events + 1);
	after.oom_events = before.oom_events;
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(pfn_at(m, A + 2 * P), NONE);
	chk(m);
	/* A refault needs no frame. */
	assert_int_equal(mos_fault(m, A, false, &r), MOS_OK);
	assert_true(r.refault);
	/* Free one page and the next fault succeeds with one page. */
	assert_int_equal(mos_discard(m, A, P), MOS_OK);
	fault_ok(m, A + 3 * P, A + 3 * P, P);
	assert_int_equal(stats(m).oom_events, 1);
	done(m, &h);

	/* 3 frames: not even the page tables fit. */
	m = mk(&h, 3 * P, 1);
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	assert_int_equal(mos_fault(m, A, true, &r), MOS_ENOMEM);
	struct mos_stats s = stats(m);
	assert_int_equal(s.pt_pages, 1);
	assert_int_equal(s.frames_free, 2);
	assert_int_equal(s.oom_events, 1);
	assert_int_equal(s.faults, 0);
	done(m, &h);
}

static void test_discard_keeps_tables(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 16);
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	fault_ok(m, A, A, 16 * P);
	struct mos_stats s = stats(m);
	assert_int_equal(s.data_frames, 16);
	assert_int_equal(s.pt_pages, 4);
	assert_int_equal(s.frames_free, 256 - 4 - 16);

	assert_int_equal(mos_discard(m, A, 16 * P), MOS_OK);
	s = stats(m);
	assert_int_equal(s.data_frames, 0);
	assert_int_equal(s.data_frames_peak, 16);
	assert_int_equal(s.pages_unmapped, 16);
	assert_int_equal(s.pt_pages, 4);
	assert_int_equal(s.frames_free, 256 - 4);
	assert_int_equal(s.vmas, 1);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pfn_at(m, A + i * P), NONE);
	uint64_t pa[4];
	assert_int_equal(mos_walk_path(m, A, pa), 4); /* the PT is still there */
	fault_ok(m, A + 3 * P, A, 16 * P);
	assert_int_equal(stats(m).faults, 2);
	/* Discarding where nothing is managed is harmless. */
	assert_int_equal(mos_discard(m, B, 64 * P), MOS_OK);
	done(m, &h);
}

static void test_vma_remove_frees_tables(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 8);
	/* Two VMAs sharing one PT. */
	assert_int_equal(mos_vma_add(m, A, 8 * P, 0), MOS_OK);
	assert_int_equal(mos_vma_add(m, A + 8 * P, 8 * P, 0), MOS_OK);
	fault_ok(m, A, A, 8 * P);
	fault_ok(m, A + 8 * P, A + 8 * P, 8 * P);
	assert_int_equal(stats(m).pt_pages, 4);

	assert_int_equal(mos_vma_remove(m, A, 8 * P), MOS_OK);
	struct mos_stats s = stats(m);
	assert_int_equal(s.data_frames, 8);
	assert_int_equal(s.pages_unmapped, 8);
	assert_int_equal(s.pt_pages, 4); /* the PT still serves the other VMA */
	assert_int_equal(pfn_at(m, A), NONE);
	assert_int_not_equal(pfn_at(m, A + 8 * P), NONE);

	/* DONTNEED empties the PT; it stays while a VMA spans it (as in Linux). */
	assert_int_equal(mos_discard(m, A + 8 * P, 8 * P), MOS_OK);
	assert_int_equal(mos_vma_add(m, A, 8 * P, 0), MOS_OK);
	assert_int_equal(mos_vma_remove(m, A, 8 * P), MOS_OK);
	assert_int_equal(stats(m).pt_pages, 4);
	/* The last user goes: PT, PD and PDPT are freed. */
	assert_int_equal(mos_vma_remove(m, A + 8 * P, 8 * P), MOS_OK);
	s = stats(m);
	assert_int_equal(s.pt_pages, 1);
	assert_int_equal(s.pt_pages_peak, 4);
	assert_int_equal(s.frames_free, 255);
	assert_int_equal(s.vmas, 0);
	assert_int_equal(s.data_frames, 0);
	chk(m);

	/* Punching a hole unmaps just the hole. */
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	fault_ok(m, A, A, 8 * P);
	fault_ok(m, A + 8 * P, A + 8 * P, 8 * P);
	assert_int_equal(mos_vma_remove(m, A + 4 * P, 4 * P), MOS_OK);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pfn_at(m, A + i * P) == NONE, i >= 4 && i < 8);
	assert_int_equal(stats(m).data_frames, 12);
	assert_int_equal(stats(m).pt_pages, 4);
	done(m, &h);
}

static void test_large_vma(void **state)
{
	/* A 64 GiB heap with a few pages: removal walks tables, not pages. */
	struct host h;
	struct mos *m = mk(&h, 64 << 20, 1);
	uint64_t heap = 1ull << 40, len = 64 * GB1;
	assert_int_equal(mos_vma_add(m, heap, len, MOS_VMA_HEAP), MOS_OK);
	fault_ok(m, heap, heap, P);
	fault_ok(m, heap + 17 * GB1 + 5 * P, heap + 17 * GB1 + 5 * P, P);
	fault_ok(m, heap + len - P, heap + len - P, P);
	/* PML4, PDPT, then PD + PT for each of three 1 GiB regions. */
	assert_int_equal(stats(m).pt_pages, 1 + 1 + 3 * 2);
	/* mos_next_mapped visits exactly the three pages, in order */
	uint64_t want[] = { heap, heap + 17 * GB1 + 5 * P, heap + len - P }, va = heap, leaf;
	uint32_t shift;
	for (int i = 0; i < 3; i++) {
		assert_true(mos_next_mapped(m, va, heap + len, &leaf, &shift));
		assert_int_equal(leaf, want[i]);
		assert_int_equal(shift, 12);
		va = leaf + P;
	}
	assert_false(mos_next_mapped(m, va, heap + len, &leaf, &shift));
	assert_false(mos_next_mapped(m, heap + P, heap + 17 * GB1 + 5 * P, &leaf, &shift));
	assert_int_equal(mos_vma_remove(m, heap, len), MOS_OK);
	assert_int_equal(stats(m).pt_pages, 1);
	assert_int_equal(stats(m).data_frames, 0);
	done(m, &h);
}

/* Fault in the pages of [va, va + n*P) with fault-around and record their PFNs. */
static void populate(struct mos *m, uint64_t va, int n, uint64_t *pfns)
{
	for (int i = 0; i < n; i++) {
		struct mos_fault_result r;
		assert_int_equal(mos_fault(m, va + i * P, true, &r), MOS_OK);
	}
	for (int i = 0; i < n; i++) {
		pfns[i] = pfn_at(m, va + i * P);
		assert_int_not_equal(pfns[i], NONE);
	}
}

static void test_vma_move_away(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 8);
	uint64_t pfn[8];
	assert_int_equal(mos_vma_add(m, A, 8 * P, MOS_VMA_MMAP), MOS_OK);
	populate(m, A, 8, pfn);
	struct mos_stats s0 = stats(m);
	assert_int_equal(s0.pt_pages, 4);

	assert_int_equal(mos_vma_move(m, A, 8 * P, B, 8 * P), MOS_OK);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pfn_at(m, B + i * P), pfn[i]);
		assert_int_equal(pfn_at(m, A + i * P), NONE);
	}
	assert_null(mos_vma_find(m, A));
	assert_int_equal(mos_vma_count(m), 1);
	assert_vma(m, 0, B, B + 8 * P, MOS_VMA_MMAP);
	struct mos_stats s = stats(m);
	/* New PD + PT for B, the old PD + PT freed; the PDPT is shared. */
	assert_int_equal(s.pt_pages, 4);
	assert_int_equal(s.pt_pages_peak, 6);
	assert_int_equal(s.frames_free, s0.frames_free);
	assert_int_equal(s.data_frames, 8);
	assert_int_equal(s.pages_unmapped, 0);
	chk(m);
	/* Grow while moving back: the tail is new, unmapped space. */
	assert_int_equal(mos_vma_move(m, B, 8 * P, A, 16 * P), MOS_OK);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pfn_at(m, A + i * P), i < 8 ? pfn[i] : NONE);
	assert_vma(m, 0, A, A + 16 * P, MOS_VMA_MMAP);
	fault_ok(m, A + 8 * P, A + 8 * P, 8 * P);
	done(m, &h);
}

static void test_vma_move_shrink(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 16);
	uint64_t pfn[16];
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	populate(m, A, 16, pfn);
	struct mos_stats s0 = stats(m);

	/* Move and shrink: pages 8..15 are freed. */
	assert_int_equal(mos_vma_move(m, A, 16 * P, B, 8 * P), MOS_OK);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(pfn_at(m, B + i * P), i < 8 ? pfn[i] : NONE);
		assert_int_equal(pfn_at(m, A + i * P), NONE);
	}
	struct mos_stats s = stats(m);
	assert_int_equal(s.data_frames, 8);
	assert_int_equal(s.pages_unmapped, 8);
	assert_int_equal(s.frames_free, s0.frames_free + 8);
	assert_vma(m, 0, B, B + 8 * P, 0);
	chk(m);

	/* In place: shrink to 4 pages, then grow to 32. */
	assert_int_equal(mos_vma_move(m, B, 8 * P, B, 4 * P), MOS_OK);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfn_at(m, B + i * P), i < 4 ? pfn[i] : NONE);
	assert_vma(m, 0, B, B + 4 * P, 0);
	assert_null(mos_vma_find(m, B + 5 * P));
	assert_int_equal(stats(m).data_frames, 4);
	assert_int_equal(stats(m).pt_pages, 4);
	assert_int_equal(mos_vma_move(m, B, 4 * P, B, 32 * P), MOS_OK);
	assert_vma(m, 0, B, B + 32 * P, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pfn_at(m, B + i * P), pfn[i]);
	fault_ok(m, B + 20 * P, B + 16 * P, 16 * P);
	done(m, &h);
}

static void test_vma_move_overlapping(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 16);
	uint64_t pfn[16];
	assert_int_equal(mos_vma_add(m, A, 16 * P, 0), MOS_OK);
	populate(m, A, 16, pfn);

	/* Up by 4 pages: the new range overlaps 12 pages of the old. */
	assert_int_equal(mos_vma_move(m, A, 16 * P, A + 4 * P, 16 * P), MOS_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(pfn_at(m, A + i * P), i < 4 ? NONE : pfn[i - 4]);
	assert_vma(m, 0, A + 4 * P, A + 20 * P, 0);
	chk(m);
	/* Down by 2 pages. */
	assert_int_equal(mos_vma_move(m, A + 4 * P, 16 * P, A + 2 * P, 16 * P), MOS_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(pfn_at(m, A + i * P), (i >= 2 && i < 18) ? pfn[i - 2] : NONE);
	assert_vma(m, 0, A + 2 * P, A + 18 * P, 0);
	/* Up across a 2 MiB boundary: pages straddle two PTs. */
	uint64_t to = A + MB2 - 6 * P;
	assert_int_equal(mos_vma_move(m, A + 2 * P, 16 * P, to, 16 * P), MOS_OK);
	for (int i = 0; i < 16; i++)
		assert_int_equal(pfn_at(m, to + i * P), pfn[i]);
	/* PML4, PDPT, PD, the old PT (still holding 6 pages) and a new PT. */
	assert_int_equal(stats(m).pt_pages, 5);
	assert_int_equal(stats(m).data_frames, 16);
	done(m, &h);
}

static void test_vma_move_errors(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 16);
	uint64_t pfn[16];
	assert_int_equal(mos_vma_add(m, A, 16 * P, MOS_VMA_HEAP), MOS_OK);
	assert_int_equal(mos_vma_add(m, A + 32 * P, 8 * P, MOS_VMA_MMAP), MOS_OK);
	populate(m, A, 16, pfn);
	struct mos_stats s0 = stats(m);

	assert_int_equal(mos_vma_move(m, A + 100 * P, P, B, P), MOS_ENOVMA);
	assert_int_equal(mos_vma_move(m, A + 8 * P, 16 * P, B, 16 * P), MOS_ENOVMA); /* beyond the VMA */
	assert_int_equal(mos_vma_move(m, A, 8 * P, A + 28 * P, 8 * P), MOS_EEXIST);  /* hits the other */
	assert_int_equal(mos_vma_move(m, A + 8 * P, 8 * P, A + 4 * P, 8 * P), MOS_EEXIST); /* own rest */
	assert_int_equal(mos_vma_move(m, A, 8 * P, A, 20 * P), MOS_EEXIST); /* grows into own rest */
	assert_int_equal(mos_vma_move(m, A + 1, P, B, P), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, A, 0, B, P), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, A, P, B, 0), MOS_EINVAL);
	struct mos_stats s = stats(m);
	assert_memory_equal(&s, &s0, sizeof(s));
	assert_int_equal(mos_vma_count(m), 2);
	chk(m);

	/* Moving the upper half out splits the VMA. */
	assert_int_equal(mos_vma_move(m, A + 8 * P, 8 * P, B, 8 * P), MOS_OK);
	assert_int_equal(mos_vma_count(m), 3);
	assert_vma(m, 0, A, A + 8 * P, MOS_VMA_HEAP);
	assert_vma(m, 1, A + 32 * P, A + 40 * P, MOS_VMA_MMAP);
	assert_vma(m, 2, B, B + 8 * P, MOS_VMA_HEAP);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pfn_at(m, A + i * P), pfn[i]);
		assert_int_equal(pfn_at(m, B + i * P), pfn[8 + i]);
		assert_int_equal(pfn_at(m, A + (8 + i) * P), NONE);
	}
	/* Moving the middle of a VMA out leaves two pieces. */
	assert_int_equal(mos_vma_move(m, A + 2 * P, 2 * P, A + 20 * P, 2 * P), MOS_OK);
	assert_int_equal(mos_vma_count(m), 5);
	assert_vma(m, 0, A, A + 2 * P, MOS_VMA_HEAP);
	assert_vma(m, 1, A + 4 * P, A + 8 * P, MOS_VMA_HEAP);
	assert_vma(m, 2, A + 20 * P, A + 22 * P, MOS_VMA_HEAP);
	assert_int_equal(pfn_at(m, A + 20 * P), pfn[2]);
	assert_int_equal(pfn_at(m, A + 21 * P), pfn[3]);
	done(m, &h);
}

static void test_vma_move_enomem(void **state)
{
	struct host h;
	/* PML4 + 3 tables + 8 data leave one frame. */
	struct mos *m = mk(&h, 13 * P, 8);
	uint64_t pfn[8];
	assert_int_equal(mos_vma_add(m, A, 8 * P, 0), MOS_OK);
	populate(m, A, 8, pfn);
	assert_int_equal(stats(m).frames_free, 1);
	struct mos_stats s0 = stats(m);

	/* B needs a PD and a PT: 2 frames, 1 free. Nothing changes. */
	assert_int_equal(mos_vma_move(m, A, 8 * P, B, 8 * P), MOS_ENOMEM);
	struct mos_stats s = stats(m);
	assert_memory_equal(&s, &s0, sizeof(s));
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfn_at(m, A + i * P), pfn[i]);
	assert_vma(m, 0, A, A + 8 * P, 0);
	chk(m);
	/* Shrinking frees frames before the move, but the check comes first. */
	assert_int_equal(mos_vma_move(m, A, 8 * P, B, 2 * P), MOS_ENOMEM);
	assert_int_equal(stats(m).data_frames, 8);
	/* Same PT: no table needed. */
	assert_int_equal(mos_vma_move(m, A, 8 * P, A + 8 * P, 8 * P), MOS_OK);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfn_at(m, A + (8 + i) * P), pfn[i]);
	done(m, &h);
}

static void test_vma_move_host_failure_rolls_back(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 8);
	uint64_t pfn[8];
	assert_int_equal(mos_vma_add(m, A, 8 * P, 0), MOS_OK);
	populate(m, A, 8, pfn);
	/* Destination straddles a 2 MiB boundary: leaves 7..4 go first (PD + PT
	 * made), then leaf 3 needs another PT, which the host refuses. */
	uint64_t to = B + MB2 - 4 * P;
	h.fail_after = 2;
	assert_int_equal(mos_vma_move(m, A, 8 * P, to, 8 * P), MOS_EHOST);
	h.fail_after = -1;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pfn_at(m, A + i * P), pfn[i]);
		assert_int_equal(pfn_at(m, to + i * P), NONE);
	}
	assert_vma(m, 0, A, A + 8 * P, 0);
	assert_int_equal(stats(m).data_frames, 8);
	chk(m);
	/* And it works once the host cooperates. */
	assert_int_equal(mos_vma_move(m, A, 8 * P, to, 8 * P), MOS_OK);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pfn_at(m, to + i * P), pfn[i]);
	done(m, &h);
}

static void test_vma_add_host_failure(void **state)
{
	struct host h;
	struct mos *m = mk(&h, 1 << 20, 1);
	h.fail_after = 0;
	assert_int_equal(mos_vma_add(m, A, P, 0), MOS_EHOST);
	assert_int_equal(mos_vma_count(m), 0);
	h.fail_after = -1;
	assert_int_equal(mos_vma_add(m, A, P, 0), MOS_OK);
	done(m, &h);
}

/* ---- Random workload against an independent shadow model ---- */

#define NP 1024 /* pages in the test window */
static const uint64_t W = 0x40000000ull - MB2; /* window crosses a 1 GiB boundary */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

struct shadow {
	uint64_t pfn[NP]; /* frame of each page, or NONE */
	int vid[NP];      /* VMA id of each page, 0 outside VMAs */
	int next_id;
	uint8_t *frame_used;
	uint64_t frames;
};

static void sh_unmap(struct shadow *sh, size_t i)
{
	if (sh->pfn[i] != NONE) {
		assert_true(sh->frame_used[sh->pfn[i]]);
		sh->frame_used[sh->pfn[i]] = 0;
		sh->pfn[i] = NONE;
	}
}

static void sh_verify(const struct mos *m, const struct shadow *sh)
{
	uint64_t mapped = 0;
	for (size_t i = 0; i < NP; i++) {
		assert_int_equal(pfn_at(m, W + i * P), sh->pfn[i]);
		assert_int_equal(mos_vma_find(m, W + i * P) != NULL, sh->vid[i] != 0);
		mapped += sh->pfn[i] != NONE;
	}
	assert_int_equal(stats(m).data_frames, mapped);
	chk(m);
}

/* Returns how many faults hit emulated OOM. */
static int random_workload(uint64_t seed, uint32_t fa, int steps)
{
	struct host h;
	const uint64_t frames = 240;
	struct mos *m = mk(&h, frames * P, fa);
	struct shadow *sh = calloc(1, sizeof(*sh));
	sh->frames = frames;
	sh->frame_used = calloc(frames, 1);
	for (size_t i = 0; i < NP; i++)
		sh->pfn[i] = NONE;
	uint64_t s = seed;
	int counts[5] = { 0 }, ok_faults = 0, ooms = 0, moves = 0, clashes = 0;

	for (int step = 0; step < steps; step++) {
		uint64_t r = rng_next(&s) % 100;
		size_t a = rng_next(&s) % NP;
		size_t len = 1 + rng_next(&s) % 64;
		if (a + len > NP)
			len = NP - a;
		if (r < 12) { /* add */
			counts[0]++;
			bool overlap = false;
			for (size_t i = a; i < a + len; i++)
				overlap |= sh->vid[i] != 0;
			enum mos_status st = mos_vma_add(m, W + a * P, len * P, 0);
			assert_int_equal(st, overlap ? MOS_EEXIST : MOS_OK);
			if (!overlap) {
				int id = ++sh->next_id;
				for (size_t i = a; i < a + len; i++)
					sh->vid[i] = id;
			}
		} else if (r < 18) { /* munmap */
			counts[1]++;
			assert_int_equal(mos_vma_remove(m, W + a * P, len * P), MOS_OK);
			for (size_t i = a; i < a + len; i++) {
				sh_unmap(sh, i);
				sh->vid[i] = 0;
			}
		} else if (r < 28) { /* MADV_DONTNEED */
			counts[2]++;
			assert_int_equal(mos_discard(m, W + a * P, len * P), MOS_OK);
			for (size_t i = a; i < a + len; i++)
				sh_unmap(sh, i);
		} else if (r < 38) { /* mremap */
			counts[3]++;
			for (int tries = 0; tries < 8 && sh->vid[a] == 0; tries++)
				a = rng_next(&s) % NP;
			const struct mos_vma *v = mos_vma_find(m, W + a * P);
			if (!v) {
				assert_int_equal(sh->vid[a], 0);
				assert_int_equal(mos_vma_move(m, W + a * P, P, W, P), MOS_ENOVMA);
				continue;
			}
			/* VMA extent from the shadow: the run of pages with a's id. */
			size_t vs = a, ve = a + 1;
			while (vs > 0 && sh->vid[vs - 1] == sh->vid[a])
				vs--;
			while (ve < NP && sh->vid[ve] == sh->vid[a])
				ve++;
			assert_int_equal(v->start, W + vs * P);
			assert_int_equal(v->end, W + ve * P);
			size_t old = vs + rng_next(&s) % (ve - vs);
			size_t olen = 1 + rng_next(&s) % (ve - old);
			size_t nw = rng_next(&s) % 4 == 0 ? old : rng_next(&s) % NP; /* sometimes in place */
			size_t nlen = 1 + rng_next(&s) % 64;
			if (nw + nlen > NP)
				nlen = NP - nw;
			bool clash = false;
			for (size_t i = nw; i < nw + nlen; i++)
				clash |= sh->vid[i] != 0 && !(i >= old && i < old + olen);
			struct mos_stats before = stats(m);
			enum mos_status st = mos_vma_move(m, W + old * P, olen * P, W + nw * P, nlen * P);
			if (clash) {
				clashes++;
				assert_int_equal(st, MOS_EEXIST);
				continue;
			}
			if (st == MOS_ENOMEM) {
				/* At most PD + PT for each of the two 1 GiB halves of the window. */
				assert_true(before.frames_free < 4);
				struct mos_stats after = stats(m);
				assert_memory_equal(&before, &after, sizeof(before));
				continue;
			}
			assert_int_equal(st, MOS_OK);
			moves++;
			size_t keep = olen < nlen ? olen : nlen;
			uint64_t tmp[NP];
			for (size_t i = 0; i < olen; i++) {
				if (i < keep) {
					tmp[i] = sh->pfn[old + i];
					sh->pfn[old + i] = NONE;
				} else {
					sh_unmap(sh, old + i);
				}
				sh->vid[old + i] = 0;
			}
			int id = ++sh->next_id;
			for (size_t i = 0; i < nlen; i++) {
				assert_true(i >= keep || sh->pfn[nw + i] == NONE);
				sh->pfn[nw + i] = i < keep ? tmp[i] : sh->pfn[nw + i];
				sh->vid[nw + i] = id;
			}
		} else { /* fault */
			counts[4]++;
			size_t p = a;
			for (int tries = 0; tries < 8 && sh->vid[p] == 0; tries++)
				p = rng_next(&s) % NP;
			uint64_t va = W + p * P + rng_next(&s) % P;
			struct mos_stats before = stats(m);
			struct mos_fault_result res;
			enum mos_status st = mos_fault(m, va, rng_next(&s) & 1, &res);
			if (sh->vid[p] == 0) {
				assert_int_equal(st, MOS_ENOVMA);
			} else if (sh->pfn[p] != NONE) {
				assert_int_equal(st, MOS_OK);
				assert_true(res.refault);
				assert_int_equal(res.pfn, sh->pfn[p]);
				assert_int_equal(res.start, W + p * P);
				assert_int_equal(res.len, P);
			} else if (st == MOS_ENOMEM) {
				ooms++;
				assert_true(before.frames_free < 1 + 3); /* a page and its 3 tables */
				struct mos_stats after = stats(m);
				assert_int_equal(after.oom_events, before.oom_events + 1);
				after.oom_events = before.oom_events;
				assert_memory_equal(&before, &after, sizeof(before));
			} else {
				assert_int_equal(st, MOS_OK);
				assert_false(res.refault);
				ok_faults++;
				/* Expected: the unmapped run around p in the aligned window, inside the VMA. */
				size_t wl = p & ~(size_t)(fa - 1), wh = wl + fa;
				size_t lo = p, hi = p + 1;
				while (lo > wl && sh->vid[lo - 1] == sh->vid[p] && sh->pfn[lo - 1] == NONE)
					lo--;
				while (hi < wh && hi < NP && sh->vid[hi] == sh->vid[p] && sh->pfn[hi] == NONE)
					hi++;
				if (res.len == P && hi - lo > 1) {
					/* Fallback to one page: only when the run did not fit. */
					assert_int_equal(res.start, W + p * P);
					assert_true(before.frames_free < (hi - lo) + 3);
					lo = p;
					hi = p + 1;
				}
				assert_int_equal(res.start, W + lo * P);
				assert_int_equal(res.len, (hi - lo) * P);
				for (size_t i = lo; i < hi; i++) {
					uint64_t f = pfn_at(m, W + i * P);
					assert_true(f < sh->frames);
					assert_false(sh->frame_used[f]); /* a frame no other page has */
					sh->frame_used[f] = 1;
					sh->pfn[i] = f;
				}
				assert_int_equal(res.pfn, sh->pfn[p]);
			}
		}
		sh_verify(m, sh);
	}
	/* The workload must have exercised every path. */
	for (int i = 0; i < 5; i++)
		assert_true(counts[i] > 0);
	assert_true(ok_faults > 0);
	assert_true(moves > 0);
	print_message("seed %llu fa %u: %d faults ok, %d OOM, %d moves, %d clashing moves\n",
		      (unsigned long long)seed, fa, ok_faults, ooms, moves, clashes);

	assert_int_equal(mos_vma_remove(m, W, NP * P), MOS_OK);
	struct mos_stats end = stats(m);
	assert_int_equal(end.pt_pages, 1);
	assert_int_equal(end.frames_free, frames - 1);
	assert_int_equal(end.data_frames, 0);
	assert_int_equal(end.vmas, 0);
	free(sh->frame_used);
	free(sh);
	done(m, &h);
	return ooms;
}

static void test_random_workloads(void **state)
{
	int ooms = 0;
	ooms += random_workload(1, 1, 3000);
	ooms += random_workload(2, 4, 3000);
	ooms += random_workload(3, 16, 3000);
	ooms += random_workload(4, 8, 3000);
	ooms += random_workload(5, 2, 3000);
	assert_true(ooms > 0); /* the emulated OOM path was exercised */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_vma_add_remove),
		cmocka_unit_test(test_fault_translate_refault),
		cmocka_unit_test(test_fault_around_clipping),
		cmocka_unit_test(test_fault_around_mapped_pages),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_discard_keeps_tables),
		cmocka_unit_test(test_vma_remove_frees_tables),
		cmocka_unit_test(test_large_vma),
		cmocka_unit_test(test_vma_move_away),
		cmocka_unit_test(test_vma_move_shrink),
		cmocka_unit_test(test_vma_move_overlapping),
		cmocka_unit_test(test_vma_move_errors),
		cmocka_unit_test(test_vma_move_enomem),
		cmocka_unit_test(test_vma_move_host_failure_rolls_back),
		cmocka_unit_test(test_vma_add_host_failure),
		cmocka_unit_test(test_random_workloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
