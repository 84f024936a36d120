#include "runtime/sampler.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mimicos/mimicos.h>
#include <tlbmodel/tlbmodel.h>
#include <tlbmodel/trace.h>

#include "runtime/compat.h"
#include "runtime/ialloc.h"
#include "runtime/ring.h"
#include "runtime/rt.h"
#include "runtime/runtime.h"
#include "runtime/swap.h"
#include "runtime/uffd.h"
#include "runtime/wpscan.h"

#define PAGE 4096ull
#define RING_SLOTS (1u << 16)
#define WIN_PAGES 64u              /* pages of a stash window (bits of a uint64_t) */
#define WIN_BYTES ((uint64_t)WIN_PAGES * PAGE)
#define STASH_BYTES (256ull << 30) /* virtual; one window slot per window with stashed pages */
#define MODEL_BATCH 16             /* records translated and modeled per rt.lock hold */
#define ARM_BATCH 2                /* protect blocks armed per rt.lock hold */
#define MIN_BLOCKS 16               /* protect: blocks expected per round, at least (if pages allow) */
#define RATE_FLOOR 1e-3            /* the budget lowers the rate to sampler.rate * this at most */
#define COST_ROUNDS 9              /* protect: the budget's costs are medians over this many rounds */
#define DRAIN_NS 1000000ull        /* between rounds, ring and perf buffers drained this often */
enum { TICKS_PENDING, TICKS_ON, TICKS_OFF };
#define PERF_PAGES 64              /* data pages of each perf ring buffer */
#define PERF_MAX_CPUS 64

/* Owner of a stashed page. */
enum { OWN_PROTECT = VM_SRC_PROTECT, OWN_TLBTRAP = VM_SRC_TLBTRAP };

/* One source's state and counters. */
struct source {
	bool requested, running;
	char why[256];             /* why it is not running / what went wrong */
	double scale;              /* estimate = model count * scale */
	uint64_t samples;          /* records accepted by the ring (atomic) */
	uint64_t dropped;          /* records lost to a full ring (atomic) */
	uint64_t modeled;          /* records translated and fed to the model */
	uint64_t untranslated;     /* records whose page MimicOS no longer maps */
	uint64_t armed;            /* pages taken away (protect, tlbtrap) */
	uint64_t arm_failed;       /* pages that could not be taken away */
	int arm_errno;             /* last such error */
	uint64_t not_touched;      /* protect: armed pages given back unaccessed */
	uint64_t intervals;        /* protect: arming rounds */
	struct tlb *model;
	/* estimates: each modeled record counts for its weight */
	double w_sum, w_min, w_max;  /* weights of the modeled records */
	double e_llt, e_walks, e_walks_by_size[3], e_walk_cycles;
	double e_model_hits;         /* tlbtrap: trap records the model's own TLBs hit (see model_record) */
};

/* Stash table entry: a window with pages in the stash. base 0 = empty, 1 = deleted. */
struct sent {
	uint64_t base;    /* WIN_BYTES-aligned virtual address of the window */
	uint64_t stashed; /* bit i: page base + i * PAGE is in the stash */
	uint64_t trap;    /* of those, the pages tlbtrap took (the others: protect) */
	uint64_t stale;   /* stash pages already copied back, to discard (not stashed) */
	uint32_t slot;    /* stash window: S.stash + slot * WIN_BYTES */
	float weight;     /* protect: 1 / the rate of the round that armed its pages */
};

/* The last COST_ROUNDS values of a per-round measure (a ring). */
struct last_rounds {
	double v[COST_ROUNDS];
	unsigned n;                /* values added in all */
};

static struct {
	bool active;               /* some source runs in this process */
	bool child;                /* a fork child: nothing runs */
	bool quiesced;             /* stopped: pages are given back, never taken again */
	struct source src[VM_SRC_COUNT];
	struct ring ring;
	/* stash (rt.lock) */
	uint64_t stash;            /* base address, 0 = none */
	uint32_t stash_next;       /* bump allocator */
	uint32_t *free_slots;
	size_t nfree, free_cap;
	struct sent *tab;
	size_t tab_cap, tab_used, tab_dead;
	uint64_t stashed;          /* pages in the stash now */
	uint64_t stale;            /* stale stash pages (copied back, not discarded yet) */
	uint64_t stashed_peak;
	uint64_t restore_errors;
	uint64_t move_recovered;   /* pages the kernel moved but reported as not moved (uffd_move) */
	/* tlbtrap (rt.lock): the emulated last-level TLB, one FIFO per set.
	 * Set x has its slots at fifo[x * tt_ways ..] (tt_ways of them, or
	 * fewer when the machine's sets differ: tlb_llt_set says), page
	 * addresses, 0 = empty; tt_head[x] is the slot it fills next. tt_geom:
	 * the sets are the machine's last level (tlb_llt_set on the model);
	 * else one fully associative set of sampler.tlb_entries.
	 * Set sampling (sampler.set_rate < 1): only the sets x with
	 * tt_in[x] are emulated, tt_sampled of tt_sets; a page of another set
	 * is never taken away, and each record counts for tt_weight =
	 * tt_sets / tt_sampled. tt_in NULL: every set. */
	uint64_t *fifo;
	uint32_t *tt_head;
	size_t tt_entries, tt_sets, tt_ways;
	bool *tt_in;
	size_t tt_sampled;         /* sets emulated */
	double tt_weight;
	bool tt_geom;
	bool tt_unshared;          /* stores end in other last-level structures than loads */
	/* protect */
	uint64_t rng;
	double rate;               /* this round's rate (<= sampler.rate, lowered by the budget) */
	double rate_sum, rate_min; /* over the rounds */
	double cost_per_page;      /* ns of trap + arming work per armed page (median of the last rounds) */
	struct last_rounds cost_rounds;  /* the last rounds' trap + arming ns per armed page */
	struct last_rounds fixed_rounds; /* the last rounds' fractions of time modeling first touches */
	uint64_t cost_ns;          /* trap + arming work since the last round (rt.lock) */
	uint64_t fixed_ns;         /* first-touch modeling since the last round (rt.lock) */
	uint64_t fixed_total;      /* first-touch modeling in all, ns */
	uint64_t armed_last;       /* pages armed by the last round */
	uint64_t last_round;       /* its start, ns */
	uint64_t budget_rounds;    /* rounds whose rate the budget lowered */
	uint64_t resident;         /* pages MimicOS maps, at the round's start */
	double armable;            /* sum over rounds of rate * resident: pages a round should arm */
	uint64_t small_block_rounds; /* rounds with blocks smaller than sampler.block_pages */
	struct mos_phys_range *runs;
	size_t runs_cap;
	struct piece { uint64_t start, len; } *picks; /* blocks chosen this round */
	size_t npicks, picks_cap;
	/* perf */
	int perf_fd[PERF_MAX_CPUS];
	struct perf_event_mmap_page *perf_mp[PERF_MAX_CPUS];
	int perf_n;
	const char *perf_event;    /* what was opened */
	bool perf_write;           /* the event counts stores */
	uint64_t perf_lost, perf_foreign;
	/* thread */
	pthread_t thread;
	int stop, stopped;         /* atomic */
	bool thread_started;
	/* periodic work, run by the fault handlers (tick) */
	int ticks;                 /* atomic: TICKS_PENDING, TICKS_ON (smp_init to smp_stop), TICKS_OFF */
	int orphaned;              /* atomic: the handlers are gone: the sampler thread drains */
	int tick_busy;             /* atomic: a thread runs the periodic work */
	uint64_t next_due;         /* atomic: when the next round is due, ns */
	uint64_t next_drain;       /* atomic: idle handlers drain from then on, ns */
	/* trace */
	int trace_fd;
	bool tracing;              /* atomic: --record: protect's records go through the ring to the trace */
	struct trace_encoder enc;
	uint8_t *tbuf;
	size_t tlen;
	uint64_t trace_records;
	int trace_errno;
	bool trace_done;
	uint32_t last_level;       /* highest TLB level of the machine */
} S = { .trace_fd = -1 };

/* ------------------------------------------------------------ recording */

static inline uint32_t gettid_u32(void) { return (uint32_t)syscall(SYS_gettid); }

/* Push one record from any thread; lock-free, async-signal-safe. */
/* Push r, counting it as a sample of its source or as dropped (ring full). */
static void push(const struct ring_rec *r)
{
	if (ring_push(&S.ring, r))
		__atomic_fetch_add(&S.src[r->source].samples, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&S.src[r->source].dropped, 1, __ATOMIC_RELAXED);
}

static void emit(unsigned src, uint64_t vaddr, bool write, uint32_t tid, uint64_t now, float weight)
{
	push(&(struct ring_rec){ .vaddr = vaddr, .time = now, .tid = tid,
				 .flags = write ? RING_WRITE : 0, .source = (uint16_t)src,
				 .weight = weight });
}

void smp_emit(unsigned src, uint64_t vaddr, bool write, uint32_t tid, uint64_t now)
{
	emit(src, vaddr, write, tid, now, 1);
}

/* ---------------------------------------------------------------- stash */

/*
 * Pages are taken away in windows: the WIN_PAGES pages of a WIN_BYTES-aligned
 * virtual window share one stash window at the same offsets, so a run of
 * pages moves with one UFFDIO_MOVE. That matters: each ioctl flushes the TLB
 * of every CPU running the program, which cost ~20 us per ioctl on the 2-vCPU
 * VM this was built on whether it moved 1 page or 64 (the kernel batches the
 * flush of a run), and ~1.3 us per page without another CPU to interrupt.
 */

static uint64_t hash_win(uint64_t base)
{
	uint64_t x = base / WIN_BYTES;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct sent *win_find(uint64_t base)
{
	if (!S.tab_cap)
		return NULL;
	for (size_t i = hash_win(base) & (S.tab_cap - 1);; i = (i + 1) & (S.tab_cap - 1)) {
		if (S.tab[i].base == base)
			return &S.tab[i];
		if (S.tab[i].base == 0)
			return NULL;
	}
}

static struct sent *tab_put_raw(struct sent *tab, size_t cap, const struct sent *e)
{
	size_t i = hash_win(e->base) & (cap - 1);
	while (tab[i].base > 1)
		i = (i + 1) & (cap - 1);
	tab[i] = *e;
	return &tab[i];
}

/* Make room for one more entry: rehash at half full (live + deleted). */
static int tab_reserve(void)
{
	if (S.tab_cap && (S.tab_used + S.tab_dead + 1) * 2 <= S.tab_cap)
		return 0;
	size_t cap = S.tab_cap ? S.tab_cap : 1024;
	while ((S.tab_used + 1) * 4 > cap)
		cap *= 2;
	struct sent *t = ialloc_zalloc(cap * sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < S.tab_cap; i++)
		if (S.tab[i].base > 1)
			tab_put_raw(t, cap, &S.tab[i]);
	ialloc_free(S.tab);
	S.tab = t;
	S.tab_cap = cap;
	S.tab_dead = 0;
	return 0;
}

static int slot_alloc(uint32_t *slot)
{
	if (S.nfree) {
		*slot = S.free_slots[--S.nfree];
		return 0;
	}
	if ((uint64_t)S.stash_next >= STASH_BYTES / WIN_BYTES)
		return -1;
	*slot = S.stash_next++;
	return 0;
}

static void slot_free(uint32_t slot)
{
	if (S.nfree == S.free_cap) {
		size_t cap = S.free_cap ? S.free_cap * 2 : 1024;
		uint32_t *p = ialloc_realloc(S.free_slots, cap * sizeof *p);
		if (!p)
			return; /* the slot leaks: address space only */
		S.free_slots = p;
		S.free_cap = cap;
	}
	S.free_slots[S.nfree++] = slot;
}

/* The window entry of base, created (with a stash window) if absent; NULL
 * when out of internal memory or stash address space. */
static struct sent *win_get(uint64_t base)
{
	struct sent *e = win_find(base);
	if (e)
		return e;
	uint32_t slot;
	if (tab_reserve() || slot_alloc(&slot))
		return NULL;
	S.tab_used++;
	return tab_put_raw(S.tab, S.tab_cap, &(struct sent){ .base = base, .slot = slot });
}

/* Forget e once nothing of its window is stashed. */
static void win_put(struct sent *e)
{
	if (e->stashed || e->stale)
		return;
	slot_free(e->slot);
	e->base = 1;
	S.tab_used--;
	S.tab_dead++;
}

static uint64_t stash_addr(const struct sent *e, unsigned i)
{
	return S.stash + (uint64_t)e->slot * WIN_BYTES + (uint64_t)i * PAGE;
}

/* Bits [i, j) of a window mask. */
static uint64_t bits(unsigned i, unsigned j)
{
	uint64_t hi = j >= 64 ? ~0ull : (1ull << j) - 1;
	return hi & ~((1ull << i) - 1);
}

/* UFFDIO_MOVE through uffd_move (rt.lock held), counting the pages the
 * kernel moved but reported as not moved. */
static uint64_t move_run(uint64_t dst, uint64_t src, uint64_t len, bool wake, int *err)
{
	return uffd_move(rt.uffd, dst, src, len, wake, err, &S.move_recovered);
}

static bool mapped(uint64_t page)
{
	uint64_t pfn;
	uint32_t shift;
	return mos_translate(rt.mos, page, &pfn, &shift) == MOS_OK;
}

static void for_range(uint64_t start, uint64_t len, unsigned (*fn)(struct sent *, uint64_t));

/* The first run of set bits of mask at or above bit from: [*i, *j).
 * False when there is none. */
static bool next_run(uint64_t mask, unsigned from, unsigned *i, unsigned *j)
{
	if (from >= WIN_PAGES || !(mask >> from))
		return false;
	unsigned a = from + (unsigned)__builtin_ctzll(mask >> from), b = a;
	while (b < WIN_PAGES && (mask >> b & 1))
		b++;
	*i = a;
	*j = b;
	return true;
}

/* Discard the stale stash pages of e in mask (one madvise per run); e stays
 * in the table (the caller does win_put when done with it). */
static void discard_stale(struct sent *e, uint64_t mask)
{
	mask &= e->stale;
	for (unsigned i = 0, j; next_run(mask, i, &i, &j); i = j)
		syscall(SYS_madvise, (void *)stash_addr(e, i), (size_t)(j - i) * PAGE, MADV_DONTNEED);
	e->stale &= ~mask;
	S.stale -= (uint64_t)__builtin_popcountll(mask);
}

static unsigned discard_window(struct sent *e, uint64_t mask)
{
	discard_stale(e, mask);
	win_put(e);
	return 0;
}

/*
 * Discard every stale stash page (rt.lock held). With nothing stashed, one
 * madvise over the stash windows in use: one TLB flush for all of them.
 */
static void discard_all_stale(void)
{
	if (!S.stale)
		return;
	if (!S.stashed) {
		syscall(SYS_madvise, (void *)S.stash, (size_t)S.stash_next * WIN_BYTES, MADV_DONTNEED);
		for (size_t i = 0; i < S.tab_cap; i++)
			if (S.tab[i].base > 1 && S.tab[i].stale) {
				S.tab[i].stale = 0;
				win_put(&S.tab[i]);
			}
		S.stale = 0;
		return;
	}
	for_range(0, ~0ull & ~(PAGE - 1), discard_window);
}

/*
 * A protect trap on page i of e (rt.lock held): copy the page back instead
 * of moving it, so the trap does not flush the TLB of the CPUs running the
 * program (UFFDIO_MOVE must, for the stash PTE it clears); the stash copy
 * is discarded with the others at the next round. Returns false when the
 * copy failed (the caller moves the page).
 */
static bool trap_copy_back(struct sent *e, unsigned i)
{
	uint64_t bit = 1ull << i, page = e->base + (uint64_t)i * PAGE;
	bool wp = S.src[VM_SRC_WPSCAN].running; /* comes back protected: not written */
	int r = uffd_copy(rt.uffd, page, (const void *)stash_addr(e, i), PAGE, wp);
	if (r && r != -EEXIST)
		return false;
	uffd_wake(rt.uffd, page, PAGE);
	e->stashed &= ~bit;
	e->stale |= bit;
	S.stashed--;
	S.stale++;
	return true;
}

/* Whether tlbtrap emulates the set of page: always, unless set sampling
 * left that set out. O(1). */
static bool tt_sampled(uint64_t page)
{
	if (!S.tt_in)
		return true;
	uint32_t x = tlb_llt_set(S.src[VM_SRC_TLBTRAP].model, page, false, NULL);
	return x < S.tt_sets && S.tt_in[x];
}

/*
 * Take the pages [start, start + n pages) of one window away into the stash
 * for `owner` (rt.lock held): those MimicOS maps (so the range is managed and
 * registered), not taken already, and present on the host, moving each run
 * with one ioctl. Returns the pages taken.
 */
static unsigned stash_out(uint64_t start, unsigned n, unsigned owner)
{
	if (S.quiesced || !n)
		return 0;
	uint64_t base = start & ~(WIN_BYTES - 1);
	unsigned first = (unsigned)((start - base) / PAGE), end = first + n;
	struct sent *e = win_get(base);
	if (!e)
		return 0;
	unsigned taken = 0;
	for (unsigned i = first; i < end;) {
		unsigned j = i;
		while (j < end && !(e->stashed >> j & 1) && mapped(base + (uint64_t)j * PAGE) &&
		       (owner != OWN_TLBTRAP || tt_sampled(base + (uint64_t)j * PAGE)))
			j++;
		if (j == i) {
			i++;
			continue;
		}
		if (e->stale & bits(i, j)) /* a copied-back page's old copy holds the slot */
			discard_stale(e, bits(i, j));
		if (S.src[VM_SRC_WPSCAN].running) /* the move drops the written state */
			wps_before_move(base + (uint64_t)i * PAGE, (uint64_t)(j - i) * PAGE);
		while (i < j) {
			int err;
			unsigned k = (unsigned)(move_run(stash_addr(e, i), base + (uint64_t)i * PAGE,
							 (uint64_t)(j - i) * PAGE, false, &err) / PAGE);
			uint64_t m = bits(i, i + k);
			e->stashed |= m;
			if (owner == OWN_TLBTRAP)
				e->trap |= m;
			/* UFFDIO_MOVE does not carry the userfaultfd write protection
			 * that swap's dirty tracking set: the page can no longer be
			 * proven clean */
			for (unsigned q = i; q < i + k; q++)
				mos_page_dirty(rt.mos, base + (uint64_t)q * PAGE);
			taken += k;
			i += k;
			if (i < j) { /* page i could not be taken: skip it */
				if (err != -ENOENT) {
					S.src[owner].arm_failed++;
					S.src[owner].arm_errno = -err;
				}
				i++;
			}
		}
	}
	if (owner == OWN_PROTECT && taken)
		e->weight = (float)(1.0 / S.rate);
	S.src[owner].armed += taken;
	S.stashed += taken;
	if (S.stashed > S.stashed_peak)
		S.stashed_peak = S.stashed;
	win_put(e);
	return taken;
}

/* Take [start, start + len) away for owner, window by window (rt.lock held). */
static uint64_t stash_out_range(uint64_t start, uint64_t len, unsigned owner)
{
	uint64_t taken = 0;
	for (uint64_t p = start, end = start + len; p < end;) {
		uint64_t next = (p & ~(WIN_BYTES - 1)) + WIN_BYTES;
		if (next > end)
			next = end;
		taken += stash_out(p, (unsigned)((next - p) / PAGE), owner);
		p = next;
	}
	return taken;
}

/*
 * Give back the stashed pages of e in mask (rt.lock held), a run per ioctl,
 * waking threads waiting on them when wake. Returns the pages given back.
 * e may be forgotten on return.
 */
static unsigned stash_in(struct sent *e, uint64_t mask, bool wake)
{
	mask &= e->stashed;
	unsigned back = 0;
	bool wp = S.src[VM_SRC_WPSCAN].running;
	for (unsigned i = 0, j; next_run(mask, i, &i, &j);) {
		while (i < j) {
			uint64_t page = e->base + (uint64_t)i * PAGE;
			int err;
			unsigned k = (unsigned)(move_run(page, stash_addr(e, i), (uint64_t)(j - i) * PAGE,
							 wake && !wp, &err) / PAGE);
			if (k && wp) { /* protected again before anyone wakes */
				wps_after_move(page, (uint64_t)k * PAGE);
				if (wake)
					uffd_wake(rt.uffd, page, (uint64_t)k * PAGE);
			}
			back += k;
			i += k;
			if (i == j)
				break;
			page = e->base + (uint64_t)i * PAGE;
			uint64_t src = stash_addr(e, i);
			if (err == -ENOENT) {
				/* the stash lost the page (a bug): reading the hole would
				 * fault on the stash and block this handler; count it */
				S.restore_errors++;
				if (wake)
					uffd_wake(rt.uffd, page, PAGE);
			} else if (err != -EEXIST) {
				/* not movable back (should not happen): copy it */
				struct uffdio_copy c = { .dst = page, .src = src, .len = PAGE };
				if (ioctl(rt.uffd, UFFDIO_COPY, &c) && errno != EEXIST)
					S.restore_errors++;
				if (wake)
					uffd_wake(rt.uffd, page, PAGE);
			} /* EEXIST: the runtime populated the page meanwhile; that content wins */
			syscall(SYS_madvise, (void *)src, PAGE, MADV_DONTNEED);
			back++;
			i++;
		}
	}
	e->stashed &= ~mask;
	e->trap &= ~mask;
	S.stashed -= back;
	win_put(e);
	return back;
}

/* Drop the stashed copies of e in mask: the program discarded those pages. */
static unsigned stash_drop(struct sent *e, uint64_t mask)
{
	if (e->stale & mask)
		discard_stale(e, mask);
	mask &= e->stashed;
	for (unsigned i = 0, j; next_run(mask, i, &i, &j); i = j)
		syscall(SYS_madvise, (void *)stash_addr(e, i), (size_t)(j - i) * PAGE, MADV_DONTNEED);
	unsigned n = (unsigned)__builtin_popcountll(mask);
	e->stashed &= ~mask;
	e->trap &= ~mask;
	S.stashed -= n;
	win_put(e);
	return n;
}

/* Apply fn(e, mask of its pages inside the range) to every window holding
 * stashed pages in [start, start + len). */
static void for_range(uint64_t start, uint64_t len, unsigned (*fn)(struct sent *, uint64_t))
{
	if (!S.tab_used || !len)
		return;
	start &= ~(PAGE - 1);
	uint64_t end = start + len < start ? ~0ull & ~(PAGE - 1) : start + len;
	uint64_t first = start & ~(WIN_BYTES - 1);
	if ((end - first) / WIN_BYTES <= S.tab_used) {
		for (uint64_t b = first; b < end; b += WIN_BYTES) {
			struct sent *e = win_find(b);
			uint64_t lo = b < start ? (start - b) / PAGE : 0;
			uint64_t hi = end - b >= WIN_BYTES ? WIN_PAGES : (end - b) / PAGE;
			if (e)
				fn(e, bits((unsigned)lo, (unsigned)hi));
		}
		return;
	}
	for (size_t i = 0; i < S.tab_cap; i++) {
		struct sent *e = &S.tab[i];
		if (e->base <= 1 || e->base + WIN_BYTES <= start || e->base >= end)
			continue;
		uint64_t lo = e->base < start ? (start - e->base) / PAGE : 0;
		uint64_t hi = end - e->base >= WIN_BYTES ? WIN_PAGES : (end - e->base) / PAGE;
		fn(e, bits((unsigned)lo, (unsigned)hi));
	}
}

static unsigned restore_wake(struct sent *e, uint64_t mask) { return stash_in(e, mask, true); }

/* ------------------------------------------------------------- tlbtrap */

/* The page (of an emulated set) enters its set of the emulated TLB; that
 * set's FIFO victim is taken away. O(1). */
static void tlb_insert(uint64_t page)
{
	uint32_t x = 0, ways = (uint32_t)S.tt_ways;
	if (S.tt_geom) /* the model's own bank and set index (load path) */
		x = tlb_llt_set(S.src[VM_SRC_TLBTRAP].model, page, false, &ways);
	uint64_t *slot = &S.fifo[(size_t)x * S.tt_ways + S.tt_head[x]];
	uint64_t victim = *slot;
	*slot = page;
	S.tt_head[x] = S.tt_head[x] + 1 == ways ? 0 : S.tt_head[x] + 1;
	if (victim && victim != page)
		stash_out(victim, 1, OWN_TLBTRAP);
}

/* ------------------------------------------------------- fault-path hooks */

static void protect_record(uint64_t vaddr, bool write, uint32_t tid, uint64_t now, float weight);

bool smp_fault(uint64_t addr, bool write, uint32_t tid, uint64_t *woke)
{
	if (!S.tab_used)
		return false;
	uint64_t page = addr & ~(PAGE - 1);
	struct sent *e = win_find(page & ~(WIN_BYTES - 1));
	uint64_t bit = 1ull << ((page & (WIN_BYTES - 1)) / PAGE);
	if (!e || !(e->stashed & bit))
		return false;
	unsigned owner = (e->trap & bit) ? OWN_TLBTRAP : OWN_PROTECT;
	float weight = owner == OWN_PROTECT ? e->weight : (float)S.tt_weight;
	uint64_t t0 = vm_now_ns();
	if (owner == OWN_TLBTRAP || !trap_copy_back(e, (unsigned)__builtin_ctzll(bit)))
		stash_in(e, bit, true);
	uint64_t now = vm_now_ns();
	*woke = now;
	if (owner == OWN_PROTECT)
		S.cost_ns += now - t0;
	if (S.child || S.quiesced)
		return true;
	if (owner == OWN_PROTECT) {
		protect_record(addr, write, tid, now, weight);
		S.cost_ns += vm_now_ns() - now;
	} else {
		emit(owner, addr, write, tid, now, weight);
	}
	if (owner == OWN_TLBTRAP)
		tlb_insert(page);
	return true;
}

void smp_populated(uint64_t addr, bool write, uint32_t tid, uint64_t start, uint64_t len)
{
	if (S.child || S.quiesced)
		return;
	/* protect: a page populated during an interval was not there to be
	 * armed at its start, so its first touch would never be sampled; the
	 * fault is that touch, seen for certain: weight 1. Every one is
	 * modeled: sampled at sampler.rate instead, the model's TLB held too
	 * few of the program's pages and sqlite3's estimate rose from -21% to
	 * +37% of its replay (bench/RESULTS.md, session 8). Its cost does not
	 * scale with the rate: the budget counts it apart (budget_rate). */
	if (S.src[VM_SRC_PROTECT].running) {
		uint64_t t0 = vm_now_ns();
		protect_record(addr, write, tid, t0, 1);
		uint64_t dt = vm_now_ns() - t0;
		S.fixed_ns += dt;
		S.fixed_total += dt;
	}
	if (!S.src[VM_SRC_TLBTRAP].running)
		return;
	uint64_t page = addr & ~(PAGE - 1);
	/* resident, not in the emulated TLB: all but the faulting page (of
	 * the emulated sets: stash_out skips the others) */
	if (page > start)
		stash_out_range(start, page - start, OWN_TLBTRAP);
	if (page + PAGE < start + len)
		stash_out_range(page + PAGE, start + len - page - PAGE, OWN_TLBTRAP);
	if (!tt_sampled(page))
		return;
	emit(VM_SRC_TLBTRAP, addr, write, tid, vm_now_ns(), (float)S.tt_weight);
	tlb_insert(page);
}

bool smp_takes_populated(void)
{
	return S.src[VM_SRC_TLBTRAP].running && !S.child && !S.quiesced;
}

void smp_range_restore(uint64_t start, uint64_t len)
{
	for_range(start, len, restore_wake);
}

void smp_range_forget(uint64_t start, uint64_t len)
{
	for_range(start, len, stash_drop);
	if (S.fifo) /* the emulated OS invalidates these translations */
		for (size_t i = 0; i < S.tt_sets * S.tt_ways; i++)
			if (S.fifo[i] >= start && S.fifo[i] < start + len)
				S.fifo[i] = 0;
}

void smp_restore_all(void)
{
	for_range(0, ~0ull & ~(PAGE - 1), restore_wake);
}

void smp_atfork_child(void)
{
	if (!S.active)
		return;
	S.child = true;
	S.active = false;
	S.thread_started = false;
	S.ticks = TICKS_OFF;
	S.tick_busy = 0; /* a handler of the parent may have been in a tick */
	S.orphaned = 0;
	S.trace_fd = -1; /* the parent's trace */
	for (int i = 0; i < S.perf_n; i++)
		close(S.perf_fd[i]);
	S.perf_n = 0;
	wps_atfork_child();
	for (unsigned s = 0; s < VM_SRC_COUNT; s++)
		if (S.src[s].running) {
			S.src[s].running = false;
			snprintf(S.src[s].why, sizeof S.src[s].why,
				 "not run in a fork child (the parent samples)");
		}
}

/* ------------------------------------------------------------- protect */

static uint64_t rnd(void)
{
	uint64_t x = S.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	S.rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, 1). */
static double rnd_unit(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

/* How many blocks to pass over before the next one armed, when each block is
 * armed independently with probability p (0 < p <= 1): geometric,
 * P(k) = (1 - p)^k p (inversion: floor(ln U / ln(1 - p)), U uniform in
 * (0, 1]). A round then draws one number per armed block, not one per
 * block: at the rates the budget sets (down to rate / 1000, blocks of one
 * page) a draw per block cost python3 ~2% of the CPU. UINT64_MAX: none. */
static uint64_t skip_blocks(double p)
{
	if (p >= 1)
		return 0;
	double k = floor(log(1.0 - rnd_unit()) / log1p(-p));
	return k < 0x1p63 ? (uint64_t)k : UINT64_MAX;
}

static unsigned count_untouched(struct sent *e, uint64_t mask)
{
	unsigned n = stash_in(e, mask & ~e->trap, true);
	S.src[VM_SRC_PROTECT].not_touched += n;
	return n;
}

/* The pages MimicOS maps now, as runs in address order, into S.runs
 * (rt.lock held). Returns the number of runs. */
static size_t mapped_runs(void)
{
	size_t n = 0;
	for (size_t i = 0; i < mos_vma_count(rt.mos); i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		size_t k = mos_phys_ranges(rt.mos, v->start, v->end, NULL, 0);
		if (n + k > S.runs_cap) {
			size_t cap = (n + k) * 2;
			void *p = ialloc_realloc(S.runs, cap * sizeof *S.runs);
			if (!p)
				break;
			S.runs = p;
			S.runs_cap = cap;
		}
		n += mos_phys_ranges(rt.mos, v->start, v->end, S.runs + n, k);
	}
	return n;
}

/* Add a chosen piece of a block to S.picks. */
static void pick(uint64_t start, uint64_t len)
{
	if (S.npicks == S.picks_cap) {
		size_t cap = S.picks_cap ? S.picks_cap * 2 : 256;
		void *p = ialloc_realloc(S.picks, cap * sizeof *S.picks);
		if (!p)
			return; /* out of internal memory: this round arms fewer pages than its rate says */
		S.picks = p;
		S.picks_cap = cap;
	}
	S.picks[S.npicks++] = (struct piece){ start, len };
}

/* Add x to r; returns the median of r's values (the last COST_ROUNDS). */
static double last_rounds_add(struct last_rounds *r, double x)
{
	r->v[r->n++ % COST_ROUNDS] = x;
	unsigned n = r->n < COST_ROUNDS ? r->n : COST_ROUNDS;
	double a[COST_ROUNDS];
	for (unsigned i = 0; i < n; i++) { /* insertion sort */
		unsigned j = i;
		for (; j > 0 && a[j - 1] > r->v[i]; j--)
			a[j] = a[j - 1];
		a[j] = r->v[i];
	}
	return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/*
 * This round's rate (rt.lock held, now = the round's start): sampler.rate,
 * lowered when sampler.budget is set so that the work protect causes stays
 * under budget * the time between rounds. That work is measured in two
 * parts: a fixed one, modeling every first touch on the fault path (a
 * fraction of the time, whatever the rate), and one per armed page (its
 * traps' service and records, the moves out and back), divided by the
 * pages armed. The rate is what the budget left after the fixed part
 * affords at the cost per page. Each part is the median of the last
 * COST_ROUNDS rounds, not a mean: a handler preempted while it serves a
 * trap (the program and the handlers share 2 vCPUs on the VM this was
 * built on) made single rounds cost 10-100 times the others. Before
 * session 8 the first touches were charged per armed page and the costs
 * averaged, so the fewer pages a round armed the dearer each looked: a
 * python3 run had its rate held near the floor by that spiral (40-107
 * pages armed).
 * Each page armed this round stands for 1 / rate accesses in the estimates.
 */
static void budget_rate(uint64_t now)
{
	double rate = rt.cfg.sampler_rate;
	struct mos_stats ms;
	mos_get_stats(rt.mos, &ms);
	S.resident = ms.data_frames;
	if (S.armed_last)
		S.cost_per_page = last_rounds_add(&S.cost_rounds, (double)S.cost_ns / (double)S.armed_last);
	double fixed = 0; /* fraction of the time modeling first touches */
	if (S.last_round && now > S.last_round)
		fixed = last_rounds_add(&S.fixed_rounds, (double)S.fixed_ns / (double)(now - S.last_round));
	if (rt.cfg.sampler_budget > 0 && S.last_round && S.cost_per_page > 0) {
		double left = rt.cfg.sampler_budget - fixed;
		double afford = left > 0 ? left * (double)(now - S.last_round) / S.cost_per_page : 0;
		if (ms.data_frames && afford < rate * (double)ms.data_frames) {
			rate = afford / (double)ms.data_frames;
			if (rate < rt.cfg.sampler_rate * RATE_FLOOR)
				rate = rt.cfg.sampler_rate * RATE_FLOOR;
			S.budget_rounds++;
		}
	}
	S.rate = rate;
	S.rate_sum += rate;
	S.armable += rate * (double)ms.data_frames;
	if (!S.rate_min || rate < S.rate_min)
		S.rate_min = rate;
	S.cost_ns = 0;
	S.fixed_ns = 0;
	S.last_round = now;
}

/* Add the runs of mapped pages in [from, to) to S.picks. */
static void pick_mapped(uint64_t from, uint64_t to)
{
	for (uint64_t p = from; p < to;) {
		if (!mapped(p)) {
			p += PAGE;
			continue;
		}
		uint64_t q = p + PAGE;
		while (q < to && mapped(q))
			q += PAGE;
		pick(p, q - p);
		p = q;
	}
}

/*
 * One protect interval: give back the pages of the last round nobody
 * touched, then take away each aligned block of sampler.block_pages pages
 * with probability `rate`, independently, so that every mapped page is armed
 * with probability `rate` and a block moves with one ioctl. Only the
 * populated 2 MiB regions of each VMA are visited (mos_next_mapped), so a
 * round costs O(regions + chosen blocks), not O(resident pages), under
 * rt.lock. ARM_BATCH pieces are then armed per rt.lock hold.
 */
static void protect_round(void)
{
	struct source *s = &S.src[VM_SRC_PROTECT];
	const uint64_t region = 2ull << 20;
	pthread_mutex_lock(&rt.lock);
	uint64_t t0 = vm_now_ns();
	for_range(0, ~0ull & ~(PAGE - 1), count_untouched);
	discard_all_stale();
	uint64_t now = vm_now_ns();
	S.cost_ns += now - t0;
	budget_rate(now);
	/* blocks: sampler.block_pages, halved while fewer than MIN_BLOCKS would
	 * be expected, since the estimate's variance is that of the number of
	 * blocks (a small program would otherwise get no sample at all) */
	uint64_t bp = rt.cfg.sampler_block_pages;
	while (bp > 1 && S.rate * (double)S.resident < (double)(MIN_BLOCKS * bp))
		bp /= 2;
	if (bp < rt.cfg.sampler_block_pages)
		S.small_block_rounds++;
	const uint64_t block = bp * PAGE;
	S.npicks = 0;
	/* the blocks of the populated regions, in address order, form one
	 * sequence; skip counts the blocks of it to pass before the next armed */
	uint64_t skip = skip_blocks(S.rate);
	for (size_t i = 0; i < mos_vma_count(rt.mos); i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		uint64_t va = v->start, leaf;
		uint32_t shift;
		while (va < v->end && mos_next_mapped(rt.mos, va, v->end, &leaf, &shift)) {
			uint64_t lo = leaf > va ? leaf : va;
			uint64_t hi = (lo & ~(region - 1)) + region;
			if (hi > v->end)
				hi = v->end;
			uint64_t b = lo & ~(block - 1), n = (hi - b + block - 1) / block;
			while (skip < n) { /* block b + skip * block is armed */
				b += skip * block;
				n -= skip + 1;
				pick_mapped(b > lo ? b : lo, b + block < hi ? b + block : hi);
				b += block;
				skip = skip_blocks(S.rate);
			}
			skip -= n;
			va = hi;
		}
	}
	pthread_mutex_unlock(&rt.lock);
	uint64_t armed = 0;
	for (size_t i = 0; i < S.npicks; i += ARM_BATCH) {
		/* MimicOS may have changed meanwhile: stash_out re-checks each page */
		pthread_mutex_lock(&rt.lock);
		t0 = vm_now_ns();
		for (size_t j = i; j < S.npicks && j < i + ARM_BATCH; j++)
			armed += stash_out(S.picks[j].start, (unsigned)(S.picks[j].len / PAGE), OWN_PROTECT);
		S.cost_ns += vm_now_ns() - t0;
		pthread_mutex_unlock(&rt.lock);
	}
	S.armed_last = armed;
	s->intervals++;
}

/* ------------------------------------------------------------- start-up */

/* Source s could not start after its model was made: it never ran (the
 * report says NOT RUN and why, and its JSON "ran" is false), so drop the
 * model. */
static void source_failed(struct source *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	s->running = false;
	if (s->model) {
		tlb_destroy(s->model);
		s->model = NULL;
	}
}

/* ----------------------------------------------------------------- perf */

static long perf_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Read a sysfs file into buf; 0 or -1. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* Intel's cpu/NAME/ alias ("event=0xcd,umask=0x1,ldlat=3") -> config, config1. */
static int intel_event(const char *name, uint32_t *type, uint64_t *config, uint64_t *config1)
{
	char buf[256], path[128];
	if (read_small("/sys/bus/event_source/devices/cpu/type", buf, sizeof buf))
		return -1;
	*type = (uint32_t)strtoul(buf, NULL, 10);
	snprintf(path, sizeof path, "/sys/bus/event_source/devices/cpu/events/%s", name);
	if (read_small(path, buf, sizeof buf))
		return -1;
	*config = *config1 = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",\n", &save); t; t = strtok_r(NULL, ",\n", &save)) {
		char *eq = strchr(t, '=');
		uint64_t v = eq ? strtoull(eq + 1, NULL, 0) : 1;
		if (!strncmp(t, "event=", 6))
			*config |= v & 0xff;
		else if (!strncmp(t, "umask=", 6))
			*config |= (v & 0xff) << 8;
		else if (!strncmp(t, "ldlat=", 6))
			*config1 = v;
	}
	return 0;
}

/*
 * Open one event per CPU for this process (inherit: threads it creates are
 * counted too; per-CPU because an inherited per-task event cannot be
 * mmapped). Returns 0 or -errno of the first failure (everything closed).
 */
static int perf_try(struct perf_event_attr *a)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (ncpu > PERF_MAX_CPUS)
		ncpu = PERF_MAX_CPUS;
	size_t len = (1 + PERF_PAGES) * PAGE;
	for (int c = 0; c < ncpu; c++) {
		long fd = perf_open(a, getpid(), c);
		void *mp = fd >= 0 ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0)
				   : MAP_FAILED;
		if (mp == MAP_FAILED) {
			int e = errno;
			if (fd >= 0)
				close((int)fd);
			for (int i = 0; i < S.perf_n; i++) {
				munmap(S.perf_mp[i], len);
				close(S.perf_fd[i]);
			}
			S.perf_n = 0;
			return -e;
		}
		S.perf_fd[S.perf_n] = (int)fd;
		S.perf_mp[S.perf_n++] = mp;
	}
	return 0;
}

static void perf_start(struct source *s)
{
	struct perf_event_attr a;
	char tried[200] = "";
	uint64_t period = rt.cfg.sampler_perf_period;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.inherit = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.sample_period = period ? period : 1009;
	/* 1. Intel precise load / store events (PEBS), 2. AMD IBS op */
	uint32_t type;
	uint64_t cfg, cfg1;
	static const char *const intel[] = { "mem-loads", "mem-stores" };
	for (int i = 0; i < 2; i++) {
		if (intel_event(intel[i], &type, &cfg, &cfg1))
			continue;
		a.type = type;
		a.config = cfg;
		a.config1 = cfg1;
		a.precise_ip = 2;
		int r = perf_try(&a);
		if (!r) {
			S.perf_event = i ? "cpu/mem-stores/ (PEBS)" : "cpu/mem-loads/ (PEBS)";
			S.perf_write = i == 1;
			s->scale = (double)a.sample_period;
			return;
		}
		snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s: %s",
			 tried[0] ? "; " : "", intel[i], strerror(-r));
	}
	char buf[64];
	if (!read_small("/sys/bus/event_source/devices/ibs_op/type", buf, sizeof buf)) {
		a.type = (uint32_t)strtoul(buf, NULL, 10);
		a.config = 0;
		a.config1 = 0;
		a.precise_ip = 0;
		int r = perf_try(&a);
		if (!r) {
			S.perf_event = "ibs_op (AMD IBS)";
			s->scale = (double)a.sample_period;
			return;
		}
		snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%sibs_op: %s",
			 tried[0] ? "; " : "", strerror(-r));
	}
	/* 3. software page faults: every fault, user-space addresses */
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_PAGE_FAULTS;
	a.config1 = 0;
	a.precise_ip = 0;
	a.sample_period = period ? period : 1;
	int r = perf_try(&a);
	if (r) {
		source_failed(s, "perf_event_open failed: no precise memory event "
			 "(%s) and the software page-fault event: %s",
			 tried[0] ? tried : "no cpu/mem-loads/ or ibs_op PMU", strerror(-r));
		return;
	}
	S.perf_event = "software page-faults";
	s->scale = (double)a.sample_period;
	snprintf(s->why, sizeof s->why, "no precise memory event on this host (%s): fell back to "
		 "software page-fault events (PERF_COUNT_SW_PAGE_FAULTS): samples are page faults, "
		 "not accesses; loads and stores are not told apart",
		 tried[0] ? tried : "no cpu/mem-loads/ or ibs_op PMU");
}

/* Copy n bytes at ring offset off (wrapping) out of a perf data area. */
static void perf_copy(const uint8_t *data, uint64_t size, uint64_t off, void *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)out)[i] = data[(off + i) % size];
}

static void drain(void);

static void perf_drain(void)
{
	pid_t me = getpid();
	for (int c = 0; c < S.perf_n; c++) {
		struct perf_event_mmap_page *mp = S.perf_mp[c];
		const uint8_t *data = (const uint8_t *)mp + PAGE;
		uint64_t size = PERF_PAGES * PAGE;
		uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = mp->data_tail;
		while (tail < head) {
			struct perf_event_header h;
			perf_copy(data, size, tail, &h, sizeof h);
			if (h.size < sizeof h)
				break;
			if (h.type == PERF_RECORD_SAMPLE) {
				struct { uint32_t pid, tid; uint64_t time, addr; } smp;
				perf_copy(data, size, tail + sizeof h, &smp, sizeof smp);
				if ((pid_t)smp.pid != me)
					S.perf_foreign++; /* a child process inherited the event */
				else if (smp.addr)
					emit(VM_SRC_PERF, smp.addr, S.perf_write, smp.tid, smp.time,
					     (float)S.src[VM_SRC_PERF].scale);
			} else if (h.type == PERF_RECORD_LOST) {
				uint64_t lost[2];
				perf_copy(data, size, tail + sizeof h, lost, sizeof lost);
				S.perf_lost += lost[1];
			}
			tail += h.size;
		}
		__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
		drain(); /* a full buffer per CPU could overflow the ring */
	}
}

/* ---------------------------------------------------------------- model */

static void *m_zalloc(void *ctx, size_t n) { return ialloc_zalloc(n); }
static void m_free(void *ctx, void *p, size_t n) { ialloc_free(p); }

/* Prefetch translations: what MimicOS maps (rt.lock held by the caller). */
static int model_translate(void *ctx, uint64_t va, struct tlb_translation *out)
{
	uint64_t pfn;
	uint32_t shift;
	if (mos_translate(rt.mos, va, &pfn, &shift) != MOS_OK)
		return -1;
	memset(out, 0, sizeof *out);
	out->page_shift = (uint8_t)shift;
	out->levels = (uint8_t)mos_walk_path(rt.mos, va, out->pte_paddr);
	return 0;
}

static void trace_flush(void)
{
	if (S.trace_fd >= 0 && S.tlen) {
		const uint8_t *p = S.tbuf;
		size_t n = S.tlen;
		while (n) {
			ssize_t w = write(S.trace_fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				S.trace_errno = w < 0 ? errno : EIO;
				close(S.trace_fd);
				S.trace_fd = -1;
				break;
			}
			p += w;
			n -= (size_t)w;
		}
	}
	S.tlen = 0;
}

#define TBUF (1u << 16)

static void trace_add(const struct ring_rec *r)
{
	if (S.trace_fd < 0)
		return;
	if (S.tlen + TRACE_MAX_RECORD > TBUF)
		trace_flush();
	struct trace_record t = { .vaddr = r->vaddr, .time = r->time, .tid = r->tid,
				  .is_write = r->flags & RING_WRITE };
	S.tlen += trace_enc_record(&S.enc, &t, S.tbuf + S.tlen);
	S.trace_records++;
}

/*
 * Translate one record with MimicOS and feed it to its source's model
 * (rt.lock held), adding its weight to the estimates.
 */
static void model_record(struct source *s, const struct ring_rec *r)
{
	uint64_t pfn;
	uint32_t shift;
	if (!s->model || mos_translate(rt.mos, r->vaddr, &pfn, &shift) != MOS_OK) {
		s->untranslated++;
		if (s->model && r->source == VM_SRC_TLBTRAP) /* unmapped since: it missed all the same */
			s->e_llt += r->weight;
		return;
	}
	/* a sampled access is the referenced bit the reclaim policies lack in
	 * user space (a read: the write is seen by the swap's write-protect
	 * fault, which also keeps the clean copy right); a wpscan record is a
	 * page known written: dirty too (wpscan never runs with swap, whose WP
	 * faults would say it) */
	if (vm_swap_enabled())
		mos_page_access(rt.mos, r->vaddr, r->source == VM_SRC_WPSCAN, vm_now_ns());
	struct tlb_translation tr = { .page_shift = (uint8_t)shift };
	tr.levels = (uint8_t)mos_walk_path(rt.mos, r->vaddr, tr.pte_paddr);
	struct tlb_result res;
	tlb_access(s->model, r->vaddr, r->flags & RING_WRITE, &tr, &res);
	s->modeled++;
	double w = r->weight;
	s->w_sum += w;
	if (s->modeled == 1 || w < s->w_min)
		s->w_min = w;
	if (w > s->w_max)
		s->w_max = w;
	if (r->source == VM_SRC_TLBTRAP) {
		/* a trap is a miss of the emulated last-level TLB, which has the
		 * machine's geometry: one last-level miss, whatever the model says
		 * (a record whose page is no longer mapped too, above). Every such
		 * miss walks unless the prefetch queue serves it; the
		 * walk's cycles are the model's when it walked too, and when its
		 * own TLBs hit (it disagrees: its replacement is not FIFO, and it
		 * sees only the misses) the mean of its walks (est_walk_cycles) */
		s->e_llt += w;
		if (!res.pq_hit) {
			s->e_walks += w;
			s->e_walks_by_size[shift >= 30 ? 2 : shift >= 21] += w;
			if (res.level == 0)
				s->e_walk_cycles += w * res.walk_cycles;
			else
				s->e_model_hits += w;
		}
		return;
	}
	if (res.level == 0) { /* missed every TLB level: the last one too */
		s->e_llt += w;
		if (!res.pq_hit) {
			s->e_walks += w;
			s->e_walks_by_size[shift >= 30 ? 2 : shift >= 21] += w;
			s->e_walk_cycles += w * res.walk_cycles;
		}
	}
}

/*
 * A protect record, on the handler thread that holds rt.lock anyway:
 * modeled at once, then queued for the trace only, and only when one is
 * written (the push alone took ~140 cycles of the handler's ~900 a
 * record, and python3 building a list has ~50,000 first touches).
 * Through the ring to be modeled, the drain would take rt.lock for it and
 * make the next fault wait (python3 building a list: +9% wall time for its
 * first-touch records).
 */
static void protect_record(uint64_t vaddr, bool write, uint32_t tid, uint64_t now, float weight)
{
	struct ring_rec r = { .vaddr = vaddr, .time = now, .tid = tid,
			      .flags = (write ? RING_WRITE : 0) | RING_MODELED,
			      .source = VM_SRC_PROTECT, .weight = weight };
	model_record(&S.src[VM_SRC_PROTECT], &r);
	if (__atomic_load_n(&S.tracing, __ATOMIC_ACQUIRE))
		push(&r);
	else
		__atomic_fetch_add(&S.src[VM_SRC_PROTECT].samples, 1, __ATOMIC_RELAXED);
}

/* Model (and trace) everything in the ring now, MODEL_BATCH records per
 * lock hold. */
static void drain(void)
{
	struct ring_rec recs[MODEL_BATCH];
	for (;;) {
		size_t n = 0;
		while (n < MODEL_BATCH && ring_pop(&S.ring, &recs[n]))
			n++;
		if (!n)
			return;
		bool lock = false;
		for (size_t i = 0; i < n && !lock; i++)
			lock = !(recs[i].flags & RING_MODELED);
		if (lock) {
			pthread_mutex_lock(&rt.lock);
			for (size_t i = 0; i < n; i++)
				if (!(recs[i].flags & RING_MODELED))
					model_record(&S.src[recs[i].source < VM_SRC_COUNT ? recs[i].source : 0],
						     &recs[i]);
			pthread_mutex_unlock(&rt.lock);
		}
		for (size_t i = 0; i < n; i++)
			trace_add(&recs[i]);
	}
}

/* --------------------------------------------------------------- thread */

/* The perf buffers into the ring, then the ring into the models. */
static void drain_all(void)
{
	perf_drain();
	drain();
}

/*
 * The periodic work: every sampler.interval_ms, protect's round and
 * wpscan's scan; then, and every DRAIN_NS meanwhile, the perf buffers and
 * the ring are drained (the ring holds 64 Ki records, each perf buffer 8 Ki
 * 32-byte samples). It runs on a fault handler that is awake anyway
 * (smp_idle, smp_served), not on a thread woken by a timer: on the 2-vCPU
 * VM this was built on, each wake-up of such a thread cost a faulting
 * program ~0.25 ms of wall time even when it did nothing (a nap of 1 ms
 * made python3 ~30% slower; bench/RESULTS.md, session 7).
 */
static void tick(uint64_t late_ns)
{
	if (__atomic_load_n(&S.ticks, __ATOMIC_ACQUIRE) != TICKS_ON)
		return;
	uint64_t now = vm_now_ns();
	bool round = now >= __atomic_load_n(&S.next_due, __ATOMIC_RELAXED) + late_ns;
	/* between rounds the ring and perf buffers are drained every DRAIN_NS
	 * (every 2 DRAIN_NS by a handler that has just served a batch): a
	 * record is modeled soon after its access, while its page is still
	 * mapped. The ring's positions are read as a hint, without the
	 * consumer's ownership. */
	uint64_t drain_at = __atomic_load_n(&S.next_drain, __ATOMIC_RELAXED) + (late_ns ? DRAIN_NS : 0);
	bool flush = !round && now >= drain_at &&
		     (S.perf_n || __atomic_load_n(&S.ring.tail, __ATOMIC_RELAXED) !=
					  __atomic_load_n(&S.ring.head, __ATOMIC_RELAXED));
	if ((!round && !flush) || __atomic_exchange_n(&S.tick_busy, 1, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE)) { /* the sampler thread does the last */
		__atomic_store_n(&S.tick_busy, 0, __ATOMIC_RELEASE);
		return;
	}
	if (round && now >= S.next_due) { /* not run meanwhile by another thread */
		if (S.src[VM_SRC_PROTECT].running)
			protect_round();
		if (S.src[VM_SRC_WPSCAN].running)
			wps_round(drain);
		/* one round per interval on average, late ones included (the
		 * timer's, half an interval late): the next is due an interval
		 * after this one was, unless that is past already */
		uint64_t next = S.next_due + rt.cfg.sampler_interval_ms * 1000000ull;
		if (next <= now)
			next = now + rt.cfg.sampler_interval_ms * 1000000ull;
		__atomic_store_n(&S.next_due, next, __ATOMIC_RELAXED);
	}
	drain_all();
	__atomic_store_n(&S.next_drain, vm_now_ns() + DRAIN_NS, __ATOMIC_RELAXED);
	__atomic_store_n(&S.tick_busy, 0, __ATOMIC_RELEASE);
}

void smp_idle(void)
{
	tick(0);
}

void smp_served(void)
{
	/* a single handler is never idle while faults come: it runs the work
	 * when due, between batches (faults wait while it does) */
	tick(rt.nhandlers > 1 ? rt.cfg.sampler_interval_ms * 500000ull : 0);
}

uint64_t smp_wake_at_ns(void)
{
	int t = __atomic_load_n(&S.ticks, __ATOMIC_ACQUIRE);
	uint64_t interval = rt.cfg.sampler_interval_ms * 1000000ull;
	if (t == TICKS_PENDING) /* smp_init has not finished: look again in an interval */
		return rt.cfg.sampler_sources && !S.child ? vm_now_ns() + interval : UINT64_MAX;
	if (t == TICKS_OFF)
		return UINT64_MAX;
	/* a backstop, half an interval late like smp_served: a program that
	 * faults has the round run on time by a handler awake anyway
	 * (smp_idle); a timer at the due time itself raced it, and its wake-ups
	 * cost python3 building a list ~5% of its wall time (bench/RESULTS.md,
	 * session 10) */
	uint64_t due = __atomic_load_n(&S.next_due, __ATOMIC_RELAXED) + interval / 2;
	if (S.perf_n) { /* perf buffers fill without faults: drain them on time too */
		uint64_t d = __atomic_load_n(&S.next_drain, __ATOMIC_RELAXED);
		due = d < due ? d : due;
	}
	if (__atomic_load_n(&S.tick_busy, __ATOMIC_RELAXED)) {
		/* another thread is at it: look again in a quarter interval */
		uint64_t now = vm_now_ns();
		if (now >= due)
			return now + (interval + 3) / 4;
	}
	return due;
}

void smp_handlers_gone(void)
{
	if (__atomic_exchange_n(&S.orphaned, 1, __ATOMIC_ACQ_REL))
		return;
	syscall(SYS_futex, &S.stop, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The sampler thread waits for smp_stop, then takes the periodic work from
 * the handlers for good and does the last of it (a thread of its own, so
 * that smp_stop can give up on it if rt.lock is never free). */
static void *sampler_main(void *arg)
{
	vm_in_runtime = 1;
	vm_use_c_locale();
	prctl(PR_SET_NAME, "vmemu-sampler");
	while (!__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE)) {
		/* the handlers tick; once they are gone (smp_handlers_gone), this
		 * thread drains every DRAIN_NS (no rounds: the userfaultfd is
		 * closed, its number maybe reused by the program) */
		bool orphan = __atomic_load_n(&S.orphaned, __ATOMIC_ACQUIRE);
		if (orphan && !__atomic_exchange_n(&S.tick_busy, 1, __ATOMIC_ACQUIRE)) {
			drain_all();
			__atomic_store_n(&S.tick_busy, 0, __ATOMIC_RELEASE);
		}
		syscall(SYS_futex, &S.stop, FUTEX_WAIT_PRIVATE, 0,
			orphan ? &(struct timespec){ .tv_nsec = (long)DRAIN_NS } : NULL, NULL, 0);
	}
	while (__atomic_exchange_n(&S.tick_busy, 1, __ATOMIC_ACQUIRE)) /* a tick in progress */
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	if (S.src[VM_SRC_WPSCAN].running)
		wps_round(drain); /* the writes of the last, partial interval */
	drain_all();
	__atomic_store_n(&S.stopped, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* tlbtrap: emulated TLB size from the machine: its last level's 4 KiB entries. */
static size_t machine_llt_entries(void)
{
	const struct tlb_machine *m = &rt.cfg.machine;
	size_t n = 0;
	for (uint32_t i = 0; i < m->nstructs; i++)
		if (m->s[i].level == S.last_level && (m->s[i].page_sizes & TLB_PS_4K))
			n += m->s[i].entries;
	return n ? n : 1024;
}

/*
 * Set sampling: mark round(set_rate x sets) of the emulated sets in tt_in,
 * a uniform random subset (selection sampling, Knuth TAOCP 3.4.2,
 * algorithm S). Single sets, not runs of neighbours: a program's hot pages
 * are often neighbours or equally aligned, and drawing runs of 4
 * consecutive sets spread python3's estimate over -24%..+25% of the full
 * one in eight runs, against -12%..+12% for single sets.
 */
static void choose_sets(void)
{
	size_t sets = S.tt_sets, k = (size_t)llround(rt.cfg.sampler_set_rate * (double)sets);
	if (k < 1)
		k = 1;
	for (size_t left = sets, need = k, x = 0; x < sets; x++, left--)
		if (rnd() % left < need) {
			S.tt_in[x] = true;
			need--;
		}
	S.tt_sampled = k;
	S.tt_weight = (double)sets / (double)k;
}

/*
 * The emulated TLB: sampler.tlb_entries, when set, is one fully associative
 * FIFO of that many entries; else the machine's last level for 4 KiB pages
 * as the model routes loads (tlb_llt_geometry: Golden Cove 2 banks x 128
 * sets x 8 ways), a FIFO per set. A machine whose stores end in other
 * last-level structures gets the loads' (said in the report).
 */
static void tlbtrap_start(struct source *s)
{
	struct tlb_llt_geometry g;
	if (!rt.cfg.sampler_tlb_entries && tlb_llt_geometry(s->model, false, &g) == 0) {
		S.tt_geom = true;
		S.tt_unshared = !g.shared && tlb_llt_geometry(s->model, true, &(struct tlb_llt_geometry){ 0 }) == 0;
		S.tt_entries = g.entries;
		S.tt_sets = g.sets;
		S.tt_ways = g.ways;
	} else {
		S.tt_entries = rt.cfg.sampler_tlb_entries ? rt.cfg.sampler_tlb_entries : machine_llt_entries();
		S.tt_sets = 1;
		S.tt_ways = S.tt_entries;
	}
	S.tt_weight = 1;
	if (rt.cfg.sampler_set_rate < 1 && !S.tt_geom) { /* tlb_entries > 0 is a config error */
		source_failed(s, "sampler.set_rate %g samples the sets of the machine's "
			 "last-level TLB, and this machine has no last level for 4 KiB pages",
			 rt.cfg.sampler_set_rate);
		return;
	}
	S.fifo = ialloc_zalloc(S.tt_sets * S.tt_ways * sizeof *S.fifo);
	S.tt_head = ialloc_zalloc(S.tt_sets * sizeof *S.tt_head);
	if (rt.cfg.sampler_set_rate < 1)
		S.tt_in = ialloc_zalloc(S.tt_sets * sizeof *S.tt_in);
	if (!S.fifo || !S.tt_head || (rt.cfg.sampler_set_rate < 1 && !S.tt_in)) {
		ialloc_free(S.fifo);
		ialloc_free(S.tt_head);
		ialloc_free(S.tt_in);
		S.fifo = NULL;
		S.tt_head = NULL;
		S.tt_in = NULL;
		source_failed(s, "out of internal memory for the emulated TLB");
		return;
	}
	if (S.tt_in)
		choose_sets();
	/* every page resident now is outside the (empty) emulated TLB */
	pthread_mutex_lock(&rt.lock);
	size_t n = mapped_runs();
	for (size_t i = 0; i < n; i++)
		stash_out_range(S.runs[i].vaddr, S.runs[i].len, OWN_TLBTRAP);
	pthread_mutex_unlock(&rt.lock);
}

static void stop_all(const char *why)
{
	for (unsigned i = 0; i < VM_SRC_COUNT; i++)
		if (S.src[i].requested) {
			S.src[i].running = false;
			snprintf(S.src[i].why, sizeof S.src[i].why, "%s", why);
		}
}

static void init_sources(void)
{
	char why[256];
	for (unsigned i = 0; i < VM_SRC_COUNT; i++) {
		S.src[i].requested = rt.cfg.sampler_sources & (1u << i);
		S.src[i].running = S.src[i].requested;
		S.src[i].scale = 1;
	}
	S.src[VM_SRC_PROTECT].scale = 1.0 / rt.cfg.sampler_rate;
	S.rng = (rt.cfg.memory_seed ^ ((uint64_t)getpid() << 32)) | 1;
	for (uint32_t i = 0; i < rt.cfg.machine.nstructs; i++)
		if (rt.cfg.machine.s[i].level > S.last_level)
			S.last_level = rt.cfg.machine.s[i].level;
	if (!rt.emulated) {
		stop_all("not emulated (runtime.fallback = native): no userfaultfd");
		return;
	}
	if (ring_init(&S.ring, RING_SLOTS)) {
		stop_all("out of internal memory for the sample ring");
		return;
	}
	if (S.src[VM_SRC_PROTECT].requested || S.src[VM_SRC_TLBTRAP].requested) {
		const char *no = NULL;
		if (!(rt.uffd_features & UFFD_FEATURE_MOVE))
			no = "the kernel lacks UFFDIO_MOVE (UFFD_FEATURE_MOVE, Linux 6.8)";
		void *p = no ? MAP_FAILED
			     : (void *)syscall(SYS_mmap, NULL, STASH_BYTES, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		int r = 0;
		if (!no && p == MAP_FAILED)
			snprintf(why, sizeof why, "cannot reserve the stash region: %s", strerror(errno));
		else if (!no && (r = uffd_register(rt.uffd, (uintptr_t)p, STASH_BYTES, false)))
			snprintf(why, sizeof why, "cannot register the stash region: %s", strerror(-r));
		else if (no)
			snprintf(why, sizeof why, "%s", no);
		else
			why[0] = 0;
		if (why[0]) {
			for (unsigned i = VM_SRC_PROTECT; i <= VM_SRC_TLBTRAP; i++)
				if (S.src[i].requested) {
					S.src[i].running = false;
					snprintf(S.src[i].why, sizeof S.src[i].why, "%s", why);
				}
		} else {
			S.stash = (uintptr_t)p;
		}
	}
	if (S.src[VM_SRC_WPSCAN].requested)
		S.src[VM_SRC_WPSCAN].running = wps_start(S.src[VM_SRC_WPSCAN].why,
							 sizeof S.src[VM_SRC_WPSCAN].why);
	/* one model per running source: their streams are different samples */
	struct tlb_allocator ta = { m_zalloc, m_free, NULL };
	for (unsigned i = 0; i < VM_SRC_COUNT; i++) {
		if (!S.src[i].running)
			continue;
		S.src[i].model = tlb_create(&rt.cfg.machine, &ta, why, sizeof why);
		if (!S.src[i].model) {
			S.src[i].running = false;
			snprintf(S.src[i].why, sizeof S.src[i].why, "TLB model: %s", why);
			continue;
		}
		tlb_set_translator(S.src[i].model, model_translate, NULL);
	}
	if (S.src[VM_SRC_PERF].running)
		perf_start(&S.src[VM_SRC_PERF]);
	if (S.src[VM_SRC_TLBTRAP].running)
		tlbtrap_start(&S.src[VM_SRC_TLBTRAP]);
	if (rt.cfg.sampler_record[0] && rt.is_root) {
		S.tbuf = ialloc_malloc(TBUF);
		S.trace_fd = S.tbuf ? open(rt.cfg.sampler_record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
				    : -1;
		if (S.trace_fd < 0) {
			S.trace_errno = errno ? errno : ENOMEM;
		} else {
			struct trace_header h = { .page_shift = 12, .page_sizes = TLB_PS_4K | TLB_PS_2M,
						  .time_unit = TRACE_TIME_NS,
						  .count = TRACE_COUNT_UNKNOWN };
			S.tlen = trace_enc_begin(&S.enc, &h, S.tbuf);
			__atomic_store_n(&S.tracing, true, __ATOMIC_RELEASE);
		}
	}
	bool any = false;
	for (unsigned i = 0; i < VM_SRC_COUNT; i++)
		any |= S.src[i].running;
	if (!any)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&S.thread, NULL, sampler_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(why, sizeof why, "cannot start the sampler thread: %s", strerror(r));
		stop_all(why);
		return;
	}
	S.thread_started = true;
	S.active = true;
	__atomic_store_n(&S.next_due, vm_now_ns(), __ATOMIC_RELAXED);
	__atomic_store_n(&S.ticks, TICKS_ON, __ATOMIC_RELEASE); /* the handlers start the rounds */
}

void smp_init(void)
{
	if (!rt.cfg.sampler_sources)
		return;
	init_sources();
	if (__atomic_load_n(&S.ticks, __ATOMIC_ACQUIRE) != TICKS_ON) /* nothing started */
		__atomic_store_n(&S.ticks, TICKS_OFF, __ATOMIC_RELEASE);
}

void smp_stop(void)
{
	if (!S.active || !S.thread_started || __atomic_exchange_n(&S.stop, 1, __ATOMIC_ACQ_REL))
		return;
	__atomic_store_n(&S.ticks, TICKS_OFF, __ATOMIC_RELEASE);
	syscall(SYS_futex, &S.stop, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	/* at most a second: exit must never hang on the sampler */
	for (int i = 0; i < 10000 && !__atomic_load_n(&S.stopped, __ATOMIC_ACQUIRE); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	bool joined = __atomic_load_n(&S.stopped, __ATOMIC_ACQUIRE);
	if (joined)
		pthread_join(S.thread, NULL);
	/* _exit from a signal handler may have interrupted a holder of the lock:
	 * wait a second at most, as vm_report_at_exit does */
	bool locked = false;
	for (int i = 0; i < 1000 && !(locked = pthread_mutex_trylock(&rt.lock) == 0); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	if (locked) {
		S.quiesced = true;
		smp_restore_all();
		pthread_mutex_unlock(&rt.lock);
	}
	/* a trap's record pushed (under rt.lock) after the thread's last drain,
	 * or not yet published then: none can follow once quiesced */
	if (joined && locked)
		drain();
	if (S.trace_fd >= 0 && !S.trace_done) {
		if (S.tlen + TRACE_MAX_TRAILER > TBUF)
			trace_flush();
		S.tlen += trace_enc_end(&S.enc, S.tbuf + S.tlen);
		trace_flush();
		if (S.trace_fd >= 0)
			close(S.trace_fd);
		S.trace_fd = -1;
		S.trace_done = true;
	}
}

/* --------------------------------------------------------------- report */

struct est {
	struct tlb_stats ts;
	uint64_t llt_misses;        /* misses of the last-level structures (the STLB) */
};

static void model_stats(const struct source *s, struct est *e)
{
	memset(e, 0, sizeof *e);
	if (!s->model)
		return;
	tlb_get_stats(s->model, &e->ts);
	const struct tlb_machine *m = tlb_machine_of(s->model);
	for (uint32_t i = 0; i < e->ts.nstructs; i++)
		if (m->s[i].level == S.last_level)
			e->llt_misses += e->ts.s[i].misses;
}

static const char *const size_names[3] = { "4K", "2M", "1G" };

/* The model's mean demand-walk cycles (0 before any walk). */
static double mean_walk(const struct est *e)
{
	return e->ts.walks ? (double)e->ts.walk_cycles / (double)e->ts.walks : 0;
}

/* Weighted walk cycles, before the drop factor: tlbtrap's records that
 * the model's TLBs hit are charged its mean walk (model_record). */
static double est_walk_cycles(const struct source *s, const struct est *e)
{
	return s->e_walk_cycles + s->e_model_hits * mean_walk(e);
}

/* (samples + dropped) / samples when the ring dropped records (taken as
 * spread evenly over the run), else 1: the estimates are multiplied by it. */
static double drops(const struct source *s)
{
	if (s == &S.src[VM_SRC_PROTECT]) /* modeled before the ring: a drop loses the trace record only */
		return 1;
	return s->dropped && s->samples ? (double)(s->samples + s->dropped) / (double)s->samples : 1;
}

/* The mean weight of the modeled records (the configured one before any). */
static double mean_weight(const struct source *s)
{
	return s->modeled ? s->w_sum / (double)s->modeled : s->scale;
}

static void source_detail(unsigned i, char *buf, size_t len)
{
	switch (i) {
	case VM_SRC_PROTECT:
		snprintf(buf, len, "rate %g of resident pages in blocks of %llu (smaller in %llu "
			 "rounds) every %llu ms (%llu rounds); budget %g: mean rate %.3g, min %.3g, "
			 "lowered in %llu rounds; first touches modeled in %.1f ms",
			 rt.cfg.sampler_rate, (unsigned long long)rt.cfg.sampler_block_pages,
			 (unsigned long long)S.small_block_rounds,
			 (unsigned long long)rt.cfg.sampler_interval_ms,
			 (unsigned long long)S.src[i].intervals, rt.cfg.sampler_budget,
			 S.src[i].intervals ? S.rate_sum / (double)S.src[i].intervals : 0, S.rate_min,
			 (unsigned long long)S.budget_rounds, (double)S.fixed_total / 1e6);
		break;
	case VM_SRC_TLBTRAP:
		if (S.tt_geom && S.tt_sets * S.tt_ways == S.tt_entries)
			snprintf(buf, len, "emulated FIFO last-level TLB: %zu sets x %zu ways "
				 "(machine geometry%s), 4 KiB entries", S.tt_sets, S.tt_ways,
				 S.tt_unshared ? ", the loads'" : "");
		else if (S.tt_geom)
			snprintf(buf, len, "emulated FIFO last-level TLB: %zu sets of up to %zu ways, "
				 "%zu entries (machine geometry%s), 4 KiB entries", S.tt_sets, S.tt_ways,
				 S.tt_entries, S.tt_unshared ? ", the loads'" : "");
		else
			snprintf(buf, len, "emulated FIFO last-level TLB: fully associative %zu entries "
				 "(%s), 4 KiB entries", S.tt_entries,
				 rt.cfg.sampler_tlb_entries ? "sampler.tlb_entries"
							    : "the machine has no last level for 4 KiB pages");
		if (S.tt_in) {
			size_t n = strlen(buf);
			snprintf(buf + n, len - n, "; set sampling: %zu of the %zu sets emulated "
				 "(sampler.set_rate %g), each trap counts for %g", S.tt_sampled,
				 S.tt_sets, rt.cfg.sampler_set_rate, S.tt_weight);
		}
		break;
	case VM_SRC_WPSCAN:
		wps_detail(buf, len);
		break;
	default:
		snprintf(buf, len, "event %s, one sample per %.0f events",
			 S.perf_event ? S.perf_event : "none", S.src[i].scale);
	}
}

void smp_report_text(void (*out)(void *ctx, const char *fmt, ...), void *ctx)
{
	if (!rt.cfg.sampler_sources)
		return;
	out(ctx, "\n-- access sampling (estimates: emulated TLB model over sampled accesses, "
		 "each counted for its weight, 1 / the probability it was sampled) --\n");
	out(ctx, "  machine %s; ring %llu records in, %llu dropped (full); sampler interval %llu ms\n",
	    rt.cfg.machine.name[0] ? rt.cfg.machine.name : "(unnamed)",
	    (unsigned long long)ring_pushed(&S.ring), (unsigned long long)ring_dropped(&S.ring),
	    (unsigned long long)rt.cfg.sampler_interval_ms);
	char d[320];
	for (unsigned i = 0; i < VM_SRC_COUNT; i++) {
		const struct source *s = &S.src[i];
		if (!s->requested)
			continue;
		source_detail(i, d, sizeof d);
		if (!s->model) {
			out(ctx, "  %-8s NOT RUN: %s\n", vm_sampler_source_name(i), s->why);
			continue;
		}
		out(ctx, "  %-8s %s%s; weight x%.4g per record (mean)\n", vm_sampler_source_name(i),
		    s->running || S.active ? "ran: " : "stopped: ", d, mean_weight(s));
		if (s->why[0])
			out(ctx, "           note: %s\n", s->why);
		out(ctx, "           samples %llu (dropped %llu, modeled %llu, page no longer mapped %llu)\n",
		    (unsigned long long)s->samples, (unsigned long long)s->dropped,
		    (unsigned long long)s->modeled, (unsigned long long)s->untranslated);
		if (i == VM_SRC_WPSCAN)
			wps_report_text(out, ctx);
		if (i == VM_SRC_PROTECT || i == VM_SRC_TLBTRAP)
			out(ctx, "           pages taken away %llu (failed %llu%s%s%s)\n",
			    (unsigned long long)s->armed, (unsigned long long)s->arm_failed,
			    s->arm_failed ? ": " : "", s->arm_failed ? strerror(s->arm_errno) : "",
			    i == VM_SRC_PROTECT ? "" : "");
		if (i == VM_SRC_PROTECT)
			out(ctx, "           armed pages given back untouched %llu\n",
			    (unsigned long long)s->not_touched);
		if (i == VM_SRC_PERF && (S.perf_lost || S.perf_foreign))
			out(ctx, "           perf records lost %llu, from child processes %llu\n",
			    (unsigned long long)S.perf_lost, (unsigned long long)S.perf_foreign);
		struct est e;
		model_stats(s, &e);
		double k = drops(s);
		out(ctx, "           model: %llu accesses, %llu last-level TLB misses, %llu walks "
			 "(4K %llu, 2M %llu, 1G %llu), %llu walk cycles; %.4f of sampled accesses walk\n",
		    (unsigned long long)e.ts.accesses, (unsigned long long)e.llt_misses,
		    (unsigned long long)e.ts.walks, (unsigned long long)e.ts.walks_by_size[0],
		    (unsigned long long)e.ts.walks_by_size[1], (unsigned long long)e.ts.walks_by_size[2],
		    (unsigned long long)e.ts.walk_cycles,
		    e.ts.accesses ? (double)e.ts.walks / (double)e.ts.accesses : 0.0);
		out(ctx, "           ESTIMATED (weighted%s): %.0f STLB misses, %.0f walks (4K %.0f, 2M %.0f, "
			 "1G %.0f), %.0f walk cycles (emulated)\n",
		    s->dropped ? ", drops included" : "", k * s->e_llt, k * s->e_walks,
		    k * s->e_walks_by_size[0], k * s->e_walks_by_size[1], k * s->e_walks_by_size[2],
		    k * est_walk_cycles(s, &e));
		if (i == VM_SRC_TLBTRAP)
			out(ctx, "           (each trap is one miss of the emulated last-level TLB: one STLB "
				 "miss, and one walk when its page is still mapped, not the model's verdict; "
				 "walk cycles are the model's, and for the %.0f traps its own TLBs hit, its "
				 "mean walk, %.1f cycles)\n",
			    s->e_model_hits, mean_walk(&e));
	}
	if (S.stashed_peak || S.restore_errors)
		out(ctx, "  stash: %llu pages now, peak %llu; restore errors %llu; moves the kernel "
		    "misreported as failed %llu (recovered)\n",
		    (unsigned long long)S.stashed, (unsigned long long)S.stashed_peak,
		    (unsigned long long)S.restore_errors, (unsigned long long)S.move_recovered);
	if (rt.cfg.sampler_record[0] && rt.is_root)
		out(ctx, "  recorded %llu records to %s%s%s\n", (unsigned long long)S.trace_records,
		    rt.cfg.sampler_record, S.trace_errno ? ": " : "",
		    S.trace_errno ? strerror(S.trace_errno) : "");
}

void smp_report_json(cJSON *root)
{
	cJSON *j = cJSON_AddObjectToObject(root, "sampler");
	cJSON_AddStringToObject(j, "source", rt.cfg.sampler_source);
	if (!rt.cfg.sampler_sources)
		return;
	cJSON_AddStringToObject(j, "machine", rt.cfg.machine.name);
	cJSON_AddNumberToObject(j, "interval_ms", (double)rt.cfg.sampler_interval_ms);
	cJSON *rg = cJSON_AddObjectToObject(j, "ring");
	cJSON_AddNumberToObject(rg, "capacity", S.ring.slots ? (double)(S.ring.mask + 1) : 0);
	cJSON_AddNumberToObject(rg, "pushed", (double)ring_pushed(&S.ring));
	cJSON_AddNumberToObject(rg, "dropped", (double)ring_dropped(&S.ring));
	cJSON_AddNumberToObject(rg, "consumed", (double)S.ring.popped);
	cJSON_AddNumberToObject(j, "stashed_pages", (double)S.stashed);
	cJSON_AddNumberToObject(j, "stashed_pages_peak", (double)S.stashed_peak);
	cJSON_AddNumberToObject(j, "restore_errors", (double)S.restore_errors);
	cJSON_AddNumberToObject(j, "move_misreports_recovered", (double)S.move_recovered);
	if (rt.cfg.sampler_record[0] && rt.is_root) {
		cJSON_AddStringToObject(j, "record", rt.cfg.sampler_record);
		cJSON_AddNumberToObject(j, "records_written", (double)S.trace_records);
		if (S.trace_errno)
			cJSON_AddStringToObject(j, "record_error", strerror(S.trace_errno));
	}
	cJSON *arr = cJSON_AddArrayToObject(j, "sources");
	char d[320];
	for (unsigned i = 0; i < VM_SRC_COUNT; i++) {
		const struct source *s = &S.src[i];
		if (!s->requested)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "name", vm_sampler_source_name(i));
		cJSON_AddBoolToObject(o, "ran", s->model != NULL);
		cJSON_AddStringToObject(o, "note", s->why);
		source_detail(i, d, sizeof d);
		cJSON_AddStringToObject(o, "detail", d);
		cJSON_AddNumberToObject(o, "scale", mean_weight(s));
		cJSON_AddNumberToObject(o, "weight_min", s->modeled ? s->w_min : s->scale);
		cJSON_AddNumberToObject(o, "weight_max", s->modeled ? s->w_max : s->scale);
		if (i == VM_SRC_PROTECT) {
			cJSON_AddNumberToObject(o, "rate", rt.cfg.sampler_rate);
			cJSON_AddNumberToObject(o, "block_pages", (double)rt.cfg.sampler_block_pages);
			cJSON_AddNumberToObject(o, "budget", rt.cfg.sampler_budget);
			cJSON_AddNumberToObject(o, "rate_mean",
						s->intervals ? S.rate_sum / (double)s->intervals : 0);
			cJSON_AddNumberToObject(o, "rate_min", S.rate_min);
			cJSON_AddNumberToObject(o, "rounds_lowered", (double)S.budget_rounds);
			/* pages the rounds' rates say to arm: pages_taken is near it
			 * when every resident page can be taken */
			cJSON_AddNumberToObject(o, "pages_expected", S.armable);
			cJSON_AddNumberToObject(o, "rounds_smaller_blocks", (double)S.small_block_rounds);
			cJSON_AddNumberToObject(o, "cost_per_page_ns", S.cost_per_page);
			cJSON_AddNumberToObject(o, "first_touch_model_ns", (double)S.fixed_total);
		}
		if (i == VM_SRC_TLBTRAP) {
			cJSON_AddNumberToObject(o, "tlb_entries", (double)S.tt_entries);
			cJSON_AddNumberToObject(o, "tlb_sets", (double)S.tt_sets);
			cJSON_AddNumberToObject(o, "tlb_ways", (double)S.tt_ways);
			cJSON_AddStringToObject(o, "tlb_geometry", S.tt_geom ? "machine" : "fully_associative");
			cJSON_AddNumberToObject(o, "set_rate", rt.cfg.sampler_set_rate);
			cJSON_AddNumberToObject(o, "tlb_sets_sampled", (double)(S.tt_in ? S.tt_sampled : S.tt_sets));
		}
		if (i == VM_SRC_WPSCAN)
			wps_report_json(o);
		if (i == VM_SRC_PERF) {
			cJSON_AddStringToObject(o, "event", S.perf_event ? S.perf_event : "");
			cJSON_AddNumberToObject(o, "period", s->scale);
			cJSON_AddNumberToObject(o, "lost", (double)S.perf_lost);
		}
		cJSON_AddNumberToObject(o, "samples", (double)s->samples);
		cJSON_AddNumberToObject(o, "dropped", (double)s->dropped);
		cJSON_AddNumberToObject(o, "modeled", (double)s->modeled);
		cJSON_AddNumberToObject(o, "untranslated", (double)s->untranslated);
		cJSON_AddNumberToObject(o, "pages_taken", (double)s->armed);
		cJSON_AddNumberToObject(o, "take_failed", (double)s->arm_failed);
		cJSON_AddNumberToObject(o, "armed_untouched", (double)s->not_touched);
		cJSON_AddNumberToObject(o, "rounds", (double)s->intervals);
		struct est e;
		model_stats(s, &e);
		cJSON *m = cJSON_AddObjectToObject(o, "model");
		cJSON_AddNumberToObject(m, "accesses", (double)e.ts.accesses);
		cJSON_AddNumberToObject(m, "stlb_misses", (double)e.llt_misses);
		cJSON_AddNumberToObject(m, "walks", (double)e.ts.walks);
		cJSON_AddNumberToObject(m, "walk_cycles", (double)e.ts.walk_cycles);
		cJSON_AddNumberToObject(m, "translation_cycles", (double)e.ts.translation_cycles);
		cJSON_AddNumberToObject(m, "miss_fraction",
					e.ts.accesses ? (double)e.ts.walks / (double)e.ts.accesses : 0);
		cJSON *wb = cJSON_AddObjectToObject(m, "walks_by_page_size");
		for (int k = 0; k < 3; k++)
			cJSON_AddNumberToObject(wb, size_names[k], (double)e.ts.walks_by_size[k]);
		cJSON *es = cJSON_AddObjectToObject(o, "estimated");
		double k = drops(s);
		cJSON_AddNumberToObject(es, "drops_factor", k);
		cJSON_AddNumberToObject(es, "factor", k * mean_weight(s));
		cJSON_AddNumberToObject(es, "stlb_misses", k * s->e_llt);
		cJSON_AddNumberToObject(es, "walks", k * s->e_walks);
		cJSON_AddNumberToObject(es, "walk_cycles", k * est_walk_cycles(s, &e));
		if (i == VM_SRC_TLBTRAP) /* charged the model's mean walk */
			cJSON_AddNumberToObject(es, "model_tlb_hits", s->e_model_hits);
		cJSON *ewb = cJSON_AddObjectToObject(es, "walks_by_page_size");
		for (int q = 0; q < 3; q++)
			cJSON_AddNumberToObject(ewb, size_names[q], k * s->e_walks_by_size[q]);
	}
}
