/* mmapops: large anonymous mmaps (managed by the emulator above
 * heap.mmap_threshold) through their life: touch, madvise(DONTNEED) reads
 * back zeros, MADV_FREE, mremap grow (moving) keeps the data and the new
 * tail works, mremap shrink, munmap. Prints each check; exit 0 if all pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int fails;
static void check(int ok, const char *what)
{
	printf("%-44s %s\n", what, ok ? "ok" : "FAIL");
	fails += !ok;
}

int main(void)
{
	size_t n = 16u << 20;
	/* one page more than used: the page after the 16 MiB is ours to block */
	unsigned char *p = mmap(NULL, n + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 0xAB;
	int ok = 1;
	for (size_t i = 0; i < n; i += 4096)
		ok &= p[i] == 0xAB;
	check(ok, "16 MiB mapping written and read");

	check(madvise(p, n / 2, MADV_DONTNEED) == 0, "madvise DONTNEED first half");
	ok = 1;
	for (size_t i = 0; i < n / 2; i += 4096)
		ok &= p[i] == 0;
	for (size_t i = n / 2; i < n; i += 4096)
		ok &= p[i] == 0xAB;
	check(ok, "discarded half reads zero, rest intact");

	check(madvise(p, 4u << 20, MADV_FREE) == 0, "madvise FREE first 4 MiB");
	for (size_t i = 0; i < (4u << 20); i += 4096)
		p[i] = 0xCD;
	ok = 1;
	for (size_t i = 0; i < (4u << 20); i += 4096)
		ok &= p[i] == 0xCD;
	check(ok, "rewritten after FREE reads back");

	/* Block the address after the mapping so growing must move it: over the
	 * spare page, which is ours (MAP_FIXED_NOREPLACE on the page after an
	 * n-byte mapping failed whenever the kernel had placed another mapping
	 * right there, and the move was then not certain). */
	void *block = mmap(p + n, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	unsigned char *q = mremap(p, n, 2 * n, MREMAP_MAYMOVE);
	check(q != MAP_FAILED, "mremap grow to 32 MiB");
	if (q == MAP_FAILED)
		return 1;
	/* block fails only when something else already sits after the mapping
	 * (the layout differs under vmemu): growing must move it either way */
	printf("%-44s %s\n", "mapping moved", q != p ? "yes" : "no");
	ok = 1;
	for (size_t i = 0; i < (4u << 20); i += 4096)
		ok &= q[i] == 0xCD;
	for (size_t i = n / 2; i < n; i += 4096)
		ok &= q[i] == 0xAB;
	check(ok, "data moved with the mapping");
	for (size_t i = n; i < 2 * n; i += 4096)
		q[i] = 0xEF;
	ok = 1;
	for (size_t i = n; i < 2 * n; i += 4096)
		ok &= q[i] == 0xEF;
	check(ok, "new tail written and read");

	unsigned char *r = mremap(q, 2 * n, n / 4, 0);
	check(r == q, "mremap shrink in place to 4 MiB");
	ok = 1;
	for (size_t i = 0; i < n / 4; i += 4096)
		ok &= r[i] == 0xCD;
	check(ok, "shrunk mapping keeps its data");
	check(munmap(r, n / 4) == 0, "munmap");
	if (block != MAP_FAILED)
		munmap(block, 4096);
	return fails ? 1 : 0;
}
