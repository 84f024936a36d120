/*
 * MimicOS: the emulated OS memory manager of vmemu.
 *
 * Pure and deterministic: no syscalls, no threads, no global state. Every
 * function operates on one `struct mos` instance; callers serialise access
 * (the runtime holds one lock around each call). Memory for MimicOS' own
 * bookkeeping comes from the allocator given to mos_create(), never from
 * malloc, so the live runtime can keep it outside the emulated heap.
 *
 * Terms: a *frame* is one 4 KiB emulated physical page named by its PFN
 * (page frame number, 0 .. frames_total-1). A *VMA* is a virtual range the
 * emulated OS manages. Virtual addresses are the program's real addresses.
 */
#ifndef MIMICOS_MIMICOS_H
#define MIMICOS_MIMICOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOS_PAGE_SHIFT 12u
#define MOS_PAGE_SIZE (1ull << MOS_PAGE_SHIFT)
#define MOS_HPAGE_SHIFT 21u /* 2 MiB */
#define MOS_GPAGE_SHIFT 30u /* 1 GiB */
/* Largest buddy order: blocks of 2^MOS_MAX_ORDER frames (4 MiB), as Linux. */
#define MOS_MAX_ORDER 10u
#define MOS_NR_ORDERS (MOS_MAX_ORDER + 1u)
/* Levels of the x86-64 radix page table: PML4, PDPT, PD, PT. */
#define MOS_PT_LEVELS 4u
/* Most emulated NUMA nodes (mos_config.numa_nodes). */
#define MOS_MAX_NODES 8u
/* NUMA node size granule, bytes: one block of MOS_MAX_ORDER (4 MiB). */
#define MOS_NODE_ALIGN (1ull << (MOS_PAGE_SHIFT + MOS_MAX_ORDER))
/* SLIT distance of a node to itself (ACPI 6.5 section 5.2.17; Linux LOCAL_DISTANCE). */
#define MOS_NUMA_LOCAL_DISTANCE 10u
/* Default distance between two different nodes (Linux REMOTE_DISTANCE). */
#define MOS_NUMA_REMOTE_DISTANCE 20u

/* Result codes. Every function that can fail returns one of these. */
enum mos_status {
	MOS_OK = 0,
	MOS_EINVAL,  /* bad argument (unaligned, zero length, overlap, ...) */
	MOS_ENOVMA,  /* address not inside any VMA MimicOS manages */
	MOS_ENOMEM,  /* emulated OOM: no frame left for data or page tables */
	MOS_EEXIST,  /* range already managed / already mapped */
	MOS_ENOENT,  /* nothing mapped there */
	MOS_EHOST,   /* the host allocator refused bookkeeping memory */
};

/* Human-readable name of a status ("ok", "emulated OOM", ...). */
const char *mos_status_str(enum mos_status st);

/*
 * Allocator for MimicOS' own bookkeeping (frame metadata, host copies of
 * page-table pages, VMA arrays). zalloc returns zeroed memory or NULL;
 * free receives the size that was allocated.
 */
struct mos_allocator {
	void *(*zalloc)(void *ctx, size_t bytes);
	void (*free)(void *ctx, void *p, size_t bytes);
	void *ctx;
};

/*
 * Transparent huge page mode of the "thp" policy, as Linux's
 * /sys/kernel/mm/transparent_hugepage/enabled (Documentation/admin-guide/mm/
 * transhuge.rst): never, always, or madvise (only in VMAs advised with
 * MADV_HUGEPAGE). A VMA advised MADV_NOHUGEPAGE never gets a huge page.
 */
enum mos_thp_mode {
	MOS_THP_NEVER = 0,
	MOS_THP_ALWAYS = 1,
	MOS_THP_MADVISE = 2,
};

/*
 * NUMA placement policy of every frame MimicOS allocates (data pages, 2 MiB
 * blocks, reservations, eager blocks and page-table pages), after Linux's
 * memory policies (Documentation/admin-guide/mm/numa_memory_policy.rst,
 * mm/mempolicy.c). "The CPU's node" is the node set with mos_set_cpu_node()
 * (default 0). Each policy yields a target node and a fallback list; the
 * fallback list orders nodes by SLIT distance from its first node (ties: the
 * lower node number), as Linux's per-node zonelists (build_zonelists).
 * mos_config.numa_node_mask is "the mask" below (bit n = node n).
 *
 * - MOS_NUMA_LOCAL (Linux MPOL_LOCAL, also the default policy): target = the
 *   CPU's node; fall back to all nodes by distance from it. The mask is
 *   ignored.
 * - MOS_NUMA_BIND (MPOL_BIND): only nodes of the mask (0 = all nodes), the
 *   one nearest the CPU's node first, then the others of the mask by distance
 *   from the CPU's node. When they are all full the allocation fails with
 *   MOS_ENOMEM even if other nodes have memory (Linux then OOMs the task).
 * - MOS_NUMA_INTERLEAVE (MPOL_INTERLEAVE, applied as a VMA policy as mbind()
 *   does): a block of 2^order frames backing virtual address va goes to the
 *   i-th node of the mask (0 = all nodes), i = (va >> (12 + order)) modulo
 *   the number of nodes in the mask: 4 KiB pages interleave page by page,
 *   2 MiB pages and reservations 2 MiB region by 2 MiB region, eager blocks
 *   block by block (Linux interleave_nid() with the index from
 *   get_vma_policy(): anonymous VMAs have vm_pgoff = vm_start >> PAGE_SHIFT,
 *   so the index is va >> (PAGE_SHIFT + order)). Page-table pages have no
 *   such address: they take the mask's nodes in turn from a per-machine
 *   round-robin cursor (Linux interleave_nodes() with the task's il_next,
 *   used by alloc_pages() for page tables). A full target node falls back to
 *   all nodes by distance from it (Linux allocates interleaved pages with no
 *   nodemask, so any node serves).
 * - MOS_NUMA_PREFERRED (MPOL_PREFERRED; MPOL_PREFERRED_MANY when the mask has
 *   several nodes): one node in the mask: target = it, fall back to all nodes
 *   by distance from it. Several: the mask's nodes by distance from the CPU's
 *   node, then the other nodes by distance from the CPU's node. Mask 0:
 *   local allocation (Linux: MPOL_PREFERRED with an empty nodemask).
 *
 * Spill threshold (mos_config.numa_spill_threshold, Virtuoso's NUMA
 * ReserveTHP "utilization-based spill", NumaPlacementEngine's
 * utilization_threshold): under every policy, a node of the fallback list
 * is passed over while its utilisation after the allocation would exceed
 * the threshold, i.e. when used + 2^order > threshold * node frames (used =
 * node frames - free frames of the node: data, page tables, reservations,
 * pins), and the next node in the list takes the block. Only when every
 * node of the list is over the threshold (or lacks a free block) does the
 * first node of the list with a free block take it anyway: the threshold
 * never causes an OOM. 0 disables it (spill only when full; 1 is the same).
 * Virtuoso spills to the other nodes in node-number order; MimicOS in
 * distance order, as Linux's zonelist fallback.
 */
enum mos_numa_policy {
	MOS_NUMA_LOCAL = 0,
	MOS_NUMA_BIND = 1,
	MOS_NUMA_INTERLEAVE = 2,
	MOS_NUMA_PREFERRED = 3,
};

struct mos_policy_ops; /* mimicos/policy_api.h */

/*
 * Victim selection of page reclaim (mos_config.reclaim_policy); the
 * algorithms and their sources are described in mimicos/reclaim.h.
 * FIFO; CLOCK (second chance); LRU (active/inactive lists as Linux);
 * WSCLOCK (Carr and Hennessy 1981, working-set window reclaim_tau).
 */
enum mos_reclaim_policy {
	MOS_RECLAIM_FIFO = 0,
	MOS_RECLAIM_CLOCK = 1,
	MOS_RECLAIM_LRU = 2,
	MOS_RECLAIM_WSCLOCK = 3,
};

/*
 * Configuration of one emulated machine. Every field after fault_around_pages
 * was added later: zero means the behaviour from before it existed.
 */
struct mos_config {
	uint64_t mem_bytes;   /* emulated physical memory, bytes; multiple of 4 KiB */
	const char *policy;   /* allocation policy name: see mos_policy_builtin() */
	uint32_t fault_around_pages; /* pages populated per fault, power of two, >= 1 */

	/* policy "thp" (and its mos_scan collapse): Linux THP mode; 0 = never. */
	enum mos_thp_mode thp_mode;
	/*
	 * 0..1. reservethp: a reservation is promoted to one 2 MiB page as soon as
	 * its populated fraction (populated subpages / 512) exceeds this value
	 * (strictly: promotion at populated > threshold * 512; 0 promotes on the
	 * first fault, 1 never promotes on faults). thp and reservethp mos_scan:
	 * a 4 KiB-mapped 2 MiB region is collapsed when its mapped fraction
	 * exceeds it (Linux khugepaged's max_ptes_none = 511 - floor(t * 512);
	 * 0 = Linux's default max_ptes_none 511).
	 */
	double promotion_threshold;
	/*
	 * 0..1: external fragmentation injected at mos_create, defined as Linux's
	 * unusable free space index for order 9 (2 MiB, see mos_stats.
	 * unusable_index): the fraction of free frames that lie outside free
	 * buddy blocks of order >= 9. MimicOS pins frames (seeded RNG; the same
	 * seed and size give the same state) until the index is within 0.01 of
	 * this value: 0 = nothing injected, 1 = no free 2 MiB block is left.
	 * Pinned frames are never freed (mos_stats.frames_pinned). Precision
	 * limit: near 1 the index moves in steps of one usable 2 MiB block, i.e.
	 * 512 / free frames, so 0.01 holds for memories of >= 200 MiB; smaller
	 * ones get the nearest reachable value. The index cannot go below what
	 * the page-table root already causes (511 / free frames).
	 * Virtuoso's target_fragmentation is inverted (1.0 = none, 0.0 = fully
	 * fragmented): use fragmentation = 1 - target_fragmentation; the two agree
	 * at the ends, in between Virtuoso's fragmenter uses its own measure.
	 */
	double fragmentation;
	uint64_t seed; /* RNG seed of the fragmentation injection (any value) */
	/*
	 * eagerpaging: largest range allocated by one eager fault, bytes, a power
	 * of two >= 4 KiB (the aligned window of this size around the fault,
	 * clipped to the VMA); 0 = the whole VMA (RMM).
	 */
	uint64_t eager_max_bytes;
	/*
	 * eagerpaging: largest range the runtime is asked to populate per eager
	 * fault (mos_fault_result.start/len), a power of two >= 4 KiB: the aligned
	 * window around the fault, clipped to the mapped range; 0 = populate all
	 * that was mapped. The rest is mapped (map_start/map_len) but not populated.
	 */
	uint64_t eager_populate_bytes;
	/*
	 * A caller-supplied allocation policy (see mimicos/policy_api.h), e.g.
	 * the `vmemu_policy` table a host dlopen()ed from a policy .so. When
	 * non-NULL it is used and `policy` is ignored (it may hold the .so's
	 * path for messages); the table is copied, its name string and code
	 * must stay loaded until mos_destroy(). NULL = the built-in `policy`.
	 */
	const struct mos_policy_ops *policy_ops;

	/*
	 * Emulated NUMA (all zero: one node holding all memory, MimicOS' behaviour
	 * before NUMA). Nodes are contiguous PFN ranges, node 0 first
	 * (mos_pfn_node()); each has its own buddy allocator.
	 * numa_nodes: 0 or 1 = one node; 2 .. MOS_MAX_NODES nodes.
	 */
	uint32_t numa_nodes;
	/*
	 * Size of node n in bytes, n < numa_nodes: each a non-zero multiple of
	 * MOS_NODE_ALIGN (4 MiB, so no buddy block straddles two nodes) and
	 * together exactly mem_bytes. All zero = mem_bytes split equally (then
	 * mem_bytes must be a multiple of numa_nodes * 4 MiB). Entries from
	 * numa_nodes on must be 0. With one node: 0 or mem_bytes (then any
	 * multiple of 4 KiB, as before).
	 */
	uint64_t numa_node_bytes[MOS_MAX_NODES];
	/*
	 * SLIT-style distances (ACPI System Locality Information Table; Linux
	 * node_distance(), /sys/devices/system/node/nodeN/distance): [from][to]
	 * for from, to < numa_nodes. All zero = 10 on the diagonal, 20 elsewhere.
	 * Otherwise, as Linux's ACPI slit_valid() demands, the diagonal is exactly
	 * 10 and every other entry 11..254; asymmetric matrices are accepted (ACPI
	 * allows them; a fallback list uses the row of its first node). Entries
	 * beyond numa_nodes must be 0.
	 */
	uint8_t numa_distance[MOS_MAX_NODES][MOS_MAX_NODES];
	/* Placement policy (see enum mos_numa_policy); 0 = local. */
	enum mos_numa_policy numa_policy;
	/*
	 * Node mask of bind / interleave / preferred, bit n = node n (only bits
	 * below numa_nodes may be set). 0 = all nodes for bind and interleave,
	 * local allocation for preferred; ignored by local.
	 */
	uint32_t numa_node_mask;
	/* Spill threshold 0..1 (see enum mos_numa_policy); 0 = only when full. */
	double numa_spill_threshold;

	/*
	 * Swap and reclaim (all zero: no swap; running out of frames is an
	 * emulated OOM, as before). With swap_pages > 0, resident data pages are
	 * tracked for reclaim and mos_reclaim_isolate() evicts them to swap
	 * slots of 4 KiB (see "Swap and reclaim" below).
	 */
	uint64_t swap_pages;                    /* swap slots, 4 KiB each; < 2^32 */
	enum mos_reclaim_policy reclaim_policy; /* victim selection */
	uint64_t reclaim_tau;  /* WSCLOCK working-set window, in the caller's time unit */
	/*
	 * Most pages a swap-in reads in one go (the faulting page plus
	 * readahead into the swap cache); 0 or 1 = no readahead. The window
	 * grows (doubling from 2) while swap-ins are sequential or hit the swap
	 * cache and falls back to 1 otherwise (as Linux's swap_vma_readahead).
	 */
	uint32_t swap_readahead;
	/*
	 * A 2 MiB page chosen for eviction: false = split it into 512 4 KiB
	 * pages first (Linux without THP_SWAP), which are then reclaimed one
	 * by one; true = swap it out whole to 512 contiguous slots (THP_SWAP).
	 */
	bool swap_thp_whole;
	/*
	 * Watermark min in frames; 0 = Linux's default: min_free_kbytes =
	 * sqrt(16 * memory KiB) clamped to 128 KiB .. 256 MiB
	 * (mm/page_alloc.c calculate_min_free_kbytes), low = min + max(min/4,
	 * 0.1% of memory), high = low + the same step (watermark_scale_factor
	 * 10, __setup_per_zone_wmarks).
	 */
	uint64_t wmark_min_frames;
	/*
	 * hugetlbfs-like pools (Documentation/admin-guide/mm/hugetlbpage.rst):
	 * pages of 2 MiB and of 1 GiB reserved at boot, as Linux's
	 * vm.nr_hugepages and `hugepagesz=1G hugepages=N`. Carved at mos_create
	 * before the page-table root and before fragmentation injection, so they
	 * never fail for fragmentation:
	 * - a 1 GiB page is 2^18 frames, larger than a buddy block (MOS_MAX_ORDER
	 *   10), so it is a 1 GiB-aligned PFN range inside one node taken out of
	 *   the buddy allocator as 256 order-10 blocks (as Linux takes gigantic
	 *   pages from memblock at boot, or with alloc_contig_range later); the
	 *   highest free aligned range of a node first (memblock allocates top
	 *   down);
	 * - a 2 MiB page is one order-9 block (lowest free first, as the buddy
	 *   allocator hands them out);
	 * pages go to the nodes round-robin, node 0 first (Linux spreads
	 * hugepages=N over the nodes), a full node passing its turn on. Pool
	 * pages belong to the pool from then on: never split, never freed to
	 * the buddy allocator. They back only hugetlb VMAs (MOS_VMA_HUGETLB_*).
	 * mos_create fails with MOS_ENOMEM when the pools do not fit: 1 GiB
	 * pages need as many 1 GiB-aligned ranges inside nodes, and the pools
	 * must leave at least one frame for the page-table root.
	 */
	uint64_t hugetlb_nr_2m; /* pages of 2 MiB in the pool; 0 = none */
	uint64_t hugetlb_nr_1g; /* pages of 1 GiB in the pool; 0 = none */
};

/* VMA flags. */
enum {
	MOS_VMA_HEAP = 1u << 0, /* the reserved malloc heap */
	MOS_VMA_MMAP = 1u << 1, /* an anonymous mmap of the program */
	MOS_VMA_HUGEPAGE = 1u << 2,   /* madvise(MADV_HUGEPAGE): Linux VM_HUGEPAGE */
	MOS_VMA_NOHUGEPAGE = 1u << 3, /* madvise(MADV_NOHUGEPAGE): Linux VM_NOHUGEPAGE */
	/*
	 * hugetlb VMAs (Linux VM_HUGETLB; mmap(MAP_HUGETLB | MAP_HUGE_2MB or
	 * MAP_HUGE_1GB)): every fault maps one whole page of the 2 MiB or 1 GiB
	 * pool; the allocation policy is not asked. Exactly one of the two. The
	 * VMA's start and length are multiples of the page size; mos_vma_add
	 * reserves one pool page per page of the VMA (Linux HugePages_Rsvd) or
	 * fails with MOS_ENOMEM, so faults never fail for lack of a pool page.
	 * The VMA can only be cut (munmap, mremap, madvise) at multiples of the
	 * page size; a pool page is never split.
	 */
	MOS_VMA_HUGETLB_2M = 1u << 4,
	MOS_VMA_HUGETLB_1G = 1u << 5,
	/*
	 * With one of the two above: a heap served from the pool the way
	 * libhugetlbfs' HUGETLB_MORECORE backs malloc with hugetlb pages,
	 * falling back to normal pages when the pool runs out. Nothing is
	 * reserved at mos_vma_add. A fault whose page-size-aligned region lies
	 * inside the VMA, has nothing mapped yet and finds a pool page that no
	 * hugetlb VMA has reserved maps that page; any other fault goes to the
	 * allocation policy (mos_stats.hugetlb_fallback). munmap, mremap and
	 * madvise advice cut it only at multiples of the page size, as a
	 * hugetlb VMA; MADV_DONTNEED (mos_discard) never fails for alignment:
	 * it frees the pool pages lying entirely inside its range and leaves
	 * those partly inside mapped.
	 */
	MOS_VMA_HUGETLB_MORECORE = 1u << 6,
};

/* Advice for mos_vma_advise (same numbers as Linux's MADV_*). */
enum mos_advice {
	MOS_ADV_HUGEPAGE = 14,   /* MADV_HUGEPAGE */
	MOS_ADV_NOHUGEPAGE = 15, /* MADV_NOHUGEPAGE */
};

/* One VMA as stored by MimicOS: [start, end), page aligned. */
struct mos_vma {
	uint64_t start;
	uint64_t end;
	uint32_t flags;
};

/*
 * What the runtime must do to resolve one fault: populate [start, start+len)
 * on the host (all pages there are newly mapped by MimicOS and missing on the
 * host) and wake the faulting thread.
 *
 * Later additions (all zero for baseline faults and refaults):
 * - page_shift 21 with len 2 MiB: a 2 MiB emulated page (thp, or a 2 MiB
 *   hugetlb pool page) — one populate of 512 pages; the runtime may try
 *   MADV_COLLAPSE on it.
 * - page_shift 30 with len 1 GiB: a 1 GiB hugetlb pool page — one populate
 *   of 262144 pages.
 * - promoted_len != 0 (reservethp): this fault promoted the 2 MiB region
 *   [promoted_start, +promoted_len) to one 2 MiB page, so MimicOS now maps
 *   all 512 subpages. The runtime must populate every page of that region
 *   still missing on the host (some are present: skip/EEXIST them), then may
 *   try MADV_COLLAPSE. [start, start+len) is still the fault's own pages.
 * - map_len != 0 (eagerpaging): MimicOS mapped [map_start, map_start+map_len),
 *   which contains and may exceed [start, start+len); the pages outside the
 *   populate range are mapped in MimicOS but not on the host: they fault
 *   later and mos_translate already succeeds for them (populate 1 page).
 */
struct mos_fault_result {
	uint64_t start;      /* page-aligned first byte to populate */
	uint64_t len;        /* bytes to populate, multiple of 4 KiB, >= 4 KiB */
	uint64_t pfn;        /* PFN backing the faulting page */
	uint32_t page_shift; /* emulated page size of the mapping: 12, 21 or 30 */
	bool refault;        /* MimicOS had the page mapped but the host lost it */
	uint64_t map_start;      /* newly mapped range (eagerpaging), else 0 */
	uint64_t map_len;        /* bytes, 0 = same as [start, start+len) */
	uint64_t promoted_start; /* 2 MiB region promoted by this fault */
	uint64_t promoted_len;   /* 0 = none, else 2 MiB */
	/*
	 * Swap (zero without swap): the faulting page's contents were in swap.
	 * major: they must be read from the device (a major fault);
	 * swapcache_hit: they were in the swap cache (a minor fault, no device
	 * read). readahead_pages: pages this fault read ahead into the swap
	 * cache (device reads to charge, nothing to populate). The pages to
	 * fill from swap slots: mos_swapin_pending().
	 */
	bool major;
	bool swapcache_hit;
	uint32_t readahead_pages;
};

/* A virtual range, e.g. a 2 MiB region promoted by mos_scan. */
struct mos_range {
	uint64_t start; /* bytes */
	uint64_t len;   /* bytes */
};

/* A physically contiguous run of mappings: [vaddr, vaddr+len) -> pfn.. */
struct mos_phys_range {
	uint64_t vaddr; /* first byte, page aligned */
	uint64_t pfn;   /* first frame */
	uint64_t len;   /* bytes, multiple of 4 KiB */
};

/* The two hugetlb pool sizes, index of the mos_stats.hugetlb_* arrays. */
enum {
	MOS_HUGETLB_2M = 0,
	MOS_HUGETLB_1G = 1,
	MOS_HUGETLB_SIZES = 2,
};

/* Counters of one emulated machine (all emulated, nothing measured). */
struct mos_stats {
	uint64_t frames_total;     /* frames of emulated memory */
	uint64_t frames_free;      /* frames free in the buddy allocator */
	uint64_t data_frames;      /* frames mapped as program data, now */
	uint64_t data_frames_peak; /* high-water mark of data_frames */
	uint64_t pt_pages;         /* page-table pages (incl. the PML4), now */
	uint64_t pt_pages_peak;    /* high-water mark of pt_pages */
	uint64_t faults;           /* calls to mos_fault that mapped memory */
	uint64_t refaults;         /* faults on pages MimicOS thought mapped */
	uint64_t pages_mapped;     /* 4 KiB pages mapped by faults, cumulative */
	uint64_t pages_unmapped;   /* 4 KiB pages unmapped (munmap/discard), cumulative */
	uint64_t oom_events;       /* faults refused with MOS_ENOMEM */
	uint64_t vmas;             /* VMAs now */
	uint64_t free_blocks[MOS_NR_ORDERS]; /* free buddy blocks per order */

	/* Added with the huge-page policies (zero under baseline). */
	uint64_t frames_pinned;      /* frames pinned by fragmentation injection */
	uint64_t frames_reserved;    /* reservethp, or a user policy's mos_env_reserve:
					reserved frames not mapped */
	uint64_t huge_pages;         /* 2 MiB leaves mapped now */
	uint64_t thp_fault_alloc;    /* faults mapped as one 2 MiB page (Linux thp_fault_alloc) */
	uint64_t thp_fault_fallback; /* huge page allowed but no order-9 block (Linux thp_fault_fallback) */
	uint64_t thp_split;          /* 2 MiB leaves demoted to 512 4 KiB PTEs (Linux thp_split_pmd) */
	uint64_t reservations;       /* reservethp: reservations now */
	uint64_t reservations_made;  /* reservethp: cumulative */
	uint64_t reservation_fallback; /* reservethp: no order-9 block, 4 KiB page instead */
	uint64_t promotions;         /* reservethp: promotions at fault time */
	uint64_t demotions;          /* reservethp: reservations demoted under memory pressure */
	uint64_t demoted_frames;     /* reservethp: unused subpages returned by demotions */
	uint64_t collapses;          /* mos_scan: regions made one 2 MiB page (incl. promotions) */
	uint64_t scan_pages;         /* mos_scan: pages scanned (512 per region examined) */
	uint64_t eager_faults;       /* eagerpaging: faults that mapped a range eagerly */
	uint64_t eager_fallbacks;    /* eagerpaging: too little memory, 4 KiB demand fault */
	uint64_t eager_blocks;       /* eagerpaging: buddy blocks allocated, cumulative */
	/*
	 * Linux's unusable free space index per order (debugfs extfrag/
	 * unusable_index, mm/vmstat.c unusable_free_index): (free frames - free
	 * frames in blocks of order >= k) / free frames; 1 when nothing is free.
	 */
	double unusable_index[MOS_NR_ORDERS];

	/*
	 * Added with NUMA (one node: node 0 holds everything). Entries from
	 * numa_nodes on are zero. Frames are 4 KiB emulated frames.
	 */
	uint32_t numa_nodes;                        /* emulated nodes, >= 1 */
	uint64_t node_frames[MOS_MAX_NODES];        /* frames of node n */
	uint64_t node_frames_free[MOS_MAX_NODES];   /* free frames of node n */
	uint64_t node_frames_used[MOS_MAX_NODES];   /* allocated frames of node n (any owner) */
	/* Buddy blocks placed on node n by the placement policy, cumulative
	 * (every data page, 2 MiB block, reservation, eager block, table page;
	 * fragmentation pins are not placed and not counted). */
	uint64_t node_allocs[MOS_MAX_NODES];
	/* Blocks placed on a node other than the policy's target node (Linux's
	 * numa_miss): the target full, or over the spill threshold. */
	uint64_t numa_remote;
	/* Of numa_remote, blocks moved off a target that had a free block
	 * because it was over numa_spill_threshold. */
	uint64_t numa_spills;

	/* Added with swap and reclaim (zero without swap). Pages are 4 KiB. */
	uint64_t swap_slots;          /* swap size in slots */
	uint64_t swap_used;           /* slots holding a page now (incl. clean copies) */
	uint64_t swap_used_peak;
	uint64_t swapouts;            /* pages evicted to swap, cumulative */
	uint64_t swapout_writes;      /* of those, pages written (dirty) */
	uint64_t swapout_clean;       /* of those, dropped without a write (valid swap copy) */
	uint64_t swapins;             /* pages read back from a slot, cumulative */
	uint64_t major_faults;        /* faults whose page had to be read from swap */
	uint64_t swapcache_hits;      /* faults served from the swap cache (minor) */
	uint64_t swapcache_frames;    /* frames holding swap-cache pages now */
	uint64_t readahead_pages;     /* pages read ahead into the swap cache */
	uint64_t readahead_hits;      /* of those, later faulted in (useful) */
	uint64_t readahead_wasted;    /* of those, dropped unused */
	uint64_t reclaim_scanned;     /* units the victim policy examined */
	uint64_t reclaim_isolated;    /* units chosen as victims */
	uint64_t reclaim_putback;     /* victims the caller could not evict */
	uint64_t thp_swap_split;      /* 2 MiB pages split for swap-out */
	uint64_t thp_swapout;         /* 2 MiB pages swapped out whole */
	uint64_t swap_full;           /* evictions refused: no free slot */
	/*
	 * Refault distance (Linux mm/workingset.c): each eviction advances a
	 * non-resident age counter; a swapped-out page faulted back in has
	 * distance = age now - age at its eviction. workingset_activate counts
	 * refaults with distance <= resident data frames, i.e. pages that
	 * would have stayed resident in a memory twice as large.
	 * refault_distance[k] counts distances in [2^k, 2^(k+1)) (k = 0 holds
	 * 0 and 1; the last bucket everything from 2^15).
	 */
	uint64_t workingset_refaults;
	uint64_t workingset_activate;
	uint64_t refault_distance[16];
	uint64_t wmark_min, wmark_low, wmark_high; /* frames */
	/*
	 * Added with hugetlb pools (all zero without them). Index
	 * MOS_HUGETLB_2M or MOS_HUGETLB_1G; counts are pool pages. Pool pages
	 * are allocated frames: frames_free does not count free pool pages,
	 * data_frames counts the frames of mapped ones.
	 */
	uint64_t hugetlb_pages[MOS_HUGETLB_SIZES];  /* pool size (HugePages_Total) */
	uint64_t hugetlb_free[MOS_HUGETLB_SIZES];   /* not mapped (HugePages_Free) */
	uint64_t hugetlb_resv[MOS_HUGETLB_SIZES];   /* of the free ones, reserved by hugetlb
						       VMAs (HugePages_Rsvd) */
	uint64_t hugetlb_faults[MOS_HUGETLB_SIZES]; /* faults that mapped a pool page, cumulative */
	uint64_t hugetlb_morecore_faults[MOS_HUGETLB_SIZES]; /* of those, in MORECORE VMAs */
	uint64_t hugetlb_fallback[MOS_HUGETLB_SIZES]; /* MORECORE faults left to the policy */
	uint64_t hugetlb_resv_fail[MOS_HUGETLB_SIZES]; /* hugetlb VMAs refused: too few
							 unreserved pool pages (mmap ENOMEM) */
	uint64_t gigantic_pages; /* 1 GiB leaves mapped now (huge_pages counts 2 MiB ones) */
};

struct mos;

/*
 * Create an emulated machine: cfg->mem_bytes of physical memory as frames in
 * a buddy allocator, an empty page table (its PML4 page already allocated),
 * no VMAs, and the named policy. Returns NULL and sets *st on failure:
 * MOS_EINVAL for a size that is zero, not a multiple of 4 KiB or above 2^44
 * bytes, an unknown policy, a policy_ops table that is invalid (abi_version
 * outside MOS_POLICY_ABI_MIN .. MOS_POLICY_ABI_VERSION, name NULL or empty,
 * fault or free_range NULL), a fault_around_pages that is not a power of two,
 * a thp_mode out of range, promotion_threshold or fragmentation outside 0..1
 * (or NaN), eager_max_bytes / eager_populate_bytes not 0 or a power of two
 * >= 4 KiB, NUMA fields that break the rules of struct mos_config
 * (numa_nodes above MOS_MAX_NODES, node sizes not multiples of 4 MiB or not
 * summing to mem_bytes, distances not SLIT-valid, numa_policy out of range,
 * numa_node_mask naming a node that does not exist, numa_spill_threshold
 * outside 0..1); MOS_ENOMEM when the hugetlb pools do not fit (see
 * hugetlb_nr_2m); MOS_EHOST when the allocator fails; whatever a policy_ops
 * init returned. The hugetlb pools are carved first, then the page-table
 * root is allocated; with fragmentation > 0 frames are pinned after that (see
 * struct mos_config).
 */
struct mos *mos_create(const struct mos_config *cfg, const struct mos_allocator *alloc,
		       enum mos_status *st);

/* Release all bookkeeping memory of m (NULL is accepted). */
void mos_destroy(struct mos *m);

/*
 * Manage [start, start+len) as a VMA. start and len must be page aligned and
 * len > 0. A hugetlb VMA (MOS_VMA_HUGETLB_2M or _1G without MORECORE) must
 * also be aligned to its page size and reserves len / page size pages of
 * its pool, as Linux's hugetlb_reserve_pages at mmap time. Errors (nothing
 * changed): MOS_EINVAL (alignment, both hugetlb sizes, MORECORE without a
 * size), MOS_ENOMEM (fewer unreserved free pool pages than the VMA needs:
 * mmap's ENOMEM; counted in mos_stats.hugetlb_resv_fail), MOS_EEXIST if it
 * overlaps a managed VMA, MOS_EHOST if the VMA array cannot grow.
 */
enum mos_status mos_vma_add(struct mos *m, uint64_t start, uint64_t len, uint32_t flags);

/*
 * munmap: stop managing [start, start+len). Parts of VMAs inside the range
 * are removed (a VMA may be split in two), every page mapped there is
 * unmapped, its frames freed, and page-table pages left empty are freed.
 * A 2 MiB page only partly inside the range is split first (demoted to 512
 * 4 KiB PTEs on the same frames, as Linux's split_huge_pmd); its subpages
 * inside the range are freed, the others stay mapped.
 * Parts of the range outside any VMA are ignored. hugetlb VMAs: their pool
 * pages inside the range go back to the pool (never split) and the pages of
 * the removed part stop being reserved. Errors: MOS_EINVAL (nothing changed)
 * if unaligned, or if start or start+len lies inside a hugetlb VMA (MORECORE
 * too) at an address not a multiple of its page size (Linux: munmap EINVAL);
 * MOS_EHOST if the VMA array cannot grow (nothing changed) or host memory
 * for a split fails (then the whole 2 MiB page is unmapped and freed).
 */
enum mos_status mos_vma_remove(struct mos *m, uint64_t start, uint64_t len);

/*
 * mremap: the kernel moved/resized [old, old+old_len) to [new, new+new_len).
 * Mappings of the first min(old_len, new_len) bytes move to the new address
 * with their frames; mappings beyond new_len are unmapped and freed; the VMA
 * follows. 2 MiB pages that straddle the range ends or the min(old_len,
 * new_len) cut, or would land misaligned at the new address, are split into
 * 4 KiB PTEs first (each split needs one frame for a page table);
 * reservations overlapping the old range are demoted (reservethp). A
 * hugetlb VMA moves whole pool pages only: old, new, old_len and new_len
 * must be multiples of its page size and new_len <= old_len (Linux's mremap
 * refuses growing a hugetlb VMA); pool pages beyond new_len go back to the
 * pool. MOS_EINVAL (nothing changed) otherwise. MOS_ENOVMA if old is not
 * inside a VMA, MOS_EEXIST if the new range overlaps another VMA,
 * MOS_ENOMEM if page-table pages for the splits or the new address cannot
 * be allocated (nothing is moved then; splits already done stay).
 */
enum mos_status mos_vma_move(struct mos *m, uint64_t old, uint64_t old_len, uint64_t new,
			     uint64_t new_len);

/*
 * madvise(MADV_DONTNEED): unmap every page in [start, start+len) and free
 * its frames; the VMAs stay (the next touch faults again). Page-table pages
 * stay allocated, as in Linux. A 2 MiB page partly inside the range is split
 * first, as for mos_vma_remove. hugetlb VMAs (Linux
 * madvise_dontneed_free_valid_vma): the range's end inside one is aligned
 * down to its page size, and its pool pages inside go back to the pool but
 * stay reserved for the VMA (deviation: Linux keeps the reservation only for
 * shared mappings; for a private one the next fault allocates unreserved and
 * may SIGBUS); MORECORE VMAs free the pool pages lying entirely inside.
 * MOS_EINVAL (nothing changed) if unaligned, or if start lies inside a
 * hugetlb VMA (not MORECORE) at an address not a multiple of its page size;
 * MOS_EHOST as for mos_vma_remove.
 */
enum mos_status mos_discard(struct mos *m, uint64_t start, uint64_t len);

/*
 * The program touched vaddr (read, or write if is_write) and the host page is
 * missing: let the policy allocate frames and map them. On MOS_OK *out says
 * which host range to populate. In a hugetlb VMA the pool serves the fault
 * instead (Linux hugetlb_fault): one whole pool page over the page-size-
 * aligned region holding vaddr (out: start = region, len = 2 MiB or 1 GiB,
 * page_shift 21 or 30), the VMA's reservation consumed; a MORECORE VMA
 * falls back to the policy when the pool cannot serve the fault. Errors:
 * MOS_ENOVMA (vaddr outside every VMA:
 * the runtime wakes the thread, which then gets the kernel's SIGSEGV),
 * MOS_ENOMEM (emulated OOM; nothing was mapped — reservethp may have demoted
 * reservations trying to make room).
 */
enum mos_status mos_fault(struct mos *m, uint64_t vaddr, bool is_write,
			  struct mos_fault_result *out);

/*
 * Translation of vaddr: PFN of the 4 KiB frame that backs it and the page
 * size of its mapping as a shift (12, 21 or 30 for a 1 GiB hugetlb page).
 * MOS_ENOENT when unmapped.
 */
enum mos_status mos_translate(const struct mos *m, uint64_t vaddr, uint64_t *pfn,
			      uint32_t *page_shift);

/*
 * Physical addresses (bytes) of the page-table entries a hardware walk of
 * vaddr reads, top level (PML4E) first. Returns how many were written
 * (1..4; fewer when a level is absent or a huge page ends the walk: 3 for a
 * 2 MiB page, 2 for a 1 GiB page, whose leaf is the PDPTE).
 */
unsigned mos_walk_path(const struct mos *m, uint64_t vaddr, uint64_t pte_paddr[MOS_PT_LEVELS]);

/*
 * madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE) on [start, start+len): sets
 * MOS_VMA_HUGEPAGE (and clears MOS_VMA_NOHUGEPAGE) or the reverse on every
 * VMA part in the range, splitting VMAs at start and start+len as needed, as
 * Linux's madvise_vma_behavior/hugepage_madvise. Existing mappings are not
 * changed, except that a 2 MiB page cut by a new VMA boundary is split into
 * 4 KiB PTEs (one page-table frame each). Errors: MOS_EINVAL (unaligned,
 * empty, unknown advice), MOS_EHOST (VMA array cannot grow; nothing changed),
 * MOS_ENOMEM (no frame for such a split; nothing changed), MOS_ENOVMA when part of the range
 * is outside every VMA (the VMAs inside are still advised, as Linux's ENOMEM).
 * MOS_EINVAL (nothing changed) too when start or start+len would cut a
 * hugetlb VMA at an address not a multiple of its page size.
 */
enum mos_status mos_vma_advise(struct mos *m, uint64_t start, uint64_t len, enum mos_advice advice);

/*
 * khugepaged-like asynchronous promotion scan (policies thp and reservethp;
 * other policies return 0 at once). Continues from where the previous call
 * stopped, over the 2 MiB regions lying entirely inside VMAs where huge pages
 * are allowed, examining those with 4 KiB mappings (each costs 512 pages of
 * the max_pages budget, as khugepaged's pages_to_scan, so at least one region
 * is examined when max_pages > 0; empty stretches and 2 MiB pages are skipped
 * for free; at most one pass over all VMAs per call). A 4 KiB-mapped region whose mapped fraction exceeds
 * promotion_threshold becomes one 2 MiB page: a reservation in place, other
 * regions by collapsing into a fresh order-9 block (their old frames are
 * freed). Each such region is written to out (up to max_out; the scan stops
 * when out is full): the runtime must populate its pages missing on the host
 * and may try MADV_COLLAPSE. Returns the number written. Deterministic; cost
 * O(regions examined * 512).
 */
size_t mos_scan(struct mos *m, uint64_t max_pages, struct mos_range *out, size_t max_out);

/*
 * The lowest mapped leaf that overlaps [from, end): its first virtual byte
 * address (*leaf_vaddr, aligned to its page size, so it may lie below from
 * for a huge page) and page shift (12, 21 or 30). Returns false when nothing
 * in the range is mapped. Cost O(page-table levels + empty entries skipped),
 * so a sampler can visit the populated parts of a huge, sparse VMA cheaply.
 */
bool mos_next_mapped(const struct mos *m, uint64_t from, uint64_t end, uint64_t *leaf_vaddr,
		     uint32_t *page_shift);

/*
 * Physically contiguous runs of the mappings in [start, end) (e.g. one VMA),
 * in address order: consecutive leaves are merged while both vaddr and PFN
 * continue. Writes the first max_out runs to out (out may be NULL when
 * max_out is 0) and returns the total number of runs. With eagerpaging this
 * is the RMM range list of the VMA. Cost O(leaves in the range).
 */
size_t mos_phys_ranges(const struct mos *m, uint64_t start, uint64_t end,
		       struct mos_phys_range *out, size_t max_out);

/*
 * Page shift of a hugetlb VMA (MOS_VMA_HUGETLB_2M: 21, MOS_VMA_HUGETLB_1G:
 * 30), or 0 for any other VMA. The runtime uses it to apply Linux's hugetlb
 * rules to munmap/mremap/madvise before the host sees them.
 */
unsigned mos_vma_hugetlb_shift(const struct mos_vma *v);

/*
 * Pages of the hugetlb pool of page_shift (21 or 30) that a new hugetlb VMA
 * could reserve now: free pages not reserved by another VMA (Linux
 * HugePages_Free - HugePages_Rsvd). 0 for other shifts or without a pool.
 */
uint64_t mos_hugetlb_available(const struct mos *m, unsigned page_shift);

/*
 * True when addr lies strictly inside a hugetlb VMA (a MORECORE one too
 * when morecore) at an address that is not a multiple of its page size:
 * cutting the VMA there would split a hugetlb page, which Linux refuses
 * with EINVAL (hugetlb_vm_op_split). munmap, mremap and madvise advice ask
 * with morecore = true, MADV_DONTNEED's start with false.
 */
bool mos_hugetlb_cuts(const struct mos *m, uint64_t addr, bool morecore);

/* The VMA containing vaddr, or NULL. The pointer is valid until the next change. */
const struct mos_vma *mos_vma_find(const struct mos *m, uint64_t vaddr);

/* Number of VMAs and the i-th in address order (i < count), for iteration. */
size_t mos_vma_count(const struct mos *m);
const struct mos_vma *mos_vma_at(const struct mos *m, size_t i);

/* Snapshot of the counters. */
void mos_get_stats(const struct mos *m, struct mos_stats *out);

/*
 * NUMA: the node of the CPU that faults from now on (the runtime sets it
 * from the faulting thread's CPU, e.g. its emulated CPU -> node map), used
 * by the local, bind and preferred-many policies (Linux numa_node_id()).
 * Default 0. MOS_EINVAL (nothing changed) for node >= the number of nodes.
 */
enum mos_status mos_set_cpu_node(struct mos *m, unsigned node);

/*
 * NUMA: the emulated node holding frame pfn (nodes are contiguous PFN
 * ranges, node 0 first), or -1 for pfn beyond memory. O(nodes).
 */
int mos_pfn_node(const struct mos *m, uint64_t pfn);

/*
 * NUMA: SLIT distance from node `from` to node `to` (10 = local; e.g. for a
 * latency model: Linux node_distance()), or 0 when either is not a node.
 */
unsigned mos_node_distance(const struct mos *m, unsigned from, unsigned to);

/*
 * Named counters a caller-supplied policy published (policy_api.h,
 * mos_env_counter, ABI 2), in the order it registered them: the i-th name
 * and value. False past the last (always for built-in policies).
 */
bool mos_policy_counter(const struct mos *m, size_t i, const char **name, uint64_t *value);

/*
 * Name of the policy in force ("baseline", "thp", "reservethp",
 * "eagerpaging", or the name in a caller-supplied policy_ops table).
 */
const char *mos_policy_name(const struct mos *m);

/*
 * Names of the built-in policies, for config validation and help: the i-th
 * name (i = 0, 1, ...), or NULL past the last.
 */
const char *mos_policy_builtin(size_t i);

/*
 * Swap and reclaim (mos_config.swap_pages > 0; otherwise these do nothing:
 * isolate returns 0, pending returns 0, access returns false).
 *
 * Resident data pages are tracked as reclaim units (a 4 KiB page or a
 * 2 MiB page) from the fault that maps them. A page's swap copy lives in a
 * slot; a page read back from swap keeps its slot as a valid clean copy
 * until it is written (mos_page_access with is_write), so a clean page is
 * evicted without a write. Contents are the caller's business: MimicOS
 * says which slot to write or read.
 */

/* One eviction chosen by mos_reclaim_isolate. */
struct mos_victim {
	uint64_t vaddr; /* first byte, aligned to len */
	uint64_t len;   /* bytes: 4 KiB, or 2 MiB for a whole THP */
	uint64_t slot;  /* first slot; len / 4 KiB consecutive slots */
	bool write;     /* contents must be written to the slots (else the copy there is valid) */
};

/*
 * Choose up to max_out victims with the reclaim policy, enough to free
 * about `frames` frames (swap-cache pages are dropped first: they count and
 * need nothing from the caller). Victims stay mapped until
 * mos_reclaim_finish; slots for dirty ones are allocated here. 2 MiB pages
 * are split first unless swap_thp_whole (or no frame is free for the split
 * table, then swapped whole). now: the caller's time (ns live), for WSCLOCK
 * and LRU aging. Returns the number written to out; 0 when nothing can be
 * evicted (nothing resident, swap full).
 */
size_t mos_reclaim_isolate(struct mos *m, uint64_t frames, uint64_t now, struct mos_victim *out,
			   size_t max_out);

/*
 * Complete one isolated victim. ok: its contents are in its slots (written
 * or already valid) and the host dropped the page: MimicOS unmaps it, frees
 * its frames and records the swap entries. !ok: the eviction failed; the
 * slots are released (a clean copy stays valid) and the page is tracked
 * again as referenced.
 */
void mos_reclaim_finish(struct mos *m, const struct mos_victim *v, bool ok, uint64_t now);

/* One page whose contents the caller must fill from a swap slot. */
struct mos_swapin {
	uint64_t vaddr;  /* page */
	uint64_t slot;
	bool keep_clean; /* the slot stays the page's clean copy: populate it
			  * write-protected and report the first write with
			  * mos_page_access(is_write) */
};

/*
 * Pages mapped by the last mos_fault or mos_scan whose contents are in swap
 * (the faulting page, fault-around neighbours, pages of a promoted or
 * collapsed region, eager ranges): writes up to max_out to out and removes
 * them from the list; returns how many were written. The caller fills each
 * from its slot before anything else populates those addresses, then calls
 * mos_swapin_done. The list is cleared by the next mos_fault / mos_scan.
 */
size_t mos_swapin_pending(struct mos *m, struct mos_swapin *out, size_t max_out);

/* The pending swap-ins were read: free the slots not kept as clean copies. */
void mos_swapin_done(struct mos *m);

/*
 * The program accessed vaddr (a fault, a write-protect fault, a sample):
 * sets the reclaim unit's referenced bit; a write also marks it dirty and
 * drops its clean swap copy. Returns true when the page had a clean copy
 * (it was populated write-protected: the caller must unprotect it). now as
 * for mos_reclaim_isolate.
 */
bool mos_page_access(struct mos *m, uint64_t vaddr, bool is_write, uint64_t now);

/*
 * vaddr may have been written without MimicOS seeing it (its host page lost
 * its write protection): drop its clean swap copy, if any, so its next
 * eviction writes it. Does not count as a reference. No-op without swap.
 */
void mos_page_dirty(struct mos *m, uint64_t vaddr);

/*
 * Forget every clean swap copy of a resident page (their slots are freed):
 * after fork the child's pages are no longer write-protected, so their
 * writes would go unseen.
 */
void mos_swap_forget_clean(struct mos *m);

/*
 * Frames to reclaim now: 0 while free frames >= the low watermark;
 * otherwise how many bring them to the high watermark (kswapd). *below_min
 * (may be NULL) says free frames are under min (direct reclaim).
 */
uint64_t mos_reclaim_target(const struct mos *m, bool *below_min);

/*
 * Check every internal invariant (buddy free lists, frame ownership, page
 * table accounting; every allocated frame is a table page, mapped data, a
 * reserved subpage of a reservation, a pinned frame or a free hugetlb pool
 * page; every 2 MiB leaf is one order-9 block; every 1 GiB leaf a pool page;
 * pool pages mapped only in hugetlb VMAs of their size, each reserved or
 * mapped; the pools' free lists and counts; the policy's own structures).
 * Returns true when consistent; otherwise false with a description in why.
 * Cost: O(frames + table pages + pool pages^2); for tests.
 */
bool mos_check(const struct mos *m, char *why, size_t why_len);

#endif
