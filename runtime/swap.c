/*
 * Swap and reclaim in the live runtime: carries out MimicOS' eviction and
 * swap-in decisions on the program's real pages.
 *
 * Swap-out of a victim (rt.lock held throughout, so no fault on it is
 * resolved meanwhile): write-protect it with userfaultfd (a concurrent
 * writer blocks in a WP fault), write its contents from the program's own
 * pages to its slot with io_uring, MADV_DONTNEED it (the next access is a
 * MISSING fault), then tell MimicOS. The blocked writer's WP fault is
 * resolved after that by waking it: it retries, faults MISSING and the
 * swap-in brings its page back with the contents written before, after
 * which its own write lands. Swap-in: read the slots into a bounce buffer
 * and UFFDIO_COPY them in, write-protected when MimicOS keeps the slot as
 * the clean copy (the first write then arrives as a WP fault and drops it).
 *
 * Only pages the host has are read from: a victim that MimicOS maps but the
 * host never populated (eagerpaging beyond eager.populate) is written as
 * zeros, which is what the program would read.
 */
#include "runtime/swap.h"

#include <errno.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ialloc.h"
#include "runtime/rt.h"
#include "runtime/sampler.h"
#include "runtime/runtime.h"
#include "runtime/uffd.h"

#define PAGE 4096ull
#define HPAGE (2ull << 20)
#define BATCH 32          /* victims per reclaim pass (Linux SWAP_CLUSTER_MAX) */
#define RING_ENTRIES 256
#define KSWAPD_PERIOD_NS 10000000ull /* kswapd also checks the watermarks this often */

static struct {
	void *bounce;            /* swap-in buffer, >= 2 MiB */
	size_t bounce_len;
	pthread_cond_t kick;
	bool kswapd_running;
	int child_fd;            /* fork: the child's copy of the swap file */
	struct vm_swap_req *req; /* scratch for one batch */
	size_t req_cap;
	unsigned char *vec;      /* mincore scratch, 512 entries */
} sw = { .child_fd = -1 };

bool vm_swap_enabled(void)
{
	return rt.cfg.swap_size > 0 && rt.emulated;
}

static bool reserve_reqs(size_t n)
{
	if (n <= sw.req_cap)
		return true;
	struct vm_swap_req *r = ialloc_realloc(sw.req, n * sizeof *r);
	if (!r)
		return false;
	sw.req = r;
	sw.req_cap = n;
	return true;
}

/* --------------------------------------------------------------- swap-out */

/*
 * Evict the isolated victims v[0..n): write-protect, write, drop, finish.
 * Returns the bytes written (for the device model).
 */
static uint64_t evict(const struct mos_victim *v, size_t n)
{
	size_t nreq = 0;
	bool wp[BATCH] = { 0 }, queued[BATCH] = { 0 };
	uint64_t now = vm_now_ns();
	for (size_t i = 0; i < n; i++) {
		/* a page an access sampler took away is not resident: bring it
		 * back, or its contents would be written as zeros (or, clean,
		 * come back from the stash behind MimicOS' back) */
		smp_range_restore(v[i].vaddr, v[i].len);
		/* a clean victim needs no protection: its copy is valid and a
		 * write to it already blocks in a WP fault */
		if (!v[i].write)
			continue;
		wp[i] = uffd_writeprotect(rt.uffd, v[i].vaddr, v[i].len, true) == 0;
		size_t pages = v[i].len / PAGE;
		if (!wp[i] || !reserve_reqs(nreq + pages))
			continue; /* not written: finished as failed below, stays resident */
		queued[i] = true;
		memset(sw.vec, 0, pages);
		if (mincore((void *)(uintptr_t)v[i].vaddr, v[i].len, sw.vec))
			memset(sw.vec, 0, pages); /* not while rt.lock keeps munmap out */
		for (size_t p = 0; p < pages; p++) {
			bool have = sw.vec[p] & 1;
			void *src = have ? (void *)(uintptr_t)(v[i].vaddr + p * PAGE) : rt.zero_buf;
			uint64_t off = (v[i].slot + p) * PAGE;
			struct vm_swap_req *last = nreq ? &sw.req[nreq - 1] : NULL;
			if (have && last && last->buf != rt.zero_buf &&
			    (char *)last->buf + last->len == src && last->off + last->len == off) {
				last->len += PAGE; /* contiguous in memory and in the file */
				continue;
			}
			sw.req[nreq++] = (struct vm_swap_req){ src, off, (uint32_t)PAGE };
		}
	}
	int err = vm_swapio_rw(&rt.swapio, true, sw.req, nreq, NULL);
	uint64_t bytes = 0;
	for (size_t i = 0; i < nreq; i++)
		bytes += sw.req[i].len;
	for (size_t i = 0; i < n; i++) {
		/* any write error fails the whole batch: simple, and nothing is
		 * dropped whose copy is not known to be in its slot */
		bool ok = !v[i].write || (queued[i] && !err);
		if (ok)
			ok = syscall(SYS_madvise, (void *)(uintptr_t)v[i].vaddr, v[i].len,
				     MADV_DONTNEED) == 0;
		if (!ok && wp[i])
			uffd_writeprotect(rt.uffd, v[i].vaddr, v[i].len, false);
		mos_reclaim_finish(rt.mos, &v[i], ok, now);
		if (ok)
			rt.st.pages_swapped_out += v[i].len / PAGE;
		else
			rt.st.swapout_failures++;
	}
	if (err && !rt.st.swap_io_warned++)
		vm_msg("warning: writing to the swap file failed: %s; pages stay resident",
		       strerror(-err));
	return bytes;
}

uint64_t vm_reclaim(uint64_t frames, bool direct)
{
	if (!vm_swap_enabled())
		return 0;
	struct mos_victim v[BATCH];
	uint64_t evicted = 0;
	while (evicted < frames) {
		uint64_t want = frames - evicted;
		size_t n = mos_reclaim_isolate(rt.mos, want, vm_now_ns(), v,
					       want < BATCH ? (size_t)want : BATCH);
		if (!n)
			break;
		uint64_t t0 = vm_now_ns();
		uint64_t bytes = evict(v, n);
		for (size_t i = 0; i < n; i++)
			evicted += v[i].len / PAGE;
		if (direct && bytes) /* the faulting thread waits for the device */
			vm_swapio_inject(&rt.swapio, true, bytes, t0);
		else if (bytes)
			rt.swap_pending_inject += bytes;
	}
	if (direct)
		rt.st.direct_reclaims++;
	return evicted;
}

/* ---------------------------------------------------------------- swap-in */

uint64_t vm_swapin_apply(void)
{
	struct mos_swapin in[64];
	size_t n;
	uint64_t bytes = 0;
	while ((n = mos_swapin_pending(rt.mos, in, 64)) > 0) {
		for (size_t i = 0; i < n;) {
			/* a run of consecutive pages in consecutive slots, same mode */
			size_t j = i + 1;
			while (j < n && in[j].vaddr == in[j - 1].vaddr + PAGE &&
			       in[j].slot == in[j - 1].slot + 1 && in[j].keep_clean == in[i].keep_clean &&
			       (j - i + 1) * PAGE <= sw.bounce_len)
				j++;
			uint32_t len = (uint32_t)((j - i) * PAGE);
			struct vm_swap_req q = { sw.bounce, in[i].slot * PAGE, len };
			int r = vm_swapio_rw(&rt.swapio, false, &q, 1, NULL);
			if (r) {
				/* the contents are lost: never hand out zeros silently */
				vm_msg("fatal: reading swap slot %llu for %#llx failed: %s",
				       (unsigned long long)in[i].slot, (unsigned long long)in[i].vaddr,
				       strerror(-r));
				kill(getpid(), SIGKILL);
			}
			int c = uffd_copy(rt.uffd, in[i].vaddr, sw.bounce, len, in[i].keep_clean);
			if (c && c != -ENOENT && !rt.st.fill_errors++)
				vm_msg("warning: swap-in of %#llx failed: %s", (unsigned long long)in[i].vaddr,
				       strerror(-c));
			rt.st.pages_swapped_in += j - i;
			bytes += len;
			i = j;
		}
	}
	mos_swapin_done(rt.mos);
	return bytes;
}

void vm_swap_wp_fault(uint64_t addr, bool write)
{
	rt.st.wp_faults++;
	mos_page_access(rt.mos, addr, write, vm_now_ns());
	/* unprotecting wakes the writer; a page evicted meanwhile is simply
	 * absent, and the retry takes a MISSING fault */
	uffd_writeprotect(rt.uffd, addr, PAGE, false);
}

/* ----------------------------------------------------------------- kswapd */

static void *kswapd(void *arg)
{
	(void)arg;
	vm_in_runtime = 1;
	vm_use_c_locale();
	prctl(PR_SET_NAME, "vmemu-kswapd");
	pthread_mutex_lock(&rt.lock);
	for (;;) {
		uint64_t target = mos_reclaim_target(rt.mos, NULL);
		if (!target) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += (long)KSWAPD_PERIOD_NS;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&sw.kick, &rt.lock, &ts);
			continue;
		}
		rt.st.kswapd_runs++;
		uint64_t t0 = vm_now_ns();
		uint64_t got = vm_reclaim(target < BATCH ? target : BATCH, false);
		uint64_t bytes = rt.swap_pending_inject;
		rt.swap_pending_inject = 0;
		pthread_mutex_unlock(&rt.lock);
		/* background writeback takes device time, but only kswapd waits */
		if (bytes)
			vm_swapio_inject(&rt.swapio, true, bytes, t0);
		pthread_mutex_lock(&rt.lock);
		if (!got) {
			/* nothing evictable (swap full, all pinned): wait for change */
			rt.st.kswapd_stalls++;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&sw.kick, &rt.lock, &ts);
		}
	}
	return NULL;
}

void vm_kswapd_kick(void)
{
	if (sw.kswapd_running)
		pthread_cond_signal(&sw.kick);
}

static void start_kswapd(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&sw.kick, &a);
	pthread_condattr_destroy(&a);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	sw.kswapd_running = pthread_create(&t, NULL, kswapd, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ------------------------------------------------------------------ setup */

int vm_swap_init(char *err, size_t errlen)
{
	if (!vm_swap_enabled())
		return 0;
	if (!(rt.uffd_features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		snprintf(err, errlen, "key 'swap.size': swap needs userfaultfd write-protection "
			 "(UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux 5.7+), which this kernel lacks");
		return -1;
	}
	struct vm_swap_device dev = {
		rt.cfg.swap_device, rt.cfg.swap_read_latency_ns, rt.cfg.swap_write_latency_ns,
		rt.cfg.swap_read_bw, rt.cfg.swap_write_bw,
	};
	if (vm_swapio_open(&rt.swapio, rt.cfg.swap_file, rt.cfg.swap_size, &dev, RING_ENTRIES, err,
			   errlen))
		return -1;
	sw.bounce_len = HPAGE;
	sw.bounce = ialloc_zalloc(sw.bounce_len);
	sw.vec = ialloc_zalloc(512);
	if (!sw.bounce || !sw.vec || !reserve_reqs(BATCH * 4)) {
		snprintf(err, errlen, "out of internal memory for swap buffers");
		return -1;
	}
	start_kswapd();
	return 0;
}

void vm_swap_atfork_prepare(void)
{
	/* rt.lock is held: no I/O is in flight. The child gets its own copy of
	 * the swap file, so neither process overwrites slots the other reads. */
	sw.child_fd = -1;
	if (!vm_swap_enabled())
		return;
	struct mos_stats s;
	mos_get_stats(rt.mos, &s);
	if (!s.swap_used)
		sw.child_fd = vm_swapio_clone_fd(&rt.swapio, 0);
	else
		sw.child_fd = vm_swapio_clone_fd(&rt.swapio, rt.cfg.swap_size);
}

void vm_swap_atfork_parent(void)
{
	if (sw.child_fd >= 0)
		close(sw.child_fd);
	sw.child_fd = -1;
}

void vm_swap_atfork_child(void)
{
	if (!vm_swap_enabled())
		return;
	if (sw.child_fd < 0 || vm_swapio_adopt(&rt.swapio, sw.child_fd, RING_ENTRIES)) {
		vm_msg("fatal: fork child %d could not get its own swap file", (int)getpid());
		_exit(137);
	}
	sw.child_fd = -1;
	/* the child's pages lost their write protection with the fork */
	mos_swap_forget_clean(rt.mos);
	start_kswapd();
}
