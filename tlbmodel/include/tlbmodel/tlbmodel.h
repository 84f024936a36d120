/*
 * tlbmodel: the TLB and page-walk timing model of vmemu.
 *
 * Pure and deterministic: no syscalls, no I/O, no threads, no global mutable
 * state; the only randomness is a per-structure RNG seeded from the machine
 * description. Memory comes from the allocator given to tlb_create(), in one
 * block, and nothing is allocated after creation, so the model can run on a
 * thread that must not touch the program's heap. One `struct tlb` is one
 * core's MMU; callers serialise access to it.
 *
 * Terms (Intel SDM Vol. 3A ch. 4.10, AMD APM Vol. 2 ch. 5):
 *   structure  one TLB array: an L1 DTLB, an STLB / L2 DTLB, ... Each holds one
 *              or more page sizes (4 KiB, 2 MiB, 1 GiB); several page sizes in
 *              one structure make it "unified".
 *   set, way   a structure has entries = sets x ways; sets must be a power of
 *              two (indexed by the low VPN bits); ways == entries is fully
 *              associative (one set).
 *   level      structures are grouped in levels 1..TLB_MAX_LEVELS. Levels are
 *              looked up serially, the structures of a level in parallel.
 *   walk       on a miss in every level the page-table walker reads the
 *              page-table entries (PML4E, PDPTE, PDE, PTE; fewer for huge
 *              pages) whose physical addresses come with the access.
 *   PWC        page-walk (paging-structure) caches for non-leaf entries:
 *              PML4E, PDPTE and PDE caches (SDM 4.10.3). A hit in the deepest
 *              one lets the walk skip the levels above it (Barr et al.,
 *              "Translation caching: skip, don't walk", ISCA 2010).
 *
 * Units: latencies and costs are core cycles; sizes are entries.
 *
 * ---------------------------------------------------------------------------
 * Timing model (one access)
 *   Let the access be a load or a store of page size P. Each level on the
 *   access's path (the levels having a structure that serves loads, resp.
 *   stores) costs the largest latency among its structures on that path, as
 *   in Virtuoso's MMU (mmu.cc, TLB latency phase: levels are looked up one
 *   after the other, the TLBs of a level in parallel, charging their maximum).
 *     hit in structure S at level L:  sum of the levels before L + latency(S)
 *     miss everywhere:                sum of all levels on the path + walk
 *     walk = PWC latency (once, if any PWC exists) + queueing for a walker
 *            (tlb_access_at only) + the latencies of the entries read.
 *   Walk with n entries e[0..n-1] (top first; n = 4 for 4 KiB, 3 for 2 MiB,
 *   2 for 1 GiB pages under 4-level paging): entries e[0..n-2] are non-leaf
 *   and may be cached by the PWC of their level (0 = PML4E, 1 = PDPTE,
 *   2 = PDE); the leaf e[n-1] never is (SDM 4.10.3.1: no PDE-cache entry for
 *   a PDE that maps a 2 MiB page). The PWCs are probed from the deepest
 *   applicable level upward; the first (deepest) hit at level j ends the
 *   probe and the walk reads e[j+1..n-1]; with no hit it reads all n. The
 *   non-leaf entries read are then inserted in their PWCs. Shallower PWC
 *   levels above the hit are neither probed nor touched. Every entry read
 *   is charged by the [walk] memory model:
 *     fixed  the latency of its page-table level ([walk] pml4e/pdpte/pde/
 *            pte_latency), whatever was read before;
 *     cache  a set-associative data cache over the entries' physical
 *            addresses (the PTE cache): the entry's line (paddr >>
 *            log2(cache_line)) is looked up in set (line mod cache_sets);
 *            a hit costs cache_hit_latency, a miss cache_miss_latency and
 *            fills the line (replacing as cache_replacement says). Entries
 *            are read top first, so two entries of one walk in one line
 *            (never the case in a radix table, whose levels live in
 *            different pages) would hit on the second. The per-level
 *            latencies are not used. Only page-table reads go through this
 *            cache (ASSUMPTION: the trace's data accesses are not fed to it,
 *            so no data line competes with PTE lines; its hit rate is that
 *            of a cache reserved for the page walker, an upper bound for a
 *            shared L1D of the same size). Prefetch walks read through it
 *            too (they fill it), but only demand walks are counted in
 *            tlb_stats.pte_cache_hits / pte_cache_misses. tlb_flush and
 *            tlb_invalidate leave it alone (data caches are coherent and
 *            are not flushed by INVLPG or a CR3 write, SDM 4.10.4); tlb_reset
 *            empties it.
 *
 * Fill model
 *   fill = miss      the structure takes the translation when it missed it
 *                    and a deeper level or the walk supplied it (Intel STLB,
 *                    Virtuoso allocate_on_miss = true).
 *   fill = eviction  the structure takes only the entries evicted from the
 *                    structures of the level above that it can hold (Virtuoso
 *                    mmu_base's L2, allocate_on_miss = false, mmu.cc "Phase
 *                    4"). A hit there does not remove the entry (the L2 is
 *                    not exclusive); an evicted entry already present is
 *                    refreshed as if hit instead of being duplicated.
 *   Filling proceeds from level 1 down; at each level the victims coming from
 *   the level above are inserted before the demand fill (Virtuoso's order).
 *   Evictions from the last level are dropped.
 *
 * Banking
 *   When k > 1 structures of one level hold the same page size for the same
 *   path (Golden Cove's STLB: CPUID leaf 0x18 reports two 1024-entry 8-way
 *   arrays, one for 4K+2M and one for 4K+1G), a translation goes to exactly
 *   one of them: the low log2(k) bits of its VPN choose the structure and the
 *   next bits index the set. k must be a power of two. Such structures must
 *   share the same fill policy.
 *
 * Page-size knowledge
 *   The access carries its translation, so each structure is probed only for
 *   the page size the translation has (with [pagesize] predictor = none, the
 *   default: a structure holding several page sizes costs one lookup
 *   whatever the size, as if all sizes were probed at once). Entries of another size covering the
 *   same address exist only if the mapping changed without an invalidation;
 *   the runtime calls tlb_invalidate() whenever MimicOS unmaps, remaps,
 *   promotes or demotes, as the OS would issue INVLPG / a shootdown.
 *
 * Prefetching (see "TLB prefetchers" below): stride, H2, distance (DP), ASP,
 * SBFP and ATP feed one prefetch queue (PQ) probed alongside the last TLB
 * level.
 *
 * Page-size prediction ([pagesize] predictor = 4k | table)
 *   A set-associative structure holding several page sizes (ways < entries,
 *   e.g. an STLB for 4K and 2M pages) picks its set with VPN bits that
 *   depend on the page size, so hardware probes one size at a time. With a
 *   predictor each access gets one predicted size (4k: always 4 KiB; table:
 *   a table of `entries` 2-bit saturating counters, as Virtuoso's
 *   SuperpagePredictor, indexed by the 2 MiB region of the address
 *   (index = va) or by the PC (index = pc; 0 when unknown), counter >= 2
 *   predicts 2 MiB). Such a structure is probed for the predicted size first
 *   (if it holds it), then for its other sizes from the smallest: a hit
 *   costs latency x (1 + probes before the right size), a miss latency x
 *   (sizes held). The extra probes add to the TLB lookup cycles
 *   (tlb_stats.psp_extra_cycles) and to the access's cycles. Fully
 *   associative and single-size structures need no prediction. The table
 *   learns every access that probed such a structure: +1 for a 2 MiB or
 *   1 GiB translation, -1 for 4 KiB (psp_predictions, psp_mispredictions
 *   count those accesses and the wrong guesses). Off by default.
 *
 * Planned, not yet here (issue 5): prefetching straight into a TLB
 * structure instead of the PQ. The structures above are laid out so it
 * adds keys and functions without changing the ones below. Trace
 * formats (VMTR binary, Valgrind lackey import) are in tlbmodel/trace.h;
 * offline replay is `vmemu replay` (cli/replay.c).
 * ---------------------------------------------------------------------------
 *
 * Machine files (INI, configs/machines/<cpu>.ini). tlbmodel reads no files: the
 * runtime's INI reader (inih) hands every key of the sections tlbmodel owns
 * (see tlb_machine_owns_section) to tlb_machine_set(). `-s sect.key=value`
 * overrides map to the same call, the section being everything before the
 * last dot ("tlb.stlb.entries" -> section "tlb.stlb", key "entries").
 * Section and key names are case-insensitive; values are trimmed.
 *
 *   [mmu]            name = <text>           label for reports (default "")
 *                    seed = <u64>            seeds random replacement (default 1)
 *   [tlb.<NAME>]     one structure; NAME is [a-z0-9_], at most 31 characters,
 *                    and the structure exists from its first key on.
 *                    level       = 1..4                        (required)
 *                    page_sizes  = 4K,2M,1G (any non-empty subset, comma list)
 *                    access      = all | load | store          (default all)
 *                    entries     = 1..2^24                     (required)
 *                    ways        = N >= 1 | full               (required)
 *                    latency     = cycles                      (default 0)
 *                    replacement = lru | fifo | random | srrip (default lru)
 *                    fill        = miss | eviction             (default miss)
 *                    seed        = <u64> extra seed for random (default 0)
 *   [pwc]            entries = N, ways = N|full   all three levels at once
 *                    pml4e_entries, pml4e_ways, pdpte_entries, pdpte_ways,
 *                    pde_entries, pde_ways         one level; entries = 0
 *                                                  (the default) = no cache
 *                    latency     = cycles, charged once per walk (default 0)
 *                    replacement = lru | fifo | random | srrip (default lru)
 *                    tag         = va | pte   va: tagged by the virtual-address
 *                                  bits the entry translates (47:39, 47:30,
 *                                  47:21; SDM 4.10.3); pte: by the physical
 *                                  address of the cached entry, as Virtuoso's
 *                                  pwc.cc (default va)
 *   [walk]           memory  = fixed | cache  how an entry read is charged
 *                              (see "Timing model"; default fixed)
 *                    latency = cycles  every level at once
 *                    pml4e_latency, pdpte_latency, pde_latency, pte_latency
 *                              cycles per entry read at that level (default
 *                              0; memory = fixed only)
 *                    walkers = N >= 1  concurrent page walkers (default 1)
 *                    memory = cache only (checked only then); defaults are
 *                    the L1D and L2 of Virtuoso's meteor_lake_pcore.cfg
 *                    (48 KiB 12-way L1D, data_access_time 4; L2
 *                    data_access_time 12, so an L1D miss that hits the L2
 *                    costs 4 + 12 = 16, cumulative as Virtuoso's walks
 *                    are timed through its hierarchy):
 *                    cache_sets         = power of two (default 64)
 *                    cache_ways         = N >= 1 (default 12; cache_sets = 1
 *                                         makes it fully associative)
 *                    cache_line         = bytes, power of two 8..4096
 *                                         (default 64, the x86 line)
 *                    cache_hit_latency  = cycles (default 4)
 *                    cache_miss_latency = cycles (default 16)
 *                    cache_replacement  = lru | fifo | random | srrip
 *                                         (default lru, as meteor_lake_pcore)
 *   [pagesize]       predictor = none | 4k | table   (default none; see
 *                                "Page-size prediction")
 *                    entries   = power of two up to 65536 (default 64,
 *                                ASSUMPTION: a small table; Virtuoso's
 *                                SuperpagePredictor takes table_size)
 *                    index     = va | pc   (default va)
 *   [prefetch]       prefetchers = none | comma list of stride, h2, distance,
 *                                  asp, sbfp, atp, each at most once
 *                                  (default none)
 *                    entries     = PQ entries (default 512)    } Virtuoso
 *                    ways        = N | full    (default 4)     } mmu_base_prefetch.cfg
 *                    latency     = cycles      (default 6)     } [tlb_prefetch/pq1]
 *                    replacement = lru | fifo | random | srrip (default lru)
 *                    walk        = yes | no  charge prefetch walks (default
 *                                  yes: Virtuoso's model_prefetch_walks = true
 *                                  in mmu_distance.cfg)
 *   [prefetch.stride]   length = N >= 1 (default 2; mmu_base_prefetch.cfg
 *                                "stride_prefetcher/length=2")
 *   [prefetch.h2]       (no keys; Virtuoso's H2Prefetcher has none)
 *   [prefetch.distance] rows = N (default 256), ways = N|full (default 4),
 *                       slots = 1..16 (default 8)   (mmu_distance.cfg
 *                       dp_prefetcher: num_rows=256, assoc=4, num_slots=8)
 *   [prefetch.asp]      entries = power of two (default 256: table_size=8 is
 *                       log2 entries, tlb_prefetcher_factory.h),
 *                       threshold = N (default 3), lookahead = N (default 4),
 *                       degree = 1..16 (default 3), extra = yes|no (default
 *                       no)   (mmu_base_prefetch.cfg asp_prefetcher)
 *   [prefetch.sbfp]     Vavouliotis et al., ISCA 2021, as configured in
 *                       Virtuoso's mmu_configs/mmu_atp.cfg ("design points
 *                       match the paper's evaluated configuration"):
 *                       counter_bits = 1..16 FDT counter width (default 10,
 *                                      fdt_counter_bits),
 *                       threshold = N < 2^counter_bits - 1 (default 100,
 *                                   fdt_threshold),
 *                       sampler = 1..4096 entries (default 64, sampler_size),
 *                       prefetch_walks = yes|no  also offer the free PTEs
 *                                   of prefetch walks (default yes: Virtuoso
 *                                   AgileTLBPrefetcher runs SBFP "after
 *                                   every completed page walk (demand or
 *                                   prefetch)")
 *   [prefetch.atp]      fpq = 1..1024 entries per fake prefetch queue
 *                             (default 16, mmu_atp.cfg fpq_size),
 *                       enable_bits, select1_bits, select2_bits = 1..16
 *                             counter widths (default 8, 6, 2: mmu_atp.cfg
 *                             enable_pref_bits, select1_bits, select2_bits),
 *                       masp_entries = N, masp_ways = N, entries / ways a
 *                             power of two (default 64 and 4:
 *                             AgileTLBPrefetcher.h "64-entry 4-way
 *                             set-assoc PC table"; its mmu_atp.cfg sets
 *                             masp_entries = 1024)
 *
 * ---------------------------------------------------------------------------
 * TLB prefetchers
 *   Trigger. Prefetchers observe the TLB miss stream: they are trained and
 *   asked for candidates on every access that missed every TLB level of its
 *   path (a demand walk or a PQ hit), after the demand translation has been
 *   filled, as the distance prefetcher of Kandiraju & Sivasubramaniam
 *   ("Going the distance for TLB prefetching", ISCA 2002) and the TLB
 *   prefetchers of Vavouliotis et al. (ISCA 2021) do. A TLB hit never runs
 *   them, so the hit path costs nothing extra.
 *   Candidates are 4 KiB virtual page numbers (Virtuoso's prefetchers assume
 *   4 KiB pages: "VPN = address >> 12"); each is translated with the
 *   callback set by tlb_set_translator(). A candidate is
 *     failed     outside [0, 2^48), no translator set, or unmapped (the
 *                callback returned non-zero): nothing is inserted or charged;
 *     duplicate  its page (of the size the callback gave) is the demand
 *                page, is already in the PQ, or is in a TLB structure of the
 *                access's path (probed without changing replacement state);
 *     issued     otherwise: the translation is inserted in the PQ (LRU etc.
 *                as configured), tagged with the prefetcher that issued it.
 *   Walk cost. With [prefetch] walk = yes an issued prefetch is walked like a
 *   demand walk (PWC probes and fills included, so it warms the PWCs), but
 *   its cycles and entry reads go to prefetch_walk_cycles /
 *   prefetch_pte_reads, never to the demand cycles, and the PWC hit/lookup
 *   and PTE-cache counters stay those of demand walks (sbfp's free PTEs need
 *   no walk at all). Prefetch walks do not occupy a page
 *   walker (ASSUMPTION: the model has no background time). With walk = no a
 *   prefetch is free (Virtuoso's model_prefetch_walks = false).
 *   PQ. Probed in parallel with the last TLB level of the path (Virtuoso's
 *   mmu_base_prefetch.cfg has "tlb_prefetch/level = 2", its last level); a
 *   PQ hit costs max(path lookup cycles, cycles of the levels before the
 *   last + PQ latency), removes the entry, fills the TLB levels as a walk
 *   would and counts "useful" for the prefetcher that issued it. A miss
 *   costs nothing extra (ASSUMPTION). An entry evicted from the PQ, or
 *   dropped by tlb_invalidate / tlb_flush, before it was used counts
 *   "useless". Entries still in the PQ at the end are neither. "Late"
 *   prefetches do not exist in this untimed model (a prefetch completes
 *   before the next access).
 *   Prefetchers (source; behaviour):
 *     stride    Virtuoso stride_prefetcher.cc: on each trigger, pages
 *               VPN-length .. VPN+length except VPN (neighbour prefetch).
 *     h2        Virtuoso H2Prefetcher.cc: with the last three miss VPNs
 *               A, B, C: C + (C - B) and C + (B - A) (needs three misses).
 *     distance  Kandiraju & Sivasubramaniam 2002 / Virtuoso
 *               DistanceTLBPrefetcher.cc: distance d = VPN - previous miss
 *               VPN; the row tagged d (set = (low 32 ^ high 32 bits of d)
 *               mod sets, LRU rows) predicts VPN + s for each successor s in
 *               its slots, most recent first; then d is recorded as the
 *               successor of the previous distance (LRU slots); a missing
 *               row is allocated on lookup.
 *     asp       Virtuoso arbitrary_stride_prefetcher.cc (Chen & Baer's
 *               PC-indexed stride table): entry pc mod entries; a new pc
 *               resets it; a stride of 0 only refreshes the last VPN; the
 *               first stride sets counter 1, the same stride increments,
 *               another resets to 0; counter > threshold prefetches VPN +
 *               (lookahead + i) * stride, i < degree, plus VPN - stride
 *               with extra = yes. Needs PCs (tlb_access_pc); a trigger
 *               without a PC (pc 0) is counted in no_pc and ignored.
 *     sbfp      Sampling-Based Free TLB Prefetching (Vavouliotis, Alvarez,
 *               Karakostas, Nikas, Koziris, Jimenez, Casas, "Exploiting Page
 *               Table Locality for Agile TLB Prefetching", ISCA 2021; the
 *               flow of Virtuoso's AgileTLBPrefetcher.cc). A walk that reads
 *               the PTE of a 4 KiB page brings its 64-byte line, which holds
 *               8 PTEs: the others, at free distance d (-7..+7, d != 0,
 *               within the line) from the demand PTE, are "free". After
 *               every demand walk, and every prefetch walk of another
 *               prefetcher (prefetch_walks = yes), each free PTE is a
 *               candidate: VPN + d is translated with the callback and is
 *               failed unless it is mapped as a 4 KiB page whose PTE lies in
 *               the same line. The Free Distance Table (FDT) holds one
 *               saturating counter per d. A candidate whose counter exceeds
 *               threshold goes to the PQ as above (issued or duplicate) with
 *               no walk and no cycles (the line is already read); otherwise
 *               it is put in the Sampler (FIFO, no duplicate check; counted
 *               in sampled), so for sbfp candidates = issued + duplicate +
 *               failed + sampled. Training: a demand walk whose page is in
 *               the Sampler (sampler_hits) removes the entry and increments
 *               the counter of its d; a PQ hit on an entry sbfp issued
 *               increments the counter of the entry's d. When a counter
 *               reaches 2^counter_bits - 1 every counter is halved
 *               (fdt_decays). triggers counts the walks whose line it
 *               examined; a PQ hit triggers nothing else. sbfp acts first on
 *               a trigger, before the other prefetchers.
 *     atp       Agile TLB Prefetcher (same paper and Virtuoso file). Three
 *               child prefetchers: P0 = H2P (as h2), P1 = MASP (a PC-indexed
 *               table, masp_entries entries in sets of masp_ways, round-robin
 *               replacement after invalid ways; an entry remembers the last
 *               miss VPN E and stride S: on a miss to A with the same PC it
 *               predicts A + S (S != 0) and A + (A - E) (when non-zero and
 *               different), then sets S = A - E, E = A; a new PC allocates
 *               with no prediction; a trigger without a PC (pc 0) gives no
 *               MASP prediction and counts in no_pc), P2 = STP (A - 2, A - 1,
 *               A + 1, A + 2). Each child has a fake prefetch queue (FPQ,
 *               FIFO of fpq VPNs). On a trigger ATP (1) probes the three
 *               FPQs for the VPN (h0, h1, h2: would the child have caught
 *               this miss); (2) updates three saturating counters by the
 *               paper's Figure 7 truth table: enable_pref -1 when no FPQ
 *               hit, +1 otherwise; select_1 +1 when only P0 hit, -1 when P0
 *               missed and P1 or P2 hit; select_2 +1 when P2 hit and P1
 *               missed, -1 when P1 hit and P2 missed; (3) chooses: prefetching
 *               off (disabled) while enable_pref's top bit is 0, else P0 when
 *               select_1's top bit is 1, else P2 when select_2's top bit is
 *               1, else P1 (chose[]); (4) issues the chosen child's
 *               predictions as candidates; (5) puts every child's predictions
 *               that are mapped (and, with sbfp also configured, the free
 *               PTEs of their lines that sbfp would admit) in that child's
 *               FPQ (an entry already there is not added twice); (6) updates
 *               MASP. Counters start at 0 (Virtuoso), so ATP stays off until
 *               2^(enable_bits - 1) more FPQ hits than misses.
 *               Deviation from Virtuoso, which runs ATP only on PQ misses:
 *               ATP triggers as every prefetcher here (demand walks and PQ
 *               hits).
 * ---------------------------------------------------------------------------
 */
#ifndef TLBMODEL_TLBMODEL_H
#define TLBMODEL_TLBMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLB_MAX_STRUCTS 16u  /* TLB structures per machine */
#define TLB_MAX_LEVELS 4u    /* TLB levels (L1 .. L4) */
#define TLB_MAX_BANKS 8u     /* structures sharing one page size at one level */
#define TLB_MAX_WALKERS 64u  /* page walkers */
#define TLB_PT_LEVELS 4u     /* x86-64 4-level paging: PML4, PDPT, PD, PT */
#define TLB_PWC_LEVELS 3u    /* PML4E, PDPTE, PDE caches */
#define TLB_NAME_MAX 32u     /* structure name buffer, including the NUL */
#define TLB_NONE 0xffu       /* "no structure" in struct tlb_result */
#define TLB_MAX_PREFETCHERS 6u /* prefetchers sharing the prefetch queue (each kind once) */
#define TLB_SBFP_DISTANCES 14u /* free distances -7..-1, +1..+7 */
#define TLB_PF_MAX_DEGREE 16u  /* distance slots, asp degree */

/* Page sizes, as a bit mask (struct tlb_struct_desc.page_sizes). */
enum {
	TLB_PS_4K = 1u << 0,
	TLB_PS_2M = 1u << 1,
	TLB_PS_1G = 1u << 2,
};

/* Which accesses a structure serves (struct tlb_struct_desc.access). */
enum {
	TLB_ACC_LOAD = 1u << 0,
	TLB_ACC_STORE = 1u << 1,
	TLB_ACC_ALL = TLB_ACC_LOAD | TLB_ACC_STORE,
};

/*
 * Replacement policies. A set with an invalid way never evicts (srrip and
 * random take the lowest invalid way; for lru and fifo which one is
 * irrelevant).
 *   lru     evict the least recently used (hits and fills update recency)
 *   fifo    evict the oldest fill (hits do not update)
 *   random  evict a uniformly chosen way (seeded xorshift RNG per structure)
 *   srrip   2-bit RRIP, hit priority (Jaleel et al., ISCA 2010): insert with
 *           RRPV 2, hit sets 0, evict the lowest way with RRPV 3 after ageing
 *           all ways until one reaches 3.
 */
enum tlb_repl { TLB_REPL_LRU = 0, TLB_REPL_FIFO, TLB_REPL_RANDOM, TLB_REPL_SRRIP };

/* Fill policies; see "Fill model" above. */
enum tlb_fill { TLB_FILL_MISS = 0, TLB_FILL_EVICTION };

/* PWC tagging; see [pwc] tag above. */
enum tlb_pwc_tag { TLB_PWC_TAG_VA = 0, TLB_PWC_TAG_PTE };

/* Memory model charged per page-table entry read by a walk ([walk] memory). */
enum tlb_walk_mem { TLB_WALK_FIXED = 0, TLB_WALK_CACHE };

/* [walk] cache_*: the PTE cache of memory = cache (see "Timing model"). */
struct tlb_walk_cache_desc {
	uint32_t sets;             /* power of two */
	uint32_t ways;             /* >= 1; sets * ways <= 2^24 */
	uint32_t line_bytes;       /* power of two, 8..4096 */
	uint32_t hit_latency;      /* cycles per entry found in the cache */
	uint32_t miss_latency;     /* cycles per entry not found (the line is filled) */
	enum tlb_repl repl;
};

/* [pagesize] predictor: see "Page-size prediction" above. */
enum tlb_psp_kind { TLB_PSP_NONE = 0, TLB_PSP_4K, TLB_PSP_TABLE };

struct tlb_psp_desc {
	enum tlb_psp_kind kind;
	uint32_t entries;           /* table: 2-bit counters, power of two */
	bool index_pc;              /* table: indexed by the PC, else by the 2 MiB region */
};

/* TLB prefetchers ([prefetch] prefetchers = ...). */
enum tlb_pf_kind {
	TLB_PF_STRIDE = 0,
	TLB_PF_H2,
	TLB_PF_DISTANCE,
	TLB_PF_ASP,
	TLB_PF_SBFP,
	TLB_PF_ATP,
	TLB_PF_NKINDS
};

/* [prefetch] and [prefetch.NAME]: see "TLB prefetchers" above. */
struct tlb_prefetch_desc {
	uint32_t n;                              /* prefetchers configured; 0 = none */
	uint8_t kind[TLB_MAX_PREFETCHERS];       /* enum tlb_pf_kind, in list order */
	uint32_t pq_entries;                     /* [prefetch] entries */
	uint32_t pq_ways;                        /* [prefetch] ways (TLB_WAYS_FULL = full) */
	uint32_t pq_latency;                     /* [prefetch] latency */
	enum tlb_repl pq_repl;                   /* [prefetch] replacement */
	bool walk;                               /* [prefetch] walk */
	uint32_t stride_length;                  /* [prefetch.stride] length */
	uint32_t dp_rows, dp_ways, dp_slots;     /* [prefetch.distance] */
	uint32_t asp_entries, asp_threshold;     /* [prefetch.asp] */
	uint32_t asp_lookahead, asp_degree;
	bool asp_extra;
	uint32_t sbfp_counter_bits;              /* [prefetch.sbfp] counter_bits */
	uint32_t sbfp_threshold;                 /* threshold */
	uint32_t sbfp_sampler;                   /* sampler entries */
	bool sbfp_prefetch_walks;                /* prefetch_walks */
	uint32_t atp_fpq;                        /* [prefetch.atp] fpq entries */
	uint32_t atp_enable_bits, atp_select1_bits, atp_select2_bits;
	uint32_t atp_masp_entries, atp_masp_ways;
};

/* "ways = full": fully associative, resolved to ways = entries. */
#define TLB_WAYS_FULL 0u
/* A field a machine file has not set yet (tlb_machine_validate rejects it). */
#define TLB_UNSET 0xffffffffu

/* One TLB structure. */
struct tlb_struct_desc {
	char name[TLB_NAME_MAX];   /* from the section name [tlb.NAME] */
	uint32_t level;            /* 1..TLB_MAX_LEVELS; 0 = not set (invalid) */
	uint32_t page_sizes;       /* TLB_PS_* mask, non-zero */
	uint32_t access;           /* TLB_ACC_* mask, non-zero */
	uint32_t entries;          /* 1..2^24 */
	uint32_t ways;             /* 1..entries, TLB_WAYS_FULL, TLB_UNSET = not set */
	uint32_t latency;          /* cycles of a lookup */
	enum tlb_repl repl;
	enum tlb_fill fill;
	uint64_t seed;             /* mixed into the machine seed for random */
};

/* One page-walk-cache level (0 = PML4E, 1 = PDPTE, 2 = PDE). */
struct tlb_pwc_desc {
	uint32_t entries;          /* 0 = this level has no PWC */
	uint32_t ways;             /* 1..entries, TLB_WAYS_FULL, TLB_UNSET = not set */
};

/*
 * A machine description: what configs/machines/<cpu>.ini says. Plain data;
 * fill it with tlb_machine_init() + tlb_machine_set(), or directly.
 */
struct tlb_machine {
	char name[64];                               /* [mmu] name */
	uint64_t seed;                               /* [mmu] seed */
	uint32_t nstructs;                           /* structures used in s[] */
	struct tlb_struct_desc s[TLB_MAX_STRUCTS];   /* in order of first mention */
	struct tlb_pwc_desc pwc[TLB_PWC_LEVELS];     /* [pwc] */
	uint32_t pwc_latency;                        /* [pwc] latency, cycles per walk */
	enum tlb_repl pwc_repl;                      /* [pwc] replacement */
	enum tlb_pwc_tag pwc_tag;                    /* [pwc] tag */
	enum tlb_walk_mem walk_mem;                  /* [walk] memory */
	struct tlb_walk_cache_desc walk_cache;       /* [walk] cache_* (memory = cache) */
	uint32_t walk_latency[TLB_PT_LEVELS];        /* [walk] cycles per entry: PML4E, PDPTE, PDE, PTE */
	uint32_t walkers;                            /* [walk] walkers */
	struct tlb_prefetch_desc pf;                 /* [prefetch], [prefetch.NAME] */
	struct tlb_psp_desc psp;                     /* [pagesize] */
};

/*
 * Reset m to the empty machine: no structures, no PWC, walk memory fixed
 * with latencies 0 (the [walk] cache_* defaults listed above in place for
 * memory = cache), one walker, seed 1, PWC replacement lru and tagging by
 * va, no prefetcher (with the [prefetch*] defaults listed above in place
 * for when one is named).
 */
void tlb_machine_init(struct tlb_machine *m);

/*
 * True when section (e.g. "tlb.l1d_4k", "pwc", "walk", "mmu") is one whose
 * keys belong to tlbmodel, so an INI loader knows to call tlb_machine_set().
 * The runtime's own [machine] section (file = ...) is not tlbmodel's.
 */
bool tlb_machine_owns_section(const char *section);

/*
 * Apply one key of a machine file: section, key and value as an INI reader
 * delivers them (comments stripped). Pure: no I/O. Later calls override
 * earlier ones. Returns 0, or -1 with a NUL-terminated message in err
 * (errlen bytes, may be 0) naming "section.key" and the bad value: unknown
 * section or key, malformed number, 0 entries, ways 0, level outside 1..4,
 * unknown page size, access, replacement, fill, tag or memory name, a
 * seventeenth structure. Cross-key checks (divisibility, power-of-two sets)
 * are left to tlb_machine_validate() because keys come in any order.
 */
int tlb_machine_set(struct tlb_machine *m, const char *section, const char *key,
		    const char *value, char *err, size_t errlen);

/*
 * Check a complete description. Returns 0, or -1 with a message naming the
 * key ("tlb.stlb.ways: ...") for: no structure; a duplicate or malformed
 * name; a structure without level, page_sizes, access or ways; 0 entries or
 * more than 2^24; ways above entries; entries not divisible by ways;
 * entries/ways (sets) not a power of two; fill = eviction at the first level
 * of a path (nothing above feeds it); a number of structures sharing a page
 * size at one level of one path that is not a power of two or above
 * TLB_MAX_BANKS, or that mix fill policies; for each PWC level with entries,
 * the same geometry checks; walkers outside 1..TLB_MAX_WALKERS; a latency
 * above 2^20 cycles; an enum value out of range; with memory = cache,
 * cache_sets not a power of two, cache_ways 0 or cache_sets * cache_ways
 * above 2^24, cache_line not a power of two in 8..4096, a cache latency
 * above 2^20 cycles.
 */
int tlb_machine_validate(const struct tlb_machine *m, char *err, size_t errlen);

/* Name of a replacement policy ("lru", ...), fill policy ("miss", "eviction"). */
const char *tlb_repl_name(enum tlb_repl r);
const char *tlb_fill_name(enum tlb_fill f);

/* Name of a prefetcher kind as the machine file spells it ("stride", ...). */
const char *tlb_pf_name(enum tlb_pf_kind k);

/*
 * Allocator for the model's memory, as in mimicos: zalloc returns zeroed
 * memory or NULL; free receives the size that was allocated. tlbmodel makes
 * exactly one zalloc (tlb_footprint() bytes) in tlb_create and one free in
 * tlb_destroy.
 */
struct tlb_allocator {
	void *(*zalloc)(void *ctx, size_t bytes);
	void (*free)(void *ctx, void *p, size_t bytes);
	void *ctx;
};

/*
 * The translation of the accessed address, as MimicOS gives it
 * (mos_translate + mos_walk_path).
 */
struct tlb_translation {
	uint64_t pte_paddr[TLB_PT_LEVELS]; /* physical byte addresses of the entries
					      the walk reads, top (PML4E) first */
	uint8_t page_shift;                /* 12, 21 or 30 (others: >= 30 -> 1 GiB,
					      >= 21 -> 2 MiB, else 4 KiB) */
	uint8_t levels;                    /* valid entries in pte_paddr: 4 for 4 KiB,
					      3 for 2 MiB, 2 for 1 GiB; clamped to 1..4 */
};

/* Walk length of a page size under 4-level paging: 4, 3 or 2. */
static inline uint8_t tlb_levels_for_shift(unsigned page_shift)
{
	return page_shift >= 30 ? 2 : page_shift >= 21 ? 3 : 4;
}

/* What one access cost. */
struct tlb_result {
	uint32_t cycles;       /* all translation cycles charged to the access */
	uint32_t walk_cycles;  /* of which the walk: PWC + queueing + PTE reads */
	uint8_t level;         /* level (1..) of the structure that hit; 0 = walked */
	uint8_t structure;     /* index in machine.s[] that hit; TLB_NONE = walked */
	uint8_t pte_reads;     /* page-table entries read from memory (0 on a hit) */
	uint8_t pte_cache_hits; /* of which found in the PTE cache (memory = cache) */
	int8_t pwc_hit;        /* deepest PWC level hit (0 PML4E .. 2 PDE); -1 none */
	bool pq_hit;           /* missed every level, served by the prefetch queue */
};

/* Counters of one prefetcher (see "TLB prefetchers" above). */
struct tlb_prefetch_stats {
	uint64_t triggers;     /* misses it observed */
	uint64_t candidates;   /* pages it predicted: issued + duplicate + failed (+ sampled) */
	uint64_t issued;       /* inserted in the PQ */
	uint64_t useful;       /* PQ entries it issued that a demand access hit */
	uint64_t useless;      /* PQ entries it issued evicted or invalidated unused */
	uint64_t duplicate;    /* candidates already in a TLB, the PQ, or the demand page */
	uint64_t failed;       /* candidates unmapped, out of range or untranslatable */
	uint64_t no_pc;        /* asp: triggers without a PC (ignored); atp: with no MASP prediction */
	uint64_t sampled;      /* sbfp: free PTEs put in the Sampler */
	uint64_t sampler_hits; /* sbfp: demand walks whose page was in the Sampler */
	uint64_t fdt_decays;   /* sbfp: times every FDT counter was halved */
	uint32_t fdt[TLB_SBFP_DISTANCES]; /* sbfp: FDT counters now, d = -7..-1, +1..+7 */
	uint64_t disabled;     /* atp: triggers with prefetching off */
	uint64_t chose[3];     /* atp: triggers that chose P0 H2P, P1 MASP, P2 STP */
	uint32_t atp_counters[3]; /* atp: enable_pref, select_1, select_2 now */
};

/* Counters of one structure (a structure's misses are its probes that missed). */
struct tlb_struct_stats {
	uint64_t accesses;     /* probes (the access reached its level) */
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;    /* valid entries displaced by any fill */
	uint64_t fills;        /* demand fills (fill = miss) */
	uint64_t victim_fills; /* entries taken from the level above (fill = eviction),
				  including refreshes of entries already present */
	double mpma;           /* misses per million accesses of the whole model */
};

/* Snapshot of all counters (tlb_get_stats). */
struct tlb_stats {
	uint64_t accesses;                       /* tlb_access/tlb_access_at calls */
	uint64_t loads, stores;
	uint64_t hits_by_level[TLB_MAX_LEVELS];  /* [L-1]: accesses that hit at level L */
	uint64_t walks;                          /* accesses that missed every level */
	uint64_t walks_by_size[3];               /* 4 KiB, 2 MiB, 1 GiB */
	uint64_t pte_reads;                      /* entries read by walks */
	uint64_t pte_cache_hits;                 /* of which hit the PTE cache (memory = cache) */
	uint64_t pte_cache_misses;               /* of which missed it */
	uint64_t pwc_lookups[TLB_PWC_LEVELS];    /* probes per PWC level */
	uint64_t pwc_hits[TLB_PWC_LEVELS];       /* walks whose deepest hit was this level */
	uint64_t tlb_cycles;                     /* lookup cycles (hits and misses) */
	uint64_t walk_cycles;                    /* walk cycles incl. PWC and queueing */
	uint64_t queue_cycles;                   /* waiting for a free walker (timed only) */
	uint64_t translation_cycles;             /* tlb_cycles + walk_cycles */
	uint64_t invalidations;                  /* TLB entries dropped by tlb_invalidate */
	double walks_pmpa;                       /* walks per million accesses (MPMA) */
	double cycles_per_access;                /* translation_cycles / accesses */
	uint32_t nstructs;
	struct tlb_struct_stats s[TLB_MAX_STRUCTS]; /* same order as machine.s[] */
	/* prefetching (all 0 without [prefetch] prefetchers) */
	uint64_t psp_predictions;                /* accesses that probed a multi-size structure */
	uint64_t psp_mispredictions;             /* of which predicted the wrong size */
	uint64_t psp_extra_cycles;               /* their extra probes (in tlb_cycles) */
	uint64_t pq_hits;                        /* accesses served by the PQ */
	uint64_t prefetch_walks;                 /* walks made for issued prefetches */
	uint64_t prefetch_pte_reads;             /* entries they read */
	uint64_t prefetch_walk_cycles;           /* their cycles; not in translation_cycles */
	uint32_t nprefetchers;                   /* = machine.pf.n */
	struct tlb_prefetch_stats pf[TLB_MAX_PREFETCHERS]; /* same order as machine.pf.kind[] */
};

struct tlb;

/*
 * Bytes tlb_create() will allocate for machine m (which must validate), so a
 * caller with a fixed arena can reserve them. 0 if m does not validate.
 */
size_t tlb_footprint(const struct tlb_machine *m);

/*
 * Create the model of machine m (copied; m may be freed afterwards): all
 * structures and PWCs empty, walkers idle, counters zero. Returns NULL with a
 * message in err when m does not validate (tlb_machine_validate's message),
 * alloc is NULL or incomplete, or alloc->zalloc fails.
 */
struct tlb *tlb_create(const struct tlb_machine *m, const struct tlb_allocator *alloc,
		       char *err, size_t errlen);

/* Release the model's memory through its allocator (NULL is accepted). */
void tlb_destroy(struct tlb *t);

/* The machine description the model was created from. */
const struct tlb_machine *tlb_machine_of(const struct tlb *t);

/*
 * Last-level TLB geometry for 4 KiB pages, as the model routes them: for an
 * emulated TLB outside the model that must conflict where the model's does
 * (the runtime's tlbtrap sampler). On the load (is_write false) or store
 * path, the "last level" is the deepest level having a structure that holds
 * 4 KiB pages for that path; its structures are the banks of "Banking"
 * above. Each set of each bank has a global set id: bank b's sets (in
 * machine order) are numbered after those of banks 0..b-1, so the ids are
 * 0..sets-1 and two 4 KiB pages compete for the same entries exactly when
 * they have the same id.
 */
struct tlb_llt_geometry {
	uint32_t level;    /* its configured level number, 1..TLB_MAX_LEVELS; 0 = none */
	uint32_t banks;    /* structures holding 4 KiB pages there: 1, 2, 4 or 8 */
	uint32_t sets;     /* sets over all banks (global set ids 0..sets-1) */
	uint32_t ways;     /* ways of the widest set; of every set when uniform */
	uint32_t entries;  /* entries over all banks, 4 KiB or not (= sum of each set's ways) */
	bool uniform;      /* every bank has the same sets and ways (entries = sets * ways) */
	bool shared;       /* the other path's last level is the same structures
			      (so the same set ids and ways); false when it has none */
};

/* No last level on the path (tlb_llt_set). */
#define TLB_LLT_NONE 0xffffffffu

/*
 * Fill *out with the geometry above for the load (is_write false) or store
 * path of t. Returns 0, or -1 when no structure on that path holds 4 KiB
 * pages (*out is then all zero). Reads only what tlb_create fixed: no
 * counter or entry changes.
 */
int tlb_llt_geometry(const struct tlb *t, bool is_write, struct tlb_llt_geometry *out);

/*
 * Global set id (0..sets-1 of tlb_llt_geometry) of the 4 KiB page holding
 * vaddr on the load or store path, chosen by the same bank and set-index
 * code as tlb_access; when ways is not NULL, *ways gets that set's ways.
 * TLB_LLT_NONE (and *ways = 0) when the path has no such level. O(1), no
 * side effects (the model's contents do not matter).
 */
uint32_t tlb_llt_set(const struct tlb *t, uint64_t vaddr, bool is_write, uint32_t *ways);

/*
 * Translate one access: vaddr (a program virtual address, below 2^62 as
 * every user-space address is), a load or a store
 * (is_write), and its translation tr (must not be NULL). Looks the levels up,
 * walks on a miss, fills and replaces as described above, updates the
 * counters, and returns the cycles charged; when res is not NULL it also
 * says where the access hit. Untimed: each access is taken to arrive after
 * the previous one finished, so walks never wait for a walker. No allocation,
 * no division. Cost: a repeated first-level hit replays the previous lookup
 * (exact while no structure changed); otherwise one 64-bit fingerprint probe
 * per structure of up to 8 ways, a hash probe above 8 ways, and O(1) lru /
 * fifo victims (srrip / random search the set's ways).
 */
uint32_t tlb_access(struct tlb *t, uint64_t vaddr, bool is_write,
		    const struct tlb_translation *tr, struct tlb_result *res);

/*
 * As tlb_access for an access issued at cycle `now` (non-decreasing across
 * calls gives meaningful results): a walk starts after the lookups
 * (now + lookup cycles) on the walker that frees first; if every walker is
 * still busy it waits, and the wait is charged (struct tlb_stats.queue_cycles)
 * as Virtuoso's MSHR-modelled walkers (mmu.cc, getSlotAllocationDelay).
 */
uint32_t tlb_access_at(struct tlb *t, uint64_t now, uint64_t vaddr, bool is_write,
		       const struct tlb_translation *tr, struct tlb_result *res);

/*
 * Translation callback for prefetches: fill *out with the translation of
 * vaddr (as MimicOS's mos_translate + mos_walk_path give it) and return 0,
 * or return non-zero when vaddr is unmapped (no prefetch is made then). It
 * must be pure with respect to the model: no call back into t, and it must
 * not map anything (a prefetch never faults a page in).
 */
typedef int (*tlb_translate_fn)(void *ctx, uint64_t vaddr, struct tlb_translation *out);

/*
 * Set (or clear with fn = NULL) the translation callback prefetches use.
 * Without one every prefetch candidate counts as failed. Kept across
 * tlb_reset.
 */
void tlb_set_translator(struct tlb *t, tlb_translate_fn fn, void *ctx);

/*
 * As tlb_access, with the PC of the instruction that made the access
 * (0 = unknown). Only the asp prefetcher uses it (Virtuoso's
 * arbitrary_stride_prefetcher.cc indexes its table by "eip").
 */
uint32_t tlb_access_pc(struct tlb *t, uint64_t vaddr, uint64_t pc, bool is_write,
		       const struct tlb_translation *tr, struct tlb_result *res);

/*
 * The emulated OS changed the mappings of [start, start+len): drop every TLB
 * and prefetch-queue entry whose page overlaps the range (any page size) and flush all PWCs,
 * as INVLPG does (SDM 4.10.4.1: it invalidates all paging-structure-cache
 * entries regardless of address). Cost O(total entries). Counters stay;
 * dropped entries are counted in tlb_stats.invalidations.
 */
void tlb_invalidate(struct tlb *t, uint64_t start, uint64_t len);

/* Drop every TLB, PWC and prefetch-queue entry (a CR3 write without PCID);
 * PQ entries dropped unused count as useless. Other counters stay. */
void tlb_flush(struct tlb *t);

/*
 * Back to the state tlb_create() returned: empty structures, replacement
 * state and RNGs re-seeded, walkers idle, counters zero.
 */
void tlb_reset(struct tlb *t);

/* Zero the counters only (e.g. after a warm-up); the TLB contents stay. */
void tlb_reset_stats(struct tlb *t);

/* Snapshot every counter into out, with the derived ratios computed. */
void tlb_get_stats(const struct tlb *t, struct tlb_stats *out);

#endif
