/* threads [N]: N threads (default 16) allocate, fill, verify and free blocks
 * of varied sizes concurrently, and hand blocks to each other (cross-thread
 * free). Prints one line per thread in thread order; exits 1 on any
 * corruption. Output is deterministic. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 4000
#define SLOTS 64

struct shared {
	pthread_mutex_t mu;
	unsigned char *box[SLOTS];
	size_t boxlen[SLOTS];
};
static struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER };
static int nthreads = 16;
static unsigned long long result[256];
static int failed;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int check(const unsigned char *p, size_t n)
{
	unsigned char tag = (unsigned char)n;
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(tag + i))
			return 0;
	return 1;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
	unsigned long long sum = 0;
	unsigned char *mine[32] = { 0 };
	size_t len[32] = { 0 };
	for (int r = 0; r < ROUNDS; r++) {
		int k = (int)(rnd(&s) % 32);
		if (mine[k]) {
			if (!check(mine[k], len[k]))
				__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			sum += len[k];
			/* every 4th block goes to the shared box, freed by whoever takes it */
			if (r % 4 == 0) {
				int b = (int)(rnd(&s) % SLOTS);
				pthread_mutex_lock(&sh.mu);
				unsigned char *old = sh.box[b];
				size_t oldn = sh.boxlen[b];
				sh.box[b] = mine[k];
				sh.boxlen[b] = len[k];
				pthread_mutex_unlock(&sh.mu);
				if (old) {
					if (!check(old, oldn))
						__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
					free(old);
				}
			} else {
				free(mine[k]);
			}
			mine[k] = NULL;
		}
		size_t n = 1 + rnd(&s) % (r % 16 == 0 ? 1 << 20 : 4096);
		unsigned char *p = malloc(n);
		if (!p) {
			failed = 1;
			break;
		}
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)((unsigned char)n + i);
		mine[k] = p;
		len[k] = n;
	}
	for (int k = 0; k < 32; k++)
		if (mine[k]) {
			if (!check(mine[k], len[k]))
				failed = 1;
			sum += len[k];
			free(mine[k]);
		}
	result[id] = sum;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (nthreads < 1 || nthreads > 256)
		return 2;
	pthread_t t[256];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int b = 0; b < SLOTS; b++)
		if (sh.box[b]) {
			if (!check(sh.box[b], sh.boxlen[b]))
				failed = 1;
			free(sh.box[b]);
		}
	for (int i = 0; i < nthreads; i++)
		printf("thread %d checked %llu bytes\n", i, result[i]);
	printf("%s\n", failed ? "CORRUPTION" : "all blocks intact");
	return failed;
}
