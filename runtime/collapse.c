#include "runtime/collapse.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/compat.h"
#include "runtime/rt.h"
#include "runtime/runtime.h"

#define QUEUE 4096 /* regions: 8 GiB of 2 MiB pages in flight */
#define HPAGE (2ull << 20)

static struct {
	pthread_cond_t cond;  /* signalled under rt.lock when work arrives */
	uint64_t ring[QUEUE];
	unsigned head, tail;  /* guarded by rt.lock */
	int running;
	int scan;             /* the worker also runs mos_scan periodically */
} q;

/* The condition variable waits on CLOCK_MONOTONIC, like vm_now_ns. */
static void init_cond(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&q.cond, &a);
	pthread_condattr_destroy(&a);
}

static void *worker(void *arg);

static void start_worker(void)
{
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	q.running = pthread_create(&t, NULL, worker, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void collapse_queue(uint64_t start)
{
	if (!q.running)
		start_worker(); /* first 2 MiB page of the process */
	if (!q.running || q.tail - q.head >= QUEUE) {
		rt.collapse.dropped++;
		return;
	}
	q.ring[q.tail++ % QUEUE] = start;
	rt.collapse.queued++;
	pthread_cond_signal(&q.cond);
}

/* One promotion scan (rt.lock held): regions MimicOS collapsed are
 * populated and queued for a real THP. */
static void scan(void)
{
	struct mos_range got[64];
	size_t n = mos_scan(rt.mos, rt.cfg.thp_scan_pages, got, 64);
	rt.st.scans++;
	for (size_t i = 0; i < n && i < 64; i++)
		vm_populate_promoted(got[i].start);
}

static void *worker(void *arg)
{
	(void)arg;
	vm_in_runtime = 1;
	vm_use_c_locale();
	prctl(PR_SET_NAME, "vmemu-khugepaged");
	pthread_mutex_lock(&rt.lock);
	uint64_t period = q.scan ? rt.cfg.thp_scan_interval_ms * 1000000ull : 0;
	uint64_t next_scan = vm_now_ns() + period;
	for (;;) {
		while (q.head == q.tail) {
			if (!period) {
				pthread_cond_wait(&q.cond, &rt.lock);
				continue;
			}
			if (vm_now_ns() >= next_scan) {
				scan();
				next_scan = vm_now_ns() + period;
				continue;
			}
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t wait = next_scan - vm_now_ns();
			ts.tv_sec += (time_t)(wait / 1000000000ull);
			ts.tv_nsec += (long)(wait % 1000000000ull);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&q.cond, &rt.lock, &ts);
		}
		uint64_t start = q.ring[q.head++ % QUEUE];
		/* the collapse itself runs unlocked: faults go on meanwhile */
		pthread_mutex_unlock(&rt.lock);
		long r = syscall(SYS_madvise, (void *)(uintptr_t)start, HPAGE, MADV_COLLAPSE);
		int e = errno;
		pthread_mutex_lock(&rt.lock);
		if (r == 0) {
			rt.collapse.collapsed++;
		} else {
			rt.collapse.failed++;
			rt.collapse.last_errno = e;
		}
	}
	return NULL;
}

void collapse_init(bool scan)
{
	/* after a fork the worker is gone and the parent's queue is the
	 * parent's business */
	q.head = q.tail = 0;
	q.running = 0;
	q.scan = scan;
	init_cond();
	if (scan)
		start_worker();
}
