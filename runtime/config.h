/*
 * vmemu configuration: the INI contract of DESIGN.md, read with inih.
 *
 * Sources are applied in order, each overriding the ones before: built-in
 * defaults (identical to configs/default.ini), config files (`-c FILE`,
 * repeatable, or VMEMU_CONFIG=FILE[:FILE...] for the preload), then
 * `section.key=value` overrides (`-s`, or VMEMU_SET, one per line).
 *
 * Keys of features this build does not emulate yet are recognised so that a
 * user gets a clear error instead of a silently ignored setting: they accept
 * only their "off" value (e.g. swap.size = 0).
 */
#ifndef VMEMU_CONFIG_H
#define VMEMU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tlbmodel/tlbmodel.h>

#define VM_PATH_MAX 4096
#define VM_MAX_NODES 8

enum vm_fallback { VM_FALLBACK_ABORT = 0, VM_FALLBACK_NATIVE = 1 };

/* Access samplers ([sampler] source); bit i of vm_config.sampler_sources. */
enum vm_sampler_source { VM_SRC_PROTECT = 0, VM_SRC_TLBTRAP, VM_SRC_PERF, VM_SRC_WPSCAN, VM_SRC_COUNT };

/* Name of a sampler source as the config spells it ("protect", ...). */
const char *vm_sampler_source_name(unsigned src);

struct vm_config {
	/* [memory] */
	uint64_t memory_size;          /* emulated physical memory, bytes */
	double memory_fragmentation;   /* 0..1: Linux unusable index at order 9 to inject */
	uint64_t memory_seed;          /* RNG seed of the fragmentation injection */
	uint64_t memory_nodes;         /* emulated NUMA nodes, 1..VM_MAX_NODES */
	char node_sizes[256];          /* "2G,2G": bytes per node; "" = equal split */
	/* [numa] (parsed by vm_config_finish into the arrays below) */
	int numa_policy;               /* 0 local, 1 bind, 2 interleave, 3 preferred */
	uint64_t numa_node;            /* node for bind / preferred */
	char numa_distances[512];      /* "10,20;20,10" rows; "" = 10 local, 20 remote */
	double numa_spill_threshold;   /* 0..1; 0 = spill only when full */
	uint64_t node_bytes[VM_MAX_NODES];              /* parsed node_sizes; all 0 = equal split */
	uint32_t node_distance[VM_MAX_NODES][VM_MAX_NODES]; /* parsed numa_distances */
	/* [heap] */
	uint64_t heap_reserve;         /* virtual bytes reserved for the malloc family */
	uint64_t heap_mmap_threshold;  /* anonymous private mmaps >= this are managed, bytes */
	int heap_static_data;          /* 1: the program's .data/.bss are managed too */
	/* [mimicos] */
	char policy[256];              /* built-in policy name, or path of a policy .so */
	const struct mos_policy_ops *policy_ops; /* the loaded .so's table, or NULL */
	uint64_t fault_around;         /* pages populated per fault (power of two) */
	/* [thp] */
	int thp_mode;                  /* enum mos_thp_mode: never, always, madvise */
	double thp_promotion_threshold;
	uint64_t thp_scan_interval_ms; /* khugepaged-like promotion scan period; 0 = off */
	uint64_t thp_scan_pages;       /* pages examined per scan */
	int thp_host_backing;          /* 1: collapse emulated 2 MiB pages into real THPs */
	/* [eager] (eagerpaging) */
	uint64_t eager_max;            /* bytes allocated per eager fault; 0 = whole VMA */
	uint64_t eager_populate;       /* bytes populated per eager fault; 0 = all mapped */
	/* [reclaim] [swap] */
	char reclaim_policy[16];       /* fifo | clock | lru | wsclock */
	uint64_t reclaim_tau_ms;       /* wsclock working-set window, ms */
	uint64_t reclaim_watermark_min; /* bytes; 0 = Linux's min_free_kbytes formula */
	uint64_t swap_size;            /* bytes of swap; 0 = none (OOM at memory.size) */
	char swap_file[VM_PATH_MAX];   /* "" = private file in $TMPDIR; a directory; or a new path */
	char swap_device[32];          /* preset that set the four figures below */
	uint64_t swap_read_latency_ns, swap_write_latency_ns; /* per batch, ns */
	uint64_t swap_read_bw, swap_write_bw;                 /* bytes per second */
	uint64_t swap_readahead;       /* pages per swap-in, max window */
	int swap_thp;                  /* 0 split, 1 whole */
	/* [sampler] (runtime/sampler.h) */
	char sampler_source[64];       /* "none" or a comma list of protect, tlbtrap, perf, wpscan */
	unsigned sampler_sources;      /* parsed source: bit (1 << VM_SRC_*) per source named */
	double sampler_rate;           /* protect: fraction of resident pages armed per interval, (0, 1] */
	uint64_t sampler_interval_ms;  /* sampler period, ms */
	double sampler_budget;         /* protect: max fraction of wall time for its work; 0 = fixed rate */
	uint64_t sampler_block_pages;  /* protect: aligned pages armed together (power of two, 1..64) */
	uint64_t sampler_tlb_entries;  /* tlbtrap: emulated last-level TLB entries; 0 = the machine's */
	double sampler_set_rate;       /* tlbtrap: fraction of the emulated TLB's sets emulated, (0, 1] */
	char sampler_set_rate_origin[VM_PATH_MAX + 32]; /* where set_rate was set ("" = default) */
	uint64_t sampler_perf_period;  /* perf: events per sample; 0 = automatic */
	char sampler_record[VM_PATH_MAX]; /* VMTR trace of the sampled stream; "" = none */
	/* [report] */
	char report_file[VM_PATH_MAX]; /* "" = stderr */
	char report_json[VM_PATH_MAX]; /* "" = no JSON */
	int report_bloat;              /* 1: measure never-written mapped bytes at exit */
	/* [machine] file = ..., and the [mmu] [tlb.*] [pwc] [walk] sections of a
	 * machine description, which tlbmodel parses (configs/machines/) */
	char machine_file[VM_PATH_MAX];
	bool machine_set;              /* some machine key was given */
	struct tlb_machine machine;
	/* [runtime] */
	int fallback;                  /* enum vm_fallback */
	uint64_t spin_us;              /* handler busy-poll before sleeping, microseconds */
	uint64_t handlers;             /* fault handler threads; 0 = one pinned per CPU */
	/* [hugetlb] (issue 3): hugetlbfs-like pools, Linux vm.nr_hugepages */
	uint64_t hugetlb_nr_2m;        /* 2 MiB pages reserved at start */
	uint64_t hugetlb_nr_1g;        /* 1 GiB pages reserved at start */
	int hugetlb_heap;              /* enum vm_hugetlb_heap: back the malloc heap from a pool */
	char hugetlb_origin[2][VM_PATH_MAX + 32]; /* where nr_2m / nr_1g were set ("FILE:LINE", "-s ...") */
};

/* [hugetlb] heap: none, or the pool the malloc heap takes pages from. */
enum vm_hugetlb_heap { VM_HUGETLB_HEAP_NONE = 0, VM_HUGETLB_HEAP_2M = 1, VM_HUGETLB_HEAP_1G = 2 };

/* Fill cfg with the built-in defaults (the values in configs/default.ini). */
void vm_config_defaults(struct vm_config *cfg);

/*
 * Apply the INI file at path to cfg. Returns 0, or -1 with a one-line
 * message in err ("FILE:LINE: key 'section.key': why" or "FILE: cannot read:
 * why"). Unknown sections and keys, bad numbers and bad names are errors.
 * On error cfg may be partly updated.
 */
int vm_config_load_file(struct vm_config *cfg, const char *path, char *err, size_t errlen);

/*
 * Apply one override "section.key=value" to cfg. Returns 0, or -1 with a
 * message in err ("-s ARG: key 'section.key': why").
 */
int vm_config_set(struct vm_config *cfg, const char *assignment, char *err, size_t errlen);

/*
 * Cross-key checks once every source is applied: NUMA node sizes and
 * distances; the hugetlb pools must fit in memory.size exactly as MimicOS
 * carves them (1 GiB pages in 1 GiB-aligned ranges inside nodes, and at
 * least one 4 KiB frame left over), named with where the key was set
 * ("FILE:LINE: key 'hugetlb.nr_1g': ..."); the TLB machine, when one was
 * configured, must validate. Returns 0, or -1 with a message naming the key
 * ("machine golden_cove: tlb.stlb.ways: ...").
 */
int vm_config_finish(struct vm_config *cfg, char *err, size_t errlen);

/*
 * Load the preload's configuration from the environment: VMEMU_CONFIG
 * (files separated by ':'), VMEMU_SET (overrides separated by newlines),
 * VMEMU_REPORT and VMEMU_STATS (report.file and report.json), then
 * vm_config_finish. Returns 0 or -1 with err as above.
 */
int vm_config_from_env(struct vm_config *cfg, char *err, size_t errlen);

/*
 * Write every key as "section.key = value\n" into buf (NUL-terminated,
 * truncated to len). Returns the length it needed. Used by the report.
 */
size_t vm_config_dump(const struct vm_config *cfg, char *buf, size_t len);

/* Iterate the keys: name ("section.key") and formatted value of key i;
 * returns 0, or -1 past the last key. */
int vm_config_key(const struct vm_config *cfg, size_t i, const char **name, char *value,
		  size_t vlen);

/*
 * The MimicOS machine a configuration describes (memory, policy and its
 * knobs), for mos_create. mc->policy points into c. Used by the live runtime
 * and by replay, so both emulate the same machine.
 */
struct mos_config;
void vm_mos_config(const struct vm_config *c, struct mos_config *mc);

/*
 * MimicOS VMA flags for the malloc heap under hugetlb.heap (MOS_VMA_HEAP
 * plus MOS_VMA_HUGETLB_2M/_1G | MOS_VMA_HUGETLB_MORECORE, or MOS_VMA_HEAP
 * alone for none). Replay gives its address-space VMA the same flags.
 */
uint32_t vm_heap_vma_flags(const struct vm_config *c);

/*
 * Parse a size with an optional K/M/G/T suffix (powers of 1024) into bytes.
 * Returns 0, or -1 for anything else (empty, negative, overflow, junk).
 */
int vm_parse_size(const char *s, uint64_t *out);

#endif
