/*
 * The written-page scan: sampler source `wpscan` (sampler.h lists the
 * others). Which managed pages the program wrote in each sampler interval,
 * at the cost of one PAGEMAP_SCAN ioctl per managed range per interval plus
 * one fault, resolved inside the kernel, at the first write to a page in an
 * interval.
 *
 * Mechanism: the runtime opens its userfaultfd with UFFD_FEATURE_WP_ASYNC
 * (only when wpscan is requested and swap is off: WP_ASYNC is per
 * userfaultfd, and swap-out needs synchronous write protection, a writer
 * blocking while its page is written out) and registers the managed ranges
 * MISSING | WP. A write to a page whose PTE carries the uffd-wp bit is then
 * resolved by the kernel, which clears the bit. Every interval_ms the
 * sampler's periodic work (on an idle fault handler) runs PAGEMAP_SCAN
 * (/proc/self/pagemap) over each managed VMA with PM_SCAN_WP_MATCHING: the
 * pages whose bit is clear are reported and protected again in the same
 * walk, under the page-table locks, so no write falls between the two. Each written 4 KiB page becomes one write
 * record (vaddr, store, tid 0, scan time) in the sampler ring: the stream
 * is one record per written page per interval, scale 1 (a complete scan,
 * not a sample). The model marks each such page referenced and dirty in
 * MimicOS (mos_page_access with is_write).
 *
 * What reads as written:
 * - pages mapping the shared zero page (a first-touch read; UFFDIO_ZEROPAGE
 *   cannot map write-protected) are not reported: a write to one is a
 *   copy-on-write that maps a new, unprotected page, which is;
 * - pages the runtime populates besides the faulting one (fault-around,
 *   2 MiB pages, promotions) are copied write-protected (runtime.c);
 * - protect and tlbtrap move pages out and back with UFFDIO_MOVE, which
 *   drops the uffd-wp bit: a page is scanned alone before it is taken away
 *   (written: a record now) and protected again when it comes back, before
 *   its waiters wake (wps_before_move, wps_after_move);
 * - unpopulated PTEs read as written to PAGEMAP_SCAN: only present (or
 *   host-swapped) pages are matched. Protecting an unpopulated PTE would
 *   leave a uffd-wp marker there, on which UFFDIO_ZEROPAGE fails with
 *   EEXIST: a read fault there would never be resolved. So nothing here
 *   write-protects a page that is not present.
 * - false positives left: a range moved by mremap reads as written once
 *   (the kernel clears the bits of a range moved without
 *   UFFD_FEATURE_EVENT_REMAP); a scan that runs between a page's move back
 *   and its protection reports it; a host THP is tracked whole (a write
 *   anywhere in it reports its 512 pages).
 *
 * Side effect on the host: khugepaged and MADV_COLLAPSE do not collapse a
 * range with write-protected PTEs, so thp.host_backing = collapse mostly
 * fails under wpscan (emulated page sizes are unaffected).
 */
#ifndef VMEMU_WPSCAN_H
#define VMEMU_WPSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/*
 * Start the scan (from smp_init, rt.lock not held): checks that the uffd
 * has WP_ASYNC and opens /proc/self/pagemap. Returns true when it runs;
 * false with the reason for the report in why (swap on, kernel lacks
 * WP_ASYNC or PAGEMAP_SCAN, pagemap cannot be opened).
 */
bool wps_start(char *why, size_t whylen);

/*
 * One interval, in the sampler's periodic work (one thread at a time; the
 * last by the sampler thread at exit), rt.lock not held: scan every managed
 * VMA, push one record per written page (smp_emit) and call
 * flush() after each ioctl's batch (at most 8192 pages) so the ring never
 * overflows on a large scan.
 */
void wps_round(void (*flush)(void));

/*
 * A sampler is about to move the pages [start, start + len) away with
 * UFFDIO_MOVE, which loses their uffd-wp bits (rt.lock held, any thread):
 * those written since the last scan are recorded now, and left protected.
 */
void wps_before_move(uint64_t start, uint64_t len);
/*
 * The pages [start, start + len) were moved back into place (rt.lock held),
 * present and not yet visible to their waiters: protect them again. The
 * caller wakes the waiters after.
 */
void wps_after_move(uint64_t start, uint64_t len);
/* fork(): in the child (the pagemap fd would scan the parent's pages). */
void wps_atfork_child(void);

/* One line for the report: what the source does, with the scan count. */
void wps_detail(char *buf, size_t len);

/* The human report's figures (indented lines after the source line). */
void wps_report_text(void (*out)(void *ctx, const char *fmt, ...), void *ctx);

/* The figures into the source's JSON object. */
void wps_report_json(struct cJSON *o);

#endif
