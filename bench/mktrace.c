/*
 * bench/mktrace: write a synthetic VMTR trace (tlbmodel/trace.h) for
 * `vmemu replay` benchmarks and tests.
 *
 *   build/bench/mktrace [-n ACCESSES] [-p PATTERN] [-s SEED] [--pc] [--ns-per-access N]
 *                       [--seq-time] OUT
 *
 * The accesses fall in a heap-like window starting at 0x10000000000 (1 TiB),
 * so every page is a MimicOS fault on first touch, like a program's heap:
 *   mix     program-like: 256-access chunks of sequential 8-byte words (60%)
 *           over 32 MiB, 64-byte strides (20%) over another 32 MiB, 4 KiB +
 *           64 B strides (10%) over 128 MiB and random words (10%) over
 *           128 MiB; the streams wrap around, so pages are revisited
 *           (a replay maps a page on its first touch: until then no
 *           prefetcher can translate it)
 *   seq     sequential 8-byte words over 32 MiB
 *   stride  one access per 4 KiB page (4 KiB + 64 B apart) over 128 MiB
 *   rand    random 8-byte words over 128 MiB
 * 25% of the accesses are stores. With --pc every record carries one of 16
 * PCs (one per stream; TRACE_F_PC). Time stamps are in nanoseconds, N per
 * access (default 1), so a replay sees trace time (thp.scan_interval_ms);
 * with --seq-time they are record numbers (TRACE_TIME_SEQ) instead.
 * OUT "-" is stdout. Deterministic for a given seed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlbmodel/trace.h"

#define BASE UINT64_C(0x10000000000)
#define MIB (UINT64_C(1) << 20)

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

enum { G_SEQ, G_LINE, G_PAGE, G_RAND, NGEN };

static int pick(const char *pat)
{
	if (!strcmp(pat, "seq"))
		return G_SEQ;
	if (!strcmp(pat, "stride"))
		return G_PAGE;
	if (!strcmp(pat, "rand"))
		return G_RAND;
	return -1; /* mix */
}

static void usage(void)
{
	fprintf(stderr, "usage: mktrace [-n ACCESSES] [-p mix|seq|stride|rand] [-s SEED] [--pc] "
			"[--ns-per-access N] [--seq-time] OUT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t n = 10000000, seed = 1, ns_per = 1;
	const char *pat = "mix", *out = NULL;
	bool pc = false, seq_time = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-p") && i + 1 < argc)
			pat = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--ns-per-access") && i + 1 < argc)
			ns_per = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--pc"))
			pc = true;
		else if (!strcmp(argv[i], "--seq-time"))
			seq_time = true;
		else if (argv[i][0] == '-' && argv[i][1])
			usage();
		else
			out = argv[i];
	}
	if (!out || !n || (strcmp(pat, "mix") && pick(pat) < 0))
		usage();
	rng = seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
	FILE *f = strcmp(out, "-") ? fopen(out, "wb") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	struct trace_encoder e;
	struct trace_header h = { .version = TRACE_VERSION, .flags = pc ? TRACE_F_PC : 0,
				  .page_shift = 12, .page_sizes = 0, .time_unit = seq_time ? TRACE_TIME_SEQ : TRACE_TIME_NS,
				  .count = n };
	uint8_t buf[TRACE_HEADER_BYTES + TRACE_MAX_RECORD];
	if (fwrite(buf, 1, trace_enc_begin(&e, &h, buf), f) == 0)
		goto io;
	const int only = pick(pat);
	uint64_t pos[NGEN] = { 0 };
	uint64_t i = 0;
	while (i < n) {
		int g = only;
		if (g < 0) {
			unsigned r = (unsigned)(rnd() % 100);
			g = r < 60 ? G_SEQ : r < 80 ? G_LINE : r < 90 ? G_PAGE : G_RAND;
		}
		for (unsigned k = 0; k < 256 && i < n; k++, i++) {
			uint64_t off;
			switch (g) {
			case G_SEQ:
				off = pos[g] % (32 * MIB);
				pos[g] += 8;
				break;
			case G_LINE:
				off = 32 * MIB + pos[g] % (32 * MIB);
				pos[g] += 64;
				break;
			case G_PAGE:
				off = 64 * MIB + pos[g] % (128 * MIB);
				pos[g] += 4096 + 64;
				break;
			default:
				off = 192 * MIB + (rnd() % (128 * MIB));
				break;
			}
			struct trace_record r = { .vaddr = (BASE + off) & ~UINT64_C(7),
						  .time = seq_time ? i : i * ns_per,
						  .pc = pc ? UINT64_C(0x401000) + 16 * (uint64_t)g : 0,
						  .tid = 1,
						  .is_write = (rnd() & 3) == 0 };
			size_t len = trace_enc_record(&e, &r, buf);
			if (fwrite(buf, 1, len, f) != len)
				goto io;
		}
	}
	uint8_t tail[TRACE_MAX_TRAILER];
	size_t len = trace_enc_end(&e, tail);
	if (fwrite(tail, 1, len, f) != len || (f != stdout && fclose(f)))
		goto io;
	return 0;
io:
	perror(out);
	return 1;
}
