/*
 * TLB prefetchers (tlbmodel.h, "TLB prefetchers"): each prefetcher on a
 * pattern it must catch, with the useful / issued / walk counts computed by
 * hand in the comments (not read from the implementation), on random
 * addresses it must not catch, and config validation.
 *
 * Test machine: one L1 DTLB of 4 fully associative entries (4 KiB, 1 cycle),
 * no PWC, every page-table level 10 cycles (a walk = 40), PQ of 16 fully
 * associative entries, 6 cycles. A demand walk costs 1 + 40 = 41 cycles, a
 * PQ hit max(1, 0 + 6) = 6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlbmodel/tlbmodel.h"

#define B UINT64_C(0x100000) /* first VPN of the mapped window */

static void *zalloc(void *ctx, size_t bytes)
{
	(void)ctx;
	return calloc(1, bytes);
}
static void zfree(void *ctx, void *p, size_t bytes)
{
	(void)ctx;
	(void)bytes;
	free(p);
}
static const struct tlb_allocator g_alloc = { zalloc, zfree, NULL };

/* Identity-style translator: 4 KiB pages with VPN in [lo, hi) are mapped. */
struct window {
	uint64_t lo, hi;
};

static void tr_of(uint64_t vaddr, struct tlb_translation *out)
{
	uint64_t vpn = vaddr >> 12;
	memset(out, 0, sizeof *out);
	out->page_shift = 12;
	out->levels = 4;
	for (unsigned j = 0; j < 4; j++)
		out->pte_paddr[j] = (UINT64_C(1) << 40) + ((vpn >> (9 * (3 - j))) << 3) + j * 4096;
}

static int xlate(void *ctx, uint64_t vaddr, struct tlb_translation *out)
{
	const struct window *w = ctx;
	uint64_t vpn = vaddr >> 12;
	if (vpn < w->lo || vpn >= w->hi)
		return -1;
	tr_of(vaddr, out);
	return 0;
}

static void mset(struct tlb_machine *m, const char *sec, const char *key, const char *val)
{
	char err[256];
	if (tlb_machine_set(m, sec, key, val, err, sizeof err))
		fail_msg("tlb_machine_set(%s, %s, %s): %s", sec, key, val, err);
}

static void base_machine(struct tlb_machine *m, const char *prefetchers)
{
	tlb_machine_init(m);
	mset(m, "tlb.l1", "level", "1");
	mset(m, "tlb.l1", "page_sizes", "4K");
	mset(m, "tlb.l1", "entries", "4");
	mset(m, "tlb.l1", "ways", "full");
	mset(m, "tlb.l1", "latency", "1");
	mset(m, "walk", "latency", "10");
	if (prefetchers) {
		mset(m, "prefetch", "prefetchers", prefetchers);
		mset(m, "prefetch", "entries", "16");
		mset(m, "prefetch", "ways", "full");
		mset(m, "prefetch", "latency", "6");
	}
}

static struct tlb *make(const struct tlb_machine *m, struct window *w)
{
	char err[256];
	struct tlb *t = tlb_create(m, &g_alloc, err, sizeof err);
	if (!t)
		fail_msg("tlb_create: %s", err);
	tlb_set_translator(t, xlate, w);
	return t;
}

static void acc(struct tlb *t, uint64_t rel_page, uint64_t pc)
{
	struct tlb_translation tr;
	uint64_t va = ((B + rel_page) << 12) + 0x10;
	tr_of(va, &tr);
	if (pc)
		tlb_access_pc(t, va, pc, false, &tr, NULL);
	else
		tlb_access(t, va, false, &tr, NULL);
}

/* Index in tlb_prefetch_stats.fdt of free distance d (-7..-1, +1..+7). */
static unsigned fdt_slot(int d)
{
	return d < 0 ? (unsigned)(d + 7) : (unsigned)(d + 6);
}

/* Machine m over the mapped window *w, accesses page(0) .. page(n - 1) (no PC); stats in *s. */
static struct tlb *run_pattern(const struct tlb_machine *m, struct window *w, uint64_t n,
			       uint64_t (*page)(uint64_t), struct tlb_stats *s)
{
	struct tlb *t = make(m, w);
	for (uint64_t i = 0; i < n; i++)
		acc(t, page(i), 0);
	tlb_get_stats(t, s);
	return t;
}

static uint64_t seq_page(uint64_t i)
{
	return i;
}

/* Machine m with pages [0, n) mapped, accessed once each in order; stats in *s. */
static struct tlb *run_sequential(const struct tlb_machine *m, struct window *w, uint64_t n,
				  struct tlb_stats *s)
{
	w->lo = B;
	w->hi = B + n;
	return run_pattern(m, w, n, seq_page, s);
}

/* ---- stride: sequential pages 0..19 ---- */
static void test_stride_sequential(void **state)
{
	(void)state;
	const uint64_t N = 20;
	struct tlb_machine m;
	base_machine(&m, "stride"); /* length 2 (default) */
	struct window w;
	struct tlb_stats s;
	struct tlb *t = run_sequential(&m, &w, N, &s);
	/*
	 * Access i triggers candidates i-2, i-1, i+1, i+2. i=0: -2, -1 unmapped,
	 * 1 and 2 issued. i=1: -1 unmapped, 0 in the L1, 2 in the PQ, 3 issued.
	 * 2 <= i <= 17: i-2, i-1 in the L1 (it holds the last 4 pages), i+1 in
	 * the PQ, i+2 issued. i=18: 16, 17 in L1, 19 in PQ, 20 unmapped. i=19:
	 * 17, 18 in L1, 20, 21 unmapped. So only page 0 walks; pages 1..19 hit
	 * the PQ.
	 */
	assert_int_equal(s.nprefetchers, 1);
	assert_int_equal(s.walks, 1);
	assert_int_equal(s.pq_hits, N - 1);
	assert_int_equal(s.pf[0].triggers, N);
	assert_int_equal(s.pf[0].candidates, 4 * N);
	assert_int_equal(s.pf[0].issued, 2 + 1 + 16);
	assert_int_equal(s.pf[0].useful, N - 1);
	assert_int_equal(s.pf[0].useless, 0);
	assert_int_equal(s.pf[0].failed, 2 + 1 + 1 + 2);
	assert_int_equal(s.pf[0].duplicate, 0 + 2 + 16 * 3 + 3 + 2);
	/* demand: one walk (41) + 19 PQ hits (6 each); prefetch walks separate */
	assert_int_equal(s.translation_cycles, 41 + (N - 1) * 6);
	assert_int_equal(s.prefetch_walks, 19);
	assert_int_equal(s.prefetch_walk_cycles, 19 * 40);
	assert_int_equal(s.prefetch_pte_reads, 19 * 4);
	assert_int_equal(s.walk_cycles, 40);
	tlb_destroy(t);

	/* without a prefetcher every page walks */
	base_machine(&m, NULL);
	t = run_sequential(&m, &w, N, &s);
	assert_int_equal(s.walks, N);
	assert_int_equal(s.translation_cycles, N * 41);
	assert_int_equal(s.nprefetchers, 0);
	tlb_destroy(t);
}

/* ---- walk = no: prefetches are free ---- */
static void test_prefetch_walk_off(void **state)
{
	(void)state;
	struct tlb_machine m;
	base_machine(&m, "stride");
	mset(&m, "prefetch", "walk", "no");
	struct window w;
	struct tlb_stats s;
	struct tlb *t = run_sequential(&m, &w, 20, &s);
	assert_int_equal(s.pf[0].useful, 19);
	assert_int_equal(s.prefetch_walks, 0);
	assert_int_equal(s.prefetch_walk_cycles, 0);
	tlb_destroy(t);
}

/* pages 0, 1, 4, 5, 8, 9, ...: deltas alternate +1, +3 */
static uint64_t alt_page(uint64_t i)
{
	return 4 * (i / 2) + (i & 1);
}

/* ---- distance on alternating deltas ---- */
static void test_distance_alternating(void **state)
{
	(void)state;
	const uint64_t N = 20;
	struct tlb_machine m;
	base_machine(&m, "distance");
	struct window w = { B, B + 1000 };
	struct tlb_stats s;
	struct tlb *t = run_pattern(&m, &w, N, alt_page, &s);
	/*
	 * i=0 page 0: first miss. i=1 page 1: d=1, row 1 allocated. i=2 page 4:
	 * d=3, row 3 allocated, 3 learnt as successor of 1. i=3 page 5: d=1, row
	 * 1 predicts 5+3 = 8 (issued); 1 learnt after 3. i=4 page 8 hits the PQ,
	 * d=3 predicts 9; and so on: from i=4 on every access hits the PQ and
	 * issues one page. Walks 4, useful N-4, issued N-3 (the last unused).
	 */
	assert_int_equal(s.walks, 4);
	assert_int_equal(s.pq_hits, N - 4);
	assert_int_equal(s.pf[0].useful, N - 4);
	assert_int_equal(s.pf[0].issued, N - 3);
	assert_int_equal(s.pf[0].duplicate, 0);
	assert_int_equal(s.pf[0].useless, 0);
	tlb_destroy(t);
}

/* ---- H2 on alternating deltas ---- */
static void test_h2_alternating(void **state)
{
	(void)state;
	const uint64_t N = 20;
	struct tlb_machine m;
	base_machine(&m, "h2");
	struct window w = { B, B + 1000 };
	struct tlb_stats s;
	struct tlb *t = run_pattern(&m, &w, N, alt_page, &s);
	/*
	 * From the third miss on, with history A, B, C: C+(C-B) and C+(B-A).
	 * At page 4m: 4m+3 (unused) and 4m+1 (next); at page 4m+1: 4m+2
	 * (unused) and 4m+4 (next). Walks: pages 0, 1, 4 (i = 0..2); every later
	 * access hits the PQ: useful N-3. Issued 2 per access from i=2: 2(N-2),
	 * all distinct pages. The N-2 unused ones plus the last access's "next"
	 * (never accessed) stay in the 16-entry LRU PQ, whose oldest unused
	 * entries are evicted: useless = (N-2) + 1 - 16 = 3.
	 */
	assert_int_equal(s.walks, 3);
	assert_int_equal(s.pf[0].useful, N - 3);
	assert_int_equal(s.pf[0].issued, 2 * (N - 2));
	assert_int_equal(s.pf[0].duplicate, 0);
	assert_int_equal(s.pf[0].useless, (N - 2) + 1 - 16);
	tlb_destroy(t);
}

/* ---- ASP: one PC, stride 2 pages ---- */
static void test_asp_stride(void **state)
{
	(void)state;
	const uint64_t N = 20, PC = 0x401000;
	struct tlb_machine m;
	base_machine(&m, "asp"); /* threshold 3, lookahead 4, degree 3 */
	struct window w = { B, B + 1000 };
	struct tlb *t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, 2 * i, PC);
	struct tlb_stats s;
	tlb_get_stats(t, &s);
	/*
	 * i=0 takes the entry; i=1 stride 2, counter 1; i=2: 2; i=3: 3; i=4
	 * (page 8): 4 > 3, prefetch 8 + (4,5,6)*2 = 16, 18, 20. i>=5 (page 2i):
	 * 2i+8, 2i+10 already in the PQ, 2i+12 issued. Pages 0..14 (i<8) walk;
	 * page 2i for i>=8 was issued by access max(4, i-6) < i: a PQ hit.
	 */
	assert_int_equal(s.walks, 8);
	assert_int_equal(s.pf[0].useful, N - 8);
	assert_int_equal(s.pf[0].issued, 3 + (N - 5));
	assert_int_equal(s.pf[0].duplicate, 2 * (N - 5));
	assert_int_equal(s.pf[0].useless, 0);
	assert_int_equal(s.pf[0].no_pc, 0);
	tlb_destroy(t);

	/* the same stream without PCs: ASP is blind */
	t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, 2 * i, 0);
	tlb_get_stats(t, &s);
	assert_int_equal(s.walks, N);
	assert_int_equal(s.pf[0].no_pc, N);
	assert_int_equal(s.pf[0].issued, 0);
	tlb_destroy(t);
}

/* ---- SBFP on pairs of pages sharing a PTE line: 0,1, 8,9, 16,17, ... ---- */
static uint64_t pair_page(uint64_t i)
{
	return 8 * (i / 2) + (i & 1);
}

static void sbfp_machine(struct tlb_machine *m, const char *prefetchers, const char *bits,
			 const char *threshold)
{
	base_machine(m, prefetchers);
	mset(m, "prefetch.sbfp", "counter_bits", bits);
	mset(m, "prefetch.sbfp", "threshold", threshold);
}

/* candidates of sbfp are issued, duplicate, failed or sampled */
static void assert_sbfp_sums(const struct tlb_prefetch_stats *p)
{
	assert_int_equal(p->candidates, p->issued + p->duplicate + p->failed + p->sampled);
}

static void test_sbfp_pairs(void **state)
{
	(void)state;
	const uint64_t K = 20; /* pairs */
	struct tlb_machine m;
	sbfp_machine(&m, "sbfp", "10", "1"); /* a free PTE is prefetched once its counter is >= 2 */
	struct window w = { B, B + 8 * K + 8 };
	struct tlb_stats s;
	struct tlb *t = run_pattern(&m, &w, 2 * K, pair_page, &s);
	/*
	 * The test translator puts page v's PTE at slot v mod 8 of line v / 8
	 * (B is a multiple of 8), so page 8k's walk sees pages 8k+1..8k+7 free
	 * (d = +1..+7) and page 8k+1's sees 8k (d = -1) and 8k+2..8k+7.
	 * Pair 0: page 0 walks, its 7 free PTEs go to the Sampler (FDT all 0);
	 * page 1 walks, is in the Sampler with d = +1: FDT[+1] = 1; its 7 free
	 * PTEs are sampled too. Pair 1: page 8 walks (7 sampled); page 9 walks,
	 * Sampler hit: FDT[+1] = 2, so of its free PTEs page 10 (d = +1) is
	 * issued (never used) and 6 are sampled. Pair k >= 2: page 8k walks and
	 * issues 8k+1 (d = +1), samples 6; page 8k+1 hits the PQ, which credits
	 * FDT[+1] again. Walks 4 + (K - 2), PQ hits K - 2, issued 1 + (K - 2),
	 * sampled 14 + 13 + 6 (K - 2), 7 candidates per walk.
	 */
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, K + 2);
	assert_int_equal(s.pq_hits, K - 2);
	assert_int_equal(p->useful, K - 2);
	assert_int_equal(p->issued, K - 1);
	assert_int_equal(p->sampled, 27 + 6 * (K - 2));
	assert_int_equal(p->sampler_hits, 2);
	assert_int_equal(p->triggers, K + 2);
	assert_int_equal(p->candidates, 7 * (K + 2));
	assert_int_equal(p->failed, 0);
	assert_int_equal(p->duplicate, 0);
	assert_int_equal(p->useless, 0);
	assert_sbfp_sums(p);
	assert_int_equal(p->fdt[fdt_slot(+1)], K);
	for (int d = -7; d <= 7; d++)
		if (d && d != 1)
			assert_int_equal(p->fdt[fdt_slot(d)], 0);
	/* free prefetches cost no walk */
	assert_int_equal(s.prefetch_walks, 0);
	assert_int_equal(s.translation_cycles, (K + 2) * 41 + (K - 2) * 6);
	tlb_destroy(t);

	/* without it every page walks */
	base_machine(&m, NULL);
	t = run_pattern(&m, &w, 2 * K, pair_page, &s);
	assert_int_equal(s.walks, 2 * K);
	tlb_destroy(t);
}

/* One page per PTE line (stride 8): no free PTE is ever used, nothing is learnt or issued. */
static void test_sbfp_stride8_not_caught(void **state)
{
	(void)state;
	const uint64_t N = 100;
	struct tlb_machine m;
	sbfp_machine(&m, "sbfp", "10", "0"); /* the most eager setting: counter >= 1 */
	struct window w = { B, B + 8 * N };
	struct tlb *t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, 8 * i, 0);
	struct tlb_stats s;
	tlb_get_stats(t, &s);
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, N);
	assert_int_equal(p->sampler_hits, 0);
	assert_int_equal(p->issued, 0);
	assert_int_equal(p->sampled, 7 * N);
	assert_sbfp_sums(p);
	tlb_destroy(t);
}

/* Counter saturation halves the FDT. */
static void test_sbfp_decay(void **state)
{
	(void)state;
	struct tlb_machine m;
	sbfp_machine(&m, "sbfp", "2", "1"); /* counters 0..3, prefetch at >= 2 */
	struct window w = { B, B + 64 };
	struct tlb_stats s;
	struct tlb *t = run_pattern(&m, &w, 12, pair_page, &s);
	/*
	 * As test_sbfp_pairs until pair 2: page 17 hits the PQ and FDT[+1]
	 * reaches 3, the maximum: every counter is halved, FDT[+1] = 1. Pair 3:
	 * page 24 walks with FDT[+1] = 1, so 25 is sampled, not issued; page 25
	 * walks, hits the Sampler (FDT[+1] = 2) and issues 26. Pair 4 repeats
	 * pair 2 (33 issued and used, second halving), pair 5 pair 3.
	 * Walks 2+2+1+2+1+2, issued 10, 17, 26, 33, 42, Sampler hits 1, 9, 25, 41.
	 */
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, 10);
	assert_int_equal(p->useful, 2);
	assert_int_equal(p->issued, 5);
	assert_int_equal(p->sampler_hits, 4);
	assert_int_equal(p->fdt_decays, 2);
	assert_int_equal(p->fdt[fdt_slot(+1)], 2);
	assert_int_equal(p->sampled, 70 - 5);
	assert_sbfp_sums(p);
	tlb_destroy(t);
}

/* SBFP also offers the free PTEs of other prefetchers' walks (prefetch_walks). */
static void test_sbfp_prefetch_walks(void **state)
{
	(void)state;
	const uint64_t N = 20;
	for (int pw = 0; pw < 2; pw++) {
		struct tlb_machine m;
		sbfp_machine(&m, "stride,sbfp", "10", "100");
		mset(&m, "prefetch.stride", "length", "1");
		mset(&m, "prefetch.sbfp", "prefetch_walks", pw ? "yes" : "no");
		struct window w;
		struct tlb_stats s;
		struct tlb *t = run_sequential(&m, &w, N, &s);
		/*
		 * Page 0 walks; stride issues i + 1 at every access, so pages 1..19
		 * are prefetch-walked. sbfp examines page 0's line and, with
		 * prefetch_walks, every prefetch walk's line: 7 candidates each,
		 * nothing admitted (threshold 100), so all go to the Sampler except
		 * pages 20..23 of line 2, unmapped, seen from each of 16..19.
		 */
		const struct tlb_prefetch_stats *sb = &s.pf[1];
		assert_int_equal(s.walks, 1);
		assert_int_equal(s.prefetch_walks, N - 1);
		assert_int_equal(sb->triggers, pw ? N : 1);
		assert_int_equal(sb->candidates, 7 * (pw ? N : 1));
		assert_int_equal(sb->failed, pw ? 16 : 0);
		assert_int_equal(sb->issued, 0);
		assert_sbfp_sums(sb);
		assert_int_equal(s.pf[0].useful, N - 1);
		tlb_destroy(t);
	}
}

/* ---- ATP ---- */
static void atp_machine(struct tlb_machine *m, const char *prefetchers)
{
	base_machine(m, prefetchers);
	/* 2-bit counters: prefetching turns on at enable_pref >= 2 */
	mset(m, "prefetch.atp", "enable_bits", "2");
	mset(m, "prefetch.atp", "select1_bits", "2");
	mset(m, "prefetch.atp", "select2_bits", "2");
}

/* Sequential pages: STP (A-2..A+2) is the child that predicts them. */
static void test_atp_sequential_picks_stp(void **state)
{
	(void)state;
	const uint64_t N = 30;
	struct tlb_machine m;
	atp_machine(&m, "atp");
	struct window w;
	struct tlb_stats s;
	struct tlb *t = run_sequential(&m, &w, N, &s);
	/*
	 * Page 0: no FPQ hit, enable_pref stays 0; the FPQs get STP's 1, 2.
	 * Page 1: STP's FPQ hit: enable_pref 1, select_2 1 (still off). Page 2:
	 * STP's FPQ hit again: enable_pref 2, select_2 2: on, select_1 0, so
	 * STP: 0, 1 duplicates (L1), 3 and 4 issued. From page 3 on every page
	 * is in the PQ, H2P's and STP's FPQs hit (select_2 up, select_1 kept),
	 * STP issues i + 2 and meets i - 2, i - 1 (L1) and i + 1 (PQ); pages N
	 * and N + 1 are unmapped. Walks 3, issued N - 3, failed 3, no PCs.
	 */
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, 3);
	assert_int_equal(s.pq_hits, N - 3);
	assert_int_equal(p->useful, N - 3);
	assert_int_equal(p->disabled, 2);
	assert_int_equal(p->chose[2], N - 2);
	assert_int_equal(p->chose[0] + p->chose[1], 0);
	assert_int_equal(p->issued, N - 3);
	assert_int_equal(p->candidates, 4 * (N - 2));
	assert_int_equal(p->failed, 3);
	assert_int_equal(p->duplicate, 3 * N - 8);
	assert_int_equal(p->useless, 0);
	assert_int_equal(p->no_pc, N);
	assert_int_equal(p->atp_counters[0], 3);
	assert_int_equal(p->atp_counters[1], 0);
	assert_int_equal(p->atp_counters[2], 3);
	tlb_destroy(t);
}

/* Deltas +1, +3: H2P predicts every miss, STP only half; ATP moves to H2P. */
static void test_atp_alternating_picks_h2p(void **state)
{
	(void)state;
	const uint64_t N = 40;
	struct tlb_machine m;
	atp_machine(&m, "atp");
	struct window w = { B, B + 1000 };
	struct tlb_stats s;
	struct tlb *t = run_pattern(&m, &w, N, alt_page, &s);
	/*
	 * Pages 0, 1, 4, 5 walk while enable_pref climbs (STP's FPQ has 1, H2P's
	 * and STP's have 5): off four times. Page 8: only H2P's FPQ has it,
	 * enable_pref 2 (on), select_1 1, select_2 2: STP issues 6, 7, 9, 10.
	 * Page 9 hits the PQ; STP issues 11. Page 12 walks: only H2P had it,
	 * select_1 2: H2P from now on, issuing 4m+3 and 4m+1 at 4m, 4m+2 and
	 * 4m+4 at 4m+1, so every later page hits the PQ.
	 */
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, 6);
	assert_int_equal(p->useful, N - 6);
	assert_int_equal(p->disabled, 4);
	assert_int_equal(p->chose[2], 2);
	assert_int_equal(p->chose[0], N - 6);
	assert_int_equal(p->chose[1], 0);
	assert_int_equal(p->atp_counters[1], 3);
	tlb_destroy(t);
}

/* Two PCs with strides 3 and 5 interleaved: neither H2P nor STP sees them; MASP does. */
static void test_atp_two_pcs_picks_masp(void **state)
{
	(void)state;
	const uint64_t N = 40, PA = 0x401000, PB = 0x402000;
	struct tlb_machine m;
	atp_machine(&m, "atp");
	struct window w = { B, B + 10000 };
	struct tlb *t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, (i & 1) ? 1000 + 5 * (i / 2) : 3 * (i / 2), (i & 1) ? PB : PA);
	struct tlb_stats s;
	tlb_get_stats(t, &s);
	/*
	 * MASP learns each PC's stride on its second miss and predicts the
	 * third: page 6 (A's third) is the first FPQ hit (MASP's only),
	 * enable_pref 1; page 1010 (B's third) the second: on, and with
	 * select_1 and select_2 at 0 the choice is MASP, which issues 1015.
	 * Page 9 still walks (MASP issues 12); from page 1015 on every page was
	 * issued two accesses earlier. H2P's and STP's predictions never match
	 * (strides 3 and 5 are not in STP's +-2, and H2P mixes the streams).
	 */
	const struct tlb_prefetch_stats *p = &s.pf[0];
	assert_int_equal(s.walks, 7);
	assert_int_equal(p->useful, N - 7);
	assert_int_equal(p->disabled, 5);
	assert_int_equal(p->chose[1], N - 5);
	assert_int_equal(p->issued, N - 5);
	assert_int_equal(p->no_pc, 0);
	tlb_destroy(t);

	/*
	 * A phase change: the +1/+3 pattern first (ATP settles on H2P with
	 * select_1 = 3, as in test_atp_alternating_picks_h2p), then the two
	 * PCs at pages 2000 + 3k and 3000 + 5k. Page 2000: no FPQ hit,
	 * enable_pref 2, still H2P (its predictions 3923 and 2001 are never
	 * used); 3000, 2003, 3005 miss every FPQ: off. 2006 and 3010 hit only
	 * MASP's FPQ: select_1 falls to 1 (its top bit clears), enable_pref
	 * reaches 2, select_2 is 0: MASP, as above. Walks 6 + 7.
	 */
	t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, alt_page(i), 0);
	for (uint64_t i = 0; i < N; i++)
		acc(t, (i & 1) ? 3000 + 5 * (i / 2) : 2000 + 3 * (i / 2), (i & 1) ? PB : PA);
	tlb_get_stats(t, &s);
	assert_int_equal(s.walks, 6 + 7);
	assert_int_equal(p->chose[0], (N - 6) + 1);
	assert_int_equal(p->disabled, 4 + 4);
	assert_int_equal(p->chose[1], N - 5);
	assert_int_equal(p->chose[2], 2);
	assert_int_equal(p->atp_counters[0], 3);
	assert_int_equal(p->atp_counters[1], 0);
	assert_int_equal(p->atp_counters[2], 0);
	tlb_destroy(t);

	/* without PCs MASP predicts nothing and ATP never turns on */
	t = make(&m, &w);
	for (uint64_t i = 0; i < N; i++)
		acc(t, (i & 1) ? 1000 + 5 * (i / 2) : 3 * (i / 2), 0);
	tlb_get_stats(t, &s);
	assert_int_equal(s.walks, N);
	assert_int_equal(s.pf[0].disabled, N);
	assert_int_equal(s.pf[0].no_pc, N);
	tlb_destroy(t);
}

/* ---- random pages: no prefetcher may gain ---- */
static void test_random_not_caught(void **state)
{
	(void)state;
	static const char *const kinds[] = { "stride", "h2", "distance", "asp", "sbfp", "atp" };
	const uint64_t N = 4000;
	for (unsigned k = 0; k < 6; k++) {
		struct tlb_machine m;
		base_machine(&m, kinds[k]);
		/* the most eager settings: sbfp prefetches at FDT >= 1, atp turns on
		 * after two net FPQ hits */
		mset(&m, "prefetch.sbfp", "threshold", "0");
		mset(&m, "prefetch.atp", "enable_bits", "2");
		struct window w = { B, B + (UINT64_C(1) << 20) };
		struct tlb *t = make(&m, &w);
		uint64_t x = 0x1234567u;
		for (uint64_t i = 0; i < N; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			acc(t, x & ((UINT64_C(1) << 20) - 1), 0x400100);
		}
		struct tlb_stats s;
		tlb_get_stats(t, &s);
		/* 2^20 pages, a 16-entry PQ: a random hit on it has chance ~2^-16 */
		assert_true(s.pf[0].useful * 50 <= s.pf[0].issued + 1);
		/* every access hit the L1, the PQ, or walked; PQ hits are useful ones */
		assert_int_equal(s.hits_by_level[0] + s.pq_hits + s.walks, s.accesses);
		assert_int_equal(s.pq_hits, s.pf[0].useful);
		assert_true(s.walks >= N - N / 100 - 4);
		assert_sbfp_sums(&s.pf[0]); /* sampled is 0 for the others */
		if (k == 5) /* no FPQ hit: ATP stays off */
			assert_int_equal(s.pf[0].disabled, s.pf[0].triggers);
		tlb_destroy(t);
	}
}

/* ---- invalidation drops PQ entries (counted useless) ---- */
static void test_invalidate_drops_pq(void **state)
{
	(void)state;
	struct tlb_machine m;
	base_machine(&m, "stride");
	mset(&m, "prefetch.stride", "length", "1");
	struct window w = { B, B + 100 };
	struct tlb *t = make(&m, &w);
	acc(t, 10, 0); /* walks; issues 9 and 11 */
	struct tlb_stats s;
	tlb_get_stats(t, &s);
	assert_int_equal(s.pf[0].issued, 2);
	tlb_invalidate(t, (B + 11) << 12, 4096);
	acc(t, 11, 0); /* no longer in the PQ: a walk */
	tlb_get_stats(t, &s);
	assert_int_equal(s.walks, 2);
	assert_int_equal(s.pq_hits, 0);
	assert_int_equal(s.pf[0].useless, 1);
	acc(t, 9, 0); /* still in the PQ */
	tlb_get_stats(t, &s);
	assert_int_equal(s.pq_hits, 1);
	assert_int_equal(s.pf[0].useful, 1);
	tlb_destroy(t);
}

/* ---- prefetch walks read through the PTE cache (memory = cache) ---- */
static void test_prefetch_walks_through_pte_cache(void **state)
{
	(void)state;
	const uint64_t N = 20;
	struct tlb_machine m;
	base_machine(&m, "stride");
	mset(&m, "prefetch.stride", "length", "1");
	mset(&m, "walk", "memory", "cache");
	mset(&m, "walk", "cache_hit_latency", "3");
	mset(&m, "walk", "cache_miss_latency", "50");
	struct window w;
	struct tlb_stats s;
	struct tlb *t = run_sequential(&m, &w, N, &s);
	/*
	 * Page 0 walks (four cold lines: 1 + 4 x 50) and issues page 1; every
	 * access i then hits the PQ and issues page i + 1 (i - 1 is in the L1),
	 * so pages 1..19 are prefetch-walked. Their upper entries hit the lines
	 * page 0 brought in; their PTEs share a 64-byte line per 8 pages (B is a
	 * multiple of 8), so pages 8 and 16 miss it: 17 x (4 x 3) + 2 x (3 x 3 + 50).
	 * Only the demand walk counts in the PTE-cache counters.
	 */
	assert_int_equal(s.walks, 1);
	assert_int_equal(s.pq_hits, N - 1);
	assert_int_equal(s.translation_cycles, 201 + (N - 1) * 6);
	assert_int_equal(s.pte_cache_misses, 4);
	assert_int_equal(s.pte_cache_hits, 0);
	assert_int_equal(s.prefetch_walks, N - 1);
	assert_int_equal(s.prefetch_walk_cycles, 17 * 12 + 2 * (9 + 50));
	tlb_destroy(t);
}

/* ---- config validation names the key ---- */
static void expect_set_err(const char *sec, const char *key, const char *val, const char *want)
{
	struct tlb_machine m;
	char err[256];
	base_machine(&m, NULL);
	assert_int_equal(tlb_machine_set(&m, sec, key, val, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("%s.%s=%s: message '%s' lacks '%s'", sec, key, val, err, want);
}

static void test_config_errors(void **state)
{
	(void)state;
	assert_true(tlb_machine_owns_section("prefetch"));
	assert_true(tlb_machine_owns_section("prefetch.asp"));
	assert_false(tlb_machine_owns_section("prefetch."));
	expect_set_err("prefetch", "prefetchers", "magic", "prefetch.prefetchers");
	expect_set_err("prefetch", "prefetchers", "stride,atp,magic", "'magic'");
	expect_set_err("prefetch", "prefetchers", "stride,stride", "prefetch.prefetchers");
	expect_set_err("prefetch", "bogus", "1", "prefetch.bogus");
	expect_set_err("prefetch", "walk", "maybe", "prefetch.walk");
	expect_set_err("prefetch.asp", "entries", "100", "prefetch.asp.entries");
	expect_set_err("prefetch.asp", "degree", "0", "prefetch.asp.degree");
	expect_set_err("prefetch.stride", "foo", "1", "prefetch.stride.foo");
	expect_set_err("prefetch.stride", "length", "0", "prefetch.stride.length");
	expect_set_err("prefetch.distance", "slots", "17", "prefetch.distance.slots");
	expect_set_err("prefetch.h2", "size", "1", "prefetch.h2.size");
	expect_set_err("prefetch.nope", "x", "1", "prefetch.nope");
	expect_set_err("prefetch.sbfp", "counter_bits", "17", "prefetch.sbfp.counter_bits");
	expect_set_err("prefetch.sbfp", "sampler", "0", "prefetch.sbfp.sampler");
	expect_set_err("prefetch.sbfp", "prefetch_walks", "often", "prefetch.sbfp.prefetch_walks");
	expect_set_err("prefetch.sbfp", "fdt", "14", "prefetch.sbfp.fdt");
	expect_set_err("prefetch.atp", "fpq", "0", "prefetch.atp.fpq");
	expect_set_err("prefetch.atp", "select2_bits", "0", "prefetch.atp.select2_bits");
	expect_set_err("prefetch.atp", "masp_ways", "x", "prefetch.atp.masp_ways");
	expect_set_err("prefetch.atp", "stp", "1", "prefetch.atp.stp");

	struct tlb_machine m;
	char err[256];
	base_machine(&m, "distance");
	mset(&m, "prefetch.distance", "ways", "3");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), -1);
	assert_non_null(strstr(err, "prefetch.distance.rows"));
	assert_null(tlb_create(&m, &g_alloc, err, sizeof err));

	/* the paper's defaults (Virtuoso mmu_atp.cfg) */
	tlb_machine_init(&m);
	assert_int_equal(m.pf.sbfp_counter_bits, 10);
	assert_int_equal(m.pf.sbfp_threshold, 100);
	assert_int_equal(m.pf.sbfp_sampler, 64);
	assert_int_equal(m.pf.atp_fpq, 16);
	assert_int_equal(m.pf.atp_enable_bits, 8);
	assert_int_equal(m.pf.atp_select1_bits, 6);
	assert_int_equal(m.pf.atp_select2_bits, 2);

	/* a threshold no counter can exceed */
	base_machine(&m, "sbfp");
	mset(&m, "prefetch.sbfp", "counter_bits", "4");
	mset(&m, "prefetch.sbfp", "threshold", "15");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), -1);
	assert_non_null(strstr(err, "prefetch.sbfp.threshold"));
	/* MASP sets must be a power of two */
	base_machine(&m, "atp");
	mset(&m, "prefetch.atp", "masp_entries", "48");
	mset(&m, "prefetch.atp", "masp_ways", "4");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), -1);
	assert_non_null(strstr(err, "prefetch.atp.masp_ways"));

	/* every kind once, all six together */
	base_machine(&m, "stride,h2,distance,asp,sbfp,atp");
	assert_int_equal(m.pf.n, 6);
	struct window w = { B, B + 64 };
	struct tlb *t = make(&m, &w);
	for (uint64_t i = 0; i < 64; i++)
		acc(t, (i * 37) % 64, 0x400000 + (i & 3));
	struct tlb_stats s;
	tlb_get_stats(t, &s);
	for (unsigned i = 0; i < 6; i++)
		assert_sbfp_sums(&s.pf[i]);
	assert_int_equal(s.hits_by_level[0] + s.pq_hits + s.walks, s.accesses);
	tlb_reset(t);
	tlb_get_stats(t, &s);
	assert_int_equal(s.pf[4].fdt[0] + s.pf[5].atp_counters[0] + s.pf[5].triggers, 0);
	tlb_destroy(t);

	base_machine(&m, "stride");
	mset(&m, "prefetch", "entries", "24"); /* 24 / 4 ways = 6 sets */
	mset(&m, "prefetch", "ways", "4");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), -1);
	assert_non_null(strstr(err, "prefetch.ways"));

	/* a bad prefetch geometry does not matter while no prefetcher is named */
	base_machine(&m, NULL);
	mset(&m, "prefetch", "entries", "24");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), 0);
	mset(&m, "prefetch", "prefetchers", "none");
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stride_sequential),
		cmocka_unit_test(test_prefetch_walk_off),
		cmocka_unit_test(test_prefetch_walks_through_pte_cache),
		cmocka_unit_test(test_distance_alternating),
		cmocka_unit_test(test_h2_alternating),
		cmocka_unit_test(test_asp_stride),
		cmocka_unit_test(test_sbfp_pairs),
		cmocka_unit_test(test_sbfp_stride8_not_caught),
		cmocka_unit_test(test_sbfp_decay),
		cmocka_unit_test(test_sbfp_prefetch_walks),
		cmocka_unit_test(test_atp_sequential_picks_stp),
		cmocka_unit_test(test_atp_alternating_picks_h2p),
		cmocka_unit_test(test_atp_two_pcs_picks_masp),
		cmocka_unit_test(test_random_not_caught),
		cmocka_unit_test(test_invalidate_drops_pq),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
