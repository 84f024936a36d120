#include "runtime/collapse.h"

#include <errno.h>
#include <pthread.h>
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
} q = { .cond = PTHREAD_COND_INITIALIZER };

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

static void *worker(void *arg)
{
	(void)arg;
	vm_in_runtime = 1;
	prctl(PR_SET_NAME, "vmemu-collapse");
	pthread_mutex_lock(&rt.lock);
	for (;;) {
		while (q.head == q.tail)
			pthread_cond_wait(&q.cond, &rt.lock);
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

void collapse_after_fork(void)
{
	/* the worker did not survive the fork; the parent's queue is the
	 * parent's business */
	q.head = q.tail = 0;
	q.running = 0;
	pthread_cond_init(&q.cond, NULL);
}
