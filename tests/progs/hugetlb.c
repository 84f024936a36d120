/*
 * hugetlb 2m|1g PAGES: mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
 * MAP_HUGE_2MB or MAP_HUGE_1GB) of PAGES huge pages, then Linux's hugetlb
 * rules (Documentation/admin-guide/mm/hugetlbpage.rst, madvise(2), mremap(2)).
 *
 * A host without hugetlb pages refuses the mmap with ENOMEM; the program then
 * uses ordinary anonymous memory and performs on it what the hugetlb rules
 * would have done (a DONTNEED range rounded down to whole huge pages, refused
 * partial munmap and growing mremap skipped), so stdout is the same either
 * way: checksums of the data after each step. Where the hugetlb mapping
 * succeeded, every refusal must come with EINVAL (exit 3 otherwise): five
 * of them (munmap and MAP_FIXED inside a page, DONTNEED from inside a page,
 * MADV_FREE, growing mremap). One
 * more mapping of PAGES + 1 pages must fail with ENOMEM on both (the pool of
 * the emulated machine holds PAGES pages; the host none).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1GB (30 << MAP_HUGE_SHIFT)
#endif

#define PAGE 4096ul

static int hugetlb_flags;

static void *map_huge(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | hugetlb_flags, -1, 0);
}

/* Sum over [p, p+len) of every 4 KiB page's first and last byte, weighted. */
static unsigned long long checksum(const unsigned char *p, size_t len)
{
	unsigned long long s = 0;
	for (size_t i = 0; i < len / PAGE; i++)
		s += (i + 1) * (p[i * PAGE] + 3ull * p[i * PAGE + PAGE - 1]);
	return s;
}

static void expect_einval(int r, const char *what)
{
	if (r != -1 || errno != EINVAL) {
		fprintf(stderr, "hugetlb: %s: expected EINVAL, got %d (%s)\n", what, r, strerror(errno));
		exit(3);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "2m") && strcmp(argv[1], "1g")))
		return fprintf(stderr, "usage: hugetlb 2m|1g PAGES\n"), 2;
	size_t hp = argv[1][0] == '2' ? 2ul << 20 : 1ul << 30;
	hugetlb_flags = argv[1][0] == '2' ? MAP_HUGE_2MB : MAP_HUGE_1GB;
	size_t n = strtoul(argv[2], NULL, 10), len = n * hp;
	if (!n)
		return 2;

	unsigned char *p = map_huge(len);
	int huge = p != MAP_FAILED;
	if (!huge) {
		if (errno != ENOMEM)
			return fprintf(stderr, "hugetlb: mmap: %s\n", strerror(errno)), 1;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return perror("mmap"), 1;
	} else if ((uintptr_t)p % hp) {
		return fprintf(stderr, "hugetlb: %p is not aligned to the huge page size\n", p), 3;
	}
	fprintf(stderr, "hugetlb: %s mapping of %zu x %s\n", huge ? "hugetlb" : "ordinary", n,
		argv[1]);

	/* The pool is full now: one page more than it holds fails. */
	void *q = map_huge((n + 1) * hp);
	printf("mapping %zu more pages: %s\n", n + 1, q == MAP_FAILED ? strerror(errno) : "ok");
	if (q != MAP_FAILED)
		munmap(q, (n + 1) * hp);

	for (size_t i = 0; i < len / PAGE; i++) {
		p[i * PAGE] = (unsigned char)(i * 131 + 7);
		p[i * PAGE + PAGE - 1] = (unsigned char)(i * 17 + 1);
	}
	printf("written: %llu\n", checksum(p, len));

	/* munmap of part of a huge page, or MAP_FIXED over part of one: EINVAL, the data stays */
	if (huge) {
		expect_einval(munmap(p + PAGE, PAGE), "munmap inside a huge page");
		void *f = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		expect_einval(f == MAP_FAILED ? -1 : 0, "MAP_FIXED inside a huge page");
	}
	/* DONTNEED: the start must be aligned, the end is rounded down */
	if (huge)
		expect_einval(madvise(p + PAGE, hp, MADV_DONTNEED), "DONTNEED from inside a page");
	/* one page and 4 KiB (4 KiB with one page: past the mapping is ENOMEM) */
	size_t req = n > 1 ? hp + PAGE : PAGE, dn = req / hp * hp; /* what it really drops */
	if (huge && madvise(p, req, MADV_DONTNEED))
		return perror("madvise"), 3;
	if (!huge && dn && madvise(p, dn, MADV_DONTNEED))
		return perror("madvise"), 1;
	if (huge)
		expect_einval(madvise(p, hp, MADV_FREE), "MADV_FREE on hugetlb");
	printf("after DONTNEED of %zu bytes: %llu\n", req, checksum(p, len));
	p[0] = 0x5a; /* the page faults back in, zeroed */
	printf("refault: %llu\n", checksum(p, len));

	/* mremap: growing is refused; shrinking keeps whole pages */
	if (huge)
		expect_einval(mremap(p, len, len + hp, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0,
			      "growing mremap");
	if (n > 1) {
		if (mremap(p, len, len - hp, 0) != p)
			return perror("mremap"), 3;
		len -= hp;
	}
	printf("after shrinking to %zu pages: %llu\n", len / hp, checksum(p, len));
	if (munmap(p, len))
		return perror("munmap"), 3;
	printf("unmapped\n");
	return 0;
}
