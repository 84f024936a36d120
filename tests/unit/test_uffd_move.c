/* uffd_move against the running kernel: what it reports is what happened to
 * the pages. Linux 6.18's UFFDIO_MOVE can move a page and report -EEXIST
 * (an internal -EAGAIN retry is not forgotten, see runtime/uffd.h); the
 * samplers then lost that page (a program read zeros). The stress case
 * provokes it with MADV_COLD racing the moves and checks every page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/compat.h"
#include "runtime/uffd.h"

#define PAGE 4096ull
#define PAGES 64

struct fixture {
	int uffd;
	uint8_t *a, *b; /* PAGES pages each, both registered (MISSING) */
};

static int setup(void **state)
{
	static struct fixture f;
	uint64_t features = 0, enabled = 0;
	char why[512];
	f.uffd = uffd_open(UFFD_FEATURE_MOVE, &features, &enabled, why, sizeof why);
	if (f.uffd < 0 || !(features & UFFD_FEATURE_MOVE)) {
		fprintf(stderr, "skipping: no userfaultfd with UFFDIO_MOVE (%s)\n",
			f.uffd < 0 ? why : "feature missing");
		*state = NULL;
		return 0;
	}
	f.a = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.b = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.a == MAP_FAILED || f.b == MAP_FAILED || uffd_register(f.uffd, (uintptr_t)f.a, PAGES * PAGE, false) ||
	    uffd_register(f.uffd, (uintptr_t)f.b, PAGES * PAGE, false))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f) {
		munmap(f->a, PAGES * PAGE);
		munmap(f->b, PAGES * PAGE);
		close(f->uffd);
	}
	return 0;
}

/* Fill page i of r with its stamp (the page is populated by UFFDIO_COPY:
 * touching a registered hole would wait for a handler). */
static void stamp(int uffd, uint8_t *r, unsigned i, uint8_t v)
{
	static uint8_t buf[PAGE];
	memset(buf, v, sizeof buf);
	assert_int_equal(uffd_copy(uffd, (uintptr_t)(r + i * PAGE), buf, PAGE, false), 0);
}

static void page_is(const uint8_t *p, uint8_t v)
{
	for (size_t k = 0; k < PAGE; k++)
		if (p[k] != v)
			fail_msg("byte %zu is %u, want %u", k, p[k], v);
}

/* The state the kernel bug leaves (page at dst, src empty, -EEXIST) counts
 * as moved; a real -EEXIST (both present) and -ENOENT do not. */
static void test_states(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	int err;
	uint64_t rec = 0;
	/* page 0: moved behind uffd_move's back, then moved "again" */
	stamp(f->uffd, f->a, 0, 0x5a);
	struct uffdio_move m = { .dst = (uintptr_t)f->b, .src = (uintptr_t)f->a, .len = PAGE,
				 .mode = UFFDIO_MOVE_MODE_DONTWAKE };
	assert_int_equal(ioctl(f->uffd, UFFDIO_MOVE, &m), 0);
	assert_int_equal(uffd_move(f->uffd, (uintptr_t)f->b, (uintptr_t)f->a, PAGE, false, &err, &rec), PAGE);
	assert_int_equal(err, 0);
	assert_int_equal(rec, 1);
	page_is(f->b, 0x5a);
	/* page 1: present at both ends: a real EEXIST, nothing moves */
	stamp(f->uffd, f->a, 1, 0x11);
	stamp(f->uffd, f->b, 1, 0x22);
	assert_int_equal(uffd_move(f->uffd, (uintptr_t)(f->b + PAGE), (uintptr_t)(f->a + PAGE), PAGE, false,
				   &err, &rec), 0);
	assert_int_equal(err, -EEXIST);
	assert_int_equal(rec, 1);
	page_is(f->a + PAGE, 0x11);
	page_is(f->b + PAGE, 0x22);
	/* page 2: absent at both ends */
	assert_int_equal(uffd_move(f->uffd, (uintptr_t)(f->b + 2 * PAGE), (uintptr_t)(f->a + 2 * PAGE), PAGE,
				   false, &err, &rec), 0);
	assert_int_equal(err, -ENOENT);
	/* a run: pages 3..5 moved, then 3..7 moved with uffd_move: 3 recovered,
	 * 4 moved by the kernel itself */
	for (unsigned i = 3; i < 8; i++)
		stamp(f->uffd, f->a, i, (uint8_t)i);
	m = (struct uffdio_move){ .dst = (uintptr_t)(f->b + 3 * PAGE), .src = (uintptr_t)(f->a + 3 * PAGE),
				  .len = 3 * PAGE, .mode = UFFDIO_MOVE_MODE_DONTWAKE };
	assert_int_equal(ioctl(f->uffd, UFFDIO_MOVE, &m), 0);
	rec = 0;
	assert_int_equal(uffd_move(f->uffd, (uintptr_t)(f->b + 3 * PAGE), (uintptr_t)(f->a + 3 * PAGE), 5 * PAGE,
				   false, &err, &rec), 5 * PAGE);
	assert_int_equal(err, 0);
	assert_int_equal(rec, 3);
	for (unsigned i = 3; i < 8; i++)
		page_is(f->b + i * PAGE, (uint8_t)i);
	madvise(f->a, PAGES * PAGE, MADV_DONTNEED);
	madvise(f->b, PAGES * PAGE, MADV_DONTNEED);
}

struct racer { struct fixture *f; int stop; };

/* MADV_COLD clears the accessed bits under the moves: their PTEs change
 * between the kernel's read and its locked recheck (-EAGAIN inside). */
static void *cool(void *arg)
{
	struct racer *r = arg;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		madvise(r->f->a, PAGES * PAGE, MADV_COLD);
		madvise(r->f->b, PAGES * PAGE, MADV_COLD);
	}
	return NULL;
}

static void test_race(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	for (unsigned i = 0; i < PAGES; i++)
		stamp(f->uffd, f->a, i, (uint8_t)(i + 1));
	struct racer r = { .f = f };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, cool, &r), 0);
	uint64_t rec = 0;
	const unsigned rounds = 4000;
	for (unsigned it = 0; it < rounds; it++) {
		uint8_t *from = f->a, *to = f->b;
		for (int dir = 0; dir < 2; dir++) {
			/* the whole range in one call, as the samplers move runs */
			int err;
			uint64_t done = uffd_move(f->uffd, (uintptr_t)to, (uintptr_t)from, PAGES * PAGE, false,
						  &err, &rec);
			if (done != PAGES * PAGE)
				fail_msg("round %u: moved %llu of %llu bytes: %s", it, (unsigned long long)done,
					 (unsigned long long)(PAGES * PAGE), strerror(-err));
			uint8_t *x = from;
			from = to;
			to = x;
		}
		for (unsigned i = 0; i < PAGES; i++)
			if (f->a[i * PAGE] != (uint8_t)(i + 1) || f->a[i * PAGE + PAGE - 1] != (uint8_t)(i + 1))
				fail_msg("round %u: page %u lost (reads %u)", it, i, f->a[i * PAGE]);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	for (unsigned i = 0; i < PAGES; i++)
		page_is(f->a + i * PAGE, (uint8_t)(i + 1));
	printf("race: %u round trips of %d pages, %llu pages the kernel moved but reported as not "
	       "moved (recovered)\n",
	       rounds, PAGES, (unsigned long long)rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_race),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
