#include "runtime/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ialloc.h"
#include "runtime/rt.h"
#include "runtime/runtime.h"
#include "runtime/sampler.h"

#define PAGE 4096ull

/*
 * cJSON allocates through malloc; every caller of this file runs with
 * vm_in_runtime set, so the preload serves those from the internal heap.
 */

struct buf {
	char *p;
	size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 8192) + (size_t)n;
		char *np = ialloc_realloc(b->p, cap);
		if (!np)
			return;
		b->p = np;
		b->cap = cap;
	}
}

/* bprintf for callers that get a (ctx, fmt, ...) printer. */
static void bprintf_ctx(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf_ctx(void *ctx, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	bprintf(ctx, "%s", tmp);
}

void vm_report_path(const char *path, int pid, int is_root, char *out, size_t len)
{
	const char *pct = strstr(path, "%p");
	if (pct)
		snprintf(out, len, "%.*s%d%s", (int)(pct - path), path, pid, pct + 2);
	else if (is_root)
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%s.%d", path, pid);
}

static void write_file(const char *path, const char *data, size_t len)
{
	char real[VM_PATH_MAX + 32];
	vm_report_path(path, (int)rt.pid, rt.is_root, real, sizeof real);
	int fd = open(real, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		vm_msg("cannot write report %s: %s", real, strerror(errno));
		return;
	}
	vm_write_all(fd, data, len);
	close(fd);
}

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static void hist_line(struct buf *b, const char *what, const struct hist *h)
{
	if (h->count)
		bprintf(b, "  %-22s p50 %llu ns   p99 %llu ns   max %llu ns   mean %llu ns   (n = %llu)\n",
			what, (unsigned long long)hist_quantile(h, 0.50),
			(unsigned long long)hist_quantile(h, 0.99), (unsigned long long)h->max,
			(unsigned long long)(h->sum / h->count), (unsigned long long)h->count);
}

/* Swap and reclaim: emulated counts (MimicOS), measured I/O, injected time. */
static void human_swap(struct buf *b, const struct mos_stats *ms)
{
	const struct vm_stats *s = &rt.st;
	const struct vm_swapio_stats *io = &rt.swapio.st;
	bprintf(b, "\n-- swap and reclaim (emulated: %.0f MiB memory, %.0f MiB swap on %s, "
		   "reclaim %s) --\n",
		mib(rt.cfg.memory_size), mib(rt.cfg.swap_size), rt.cfg.swap_device,
		rt.cfg.reclaim_policy);
	bprintf(b, "  swap-outs             %12llu  pages (%llu written, %llu clean dropped without a "
		   "write; %llu 2 MiB whole, %llu THP splits)\n",
		(unsigned long long)ms->swapouts, (unsigned long long)ms->swapout_writes,
		(unsigned long long)ms->swapout_clean, (unsigned long long)ms->thp_swapout,
		(unsigned long long)ms->thp_swap_split);
	bprintf(b, "  swap-ins              %12llu  pages; major faults %llu, minor from the swap "
		   "cache %llu\n",
		(unsigned long long)ms->swapins, (unsigned long long)ms->major_faults,
		(unsigned long long)ms->swapcache_hits);
	bprintf(b, "  readahead             %12llu  pages (useful %llu, wasted %llu, in cache now %llu)\n",
		(unsigned long long)ms->readahead_pages, (unsigned long long)ms->readahead_hits,
		(unsigned long long)ms->readahead_wasted, (unsigned long long)ms->swapcache_frames);
	bprintf(b, "  reclaim               %12llu  units scanned, %llu chosen, %llu put back; %llu "
		   "direct reclaims, %llu kswapd passes; watermarks min/low/high %llu/%llu/%llu "
		   "frames\n",
		(unsigned long long)ms->reclaim_scanned, (unsigned long long)ms->reclaim_isolated,
		(unsigned long long)ms->reclaim_putback, (unsigned long long)s->direct_reclaims,
		(unsigned long long)s->kswapd_runs, (unsigned long long)ms->wmark_min,
		(unsigned long long)ms->wmark_low, (unsigned long long)ms->wmark_high);
	bprintf(b, "  refaults              %12llu  (distance <= resident frames: %llu; distance "
		   "histogram log2:",
		(unsigned long long)ms->workingset_refaults,
		(unsigned long long)ms->workingset_activate);
	for (unsigned k = 0; k < 16; k++)
		if (ms->refault_distance[k])
			bprintf(b, " 2^%u:%llu", k, (unsigned long long)ms->refault_distance[k]);
	bprintf(b, ")\n");
	bprintf(b, "  swap used             %12llu  slots now, peak %llu of %llu%s\n",
		(unsigned long long)ms->swap_used, (unsigned long long)ms->swap_used_peak,
		(unsigned long long)ms->swap_slots,
		ms->swap_full ? " (swap was full)" : "");
	bprintf(b, "  swap I/O (measured)   %12.1f MiB written, %.1f MiB read, %llu ms in io_uring "
		   "(%llu errors)\n",
		mib(io->bytes_written), mib(io->bytes_read), (unsigned long long)(io->io_ns / 1000000),
		(unsigned long long)io->io_errors);
	bprintf(b, "  device time injected  %12llu  ms (major faults waited %llu ms; write-protect "
		   "faults %llu)\n",
		(unsigned long long)(io->injected_ns / 1000000),
		(unsigned long long)(s->major_inject_ns / 1000000), (unsigned long long)s->wp_faults);
	hist_line(b, "minor (zero fill)", &s->latency_minor);
	hist_line(b, "major (from swap)", &s->latency_major);
	hist_line(b, "minor (swap cache)", &s->latency_swapcache);
	hist_line(b, "write-protect", &s->latency_wp);
}

static const char *const hugetlb_size_name[MOS_HUGETLB_SIZES] = { "2M", "1G" };

/* The hugetlb pools and the program's MAP_HUGETLB mmaps (only when used). */
static void hugetlb_lines(struct buf *b, const struct mos_stats *ms)
{
	const struct vm_stats *s = &rt.st;
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		if (!ms->hugetlb_pages[k] && !ms->hugetlb_resv_fail[k] && !ms->hugetlb_fallback[k])
			continue;
		bprintf(b, "  hugetlb pool %s       %12llu  pages: %llu free, %llu reserved; %llu faults "
			   "(%llu in the heap), %llu heap faults fell back to the policy, %llu "
			   "hugetlb VMAs refused (ENOMEM)%s\n",
			hugetlb_size_name[k], (unsigned long long)ms->hugetlb_pages[k],
			(unsigned long long)ms->hugetlb_free[k], (unsigned long long)ms->hugetlb_resv[k],
			(unsigned long long)ms->hugetlb_faults[k],
			(unsigned long long)ms->hugetlb_morecore_faults[k],
			(unsigned long long)ms->hugetlb_fallback[k],
			(unsigned long long)ms->hugetlb_resv_fail[k],
			k == MOS_HUGETLB_1G && ms->hugetlb_faults[k]
				? "; the host backs 1 GiB pages with the zero page, then small pages "
				  "where written" : "");
	}
	if (s->hugetlb_mmaps || s->hugetlb_enomem || s->hugetlb_einval || s->hugetlb_native)
		bprintf(b, "  MAP_HUGETLB mmaps     %12llu  served from the pools (%llu refused with "
			   "ENOMEM; %llu munmap/mremap/madvise refused with EINVAL; %llu left to the "
			   "host kernel: shared or other page sizes)\n",
			(unsigned long long)s->hugetlb_mmaps, (unsigned long long)s->hugetlb_enomem,
			(unsigned long long)s->hugetlb_einval, (unsigned long long)s->hugetlb_native);
}

static void human(struct buf *b, const struct mos_stats *ms, uint64_t wall_ns)
{
	const struct vm_stats *s = &rt.st;
	bprintf(b, "==== vmemu report: pid %d (%s)%s ====\n", (int)rt.pid,
		program_invocation_short_name, rt.parent_pid ? " [fork child]" : "");
	if (rt.parent_pid)
		bprintf(b, "forked from pid %d: counters start at the fork, memory state is "
			   "inherited\n", (int)rt.parent_pid);
	if (!rt.emulated)
		bprintf(b, "NOT EMULATED: the program ran natively (runtime.fallback = native)\n"
			   "reason: %s\n", rt.not_emulated_why);
	if (rt.stopped_ns)
		bprintf(b, "EMULATION STOPPED after %llu ms: %s\n",
			(unsigned long long)((rt.stopped_ns - rt.t_start_ns) / 1000000), rt.stopped_why);
	if (rt.oom)
		bprintf(b, "EMULATED OOM: memory.size = %llu bytes exhausted at %#llx; the process "
			   "was killed (SIGKILL)\n",
			(unsigned long long)rt.cfg.memory_size, (unsigned long long)rt.oom_addr);
	bprintf(b, "policy %s; emulated memory %.1f MiB (%llu frames of 4 KiB); heap reserve "
		   "%.0f MiB at %#lx\n",
		mos_policy_name(rt.mos), mib(rt.cfg.memory_size),
		(unsigned long long)ms->frames_total, mib(rt.cfg.heap_reserve), (unsigned long)vm_heap_start);

	if (rt.emulated)
		bprintf(b, "fault handlers: %d thread%s%s, spin %llu us\n", rt.nhandlers,
			rt.nhandlers == 1 ? "" : "s", rt.handlers_pinned ? ", one pinned per CPU" : "",
			(unsigned long long)rt.cfg.spin_us);
	bprintf(b, "\n-- faults (emulated OS view) --\n");
	bprintf(b, "  faults handled        %12llu  (read %llu, write %llu)\n",
		(unsigned long long)s->faults, (unsigned long long)s->faults_read,
		(unsigned long long)s->faults_write);
	uint64_t pages = s->pages_zeropage + s->pages_copied;
	bprintf(b, "  pages populated       %12llu  (%.1f MiB; zero-fill: %llu zero-page, %llu "
		   "private)\n",
		(unsigned long long)pages, mib(pages * PAGE), (unsigned long long)s->pages_zeropage,
		(unsigned long long)s->pages_copied);
	bprintf(b, "  frames in use         %12llu  (%.1f MiB), peak %llu (%.1f MiB)\n",
		(unsigned long long)ms->data_frames, mib(ms->data_frames * PAGE),
		(unsigned long long)ms->data_frames_peak, mib(ms->data_frames_peak * PAGE));
	bprintf(b, "  page-table pages      %12llu  (peak %llu)\n", (unsigned long long)ms->pt_pages,
		(unsigned long long)ms->pt_pages_peak);
	bprintf(b, "  frames free           %12llu  of %llu\n", (unsigned long long)ms->frames_free,
		(unsigned long long)ms->frames_total);
	bprintf(b, "  pages unmapped        %12llu  (munmap %llu, madvise %llu, mremap %llu calls)\n",
		(unsigned long long)ms->pages_unmapped, (unsigned long long)s->munmaps,
		(unsigned long long)s->madvise_discards, (unsigned long long)s->mremaps);
	uint64_t huge_frames = ms->huge_pages << (MOS_HPAGE_SHIFT - MOS_PAGE_SHIFT);
	uint64_t gig_frames = ms->gigantic_pages << (MOS_GPAGE_SHIFT - MOS_PAGE_SHIFT);
	bprintf(b, "  mapped now            %12.1f MiB in 4 KiB pages, %.1f MiB in %llu 2 MiB pages",
		mib((ms->data_frames - huge_frames - gig_frames) * PAGE), mib(huge_frames * PAGE),
		(unsigned long long)ms->huge_pages);
	if (ms->gigantic_pages || ms->hugetlb_pages[MOS_HUGETLB_1G])
		bprintf(b, ", %llu 1 GiB pages", (unsigned long long)ms->gigantic_pages);
	bprintf(b, "\n");
	hugetlb_lines(b, ms);
	if (ms->thp_fault_alloc || ms->thp_fault_fallback || ms->thp_split)
		bprintf(b, "  THP faults            %12llu  2 MiB (fallback to 4 KiB %llu; splits %llu)\n",
			(unsigned long long)ms->thp_fault_alloc,
			(unsigned long long)ms->thp_fault_fallback, (unsigned long long)ms->thp_split);
	if (ms->reservations_made)
		bprintf(b, "  reservations          %12llu  now (%llu made, %llu fallbacks, %llu frames "
			   "reserved unmapped)\n",
			(unsigned long long)ms->reservations, (unsigned long long)ms->reservations_made,
			(unsigned long long)ms->reservation_fallback,
			(unsigned long long)ms->frames_reserved);
	if (ms->promotions || ms->demotions || ms->collapses || s->scans)
		bprintf(b, "  promotions            %12llu  at fault; %llu by scans (%llu scans, %llu pages "
			   "scanned); demotions %llu (%llu frames returned); %llu pages populated by "
			   "promotion\n",
			(unsigned long long)ms->promotions,
			(unsigned long long)ms->collapses, (unsigned long long)s->scans,
			(unsigned long long)ms->scan_pages, (unsigned long long)ms->demotions,
			(unsigned long long)ms->demoted_frames, (unsigned long long)s->pages_promoted_fill);
	const char *cname;
	uint64_t cval;
	for (size_t i = 0; mos_policy_counter(rt.mos, i, &cname, &cval); i++)
		bprintf(b, "%s%s %llu%s", i ? ", " : "  policy counters       ", cname,
			(unsigned long long)cval,
			mos_policy_counter(rt.mos, i + 1, NULL, NULL) ? "" : "  (the policy's own)\n");
	if (ms->eager_faults || ms->eager_fallbacks) {
		bprintf(b, "  eager paging          %12llu  eager faults (%llu buddy blocks, %llu fallbacks); "
			   "%llu faults on premapped pages\n",
			(unsigned long long)ms->eager_faults, (unsigned long long)ms->eager_blocks,
			(unsigned long long)ms->eager_fallbacks, (unsigned long long)s->premapped_faults);
		for (size_t i = 0; i < mos_vma_count(rt.mos); i++) {
			const struct mos_vma *v = mos_vma_at(rt.mos, i);
			size_t n = mos_phys_ranges(rt.mos, v->start, v->end, NULL, 0);
			if (n)
				bprintf(b, "    VMA %#llx +%.0f MiB: %zu physical range%s (JSON lists them)\n",
					(unsigned long long)v->start, mib(v->end - v->start), n,
					n == 1 ? "" : "s");
		}
	}
	if (ms->frames_pinned || rt.cfg.memory_fragmentation > 0) {
		bprintf(b, "  fragmentation         %12llu  frames pinned at start (target %g)\n",
			(unsigned long long)ms->frames_pinned, rt.cfg.memory_fragmentation);
	}
	bprintf(b, "  unusable index        ");
	for (unsigned o = 0; o < MOS_NR_ORDERS; o++)
		bprintf(b, " %u:%.3f", o, ms->unusable_index[o]);
	bprintf(b, "   (per order, Linux extfrag)\n  free blocks per order ");
	for (unsigned o = 0; o < MOS_NR_ORDERS; o++)
		bprintf(b, " %u:%llu", o, (unsigned long long)ms->free_blocks[o]);
	bprintf(b, "\n");
	if (ms->numa_nodes > 1) {
		bprintf(b, "  NUMA                  %12u  emulated nodes; %llu allocations off the first-choice "
			   "node (%llu spills); host: %d node%s, %s\n",
			ms->numa_nodes, (unsigned long long)ms->numa_remote,
			(unsigned long long)ms->numa_spills, rt.host_nodes, rt.host_nodes == 1 ? "" : "s",
			rt.host_numa ? "pages placed on the matching host node"
				     : "placement is emulated only");
		for (unsigned n = 0; n < ms->numa_nodes && n < MOS_MAX_NODES; n++)
			bprintf(b, "    node %u: %llu of %llu frames used, %llu allocations\n", n,
				(unsigned long long)ms->node_frames_used[n],
				(unsigned long long)ms->node_frames[n],
				(unsigned long long)ms->node_allocs[n]);
	}
	if (rt.bloat.measured)
		bprintf(b, "  bloat                 %12.1f MiB  mapped and resident but never written (%llu of "
			   "%llu pages checked; %llu mapped pages not resident; %llu physical ranges)\n",
			mib(rt.bloat.pages_zero * PAGE), (unsigned long long)rt.bloat.pages_zero,
			(unsigned long long)rt.bloat.pages_checked,
			(unsigned long long)rt.bloat.pages_absent, (unsigned long long)rt.bloat.phys_ranges);
	if (rt.collapse.queued || rt.collapse.dropped)
		bprintf(b, "  host THP backing      %12llu  of %llu emulated 2 MiB pages collapsed "
			   "(failed %llu%s%s, still queued at exit %llu, not queued %llu; measured "
			   "on the host)\n",
			(unsigned long long)rt.collapse.collapsed, (unsigned long long)rt.collapse.queued,
			(unsigned long long)rt.collapse.failed, rt.collapse.failed ? ": " : "",
			rt.collapse.failed ? strerror(rt.collapse.last_errno) : "",
			(unsigned long long)(rt.collapse.queued - rt.collapse.collapsed - rt.collapse.failed),
			(unsigned long long)rt.collapse.dropped);
	bprintf(b, "  managed VMAs          %12llu  (program mmaps managed: %llu)\n",
		(unsigned long long)ms->vmas, (unsigned long long)s->mmaps_managed);
	if (rt.cfg.heap_static_data)
		bprintf(b, "  static data           %12llu  data segments managed, %.1f MiB, %llu pages present "
			   "at start (objects: %llu loaded, %llu of the runtime left alone; segments "
			   "left unmanaged %llu)\n",
			(unsigned long long)s->static_ranges, mib(s->static_bytes),
			(unsigned long long)s->static_pages, (unsigned long long)s->static_objects,
			(unsigned long long)s->static_skipped, (unsigned long long)s->static_failed);
	if (s->dup_faults || s->premapped_faults || s->untracked_faults || s->fill_errors ||
	    s->mos_errors || s->mmaps_unmanaged || s->mremap_resets)
		bprintf(b, "  anomalies: duplicate messages %llu, faults on premapped pages %llu, untracked "
			   "faults %llu, fill errors %llu, MimicOS host errors %llu, mmaps left "
			   "unmanaged %llu, mremap resets %llu\n",
			(unsigned long long)s->dup_faults, (unsigned long long)s->premapped_faults,
			(unsigned long long)s->untracked_faults, (unsigned long long)s->fill_errors,
			(unsigned long long)s->mos_errors, (unsigned long long)s->mmaps_unmanaged,
			(unsigned long long)s->mremap_resets);

	if (ms->swap_slots)
		human_swap(b, ms);

	const struct hist *h = &s->latency;
	bprintf(b, "\n-- fault service time (measured on the host: message read -> thread woken) --\n");
	if (h->count)
		bprintf(b, "  p50 %llu ns   p90 %llu ns   p99 %llu ns   max %llu ns   mean %llu ns   "
			   "(n = %llu, %llu batches, largest %llu)\n",
			(unsigned long long)hist_quantile(h, 0.50), (unsigned long long)hist_quantile(h, 0.90),
			(unsigned long long)hist_quantile(h, 0.99), (unsigned long long)h->max,
			(unsigned long long)(h->sum / h->count), (unsigned long long)h->count,
			(unsigned long long)s->batches, (unsigned long long)s->max_batch);
	else
		bprintf(b, "  no faults\n");
	hist_line(b, "sampler traps", &s->latency_trap);
	smp_report_text(bprintf_ctx, b);
	bprintf(b, "\n-- wall time (measured) --\n  %llu.%03llu s\n",
		(unsigned long long)(wall_ns / 1000000000ull),
		(unsigned long long)(wall_ns / 1000000ull % 1000));
	if (rt.emulated)
		bprintf(b, "  fault handlers' CPU time %.1f ms (serving faults and the samplers' work)\n",
			(double)vm_handlers_cpu_ns() / 1e6);

	bprintf(b, "\n-- config in force --\n");
	const char *name;
	char value[VM_PATH_MAX];
	for (size_t i = 0; vm_config_key(&rt.cfg, i, &name, value, sizeof value) == 0; i++)
		bprintf(b, "  %s = %s\n", name, value);
	bprintf(b, "==== end of vmemu report (pid %d) ====\n", (int)rt.pid);
}

static void json_hist(cJSON *o, const char *name, const struct hist *h)
{
	cJSON *x = cJSON_AddObjectToObject(o, name);
	cJSON_AddNumberToObject(x, "count", (double)h->count);
	cJSON_AddNumberToObject(x, "p50", (double)hist_quantile(h, 0.50));
	cJSON_AddNumberToObject(x, "p99", (double)hist_quantile(h, 0.99));
	cJSON_AddNumberToObject(x, "max", (double)h->max);
	cJSON_AddNumberToObject(x, "mean", h->count ? (double)h->sum / (double)h->count : 0);
}

static void json_swap(cJSON *root, const struct mos_stats *ms)
{
	const struct vm_stats *s = &rt.st;
	const struct vm_swapio_stats *io = &rt.swapio.st;
	cJSON *w = cJSON_AddObjectToObject(root, "swap");
	cJSON_AddNumberToObject(w, "size_bytes", (double)rt.cfg.swap_size);
	cJSON_AddStringToObject(w, "device", rt.cfg.swap_device);
	cJSON_AddStringToObject(w, "reclaim_policy", rt.cfg.reclaim_policy);
	cJSON_AddNumberToObject(w, "slots", (double)ms->swap_slots);
	cJSON_AddNumberToObject(w, "slots_used", (double)ms->swap_used);
	cJSON_AddNumberToObject(w, "slots_used_peak", (double)ms->swap_used_peak);
	cJSON_AddNumberToObject(w, "swapouts", (double)ms->swapouts);
	cJSON_AddNumberToObject(w, "swapout_writes", (double)ms->swapout_writes);
	cJSON_AddNumberToObject(w, "swapout_clean", (double)ms->swapout_clean);
	cJSON_AddNumberToObject(w, "thp_swapout", (double)ms->thp_swapout);
	cJSON_AddNumberToObject(w, "thp_swap_split", (double)ms->thp_swap_split);
	cJSON_AddNumberToObject(w, "swapins", (double)ms->swapins);
	cJSON_AddNumberToObject(w, "major_faults", (double)ms->major_faults);
	cJSON_AddNumberToObject(w, "swapcache_hits", (double)ms->swapcache_hits);
	cJSON_AddNumberToObject(w, "readahead_pages", (double)ms->readahead_pages);
	cJSON_AddNumberToObject(w, "readahead_hits", (double)ms->readahead_hits);
	cJSON_AddNumberToObject(w, "readahead_wasted", (double)ms->readahead_wasted);
	cJSON_AddNumberToObject(w, "reclaim_scanned", (double)ms->reclaim_scanned);
	cJSON_AddNumberToObject(w, "reclaim_isolated", (double)ms->reclaim_isolated);
	cJSON_AddNumberToObject(w, "reclaim_putback", (double)ms->reclaim_putback);
	cJSON_AddNumberToObject(w, "swap_full", (double)ms->swap_full);
	cJSON_AddNumberToObject(w, "direct_reclaims", (double)s->direct_reclaims);
	cJSON_AddNumberToObject(w, "kswapd_runs", (double)s->kswapd_runs);
	cJSON_AddNumberToObject(w, "wp_faults", (double)s->wp_faults);
	cJSON_AddNumberToObject(w, "workingset_refaults", (double)ms->workingset_refaults);
	cJSON_AddNumberToObject(w, "workingset_activate", (double)ms->workingset_activate);
	cJSON *d = cJSON_AddArrayToObject(w, "refault_distance_log2");
	for (unsigned k = 0; k < 16; k++)
		cJSON_AddItemToArray(d, cJSON_CreateNumber((double)ms->refault_distance[k]));
	cJSON_AddNumberToObject(w, "wmark_min", (double)ms->wmark_min);
	cJSON_AddNumberToObject(w, "wmark_low", (double)ms->wmark_low);
	cJSON_AddNumberToObject(w, "wmark_high", (double)ms->wmark_high);
	cJSON *m = cJSON_AddObjectToObject(w, "measured");
	cJSON_AddNumberToObject(m, "bytes_written", (double)io->bytes_written);
	cJSON_AddNumberToObject(m, "bytes_read", (double)io->bytes_read);
	cJSON_AddNumberToObject(m, "io_ns", (double)io->io_ns);
	cJSON_AddNumberToObject(m, "io_errors", (double)io->io_errors);
	cJSON_AddNumberToObject(m, "swapout_failures", (double)s->swapout_failures);
	cJSON *inj = cJSON_AddObjectToObject(w, "injected");
	cJSON_AddNumberToObject(inj, "device_ns", (double)io->injected_ns);
	cJSON_AddNumberToObject(inj, "major_fault_ns", (double)s->major_inject_ns);
	cJSON *lat = cJSON_AddObjectToObject(w, "fault_latency_ns");
	json_hist(lat, "minor_zero_fill", &s->latency_minor);
	json_hist(lat, "major", &s->latency_major);
	json_hist(lat, "minor_swapcache", &s->latency_swapcache);
	json_hist(lat, "write_protect", &s->latency_wp);
}

static cJSON *json(const struct mos_stats *ms, uint64_t wall_ns)
{
	const struct vm_stats *s = &rt.st;
	cJSON *root = cJSON_CreateObject();
	cJSON *run = cJSON_AddObjectToObject(root, "run");
	cJSON_AddNumberToObject(run, "pid", rt.pid);
	cJSON_AddNumberToObject(run, "parent_pid", rt.parent_pid);
	cJSON_AddStringToObject(run, "command", program_invocation_short_name);
	cJSON_AddBoolToObject(run, "emulated", rt.emulated);
	if (!rt.emulated)
		cJSON_AddStringToObject(run, "not_emulated_reason", rt.not_emulated_why);
	cJSON_AddBoolToObject(run, "emulated_oom", rt.oom);
	if (rt.stopped_ns)
		cJSON_AddStringToObject(run, "emulation_stopped", rt.stopped_why);
	cJSON_AddNumberToObject(run, "wall_time_ns", (double)wall_ns);
	cJSON_AddNumberToObject(run, "fault_handlers", rt.nhandlers);
	if (rt.emulated)
		cJSON_AddNumberToObject(run, "fault_handlers_cpu_ns", (double)vm_handlers_cpu_ns());
	cJSON_AddBoolToObject(run, "fault_handlers_pinned", rt.handlers_pinned);

	cJSON *f = cJSON_AddObjectToObject(root, "faults");
	cJSON_AddNumberToObject(f, "handled", (double)s->faults);
	cJSON_AddNumberToObject(f, "read", (double)s->faults_read);
	cJSON_AddNumberToObject(f, "write", (double)s->faults_write);
	cJSON_AddNumberToObject(f, "zero_fill_zeropage_pages", (double)s->pages_zeropage);
	cJSON_AddNumberToObject(f, "zero_fill_private_pages", (double)s->pages_copied);
	cJSON_AddNumberToObject(f, "pages_populated", (double)(s->pages_zeropage + s->pages_copied));
	cJSON_AddNumberToObject(f, "bytes_populated",
				(double)((s->pages_zeropage + s->pages_copied) * PAGE));
	cJSON_AddNumberToObject(f, "duplicate_messages", (double)s->dup_faults);
	cJSON_AddNumberToObject(f, "premapped_pages", (double)s->premapped_faults);
	cJSON_AddNumberToObject(f, "untracked", (double)s->untracked_faults);
	cJSON_AddNumberToObject(f, "fill_errors", (double)s->fill_errors);
	cJSON_AddNumberToObject(f, "mimicos_host_errors", (double)s->mos_errors);

	cJSON *m = cJSON_AddObjectToObject(root, "memory");
	cJSON_AddStringToObject(m, "policy", mos_policy_name(rt.mos));
	cJSON_AddNumberToObject(m, "frames_total", (double)ms->frames_total);
	cJSON_AddNumberToObject(m, "frames_free", (double)ms->frames_free);
	cJSON_AddNumberToObject(m, "frames_in_use", (double)ms->data_frames);
	cJSON_AddNumberToObject(m, "frames_in_use_peak", (double)ms->data_frames_peak);
	cJSON_AddNumberToObject(m, "page_table_pages", (double)ms->pt_pages);
	cJSON_AddNumberToObject(m, "page_table_pages_peak", (double)ms->pt_pages_peak);
	cJSON_AddNumberToObject(m, "pages_mapped", (double)ms->pages_mapped);
	cJSON_AddNumberToObject(m, "pages_unmapped", (double)ms->pages_unmapped);
	cJSON_AddNumberToObject(m, "vmas", (double)ms->vmas);
	uint64_t huge_frames = ms->huge_pages << (MOS_HPAGE_SHIFT - MOS_PAGE_SHIFT);
	uint64_t gig_frames = ms->gigantic_pages << (MOS_GPAGE_SHIFT - MOS_PAGE_SHIFT);
	cJSON_AddNumberToObject(m, "mapped_4k_bytes",
				(double)((ms->data_frames - huge_frames - gig_frames) * PAGE));
	cJSON_AddNumberToObject(m, "mapped_2m_bytes", (double)(huge_frames * PAGE));
	cJSON_AddNumberToObject(m, "mapped_1g_bytes", (double)(gig_frames * PAGE));
	cJSON_AddNumberToObject(m, "huge_pages", (double)ms->huge_pages);
	cJSON_AddNumberToObject(m, "gigantic_pages", (double)ms->gigantic_pages);
	cJSON *ht = cJSON_AddObjectToObject(m, "hugetlb");
	for (int k = 0; k < MOS_HUGETLB_SIZES; k++) {
		cJSON *e = cJSON_AddObjectToObject(ht, hugetlb_size_name[k]);
		cJSON_AddNumberToObject(e, "pages", (double)ms->hugetlb_pages[k]);
		cJSON_AddNumberToObject(e, "free", (double)ms->hugetlb_free[k]);
		cJSON_AddNumberToObject(e, "reserved", (double)ms->hugetlb_resv[k]);
		cJSON_AddNumberToObject(e, "faults", (double)ms->hugetlb_faults[k]);
		cJSON_AddNumberToObject(e, "heap_faults", (double)ms->hugetlb_morecore_faults[k]);
		cJSON_AddNumberToObject(e, "heap_fallbacks", (double)ms->hugetlb_fallback[k]);
		cJSON_AddNumberToObject(e, "vmas_refused", (double)ms->hugetlb_resv_fail[k]);
	}
	cJSON_AddNumberToObject(m, "thp_fault_alloc", (double)ms->thp_fault_alloc);
	cJSON_AddNumberToObject(m, "thp_fault_fallback", (double)ms->thp_fault_fallback);
	cJSON_AddNumberToObject(m, "thp_split", (double)ms->thp_split);
	cJSON_AddNumberToObject(m, "reservations", (double)ms->reservations);
	cJSON_AddNumberToObject(m, "reservations_made", (double)ms->reservations_made);
	cJSON_AddNumberToObject(m, "reservation_fallback", (double)ms->reservation_fallback);
	cJSON_AddNumberToObject(m, "frames_reserved", (double)ms->frames_reserved);
	cJSON_AddNumberToObject(m, "promotions", (double)ms->promotions);
	cJSON_AddNumberToObject(m, "scan_collapses", (double)ms->collapses);
	cJSON_AddNumberToObject(m, "scans", (double)rt.st.scans);
	cJSON_AddNumberToObject(m, "demotions", (double)ms->demotions);
	cJSON_AddNumberToObject(m, "demoted_frames", (double)ms->demoted_frames);
	cJSON_AddNumberToObject(m, "eager_faults", (double)ms->eager_faults);
	cJSON_AddNumberToObject(m, "eager_blocks", (double)ms->eager_blocks);
	cJSON_AddNumberToObject(m, "eager_fallbacks", (double)ms->eager_fallbacks);
	cJSON_AddNumberToObject(m, "frames_pinned", (double)ms->frames_pinned);
	cJSON *pc = cJSON_AddObjectToObject(m, "policy_counters");
	const char *cname;
	uint64_t cval;
	for (size_t i = 0; mos_policy_counter(rt.mos, i, &cname, &cval); i++)
		cJSON_AddNumberToObject(pc, cname, (double)cval);
	if (rt.bloat.measured) {
		cJSON_AddNumberToObject(m, "bloat_bytes", (double)(rt.bloat.pages_zero * PAGE));
		cJSON_AddNumberToObject(m, "bloat_pages_checked", (double)rt.bloat.pages_checked);
		cJSON_AddNumberToObject(m, "mapped_not_resident_pages", (double)rt.bloat.pages_absent);
		cJSON_AddNumberToObject(m, "phys_ranges", (double)rt.bloat.phys_ranges);
	}
	cJSON *numa = cJSON_AddObjectToObject(m, "numa");
	cJSON_AddNumberToObject(numa, "nodes", ms->numa_nodes ? ms->numa_nodes : 1);
	cJSON_AddNumberToObject(numa, "remote_allocations", (double)ms->numa_remote);
	cJSON_AddNumberToObject(numa, "spills", (double)ms->numa_spills);
	cJSON_AddNumberToObject(numa, "host_nodes", rt.host_nodes);
	cJSON_AddBoolToObject(numa, "host_backed", rt.host_numa > 0);
	cJSON *nodes = cJSON_AddArrayToObject(numa, "per_node");
	for (unsigned n = 0; n < ms->numa_nodes && n < MOS_MAX_NODES; n++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "frames", (double)ms->node_frames[n]);
		cJSON_AddNumberToObject(e, "frames_used", (double)ms->node_frames_used[n]);
		cJSON_AddNumberToObject(e, "allocations", (double)ms->node_allocs[n]);
		cJSON_AddItemToArray(nodes, e);
	}
	cJSON *ui = cJSON_AddArrayToObject(m, "unusable_index_per_order");
	for (unsigned o = 0; o < MOS_NR_ORDERS; o++)
		cJSON_AddItemToArray(ui, cJSON_CreateNumber(ms->unusable_index[o]));
	cJSON *fb = cJSON_AddArrayToObject(m, "free_blocks_per_order");
	for (unsigned o = 0; o < MOS_NR_ORDERS; o++)
		cJSON_AddItemToArray(fb, cJSON_CreateNumber((double)ms->free_blocks[o]));

	cJSON *hb = cJSON_AddObjectToObject(root, "host_thp");
	cJSON_AddNumberToObject(hb, "queued", (double)rt.collapse.queued);
	cJSON_AddNumberToObject(hb, "collapsed", (double)rt.collapse.collapsed);
	cJSON_AddNumberToObject(hb, "failed", (double)rt.collapse.failed);
	cJSON_AddNumberToObject(hb, "not_queued", (double)rt.collapse.dropped);

	/* Physically contiguous runs per VMA (with eagerpaging: RMM's range
	 * list); the first VM_REPORT_RANGES of each are listed. */
	cJSON *vmas = cJSON_AddArrayToObject(root, "vmas");
	for (size_t i = 0; i < mos_vma_count(rt.mos); i++) {
		enum { VM_REPORT_RANGES = 16 };
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		struct mos_phys_range r[VM_REPORT_RANGES];
		size_t n = mos_phys_ranges(rt.mos, v->start, v->end, r, VM_REPORT_RANGES);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "start", (double)v->start);
		cJSON_AddNumberToObject(e, "bytes", (double)(v->end - v->start));
		cJSON_AddStringToObject(e, "kind", v->flags & MOS_VMA_HEAP ? "heap" : "mmap");
		/* hugetlb VMAs (and a heap backed by a pool): their page size */
		cJSON_AddNumberToObject(e, "hugetlb_page_bytes",
					mos_vma_hugetlb_shift(v) ? (double)(1ull << mos_vma_hugetlb_shift(v)) : 0);
		cJSON_AddNumberToObject(e, "phys_ranges", (double)n);
		cJSON *list = cJSON_AddArrayToObject(e, "first_ranges");
		for (size_t k = 0; k < n && k < VM_REPORT_RANGES; k++) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "vaddr", (double)r[k].vaddr);
			cJSON_AddNumberToObject(x, "pfn", (double)r[k].pfn);
			cJSON_AddNumberToObject(x, "bytes", (double)r[k].len);
			cJSON_AddItemToArray(list, x);
		}
		cJSON_AddItemToArray(vmas, e);
	}

	cJSON *a = cJSON_AddObjectToObject(root, "address_space");
	cJSON_AddNumberToObject(a, "heap_start", (double)vm_heap_start);
	cJSON_AddNumberToObject(a, "heap_bytes", (double)(vm_heap_end - vm_heap_start));
	cJSON_AddNumberToObject(a, "mmaps_managed", (double)s->mmaps_managed);
	cJSON_AddNumberToObject(a, "mmaps_unmanaged", (double)s->mmaps_unmanaged);
	if (rt.cfg.heap_static_data) {
		cJSON *sd = cJSON_AddObjectToObject(a, "static_data");
		cJSON_AddNumberToObject(sd, "segments", (double)s->static_ranges);
		cJSON_AddNumberToObject(sd, "bytes", (double)s->static_bytes);
		cJSON_AddNumberToObject(sd, "pages_present", (double)s->static_pages);
		cJSON_AddNumberToObject(sd, "objects", (double)s->static_objects);
		cJSON_AddNumberToObject(sd, "objects_of_runtime", (double)s->static_skipped);
		cJSON_AddNumberToObject(sd, "segments_unmanaged", (double)s->static_failed);
	}
	cJSON_AddNumberToObject(a, "munmaps", (double)s->munmaps);
	cJSON_AddNumberToObject(a, "mremaps", (double)s->mremaps);
	cJSON_AddNumberToObject(a, "madvise_discards", (double)s->madvise_discards);
	cJSON_AddNumberToObject(a, "hugetlb_mmaps", (double)s->hugetlb_mmaps);
	cJSON_AddNumberToObject(a, "hugetlb_mmaps_enomem", (double)s->hugetlb_enomem);
	cJSON_AddNumberToObject(a, "hugetlb_calls_einval", (double)s->hugetlb_einval);
	cJSON_AddNumberToObject(a, "hugetlb_mmaps_native", (double)s->hugetlb_native);

	if (ms->swap_slots)
		json_swap(root, ms);

	const struct hist *h = &s->latency;
	cJSON *l = cJSON_AddObjectToObject(root, "fault_latency_ns");
	cJSON_AddStringToObject(l, "measured", "host: uffd message read -> faulting thread woken");
	cJSON_AddNumberToObject(l, "count", (double)h->count);
	cJSON_AddNumberToObject(l, "p50", (double)hist_quantile(h, 0.50));
	cJSON_AddNumberToObject(l, "p90", (double)hist_quantile(h, 0.90));
	cJSON_AddNumberToObject(l, "p99", (double)hist_quantile(h, 0.99));
	cJSON_AddNumberToObject(l, "max", (double)h->max);
	cJSON_AddNumberToObject(l, "mean", h->count ? (double)h->sum / (double)h->count : 0);
	cJSON_AddNumberToObject(l, "batches", (double)s->batches);
	cJSON_AddNumberToObject(l, "max_batch", (double)s->max_batch);
	if (s->latency_trap.count)
		json_hist(l, "sampler_traps", &s->latency_trap);
	cJSON *hist = cJSON_AddArrayToObject(l, "histogram");
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		if (!h->bucket[i])
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "low", (double)hist_bucket_low(i));
		cJSON_AddNumberToObject(e, "high", (double)hist_bucket_low(i + 1));
		cJSON_AddNumberToObject(e, "count", (double)h->bucket[i]);
		cJSON_AddItemToArray(hist, e);
	}

	smp_report_json(root);

	cJSON *c = cJSON_AddObjectToObject(root, "config");
	const char *name;
	char value[VM_PATH_MAX];
	for (size_t i = 0; vm_config_key(&rt.cfg, i, &name, value, sizeof value) == 0; i++)
		cJSON_AddStringToObject(c, name, value);
	return root;
}

/* One line for a descendant process whose report would go to stderr. */
static void summary(struct buf *b, const struct mos_stats *ms, uint64_t wall_ns)
{
	bprintf(b, "vmemu: pid %d (%s)%s: %llu faults, peak %.1f MiB in %llu frames, "
		   "fault p50 %llu ns, %llu.%03llu s%s (full report: -o FILE)\n",
		(int)rt.pid, program_invocation_short_name,
		!rt.emulated ? " NOT EMULATED" : rt.stopped_ns ? " EMULATION STOPPED" : "",
		(unsigned long long)rt.st.faults, mib(ms->data_frames_peak * PAGE),
		(unsigned long long)ms->data_frames_peak,
		(unsigned long long)hist_quantile(&rt.st.latency, 0.5),
		(unsigned long long)(wall_ns / 1000000000ull),
		(unsigned long long)(wall_ns / 1000000ull % 1000), rt.oom ? ", EMULATED OOM" : "");
}

void vm_report_write(void)
{
	if (__atomic_exchange_n(&rt.report_done, 1, __ATOMIC_ACQ_REL))
		return;
	/* A fork child that never faulted (a shell subshell, a child that only
	 * execs or exits) did nothing emulated: no report. */
	if (rt.parent_pid && !rt.st.faults && !rt.oom)
		return;
	uint64_t wall = vm_now_ns() - rt.t_start_ns;
	struct mos_stats ms;
	mos_get_stats(rt.mos, &ms);
	/* rt.lock is held: formatting must not read program memory, which may
	 * be swapped out (or stashed by a sampler). The program's locale data
	 * live in its heap, so format in the static C locale. */
	locale_t prev = vm_use_c_locale();

	struct buf b = { 0 };
	if (rt.cfg.report_file[0]) {
		human(&b, &ms, wall);
		write_file(rt.cfg.report_file, b.p, b.len);
	} else {
		/* Pipelines and scripts start many processes: on stderr only the
		 * first one prints the whole report. */
		if (rt.is_root)
			human(&b, &ms, wall);
		else
			summary(&b, &ms, wall);
		vm_write_all(2, b.p, b.len);
	}
	ialloc_free(b.p);

	if (rt.cfg.report_json[0]) {
		cJSON *j = json(&ms, wall);
		char *text = j ? cJSON_Print(j) : NULL;
		if (text) {
			size_t n = strlen(text);
			text[n] = '\n';
			write_file(rt.cfg.report_json, text, n + 1);
			text[n] = 0;
			cJSON_free(text);
		} else {
			vm_msg("cannot build the JSON report");
		}
		cJSON_Delete(j);
	}
	uselocale(prev);
}
