#include "runtime/hist.h"

/* Bucket of v: values below 2^SUB get their own bucket; above, the
 * position of the top bit selects the group and the next SUB bits the
 * sub-bucket. */
static unsigned bucket_of(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned sub = (unsigned)(v >> (msb - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1);
	return ((msb - HIST_SUB_BITS + 1) << HIST_SUB_BITS) + sub;
}

uint64_t hist_bucket_low(unsigned i)
{
	if (i < (1u << HIST_SUB_BITS))
		return i;
	unsigned group = (i >> HIST_SUB_BITS) - 1 + HIST_SUB_BITS; /* msb */
	if (group >= 64)
		return UINT64_MAX;
	uint64_t sub = i & ((1u << HIST_SUB_BITS) - 1);
	return (1ull << group) | (sub << (group - HIST_SUB_BITS));
}

void hist_add(struct hist *h, uint64_t v)
{
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	h->bucket[bucket_of(v)]++;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > rank) {
			uint64_t lo = hist_bucket_low(i), hi = hist_bucket_low(i + 1);
			uint64_t mid = lo + (hi - lo) / 2;
			return mid > h->max ? h->max : mid;
		}
	}
	return h->max;
}
