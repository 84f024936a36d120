/*
 * Machine descriptions: defaults, the INI key/value setter and validation.
 * Pure: no I/O; messages are written into caller buffers.
 */
#include <string.h>

#include "internal.h"

#define MAX_LATENCY (1u << 20)
#define MAX_ENTRIES (1u << 24)

static const char *const pwc_level_names[TLB_PWC_LEVELS] = { "pml4e", "pdpte", "pde" };
static const char *const pt_level_names[TLB_PT_LEVELS] = { "pml4e", "pdpte", "pde", "pte" };

/* ---- small string helpers (ASCII, locale-free) ---- */

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, const char *b)
{
	while (*a && *b) {
		if (lower(*a) != lower(*b))
			return false;
		a++, b++;
	}
	return *a == *b;
}

static bool iprefix(const char *s, const char *prefix)
{
	while (*prefix) {
		if (lower(*s) != lower(*prefix))
			return false;
		s++, prefix++;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy s without surrounding blanks into out (cap bytes); false if too long. */
static bool trim_copy(const char *s, char *out, size_t cap)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n && is_space(s[n - 1]))
		n--;
	if (n + 1 > cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* Unsigned decimal; the whole (trimmed) string must be digits. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char buf[32];
	if (!trim_copy(s, buf, sizeof buf) || !buf[0])
		return false;
	uint64_t v = 0;
	for (const char *p = buf; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10u)
			return false;
		v = v * 10u + d;
	}
	*out = v;
	return true;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ---- names ---- */

static const char *const repl_names[] = { "lru", "fifo", "random", "srrip" };
static const char *const fill_names[] = { "miss", "eviction" };

const char *tlb_repl_name(enum tlb_repl r)
{
	return (unsigned)r < 4u ? repl_names[r] : "?";
}

const char *tlb_fill_name(enum tlb_fill f)
{
	return (unsigned)f < 2u ? fill_names[f] : "?";
}

/* Index of v (trimmed, any case) among the n names in *out; false if none. */
static bool parse_name(const char *v, const char *const *names, unsigned n, unsigned *out)
{
	char buf[16];
	if (!trim_copy(v, buf, sizeof buf))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (ieq(buf, names[i])) {
			*out = i;
			return true;
		}
	return false;
}

static bool parse_repl(const char *v, enum tlb_repl *out)
{
	unsigned i;
	if (!parse_name(v, repl_names, 4u, &i))
		return false;
	*out = (enum tlb_repl)i;
	return true;
}

static bool parse_fill(const char *v, enum tlb_fill *out)
{
	unsigned i;
	if (!parse_name(v, fill_names, 2u, &i))
		return false;
	*out = (enum tlb_fill)i;
	return true;
}

/* Comma list of 4K/2M/1G (also 4KB, 4KiB, ...). */
static bool parse_page_sizes(const char *v, uint32_t *out)
{
	char buf[64];
	if (!trim_copy(v, buf, sizeof buf))
		return false;
	uint32_t mask = 0;
	char *p = buf;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		char tok[16];
		if (!trim_copy(p, tok, sizeof tok))
			return false;
		if (ieq(tok, "4K") || ieq(tok, "4KB") || ieq(tok, "4KiB"))
			mask |= TLB_PS_4K;
		else if (ieq(tok, "2M") || ieq(tok, "2MB") || ieq(tok, "2MiB"))
			mask |= TLB_PS_2M;
		else if (ieq(tok, "1G") || ieq(tok, "1GB") || ieq(tok, "1GiB"))
			mask |= TLB_PS_1G;
		else
			return false;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = mask;
	return mask != 0;
}

static bool parse_access(const char *v, uint32_t *out)
{
	char buf[32];
	if (!trim_copy(v, buf, sizeof buf))
		return false;
	if (ieq(buf, "all") || ieq(buf, "load,store") || ieq(buf, "store,load"))
		*out = TLB_ACC_ALL;
	else if (ieq(buf, "load"))
		*out = TLB_ACC_LOAD;
	else if (ieq(buf, "store"))
		*out = TLB_ACC_STORE;
	else
		return false;
	return true;
}

/* "full" or a number >= 1. */
static bool parse_ways(const char *v, uint32_t *out)
{
	char buf[16];
	if (!trim_copy(v, buf, sizeof buf))
		return false;
	if (ieq(buf, "full")) {
		*out = TLB_WAYS_FULL;
		return true;
	}
	uint32_t w;
	if (!parse_u32(buf, &w) || w == 0 || w == TLB_UNSET)
		return false;
	*out = w;
	return true;
}

static bool valid_name(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= TLB_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++) {
		char c = lower(*p);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* ---- init / set ---- */

void tlb_machine_init(struct tlb_machine *m)
{
	memset(m, 0, sizeof *m);
	m->seed = 1;
	for (unsigned i = 0; i < TLB_PWC_LEVELS; i++) {
		m->pwc[i].entries = 0;
		m->pwc[i].ways = TLB_UNSET;
	}
	m->pwc_repl = TLB_REPL_LRU;
	m->pwc_tag = TLB_PWC_TAG_VA;
	m->walk_mem = TLB_WALK_FIXED;
	/* [walk] cache_* defaults: Virtuoso meteor_lake_pcore.cfg L1D (48 KiB,
	 * 12-way: 64 sets of 64-byte lines; data_access_time 4) and L2
	 * (data_access_time 12): a miss costs 4 + 12 (sources in tlbmodel.h) */
	m->walk_cache.sets = 64;
	m->walk_cache.ways = 12;
	m->walk_cache.line_bytes = 64;
	m->walk_cache.hit_latency = 4;
	m->walk_cache.miss_latency = 16;
	m->walk_cache.repl = TLB_REPL_LRU;
	m->walkers = 1;
	m->psp.kind = TLB_PSP_NONE;
	m->psp.entries = 64; /* ASSUMPTION: a small table (tlbmodel.h) */
	m->psp.index_pc = false;
	/* prefetch defaults: Virtuoso mmu_base_prefetch.cfg / mmu_distance.cfg
	 * (sources per key in tlbmodel.h) */
	m->pf.n = 0;
	m->pf.pq_entries = 512;
	m->pf.pq_ways = 4;
	m->pf.pq_latency = 6;
	m->pf.pq_repl = TLB_REPL_LRU;
	m->pf.walk = true;
	m->pf.stride_length = 2;
	m->pf.dp_rows = 256;
	m->pf.dp_ways = 4;
	m->pf.dp_slots = 8;
	m->pf.asp_entries = 256;
	m->pf.asp_threshold = 3;
	m->pf.asp_lookahead = 4;
	m->pf.asp_degree = 3;
	m->pf.asp_extra = false;
	/* SBFP and ATP: Virtuoso mmu_configs/mmu_atp.cfg [atp_prefetcher], except
	 * masp_entries (AgileTLBPrefetcher.h; sources in tlbmodel.h) */
	m->pf.sbfp_counter_bits = 10;
	m->pf.sbfp_threshold = 100;
	m->pf.sbfp_sampler = 64;
	m->pf.sbfp_prefetch_walks = true;
	m->pf.atp_fpq = 16;
	m->pf.atp_enable_bits = 8;
	m->pf.atp_select1_bits = 6;
	m->pf.atp_select2_bits = 2;
	m->pf.atp_masp_entries = 64;
	m->pf.atp_masp_ways = 4;
}

static const char *const pf_names[TLB_PF_NKINDS] = { "stride", "h2",   "distance",
						     "asp",    "sbfp", "atp" };

const char *tlb_pf_name(enum tlb_pf_kind k)
{
	return (unsigned)k < TLB_PF_NKINDS ? pf_names[k] : "?";
}

bool tlb_machine_owns_section(const char *section)
{
	if (!section)
		return false;
	return ieq(section, "mmu") || ieq(section, "pwc") || ieq(section, "walk") ||
	       ieq(section, "pagesize") ||
	       ieq(section, "prefetch") || (iprefix(section, "prefetch.") && section[9] != '\0') ||
	       (iprefix(section, "tlb.") && section[4] != '\0');
}

/* Error "<section>.<key>: <what> '<value>'". */
static int set_err(struct tlb_msg *msg, const char *section, const char *key,
		   const char *what, const char *value)
{
	msg_str(msg, section);
	msg_str(msg, ".");
	msg_str(msg, key);
	msg_str(msg, ": ");
	msg_str(msg, what);
	if (value) {
		msg_str(msg, " '");
		msg_str(msg, value);
		msg_str(msg, "'");
	}
	return -1;
}

/* A latency key: value into *out (cycles), or the error naming the key. */
static int set_latency(struct tlb_msg *msg, const char *section, const char *key,
		       const char *value, uint32_t *out)
{
	if (!parse_u32(value, out))
		return set_err(msg, section, key, "latency must be a number of cycles, got", value);
	return 0;
}

/* A replacement key: value into *out, or the error naming the key. */
static int set_repl(struct tlb_msg *msg, const char *section, const char *key,
		    const char *value, enum tlb_repl *out)
{
	if (!parse_repl(value, out))
		return set_err(msg, section, key, "unknown replacement (lru, fifo, random, srrip):",
			       value);
	return 0;
}

static struct tlb_struct_desc *find_or_add_struct(struct tlb_machine *m, const char *name)
{
	for (uint32_t i = 0; i < m->nstructs; i++)
		if (ieq(m->s[i].name, name))
			return &m->s[i];
	if (m->nstructs >= TLB_MAX_STRUCTS)
		return NULL;
	struct tlb_struct_desc *s = &m->s[m->nstructs++];
	memset(s, 0, sizeof *s);
	size_t n = strlen(name);
	for (size_t i = 0; i < n; i++)
		s->name[i] = lower(name[i]);
	s->name[n] = '\0';
	s->level = 0;
	s->page_sizes = 0;
	s->access = TLB_ACC_ALL;
	s->entries = 0;
	s->ways = TLB_UNSET;
	s->latency = 0;
	s->repl = TLB_REPL_LRU;
	s->fill = TLB_FILL_MISS;
	s->seed = 0;
	return s;
}

static int set_struct(struct tlb_machine *m, const char *section, const char *name,
		      const char *key, const char *value, struct tlb_msg *msg)
{
	if (!valid_name(name))
		return set_err(msg, section, key,
			       "structure name must be 1-31 characters of [a-z0-9_], got", name);
	/* Reject bad keys before creating the structure. */
	static const char *const keys[] = { "level", "page_sizes", "access", "entries", "ways",
					    "latency", "replacement", "fill", "seed" };
	bool known = false;
	for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++)
		known |= ieq(key, keys[i]);
	if (!known)
		return set_err(msg, section, key,
			       "unknown key (level, page_sizes, access, entries, ways, latency, "
			       "replacement, fill, seed)",
			       NULL);
	struct tlb_struct_desc *s = find_or_add_struct(m, name);
	if (!s) {
		msg_str(msg, section);
		msg_str(msg, ": more than ");
		msg_u64(msg, TLB_MAX_STRUCTS);
		msg_str(msg, " TLB structures");
		return -1;
	}
	uint32_t u;
	uint64_t u64;
	if (ieq(key, "level")) {
		if (!parse_u32(value, &u) || u < 1 || u > TLB_MAX_LEVELS)
			return set_err(msg, section, key, "level must be 1..4, got", value);
		s->level = u;
	} else if (ieq(key, "page_sizes")) {
		if (!parse_page_sizes(value, &u))
			return set_err(msg, section, key,
				       "page sizes must be a comma list of 4K, 2M, 1G, got", value);
		s->page_sizes = u;
	} else if (ieq(key, "access")) {
		if (!parse_access(value, &u))
			return set_err(msg, section, key, "access must be all, load or store, got",
				       value);
		s->access = u;
	} else if (ieq(key, "entries")) {
		if (!parse_u32(value, &u))
			return set_err(msg, section, key, "entries must be a number, got", value);
		if (u == 0)
			return set_err(msg, section, key, "0 entries (must be >= 1)", NULL);
		s->entries = u;
	} else if (ieq(key, "ways")) {
		if (!parse_ways(value, &u))
			return set_err(msg, section, key, "ways must be a number >= 1 or 'full', got",
				       value);
		s->ways = u;
	} else if (ieq(key, "latency")) {
		return set_latency(msg, section, key, value, &s->latency);
	} else if (ieq(key, "replacement")) {
		return set_repl(msg, section, key, value, &s->repl);
	} else if (ieq(key, "fill")) {
		enum tlb_fill f;
		if (!parse_fill(value, &f))
			return set_err(msg, section, key, "unknown fill (miss, eviction):", value);
		s->fill = f;
	} else { /* seed */
		if (!parse_u64(value, &u64))
			return set_err(msg, section, key, "seed must be a number, got", value);
		s->seed = u64;
	}
	return 0;
}

static int set_pwc(struct tlb_machine *m, const char *section, const char *key,
		   const char *value, struct tlb_msg *msg)
{
	uint32_t u;
	if (ieq(key, "latency"))
		return set_latency(msg, section, key, value, &m->pwc_latency);
	if (ieq(key, "replacement"))
		return set_repl(msg, section, key, value, &m->pwc_repl);
	if (ieq(key, "tag")) {
		char buf[8];
		if (trim_copy(value, buf, sizeof buf) && ieq(buf, "va"))
			m->pwc_tag = TLB_PWC_TAG_VA;
		else if (trim_copy(value, buf, sizeof buf) && ieq(buf, "pte"))
			m->pwc_tag = TLB_PWC_TAG_PTE;
		else
			return set_err(msg, section, key, "unknown tag (va, pte):", value);
		return 0;
	}
	/* entries / ways, for all levels or "<level>_entries" / "<level>_ways". */
	int lo = 0, hi = (int)TLB_PWC_LEVELS - 1;
	const char *field = key;
	for (unsigned i = 0; i < TLB_PWC_LEVELS; i++) {
		size_t n = strlen(pwc_level_names[i]);
		if (iprefix(key, pwc_level_names[i]) && key[n] == '_') {
			lo = hi = (int)i;
			field = key + n + 1;
			break;
		}
	}
	if (ieq(field, "entries")) {
		if (!parse_u32(value, &u) || u > MAX_ENTRIES)
			return set_err(msg, section, key,
				       "entries must be a number (0 = no cache), got", value);
		for (int i = lo; i <= hi; i++)
			m->pwc[i].entries = u;
		return 0;
	}
	if (ieq(field, "ways")) {
		if (!parse_ways(value, &u))
			return set_err(msg, section, key, "ways must be a number >= 1 or 'full', got",
				       value);
		for (int i = lo; i <= hi; i++)
			m->pwc[i].ways = u;
		return 0;
	}
	return set_err(msg, section, key,
		       "unknown key (entries, ways, pml4e_/pdpte_/pde_entries, "
		       "pml4e_/pdpte_/pde_ways, latency, replacement, tag)",
		       NULL);
}

static int set_walk(struct tlb_machine *m, const char *section, const char *key,
		    const char *value, struct tlb_msg *msg)
{
	uint32_t u = 0;
	struct tlb_walk_cache_desc *c = &m->walk_cache;
	if (ieq(key, "memory")) {
		char buf[16];
		if (trim_copy(value, buf, sizeof buf) && ieq(buf, "fixed"))
			m->walk_mem = TLB_WALK_FIXED;
		else if (trim_copy(value, buf, sizeof buf) && ieq(buf, "cache"))
			m->walk_mem = TLB_WALK_CACHE;
		else
			return set_err(msg, section, key, "unknown memory model (fixed, cache):", value);
		return 0;
	}
	if (ieq(key, "cache_sets")) {
		if (!parse_u32(value, &u) || !is_pow2(u) || u > MAX_ENTRIES)
			return set_err(msg, section, key,
				       "cache_sets must be a power of two up to 16777216, got", value);
		c->sets = u;
		return 0;
	}
	if (ieq(key, "cache_ways")) {
		/* no 'full': the size is sets x ways, so cache_sets = 1 is fully associative */
		if (!parse_u32(value, &u) || u == 0 || u > MAX_ENTRIES)
			return set_err(msg, section, key,
				       "cache_ways must be a number 1..16777216 (cache_sets = 1 is fully "
				       "associative), got",
				       value);
		c->ways = u;
		return 0;
	}
	if (ieq(key, "cache_line")) {
		if (!parse_u32(value, &u) || !is_pow2(u) || u < 8 || u > 4096)
			return set_err(msg, section, key,
				       "cache_line must be a power of two of 8..4096 bytes, got", value);
		c->line_bytes = u;
		return 0;
	}
	if (ieq(key, "cache_hit_latency"))
		return set_latency(msg, section, key, value, &c->hit_latency);
	if (ieq(key, "cache_miss_latency"))
		return set_latency(msg, section, key, value, &c->miss_latency);
	if (ieq(key, "cache_replacement"))
		return set_repl(msg, section, key, value, &c->repl);
	if (ieq(key, "walkers")) {
		if (!parse_u32(value, &u) || u < 1 || u > TLB_MAX_WALKERS)
			return set_err(msg, section, key, "walkers must be 1..64, got", value);
		m->walkers = u;
		return 0;
	}
	if (ieq(key, "latency")) {
		if (set_latency(msg, section, key, value, &u))
			return -1;
		for (unsigned i = 0; i < TLB_PT_LEVELS; i++)
			m->walk_latency[i] = u;
		return 0;
	}
	for (unsigned i = 0; i < TLB_PT_LEVELS; i++) {
		size_t n = strlen(pt_level_names[i]);
		if (iprefix(key, pt_level_names[i]) && ieq(key + n, "_latency"))
			return set_latency(msg, section, key, value, &m->walk_latency[i]);
	}
	return set_err(msg, section, key,
		       "unknown key (memory, latency, pml4e_latency, pdpte_latency, pde_latency, "
		       "pte_latency, walkers, cache_sets, cache_ways, cache_line, cache_hit_latency, "
		       "cache_miss_latency, cache_replacement)",
		       NULL);
}

static int set_psp(struct tlb_machine *m, const char *section, const char *key,
		   const char *value, struct tlb_msg *msg)
{
	char buf[16];
	uint32_t u;
	if (ieq(key, "predictor")) {
		static const char *const names[] = { "none", "4k", "table" };
		for (unsigned i = 0; i < 3; i++)
			if (trim_copy(value, buf, sizeof buf) && ieq(buf, names[i])) {
				m->psp.kind = (enum tlb_psp_kind)i;
				return 0;
			}
		return set_err(msg, section, key, "unknown predictor (none, 4k, table):", value);
	}
	if (ieq(key, "entries")) {
		if (!parse_u32(value, &u) || !is_pow2(u) || u > 65536)
			return set_err(msg, section, key,
				       "entries must be a power of two up to 65536, got", value);
		m->psp.entries = u;
		return 0;
	}
	if (ieq(key, "index")) {
		if (trim_copy(value, buf, sizeof buf) && (ieq(buf, "va") || ieq(buf, "pc"))) {
			m->psp.index_pc = ieq(buf, "pc");
			return 0;
		}
		return set_err(msg, section, key, "unknown index (va, pc):", value);
	}
	return set_err(msg, section, key, "unknown key (predictor, entries, index)", NULL);
}

static bool parse_bool(const char *v, bool *out)
{
	char buf[8];
	if (!trim_copy(v, buf, sizeof buf))
		return false;
	if (ieq(buf, "yes") || ieq(buf, "true") || ieq(buf, "1") || ieq(buf, "on"))
		*out = true;
	else if (ieq(buf, "no") || ieq(buf, "false") || ieq(buf, "0") || ieq(buf, "off"))
		*out = false;
	else
		return false;
	return true;
}

#define PF_UNKNOWN "unknown prefetcher (stride, h2, distance, asp, sbfp, atp, none):"

/* [prefetch] prefetchers = none | stride,h2,distance,asp,sbfp,atp */
static int set_pf_list(struct tlb_machine *m, const char *section, const char *key,
		       const char *value, struct tlb_msg *msg)
{
	char buf[128];
	if (!trim_copy(value, buf, sizeof buf))
		return set_err(msg, section, key, "list too long:", value);
	struct tlb_prefetch_desc *pf = &m->pf;
	if (!buf[0] || ieq(buf, "none")) {
		pf->n = 0;
		return 0;
	}
	uint32_t n = 0;
	uint8_t kind[TLB_MAX_PREFETCHERS];
	char *p = buf;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		char tok[16];
		if (!trim_copy(p, tok, sizeof tok))
			return set_err(msg, section, key, PF_UNKNOWN, p);
		unsigned k = TLB_PF_NKINDS;
		for (unsigned i = 0; i < TLB_PF_NKINDS; i++)
			if (ieq(tok, pf_names[i]))
				k = i;
		if (ieq(tok, "dp"))
			k = TLB_PF_DISTANCE;
		if (k == TLB_PF_NKINDS)
			return set_err(msg, section, key, PF_UNKNOWN, tok);
		for (uint32_t i = 0; i < n; i++)
			if (kind[i] == k)
				return set_err(msg, section, key, "prefetcher listed twice:", tok);
		if (n >= TLB_MAX_PREFETCHERS)
			return set_err(msg, section, key, "too many prefetchers:", value);
		kind[n++] = (uint8_t)k;
		if (!comma)
			break;
		p = comma + 1;
	}
	pf->n = n;
	memcpy(pf->kind, kind, sizeof kind);
	return 0;
}

static int set_prefetch(struct tlb_machine *m, const char *section, const char *key,
			const char *value, struct tlb_msg *msg)
{
	struct tlb_prefetch_desc *pf = &m->pf;
	uint32_t u;
	if (ieq(section, "prefetch")) {
		if (ieq(key, "prefetchers"))
			return set_pf_list(m, section, key, value, msg);
		if (ieq(key, "entries")) {
			if (!parse_u32(value, &u) || u == 0 || u > MAX_ENTRIES)
				return set_err(msg, section, key,
					       "entries must be a number 1..16777216, got", value);
			pf->pq_entries = u;
			return 0;
		}
		if (ieq(key, "ways")) {
			if (!parse_ways(value, &u))
				return set_err(msg, section, key,
					       "ways must be a number >= 1 or 'full', got", value);
			pf->pq_ways = u;
			return 0;
		}
		if (ieq(key, "latency"))
			return set_latency(msg, section, key, value, &pf->pq_latency);
		if (ieq(key, "replacement"))
			return set_repl(msg, section, key, value, &pf->pq_repl);
		if (ieq(key, "walk")) {
			if (!parse_bool(value, &pf->walk))
				return set_err(msg, section, key, "walk must be yes or no, got", value);
			return 0;
		}
		return set_err(msg, section, key,
			       "unknown key (prefetchers, entries, ways, latency, replacement, walk)",
			       NULL);
	}
	const char *name = section + 9; /* after "prefetch." */
	if (ieq(name, "stride")) {
		if (!ieq(key, "length"))
			return set_err(msg, section, key, "unknown key (length)", NULL);
		if (!parse_u32(value, &u) || u < 1 || u > TLB_PF_MAX_DEGREE)
			return set_err(msg, section, key, "length must be 1..16, got", value);
		pf->stride_length = u;
		return 0;
	}
	if (ieq(name, "h2"))
		return set_err(msg, section, key, "unknown key ([prefetch.h2] has no keys)", NULL);
	if (ieq(name, "distance") || ieq(name, "dp")) {
		if (ieq(key, "rows")) {
			if (!parse_u32(value, &u) || u == 0 || u > (1u << 16))
				return set_err(msg, section, key, "rows must be 1..65536, got", value);
			pf->dp_rows = u;
		} else if (ieq(key, "ways")) {
			if (!parse_ways(value, &u))
				return set_err(msg, section, key,
					       "ways must be a number >= 1 or 'full', got", value);
			pf->dp_ways = u;
		} else if (ieq(key, "slots")) {
			if (!parse_u32(value, &u) || u < 1 || u > TLB_PF_MAX_DEGREE)
				return set_err(msg, section, key, "slots must be 1..16, got", value);
			pf->dp_slots = u;
		} else {
			return set_err(msg, section, key, "unknown key (rows, ways, slots)", NULL);
		}
		return 0;
	}
	if (ieq(name, "asp")) {
		if (ieq(key, "entries")) {
			if (!parse_u32(value, &u) || !is_pow2(u) || u > (1u << 20))
				return set_err(msg, section, key,
					       "entries must be a power of two up to 1048576, got", value);
			pf->asp_entries = u;
		} else if (ieq(key, "threshold")) {
			if (!parse_u32(value, &u) || u > 255)
				return set_err(msg, section, key, "threshold must be 0..255, got", value);
			pf->asp_threshold = u;
		} else if (ieq(key, "lookahead")) {
			if (!parse_u32(value, &u) || u > 1024)
				return set_err(msg, section, key, "lookahead must be 0..1024, got", value);
			pf->asp_lookahead = u;
		} else if (ieq(key, "degree")) {
			if (!parse_u32(value, &u) || u < 1 || u > TLB_PF_MAX_DEGREE)
				return set_err(msg, section, key, "degree must be 1..16, got", value);
			pf->asp_degree = u;
		} else if (ieq(key, "extra")) {
			if (!parse_bool(value, &pf->asp_extra))
				return set_err(msg, section, key, "extra must be yes or no, got", value);
		} else {
			return set_err(msg, section, key,
				       "unknown key (entries, threshold, lookahead, degree, extra)", NULL);
		}
		return 0;
	}
	if (ieq(name, "sbfp")) {
		if (ieq(key, "counter_bits")) {
			if (!parse_u32(value, &u) || u < 1 || u > 16)
				return set_err(msg, section, key, "counter_bits must be 1..16, got",
					       value);
			pf->sbfp_counter_bits = u;
		} else if (ieq(key, "threshold")) {
			if (!parse_u32(value, &u) || u >= UINT16_MAX)
				return set_err(msg, section, key, "threshold must be 0..65534, got",
					       value);
			pf->sbfp_threshold = u;
		} else if (ieq(key, "sampler")) {
			if (!parse_u32(value, &u) || u < 1 || u > 4096)
				return set_err(msg, section, key, "sampler must be 1..4096 entries, got",
					       value);
			pf->sbfp_sampler = u;
		} else if (ieq(key, "prefetch_walks")) {
			if (!parse_bool(value, &pf->sbfp_prefetch_walks))
				return set_err(msg, section, key, "prefetch_walks must be yes or no, got",
					       value);
		} else {
			return set_err(msg, section, key,
				       "unknown key (counter_bits, threshold, sampler, prefetch_walks)",
				       NULL);
		}
		return 0;
	}
	if (ieq(name, "atp")) {
		static const char *const bits[] = { "enable_bits", "select1_bits", "select2_bits" };
		uint32_t *const bitf[] = { &pf->atp_enable_bits, &pf->atp_select1_bits,
					   &pf->atp_select2_bits };
		for (unsigned i = 0; i < 3; i++)
			if (ieq(key, bits[i])) {
				if (!parse_u32(value, &u) || u < 1 || u > 16)
					return set_err(msg, section, key, "counter width must be 1..16, got",
						       value);
				*bitf[i] = u;
				return 0;
			}
		if (ieq(key, "fpq")) {
			if (!parse_u32(value, &u) || u < 1 || u > 1024)
				return set_err(msg, section, key, "fpq must be 1..1024 entries, got",
					       value);
			pf->atp_fpq = u;
		} else if (ieq(key, "masp_entries") || ieq(key, "masp_ways")) {
			if (!parse_u32(value, &u) || u < 1 || u > 65536)
				return set_err(msg, section, key, "must be 1..65536, got", value);
			*(ieq(key, "masp_ways") ? &pf->atp_masp_ways : &pf->atp_masp_entries) = u;
		} else {
			return set_err(msg, section, key,
				       "unknown key (fpq, enable_bits, select1_bits, select2_bits, "
				       "masp_entries, masp_ways)",
				       NULL);
		}
		return 0;
	}
	msg_str(msg, "unknown section [");
	msg_str(msg, section);
	msg_str(msg, "] (prefetchers: [prefetch.stride], [prefetch.h2], [prefetch.distance], "
		     "[prefetch.asp], [prefetch.sbfp], [prefetch.atp])");
	return -1;
}

int tlb_machine_set(struct tlb_machine *m, const char *section, const char *key,
		    const char *value, char *err, size_t errlen)
{
	struct tlb_msg msg;
	msg_init(&msg, err, errlen);
	if (!m || !section || !key || !value) {
		msg_str(&msg, "tlb_machine_set: NULL argument");
		return -1;
	}
	char sec[64], k[64];
	if (!trim_copy(section, sec, sizeof sec) || !trim_copy(key, k, sizeof k)) {
		msg_str(&msg, "section or key name too long: ");
		msg_str(&msg, section);
		msg_str(&msg, ".");
		msg_str(&msg, key);
		return -1;
	}
	if (ieq(sec, "mmu")) {
		if (ieq(k, "name")) {
			if (!trim_copy(value, m->name, sizeof m->name))
				return set_err(&msg, sec, k, "name longer than 63 characters:", value);
			return 0;
		}
		if (ieq(k, "seed")) {
			uint64_t v;
			if (!parse_u64(value, &v))
				return set_err(&msg, sec, k, "seed must be a number, got", value);
			m->seed = v;
			return 0;
		}
		return set_err(&msg, sec, k, "unknown key (name, seed)", NULL);
	}
	if (ieq(sec, "pwc"))
		return set_pwc(m, sec, k, value, &msg);
	if (ieq(sec, "pagesize"))
		return set_psp(m, sec, k, value, &msg);
	if (ieq(sec, "walk"))
		return set_walk(m, sec, k, value, &msg);
	if (ieq(sec, "prefetch") || (iprefix(sec, "prefetch.") && sec[9] != '\0'))
		return set_prefetch(m, sec, k, value, &msg);
	if (iprefix(sec, "tlb.") && sec[4] != '\0')
		return set_struct(m, sec, sec + 4, k, value, &msg);
	msg_str(&msg, "unknown section [");
	msg_str(&msg, sec);
	msg_str(&msg, "] (tlbmodel owns [mmu], [tlb.NAME], [pwc], [walk], [pagesize], [prefetch], "
		      "[prefetch.NAME])");
	return -1;
}

/* ---- validation ---- */

static int vfail_struct(struct tlb_msg *msg, const struct tlb_struct_desc *s, const char *key)
{
	msg_struct(msg, s);
	msg_str(msg, ".");
	msg_str(msg, key);
	msg_str(msg, ": ");
	return -1;
}

/* Geometry checks shared by TLB structures and PWC levels. sect = "tlb.x" / "pwc". */
static int check_geometry(struct tlb_msg *msg, const char *sect, const char *prefix,
			  uint32_t entries, uint32_t ways)
{
	if (entries == 0) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "entries: 0 entries (must be >= 1)");
		return -1;
	}
	if (entries > MAX_ENTRIES) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "entries: ");
		msg_u64(msg, entries);
		msg_str(msg, " entries is above the limit of 16777216");
		return -1;
	}
	if (ways == TLB_UNSET) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "ways: not set (a number >= 1 or 'full')");
		return -1;
	}
	uint32_t w = ways == TLB_WAYS_FULL ? entries : ways;
	if (w > entries) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "ways: ");
		msg_u64(msg, w);
		msg_str(msg, " ways is more than the ");
		msg_u64(msg, entries);
		msg_str(msg, " entries");
		return -1;
	}
	if (entries % w) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "entries: ");
		msg_u64(msg, entries);
		msg_str(msg, " entries not divisible by ");
		msg_u64(msg, w);
		msg_str(msg, " ways");
		return -1;
	}
	uint32_t sets = entries / w;
	if (!is_pow2(sets)) {
		msg_str(msg, sect);
		msg_str(msg, ".");
		msg_str(msg, prefix);
		msg_str(msg, "ways: sets = entries/ways = ");
		msg_u64(msg, entries);
		msg_str(msg, "/");
		msg_u64(msg, w);
		msg_str(msg, " = ");
		msg_u64(msg, sets);
		msg_str(msg, " is not a power of two (sets are indexed by VPN bits)");
		return -1;
	}
	return 0;
}

static int check_latency(struct tlb_msg *msg, const char *key, uint32_t v)
{
	if (v <= MAX_LATENCY)
		return 0;
	msg_str(msg, key);
	msg_str(msg, ": latency ");
	msg_u64(msg, v);
	msg_str(msg, " is above 1048576 cycles");
	return -1;
}

/* [walk] cache_* checks; only with memory = cache. */
static int validate_walk_cache(const struct tlb_walk_cache_desc *c, struct tlb_msg *msg)
{
	if (!is_pow2(c->sets) || c->sets > MAX_ENTRIES) {
		msg_str(msg, "walk.cache_sets: ");
		msg_u64(msg, c->sets);
		msg_str(msg, " sets; must be a power of two up to 16777216");
		return -1;
	}
	if (c->ways == 0 || c->ways > MAX_ENTRIES / c->sets) {
		msg_str(msg, "walk.cache_ways: ");
		msg_u64(msg, c->ways);
		msg_str(msg, " ways; must be >= 1 with cache_sets * cache_ways at most 16777216");
		return -1;
	}
	if (!is_pow2(c->line_bytes) || c->line_bytes < 8 || c->line_bytes > 4096) {
		msg_str(msg, "walk.cache_line: ");
		msg_u64(msg, c->line_bytes);
		msg_str(msg, " bytes; must be a power of two of 8..4096");
		return -1;
	}
	if (check_latency(msg, "walk.cache_hit_latency", c->hit_latency) ||
	    check_latency(msg, "walk.cache_miss_latency", c->miss_latency))
		return -1;
	if ((unsigned)c->repl > TLB_REPL_SRRIP) {
		msg_str(msg, "walk.cache_replacement: unknown replacement");
		return -1;
	}
	return 0;
}

/* [prefetch*] checks; only when a prefetcher is configured. */
static int validate_prefetch(const struct tlb_prefetch_desc *pf, struct tlb_msg *msg)
{
	if (pf->n == 0)
		return 0;
	if (pf->n > TLB_MAX_PREFETCHERS) {
		msg_str(msg, "prefetch.prefetchers: too many prefetchers");
		return -1;
	}
	for (uint32_t i = 0; i < pf->n; i++)
		if (pf->kind[i] >= TLB_PF_NKINDS) {
			msg_str(msg, "prefetch.prefetchers: unknown prefetcher kind");
			return -1;
		}
	if (check_geometry(msg, "prefetch", "", pf->pq_entries, pf->pq_ways))
		return -1;
	if (check_latency(msg, "prefetch.latency", pf->pq_latency))
		return -1;
	if ((unsigned)pf->pq_repl > TLB_REPL_SRRIP) {
		msg_str(msg, "prefetch.replacement: unknown replacement");
		return -1;
	}
	if (pf->stride_length < 1 || pf->stride_length > TLB_PF_MAX_DEGREE) {
		msg_str(msg, "prefetch.stride.length: must be 1..16");
		return -1;
	}
	{
		uint32_t w = pf->dp_ways == TLB_WAYS_FULL ? pf->dp_rows : pf->dp_ways;
		if (pf->dp_ways != TLB_UNSET && w <= pf->dp_rows && w && pf->dp_rows % w) {
			msg_str(msg, "prefetch.distance.rows: ");
			msg_u64(msg, pf->dp_rows);
			msg_str(msg, " rows not divisible by ");
			msg_u64(msg, w);
			msg_str(msg, " ways");
			return -1;
		}
	}
	if (check_geometry(msg, "prefetch.distance", "", pf->dp_rows, pf->dp_ways))
		return -1;
	if (pf->dp_rows > (1u << 16)) {
		msg_str(msg, "prefetch.distance.rows: must be 1..65536");
		return -1;
	}
	if (pf->dp_slots < 1 || pf->dp_slots > TLB_PF_MAX_DEGREE) {
		msg_str(msg, "prefetch.distance.slots: must be 1..16");
		return -1;
	}
	if (!is_pow2(pf->asp_entries) || pf->asp_entries > (1u << 20)) {
		msg_str(msg, "prefetch.asp.entries: must be a power of two up to 1048576");
		return -1;
	}
	if (pf->asp_degree < 1 || pf->asp_degree > TLB_PF_MAX_DEGREE) {
		msg_str(msg, "prefetch.asp.degree: must be 1..16");
		return -1;
	}
	if (pf->asp_threshold > 255 || pf->asp_lookahead > 1024) {
		msg_str(msg, pf->asp_threshold > 255 ? "prefetch.asp.threshold: must be 0..255"
						     : "prefetch.asp.lookahead: must be 0..1024");
		return -1;
	}
	if (pf->sbfp_counter_bits < 1 || pf->sbfp_counter_bits > 16) {
		msg_str(msg, "prefetch.sbfp.counter_bits: must be 1..16");
		return -1;
	}
	if (pf->sbfp_threshold >= (1u << pf->sbfp_counter_bits) - 1) {
		msg_str(msg, "prefetch.sbfp.threshold: ");
		msg_u64(msg, pf->sbfp_threshold);
		msg_str(msg, " is not below the counter maximum ");
		msg_u64(msg, (1u << pf->sbfp_counter_bits) - 1);
		msg_str(msg, " (counter_bits); no free PTE could ever be prefetched");
		return -1;
	}
	if (pf->sbfp_sampler < 1 || pf->sbfp_sampler > 4096) {
		msg_str(msg, "prefetch.sbfp.sampler: must be 1..4096 entries");
		return -1;
	}
	if (pf->atp_fpq < 1 || pf->atp_fpq > 1024) {
		msg_str(msg, "prefetch.atp.fpq: must be 1..1024 entries");
		return -1;
	}
	const uint32_t bits[3] = { pf->atp_enable_bits, pf->atp_select1_bits, pf->atp_select2_bits };
	static const char *const bitkey[3] = { "prefetch.atp.enable_bits: must be 1..16",
					       "prefetch.atp.select1_bits: must be 1..16",
					       "prefetch.atp.select2_bits: must be 1..16" };
	for (unsigned i = 0; i < 3; i++)
		if (bits[i] < 1 || bits[i] > 16) {
			msg_str(msg, bitkey[i]);
			return -1;
		}
	const uint32_t me = pf->atp_masp_entries, mw = pf->atp_masp_ways;
	if (mw < 1 || mw > me || me > 65536 || me % mw || !is_pow2(me / mw)) {
		msg_str(msg, "prefetch.atp.masp_ways: ");
		msg_u64(msg, me);
		msg_str(msg, " entries / ");
		msg_u64(msg, mw);
		msg_str(msg, " ways must give a power-of-two number of sets (entries <= 65536)");
		return -1;
	}
	return 0;
}

int tlb_machine_validate(const struct tlb_machine *m, char *err, size_t errlen)
{
	struct tlb_msg msg;
	msg_init(&msg, err, errlen);
	if (!m) {
		msg_str(&msg, "no machine description");
		return -1;
	}
	if (m->nstructs == 0 || m->nstructs > TLB_MAX_STRUCTS) {
		msg_str(&msg, m->nstructs ? "too many TLB structures"
					  : "no TLB structure (add a [tlb.NAME] section)");
		return -1;
	}
	char sect[TLB_NAME_MAX + 8];
	for (uint32_t i = 0; i < m->nstructs; i++) {
		const struct tlb_struct_desc *s = &m->s[i];
		if (!valid_name(s->name)) {
			msg_str(&msg, "TLB structure ");
			msg_u64(&msg, i);
			msg_str(&msg, ": name must be 1-31 characters of [a-z0-9_]");
			return -1;
		}
		for (uint32_t j = 0; j < i; j++)
			if (ieq(m->s[j].name, s->name)) {
				msg_struct(&msg, s);
				msg_str(&msg, ": duplicate structure name");
				return -1;
			}
		if (s->level < 1 || s->level > TLB_MAX_LEVELS) {
			vfail_struct(&msg, s, "level");
			msg_str(&msg, s->level ? "must be 1..4" : "not set (1..4)");
			return -1;
		}
		if (!s->page_sizes || (s->page_sizes & ~(uint32_t)(TLB_PS_4K | TLB_PS_2M | TLB_PS_1G))) {
			vfail_struct(&msg, s, "page_sizes");
			msg_str(&msg, s->page_sizes ? "unknown page size bits" : "not set (4K, 2M, 1G)");
			return -1;
		}
		if (!s->access || (s->access & ~(uint32_t)TLB_ACC_ALL)) {
			vfail_struct(&msg, s, "access");
			msg_str(&msg, "must be all, load or store");
			return -1;
		}
		if ((unsigned)s->repl > TLB_REPL_SRRIP) {
			vfail_struct(&msg, s, "replacement");
			msg_str(&msg, "unknown replacement");
			return -1;
		}
		if ((unsigned)s->fill > TLB_FILL_EVICTION) {
			vfail_struct(&msg, s, "fill");
			msg_str(&msg, "unknown fill");
			return -1;
		}
		struct tlb_msg sm;
		msg_init(&sm, sect, sizeof sect);
		msg_struct(&sm, s);
		if (check_geometry(&msg, sect, "", s->entries, s->ways))
			return -1;
		msg_str(&sm, ".latency");
		if (check_latency(&msg, sect, s->latency))
			return -1;
	}

	/* Per path: first level, eviction fills, banks. */
	for (unsigned p = 0; p < 2; p++) {
		uint32_t pmask = p ? TLB_ACC_STORE : TLB_ACC_LOAD;
		const char *pname = p ? "store" : "load";
		uint32_t first = TLB_MAX_LEVELS + 1;
		for (uint32_t i = 0; i < m->nstructs; i++)
			if ((m->s[i].access & pmask) && m->s[i].level < first)
				first = m->s[i].level;
		for (uint32_t i = 0; i < m->nstructs; i++) {
			const struct tlb_struct_desc *s = &m->s[i];
			if ((s->access & pmask) && s->fill == TLB_FILL_EVICTION && s->level == first) {
				vfail_struct(&msg, s, "fill");
				msg_str(&msg, "eviction at level ");
				msg_u64(&msg, s->level);
				msg_str(&msg, ", the first level of the ");
				msg_str(&msg, pname);
				msg_str(&msg, " path: no level above feeds it");
				return -1;
			}
		}
		for (uint32_t lvl = 1; lvl <= TLB_MAX_LEVELS; lvl++)
			for (unsigned c = 0; c < 3; c++) {
				uint32_t k = 0;
				const struct tlb_struct_desc *firsts = NULL;
				for (uint32_t i = 0; i < m->nstructs; i++) {
					const struct tlb_struct_desc *s = &m->s[i];
					if (!(s->access & pmask) || s->level != lvl ||
					    !(s->page_sizes & (1u << c)))
						continue;
					if (!firsts)
						firsts = s;
					else if (s->fill != firsts->fill) {
						vfail_struct(&msg, s, "fill");
						msg_str(&msg, "structures sharing a page size at one level "
							      "must share the fill policy (");
						msg_struct(&msg, firsts);
						msg_str(&msg, " has ");
						msg_str(&msg, tlb_fill_name(firsts->fill));
						msg_str(&msg, ")");
						return -1;
					}
					k++;
				}
				if (k > 1 && (!is_pow2(k) || k > TLB_MAX_BANKS)) {
					static const char *const ps[3] = { "4K", "2M", "1G" };
					vfail_struct(&msg, firsts, "page_sizes");
					msg_u64(&msg, k);
					msg_str(&msg, " structures hold ");
					msg_str(&msg, ps[c]);
					msg_str(&msg, " pages for ");
					msg_str(&msg, pname);
					msg_str(&msg, "s at level ");
					msg_u64(&msg, lvl);
					msg_str(&msg, "; banks must be a power of two up to 8");
					return -1;
				}
			}
	}

	for (unsigned i = 0; i < TLB_PWC_LEVELS; i++) {
		if (m->pwc[i].entries == 0)
			continue;
		char prefix[16];
		struct tlb_msg pm;
		msg_init(&pm, prefix, sizeof prefix);
		msg_str(&pm, pwc_level_names[i]);
		msg_str(&pm, "_");
		if (check_geometry(&msg, "pwc", prefix, m->pwc[i].entries, m->pwc[i].ways))
			return -1;
	}
	if ((unsigned)m->pwc_repl > TLB_REPL_SRRIP) {
		msg_str(&msg, "pwc.replacement: unknown replacement");
		return -1;
	}
	if ((unsigned)m->pwc_tag > TLB_PWC_TAG_PTE) {
		msg_str(&msg, "pwc.tag: unknown tag");
		return -1;
	}
	if (check_latency(&msg, "pwc.latency", m->pwc_latency))
		return -1;
	if ((unsigned)m->walk_mem > TLB_WALK_CACHE) {
		msg_str(&msg, "walk.memory: unknown memory model");
		return -1;
	}
	if (m->walk_mem == TLB_WALK_CACHE && validate_walk_cache(&m->walk_cache, &msg))
		return -1;
	for (unsigned i = 0; i < TLB_PT_LEVELS; i++) {
		char key[32];
		struct tlb_msg km;
		msg_init(&km, key, sizeof key);
		msg_str(&km, "walk.");
		msg_str(&km, pt_level_names[i]);
		msg_str(&km, "_latency");
		if (check_latency(&msg, key, m->walk_latency[i]))
			return -1;
	}
	if ((unsigned)m->psp.kind > TLB_PSP_TABLE) {
		msg_str(&msg, "pagesize.predictor: unknown predictor");
		return -1;
	}
	if (m->psp.kind == TLB_PSP_TABLE && (!is_pow2(m->psp.entries) || m->psp.entries > 65536)) {
		msg_str(&msg, "pagesize.entries: must be a power of two up to 65536");
		return -1;
	}
	if (m->walkers < 1 || m->walkers > TLB_MAX_WALKERS) {
		msg_str(&msg, "walk.walkers: ");
		msg_u64(&msg, m->walkers);
		msg_str(&msg, " walkers; must be 1..64");
		return -1;
	}
	return validate_prefetch(&m->pf, &msg);
}
