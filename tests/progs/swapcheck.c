/*
 * Swap integrity check: W writer threads each own a slice of a large
 * buffer and rewrite every page of it round after round with a tag naming
 * the page and the round; V verifier threads read random pages meanwhile.
 * A word must carry its page's tag with a round between the last round the
 * owner finished before the read and the one it may be writing. At the end
 * every word is checked once more. Prints the mismatch counts and a digest,
 * identical natively and under vmemu when no write was lost.
 *
 * usage: swapcheck MIB ROUNDS [WRITERS VERIFIERS]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE 4096
#define WORDS (PAGE / 8)
#define STRIDE 64 /* words written per page: one per 512 bytes */

static uint64_t *buf;
static size_t pages;
static int writers, rounds;
static _Atomic unsigned *done_round; /* per page: last round completely written */
static atomic_int writers_left;
static atomic_ulong checked, bad;

static uint64_t tag(size_t page, unsigned round) { return (uint64_t)page << 20 | round; }

static void *writer(void *arg)
{
	size_t w = (size_t)arg, lo = pages * w / writers, hi = pages * (w + 1) / writers;
	for (int r = 1; r <= rounds; r++)
		for (size_t p = lo; p < hi; p++) {
			for (size_t k = 0; k < WORDS; k += WORDS / STRIDE)
				buf[p * WORDS + k] = tag(p, (unsigned)r);
			atomic_store_explicit(&done_round[p], (unsigned)r, memory_order_release);
		}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void *verifier(void *arg)
{
	uint64_t x = 88172645463325252ull + (uintptr_t)arg;
	while (atomic_load(&writers_left) > 0) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t p = x % pages;
		unsigned before = atomic_load_explicit(&done_round[p], memory_order_acquire);
		size_t k = (x >> 32) % STRIDE * (WORDS / STRIDE);
		uint64_t v = __atomic_load_n(&buf[p * WORDS + k], __ATOMIC_RELAXED);
		unsigned after = atomic_load_explicit(&done_round[p], memory_order_acquire);
		unsigned r = (unsigned)(v & 0xfffff);
		bool ok = (v >> 20) == p || (v == 0 && before == 0);
		ok = ok && (v == 0 || (r >= before && r <= after + 1));
		if (!ok && atomic_fetch_add(&bad, 1) < 5)
			fprintf(stderr, "page %zu word %zu: %#llx, rounds %u..%u\n", p, k,
				(unsigned long long)v, before, after);
		atomic_fetch_add(&checked, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t mib = strtoul(argv[1], NULL, 10);
	rounds = atoi(argv[2]);
	writers = argc > 3 ? atoi(argv[3]) : 3;
	int verifiers = argc > 4 ? atoi(argv[4]) : 2;
	pages = mib << 20 >> 12;
	buf = calloc(pages, PAGE);
	done_round = calloc(pages, sizeof *done_round);
	if (!buf || !done_round)
		return 3;
	writers_left = writers;
	pthread_t t[64];
	int n = 0;
	for (int i = 0; i < writers; i++)
		pthread_create(&t[n++], NULL, writer, (void *)(uintptr_t)i);
	for (int i = 0; i < verifiers; i++)
		pthread_create(&t[n++], NULL, verifier, (void *)(uintptr_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	/* final pass: every word of every page */
	uint64_t final_bad = 0, digest = 1469598103934665603ull;
	for (size_t p = 0; p < pages; p++)
		for (size_t k = 0; k < WORDS; k++) {
			uint64_t want = k % (WORDS / STRIDE) ? 0 : tag(p, (unsigned)rounds);
			uint64_t v = buf[p * WORDS + k];
			final_bad += v != want;
			digest = (digest ^ v) * 1099511628211ull;
		}
	printf("pages %zu rounds %d: concurrent mismatches %lu, final mismatches %llu, digest %016llx\n",
	       pages, rounds, (unsigned long)bad, (unsigned long long)final_bad,
	       (unsigned long long)digest);
	fprintf(stderr, "verifier reads %lu\n", (unsigned long)checked);
	return bad || final_bad;
}
