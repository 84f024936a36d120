/*
 * Unit tests of MimicOS' hugetlbfs-like pools (mos_config.hugetlb_nr_*,
 * MOS_VMA_HUGETLB_*): carving at boot, 1 GiB faults, translations and walk
 * paths, reservations and ENOMEM, the alignment rules of munmap / madvise /
 * mremap, pages going back to the pool, MORECORE heaps falling back to the
 * policy, and mos_check after random workloads mixing hugetlb VMAs with the
 * policies' memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mimicos/mimicos.h"
#include "runtime/config.h"
#include "tlbmodel/tlbmodel.h"

#define P 4096ull
#define MB2 (2ull << 20)
#define GB (1ull << 30)
#define F1G (GB / P) /* frames of a 1 GiB page */
#define F2M (MB2 / P)

static const uint64_t V = 0x400000000ull; /* 16 GiB: 1 GiB aligned, far from A..B */

#include "mos_testlib.h"

static struct mos_config hcfg(uint64_t mem, uint64_t nr_2m, uint64_t nr_1g)
{
	return (struct mos_config){ .mem_bytes = mem, .policy = "baseline", .fault_around_pages = 1,
				    .hugetlb_nr_2m = nr_2m, .hugetlb_nr_1g = nr_1g };
}

static enum mos_status try_create(struct mos_config c)
{
	struct host h = { 0, -1 };
	struct mos_allocator a = alloc_of(&h);
	enum mos_status st;
	struct mos *m = mos_create(&c, &a, &st);
	if (m)
		done(m, &h);
	assert_int_equal(h.live, 0);
	return m ? MOS_OK : st;
}

/* --------------------------------------------------------------- carving */

static void test_pool_carving(void **state)
{
	struct host h;
	struct mos_config c = hcfg(4 * GB, 8, 2);
	struct mos *m = mkc(&h, &c);
	struct mos_stats s = stats(m);
	assert_int_equal(s.hugetlb_pages[MOS_HUGETLB_2M], 8);
	assert_int_equal(s.hugetlb_pages[MOS_HUGETLB_1G], 2);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 8);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_1G], 2);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_1G], 0);
	/* pool frames are allocated; the rest minus the PML4 is free */
	assert_int_equal(s.frames_free, s.frames_total - 2 * F1G - 8 * F2M - 1);
	assert_int_equal(s.data_frames, 0);

	/* The 1 GiB pages are the two highest aligned ranges; the free stack
	 * hands out the page carved last (2..3 GiB) first. */
	assert_int_equal(mos_vma_add(m, V, 2 * GB, MOS_VMA_MMAP | MOS_VMA_HUGETLB_1G), MOS_OK);
	assert_int_equal(fault(m, V).pfn, 2 * F1G);
	assert_int_equal(fault(m, V + GB + 5 * P).pfn, 3 * F1G + 5);
	/* 2 MiB pages: order-9 blocks from the bottom (the PML4 was allocated
	 * after them, so PFN 0 is the first pool page). */
	assert_int_equal(mos_vma_add(m, V + 4 * GB, MB2, MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M), MOS_OK);
	uint64_t pfn2 = fault(m, V + 4 * GB).pfn;
	assert_int_equal(pfn2 % F2M, 0);
	assert_true(pfn2 < 8 * F2M);
	done(m, &h);

	/* Carving precedes fragmentation: a fully fragmented machine still has
	 * its pool pages whole. */
	c = hcfg(64 << 20, 4, 0);
	c.fragmentation = 1.0;
	c.seed = 7;
	m = mkc(&h, &c);
	s = stats(m);
	assert_int_equal(s.free_blocks[9] + s.free_blocks[10], 0);
	assert_true(s.frames_pinned > 0);
	assert_int_equal(mos_vma_add(m, V, 4 * MB2, MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M), MOS_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fault(m, V + i * MB2 + 3 * P).page_shift, 21);
	done(m, &h);
}

static void test_pool_does_not_fit(void **state)
{
	/* 1 GiB of memory is all one 1 GiB page: nothing left for the PML4. */
	assert_int_equal(try_create(hcfg(GB, 0, 1)), MOS_ENOMEM);
	assert_int_equal(try_create(hcfg(GB + (4 << 20), 0, 1)), MOS_OK);
	assert_int_equal(try_create(hcfg(GB + (4 << 20), 1, 1)), MOS_OK);
	assert_int_equal(try_create(hcfg(GB + (4 << 20), 2, 1)), MOS_ENOMEM);
	assert_int_equal(try_create(hcfg(64 << 20, 32, 0)), MOS_ENOMEM);
	assert_int_equal(try_create(hcfg(64 << 20, 31, 0)), MOS_OK);
	/* 1.5 GiB holds one aligned 1 GiB range only */
	assert_int_equal(try_create(hcfg(3 * GB / 2, 0, 2)), MOS_ENOMEM);
	/* absurd counts fail before any array is sized by them */
	assert_int_equal(try_create(hcfg(64 << 20, UINT64_MAX, 0)), MOS_ENOMEM);
	assert_int_equal(try_create(hcfg(64 << 20, 0, UINT64_MAX)), MOS_ENOMEM);

	/* NUMA: a 1 GiB page never straddles nodes. Two nodes of 1.5 GiB: node 0
	 * holds [0, 1 GiB), node 1 [2 GiB, 3 GiB); a third does not fit. */
	struct mos_config c = hcfg(3 * GB, 0, 2);
	c.numa_nodes = 2;
	struct host h;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, V, 2 * GB, MOS_VMA_MMAP | MOS_VMA_HUGETLB_1G), MOS_OK);
	uint64_t a = fault(m, V).pfn, b = fault(m, V + GB).pfn;
	assert_int_not_equal(mos_pfn_node(m, a), mos_pfn_node(m, b)); /* round-robin */
	assert_true((a == 0 && b == 2 * F1G) || (a == 2 * F1G && b == 0));
	done(m, &h);
	c.hugetlb_nr_1g = 3;
	assert_int_equal(try_create(c), MOS_ENOMEM);
	/* 2 MiB pages go round-robin too */
	c = hcfg(64 << 20, 4, 0);
	c.numa_nodes = 2;
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, V, 4 * MB2, MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M), MOS_OK);
	int per_node[2] = { 0, 0 };
	for (int i = 0; i < 4; i++)
		per_node[mos_pfn_node(m, fault(m, V + i * MB2).pfn)]++;
	assert_int_equal(per_node[0], 2);
	assert_int_equal(per_node[1], 2);
	done(m, &h);
}

/* ------------------------------------------------ faults and translation */

static void test_1g_fault_translate_walk(void **state)
{
	struct host h;
	struct mos_config c = hcfg(2 * GB, 0, 1);
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, V, GB, MOS_VMA_MMAP | MOS_VMA_HUGETLB_1G), MOS_OK);
	assert_int_equal(stats(m).hugetlb_resv[MOS_HUGETLB_1G], 1);
	assert_int_equal(mos_hugetlb_available(m, 30), 0);
	uint64_t pt0 = stats(m).pt_pages;

	struct mos_fault_result r = fault(m, V + 0x12345678);
	assert_int_equal(r.start, V);
	assert_int_equal(r.len, GB);
	assert_int_equal(r.page_shift, 30);
	assert_int_equal(r.pfn % F1G, 0x12345678 / P);
	uint64_t head = r.pfn - 0x12345678 / P;
	assert_int_equal(head % F1G, 0);
	/* every byte of the page translates into it, at page shift 30 */
	for (uint64_t off = 0; off < GB; off += GB / 7 + 12345) {
		uint32_t sh;
		assert_int_equal(xl(m, V + off, &sh), head + off / P);
		assert_int_equal(sh, 30);
	}
	assert_int_equal(xl(m, V + GB, NULL), NONE);
	/* one fault maps 2^18 frames with one PDPT page (the PDPTE is the leaf) */
	struct mos_stats s = stats(m);
	assert_int_equal(s.faults, 1);
	assert_int_equal(s.data_frames, F1G);
	assert_int_equal(s.pages_mapped, F1G);
	assert_int_equal(s.gigantic_pages, 1);
	assert_int_equal(s.huge_pages, 0);
	assert_int_equal(s.pt_pages, pt0 + 1);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_1G], 0);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_1G], 0);
	assert_int_equal(s.hugetlb_faults[MOS_HUGETLB_1G], 1);

	/* The walk reads two entries: the PML4E, then the PDPTE. A 4 KiB page in
	 * the next GiB shares the PML4E and the PDPT page (another entry of it). */
	uint64_t w1[MOS_PT_LEVELS], w4[MOS_PT_LEVELS];
	assert_int_equal(mos_walk_path(m, V + 77, w1), 2);
	assert_int_equal(mos_vma_add(m, V + GB, MB2, MOS_VMA_MMAP), MOS_OK);
	fault(m, V + GB);
	assert_int_equal(mos_walk_path(m, V + GB, w4), 4);
	assert_int_equal(w1[0], w4[0]);
	assert_int_equal(w1[1] >> 12, w4[1] >> 12);
	assert_int_equal(w4[1] - w1[1], 8); /* the next PDPT entry */
	assert_int_equal(mos_walk_path(m, V + GB - 1, w4), 2);

	/* a refault (the host lost a page) is one page of the 1 GiB mapping */
	struct mos_fault_result rr = fault(m, V + 5 * P);
	assert_true(rr.refault);
	assert_int_equal(rr.len, P);
	assert_int_equal(rr.page_shift, 30);
	done(m, &h);
}

static void test_2m_hugetlb_and_reservations(void **state)
{
	struct host h;
	struct mos_config c = hcfg(64 << 20, 4, 0);
	c.policy = "thp";
	c.thp_mode = MOS_THP_ALWAYS;
	struct mos *m = mkc(&h, &c);
	uint32_t F = MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M;
	/* bad flags and alignment */
	assert_int_equal(mos_vma_add(m, V + P, MB2, F), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, V, MB2 + P, F), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, V, MB2, F | MOS_VMA_HUGETLB_1G), MOS_EINVAL);
	assert_int_equal(mos_vma_add(m, V, MB2, MOS_VMA_HUGETLB_MORECORE), MOS_EINVAL);
	/* the 1 GiB pool is empty: ENOMEM, as mmap(MAP_HUGETLB) without pages */
	assert_int_equal(mos_vma_add(m, V, GB, MOS_VMA_HUGETLB_1G), MOS_ENOMEM);
	assert_int_equal(stats(m).hugetlb_resv_fail[MOS_HUGETLB_1G], 1);

	/* reservations: 3 + 2 > 4 pages */
	assert_int_equal(mos_vma_add(m, V, 3 * MB2, F), MOS_OK);
	assert_int_equal(mos_hugetlb_available(m, 21), 1);
	assert_int_equal(mos_vma_add(m, V + GB, 2 * MB2, F), MOS_ENOMEM);
	assert_null(mos_vma_find(m, V + GB));
	assert_int_equal(mos_vma_add(m, V + GB, MB2, F), MOS_OK);
	struct mos_stats s = stats(m);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 4);
	assert_int_equal(s.hugetlb_resv_fail[MOS_HUGETLB_2M], 1);
	assert_int_equal(mos_hugetlb_available(m, 21), 0);

	/* faults map whole pool pages, not THP's (thp_fault_alloc stays 0) */
	for (int i = 0; i < 3; i++) {
		struct mos_fault_result r = fault(m, V + i * MB2 + 999);
		assert_int_equal(r.start, V + i * MB2);
		assert_int_equal(r.len, MB2);
		assert_int_equal(r.page_shift, 21);
	}
	fault(m, V + GB + MB2 - 1);
	s = stats(m);
	assert_int_equal(s.thp_fault_alloc, 0);
	assert_int_equal(s.huge_pages, 4);
	assert_int_equal(s.hugetlb_faults[MOS_HUGETLB_2M], 4);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 0);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 0);
	assert_int_equal(s.data_frames, 4 * F2M);
	/* a THP VMA next door still gets THP pages from the buddy allocator */
	assert_int_equal(mos_vma_add(m, V + 2 * GB, MB2, MOS_VMA_MMAP), MOS_OK);
	assert_int_equal(fault(m, V + 2 * GB).page_shift, 21);
	assert_int_equal(stats(m).thp_fault_alloc, 1);
	/* the khugepaged scan leaves hugetlb VMAs alone */
	struct mos_range out[4];
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 0);
	done(m, &h);
}

/* ---------------------------------------------- munmap, madvise, mremap */

static void test_munmap_aligned_returns_to_pool(void **state)
{
	struct host h;
	struct mos_config c = hcfg(64 << 20, 4, 0);
	struct mos *m = mkc(&h, &c);
	uint32_t F = MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M;
	assert_int_equal(mos_vma_add(m, V, 4 * MB2, F), MOS_OK);
	uint64_t p0 = fault(m, V).pfn, p2 = fault(m, V + 2 * MB2).pfn;
	uint64_t unmapped0 = stats(m).pages_unmapped;

	/* unaligned cuts: EINVAL, nothing changed */
	assert_int_equal(mos_vma_remove(m, V + P, MB2), MOS_EINVAL);
	assert_int_equal(mos_vma_remove(m, V + MB2, MB2 + P), MOS_EINVAL);
	assert_int_equal(mos_vma_remove(m, V - P, 2 * P), MOS_EINVAL);
	assert_int_equal(xl(m, V, NULL), p0);
	assert_int_equal(mos_vma_count(m), 1);
	chk(m);

	/* munmap of pages 1..2: page 2 (mapped) back to the pool, page 1's
	 * reservation dropped; the VMA splits in two */
	assert_int_equal(mos_vma_remove(m, V + MB2, 2 * MB2), MOS_OK);
	struct mos_stats s = stats(m);
	assert_int_equal(mos_vma_count(m), 2);
	assert_int_equal(xl(m, V + 2 * MB2, NULL), NONE);
	assert_int_equal(s.pages_unmapped - unmapped0, F2M);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 3);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 1); /* page 3 */
	assert_int_equal(s.huge_pages, 1);
	assert_int_equal(mos_hugetlb_available(m, 21), 2);
	/* the freed page serves the next hugetlb fault (most recently freed first) */
	assert_int_equal(mos_vma_add(m, V + GB, MB2, F), MOS_OK);
	assert_int_equal(fault(m, V + GB).pfn, p2);
	chk(m);

	/* munmap of everything: all pages back, nothing reserved */
	assert_int_equal(mos_vma_remove(m, V, 2 * GB), MOS_OK);
	s = stats(m);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 4);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 0);
	assert_int_equal(s.data_frames, 0);
	assert_int_equal(s.pt_pages, 1);
	done(m, &h);
}

static void test_discard_keeps_reservation(void **state)
{
	struct host h;
	struct mos_config c = hcfg(64 << 20, 3, 0);
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, V, 3 * MB2, MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M), MOS_OK);
	for (int i = 0; i < 3; i++)
		fault(m, V + i * MB2);
	/* start inside a page: EINVAL (madvise_dontneed_free_valid_vma) */
	assert_int_equal(mos_discard(m, V + P, MB2), MOS_EINVAL);
	assert_int_not_equal(xl(m, V + P, NULL), NONE);
	/* aligned start, end aligned down: page 0 discarded, page 1 (partly
	 * covered) stays; the discarded page stays reserved for the VMA */
	assert_int_equal(mos_discard(m, V, MB2 + 5 * P), MOS_OK);
	assert_int_equal(xl(m, V, NULL), NONE);
	assert_int_not_equal(xl(m, V + MB2, NULL), NONE);
	struct mos_stats s = stats(m);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 1);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 1);
	assert_int_equal(mos_hugetlb_available(m, 21), 0);
	/* a range shorter than a page discards nothing */
	assert_int_equal(mos_discard(m, V + 2 * MB2, MB2 - P), MOS_OK);
	assert_int_not_equal(xl(m, V + 2 * MB2, NULL), NONE);
	/* the refault gets a page again */
	assert_int_equal(fault(m, V + 17 * P).len, MB2);
	assert_int_equal(stats(m).hugetlb_free[MOS_HUGETLB_2M], 0);
	done(m, &h);
}

static void test_mremap_moves_whole_pages(void **state)
{
	struct host h;
	struct mos_config c = hcfg(2 * GB + (64 << 20), 4, 1);
	struct mos *m = mkc(&h, &c);
	uint32_t F = MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M;
	assert_int_equal(mos_vma_add(m, V, 4 * MB2, F), MOS_OK);
	uint64_t pf[4];
	for (int i = 0; i < 3; i++) /* page 3 stays unmapped (reserved) */
		pf[i] = fault(m, V + i * MB2).pfn;
	const uint64_t N = V + GB;
	/* refused as Linux's mremap: unaligned addresses, lengths, or growing */
	assert_int_equal(mos_vma_move(m, V, 4 * MB2, N + P, 4 * MB2), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, V + P, MB2, N, MB2), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, V, 4 * MB2, N, 4 * MB2 + P), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, V, 2 * MB2, N, 3 * MB2), MOS_EINVAL);
	chk(m);
	/* host memory failing half-way (the PD at N): nothing moved, the pages
	 * cut off are unmapped but the VMA keeps them reserved */
	h.fail_after = 0;
	assert_int_equal(mos_vma_move(m, V, 4 * MB2, N, 2 * MB2), MOS_EHOST);
	h.fail_after = -1;
	assert_int_equal(xl(m, V + MB2, NULL), pf[1]);
	assert_int_equal(xl(m, V + 2 * MB2, NULL), NONE);
	assert_int_equal(stats(m).hugetlb_resv[MOS_HUGETLB_2M], 2);
	chk(m);
	pf[2] = fault(m, V + 2 * MB2).pfn;
	/* move and shrink to 2 pages: pages 0, 1 move with their frames, page 2
	 * goes back to the pool, page 3's reservation is dropped */
	assert_int_equal(mos_vma_move(m, V, 4 * MB2, N, 2 * MB2), MOS_OK);
	assert_int_equal(xl(m, V, NULL), NONE);
	uint32_t sh;
	assert_int_equal(xl(m, N + 5 * P, &sh), pf[0] + 5);
	assert_int_equal(sh, 21);
	assert_int_equal(xl(m, N + MB2, NULL), pf[1]);
	struct mos_stats s = stats(m);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 2);
	assert_int_equal(s.hugetlb_resv[MOS_HUGETLB_2M], 0);
	assert_int_equal(s.huge_pages, 2);
	const struct mos_vma *v = mos_vma_find(m, N);
	assert_non_null(v);
	assert_int_equal(v->end, N + 2 * MB2);
	assert_int_equal(mos_vma_hugetlb_shift(v), 21);
	chk(m);

	/* a 1 GiB page moves to another 1 GiB-aligned address in one piece */
	assert_int_equal(mos_vma_add(m, 4 * V, GB, MOS_VMA_MMAP | MOS_VMA_HUGETLB_1G), MOS_OK);
	uint64_t g = fault(m, 4 * V + 3 * P).pfn - 3;
	assert_int_equal(mos_vma_move(m, 4 * V, GB, 4 * V + 2 * MB2, GB), MOS_EINVAL);
	assert_int_equal(mos_vma_move(m, 4 * V, GB, 6 * V, GB), MOS_OK);
	assert_int_equal(xl(m, 6 * V + GB - P, &sh), g + F1G - 1);
	assert_int_equal(sh, 30);
	assert_int_equal(stats(m).gigantic_pages, 1);
	/* madvise that would cut it at 2 MiB: EINVAL */
	assert_int_equal(mos_vma_advise(m, 6 * V + MB2, MB2, MOS_ADV_NOHUGEPAGE), MOS_EINVAL);
	assert_int_equal(mos_vma_advise(m, 6 * V, GB, MOS_ADV_NOHUGEPAGE), MOS_OK);
	done(m, &h);
}

/* ------------------------------------------------------- MORECORE heaps */

static void test_morecore_falls_back(void **state)
{
	struct host h;
	struct mos_config c = hcfg(64 << 20, 3, 0);
	struct mos *m = mkc(&h, &c);
	uint32_t HEAP = MOS_VMA_HEAP | MOS_VMA_HUGETLB_2M | MOS_VMA_HUGETLB_MORECORE;
	/* a strict VMA reserves one page first: the heap may use only two */
	assert_int_equal(mos_vma_add(m, V + GB, MB2, MOS_VMA_MMAP | MOS_VMA_HUGETLB_2M), MOS_OK);
	/* MORECORE VMAs reserve nothing and need no alignment */
	assert_int_equal(mos_vma_add(m, V + P, 8 * MB2 - P, HEAP), MOS_OK);
	assert_int_equal(stats(m).hugetlb_resv[MOS_HUGETLB_2M], 1);

	/* region 0 is not inside the VMA: the policy (4 KiB) */
	assert_int_equal(fault(m, V + 3 * P).page_shift, 12);
	/* regions 1, 2: pool pages; region 3: pool exhausted (one page reserved) */
	assert_int_equal(fault(m, V + MB2 + 7).page_shift, 21);
	assert_int_equal(fault(m, V + 2 * MB2).page_shift, 21);
	assert_int_equal(fault(m, V + 3 * MB2).page_shift, 12);
	struct mos_stats s = stats(m);
	assert_int_equal(s.hugetlb_morecore_faults[MOS_HUGETLB_2M], 2);
	assert_int_equal(s.hugetlb_fallback[MOS_HUGETLB_2M], 2);
	assert_int_equal(s.hugetlb_free[MOS_HUGETLB_2M], 1);
	assert_int_equal(mos_hugetlb_available(m, 21), 0);

	/* discard of part of a pool page keeps it (never split, no EINVAL);
	 * a page entirely inside goes back to the pool */
	assert_int_equal(mos_discard(m, V + MB2 + P, MB2), MOS_OK);
	assert_int_not_equal(xl(m, V + MB2 + P, NULL), NONE);
	assert_int_not_equal(xl(m, V + 2 * MB2, NULL), NONE);
	assert_int_equal(mos_discard(m, V + 2 * MB2 - P, MB2 + P), MOS_OK);
	assert_int_equal(xl(m, V + 2 * MB2, NULL), NONE);
	assert_int_equal(stats(m).hugetlb_free[MOS_HUGETLB_2M], 2);
	/* region 3 still holds a 4 KiB page: it stays with the policy */
	assert_int_equal(fault(m, V + 3 * MB2 + P).page_shift, 12);
	/* region 4 is empty: the freed pool page serves it */
	assert_int_equal(fault(m, V + 4 * MB2).page_shift, 21);
	chk(m);
	/* munmap cutting a pool page of the heap: EINVAL */
	assert_int_equal(mos_vma_remove(m, V + 4 * MB2 + P, P), MOS_EINVAL);
	done(m, &h);
}

static void test_morecore_1g_with_thp_scan(void **state)
{
	struct host h;
	struct mos_config c = hcfg(2 * GB, 0, 1);
	c.policy = "thp";
	c.thp_mode = MOS_THP_MADVISE; /* the fallback gets 4 KiB pages: not advised */
	struct mos *m = mkc(&h, &c);
	uint32_t HEAP = MOS_VMA_HEAP | MOS_VMA_HUGETLB_1G | MOS_VMA_HUGETLB_MORECORE;
	assert_int_equal(mos_vma_add(m, V, 2 * GB, HEAP), MOS_OK);
	assert_int_equal(fault(m, V + GB + 1).page_shift, 30);
	/* the other GiB finds the pool empty: the policy's pages */
	assert_int_equal(fault(m, V).page_shift, 12);
	assert_int_equal(stats(m).hugetlb_fallback[MOS_HUGETLB_1G], 1);
	/* advice cutting the heap inside a 1 GiB page is refused */
	assert_int_equal(mos_vma_advise(m, V + 4 * MB2, MB2, MOS_ADV_HUGEPAGE), MOS_EINVAL);
	/* the scan examines the 4 KiB region, steps over the 1 GiB leaf and ends */
	struct mos_range out[4];
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 0);
	assert_int_equal(mos_scan(m, 1 << 20, out, 4), 0);
	assert_true(stats(m).scan_pages >= F2M);
	done(m, &h);
}

/* --------------------------------------------------- random workloads */

/*
 * Random hugetlb VMAs (2 MiB and 1 GiB, strict and MORECORE) next to
 * ordinary ones, faults, munmaps, discards and mremaps with aligned and
 * unaligned arguments; mos_check after every step; hugetlb errors only
 * where the rules say; everything back at the end.
 */
static void random_hugetlb_workload(struct mos_config c, uint64_t seed, int steps)
{
	struct host h;
	struct mos *m = mkc(&h, &c);
	struct mos_stats s0 = stats(m);
	uint64_t s = seed;
	int nfault[3] = { 0, 0, 0 };
	const uint64_t W = 8 * V, WLEN = 8 * GB; /* window of VMAs */
	for (int step = 0; step < steps; step++) {
		uint64_t r = rng_splitmix(&s) % 100;
		uint64_t gran = rng_splitmix(&s) % 3 == 0 ? GB : rng_splitmix(&s) % 2 ? MB2 : P;
		uint64_t va = W + (rng_splitmix(&s) % (WLEN / gran)) * gran;
		uint64_t len = (1 + rng_splitmix(&s) % 3) * gran;
		if (rng_splitmix(&s) % 8 == 0 && va + 4 * P < W + WLEN) /* now and then off the grain */
			va += (1 + rng_splitmix(&s) % 3) * P, len += P;
		if (va + len > W + WLEN)
			len = W + WLEN - va;
		if (r < 15) {
			uint32_t f = MOS_VMA_MMAP;
			uint64_t k = rng_splitmix(&s) % 5;
			f |= k == 0 ? 0 : k <= 2 ? MOS_VMA_HUGETLB_2M : MOS_VMA_HUGETLB_1G;
			if (k >= 3 && rng_splitmix(&s) % 4) { /* mostly one whole 1 GiB page */
				va = W + (rng_splitmix(&s) % (WLEN / GB)) * GB;
				len = GB;
			}
			if (k && rng_splitmix(&s) % 3 == 0)
				f |= MOS_VMA_HUGETLB_MORECORE;
			unsigned sh = k == 0 ? 12 : k <= 2 ? 21 : 30;
			uint64_t avail = mos_hugetlb_available(m, sh);
			bool aligned = !((va | len) & ((1ull << sh) - 1));
			enum mos_status st = mos_vma_add(m, va, len, f);
			if (st == MOS_EINVAL)
				assert_true(k && !(f & MOS_VMA_HUGETLB_MORECORE) && !aligned);
			else if (st == MOS_ENOMEM)
				assert_true(k && !(f & MOS_VMA_HUGETLB_MORECORE) && avail < len >> sh);
			else
				assert_true(st == MOS_OK || st == MOS_EEXIST);
		} else if (r < 25) {
			enum mos_status st = mos_vma_remove(m, va, len);
			assert_true(st == MOS_OK || st == MOS_EINVAL);
		} else if (r < 35) {
			enum mos_status st = mos_discard(m, va, len);
			assert_true(st == MOS_OK || st == MOS_EINVAL);
		} else if (r < 42) {
			const struct mos_vma *v = mos_vma_find(m, va);
			if (v) {
				uint64_t olen = v->end - va, nlen = len;
				uint64_t nw = W + (rng_splitmix(&s) % (WLEN / gran)) * gran;
				if (nw + nlen > W + WLEN)
					nlen = W + WLEN - nw;
				if (nlen) {
					enum mos_status st = mos_vma_move(m, va, olen, nw, nlen);
					assert_true(st == MOS_OK || st == MOS_EEXIST || st == MOS_EINVAL ||
						    st == MOS_ENOMEM);
					if (st == MOS_EINVAL)
						assert_true(mos_vma_hugetlb_shift(v) != 0);
				}
			}
		} else {
			size_t nv = mos_vma_count(m);
			if (!nv)
				continue;
			const struct mos_vma *t = mos_vma_at(m, rng_splitmix(&s) % nv);
			uint64_t fva = t->start + rng_splitmix(&s) % (t->end - t->start);
			bool mapped = xl(m, fva, NULL) != NONE;
			struct mos_fault_result res;
			unsigned hsh = mos_vma_hugetlb_shift(t);
			bool strict = hsh && !(t->flags & MOS_VMA_HUGETLB_MORECORE);
			enum mos_status st = mos_fault(m, fva, true, &res);
			if (st == MOS_ENOMEM) { /* page tables only: a strict VMA has its page */
				assert_false(mapped);
			} else {
				assert_int_equal(st, MOS_OK);
				assert_int_equal(res.refault, mapped);
				uint32_t sh;
				assert_int_equal(xl(m, fva, &sh), res.pfn);
				assert_int_equal(sh, res.page_shift);
				if (strict)
					assert_int_equal(sh, hsh);
				if (!mapped && strict)
					assert_int_equal(res.len, 1ull << hsh);
				nfault[sh == 30 ? 2 : sh == 21 ? 1 : 0]++;
			}
		}
		char why[256];
		if (!mos_check(m, why, sizeof why))
			fail_msg("%s seed %llu step %d (op %llu): %s", c.policy, (unsigned long long)seed,
				 step, (unsigned long long)r, why);
	}
	assert_true(nfault[0] > 0 && nfault[1] > 0);
	if (c.hugetlb_nr_1g)
		assert_true(nfault[2] > 0);
	assert_int_equal(mos_vma_remove(m, 0, 1ull << 47), MOS_OK);
	struct mos_stats e = stats(m);
	assert_int_equal(e.data_frames, 0);
	assert_int_equal(e.pt_pages, 1);
	assert_int_equal(e.frames_free, s0.frames_free);
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		assert_int_equal(e.hugetlb_free[k], e.hugetlb_pages[k]);
		assert_int_equal(e.hugetlb_resv[k], 0);
	}
	done(m, &h);
}

static void test_random_workloads(void **state)
{
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct mos_config c = hcfg(GB + (48 << 20), 12, 1);
		random_hugetlb_workload(c, seed, 400);
		c.policy = "thp";
		c.thp_mode = MOS_THP_ALWAYS;
		random_hugetlb_workload(c, seed, 400);
		c.policy = "reservethp";
		c.promotion_threshold = 0.25;
		c.fault_around_pages = 8;
		random_hugetlb_workload(c, seed, 400);
	}
}

/* ------------------------------------------------- TLB model, 1G vs 2M */

static void *t_zalloc(void *ctx, size_t n) { return calloc(1, n); }
static void t_free(void *ctx, void *p, size_t n) { free(p); }

/*
 * n random 8-byte loads over [base, base+bytes), as vmemu replay feeds them:
 * the first touch of a page is a mos_fault, then every access is translated
 * (mos_translate + mos_walk_path) into the model. Checks that the walk
 * length always matches the page size (2 entries for 1 GiB).
 */
static void random_loads(struct mos *m, struct tlb *t, uint64_t base, uint64_t bytes, int n,
			 uint64_t seed)
{
	for (int i = 0; i < n; i++) {
		uint64_t va = base + (rng_splitmix(&seed) % (bytes / 8)) * 8, pfn;
		uint32_t shift;
		if (mos_translate(m, va, &pfn, &shift) != MOS_OK) {
			struct mos_fault_result r;
			assert_int_equal(mos_fault(m, va, false, &r), MOS_OK);
			assert_int_equal(mos_translate(m, va, &pfn, &shift), MOS_OK);
		}
		struct tlb_translation tr = { .page_shift = (uint8_t)shift };
		tr.levels = (uint8_t)mos_walk_path(m, va, tr.pte_paddr);
		assert_int_equal(tr.levels, tlb_levels_for_shift(shift));
		tlb_access(t, va, false, &tr, NULL);
	}
}

static uint64_t level_misses(const struct tlb_stats *st, const struct tlb_machine *mc, uint32_t lvl)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < st->nstructs; i++)
		if (mc->s[i].level == lvl)
			n += st->s[i].misses;
	return n;
}

/*
 * Golden Cove (configs/machines/golden_cove.ini): random loads over 8 GiB.
 * In 2 MiB pages (thp always) the 4096 pages overflow the STLB's 1024 2 MiB
 * entries (2 GiB of reach), so most loads miss it; in 1 GiB hugetlb pages
 * the 8 pages fit the 8-entry fully associative 1G L1 DTLB: exactly one walk
 * per page, no STLB miss after them.
 */
static void test_1g_pages_cut_stlb_misses(void **state)
{
	struct vm_config vc;
	char err[1024];
	vm_config_defaults(&vc);
	if (vm_config_load_file(&vc, "configs/machines/golden_cove.ini", err, sizeof err) ||
	    vm_config_finish(&vc, err, sizeof err))
		fail_msg("%s", err);
	struct tlb_allocator ta = { t_zalloc, t_free, NULL };
	const uint64_t bytes = 8 * GB;
	const int n = 200000;
	struct tlb_stats st[2];
	for (int gig = 0; gig < 2; gig++) {
		struct host h;
		struct mos_config c = hcfg(bytes + (64 << 20), 0, gig ? 8 : 0);
		c.policy = "thp";
		c.thp_mode = MOS_THP_ALWAYS;
		struct mos *m = mkc(&h, &c);
		assert_int_equal(mos_vma_add(m, V, bytes, MOS_VMA_MMAP | (gig ? MOS_VMA_HUGETLB_1G : 0)),
				 MOS_OK);
		struct tlb *t = tlb_create(&vc.machine, &ta, err, sizeof err);
		if (!t)
			fail_msg("%s", err);
		random_loads(m, t, V, bytes, n, 42);
		tlb_get_stats(t, &st[gig]);
		struct mos_stats ms = stats(m);
		assert_int_equal(gig ? ms.gigantic_pages : ms.huge_pages, gig ? 8 : 4096);
		tlb_destroy(t);
		done(m, &h);
	}
	uint64_t m2 = level_misses(&st[0], &vc.machine, 2), m1 = level_misses(&st[1], &vc.machine, 2);
	assert_int_equal(st[1].walks, 8);
	assert_int_equal(st[1].walks_by_size[2], 8);
	assert_int_equal(m1, 8);
	assert_int_equal(st[0].walks_by_size[1], st[0].walks);
	/* 2 MiB: the STLB holds a quarter of the pages; expect ~3/4 of the loads to miss */
	assert_true(m2 > (uint64_t)n / 2);
	assert_true(st[0].walks > (uint64_t)n / 2);
	assert_true(st[1].cycles_per_access < st[0].cycles_per_access);
	print_message("golden_cove, %d random loads over 8 GiB: STLB misses 2M %llu, 1G %llu; "
		      "cycles/access 2M %.2f, 1G %.2f\n", n, (unsigned long long)m2,
		      (unsigned long long)m1, st[0].cycles_per_access, st[1].cycles_per_access);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_carving),
		cmocka_unit_test(test_pool_does_not_fit),
		cmocka_unit_test(test_1g_fault_translate_walk),
		cmocka_unit_test(test_2m_hugetlb_and_reservations),
		cmocka_unit_test(test_munmap_aligned_returns_to_pool),
		cmocka_unit_test(test_discard_keeps_reservation),
		cmocka_unit_test(test_mremap_moves_whole_pages),
		cmocka_unit_test(test_morecore_falls_back),
		cmocka_unit_test(test_morecore_1g_with_thp_scan),
		cmocka_unit_test(test_random_workloads),
		cmocka_unit_test(test_1g_pages_cut_stlb_misses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
