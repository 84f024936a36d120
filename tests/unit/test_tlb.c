/*
 * Unit tests of tlbmodel: the model against a brute-force reference, hand
 * computed walk / PWC / latency cases, fill policies, validation, and the
 * shipped machine files.
 *
 * The reference models below are written to be obviously right, not fast:
 * LRU and FIFO keep each set as a list ordered by recency / age (front =
 * newest) and shift it on every access; SRRIP follows the textbook loop.
 * They share no code with tlbmodel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlbmodel/tlbmodel.h"

/* ------------------------------------------------------------------------ */
/* Allocator that counts calls                                              */

struct counting_alloc {
	int zallocs;
	int frees;
	size_t live_bytes;
	size_t last_free_bytes;
};

static void *ca_zalloc(void *ctx, size_t bytes)
{
	struct counting_alloc *c = ctx;
	c->zallocs++;
	c->live_bytes += bytes;
	return calloc(1, bytes);
}

static void ca_free(void *ctx, void *p, size_t bytes)
{
	struct counting_alloc *c = ctx;
	c->frees++;
	c->live_bytes -= bytes;
	c->last_free_bytes = bytes;
	free(p);
}

static struct counting_alloc g_ca;
static const struct tlb_allocator g_alloc = { ca_zalloc, ca_free, &g_ca };

/* ------------------------------------------------------------------------ */
/* Machine building helpers                                                 */

static void mset(struct tlb_machine *m, const char *sec, const char *key, const char *val)
{
	char err[256];
	int rc = tlb_machine_set(m, sec, key, val, err, sizeof err);
	if (rc != 0)
		fail_msg("tlb_machine_set(%s, %s, %s): %s", sec, key, val, err);
}

static void add_struct(struct tlb_machine *m, const char *name, const char *level,
		       const char *sizes, const char *access, const char *entries,
		       const char *ways, const char *latency, const char *repl, const char *fill)
{
	char sec[64];
	snprintf(sec, sizeof sec, "tlb.%s", name);
	mset(m, sec, "level", level);
	mset(m, sec, "page_sizes", sizes);
	mset(m, sec, "access", access);
	mset(m, sec, "entries", entries);
	mset(m, sec, "ways", ways);
	mset(m, sec, "latency", latency);
	mset(m, sec, "replacement", repl);
	mset(m, sec, "fill", fill);
}

static struct tlb *create_ok(const struct tlb_machine *m)
{
	char err[256];
	struct tlb *t = tlb_create(m, &g_alloc, err, sizeof err);
	if (!t)
		fail_msg("tlb_create: %s", err);
	return t;
}

/*
 * A translation as a 4-level radix table would give it: every table page is
 * distinct per virtual prefix, so entry addresses are unique per prefix.
 */
static struct tlb_translation tr_of(uint64_t vaddr, unsigned shift)
{
	struct tlb_translation tr;
	memset(&tr, 0, sizeof tr);
	tr.page_shift = (uint8_t)shift;
	tr.levels = (uint8_t)(shift == 30 ? 2 : shift == 21 ? 3 : 4);
	for (unsigned j = 0; j < tr.levels; j++) {
		uint64_t prefix = j == 0 ? 0 : vaddr >> (48 - 9 * j); /* which table page */
		uint64_t index = (vaddr >> (39 - 9 * j)) & 511;       /* entry in it */
		tr.pte_paddr[j] = (UINT64_C(1) << 40) * (j + 1) + (prefix << 12) + index * 8;
	}
	return tr;
}

static uint32_t acc(struct tlb *t, uint64_t vaddr, unsigned shift, bool write,
		    struct tlb_result *res)
{
	struct tlb_translation tr = tr_of(vaddr, shift);
	return tlb_access(t, vaddr, write, &tr, res);
}

/* Deterministic test RNG. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ------------------------------------------------------------------------ */
/* Reference set-associative cache                                          */

enum { REF_LRU, REF_FIFO, REF_SRRIP };

struct ref_cache {
	int policy;
	uint64_t sets, ways;
	uint64_t *line;  /* [set][slot]: LRU/FIFO lists front = newest; SRRIP by way */
	uint64_t *count; /* LRU/FIFO: lines in the list */
	int *rrpv;       /* SRRIP per way, -1 = invalid */
};

static void ref_init(struct ref_cache *r, int policy, uint64_t entries, uint64_t ways)
{
	r->policy = policy;
	r->ways = ways;
	r->sets = entries / ways;
	r->line = calloc(entries, sizeof *r->line);
	r->count = calloc(r->sets, sizeof *r->count);
	r->rrpv = malloc(entries * sizeof *r->rrpv);
	for (uint64_t i = 0; i < entries; i++)
		r->rrpv[i] = -1;
}

static void ref_free(struct ref_cache *r)
{
	free(r->line);
	free(r->count);
	free(r->rrpv);
}

/* Look key up in its set (set given). On a miss insert it. Returns hit; *evicted = victim or 0. */
static bool ref_access_set(struct ref_cache *r, uint64_t set, uint64_t key, bool insert,
			   uint64_t *evicted)
{
	uint64_t *l = r->line + set * r->ways;
	if (evicted)
		*evicted = 0;
	if (r->policy == REF_SRRIP) {
		int *rr = r->rrpv + set * r->ways;
		for (uint64_t w = 0; w < r->ways; w++)
			if (rr[w] >= 0 && l[w] == key) {
				rr[w] = 0;
				return true;
			}
		if (!insert)
			return false;
		for (uint64_t w = 0; w < r->ways; w++)
			if (rr[w] < 0) {
				l[w] = key;
				rr[w] = 2;
				return false;
			}
		for (;;) {
			for (uint64_t w = 0; w < r->ways; w++)
				if (rr[w] == 3) {
					if (evicted)
						*evicted = l[w];
					l[w] = key;
					rr[w] = 2;
					return false;
				}
			for (uint64_t w = 0; w < r->ways; w++)
				rr[w]++;
		}
	}
	uint64_t n = r->count[set];
	for (uint64_t i = 0; i < n; i++)
		if (l[i] == key) {
			if (r->policy == REF_LRU) { /* move to front */
				for (uint64_t j = i; j > 0; j--)
					l[j] = l[j - 1];
				l[0] = key;
			}
			return true;
		}
	if (!insert)
		return false;
	if (n == r->ways) { /* drop the back: least recent (LRU) / oldest (FIFO) */
		if (evicted)
			*evicted = l[n - 1];
		n--;
	}
	for (uint64_t j = n; j > 0; j--)
		l[j] = l[j - 1];
	l[0] = key;
	r->count[set] = n + 1;
	return false;
}

/* Remove key from its set if present (an invalidation). */
static void ref_remove(struct ref_cache *r, uint64_t set, uint64_t key)
{
	uint64_t *l = r->line + set * r->ways;
	if (r->policy == REF_SRRIP) {
		int *rr = r->rrpv + set * r->ways;
		for (uint64_t w = 0; w < r->ways; w++)
			if (rr[w] >= 0 && l[w] == key)
				rr[w] = -1;
		return;
	}
	uint64_t n = r->count[set];
	for (uint64_t i = 0; i < n; i++)
		if (l[i] == key) {
			for (uint64_t j = i; j + 1 < n; j++)
				l[j] = l[j + 1];
			r->count[set] = n - 1;
			return;
		}
}

/* Reference keys: (vpn, size) -> unique number; set = vpn mod sets. */
static uint64_t ref_key(uint64_t vaddr, unsigned shift)
{
	return (vaddr >> shift) * 8 + shift / 9; /* 12->1, 21->2, 30->3 */
}

static uint64_t ref_key_vpn(uint64_t key)
{
	return key / 8;
}

static bool ref_access(struct ref_cache *r, uint64_t vaddr, unsigned shift, uint64_t *evicted)
{
	uint64_t vpn = vaddr >> shift;
	return ref_access_set(r, vpn % r->sets, ref_key(vaddr, shift), true, evicted);
}

/* ------------------------------------------------------------------------ */
/* Traces                                                                    */

struct trace {
	size_t n, cap;
	uint64_t *va;
	unsigned *shift;
};

static void trace_alloc(struct trace *t, size_t n)
{
	t->n = 0;
	t->cap = n;
	t->va = malloc(n * sizeof *t->va);
	t->shift = malloc(n * sizeof *t->shift);
}

/* Append (silently stops at the capacity). */
static void trace_push(struct trace *t, uint64_t va, unsigned shift)
{
	if (t->n == t->cap)
		return;
	t->va[t->n] = va;
	t->shift[t->n] = shift;
	t->n++;
}

static void trace_free(struct trace *t)
{
	free(t->va);
	free(t->shift);
}

#define BASE_VA UINT64_C(0x7f0000000000)

/*
 * Traces over 4K pages for a structure with `sets` sets and `ways` ways:
 * random, cyclic over ways+1 lines of one set, aliasing strides, a loop
 * that fits mixed with noise, sequential words.
 */
static void make_traces(struct trace tr[5], uint64_t sets, uint64_t ways)
{
	const uint64_t P = 4096;
	const uint64_t entries = sets * ways;
	for (int i = 0; i < 5; i++)
		trace_alloc(&tr[i], 40000);
	/* 0: random pages over 3x the capacity, some words within pages */
	for (int i = 0; i < 20000; i++)
		trace_push(&tr[0], BASE_VA + (rnd() % (3 * entries + 1)) * P + (rnd() % 512) * 8, 12);
	/* 1: cyclic over ways+1 lines mapping to set 0 */
	for (int rep = 0; rep < 60; rep++)
		for (uint64_t i = 0; i <= ways; i++)
			trace_push(&tr[1], BASE_VA + i * sets * P, 12);
	/* 2: strides that alias: stride of sets*2 pages over 2*ways+3 lines, twice per step */
	for (int rep = 0; rep < 40; rep++)
		for (uint64_t i = 0; i < 2 * ways + 3; i++) {
			trace_push(&tr[2], BASE_VA + i * 2 * sets * P, 12);
			trace_push(&tr[2], BASE_VA + i * 2 * sets * P + 64, 12);
		}
	/* 3: a loop over ways lines of set 1 interleaved with random noise */
	for (int rep = 0; rep < 300; rep++)
		for (uint64_t i = 0; i < ways; i++) {
			trace_push(&tr[3], BASE_VA + (1 + i * sets) * P, 12);
			if (rnd() % 4 == 0)
				trace_push(&tr[3], BASE_VA + (rnd() % (4 * entries)) * P, 12);
		}
	/* 4: sequential words over 2x the reach, twice */
	for (int rep = 0; rep < 2; rep++)
		for (uint64_t a = 0; a < 2 * entries * P && tr[4].n < 40000; a += 256)
			trace_push(&tr[4], BASE_VA + a, 12);
}

/* One-structure machine: 4K(,2M) pages, given geometry and policy. */
static void one_struct_machine(struct tlb_machine *m, uint64_t entries, uint64_t ways,
			       const char *repl, const char *sizes)
{
	char e[32], w[32];
	tlb_machine_init(m);
	snprintf(e, sizeof e, "%llu", (unsigned long long)entries);
	if (ways == entries)
		snprintf(w, sizeof w, "full");
	else
		snprintf(w, sizeof w, "%llu", (unsigned long long)ways);
	add_struct(m, "t", "1", sizes, "all", e, w, "1", repl, "miss");
	mset(m, "walk", "latency", "10");
}

/* Run a trace through model and reference; assert the same hit/miss on every access. */
static void check_one_struct(const char *repl, int refpol, uint64_t entries, uint64_t ways,
			     const struct trace *trc, const char *what)
{
	struct tlb_machine m;
	one_struct_machine(&m, entries, ways, repl, "4K,2M");
	struct tlb *t = create_ok(&m);
	struct ref_cache r;
	ref_init(&r, refpol, entries, ways);
	uint64_t hits = 0;
	for (size_t i = 0; i < trc->n; i++) {
		struct tlb_result res;
		acc(t, trc->va[i], trc->shift[i], i % 3 == 0, &res);
		bool model_hit = res.level == 1;
		bool ref_hit = ref_access(&r, trc->va[i], trc->shift[i], NULL);
		if (model_hit != ref_hit)
			fail_msg("%s %s %llu/%llu: access %zu (va %#llx) model %s, reference %s", what,
				 repl, (unsigned long long)entries, (unsigned long long)ways, i,
				 (unsigned long long)trc->va[i], model_hit ? "hit" : "miss",
				 ref_hit ? "hit" : "miss");
		hits += ref_hit;
	}
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.s[0].hits, hits);
	assert_int_equal(st.walks, trc->n - hits);
	ref_free(&r);
	tlb_destroy(t);
}

static const uint64_t geometries[][2] = {
	{ 16, 1 },   /* direct-mapped */
	{ 64, 4 },   /* set-associative (Golden Cove L1 4K) */
	{ 32, 8 },
	{ 2048, 8 }, /* STLB-sized */
	{ 16, 16 },  /* fully associative */
	{ 64, 64 },  /* fully associative (Zen 3 L1) */
	{ 12, 12 },  /* fully associative, ways not a power of two */
	{ 256, 16 }, /* set-associative with many ways */
	{ 48, 48 },  /* fully associative, several fingerprint words, partial last word */
	{ 256, 128 },/* hash-indexed (more than 64 ways) */
};

static void run_policy_vs_reference(const char *repl, int refpol)
{
	for (size_t g = 0; g < sizeof geometries / sizeof geometries[0]; g++) {
		uint64_t entries = geometries[g][0], ways = geometries[g][1];
		struct trace tr[5];
		make_traces(tr, entries / ways, ways);
		static const char *names[5] = { "random", "cyclic-ways+1", "aliasing-stride",
						"loop+noise", "sequential" };
		for (int i = 0; i < 5; i++) {
			check_one_struct(repl, refpol, entries, ways, &tr[i], names[i]);
			trace_free(&tr[i]);
		}
	}
}

static void test_lru_matches_reference(void **state)
{
	(void)state;
	run_policy_vs_reference("lru", REF_LRU);
}

static void test_fifo_matches_reference(void **state)
{
	(void)state;
	run_policy_vs_reference("fifo", REF_FIFO);
}

static void test_srrip_matches_reference(void **state)
{
	(void)state;
	run_policy_vs_reference("srrip", REF_SRRIP);
}

/* Cyclic access to ways+1 lines of one set: LRU and FIFO never hit (hand). */
static void test_cyclic_thrash_never_hits(void **state)
{
	(void)state;
	const char *pols[2] = { "lru", "fifo" };
	for (int p = 0; p < 2; p++) {
		struct tlb_machine m;
		one_struct_machine(&m, 64, 4, pols[p], "4K");
		struct tlb *t = create_ok(&m);
		for (int rep = 0; rep < 100; rep++)
			for (int i = 0; i < 5; i++) /* 5 lines, stride 16 sets */
				acc(t, BASE_VA + (uint64_t)i * 16 * 4096, 12, false, NULL);
		struct tlb_stats st;
		tlb_get_stats(t, &st);
		assert_int_equal(st.s[0].hits, 0);
		assert_int_equal(st.walks, 500);
		/* every fill after the first 4 evicts */
		assert_int_equal(st.s[0].evictions, 496);
		tlb_destroy(t);
	}
}

/* LRU and FIFO differ on A B C D A E A (4-way set): hand-computed. */
static void test_lru_vs_fifo_hand(void **state)
{
	(void)state;
	/* lines of set 0 of a 4-set 4-way structure: page numbers multiple of 4 */
	const int seq[] = { 0, 1, 2, 3, 0, 4, 0 };
	/* LRU: A hit at 5th; E evicts B (LRU); A hits again.  FIFO: A hit at 5th;
	 * E evicts A (oldest fill); A misses. */
	const bool lru_hit[] = { 0, 0, 0, 0, 1, 0, 1 };
	const bool fifo_hit[] = { 0, 0, 0, 0, 1, 0, 0 };
	for (int p = 0; p < 2; p++) {
		struct tlb_machine m;
		one_struct_machine(&m, 16, 4, p ? "fifo" : "lru", "4K");
		struct tlb *t = create_ok(&m);
		for (int i = 0; i < 7; i++) {
			struct tlb_result res;
			acc(t, BASE_VA + (uint64_t)seq[i] * 4 * 4096, 12, false, &res);
			assert_int_equal(res.level == 1, p ? fifo_hit[i] : lru_hit[i]);
		}
		tlb_destroy(t);
	}
}

/* Random replacement: deterministic per seed; a set holding <= ways lines never misses again. */
static void test_random_replacement(void **state)
{
	(void)state;
	struct tlb_machine m;
	one_struct_machine(&m, 64, 4, "random", "4K");
	mset(&m, "mmu", "seed", "42");
	struct tlb *a = create_ok(&m);
	struct tlb *b = create_ok(&m);
	for (int i = 0; i < 50000; i++) {
		uint64_t va = BASE_VA + (rnd() % 200) * 4096;
		struct tlb_result ra, rb;
		acc(a, va, 12, false, &ra);
		acc(b, va, 12, false, &rb);
		assert_int_equal(ra.level, rb.level);
	}
	tlb_destroy(b);
	/* 4 lines per set for all 16 sets: only the 64 compulsory misses */
	tlb_reset(a);
	for (int rep = 0; rep < 20; rep++)
		for (int i = 0; i < 64; i++)
			acc(a, BASE_VA + (uint64_t)i * 4096, 12, false, NULL);
	struct tlb_stats st;
	tlb_get_stats(a, &st);
	assert_int_equal(st.walks, 64);
	assert_int_equal(st.s[0].evictions, 0);
	tlb_destroy(a);
}

/* A unified structure keeps 4K and 2M entries with the same VPN bits apart. */
static void test_unified_sizes_are_distinct(void **state)
{
	(void)state;
	struct tlb_machine m;
	one_struct_machine(&m, 64, 64, "lru", "4K,2M,1G");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	/* VPN 5 as a 4K page, as a 2M page and as a 1G page: three entries */
	acc(t, 5ull << 12, 12, false, &r);
	assert_int_equal(r.level, 0);
	acc(t, 5ull << 21, 21, false, &r);
	assert_int_equal(r.level, 0);
	acc(t, 5ull << 30, 30, false, &r);
	assert_int_equal(r.level, 0);
	acc(t, (5ull << 12) + 100, 12, false, &r);
	assert_int_equal(r.level, 1);
	acc(t, (5ull << 21) + (1 << 20), 21, false, &r); /* same 2M page, other offset */
	assert_int_equal(r.level, 1);
	acc(t, (5ull << 30) + (1 << 29), 30, false, &r);
	assert_int_equal(r.level, 1);
	tlb_destroy(t);
}

/* Mixed 4K/2M random trace through a unified set-associative structure vs reference. */
static void test_unified_matches_reference(void **state)
{
	(void)state;
	const uint64_t geo[][2] = { { 64, 4 }, { 32, 32 }, { 128, 2 } };
	for (int g = 0; g < 3; g++) {
		struct trace trc;
		trace_alloc(&trc, 30000);
		for (int i = 0; i < 30000; i++) {
			if (rnd() % 3 == 0)
				trc.va[i] = BASE_VA + (rnd() % (geo[g][0] * 2)) * (2ull << 20) + rnd() % 4096;
			else
				trc.va[i] = BASE_VA + (rnd() % (geo[g][0] * 3)) * 4096;
			trc.shift[i] = (rnd() % 3 == 0) ? 21 : 12;
		}
		trc.n = 30000;
		check_one_struct("lru", REF_LRU, geo[g][0], geo[g][1], &trc, "unified");
		check_one_struct("srrip", REF_SRRIP, geo[g][0], geo[g][1], &trc, "unified");
		trace_free(&trc);
	}
}

/* ------------------------------------------------------------------------ */
/* Two-level hierarchies vs reference                                        */

static void two_level_machine(struct tlb_machine *m, const char *l2fill, const char *l1e,
			      const char *l1w, const char *l2e, const char *l2w)
{
	tlb_machine_init(m);
	add_struct(m, "l1", "1", "4K", "all", l1e, l1w, "1", "lru", "miss");
	add_struct(m, "l2", "2", "4K", "all", l2e, l2w, "12", "lru", l2fill);
	mset(m, "walk", "latency", "30");
}

static void run_two_level(bool virtuoso, const char *l1e, const char *l1w, const char *l2e,
			  const char *l2w)
{
	struct tlb_machine m;
	two_level_machine(&m, virtuoso ? "eviction" : "miss", l1e, l1w, l2e, l2w);
	struct tlb *t = create_ok(&m);
	struct ref_cache r1, r2;
	uint64_t e1 = strtoull(l1e, NULL, 10), e2 = strtoull(l2e, NULL, 10);
	uint64_t w1 = strcmp(l1w, "full") ? strtoull(l1w, NULL, 10) : e1;
	uint64_t w2 = strcmp(l2w, "full") ? strtoull(l2w, NULL, 10) : e2;
	ref_init(&r1, REF_LRU, e1, w1);
	ref_init(&r2, REF_LRU, e2, w2);
	uint64_t n_l1 = 0, n_l2 = 0, n_walk = 0;
	for (int i = 0; i < 60000; i++) {
		uint64_t page;
		switch (rnd() % 4) {
		case 0:
			page = rnd() % (e1 + 2); /* near the L1 reach */
			break;
		case 1:
			page = rnd() % (e2 + e2 / 2); /* around the L2 reach */
			break;
		case 2:
			page = (rnd() % (2 * w2 + 1)) * (e2 / w2); /* aliasing in L2 set 0 */
			break;
		default:
			page = (uint64_t)(i / 8) % (2 * e2); /* sequential */
			break;
		}
		uint64_t va = BASE_VA + page * 4096;
		uint64_t key = ref_key(va, 12), vpn = va >> 12;
		int ref_level;
		if (ref_access_set(&r1, vpn % r1.sets, key, false, NULL)) {
			ref_level = 1;
		} else {
			bool l2hit = ref_access_set(&r2, vpn % r2.sets, key, false, NULL);
			ref_level = l2hit ? 2 : 0;
			uint64_t victim = 0;
			ref_access_set(&r1, vpn % r1.sets, key, true, &victim);
			if (virtuoso) {
				/* L2 takes only L1 victims (refreshing one already there) */
				if (victim)
					ref_access_set(&r2, ref_key_vpn(victim) % r2.sets, victim, true,
						       NULL);
			} else if (!l2hit) {
				ref_access_set(&r2, vpn % r2.sets, key, true, NULL);
			}
		}
		struct tlb_result res;
		acc(t, va, 12, false, &res);
		if (res.level != ref_level)
			fail_msg("%s L1 %s/%s L2 %s/%s: access %d page %llu: model level %d, "
				 "reference %d",
				 virtuoso ? "fill=eviction" : "fill=miss", l1e, l1w, l2e, l2w, i,
				 (unsigned long long)page, res.level, ref_level);
		n_l1 += ref_level == 1;
		n_l2 += ref_level == 2;
		n_walk += ref_level == 0;
	}
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.hits_by_level[0], n_l1);
	assert_int_equal(st.hits_by_level[1], n_l2);
	assert_int_equal(st.walks, n_walk);
	assert_true(n_l2 > 0); /* the traces do exercise the L2 */
	if (virtuoso)
		assert_int_equal(st.s[1].fills, 0);
	else
		assert_int_equal(st.s[1].victim_fills, 0);
	ref_free(&r1);
	ref_free(&r2);
	tlb_destroy(t);
}

static void test_two_level_fill_on_miss_matches_reference(void **state)
{
	(void)state;
	run_two_level(false, "16", "4", "128", "8");
	run_two_level(false, "8", "full", "64", "4");
	run_two_level(false, "4", "1", "32", "full");
}

static void test_virtuoso_fill_on_eviction_matches_reference(void **state)
{
	(void)state;
	run_two_level(true, "16", "4", "128", "8");
	run_two_level(true, "8", "full", "64", "4");
	run_two_level(true, "4", "1", "32", "full");
	run_two_level(true, "64", "4", "2048", "8"); /* mmu_base geometry */
}

/* Fill = eviction by hand: the L2 holds only what the L1 evicted. */
static void test_fill_on_eviction_hand(void **state)
{
	(void)state;
	struct tlb_machine m;
	two_level_machine(&m, "eviction", "2", "full", "8", "full");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	uint64_t A = BASE_VA, B = BASE_VA + 4096, C = BASE_VA + 8192;
	acc(t, A, 12, false, &r); /* walk; L1 {A}; L2 {} */
	assert_int_equal(r.level, 0);
	acc(t, B, 12, false, &r); /* walk; L1 {A,B} */
	assert_int_equal(r.level, 0);
	acc(t, C, 12, false, &r); /* walk; L1 evicts A -> L2 {A} */
	assert_int_equal(r.level, 0);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.s[1].victim_fills, 1);
	assert_int_equal(st.s[1].fills, 0);
	acc(t, A, 12, false, &r); /* L2 hit: 1 + 12 cycles; L1 evicts B -> L2 {A,B} */
	assert_int_equal(r.level, 2);
	assert_int_equal(r.cycles, 13);
	acc(t, B, 12, false, &r); /* L2 hit; L1 evicts C -> L2 {A,B,C} */
	assert_int_equal(r.level, 2);
	acc(t, A, 12, false, &r); /* L1 hit (A came back to L1 two steps ago) */
	assert_int_equal(r.level, 1);
	acc(t, C, 12, false, &r); /* L2 hit; L1 evicts B (A was just used), already in L2:
				     refreshed, not duplicated */
	assert_int_equal(r.level, 2);
	tlb_get_stats(t, &st);
	assert_int_equal(st.s[1].victim_fills, 4);
	assert_int_equal(st.s[1].evictions, 0); /* 3 distinct pages in 8 entries */
	assert_int_equal(st.walks, 3);
	tlb_destroy(t);
}

/* ------------------------------------------------------------------------ */
/* Latencies, PWC and walks, by hand                                        */

static void test_latency_by_level_hand(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "4", "full", "1", "lru", "miss");
	add_struct(&m, "l2", "2", "4K", "all", "16", "4", "12", "lru", "miss");
	mset(&m, "walk", "latency", "100");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	/* miss: L1 1 + L2 12 + 4 levels x 100 */
	assert_int_equal(acc(t, BASE_VA, 12, false, &r), 413);
	assert_int_equal(r.walk_cycles, 400);
	assert_int_equal(r.pte_reads, 4);
	assert_int_equal(r.level, 0);
	assert_int_equal(r.structure, TLB_NONE);
	assert_int_equal(acc(t, BASE_VA + 8, 12, false, &r), 1);
	assert_int_equal(r.level, 1);
	assert_int_equal(r.structure, 0);
	for (int i = 1; i <= 4; i++) /* push BASE_VA out of the 4-entry L1 */
		acc(t, BASE_VA + (uint64_t)i * 4096, 12, false, NULL);
	assert_int_equal(acc(t, BASE_VA, 12, false, &r), 13);
	assert_int_equal(r.level, 2);
	assert_int_equal(r.structure, 1);
	/* 2M pages: no structure holds them, every access walks 3 levels */
	assert_int_equal(acc(t, BASE_VA, 21, false, &r), 1 + 12 + 300);
	assert_int_equal(acc(t, BASE_VA, 21, false, &r), 1 + 12 + 300);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.translation_cycles, 413 + 1 + 4 * 413 + 13 + 2 * 313);
	assert_int_equal(st.tlb_cycles, 13 + 1 + 4 * 13 + 13 + 2 * 13);
	assert_int_equal(st.walk_cycles, 5 * 400 + 2 * 300);
	assert_int_equal(st.walks_by_size[0], 5);
	assert_int_equal(st.walks_by_size[1], 2);
	tlb_destroy(t);
}

static void pwc_machine(struct tlb_machine *m, const char *tag)
{
	tlb_machine_init(m);
	/* one-entry L1 so (almost) every access walks */
	add_struct(m, "l1", "1", "4K,2M,1G", "all", "1", "1", "1", "lru", "miss");
	mset(m, "pwc", "entries", "4");
	mset(m, "pwc", "ways", "full");
	mset(m, "pwc", "latency", "2");
	mset(m, "pwc", "tag", tag);
	mset(m, "walk", "pml4e_latency", "10");
	mset(m, "walk", "pdpte_latency", "20");
	mset(m, "walk", "pde_latency", "30");
	mset(m, "walk", "pte_latency", "40");
}

static void check_pwc_sequence(const char *tag)
{
	struct tlb_machine m;
	pwc_machine(&m, tag);
	struct tlb *t = create_ok(&m);
	const uint64_t G512 = 1ull << 39, G1 = 1ull << 30, M2 = 1ull << 21, K4 = 1ull << 12;
	const uint64_t A = G512 + G1 + M2 + K4;
	struct {
		uint64_t va;
		unsigned shift;
		uint32_t cycles;
		int reads;
		int pwc_hit;
	} steps[] = {
		/* cold: 1 + 2 + 10+20+30+40 */
		{ A, 12, 103, 4, -1 },
		/* same 2M region: PDE-cache hit, read the PTE only */
		{ A + K4, 12, 1 + 2 + 40, 1, 2 },
		/* same 1G region: PDPTE hit, read PDE + PTE */
		{ A + M2, 12, 1 + 2 + 30 + 40, 2, 1 },
		/* same 512G region: PML4E hit, read PDPTE + PDE + PTE */
		{ A + G1, 12, 1 + 2 + 20 + 30 + 40, 3, 0 },
		/* other 512G region: no hit */
		{ A + G512, 12, 103, 4, -1 },
		/* back to A's 2M region: its PDE is still cached (4 entries, 4 regions) */
		{ A + K4, 12, 1 + 2 + 40, 1, 2 },
		/* 2M page in a new 1G region of A's 512G: PDE cache not used (the PDE is the
		 * leaf), PDPTE misses, PML4E hits: read PDPTE + PDE */
		{ A + 2 * G1, 21, 1 + 2 + 20 + 30, 2, 0 },
		/* 1G page in a new 512G region: read PML4E + PDPTE */
		{ 5 * G512, 30, 1 + 2 + 10 + 20, 2, -1 },
		/* another 1G page there: PML4E hit, read the PDPTE only */
		{ 5 * G512 + G1, 30, 1 + 2 + 20, 1, 0 },
	};
	uint32_t total = 0, reads = 0;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct tlb_result r;
		uint32_t c = acc(t, steps[i].va, steps[i].shift, false, &r);
		if (c != steps[i].cycles || r.pte_reads != steps[i].reads ||
		    r.pwc_hit != steps[i].pwc_hit)
			fail_msg("tag=%s step %zu: cycles %u reads %u pwc_hit %d, expected %u %d %d",
				 tag, i, c, r.pte_reads, r.pwc_hit, steps[i].cycles, steps[i].reads,
				 steps[i].pwc_hit);
		assert_int_equal(r.level, 0);
		assert_int_equal(r.walk_cycles, c - 1);
		total += c;
		reads += r.pte_reads;
	}
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	/* probes, deepest first, stopping at the first hit (see the steps above) */
	assert_int_equal(st.pwc_lookups[2], 6); /* the six 4K walks */
	assert_int_equal(st.pwc_hits[2], 2);
	assert_int_equal(st.pwc_lookups[1], 5); /* 4K walks missing the PDE cache + the 2M walk */
	assert_int_equal(st.pwc_hits[1], 1);
	assert_int_equal(st.pwc_lookups[0], 6);
	assert_int_equal(st.pwc_hits[0], 3);
	assert_int_equal(st.walks, 9);
	assert_int_equal(st.pte_reads, reads);
	assert_int_equal(st.pte_reads, 20);
	assert_int_equal(st.translation_cycles, total);
	assert_int_equal(st.translation_cycles, 567);
	assert_int_equal(st.tlb_cycles, 9);
	tlb_destroy(t);
}

static void test_pwc_skipping_hand(void **state)
{
	(void)state;
	check_pwc_sequence("va");
}

/* With a radix-like table (unique entry addresses per prefix) pte tagging behaves the same. */
static void test_pwc_pte_tag_hand(void **state)
{
	(void)state;
	check_pwc_sequence("pte");
	/* and it follows the entry address, not the virtual address */
	struct tlb_machine m;
	pwc_machine(&m, "pte");
	struct tlb *t = create_ok(&m);
	struct tlb_translation tr = tr_of(BASE_VA, 12);
	struct tlb_result r;
	tlb_access(t, BASE_VA, false, &tr, &r);
	assert_int_equal(r.pwc_hit, -1);
	/* a far address whose walk reads the same non-leaf entries: PDE-cache hit */
	tlb_access(t, BASE_VA + (7ull << 39), false, &tr, &r);
	assert_int_equal(r.pwc_hit, 2);
	assert_int_equal(r.cycles, 1 + 2 + 40);
	tlb_destroy(t);
}

/* PWC eviction: 2-entry PDE cache, LRU. */
static void test_pwc_lru_eviction_hand(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "1", "1", "0", "lru", "miss");
	mset(&m, "pwc", "pde_entries", "2");
	mset(&m, "pwc", "pde_ways", "2");
	mset(&m, "walk", "latency", "10");
	struct tlb *t = create_ok(&m);
	const uint64_t M2 = 1ull << 21;
	struct tlb_result r;
	/* regions R0, R1, R2 (2M each); PDE cache holds two */
	acc(t, BASE_VA, 12, false, &r); /* R0 miss -> {R0} */
	assert_int_equal(r.cycles, 40);
	acc(t, BASE_VA + M2, 12, false, &r); /* R1 miss -> {R0,R1} */
	assert_int_equal(r.cycles, 40);
	acc(t, BASE_VA + 4096, 12, false, &r); /* R0 hit (touch) */
	assert_int_equal(r.cycles, 10);
	acc(t, BASE_VA + 2 * M2, 12, false, &r); /* R2 miss, evicts R1 (LRU) */
	assert_int_equal(r.cycles, 40);
	acc(t, BASE_VA + M2 + 4096, 12, false, &r); /* R1 miss again, evicts R0 */
	assert_int_equal(r.cycles, 40);
	acc(t, BASE_VA + 2 * M2 + 4096, 12, false, &r); /* R2 hit */
	assert_int_equal(r.cycles, 10);
	/* no PML4E / PDPTE caches configured: only the PDE level is probed */
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.pwc_lookups[0], 0);
	assert_int_equal(st.pwc_lookups[1], 0);
	assert_int_equal(st.pwc_lookups[2], 6);
	assert_int_equal(st.pwc_hits[2], 2);
	tlb_destroy(t);
}

/* Separate load / store L1 DTLBs and a shared L2. */
/*
 * [walk] memory = cache. Translations are built by hand so that every line
 * and set is known: for page k the PML4E is at 0x1000 (line 64, set 0 of 4),
 * the PDPTE at 0x2040 (line 129, set 1), the PDE at 0x3080 (line 194, set 2),
 * the PTE at 0x40c0 + 8k (line 259 + k/8, set (3 + k/8) mod 4).
 */
static struct tlb_translation hand_tr(uint64_t k)
{
	struct tlb_translation tr;
	memset(&tr, 0, sizeof tr);
	tr.page_shift = 12;
	tr.levels = 4;
	tr.pte_paddr[0] = 0x1000;
	tr.pte_paddr[1] = 0x2040;
	tr.pte_paddr[2] = 0x3080;
	tr.pte_paddr[3] = 0x40c0 + 8 * k;
	return tr;
}

static void cache_machine(struct tlb_machine *m, const char *sets, const char *ways)
{
	tlb_machine_init(m);
	/* one-entry L1: every access to another page walks */
	add_struct(m, "l1", "1", "4K", "all", "1", "1", "1", "lru", "miss");
	mset(m, "walk", "memory", "cache");
	mset(m, "walk", "cache_sets", sets);
	mset(m, "walk", "cache_ways", ways);
	mset(m, "walk", "cache_line", "64");
	mset(m, "walk", "cache_hit_latency", "3");
	mset(m, "walk", "cache_miss_latency", "50");
	mset(m, "walk", "latency", "1000"); /* ignored with memory = cache */
}

static uint32_t hand_acc(struct tlb *t, uint64_t k, struct tlb_result *r)
{
	struct tlb_translation tr = hand_tr(k);
	return tlb_access(t, BASE_VA + k * 4096, false, &tr, r);
}

static void test_pte_cache_hand(void **state)
{
	(void)state;
	struct tlb_machine m;
	cache_machine(&m, "4", "2");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	static const struct {
		uint64_t k;
		uint32_t cycles;
		unsigned hits;
	} steps[] = {
		/* cold: four misses, 1 + 4 x 50 */
		{ 0, 201, 0 },
		/* next page: the same upper entries, its PTE in the same line: 1 + 4 x 3 */
		{ 1, 13, 4 },
		/* page 8: PTE line 260 (set 0, beside the PML4E's line 64): 1 + 3 x 3 + 50 */
		{ 8, 60, 3 },
		/* page 40: PTE line 264, set 0 again; line 64 was just used, so the LRU
		 * victim of the 2-way set is line 260 */
		{ 40, 60, 3 },
		/* page 8 again: line 260 was evicted; now 264 is the LRU one */
		{ 8, 60, 3 },
		/* page 0: line 259 sits alone in set 3 */
		{ 0, 13, 4 },
	};
	uint32_t total = 0;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		uint32_t c = hand_acc(t, steps[i].k, &r);
		if (c != steps[i].cycles || r.pte_cache_hits != steps[i].hits)
			fail_msg("step %zu (page %llu): %u cycles, %u PTE-cache hits; expected %u, %u",
				 i, (unsigned long long)steps[i].k, c, r.pte_cache_hits,
				 steps[i].cycles, steps[i].hits);
		assert_int_equal(r.pte_reads, 4);
		assert_int_equal(r.walk_cycles, c - 1);
		total += c;
	}
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.walks, 6);
	assert_int_equal(st.pte_reads, 24);
	assert_int_equal(st.pte_cache_hits, 0 + 4 + 3 + 3 + 3 + 4);
	assert_int_equal(st.pte_cache_misses, 4 + 0 + 1 + 1 + 1 + 0);
	assert_int_equal(st.translation_cycles, total);
	assert_int_equal(st.translation_cycles, 407);
	/* a TLB hit reads nothing */
	assert_int_equal(hand_acc(t, 0, &r), 1);
	assert_int_equal(r.pte_cache_hits, 0);
	/* flushing the TLBs leaves the data cache warm (SDM 4.10.4) */
	tlb_flush(t);
	assert_int_equal(hand_acc(t, 1, &r), 13);
	/* tlb_reset empties it */
	tlb_reset(t);
	assert_int_equal(hand_acc(t, 1, &r), 201);
	tlb_destroy(t);

	/* three ways hold lines 64, 260 and 264 of set 0: pages 8 and 40 both stay */
	cache_machine(&m, "4", "3");
	t = create_ok(&m);
	for (size_t i = 0; i < 4; i++)
		hand_acc(t, steps[i].k, NULL);
	assert_int_equal(hand_acc(t, 8, &r), 13);
	/* one fully associative 4-line set (sets = 1): lines 64, 129, 194, 259 fill it;
	 * page 8's line 260 evicts the LRU line, which is 259 (read last at page 1,
	 * before 64, 129 and 194 were read again at page 8) */
	tlb_destroy(t);
	cache_machine(&m, "1", "4");
	t = create_ok(&m);
	assert_int_equal(hand_acc(t, 0, &r), 201);
	assert_int_equal(hand_acc(t, 1, &r), 13);
	assert_int_equal(hand_acc(t, 8, &r), 60);
	assert_int_equal(hand_acc(t, 0, &r), 60);
	tlb_destroy(t);

	/* memory = fixed on the same walks: 1 + 4 x 1000, whatever was read before */
	cache_machine(&m, "4", "2");
	mset(&m, "walk", "memory", "fixed");
	t = create_ok(&m);
	assert_int_equal(hand_acc(t, 0, &r), 4001);
	assert_int_equal(hand_acc(t, 1, &r), 4001);
	assert_int_equal(r.pte_cache_hits, 0);
	tlb_get_stats(t, &st);
	assert_int_equal(st.pte_cache_hits + st.pte_cache_misses, 0);
	tlb_destroy(t);
}

/* PWC hits skip entries, so only the entries read go through the PTE cache. */
static void test_pte_cache_with_pwc(void **state)
{
	(void)state;
	struct tlb_machine m;
	cache_machine(&m, "4", "2");
	mset(&m, "pwc", "entries", "4");
	mset(&m, "pwc", "ways", "full");
	mset(&m, "pwc", "latency", "2");
	mset(&m, "pwc", "tag", "pte");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	/* cold: PWC probes miss (2 cycles once), four cache misses */
	assert_int_equal(hand_acc(t, 0, &r), 1 + 2 + 4 * 50);
	/* page 8: PDE-cache hit, only the PTE is read: a miss on line 260 */
	assert_int_equal(hand_acc(t, 8, &r), 1 + 2 + 50);
	assert_int_equal(r.pwc_hit, 2);
	assert_int_equal(r.pte_reads, 1);
	assert_int_equal(r.pte_cache_hits, 0);
	/* page 1: PDE-cache hit, PTE line 259 still cached */
	assert_int_equal(hand_acc(t, 1, &r), 1 + 2 + 3);
	assert_int_equal(r.pte_cache_hits, 1);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.pte_reads, 6);
	assert_int_equal(st.pte_cache_hits, 1);
	assert_int_equal(st.pte_cache_misses, 5);
	tlb_destroy(t);
}

static void test_load_store_split(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "ld", "1", "4K", "load", "4", "full", "1", "lru", "miss");
	add_struct(&m, "st", "1", "4K", "store", "2", "full", "3", "lru", "miss");
	add_struct(&m, "l2", "2", "4K", "all", "16", "4", "10", "lru", "miss");
	mset(&m, "walk", "latency", "50");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	assert_int_equal(acc(t, BASE_VA, 12, false, &r), 1 + 10 + 200); /* load walk */
	assert_int_equal(acc(t, BASE_VA, 12, true, &r), 3 + 10); /* store: L1 store miss, L2 hit */
	assert_int_equal(r.level, 2);
	assert_int_equal(acc(t, BASE_VA, 12, false, &r), 1); /* load DTLB hit */
	assert_int_equal(r.structure, 0);
	assert_int_equal(acc(t, BASE_VA, 12, true, &r), 3); /* store DTLB hit */
	assert_int_equal(r.structure, 1);
	assert_int_equal(acc(t, BASE_VA + 4096, 12, true, &r), 3 + 10 + 200); /* store walk */
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.loads, 2);
	assert_int_equal(st.stores, 3);
	assert_int_equal(st.s[0].accesses, 2);
	assert_int_equal(st.s[1].accesses, 3);
	assert_int_equal(st.s[2].accesses, 3); /* load walk, store L2 hit, store walk */
	tlb_destroy(t);
}

/* Two structures sharing 4K pages at one level are banked by the low VPN bit. */
static void test_banked_structures_capacity(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "a", "1", "4K,2M", "all", "1024", "8", "1", "lru", "miss");
	add_struct(&m, "b", "1", "4K,1G", "all", "1024", "8", "1", "lru", "miss");
	struct tlb *t = create_ok(&m);
	struct tlb_stats st;
	/* 2048 consecutive 4K pages fill both arrays exactly (bank = VPN bit 0, set = next 7
	 * bits: 8 pages per set per bank): a second pass hits everywhere */
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < 2048; i++)
			acc(t, i * 4096, 12, false, NULL);
	tlb_get_stats(t, &st);
	assert_int_equal(st.walks, 2048);
	assert_int_equal(st.s[0].hits, 1024);
	assert_int_equal(st.s[1].hits, 1024);
	/* 2049 pages: VPN 2048 goes to bank 0 set 0, which now has 9 lines in 8 ways;
	 * cyclic LRU thrashes that set only: 9 misses per pass */
	tlb_reset(t);
	for (int pass = 0; pass < 3; pass++)
		for (uint64_t i = 0; i < 2049; i++)
			acc(t, i * 4096, 12, false, NULL);
	tlb_get_stats(t, &st);
	assert_int_equal(st.walks, 2049 + 2 * 9);
	/* 2M pages live only in "a": 1024 fit, 1025 thrash one set */
	tlb_reset(t);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < 1025; i++)
			acc(t, i << 21, 21, false, NULL);
	tlb_get_stats(t, &st);
	assert_int_equal(st.walks, 1025 + 9);
	assert_int_equal(st.s[1].accesses, 0);
	/* 1G pages only in "b" */
	acc(t, 3ull << 30, 30, false, NULL);
	tlb_get_stats(t, &st);
	assert_int_equal(st.s[1].accesses, 1);
	tlb_destroy(t);
}

/* Timed accesses queue for walkers. */
static void test_walkers_queue(void **state)
{
	(void)state;
	for (int walkers = 1; walkers <= 2; walkers++) {
		struct tlb_machine m;
		tlb_machine_init(&m);
		add_struct(&m, "l1", "1", "4K", "all", "1", "1", "1", "lru", "miss");
		mset(&m, "walk", "latency", "100");
		mset(&m, "walk", "walkers", walkers == 1 ? "1" : "2");
		struct tlb *t = create_ok(&m);
		struct tlb_translation tx = tr_of(BASE_VA, 12), ty = tr_of(BASE_VA + 4096, 12);
		struct tlb_translation tz = tr_of(BASE_VA + 8192, 12);
		struct tlb_result r;
		/* walk starts at cycle 1 and holds a walker until 401 */
		assert_int_equal(tlb_access_at(t, 0, BASE_VA, false, &tx, &r), 401);
		/* second miss at cycle 0: with one walker it waits 400 cycles */
		uint32_t c = tlb_access_at(t, 0, BASE_VA + 4096, false, &ty, &r);
		assert_int_equal(c, walkers == 1 ? 801 : 401);
		assert_int_equal(r.walk_cycles, walkers == 1 ? 800 : 400);
		/* much later: all walkers free */
		assert_int_equal(tlb_access_at(t, 5000, BASE_VA + 8192, false, &tz, &r), 401);
		struct tlb_stats st;
		tlb_get_stats(t, &st);
		assert_int_equal(st.queue_cycles, walkers == 1 ? 400 : 0);
		/* untimed accesses never queue */
		tlb_reset(t);
		assert_int_equal(tlb_access(t, BASE_VA, false, &tx, NULL), 401);
		assert_int_equal(tlb_access(t, BASE_VA + 4096, false, &ty, NULL), 401);
		tlb_destroy(t);
	}
}

/* ------------------------------------------------------------------------ */
/* Invalidation, reset, statistics, allocation                              */

static void test_invalidate_and_flush(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K,2M", "all", "16", "full", "1", "lru", "miss");
	mset(&m, "pwc", "entries", "8");
	mset(&m, "pwc", "ways", "2");
	mset(&m, "walk", "latency", "10");
	struct tlb *t = create_ok(&m);
	struct tlb_result r;
	const uint64_t H = BASE_VA + (64ull << 21); /* a 2M page */
	for (int i = 0; i < 4; i++)
		acc(t, BASE_VA + (uint64_t)i * 4096, 12, false, NULL);
	acc(t, H, 21, false, NULL);
	/* drop page 1 only (a 1-byte range inside it) */
	tlb_invalidate(t, BASE_VA + 4096 + 100, 1);
	acc(t, BASE_VA + 4096, 12, false, &r);
	assert_int_equal(r.level, 0);
	/* PWCs were flushed: the walk reads all 4 levels */
	assert_int_equal(r.pte_reads, 4);
	acc(t, BASE_VA, 12, false, &r);
	assert_int_equal(r.level, 1);
	acc(t, BASE_VA + 2 * 4096, 12, false, &r);
	assert_int_equal(r.level, 1);
	/* a 4K range inside the 2M page drops the 2M entry */
	tlb_invalidate(t, H + 5 * 4096, 4096);
	acc(t, H, 21, false, &r);
	assert_int_equal(r.level, 0);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(st.invalidations, 2);
	/* a range ending at the start of a page does not touch it */
	tlb_invalidate(t, BASE_VA - 4096, 4096);
	acc(t, BASE_VA, 12, false, &r);
	assert_int_equal(r.level, 1);
	/* flush: everything misses, and the PWCs are empty */
	tlb_flush(t);
	acc(t, BASE_VA, 12, false, &r);
	assert_int_equal(r.level, 0);
	assert_int_equal(r.pte_reads, 4);
	acc(t, BASE_VA + 3 * 4096, 12, false, &r);
	assert_int_equal(r.level, 0);
	assert_int_equal(r.pte_reads, 1); /* PDE cache refilled by the walk just before */
	tlb_destroy(t);
}


/* Random accesses mixed with single-page invalidations agree with the reference. */
static void test_invalidate_matches_reference(void **state)
{
	(void)state;
	const char *pols[3] = { "lru", "fifo", "srrip" };
	const int refpols[3] = { REF_LRU, REF_FIFO, REF_SRRIP };
	const uint64_t geo[][2] = { { 64, 4 },   { 16, 16 }, { 32, 8 },   { 256, 16 },
				    { 8, 1 },    { 40, 40 }, { 256, 128 } };
	for (int p = 0; p < 3; p++)
		for (int g = 0; g < 7; g++) {
			uint64_t entries = geo[g][0], ways = geo[g][1];
			struct tlb_machine m;
			one_struct_machine(&m, entries, ways, pols[p], "4K");
			struct tlb *t = create_ok(&m);
			struct ref_cache r;
			ref_init(&r, refpols[p], entries, ways);
			for (int i = 0; i < 40000; i++) {
				uint64_t va = BASE_VA + (rnd() % (2 * entries)) * 4096;
				uint64_t vpn = va >> 12;
				if (rnd() % 5 == 0) {
					tlb_invalidate(t, va, 4096);
					ref_remove(&r, vpn % r.sets, ref_key(va, 12));
					continue;
				}
				struct tlb_result res;
				acc(t, va, 12, false, &res);
				bool ref_hit = ref_access(&r, va, 12, NULL);
				if ((res.level == 1) != ref_hit)
					fail_msg("%s %llu/%llu: step %d: model %s, reference %s", pols[p],
						 (unsigned long long)entries, (unsigned long long)ways, i,
						 res.level == 1 ? "hit" : "miss", ref_hit ? "hit" : "miss");
			}
			ref_free(&r);
			tlb_destroy(t);
		}
}

static void load_machine_or_fail(const char *name, struct tlb_machine *m);

/* Reset returns to the created state: the same trace gives the same results. */
static void test_reset_reproduces(void **state)
{
	(void)state;
	struct tlb_machine m;
	load_machine_or_fail("golden_cove", &m);
	for (uint32_t i = 0; i < m.nstructs; i++)
		m.s[i].repl = (i % 2) ? TLB_REPL_RANDOM : TLB_REPL_SRRIP;
	struct tlb *t = create_ok(&m);
	enum { N = 30000 };
	static uint64_t va[N];
	static uint32_t first[N];
	for (int i = 0; i < N; i++)
		va[i] = BASE_VA + (rnd() % 6000) * 4096;
	for (int i = 0; i < N; i++)
		first[i] = acc(t, va[i], (va[i] >> 20) & 1 ? 21 : 12, i & 1, NULL);
	struct tlb_stats s1, s2;
	tlb_get_stats(t, &s1);
	tlb_reset(t);
	struct tlb_stats z;
	tlb_get_stats(t, &z);
	assert_int_equal(z.accesses, 0);
	assert_int_equal(z.s[0].accesses, 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(acc(t, va[i], (va[i] >> 20) & 1 ? 21 : 12, i & 1, NULL), first[i]);
	tlb_get_stats(t, &s2);
	assert_memory_equal(&s1, &s2, sizeof s1);
	tlb_destroy(t);
}

/* Counters are consistent with each other and with the returned cycles. */
static void test_stats_consistency(void **state)
{
	(void)state;
	const char *names[] = { "golden_cove", "zen3", "virtuoso_mmu_base" };
	for (int k = 0; k < 3; k++) {
		struct tlb_machine m;
		load_machine_or_fail(names[k], &m);
		struct tlb *t = create_ok(&m);
		uint64_t sum = 0;
		for (int i = 0; i < 100000; i++) {
			uint64_t va = BASE_VA + (rnd() % 20000) * 4096 + (rnd() % 4096);
			unsigned sh = (va >> 26) & 1 ? 21 : 12;
			sum += acc(t, va, sh, rnd() % 4 == 0, NULL);
		}
		struct tlb_stats st;
		tlb_get_stats(t, &st);
		assert_int_equal(st.accesses, 100000);
		assert_int_equal(st.loads + st.stores, st.accesses);
		uint64_t hits = 0;
		for (unsigned l = 0; l < TLB_MAX_LEVELS; l++)
			hits += st.hits_by_level[l];
		assert_int_equal(hits + st.walks, st.accesses);
		assert_int_equal(st.walks_by_size[0] + st.walks_by_size[1] + st.walks_by_size[2],
				 st.walks);
		assert_int_equal(st.translation_cycles, sum);
		assert_int_equal(st.tlb_cycles + st.walk_cycles, sum);
		for (uint32_t i = 0; i < st.nstructs; i++)
			assert_int_equal(st.s[i].hits + st.s[i].misses, st.s[i].accesses);
		assert_true(st.walks_pmpa > 0);
		double expect = (double)st.walks * 1e6 / (double)st.accesses;
		assert_true(st.walks_pmpa > expect * 0.999999 && st.walks_pmpa < expect * 1.000001);
		tlb_reset_stats(t);
		tlb_get_stats(t, &st);
		assert_int_equal(st.accesses, 0);
		assert_int_equal(st.walks, 0);
		tlb_destroy(t);
	}
}

/* One allocation at creation, none after, one free of the same size. */
static void test_allocation_only_at_create(void **state)
{
	(void)state;
	struct tlb_machine m;
	load_machine_or_fail("golden_cove", &m);
	struct counting_alloc c = { 0 };
	struct tlb_allocator a = { ca_zalloc, ca_free, &c };
	char err[256];
	struct tlb *t = tlb_create(&m, &a, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(c.zallocs, 1);
	assert_int_equal(c.live_bytes, tlb_footprint(&m));
	for (int i = 0; i < 200000; i++)
		acc(t, BASE_VA + (rnd() % 100000) * 4096, 12, i & 1, NULL);
	tlb_invalidate(t, BASE_VA, 1ull << 30);
	tlb_flush(t);
	tlb_reset(t);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	assert_int_equal(c.zallocs, 1);
	assert_int_equal(c.frees, 0);
	tlb_destroy(t);
	assert_int_equal(c.frees, 1);
	assert_int_equal(c.last_free_bytes, tlb_footprint(&m));
	assert_int_equal(c.live_bytes, 0);
	tlb_destroy(NULL);
}

/* The machine description is copied at creation. */
static void test_machine_copied(void **state)
{
	(void)state;
	struct tlb_machine m;
	one_struct_machine(&m, 64, 4, "lru", "4K");
	mset(&m, "mmu", "name", "copy-me");
	struct tlb *t = create_ok(&m);
	memset(&m, 0xa5, sizeof m);
	assert_string_equal(tlb_machine_of(t)->name, "copy-me");
	assert_int_equal(tlb_machine_of(t)->s[0].entries, 64);
	tlb_destroy(t);
}

/* ------------------------------------------------------------------------ */
/* Validation and the setter                                                */

/* Expect validation (or creation) of m to fail with a message containing a and b. */
static void expect_invalid(const struct tlb_machine *m, const char *a, const char *b)
{
	char err[256] = "";
	assert_int_equal(tlb_machine_validate(m, err, sizeof err), -1);
	if (!strstr(err, a) || (b && !strstr(err, b)))
		fail_msg("error '%s' does not mention '%s' / '%s'", err, a, b ? b : "");
	char err2[256] = "";
	assert_null(tlb_create(m, &g_alloc, err2, sizeof err2));
	assert_string_equal(err, err2);
	assert_int_equal(tlb_footprint(m), 0);
}

static void expect_set_error(struct tlb_machine *m, const char *sec, const char *key,
			     const char *val, const char *a, const char *b)
{
	char err[256] = "";
	assert_int_equal(tlb_machine_set(m, sec, key, val, err, sizeof err), -1);
	if (!strstr(err, a) || (b && !strstr(err, b)))
		fail_msg("set %s.%s=%s: error '%s' does not mention '%s' / '%s'", sec, key, val,
			 err, a, b ? b : "");
}

static void test_validation_errors(void **state)
{
	(void)state;
	struct tlb_machine m;

	tlb_machine_init(&m);
	expect_invalid(&m, "no TLB structure", NULL);

	/* entries not divisible by ways */
	one_struct_machine(&m, 48, 5, "lru", "4K");
	expect_invalid(&m, "tlb.t.entries", "not divisible by 5 ways");

	/* sets not a power of two */
	one_struct_machine(&m, 48, 4, "lru", "4K");
	expect_invalid(&m, "tlb.t.ways", "= 12 is not a power of two");

	/* ways above entries */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.s[0].ways = 16;
	expect_invalid(&m, "tlb.t.ways", "more than the 8 entries");

	/* zero entries (set directly) */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.s[0].entries = 0;
	expect_invalid(&m, "tlb.t.entries", "0 entries");

	/* ways never set */
	tlb_machine_init(&m);
	mset(&m, "tlb.x", "level", "1");
	mset(&m, "tlb.x", "page_sizes", "4K");
	mset(&m, "tlb.x", "entries", "8");
	expect_invalid(&m, "tlb.x.ways", "not set");

	/* level never set */
	tlb_machine_init(&m);
	mset(&m, "tlb.x", "entries", "8");
	mset(&m, "tlb.x", "ways", "2");
	mset(&m, "tlb.x", "page_sizes", "4K");
	expect_invalid(&m, "tlb.x.level", "not set");

	/* page sizes never set */
	tlb_machine_init(&m);
	mset(&m, "tlb.x", "entries", "8");
	mset(&m, "tlb.x", "ways", "2");
	mset(&m, "tlb.x", "level", "1");
	expect_invalid(&m, "tlb.x.page_sizes", "not set");

	/* out-of-range enums written directly */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.s[0].repl = (enum tlb_repl)9;
	expect_invalid(&m, "tlb.t.replacement", "unknown replacement");
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.s[0].fill = (enum tlb_fill)7;
	expect_invalid(&m, "tlb.t.fill", "unknown fill");

	/* fill = eviction on the first level of a path */
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "8", "2", "1", "lru", "eviction");
	expect_invalid(&m, "tlb.l1.fill", "first level");

	/* ... also when only one path lacks a level above */
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "load", "8", "2", "1", "lru", "miss");
	add_struct(&m, "l2", "2", "4K", "all", "64", "4", "9", "lru", "eviction");
	expect_invalid(&m, "tlb.l2.fill", "store path");

	/* three structures share 4K pages at one level: not a power of two */
	tlb_machine_init(&m);
	add_struct(&m, "a", "1", "4K", "all", "8", "2", "1", "lru", "miss");
	add_struct(&m, "b", "1", "4K", "all", "8", "2", "1", "lru", "miss");
	add_struct(&m, "c", "1", "4K,2M", "all", "8", "2", "1", "lru", "miss");
	expect_invalid(&m, "tlb.a.page_sizes", "3 structures hold 4K pages");

	/* banked structures mixing fill policies */
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "8", "2", "1", "lru", "miss");
	add_struct(&m, "a", "2", "4K", "all", "8", "2", "1", "lru", "miss");
	add_struct(&m, "b", "2", "4K", "all", "8", "2", "1", "lru", "eviction");
	expect_invalid(&m, "tlb.b.fill", "share the fill policy");

	/* PWC geometry */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	mset(&m, "pwc", "pde_entries", "24");
	mset(&m, "pwc", "pde_ways", "4");
	expect_invalid(&m, "pwc.pde_ways", "= 6 is not a power of two");
	one_struct_machine(&m, 8, 4, "lru", "4K");
	mset(&m, "pwc", "pdpte_entries", "10");
	mset(&m, "pwc", "pdpte_ways", "4");
	expect_invalid(&m, "pwc.pdpte_entries", "not divisible by 4 ways");
	one_struct_machine(&m, 8, 4, "lru", "4K");
	mset(&m, "pwc", "pml4e_entries", "4");
	expect_invalid(&m, "pwc.pml4e_ways", "not set");

	/* latency bound, walkers */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	mset(&m, "walk", "pte_latency", "2000000");
	expect_invalid(&m, "walk.pte_latency", "above");
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.walkers = 0;
	expect_invalid(&m, "walk.walkers", "1..64");

	/* duplicate names written directly */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	m.s[1] = m.s[0];
	m.nstructs = 2;
	expect_invalid(&m, "tlb.t", "duplicate");

	/* creation without an allocator */
	one_struct_machine(&m, 8, 4, "lru", "4K");
	char err[128];
	assert_null(tlb_create(&m, NULL, err, sizeof err));
	assert_non_null(strstr(err, "allocator"));
	/* a NULL / zero-size message buffer is fine */
	assert_int_equal(tlb_machine_validate(&m, NULL, 0), 0);
	m.s[0].entries = 0;
	assert_int_equal(tlb_machine_validate(&m, NULL, 0), -1);
}

static void test_setter_errors(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	expect_set_error(&m, "tlb.bad", "entries", "0", "tlb.bad.entries", "0 entries");
	expect_set_error(&m, "tlb.bad", "entries", "64x", "tlb.bad.entries", "'64x'");
	expect_set_error(&m, "tlb.bad", "entries", "-4", "tlb.bad.entries", NULL);
	expect_set_error(&m, "tlb.bad", "entries", "99999999999", "tlb.bad.entries", NULL);
	expect_set_error(&m, "tlb.bad", "ways", "0", "tlb.bad.ways", "'full'");
	expect_set_error(&m, "tlb.bad", "replacement", "plru", "tlb.bad.replacement", "'plru'");
	expect_set_error(&m, "tlb.bad", "fill", "victim", "tlb.bad.fill", "'victim'");
	expect_set_error(&m, "tlb.bad", "level", "5", "tlb.bad.level", "1..4");
	expect_set_error(&m, "tlb.bad", "page_sizes", "4K,8K", "tlb.bad.page_sizes", "'4K,8K'");
	expect_set_error(&m, "tlb.bad", "page_sizes", "", "tlb.bad.page_sizes", NULL);
	expect_set_error(&m, "tlb.bad", "access", "fetch", "tlb.bad.access", "'fetch'");
	expect_set_error(&m, "tlb.bad", "entires", "64", "tlb.bad.entires", "unknown key");
	expect_set_error(&m, "tlb.bad name", "entries", "64", "tlb.bad name.entries", "[a-z0-9_]");
	expect_set_error(&m, "tlb.", "entries", "64", "unknown section", NULL);
	expect_set_error(&m, "cache", "size", "64", "unknown section [cache]", NULL);
	expect_set_error(&m, "machine", "file", "x.ini", "unknown section [machine]", NULL);
	expect_set_error(&m, "pwc", "entries", "lots", "pwc.entries", "'lots'");
	expect_set_error(&m, "pwc", "pte_entries", "4", "pwc.pte_entries", "unknown key");
	expect_set_error(&m, "pwc", "tag", "pa", "pwc.tag", "'pa'");
	expect_set_error(&m, "pwc", "replacement", "mru", "pwc.replacement", "'mru'");
	expect_set_error(&m, "walk", "walkers", "0", "walk.walkers", "1..64");
	expect_set_error(&m, "walk", "memory", "sram", "walk.memory", "'sram'");
	expect_set_error(&m, "walk", "pml5e_latency", "3", "walk.pml5e_latency", "unknown key");
	expect_set_error(&m, "mmu", "seed", "abc", "mmu.seed", "'abc'");
	expect_set_error(&m, "mmu", "colour", "red", "mmu.colour", "unknown key");
	/* a structure exists from its first recognised key (even with a bad value); bad
	 * names and unknown keys create none */
	assert_int_equal(m.nstructs, 1);
	assert_string_equal(m.s[0].name, "bad");

	/* 17 structures */
	tlb_machine_init(&m);
	char sec[32];
	for (int i = 0; i < 16; i++) {
		snprintf(sec, sizeof sec, "tlb.s%d", i);
		mset(&m, sec, "entries", "4");
	}
	expect_set_error(&m, "tlb.s16", "entries", "4", "tlb.s16", "more than 16");

	/* accepted spellings */
	tlb_machine_init(&m);
	mset(&m, " TLB.Mixed_1 ", " Page_Sizes ", " 4kib , 2MB,1G ");
	assert_int_equal(m.nstructs, 1);
	assert_string_equal(m.s[0].name, "mixed_1");
	assert_int_equal(m.s[0].page_sizes, TLB_PS_4K | TLB_PS_2M | TLB_PS_1G);
	mset(&m, "tlb.mixed_1", "ways", "FULL");
	assert_int_equal(m.s[0].ways, TLB_WAYS_FULL);
	mset(&m, "tlb.mixed_1", "access", "store");
	assert_int_equal(m.s[0].access, TLB_ACC_STORE);
	mset(&m, "tlb.mixed_1", "replacement", "SRRIP");
	assert_int_equal(m.s[0].repl, TLB_REPL_SRRIP);
	mset(&m, "pwc", "entries", "16");
	mset(&m, "pwc", "pde_entries", "64");
	assert_int_equal(m.pwc[0].entries, 16);
	assert_int_equal(m.pwc[2].entries, 64);
	mset(&m, "walk", "latency", "7");
	mset(&m, "walk", "pte_latency", "70");
	assert_int_equal(m.walk_latency[0], 7);
	assert_int_equal(m.walk_latency[3], 70);
	assert_true(tlb_machine_owns_section("tlb.x"));
	assert_true(tlb_machine_owns_section("PWC"));
	assert_true(tlb_machine_owns_section("walk"));
	assert_true(tlb_machine_owns_section("mmu"));
	assert_false(tlb_machine_owns_section("machine"));
	assert_false(tlb_machine_owns_section("tlb."));
	assert_false(tlb_machine_owns_section("memory"));
	assert_string_equal(tlb_repl_name(TLB_REPL_FIFO), "fifo");
	assert_string_equal(tlb_fill_name(TLB_FILL_EVICTION), "eviction");
}

/* Bad [walk] cache keys name the key; the cache keys are checked only with memory = cache. */
static void test_pte_cache_config_errors(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	expect_set_error(&m, "walk", "memory", "dram", "walk.memory", "'dram'");
	expect_set_error(&m, "walk", "cache_sets", "48", "walk.cache_sets", "power of two");
	expect_set_error(&m, "walk", "cache_sets", "0", "walk.cache_sets", "'0'");
	expect_set_error(&m, "walk", "cache_ways", "0", "walk.cache_ways", "'0'");
	expect_set_error(&m, "walk", "cache_ways", "full", "walk.cache_ways", "fully associative");
	expect_set_error(&m, "walk", "cache_line", "96", "walk.cache_line", "'96'");
	expect_set_error(&m, "walk", "cache_line", "4", "walk.cache_line", "8..4096");
	expect_set_error(&m, "walk", "cache_hit_latency", "fast", "walk.cache_hit_latency", "'fast'");
	expect_set_error(&m, "walk", "cache_replacement", "plru", "walk.cache_replacement", "'plru'");
	expect_set_error(&m, "walk", "cache_size", "48K", "walk.cache_size", "unknown key");

	/* defaults: Virtuoso meteor_lake_pcore.cfg's L1D (48 KiB, 12-way, 64 B lines, 4 cycles)
	 * and an L2 hit behind it (4 + 12) */
	tlb_machine_init(&m);
	assert_int_equal(m.walk_mem, TLB_WALK_FIXED);
	assert_int_equal(m.walk_cache.sets * m.walk_cache.ways * m.walk_cache.line_bytes, 48 * 1024);
	assert_int_equal(m.walk_cache.ways, 12);
	assert_int_equal(m.walk_cache.hit_latency, 4);
	assert_int_equal(m.walk_cache.miss_latency, 16);

	/* values written directly are validated, naming the key */
	cache_machine(&m, "4", "2");
	m.walk_cache.sets = 3;
	expect_invalid(&m, "walk.cache_sets", "power of two");
	cache_machine(&m, "4", "2");
	m.walk_cache.ways = 1u << 23;
	expect_invalid(&m, "walk.cache_ways", "at most 16777216");
	cache_machine(&m, "4", "2");
	m.walk_cache.line_bytes = 100;
	expect_invalid(&m, "walk.cache_line", "power of two");
	cache_machine(&m, "4", "2");
	m.walk_cache.miss_latency = 2000000;
	expect_invalid(&m, "walk.cache_miss_latency", "above");
	/* ... but not while memory = fixed */
	mset(&m, "walk", "memory", "fixed");
	char err[256];
	assert_int_equal(tlb_machine_validate(&m, err, sizeof err), 0);
}

/*
 * [pagesize] predictor: a 4-way STLB holding 4K and 2M pages is probed one
 * size at a time. Machine: L1 4K-only, 1 entry, 1 cycle; STLB 16 entries
 * 4-way, 10 cycles; every page-table level 100 cycles.
 */
static void psp_run(const char *predictor, uint32_t c[6], struct tlb_stats *st)
{
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "1", "full", "1", "lru", "miss");
	add_struct(&m, "stlb", "2", "4K,2M", "all", "16", "4", "10", "lru", "miss");
	mset(&m, "walk", "latency", "100");
	mset(&m, "pagesize", "predictor", predictor);
	struct tlb *t = create_ok(&m);
	const uint64_t A = BASE_VA, Bp = BASE_VA + 4096, X = BASE_VA + 5 * (UINT64_C(1) << 21);
	struct {
		uint64_t va;
		unsigned shift;
	} seq[] = { { A, 12 }, { X, 21 }, { X, 21 }, { A, 12 }, { Bp, 12 }, { A, 12 } };
	for (unsigned i = 0; i < 6; i++)
		c[i] = acc(t, seq[i].va, seq[i].shift, false, NULL);
	tlb_get_stats(t, st);
	tlb_destroy(t);
}

/* The cycles of the six steps of psp_run are a..f. */
static void expect_steps(const uint32_t c[6], uint32_t a, uint32_t b, uint32_t x, uint32_t d,
			 uint32_t e, uint32_t f)
{
	const uint32_t want[6] = { a, b, x, d, e, f };
	for (unsigned i = 0; i < 6; i++)
		if (c[i] != want[i])
			fail_msg("step %u: %u cycles, expected %u", i, c[i], want[i]);
}

static void test_pagesize_predictor_hand(void **state)
{
	(void)state;
	struct tlb_stats st;
	uint32_t c[6];
	/*
	 * Steps: A (4K, cold), X (2M, cold), X, A (still in the L1), B (4K, cold,
	 * evicts A from the L1), A (STLB hit).
	 * none: one STLB probe whatever the size: 1 + 10 + 400, 1 + 10 + 300,
	 * 1 + 10, 1, 1 + 10 + 400, 1 + 10.
	 */
	psp_run("none", c, &st);
	expect_steps(c, 411, 311, 11, 1, 411, 11);
	assert_int_equal(st.psp_predictions, 0);
	assert_int_equal(st.psp_extra_cycles, 0);
	uint64_t base_cycles = st.translation_cycles;
	/*
	 * 4k: a miss probes both sizes (+10 each), a 2M hit is found on the second
	 * probe (+10), a 4K hit on the first. Steps: A miss +10, X miss +10, X hit
	 * +10, A L1 hit (no STLB probe), B miss +10, A STLB hit +0: 5 predictions,
	 * 2 wrong (the X ones), 40 extra cycles.
	 */
	psp_run("4k", c, &st);
	expect_steps(c, 421, 321, 21, 1, 421, 11);
	assert_int_equal(st.psp_predictions, 5);
	assert_int_equal(st.psp_mispredictions, 2);
	assert_int_equal(st.psp_extra_cycles, 40);
	assert_int_equal(st.translation_cycles, base_cycles + 40);
	/*
	 * table (64 2-bit counters by 2 MiB region, starting at 1 = weakly 4K):
	 * X's first access is predicted 4K (wrong) and trains its counter to 2,
	 * so the second is predicted 2M and hits on the first probe: 30 extra.
	 */
	psp_run("table", c, &st);
	expect_steps(c, 421, 321, 11, 1, 421, 11);
	assert_int_equal(st.psp_predictions, 5);
	assert_int_equal(st.psp_mispredictions, 1);
	assert_int_equal(st.psp_extra_cycles, 30);
	assert_int_equal(st.translation_cycles, base_cycles + 30);

	/* a fully associative structure holding several sizes needs no prediction */
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K,2M", "all", "4", "full", "1", "lru", "miss");
	mset(&m, "walk", "latency", "100");
	mset(&m, "pagesize", "predictor", "4k");
	struct tlb *t = create_ok(&m);
	assert_int_equal(acc(t, BASE_VA, 21, false, NULL), 301);
	assert_int_equal(acc(t, BASE_VA, 21, false, NULL), 1);
	tlb_get_stats(t, &st);
	assert_int_equal(st.psp_predictions, 0);
	tlb_destroy(t);

	/* keys */
	tlb_machine_init(&m);
	assert_int_equal(m.psp.kind, TLB_PSP_NONE);
	assert_true(tlb_machine_owns_section("pagesize"));
	expect_set_error(&m, "pagesize", "predictor", "oracle", "pagesize.predictor", "'oracle'");
	expect_set_error(&m, "pagesize", "entries", "100", "pagesize.entries", "'100'");
	expect_set_error(&m, "pagesize", "index", "tid", "pagesize.index", "'tid'");
	expect_set_error(&m, "pagesize", "bits", "2", "pagesize.bits", "unknown key");
}

/* ------------------------------------------------------------------------ */
/* Machine files                                                             */

static void trim(char *s)
{
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	memmove(s, p, strlen(p) + 1);
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* A tiny INI reader (as inih: [section], key = value, ';'/'#' comments). */
static int load_ini(const char *path, struct tlb_machine *m, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	tlb_machine_init(m);
	char line[512], section[512] = "";
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		for (char *c = line; *c; c++) /* inline comment: ';' after a blank */
			if (*c == ';' && (c == line || c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			if (!end) {
				snprintf(err, errlen, "%s:%d: bad section", path, lineno);
				fclose(f);
				return -1;
			}
			*end = '\0';
			snprintf(section, sizeof section, "%s", line + 1);
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		char key[512], val[512], e[256];
		snprintf(key, sizeof key, "%s", line);
		snprintf(val, sizeof val, "%s", eq + 1);
		trim(key);
		trim(val);
		if (tlb_machine_set(m, section, key, val, e, sizeof e)) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, e);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return tlb_machine_validate(m, err, errlen);
}

/* The repository root relative to where the test runs. */
static const char *find_machines_dir(void)
{
	static const char *const dirs[] = { "configs/machines", "../configs/machines",
					    "../../configs/machines", "../../../configs/machines" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/golden_cove.ini", dirs[i]);
		FILE *f = fopen(p, "r");
		if (f) {
			fclose(f);
			return dirs[i];
		}
	}
	return NULL;
}

static void load_machine_or_fail(const char *name, struct tlb_machine *m)
{
	const char *dir = find_machines_dir();
	if (!dir)
		fail_msg("configs/machines not found (run from the repository root)");
	char path[512], err[1024];
	snprintf(path, sizeof path, "%s/%s.ini", dir, name);
	if (load_ini(path, m, err, sizeof err))
		fail_msg("%s", err);
}

/* Every shipped machine file loads, validates and creates a model. */
static void test_all_machine_files_load(void **state)
{
	(void)state;
	const char *dir = find_machines_dir();
	assert_non_null(dir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".ini"))
			continue;
		char path[512], err[1024];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		struct tlb_machine m;
		if (load_ini(path, &m, err, sizeof err))
			fail_msg("%s", err);
		struct tlb *t = create_ok(&m);
		for (int i = 0; i < 1000; i++)
			acc(t, BASE_VA + (uint64_t)i * 4096, 12, false, NULL);
		tlb_destroy(t);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
}

/* Entries of the structures at `level` serving `acc` that hold page size `ps`, summed. */
static uint32_t capacity(const struct tlb_machine *m, uint32_t level, uint32_t accmask,
			 uint32_t ps, uint32_t *ways)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nstructs; i++) {
		const struct tlb_struct_desc *s = &m->s[i];
		if (s->level == level && (s->access & accmask) && (s->page_sizes & ps)) {
			n += s->entries;
			if (ways)
				*ways = s->ways == TLB_WAYS_FULL ? s->entries : s->ways;
		}
	}
	return n;
}

/* The shipped files carry DESIGN.md's reference figures. */
static void test_machine_files_match_reference_figures(void **state)
{
	(void)state;
	struct tlb_machine m;
	uint32_t w;

	/* Golden Cove (CPUID 0x18): load 4K 64/4, 2M 32/4, 1G 8 FA; store 16 FA;
	 * STLB 2048 for 4K, 1024 shared with 2M and 1024 with 1G, 8-way. */
	load_machine_or_fail("golden_cove", &m);
	assert_int_equal(capacity(&m, 1, TLB_ACC_LOAD, TLB_PS_4K, &w), 64);
	assert_int_equal(w, 4);
	assert_int_equal(capacity(&m, 1, TLB_ACC_LOAD, TLB_PS_2M, &w), 32);
	assert_int_equal(w, 4);
	assert_int_equal(capacity(&m, 1, TLB_ACC_LOAD, TLB_PS_1G, &w), 8);
	assert_int_equal(w, 8);
	assert_int_equal(capacity(&m, 1, TLB_ACC_STORE, TLB_PS_4K, &w), 16);
	assert_int_equal(w, 16);
	assert_int_equal(capacity(&m, 1, TLB_ACC_STORE, TLB_PS_2M, NULL), 16);
	assert_int_equal(capacity(&m, 1, TLB_ACC_STORE, TLB_PS_1G, NULL), 16);
	assert_int_equal(capacity(&m, 2, TLB_ACC_LOAD, TLB_PS_4K, &w), 2048);
	assert_int_equal(w, 8);
	assert_int_equal(capacity(&m, 2, TLB_ACC_STORE, TLB_PS_4K, NULL), 2048);
	assert_int_equal(capacity(&m, 2, TLB_ACC_LOAD, TLB_PS_2M, NULL), 1024);
	assert_int_equal(capacity(&m, 2, TLB_ACC_LOAD, TLB_PS_1G, NULL), 1024);

	/* Zen 3: L1 DTLB 64 FA (all sizes); L2 2048 (4K) + 2048 (2M). */
	load_machine_or_fail("zen3", &m);
	for (uint32_t ps = TLB_PS_4K; ps <= TLB_PS_1G; ps <<= 1) {
		assert_int_equal(capacity(&m, 1, TLB_ACC_ALL, ps, &w), 64);
		assert_int_equal(w, 64);
	}
	assert_int_equal(capacity(&m, 2, TLB_ACC_ALL, TLB_PS_4K, NULL), 2048);
	assert_int_equal(capacity(&m, 2, TLB_ACC_ALL, TLB_PS_2M, NULL), 2048);

	/* Virtuoso mmu_base: L1 4K 64/4, L1 2M 64/4, L2 unified 2048/8 12 cycles filled by
	 * L1 evictions, PWC 3 x 32/4, 4 walkers. */
	load_machine_or_fail("virtuoso_mmu_base", &m);
	assert_int_equal(capacity(&m, 1, TLB_ACC_ALL, TLB_PS_4K, &w), 64);
	assert_int_equal(w, 4);
	assert_int_equal(capacity(&m, 1, TLB_ACC_ALL, TLB_PS_2M, &w), 64);
	assert_int_equal(w, 4);
	assert_int_equal(capacity(&m, 2, TLB_ACC_ALL, TLB_PS_4K | TLB_PS_2M, &w), 2048);
	assert_int_equal(w, 8);
	for (uint32_t i = 0; i < m.nstructs; i++)
		if (m.s[i].level == 2) {
			assert_int_equal(m.s[i].latency, 12);
			assert_int_equal(m.s[i].fill, TLB_FILL_EVICTION);
			assert_int_equal(m.s[i].page_sizes, TLB_PS_4K | TLB_PS_2M);
		}
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++) {
		assert_int_equal(m.pwc[j].entries, 32);
		assert_int_equal(m.pwc[j].ways, 4);
	}
	assert_int_equal(m.walkers, 4);
}

/* Virtuoso mmu_base loaded from its file behaves as the fill-on-eviction reference. */
static void test_mmu_base_file_l2_takes_victims(void **state)
{
	(void)state;
	struct tlb_machine m;
	load_machine_or_fail("virtuoso_mmu_base", &m);
	struct tlb *t = create_ok(&m);
	/* 5 lines of L1 set 0 (4-way, 16 sets: stride 16 pages). The 5th fill evicts the
	 * LRU line (the first) to the L2, so the first line is now an L2 hit. */
	for (uint64_t i = 0; i < 5; i++)
		acc(t, BASE_VA + i * 16 * 4096, 12, false, NULL);
	struct tlb_result r;
	acc(t, BASE_VA, 12, false, &r);
	assert_int_equal(r.level, 2);
	assert_int_equal(r.cycles, 1 + 12);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	uint32_t l2 = 0;
	for (uint32_t i = 0; i < m.nstructs; i++)
		if (m.s[i].level == 2)
			l2 = i;
	assert_int_equal(st.s[l2].fills, 0);
	assert_int_equal(st.s[l2].victim_fills, 2); /* line 0 at the 5th fill, line 1 at the 6th */
	tlb_destroy(t);
}

/* ------------------------------------------------------------------------ */
/* Last-level geometry (tlb_llt_*) against the model itself                 */

/* Evictions so far in the structures of t's last level for 4 KiB pages on the path. */
static uint64_t llt_evictions(const struct tlb *t, bool is_write)
{
	struct tlb_llt_geometry g;
	assert_int_equal(tlb_llt_geometry(t, is_write, &g), 0);
	const struct tlb_machine *m = tlb_machine_of(t);
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	uint64_t n = 0;
	for (uint32_t i = 0; i < m->nstructs; i++)
		if (m->s[i].level == g.level && (m->s[i].page_sizes & TLB_PS_4K) &&
		    (m->s[i].access & (is_write ? TLB_ACC_STORE : TLB_ACC_LOAD)))
			n += st.s[i].evictions;
	return n;
}

#define LLT_MAX_SETS 4096u
#define LLT_MAX_WAYS 64u

/*
 * For a machine whose last level fills on a miss: pages the API puts in
 * one set evict each other in the model after `ways` fills, and pages in
 * different sets do not. (a) Every set filled with exactly its ways of
 * distinct pages: no eviction in the last level; touching them all again
 * walks none. (b) One more page in set x: exactly one eviction. (c) A fresh
 * model, ways + 1 pages of one set only: one eviction, at the last page.
 */
static void check_llt_conflicts(const struct tlb_machine *m, bool w)
{
	struct tlb *t = create_ok(m);
	struct tlb_llt_geometry g;
	assert_int_equal(tlb_llt_geometry(t, w, &g), 0);
	assert_true(g.sets >= 1 && g.sets <= LLT_MAX_SETS && g.ways >= 1 && g.ways <= LLT_MAX_WAYS);
	/* pages of every set, ways(set) of them, and one more of each set */
	static uint64_t page[LLT_MAX_SETS][LLT_MAX_WAYS + 1];
	static uint32_t have[LLT_MAX_SETS], ways_of[LLT_MAX_SETS];
	memset(have, 0, sizeof have);
	uint32_t full = 0, sum_ways = 0;
	const uint64_t vpn0 = BASE_VA >> 12;
	for (uint64_t v = vpn0; full < g.sets; v++) {
		assert_true(v - vpn0 < (UINT64_C(1) << 24));
		uint32_t ways = 0, x = tlb_llt_set(t, v << 12 | (v & 0xfff), w, &ways);
		assert_true(x < g.sets);
		assert_true(ways >= 1 && ways <= g.ways);
		if (have[x] && ways != ways_of[x])
			fail_msg("set %u: ways %u then %u", x, ways_of[x], ways);
		ways_of[x] = ways;
		if (have[x] <= ways) {
			page[x][have[x]++] = v << 12;
			if (have[x] == ways + 1)
				full++;
		}
	}
	for (uint32_t x = 0; x < g.sets; x++)
		sum_ways += ways_of[x];
	assert_int_equal(sum_ways, g.entries);
	if (g.uniform)
		assert_int_equal(g.entries, g.sets * g.ways);

	struct tlb_stats st;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t x = 0; x < g.sets; x++)
			for (uint32_t i = 0; i < ways_of[x]; i++)
				acc(t, page[x][i], 12, w, NULL);
	tlb_get_stats(t, &st);
	assert_int_equal(st.walks, g.entries);    /* the second pass walked none */
	assert_int_equal(llt_evictions(t, w), 0);
	const uint32_t xs[3] = { 0, g.sets / 2, g.sets - 1 };
	for (unsigned k = 0; k < 3; k++) {
		uint32_t x = xs[k];
		uint64_t before = llt_evictions(t, w);
		acc(t, page[x][ways_of[x]], 12, w, NULL);
		assert_int_equal(llt_evictions(t, w), before + 1);
		/* (c) ways + 1 pages of set x alone */
		tlb_reset(t);
		for (uint32_t i = 0; i <= ways_of[x]; i++) {
			acc(t, page[x][i], 12, w, NULL);
			assert_int_equal(llt_evictions(t, w), i == ways_of[x]);
		}
		/* back to every set full for the next x */
		tlb_reset(t);
		for (uint32_t y = 0; y < g.sets; y++)
			for (uint32_t i = 0; i < ways_of[y]; i++)
				acc(t, page[y][i], 12, w, NULL);
	}
	tlb_destroy(t);
}

/* tlb_llt_geometry of t's path w succeeds and gives these figures. */
static void expect_llt(const struct tlb *t, bool w, uint32_t level, uint32_t banks, uint32_t sets,
		       uint32_t ways, uint32_t entries, bool uniform, bool shared)
{
	struct tlb_llt_geometry g;
	assert_int_equal(tlb_llt_geometry(t, w, &g), 0);
	assert_int_equal(g.level, level);
	assert_int_equal(g.banks, banks);
	assert_int_equal(g.sets, sets);
	assert_int_equal(g.ways, ways);
	assert_int_equal(g.entries, entries);
	assert_int_equal(g.uniform, uniform);
	assert_int_equal(g.shared, shared);
}

static void test_llt_geometry_golden_cove(void **state)
{
	(void)state;
	struct tlb_machine m;
	load_machine_or_fail("golden_cove", &m);
	struct tlb *t = create_ok(&m);
	for (int w = 0; w < 2; w++) {
		/* two 1024-entry 8-way STLB banks: 2 x 128 sets of 8 ways, load and store alike */
		expect_llt(t, w, 2, 2, 256, 8, 2048, true, true);
		/* bank = VPN bit 0, set = the next 7 bits: a stride of 256 pages stays in
		 * one set; the loads' and the stores' ids agree */
		uint32_t ways;
		uint32_t x = tlb_llt_set(t, BASE_VA + 123, w, &ways); /* bank 0 */
		assert_int_equal(ways, 8);
		for (uint64_t i = 1; i < 20; i++)
			assert_int_equal(tlb_llt_set(t, BASE_VA + i * 256 * 4096, w, NULL), x);
		assert_int_equal(tlb_llt_set(t, BASE_VA + 4096, w, NULL), x + 128); /* other bank */
		assert_int_equal(tlb_llt_set(t, BASE_VA + 2 * 4096, w, NULL), x + 1);
		assert_int_equal(tlb_llt_set(t, BASE_VA + 77 * 4096, w, NULL),
				 tlb_llt_set(t, BASE_VA + 77 * 4096, !w, NULL));
		check_llt_conflicts(&m, w);
	}
	tlb_destroy(t);
}

/* Banks of different shapes, a path-specific last level, a fully associative one. */
static void test_llt_geometry_shapes(void **state)
{
	(void)state;
	struct tlb_machine m;
	tlb_machine_init(&m);
	add_struct(&m, "a", "1", "4K", "all", "64", "4", "1", "lru", "miss");  /* 16 sets x 4 */
	add_struct(&m, "b", "1", "4K", "all", "64", "8", "1", "fifo", "miss"); /* 8 sets x 8 */
	struct tlb *t = create_ok(&m);
	expect_llt(t, false, 1, 2, 24, 8, 128, false, true);
	uint32_t ways;
	assert_int_equal(tlb_llt_set(t, 0, false, &ways), 0); /* bank a set 0 */
	assert_int_equal(ways, 4);
	assert_int_equal(tlb_llt_set(t, 4096, false, &ways), 16); /* bank b set 0 */
	assert_int_equal(ways, 8);
	assert_int_equal(tlb_llt_set(t, 17 * 4096, false, &ways), 16 + 0); /* b: (17 >> 1) & 7 = 0 */
	tlb_destroy(t);
	check_llt_conflicts(&m, false);
	check_llt_conflicts(&m, true);

	/* loads and stores end in different structures */
	tlb_machine_init(&m);
	add_struct(&m, "l1", "1", "4K", "all", "16", "full", "1", "lru", "miss");
	add_struct(&m, "l2ld", "2", "4K", "load", "256", "4", "5", "lru", "miss");
	add_struct(&m, "l2st", "2", "4K", "store", "128", "2", "5", "lru", "miss");
	add_struct(&m, "l3", "3", "2M", "all", "16", "full", "9", "lru", "miss");
	t = create_ok(&m);
	expect_llt(t, false, 2, 1, 64, 4, 256, true, false);
	expect_llt(t, true, 2, 1, 64, 2, 128, true, false);
	tlb_destroy(t);
	check_llt_conflicts(&m, false);
	check_llt_conflicts(&m, true);

	/* one fully associative structure: one set; a path without 4 KiB entries */
	tlb_machine_init(&m);
	add_struct(&m, "ld", "1", "4K", "load", "32", "full", "1", "fifo", "miss");
	add_struct(&m, "st", "1", "2M", "store", "8", "full", "1", "lru", "miss");
	t = create_ok(&m);
	expect_llt(t, false, 1, 1, 1, 32, 32, true, false);
	struct tlb_llt_geometry g;
	assert_int_equal(tlb_llt_set(t, BASE_VA + 999 * 4096, false, &ways), 0);
	assert_int_equal(ways, 32);
	assert_int_equal(tlb_llt_geometry(t, true, &g), -1);
	assert_int_equal(g.level, 0);
	assert_int_equal(g.sets, 0);
	assert_int_equal(tlb_llt_set(t, BASE_VA, true, &ways), TLB_LLT_NONE);
	assert_int_equal(ways, 0);
	tlb_destroy(t);
	check_llt_conflicts(&m, false);
}

/* The other shipped machines: geometry from their files; zen3's conflicts too. */
static void test_llt_geometry_machine_files(void **state)
{
	(void)state;
	struct tlb_machine m;
	load_machine_or_fail("zen3", &m);
	struct tlb *t = create_ok(&m);
	expect_llt(t, false, 2, 1, 256, 8, 2048, true, true);
	tlb_destroy(t);
	check_llt_conflicts(&m, false);
	load_machine_or_fail("virtuoso_mmu_base", &m); /* its L2 takes L1 victims */
	t = create_ok(&m);
	expect_llt(t, true, 2, 1, 256, 8, 2048, true, true);
	tlb_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru_matches_reference),
		cmocka_unit_test(test_fifo_matches_reference),
		cmocka_unit_test(test_srrip_matches_reference),
		cmocka_unit_test(test_cyclic_thrash_never_hits),
		cmocka_unit_test(test_lru_vs_fifo_hand),
		cmocka_unit_test(test_random_replacement),
		cmocka_unit_test(test_unified_sizes_are_distinct),
		cmocka_unit_test(test_unified_matches_reference),
		cmocka_unit_test(test_two_level_fill_on_miss_matches_reference),
		cmocka_unit_test(test_virtuoso_fill_on_eviction_matches_reference),
		cmocka_unit_test(test_fill_on_eviction_hand),
		cmocka_unit_test(test_latency_by_level_hand),
		cmocka_unit_test(test_pwc_skipping_hand),
		cmocka_unit_test(test_pwc_pte_tag_hand),
		cmocka_unit_test(test_pwc_lru_eviction_hand),
		cmocka_unit_test(test_pte_cache_hand),
		cmocka_unit_test(test_pte_cache_with_pwc),
		cmocka_unit_test(test_pte_cache_config_errors),
		cmocka_unit_test(test_pagesize_predictor_hand),
		cmocka_unit_test(test_load_store_split),
		cmocka_unit_test(test_banked_structures_capacity),
		cmocka_unit_test(test_walkers_queue),
		cmocka_unit_test(test_invalidate_and_flush),
		cmocka_unit_test(test_invalidate_matches_reference),
		cmocka_unit_test(test_reset_reproduces),
		cmocka_unit_test(test_stats_consistency),
		cmocka_unit_test(test_allocation_only_at_create),
		cmocka_unit_test(test_machine_copied),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_setter_errors),
		cmocka_unit_test(test_all_machine_files_load),
		cmocka_unit_test(test_machine_files_match_reference_figures),
		cmocka_unit_test(test_mmu_base_file_l2_takes_victims),
		cmocka_unit_test(test_llt_geometry_golden_cove),
		cmocka_unit_test(test_llt_geometry_shapes),
		cmocka_unit_test(test_llt_geometry_machine_files),
	};
	return cmocka_run_group_tests_name("tlbmodel", tests, NULL, NULL);
}
