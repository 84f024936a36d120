/*
 * Access sampling: the live runtime's access path (DESIGN.md "The two data
 * paths", 2). Samplers turn some of the program's memory accesses into
 * records (vaddr, load/store, tid, time) in a lock-free ring (runtime/ring.h);
 * the periodic work (smp_idle, on an idle fault handler) drains the ring,
 * asks MimicOS for each record's translation (mos_translate +
 * mos_walk_path under rt.lock, a batch per hold) and feeds one tlbmodel
 * instance per source, the same API replay uses. Figures are scaled by each
 * source's sampling factor in the report.
 *
 * Sources ([sampler] source = a comma list):
 *   protect  DAMON / Thermostat style: every interval_ms a random sample
 *            (fraction `rate`) of the resident managed pages is made
 *            inaccessible; the first access to each (load or store, from
 *            the program or from the kernel on its behalf, e.g. read(2) into
 *            the page) is a sample, and the page is given back at once.
 *            Scale: 1 / rate. (SeongJae Park, DAMON, Documentation/
 *            admin-guide/mm/damon/; Agarwal & Wenisch, "Thermostat",
 *            ASPLOS 2017.)
 *   tlbtrap  BadgerTrap style (Gandhi et al., "BadgerTrap: a tool to
 *            instrument x86-64 TLB misses", CAN 2014), from user space:
 *            every managed page not in an emulated FIFO last-level TLB of
 *            4 KiB entries is inaccessible: the machine's last level as the
 *            model routes 4 KiB pages (tlb_llt_geometry / tlb_llt_set: its
 *            sets and ways, a FIFO per set), or, with tlb_entries = N, one
 *            fully associative FIFO of N entries. Each trap is an emulated
 *            TLB miss: the page enters its set and the set's oldest page is
 *            made inaccessible again. The exact miss stream of that TLB over
 *            managed memory (first touches included); each record is one
 *            STLB miss and one walk. Scale: 1. Set sampling (set_rate < 1,
 *            machine geometry only): a uniform random subset of
 *            round(set_rate x sets) sets is emulated, pages of the other
 *            sets are never taken away, and each record counts for
 *            sets / sets emulated: the exact miss stream of the sampled
 *            sets, scaled (Kessler, Hill & Wood, "A comparison of
 *            trace-sampling techniques for multi-megabyte caches", IEEE
 *            Trans. Computers 43(6), 1994).
 *   perf     perf_event_open(2) with PERF_SAMPLE_ADDR: precise memory events
 *            where a PMU offers them (Intel cpu/mem-loads/ and
 *            cpu/mem-stores/, AMD ibs_op), else the software page-fault
 *            event (PERF_COUNT_SW_PAGE_FAULTS), one sample per perf_period
 *            events. Scale: perf_period.
 *   wpscan   every interval_ms, the pages written since the last interval
 *            (userfaultfd async write protection + PAGEMAP_SCAN; see
 *            runtime/wpscan.h): one write record per written page per
 *            interval. Scale: 1. Not with swap.
 *
 * Mechanism of protect and tlbtrap: a page is made inaccessible by moving
 * its host page out of the managed range with UFFDIO_MOVE (Linux 6.8,
 * UFFD_FEATURE_MOVE) into a private stash region registered with the same
 * userfaultfd; the next access is an ordinary userfaultfd MISSING fault,
 * which the fault handler gives to smp_fault(): the page is moved back
 * (zero copy) and the thread woken. PROT_NONE + SIGSEGV was not used:
 * a system call that reads or writes a PROT_NONE page (read(2) into a heap
 * buffer, glibc stdio's internal reads included) fails with EFAULT instead
 * of faulting, which changes the program's behaviour; a missing page in a
 * registered range is resolved by userfaultfd for kernel accesses too.
 * Moving needs no VMA split, so vm.max_map_count does not limit tlbtrap.
 *
 * Locking: everything that moves pages or touches the stash table runs with
 * rt.lock held, as the fault handler does, so a fault on a stashed page
 * always finds it. The producer side of the ring is lock-free.
 */
#ifndef VMEMU_SAMPLER_H
#define VMEMU_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/*
 * Start the configured sources and the sampler thread (after MimicOS, the
 * heap and the userfaultfd exist; rt.lock not held). The thread only waits
 * for smp_stop: the periodic work runs on the fault handlers (smp_idle). A
 * source that cannot start is recorded with the reason for the report; the
 * program always runs. No-op with source = none.
 */
void smp_init(void);

/*
 * The sampler's periodic work (every sampler.interval_ms: protect's round,
 * wpscan's scan, draining the perf buffers and the sample ring) runs on the
 * fault handlers, which are awake anyway, instead of a thread woken by a
 * timer. Each call runs the work if it is due and no other thread is at it;
 * no-op when no source runs. Call without rt.lock.
 *
 * smp_idle: a handler's read found no message (another handler took the
 * fault) or its timer fired at smp_wake_at_ns.
 * smp_served: a handler served a batch; runs the work when it is half an
 * interval late (no handler was idle meanwhile), or at once when there is
 * a single handler (runtime.handlers = 1: faults wait while it runs).
 */
void smp_idle(void);
void smp_served(void);

/*
 * The handlers have stopped (the program closed vmemu's userfaultfd): from
 * then on the sampler thread drains the perf buffers and the ring every
 * 1 ms (perf keeps sampling; no more rounds: the fd is gone).
 */
void smp_handlers_gone(void);

/*
 * When a handler should wake to run the periodic work if no fault wakes
 * it, in CLOCK_MONOTONIC ns (vm_now_ns): half an interval after the next
 * round is due (handlers that serve faults run it on time), or the next
 * perf drain; a quarter interval on when it is due but another thread runs
 * it; an interval on while smp_init has not finished. UINT64_MAX when
 * there is none. One handler sets a timer there (runtime.c,
 * wait_readable), so that a program that stops faulting is still sampled
 * (an interval apart on average: a late round does not delay the next);
 * it calls smp_idle when the timer fires.
 */
uint64_t smp_wake_at_ns(void);

/*
 * A userfaultfd MISSING fault at page `addr` (rt.lock held, handler thread).
 * Returns true when the page was one the samplers had taken away: it is back,
 * the waiting threads are woken (*woke: then, ns) and the access is
 * recorded; false otherwise (the caller resolves the fault as usual). tid:
 * faulting thread (0 unknown).
 */
bool smp_fault(uint64_t addr, bool write, uint32_t tid, uint64_t *woke);

/*
 * MimicOS resolved a fault at `addr` and the host populated [start,
 * start+len) (rt.lock held). protect: the first touch is a record of
 * weight 1 (the page could not be armed before it existed). tlbtrap: a
 * first touch is a TLB miss; the other populated pages are not in the
 * emulated TLB and are taken away (those of the emulated sets only, under
 * set sampling, and the first touch is a record only there).
 */
void smp_populated(uint64_t addr, bool write, uint32_t tid, uint64_t start, uint64_t len);

/*
 * Whether smp_populated takes populated pages other than the faulting one
 * away (tlbtrap runs): the caller then populates without waking the
 * waiting threads and wakes them after smp_populated, so that no thread
 * touches such a page before it is gone (a TLB miss the emulated TLB would
 * not see).
 */
bool smp_takes_populated(void);

/*
 * Put every page the samplers took from [start, start+len) back in place
 * (rt.lock held): before the range is moved (mremap), populated by the
 * runtime (a promotion), or the process forks.
 */
void smp_range_restore(uint64_t start, uint64_t len);

/*
 * The contents of [start, start+len) are gone (munmap, MAP_FIXED over it,
 * madvise DONTNEED/FREE/REMOVE; rt.lock held): drop the stashed copies so a
 * later fault there is a fresh zero page, as the program asked.
 */
void smp_range_forget(uint64_t start, uint64_t len);

/*
 * Put every stashed page back (rt.lock held): before fork (the child
 * inherits complete memory) and before a report written under rt.lock (its
 * formatting may read program memory, e.g. the locale glibc keeps in the
 * managed heap: a fault there with the lock held would deadlock).
 */
void smp_restore_all(void);

/* fork(): in the child: sampling does not run there (the report says so). */
void smp_atfork_child(void);

/*
 * Stop the sampler thread, model what is left in the ring, finish the
 * recorded trace and give every stashed page back; no page is taken away
 * after it. Called before the report, without rt.lock. Idempotent.
 */
void smp_stop(void);

/* Append the human report's sampler section (rt.lock held or quiescent). */
void smp_report_text(void (*out)(void *ctx, const char *fmt, ...), void *ctx);

/* Add the "sampler" object to the JSON report. */
void smp_report_json(struct cJSON *root);

/*
 * For a source kept in its own file (wpscan.c): push one record for source
 * src (enum vm_sampler_source) into the ring; any thread, lock-free. vaddr
 * is a byte address, now CLOCK_MONOTONIC ns, tid 0 when unknown.
 */
void smp_emit(unsigned src, uint64_t vaddr, bool write, uint32_t tid, uint64_t now);

#endif
