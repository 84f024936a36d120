/* Unit tests of the MimicOS radix page table (mimicos/pagetable.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pagetable.h"

/* Host allocator that can be told to refuse after a number of allocations. */
struct host {
	long live;       /* allocations not yet freed */
	long fail_after; /* refuse once this many more succeeded; -1: never */
};

static void *t_zalloc(void *ctx, size_t n)
{
	struct host *h = ctx;
	if (h->fail_after == 0)
		return NULL;
	if (h->fail_after > 0)
		h->fail_after--;
	h->live++;
	return calloc(1, n);
}

static void t_free(void *ctx, void *p, size_t n)
{
	struct host *h = ctx;
	h->live--;
	free(p);
}

struct fixture {
	struct host host;
	struct mos_allocator alloc;
	struct buddy buddy;
	struct pt pt;
};

static struct fixture *fx_new(uint64_t frames)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->host.fail_after = -1;
	f->alloc = (struct mos_allocator){ t_zalloc, t_free, &f->host };
	assert_int_equal(buddy_init(&f->buddy, frames, &f->alloc), MOS_OK);
	assert_int_equal(pt_init(&f->pt, &f->buddy, &f->alloc), MOS_OK);
	return f;
}

static void fx_check(struct fixture *f)
{
	char why[256];
	if (!pt_check(&f->pt, why, sizeof(why)))
		fail_msg("pt_check: %s", why);
	if (!buddy_check(&f->buddy, why, sizeof(why)))
		fail_msg("buddy_check: %s", why);
}

static void fx_free(struct fixture *f)
{
	fx_check(f);
	pt_fini(&f->pt);
	assert_int_equal(buddy_free_frames(&f->buddy), f->buddy.nframes); /* all table pages back */
	buddy_fini(&f->buddy);
	assert_int_equal(f->host.live, 0);
	free(f);
}

/* Virtual address from its four table indices (PML4, PDPT, PD, PT). */
static uint64_t VA(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return (a << 39) | (b << 30) | (c << 21) | (d << 12);
}

#define KB4 4096ull
#define MB2 (2ull << 20)
#define GB1 (1ull << 30)

/* PFN stored in entry i of node n. */
static uint64_t entry_pfn(const struct pt_node *n, unsigned i)
{
	return (n->pte[i] & 0x000ffffffffff000ull) >> 12;
}

static void test_init(void **state)
{
	struct fixture *f = fx_new(1024);
	assert_int_equal(pt_tables(&f->pt), 1);
	assert_int_equal(buddy_free_frames(&f->buddy), 1023);
	/* A fresh buddy hands out PFN 0 first: the PML4 is frame 0. */
	assert_int_equal(f->pt.root->pfn, 0);
	uint64_t pa[4];
	assert_int_equal(pt_walk_path(&f->pt, VA(7, 1, 2, 3), pa), 1);
	assert_int_equal(pa[0], 0 * 4096 + 7 * 8);
	assert_int_equal(pt_lookup(&f->pt, VA(7, 1, 2, 3), NULL, NULL), MOS_ENOENT);
	fx_free(f);
}

static void test_map_lookup_unmap(void **state)
{
	struct fixture *f = fx_new(1024);
	uint64_t pfn;
	unsigned shift;
	uint64_t va = VA(1, 2, 3, 4);
	assert_int_equal(pt_map(&f->pt, va, 1000, 12), MOS_OK);
	assert_int_equal(pt_lookup(&f->pt, va, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, 1000);
	assert_int_equal(shift, 12);
	assert_int_equal(pt_lookup(&f->pt, va + 4095, &pfn, NULL), MOS_OK);
	assert_int_equal(pfn, 1000);
	assert_true(pt_is_mapped(&f->pt, va));
	assert_false(pt_is_mapped(&f->pt, va + KB4));
	assert_false(pt_is_mapped(&f->pt, va - KB4));

	assert_int_equal(pt_map(&f->pt, va, 1001, 12), MOS_EEXIST);
	assert_int_equal(pt_map(&f->pt, va + 8, 1001, 12), MOS_EINVAL);
	assert_int_equal(pt_map(&f->pt, 1ull << 48, 1001, 12), MOS_EINVAL);
	assert_int_equal(pt_map(&f->pt, va + KB4, 1001, 13), MOS_EINVAL);
	fx_check(f);

	assert_int_equal(pt_unmap(&f->pt, va + 100, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, 1000);
	assert_int_equal(shift, 12);
	assert_int_equal(pt_unmap(&f->pt, va, &pfn, &shift), MOS_ENOENT);
	assert_int_equal(pt_lookup(&f->pt, va, &pfn, &shift), MOS_ENOENT);
	assert_int_equal(pt_tables(&f->pt), 4); /* unmap keeps the tables */
	fx_free(f);
}

static void test_table_accounting(void **state)
{
	struct fixture *f = fx_new(1024);
	uint64_t free0 = buddy_free_frames(&f->buddy);
	/* First 4 KiB page: PDPT + PD + PT. */
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 4), 500, 12), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 1 + 3);
	/* Same 2 MiB region: no new table. */
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 5), 501, 12), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 4);
	/* 1 GiB away, same 512 GiB: PD + PT. */
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 4) + GB1, 502, 12), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 6);
	/* 2 MiB away, same 1 GiB: PT only. */
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 4) + MB2, 503, 12), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 7);
	/* 512 GiB away: PDPT + PD + PT. */
	assert_int_equal(pt_map(&f->pt, VA(2, 0, 0, 0), 504, 12), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 10);
	/* Every table page is a buddy frame. */
	assert_int_equal(buddy_free_frames(&f->buddy), free0 - 9);
	fx_free(f);
}

static void test_walk_path(void **state)
{
	struct fixture *f = fx_new(1024);
	uint64_t va = VA(5, 6, 7, 8), pa[4];
	assert_int_equal(pt_map(&f->pt, va, 321, 12), MOS_OK);

	const struct pt_node *pml4 = f->pt.root;
	uint64_t pdpt = entry_pfn(pml4, 5);
	const struct pt_node *pdpt_n = pml4->child[5];
	uint64_t pd = entry_pfn(pdpt_n, 6);
	const struct pt_node *pd_n = pdpt_n->child[6];
	uint64_t ptp = entry_pfn(pd_n, 7);
	/* Table pages are distinct allocated frames other than the data frame. */
	assert_true(pdpt != pml4->pfn && pd != pdpt && ptp != pd && ptp != pml4->pfn && pd != pml4->pfn);
	assert_int_equal(buddy_block_of(&f->buddy, pdpt, NULL, NULL), BUDDY_ALLOC);
	assert_int_equal(buddy_block_of(&f->buddy, pd, NULL, NULL), BUDDY_ALLOC);
	assert_int_equal(buddy_block_of(&f->buddy, ptp, NULL, NULL), BUDDY_ALLOC);
	/* The leaf entry: PFN 321, P|RW|US. */
	assert_int_equal(pd_n->child[7]->pte[8], (321ull << 12) | 7);

	assert_int_equal(pt_walk_path(&f->pt, va + 0x123, pa), 4);
	assert_int_equal(pa[0], pml4->pfn * 4096 + 5 * 8);
	assert_int_equal(pa[1], pdpt * 4096 + 6 * 8);
	assert_int_equal(pa[2], pd * 4096 + 7 * 8);
	assert_int_equal(pa[3], ptp * 4096 + 8 * 8);
	/* Unmapped neighbour in the same PT: the walk still reads its PTE. */
	assert_int_equal(pt_walk_path(&f->pt, VA(5, 6, 7, 9), pa), 4);
	assert_int_equal(pa[3], ptp * 4096 + 9 * 8);
	/* Missing PT: stops at the PDE. */
	assert_int_equal(pt_walk_path(&f->pt, VA(5, 6, 8, 0), pa), 3);
	assert_int_equal(pa[2], pd * 4096 + 8 * 8);
	assert_int_equal(pt_walk_path(&f->pt, VA(5, 7, 0, 0), pa), 2);
	assert_int_equal(pa[1], pdpt * 4096 + 7 * 8);
	assert_int_equal(pt_walk_path(&f->pt, VA(6, 0, 0, 0), pa), 1);
	assert_int_equal(pt_walk_path(&f->pt, 1ull << 48, pa), 0);
	fx_free(f);
}

static void test_huge_2m(void **state)
{
	struct fixture *f = fx_new(1024);
	uint64_t va = VA(1, 1, 1, 0), pfn, pa[4];
	unsigned shift;
	assert_int_equal(pt_map(&f->pt, va, 3 * 512, 21), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 3); /* PML4 + PDPT + PD, no PT */
	assert_int_equal(pt_lookup(&f->pt, va + 5 * KB4 + 123, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, 3 * 512 + 5);
	assert_int_equal(shift, 21);
	assert_int_equal(pt_lookup(&f->pt, va + MB2 - 1, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, 3 * 512 + 511);

	const struct pt_node *pd_n = f->pt.root->child[1]->child[1];
	assert_int_equal(pd_n->pte[1], ((3ull * 512) << 12) | 0x80 | 7);
	assert_int_equal(pt_walk_path(&f->pt, va + 77 * KB4, pa), 3);
	assert_int_equal(pa[2], pd_n->pfn * 4096 + 1 * 8);

	/* A 4 KiB page inside the 2 MiB leaf, a misaligned 2 MiB page. */
	assert_int_equal(pt_map(&f->pt, va + 7 * KB4, 900, 12), MOS_EEXIST);
	assert_int_equal(pt_map(&f->pt, VA(1, 1, 2, 0), 513, 21), MOS_EINVAL);
	assert_int_equal(pt_map(&f->pt, va + KB4, 512, 21), MOS_EINVAL);
	/* A 2 MiB leaf where a PT exists. */
	assert_int_equal(pt_map(&f->pt, VA(1, 1, 3, 9), 900, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 1, 3, 0), 1024, 21), MOS_EEXIST);
	fx_check(f);

	assert_int_equal(pt_unmap(&f->pt, va + 9 * KB4, &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, 3 * 512);
	assert_int_equal(shift, 21);
	assert_false(pt_is_mapped(&f->pt, va));
	fx_free(f);
}

static void test_huge_1g(void **state)
{
	struct fixture *f = fx_new(64);
	uint64_t va = VA(2, 3, 0, 0), pfn, pa[4];
	unsigned shift;
	assert_int_equal(pt_map(&f->pt, va, 1ull << 18, 30), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 2);
	assert_int_equal(pt_lookup(&f->pt, VA(2, 3, 5, 7), &pfn, &shift), MOS_OK);
	assert_int_equal(pfn, (1ull << 18) + 5 * 512 + 7);
	assert_int_equal(shift, 30);
	assert_int_equal(pt_walk_path(&f->pt, VA(2, 3, 5, 7), pa), 2);
	assert_int_equal(pa[1], f->pt.root->child[2]->pfn * 4096 + 3 * 8);
	assert_int_equal(pt_map(&f->pt, VA(2, 3, 4, 0), 1024, 21), MOS_EEXIST);
	assert_int_equal(pt_map(&f->pt, VA(2, 4, 0, 0), 1, 30), MOS_EINVAL); /* PFN not 1 GiB aligned */
	fx_free(f);
}

static void test_enomem_and_ehost(void **state)
{
	/* 3 frames: the PML4 takes one; a 4 KiB map needs three more tables. */
	struct fixture *f = fx_new(3);
	assert_int_equal(pt_map(&f->pt, VA(0, 0, 0, 1), 2, 12), MOS_ENOMEM);
	assert_int_equal(buddy_free_frames(&f->buddy), 2);
	assert_int_equal(pt_tables(&f->pt), 1);
	assert_int_equal(f->pt.root->used, 0);
	/* A 1 GiB leaf needs only the PDPT. */
	assert_int_equal(pt_map(&f->pt, VA(0, 1, 0, 0), 0, 30), MOS_OK);
	assert_int_equal(pt_tables(&f->pt), 2);
	fx_free(f);

	f = fx_new(4);
	assert_int_equal(pt_map(&f->pt, VA(0, 0, 0, 1), 2, 12), MOS_OK);
	assert_int_equal(buddy_free_frames(&f->buddy), 0);
	fx_free(f);

	/* Host memory refused for the second new node: nothing changes. */
	f = fx_new(64);
	long live = f->host.live;
	f->host.fail_after = 1;
	assert_int_equal(pt_map(&f->pt, VA(0, 0, 0, 1), 2, 12), MOS_EHOST);
	assert_int_equal(buddy_free_frames(&f->buddy), 63);
	assert_int_equal(pt_tables(&f->pt), 1);
	assert_int_equal(f->host.live, live);
	f->host.fail_after = -1;
	fx_free(f);
}

struct seen {
	uint64_t va[64], pfn[64];
	unsigned shift[64];
	int n;
};

static void record(void *ctx, const struct pt_leaf *leaf)
{
	struct seen *s = ctx;
	s->va[s->n] = leaf->vaddr;
	s->pfn[s->n] = leaf->pfn;
	s->shift[s->n] = leaf->page_shift;
	s->n++;
}

static void test_unmap_range_and_free_tables(void **state)
{
	struct fixture *f = fx_new(1024);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 0) + i * KB4, 100 + i, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 5, 0), 200, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(3, 0, 0, 0), 201, 12), MOS_OK);
	/* PML4, PDPT(1), PD(1,2), PT(1,2,3), PT(1,2,5), PDPT(3), PD(3,0), PT(3,0,0) */
	assert_int_equal(pt_tables(&f->pt), 8);

	struct seen s = { .n = 0 };
	/* Pages 2..11 of region (1,2,3): 8 of them are mapped (2..9). */
	assert_int_equal(pt_unmap_range(&f->pt, VA(1, 2, 3, 2), VA(1, 2, 3, 12), record, &s), 8);
	assert_int_equal(s.n, 8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(s.va[i], VA(1, 2, 3, 2 + i));
		assert_int_equal(s.pfn[i], 102 + i);
		assert_int_equal(s.shift[i], 12);
	}
	assert_int_equal(pt_tables(&f->pt), 8);
	/* PT (1,2,3) still maps pages 0 and 1: not freed. */
	assert_int_equal(pt_free_tables(&f->pt, VA(1, 2, 3, 0), VA(1, 2, 4, 0), 0, 1ull << 48), 0);
	assert_int_equal(pt_unmap_range(&f->pt, VA(1, 2, 3, 0), VA(1, 2, 3, 2), NULL, NULL), 2);
	/* Empty now, but a neighbour uses [VA(1,2,3,0), +8 KiB): the floor keeps it. */
	assert_int_equal(pt_free_tables(&f->pt, VA(1, 2, 3, 2), VA(1, 2, 4, 0), VA(1, 2, 3, 2),
					 1ull << 48),
			 0);
	/* Whole region unused: PT (1,2,3) goes; the PD still holds PT (1,2,5). */
	assert_int_equal(pt_free_tables(&f->pt, VA(1, 2, 3, 0), VA(1, 2, 4, 0), VA(1, 2, 3, 0),
					 VA(1, 2, 4, 0)),
			 1);
	assert_int_equal(pt_tables(&f->pt), 7);
	fx_check(f);

	assert_int_equal(pt_unmap_range(&f->pt, VA(1, 2, 5, 0), VA(1, 2, 5, 1), NULL, NULL), 1);
	/* Ceiling just above the page: the PT's 2 MiB coverage is not inside. */
	assert_int_equal(pt_free_tables(&f->pt, VA(1, 2, 5, 0), VA(1, 2, 5, 1), 0, VA(1, 2, 5, 1)), 0);
	/* Up to the next user at VA(3,0,0,0): PT, PD and PDPT of index 1 go, cascading. */
	assert_int_equal(pt_free_tables(&f->pt, VA(1, 2, 5, 0), VA(1, 2, 5, 1), 0, VA(3, 0, 0, 0)), 3);
	assert_int_equal(pt_tables(&f->pt), 4);
	assert_int_equal(buddy_free_frames(&f->buddy), 1024 - 4);
	assert_true(pt_is_mapped(&f->pt, VA(3, 0, 0, 0)));
	fx_free(f);
}

static void test_unmap_range_huge(void **state)
{
	struct fixture *f = fx_new(1024);
	assert_int_equal(pt_map(&f->pt, VA(0, 1, 1, 0), 512, 21), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(0, 1, 2, 3), 7, 12), MOS_OK);
	/* The 2 MiB leaf only partly inside: left alone. */
	assert_int_equal(pt_unmap_range(&f->pt, VA(0, 1, 1, 1), VA(0, 1, 3, 0), NULL, NULL), 1);
	assert_true(pt_is_mapped(&f->pt, VA(0, 1, 1, 0)));
	struct seen s = { .n = 0 };
	assert_int_equal(pt_unmap_range(&f->pt, VA(0, 1, 0, 0), VA(0, 1, 3, 0), record, &s), 512);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pfn[0], 512);
	assert_int_equal(s.shift[0], 21);
	fx_free(f);
}

static void test_next_prev_leaf(void **state)
{
	struct fixture *f = fx_new(1024);
	struct pt_leaf lf;
	assert_false(pt_next_leaf(&f->pt, 0, 1ull << 48, &lf));
	assert_int_equal(pt_map(&f->pt, VA(1, 0, 0, 3), 10, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 0, 9, 0), 512, 21), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(4, 0, 0, 0), 11, 12), MOS_OK);

	assert_true(pt_next_leaf(&f->pt, 0, 1ull << 48, &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 0, 3));
	assert_int_equal(lf.pfn, 10);
	assert_true(pt_next_leaf(&f->pt, VA(1, 0, 0, 4), 1ull << 48, &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 9, 0));
	assert_int_equal(lf.page_shift, 21);
	/* A huge leaf overlapping `from` is found although it starts below. */
	assert_true(pt_next_leaf(&f->pt, VA(1, 0, 9, 5), 1ull << 48, &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 9, 0));
	assert_true(pt_next_leaf(&f->pt, VA(1, 0, 10, 0), 1ull << 48, &lf));
	assert_int_equal(lf.vaddr, VA(4, 0, 0, 0));
	assert_false(pt_next_leaf(&f->pt, VA(1, 0, 10, 0), VA(4, 0, 0, 0), &lf));

	assert_true(pt_prev_leaf(&f->pt, 0, 1ull << 48, &lf));
	assert_int_equal(lf.vaddr, VA(4, 0, 0, 0));
	assert_true(pt_prev_leaf(&f->pt, 0, VA(4, 0, 0, 0), &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 9, 0));
	assert_true(pt_prev_leaf(&f->pt, VA(1, 0, 9, 7), VA(1, 0, 9, 8), &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 9, 0));
	assert_true(pt_prev_leaf(&f->pt, 0, VA(1, 0, 0, 4), &lf));
	assert_int_equal(lf.vaddr, VA(1, 0, 0, 3));
	assert_false(pt_prev_leaf(&f->pt, 0, VA(1, 0, 0, 3), &lf));
	assert_false(pt_prev_leaf(&f->pt, VA(1, 0, 0, 4), VA(1, 0, 9, 0), &lf));
	fx_free(f);
}

static void test_need(void **state)
{
	struct fixture *f = fx_new(1024);
	struct pt_need nd;
	pt_need_init(&nd);
	pt_need_add(&f->pt, &nd, VA(1, 2, 3, 0), 12);
	assert_int_equal(nd.tables, 3);
	pt_need_add(&f->pt, &nd, VA(1, 2, 3, 1), 12);
	assert_int_equal(nd.tables, 3);
	pt_need_add(&f->pt, &nd, VA(1, 2, 4, 0), 12); /* new PT */
	assert_int_equal(nd.tables, 4);
	pt_need_add(&f->pt, &nd, VA(1, 3, 0, 0), 12); /* new PD + PT */
	assert_int_equal(nd.tables, 6);
	pt_need_add(&f->pt, &nd, VA(1, 4, 0, 0), 21); /* new PD only */
	assert_int_equal(nd.tables, 7);

	uint64_t before = pt_tables(&f->pt);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 0), 1, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 1), 2, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 4, 0), 3, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 3, 0, 0), 4, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 4, 0, 0), 512, 21), MOS_OK);
	assert_int_equal(pt_tables(&f->pt) - before, 7);

	pt_need_init(&nd);
	pt_need_add(&f->pt, &nd, VA(1, 2, 3, 9), 12);
	pt_need_add(&f->pt, &nd, VA(1, 3, 1, 0), 12);
	assert_int_equal(nd.tables, 1);
	fx_free(f);
}

static bool count_items(void *ctx, bool is_table, uint64_t vaddr, uint64_t pfn, unsigned shift)
{
	int *c = ctx;
	c[is_table ? 0 : 1]++;
	if (!is_table)
		c[2] += 1 << (shift - 12);
	return true;
}

static void test_for_each_and_check(void **state)
{
	struct fixture *f = fx_new(1024);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 3, 4), 9, 12), MOS_OK);
	assert_int_equal(pt_map(&f->pt, VA(1, 2, 6, 0), 512, 21), MOS_OK);
	int c[3] = { 0, 0, 0 };
	assert_true(pt_for_each(&f->pt, count_items, c));
	assert_int_equal(c[0], 4);
	assert_int_equal(c[1], 2);
	assert_int_equal(c[2], 1 + 512);

	char why[128];
	struct pt_node *pd = f->pt.root->child[1]->child[2];
	pd->used++;
	assert_false(pt_check(&f->pt, why, sizeof(why)));
	pd->used--;
	pd->pte[100] = 1ull << 12; /* not present but with a PFN */
	assert_false(pt_check(&f->pt, why, sizeof(why)));
	pd->pte[100] = 0;
	f->pt.tables++;
	assert_false(pt_check(&f->pt, why, sizeof(why)));
	f->pt.tables--;
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_map_lookup_unmap),
		cmocka_unit_test(test_table_accounting),
		cmocka_unit_test(test_walk_path),
		cmocka_unit_test(test_huge_2m),
		cmocka_unit_test(test_huge_1g),
		cmocka_unit_test(test_enomem_and_ehost),
		cmocka_unit_test(test_unmap_range_and_free_tables),
		cmocka_unit_test(test_unmap_range_huge),
		cmocka_unit_test(test_next_prev_leaf),
		cmocka_unit_test(test_need),
		cmocka_unit_test(test_for_each_and_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
