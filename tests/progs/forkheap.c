/* forkheap: the parent fills heap blocks (some touched, some never touched),
 * forks without exec; the child verifies the parent's data, writes its own
 * into old and new blocks (including pages the parent never touched) and
 * verifies them; the parent, after the child exits, verifies its data was
 * not changed by the child. Exit 0 when all hold. Output is deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N (32u << 20)

static int verify(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i += 512)
		if (p[i] != (unsigned char)(seed + i / 512))
			return 0;
	return 1;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i += 512)
		p[i] = (unsigned char)(seed + i / 512);
}

int main(void)
{
	unsigned char *a = malloc(N), *untouched = malloc(N);
	if (!a || !untouched)
		return 1;
	fill(a, N, 7);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int ok = verify(a, N, 7);
		for (size_t i = 0; i < N; i += 4096)
			ok &= untouched[i] == 0;
		fill(a, N, 99);
		fill(untouched, N, 42);
		unsigned char *fresh = malloc(N);
		fill(fresh, N, 5);
		ok &= verify(a, N, 99) && verify(untouched, N, 42) && verify(fresh, N, 5);
		printf("child: %s\n", ok ? "parent data seen, own writes kept" : "MISMATCH");
		exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	int ok = verify(a, N, 7);
	for (size_t i = 0; i < N; i += 4096)
		ok &= untouched[i] == 0;
	printf("parent: child exited %d, parent data %s\n", WEXITSTATUS(status),
	       ok ? "unchanged" : "CHANGED");
	return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
