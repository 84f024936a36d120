/* faultlat [PAGES] [STRIDE_PAGES]: first-touch cost per page. mallocs
 * PAGES*4 KiB, writes one byte per page (every STRIDE_PAGES-th page, default
 * 1) timing each write with CLOCK_MONOTONIC, and prints
 * "pages N p50_ns X p90_ns Y p99_ns Z mean_ns M". It is a plain program:
 * bench/faultlat.sh runs it natively and under vmemu and prints the ratio. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t stride = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	volatile char *p = malloc(pages * 4096 + 4096);
	uint64_t *t = malloc(pages * sizeof *t);
	if (!p || !t)
		return 1;
	/* the allocation may start mid-page: begin at the next page boundary */
	p = (volatile char *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
	size_t n = 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < pages; i += stride) {
		uint64_t a = now();
		p[i * 4096] = 1;
		uint64_t b = now();
		t[n++] = b - a;
		sum += b - a;
	}
	qsort(t, n, sizeof *t, cmp);
	printf("pages %zu p50_ns %llu p90_ns %llu p99_ns %llu mean_ns %llu\n", n,
	       (unsigned long long)t[n / 2], (unsigned long long)t[n * 9 / 10],
	       (unsigned long long)t[n * 99 / 100], (unsigned long long)(sum / n));
	return 0;
}
