/*
 * The TLB / PWC / walk model. See tlbmodel.h for the semantics.
 *
 * Every TLB structure and every PWC level is a `struct tarr`, a
 * set-associative array of 64-bit keys (0 = invalid). Keys of TLB entries
 * are (VPN << 2) | (size code + 1), keys of PWC entries (tag << 1) | 1, so a
 * valid key is never 0.
 *
 * Lookup and replacement state come in forms that give the same results
 * (the reference-model tests cover each):
 *   ways <= 64   an 8-bit fingerprint per entry: a SWAR zero-byte test on
 *                each 64-bit word of a set's fingerprints finds the
 *                candidate ways (one word up to 8 ways);
 *   ways > 64    a hash index key -> entry;
 *   lru / fifo   up to 8 ways, each set's recency order is a stack of way
 *                numbers packed in one uint64 (byte 0 = most recent, the
 *                last byte is the victim); above, a doubly linked recency
 *                list per set whose tail is the victim. Both O(1).
 * srrip keeps 2-bit RRPVs per entry and random a seeded xorshift64*; both
 * search their victim over the set's ways.
 *
 * Per access the model looks up one structure per level (the one holding the
 * translation's page size on the access's path, chosen by bank). Routes
 * (structures, bank bits, cycles) are precomputed at creation.
 */
#include <string.h>

#include "internal.h"

#define NSIZES 3u
#define NPATHS 2u /* 0 = load, 1 = store */
#define MAX_VICTIMS 8u
#define VA48_MASK ((UINT64_C(1) << 48) - 1)
#define STACK_WAYS 8u  /* lru/fifo recency stack in one uint64 up to here */
#define FP_WAYS 64u    /* fingerprint scan up to here, hash index above */
#define NIL 0xffffffffu
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define ALWAYS_INLINE inline __attribute__((always_inline))

static const uint8_t size_shift[NSIZES] = { 12, 21, 30 };

/* The TLB key of the page of size code c (0 4 KiB, 1 2 MiB, 2 1 GiB) holding vaddr. */
static ALWAYS_INLINE uint64_t page_key(uint64_t vaddr, unsigned c)
{
	return ((vaddr >> size_shift[c]) << 2) | (c + 1u);
}
/* Virtual-address shift of the tag of each PWC level (SDM 4.10.3.1). */
static const uint8_t pwc_va_shift[TLB_PWC_LEVELS] = { 39, 30, 21 };

struct tarr {
	uint64_t *key;      /* sets * ways keys, 0 = invalid */
	uint8_t *fp;        /* fingerprinted: per entry, 0 = invalid (+8 bytes pad) */
	uint64_t *stack;    /* stacked: recency stack per set */
	uint8_t *rrpv;      /* srrip: re-reference prediction value per entry */
	uint32_t *hidx;     /* hashed: slots, entry index + 1, 0 = empty */
	uint32_t *prev, *next; /* listed: recency links per entry, NIL = none */
	uint32_t *head, *tail; /* listed: per set, head = most recent */
	uint32_t *setvalid;    /* listed: valid entries per set */
	uint64_t fp_lanes;  /* fingerprinted: 0x80 in the byte lanes of the last word */
	uint32_t fp_words;  /* fingerprinted: 64-bit words per set, minus one */
	uint64_t rng;       /* xorshift64* state (random) */
	uint64_t rng_seed;
	uint32_t ways;
	uint32_t set_mask;
	uint32_t entries;
	uint32_t valid;     /* valid entries */
	uint32_t hmask;     /* hashed: slots - 1 */
	uint32_t latency;
	uint8_t policy;
	uint8_t psp_sizes;  /* page-size prediction on: the sizes of a multi-size set-assoc structure */
	bool small;         /* fingerprinted (ways <= 64); else hashed */
	bool stacked;       /* lru/fifo with ways <= 8 */
	bool listed;        /* lru/fifo with ways > 8 */
	struct tlb_struct_stats st;
};

/* One level of a route: where a translation of one page size lives. */
struct rlev {
	uint8_t nbank;     /* structures (banks) holding the size; 0 = none */
	uint8_t bank_bits; /* log2(nbank) */
	uint8_t fill;      /* their common fill policy */
	uint64_t bank_mask;             /* nbank - 1 */
	struct tarr *sa[TLB_MAX_BANKS]; /* the banks */
};

struct route {
	struct rlev lev[TLB_MAX_LEVELS];
};

struct tlb {
	struct tlb_allocator alloc;
	size_t bytes;
	struct tlb_machine mach;

	/* per path */
	uint32_t nlev[NPATHS];                     /* levels on the path */
	uint32_t levnum[NPATHS][TLB_MAX_LEVELS];   /* configured level number */
	uint32_t base[NPATHS][TLB_MAX_LEVELS];     /* cycles of the levels before */
	uint32_t miss_cycles[NPATHS];              /* all levels of the path */
	struct route route[NPATHS][NSIZES];
	/* tlb_llt_*: the deepest route level holding 4 KiB pages (NLEV_NONE:
	 * none), its geometry, and the global id of set 0 of each structure */
	uint8_t llt_lev[NPATHS];
	struct tlb_llt_geometry llt[NPATHS];
	uint32_t llt_base[NPATHS][TLB_MAX_STRUCTS];

	/* walk */
	bool has_pwc[TLB_PWC_LEVELS];
	bool pwc_any;
	bool pwc_tag_pte;
	uint32_t pwc_latency;
	uint32_t walk_cost[TLB_PT_LEVELS + 1][TLB_PT_LEVELS + 1]; /* [n][start], memory = fixed */
	uint32_t walkers;
	uint64_t *walker_busy;                     /* cycle each walker frees */
	/* memory = cache: the PTE cache, keys (line << 1) | 1 */
	bool wc_on;
	uint8_t wc_line_shift;
	uint32_t wc_hit, wc_miss;
	struct tarr wcache;

	uint32_t nstructs;
	struct tarr arr[TLB_MAX_STRUCTS];
	struct tarr pwc[TLB_PWC_LEVELS];

	/*
	 * The last first-level hit of each path. While no TLB structure has
	 * been modified since (epoch unchanged), an access with the same key
	 * would find the entry at the same place: the memo replays that hit
	 * without the lookup. It is an implementation shortcut, not a modelled
	 * structure: results are identical with or without it.
	 */
	uint64_t epoch;
	struct memo {
		uint64_t key;   /* 0 = none */
		uint64_t epoch;
		struct tarr *a;
		uint32_t set, idx, cycles;
		uint8_t level, sidx;
	} memo[NPATHS];

	/* counters (accesses of a structure = hits + misses) */
	uint64_t loads, stores;
	uint64_t hits_by_level[TLB_MAX_LEVELS];
	uint64_t walks, walks_by_size[NSIZES], pte_reads;
	uint64_t pte_cache_hits, pte_cache_misses;
	/* [pagesize] predictor (psp_on: 4k or table) */
	bool psp_on;
	uint8_t *psp_ctr;                          /* table: 2-bit counters */
	uint32_t psp_mask;                         /* table entries - 1 */
	uint64_t psp_pred, psp_mis, psp_extra;
	uint64_t tlb_cycles, walk_cycles, queue_cycles;
	uint64_t invalidations;

	/*
	 * Prefetching (npf = 0: none; the hit path never looks at any of it).
	 * pq is the prefetch queue; pq_owner[i] the prefetcher that issued
	 * entry i. Tables of the distance and asp prefetchers are carved from
	 * the same block.
	 */
	uint32_t npf;
	struct tarr pq;
	uint8_t *pq_owner;
	uint32_t pq_hit_cycles[NPATHS];
	bool pf_walk;
	tlb_translate_fn xlate;
	void *xlate_ctx;
	uint64_t pf_clock;                         /* LRU stamps of the distance table */
	struct pfst {
		uint8_t kind;
		struct tlb_prefetch_stats st;
	} pf[TLB_MAX_PREFETCHERS];
	/* h2: the last three miss VPNs (4 KiB), oldest first */
	uint64_t h2_hist[3];
	uint32_t h2_n;
	/* distance */
	bool dp_have_miss, dp_have_dist;
	uint64_t dp_last_miss;
	int64_t dp_last_dist;
	uint32_t dp_ways, dp_set_mask, dp_slots;
	int64_t *dp_tag;        /* rows */
	uint64_t *dp_stamp;     /* rows: last use, 0 = invalid row */
	int64_t *dp_succ;       /* rows * slots: successor distances */
	uint64_t *dp_sstamp;    /* rows * slots: last use, 0 = invalid slot */
	/* asp */
	uint32_t asp_mask;
	uint64_t *asp_pc, *asp_vpn;
	int64_t *asp_stride;
	uint32_t *asp_cnt;
	uint8_t *asp_svalid;
	/* sbfp (sbfp_i = NPF_NONE: not configured) */
	uint8_t sbfp_i;
	uint16_t fdt_max;                          /* 2^counter_bits - 1 */
	uint16_t fdt[TLB_SBFP_DISTANCES];          /* Free Distance Table */
	int8_t *pq_fd;                             /* PQ entry: free distance of an sbfp entry */
	uint64_t *smp_key;                         /* Sampler: 4 KiB entry keys, 0 = empty */
	int8_t *smp_d;                             /* Sampler: free distance */
	uint32_t smp_next;                         /* Sampler: FIFO slot written next */
	/* atp (atp_i = NPF_NONE: not configured) */
	uint8_t atp_i;
	uint32_t atp_ctr[3], atp_max[3];           /* enable_pref, select_1, select_2 */
	uint64_t *fpq;                             /* 3 FPQs of fpq VPNs, FPQ_VALID set = used */
	uint32_t fpq_next[3];                      /* FIFO slot written next */
	uint32_t masp_set_mask, masp_ways;
	uint64_t *masp_pc, *masp_last;             /* pc 0 = invalid way */
	int64_t *masp_stride;
	uint8_t *masp_svalid;
	uint32_t *masp_rr;                         /* per set: round-robin victim */
	uint64_t pq_hits, pf_walks, pf_pte_reads, pf_walk_cycles;
};

#define NPF_NONE 0xffu
#define NLEV_NONE 0xffu
#define FPQ_VALID (UINT64_C(1) << 63)

/* ---- RNG (seeded only) ---- */

static uint64_t splitmix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

static inline uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* ---- SWAR helpers ---- */

/* 0x80 in every byte of x that is zero (exact for the lowest such byte). */
static ALWAYS_INLINE uint64_t zero_bytes(uint64_t x)
{
	return (x - ONES) & ~x & HIGHS;
}

static ALWAYS_INLINE unsigned lowest_lane(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) >> 3;
}

static ALWAYS_INLINE uint64_t load8(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Fingerprint of a key: 1..255. */
static ALWAYS_INLINE uint8_t fp_of(uint64_t key)
{
	uint8_t f = (uint8_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 56);
	return (uint8_t)(f | (f == 0));
}

/*
 * Recency stacks (small lru/fifo): byte i holds the way at recency position i
 * (0 = most recent, ways-1 = victim); bytes >= ways hold 0xff. Invalid ways
 * always sit behind every valid one, so the victim position holds an invalid
 * way whenever the set has one.
 */
static ALWAYS_INLINE uint64_t stk_front(uint64_t s, uint32_t w)
{
	if ((s & 0xffu) == w)
		return s;
	unsigned pos = lowest_lane(zero_bytes(s ^ (w * ONES))); /* 1..7 */
	uint64_t below = ~UINT64_C(0) >> (64 - 8 * pos);        /* bytes 0..pos-1 */
	uint64_t upto = ~UINT64_C(0) >> (56 - 8 * pos);         /* bytes 0..pos */
	return (s & ~upto) | ((s & below) << 8) | w;
}

/* Move way w to the victim position (it was invalidated). */
static uint64_t stk_back(uint64_t s, uint32_t w, uint32_t ways)
{
	uint8_t b[8];
	memcpy(b, &s, 8);
	uint32_t pos = 0;
	while (b[pos] != w)
		pos++;
	for (uint32_t i = pos; i + 1 < ways; i++)
		b[i] = b[i + 1];
	b[ways - 1] = (uint8_t)w;
	memcpy(&s, b, 8);
	return s;
}

static uint64_t stk_init(uint32_t ways)
{
	uint8_t b[8];
	for (uint32_t i = 0; i < 8; i++) /* the victim position holds way 0: filled first */
		b[i] = i < ways ? (uint8_t)(ways - 1 - i) : 0xffu;
	uint64_t s;
	memcpy(&s, b, 8);
	return s;
}

/* ---- hash index (large arrays) ---- */

static ALWAYS_INLINE uint32_t hslot(const struct tarr *a, uint64_t key)
{
	return (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & a->hmask;
}

/* Entry index of key, or NIL. */
static ALWAYS_INLINE uint32_t hfind(const struct tarr *a, uint64_t key)
{
	for (uint32_t h = hslot(a, key);; h = (h + 1u) & a->hmask) {
		uint32_t e = a->hidx[h];
		if (!e)
			return NIL;
		if (a->key[e - 1u] == key)
			return e - 1u;
	}
}

static ALWAYS_INLINE void hadd(struct tarr *a, uint64_t key, uint32_t idx)
{
	uint32_t h = hslot(a, key);
	while (a->hidx[h])
		h = (h + 1u) & a->hmask;
	a->hidx[h] = idx + 1u;
}

/* Remove key (present; its key[] slot still holds it) by backward-shift deletion. */
static void hdel(struct tarr *a, uint64_t key)
{
	uint32_t h = hslot(a, key);
	while (a->key[a->hidx[h] - 1u] != key)
		h = (h + 1u) & a->hmask;
	uint32_t hole = h;
	for (uint32_t j = (hole + 1u) & a->hmask; a->hidx[j]; j = (j + 1u) & a->hmask) {
		uint32_t home = hslot(a, a->key[a->hidx[j] - 1u]);
		/* j stays unless its home lies cyclically outside (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			a->hidx[hole] = a->hidx[j];
			hole = j;
		}
	}
	a->hidx[hole] = 0;
}

/* ---- recency lists (large lru/fifo) ---- */

static ALWAYS_INLINE void lunlink(struct tarr *a, uint32_t set, uint32_t idx)
{
	uint32_t p = a->prev[idx], n = a->next[idx];
	if (p != NIL)
		a->next[p] = n;
	else
		a->head[set] = n;
	if (n != NIL)
		a->prev[n] = p;
	else
		a->tail[set] = p;
	a->prev[idx] = a->next[idx] = NIL;
}

static ALWAYS_INLINE void lpush(struct tarr *a, uint32_t set, uint32_t idx)
{
	uint32_t h = a->head[set];
	a->prev[idx] = NIL;
	a->next[idx] = h;
	if (h != NIL)
		a->prev[h] = idx;
	else
		a->tail[set] = idx;
	a->head[set] = idx;
}

/* ---- the array ---- */

static void tarr_clear(struct tarr *a)
{
	uint32_t sets = a->set_mask + 1u;
	memset(a->key, 0, (size_t)a->entries * sizeof *a->key);
	a->valid = 0;
	if (a->small)
		memset(a->fp, 0, (size_t)a->entries + 8u);
	else
		memset(a->hidx, 0, ((size_t)a->hmask + 1u) * sizeof *a->hidx);
	if (a->stacked) {
		uint64_t s0 = stk_init(a->ways);
		for (uint32_t i = 0; i < sets; i++)
			a->stack[i] = s0;
	}
	if (a->listed) {
		for (uint32_t i = 0; i < sets; i++) {
			a->head[i] = a->tail[i] = NIL;
			a->setvalid[i] = 0;
		}
		for (uint32_t i = 0; i < a->entries; i++)
			a->prev[i] = a->next[i] = NIL;
	}
	if (a->rrpv)
		memset(a->rrpv, 0, (size_t)a->entries);
}

/* Replacement update for a hit on entry idx (way w of set). */
static ALWAYS_INLINE void tarr_hit(struct tarr *a, uint32_t set, uint32_t idx)
{
	if (a->policy == TLB_REPL_LRU) {
		if (a->stacked)
			a->stack[set] = stk_front(a->stack[set], idx - set * a->ways);
		else if (a->head[set] != idx) {
			lunlink(a, set, idx);
			lpush(a, set, idx);
		}
	} else if (a->policy == TLB_REPL_SRRIP) {
		a->rrpv[idx] = 0;
	}
}

/* Find key (fingerprint f) in set, no state change. Returns the entry index or NIL. */
static ALWAYS_INLINE uint32_t tarr_find(const struct tarr *a, uint32_t set, uint64_t key,
					uint8_t f)
{
	if (!a->small)
		return hfind(a, key);
	const uint32_t base = set * a->ways;
	const uint64_t fw = f * ONES;
	for (uint32_t o = 0;; o++) {
		const uint64_t lanes = o < a->fp_words ? HIGHS : a->fp_lanes;
		uint64_t m = zero_bytes(load8(a->fp + base + 8 * o) ^ fw) & lanes;
		while (m) {
			uint32_t idx = base + 8 * o + lowest_lane(m);
			if (a->key[idx] == key)
				return idx;
			m &= m - 1u;
		}
		if (o == a->fp_words)
			return NIL;
	}
}

/* Find key in set; on a hit update replacement state. Returns the entry index or NIL. */
static ALWAYS_INLINE uint32_t tarr_lookup(struct tarr *a, uint32_t set, uint64_t key,
					  uint8_t f)
{
	uint32_t idx = tarr_find(a, set, key, f);
	if (idx != NIL)
		tarr_hit(a, set, idx);
	return idx;
}

/* srrip / random victim way of a set (base = first entry). */
static uint32_t search_victim(struct tarr *a, uint32_t base)
{
	const uint32_t W = a->ways;
	if (a->small) {
		for (uint32_t o = 0; o <= a->fp_words; o++) {
			const uint64_t lanes = o < a->fp_words ? HIGHS : a->fp_lanes;
			uint64_t inv = zero_bytes(load8(a->fp + base + 8 * o)) & lanes;
			if (inv)
				return 8 * o + lowest_lane(inv);
		}
	} else if (a->valid < a->entries) {
		for (uint32_t w = 0; w < W; w++)
			if (!a->key[base + w])
				return w;
	}
	if (a->policy == TLB_REPL_RANDOM) /* Lemire's multiply-shift: no division */
		return (uint32_t)(((xorshift64s(&a->rng) >> 32) * (uint64_t)W) >> 32);
	/* srrip: the lowest way with RRPV 3, after ageing all ways until one has it */
	uint8_t *r = a->rrpv + base;
	uint8_t mx = 0;
	for (uint32_t w = 0; w < W; w++) {
		if (r[w] >= 3)
			return w;
		if (r[w] > mx)
			mx = r[w];
	}
	uint8_t d = (uint8_t)(3 - mx);
	uint32_t first = W;
	for (uint32_t w = 0; w < W; w++) {
		r[w] = (uint8_t)(r[w] + d);
		if (r[w] == 3 && first == W)
			first = w;
	}
	return first;
}

/* Insert key (fingerprint f, not present) into set. Returns the evicted key, 0 if none. */
static ALWAYS_INLINE uint64_t tarr_insert(struct tarr *a, uint32_t set, uint64_t key, uint8_t f)
{
	const uint32_t base = set * a->ways;
	uint32_t w;
	if (a->stacked) {
		uint64_t s = a->stack[set];
		w = (uint32_t)(s >> (8 * (a->ways - 1))) & 0xffu;
		a->stack[set] = stk_front(s, w);
	} else if (a->listed) {
		if (a->setvalid[set] < a->ways) {
			w = 0;
			while (a->key[base + w])
				w++;
			a->setvalid[set]++;
		} else {
			w = a->tail[set] - base;
			lunlink(a, set, base + w);
		}
		lpush(a, set, base + w);
	} else {
		w = search_victim(a, base);
	}
	const uint32_t idx = base + w;
	const uint64_t old = a->key[idx];
	if (old) {
		a->st.evictions++;
		if (!a->small)
			hdel(a, old); /* before the key is overwritten: hdel compares keys */
	} else {
		a->valid++;
	}
	a->key[idx] = key;
	if (a->small)
		a->fp[idx] = f;
	else
		hadd(a, key, idx);
	if (a->policy == TLB_REPL_SRRIP)
		a->rrpv[idx] = 2;
	return old;
}

/* Drop entry idx (valid) of set. */
static void tarr_drop_at(struct tarr *a, uint32_t set, uint32_t idx)
{
	uint32_t w = idx - set * a->ways;
	if (a->small)
		a->fp[idx] = 0;
	else
		hdel(a, a->key[idx]);
	if (a->stacked)
		a->stack[set] = stk_back(a->stack[set], w, a->ways);
	if (a->listed) {
		lunlink(a, set, idx);
		a->setvalid[set]--;
	}
	if (a->rrpv)
		a->rrpv[idx] = 0;
	a->key[idx] = 0;
	a->valid--;
}

/* Drop entry idx (valid). Not on the access path. */
static void tarr_drop(struct tarr *a, uint32_t idx)
{
	tarr_drop_at(a, idx / a->ways, idx);
}

/* ---- creation ---- */

#define ALIGN64(x) (((x) + 63u) & ~(size_t)63u)

static uint32_t resolved_ways(uint32_t entries, uint32_t ways)
{
	return ways == TLB_WAYS_FULL ? entries : ways;
}

/* Hash slots: a power of two at least twice the entries. */
static uint32_t hash_slots(uint32_t entries)
{
	uint32_t n = 16;
	while (n < 2u * entries)
		n <<= 1;
	return n;
}

/*
 * Carve the arrays of one structure out of p (or only count the bytes when
 * a is NULL). Returns the bytes used.
 */
static size_t arr_layout(struct tarr *a, unsigned char *p, uint32_t entries, uint32_t ways,
			 enum tlb_repl policy)
{
	const uint32_t W = resolved_ways(entries, ways);
	const uint32_t sets = entries / W;
	const bool small = W <= FP_WAYS;
	const bool ordered = policy == TLB_REPL_LRU || policy == TLB_REPL_FIFO;
	const bool stacked = ordered && W <= STACK_WAYS;
	const bool listed = ordered && W > STACK_WAYS;
	size_t n = 0;
#define CARVE(field, type, count)                                  \
	do {                                                       \
		if (a)                                             \
			a->field = (type *)(void *)(p + n);        \
		n += ALIGN64((size_t)(count) * sizeof(type));      \
	} while (0)
	CARVE(key, uint64_t, entries);
	if (small)
		CARVE(fp, uint8_t, (size_t)entries + 8u);
	else
		CARVE(hidx, uint32_t, hash_slots(entries));
	if (stacked)
		CARVE(stack, uint64_t, sets);
	if (listed) {
		CARVE(prev, uint32_t, entries);
		CARVE(next, uint32_t, entries);
		CARVE(head, uint32_t, sets);
		CARVE(tail, uint32_t, sets);
		CARVE(setvalid, uint32_t, sets);
	}
	if (policy == TLB_REPL_SRRIP)
		CARVE(rrpv, uint8_t, entries);
#undef CARVE
	if (a) {
		a->entries = entries;
		a->ways = W;
		a->set_mask = sets - 1u;
		a->policy = (uint8_t)policy;
		a->small = small;
		a->stacked = stacked;
		a->listed = listed;
		a->fp_words = (W - 1u) / 8u;
		const uint32_t last = W - 8u * a->fp_words; /* lanes in the last word: 1..8 */
		a->fp_lanes = last == 8 ? HIGHS : HIGHS & ((UINT64_C(1) << (8 * last)) - 1u);
		a->hmask = small ? 0 : hash_slots(entries) - 1u;
	}
	return n;
}

static unsigned char *arr_carve(struct tarr *a, unsigned char *p, uint32_t entries,
				uint32_t ways, uint32_t latency, enum tlb_repl policy,
				uint64_t seed);

static bool pf_has(const struct tlb_prefetch_desc *pf, unsigned kind)
{
	for (uint32_t i = 0; i < pf->n; i++)
		if (pf->kind[i] == kind)
			return true;
	return false;
}

/*
 * Bytes of the prefetch state (PQ, owners, distance, asp, sbfp and atp
 * tables) of machine m; with t, also carve them from p into t.
 */
static size_t pf_layout(struct tlb *t, unsigned char *p, const struct tlb_machine *m)
{
	const struct tlb_prefetch_desc *pf = &m->pf;
	if (!pf->n)
		return 0;
	size_t n = arr_layout(NULL, NULL, pf->pq_entries, pf->pq_ways, pf->pq_repl);
	if (t)
		arr_carve(&t->pq, p, pf->pq_entries, pf->pq_ways, 0, pf->pq_repl,
			  m->seed ^ splitmix64(0x9f0fu));
#define PCARVE(field, type, count)                                 \
	do {                                                       \
		if (t)                                             \
			t->field = (type *)(void *)(p + n);        \
		n += ALIGN64((size_t)(count) * sizeof(type));      \
	} while (0)
	PCARVE(pq_owner, uint8_t, pf->pq_entries);
	if (pf_has(pf, TLB_PF_DISTANCE)) {
		size_t rows = pf->dp_rows;
		PCARVE(dp_tag, int64_t, rows);
		PCARVE(dp_stamp, uint64_t, rows);
		PCARVE(dp_succ, int64_t, rows * pf->dp_slots);
		PCARVE(dp_sstamp, uint64_t, rows * pf->dp_slots);
	}
	if (pf_has(pf, TLB_PF_ASP)) {
		PCARVE(asp_pc, uint64_t, pf->asp_entries);
		PCARVE(asp_vpn, uint64_t, pf->asp_entries);
		PCARVE(asp_stride, int64_t, pf->asp_entries);
		PCARVE(asp_cnt, uint32_t, pf->asp_entries);
		PCARVE(asp_svalid, uint8_t, pf->asp_entries);
	}
	if (pf_has(pf, TLB_PF_SBFP)) {
		PCARVE(pq_fd, int8_t, pf->pq_entries);
		PCARVE(smp_key, uint64_t, pf->sbfp_sampler);
		PCARVE(smp_d, int8_t, pf->sbfp_sampler);
	}
	if (pf_has(pf, TLB_PF_ATP)) {
		const uint32_t me = pf->atp_masp_entries;
		PCARVE(fpq, uint64_t, 3 * (size_t)pf->atp_fpq);
		PCARVE(masp_pc, uint64_t, me);
		PCARVE(masp_last, uint64_t, me);
		PCARVE(masp_stride, int64_t, me);
		PCARVE(masp_svalid, uint8_t, me);
		PCARVE(masp_rr, uint32_t, me / pf->atp_masp_ways);
	}
#undef PCARVE
	return n;
}

size_t tlb_footprint(const struct tlb_machine *m)
{
	if (tlb_machine_validate(m, NULL, 0))
		return 0;
	size_t n = ALIGN64(sizeof(struct tlb));
	for (uint32_t i = 0; i < m->nstructs; i++)
		n += arr_layout(NULL, NULL, m->s[i].entries, m->s[i].ways, m->s[i].repl);
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
		if (m->pwc[j].entries)
			n += arr_layout(NULL, NULL, m->pwc[j].entries, m->pwc[j].ways, m->pwc_repl);
	n += ALIGN64((size_t)m->walkers * sizeof(uint64_t));
	if (m->walk_mem == TLB_WALK_CACHE)
		n += arr_layout(NULL, NULL, m->walk_cache.sets * m->walk_cache.ways,
				m->walk_cache.ways, m->walk_cache.repl);
	if (m->psp.kind == TLB_PSP_TABLE)
		n += ALIGN64(m->psp.entries);
	n += pf_layout(NULL, NULL, m);
	return n;
}

static unsigned char *arr_carve(struct tarr *a, unsigned char *p, uint32_t entries,
				uint32_t ways, uint32_t latency, enum tlb_repl policy,
				uint64_t seed)
{
	p += arr_layout(a, p, entries, ways, policy);
	a->latency = latency;
	a->rng_seed = splitmix64(seed) | 1u;
	a->rng = a->rng_seed;
	tarr_clear(a);
	return p;
}

static void build_routes(struct tlb *t)
{
	const struct tlb_machine *m = &t->mach;
	for (unsigned p = 0; p < NPATHS; p++) {
		uint32_t pmask = p ? TLB_ACC_STORE : TLB_ACC_LOAD;
		uint32_t n = 0, cyc = 0;
		for (uint32_t lvl = 1; lvl <= TLB_MAX_LEVELS; lvl++) {
			bool present = false;
			uint32_t maxlat = 0;
			for (uint32_t i = 0; i < m->nstructs; i++)
				if ((m->s[i].access & pmask) && m->s[i].level == lvl) {
					present = true;
					if (m->s[i].latency > maxlat)
						maxlat = m->s[i].latency;
				}
			if (!present)
				continue;
			t->levnum[p][n] = lvl;
			t->base[p][n] = cyc;
			for (unsigned c = 0; c < NSIZES; c++) {
				struct rlev *L = &t->route[p][c].lev[n];
				for (uint32_t i = 0; i < m->nstructs; i++) {
					const struct tlb_struct_desc *s = &m->s[i];
					if ((s->access & pmask) && s->level == lvl &&
					    (s->page_sizes & (1u << c))) {
						L->fill = (uint8_t)s->fill;
						L->sa[L->nbank++] = &t->arr[i];
					}
				}
				while ((1u << L->bank_bits) < L->nbank)
					L->bank_bits++;
				L->bank_mask = L->nbank ? L->nbank - 1u : 0;
			}
			cyc += maxlat;
			n++;
		}
		t->nlev[p] = n;
		t->miss_cycles[p] = cyc;
	}
}

/* The geometry tlb_llt_geometry reports, from the routes of 4 KiB pages. */
static void build_llt(struct tlb *t)
{
	for (unsigned p = 0; p < NPATHS; p++) {
		struct tlb_llt_geometry *g = &t->llt[p];
		t->llt_lev[p] = NLEV_NONE;
		for (unsigned n = 0; n < t->nlev[p]; n++)
			if (t->route[p][0].lev[n].nbank)
				t->llt_lev[p] = (uint8_t)n;
		if (t->llt_lev[p] == NLEV_NONE)
			continue;
		const struct rlev *L = &t->route[p][0].lev[t->llt_lev[p]];
		g->level = t->levnum[p][t->llt_lev[p]];
		g->banks = L->nbank;
		g->uniform = true;
		for (unsigned b = 0; b < L->nbank; b++) {
			const struct tarr *a = L->sa[b];
			t->llt_base[p][a - t->arr] = g->sets;
			g->sets += a->set_mask + 1u;
			g->entries += a->entries;
			if (a->ways > g->ways)
				g->ways = a->ways;
			g->uniform &= a->ways == L->sa[0]->ways && a->set_mask == L->sa[0]->set_mask;
		}
	}
	for (unsigned p = 0; p < NPATHS; p++) {
		if (t->llt_lev[p] == NLEV_NONE || t->llt_lev[!p] == NLEV_NONE)
			continue;
		const struct rlev *A = &t->route[p][0].lev[t->llt_lev[p]];
		const struct rlev *B = &t->route[!p][0].lev[t->llt_lev[!p]];
		t->llt[p].shared = A->nbank == B->nbank &&
				   !memcmp(A->sa, B->sa, A->nbank * sizeof A->sa[0]);
	}
}

struct tlb *tlb_create(const struct tlb_machine *m, const struct tlb_allocator *alloc,
		       char *err, size_t errlen)
{
	struct tlb_msg msg;
	msg_init(&msg, err, errlen);
	if (tlb_machine_validate(m, err, errlen))
		return NULL;
	if (!alloc || !alloc->zalloc || !alloc->free) {
		msg_str(&msg, "tlb_create: no allocator (zalloc and free are required)");
		return NULL;
	}
	size_t bytes = tlb_footprint(m);
	unsigned char *block = alloc->zalloc(alloc->ctx, bytes);
	if (!block) {
		msg_str(&msg, "tlb_create: the allocator refused ");
		msg_u64(&msg, bytes);
		msg_str(&msg, " bytes");
		return NULL;
	}
	struct tlb *t = (struct tlb *)(void *)block;
	t->alloc = *alloc;
	t->bytes = bytes;
	t->mach = *m;
	unsigned char *p = block + ALIGN64(sizeof(struct tlb));

	t->nstructs = m->nstructs;
	for (uint32_t i = 0; i < m->nstructs; i++) {
		const struct tlb_struct_desc *s = &m->s[i];
		p = arr_carve(&t->arr[i], p, s->entries, s->ways, s->latency, s->repl,
			      m->seed ^ splitmix64(i + 1u) ^ splitmix64(s->seed + 0x5151u));
	}
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++) {
		if (!m->pwc[j].entries)
			continue;
		p = arr_carve(&t->pwc[j], p, m->pwc[j].entries, m->pwc[j].ways, 0, m->pwc_repl,
			      m->seed ^ splitmix64(TLB_MAX_STRUCTS + 1u + j));
		t->has_pwc[j] = true;
		t->pwc_any = true;
	}
	t->epoch = 1;
	t->walkers = m->walkers;
	t->walker_busy = (uint64_t *)(void *)p;
	p += ALIGN64((size_t)m->walkers * sizeof(uint64_t));
	if (m->walk_mem == TLB_WALK_CACHE) {
		const struct tlb_walk_cache_desc *c = &m->walk_cache;
		p = arr_carve(&t->wcache, p, c->sets * c->ways, c->ways, 0, c->repl,
			      m->seed ^ splitmix64(0x5ca5eu));
		t->wc_on = true;
		while ((1u << t->wc_line_shift) < c->line_bytes)
			t->wc_line_shift++;
		t->wc_hit = c->hit_latency;
		t->wc_miss = c->miss_latency;
	}
	if (m->psp.kind != TLB_PSP_NONE) {
		t->psp_on = true;
		for (uint32_t i = 0; i < m->nstructs; i++) {
			const struct tlb_struct_desc *s = &m->s[i];
			if (__builtin_popcount(s->page_sizes) > 1 && t->arr[i].ways < s->entries)
				t->arr[i].psp_sizes = (uint8_t)s->page_sizes;
		}
		if (m->psp.kind == TLB_PSP_TABLE) {
			t->psp_ctr = p;
			p += ALIGN64(m->psp.entries);
			t->psp_mask = m->psp.entries - 1u;
			memset(t->psp_ctr, 1, m->psp.entries); /* weakly 4 KiB */
		}
	}
	t->sbfp_i = t->atp_i = NPF_NONE;
	if (m->pf.n) {
		const struct tlb_prefetch_desc *pf = &m->pf;
		pf_layout(t, p, m);
		t->npf = pf->n;
		for (uint32_t i = 0; i < pf->n; i++)
			t->pf[i].kind = pf->kind[i];
		t->pf_walk = pf->walk;
		uint32_t dw = pf->dp_ways == TLB_WAYS_FULL ? pf->dp_rows : pf->dp_ways;
		t->dp_ways = dw;
		t->dp_set_mask = pf->dp_rows / dw - 1u;
		t->dp_slots = pf->dp_slots;
		t->asp_mask = pf->asp_entries - 1u;
		for (uint32_t i = 0; i < pf->n; i++) {
			if (pf->kind[i] == TLB_PF_SBFP)
				t->sbfp_i = (uint8_t)i;
			if (pf->kind[i] == TLB_PF_ATP)
				t->atp_i = (uint8_t)i;
		}
		t->fdt_max = (uint16_t)((1u << pf->sbfp_counter_bits) - 1u);
		t->atp_max[0] = (1u << pf->atp_enable_bits) - 1u;
		t->atp_max[1] = (1u << pf->atp_select1_bits) - 1u;
		t->atp_max[2] = (1u << pf->atp_select2_bits) - 1u;
		t->masp_ways = pf->atp_masp_ways;
		t->masp_set_mask = pf->atp_masp_entries / pf->atp_masp_ways - 1u;
	}
	t->pwc_tag_pte = m->pwc_tag == TLB_PWC_TAG_PTE;
	t->pwc_latency = t->pwc_any ? m->pwc_latency : 0;

	for (unsigned n = 1; n <= TLB_PT_LEVELS; n++)
		for (unsigned start = 0; start <= n; start++) {
			uint32_t c = 0;
			for (unsigned j = start; j < n; j++)
				c += m->walk_latency[j];
			t->walk_cost[n][start] = c;
		}
	build_routes(t);
	build_llt(t);
	for (unsigned q = 0; q < NPATHS && t->npf; q++) {
		/* PQ probed with the last level of the path */
		uint32_t nl = t->nlev[q];
		uint32_t before = nl ? t->base[q][nl - 1] : 0;
		uint32_t viapq = before + m->pf.pq_latency;
		t->pq_hit_cycles[q] = viapq > t->miss_cycles[q] ? viapq : t->miss_cycles[q];
	}
	return t;
}

void tlb_destroy(struct tlb *t)
{
	if (!t)
		return;
	struct tlb_allocator a = t->alloc;
	a.free(a.ctx, t, t->bytes);
}

const struct tlb_machine *tlb_machine_of(const struct tlb *t)
{
	return &t->mach;
}

/* ---- the access path ---- */

/* The structure (bank) of route level L holding vpn, and its set. */
static ALWAYS_INLINE struct tarr *route_pick(const struct rlev *L, uint64_t vpn, uint32_t *set)
{
	struct tarr *a = L->sa[vpn & L->bank_mask];
	*set = (uint32_t)(vpn >> L->bank_bits) & a->set_mask;
	return a;
}

int tlb_llt_geometry(const struct tlb *t, bool is_write, struct tlb_llt_geometry *out)
{
	*out = t->llt[is_write];
	return t->llt_lev[is_write] == NLEV_NONE ? -1 : 0;
}

uint32_t tlb_llt_set(const struct tlb *t, uint64_t vaddr, bool is_write, uint32_t *ways)
{
	const unsigned p = is_write;
	if (t->llt_lev[p] == NLEV_NONE) {
		if (ways)
			*ways = 0;
		return TLB_LLT_NONE;
	}
	uint32_t set;
	const struct tarr *a = route_pick(&t->route[p][0].lev[t->llt_lev[p]], page_key(vaddr, 0) >> 2, &set);
	if (ways)
		*ways = a->ways;
	return t->llt_base[p][a - t->arr] + set;
}

/*
 * memory = cache: read entries e[start..n-1] through the PTE cache. Returns
 * their cycles; *hits gets how many hit.
 */
static uint32_t pte_cache_reads(struct tlb *t, const struct tlb_translation *tr, unsigned start,
				unsigned n, unsigned *hits)
{
	struct tarr *a = &t->wcache;
	uint32_t c = 0;
	unsigned h = 0;
	for (unsigned j = start; j < n; j++) {
		const uint64_t line = tr->pte_paddr[j] >> t->wc_line_shift;
		const uint64_t key = (line << 1) | 1u;
		const uint8_t f = fp_of(key);
		const uint32_t set = (uint32_t)line & a->set_mask;
		if (tarr_lookup(a, set, key, f) != NIL) {
			h++;
			c += t->wc_hit;
		} else {
			tarr_insert(a, set, key, f);
			c += t->wc_miss;
		}
	}
	*hits = h;
	return c;
}

/* What a walk did (besides its cycles). */
struct walk_out {
	unsigned reads;     /* entries read */
	unsigned chits;     /* of which hit the PTE cache */
	int pwc_hit;        /* deepest PWC level hit, -1 none */
};

/*
 * Walk: probe the PWCs deepest first, charge the entries not skipped through
 * the memory model, fill the PWC levels read. Returns cycles (PWC + entry
 * reads) and fills *o.
 */
static inline uint32_t walk(struct tlb *t, uint64_t vaddr, const struct tlb_translation *tr,
			    struct walk_out *o)
{
	unsigned n = tr->levels;
	if (n < 1)
		n = 1;
	else if (n > TLB_PT_LEVELS)
		n = TLB_PT_LEVELS;
	unsigned start = 0;
	int hit = -1;
	if (t->pwc_any && n >= 2) {
		int top = (int)n - 2;
		if (top > (int)TLB_PWC_LEVELS - 1)
			top = (int)TLB_PWC_LEVELS - 1;
		uint64_t keys[TLB_PWC_LEVELS] = { 0, 0, 0 };
		uint8_t fps[TLB_PWC_LEVELS] = { 0, 0, 0 };
		for (int j = top; j >= 0; j--) {
			if (!t->has_pwc[j])
				continue;
			struct tarr *a = &t->pwc[j];
			uint64_t tag = t->pwc_tag_pte ? tr->pte_paddr[j] >> 3
						      : (vaddr & VA48_MASK) >> pwc_va_shift[j];
			keys[j] = (tag << 1) | 1u;
			fps[j] = fp_of(keys[j]);
			if (tarr_lookup(a, (uint32_t)tag & a->set_mask, keys[j], fps[j]) != NIL) {
				a->st.hits++;
				hit = j;
				break;
			}
			a->st.misses++;
		}
		start = (unsigned)(hit + 1);
		/* The non-leaf entries read (hit+1 .. top) were probed and missed: fill. */
		for (int j = hit + 1; j <= top; j++) {
			if (!t->has_pwc[j])
				continue;
			struct tarr *a = &t->pwc[j];
			a->st.fills++;
			tarr_insert(a, (uint32_t)(keys[j] >> 1) & a->set_mask, keys[j], fps[j]);
		}
	}
	o->reads = n - start;
	o->pwc_hit = hit;
	o->chits = 0;
	if (t->wc_on)
		return t->pwc_latency + pte_cache_reads(t, tr, start, n, &o->chits);
	return t->pwc_latency + t->walk_cost[n][start];
}

/* ---- prefetching (never on the TLB-hit path) ---- */

#define PF_VPN_LIMIT (UINT64_C(1) << 36) /* 4 KiB pages below 2^48 */

/*
 * Insert key (not present) into the PQ for prefetcher i, evicting as
 * configured. Returns the entry index.
 */
static uint32_t pq_insert(struct tlb *t, uint32_t set, uint64_t key, uint8_t f, unsigned i)
{
	struct tarr *a = &t->pq;
	uint64_t ev = tarr_insert(a, set, key, f);
	uint32_t idx = tarr_find(a, set, key, f);
	if (ev)
		t->pf[t->pq_owner[idx]].st.useless++;
	t->pq_owner[idx] = (uint8_t)i;
	return idx;
}

/* True when key is in a TLB structure of path p (no replacement update). */
static bool in_tlb(const struct tlb *t, unsigned p, unsigned c, uint64_t key, uint8_t f)
{
	const struct route *r = &t->route[p][c];
	for (unsigned li = 0; li < t->nlev[p]; li++) {
		const struct rlev *L = &r->lev[li];
		if (!L->nbank)
			continue;
		uint32_t set;
		const struct tarr *a = route_pick(L, key >> 2, &set);
		if (tarr_find(a, set, key, f) != NIL)
			return true;
	}
	return false;
}

/*
 * Translate 4 KiB VPN vpn (signed, so a negative target is seen) with the
 * callback into *tr, and its entry key (of the page size it is mapped with)
 * into *key. False when out of [0, 2^48), without a translator, or unmapped.
 */
static bool pf_translate(struct tlb *t, int64_t vpn, struct tlb_translation *tr, uint64_t *key)
{
	if (vpn < 0 || (uint64_t)vpn >= PF_VPN_LIMIT || !t->xlate)
		return false;
	const uint64_t va = (uint64_t)vpn << 12;
	memset(tr, 0, sizeof *tr);
	if (t->xlate(t->xlate_ctx, va, tr))
		return false;
	const unsigned ps = tr->page_shift;
	const unsigned c = ps >= 30 ? 2u : ps >= 21 ? 1u : 0u;
	*key = page_key(va, c);
	return true;
}

/*
 * Offer the translation whose key is key to the PQ for prefetcher i
 * (triggered by an access of path p, demand key dkey): a duplicate when it
 * is the demand page, in the PQ or in a TLB of the path; else issued.
 * Returns the PQ entry index, or NIL for a duplicate.
 */
static uint32_t pf_offer(struct tlb *t, unsigned i, unsigned p, uint64_t dkey, uint64_t key)
{
	struct tlb_prefetch_stats *st = &t->pf[i].st;
	const unsigned c = (unsigned)(key & 3u) - 1u;
	const uint8_t f = fp_of(key);
	const uint32_t set = (uint32_t)(key >> 2) & t->pq.set_mask;
	if (key == dkey || tarr_find(&t->pq, set, key, f) != NIL || in_tlb(t, p, c, key, f)) {
		st->duplicate++;
		return NIL;
	}
	st->issued++;
	return pq_insert(t, set, key, f, i);
}

/* ---- sbfp: free PTEs (Vavouliotis et al., ISCA 2021; see tlbmodel.h) ---- */

#define PTE_LINE_SHIFT 6 /* SBFP's 64-byte line of 8 PTEs */

/* FDT index of free distance d: -7..-1 -> 0..6, +1..+7 -> 7..13. */
static unsigned fdt_index(int d)
{
	return d < 0 ? (unsigned)(d + 7) : (unsigned)(d + 6);
}

/* A free PTE was useful: count it for d; at saturation halve every counter. */
static void fdt_credit(struct tlb *t, int d)
{
	uint16_t *c = &t->fdt[fdt_index(d)];
	if (*c < t->fdt_max)
		(*c)++;
	if (*c >= t->fdt_max) {
		for (unsigned j = 0; j < TLB_SBFP_DISTANCES; j++)
			t->fdt[j] >>= 1;
		t->pf[t->sbfp_i].st.fdt_decays++;
	}
}

static bool fdt_admits(const struct tlb *t, int d)
{
	return t->fdt[fdt_index(d)] > t->mach.pf.sbfp_threshold;
}

/* One free PTE of a line: its distance and, when it holds a 4 KiB translation, that. */
struct free_pte {
	int d;
	bool ok;                  /* VPN + d is mapped as 4 KiB with its PTE in the line */
	uint64_t key;
	struct tlb_translation tr;
};

/*
 * The free PTEs of the 64-byte line holding the leaf PTE of walk tr (of
 * 4 KiB page vpn; none for larger pages): up to 7, in increasing d. With
 * admitted_only, only those whose FDT counter admits them are translated
 * (the others are left out). Returns how many were written to out.
 */
static unsigned free_ptes(struct tlb *t, uint64_t vpn, const struct tlb_translation *tr,
			  bool admitted_only, struct free_pte out[7])
{
	if (tr->page_shift >= 21 || tr->levels != TLB_PT_LEVELS)
		return 0;
	const uint64_t leaf = tr->pte_paddr[TLB_PT_LEVELS - 1];
	const uint64_t line = leaf >> PTE_LINE_SHIFT;
	const int slot = (int)((leaf >> 3) & 7u);
	unsigned n = 0;
	for (int d = -slot; d <= 7 - slot; d++) {
		if (!d || (admitted_only && !fdt_admits(t, d)))
			continue;
		struct free_pte *e = &out[n++];
		e->d = d;
		e->ok = pf_translate(t, (int64_t)vpn + d, &e->tr, &e->key) &&
			e->tr.page_shift < 21 && e->tr.levels == TLB_PT_LEVELS &&
			e->tr.pte_paddr[TLB_PT_LEVELS - 1] >> PTE_LINE_SHIFT == line;
	}
	return n;
}

/* sbfp: offer the free PTEs of walk tr (of 4 KiB page vpn): PQ or Sampler. */
static void sbfp_walk(struct tlb *t, unsigned p, uint64_t dkey, uint64_t vpn,
		      const struct tlb_translation *tr)
{
	struct free_pte fp[7];
	const unsigned n = free_ptes(t, vpn, tr, false, fp);
	if (!n)
		return;
	struct tlb_prefetch_stats *st = &t->pf[t->sbfp_i].st;
	st->triggers++;
	for (unsigned k = 0; k < n; k++) {
		st->candidates++;
		if (!fp[k].ok) {
			st->failed++;
		} else if (fdt_admits(t, fp[k].d)) {
			uint32_t idx = pf_offer(t, t->sbfp_i, p, dkey, fp[k].key);
			if (idx != NIL)
				t->pq_fd[idx] = (int8_t)fp[k].d;
		} else {
			t->smp_key[t->smp_next] = fp[k].key;
			t->smp_d[t->smp_next] = (int8_t)fp[k].d;
			if (++t->smp_next == t->mach.pf.sbfp_sampler)
				t->smp_next = 0;
			st->sampled++;
		}
	}
}

/* sbfp: a demand walk of key; if the Sampler has it, credit its distance. */
static void sbfp_train(struct tlb *t, uint64_t key)
{
	for (uint32_t k = 0; k < t->mach.pf.sbfp_sampler; k++)
		if (t->smp_key[k] == key) {
			t->smp_key[k] = 0;
			t->pf[t->sbfp_i].st.sampler_hits++;
			fdt_credit(t, t->smp_d[k]);
			return;
		}
}

/*
 * One candidate (4 KiB VPN, signed so that a negative target is seen) of
 * prefetcher i, triggered by an access of path p whose key is dkey: issued
 * ones are walked (walk = yes) and their lines offered to sbfp.
 */
static void pf_candidate(struct tlb *t, unsigned i, unsigned p, uint64_t dkey, int64_t vpn)
{
	struct tlb_prefetch_stats *st = &t->pf[i].st;
	st->candidates++;
	struct tlb_translation tr;
	uint64_t key;
	if (!pf_translate(t, vpn, &tr, &key)) {
		st->failed++;
		return;
	}
	if (pf_offer(t, i, p, dkey, key) == NIL)
		return;
	if (t->pf_walk) {
		/* a real walk (PWC state changes) whose counters stay out of the demand ones */
		struct tlb_struct_stats keep[TLB_PWC_LEVELS];
		for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
			keep[j] = t->pwc[j].st;
		struct walk_out wo;
		uint32_t wc = walk(t, (uint64_t)vpn << 12, &tr, &wo);
		for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
			t->pwc[j].st = keep[j];
		t->pf_walks++;
		t->pf_pte_reads += wo.reads;
		t->pf_walk_cycles += wc;
	}
	if (t->sbfp_i != NPF_NONE && t->mach.pf.sbfp_prefetch_walks)
		sbfp_walk(t, p, dkey, (uint64_t)vpn, &tr);
}

/* Distance table: the row tagged d, or NIL; a hit refreshes its LRU stamp. */
static uint32_t dp_lookup(struct tlb *t, int64_t d)
{
	uint64_t u = (uint64_t)d;
	uint32_t base = (((uint32_t)u ^ (uint32_t)(u >> 32)) & t->dp_set_mask) * t->dp_ways;
	for (uint32_t w = 0; w < t->dp_ways; w++)
		if (t->dp_stamp[base + w] && t->dp_tag[base + w] == d) {
			t->dp_stamp[base + w] = ++t->pf_clock;
			return base + w;
		}
	return NIL;
}

/* Allocate a row tagged d (not present): an invalid way, else the LRU one. */
static uint32_t dp_alloc(struct tlb *t, int64_t d)
{
	uint64_t u = (uint64_t)d;
	uint32_t base = (((uint32_t)u ^ (uint32_t)(u >> 32)) & t->dp_set_mask) * t->dp_ways;
	uint32_t v = base;
	for (uint32_t w = 0; w < t->dp_ways; w++) {
		if (!t->dp_stamp[base + w]) {
			v = base + w;
			break;
		}
		if (t->dp_stamp[base + w] < t->dp_stamp[v])
			v = base + w;
	}
	t->dp_tag[v] = d;
	t->dp_stamp[v] = ++t->pf_clock;
	memset(t->dp_sstamp + (size_t)v * t->dp_slots, 0, t->dp_slots * sizeof *t->dp_sstamp);
	return v;
}

/* Record successor distance d in row r (LRU slots). */
static void dp_learn(struct tlb *t, uint32_t r, int64_t d)
{
	int64_t *sd = t->dp_succ + (size_t)r * t->dp_slots;
	uint64_t *ss = t->dp_sstamp + (size_t)r * t->dp_slots;
	uint32_t v = 0;
	for (uint32_t k = 0; k < t->dp_slots; k++)
		if (ss[k] && sd[k] == d) {
			ss[k] = ++t->pf_clock;
			return;
		}
	for (uint32_t k = 0; k < t->dp_slots; k++) {
		if (!ss[k]) {
			v = k;
			break;
		}
		if (ss[k] < ss[v])
			v = k;
	}
	sd[v] = d;
	ss[v] = ++t->pf_clock;
}

static void pf_distance(struct tlb *t, unsigned i, unsigned p, uint64_t dkey, uint64_t vpn)
{
	if (!t->dp_have_miss) {
		t->dp_have_miss = true;
		t->dp_last_miss = vpn;
		return;
	}
	const int64_t d = (int64_t)(vpn - t->dp_last_miss);
	uint32_t r = dp_lookup(t, d);
	if (r != NIL) {
		/* predictions, most recently used successor first */
		int64_t sd[TLB_PF_MAX_DEGREE];
		uint64_t ss[TLB_PF_MAX_DEGREE];
		uint32_t n = 0;
		for (uint32_t k = 0; k < t->dp_slots; k++) {
			uint64_t st = t->dp_sstamp[(size_t)r * t->dp_slots + k];
			if (!st)
				continue;
			uint32_t j = n++;
			while (j && ss[j - 1] < st) {
				ss[j] = ss[j - 1];
				sd[j] = sd[j - 1];
				j--;
			}
			ss[j] = st;
			sd[j] = t->dp_succ[(size_t)r * t->dp_slots + k];
		}
		for (uint32_t k = 0; k < n; k++)
			pf_candidate(t, i, p, dkey, (int64_t)vpn + sd[k]);
	} else {
		dp_alloc(t, d);
	}
	if (t->dp_have_dist) {
		uint32_t pr = dp_lookup(t, t->dp_last_dist);
		if (pr == NIL)
			pr = dp_alloc(t, t->dp_last_dist);
		dp_learn(t, pr, d);
	}
	t->dp_last_dist = d;
	t->dp_have_dist = true;
	t->dp_last_miss = vpn;
}

static void pf_asp(struct tlb *t, unsigned i, unsigned p, uint64_t dkey, uint64_t vpn,
		   uint64_t pc)
{
	const struct tlb_prefetch_desc *pf = &t->mach.pf;
	if (!pc) {
		t->pf[i].st.no_pc++;
		return;
	}
	uint32_t e = (uint32_t)pc & t->asp_mask;
	if (t->asp_pc[e] != pc) { /* new pc or a conflict: start over */
		t->asp_pc[e] = pc;
		t->asp_vpn[e] = vpn;
		t->asp_svalid[e] = 0;
		t->asp_cnt[e] = 0;
		return;
	}
	const int64_t s = (int64_t)(vpn - t->asp_vpn[e]);
	t->asp_vpn[e] = vpn;
	if (s == 0)
		return;
	if (!t->asp_svalid[e]) {
		t->asp_stride[e] = s;
		t->asp_svalid[e] = 1;
		t->asp_cnt[e]++;
	} else if (t->asp_stride[e] == s) {
		t->asp_cnt[e]++;
	} else {
		t->asp_stride[e] = s;
		t->asp_cnt[e] = 0;
	}
	if (t->asp_cnt[e] <= pf->asp_threshold)
		return;
	for (uint32_t k = 0; k < pf->asp_degree; k++)
		pf_candidate(t, i, p, dkey, (int64_t)vpn + (int64_t)(pf->asp_lookahead + k) * s);
	if (pf->asp_extra)
		pf_candidate(t, i, p, dkey, (int64_t)vpn - s);
}

/* stride (and ATP's STP, length 2): VPN-L .. VPN+L except VPN. Returns how many. */
static unsigned pred_stride(uint64_t vpn, uint32_t L, int64_t *out)
{
	unsigned n = 0;
	for (int64_t k = -(int64_t)L; k <= (int64_t)L; k++)
		if (k)
			out[n++] = (int64_t)vpn + k;
	return n;
}

/* h2 (and ATP's H2P): C + (C - B), C + (B - A) once three misses are known. */
static unsigned pred_h2(const struct tlb *t, uint64_t vpn, int64_t out[2])
{
	if (t->h2_n < 3)
		return 0;
	const uint64_t *h = t->h2_hist;
	out[0] = (int64_t)(vpn + (h[2] - h[1]));
	out[1] = (int64_t)(vpn + (h[1] - h[0]));
	return 2;
}

/* ---- atp (Vavouliotis et al., ISCA 2021; see tlbmodel.h) ---- */

/* MASP entry of pc (non-zero), or NIL. */
static uint32_t masp_find(const struct tlb *t, uint64_t pc)
{
	const uint32_t base = ((uint32_t)pc & t->masp_set_mask) * t->masp_ways;
	for (uint32_t w = 0; w < t->masp_ways; w++)
		if (t->masp_pc[base + w] == pc)
			return base + w;
	return NIL;
}

/* MASP: A + S and A + (A - E) for a known PC. Returns how many. */
static unsigned pred_masp(const struct tlb *t, uint64_t vpn, uint64_t pc, int64_t out[2])
{
	const uint32_t e = pc ? masp_find(t, pc) : NIL;
	if (e == NIL)
		return 0;
	unsigned n = 0;
	if (t->masp_svalid[e] && t->masp_stride[e])
		out[n++] = (int64_t)vpn + t->masp_stride[e];
	const int64_t d = (int64_t)(vpn - t->masp_last[e]);
	if (d && (n == 0 || out[0] != (int64_t)vpn + d))
		out[n++] = (int64_t)vpn + d;
	return n;
}

/* MASP: learn the miss to vpn by pc (0: nothing to learn). */
static void masp_update(struct tlb *t, uint64_t vpn, uint64_t pc)
{
	if (!pc)
		return;
	uint32_t e = masp_find(t, pc);
	if (e != NIL) {
		t->masp_stride[e] = (int64_t)(vpn - t->masp_last[e]);
		t->masp_svalid[e] = 1;
		t->masp_last[e] = vpn;
		return;
	}
	const uint32_t set = (uint32_t)pc & t->masp_set_mask, base = set * t->masp_ways;
	e = NIL;
	for (uint32_t w = 0; w < t->masp_ways && e == NIL; w++)
		if (!t->masp_pc[base + w])
			e = base + w;
	if (e == NIL) {
		e = base + t->masp_rr[set];
		t->masp_rr[set] = (t->masp_rr[set] + 1u) % t->masp_ways;
	}
	t->masp_pc[e] = pc;
	t->masp_last[e] = vpn;
	t->masp_stride[e] = 0;
	t->masp_svalid[e] = 0;
}

static bool fpq_has(const struct tlb *t, unsigned c, uint64_t vpn)
{
	const uint32_t n = t->mach.pf.atp_fpq;
	const uint64_t *q = t->fpq + (size_t)c * n;
	for (uint32_t k = 0; k < n; k++)
		if (q[k] == (vpn | FPQ_VALID))
			return true;
	return false;
}

/* Put vpn in child c's FPQ (FIFO) unless it is there. */
static void fpq_put(struct tlb *t, unsigned c, uint64_t vpn)
{
	if (fpq_has(t, c, vpn))
		return;
	const uint32_t n = t->mach.pf.atp_fpq;
	t->fpq[(size_t)c * n + t->fpq_next[c]] = vpn | FPQ_VALID;
	if (++t->fpq_next[c] == n)
		t->fpq_next[c] = 0;
}

/* A child's prediction that is mapped goes to its FPQ, with the free PTEs sbfp would admit. */
static void atp_fake(struct tlb *t, unsigned c, int64_t vpn)
{
	struct tlb_translation tr;
	uint64_t key;
	if (!pf_translate(t, vpn, &tr, &key))
		return;
	fpq_put(t, c, (uint64_t)vpn);
	if (t->sbfp_i == NPF_NONE)
		return;
	struct free_pte fp[7];
	const unsigned n = free_ptes(t, (uint64_t)vpn, &tr, true, fp);
	for (unsigned k = 0; k < n; k++)
		if (fp[k].ok)
			fpq_put(t, c, (uint64_t)(vpn + fp[k].d));
}

static void ctr_step(struct tlb *t, unsigned k, bool up)
{
	uint32_t *c = &t->atp_ctr[k];
	if (up && *c < t->atp_max[k])
		(*c)++;
	else if (!up && *c)
		(*c)--;
}

/* The child to prefetch with (0 H2P, 1 MASP, 2 STP), or -1: off. A counter's top bit decides. */
static int atp_choose(const struct tlb *t)
{
	if (t->atp_ctr[0] <= t->atp_max[0] / 2)
		return -1;
	if (t->atp_ctr[1] > t->atp_max[1] / 2)
		return 0;
	return t->atp_ctr[2] > t->atp_max[2] / 2 ? 2 : 1;
}

static void pf_atp(struct tlb *t, unsigned i, unsigned p, uint64_t dkey, uint64_t vpn,
		   uint64_t pc)
{
	struct tlb_prefetch_stats *st = &t->pf[i].st;
	/* would each child have caught this miss? (the paper's Figure 7) */
	const bool h0 = fpq_has(t, 0, vpn), h1 = fpq_has(t, 1, vpn), h2 = fpq_has(t, 2, vpn);
	if (!h0 && !h1 && !h2) {
		ctr_step(t, 0, false);
	} else {
		ctr_step(t, 0, true);
		if (h0 && !h1 && !h2)
			ctr_step(t, 1, true);
		else if (!h0)
			ctr_step(t, 1, false);
		if (h2 != h1)
			ctr_step(t, 2, h2);
	}
	int64_t pred[3][4];
	unsigned np[3];
	np[0] = pred_h2(t, vpn, pred[0]);
	np[1] = pred_masp(t, vpn, pc, pred[1]);
	np[2] = pred_stride(vpn, 2, pred[2]);
	if (!pc)
		st->no_pc++;
	const int ch = atp_choose(t);
	if (ch < 0) {
		st->disabled++;
	} else {
		st->chose[ch]++;
		for (unsigned k = 0; k < np[ch]; k++)
			pf_candidate(t, i, p, dkey, pred[ch][k]);
	}
	for (unsigned c = 0; c < 3; c++)
		for (unsigned k = 0; k < np[c]; k++)
			atp_fake(t, c, pred[c][k]);
	masp_update(t, vpn, pc);
}

/*
 * Run every prefetcher on a miss of path p (demand key dkey); walked is the
 * demand walk's translation, NULL for a PQ hit.
 */
static __attribute__((noinline)) void pf_run(struct tlb *t, unsigned p, uint64_t vaddr,
					     uint64_t pc, uint64_t dkey,
					     const struct tlb_translation *walked)
{
	const uint64_t vpn = (vaddr & VA48_MASK) >> 12;
	if (t->h2_n < 3)
		t->h2_n++;
	t->h2_hist[0] = t->h2_hist[1];
	t->h2_hist[1] = t->h2_hist[2];
	t->h2_hist[2] = vpn;
	if (walked && t->sbfp_i != NPF_NONE) {
		sbfp_train(t, dkey);
		sbfp_walk(t, p, dkey, vpn, walked);
	}
	for (unsigned i = 0; i < t->npf; i++) {
		int64_t pred[2 * TLB_PF_MAX_DEGREE];
		unsigned n = 0;
		switch (t->pf[i].kind) {
		case TLB_PF_SBFP:
			continue; /* done above, on demand walks only */
		case TLB_PF_STRIDE:
			n = pred_stride(vpn, t->mach.pf.stride_length, pred);
			break;
		case TLB_PF_H2:
			n = pred_h2(t, vpn, pred);
			break;
		case TLB_PF_DISTANCE:
			t->pf[i].st.triggers++;
			pf_distance(t, i, p, dkey, vpn);
			continue;
		case TLB_PF_ASP:
			t->pf[i].st.triggers++;
			pf_asp(t, i, p, dkey, vpn, pc);
			continue;
		default:
			t->pf[i].st.triggers++;
			pf_atp(t, i, p, dkey, vpn, pc);
			continue;
		}
		t->pf[i].st.triggers++;
		for (unsigned k = 0; k < n; k++)
			pf_candidate(t, i, p, dkey, pred[k]);
	}
}

static inline void fill_result(struct tlb_result *res, uint32_t cycles, uint32_t wcyc,
			       unsigned level, unsigned sidx, unsigned reads, int pwc_hit)
{
	res->cycles = cycles;
	res->walk_cycles = wcyc;
	res->level = (uint8_t)level;
	res->structure = (uint8_t)sidx;
	res->pte_reads = (uint8_t)reads;
	res->pte_cache_hits = 0;
	res->pwc_hit = (int8_t)pwc_hit;
	res->pq_hit = false;
}

/* ---- page-size prediction ([pagesize]; see tlbmodel.h) ---- */

/* Predicted size class of an access: 0 = 4 KiB, 1 = 2 MiB. */
static unsigned psp_predict(const struct tlb *t, uint64_t vaddr, uint64_t pc)
{
	if (!t->psp_ctr)
		return 0; /* predictor = 4k */
	const uint64_t ix = t->mach.psp.index_pc ? pc : (vaddr & VA48_MASK) >> 21;
	return t->psp_ctr[ix & t->psp_mask] >= 2;
}

/*
 * Probes a multi-size structure of sizes mask makes before size class c,
 * predicted size class pred first (if held), then the others from the smallest.
 */
static unsigned psp_rank(unsigned mask, unsigned pred, unsigned c)
{
	if (c == pred)
		return 0;
	unsigned r = (mask >> pred) & 1u;
	for (unsigned k = 0; k < c; k++)
		if (k != pred && ((mask >> k) & 1u))
			r++;
	return r;
}

/* An access probed a multi-size structure: count, and train the table toward size c. */
static void psp_learn(struct tlb *t, uint64_t vaddr, uint64_t pc, unsigned pred, unsigned c,
		      uint32_t extra)
{
	t->psp_pred++;
	t->psp_mis += (pred != 0) != (c != 0);
	t->psp_extra += extra;
	if (!t->psp_ctr)
		return;
	const uint64_t ix = t->mach.psp.index_pc ? pc : (vaddr & VA48_MASK) >> 21;
	uint8_t *k = &t->psp_ctr[ix & t->psp_mask];
	if (c && *k < 3)
		(*k)++;
	else if (!c && *k)
		(*k)--;
}

/* Everything but a repeated first-level hit: probe, walk, fill. */
static __attribute__((noinline)) uint32_t
access_slow(struct tlb *t, uint64_t vaddr, uint64_t pc, unsigned p, unsigned c, uint64_t key,
	    const struct tlb_translation *tr, struct tlb_result *res, bool timed, uint64_t now)
{
	const uint64_t vpn = key >> 2;
	const uint8_t f = fp_of(key);
	const struct route *r = &t->route[p][c];
	const unsigned nlev = t->nlev[p];

	unsigned hl;
	struct tarr *ha = NULL;
	uint32_t hset = 0, hidx = 0;
	const unsigned pred = t->psp_on ? psp_predict(t, vaddr, pc) : 0;
	uint32_t extra = 0; /* page-size prediction: probes beyond the first */
	bool probed_multi = false;
	for (hl = 0; hl < nlev; hl++) {
		const struct rlev *L = &r->lev[hl];
		if (!L->nbank)
			continue;
		uint32_t set;
		struct tarr *a = route_pick(L, vpn, &set);
		uint32_t idx = tarr_lookup(a, set, key, f);
		if (a->psp_sizes) {
			probed_multi = true;
			extra += a->latency * (idx != NIL ? psp_rank(a->psp_sizes, pred, c)
							  : (unsigned)__builtin_popcount(a->psp_sizes) - 1u);
		}
		if (idx != NIL) {
			a->st.hits++;
			ha = a;
			hset = set;
			hidx = idx;
			break;
		}
		a->st.misses++;
	}
	if (probed_multi)
		psp_learn(t, vaddr, pc, pred, c, extra);

	uint32_t cycles, wcyc = 0;
	struct walk_out wo = { 0, 0, -1 };
	bool pq_hit = false;
	if (ha) {
		cycles = t->base[p][hl] + ha->latency + extra;
		t->hits_by_level[t->levnum[p][hl] - 1]++;
		t->tlb_cycles += cycles;
		if (hl == 0 && !ha->psp_sizes) { /* first-level hit: nothing to fill; remember it */
			struct memo *mm = &t->memo[p];
			mm->key = key;
			mm->epoch = t->epoch;
			mm->a = ha;
			mm->set = hset;
			mm->idx = hidx;
			mm->cycles = cycles;
			mm->level = (uint8_t)t->levnum[p][0];
			mm->sidx = (uint8_t)(ha - t->arr);
			if (res)
				fill_result(res, cycles, 0, mm->level, mm->sidx, 0, -1);
			return cycles;
		}
	} else if (t->npf && (hidx = tarr_find(&t->pq, hset = (uint32_t)vpn & t->pq.set_mask,
					       key, f)) != NIL) {
		/* served by the prefetch queue: the entry moves to the TLBs */
		pq_hit = true;
		const unsigned owner = t->pq_owner[hidx];
		t->pf[owner].st.useful++;
		if (owner == t->sbfp_i) /* a free PTE was useful: train the FDT */
			fdt_credit(t, t->pq_fd[hidx]);
		tarr_drop_at(&t->pq, hset, hidx);
		cycles = t->pq_hit_cycles[p] + extra;
		t->pq_hits++;
		t->tlb_cycles += cycles;
	} else {
		uint32_t tc = t->miss_cycles[p] + extra;
		wcyc = walk(t, vaddr, tr, &wo);
		if (timed) {
			uint64_t startc = now + tc;
			uint32_t best = 0;
			for (uint32_t w = 1; w < t->walkers; w++)
				if (t->walker_busy[w] < t->walker_busy[best])
					best = w;
			uint64_t free_at = t->walker_busy[best];
			uint64_t delay = free_at > startc ? free_at - startc : 0;
			if (delay > UINT32_MAX / 2)
				delay = UINT32_MAX / 2;
			t->walker_busy[best] = startc + delay + wcyc;
			t->queue_cycles += delay;
			wcyc += (uint32_t)delay;
		}
		cycles = tc + wcyc;
		t->walks++;
		t->walks_by_size[c]++;
		t->pte_reads += wo.reads;
		t->pte_cache_hits += wo.chits;
		t->pte_cache_misses += t->wc_on ? wo.reads - wo.chits : 0;
		t->tlb_cycles += tc;
		t->walk_cycles += wcyc;
	}

	/* Fill levels above the hit (all levels after a walk), cascading victims. */
	t->epoch++; /* structures change: forget the memos */
	{
		uint64_t buf_a[MAX_VICTIMS], buf_b[MAX_VICTIMS];
		uint64_t *vict = buf_a, *nvict = buf_b;
		unsigned nv = 0;
		for (unsigned li = 0; li < nlev; li++) {
			unsigned nn = 0;
			for (unsigned v = 0; v < nv; v++) {
				const uint64_t vk = vict[v];
				const unsigned vc = (unsigned)(vk & 3u) - 1u;
				const struct rlev *V = &t->route[p][vc].lev[li];
				if (!V->nbank || V->fill != TLB_FILL_EVICTION)
					continue;
				uint32_t set;
				struct tarr *a = route_pick(V, vk >> 2, &set);
				a->st.victim_fills++;
				const uint8_t vf = fp_of(vk);
				if (tarr_lookup(a, set, vk, vf) != NIL)
					continue; /* already there: refreshed */
				uint64_t ev = tarr_insert(a, set, vk, vf);
				if (ev && nn < MAX_VICTIMS)
					nvict[nn++] = ev;
			}
			if (li < hl) {
				const struct rlev *L = &r->lev[li];
				if (L->nbank && L->fill == TLB_FILL_MISS) {
					uint32_t set;
					struct tarr *a = route_pick(L, vpn, &set);
					a->st.fills++;
					uint64_t ev = tarr_insert(a, set, key, f);
					if (ev && nn < MAX_VICTIMS)
						nvict[nn++] = ev;
				}
			}
			uint64_t *tmp = vict;
			vict = nvict;
			nvict = tmp;
			nv = nn;
			if (!nv && li + 1 >= hl)
				break;
		}
	}

	if (!ha && t->npf)
		pf_run(t, p, vaddr, pc, key, pq_hit ? NULL : tr);

	if (res) {
		if (ha)
			fill_result(res, cycles, wcyc, t->levnum[p][hl], (unsigned)(ha - t->arr), 0, -1);
		else {
			fill_result(res, cycles, wcyc, 0, TLB_NONE, wo.reads, wo.pwc_hit);
			res->pte_cache_hits = (uint8_t)wo.chits;
			res->pq_hit = pq_hit;
		}
	}
	return cycles;
}

static inline __attribute__((always_inline)) uint32_t
access_core(struct tlb *t, uint64_t vaddr, uint64_t pc, unsigned p,
	    const struct tlb_translation *tr, struct tlb_result *res, bool timed, uint64_t now)
{
	const unsigned ps = tr->page_shift;
	const unsigned c = ps >= 30 ? 2u : ps >= 21 ? 1u : 0u;
	const uint64_t key = page_key(vaddr, c);
	if (p)
		t->stores++;
	else
		t->loads++;
	struct memo *mm = &t->memo[p];
	if (__builtin_expect(mm->key == key && mm->epoch == t->epoch, 1)) {
		struct tarr *a = mm->a;
		a->st.hits++;
		tarr_hit(a, mm->set, mm->idx);
		t->hits_by_level[mm->level - 1]++;
		t->tlb_cycles += mm->cycles;
		if (res)
			fill_result(res, mm->cycles, 0, mm->level, mm->sidx, 0, -1);
		return mm->cycles;
	}
	return access_slow(t, vaddr, pc, p, c, key, tr, res, timed, now);
}

uint32_t tlb_access(struct tlb *t, uint64_t vaddr, bool is_write,
		    const struct tlb_translation *tr, struct tlb_result *res)
{
	return access_core(t, vaddr, 0, is_write ? 1u : 0u, tr, res, false, 0);
}

uint32_t tlb_access_pc(struct tlb *t, uint64_t vaddr, uint64_t pc, bool is_write,
		       const struct tlb_translation *tr, struct tlb_result *res)
{
	return access_core(t, vaddr, pc, is_write ? 1u : 0u, tr, res, false, 0);
}

uint32_t tlb_access_at(struct tlb *t, uint64_t now, uint64_t vaddr, bool is_write,
		       const struct tlb_translation *tr, struct tlb_result *res)
{
	return access_core(t, vaddr, 0, is_write ? 1u : 0u, tr, res, true, now);
}

void tlb_set_translator(struct tlb *t, tlb_translate_fn fn, void *ctx)
{
	t->xlate = fn;
	t->xlate_ctx = ctx;
}

/* ---- maintenance ---- */

static void pwc_flush(struct tlb *t)
{
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
		if (t->has_pwc[j])
			tarr_clear(&t->pwc[j]);
}

/* Does the page an entry key names (VPN << 2 | size class + 1; 0 = empty)
 * overlap [start, end)? */
static bool key_overlaps(uint64_t k, uint64_t start, uint64_t end)
{
	if (!k)
		return false;
	unsigned shift = size_shift[(k & 3u) - 1u];
	uint64_t pstart = (k >> 2) << shift;
	uint64_t pend = pstart + (UINT64_C(1) << shift);
	if (pend < pstart)
		pend = UINT64_MAX;
	return pstart < end && start < pend;
}

void tlb_invalidate(struct tlb *t, uint64_t start, uint64_t len)
{
	if (!len)
		return;
	t->epoch++;
	uint64_t end = start + len;
	if (end < start)
		end = UINT64_MAX;
	for (uint32_t i = 0; i < t->nstructs; i++) {
		struct tarr *a = &t->arr[i];
		for (uint32_t idx = 0; idx < a->entries; idx++) {
			if (key_overlaps(a->key[idx], start, end)) {
				tarr_drop(a, idx);
				t->invalidations++;
			}
		}
	}
	if (t->npf) {
		struct tarr *a = &t->pq;
		for (uint32_t idx = 0; idx < a->entries; idx++) {
			if (key_overlaps(a->key[idx], start, end)) {
				t->pf[t->pq_owner[idx]].st.useless++;
				tarr_drop(a, idx);
			}
		}
	}
	pwc_flush(t);
}

/* Drop every PQ entry; counted useless when count. */
static void pq_flush(struct tlb *t, bool count)
{
	if (!t->npf)
		return;
	if (count)
		for (uint32_t idx = 0; idx < t->pq.entries; idx++)
			if (t->pq.key[idx])
				t->pf[t->pq_owner[idx]].st.useless++;
	tarr_clear(&t->pq);
}

void tlb_flush(struct tlb *t)
{
	t->epoch++;
	for (uint32_t i = 0; i < t->nstructs; i++)
		tarr_clear(&t->arr[i]);
	pq_flush(t, true);
	pwc_flush(t);
}

void tlb_reset_stats(struct tlb *t)
{
	for (uint32_t i = 0; i < t->nstructs; i++)
		memset(&t->arr[i].st, 0, sizeof t->arr[i].st);
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
		memset(&t->pwc[j].st, 0, sizeof t->pwc[j].st);
	t->loads = t->stores = 0;
	memset(t->hits_by_level, 0, sizeof t->hits_by_level);
	t->walks = t->pte_reads = 0;
	t->pte_cache_hits = t->pte_cache_misses = 0;
	t->psp_pred = t->psp_mis = t->psp_extra = 0;
	memset(t->walks_by_size, 0, sizeof t->walks_by_size);
	t->tlb_cycles = t->walk_cycles = t->queue_cycles = 0;
	t->invalidations = 0;
	for (unsigned i = 0; i < TLB_MAX_PREFETCHERS; i++)
		memset(&t->pf[i].st, 0, sizeof t->pf[i].st);
	t->pq_hits = t->pf_walks = t->pf_pte_reads = t->pf_walk_cycles = 0;
}

void tlb_reset(struct tlb *t)
{
	t->epoch++;
	for (uint32_t i = 0; i < t->nstructs; i++) {
		tarr_clear(&t->arr[i]);
		t->arr[i].rng = t->arr[i].rng_seed;
	}
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++)
		if (t->has_pwc[j]) {
			tarr_clear(&t->pwc[j]);
			t->pwc[j].rng = t->pwc[j].rng_seed;
		}
	memset(t->walker_busy, 0, (size_t)t->walkers * sizeof *t->walker_busy);
	if (t->wc_on) {
		tarr_clear(&t->wcache);
		t->wcache.rng = t->wcache.rng_seed;
	}
	if (t->psp_ctr)
		memset(t->psp_ctr, 1, t->mach.psp.entries);
	if (t->npf) {
		const struct tlb_prefetch_desc *pf = &t->mach.pf;
		pq_flush(t, false);
		t->pq.rng = t->pq.rng_seed;
		t->pf_clock = 0;
		t->h2_n = 0;
		memset(t->h2_hist, 0, sizeof t->h2_hist);
		t->dp_have_miss = t->dp_have_dist = false;
		t->dp_last_miss = 0;
		t->dp_last_dist = 0;
		if (t->dp_stamp) {
			memset(t->dp_stamp, 0, pf->dp_rows * sizeof *t->dp_stamp);
			memset(t->dp_sstamp, 0,
			       (size_t)pf->dp_rows * pf->dp_slots * sizeof *t->dp_sstamp);
		}
		if (t->asp_pc) {
			memset(t->asp_pc, 0, pf->asp_entries * sizeof *t->asp_pc);
			memset(t->asp_cnt, 0, pf->asp_entries * sizeof *t->asp_cnt);
			memset(t->asp_svalid, 0, pf->asp_entries);
		}
		memset(t->fdt, 0, sizeof t->fdt);
		t->smp_next = 0;
		if (t->smp_key)
			memset(t->smp_key, 0, pf->sbfp_sampler * sizeof *t->smp_key);
		memset(t->atp_ctr, 0, sizeof t->atp_ctr);
		memset(t->fpq_next, 0, sizeof t->fpq_next);
		if (t->fpq) {
			const uint32_t me = pf->atp_masp_entries;
			memset(t->fpq, 0, 3 * (size_t)pf->atp_fpq * sizeof *t->fpq);
			memset(t->masp_pc, 0, me * sizeof *t->masp_pc);
			memset(t->masp_svalid, 0, me);
			memset(t->masp_rr, 0, me / pf->atp_masp_ways * sizeof *t->masp_rr);
		}
	}
	tlb_reset_stats(t);
}

void tlb_get_stats(const struct tlb *t, struct tlb_stats *out)
{
	memset(out, 0, sizeof *out);
	out->accesses = t->loads + t->stores;
	out->loads = t->loads;
	out->stores = t->stores;
	memcpy(out->hits_by_level, t->hits_by_level, sizeof out->hits_by_level);
	out->walks = t->walks;
	memcpy(out->walks_by_size, t->walks_by_size, sizeof out->walks_by_size);
	out->pte_reads = t->pte_reads;
	out->pte_cache_hits = t->pte_cache_hits;
	out->pte_cache_misses = t->pte_cache_misses;
	out->psp_predictions = t->psp_pred;
	out->psp_mispredictions = t->psp_mis;
	out->psp_extra_cycles = t->psp_extra;
	for (unsigned j = 0; j < TLB_PWC_LEVELS; j++) {
		out->pwc_lookups[j] = t->pwc[j].st.hits + t->pwc[j].st.misses;
		out->pwc_hits[j] = t->pwc[j].st.hits;
	}
	out->tlb_cycles = t->tlb_cycles;
	out->walk_cycles = t->walk_cycles;
	out->queue_cycles = t->queue_cycles;
	out->translation_cycles = t->tlb_cycles + t->walk_cycles;
	out->invalidations = t->invalidations;
	double acc = (double)out->accesses;
	out->walks_pmpa = acc > 0 ? (double)t->walks * 1e6 / acc : 0.0;
	out->cycles_per_access = acc > 0 ? (double)out->translation_cycles / acc : 0.0;
	out->nstructs = t->nstructs;
	for (uint32_t i = 0; i < t->nstructs; i++) {
		out->s[i] = t->arr[i].st;
		out->s[i].accesses = out->s[i].hits + out->s[i].misses;
		out->s[i].mpma = acc > 0 ? (double)t->arr[i].st.misses * 1e6 / acc : 0.0;
	}
	out->pq_hits = t->pq_hits;
	out->prefetch_walks = t->pf_walks;
	out->prefetch_pte_reads = t->pf_pte_reads;
	out->prefetch_walk_cycles = t->pf_walk_cycles;
	out->nprefetchers = t->npf;
	for (unsigned i = 0; i < t->npf; i++) {
		out->pf[i] = t->pf[i].st;
		if (i == t->sbfp_i)
			for (unsigned j = 0; j < TLB_SBFP_DISTANCES; j++)
				out->pf[i].fdt[j] = t->fdt[j];
		if (i == t->atp_i)
			memcpy(out->pf[i].atp_counters, t->atp_ctr, sizeof t->atp_ctr);
	}
}
