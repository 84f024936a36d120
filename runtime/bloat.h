/*
 * Bloat: memory the emulated OS mapped and the host populated but the
 * program never wrote. Measured once at exit by reading every page MimicOS
 * has mapped that is resident on the host and checking whether it is still
 * all zero (a page written with zeros counts as unwritten). Reads go through
 * mincore(2) and process_vm_readv(2) without the runtime lock, so a page
 * another thread unmaps meanwhile is skipped instead of crashing, and the
 * scan never faults pages in. Cost: one read of the resident mapped memory.
 */
#ifndef VMEMU_BLOAT_H
#define VMEMU_BLOAT_H

#include <stdbool.h>
#include <stdint.h>

struct bloat {
	bool measured;
	uint64_t pages_checked; /* mapped in MimicOS and resident on the host */
	uint64_t pages_zero;    /* of those, all zero at exit: never written */
	uint64_t pages_absent;  /* mapped in MimicOS, not resident (eager, premapped) */
	uint64_t phys_ranges;   /* physically contiguous runs over all VMAs */
};

/* Measure into out (called at exit with rt.lock NOT held). */
void vm_measure_bloat(struct bloat *out);

#endif
