/* touch MIB [PATTERN]: malloc MIB MiB, write one byte per 4 KiB page, then
 * read them all back; prints the sum. Exactly MIB*256 pages are touched,
 * so the emulator's fault count can be checked against it. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t n = mib << 20;
	unsigned char *p = malloc(n);
	if (!p)
		return 1;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = (unsigned char)(i >> 12);
	unsigned long long sum = 0;
	for (size_t i = 0; i < n; i += 4096)
		sum += p[i];
	printf("touched %zu pages, sum %llu\n", n >> 12, sum);
	free(p);
	return 0;
}
