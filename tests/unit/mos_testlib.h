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

#endif
