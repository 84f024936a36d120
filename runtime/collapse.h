/*
 * Real huge-page backing for emulated 2 MiB pages: once a 2 MiB region is
 * fully populated, a worker thread asks the kernel to back it with a
 * transparent huge page (madvise MADV_COLLAPSE, Linux 6.1+). A collapse
 * costs milliseconds (it allocates and copies 2 MiB; ~6 ms measured here),
 * so it never runs on the fault path: regions are queued and the worker
 * collapses them in order, like khugepaged. Whether the host can back a
 * region is reported, never assumed.
 */
#ifndef VMEMU_COLLAPSE_H
#define VMEMU_COLLAPSE_H

#include <stdbool.h>
#include <stdint.h>

/* Counters; read under rt.lock. */
struct collapse_stats {
	uint64_t queued;     /* regions handed to the worker */
	uint64_t collapsed;  /* MADV_COLLAPSE succeeded: really backed by a THP */
	uint64_t failed;     /* the kernel refused (errno in last_errno) */
	uint64_t dropped;    /* queue full: region left on 4 KiB host pages */
	int last_errno;
};

/*
 * Set up (at init, and again in a fork child, whose worker did not survive
 * the fork). With scan, start the worker now: it also runs the MimicOS
 * promotion scan (mos_scan) every thp.scan_interval_ms over thp.scan_pages
 * pages, populating and collapsing the regions it promotes. Without, the
 * worker starts on the first queued region.
 */
void collapse_init(bool scan);

/*
 * Queue the 2 MiB-aligned region at start for collapse; the first call
 * starts the worker thread. Called with rt.lock held (on the handler path);
 * never blocks. Regions are dropped and counted when the queue is full.
 */
void collapse_queue(uint64_t start);

#endif
