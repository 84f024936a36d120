/*
 * vmemu replay [-c FILE]... [-s S.K=V]... [--json FILE] [--scan-every N] TRACE
 *
 * Offline replay of a recorded access trace through MimicOS and tlbmodel,
 * the same code a live run uses.
 *
 *   TRACE     a VMTR binary trace or Valgrind lackey text
 *             (tlbmodel/trace.h), told apart by the first four bytes; a
 *             path, or "-" for stdin.
 *   address   a trace carries no mmap information, so the whole user address
 *   space     space [4 KiB, 2^47) is managed as one VMA; accesses outside it
 *             are counted and skipped.
 *   faults    the first touch of a page is a MimicOS fault (mos_fault) with
 *             the configured policy, memory size and fault-around, so page
 *             sizes come from the policy (with hugetlb.heap = 2m or 1g, from
 *             that hugetlb pool first, where the aligned region around the
 *             touch is still empty); every data access is then
 *             translated (mos_translate + mos_walk_path) and fed to the TLB
 *             model (tlb_access, untimed: trace time units differ between
 *             formats, so walks never queue for a walker).
 *   lackey    I lines (instruction fetches) are counted and skipped: the
 *             model is of the data side. M (modify) is a load then a store.
 *             An access is charged to the page of its first byte; accesses
 *             that straddle a page boundary are not split.
 *   khugepaged  with policy thp or reservethp and thp.scan_interval_ms > 0
 *             (the rule a live run uses to start its scan thread), mos_scan
 *             runs with a budget of thp.scan_pages every scan_interval_ms of
 *             trace time: on a VMTR trace timed in ns, when a record's time
 *             reaches the previous scan's (or the first record's) time +
 *             the interval; otherwise (lackey, or VMTR in cycles,
 *             instructions or sequence numbers) every --scan-every data
 *             accesses, by default interval x 10^6 (ASSUMPTION: one data
 *             access per nanosecond, e.g. a 3 GHz core at IPC 1 with one
 *             instruction in three a load or store). --scan-every N forces
 *             the access clock for any trace; 0 turns scanning off. Every
 *             2 MiB region the scan collapses is invalidated in the TLB
 *             model (tlb_invalidate), as the OS's INVLPG / shootdown would.
 *             The scan runs before the record that reaches its time.
 *
 * Output: the human report on stdout; with --json FILE also JSON.
 * Exit status:
 *   0    the whole trace was replayed
 *   1    bad or unreadable trace (file and byte offset, or line for lackey);
 *        nothing is reported
 *   2    usage or config error, or no TLB machine configured
 *   137  emulated OOM (memory.size exhausted): the report of the accesses
 *        replayed before it is printed, marked INCOMPLETE (as a live run is
 *        killed with SIGKILL, status 137)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <mimicos/mimicos.h>
#include <tlbmodel/tlbmodel.h>
#include <tlbmodel/trace.h>

#include "cli/cli.h"
#include "runtime/config.h"

#define USER_START 4096ull
#define USER_END (1ull << 47)
#define CHUNK (1u << 20)

static void *zalloc(void *ctx, size_t bytes) { return calloc(1, bytes); }
static void zfree(void *ctx, void *p, size_t bytes) { free(p); }

struct replay {
	const char *path;
	struct vm_config cfg;
	struct mos *mos;
	struct tlb *tlb;
	bool binary;
	struct trace_header hdr;    /* binary only */
	struct lackey_reader lk;    /* lackey only */
	/* counters */
	uint64_t records;           /* data-access records replayed */
	uint64_t with_pc;           /* of which carried a PC (asp needs them) */
	uint64_t loads, stores;
	uint64_t outside;           /* records outside [4 KiB, 2^47) */
	uint64_t faults_read, faults_write, pages_populated;
	uint64_t faults_by_size[3]; /* 4 KiB, 2 MiB, 1 GiB */
	uint64_t promotions;        /* faults that promoted a 2 MiB region (reservethp) */
	/* khugepaged-like scans (see the header comment) */
	bool scan_on;
	bool scan_forced;           /* --scan-every given: the access clock */
	bool scan_started;          /* the clock was chosen at the first record */
	bool scan_by_time;          /* trace ns; else every scan_every accesses */
	uint64_t scan_every;        /* accesses between scans (access clock) */
	uint64_t scan_period_ns;    /* trace time between scans (time clock) */
	uint64_t next_scan;         /* trace time or access count of the next scan */
	uint64_t scans, scan_collapsed;
	bool oom;
	uint64_t oom_addr, oom_record;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmemu replay [-c FILE]... [-s SECTION.KEY=VALUE]... [--json FILE]\n"
		"                    [--scan-every ACCESSES] TRACE\n"
		"\n"
		"Replays a memory-access trace (VMTR binary or Valgrind lackey text, \"-\" for\n"
		"stdin) through MimicOS and the TLB model; a TLB machine is required, e.g.\n"
		"-c configs/machines/golden_cove.ini. Record a lackey trace with\n"
		"  valgrind --tool=lackey --trace-mem=yes --log-file=TRACE PROG ARGS\n"
		"With policy thp or reservethp, a khugepaged-like scan runs every\n"
		"thp.scan_interval_ms of trace time (VMTR timed in ns) or every --scan-every\n"
		"data accesses (default: the interval at one access per ns; 0 = no scan).\n"
		"Exit status: 0; 1 bad trace; 2 usage/config; 137 emulated OOM (report INCOMPLETE).\n");
}

static int size_index(uint32_t shift) { return shift >= 30 ? 2 : shift >= 21 ? 1 : 0; }

/* One khugepaged-like scan: collapsed regions leave the TLB model. */
static void scan_now(struct replay *r)
{
	struct mos_range got[64];
	size_t n = mos_scan(r->mos, r->cfg.thp_scan_pages, got, 64);
	r->scans++;
	r->scan_collapsed += n;
	for (size_t i = 0; i < n; i++)
		tlb_invalidate(r->tlb, got[i].start, got[i].len);
}

/* Run the scan when its clock says so, before record rec. */
static void scan_due(struct replay *r, const struct trace_record *rec)
{
	if (!r->scan_started) { /* the header is known now */
		r->scan_started = true;
		r->scan_by_time = !r->scan_forced && r->binary && r->hdr.time_unit == TRACE_TIME_NS;
		r->next_scan = r->scan_by_time ? rec->time + r->scan_period_ns : r->scan_every;
		return;
	}
	if (r->scan_by_time) {
		if (rec->time >= r->next_scan) {
			scan_now(r);
			r->next_scan = rec->time + r->scan_period_ns;
		}
	} else if (r->records >= r->next_scan) {
		scan_now(r);
		r->next_scan = r->records + r->scan_every;
	}
}

/* Replay one data access. Returns 0, or -1 on emulated OOM. */
static int access1(struct replay *r, const struct trace_record *rec)
{
	if (r->scan_on)
		scan_due(r, rec);
	uint64_t va = rec->vaddr;
	if (va < USER_START || va >= USER_END) {
		r->outside++;
		return 0;
	}
	uint64_t pfn;
	uint32_t shift;
	if (mos_translate(r->mos, va, &pfn, &shift) != MOS_OK) {
		struct mos_fault_result fr;
		enum mos_status st = mos_fault(r->mos, va, rec->is_write, &fr);
		if (st == MOS_ENOMEM) {
			r->oom = true;
			r->oom_addr = va;
			r->oom_record = r->records;
			return -1;
		}
		if (st != MOS_OK) {
			/* cannot happen with one VMA over all user space; count as outside */
			r->outside++;
			return 0;
		}
		rec->is_write ? r->faults_write++ : r->faults_read++;
		if (fr.promoted_len) {
			/* reservethp promoted a 2 MiB region: the OS invalidates the
			 * 4 KiB translations it replaced (INVLPG / shootdown) */
			tlb_invalidate(r->tlb, fr.promoted_start, fr.promoted_len);
			r->promotions++;
		}
		r->pages_populated += fr.len / MOS_PAGE_SIZE;
		r->faults_by_size[size_index(fr.page_shift)]++;
		if (mos_translate(r->mos, va, &pfn, &shift) != MOS_OK) {
			r->outside++;
			return 0;
		}
	}
	struct tlb_translation tr = { .page_shift = (uint8_t)shift };
	tr.levels = (uint8_t)mos_walk_path(r->mos, va, tr.pte_paddr);
	r->records++;
	rec->is_write ? r->stores++ : r->loads++;
	if (rec->pc)
		r->with_pc++;
	tlb_access_pc(r->tlb, va, rec->pc, rec->is_write, &tr, NULL);
	return 0;
}

/*
 * tlbmodel's prefetch translation callback (tlb_set_translator): what
 * MimicOS has mapped, without faulting anything in.
 */
static int replay_translate(void *ctx, uint64_t vaddr, struct tlb_translation *out)
{
	struct replay *r = ctx;
	uint64_t pfn;
	uint32_t shift;
	if (vaddr < USER_START || vaddr >= USER_END ||
	    mos_translate(r->mos, vaddr, &pfn, &shift) != MOS_OK)
		return -1;
	memset(out, 0, sizeof *out);
	out->page_shift = (uint8_t)shift;
	out->levels = (uint8_t)mos_walk_path(r->mos, vaddr, out->pte_paddr);
	return 0;
}

/* Buffered input over FILE: [start, end) of buf holds unread bytes. */
struct input {
	FILE *f;
	unsigned char *buf;
	size_t start, end;
	bool eof;
	int err; /* errno of a read error */
};

/* Move the unread bytes to the front and read more. Returns bytes read. */
static size_t refill(struct input *in)
{
	if (in->start) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	size_t n = 0;
	if (!in->eof && in->end < CHUNK) {
		n = fread(in->buf + in->end, 1, CHUNK - in->end, in->f);
		in->end += n;
		if (n == 0) {
			in->eof = true;
			if (ferror(in->f))
				in->err = errno ? errno : EIO;
		}
	}
	return n;
}

static int replay_binary(struct replay *r, struct input *in)
{
	struct trace_decoder d;
	trace_dec_init(&d);
	enum trace_status st;
	for (;;) {
		struct trace_record rec;
		size_t used;
		st = trace_dec_next(&d, in->buf + in->start, in->end - in->start, &used, &rec);
		in->start += used;
		if (st == TRACE_OK) {
			r->hdr = d.hdr;
			if (access1(r, &rec))
				return 0; /* emulated OOM: the rest is not read */
			continue;
		}
		if (st == TRACE_MORE || st == TRACE_END) {
			r->hdr = d.hdr;
			if (refill(in))
				continue; /* after END, more bytes make trace_dec_next fail */
			if (in->err)
				break;
			st = trace_dec_eof(&d, in->end - in->start);
			if (st == TRACE_END)
				return 0;
		}
		fprintf(stderr, "vmemu: replay: %s: byte offset %llu: %s\n", r->path,
			(unsigned long long)d.err_offset, d.msg);
		return -1;
	}
	fprintf(stderr, "vmemu: replay: %s: read error: %s\n", r->path, strerror(in->err));
	return -1;
}

static int replay_lackey(struct replay *r, struct input *in)
{
	trace_lackey_init(&r->lk);
	for (;;) {
		unsigned char *s = in->buf + in->start;
		size_t avail = in->end - in->start;
		unsigned char *nl = memchr(s, '\n', avail);
		size_t len;
		if (nl) {
			len = (size_t)(nl - s) + 1;
		} else if (!in->eof) {
			if (avail >= CHUNK) {
				fprintf(stderr, "vmemu: replay: %s: line %llu: longer than %u bytes\n",
					r->path, (unsigned long long)r->lk.line + 1, CHUNK);
				return -1;
			}
			refill(in);
			continue;
		} else if (avail) {
			len = avail; /* last line without a newline */
		} else {
			break;
		}
		struct trace_record out[2];
		int n = trace_lackey_feed(&r->lk, (const char *)s, len, out);
		in->start += len;
		if (n < 0) {
			int show = (int)(len > 60 ? 60 : len);
			while (show && (s[show - 1] == '\n' || s[show - 1] == '\r'))
				show--;
			fprintf(stderr, "vmemu: replay: %s: line %llu: %s: \"%.*s\"\n", r->path,
				(unsigned long long)r->lk.line, r->lk.msg, show, (const char *)s);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (access1(r, &out[i]))
				return 0;
	}
	if (in->err) {
		fprintf(stderr, "vmemu: replay: %s: read error: %s\n", r->path, strerror(in->err));
		return -1;
	}
	if (r->lk.loads + r->lk.stores + r->lk.modifies + r->lk.instr == 0) {
		fprintf(stderr,
			"vmemu: replay: %s: no lackey access lines and no VMTR magic: not a trace "
			"(record one with valgrind --tool=lackey --trace-mem=yes --log-file=FILE)\n",
			r->path);
		return -1;
	}
	return 0;
}

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static const char *const pwc_names[TLB_PWC_LEVELS] = { "PML4E", "PDPTE", "PDE" };
static const char *const size_names[3] = { "4K", "2M", "1G" };

static void human(FILE *f, const struct replay *r, const struct mos_stats *ms,
		  const struct tlb_stats *ts)
{
	const struct tlb_machine *m = tlb_machine_of(r->tlb);
	unsigned long long u;
	fprintf(f, "==== vmemu replay report: %s ====\n", r->path);
	if (r->oom)
		fprintf(f, "INCOMPLETE: EMULATED OOM: memory.size = %llu bytes exhausted at %#llx "
			   "(data access %llu); the figures below cover the accesses before it\n",
			(unsigned long long)r->cfg.memory_size, (unsigned long long)r->oom_addr,
			(unsigned long long)r->oom_record);
	if (r->binary)
		fprintf(f, "trace: VMTR v%u, %s, time unit %u%s\n", r->hdr.version,
			r->hdr.flags & TRACE_F_PC ? "with PCs" : "no PCs", r->hdr.time_unit,
			r->hdr.count == TRACE_COUNT_UNKNOWN ? ", record count not in header" : "");
	else
		fprintf(f, "trace: Valgrind lackey text, %llu lines: %llu loads, %llu stores, %llu "
			   "modifies (load + store), %llu instruction fetches (skipped), %llu other "
			   "lines\n",
			(unsigned long long)r->lk.line, (unsigned long long)r->lk.loads,
			(unsigned long long)r->lk.stores, (unsigned long long)r->lk.modifies,
			(unsigned long long)r->lk.instr, (unsigned long long)r->lk.skipped);
	fprintf(f, "data accesses replayed %llu (loads %llu, stores %llu); outside user space "
		   "[4 KiB, 2^47), skipped: %llu\n",
		(unsigned long long)r->records, (unsigned long long)r->loads,
		(unsigned long long)r->stores, (unsigned long long)r->outside);
	fprintf(f, "policy %s; emulated memory %.1f MiB (%llu frames of 4 KiB); fault-around %llu\n",
		mos_policy_name(r->mos), mib(r->cfg.memory_size),
		(unsigned long long)ms->frames_total, (unsigned long long)r->cfg.fault_around);

	fprintf(f, "\n-- faults (emulated OS view: first touch of a page) --\n");
	fprintf(f, "  faults handled        %12llu  (read %llu, write %llu; 4K %llu, 2M %llu, 1G %llu)\n",
		(unsigned long long)(r->faults_read + r->faults_write),
		(unsigned long long)r->faults_read, (unsigned long long)r->faults_write,
		(unsigned long long)r->faults_by_size[0], (unsigned long long)r->faults_by_size[1],
		(unsigned long long)r->faults_by_size[2]);
	fprintf(f, "  pages mapped          %12llu  (%.1f MiB; faults' own pages %llu, %llu 2 MiB "
		   "promotions)\n",
		(unsigned long long)ms->pages_mapped, mib(ms->pages_mapped * MOS_PAGE_SIZE),
		(unsigned long long)r->pages_populated, (unsigned long long)r->promotions);
	if (r->scan_on)
		fprintf(f, "  khugepaged scans      %12llu  (every %llu %s; %llu regions collapsed, %llu "
			   "pages scanned; collapsed regions invalidated in the TLB model)\n",
			(unsigned long long)r->scans,
			(unsigned long long)(r->scan_by_time ? r->cfg.thp_scan_interval_ms : r->scan_every),
			r->scan_by_time ? "ms of trace time" : "data accesses",
			(unsigned long long)r->scan_collapsed, (unsigned long long)ms->scan_pages);
	else
		fprintf(f, "  khugepaged scans             off  (policy %s%s)\n", mos_policy_name(r->mos),
			r->cfg.thp_scan_interval_ms ? "" : ", thp.scan_interval_ms = 0");
	fprintf(f, "  frames in use         %12llu  (%.1f MiB), peak %llu (%.1f MiB)\n",
		(unsigned long long)ms->data_frames, mib(ms->data_frames * MOS_PAGE_SIZE),
		(unsigned long long)ms->data_frames_peak, mib(ms->data_frames_peak * MOS_PAGE_SIZE));
	fprintf(f, "  page-table pages      %12llu  (peak %llu)\n", (unsigned long long)ms->pt_pages,
		(unsigned long long)ms->pt_pages_peak);
	fprintf(f, "  frames free           %12llu  of %llu\n", (unsigned long long)ms->frames_free,
		(unsigned long long)ms->frames_total);

	fprintf(f, "\n-- TLB (emulated machine %s; untimed: walks never wait for a walker) --\n",
		m->name[0] ? m->name : "(unnamed)");
	fprintf(f, "  accesses              %12llu  (loads %llu, stores %llu)\n",
		(unsigned long long)ts->accesses, (unsigned long long)ts->loads,
		(unsigned long long)ts->stores);
	fprintf(f, "  %-16s %5s %12s %12s %12s %12s %12s\n", "structure", "level", "accesses", "hits",
		"misses", "evictions", "misses/Macc");
	for (uint32_t i = 0; i < ts->nstructs; i++) {
		const struct tlb_struct_stats *s = &ts->s[i];
		fprintf(f, "  %-16s %5u %12llu %12llu %12llu %12llu %12.1f\n", m->s[i].name,
			m->s[i].level, (unsigned long long)s->accesses, (unsigned long long)s->hits,
			(unsigned long long)s->misses, (unsigned long long)s->evictions, s->mpma);
	}
	for (unsigned l = 0; l < TLB_MAX_LEVELS; l++)
		if (ts->hits_by_level[l])
			fprintf(f, "  hits at level %u      %12llu\n", l + 1,
				(unsigned long long)ts->hits_by_level[l]);
	if (m->psp.kind != TLB_PSP_NONE)
		fprintf(f, "  page-size predictor   %12llu  accesses probed multi-size structures (predictor "
			   "%s), %llu mispredicted, %llu extra lookup cycles\n",
			(unsigned long long)ts->psp_predictions,
			m->psp.kind == TLB_PSP_4K ? "4k" : m->psp.index_pc ? "table by PC" : "table by 2 MiB region",
			(unsigned long long)ts->psp_mispredictions, (unsigned long long)ts->psp_extra_cycles);
	fprintf(f, "  walks                 %12llu  (4K %llu, 2M %llu, 1G %llu); %.1f per million "
		   "accesses\n",
		(unsigned long long)ts->walks, (unsigned long long)ts->walks_by_size[0],
		(unsigned long long)ts->walks_by_size[1], (unsigned long long)ts->walks_by_size[2],
		ts->walks_pmpa);
	fprintf(f, "  page-table entries read %10llu\n", (unsigned long long)ts->pte_reads);
	if (m->walk_mem == TLB_WALK_CACHE) {
		const struct tlb_walk_cache_desc *c = &m->walk_cache;
		uint64_t n = ts->pte_cache_hits + ts->pte_cache_misses;
		fprintf(f, "  PTE cache             %12llu hits, %llu misses (%.1f%% hits; walk.memory = "
			   "cache: %u sets x %u ways x %u B, %u / %u cycles per hit / miss)\n",
			(unsigned long long)ts->pte_cache_hits, (unsigned long long)ts->pte_cache_misses,
			n ? 100.0 * (double)ts->pte_cache_hits / (double)n : 0.0, c->sets, c->ways,
			c->line_bytes, c->hit_latency, c->miss_latency);
	} else {
		fprintf(f, "  entry cost            walk.memory = fixed: %u / %u / %u / %u cycles per "
			   "PML4E / PDPTE / PDE / PTE read\n",
			m->walk_latency[0], m->walk_latency[1], m->walk_latency[2], m->walk_latency[3]);
	}
	for (unsigned l = 0; l < TLB_PWC_LEVELS; l++)
		fprintf(f, "  PWC %-5s             %12llu hits of %llu lookups\n", pwc_names[l],
			(unsigned long long)ts->pwc_hits[l], (unsigned long long)ts->pwc_lookups[l]);
	u = ts->translation_cycles;
	fprintf(f, "  cycles (emulated)     %12llu  translation total = %llu TLB lookup + %llu walk; "
		   "%.2f per access\n",
		u, (unsigned long long)ts->tlb_cycles, (unsigned long long)ts->walk_cycles,
		ts->cycles_per_access);
	if (!ts->nprefetchers) {
		fprintf(f, "  prefetchers           none configured ([prefetch] prefetchers = ...)\n");
	} else {
		fprintf(f, "  prefetch queue        %u entries, %u cycles; %llu accesses served by it; "
			   "prefetch walks %llu (%llu entries read, %llu cycles, not in the total above%s)\n",
			m->pf.pq_entries, m->pf.pq_latency, (unsigned long long)ts->pq_hits,
			(unsigned long long)ts->prefetch_walks,
			(unsigned long long)ts->prefetch_pte_reads,
			(unsigned long long)ts->prefetch_walk_cycles,
			m->pf.walk ? "" : "; prefetch.walk = no: free");
		fprintf(f, "  %-16s %10s %10s %10s %10s %10s %10s %10s\n", "prefetcher", "triggers",
			"issued", "useful", "useless", "duplicate", "failed", "accuracy");
		for (uint32_t i = 0; i < ts->nprefetchers; i++) {
			const struct tlb_prefetch_stats *p = &ts->pf[i];
			fprintf(f, "  %-16s %10llu %10llu %10llu %10llu %10llu %10llu %9.1f%%\n",
				tlb_pf_name(m->pf.kind[i]), (unsigned long long)p->triggers,
				(unsigned long long)p->issued, (unsigned long long)p->useful,
				(unsigned long long)p->useless, (unsigned long long)p->duplicate,
				(unsigned long long)p->failed,
				p->issued ? 100.0 * (double)p->useful / (double)p->issued : 0.0);
			if (m->pf.kind[i] == TLB_PF_ASP && p->no_pc)
				fprintf(f, "  NOTE: asp needs PCs: %llu of its %llu triggers had none%s\n",
					(unsigned long long)p->no_pc, (unsigned long long)p->triggers,
					r->with_pc ? "" : " (this trace carries no PCs: asp was skipped)");
			if (m->pf.kind[i] == TLB_PF_SBFP) {
				fprintf(f, "    sbfp: free PTEs sampled %llu, Sampler hits %llu, FDT halvings "
					   "%llu; FDT (d = -7..-1, +1..+7):",
					(unsigned long long)p->sampled, (unsigned long long)p->sampler_hits,
					(unsigned long long)p->fdt_decays);
				for (unsigned d = 0; d < TLB_SBFP_DISTANCES; d++)
					fprintf(f, " %u", p->fdt[d]);
				fprintf(f, "\n");
			}
			if (m->pf.kind[i] == TLB_PF_ATP)
				fprintf(f, "    atp: off %llu, chose H2P %llu, MASP %llu, STP %llu; counters "
					   "enable_pref %u, select_1 %u, select_2 %u; %llu triggers without a "
					   "PC (no MASP prediction)\n",
					(unsigned long long)p->disabled, (unsigned long long)p->chose[0],
					(unsigned long long)p->chose[1], (unsigned long long)p->chose[2],
					p->atp_counters[0], p->atp_counters[1], p->atp_counters[2],
					(unsigned long long)p->no_pc);
		}
	}

	fprintf(f, "\n-- config in force --\n");
	const char *name;
	char value[VM_PATH_MAX];
	for (size_t i = 0; vm_config_key(&r->cfg, i, &name, value, sizeof value) == 0; i++)
		fprintf(f, "  %s = %s\n", name, value);
	fprintf(f, "==== end of vmemu replay report%s ====\n", r->oom ? " (INCOMPLETE)" : "");
}

static cJSON *json(const struct replay *r, const struct mos_stats *ms, const struct tlb_stats *ts)
{
	const struct tlb_machine *m = tlb_machine_of(r->tlb);
	cJSON *root = cJSON_CreateObject();
	cJSON *rp = cJSON_AddObjectToObject(root, "replay");
	cJSON_AddStringToObject(rp, "trace", r->path);
	cJSON_AddStringToObject(rp, "format", r->binary ? "vmtr" : "lackey");
	cJSON_AddBoolToObject(rp, "complete", !r->oom);
	cJSON_AddBoolToObject(rp, "emulated_oom", r->oom);
	if (r->oom) {
		cJSON_AddNumberToObject(rp, "oom_address", (double)r->oom_addr);
		cJSON_AddNumberToObject(rp, "oom_at_access", (double)r->oom_record);
	}
	cJSON_AddNumberToObject(rp, "data_accesses", (double)r->records);
	cJSON_AddNumberToObject(rp, "loads", (double)r->loads);
	cJSON_AddNumberToObject(rp, "stores", (double)r->stores);
	cJSON_AddNumberToObject(rp, "outside_user_space", (double)r->outside);
	cJSON_AddNumberToObject(rp, "accesses_with_pc", (double)r->with_pc);
	if (r->binary) {
		cJSON_AddNumberToObject(rp, "version", r->hdr.version);
		cJSON_AddBoolToObject(rp, "has_pc", r->hdr.flags & TRACE_F_PC);
		cJSON_AddNumberToObject(rp, "time_unit", r->hdr.time_unit);
	} else {
		cJSON_AddNumberToObject(rp, "lines", (double)r->lk.line);
		cJSON_AddNumberToObject(rp, "lackey_loads", (double)r->lk.loads);
		cJSON_AddNumberToObject(rp, "lackey_stores", (double)r->lk.stores);
		cJSON_AddNumberToObject(rp, "lackey_modifies", (double)r->lk.modifies);
		cJSON_AddNumberToObject(rp, "instruction_fetches_skipped", (double)r->lk.instr);
		cJSON_AddNumberToObject(rp, "other_lines", (double)r->lk.skipped);
	}

	cJSON *f = cJSON_AddObjectToObject(root, "faults");
	cJSON_AddNumberToObject(f, "handled", (double)(r->faults_read + r->faults_write));
	cJSON_AddNumberToObject(f, "read", (double)r->faults_read);
	cJSON_AddNumberToObject(f, "write", (double)r->faults_write);
	cJSON_AddNumberToObject(f, "pages_populated", (double)r->pages_populated);
	cJSON_AddNumberToObject(f, "promotions", (double)r->promotions);
	cJSON *sc = cJSON_AddObjectToObject(f, "khugepaged");
	cJSON_AddBoolToObject(sc, "on", r->scan_on);
	cJSON_AddStringToObject(sc, "clock", !r->scan_on ? "off" : r->scan_by_time ? "trace_ns" : "accesses");
	cJSON_AddNumberToObject(sc, "every", !r->scan_on ? 0
					      : r->scan_by_time ? (double)r->scan_period_ns
								: (double)r->scan_every);
	cJSON_AddNumberToObject(sc, "scans", (double)r->scans);
	cJSON_AddNumberToObject(sc, "collapsed", (double)r->scan_collapsed);
	cJSON_AddNumberToObject(sc, "scan_pages", (double)ms->scan_pages);
	cJSON *fs = cJSON_AddObjectToObject(f, "by_page_size");
	for (int i = 0; i < 3; i++)
		cJSON_AddNumberToObject(fs, size_names[i], (double)r->faults_by_size[i]);

	cJSON *mm = cJSON_AddObjectToObject(root, "memory");
	cJSON_AddStringToObject(mm, "policy", mos_policy_name(r->mos));
	cJSON_AddNumberToObject(mm, "frames_total", (double)ms->frames_total);
	cJSON_AddNumberToObject(mm, "frames_free", (double)ms->frames_free);
	cJSON_AddNumberToObject(mm, "frames_in_use", (double)ms->data_frames);
	cJSON_AddNumberToObject(mm, "frames_in_use_peak", (double)ms->data_frames_peak);
	cJSON_AddNumberToObject(mm, "page_table_pages", (double)ms->pt_pages);
	cJSON_AddNumberToObject(mm, "page_table_pages_peak", (double)ms->pt_pages_peak);
	cJSON_AddNumberToObject(mm, "pages_mapped", (double)ms->pages_mapped);

	cJSON *t = cJSON_AddObjectToObject(root, "tlb");
	cJSON_AddStringToObject(t, "machine", m->name);
	cJSON_AddStringToObject(t, "timing", "untimed");
	cJSON_AddNumberToObject(t, "accesses", (double)ts->accesses);
	cJSON_AddNumberToObject(t, "loads", (double)ts->loads);
	cJSON_AddNumberToObject(t, "stores", (double)ts->stores);
	cJSON *hl = cJSON_AddArrayToObject(t, "hits_by_level");
	for (unsigned l = 0; l < TLB_MAX_LEVELS; l++)
		cJSON_AddItemToArray(hl, cJSON_CreateNumber((double)ts->hits_by_level[l]));
	cJSON *ps = cJSON_AddObjectToObject(t, "pagesize_predictor");
	cJSON_AddStringToObject(ps, "predictor", m->psp.kind == TLB_PSP_NONE ? "none"
						 : m->psp.kind == TLB_PSP_4K ? "4k" : "table");
	cJSON_AddNumberToObject(ps, "predictions", (double)ts->psp_predictions);
	cJSON_AddNumberToObject(ps, "mispredictions", (double)ts->psp_mispredictions);
	cJSON_AddNumberToObject(ps, "extra_cycles", (double)ts->psp_extra_cycles);
	cJSON_AddNumberToObject(t, "walks", (double)ts->walks);
	cJSON *wb = cJSON_AddObjectToObject(t, "walks_by_page_size");
	for (int i = 0; i < 3; i++)
		cJSON_AddNumberToObject(wb, size_names[i], (double)ts->walks_by_size[i]);
	cJSON_AddNumberToObject(t, "pte_reads", (double)ts->pte_reads);
	cJSON *wm = cJSON_AddObjectToObject(t, "walk_memory");
	cJSON_AddStringToObject(wm, "model", m->walk_mem == TLB_WALK_CACHE ? "cache" : "fixed");
	if (m->walk_mem == TLB_WALK_CACHE) {
		cJSON_AddNumberToObject(wm, "sets", m->walk_cache.sets);
		cJSON_AddNumberToObject(wm, "ways", m->walk_cache.ways);
		cJSON_AddNumberToObject(wm, "line_bytes", m->walk_cache.line_bytes);
		cJSON_AddNumberToObject(wm, "hit_latency", m->walk_cache.hit_latency);
		cJSON_AddNumberToObject(wm, "miss_latency", m->walk_cache.miss_latency);
	}
	cJSON_AddNumberToObject(wm, "pte_cache_hits", (double)ts->pte_cache_hits);
	cJSON_AddNumberToObject(wm, "pte_cache_misses", (double)ts->pte_cache_misses);
	cJSON *pw = cJSON_AddObjectToObject(t, "pwc");
	for (unsigned l = 0; l < TLB_PWC_LEVELS; l++) {
		cJSON *e = cJSON_AddObjectToObject(pw, pwc_names[l]);
		cJSON_AddNumberToObject(e, "lookups", (double)ts->pwc_lookups[l]);
		cJSON_AddNumberToObject(e, "hits", (double)ts->pwc_hits[l]);
	}
	cJSON_AddNumberToObject(t, "tlb_cycles", (double)ts->tlb_cycles);
	cJSON_AddNumberToObject(t, "walk_cycles", (double)ts->walk_cycles);
	cJSON_AddNumberToObject(t, "translation_cycles", (double)ts->translation_cycles);
	cJSON_AddNumberToObject(t, "cycles_per_access", ts->cycles_per_access);
	cJSON_AddNumberToObject(t, "walks_per_million_accesses", ts->walks_pmpa);
	cJSON *pfo = cJSON_AddObjectToObject(t, "prefetch");
	cJSON_AddNumberToObject(pfo, "pq_entries", ts->nprefetchers ? m->pf.pq_entries : 0);
	cJSON_AddNumberToObject(pfo, "pq_hits", (double)ts->pq_hits);
	cJSON_AddBoolToObject(pfo, "walks_charged", ts->nprefetchers && m->pf.walk);
	cJSON_AddNumberToObject(pfo, "prefetch_walks", (double)ts->prefetch_walks);
	cJSON_AddNumberToObject(pfo, "prefetch_pte_reads", (double)ts->prefetch_pte_reads);
	cJSON_AddNumberToObject(pfo, "prefetch_walk_cycles", (double)ts->prefetch_walk_cycles);
	cJSON *pfa = cJSON_AddArrayToObject(pfo, "prefetchers");
	for (uint32_t i = 0; i < ts->nprefetchers; i++) {
		const struct tlb_prefetch_stats *p = &ts->pf[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", tlb_pf_name(m->pf.kind[i]));
		cJSON_AddNumberToObject(e, "triggers", (double)p->triggers);
		cJSON_AddNumberToObject(e, "candidates", (double)p->candidates);
		cJSON_AddNumberToObject(e, "issued", (double)p->issued);
		cJSON_AddNumberToObject(e, "useful", (double)p->useful);
		cJSON_AddNumberToObject(e, "useless", (double)p->useless);
		cJSON_AddNumberToObject(e, "duplicate", (double)p->duplicate);
		cJSON_AddNumberToObject(e, "failed", (double)p->failed);
		cJSON_AddNumberToObject(e, "no_pc", (double)p->no_pc);
		if (m->pf.kind[i] == TLB_PF_ASP)
			cJSON_AddBoolToObject(e, "skipped_no_pc", r->with_pc == 0);
		if (m->pf.kind[i] == TLB_PF_SBFP) {
			cJSON_AddNumberToObject(e, "sampled", (double)p->sampled);
			cJSON_AddNumberToObject(e, "sampler_hits", (double)p->sampler_hits);
			cJSON_AddNumberToObject(e, "fdt_decays", (double)p->fdt_decays);
			cJSON *fd = cJSON_AddArrayToObject(e, "fdt");
			for (unsigned d = 0; d < TLB_SBFP_DISTANCES; d++)
				cJSON_AddItemToArray(fd, cJSON_CreateNumber(p->fdt[d]));
		}
		if (m->pf.kind[i] == TLB_PF_ATP) {
			cJSON_AddNumberToObject(e, "disabled", (double)p->disabled);
			cJSON *ch = cJSON_AddObjectToObject(e, "chose");
			cJSON_AddNumberToObject(ch, "h2p", (double)p->chose[0]);
			cJSON_AddNumberToObject(ch, "masp", (double)p->chose[1]);
			cJSON_AddNumberToObject(ch, "stp", (double)p->chose[2]);
			cJSON_AddNumberToObject(e, "enable_pref", p->atp_counters[0]);
			cJSON_AddNumberToObject(e, "select_1", p->atp_counters[1]);
			cJSON_AddNumberToObject(e, "select_2", p->atp_counters[2]);
		}
		cJSON_AddItemToArray(pfa, e);
	}
	cJSON *ss = cJSON_AddArrayToObject(t, "structures");
	for (uint32_t i = 0; i < ts->nstructs; i++) {
		const struct tlb_struct_stats *s = &ts->s[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", m->s[i].name);
		cJSON_AddNumberToObject(e, "level", m->s[i].level);
		cJSON_AddNumberToObject(e, "accesses", (double)s->accesses);
		cJSON_AddNumberToObject(e, "hits", (double)s->hits);
		cJSON_AddNumberToObject(e, "misses", (double)s->misses);
		cJSON_AddNumberToObject(e, "evictions", (double)s->evictions);
		cJSON_AddNumberToObject(e, "fills", (double)s->fills);
		cJSON_AddNumberToObject(e, "victim_fills", (double)s->victim_fills);
		cJSON_AddNumberToObject(e, "misses_per_million_accesses", s->mpma);
		cJSON_AddItemToArray(ss, e);
	}

	cJSON *c = cJSON_AddObjectToObject(root, "config");
	const char *name;
	char value[VM_PATH_MAX];
	for (size_t i = 0; vm_config_key(&r->cfg, i, &name, value, sizeof value) == 0; i++)
		cJSON_AddStringToObject(c, name, value);
	return root;
}

static int write_json(const char *path, cJSON *root)
{
	char *text = cJSON_Print(root);
	FILE *f = text ? fopen(path, "w") : NULL;
	int rc = 0;
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0)
		rc = -1;
	if (f && fclose(f))
		rc = -1;
	if (rc)
		fprintf(stderr, "vmemu: replay: cannot write %s: %s\n", path, strerror(errno));
	free(text);
	return rc;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "scan-every", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct replay r; /* large (config paths); one per process */
	char err[2048];
	const char *json_path = NULL;
	int c;

	memset(&r, 0, sizeof r);
	vm_config_defaults(&r.cfg);
	/* -s overrides apply after all files, as for `run` */
	char **sets = calloc((size_t)argc + 1, sizeof *sets);
	int nsets = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (vm_config_load_file(&r.cfg, optarg, err, sizeof err)) {
				fprintf(stderr, "vmemu: %s\n", err);
				return 2;
			}
			break;
		case 's':
			sets[nsets++] = optarg;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'S': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "vmemu: replay: --scan-every: not a number of accesses: "
						"'%s'\n",
					optarg);
				return 2;
			}
			r.scan_forced = true;
			r.scan_every = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	for (int i = 0; i < nsets; i++)
		if (vm_config_set(&r.cfg, sets[i], err, sizeof err)) {
			fprintf(stderr, "vmemu: %s\n", err);
			return 2;
		}
	free(sets);
	if (!json_path && r.cfg.report_json[0])
		json_path = r.cfg.report_json;
	if (vm_config_finish(&r.cfg, err, sizeof err)) {
		fprintf(stderr, "vmemu: %s\n", err);
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vmemu: replay: %s\n",
			optind >= argc ? "no trace given" : "exactly one trace expected");
		usage(stderr);
		return 2;
	}
	r.path = argv[optind];
	/* khugepaged: the live run's rule (runtime.c scan_wanted) */
	r.scan_on = r.cfg.thp_scan_interval_ms &&
		    (!strcmp(r.cfg.policy, "thp") || !strcmp(r.cfg.policy, "reservethp"));
	r.scan_period_ns = r.cfg.thp_scan_interval_ms * 1000000ull;
	if (!r.scan_forced)
		r.scan_every = r.cfg.thp_scan_interval_ms * 1000000ull; /* 1 access per ns */
	else if (r.scan_every == 0)
		r.scan_on = false;
	if (!r.cfg.machine_set || r.cfg.machine.nstructs == 0) {
		fprintf(stderr, "vmemu: replay: no TLB machine configured: give one with -c, e.g. "
				"-c configs/machines/golden_cove.ini\n");
		return 2;
	}

	struct tlb_allocator ta = { zalloc, zfree, NULL };
	r.tlb = tlb_create(&r.cfg.machine, &ta, err, sizeof err);
	if (!r.tlb) {
		fprintf(stderr, "vmemu: replay: TLB machine: %s\n", err);
		return 2;
	}
	tlb_set_translator(r.tlb, replay_translate, &r);
	/* the same emulated machine a live run of this config gets */
	struct mos_config mc;
	vm_mos_config(&r.cfg, &mc);
	struct mos_allocator ma = { zalloc, zfree, NULL };
	enum mos_status st;
	r.mos = mos_create(&mc, &ma, &st);
	if (!r.mos) {
		fprintf(stderr, "vmemu: replay: cannot create the emulated machine (policy %s, "
				"memory.size %llu, hugetlb.nr_2m %llu, hugetlb.nr_1g %llu): %s\n",
			r.cfg.policy, (unsigned long long)r.cfg.memory_size,
			(unsigned long long)r.cfg.hugetlb_nr_2m, (unsigned long long)r.cfg.hugetlb_nr_1g,
			mos_status_str(st));
		return 2;
	}
	/* hugetlb.heap: the trace has no heap boundaries, so the whole address
	 * space takes pool pages where a whole empty aligned region allows */
	uint32_t vf = MOS_VMA_MMAP | (vm_heap_vma_flags(&r.cfg) & ~(uint32_t)MOS_VMA_HEAP);
	if ((st = mos_vma_add(r.mos, USER_START, USER_END - USER_START, vf)) != MOS_OK) {
		fprintf(stderr, "vmemu: replay: cannot manage the user address space: %s\n",
			mos_status_str(st));
		return 2;
	}

	struct input in = { 0 };
	in.f = strcmp(r.path, "-") ? fopen(r.path, "rb") : stdin;
	if (!in.f) {
		fprintf(stderr, "vmemu: replay: cannot open %s: %s\n", r.path, strerror(errno));
		return 1;
	}
	in.buf = malloc(CHUNK);
	if (!in.buf) {
		fprintf(stderr, "vmemu: replay: out of memory\n");
		return 1;
	}
	while (in.end < 4 && refill(&in))
		;
	r.binary = trace_is_vmtr(in.buf, in.end);
	int rc = r.binary ? replay_binary(&r, &in) : replay_lackey(&r, &in);
	if (in.f != stdin)
		fclose(in.f);
	free(in.buf);
	if (rc)
		return 1; /* the error is printed; no report for a trace read in part */

	struct mos_stats ms;
	struct tlb_stats ts;
	mos_get_stats(r.mos, &ms);
	tlb_get_stats(r.tlb, &ts);
	human(stdout, &r, &ms, &ts);
	fflush(stdout);
	int status = r.oom ? 137 : 0;
	if (json_path) {
		cJSON *root = json(&r, &ms, &ts);
		if (write_json(json_path, root))
			status = 1;
		cJSON_Delete(root);
	}
	tlb_destroy(r.tlb);
	mos_destroy(r.mos);
	return status;
}
