/*
 * fork after pages were swapped out: fill MIB of memory with a pattern
 * (under vmemu with a smaller memory.size most of it is in swap), fork;
 * the child checks everything, rewrites half and checks again; the parent
 * waits, then checks its own copy is untouched. Prints one line per check.
 *
 * usage: forkswap MIB
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t *buf;
static size_t words;

static size_t check(uint64_t salt_lo, uint64_t salt_hi)
{
	size_t bad = 0;
	for (size_t i = 0; i < words; i += 61) {
		uint64_t want = i * 2654435761u ^ (i < words / 2 ? salt_lo : salt_hi);
		bad += buf[i] != want;
	}
	return bad;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	words = mib << 20 >> 3;
	buf = malloc(words * 8);
	if (!buf)
		return 3;
	for (size_t i = 0; i < words; i++)
		buf[i] = i * 2654435761u ^ 0x1111;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child: before %zu bad\n", check(0x1111, 0x1111));
		for (size_t i = 0; i < words / 2; i++)
			buf[i] = i * 2654435761u ^ 0x2222;
		printf("child: after rewrite %zu bad\n", check(0x2222, 0x1111));
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("parent: %zu bad, child exit %d\n", check(0x1111, 0x1111), WEXITSTATUS(st));
	return 0;
}
