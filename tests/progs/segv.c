/* segv: installs its own SIGSEGV handler, uses the heap, then touches a
 * PROT_NONE page three times; each time its handler must run (it jumps
 * back). Heap data must survive. Prints what happened; exit 0 on success. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf jb;
static volatile sig_atomic_t caught;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	caught++;
	fault_addr = si->si_addr;
	siglongjmp(jb, 1);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);

	size_t n = 8u << 20;
	char *heap = malloc(n);
	memset(heap, 'h', n);
	char *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 3; i++) {
		if (sigsetjmp(jb, 1) == 0) {
			*(volatile char *)guard = 1;
			printf("no fault?\n");
			return 1;
		}
		printf("handler %d ran for the guard page: %s\n", (int)caught,
		       fault_addr == guard ? "right address" : "WRONG address");
	}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += heap[i] != 'h';
	printf("heap bytes corrupted: %zu\n", bad);
	return caught == 3 && bad == 0 ? 0 : 1;
}
