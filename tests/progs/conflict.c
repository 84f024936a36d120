/* conflict PAGES STRIDE ROUNDS [PAUSE_US]: malloc, then touch PAGES pages of
 * 4 KiB STRIDE pages apart, ROUNDS times in the same order (the first round
 * writes, the others read), pausing PAUSE_US microseconds before each
 * access; prints the sum. With STRIDE = the sets of a set-associative TLB
 * (times its banks), every page falls in one set, so PAGES > ways misses on
 * every access of a FIFO or LRU TLB. The pause lets a sampler that takes a
 * page away after waking the program (tlbtrap) finish before the next
 * access. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 9;
	size_t step = (argc > 2 ? strtoul(argv[2], NULL, 10) : 256) * 4096;
	size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
	long pause_us = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
	struct timespec pause = { .tv_nsec = pause_us * 1000 };
	volatile unsigned char *p = malloc(pages * step);
	if (!p || !step || !pages)
		return 1;
	unsigned long long sum = 0;
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < pages; i++) {
			if (pause_us > 0)
				nanosleep(&pause, NULL);
			if (r == 0)
				p[i * step] = (unsigned char)i | 1;
			else
				sum += p[i * step];
		}
	printf("%zu pages x %zu rounds, sum %llu\n", pages, rounds, sum);
	free((void *)p);
	return 0;
}
