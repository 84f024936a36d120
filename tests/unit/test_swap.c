/*
 * Unit tests of MimicOS swap and reclaim: watermarks, eviction and swap-in
 * bookkeeping, clean copies, readahead and the swap cache, refault
 * distance, THP split vs whole, mremap/discard of swapped pages, and a
 * content model: a simulated runtime that keeps page contents where
 * MimicOS says they are (resident, or in a slot) must read back every value
 * written, under every reclaim and allocation policy.
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

#include "mos_testlib.h"

static struct mos_config scfg(uint64_t mem, const char *policy, uint64_t slots,
			      enum mos_reclaim_policy rp)
{
	return (struct mos_config){ .mem_bytes = mem, .policy = policy, .fault_around_pages = 1,
				    .swap_pages = slots, .reclaim_policy = rp, .reclaim_tau = 100,
				    .thp_mode = MOS_THP_ALWAYS, .promotion_threshold = 0.5 };
}

/* A 4 MiB baseline FIFO machine with a VMA [A, A+vma_len) of the given
 * flags whose first `written` pages were write-faulted. */
static struct mos *filled(struct host *h, uint64_t vma_len, uint32_t flags, uint64_t written)
{
	struct mos_config c = scfg(4ull << 20, "baseline", 4096, MOS_RECLAIM_FIFO);
	struct mos *m = mkc(h, &c);
	assert_int_equal(mos_vma_add(m, A, vma_len, flags), MOS_OK);
	struct mos_fault_result r;
	for (uint64_t i = 0; i < written; i++)
		assert_int_equal(mos_fault(m, A + i * P, true, &r), MOS_OK);
	return m;
}

/* Isolate exactly n victims into v and evict them all. */
static void evict(struct mos *m, struct mos_victim *v, size_t n)
{
	assert_int_equal(mos_reclaim_isolate(m, n, 0, v, n), n);
	for (size_t i = 0; i < n; i++)
		mos_reclaim_finish(m, &v[i], true, 0);
}

/* Linux's watermarks, computed independently from the formula. */
static void test_watermarks(void **state)
{
	struct host h;
	struct mos_config c = scfg(1ull << 30, "baseline", 1024, MOS_RECLAIM_CLOCK);
	struct mos *m = mkc(&h, &c);
	struct mos_stats s = stats(m);
	uint64_t frames = (1ull << 30) / P;
	uint64_t min_kb = (uint64_t)sqrt(1048576.0 * 16); /* 4096 KiB */
	uint64_t min = min_kb / 4, step = frames / 1000 > min / 4 ? frames / 1000 : min / 4;
	assert_int_equal(s.wmark_min, min);
	assert_int_equal(s.wmark_low, min + step);
	assert_int_equal(s.wmark_high, min + 2 * step);
	bool below;
	assert_int_equal(mos_reclaim_target(m, &below), 0);
	assert_false(below);
	done(m, &h);
	/* without swap: nothing to reclaim, ever */
	c.swap_pages = 0;
	m = mkc(&h, &c);
	assert_int_equal(mos_reclaim_target(m, &below), 0);
	struct mos_victim v;
	assert_int_equal(mos_reclaim_isolate(m, 10, 0, &v, 1), 0);
	done(m, &h);
}

/* Fill memory, evict, fault back: slots, clean copies and counters. */
static void test_evict_and_swapin(void **state)
{
	struct host h;
	struct mos_config c = scfg(4ull << 20, "baseline", 4096, MOS_RECLAIM_FIFO);
	c.wmark_min_frames = 8;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 64ull << 20, MOS_VMA_HEAP), MOS_OK);
	uint64_t n = 0;
	struct mos_fault_result r;
	while (mos_fault(m, A + n * P, true, &r) == MOS_OK)
		n++;
	assert_true(n > 900);
	bool below;
	assert_true(mos_reclaim_target(m, &below) > 0);
	assert_true(below);

	/* FIFO: the first pages mapped go first, all dirty (never copied) */
	struct mos_victim v[16];
	size_t k = mos_reclaim_isolate(m, 16, 1, v, 16);
	assert_int_equal(k, 16);
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(v[i].vaddr, A + i * P);
		assert_int_equal(v[i].len, P);
		assert_true(v[i].write);
		assert_int_not_equal(xl(m, v[i].vaddr, NULL), NONE); /* mapped until finish */
	}
	uint64_t slot0 = v[0].slot;
	for (size_t i = 0; i < k; i++)
		mos_reclaim_finish(m, &v[i], true, 1);
	chk(m);
	struct mos_stats s = stats(m);
	assert_int_equal(s.swapouts, 16);
	assert_int_equal(s.swapout_writes, 16);
	assert_int_equal(s.swap_used, 16);
	assert_int_equal(xl(m, A, NULL), NONE);

	/* a read fault on page 0: major, its slot pending, kept as clean copy */
	assert_int_equal(mos_fault(m, A, false, &r), MOS_OK);
	assert_true(r.major);
	struct mos_swapin in[4];
	assert_int_equal(mos_swapin_pending(m, in, 4), 1);
	assert_int_equal(in[0].vaddr, A);
	assert_int_equal(in[0].slot, slot0);
	assert_true(in[0].keep_clean);
	mos_swapin_done(m);
	chk(m);
	s = stats(m);
	assert_int_equal(s.swapins, 1);
	assert_int_equal(s.major_faults, 1);
	assert_int_equal(s.swap_used, 16); /* the clean copy keeps its slot */
	assert_int_equal(s.workingset_refaults, 1);

	/* a write drops the clean copy */
	assert_true(mos_page_access(m, A, true, 3));
	assert_false(mos_page_access(m, A, true, 3));
	assert_int_equal(stats(m).swap_used, 15);

	/* a write fault on page 1: major, the slot is freed after reading */
	assert_int_equal(mos_fault(m, A + P, true, &r), MOS_OK);
	assert_int_equal(mos_swapin_pending(m, in, 4), 1);
	assert_false(in[0].keep_clean);
	assert_int_equal(stats(m).swap_used, 15); /* not before the read is done */
	mos_swapin_done(m);
	assert_int_equal(stats(m).swap_used, 14);
	chk(m);

	/* discard of swapped pages frees their slots: the next touch is zero */
	assert_int_equal(mos_discard(m, A + 2 * P, 4 * P), MOS_OK);
	assert_int_equal(stats(m).swap_used, 10);
	assert_int_equal(mos_fault(m, A + 2 * P, false, &r), MOS_OK);
	assert_false(r.major);
	assert_int_equal(mos_swapin_pending(m, in, 4), 0);
	done(m, &h);
}

/* A clean page is evicted without a write, into the slot it came from. */
static void test_clean_eviction(void **state)
{
	struct host h;
	struct mos *m = filled(&h, 64ull << 20, MOS_VMA_HEAP, 8);
	struct mos_fault_result r;
	struct mos_victim v[8];
	evict(m, v, 8);
	assert_int_equal(mos_fault(m, A, false, &r), MOS_OK); /* back, clean */
	mos_swapin_done(m);
	struct mos_victim w;
	assert_int_equal(mos_reclaim_isolate(m, 1, 0, &w, 1), 1);
	assert_int_equal(w.vaddr, A);
	assert_false(w.write);
	assert_int_equal(w.slot, v[0].slot);
	mos_reclaim_finish(m, &w, true, 0);
	struct mos_stats s = stats(m);
	assert_int_equal(s.swapout_clean, 1);
	assert_int_equal(s.swapout_writes, 8);
	/* a failed eviction puts the page back, mapped and tracked */
	assert_int_equal(mos_fault(m, A + P, false, &r), MOS_OK);
	mos_swapin_done(m);
	assert_int_equal(mos_reclaim_isolate(m, 1, 0, &w, 1), 1);
	mos_reclaim_finish(m, &w, false, 0);
	assert_int_not_equal(xl(m, w.vaddr, NULL), NONE);
	assert_int_equal(stats(m).reclaim_putback, 1);
	chk(m);
	/* fork: clean copies are forgotten */
	uint64_t used = stats(m).swap_used;
	mos_swap_forget_clean(m);
	assert_int_equal(stats(m).swap_used, used - 1);
	assert_int_equal(mos_reclaim_isolate(m, 1, 0, &w, 1), 1);
	assert_true(w.write);
	mos_reclaim_finish(m, &w, true, 0);
	done(m, &h);
}

/* Sequential swap-ins grow the readahead window; the cache serves minor faults. */
static void test_readahead(void **state)
{
	struct host h;
	struct mos_config c = scfg(8ull << 20, "baseline", 4096, MOS_RECLAIM_FIFO);
	c.swap_readahead = 8;
	c.wmark_min_frames = 4;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 64ull << 20, MOS_VMA_HEAP), MOS_OK);
	struct mos_fault_result r;
	for (uint64_t i = 0; i < 256; i++)
		assert_int_equal(mos_fault(m, A + i * P, true, &r), MOS_OK);
	struct mos_victim v[256];
	evict(m, v, 256);
	uint64_t major = 0, minor = 0;
	for (uint64_t i = 0; i < 256; i++) {
		assert_int_equal(mos_fault(m, A + i * P, false, &r), MOS_OK);
		major += r.major;
		minor += r.swapcache_hit;
		assert_true(r.major != r.swapcache_hit);
		struct mos_swapin in;
		assert_int_equal(mos_swapin_pending(m, &in, 1), 1);
		assert_int_equal(in.vaddr, A + i * P);
		mos_swapin_done(m);
		chk(m);
	}
	struct mos_stats s = stats(m);
	/* window 1, 2, 4, 8, 8, ...: pages 0, 1, 2 (+1), 4 (+3), 8 (+7), ... */
	assert_int_equal(major, s.major_faults);
	assert_int_equal(minor, s.swapcache_hits);
	assert_true(major <= 256 / 8 + 4);
	assert_int_equal(s.readahead_hits, minor);
	assert_int_equal(s.readahead_pages, s.readahead_hits + s.swapcache_frames);
	assert_int_equal(s.readahead_wasted, 0);
	/* random order: readahead stays off */
	for (uint64_t i = 0; i < 256; i++) {
		assert_int_equal(mos_reclaim_isolate(m, 1, 0, v, 1), 1);
		mos_reclaim_finish(m, v, true, 0);
	}
	uint64_t ra = stats(m).readahead_pages;
	for (uint64_t i = 0; i < 64; i++) {
		uint64_t p = (i * 97) % 256;
		if (xl(m, A + p * P, NULL) == NONE) {
			assert_int_equal(mos_fault(m, A + p * P, false, &r), MOS_OK);
			mos_swapin_done(m);
		}
	}
	assert_true(stats(m).readahead_pages - ra < 8);
	done(m, &h);
}

/* THP: split into 4 KiB units first, or evicted whole to a slot cluster. */
static void test_thp_split_or_whole(void **state)
{
	for (int whole = 0; whole < 2; whole++) {
		struct host h;
		struct mos_config c = scfg(16ull << 20, "thp", 4096, MOS_RECLAIM_FIFO);
		c.swap_thp_whole = whole;
		struct mos *m = mkc(&h, &c);
		assert_int_equal(mos_vma_add(m, A, 64ull << 20, MOS_VMA_HEAP), MOS_OK);
		struct mos_fault_result r;
		assert_int_equal(mos_fault(m, A, true, &r), MOS_OK);
		assert_int_equal(r.page_shift, 21);
		struct mos_victim v[4];
		size_t k = mos_reclaim_isolate(m, 1, 0, v, 4);
		assert_int_equal(k, 1);
		if (whole) {
			assert_int_equal(v[0].len, MB2);
			assert_int_equal(v[0].slot % 512, 0);
		} else {
			assert_int_equal(v[0].len, P);
			assert_int_equal(stats(m).thp_swap_split, 1);
		}
		mos_reclaim_finish(m, &v[0], true, 0);
		chk(m);
		struct mos_stats s = stats(m);
		assert_int_equal(s.swapouts, whole ? 512 : 1);
		assert_int_equal(s.thp_swapout, whole ? 1 : 0);
		/* fault back: the thp policy maps 2 MiB again; every swapped
		 * subpage is pending, none kept clean (a 2 MiB page) */
		assert_int_equal(mos_fault(m, whole ? A + 5 * P : A, false, &r), MOS_OK);
		assert_true(r.major);
		struct mos_swapin in[600];
		size_t n = mos_swapin_pending(m, in, 600);
		if (whole) {
			assert_int_equal(r.page_shift, 21);
			assert_int_equal(n, 512);
			for (size_t i = 0; i < n; i++)
				assert_false(in[i].keep_clean);
		} else {
			assert_int_equal(n, 1); /* subpage 0, back as a 4 KiB page */
			assert_int_equal(in[0].vaddr, A);
		}
		mos_swapin_done(m);
		done(m, &h);
	}
}

/* mremap carries swapped pages to the new address. */
static void test_move_swapped(void **state)
{
	struct host h;
	struct mos *m = filled(&h, 1ull << 20, MOS_VMA_MMAP, 16);
	struct mos_fault_result r;
	struct mos_victim v[8];
	evict(m, v, 8);
	uint64_t B = A + (256ull << 20);
	assert_int_equal(mos_vma_move(m, A, 1ull << 20, B, 2ull << 20), MOS_OK);
	chk(m);
	assert_int_equal(mos_fault(m, B + 3 * P, false, &r), MOS_OK);
	assert_true(r.major);
	struct mos_swapin in;
	assert_int_equal(mos_swapin_pending(m, &in, 1), 1);
	assert_int_equal(in.slot, v[3].slot);
	mos_swapin_done(m);
	/* the moved resident pages are tracked at their new address */
	struct mos_victim w;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(mos_reclaim_isolate(m, 1, 0, &w, 1), 1);
		assert_true(w.vaddr >= B && w.vaddr < B + (2ull << 20));
		mos_reclaim_finish(m, &w, true, 0);
	}
	done(m, &h);
}

/*
 * The content model. contents[page] is what the program last wrote (0 =
 * never); host[page] what the simulated host memory holds while resident;
 * slotv[slot] the swap file. The runtime side follows the contract of
 * mimicos.h: populate pending swap-ins from their slots, everything else
 * in a populated range with zeros; write victims' contents to their slots
 * when asked; a write to a page populated clean goes through
 * mos_page_access first.
 */
enum { PAGES = 2048, SLOTS = 4096 };
static uint64_t contents[PAGES], host[PAGES], slotv[SLOTS];
static bool resident[PAGES], wp[PAGES];

static void populate(struct mos *m, uint64_t base, uint64_t lo, uint64_t len)
{
	struct mos_swapin in[64];
	size_t n;
	while ((n = mos_swapin_pending(m, in, 64)) > 0)
		for (size_t i = 0; i < n; i++) {
			uint64_t p = (in[i].vaddr - base) / P;
			assert_false(resident[p]);
			host[p] = slotv[in[i].slot];
			resident[p] = true;
			wp[p] = in[i].keep_clean;
		}
	mos_swapin_done(m);
	for (uint64_t va = lo; va < lo + len; va += P) {
		uint64_t p = (va - base) / P;
		if (va >= base && p < PAGES && !resident[p]) {
			host[p] = 0;
			resident[p] = true;
			wp[p] = false;
		}
	}
}

static void reclaim(struct mos *m, uint64_t base, uint64_t frames, uint64_t now)
{
	struct mos_victim v[32];
	size_t n = mos_reclaim_isolate(m, frames, now, v, 32);
	for (size_t i = 0; i < n; i++) {
		for (uint64_t o = 0; o < v[i].len; o += P) {
			uint64_t p = (v[i].vaddr + o - base) / P;
			assert_true(resident[p]);
			if (v[i].write)
				slotv[v[i].slot + o / P] = host[p];
			else
				assert_int_equal(slotv[v[i].slot + o / P], host[p]);
			resident[p] = false;
		}
		mos_reclaim_finish(m, &v[i], true, now);
	}
}

static void access_page(struct mos *m, uint64_t base, uint64_t p, bool write, uint64_t now,
			uint64_t *val)
{
	uint64_t va = base + p * P;
	while (!resident[p]) {
		struct mos_fault_result r;
		enum mos_status st = mos_fault(m, va, write, &r);
		if (st == MOS_ENOMEM) {
			reclaim(m, base, 32, now);
			continue;
		}
		assert_int_equal(st, MOS_OK);
		populate(m, base, r.start, r.len);
		if (r.promoted_len)
			populate(m, base, r.promoted_start, r.promoted_len);
		if (r.map_len)
			populate(m, base, r.map_start, r.map_len);
	}
	uint64_t target = mos_reclaim_target(m, NULL);
	if (target)
		reclaim(m, base, target, now); /* kswapd */
	if (!resident[p]) /* evicted by the kswapd pass: fault again */
		return access_page(m, base, p, write, now, val);
	if (write) {
		if (wp[p]) {
			assert_true(mos_page_access(m, va, true, now));
			wp[p] = false;
		} else {
			mos_page_access(m, va, true, now);
		}
		host[p] = contents[p] = *val;
	} else {
		assert_int_equal(host[p], contents[p]);
		mos_page_access(m, va, false, now);
	}
}

static void content_model(const char *policy, enum mos_reclaim_policy rp, bool whole,
			  uint32_t ra, uint64_t seed)
{
	struct host h;
	struct mos_config c = scfg(4ull << 20, policy, SLOTS, rp);
	c.swap_thp_whole = whole;
	c.swap_readahead = ra;
	c.wmark_min_frames = 16;
	c.fault_around_pages = 4;
	struct mos *m = mkc(&h, &c);
	const uint64_t base = A;
	assert_int_equal(mos_vma_add(m, base, PAGES * P, MOS_VMA_HEAP), MOS_OK);
	memset(contents, 0, sizeof contents);
	memset(resident, 0, sizeof resident);
	memset(wp, 0, sizeof wp);
	uint64_t x = seed, val = 1;
	for (uint64_t t = 1; t <= 30000; t++) {
		uint64_t r = rng_splitmix(&x);
		uint64_t p = (r >> 8) % PAGES;
		if ((r & 255) < 8) { /* sequential sweep: readahead material */
			for (uint64_t q = p; q < p + 32 && q < PAGES; q++)
				access_page(m, base, q, false, t, &val);
		} else if ((r & 255) < 10) { /* MADV_DONTNEED of a few pages */
			uint64_t n = 1 + (r >> 40) % 16;
			if (p + n > PAGES)
				n = PAGES - p;
			assert_int_equal(mos_discard(m, base + p * P, n * P), MOS_OK);
			for (uint64_t q = p; q < p + n; q++) {
				contents[q] = 0;
				resident[q] = false;
			}
		} else {
			bool w = (r & 255) < 120;
			val++;
			access_page(m, base, p, w, t, &val);
		}
		if (t % 5000 == 0)
			chk(m);
	}
	for (uint64_t p = 0; p < PAGES; p++)
		access_page(m, base, p, false, 40000, &val);
	struct mos_stats s = stats(m);
	assert_true(s.swapouts > 1000);
	assert_true(s.swapins > 500);
	done(m, &h);
}

static void test_content_model(void **state)
{
	const char *pol[] = { "baseline", "thp", "reservethp", "eagerpaging" };
	for (int rp = MOS_RECLAIM_FIFO; rp <= MOS_RECLAIM_WSCLOCK; rp++)
		for (int i = 0; i < 4; i++)
			content_model(pol[i], (enum mos_reclaim_policy)rp, (rp + i) & 1,
				      (rp + i) % 3 ? 8 : 1, 11 + (uint64_t)rp * 5 + (uint64_t)i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watermarks),
		cmocka_unit_test(test_evict_and_swapin),
		cmocka_unit_test(test_clean_eviction),
		cmocka_unit_test(test_readahead),
		cmocka_unit_test(test_thp_split_or_whole),
		cmocka_unit_test(test_move_swapped),
		cmocka_unit_test(test_content_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
