#include "runtime/config.h"
#include "runtime/swapio.h"

#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mimicos/mimicos.h>
#include <mimicos/policy_api.h>

enum key_type { K_SIZE, K_UINT, K_DOUBLE, K_CHOICE, K_STRING, K_POLICY, K_SOURCES };

/*
 * One config key. `off`, when set, marks a key whose feature this build does
 * not emulate: only that value is accepted, and `why` says where it is coming.
 */
struct key {
	const char *section, *name;
	enum key_type type;
	size_t offset, size;      /* field in struct vm_config; size for strings */
	double min, max;          /* numeric bounds, inclusive */
	const char *const *choices;
	const char *off, *why;
	bool pow2;                /* K_UINT: must be a power of two */
};

static const char *const thp_modes[] = { "never", "always", "madvise", NULL };
static const char *const reclaim_policies[] = { "fifo", "clock", "lru", "wsclock", NULL };
static const char *const swap_devices[] = { "nvme", "ssd", "cxl", "rdma", "zram", NULL };
static const char *const swap_thp_modes[] = { "split", "whole", NULL };
static const char *const fallbacks[] = { "abort", "native", NULL };
static const char *const host_backings[] = { "none", "collapse", NULL };
static const char *const off_on[] = { "off", "on", NULL };
static const char *const numa_policies[] = { "local", "bind", "interleave", "preferred", NULL };
static const char *const sampler_sources[] = { "protect", "tlbtrap", "perf", "wpscan", NULL };

const char *vm_sampler_source_name(unsigned src)
{
	return src < VM_SRC_COUNT ? sampler_sources[src] : "?";
}

/*
 * [sampler] source: "none" or a comma list of distinct sources. Sets the
 * bit mask; -1 with the reason in why.
 */
static int parse_sources(const char *value, unsigned *mask, char *why, size_t wlen)
{
	char buf[64];
	unsigned m = 0;
	if (strlen(value) >= sizeof buf) {
		snprintf(why, wlen, "value too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", value);
	if (!strcmp(buf, "none")) {
		*mask = 0;
		return 0;
	}
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		for (char *e = t + strlen(t); e > t && e[-1] == ' '; *--e = 0)
			;
		unsigned i = 0;
		while (sampler_sources[i] && strcmp(sampler_sources[i], t))
			i++;
		if (!sampler_sources[i]) {
			snprintf(why, wlen, "unknown source '%s' (none, or a comma list of: protect, "
					    "tlbtrap, perf, wpscan)", t);
			return -1;
		}
		if (m & (1u << i)) {
			snprintf(why, wlen, "source '%s' named twice", t);
			return -1;
		}
		m |= 1u << i;
	}
	if (!m) {
		snprintf(why, wlen, "empty source list (use none)");
		return -1;
	}
	*mask = m;
	return 0;
}
static const char *const hugetlb_heaps[] = { "none", "2m", "1g", NULL };

#define F(field) offsetof(struct vm_config, field), sizeof(((struct vm_config *)0)->field)
#define TiB (1024.0 * 1024 * 1024 * 1024)

static const struct key keys[] = {
	{ "memory", "size", K_SIZE, F(memory_size), 1 << 20, 16 * TiB, NULL, NULL, NULL },
	{ "memory", "fragmentation", K_DOUBLE, F(memory_fragmentation), 0, 1, NULL, NULL, NULL },
	{ "memory", "seed", K_UINT, F(memory_seed), 0, 1e19, NULL, NULL, NULL },
	{ "memory", "nodes", K_UINT, F(memory_nodes), 1, VM_MAX_NODES, NULL, NULL, NULL },
	{ "memory", "node_sizes", K_STRING, F(node_sizes), 0, 0, NULL, NULL, NULL },
	{ "numa", "policy", K_CHOICE, F(numa_policy), 0, 0, numa_policies, NULL, NULL },
	{ "numa", "node", K_UINT, F(numa_node), 0, VM_MAX_NODES - 1, NULL, NULL, NULL },
	{ "numa", "distances", K_STRING, F(numa_distances), 0, 0, NULL, NULL, NULL },
	{ "numa", "spill_threshold", K_DOUBLE, F(numa_spill_threshold), 0, 1, NULL, NULL, NULL },
	{ "heap", "reserve", K_SIZE, F(heap_reserve), 1ull << 30, 64 * TiB, NULL, NULL, NULL },
	{ "heap", "mmap_threshold", K_SIZE, F(heap_mmap_threshold), 4096, 64 * TiB, NULL, NULL, NULL },
	{ "heap", "static_data", K_CHOICE, F(heap_static_data), 0, 0, off_on, NULL, NULL },
	{ "mimicos", "policy", K_POLICY, F(policy), 0, 0, NULL, NULL, NULL },
	{ "mimicos", "fault_around", K_UINT, F(fault_around), 1, 512, NULL, NULL, NULL, .pow2 = true },
	{ "thp", "mode", K_CHOICE, F(thp_mode), 0, 0, thp_modes, NULL, NULL },
	{ "thp", "promotion_threshold", K_DOUBLE, F(thp_promotion_threshold), 0, 1, NULL, NULL, NULL },
	{ "thp", "scan_interval_ms", K_UINT, F(thp_scan_interval_ms), 0, 3600000, NULL, NULL, NULL },
	{ "thp", "scan_pages", K_UINT, F(thp_scan_pages), 512, 1ull << 30, NULL, NULL, NULL },
	{ "eager", "max", K_SIZE, F(eager_max), 0, 64 * TiB, NULL, NULL, NULL, .pow2 = true },
	{ "eager", "populate", K_SIZE, F(eager_populate), 0, 64 * TiB, NULL, NULL, NULL, .pow2 = true },
	{ "thp", "host_backing", K_CHOICE, F(thp_host_backing), 0, 0, host_backings, NULL, NULL },
	{ "reclaim", "policy", K_CHOICE, F(reclaim_policy), 0, 0, reclaim_policies, NULL, NULL },
	{ "reclaim", "tau_ms", K_UINT, F(reclaim_tau_ms), 1, 3600000, NULL, NULL, NULL },
	{ "reclaim", "watermark_min", K_SIZE, F(reclaim_watermark_min), 0, 16 * TiB, NULL, NULL,
	  NULL },
	{ "swap", "size", K_SIZE, F(swap_size), 0, 16 * TiB - 4096, NULL, NULL, NULL },
	{ "swap", "file", K_STRING, F(swap_file), 0, 0, NULL, NULL, NULL },
	{ "swap", "device", K_CHOICE, F(swap_device), 0, 0, swap_devices, NULL, NULL },
	{ "swap", "read_latency_ns", K_UINT, F(swap_read_latency_ns), 0, 1e10, NULL, NULL, NULL },
	{ "swap", "write_latency_ns", K_UINT, F(swap_write_latency_ns), 0, 1e10, NULL, NULL, NULL },
	{ "swap", "read_bandwidth", K_SIZE, F(swap_read_bw), 1 << 20, 16 * TiB, NULL, NULL, NULL },
	{ "swap", "write_bandwidth", K_SIZE, F(swap_write_bw), 1 << 20, 16 * TiB, NULL, NULL, NULL },
	{ "swap", "readahead", K_UINT, F(swap_readahead), 0, 1024, NULL, NULL, NULL },
	{ "swap", "thp", K_CHOICE, F(swap_thp), 0, 0, swap_thp_modes, NULL, NULL },
	{ "sampler", "source", K_SOURCES, F(sampler_source), 0, 0, NULL, NULL, NULL },
	{ "sampler", "rate", K_DOUBLE, F(sampler_rate), 1e-9, 1, NULL, NULL, NULL },
	{ "sampler", "interval_ms", K_UINT, F(sampler_interval_ms), 1, 3600000, NULL, NULL, NULL },
	{ "sampler", "budget", K_DOUBLE, F(sampler_budget), 0, 1, NULL, NULL, NULL },
	{ "sampler", "block_pages", K_UINT, F(sampler_block_pages), 1, 64, NULL, NULL, NULL, .pow2 = true },
	{ "sampler", "tlb_entries", K_UINT, F(sampler_tlb_entries), 0, 1 << 20, NULL, NULL, NULL },
	{ "sampler", "set_rate", K_DOUBLE, F(sampler_set_rate), 1e-9, 1, NULL, NULL, NULL },
	{ "sampler", "perf_period", K_UINT, F(sampler_perf_period), 0, 1ull << 32, NULL, NULL, NULL },
	{ "sampler", "record", K_STRING, F(sampler_record), 0, 0, NULL, NULL, NULL },
	{ "report", "file", K_STRING, F(report_file), 0, 0, NULL, NULL, NULL },
	{ "report", "json", K_STRING, F(report_json), 0, 0, NULL, NULL, NULL },
	{ "report", "bloat", K_CHOICE, F(report_bloat), 0, 0, off_on, NULL, NULL },
	{ "machine", "file", K_STRING, F(machine_file), 0, 0, NULL, NULL, NULL },
	{ "runtime", "fallback", K_CHOICE, F(fallback), 0, 0, fallbacks, NULL, NULL },
	{ "runtime", "spin_us", K_UINT, F(spin_us), 0, 1000000, NULL, NULL, NULL },
	{ "runtime", "handlers", K_UINT, F(handlers), 0, 8, NULL, NULL, NULL },
	{ "hugetlb", "nr_2m", K_UINT, F(hugetlb_nr_2m), 0, 8 * 1024 * 1024, NULL, NULL, NULL },
	{ "hugetlb", "nr_1g", K_UINT, F(hugetlb_nr_1g), 0, 16384, NULL, NULL, NULL },
	{ "hugetlb", "heap", K_CHOICE, F(hugetlb_heap), 0, 0, hugetlb_heaps, NULL, NULL },
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* swap.device = name: its preset's four figures (later keys may override). */
static void set_device(struct vm_config *cfg, const char *name)
{
	const struct vm_swap_device *d = vm_swap_device_find(name);
	if (!d)
		return;
	snprintf(cfg->swap_device, sizeof cfg->swap_device, "%s", d->name);
	cfg->swap_read_latency_ns = d->read_latency_ns;
	cfg->swap_write_latency_ns = d->write_latency_ns;
	cfg->swap_read_bw = d->read_bw;
	cfg->swap_write_bw = d->write_bw;
}

void vm_config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->memory_size = 4ull << 30;
	cfg->memory_nodes = 1;
	cfg->numa_policy = 0; /* local */
	cfg->heap_reserve = 64ull << 30;
	cfg->heap_mmap_threshold = 1ull << 20;
	cfg->heap_static_data = 1;
	strcpy(cfg->policy, "baseline");
	cfg->fault_around = 1;
	cfg->thp_mode = 0; /* never */
	cfg->memory_seed = 1;
	cfg->thp_scan_interval_ms = 10000; /* khugepaged's scan_sleep_millisecs */
	cfg->thp_scan_pages = 4096;        /* khugepaged's pages_to_scan */
	cfg->eager_max = 1ull << 30;
	cfg->eager_populate = 2ull << 20;
	cfg->thp_promotion_threshold = 0.5;
	cfg->thp_host_backing = 1;
	strcpy(cfg->reclaim_policy, "clock");
	cfg->reclaim_tau_ms = 1000;
	set_device(cfg, "nvme");
	cfg->swap_readahead = 8;
	strcpy(cfg->sampler_source, "none");
	cfg->sampler_rate = 0.01;
	cfg->sampler_interval_ms = 10;
	cfg->sampler_block_pages = 16;
	cfg->sampler_budget = 0.02;
	cfg->sampler_set_rate = 1;
	cfg->fallback = VM_FALLBACK_ABORT;
	cfg->spin_us = 0;
	tlb_machine_init(&cfg->machine);
}

int vm_parse_size(const char *s, uint64_t *out)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if ((*end == 'b' || *end == 'B') && shift)
		end++; /* accept "4GB", "512KB" */
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, uint64_t *out)
{
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	while (*end == ' ')
		end++;
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static void fmt(char *err, size_t len, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(err, len, f, ap);
	va_end(ap);
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static bool section_known(const char *section)
{
	if (tlb_machine_owns_section(section))
		return true;
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section))
			return true;
	return false;
}

static void list_choices(const char *const *c, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (; *c && n < len; c++)
		n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", *c);
}

static void list_policies(char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	const char *p;
	for (size_t i = 0; (p = mos_policy_builtin(i)) && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", p);
}

/*
 * dlopen a user policy and find its ops table (mimicos/policy_api.h). The
 * handle is never closed: the machine uses the code until exit. NULL with
 * the reason in why.
 */
static const struct mos_policy_ops *load_policy(const char *path, char *why, size_t wlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fmt(why, wlen, "cannot load policy: %s", dlerror());
		return NULL;
	}
	const struct mos_policy_ops *ops = dlsym(h, MOS_POLICY_SYMBOL);
	if (!ops) {
		fmt(why, wlen, "%s does not define the symbol '%s' (see mimicos/policy_api.h)", path,
		    MOS_POLICY_SYMBOL);
		return NULL;
	}
	if (ops->abi_version < MOS_POLICY_ABI_MIN || ops->abi_version > MOS_POLICY_ABI_VERSION) {
		fmt(why, wlen, "%s is built for policy ABI version %u; this vmemu supports %u to %u",
		    path, (unsigned)ops->abi_version, (unsigned)MOS_POLICY_ABI_MIN,
		    (unsigned)MOS_POLICY_ABI_VERSION);
		return NULL;
	}
	if (!ops->name || !ops->name[0] || !ops->fault || !ops->free_range) {
		fmt(why, wlen, "%s: '%s' lacks a name, fault or free_range", path, MOS_POLICY_SYMBOL);
		return NULL;
	}
	return ops;
}

/* Parse value for key k into cfg. On error writes the reason (without the
 * location prefix) into why and returns -1. */
static int apply(struct vm_config *cfg, const struct key *k, const char *value, char *why,
		 size_t wlen)
{
	char *field = (char *)cfg + k->offset;
	char opts[256];
	uint64_t u;
	double d;

	switch (k->type) {
	case K_SIZE:
		if (vm_parse_size(value, &u)) {
			fmt(why, wlen, "bad size '%s' (a number with an optional K, M, G or T suffix)", value);
			return -1;
		}
		if (u < k->min || u > k->max) {
			fmt(why, wlen, "size '%s' out of range", value);
			return -1;
		}
		if (k->pow2 && u && ((u & (u - 1)) || u < 4096)) {
			fmt(why, wlen, "'%s' is not a power of two of at least 4K", value);
			return -1;
		}
		if (!k->off || u == 0) {
			*(uint64_t *)field = u;
			return 0;
		}
		break;
	case K_UINT:
		if (parse_uint(value, &u)) {
			fmt(why, wlen, "bad number '%s' (a non-negative integer)", value);
			return -1;
		}
		if (u < k->min || u > k->max) {
			fmt(why, wlen, "%s is out of range %.0f..%.0f", value, k->min, k->max);
			return -1;
		}
		if (k->pow2 && (u & (u - 1))) {
			fmt(why, wlen, "%s is not a power of two", value);
			return -1;
		}
		if (k->off && u != strtoull(k->off, NULL, 10))
			break;
		*(uint64_t *)field = u;
		return 0;
	case K_DOUBLE:
		if (parse_double(value, &d)) {
			fmt(why, wlen, "bad number '%s'", value);
			return -1;
		}
		if (d < k->min || d > k->max) {
			fmt(why, wlen, "%s is out of range %g..%g", value, k->min, k->max);
			return -1;
		}
		if (k->off && d != strtod(k->off, NULL))
			break;
		*(double *)field = d;
		return 0;
	case K_CHOICE: {
		int idx = -1;
		for (int i = 0; k->choices[i]; i++)
			if (!strcmp(k->choices[i], value))
				idx = i;
		if (idx < 0) {
			list_choices(k->choices, opts, sizeof opts);
			fmt(why, wlen, "unknown value '%s' (one of: %s)", value, opts);
			return -1;
		}
		if (k->off && strcmp(k->off, value))
			break;
		if (k->size == sizeof(int))
			*(int *)field = idx;
		else
			snprintf(field, k->size, "%s", value);
		if (field == cfg->swap_device)
			set_device(cfg, value);
		return 0;
	}
	case K_POLICY:
		if (strchr(value, '/')) {
			/* a user policy: load it now, so a bad one stops the run here */
			const struct mos_policy_ops *ops = load_policy(value, why, wlen);
			if (!ops)
				return -1;
			snprintf(field, k->size, "%s", value);
			cfg->policy_ops = ops;
			return 0;
		}
		cfg->policy_ops = NULL;
		for (size_t i = 0; mos_policy_builtin(i); i++)
			if (!strcmp(mos_policy_builtin(i), value)) {
				snprintf(field, k->size, "%s", value);
				return 0;
			}
		list_policies(opts, sizeof opts);
		fmt(why, wlen, "unknown policy '%s' (one of: %s)", value, opts);
		return -1;
	case K_SOURCES:
		if (parse_sources(value, &cfg->sampler_sources, why, wlen))
			return -1;
		snprintf(field, k->size, "%s", value);
		return 0;
	case K_STRING:
		if (strlen(value) >= k->size) {
			fmt(why, wlen, "value too long");
			return -1;
		}
		if (k->off && strcmp(k->off, value))
			break;
		snprintf(field, k->size, "%s", value);
		return 0;
	}
	fmt(why, wlen, "%s; only %s = %s is accepted", k->why, k->name, k->off[0] ? k->off : "\"\"");
	return -1;
}

static int load_file(struct vm_config *cfg, const char *path, int depth, char *err,
		     size_t errlen);

/* Apply section/name/value; on error writes "key 'section.name': why".
 * base: directory relative machine.file paths start from ("" = cwd);
 * origin: where the value comes from ("FILE:LINE" or "-s ARG"), kept for
 * keys whose checks must wait for other keys (vm_config_finish). */
static int set_key(struct vm_config *cfg, const char *section, const char *name,
		   const char *value, const char *base, int depth, const char *origin, char *err,
		   size_t len)
{
	char why[512];
	if (tlb_machine_owns_section(section)) {
		if (tlb_machine_set(&cfg->machine, section, name, value, why, sizeof why)) {
			/* tlbmodel's message starts with "section.key: " */
			const char *msg = strstr(why, ": ");
			fmt(err, len, "key '%s.%s': %s", section, name, msg ? msg + 2 : why);
			return -1;
		}
		cfg->machine_set = true;
		return 0;
	}
	if (!strcmp(section, "machine") && !strcmp(name, "file")) {
		char path[VM_PATH_MAX], sub[1024];
		if (depth >= 4) {
			fmt(err, len, "key 'machine.file': files include each other too deeply");
			return -1;
		}
		snprintf(path, sizeof path, "%s%s%s", value[0] == '/' || !base[0] ? "" : base,
			 value[0] == '/' || !base[0] ? "" : "/", value);
		if (load_file(cfg, path, depth + 1, sub, sizeof sub)) {
			fmt(err, len, "key 'machine.file': %s", sub);
			return -1;
		}
		snprintf(cfg->machine_file, sizeof cfg->machine_file, "%s", path);
		return 0;
	}
	const struct key *k = find_key(section, name);
	if (!k) {
		if (!section_known(section))
			fmt(err, len, "key '%s.%s': unknown section [%s]", section, name, section);
		else
			fmt(err, len, "key '%s.%s': unknown key in section [%s]", section, name, section);
		return -1;
	}
	if (apply(cfg, k, value, why, sizeof why)) {
		fmt(err, len, "key '%s.%s': %s", section, name, why);
		return -1;
	}
	if (k->offset == offsetof(struct vm_config, hugetlb_nr_2m) ||
	    k->offset == offsetof(struct vm_config, hugetlb_nr_1g)) {
		int i = k->offset == offsetof(struct vm_config, hugetlb_nr_1g);
		snprintf(cfg->hugetlb_origin[i], sizeof cfg->hugetlb_origin[i], "%s", origin);
	}
	if (k->offset == offsetof(struct vm_config, sampler_set_rate))
		snprintf(cfg->sampler_set_rate_origin, sizeof cfg->sampler_set_rate_origin, "%s", origin);
	return 0;
}

struct ini_ctx {
	struct vm_config *cfg;
	const char *path;       /* the file being read */
	FILE *f;
	int line;               /* line being parsed (counted by ini_read_line) */
	bool at_line_start;
	char base[VM_PATH_MAX]; /* directory of the file being read */
	int depth;
	char err[768]; /* first error, without location */
	int failed;
};

/* inih's reader: fgets, counting lines so a handler knows where it is. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	if (c->at_line_start)
		c->line++;
	char *s = fgets(str, num, c->f);
	c->at_line_start = s && strchr(s, '\n');
	return s;
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;
	if (c->failed)
		return 0;
	if (!name) /* a bare [section] line (inih with INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (!*section) {
		fmt(c->err, sizeof c->err, "key '%s': outside any [section]", name);
		c->failed = 1;
		return 0;
	}
	char origin[VM_PATH_MAX + 32];
	snprintf(origin, sizeof origin, "%s:%d", c->path, c->line);
	if (set_key(c->cfg, section, name, value, c->base, c->depth, origin, c->err,
		    sizeof c->err)) {
		c->failed = 1;
		return 0;
	}
	return 1;
}

static int load_file(struct vm_config *cfg, const char *path, int depth, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fmt(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	struct ini_ctx c = { .cfg = cfg, .path = path, .f = f, .at_line_start = true, .depth = depth };
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(c.base, sizeof c.base, "%.*s", (int)(slash - path), path);
	int line = ini_parse_stream(ini_read_line, &c, on_ini_line, &c);
	fclose(f);
	int r = 0;
	if (line != 0) {
		r = -1;
		if (c.failed)
			fmt(err, errlen, "%s:%d: %s", path, line, c.err);
		else
			fmt(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			    path, line);
	}
	return r;
}

int vm_config_load_file(struct vm_config *cfg, const char *path, char *err, size_t errlen)
{
	return load_file(cfg, path, 0, err, errlen);
}

/* Parse [memory] node_sizes and [numa] distances into the arrays. */
static int finish_numa(struct vm_config *c, char *err, size_t errlen)
{
	unsigned n = (unsigned)c->memory_nodes;
	char buf[512];
	if (c->numa_node >= n) {
		fmt(err, errlen, "key 'numa.node': node %llu does not exist (memory.nodes = %u)",
		    (unsigned long long)c->numa_node, n);
		return -1;
	}
	uint64_t sum = 0;
	memset(c->node_bytes, 0, sizeof c->node_bytes); /* all zero: MimicOS splits equally */
	if (!c->node_sizes[0] && n > 1 && c->memory_size % (n * (4ull << 20))) {
		fmt(err, errlen, "key 'memory.nodes': memory.size = %llu bytes does not split into %u "
			       "equal nodes of whole 4 MiB units; set memory.node_sizes",
		    (unsigned long long)c->memory_size, n);
		return -1;
	}
	if (c->node_sizes[0]) {
		unsigned i = 0;
		snprintf(buf, sizeof buf, "%s", c->node_sizes);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (i == n || vm_parse_size(t, &c->node_bytes[i])) {
				fmt(err, errlen, "key 'memory.node_sizes': '%s' is not %u sizes separated by commas",
				    c->node_sizes, n);
				return -1;
			}
			sum += c->node_bytes[i++];
		}
		if (i != n || sum != c->memory_size) {
			fmt(err, errlen, "key 'memory.node_sizes': %u sizes summing to %llu bytes; memory.nodes = %u "
				       "and memory.size = %llu bytes need %u summing to that",
			    i, (unsigned long long)sum, n, (unsigned long long)c->memory_size, n);
			return -1;
		}
	}
	for (unsigned a = 0; a < n; a++)
		for (unsigned b = 0; b < n; b++)
			c->node_distance[a][b] = a == b ? 10 : 20;
	if (c->numa_distances[0]) {
		unsigned row = 0;
		snprintf(buf, sizeof buf, "%s", c->numa_distances);
		for (char *s1 = NULL, *r = strtok_r(buf, ";", &s1); r; r = strtok_r(NULL, ";", &s1), row++) {
			unsigned col = 0;
			for (char *s2 = NULL, *t = strtok_r(r, ",", &s2); t; t = strtok_r(NULL, ",", &s2), col++) {
				uint64_t d;
				if (row >= n || col >= n || parse_uint(t, &d) || d < 10 || d > 254 ||
				    (row == col) != (d == 10)) {
					fmt(err, errlen, "key 'numa.distances': '%s' is not a %ux%u matrix of "
						       "10 on the diagonal and 11..254 elsewhere (ACPI SLIT) (rows separated by ';')",
					    c->numa_distances, n, n);
					return -1;
				}
				c->node_distance[row][col] = (uint32_t)d;
			}
			if (col != n)
				row = n; /* force the error below */
		}
		if (row != n) {
			fmt(err, errlen, "key 'numa.distances': need %u rows of %u numbers", n, n);
			return -1;
		}
	}
	return 0;
}

/* swap.file must name a place vmemu can create a private file in. */
static int finish_swap(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->swap_size)
		return 0;
	if (cfg->swap_size % 4096) {
		fmt(err, errlen, "key 'swap.size': %llu bytes is not a multiple of 4K",
		    (unsigned long long)cfg->swap_size);
		return -1;
	}
	/* create (and drop) one the way the runtime will: permission bits do
	 * not tell root about read-only or special file systems */
	int fd = vm_swap_file_create(cfg->swap_file, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * The hugetlb pools fit memory.size as MimicOS carves them (struct
 * mos_config, hugetlb_nr_*): each 1 GiB page in a 1 GiB-aligned range inside
 * one node; the 2 MiB pages in what is left; one 4 KiB frame at least for the
 * page-table root. Run after finish_numa (node sizes).
 */
static int finish_hugetlb(struct vm_config *c, char *err, size_t errlen)
{
	const uint64_t G = 1ull << 30, M2 = 2ull << 20;
	unsigned n = (unsigned)c->memory_nodes;
	uint64_t start = 0, ranges = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t bytes = c->node_bytes[0] ? c->node_bytes[i] : c->memory_size / n;
		uint64_t first = (start + G - 1) & ~(G - 1), end = start + bytes;
		ranges += end >= first + G ? (end - first) / G : 0;
		start = end;
	}
	const char *where[2];
	for (int i = 0; i < 2; i++)
		where[i] = c->hugetlb_origin[i][0] ? c->hugetlb_origin[i] : "(default)";
	if (c->hugetlb_nr_1g > ranges) {
		fmt(err, errlen, "%s: key 'hugetlb.nr_1g': %llu pages of 1 GiB do not fit: memory.size = "
				 "%llu bytes holds %llu 1 GiB-aligned range%s inside %s",
		    where[1], (unsigned long long)c->hugetlb_nr_1g, (unsigned long long)c->memory_size,
		    (unsigned long long)ranges, ranges == 1 ? "" : "s", n > 1 ? "its nodes" : "it");
		return -1;
	}
	uint64_t left = c->memory_size - c->hugetlb_nr_1g * G;
	if (left < 4096) {
		fmt(err, errlen, "%s: key 'hugetlb.nr_1g': %llu pages of 1 GiB take all of memory.size = "
				 "%llu bytes (the pools must leave at least one 4 KiB frame)",
		    where[1], (unsigned long long)c->hugetlb_nr_1g, (unsigned long long)c->memory_size);
		return -1;
	}
	if (c->hugetlb_nr_2m > (left - 4096) / M2) {
		fmt(err, errlen, "%s: key 'hugetlb.nr_2m': %llu pages of 2 MiB do not fit: memory.size = "
				 "%llu bytes%s leaves room for %llu (the pools must leave at least one "
				 "4 KiB frame)",
		    where[0], (unsigned long long)c->hugetlb_nr_2m, (unsigned long long)c->memory_size,
		    c->hugetlb_nr_1g ? " minus the 1 GiB pages" : "",
		    (unsigned long long)((left - 4096) / M2));
		return -1;
	}
	return 0;
}

int vm_config_finish(struct vm_config *cfg, char *err, size_t errlen)
{
	char why[512];
	if (cfg->memory_size % 4096) {
		fmt(err, errlen, "key 'memory.size': %llu bytes is not a multiple of 4K",
		    (unsigned long long)cfg->memory_size);
		return -1;
	}
	if (finish_numa(cfg, err, errlen) || finish_hugetlb(cfg, err, errlen) ||
	    finish_swap(cfg, err, errlen))
		return -1;
	if (cfg->sampler_sources && (!cfg->machine_set || !cfg->machine.nstructs)) {
		fmt(err, errlen, "key 'sampler.source': the samplers drive a TLB model and no TLB "
				 "machine is configured: add e.g. -c configs/machines/golden_cove.ini");
		return -1;
	}
	if (cfg->sampler_set_rate < 1 && cfg->sampler_tlb_entries) {
		fmt(err, errlen, "%s: key 'sampler.set_rate': %g samples sets of the machine's "
				 "last-level TLB, but sampler.tlb_entries = %llu asks for one fully "
				 "associative TLB (one set): set one of them only",
		    cfg->sampler_set_rate_origin, cfg->sampler_set_rate,
		    (unsigned long long)cfg->sampler_tlb_entries);
		return -1;
	}
	if (cfg->machine_set && tlb_machine_validate(&cfg->machine, why, sizeof why)) {
		fmt(err, errlen, "machine %s: %s", cfg->machine.name[0] ? cfg->machine.name : "(unnamed)",
		    why);
		return -1;
	}
	return 0;
}

int vm_config_set(struct vm_config *cfg, const char *a, char *err, size_t errlen)
{
	char section[64], name[64], msg[768];
	const char *dot = strchr(a, '.'), *eq = strchr(a, '=');
	if (!dot || !eq || dot > eq || dot == a || (size_t)(dot - a) >= sizeof section ||
	    (size_t)(eq - dot - 1) >= sizeof name || eq == dot + 1) {
		fmt(err, errlen, "-s %s: expected section.key=value", a);
		return -1;
	}
	memcpy(section, a, dot - a);
	section[dot - a] = 0;
	memcpy(name, dot + 1, eq - dot - 1);
	name[eq - dot - 1] = 0;
	/* trim spaces around the key and the value as inih does */
	for (char *s = name + strlen(name); s > name && s[-1] == ' '; *--s = 0)
		;
	const char *value = eq + 1;
	while (*value == ' ')
		value++;
	char origin[VM_PATH_MAX + 32];
	snprintf(origin, sizeof origin, "-s %s", a);
	if (set_key(cfg, section, name, value, "", 0, origin, msg, sizeof msg)) {
		fmt(err, errlen, "-s %s: %s", a, msg);
		return -1;
	}
	return 0;
}

int vm_config_from_env(struct vm_config *cfg, char *err, size_t errlen)
{
	char buf[VM_PATH_MAX * 2];
	const char *files = getenv("VMEMU_CONFIG");
	if (files && *files) {
		snprintf(buf, sizeof buf, "%s", files);
		for (char *save = NULL, *p = strtok_r(buf, ":", &save); p;
		     p = strtok_r(NULL, ":", &save))
			if (vm_config_load_file(cfg, p, err, errlen))
				return -1;
	}
	const char *sets = getenv("VMEMU_SET");
	if (sets && *sets) {
		snprintf(buf, sizeof buf, "%s", sets);
		for (char *save = NULL, *p = strtok_r(buf, "\n", &save); p;
		     p = strtok_r(NULL, "\n", &save))
			if (vm_config_set(cfg, p, err, errlen))
				return -1;
	}
	const char *rep = getenv("VMEMU_REPORT"), *js = getenv("VMEMU_STATS");
	const char *rec = getenv("VMEMU_RECORD");
	if (rec && *rec)
		snprintf(cfg->sampler_record, sizeof cfg->sampler_record, "%s", rec);
	if (rep && *rep)
		snprintf(cfg->report_file, sizeof cfg->report_file, "%s", rep);
	if (js && *js)
		snprintf(cfg->report_json, sizeof cfg->report_json, "%s", js);
	return vm_config_finish(cfg, err, errlen);
}

int vm_config_key(const struct vm_config *cfg, size_t i, const char **name, char *value,
		  size_t vlen)
{
	static char names[NKEYS][48];
	if (i == NKEYS) {
		*name = "mmu.name";
		snprintf(value, vlen, "%s", !cfg->machine_set ? "(no TLB machine)" :
			 cfg->machine.name[0] ? cfg->machine.name : "(unnamed)");
		return 0;
	}
	if (i > NKEYS)
		return -1;
	const struct key *k = &keys[i];
	const char *field = (const char *)cfg + k->offset;
	if (!names[i][0])
		snprintf(names[i], sizeof names[i], "%s.%s", k->section, k->name);
	*name = names[i];
	switch (k->type) {
	case K_SIZE:
	case K_UINT:
		snprintf(value, vlen, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case K_DOUBLE:
		snprintf(value, vlen, "%g", *(const double *)field);
		break;
	case K_CHOICE:
		if (k->size == sizeof(int))
			snprintf(value, vlen, "%s", k->choices[*(const int *)field]);
		else
			snprintf(value, vlen, "%s", field);
		break;
	case K_STRING:
	case K_POLICY:
	case K_SOURCES:
		snprintf(value, vlen, "%s", field);
		break;
	}
	return 0;
}

size_t vm_config_dump(const struct vm_config *cfg, char *buf, size_t len)
{
	size_t n = 0;
	const char *name;
	char value[VM_PATH_MAX];
	for (size_t i = 0; vm_config_key(cfg, i, &name, value, sizeof value) == 0; i++) {
		int w = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s = %s\n",
				 name, value);
		n += (size_t)w;
	}
	return n;
}

void vm_mos_config(const struct vm_config *c, struct mos_config *mc)
{
	memset(mc, 0, sizeof *mc);
	mc->mem_bytes = c->memory_size;
	mc->policy = c->policy;
	mc->policy_ops = c->policy_ops;
	mc->numa_nodes = (uint32_t)c->memory_nodes;
	mc->numa_policy = (enum mos_numa_policy)c->numa_policy;
	/* bind and preferred use numa.node; interleave spreads over every node */
	mc->numa_node_mask = c->numa_policy == 2 ? (1u << c->memory_nodes) - 1 : 1u << c->numa_node;
	mc->numa_spill_threshold = c->numa_spill_threshold;
	for (unsigned a = 0; a < VM_MAX_NODES && a < MOS_MAX_NODES; a++) {
		mc->numa_node_bytes[a] = c->node_bytes[a];
		for (unsigned b = 0; b < VM_MAX_NODES && b < MOS_MAX_NODES; b++)
			mc->numa_distance[a][b] = a < c->memory_nodes && b < c->memory_nodes
							  ? (uint8_t)c->node_distance[a][b] : 0;
	}
	mc->fault_around_pages = (uint32_t)c->fault_around;
	mc->thp_mode = (enum mos_thp_mode)c->thp_mode;
	mc->promotion_threshold = c->thp_promotion_threshold;
	mc->fragmentation = c->memory_fragmentation;
	mc->seed = c->memory_seed;
	mc->eager_max_bytes = c->eager_max;
	mc->eager_populate_bytes = c->eager_populate;
	mc->swap_pages = c->swap_size / 4096;
	for (int i = 0; reclaim_policies[i]; i++)
		if (!strcmp(reclaim_policies[i], c->reclaim_policy))
			mc->reclaim_policy = (enum mos_reclaim_policy)i;
	mc->reclaim_tau = c->reclaim_tau_ms * 1000000ull; /* MimicOS time is ns */
	mc->swap_readahead = (uint32_t)c->swap_readahead;
	mc->swap_thp_whole = c->swap_thp == 1;
	mc->wmark_min_frames = c->reclaim_watermark_min / 4096;
	mc->hugetlb_nr_2m = c->hugetlb_nr_2m;
	mc->hugetlb_nr_1g = c->hugetlb_nr_1g;
}

uint32_t vm_heap_vma_flags(const struct vm_config *c)
{
	switch (c->hugetlb_heap) {
	case VM_HUGETLB_HEAP_2M:
		return MOS_VMA_HEAP | MOS_VMA_HUGETLB_2M | MOS_VMA_HUGETLB_MORECORE;
	case VM_HUGETLB_HEAP_1G:
		return MOS_VMA_HEAP | MOS_VMA_HUGETLB_1G | MOS_VMA_HUGETLB_MORECORE;
	default:
		return MOS_VMA_HEAP;
	}
}
