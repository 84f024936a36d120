/*
 * bench/tlbmodel: single-thread throughput of the TLB / page-walk model.
 *
 *   build/bench/tlbmodel [-n ACCESSES] [-p PATTERN] [-s SECTION.KEY=VALUE]... [machine.ini ...]
 *
 * Generates a synthetic trace of ACCESSES (default 100M) accesses in memory
 * (sequential, strided and random addresses over 4 KiB, 2 MiB and 1 GiB
 * regions, 25% stores; see `patterns` below), then replays it through a model
 * of each machine file (default: every .ini file in the configs/machines folder) and prints
 * accesses per second and the ratio to the 50M accesses/s target of issue 5.
 * The default pattern "mix" is program-like; -p stress is walk-heavy, and
 * -p seq|line|stride|rand4k|rand2m run one generator alone, which separates
 * the cost of first-level hits from the cost of walks.
 * -s overrides a machine key after each file is read (e.g. -s walk.memory=cache),
 * as `vmemu -s` does: the section is everything before the last dot.
 * Translations are computed arithmetically (no MimicOS): the region of an
 * address gives its page size, and page-table entry addresses follow a radix
 * layout with one table page per virtual prefix.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlbmodel/tlbmodel.h"

#define TARGET_PER_S 50e6

/* Regions: vaddr >> 40 selects the page size. */
#define R4K (UINT64_C(1) << 40) /* 4 KiB pages, 4 GiB used */
#define R2M (UINT64_C(2) << 40) /* 2 MiB pages, 8 GiB used */
#define R1G (UINT64_C(3) << 40) /* 1 GiB pages, 16 GiB used */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * Address generators. Each keeps its own position, so a stream resumes where
 * it stopped when the mix comes back to it.
 */
enum gen {
	G_SEQ4K,     /* sequential 8-byte words over 1 GiB of 4K pages */
	G_SEQ2M,     /* sequential 8-byte words over 8 GiB of 2M pages */
	G_LINE4K,    /* stride 64 B (a cache line) over 4 GiB of 4K pages */
	G_PAGE4K,    /* stride 4 KiB + 64 B over 4 GiB of 4K pages: a new page each access */
	G_RAND4K,    /* random words over 4 GiB of 4K pages */
	G_RAND2M,    /* random words over 8 GiB of 2M pages */
	G_RAND1G,    /* random words over 16 GiB of 1G pages */
	NGEN
};

/*
 * Patterns: percentages of 256-access chunks given to each generator.
 * "mix" is program-like (mostly streaming and short strides, a minority of
 * page-crossing and random accesses) and is the headline figure; "stress" is
 * walk-heavy (about half the accesses walk); the others run one generator.
 */
struct pattern {
	const char *name;
	uint8_t pct[NGEN];
};
static const struct pattern patterns[] = {
	{ "mix", { 55, 15, 15, 7, 5, 2, 1 } },
	{ "stress", { 45, 5, 0, 20, 15, 10, 5 } },
	{ "seq", { 100, 0, 0, 0, 0, 0, 0 } },
	{ "line", { 0, 0, 100, 0, 0, 0, 0 } },
	{ "stride", { 0, 0, 0, 100, 0, 0, 0 } },
	{ "rand4k", { 0, 0, 0, 0, 100, 0, 0 } },
	{ "rand2m", { 0, 0, 0, 0, 0, 100, 0 } },
};
#define NPATTERNS (sizeof patterns / sizeof patterns[0])

/* Trace record: the address (8-byte aligned) with bit 0 = store. */
static uint64_t *make_trace(size_t n, const struct pattern *pat)
{
	uint64_t *tr = malloc(n * sizeof *tr);
	if (!tr)
		return NULL;
	uint64_t pos[NGEN] = { 0 };
	size_t i = 0;
	while (i < n) {
		unsigned r = (unsigned)(rnd() % 100), g = 0, acc = pat->pct[0];
		while (r >= acc && g + 1 < NGEN)
			acc += pat->pct[++g];
		for (size_t k = 0; k < 256 && i < n; k++, i++) {
			uint64_t va;
			switch (g) {
			case G_SEQ4K:
				va = R4K + (pos[g] & ((1ull << 30) - 1));
				pos[g] += 8;
				break;
			case G_SEQ2M:
				va = R2M + (pos[g] & ((8ull << 30) - 1));
				pos[g] += 8;
				break;
			case G_LINE4K:
				va = R4K + (pos[g] & ((4ull << 30) - 1));
				pos[g] += 64;
				break;
			case G_PAGE4K:
				va = R4K + (pos[g] & ((4ull << 30) - 1));
				pos[g] += 4096 + 64;
				break;
			case G_RAND4K:
				va = R4K + (rnd() & ((4ull << 30) - 8));
				break;
			case G_RAND2M:
				va = R2M + (rnd() & ((8ull << 30) - 8));
				break;
			default:
				va = R1G + (rnd() & ((16ull << 30) - 8));
				break;
			}
			va &= ~UINT64_C(7);
			tr[i] = va | ((rnd() & 3) == 0); /* 25% stores */
		}
	}
	return tr;
}

/* ---- a small INI line reader feeding tlb_machine_set ---- */

static void trim(char *s)
{
	char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	memmove(s, p, strlen(p) + 1);
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* -s overrides, applied after every file */
static const char *sets[32];
static int nsets;

static int load_ini(const char *path, struct tlb_machine *m)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot open\n", path);
		return -1;
	}
	tlb_machine_init(m);
	char line[512], section[256] = "", err[256];
	int lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		for (char *c = line; *c; c++)
			if (*c == ';' && (c == line || c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			if (end)
				*end = '\0';
			snprintf(section, sizeof section, "%.200s", line + 1);
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq) {
			fprintf(stderr, "%s:%d: expected key = value\n", path, lineno);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		trim(line);
		char *val = eq + 1;
		trim(val);
		if (tlb_machine_set(m, section, line, val, err, sizeof err)) {
			fprintf(stderr, "%s:%d: %s\n", path, lineno, err);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	for (int i = 0; i < nsets; i++) {
		char sk[256];
		snprintf(sk, sizeof sk, "%s", sets[i]);
		char *eq = strchr(sk, '='), *dot;
		if (eq)
			*eq = '\0';
		dot = strrchr(sk, '.');
		if (!eq || !dot) {
			fprintf(stderr, "-s %s: expected SECTION.KEY=VALUE\n", sets[i]);
			return -1;
		}
		*dot = '\0';
		if (tlb_machine_set(m, sk, dot + 1, eq + 1, err, sizeof err)) {
			fprintf(stderr, "-s %s: %s\n", sets[i], err);
			return -1;
		}
	}
	if (tlb_machine_validate(m, err, sizeof err)) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static void *zalloc(void *ctx, size_t n)
{
	(void)ctx;
	return calloc(1, n);
}

static void zfree(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this process: less disturbed than wall time when the machine is shared. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const uint8_t region_shift[4] = { 12, 12, 21, 30 };

static int run(const char *path, const uint64_t *trace, size_t n)
{
	struct tlb_machine m;
	if (load_ini(path, &m))
		return -1;
	struct tlb_allocator a = { zalloc, zfree, NULL };
	char err[256];
	struct tlb *t = tlb_create(&m, &a, err, sizeof err);
	if (!t) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	struct tlb_translation tr;
	memset(&tr, 0, sizeof tr);
	uint64_t sum = 0;
	double t0 = now_s(), c0 = cpu_s();
	for (size_t i = 0; i < n; i++) {
		const uint64_t rec = trace[i];
		const uint64_t va = rec & ~UINT64_C(7);
		const unsigned shift = region_shift[(va >> 40) & 3];
		/* radix layout: the table page of level j is named by the address bits above
		 * the ones it translates; the entry by the 9 bits it translates */
		tr.page_shift = (uint8_t)shift;
		tr.levels = tlb_levels_for_shift(shift);
		tr.pte_paddr[0] = (UINT64_C(1) << 40) + ((va >> 39) & 511) * 8;
		tr.pte_paddr[1] = (UINT64_C(2) << 40) + ((va >> 39) << 12) + ((va >> 30) & 511) * 8;
		tr.pte_paddr[2] = (UINT64_C(3) << 40) + ((va >> 30) << 12) + ((va >> 21) & 511) * 8;
		tr.pte_paddr[3] = (UINT64_C(4) << 40) + ((va >> 21) << 12) + ((va >> 12) & 511) * 8;
		sum += tlb_access(t, va, rec & 1, &tr, NULL);
	}
	double dt = now_s() - t0, dc = cpu_s() - c0;
	struct tlb_stats st;
	tlb_get_stats(t, &st);
	double rate = (double)n / dt;
	double l1 = st.accesses ? 100.0 * (double)st.hits_by_level[0] / (double)st.accesses : 0;
	printf("%-20s %8.1f M accesses/s  %6.2f ns/access (CPU %6.2f)  %5.2fx target  "
	       "(L1 hits %5.1f%%, walks %7.0f per M, %6.1f cycles/access, checksum %llu)\n",
	       m.name[0] ? m.name : path, rate / 1e6, dt * 1e9 / (double)n, dc * 1e9 / (double)n,
	       rate / TARGET_PER_S, l1, st.walks_pmpa, st.cycles_per_access, (unsigned long long)sum);
	fflush(stdout);
	tlb_destroy(t);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 100000000;
	const struct pattern *pat = &patterns[0];
	int first = 1;
	while (first + 1 < argc && argv[first][0] == '-') {
		if (strcmp(argv[first], "-n") == 0) {
			n = strtoull(argv[first + 1], NULL, 10);
		} else if (strcmp(argv[first], "-s") == 0 && nsets < 32) {
			sets[nsets++] = argv[first + 1];
		} else if (strcmp(argv[first], "-p") == 0) {
			pat = NULL;
			for (size_t i = 0; i < NPATTERNS; i++)
				if (strcmp(argv[first + 1], patterns[i].name) == 0)
					pat = &patterns[i];
			if (!pat)
				n = 0;
		} else {
			n = 0;
		}
		first += 2;
	}
	if (n == 0) {
		fprintf(stderr,
			"usage: %s [-n ACCESSES] [-p mix|stress|seq|line|stride|rand4k|rand2m] "
			"[-s SECTION.KEY=VALUE]... [machine.ini ...]\n",
			argv[0]);
		return 2;
	}
	char *paths[64];
	int np = 0;
	for (int i = first; i < argc && np < 64; i++)
		paths[np++] = argv[i];
	if (np == 0) {
		const char *dir = "configs/machines";
		DIR *d = opendir(dir);
		if (!d) {
			fprintf(stderr, "%s: cannot open (run from the repository root or give files)\n",
				dir);
			return 2;
		}
		struct dirent *de;
		while ((de = readdir(d)) && np < 64) {
			size_t len = strlen(de->d_name);
			if (len > 4 && strcmp(de->d_name + len - 4, ".ini") == 0) {
				paths[np] = malloc(strlen(dir) + len + 2);
				sprintf(paths[np], "%s/%s", dir, de->d_name);
				np++;
			}
		}
		closedir(d);
		for (int i = 0; i < np; i++) /* stable order */
			for (int j = i + 1; j < np; j++)
				if (strcmp(paths[j], paths[i]) < 0) {
					char *x = paths[i];
					paths[i] = paths[j];
					paths[j] = x;
				}
	}
	double t0 = now_s();
	uint64_t *trace = make_trace(n, pat);
	if (!trace) {
		fprintf(stderr, "cannot allocate a %zu-access trace\n", n);
		return 1;
	}
	printf("tlbmodel bench: %zu accesses, pattern %s (%% of 256-access chunks: seq4K %u, "
	       "seq2M %u, line4K %u, page-stride4K %u, rand4K %u, rand2M %u, rand1G %u; 25%% stores), "
	       "trace built in %.1f s; target %.0f M accesses/s, single thread\n",
	       n, pat->name, pat->pct[0], pat->pct[1], pat->pct[2], pat->pct[3], pat->pct[4],
	       pat->pct[5], pat->pct[6], now_s() - t0, TARGET_PER_S / 1e6);
	int rc = 0;
	for (int i = 0; i < np; i++)
		if (run(paths[i], trace, n))
			rc = 1;
	free(trace);
	return rc;
}
