/*
 * Allocation policies (internal to MimicOS).
 *
 * A policy decides, on each fault, which frames back the faulting address,
 * at which page size, and how many neighbouring pages to map at once; and
 * it frees what it allocated when a range is unmapped. It works on the
 * machine's shared state (struct mos_env: buddy allocator, page table,
 * configuration). The core (mimicos.c) handles everything policy-independent:
 * VMA lookup, refaults, statistics, moving mappings on mremap, and freeing
 * empty page-table pages on munmap.
 *
 * Policies are found by name in a static table (mos_policy_find). Reclaim and
 * per-policy statistics slots will be added with the first policy that needs
 * them.
 */
#ifndef MIMICOS_POLICY_H
#define MIMICOS_POLICY_H

#include "buddy.h"
#include "pagetable.h"

/* The emulated machine state a policy works on. */
struct mos_env {
	struct mos_allocator alloc;  /* host memory for bookkeeping */
	struct buddy buddy;          /* emulated physical memory */
	struct pt pt;                /* the process' page table */
	uint32_t fault_around_pages; /* cfg: pages considered per fault, power of two */
};

struct mos_policy {
	const char *name; /* as given in the config: "baseline" */

	/*
	 * Set up the policy's private state in *state (may stay NULL).
	 * Errors: MOS_EHOST.
	 */
	enum mos_status (*init)(struct mos_env *env, void **state);

	/*
	 * Resolve a fault at vaddr inside vma, where no leaf maps vaddr yet:
	 * allocate frames, map them, and describe in *out (refault = false) the
	 * page-aligned range [start, start+len) inside vma that is now mapped and
	 * was unmapped before, including vaddr's page; out->pfn is the 4 KiB
	 * frame backing vaddr. Errors: MOS_ENOMEM with nothing changed (no frame
	 * for data or page-table pages), MOS_EHOST.
	 */
	enum mos_status (*fault)(void *state, struct mos_env *env, const struct mos_vma *vma,
				 uint64_t vaddr, bool is_write, struct mos_fault_result *out);

	/*
	 * Unmap every page in [start, end) (page aligned) and free the frames
	 * this policy allocated for it. Page-table pages stay. Returns the number
	 * of 4 KiB pages unmapped.
	 */
	uint64_t (*free_range)(void *state, struct mos_env *env, uint64_t start, uint64_t end);

	/* Release the private state (the machine is being destroyed). May be NULL. */
	void (*fini)(void *state, struct mos_env *env);
};

/* Built-in policies. */
extern const struct mos_policy mos_policy_baseline;

/* The built-in policy called name, or NULL. */
const struct mos_policy *mos_policy_find(const char *name);

#endif
