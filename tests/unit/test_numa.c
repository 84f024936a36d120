/*
 * Unit tests of MimicOS' emulated NUMA: node configuration and its
 * validation, the placement policies local / bind / interleave / preferred,
 * the spill threshold, where page-table pages go, the per-node statistics,
 * and the invariants after random workloads on 2-4 nodes under every
 * placement policy and every built-in allocation policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimicos/mimicos.h"

#define P 4096ull
#define MB (1ull << 20)
#define MB2 (2ull << 20)

static const uint64_t A = 0x40000000ull; /* 1 GiB aligned */

#include "mos_testlib.h"

/* n equal nodes of node_mb MiB each, the given placement and allocation policy. */
static struct mos_config ncfg(unsigned n, uint64_t node_mb, enum mos_numa_policy np,
			      uint32_t mask, const char *policy)
{
	struct mos_config c = { .mem_bytes = n * node_mb * MB, .policy = policy,
				.fault_around_pages = 1, .numa_nodes = n, .numa_policy = np,
				.numa_node_mask = mask };
	for (unsigned i = 0; i < n; i++)
		c.numa_node_bytes[i] = node_mb * MB;
	return c;
}

/* Node of the frame backing va. */
static int node_at(const struct mos *m, uint64_t va)
{
	uint64_t pfn = xl(m, va, NULL);
	assert_true(pfn != NONE);
	return mos_pfn_node(m, pfn);
}

/* Per-node used frames add up and match the machine-wide counters. */
static void node_sums(const struct mos *m)
{
	struct mos_stats s = stats(m);
	uint64_t total = 0, free = 0;
	for (unsigned n = 0; n < MOS_MAX_NODES; n++) {
		if (n >= s.numa_nodes) {
			assert_int_equal(s.node_frames[n], 0);
			continue;
		}
		assert_int_equal(s.node_frames_used[n] + s.node_frames_free[n], s.node_frames[n]);
		total += s.node_frames[n];
		free += s.node_frames_free[n];
	}
	assert_int_equal(total, s.frames_total);
	assert_int_equal(free, s.frames_free);
	assert_true(s.numa_spills <= s.numa_remote);
}

/* ---------------------------------------------------------------- config */

static void expect_einval(const struct mos_config *c)
{
	struct host h = { 0, -1 };
	struct mos_allocator a = alloc_of(&h);
	enum mos_status st = MOS_OK;
	assert_null(mos_create(c, &a, &st));
	assert_int_equal(st, MOS_EINVAL);
	assert_int_equal(h.live, 0);
}

static void test_config_validation(void **state)
{
	(void)state;
	struct mos_config good = ncfg(2, 8, MOS_NUMA_LOCAL, 0, "baseline");
	struct mos_config c;

	c = good; /* sizes that do not sum to mem_bytes */
	c.numa_node_bytes[1] = 4 * MB;
	expect_einval(&c);
	c = good;
	c.mem_bytes = 20 * MB;
	expect_einval(&c);
	c = good; /* not a multiple of 4 MiB (but of 4 KiB, summing right) */
	c.numa_node_bytes[0] = 6 * MB;
	c.numa_node_bytes[1] = 10 * MB;
	expect_einval(&c);
	c = good; /* a zero-sized node among set sizes */
	c.numa_node_bytes[0] = 16 * MB;
	c.numa_node_bytes[1] = 0;
	expect_einval(&c);
	c = good; /* a size beyond numa_nodes */
	c.numa_node_bytes[2] = 4 * MB;
	expect_einval(&c);
	c = ncfg(8, 4, MOS_NUMA_LOCAL, 0, "baseline"); /* too many nodes */
	c.numa_nodes = 9;
	c.mem_bytes = 36 * MB;
	expect_einval(&c);
	c = good; /* equal split impossible: 10 MiB is not 2 x 4 MiB granules */
	memset(c.numa_node_bytes, 0, sizeof c.numa_node_bytes);
	c.mem_bytes = 10 * MB;
	expect_einval(&c);
	c = good; /* one node: its size must be mem_bytes */
	c.numa_nodes = 1;
	c.numa_node_bytes[1] = 0;
	expect_einval(&c);

	/* Distances: diagonal exactly 10, others 11..254, nothing beyond the nodes. */
	uint8_t dbad[][2][2] = { { { 11, 20 }, { 20, 10 } }, { { 10, 10 }, { 10, 10 } },
				 { { 10, 5 }, { 20, 10 } },  { { 10, 0 }, { 20, 10 } },
				 { { 10, 255 }, { 20, 10 } } };
	for (size_t k = 0; k < sizeof dbad / sizeof dbad[0]; k++) {
		c = good;
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 2; j++)
				c.numa_distance[i][j] = dbad[k][i][j];
		expect_einval(&c);
	}
	c = good;
	c.numa_distance[0][0] = c.numa_distance[1][1] = 10;
	c.numa_distance[0][1] = c.numa_distance[1][0] = 21;
	c.numa_distance[2][2] = 10;
	expect_einval(&c);

	c = good; /* policy, mask, threshold */
	c.numa_policy = (enum mos_numa_policy)4;
	expect_einval(&c);
	c = good;
	c.numa_policy = MOS_NUMA_BIND;
	c.numa_node_mask = 1u << 2;
	expect_einval(&c);
	c = good;
	c.numa_spill_threshold = 1.01;
	expect_einval(&c);
	c = good;
	c.numa_spill_threshold = NAN;
	expect_einval(&c);

	/* Accepted: equal split, an asymmetric SLIT, explicit one node. */
	struct host h;
	c = good;
	memset(c.numa_node_bytes, 0, sizeof c.numa_node_bytes);
	c.numa_nodes = 4;
	c.numa_distance[0][1] = 12; /* asymmetric (ACPI allows it) */
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			if (!c.numa_distance[i][j])
				c.numa_distance[i][j] = i == j ? 10 : 30;
	struct mos *m = mkc(&h, &c);
	struct mos_stats s = stats(m);
	assert_int_equal(s.numa_nodes, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.node_frames[i], 1024);
	assert_int_equal(mos_node_distance(m, 0, 1), 12);
	assert_int_equal(mos_node_distance(m, 1, 0), 30);
	assert_int_equal(mos_node_distance(m, 2, 2), 10);
	assert_int_equal(mos_node_distance(m, 4, 0), 0);
	assert_int_equal(mos_pfn_node(m, 0), 0);
	assert_int_equal(mos_pfn_node(m, 1023), 0);
	assert_int_equal(mos_pfn_node(m, 1024), 1);
	assert_int_equal(mos_pfn_node(m, 4095), 3);
	assert_int_equal(mos_pfn_node(m, 4096), -1);
	assert_int_equal(mos_set_cpu_node(m, 3), MOS_OK);
	assert_int_equal(mos_set_cpu_node(m, 4), MOS_EINVAL);
	done(m, &h);

	c = good; /* unequal sizes */
	c.numa_node_bytes[0] = 4 * MB;
	c.numa_node_bytes[1] = 12 * MB;
	m = mkc(&h, &c);
	s = stats(m);
	assert_int_equal(s.node_frames[0], 1024);
	assert_int_equal(s.node_frames[1], 3072);
	assert_int_equal(mos_node_distance(m, 0, 1), 20);
	assert_int_equal(mos_pfn_node(m, 1024), 1);
	done(m, &h);

	/* Defaults: one node, any 4 KiB multiple, as before NUMA. */
	c = (struct mos_config){ .mem_bytes = 3 * MB + 4 * P, .policy = "baseline",
				 .fault_around_pages = 1 };
	m = mkc(&h, &c);
	s = stats(m);
	assert_int_equal(s.numa_nodes, 1);
	assert_int_equal(s.node_frames[0], s.frames_total);
	assert_int_equal(mos_set_cpu_node(m, 1), MOS_EINVAL);
	assert_int_equal(mos_pfn_node(m, s.frames_total - 1), 0);
	done(m, &h);
	c.numa_nodes = 1;
	c.numa_node_bytes[0] = c.mem_bytes;
	m = mkc(&h, &c);
	done(m, &h);
}

/* One node, whatever the NUMA policy: identical placement to no NUMA at all. */
static void test_one_node_unchanged(void **state)
{
	(void)state;
	const char *pol[] = { "baseline", "thp", "reservethp", "eagerpaging" };
	for (size_t p = 0; p < 4; p++) {
		struct mos_config c0 = { .mem_bytes = 8 * MB, .policy = pol[p],
					 .fault_around_pages = 4, .thp_mode = MOS_THP_ALWAYS,
					 .promotion_threshold = 0.5, .eager_max_bytes = MB };
		struct mos_config c1 = c0;
		c1.numa_nodes = 1;
		c1.numa_node_bytes[0] = c0.mem_bytes;
		c1.numa_policy = MOS_NUMA_INTERLEAVE;
		c1.numa_spill_threshold = 0.3;
		struct host h0, h1;
		struct mos *m0 = mkc(&h0, &c0), *m1 = mkc(&h1, &c1);
		assert_int_equal(mos_vma_add(m0, A, 16 * MB, MOS_VMA_MMAP), MOS_OK);
		assert_int_equal(mos_vma_add(m1, A, 16 * MB, MOS_VMA_MMAP), MOS_OK);
		uint64_t x = 7;
		for (int i = 0; i < 400; i++) {
			uint64_t va = A + (rng_splitmix(&x) % 4096) * P;
			struct mos_fault_result r0, r1;
			enum mos_status s0 = mos_fault(m0, va, true, &r0);
			enum mos_status s1 = mos_fault(m1, va, true, &r1);
			assert_int_equal(s0, s1);
			if (s0 == MOS_OK)
				assert_int_equal(r0.pfn, r1.pfn);
		}
		struct mos_stats a = stats(m0), b = stats(m1);
		assert_int_equal(a.frames_free, b.frames_free);
		assert_int_equal(b.numa_remote, 0);
		assert_int_equal(b.numa_spills, 0);
		assert_int_equal(b.node_frames_used[0], b.frames_total - b.frames_free);
		done(m0, &h0);
		done(m1, &h1);
	}
}

/* ------------------------------------------------------------ interleave */

/*
 * The test: under interleave, 2 MiB regions (thp pages and
 * reservethp reservations) spread evenly: region i of the VMA on node
 * (va >> 21) mod nodes, counts differing by at most one.
 */
static void test_interleave_regions_even(void **state)
{
	(void)state;
	const char *pol[] = { "thp", "reservethp" };
	for (unsigned n = 2; n <= 4; n++)
		for (size_t p = 0; p < 2; p++) {
			struct mos_config c = ncfg(n, 16, MOS_NUMA_INTERLEAVE, 0, pol[p]);
			c.thp_mode = MOS_THP_ALWAYS;
			c.promotion_threshold = 0.5;
			struct host h;
			struct mos *m = mkc(&h, &c);
			const unsigned regions = 3 * n + 1; /* not a multiple of n */
			assert_int_equal(mos_vma_add(m, A, regions * MB2, MOS_VMA_MMAP), MOS_OK);
			unsigned count[MOS_MAX_NODES] = { 0 };
			for (unsigned r = 0; r < regions; r++) {
				uint64_t va = A + r * MB2 + 5 * P;
				fault(m, va);
				int node = node_at(m, va);
				assert_int_equal(node, (int)(((A + r * MB2) >> 21) % n));
				count[node]++;
				/* the whole region (reservation subpages too) is on that node */
				if (p == 1)
					fault(m, va + 100 * P);
				assert_int_equal(node_at(m, va + 100 * P), node);
			}
			unsigned lo = regions, hi = 0;
			for (unsigned i = 0; i < n; i++) {
				lo = count[i] < lo ? count[i] : lo;
				hi = count[i] > hi ? count[i] : hi;
			}
			assert_true(hi - lo <= 1);
			struct mos_stats s = stats(m);
			assert_int_equal(s.numa_remote, 0);
			node_sums(m);
			done(m, &h);
		}
}

/* 4 KiB pages interleave page by page; a mask restricts the nodes. */
static void test_interleave_pages_and_mask(void **state)
{
	(void)state;
	struct mos_config c = ncfg(4, 8, MOS_NUMA_INTERLEAVE, 0, "baseline");
	c.fault_around_pages = 16;
	struct host h;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB, MOS_VMA_MMAP), MOS_OK);
	fault(m, A);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(node_at(m, A + i * P), (int)(((A >> 12) + i) % 4));
	done(m, &h);

	c = ncfg(4, 16, MOS_NUMA_INTERLEAVE, (1u << 1) | (1u << 3), "thp");
	c.thp_mode = MOS_THP_ALWAYS;
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 8 * MB2, MOS_VMA_MMAP), MOS_OK);
	for (unsigned r = 0; r < 8; r++) {
		fault(m, A + r * MB2);
		assert_int_equal(node_at(m, A + r * MB2), r % 2 ? 3 : 1);
	}
	struct mos_stats s = stats(m);
	assert_int_equal(s.node_frames_used[0], 0);
	assert_int_equal(s.node_frames_used[2], 0);
	done(m, &h);
}

/* A full interleave target falls back to the nearest node with memory. */
static void test_interleave_full_node_falls_back(void **state)
{
	(void)state;
	struct mos_config c = ncfg(3, 4, MOS_NUMA_INTERLEAVE, 0, "thp");
	c.thp_mode = MOS_THP_ALWAYS;
	/* node 1 is nearer to node 0 than node 2 is */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			c.numa_distance[i][j] = i == j ? 10 : (i + j == 1 ? 15 : 30);
	struct host h;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 64 * MB, MOS_VMA_MMAP), MOS_OK);
	/* Regions whose index (va >> 21) is 0 mod 3 target node 0. */
	uint64_t base = (A >> 21) % 3 == 0 ? A : A + (3 - (A >> 21) % 3) * MB2;
	fault(m, base);
	assert_int_equal(node_at(m, base), 0);
	/* Node 0 (1024 frames) now holds the PML4 and one 2 MiB page: no order-9
	 * block is left there, so the next region of node 0 goes elsewhere. */
	fault(m, base + 3 * MB2);
	assert_int_equal(node_at(m, base + 3 * MB2), 1); /* nearest to node 0 */
	struct mos_stats s = stats(m);
	assert_int_equal(s.numa_remote, 1);
	assert_int_equal(s.numa_spills, 0);
	node_sums(m);
	done(m, &h);
}

/* ------------------------------------------------------------------ bind */

/* Fault 4 KiB pages one by one at A.. until OOM; returns the pages mapped. */
static uint64_t fill(struct mos *m, uint64_t max_pages)
{
	uint64_t i;
	for (i = 0; i < max_pages; i++) {
		struct mos_fault_result r;
		enum mos_status st = mos_fault(m, A + i * P, true, &r);
		if (st == MOS_ENOMEM)
			break;
		assert_int_equal(st, MOS_OK);
	}
	return i;
}

/* Every table page on the walk of va lies on node `node`. */
static void tables_on(const struct mos *m, uint64_t va, int node)
{
	uint64_t pa[MOS_PT_LEVELS];
	unsigned n = mos_walk_path(m, va, pa);
	assert_true(n >= 1);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(mos_pfn_node(m, pa[i] >> 12), node);
}

static void test_bind_stays_and_ooms(void **state)
{
	(void)state;
	const char *pol[] = { "baseline", "thp", "reservethp", "eagerpaging" };
	for (size_t p = 0; p < 4; p++) {
		struct mos_config c = ncfg(3, 4, MOS_NUMA_BIND, 1u << 1, pol[p]);
		c.thp_mode = MOS_THP_ALWAYS;
		c.promotion_threshold = 0.5;
		c.eager_max_bytes = 64 * P;
		struct host h;
		struct mos *m = mkc(&h, &c);
		assert_int_equal(mos_set_cpu_node(m, 2), MOS_OK); /* CPU elsewhere: still node 1 */
		assert_int_equal(mos_vma_add(m, A, 64 * MB, MOS_VMA_MMAP), MOS_OK);
		uint64_t n = fill(m, 4096);
		assert_true(n > 0 && n < 1024);
		struct mos_fault_result r;
		assert_int_equal(mos_fault(m, A + n * P, true, &r), MOS_ENOMEM);
		for (uint64_t i = 0; i < n; i++)
			assert_int_equal(node_at(m, A + i * P), 1);
		tables_on(m, A, 1);
		struct mos_stats s = stats(m);
		assert_int_equal(s.node_frames_used[0], 0);
		assert_int_equal(s.node_frames_used[2], 0);
		assert_int_equal(s.node_frames_free[0], 1024);
		assert_int_equal(s.node_frames_free[2], 1024);
		assert_true(s.oom_events >= 1);
		assert_int_equal(s.numa_remote, 0);
		node_sums(m);
		done(m, &h);
	}
}

/* ------------------------------------------------------------- preferred */

static void test_preferred_falls_back(void **state)
{
	(void)state;
	struct mos_config c = ncfg(2, 4, MOS_NUMA_PREFERRED, 1u << 1, "baseline");
	struct host h;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 64 * MB, MOS_VMA_MMAP), MOS_OK);
	uint64_t n = fill(m, 4096);
	struct mos_stats s = stats(m);
	/* OOM only once both nodes are full (a last frame may be left that
	 * cannot hold a page plus its new page-table page) */
	assert_true(s.frames_free <= 1);
	uint64_t first_remote = NONE;
	for (uint64_t i = 0; i < n; i++) {
		int node = node_at(m, A + i * P);
		if (node == 0 && first_remote == NONE)
			first_remote = i;
		if (first_remote != NONE)
			assert_int_equal(node, 0); /* once node 1 is full, node 0 serves */
	}
	assert_true(first_remote != NONE && first_remote > 900);
	assert_true(s.numa_remote > 0);
	assert_int_equal(s.numa_spills, 0);
	assert_int_equal(s.node_allocs[0], s.numa_remote);
	node_sums(m);
	done(m, &h);

	/* mask 0: local allocation on the CPU's node */
	c = ncfg(2, 4, MOS_NUMA_PREFERRED, 0, "baseline");
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB, MOS_VMA_MMAP), MOS_OK);
	assert_int_equal(mos_set_cpu_node(m, 1), MOS_OK);
	fault(m, A);
	assert_int_equal(node_at(m, A), 1);
	done(m, &h);
}

/* ----------------------------------------------------------------- local */

/* local follows mos_set_cpu_node; so do page tables made after the switch. */
static void test_local_and_page_tables(void **state)
{
	(void)state;
	struct mos_config c = ncfg(2, 8, MOS_NUMA_LOCAL, 0, "baseline");
	struct host h;
	struct mos *m = mkc(&h, &c);
	const uint64_t B = A + (1ull << 39); /* another PML4 slot: its own PDPT, PD, PT */
	assert_int_equal(mos_vma_add(m, A, 4 * MB, MOS_VMA_MMAP), MOS_OK);
	assert_int_equal(mos_vma_add(m, B, 4 * MB, MOS_VMA_MMAP), MOS_OK);
	fault(m, A);
	assert_int_equal(node_at(m, A), 0);
	tables_on(m, A, 0); /* the PML4 came at mos_create, CPU node 0 */
	assert_int_equal(mos_set_cpu_node(m, 1), MOS_OK);
	fault(m, A + P);
	assert_int_equal(node_at(m, A + P), 1);
	fault(m, B);
	assert_int_equal(node_at(m, B), 1);
	uint64_t pa[MOS_PT_LEVELS];
	assert_int_equal(mos_walk_path(m, B, pa), 4);
	assert_int_equal(mos_pfn_node(m, pa[0] >> 12), 0); /* PML4 */
	for (int i = 1; i < 4; i++)
		assert_int_equal(mos_pfn_node(m, pa[i] >> 12), 1);
	struct mos_stats s = stats(m);
	assert_int_equal(s.numa_remote, 0);
	assert_int_equal(s.node_allocs[0], 1 + 3 + 1); /* PML4, tables of A, page A */
	assert_int_equal(s.node_allocs[1], 1 + 3 + 1); /* page A+P, tables of B, page B */
	node_sums(m);
	done(m, &h);

	/* interleave: table pages take the nodes in turn (round-robin cursor) */
	c = ncfg(2, 8, MOS_NUMA_INTERLEAVE, 0, "baseline");
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 4 * MB, MOS_VMA_MMAP), MOS_OK);
	fault(m, A);
	assert_int_equal(mos_walk_path(m, A, pa), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mos_pfn_node(m, pa[i] >> 12), i % 2);
	done(m, &h);
}

/* ----------------------------------------------------------------- spill */

/*
 * Spill at the threshold: the local node takes 4 KiB pages while its used
 * frames after the allocation stay <= t * frames; the first one that would
 * cross goes to the next-nearest node (a spill); once every node is over
 * the threshold, the local node takes them again.
 */
static void test_spill_exactly_at_threshold(void **state)
{
	(void)state;
	const double t = 0.25;
	struct mos_config c = ncfg(3, 4, MOS_NUMA_LOCAL, 0, "baseline");
	c.numa_spill_threshold = t;
	for (int i = 0; i < 3; i++) /* from node 0: node 2 at 12, node 1 at 40 */
		for (int j = 0; j < 3; j++)
			c.numa_distance[i][j] = i == j ? 10 : (i + j == 2 ? 12 : 40);
	struct host h;
	struct mos *m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 16 * MB, MOS_VMA_MMAP), MOS_OK);
	const uint64_t limit = (uint64_t)(t * 1024); /* 256 frames per node */
	bool spilled = false;
	uint64_t spills = 0;
	for (uint64_t i = 0; i < 1200; i++) {
		struct mos_stats b = stats(m);
		fault(m, A + i * P);
		struct mos_stats a = stats(m);
		int node = node_at(m, A + i * P);
		if (b.node_frames_used[0] < limit) {
			assert_int_equal(node, 0);
			assert_int_equal(a.numa_spills, b.numa_spills);
		} else if (b.node_frames_used[2] < limit) {
			assert_int_equal(node, 2); /* the nearest other node */
			assert_int_equal(a.numa_spills, b.numa_spills + 1);
			spilled = true;
			spills++;
		} else if (b.node_frames_used[1] < limit) {
			assert_int_equal(node, 1);
		} else {
			assert_int_equal(node, 0); /* all over: back to the local node */
			assert_int_equal(a.numa_spills, b.numa_spills);
		}
		assert_true(a.node_frames_used[2] <= limit && a.node_frames_used[1] <= limit);
	}
	assert_true(spilled);
	struct mos_stats s = stats(m);
	assert_int_equal(s.node_frames_used[1], limit);
	assert_int_equal(s.node_frames_used[2], limit);
	assert_true(s.numa_spills >= spills);
	assert_int_equal(s.numa_remote, s.numa_spills); /* no node was ever full */
	node_sums(m);
	done(m, &h);

	/* threshold 0: spill only when full */
	c.numa_spill_threshold = 0;
	m = mkc(&h, &c);
	assert_int_equal(mos_vma_add(m, A, 16 * MB, MOS_VMA_MMAP), MOS_OK);
	for (uint64_t i = 0; i < 1100; i++) {
		struct mos_stats b = stats(m);
		fault(m, A + i * P);
		assert_int_equal(node_at(m, A + i * P), b.node_frames_free[0] ? 0 : 2);
	}
	s = stats(m);
	assert_int_equal(s.numa_spills, 0);
	assert_true(s.numa_remote > 0);
	done(m, &h);
}

/* ------------------------------------------------------ random workloads */

#define WP 8192u /* pages of the virtual window: 32 MiB */

/*
 * Random adds, munmaps, discards, mremaps, advice, scans, CPU-node switches
 * and faults over a 32 MiB window; mos_check and the per-node sums after
 * every step; under bind nothing ever lands outside the mask; everything
 * freed at the end.
 */
static void random_numa_workload(struct mos_config c, uint64_t seed, int steps,
				 struct mos_stats *seen)
{
	struct host h;
	struct mos *m = mkc(&h, &c);
	unsigned nn = c.numa_nodes;
	uint64_t free0 = stats(m).frames_free;
	uint64_t s = seed;
	int nfault = 0;
	char label[64];
	snprintf(label, sizeof label, "%s/numa %d nodes %u", c.policy, (int)c.numa_policy, nn);
	const struct rw_opts o = { A, WP, true, true, true, nn, label };
	for (int step = 0; step < steps; step++) {
		struct rw_fault f;
		rw_step(m, &s, &o, step, &f);
		if (f.ok) {
			nfault++;
			int node = mos_pfn_node(m, f.res.pfn);
			assert_true(node >= 0 && node < (int)nn);
			if (c.numa_policy == MOS_NUMA_BIND && c.numa_node_mask)
				assert_true((c.numa_node_mask >> node) & 1);
		}
		node_sums(m);
		if (c.numa_policy == MOS_NUMA_BIND && c.numa_node_mask && c.fragmentation == 0) {
			struct mos_stats st = stats(m);
			for (unsigned n = 0; n < nn; n++)
				if (!((c.numa_node_mask >> n) & 1))
					assert_int_equal(st.node_frames_used[n], 0);
		}
	}
	assert_true(nfault > 0);
	assert_int_equal(mos_vma_remove(m, 0, 1ull << 47), MOS_OK);
	struct mos_stats st = stats(m);
	seen->numa_remote += st.numa_remote;
	seen->numa_spills += st.numa_spills;
	seen->oom_events += st.oom_events;
	assert_int_equal(st.data_frames, 0);
	assert_int_equal(st.frames_reserved, 0);
	assert_int_equal(st.pt_pages, 1);
	assert_int_equal(st.frames_free, free0);
	done(m, &h);
}

static void test_random_workloads_all_policies(void **state)
{
	(void)state;
	const char *pol[] = { "baseline", "thp", "reservethp", "eagerpaging" };
	const enum mos_numa_policy np[] = { MOS_NUMA_LOCAL, MOS_NUMA_BIND, MOS_NUMA_INTERLEAVE,
					    MOS_NUMA_PREFERRED };
	uint64_t seed = 1;
	struct mos_stats seen = { 0 };
	for (unsigned n = 2; n <= 4; n++)
		for (size_t q = 0; q < 4; q++)
			for (size_t p = 0; p < 4; p++, seed++) {
				uint32_t mask = 0;
				if (np[q] == MOS_NUMA_BIND)
					mask = seed % 2 ? 1u << (n - 1) : 3u;
				else if (np[q] == MOS_NUMA_PREFERRED)
					mask = seed % 2 ? 1u << 1 : 0u;
				else if (np[q] == MOS_NUMA_INTERLEAVE)
					mask = seed % 2 ? 0u : 5u & ((1u << n) - 1);
				struct mos_config c = ncfg(n, 4, np[q], mask, pol[p]);
				c.thp_mode = MOS_THP_ALWAYS;
				c.promotion_threshold = 0.3;
				c.fault_around_pages = 1u << (seed % 5);
				c.eager_max_bytes = MB;
				c.eager_populate_bytes = 16 * P;
				c.numa_spill_threshold = (double)(seed % 3) * 0.4; /* 0, 0.4, 0.8 */
				if (seed % 4 == 3) {
					c.fragmentation = 0.3;
					c.seed = seed;
				}
				random_numa_workload(c, seed, 600, &seen);
			}
	/* the workloads reached the fallback, spill and OOM paths */
	assert_true(seen.numa_remote > seen.numa_spills);
	assert_true(seen.numa_spills > 0);
	assert_true(seen.oom_events > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_validation),
		cmocka_unit_test(test_one_node_unchanged),
		cmocka_unit_test(test_interleave_regions_even),
		cmocka_unit_test(test_interleave_pages_and_mask),
		cmocka_unit_test(test_interleave_full_node_falls_back),
		cmocka_unit_test(test_bind_stays_and_ooms),
		cmocka_unit_test(test_preferred_falls_back),
		cmocka_unit_test(test_local_and_page_tables),
		cmocka_unit_test(test_spill_exactly_at_threshold),
		cmocka_unit_test(test_random_workloads_all_policies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
