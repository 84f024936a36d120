#include "runtime/wpscan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <mimicos/mimicos.h>

#include "runtime/compat.h"
#include "runtime/ialloc.h"
#include "runtime/rt.h"
#include "runtime/runtime.h"
#include "runtime/sampler.h"
#include "runtime/swap.h"
#include "runtime/uffd.h"

#define PAGE 4096ull
#define VEC_LEN 256       /* runs per ioctl */
#define MAX_PAGES 8192    /* pages per ioctl: the ring (65536) is drained between */

/* A managed range to scan, copied from MimicOS' VMAs under rt.lock. */
struct range {
	uint64_t start, end;
};

static struct {
	int fd;                    /* /proc/self/pagemap; -1 = not running */
	struct page_region *vec;   /* the scan's output buffer */
	struct range *ranges;      /* the scan's copy of the VMAs */
	size_t ranges_cap;
	/* the scans (one thread at a time) */
	uint64_t scans;
	uint64_t pages_walked;     /* virtual pages of the ranges scanned, holes included */
	uint64_t pages_written;    /* written pages found (each protected again) */
	uint64_t written_max;      /* most in one scan */
	uint64_t scan_ns, scan_ns_max;
	uint64_t errors;           /* ioctls that failed */
	int last_errno;
	/* rt.lock */
	uint64_t written_at_move;  /* written pages found when a sampler took them away */
	uint64_t protected_after_move;
	uint64_t protect_failed;
} W = { .fd = -1 };

/*
 * One PAGEMAP_SCAN of [start, end) into vec (n runs, at most max_pages
 * pages): the present or host-swapped pages whose PTE has no uffd-wp bit
 * (written since protected, or populated unprotected), the zero page
 * excepted (never written in place), are reported and write-protected
 * again. Returns the runs found (also after an error:
 * the runs the kernel wrote before it), *err = 0 or errno, and *next =
 * where to go on (end when the range is done).
 */
static size_t scan_written(uint64_t start, uint64_t end, struct page_region *vec, size_t n,
			   uint64_t max_pages, uint64_t *next, int *err)
{
	struct pm_scan_arg a = {
		.size = sizeof a,
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = n,
		.max_pages = max_pages,
		.category_mask = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
		.category_inverted = PAGE_IS_PFNZERO,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};
	memset(vec, 0, n * sizeof *vec);
	long r = ioctl(W.fd, PAGEMAP_SCAN, &a);
	*err = r < 0 ? errno : 0;
	*next = a.walk_end > start ? a.walk_end : end; /* no progress: give the range up */
	if (r >= 0)
		return (size_t)r;
	size_t k = 0; /* on an error the count is lost: the runs written are non-empty */
	while (k < n && vec[k].end > vec[k].start)
		k++;
	return k;
}

/* One write record per 4 KiB page of the runs; returns the pages. */
static uint64_t emit_runs(const struct page_region *vec, size_t n, uint64_t now)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < n; i++)
		for (uint64_t p = vec[i].start; p < vec[i].end; p += PAGE, pages++)
			smp_emit(VM_SRC_WPSCAN, p, true, 0, now);
	return pages;
}

bool wps_start(char *why, size_t whylen)
{
	if (vm_swap_enabled()) {
		snprintf(why, whylen, "swap is on (swap.size > 0): UFFD_FEATURE_WP_ASYNC is per "
			 "userfaultfd and resolves write-protect faults in the kernel, but swap-out "
			 "needs them synchronous (a writer blocks while its page is written out)");
		return false;
	}
	if (!(rt.uffd_features & UFFD_FEATURE_WP_ASYNC)) {
		snprintf(why, whylen, "the kernel lacks userfaultfd's async write protection "
			 "(UFFD_FEATURE_WP_ASYNC, Linux 6.4)");
		return false;
	}
	if (!rt.wp_async) {
		snprintf(why, whylen, "UFFDIO_API refused UFFD_FEATURE_WP_ASYNC");
		return false;
	}
	W.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (W.fd < 0) {
		snprintf(why, whylen, "cannot open /proc/self/pagemap: %s", strerror(errno));
		return false;
	}
	W.fd = vm_move_fd_high(W.fd); /* as the uffd: away from the program's dup2 */
	/* a query without flags or output tells whether the ioctl exists */
	struct pm_scan_arg a = { .size = sizeof a, .start = vm_heap_start, .end = vm_heap_start };
	if (ioctl(W.fd, PAGEMAP_SCAN, &a) < 0)
		snprintf(why, whylen, "the kernel lacks the PAGEMAP_SCAN ioctl (Linux 6.7): %s",
			 strerror(errno));
	else if (!(W.vec = ialloc_malloc(VEC_LEN * sizeof *W.vec)))
		snprintf(why, whylen, "out of internal memory for the scan");
	else
		return true;
	close(W.fd);
	W.fd = -1;
	return false;
}

/* Copy the managed VMAs (rt.lock held); returns how many. */
static size_t copy_ranges(void)
{
	size_t n = mos_vma_count(rt.mos);
	if (n > W.ranges_cap) {
		struct range *r = ialloc_realloc(W.ranges, n * 2 * sizeof *r);
		if (r) {
			W.ranges = r;
			W.ranges_cap = n * 2;
		} else {
			n = W.ranges_cap; /* out of internal memory: scan those that fit */
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		W.ranges[i] = (struct range){ v->start, v->end };
	}
	return n;
}

void wps_round(void (*flush)(void))
{
	if (W.fd < 0 || __atomic_load_n(&rt.stopped_ns, __ATOMIC_RELAXED))
		return; /* stopped: the program closed the uffd, nothing is protected */
	/* The ioctl runs without rt.lock, so faults are served meanwhile. A
	 * range unmapped since the copy is a hole to the walk; one replaced by
	 * an unmanaged mapping fails with EPERM (CHECK_WPASYNC) and waits for
	 * the next round's copy. */
	pthread_mutex_lock(&rt.lock);
	size_t n = copy_ranges();
	pthread_mutex_unlock(&rt.lock);
	uint64_t dt = 0, found = 0; /* time in the ioctls, not in flush() */
	for (size_t i = 0; i < n; i++) {
		W.pages_walked += (W.ranges[i].end - W.ranges[i].start) / PAGE;
		for (uint64_t at = W.ranges[i].start; at < W.ranges[i].end;) {
			int err;
			uint64_t t0 = vm_now_ns();
			size_t k = scan_written(at, W.ranges[i].end, W.vec, VEC_LEN, MAX_PAGES, &at, &err);
			uint64_t t1 = vm_now_ns();
			dt += t1 - t0;
			found += emit_runs(W.vec, k, t1);
			if (err) {
				W.errors++;
				W.last_errno = err;
				break;
			}
			if (k)
				flush();
		}
	}
	W.scans++;
	W.pages_written += found;
	if (found > W.written_max)
		W.written_max = found;
	W.scan_ns += dt;
	if (dt > W.scan_ns_max)
		W.scan_ns_max = dt;
}

void wps_before_move(uint64_t start, uint64_t len)
{
	struct page_region runs[32]; /* a range of n pages has at most n/2 + 1 written runs */
	for (uint64_t p = start, end = start + len; p < end;) {
		uint64_t next;
		int err;
		size_t k = scan_written(p, end, runs, 32, (end - p) / PAGE, &next, &err);
		W.written_at_move += emit_runs(runs, k, vm_now_ns());
		if (err || next <= p)
			break;
		p = next;
	}
}

void wps_after_move(uint64_t start, uint64_t len)
{
	if (uffd_writeprotect(rt.uffd, start, len, true) == 0)
		W.protected_after_move += len / PAGE;
	else
		W.protect_failed += len / PAGE; /* they read as written at the next scan */
}

void wps_atfork_child(void)
{
	if (W.fd >= 0)
		close(W.fd);
	W.fd = -1;
}

void wps_detail(char *buf, size_t len)
{
	snprintf(buf, len, "PAGEMAP_SCAN of the managed ranges every %llu ms with "
		 "UFFD_FEATURE_WP_ASYNC (%llu scans)",
		 (unsigned long long)rt.cfg.sampler_interval_ms, (unsigned long long)W.scans);
}

static double per_scan(uint64_t x)
{
	return W.scans ? (double)x / (double)W.scans : 0;
}

void wps_report_text(void (*out)(void *ctx, const char *fmt, ...), void *ctx)
{
	out(ctx, "           stream: one write record per written 4 KiB page per interval "
		 "(a complete scan, not a sample)\n");
	out(ctx, "           written pages %llu: %llu found by the scans (mean %.1f, max %llu per "
		 "scan), %llu when protect/tlbtrap took them away\n",
	    (unsigned long long)(W.pages_written + W.written_at_move),
	    (unsigned long long)W.pages_written, per_scan(W.pages_written),
	    (unsigned long long)W.written_max, (unsigned long long)W.written_at_move);
	out(ctx, "           %.0f pages walked per scan (the managed ranges, holes included)\n",
	    per_scan(W.pages_walked));
	out(ctx, "           scan time %.3f ms total, %.1f us per scan (max %.1f us); "
		 "scan errors %llu%s%s (measured)\n",
	    (double)W.scan_ns / 1e6, per_scan(W.scan_ns) / 1e3, (double)W.scan_ns_max / 1e3,
	    (unsigned long long)W.errors, W.errors ? ": " : "",
	    W.errors ? strerror(W.last_errno) : "");
	out(ctx, "           pages write-protected again: %llu by the scans, %llu after "
		 "protect/tlbtrap moved them back (failed %llu)\n",
	    (unsigned long long)W.pages_written, (unsigned long long)W.protected_after_move,
	    (unsigned long long)W.protect_failed);
}

void wps_report_json(cJSON *o)
{
	cJSON_AddStringToObject(o, "stream", "one write record per written 4 KiB page per interval");
	cJSON_AddNumberToObject(o, "interval_ms", (double)rt.cfg.sampler_interval_ms);
	cJSON_AddNumberToObject(o, "scans", (double)W.scans);
	cJSON_AddNumberToObject(o, "pages_walked", (double)W.pages_walked);
	cJSON_AddNumberToObject(o, "pages_written", (double)(W.pages_written + W.written_at_move));
	cJSON_AddNumberToObject(o, "written_by_scans", (double)W.pages_written);
	cJSON_AddNumberToObject(o, "written_at_move", (double)W.written_at_move);
	cJSON_AddNumberToObject(o, "written_per_scan_mean", per_scan(W.pages_written));
	cJSON_AddNumberToObject(o, "written_per_scan_max", (double)W.written_max);
	cJSON_AddNumberToObject(o, "scan_ns", (double)W.scan_ns);
	cJSON_AddNumberToObject(o, "scan_ns_per_scan", per_scan(W.scan_ns));
	cJSON_AddNumberToObject(o, "scan_ns_max", (double)W.scan_ns_max);
	cJSON_AddNumberToObject(o, "scan_errors", (double)W.errors);
	cJSON_AddStringToObject(o, "scan_error", W.errors ? strerror(W.last_errno) : "");
	cJSON_AddNumberToObject(o, "reprotected_by_scans", (double)W.pages_written);
	cJSON_AddNumberToObject(o, "reprotected_after_move", (double)W.protected_after_move);
	cJSON_AddNumberToObject(o, "reprotect_failed", (double)W.protect_failed);
}
