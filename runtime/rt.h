/*
 * Private state of the live runtime, shared by runtime.c and report.c.
 * Everything here is guarded by rt.lock unless noted.
 */
#ifndef VMEMU_RT_H
#define VMEMU_RT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mimicos/mimicos.h>

#include "runtime/bloat.h"
#include "runtime/collapse.h"
#include "runtime/config.h"
#include "runtime/hist.h"
#include "runtime/swapio.h"

/* Counters measured or counted by the runtime (MimicOS keeps its own). */
struct vm_stats {
	uint64_t faults;           /* faults MimicOS resolved */
	uint64_t faults_read;
	uint64_t faults_write;
	uint64_t pages_zeropage;   /* pages populated with the zero page */
	uint64_t pages_copied;     /* pages populated with private zeroed pages */
	uint64_t dup_faults;       /* messages for a page already populated */
	uint64_t premapped_faults; /* pages MimicOS had mapped, host had not (eager, lost) */
	uint64_t pages_promoted_fill; /* pages populated when a region was promoted */
	uint64_t madvise_thp;      /* MADV_HUGEPAGE/NOHUGEPAGE on managed memory */
	uint64_t scans;            /* promotion scans run */
	uint64_t untracked_faults; /* registered pages outside MimicOS' VMAs */
	uint64_t fill_errors;      /* unexpected populate errors (thread woken) */
	uint64_t mos_errors;       /* faults MimicOS failed on for host reasons */
	uint64_t batches;          /* uffd reads that returned messages */
	uint64_t max_batch;        /* most messages in one read */
	uint64_t mmaps_managed;    /* program mmaps brought under emulation */
	uint64_t mmaps_unmanaged;  /* manageable mmaps that could not be */
	uint64_t munmaps;          /* munmaps that touched managed memory */
	/* heap.static_data (runtime/static_data.h) */
	uint64_t static_objects;   /* loaded objects seen at start */
	uint64_t static_skipped;   /* of those, the runtime's own and its dependencies */
	uint64_t static_ranges;    /* data segments managed */
	uint64_t static_bytes;     /* their size */
	uint64_t static_pages;     /* their pages present at start, mapped in MimicOS */
	uint64_t static_failed;    /* data segments left unmanaged (mincore/mmap/register) */
	uint64_t mremaps;          /* mremaps of managed memory */
	uint64_t mremap_resets;    /* mremaps MimicOS could not follow */
	uint64_t madvise_discards; /* DONTNEED/FREE/REMOVE on managed memory */
	struct hist latency;       /* fault service time, ns (read -> woken) */
	/* swap and reclaim (issue 4) */
	struct hist latency_minor; /* first-touch / zero-fill faults */
	struct hist latency_major; /* faults that read from swap */
	struct hist latency_swapcache; /* faults served from the swap cache */
	struct hist latency_wp;    /* write-protect faults (dirty tracking) */
	struct hist latency_trap;  /* access-sampler traps (page given back), not program faults */
	uint64_t pages_swapped_out, pages_swapped_in;
	uint64_t swapout_failures; /* victims put back (write or drop failed) */
	uint64_t swap_io_warned;
	uint64_t direct_reclaims;  /* reclaim passes on the fault path */
	uint64_t kswapd_runs, kswapd_stalls;
	uint64_t wp_faults;
	uint64_t major_inject_ns;  /* device read time injected on major faults */
	uint64_t hugetlb_mmaps;    /* MAP_HUGETLB mmaps served from the emulated pools */
	uint64_t hugetlb_enomem;   /* MAP_HUGETLB mmaps refused: pool short (ENOMEM, as Linux) */
	uint64_t hugetlb_einval;   /* munmap/mremap/madvise refused: would split a hugetlb page */
	uint64_t hugetlb_native;   /* MAP_HUGETLB mmaps left to the kernel (shared, odd sizes) */
};

#define VM_MAX_HANDLERS 8

struct vm_rt {
	struct vm_config cfg;
	pthread_mutex_t lock;
	struct mos *mos;
	int uffd;                  /* moved to a high descriptor number */
	uint64_t uffd_features;    /* the kernel's supported UFFD_FEATURE_* bits */
	bool wp_async;             /* the uffd has UFFD_FEATURE_WP_ASYNC: managed ranges are
				    * registered for WP and written pages are tracked
				    * (sampler.source = wpscan, runtime/wpscan.h) */
	bool emulated;             /* false: fallback = native after uffd refused */
	int host_nodes;            /* NUMA nodes of the host (libnuma) */
	int host_numa;             /* >0: back emulated nodes on this many host nodes */
	char not_emulated_why[1024];
	pthread_t handlers[VM_MAX_HANDLERS];
	int nhandlers;
	bool handlers_pinned;      /* one per CPU, pinned */
	void *zero_buf;            /* zeroed source for UFFDIO_COPY */
	size_t zero_len;
	pid_t pid, parent_pid;     /* parent_pid != 0: a fork child */
	bool is_root;              /* first process of the run */
	uint64_t t_start_ns;
	uint64_t stopped_ns;       /* != 0: emulation stopped then (fd closed) */
	char stopped_why[160];
	bool oom;
	uint64_t oom_addr;
	int report_done;
	struct vm_stats st;
	struct collapse_stats collapse;
	struct bloat bloat;        /* measured at exit when report.bloat = on */
	struct vm_swapio swapio;   /* swap file and ring (swap.size > 0) */
	uint64_t swap_pending_inject; /* bytes kswapd wrote, device time not yet waited */
};

extern struct vm_rt rt;

/* Populate a region MimicOS promoted to 2 MiB and queue its collapse
 * (rt.lock held). */
void vm_populate_promoted(uint64_t start);

/* CLOCK_MONOTONIC in ns. */
uint64_t vm_now_ns(void);
/* Print "vmemu: <formatted>\n" to stderr with write(2) only. */
void vm_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write all of buf to fd with write(2), ignoring errors. */
void vm_write_all(int fd, const char *buf, size_t len);
/* Move a runtime descriptor above the program's usual range (near
 * RLIMIT_NOFILE), close-on-exec; returns the new fd, or fd if it cannot. */
int vm_move_fd_high(int fd);
/* CPU time the fault handler threads have used so far (user + system, ns;
 * their thread CPU clocks): what serving faults, and the samplers' work
 * they run, cost the machine. Handlers that have exited are not counted. */
uint64_t vm_handlers_cpu_ns(void);

#endif
