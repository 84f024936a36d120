/* touch MIB [STRIDE]: malloc MIB MiB, write one non-zero byte per STRIDE
 * pages of 4 KiB (default 1: every page), then read them back; prints the
 * sum. Exactly MIB*256/STRIDE pages are touched, so the emulator's fault
 * count (and, with a stride, its bloat) can be checked against it. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t step = (argc > 2 ? strtoul(argv[2], NULL, 10) : 1) * 4096;
	size_t n = mib << 20;
	unsigned char *p = malloc(n);
	if (!p || !step)
		return 1;
	for (size_t i = 0; i < n; i += step)
		p[i] = (unsigned char)(i >> 12) | 1;
	unsigned long long sum = 0;
	for (size_t i = 0; i < n; i += step)
		sum += p[i];
	printf("touched %zu pages, sum %llu\n", n / step, sum);
	free(p);
	return 0;
}
