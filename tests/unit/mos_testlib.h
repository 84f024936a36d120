/*
 * Helpers shared by the MimicOS unit tests (include after <cmocka.h> and
 * <mimicos/mimicos.h>): a host allocator that counts live blocks, checks
 * the size given back on free and can refuse, and small wrappers.
 */
#ifndef VMEMU_MOS_TESTLIB_H
#define VMEMU_MOS_TESTLIB_H

#include <stdint.h>
#include <stdlib.h>

#define NONE UINT64_MAX /* xl(): not mapped */

struct host {
	long live;
	long fail_after; /* refuse once this many more succeeded; -1: never */
};

static void *h_zalloc(void *ctx, size_t n)
{
	struct host *h = ctx;
	if (h->fail_after == 0)
		return NULL;
	if (h->fail_after > 0)
		h->fail_after--;
	size_t *p = calloc(1, n + 16);
	if (!p)
		return NULL;
	p[0] = n;
	h->live++;
	return p + 2;
}

static void h_free(void *ctx, void *q, size_t n)
{
	struct host *h = ctx;
	size_t *p = (size_t *)q - 2;
	assert_int_equal(p[0], n); /* freed with the size it was allocated with */
	h->live--;
	free(p);
}

static inline struct mos_allocator alloc_of(struct host *h)
{
	return (struct mos_allocator){ h_zalloc, h_free, h };
}

/* A machine from config c on a fresh, never-refusing host allocator. */
static inline struct mos *mkc(struct host *h, const struct mos_config *c)
{
	h->live = 0;
	h->fail_after = -1;
	struct mos_allocator a = alloc_of(h);
	enum mos_status st;
	struct mos *m = mos_create(c, &a, &st);
	assert_non_null(m);
	assert_int_equal(st, MOS_OK);
	return m;
}

/* Fail the test unless every MimicOS invariant holds. */
static inline void chk(const struct mos *m)
{
	char why[256];
	if (!mos_check(m, why, sizeof(why)))
		fail_msg("mos_check: %s", why);
}

/* Check, destroy, and assert all host memory came back. */
static inline void done(struct mos *m, struct host *h)
{
	chk(m);
	mos_destroy(m);
	assert_int_equal(h->live, 0);
}

static inline struct mos_stats stats(const struct mos *m)
{
	struct mos_stats s;
	mos_get_stats(m, &s);
	return s;
}

/* PFN at va and its page shift (NONE when unmapped). */
static inline uint64_t xl(const struct mos *m, uint64_t va, uint32_t *shift)
{
	uint64_t pfn;
	uint32_t sh = 0;
	if (mos_translate(m, va, &pfn, &sh) != MOS_OK)
		pfn = NONE;
	if (shift)
		*shift = sh;
	return pfn;
}

/* A write fault at va that must succeed and agree with the translation. */
static inline struct mos_fault_result fault(struct mos *m, uint64_t va)
{
	struct mos_fault_result r;
	assert_int_equal(mos_fault(m, va, true, &r), MOS_OK);
	uint32_t sh;
	assert_int_equal(xl(m, va, &sh), r.pfn);
	assert_int_equal(sh, r.page_shift);
	return r;
}

/* splitmix64: a seeded, deterministic random sequence for workloads. */
static inline uint64_t rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * Random workloads shared by the policy, NUMA and policy-API tests: one
 * step is a random VMA operation or fault over an arena, asserting each
 * operation's contract, then mos_check.
 */
struct rw_opts {
	uint64_t base, pages; /* arena [base, base + pages * 4 KiB) */
	bool granules;        /* half the ranges are whole 2 MiB granules */
	bool thp_advice;      /* advise HUGEPAGE or NOHUGEPAGE (else only HUGEPAGE) */
	bool scan;            /* mos_scan steps */
	unsigned numa_nodes;  /* > 1: mos_set_cpu_node steps */
	const char *label;    /* for the failure message */
};

/* The step's fault, when it mapped something (ok). */
struct rw_fault {
	bool ok;
	uint64_t va;
	struct mos_fault_result res;
};

static inline void rw_step(struct mos *m, uint64_t *s, const struct rw_opts *o, int step,
			   struct rw_fault *f)
{
	const uint64_t P4 = 4096, H = 2ull << 20;
	f->ok = false;
	uint64_t r = rng_splitmix(s) % 100;
	uint64_t a = rng_splitmix(s) % o->pages, len = 1 + rng_splitmix(s) % 1024;
	if (o->granules && rng_splitmix(s) % 2) {
		a &= ~511ull;
		len = 512 * (1 + rng_splitmix(s) % 3);
	}
	if (a + len > o->pages)
		len = o->pages - a;
	uint64_t va = o->base + a * P4, end = o->base + o->pages * P4;
	enum mos_status st;
	if (r < 12) {
		st = mos_vma_add(m, va, len * P4, MOS_VMA_MMAP);
		assert_true(st == MOS_OK || st == MOS_EEXIST);
	} else if (r < 18) {
		assert_int_equal(mos_vma_remove(m, va, len * P4), MOS_OK);
	} else if (r < 26) {
		assert_int_equal(mos_discard(m, va, len * P4), MOS_OK);
	} else if (r < 31) {
		const struct mos_vma *v = mos_vma_find(m, va);
		if (v) {
			uint64_t olen = 1 + rng_splitmix(s) % ((v->end - va) / P4);
			uint64_t nw = o->base + (rng_splitmix(s) % o->pages) * P4;
			if (o->granules && rng_splitmix(s) % 2)
				nw &= ~(H - 1);
			uint64_t nlen = 1 + rng_splitmix(s) % 1024;
			if (nw + nlen * P4 > end)
				nlen = (end - nw) / P4;
			if (nlen) {
				st = mos_vma_move(m, va, olen * P4, nw, nlen * P4);
				assert_true(st == MOS_OK || st == MOS_EEXIST || st == MOS_ENOMEM);
			}
		}
	} else if (r < 35) {
		bool huge = !o->thp_advice || rng_splitmix(s) % 2;
		st = mos_vma_advise(m, va, len * P4, huge ? MOS_ADV_HUGEPAGE : MOS_ADV_NOHUGEPAGE);
		assert_true(st == MOS_OK || st == MOS_ENOVMA || st == MOS_ENOMEM);
	} else if (r < 38 && o->scan) {
		struct mos_range out[8];
		size_t n = mos_scan(m, 1 + rng_splitmix(s) % 8192, out, 8);
		for (size_t i = 0; i < n; i++) {
			uint32_t sh;
			assert_true(xl(m, out[i].start, &sh) != NONE);
			assert_int_equal(sh, 21);
			assert_int_equal(out[i].len, H);
		}
	} else if (r < 41 && o->numa_nodes > 1) {
		assert_int_equal(mos_set_cpu_node(m, (unsigned)(rng_splitmix(s) % o->numa_nodes)),
				 MOS_OK);
	} else {
		size_t nv = mos_vma_count(m);
		if (nv && rng_splitmix(s) % 4) { /* mostly inside a VMA */
			const struct mos_vma *t = mos_vma_at(m, rng_splitmix(s) % nv);
			va = t->start + (rng_splitmix(s) % ((t->end - t->start) / P4)) * P4;
		}
		const struct mos_vma *v = mos_vma_find(m, va);
		struct mos_fault_result res;
		uint64_t fva = va + rng_splitmix(s) % P4;
		bool mapped = xl(m, fva, NULL) != NONE;
		st = mos_fault(m, fva, rng_splitmix(s) & 1, &res);
		if (!v) {
			assert_int_equal(st, MOS_ENOVMA);
		} else if (st == MOS_ENOMEM) {
			assert_false(mapped);
			assert_int_equal(xl(m, fva, NULL), NONE);
		} else {
			assert_int_equal(st, MOS_OK);
			assert_int_equal(res.refault, mapped);
			uint32_t sh;
			assert_int_equal(xl(m, fva, &sh), res.pfn);
			assert_int_equal(sh, res.page_shift);
			assert_true(res.start <= fva && fva < res.start + res.len);
			assert_true(res.start >= v->start && res.start + res.len <= v->end);
			if (res.map_len)
				assert_true(res.map_start <= res.start &&
					    res.start + res.len <= res.map_start + res.map_len);
			if (res.promoted_len)
				assert_true(res.promoted_start <= fva && fva < res.promoted_start + H);
			for (uint64_t p = res.start; p < res.start + res.len; p += P4)
				assert_true(xl(m, p, NULL) != NONE);
			f->ok = true;
			f->va = fva;
			f->res = res;
		}
	}
	char why[256];
	if (!mos_check(m, why, sizeof(why)))
		fail_msg("%s step %d (op %llu): %s", o->label, step, (unsigned long long)r, why);
}

#endif
