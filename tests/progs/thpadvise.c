/* thpadvise: two 2 MiB-aligned anonymous regions. A (32 MiB) is advised
 * MADV_HUGEPAGE before it is touched; B (16 MiB) is touched first and advised
 * afterwards, then the program sleeps so a khugepaged-like scan can collapse
 * it. Prints a checksum of both; the data must survive. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1ul << 20)

static unsigned char *aligned_map(size_t len)
{
	unsigned char *p = mmap(NULL, len + 2 * MiB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	return (unsigned char *)(((uintptr_t)p + 2 * MiB - 1) & ~(2 * MiB - 1));
}

int main(void)
{
	unsigned char *a = aligned_map(32 * MiB), *b = aligned_map(16 * MiB);
	if (!a || !b)
		return 1;
	madvise(a, 32 * MiB, MADV_HUGEPAGE);
	for (size_t i = 0; i < 32 * MiB; i += 4096)
		a[i] = (unsigned char)(i >> 12);
	for (size_t i = 0; i < 16 * MiB; i += 4096)
		b[i] = (unsigned char)(i >> 13);
	madvise(b, 16 * MiB, MADV_HUGEPAGE);
	usleep(300 * 1000);
	unsigned long long sum = 0;
	for (size_t i = 0; i < 32 * MiB; i += 4096)
		sum += a[i];
	for (size_t i = 0; i < 16 * MiB; i += 4096)
		sum += b[i];
	printf("sum %llu\n", sum);
	return 0;
}
