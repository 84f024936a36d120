/* staticdata ROUNDS [fork]: works on static data only. A 256 KiB initialised
 * array (.data, from the file) is checked and summed; a 16 MiB .bss array is
 * written one word per page and then read back with a page stride ROUNDS
 * times; a 1 MiB .bss array is never touched. With "fork", a child does the
 * reads too and its sum must match. Prints the sums and the numbers of pages
 * touched; deterministic output. Exit 1 on a wrong value. The arrays are
 * global so that the compiler keeps them in .data and .bss. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096u
#define DATA_BYTES (256u << 10)
#define BSS_BYTES (16u << 20)

unsigned char data[DATA_BYTES] = { [0] = 11, [PAGE] = 22, [DATA_BYTES / 2] = 33,
					  [DATA_BYTES - 1] = 44 };
unsigned char bss[BSS_BYTES];
unsigned char untouched[1u << 20];

static uint64_t read_bss(unsigned rounds)
{
	uint64_t sum = 0;
	for (unsigned r = 0; r < rounds; r++)
		for (size_t off = 0; off < BSS_BYTES; off += PAGE)
			sum += *(volatile uint64_t *)&bss[off];
	return sum;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 4;
	int do_fork = argc > 2 && !strcmp(argv[2], "fork");
	if (data[0] != 11 || data[PAGE] != 22 || data[DATA_BYTES / 2] != 33 ||
	    data[DATA_BYTES - 1] != 44) {
		fprintf(stderr, "staticdata: initialised data lost\n");
		return 1;
	}
	uint64_t dsum = 0;
	for (size_t i = 0; i < DATA_BYTES; i++)
		dsum += data[i] * (i % 7 + 1);
	for (size_t off = 0; off < BSS_BYTES; off += PAGE)
		*(uint64_t *)&bss[off] = off / PAGE * 2654435761u;
	uint64_t sum = read_bss(rounds);
	printf("data %llu bss %llu pages %u\n", (unsigned long long)dsum, (unsigned long long)sum,
	       BSS_BYTES / PAGE);
	if (do_fork) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			bss[0] = 1; /* the child's own copy */
			printf("child bss %llu\n", (unsigned long long)(read_bss(rounds) - rounds));
			exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
		printf("parent bss %llu\n", (unsigned long long)read_bss(rounds));
	}
	return untouched[12345]; /* 0: the untouched .bss reads as zero */
}
