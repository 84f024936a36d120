/* wpwrite N M [MS]: in a private anonymous mmap of 4 MiB (1024 pages,
 * managed: at least heap.mmap_threshold), write N distinct pages, sleep
 * 3 intervals of MS ms (default 10), only read all 1024 pages for 5
 * intervals, write M other pages, sleep 3 intervals. N + M <= 1024.
 * Written pages are the first N, then the next M, in a fixed scattered
 * order. Prints a checksum of what it read; deterministic output. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGES 1024u
#define PAGE 4096u

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: wpwrite N M [MS]\n");
		return 2;
	}
	unsigned n = (unsigned)atoi(argv[1]), m = (unsigned)atoi(argv[2]);
	unsigned ms = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	if (n + m > PAGES) {
		fprintf(stderr, "N + M must be at most %u\n", PAGES);
		return 2;
	}
	volatile unsigned char *a = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* page order: i * 397 mod 1024 visits every page once (397 is odd) */
	for (unsigned i = 0; i < n; i++)
		a[(size_t)(i * 397u % PAGES) * PAGE + 7] = (unsigned char)(i + 1);
	sleep_ms(3 * ms);
	uint64_t sum = 0, reads = 0, end = now_ms() + 5 * ms;
	do {
		for (unsigned p = 0; p < PAGES; p++)
			sum += a[(size_t)p * PAGE + 7];
		reads++;
	} while (now_ms() < end);
	for (unsigned i = n; i < n + m; i++)
		a[(size_t)(i * 397u % PAGES) * PAGE + 7] = (unsigned char)(i + 1);
	sleep_ms(3 * ms);
	uint64_t once = 0;
	for (unsigned p = 0; p < PAGES; p++)
		once += a[(size_t)p * PAGE + 7];
	/* the read phase's sum is a multiple of one pass over the first N */
	uint64_t first = 0;
	for (unsigned i = 0; i < n; i++)
		first += (unsigned char)(i + 1);
	printf("wrote %u + %u pages; read phase %s; checksum %llu\n", n, m,
	       sum == first * reads ? "consistent" : "INCONSISTENT", (unsigned long long)once);
	return sum == first * reads ? 0 : 1;
}
