#include "runtime/runtime.h"

#include <errno.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <mimicos/mimicos.h>
#include <numa.h>
#include <numaif.h>

#include "runtime/compat.h"
#include "runtime/config.h"
#include "runtime/ialloc.h"
#include "runtime/report.h"
#include "runtime/rt.h"
#include "runtime/swap.h"
#include "runtime/sampler.h"
#include "runtime/static_data.h"
#include "runtime/uffd.h"

#define PAGE 4096ull
#define GiB (1ull << 30)
#define UFFD_MSG_BATCH 64

__thread int vm_in_runtime __attribute__((tls_model("initial-exec")));
uintptr_t vm_heap_start, vm_heap_end;

struct vm_rt rt = { .uffd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

uint64_t vm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* write(2) all of buf to fd, ignoring errors: used where stdio is unsafe. */
void vm_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Print "vmemu: <msg>\n" on stderr without stdio (safe on any thread). */
void vm_msg(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + 7, sizeof buf - 8, fmt, ap);
	va_end(ap);
	memcpy(buf, "vmemu: ", 7);
	if (n < 0)
		n = 0;
	size_t len = 7 + ((size_t)n < sizeof buf - 9 ? (size_t)n : sizeof buf - 9);
	buf[len++] = '\n';
	vm_write_all(2, buf, len);
}

static _Noreturn void die2(const char *fmt, ...)
{
	char buf[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	vm_msg("%s", buf);
	_exit(2);
}

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* ---------------------------------------------------------------- faults */

/* Emulated OOM: report, then die the way the OOM killer kills (SIGKILL). */
static _Noreturn void emulated_oom(uint64_t addr)
{
	rt.oom = true;
	rt.oom_addr = addr;
	smp_restore_all(); /* the report must not fault on a page a sampler took */
	vm_msg("emulated OOM in pid %d: memory.size = %llu bytes (%llu frames) exhausted at "
	       "fault address %#llx; killing the process as the OOM killer would",
	       (int)getpid(), (unsigned long long)rt.cfg.memory_size,
	       (unsigned long long)(rt.cfg.memory_size / PAGE), (unsigned long long)addr);
	vm_report_write(); /* the lock is held: the report only reads */
	kill(getpid(), SIGKILL);
	_exit(137);
}

/*
 * A 2 MiB region MimicOS just turned into one huge page (a reservethp
 * promotion or a scan collapse): populate its subpages the host does not
 * have yet (present ones are skipped), then ask for a real THP. Called with
 * rt.lock held.
 */
void vm_populate_promoted(uint64_t start)
{
	struct uffd_fill fill = { 0 };
	smp_range_restore(start, 2ull << 20); /* pages a sampler took away come back first */
	if (vm_swap_enabled())
		vm_swapin_apply(); /* a collapse may have mapped swapped-out subpages */
	/* write-protected under wpscan: populating is not the program writing */
	int r = uffd_fill(rt.uffd, start, 2ull << 20, true, rt.wp_async, true, rt.zero_buf, rt.zero_len,
			  &fill);
	rt.st.pages_copied += fill.bytes_copied / PAGE;
	rt.st.pages_promoted_fill += fill.bytes_copied / PAGE;
	if (!r && !fill.vma_gone && rt.cfg.thp_host_backing)
		collapse_queue(start);
}

/*
 * Emulated NUMA node of the CPU this handler runs on. Handlers are pinned one
 * per CPU and the local one serves a fault, so this is the faulting
 * thread's CPU; host CPUs are divided evenly among the emulated nodes.
 */
static unsigned cpu_node(void)
{
	int cpu = sched_getcpu();
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	if (cpu < 0 || ncpu <= 0)
		return 0;
	return (unsigned)((uint64_t)cpu * rt.cfg.memory_nodes / (uint64_t)ncpu);
}

/*
 * On a host with several NUMA nodes, make the handler's next page
 * allocations (UFFDIO_COPY allocates as the calling thread) prefer the host
 * node matching the frame's emulated node. One set_mempolicy(2) per change.
 */
static void host_numa_prefer(uint64_t pfn)
{
	static __thread int current = -1;
	int node = mos_pfn_node(rt.mos, pfn);
	if (node < 0)
		return;
	node %= rt.host_numa;
	if (node == current)
		return;
	unsigned long mask = 1ul << node;
	if (set_mempolicy(MPOL_PREFERRED, &mask, sizeof mask * 8) == 0)
		current = node;
}

/* What kind of fault handle_fault resolved, for the latency histograms. */
enum fault_kind { FK_OTHER, FK_MINOR, FK_MAJOR, FK_SWAPCACHE, FK_WP, FK_SAMPLER };

/*
 * Swap: make room before a fault (direct reclaim below the min watermark,
 * kswapd below low) and after MimicOS ran out of frames. Returns the final
 * status of mos_fault.
 */
static enum mos_status fault_with_reclaim(uint64_t addr, bool write, struct mos_fault_result *res)
{
	bool below_min = false;
	if (vm_swap_enabled() && mos_reclaim_target(rt.mos, &below_min)) {
		if (below_min)
			vm_reclaim(32, true);
		vm_kswapd_kick();
	}
	enum mos_status st = mos_fault(rt.mos, addr, write, res);
	/* direct reclaim until the fault fits or nothing more can go */
	while (st == MOS_ENOMEM && vm_swap_enabled() && vm_reclaim(32, true))
		st = mos_fault(rt.mos, addr, write, res);
	return st;
}

/* Resolve one page fault; called with rt.lock held, on the handler thread.
 * FK_SAMPLER: an access sampler's trap (not a fault of the program). *woke:
 * when the waiting threads were woken, ns (left alone if not known); the
 * samplers' work after that (smp_populated, smp_fault) is not the fault's
 * service time: the woken thread runs meanwhile (bench/faultlat.sh saw
 * the same first-touch latency, ~7 us p50, in the program with and
 * without protect; counted in, protect's first-touch records added
 * ~0.45 us to the p50 of python3's faults; bench/RESULTS.md, session 9). */
static enum fault_kind handle_fault(const struct uffd_msg *msg, uint64_t *woke)
{
	uint64_t addr = msg->arg.pagefault.address & ~(PAGE - 1);
	bool write = msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE;
	uint32_t tid = msg->arg.pagefault.feat.ptid;
	struct uffd_fill fill = { 0 };
	enum fault_kind kind = FK_OTHER;
	bool woken = false; /* the waiting threads were woken already */
	uint64_t pfn;
	uint32_t shift;
	int r;

	if (smp_fault(msg->arg.pagefault.address, write, tid, woke))
		return FK_SAMPLER; /* a page a sampler took away: given back */
	if (msg->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		vm_swap_wp_fault(addr, true);
		return FK_WP;
	}

	if (mos_translate(rt.mos, addr, &pfn, &shift) == MOS_OK) {
		/* MimicOS has it mapped: another message for this page was
		 * resolved first (the fill finds it present), or MimicOS mapped
		 * it without asking the host to populate it yet (eagerpaging
		 * beyond eager.populate), or the host dropped the page without
		 * telling us. */
		r = uffd_fill(rt.uffd, addr, PAGE, write, false, true, rt.zero_buf, rt.zero_len, &fill);
		if (fill.pages_existed)
			rt.st.dup_faults++;
		else if (!fill.vma_gone)
			rt.st.premapped_faults++;
	} else {
		struct mos_fault_result res;
		if (rt.cfg.memory_nodes > 1)
			mos_set_cpu_node(rt.mos, cpu_node());
		uint64_t t0 = vm_now_ns();
		enum mos_status st = fault_with_reclaim(addr, write, &res);
		if (st == MOS_OK && rt.host_numa)
			host_numa_prefer(res.pfn);
		if (st == MOS_ENOMEM)
			emulated_oom(addr);
		if (st != MOS_OK) {
			/* MOS_ENOVMA: munmap raced this fault (the fill finds no VMA
			 * and wakes the thread into its SIGSEGV), or a registered range
			 * MimicOS does not know. Anything else: MimicOS could not get
			 * host memory for its bookkeeping. Either way populate the page
			 * so the program never hangs, and count it. */
			if (st != MOS_ENOVMA && !rt.st.mos_errors++)
				vm_msg("warning: MimicOS could not resolve %#llx: %s; page populated "
				       "unemulated", (unsigned long long)addr, mos_status_str(st));
			r = uffd_fill(rt.uffd, addr, PAGE, write, false, true, rt.zero_buf, rt.zero_len, &fill);
			if (!fill.vma_gone && !fill.pages_existed)
				rt.st.untracked_faults++;
		} else {
			kind = res.major ? FK_MAJOR : res.swapcache_hit ? FK_SWAPCACHE : FK_MINOR;
			if (vm_swap_enabled()) {
				/* swapped-out pages first: the zero fill skips them */
				uint64_t bytes = vm_swapin_apply();
				if (res.major)
					rt.st.major_inject_ns += vm_swapio_inject(
						&rt.swapio, false, bytes + res.readahead_pages * PAGE, t0);
			}
			/* An emulated 2 MiB page gets private pages even for a read (the
			 * kernel cannot collapse zero-page PTEs), then a real THP. A
			 * 1 GiB hugetlb page gets the zero page, read or write, in one
			 * UFFDIO_ZEROPAGE (~0.05 s here; a UFFDIO_COPY of 1 GiB took
			 * 0.26-2.4 s and 1 GiB of host memory per process): the host
			 * has no 1 GiB pages to collapse into anyway, and the kernel
			 * gives each page that is then written its own page (a native
			 * copy-on-write fault). */
			bool huge = res.page_shift == MOS_HPAGE_SHIFT;
			bool gig = res.page_shift == MOS_GPAGE_SHIFT;
			/* wpscan: pages populated beyond the faulting one are not
			 * written by the program; copy them write-protected (the
			 * faulting page too, then: its write costs one fault that
			 * the kernel resolves itself). One page for a write needs
			 * no protection: it is written at once. */
			bool wp = rt.wp_async && res.len > PAGE;
			/* tlbtrap takes the other pages away before anyone may
			 * touch them: the waiting threads wake after that */
			bool later = res.len > PAGE && smp_takes_populated();
			r = uffd_fill(rt.uffd, res.start, res.len, (write || huge) && !gig, wp, !later,
				      rt.zero_buf, rt.zero_len, &fill);
			if (!later && !r)
				*woke = vm_now_ns(); /* with swap, the uffd_wake below */
			if (res.promoted_len && !r)
				vm_populate_promoted(res.promoted_start); /* queues the collapse */
			else if (huge && !r && !fill.vma_gone && rt.cfg.thp_host_backing)
				collapse_queue(res.start);
			if (vm_swap_enabled() && !later) {
				uffd_wake(rt.uffd, addr, PAGE); /* swap-ins were copied without a wake */
				*woke = vm_now_ns();
				woken = true;
			}
			rt.st.faults++;
			smp_populated(msg->arg.pagefault.address, write, tid, res.start, res.len);
			if (later) {
				uffd_wake(rt.uffd, res.start, res.len);
				*woke = vm_now_ns();
				woken = true;
			}
			if (write)
				rt.st.faults_write++;
			else
				rt.st.faults_read++;
		}
	}
	rt.st.pages_zeropage += fill.bytes_zeropage / PAGE;
	rt.st.pages_copied += fill.bytes_copied / PAGE;
	if (r) {
		/* Never leave a thread blocked: wake it and say what happened. */
		rt.st.fill_errors++;
		if (!woken)
			uffd_wake(rt.uffd, addr, PAGE);
		if (rt.st.fill_errors == 1)
			vm_msg("warning: populating %#llx failed: %s", (unsigned long long)addr,
			       strerror(-r));
	}
	return kind;
}

/* The first handler's timer for the sampler's periodic work (a timerfd,
 * CLOCK_MONOTONIC like vm_now_ns): -1 until first needed. tick_at: when it
 * is set to fire (ns), 0 when it is not set. */
static int tick_fd = -1;
static uint64_t tick_at;
static bool tick_failed; /* timerfd failed once: poll timeouts from then on */

/* Set the timer to fire at `at` (ns, vm_now_ns; UINT64_MAX: never), unless
 * it already is: one timerfd_settime per round, not one timer per poll (a
 * poll with a timeout arms a timer at each sleep, and the first handler
 * sleeps after every fault: python3 building a list, ~49,000 faults in
 * ~0.7 s, spent ~48 ms more handler CPU that way; bench/RESULTS.md,
 * session 10).
 * Returns false when there is no timer (timerfd failed, now or before). */
static bool tick_arm(uint64_t at)
{
	if (tick_failed)
		return false;
	if (at == tick_at)
		return true;
	if (tick_fd < 0) {
		if (at == UINT64_MAX)
			return true;
		tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (tick_fd < 0) {
			tick_failed = true;
			return false;
		}
		tick_fd = vm_move_fd_high(tick_fd);
	}
	struct itimerspec its = { 0 }; /* all zero: disarmed */
	if (at != UINT64_MAX)
		its.it_value = (struct timespec){ (time_t)(at / 1000000000ull), (long)(at % 1000000000ull) };
	if (timerfd_settime(tick_fd, TFD_TIMER_ABSTIME, &its, NULL)) {
		tick_failed = true;
		return false;
	}
	tick_at = at;
	return true;
}

/* Sleep until the uffd is readable. The first handler (first) also wakes
 * when the sampler's periodic work is due, and runs it: a program that
 * stops faulting is still sampled (runtime/sampler.h, smp_wake_at_ns). */
static int wait_readable(bool first)
{
	struct pollfd p[2] = { { .fd = rt.uffd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
	for (;;) {
		int timeout = -1;
		p[1].fd = -1;
		if (first) {
			uint64_t at = smp_wake_at_ns(), now = vm_now_ns();
			if (at <= now) {
				smp_idle();
				continue;
			}
			if (tick_arm(at)) {
				p[1].fd = at == UINT64_MAX ? -1 : tick_fd;
			} else { /* no timerfd: a poll timeout instead */
				uint64_t ms = (at - now + 999999) / 1000000;
				timeout = ms < INT_MAX ? (int)ms : INT_MAX;
			}
		}
		int r = poll(p, 2, timeout);
		if (r < 0)
			return errno != EINTR ? -1 : 0;
		if (p[1].fd >= 0 && p[1].revents) {
			uint64_t expirations;
			if (p[1].revents & POLLNVAL) /* the program closed it: a new one next time */
				tick_fd = -1;
			else if (read(tick_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
				vm_msg("warning: reading the sampler's timer failed: %s", strerror(errno));
			tick_at = 0; /* fired (or gone): set again */
			smp_idle();
		} else if (r == 0) {
			smp_idle();
		}
		if (p[0].revents)
			return 0;
	}
}

/* Busy-poll the uffd for up to spin_ns: a fault arriving meanwhile is served
 * without the handler being woken from sleep (expensive across vCPUs). A
 * handler whose read finds nothing (another took the fault) runs the
 * sampler's periodic work if it is due (smp_idle). */
static ssize_t read_spinning(struct uffd_msg *msgs, size_t n, uint64_t spin_ns, bool first)
{
	uint64_t deadline = spin_ns ? vm_now_ns() + spin_ns : 0;
	for (;;) {
		/* without spinning, sleep first: after a batch the queue is
		 * usually empty, and a read that only says EAGAIN costs a syscall
		 * per fault */
		if (!spin_ns && wait_readable(first) < 0)
			return -1;
		ssize_t got = read(rt.uffd, msgs, n * sizeof *msgs);
		if (got > 0 || (errno != EAGAIN && errno != EINTR))
			return got;
		smp_idle();
		if (!spin_ns)
			continue;
		if (vm_now_ns() < deadline) {
			__builtin_ia32_pause();
			continue;
		}
		if (wait_readable(first) < 0)
			return -1;
		deadline = vm_now_ns() + spin_ns;
	}
}

locale_t vm_use_c_locale(void)
{
	static locale_t c;
	if (!c)
		c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	return uselocale(c ? c : LC_GLOBAL_LOCALE);
}

/* arg: the handler's index (uintptr_t); the first one also runs the
 * sampler's periodic work when the program does not fault (wait_readable). */
static void *handler_main(void *arg)
{
	const bool first = (uintptr_t)arg == 0;
	vm_in_runtime = 1; /* safety net: any malloc here uses the internal heap */
	vm_use_c_locale();
	prctl(PR_SET_NAME, "vmemu-uffd");
	struct uffd_msg msgs[UFFD_MSG_BATCH];
	const uint64_t spin_ns = rt.cfg.spin_us * 1000ull;

	for (;;) {
		ssize_t got = read_spinning(msgs, UFFD_MSG_BATCH, spin_ns, first);
		if (got < 0 && errno == EBADF) {
			/* The program closed every fd (close_range before exec, a
			 * daemon): the kernel unregistered our ranges with the last
			 * reference, so the process runs on natively. Say so. */
			pthread_mutex_lock(&rt.lock);
			if (!rt.stopped_ns) {
				rt.stopped_ns = vm_now_ns();
				snprintf(rt.stopped_why, sizeof rt.stopped_why,
					 "the program closed vmemu's userfaultfd (fd %d); "
					 "later faults were served natively", rt.uffd);
			}
			pthread_mutex_unlock(&rt.lock);
			smp_handlers_gone(); /* perf may still sample: its buffers are drained */
			return NULL;
		}
		if (got < 0) {
			vm_msg("fatal: reading userfaultfd failed: %s; the program cannot "
			       "continue under emulation", strerror(errno));
			kill(getpid(), SIGKILL);
			return NULL;
		}
		uint64_t t0 = vm_now_ns();
		size_t n = (size_t)got / sizeof msgs[0];
		pthread_mutex_lock(&rt.lock);
		rt.st.batches++;
		if (n > rt.st.max_batch)
			rt.st.max_batch = n;
		for (size_t i = 0; i < n; i++) {
			if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
				continue; /* no other events are enabled */
			uint64_t woke = 0;
			enum fault_kind k = handle_fault(&msgs[i], &woke);
			uint64_t dt = (woke ? woke : vm_now_ns()) - t0;
			if (k == FK_SAMPLER) {
				hist_add(&rt.st.latency_trap, dt);
				continue;
			}
			hist_add(&rt.st.latency, dt);
			if (k == FK_MINOR)
				hist_add(&rt.st.latency_minor, dt);
			else if (k == FK_MAJOR)
				hist_add(&rt.st.latency_major, dt);
			else if (k == FK_SWAPCACHE)
				hist_add(&rt.st.latency_swapcache, dt);
			else if (k == FK_WP)
				hist_add(&rt.st.latency_wp, dt);
		}
		pthread_mutex_unlock(&rt.lock);
		smp_served();
	}
	return NULL;
}

/* ---------------------------------------------------------------- setup */

/*
 * Start the handler threads. With runtime.handlers = 0, one per CPU the
 * process may run on (at most VM_MAX_HANDLERS), each pinned to its CPU: every
 * fault wakes all sleeping handlers, and the one on the faulting thread's CPU
 * runs at once, without the cross-CPU wake-up that costs ~50-90 us on a VM
 * (bench/RESULTS.md). Otherwise that many unpinned handlers.
 */
/*
 * Move the uffd to a high descriptor, out of the way of programs that dup2
 * onto low numbers (shells' `exec 3>file`): a file there would be read as
 * fault messages. Returns the new fd (the old one is closed).
 */
int vm_move_fd_high(int fd)
{
	struct rlimit rl;
	long lo = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		lo = (long)rl.rlim_cur - 64;
	if (lo < 64)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)lo);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

uint64_t vm_handlers_cpu_ns(void)
{
	uint64_t sum = 0;
	for (int i = 0; i < rt.nhandlers; i++) {
		clockid_t c;
		struct timespec ts;
		if (pthread_getcpuclockid(rt.handlers[i], &c) == 0 && clock_gettime(c, &ts) == 0)
			sum += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	return sum;
}

static void start_handlers(void)
{
	cpu_set_t allowed;
	int cpus[VM_MAX_HANDLERS], n = 0;
	bool pin = rt.cfg.handlers == 0;
	if (pin && sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
		for (int c = 0; c < CPU_SETSIZE && n < VM_MAX_HANDLERS; c++)
			if (CPU_ISSET(c, &allowed))
				cpus[n++] = c;
	}
	if (!pin || n == 0) {
		pin = false;
		n = rt.cfg.handlers ? (int)rt.cfg.handlers : 1;
	}

	sigset_t all, old;
	sigfillset(&all);
	/* Handlers must never run the program's signal handlers. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < n; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		if (pin) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpus[i], &one);
			pthread_attr_setaffinity_np(&attr, sizeof one, &one);
		}
		int r = pthread_create(&rt.handlers[i], &attr, handler_main, (void *)(uintptr_t)i);
		pthread_attr_destroy(&attr);
		if (r)
			die2("cannot start a fault handler thread: %s", strerror(r));
	}
	rt.nhandlers = n;
	rt.handlers_pinned = pin;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Managed ranges are registered for write-protect faults too when swap
 * tracks dirty pages (synchronous WP: the handler sees each first write) or
 * the uffd has WP_ASYNC for the written-page scan (the kernel resolves them).
 */
static bool register_wp(void)
{
	return vm_swap_enabled() || rt.wp_async;
}

/* Register every managed range with the current uffd. */
static void register_all(void)
{
	for (size_t i = 0; i < mos_vma_count(rt.mos); i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		int r = uffd_register(rt.uffd, v->start, v->end - v->start, register_wp());
		if (r)
			die2("cannot register [%#llx, %#llx) with userfaultfd: %s",
			     (unsigned long long)v->start, (unsigned long long)v->end, strerror(-r));
	}
}

/* The promotion scan runs for the policies that collapse regions. */
static bool scan_wanted(void)
{
	return rt.cfg.thp_scan_interval_ms &&
	       (!strcmp(rt.cfg.policy, "thp") || !strcmp(rt.cfg.policy, "reservethp"));
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&rt.lock);
	smp_restore_all(); /* the child inherits every page in place */
	vm_swap_atfork_prepare();
}

static void atfork_parent(void)
{
	vm_swap_atfork_parent();
	pthread_mutex_unlock(&rt.lock);
}

/*
 * The child of fork() without UFFD_FEATURE_EVENT_FORK has plain anonymous
 * memory where the parent had registered ranges, and no handler thread.
 * Re-arm it before it returns from fork: a new uffd, the same ranges, a new
 * handler. Its MimicOS is the parent's state at fork (the pages it
 * inherited are mapped); counters restart for its own report.
 */
static void atfork_child(void)
{
	vm_in_runtime++;
	pthread_mutex_init(&rt.lock, NULL);
	rt.parent_pid = rt.pid;
	rt.pid = getpid();
	rt.is_root = false; /* its report file gets its pid */
	rt.t_start_ns = vm_now_ns();
	memset(&rt.st, 0, sizeof rt.st);
	memset(&rt.collapse, 0, sizeof rt.collapse);
	rt.report_done = 0;
	smp_atfork_child();
	if (rt.emulated) {
		char why[1024];
		uint64_t features, enabled;
		close(rt.uffd);
		if (tick_fd >= 0) /* the child does not sample: no timer */
			close(tick_fd);
		tick_fd = -1;
		tick_at = 0;
		/* The child does not sample, so its uffd has no WP_ASYNC and its
		 * ranges no WP registration (unless swap): fork already cleared
		 * the uffd-wp bits of the PTEs it inherited, since the child's
		 * VMAs lose their userfaultfd context without EVENT_FORK. */
		rt.wp_async = false;
		rt.uffd = uffd_open(0, &features, &enabled, why, sizeof why);
		if (rt.uffd < 0)
			die2("fork child %d: %s", (int)rt.pid, why);
		rt.uffd = vm_move_fd_high(rt.uffd);
		register_all();
		vm_swap_atfork_child();
		start_handlers();
		/* only now: the worker must use the child's uffd, never the
		 * parent's (an ioctl on it would populate the parent) */
		collapse_init(scan_wanted());
	}
	vm_in_runtime--;
}

/*
 * heap.static_data: bring the program's .data/.bss under emulation (see
 * runtime/static_data.h). Runs in init, before main, with the handlers up:
 * each range is moved to anonymous memory (no other thread uses it yet),
 * registered, and its present pages are mapped in MimicOS as the fault
 * path maps a first touch, but counted apart (they are not faults of the
 * program). A range that cannot be moved stays unmanaged and is counted;
 * one whose mremap failed may have lost its contents: stop, before main.
 */
static void manage_static_data(void)
{
	static struct vm_static_range r[VM_STATIC_MAX];
	struct vm_static_scan scan;
	size_t n = vm_static_ranges(r, VM_STATIC_MAX, &scan);
	rt.st.static_objects = scan.objects;
	rt.st.static_skipped = scan.skipped;
	rt.st.static_failed = scan.overflow;
	for (size_t i = 0; i < n; i++) {
		size_t pages = r[i].len / PAGE;
		unsigned char *present = ialloc_zalloc(pages);
		bool lost = false;
		int e = present ? vm_static_to_anon(&r[i], present, &lost) : -ENOMEM;
		if (lost)
			die2("key 'heap.static_data': moving the data of %s [%#llx, %#llx) failed: %s",
			     r[i].name[0] ? r[i].name : "the program", (unsigned long long)r[i].start,
			     (unsigned long long)(r[i].start + r[i].len), strerror(-e));
		if (e) { /* left as it was: works natively */
			rt.st.static_failed++;
			ialloc_free(present);
			continue;
		}
		pthread_mutex_lock(&rt.lock);
		if (mos_vma_add(rt.mos, r[i].start, r[i].len, MOS_VMA_MMAP) != MOS_OK) {
			rt.st.static_failed++;
		} else if (uffd_register(rt.uffd, r[i].start, r[i].len, register_wp())) {
			mos_vma_remove(rt.mos, r[i].start, r[i].len);
			rt.st.static_failed++;
		} else {
			/* present is not written: wpscan starts clean. Only runs of
			 * present pages: on an absent one the kernel would leave a
			 * uffd-wp marker, which UFFDIO_ZEROPAGE refuses (EEXIST),
			 * so a read of it would fault for ever */
			for (size_t k = 0, run; rt.wp_async && k < pages; k += run + 1) {
				for (run = 0; k + run < pages && present[k + run]; run++)
					;
				if (run)
					uffd_writeprotect(rt.uffd, r[i].start + k * PAGE, run * PAGE, true);
			}
			for (size_t k = 0; k < pages; k++) {
				uint64_t addr = r[i].start + k * PAGE;
				uint64_t pfn;
				uint32_t shift;
				struct mos_fault_result res;
				if (!present[k] || mos_translate(rt.mos, addr, &pfn, &shift) == MOS_OK)
					continue;
				enum mos_status st = fault_with_reclaim(addr, true, &res);
				if (st == MOS_ENOMEM)
					emulated_oom(addr);
				if (st != MOS_OK)
					continue;
				/* a fault-around window or a 2 MiB page may reach
				 * absent pages: populate them as the fault path does */
				struct uffd_fill fill = { 0 };
				uffd_fill(rt.uffd, res.start, res.len, true, rt.wp_async, true, rt.zero_buf,
					  rt.zero_len, &fill);
				rt.st.pages_zeropage += fill.bytes_zeropage / PAGE;
				rt.st.pages_copied += fill.bytes_copied / PAGE;
				rt.st.static_pages++;
			}
			rt.st.static_ranges++;
			rt.st.static_bytes += r[i].len;
		}
		pthread_mutex_unlock(&rt.lock);
		ialloc_free(present);
	}
}

/* Reserve heap.reserve bytes of address space aligned to 1 GiB (mimalloc's
 * arena needs the alignment) without committing memory. */
static void reserve_heap(void)
{
	uint64_t len = rt.cfg.heap_reserve;
	len = (len + GiB - 1) & ~(GiB - 1);
	char *p = raw_mmap(NULL, len + GiB, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die2("key 'heap.reserve': cannot reserve %llu bytes of address space: %s",
		     (unsigned long long)len, strerror(errno));
	uintptr_t start = ((uintptr_t)p + GiB - 1) & ~(uintptr_t)(GiB - 1);
	if (start > (uintptr_t)p)
		syscall(SYS_munmap, p, start - (uintptr_t)p);
	uintptr_t tail = (uintptr_t)p + len + GiB - (start + len);
	if (tail)
		syscall(SYS_munmap, start + len, tail);
	vm_heap_start = start;
	vm_heap_end = start + len;
}

static void init_once_fn(void)
{
	char err[2048];
	vm_in_runtime++;
	rt.pid = getpid();
	rt.t_start_ns = vm_now_ns();

	vm_config_defaults(&rt.cfg);
	if (vm_config_from_env(&rt.cfg, err, sizeof err))
		die2("%s", err);

	/* The first process of a run writes the report file as named; every
	 * descendant adds its pid (see report.c). */
	const char *root = getenv("VMEMU_ROOT_PID");
	rt.is_root = !root || atoi(root) == (int)rt.pid;
	if (!root) {
		char pid[24];
		snprintf(pid, sizeof pid, "%d", (int)rt.pid);
		setenv("VMEMU_ROOT_PID", pid, 1);
	}

	/* WP_ASYNC is per uffd and makes the kernel resolve every write-protect
	 * fault itself, while swap needs them synchronous (a writer must block
	 * while its page is written out): only for wpscan without swap. */
	bool wpscan = (rt.cfg.sampler_sources & (1u << VM_SRC_WPSCAN)) && rt.cfg.swap_size == 0;
	uint64_t enabled = 0;
	rt.uffd = uffd_open(wpscan ? UFFD_FEATURE_WP_ASYNC : 0, &rt.uffd_features, &enabled,
			    rt.not_emulated_why, sizeof rt.not_emulated_why);
	if (rt.uffd < 0 && rt.cfg.fallback != VM_FALLBACK_NATIVE)
		die2("%s", rt.not_emulated_why);
	rt.emulated = rt.uffd >= 0;
	rt.wp_async = rt.emulated && (enabled & UFFD_FEATURE_WP_ASYNC);
	if (rt.emulated)
		rt.uffd = vm_move_fd_high(rt.uffd);

	struct mos_config mc;
	vm_mos_config(&rt.cfg, &mc);
	enum mos_status st;
	rt.mos = mos_create(&mc, &ialloc_mos_allocator, &st);
	if (!rt.mos)
		die2("cannot create the emulated machine (memory.size = %llu, mimicos.policy = "
		     "%s, mimicos.fault_around = %llu, hugetlb.nr_2m = %llu, hugetlb.nr_1g = %llu): %s",
		     (unsigned long long)rt.cfg.memory_size, rt.cfg.policy,
		     (unsigned long long)rt.cfg.fault_around, (unsigned long long)rt.cfg.hugetlb_nr_2m,
		     (unsigned long long)rt.cfg.hugetlb_nr_1g, mos_status_str(st));

	/* host NUMA: back emulated nodes on real ones only where there are
	 * several; otherwise placement is emulated only (the report says so) */
	rt.host_nodes = numa_available() < 0 ? 1 : numa_num_configured_nodes();
	if (rt.host_nodes < 1) /* libnuma not initialised yet this early */
		rt.host_nodes = 1;
	rt.host_numa = rt.cfg.memory_nodes > 1 && rt.host_nodes > 1 ? rt.host_nodes : 0;

	reserve_heap();
	if (mos_vma_add(rt.mos, vm_heap_start, vm_heap_end - vm_heap_start, vm_heap_vma_flags(&rt.cfg)))
		die2("cannot add the heap VMA to MimicOS");

	if (rt.emulated) {
		/* one UFFDIO_COPY per 2 MiB page or fault-around window */
		rt.zero_len = rt.cfg.fault_around * PAGE < (2u << 20) ? (2u << 20)
								      : rt.cfg.fault_around * PAGE;
		rt.zero_buf = ialloc_zalloc(rt.zero_len);
		if (!rt.zero_buf)
			die2("out of internal memory");
		register_all();
		if (vm_swap_init(err, sizeof err))
			die2("%s", err);
		start_handlers();
		collapse_init(scan_wanted());
		if (rt.cfg.heap_static_data)
			manage_static_data();
	}
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	smp_init(); /* never stops the program: the report says what did not start */
	vm_in_runtime--;
}

void vm_init(void)
{
	pthread_once(&init_once, init_once_fn);
}

bool vm_emulated(void)
{
	return rt.emulated;
}


/* ------------------------------------------------- address-space changes */

/* Index of the first managed VMA ending after addr (the count if none).
 * O(log VMAs): the VMAs are sorted and disjoint. */
static size_t first_vma_ending_after(uint64_t addr)
{
	size_t lo = 0, hi = mos_vma_count(rt.mos);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mos_vma_at(rt.mos, mid)->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does [start, start+len) overlap a managed VMA? Only the first one ending
 * after start can. */
static bool overlaps_managed(uint64_t start, uint64_t len)
{
	size_t i = first_vma_ending_after(start);
	return i < mos_vma_count(rt.mos) && mos_vma_at(rt.mos, i)->start < start + len;
}

static uint64_t page_up(uint64_t x) { return (x + PAGE - 1) & ~(PAGE - 1); }

/* Start managing a fresh mapping; called with rt.lock held. */
static void manage(uint64_t start, uint64_t len)
{
	if (mos_vma_add(rt.mos, start, len, MOS_VMA_MMAP) != MOS_OK) {
		rt.st.mmaps_unmanaged++;
		return;
	}
	if (rt.emulated) {
		int r = uffd_register(rt.uffd, start, len, register_wp());
		if (r) {
			/* Unregistered memory works natively; keep MimicOS truthful. */
			mos_vma_remove(rt.mos, start, len);
			rt.st.mmaps_unmanaged++;
			return;
		}
	}
	rt.st.mmaps_managed++;
}

/*
 * addr cuts a hugetlb VMA inside one of its pages (see mos_hugetlb_cuts);
 * counts the refusal. rt.lock held.
 */
static bool hugetlb_cut(uint64_t addr, bool morecore)
{
	if (!mos_hugetlb_cuts(rt.mos, addr, morecore))
		return false;
	rt.st.hugetlb_einval++;
	return true;
}

/*
 * The page shift an anonymous MAP_HUGETLB mmap asks for (Linux
 * ksys_mmap_pgoff -> hstate_sizelog): MAP_HUGE_2MB 21, MAP_HUGE_1GB 30, no
 * size the default huge page size (2 MiB on x86-64); 0 for any other size,
 * which the kernel answers itself (EINVAL).
 */
static unsigned hugetlb_shift_of(int flags)
{
	unsigned log = ((unsigned)flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
	return log == 0 || log == MOS_HPAGE_SHIFT ? MOS_HPAGE_SHIFT
						  : log == MOS_GPAGE_SHIFT ? MOS_GPAGE_SHIFT : 0;
}

/*
 * mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB) served by the emulated
 * pool, as Linux's hugetlbfs would: the length is rounded up to the page
 * size, the address is a multiple of it, and the pages are reserved now
 * (HugePages_Rsvd): ENOMEM when the pool has too few unreserved pages, as
 * on a host without them. The host backs it with plain anonymous memory
 * (no host hugetlb pages are needed), registered with userfaultfd; each
 * fault populates a whole page. MAP_NORESERVE is not honoured: pages are
 * reserved anyway (Linux would reserve nothing and SIGBUS on a fault the
 * pool cannot serve).
 */
static void *hugetlb_mmap(void *addr, size_t len, int prot, int flags, unsigned shift)
{
	uint64_t size = 1ull << shift, hlen = ((uint64_t)len + size - 1) & ~(size - 1);
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (len == 0 || hlen < len || (fixed && ((uintptr_t)addr & (size - 1)))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	int hflags = (flags & ~(MAP_HUGETLB | (MAP_HUGE_MASK << MAP_HUGE_SHIFT))) | MAP_NORESERVE;
	pthread_mutex_lock(&rt.lock);
	void *p = MAP_FAILED;
	int e = ENOMEM;
	if (mos_hugetlb_available(rt.mos, shift) < hlen >> shift) {
		rt.st.hugetlb_enomem++;
	} else if (fixed) {
		uint64_t a = (uintptr_t)addr;
		bool replaces = (flags & MAP_FIXED) && overlaps_managed(a, hlen); /* not NOREPLACE */
		if (replaces && (hugetlb_cut(a, true) || hugetlb_cut(a + hlen, true))) {
			e = EINVAL;
		} else {
			p = raw_mmap(addr, hlen, prot, hflags, -1, 0);
			e = errno;
			if (p != MAP_FAILED && replaces)
				mos_vma_remove(rt.mos, a, hlen);
		}
	} else { /* a page-aligned place: map one page more, trim both ends */
		char *q = raw_mmap(NULL, hlen + size, prot, hflags, -1, 0);
		e = errno;
		if (q != MAP_FAILED) {
			uintptr_t start = ((uintptr_t)q + size - 1) & ~(uintptr_t)(size - 1);
			if (start > (uintptr_t)q)
				syscall(SYS_munmap, q, start - (uintptr_t)q);
			if ((uintptr_t)q + size > start)
				syscall(SYS_munmap, start + hlen, (uintptr_t)q + size - start);
			p = (void *)start;
		}
	}
	if (p != MAP_FAILED) {
		uint32_t vf = MOS_VMA_MMAP | (shift == MOS_GPAGE_SHIFT ? MOS_VMA_HUGETLB_1G
									: MOS_VMA_HUGETLB_2M);
		if (mos_vma_add(rt.mos, (uintptr_t)p, hlen, vf) != MOS_OK) {
			syscall(SYS_munmap, p, hlen); /* cannot happen: checked above */
			p = MAP_FAILED;
			rt.st.hugetlb_enomem++;
		} else if (rt.emulated && uffd_register(rt.uffd, (uintptr_t)p, hlen, register_wp())) {
			mos_vma_remove(rt.mos, (uintptr_t)p, hlen); /* works natively, unemulated */
			rt.st.mmaps_unmanaged++;
		} else {
			rt.st.mmaps_managed++;
			rt.st.hugetlb_mmaps++;
		}
	}
	pthread_mutex_unlock(&rt.lock);
	if (p == MAP_FAILED)
		errno = e;
	return p;
}

void *vm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (rt.mos && rt.emulated && (flags & MAP_HUGETLB)) {
		unsigned shift = hugetlb_shift_of(flags);
		if ((flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE && shift)
			return hugetlb_mmap(addr, len, prot, flags, shift);
		pthread_mutex_lock(&rt.lock);
		rt.st.hugetlb_native++;
		pthread_mutex_unlock(&rt.lock);
	}
	bool manageable = (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
			  !(flags & (MAP_HUGETLB | MAP_GROWSDOWN | MAP_STACK)) &&
			  (prot & (PROT_READ | PROT_WRITE)) && len >= rt.cfg.heap_mmap_threshold;
	bool fixed = flags & MAP_FIXED;

	if (!rt.mos || (!manageable && !fixed))
		return raw_mmap(addr, len, prot, flags, fd, off);

	pthread_mutex_lock(&rt.lock);
	bool replaces = fixed && overlaps_managed((uintptr_t)addr, page_up(len));
	if (replaces && (hugetlb_cut((uintptr_t)addr, true) ||
			 hugetlb_cut((uintptr_t)addr + page_up(len), true))) {
		pthread_mutex_unlock(&rt.lock);
		errno = EINVAL; /* the implied munmap would split a hugetlb page */
		return MAP_FAILED;
	}
	void *p = raw_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED) {
		if (replaces) {
			smp_range_forget((uintptr_t)p, page_up(len));
			mos_vma_remove(rt.mos, (uintptr_t)p, page_up(len));
		}
		if (manageable)
			manage((uintptr_t)p, page_up(len));
	}
	pthread_mutex_unlock(&rt.lock);
	return p;
}

int vm_munmap(void *addr, size_t len)
{
	if (!rt.mos)
		return (int)syscall(SYS_munmap, addr, len);
	pthread_mutex_lock(&rt.lock);
	uint64_t a = (uintptr_t)addr;
	if (!(a & (PAGE - 1)) && overlaps_managed(a, page_up(len)) &&
	    (hugetlb_cut(a, true) || hugetlb_cut(a + page_up(len), true))) {
		pthread_mutex_unlock(&rt.lock);
		errno = EINVAL; /* Linux: munmap must not split a hugetlb page */
		return -1;
	}
	int r = (int)syscall(SYS_munmap, addr, len);
	int e = errno;
	if (r == 0 && overlaps_managed((uintptr_t)addr, page_up(len))) {
		smp_range_forget((uintptr_t)addr, page_up(len));
		mos_vma_remove(rt.mos, (uintptr_t)addr, page_up(len));
		rt.st.munmaps++;
	}
	pthread_mutex_unlock(&rt.lock);
	errno = e;
	return r;
}

void *vm_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	if (!rt.mos)
		return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	pthread_mutex_lock(&rt.lock);
	bool managed = overlaps_managed((uintptr_t)old, page_up(old_len));
	const struct mos_vma *hv = managed ? mos_vma_find(rt.mos, (uintptr_t)old) : NULL;
	unsigned hsh = hv ? mos_vma_hugetlb_shift(hv) : 0;
	if (hsh) { /* Linux's mremap of hugetlb: lengths rounded up, aligned, never growing */
		uint64_t mask = (1ull << hsh) - 1;
		old_len = (old_len + mask) & ~mask;
		new_len = (new_len + mask) & ~mask;
		if (((uintptr_t)old & mask) || ((flags & MREMAP_FIXED) && ((uintptr_t)new_addr & mask)) ||
		    new_len > old_len || !new_len) {
			rt.st.hugetlb_einval++;
			pthread_mutex_unlock(&rt.lock);
			errno = EINVAL;
			return MAP_FAILED;
		}
	}
	uint64_t na = (uintptr_t)new_addr;
	if ((flags & MREMAP_FIXED) && !(na & (PAGE - 1)) && overlaps_managed(na, page_up(new_len)) &&
	    (hugetlb_cut(na, true) || hugetlb_cut(na + page_up(new_len), true))) {
		pthread_mutex_unlock(&rt.lock); /* the target's munmap would split a hugetlb page */
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (managed) /* the pages move with the range: bring back what samplers took */
		smp_range_restore((uintptr_t)old, page_up(old_len));
	void *p = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
	int e = errno;
	if (p != MAP_FAILED && managed) {
		rt.st.mremaps++;
		uint64_t o = (uintptr_t)old, n = (uintptr_t)p;
		uint64_t ol = page_up(old_len), nl = page_up(new_len);
		if (mos_vma_move(rt.mos, o, ol, n, nl) != MOS_OK) {
			/* MimicOS could not follow (no frames for page tables): drop the
			 * old range and manage the new one afresh, so nothing hangs. */
			mos_vma_remove(rt.mos, o, ol);
			mos_vma_remove(rt.mos, n, nl);
			mos_vma_add(rt.mos, n, nl, MOS_VMA_MMAP);
			rt.st.mremap_resets++;
		}
		if (rt.emulated && uffd_register(rt.uffd, n, nl, register_wp()))
			mos_vma_remove(rt.mos, n, nl);
	}
	pthread_mutex_unlock(&rt.lock);
	errno = e;
	return p;
}

/*
 * Linux's madvise_dontneed_free_valid_vma for the hugetlb VMAs (not
 * MORECORE: the heap is not a hugetlb mapping of the program) that
 * [start, start+*len) touches: MADV_FREE (and MADV_REMOVE, which the host
 * refuses on private memory anyway) is EINVAL there; MADV_DONTNEED needs a
 * start aligned to the page size and has its end rounded down to it, in
 * *len. Returns 1 to go on, 0 when nothing is left to do (success), or
 * -EINVAL. rt.lock held.
 */
static int hugetlb_discard_range(uint64_t start, size_t *len, int advice)
{
	uint64_t end = start + page_up(*len);
	bool strict = false;
	for (size_t i = first_vma_ending_after(start); i < mos_vma_count(rt.mos); i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		if (v->start >= end)
			break;
		if (mos_vma_hugetlb_shift(v) && !(v->flags & MOS_VMA_HUGETLB_MORECORE))
			strict = true;
	}
	if (!strict)
		return 1;
	if (advice == MADV_FREE) {
		rt.st.hugetlb_einval++;
		return -EINVAL;
	}
	if (advice != MADV_DONTNEED)
		return 1;
	if (hugetlb_cut(start, false))
		return -EINVAL;
	const struct mos_vma *v = mos_vma_find(rt.mos, end - 1);
	unsigned sh = v ? mos_vma_hugetlb_shift(v) : 0;
	if (sh && !(v->flags & MOS_VMA_HUGETLB_MORECORE) && end < v->end)
		end &= ~((1ull << sh) - 1);
	if (end <= start)
		return 0;
	*len = end - start;
	return 1;
}

int vm_madvise(void *addr, size_t len, int advice)
{
	bool discard = advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE;
	bool thp = advice == MADV_HUGEPAGE || advice == MADV_NOHUGEPAGE;
	if (rt.mos && thp) {
		/* The emulated OS honours the advice; the host gets it too. */
		pthread_mutex_lock(&rt.lock);
		uint64_t a = (uintptr_t)addr;
		if (!(a & (PAGE - 1)) && overlaps_managed(a, page_up(len)) &&
		    (hugetlb_cut(a, true) || hugetlb_cut(a + page_up(len), true))) {
			pthread_mutex_unlock(&rt.lock);
			errno = EINVAL; /* the VMA split would split a hugetlb page */
			return -1;
		}
		int r = (int)syscall(SYS_madvise, addr, len, advice);
		int e = errno;
		if (r == 0 && overlaps_managed((uintptr_t)addr, page_up(len))) {
			enum mos_status st = mos_vma_advise(rt.mos, (uintptr_t)addr, page_up(len),
							    advice == MADV_HUGEPAGE ? MOS_ADV_HUGEPAGE
										: MOS_ADV_NOHUGEPAGE);
			if (st == MOS_OK || st == MOS_ENOVMA)
				rt.st.madvise_thp++;
		}
		pthread_mutex_unlock(&rt.lock);
		errno = e;
		return r;
	}
	if (!rt.mos || !discard)
		return (int)syscall(SYS_madvise, addr, len, advice);
	pthread_mutex_lock(&rt.lock);
	bool managed = overlaps_managed((uintptr_t)addr, page_up(len));
	if (managed && !((uintptr_t)addr & (PAGE - 1))) {
		int h = hugetlb_discard_range((uintptr_t)addr, &len, advice);
		if (h <= 0) {
			pthread_mutex_unlock(&rt.lock);
			if (h < 0)
				errno = -h;
			return h < 0 ? -1 : 0;
		}
	}
	if (managed && advice == MADV_FREE)
		advice = MADV_DONTNEED;
	int r = (int)syscall(SYS_madvise, addr, len, advice);
	int e = errno;
	if (r == 0 && managed) {
		smp_range_forget((uintptr_t)addr, page_up(len));
		mos_discard(rt.mos, (uintptr_t)addr, page_up(len));
		rt.st.madvise_discards++;
	}
	pthread_mutex_unlock(&rt.lock);
	errno = e;
	return r;
}

void vm_report_at_exit(void)
{
	/* A vfork child shares the parent's memory (and its fork handlers did
	 * not run): its _exit must leave the parent's report alone. */
	if (!rt.mos || getpid() != rt.pid)
		return;
	vm_in_runtime++;
	if (rt.cfg.report_bloat && rt.emulated && !__atomic_load_n(&rt.report_done, __ATOMIC_ACQUIRE))
		vm_measure_bloat(&rt.bloat); /* before the lock: it reads program memory */
	smp_stop(); /* models what is left in the sample ring; takes rt.lock itself */
	/* _exit from a signal handler may interrupt a thread holding the lock:
	 * wait up to a second for it, then report from the state as it is. */
	bool locked = false;
	for (int i = 0; i < 1000 && !(locked = pthread_mutex_trylock(&rt.lock) == 0); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	vm_report_write();
	if (locked)
		pthread_mutex_unlock(&rt.lock);
	vm_in_runtime--;
}
