/* Emulated physical memory with NUMA nodes. See phys.h and mimicos.h. */
#include "phys.h"

#include <string.h>

#define BLOCK(order) (1ull << (order))

static bool unit_interval(double x)
{
	return x >= 0.0 && x <= 1.0; /* false for NaN */
}

/* Validate cfg's NUMA fields; fill sizes (frames) and distances. */
static bool numa_config(const struct mos_config *cfg, unsigned *nnodes, uint64_t frames[],
			uint8_t dist[MOS_MAX_NODES][MOS_MAX_NODES])
{
	unsigned n = cfg->numa_nodes ? cfg->numa_nodes : 1;
	if (n > MOS_MAX_NODES || !unit_interval(cfg->numa_spill_threshold) ||
	    (unsigned)cfg->numa_policy > MOS_NUMA_PREFERRED ||
	    (n < 32 && (cfg->numa_node_mask >> n) != 0))
		return false;
	uint64_t sum = 0;
	bool all_zero = true;
	for (unsigned i = 0; i < MOS_MAX_NODES; i++) {
		uint64_t b = cfg->numa_node_bytes[i];
		if (i >= n && b)
			return false;
		if (b)
			all_zero = false;
		if (b > cfg->mem_bytes)
			return false;
		sum += b;
	}
	if (n == 1) {
		if (!all_zero && sum != cfg->mem_bytes)
			return false;
		frames[0] = cfg->mem_bytes >> MOS_PAGE_SHIFT;
	} else if (all_zero) {
		if (cfg->mem_bytes % ((uint64_t)n * MOS_NODE_ALIGN))
			return false;
		for (unsigned i = 0; i < n; i++)
			frames[i] = (cfg->mem_bytes / n) >> MOS_PAGE_SHIFT;
	} else {
		if (sum != cfg->mem_bytes)
			return false;
		for (unsigned i = 0; i < n; i++) {
			uint64_t b = cfg->numa_node_bytes[i];
			if (b == 0 || (b & (MOS_NODE_ALIGN - 1)))
				return false;
			frames[i] = b >> MOS_PAGE_SHIFT;
		}
	}

	bool dzero = true;
	for (unsigned i = 0; i < MOS_MAX_NODES; i++)
		for (unsigned j = 0; j < MOS_MAX_NODES; j++) {
			uint8_t d = cfg->numa_distance[i][j];
			if ((i >= n || j >= n) && d)
				return false;
			if (d)
				dzero = false;
		}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			uint8_t d = cfg->numa_distance[i][j];
			if (dzero)
				d = i == j ? MOS_NUMA_LOCAL_DISTANCE : MOS_NUMA_REMOTE_DISTANCE;
			/* ACPI slit_valid(): local exactly 10, remote above 10; 255 = unreachable. */
			if (i == j ? d != MOS_NUMA_LOCAL_DISTANCE : (d <= MOS_NUMA_LOCAL_DISTANCE || d == 255))
				return false;
			dist[i][j] = d;
		}
	*nnodes = n;
	return true;
}

bool phys_config_ok(const struct mos_config *cfg)
{
	unsigned n;
	uint64_t frames[MOS_MAX_NODES];
	uint8_t dist[MOS_MAX_NODES][MOS_MAX_NODES];
	return numa_config(cfg, &n, frames, dist);
}

enum mos_status phys_init(struct phys *p, const struct mos_config *cfg,
			  const struct mos_allocator *alloc)
{
	memset(p, 0, sizeof(*p));
	uint64_t frames[MOS_MAX_NODES] = { 0 };
	unsigned n;
	if (!numa_config(cfg, &n, frames, p->dist))
		return MOS_EINVAL;
	p->nnodes = n;
	p->policy = cfg->numa_policy;
	p->spill = cfg->numa_spill_threshold;
	uint32_t all = (uint32_t)((1ull << n) - 1);
	p->mask = cfg->numa_node_mask;
	if (p->mask == 0 && p->policy != MOS_NUMA_PREFERRED)
		p->mask = all;
	if (p->policy == MOS_NUMA_PREFERRED && p->mask == 0)
		p->policy = MOS_NUMA_LOCAL; /* MPOL_PREFERRED with an empty nodemask */
	if (p->policy == MOS_NUMA_LOCAL)
		p->mask = all;

	/* Fallback lists: selection by (distance, node number) from each node. */
	for (unsigned a = 0; a < n; a++) {
		bool taken[MOS_MAX_NODES] = { false };
		for (unsigned k = 0; k < n; k++) {
			unsigned best = n;
			for (unsigned b = 0; b < n; b++)
				if (!taken[b] && (best == n || p->dist[a][b] < p->dist[a][best]))
					best = b;
			taken[best] = true;
			p->fallback[a][k] = (uint8_t)best;
		}
	}

	for (unsigned i = 0; i < n; i++) {
		p->start[i] = p->nframes;
		enum mos_status st = buddy_init(&p->node[i], frames[i], alloc);
		if (st != MOS_OK)
			return st;
		p->nframes += frames[i];
	}
	p->start[n] = p->nframes;
	return MOS_OK;
}

void phys_fini(struct phys *p)
{
	for (unsigned i = 0; i < MOS_MAX_NODES; i++)
		buddy_fini(&p->node[i]);
}

unsigned phys_node_of(const struct phys *p, uint64_t pfn)
{
	unsigned i = 0;
	while (i + 1 < p->nnodes && pfn >= p->start[i + 1])
		i++;
	return i;
}

/* Node used frames + 2^order would exceed the spill threshold. */
static bool over_threshold(const struct phys *p, unsigned node, unsigned order)
{
	if (p->spill <= 0.0)
		return false;
	const struct buddy *b = &p->node[node];
	double used = (double)(b->nframes - b->frames_free) + (double)BLOCK(order);
	return used > p->spill * (double)b->nframes;
}

/* The i-th set bit of mask (i < popcount(mask)). */
static unsigned nth_node(uint32_t mask, uint64_t i)
{
	for (unsigned n = 0;; n++)
		if ((mask >> n) & 1 && i-- == 0)
			return n;
}

/* The policy's candidate nodes, target first; returns how many. */
static unsigned candidates(struct phys *p, unsigned order, uint64_t addr,
			   uint8_t list[MOS_MAX_NODES])
{
	unsigned n = p->nnodes, k = 0;
	const uint8_t *from = p->fallback[p->cpu_node];
	switch (p->policy) {
	case MOS_NUMA_BIND: /* the mask only, by distance from the CPU's node */
		for (unsigned i = 0; i < n; i++)
			if ((p->mask >> from[i]) & 1)
				list[k++] = from[i];
		return k;
	case MOS_NUMA_INTERLEAVE: {
		uint64_t w = (uint64_t)__builtin_popcount(p->mask);
		uint64_t idx = addr == PHYS_NO_ADDR ? p->il_next++ : addr >> (MOS_PAGE_SHIFT + order);
		from = p->fallback[nth_node(p->mask, idx % w)];
		break;
	}
	case MOS_NUMA_PREFERRED:
		if (__builtin_popcount(p->mask) == 1) {
			from = p->fallback[__builtin_ctz(p->mask)];
			break;
		}
		/* preferred-many: the mask's nodes first, both parts by distance from the CPU. */
		for (unsigned i = 0; i < n; i++)
			if ((p->mask >> from[i]) & 1)
				list[k++] = from[i];
		for (unsigned i = 0; i < n; i++)
			if (!((p->mask >> from[i]) & 1))
				list[k++] = from[i];
		return k;
	default: /* local */
		break;
	}
	for (unsigned i = 0; i < n; i++)
		list[k++] = from[i];
	return k;
}

enum mos_status phys_alloc(struct phys *p, unsigned order, uint64_t addr, uint64_t *pfn)
{
	if (order > MOS_MAX_ORDER)
		return MOS_EINVAL;
	if (p->nnodes == 1) { /* exactly the single buddy allocator of before */
		enum mos_status st = buddy_alloc(&p->node[0], order, pfn);
		if (st == MOS_OK)
			p->allocs[0]++;
		return st;
	}
	uint8_t list[MOS_MAX_NODES];
	unsigned k = candidates(p, order, addr, list);
	bool skipped = false, target_skipped = false;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < k; i++) {
			unsigned node = list[i];
			struct buddy *b = &p->node[node];
			if (pass == 0 && over_threshold(p, node, order)) {
				bool has = false;
				for (unsigned o = order; o <= MOS_MAX_ORDER && !has; o++)
					has = b->nfree[o] != 0;
				if (has) {
					skipped = true;
					if (i == 0)
						target_skipped = true;
				}
				continue;
			}
			uint64_t local;
			if (buddy_alloc(b, order, &local) != MOS_OK)
				continue;
			*pfn = p->start[node] + local;
			p->allocs[node]++;
			if (i != 0) {
				p->remote++;
				if (pass == 0 && target_skipped)
					p->spills++;
			}
			return MOS_OK;
		}
		if (!skipped)
			break;
	}
	return MOS_ENOMEM;
}

enum mos_status phys_free(struct phys *p, uint64_t pfn, unsigned order)
{
	if (pfn >= p->nframes)
		return MOS_EINVAL;
	unsigned n = phys_node_of(p, pfn);
	return buddy_free(&p->node[n], pfn - p->start[n], order);
}

enum mos_status phys_split(struct phys *p, uint64_t pfn, unsigned order, unsigned to_order)
{
	if (pfn >= p->nframes)
		return MOS_EINVAL;
	unsigned n = phys_node_of(p, pfn);
	return buddy_split(&p->node[n], pfn - p->start[n], order, to_order);
}

enum mos_status phys_alloc_at(struct phys *p, uint64_t pfn)
{
	if (pfn >= p->nframes)
		return MOS_EINVAL;
	unsigned n = phys_node_of(p, pfn);
	return buddy_alloc_at(&p->node[n], pfn - p->start[n]);
}

enum mos_status phys_alloc_block_at(struct phys *p, uint64_t pfn, unsigned order)
{
	if (pfn >= p->nframes)
		return MOS_EINVAL;
	unsigned n = phys_node_of(p, pfn);
	return buddy_alloc_block_at(&p->node[n], pfn - p->start[n], order);
}

enum mos_status phys_alloc_on(struct phys *p, unsigned node, unsigned order, uint64_t *pfn)
{
	uint64_t local;
	if (node >= p->nnodes)
		return MOS_EINVAL;
	enum mos_status st = buddy_alloc(&p->node[node], order, &local);
	if (st == MOS_OK)
		*pfn = p->start[node] + local;
	return st;
}

enum buddy_state phys_block_of(const struct phys *p, uint64_t pfn, uint64_t *head,
			       unsigned *order)
{
	if (pfn >= p->nframes)
		return BUDDY_TAIL;
	unsigned n = phys_node_of(p, pfn);
	uint64_t h;
	enum buddy_state st = buddy_block_of(&p->node[n], pfn - p->start[n], &h, order);
	if (head && st != BUDDY_TAIL)
		*head = h + p->start[n];
	return st;
}

uint64_t phys_free_frames(const struct phys *p)
{
	uint64_t f = 0;
	for (unsigned i = 0; i < p->nnodes; i++)
		f += p->node[i].frames_free;
	return f;
}

uint64_t phys_avail(const struct phys *p)
{
	if (p->policy != MOS_NUMA_BIND)
		return phys_free_frames(p);
	uint64_t f = 0;
	for (unsigned i = 0; i < p->nnodes; i++)
		if ((p->mask >> i) & 1)
			f += p->node[i].frames_free;
	return f;
}

uint64_t phys_free_blocks(const struct phys *p, unsigned order)
{
	uint64_t f = 0;
	for (unsigned i = 0; i < p->nnodes; i++)
		f += p->node[i].nfree[order];
	return f;
}

bool phys_check(const struct phys *p, char *why, size_t why_len)
{
	if (p->nnodes == 0 || p->nnodes > MOS_MAX_NODES || p->start[0] != 0 ||
	    p->start[p->nnodes] != p->nframes)
		return mos_why(why, why_len, "NUMA node table broken, nodes", p->nnodes);
	uint64_t placed = 0;
	for (unsigned i = 0; i < p->nnodes; i++) {
		if (p->start[i] + p->node[i].nframes != p->start[i + 1])
			return mos_why(why, why_len, "NUMA node range does not match its allocator, node", i);
		if (p->nnodes > 1 && (p->start[i] & (BLOCK(MOS_MAX_ORDER) - 1)))
			return mos_why(why, why_len, "NUMA node not 4 MiB aligned, node", i);
		if (!buddy_check(&p->node[i], why, why_len))
			return false;
		placed += p->allocs[i];
	}
	if (p->remote > placed || p->spills > p->remote)
		return mos_why(why, why_len, "NUMA remote/spill counters exceed the allocations:",
			       p->remote);
	if (p->cpu_node >= p->nnodes)
		return mos_why(why, why_len, "CPU node beyond the nodes:", p->cpu_node);
	return true;
}
