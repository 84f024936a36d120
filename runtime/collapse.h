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

#include <stdint.h>

/* Counters; read under rt.lock. */
struct collapse_stats {
	uint64_t queued;     /* regions handed to the worker */
	uint64_t collapsed;  /* MADV_COLLAPSE succeeded: really backed by a THP */
	uint64_t failed;     /* the kernel refused (errno in last_errno) */
	uint64_t dropped;    /* queue full: region left on 4 KiB host pages */
	int last_errno;
};

/* In a fork child: forget the parent's queue and worker (started again on
 * the child's first queued region). */
void collapse_after_fork(void);

/*
 * Queue the 2 MiB-aligned region at start for collapse; the first call
 * starts the worker thread. Called with rt.lock held (on the handler path);
 * never blocks. Regions are dropped and counted when the queue is full.
 */
void collapse_queue(uint64_t start);

#endif
