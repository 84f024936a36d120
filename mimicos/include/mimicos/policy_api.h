/*
 * MimicOS public policy interface: everything an allocation policy written
 * in C needs, so a researcher can test a new policy as a shared object
 * (`[mimicos] policy = /path/to/mypolicy.so`) without rebuilding vmemu.
 *
 * A policy .so is one object:
 *
 *     #include <mimicos/policy_api.h>
 *     MOS_POLICY_EXPORT const struct mos_policy_ops vmemu_policy = {
 *             .abi_version = MOS_POLICY_ABI_VERSION,
 *             .name = "mypolicy",
 *             .fault = my_fault,
 *             .free_range = my_free_range,
 *     };
 *
 * built with `cc -shared -fPIC -I<vmemu>/mimicos/include -o mypolicy.so
 * mypolicy.c`. configs/examples/policy_nextfit.c is a complete example.
 *
 * The host side (the vmemu runtime, replay, or a test) dlopen()s the .so,
 * looks up MOS_POLICY_SYMBOL with dlsym() and passes the table to
 * mos_create() in mos_config.policy_ops. MimicOS itself never loads code.
 *
 * Linking: a policy calls the machine only through the static inline
 * functions below, which go through a table of function pointers that the
 * machine carries (as SQLite's loadable extensions do). A policy .so
 * therefore has no undefined symbols from vmemu and loads into any host
 * (the vmemu command, libvmemu.so, a unit test) without -rdynamic.
 *
 * Terms as in mimicos.h: a *frame* is one 4 KiB emulated physical page named
 * by its PFN; a *buddy block* of order k is 2^k frames starting at a PFN
 * that is a multiple of 2^k; a *leaf* is one page-table mapping of a 4 KiB
 * or 2 MiB page (or a 1 GiB hugetlb page, which policies never see: hugetlb
 * VMAs are served by the pools, not the policy); virtual addresses are the
 * program's real addresses, bytes.
 *
 * Rules a policy must follow (mos_check() verifies them after the fact):
 * - Frame ownership: a 4 KiB leaf maps an allocated order-0 block; a 2 MiB
 *   leaf maps exactly one allocated order-9 block (allocate a larger block
 *   and mos_env_split() it to map its frames one by one). mos_env_map()
 *   refuses anything else.
 * - When a hook returns, every frame the policy allocated is mapped, has
 *   been freed again, or is reserved with mos_env_reserve() (ABI version 2:
 *   frames the policy holds unmapped, e.g. the rest of a reservation, which
 *   mos_check() then counts as owned by the policy; a reserved frame cannot
 *   be mapped or freed until mos_env_unreserve()).
 * - fault maps exactly the pages it reports in *out; free_range unmaps
 *   every leaf of its range and frees the leaves' frames.
 * - The core may split a 2 MiB leaf of the policy into 512 4 KiB leaves on
 *   the same frames (munmap/madvise/mremap cutting it; its order-9 block is
 *   split into order-0 blocks then), and may move leaves with their frames
 *   to another virtual address on mremap without calling the policy. Free
 *   frames by the size of the leaf that maps them now (mos_env_unmap_range
 *   with fn = NULL does exactly that).
 * - Hooks run on vmemu's fault-handler thread while the faulting program
 *   thread waits: no malloc (the program's malloc is interposed and its heap
 *   is managed memory the handler must never touch), no stdio, no locks, no
 *   syscalls. Host memory comes from mos_env_host_zalloc(). Be
 *   deterministic (seed any randomness from the policy's own state).
 * - Call the mos_env_* functions only from inside the policy's hooks (the
 *   core updates its counters around each hook). env is the same pointer
 *   from init to fini.
 * - Callers serialise all calls on one machine: hooks need no locking.
 */
#ifndef MIMICOS_POLICY_API_H
#define MIMICOS_POLICY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mimicos/mimicos.h"

/*
 * Version of this interface: struct mos_policy_ops and struct
 * mos_policy_services. Later versions only append members to both structs,
 * so a policy built for an older version still loads: mos_create() accepts
 * abi_version MOS_POLICY_ABI_MIN .. MOS_POLICY_ABI_VERSION and refuses
 * (MOS_EINVAL) any other.
 *   1  the ops table and the services up to host_free.
 *   2  reserved frames (mos_env_reserve / mos_env_unreserve) and named
 *      counters (mos_env_counter); the ops table is unchanged.
 */
#define MOS_POLICY_ABI_VERSION 2u
#define MOS_POLICY_ABI_MIN 1u

/* ABI 2: named counters a policy may publish (mos_env_counter). */
#define MOS_POLICY_MAX_COUNTERS 16u
/* ABI 2: longest counter name, bytes, without the terminating NUL. */
#define MOS_POLICY_COUNTER_NAME_MAX 31u

/*
 * Name of the symbol a policy .so exports: a `const struct mos_policy_ops`.
 * The host does dlsym(handle, MOS_POLICY_SYMBOL).
 */
#define MOS_POLICY_SYMBOL "vmemu_policy"

/* Marks the exported table visible even when built with -fvisibility=hidden. */
#define MOS_POLICY_EXPORT __attribute__((visibility("default")))

/*
 * The emulated machine a policy works on (buddy allocator, page table,
 * configuration). Opaque: use the mos_env_* functions below.
 */
struct mos_env;

/* One leaf mapping: [vaddr, vaddr + 2^page_shift) -> frames pfn .. */
struct mos_leaf {
	uint64_t vaddr;      /* first byte, aligned to the page size */
	uint64_t pfn;        /* first frame */
	unsigned page_shift; /* 12 (4 KiB) or 21 (2 MiB) */
};

/*
 * An allocation policy. Members marked required must be non-NULL, or
 * mos_create() fails with MOS_EINVAL. `state` is what init stored (NULL
 * when init is NULL or stored NULL). Same semantics as the built-in
 * policies' hooks.
 */
struct mos_policy_ops {
	/*
	 * Required: MOS_POLICY_ABI_VERSION of the header the policy was built
	 * with (older versions are accepted, see above).
	 */
	uint32_t abi_version;

	/*
	 * Required, non-empty: the policy's name as mos_policy_name() reports
	 * it (e.g. "nextfit"). The string must outlive the machine (the host
	 * keeps the .so loaded until mos_destroy()).
	 */
	const char *name;

	/*
	 * Optional. Set up private state in *state (*state is NULL on entry;
	 * host memory from mos_env_host_zalloc). Called once from mos_create()
	 * after memory and the page table exist (fragmentation already
	 * injected). Returns MOS_OK, or an error (e.g. MOS_EHOST) that makes
	 * mos_create() fail with it; fini is then not called, so free what
	 * init allocated before returning an error.
	 */
	enum mos_status (*init)(struct mos_env *env, void **state);

	/*
	 * Required. The program touched vaddr (a write if is_write) inside vma,
	 * and no leaf maps vaddr yet. Allocate frames, map them, and describe
	 * the result in *out (zeroed by the core):
	 *   out->start, out->len: page-aligned range inside vma, containing
	 *     vaddr's page, that is now mapped and was entirely unmapped before
	 *     (the runtime populates exactly these pages on the host);
	 *   out->pfn: the 4 KiB frame now backing vaddr (for a 2 MiB leaf: its
	 *     first PFN plus vaddr's 4 KiB offset in it);
	 *   out->page_shift: 12, or 21 when vaddr got a 2 MiB leaf (then start
	 *     and len are that leaf's 2 MiB);
	 *   out->map_start/map_len: optional, when more was mapped than is to be
	 *     populated now (see struct mos_fault_result); refault stays false.
	 * Errors: MOS_ENOMEM (emulated OOM) or MOS_EHOST, in both cases with
	 * nothing left mapped and every frame allocated by this call freed.
	 */
	enum mos_status (*fault)(void *state, struct mos_env *env, const struct mos_vma *vma,
				 uint64_t vaddr, bool is_write, struct mos_fault_result *out);

	/*
	 * Required. munmap or madvise(MADV_DONTNEED) of [start, end) (page
	 * aligned; 2 MiB leaves straddling the ends were already split by the
	 * core): unmap every leaf in the range, free its frames and drop any
	 * bookkeeping about the range. Returns the number of 4 KiB pages
	 * unmapped (mos_env_unmap_range's result). The range may be huge and
	 * mostly empty (a whole 64 GiB heap): do not loop over its pages.
	 */
	uint64_t (*free_range)(void *state, struct mos_env *env, uint64_t start, uint64_t end);

	/*
	 * Optional. Release the private state (mos_destroy()); the machine's
	 * leaves are torn down by the core afterwards, do not free them.
	 */
	void (*fini)(void *state, struct mos_env *env);

	/*
	 * Optional. Verify the policy's own structures for mos_check(). Returns
	 * true when consistent, else false with a NUL-terminated description in
	 * why (why_len bytes; why may be NULL or why_len 0). Read-only.
	 */
	bool (*check)(const void *state, const struct mos_env *env, char *why, size_t why_len);
};

/*
 * The services table behind the mos_env_* functions. A policy never uses
 * it directly; it is public only so the inline functions can call it.
 * Later ABI versions append members.
 */
struct mos_policy_services {
	uint32_t abi_version; /* MOS_POLICY_ABI_VERSION of the machine */
	enum mos_status (*alloc)(struct mos_env *env, unsigned order, uint64_t *pfn);
	enum mos_status (*alloc_at)(struct mos_env *env, uint64_t pfn);
	enum mos_status (*free)(struct mos_env *env, uint64_t pfn, unsigned order);
	enum mos_status (*split)(struct mos_env *env, uint64_t pfn, unsigned order,
				 unsigned to_order);
	enum mos_status (*map)(struct mos_env *env, uint64_t vaddr, uint64_t pfn,
			       unsigned page_shift);
	enum mos_status (*unmap)(struct mos_env *env, uint64_t vaddr, uint64_t *pfn,
				 unsigned *page_shift);
	uint64_t (*unmap_range)(struct mos_env *env, uint64_t start, uint64_t end,
				void (*fn)(void *ctx, const struct mos_leaf *leaf), void *ctx);
	enum mos_status (*lookup)(const struct mos_env *env, uint64_t vaddr, uint64_t *pfn,
				  unsigned *page_shift);
	bool (*next_leaf)(const struct mos_env *env, uint64_t from, uint64_t end,
			  struct mos_leaf *out);
	uint64_t (*frames_free)(const struct mos_env *env);
	uint64_t (*frames_total)(const struct mos_env *env);
	uint64_t (*frames_needed)(const struct mos_env *env, uint64_t lo, uint64_t hi);
	uint32_t (*fault_around_pages)(const struct mos_env *env);
	enum mos_status (*fault_4k)(struct mos_env *env, uint64_t lo, uint64_t hi, uint64_t vaddr,
				    struct mos_fault_result *out);
	void *(*host_zalloc)(struct mos_env *env, size_t bytes);
	void (*host_free)(struct mos_env *env, void *p, size_t bytes);
	/* ABI version 2 */
	enum mos_status (*reserve)(struct mos_env *env, uint64_t pfn, uint64_t nframes);
	enum mos_status (*unreserve)(struct mos_env *env, uint64_t pfn, uint64_t nframes);
	uint64_t *(*counter)(struct mos_env *env, const char *name);
};

/*
 * The services of env. ABI guarantee: every struct mos_env begins with a
 * pointer to its services table (C11 6.7.2.1: a struct pointer converts to
 * a pointer to its first member).
 */
static inline const struct mos_policy_services *mos_env_services(const struct mos_env *env)
{
	return *(const struct mos_policy_services *const *)(const void *)env;
}

/* ------------------------------------------------- physical memory (buddy) */

/*
 * Allocate a buddy block of 2^order frames (order 0 .. MOS_MAX_ORDER; 0 =
 * one 4 KiB frame, 9 = 2 MiB), splitting a larger free block if needed.
 * *pfn receives its first PFN (a multiple of 2^order). With NUMA nodes the
 * block's node follows the machine's placement policy (enum
 * mos_numa_policy; interleave takes nodes round-robin here, as for
 * page-table pages, since no address is given). Errors: MOS_ENOMEM when no
 * free block of that order or larger exists on a node the policy allows,
 * MOS_EINVAL for order > MOS_MAX_ORDER.
 */
static inline enum mos_status mos_env_alloc(struct mos_env *env, unsigned order, uint64_t *pfn)
{
	return mos_env_services(env)->alloc(env, order, pfn);
}

/*
 * Allocate the one frame pfn as an order-0 block, if it is free (the free
 * block holding it is split; the rest stays free). For placement policies
 * that choose their frame ("the frame after the last one"). Errors:
 * MOS_EINVAL when pfn is beyond memory, MOS_EEXIST when it is not free.
 * Cost O(MOS_MAX_ORDER).
 */
static inline enum mos_status mos_env_alloc_at(struct mos_env *env, uint64_t pfn)
{
	return mos_env_services(env)->alloc_at(env, pfn);
}

/*
 * Free the allocated block of 2^order frames at pfn (it coalesces with free
 * buddies). pfn/order must name exactly an allocated block (after a split:
 * one of the pieces). Its frames must no longer be mapped. Errors:
 * MOS_EINVAL (nothing changed) for a double free, a wrong order, or a block
 * holding a reserved frame (mos_env_unreserve it first).
 */
static inline enum mos_status mos_env_free(struct mos_env *env, uint64_t pfn, unsigned order)
{
	return mos_env_services(env)->free(env, pfn, order);
}

/*
 * Split the allocated block (pfn, order) into 2^(order - to_order)
 * allocated blocks of order to_order, each mappable and freeable on its own
 * (e.g. to_order 0 to map a block's frames as 4 KiB pages). Frees nothing.
 * Cost O(2^(order - to_order)). Errors: MOS_EINVAL (nothing changed) when
 * (pfn, order) is not an allocated block or to_order > order.
 */
static inline enum mos_status mos_env_split(struct mos_env *env, uint64_t pfn, unsigned order,
					    unsigned to_order)
{
	return mos_env_services(env)->split(env, pfn, order, to_order);
}

/*
 * Frames in free buddy blocks now that mos_env_alloc() may use: under the
 * NUMA bind policy only those of the bound nodes, otherwise all.
 */
static inline uint64_t mos_env_frames_free(const struct mos_env *env)
{
	return mos_env_services(env)->frames_free(env);
}

/* Frames of emulated memory (PFNs are 0 .. frames_total - 1). */
static inline uint64_t mos_env_frames_total(const struct mos_env *env)
{
	return mos_env_services(env)->frames_total(env);
}

/* ------------------------------------------------------------- page table */

/*
 * Map the page of 2^page_shift bytes at vaddr (page_shift 12 = 4 KiB or
 * 21 = 2 MiB; vaddr aligned to it, below 2^48) to the frames at pfn, which
 * must be an allocated block of order 0 (4 KiB) or exactly order 9 (2 MiB)
 * starting at pfn. Page-table pages are allocated from emulated memory as
 * needed (each costs one frame). Errors, each leaving everything as it
 * was: MOS_EINVAL (alignment, range, page_shift, pfn not such a block, a
 * reserved frame), MOS_EEXIST (a leaf already covers part of the page, or page tables exist
 * where a 2 MiB leaf would go), MOS_ENOMEM (no frame for a page-table
 * page), MOS_EHOST (no host memory for it).
 */
static inline enum mos_status mos_env_map(struct mos_env *env, uint64_t vaddr, uint64_t pfn,
					  unsigned page_shift)
{
	return mos_env_services(env)->map(env, vaddr, pfn, page_shift);
}

/*
 * Remove the leaf covering vaddr (any size) without freeing its frames: its
 * first PFN goes to *pfn and its page_shift to *page_shift (either may be
 * NULL); the caller frees the block (order page_shift - 12). Page-table
 * pages stay. MOS_ENOENT when vaddr is unmapped.
 */
static inline enum mos_status mos_env_unmap(struct mos_env *env, uint64_t vaddr, uint64_t *pfn,
					    unsigned *page_shift)
{
	return mos_env_services(env)->unmap(env, vaddr, pfn, page_shift);
}

/*
 * Remove every leaf lying entirely inside [start, end), in ascending address
 * order. With fn == NULL each leaf's frames are freed by its size (order 0
 * or order 9), which is right for any policy that follows the ownership
 * rule; otherwise fn(ctx, leaf) is called for each removed leaf and must
 * free its frames. Returns the number of 4 KiB pages unmapped. Page-table
 * pages stay. Cost O(page-table pages in the range), not O(pages).
 */
static inline uint64_t mos_env_unmap_range(struct mos_env *env, uint64_t start, uint64_t end,
					   void (*fn)(void *ctx, const struct mos_leaf *leaf),
					   void *ctx)
{
	return mos_env_services(env)->unmap_range(env, start, end, fn, ctx);
}

/*
 * Translate vaddr: *pfn is the 4 KiB frame backing it (inside a 2 MiB leaf:
 * the leaf's first PFN plus the offset), *page_shift the leaf's size (12 or
 * 21). Either pointer may be NULL. MOS_ENOENT when unmapped.
 */
static inline enum mos_status mos_env_lookup(const struct mos_env *env, uint64_t vaddr,
					     uint64_t *pfn, unsigned *page_shift)
{
	return mos_env_services(env)->lookup(env, vaddr, pfn, page_shift);
}

/* True when a leaf maps vaddr. */
static inline bool mos_env_is_mapped(const struct mos_env *env, uint64_t vaddr)
{
	return mos_env_lookup(env, vaddr, NULL, NULL) == MOS_OK;
}

/*
 * The lowest leaf overlapping [from, end) in *out (its vaddr may lie below
 * from for a 2 MiB leaf). False when there is none. Iterate with
 * from = out->vaddr + (1 << out->page_shift). Cost O(levels + empty
 * entries skipped).
 */
static inline bool mos_env_next_leaf(const struct mos_env *env, uint64_t from, uint64_t end,
				     struct mos_leaf *out)
{
	return mos_env_services(env)->next_leaf(env, from, end, out);
}

/*
 * Frames needed to map every 4 KiB page of [lo, hi) (page aligned, all
 * unmapped) right now: one per page plus the page-table pages still
 * missing. Compare with mos_env_frames_free() before allocating, to fail a
 * fault with MOS_ENOMEM before changing anything.
 */
static inline uint64_t mos_env_frames_needed(const struct mos_env *env, uint64_t lo, uint64_t hi)
{
	return mos_env_services(env)->frames_needed(env, lo, hi);
}

/* ---------------------------------------------------------- configuration */

/*
 * The machine's fault-around setting (mos_config.fault_around_pages): how
 * many pages a fault may map, as the aligned window around the faulting
 * page. A power of two >= 1.
 */
static inline uint32_t mos_env_fault_around_pages(const struct mos_env *env)
{
	return mos_env_services(env)->fault_around_pages(env);
}

/* ------------------------------------------------------- default behaviour */

/*
 * The "baseline" policy's fault, for a policy that wants the default in
 * some cases: of the fault-around window around vaddr clipped to [lo, hi)
 * (which must contain vaddr, e.g. the VMA), map the run of unmapped pages
 * containing vaddr's page, each on its own order-0 frame from the buddy
 * allocator (only vaddr's page when memory is short), and fill *out as a
 * fault hook must. Errors: MOS_ENOMEM, MOS_EHOST, with nothing mapped.
 */
static inline enum mos_status mos_env_fault_4k(struct mos_env *env, uint64_t lo, uint64_t hi,
					       uint64_t vaddr, struct mos_fault_result *out)
{
	return mos_env_services(env)->fault_4k(env, lo, hi, vaddr, out);
}

/* ------------------------------------------- reserved frames (ABI 2) */

/*
 * Mark the nframes frames pfn .. pfn+nframes-1 as held by the policy while
 * unmapped (a reservation's unused subpages, a private free list): from now
 * on mos_check() counts them as owned by the policy and mos_stats.
 * frames_reserved includes them. Each must be allocated (inside a block from
 * mos_env_alloc / mos_env_alloc_at) and not mapped; mos_check() reports a
 * reserved frame that is mapped or is a page-table page. A reserved frame
 * cannot be mapped or freed: mos_env_unreserve() it first. Cost O(nframes *
 * MOS_MAX_ORDER); the first call allocates one bit per frame of host memory.
 * Errors, nothing changed: MOS_EINVAL (nframes 0, beyond memory, a frame
 * not allocated), MOS_EEXIST (a frame already reserved), MOS_EHOST.
 */
static inline enum mos_status mos_env_reserve(struct mos_env *env, uint64_t pfn, uint64_t nframes)
{
	return mos_env_services(env)->reserve(env, pfn, nframes);
}

/*
 * End the reservation of frames pfn .. pfn+nframes-1 (all reserved), so the
 * policy can map them (mos_env_map) or free them (mos_env_free). The frames
 * stay allocated. Errors, nothing changed: MOS_EINVAL (nframes 0, beyond
 * memory, a frame not reserved).
 */
static inline enum mos_status mos_env_unreserve(struct mos_env *env, uint64_t pfn,
						uint64_t nframes)
{
	return mos_env_services(env)->unreserve(env, pfn, nframes);
}

/* -------------------------------------------- named counters (ABI 2) */

/*
 * A counter of the policy's own, published as `name` in vmemu's report and
 * JSON ("policy counters", memory.policy_counters) and by
 * mos_policy_counter(): returns a pointer to its value (0 at first), which
 * the policy updates as it likes from its hooks; the pointer stays valid
 * until the machine is destroyed. The same name returns the same counter.
 * name: 1 .. MOS_POLICY_COUNTER_NAME_MAX characters of [A-Za-z0-9_.-]
 * (copied). NULL for a bad name or when MOS_POLICY_MAX_COUNTERS exist
 * already. Register them in init.
 */
static inline uint64_t *mos_env_counter(struct mos_env *env, const char *name)
{
	return mos_env_services(env)->counter(env, name);
}

/* ----------------------------------------------------------- host memory */

/*
 * Zeroed host memory for the policy's own bookkeeping, from the machine's
 * mos_allocator (never the program's heap), or NULL when refused (return
 * MOS_EHOST then). Free it with mos_env_host_free and the same size.
 */
static inline void *mos_env_host_zalloc(struct mos_env *env, size_t bytes)
{
	return mos_env_services(env)->host_zalloc(env, bytes);
}

/* Give back host memory from mos_env_host_zalloc; bytes as allocated. */
static inline void mos_env_host_free(struct mos_env *env, void *p, size_t bytes)
{
	mos_env_services(env)->host_free(env, p, bytes);
}

#endif
