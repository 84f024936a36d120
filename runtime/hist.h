/*
 * Log-linear latency histogram: 8 linear sub-buckets per power of two, so a
 * percentile read from it is within 12.5% of the true value. Values are ns.
 * Not thread-safe: the owner serialises updates.
 */
#ifndef VMEMU_HIST_H
#define VMEMU_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 3u
#define HIST_BUCKETS (64u << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t bucket[HIST_BUCKETS];
};

/* Record one value (ns). */
void hist_add(struct hist *h, uint64_t v);

/* Value at quantile q (0..1): the midpoint of the bucket holding it, capped
 * at the maximum seen; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

/* Bucket i covers [hist_bucket_low(i), hist_bucket_low(i+1)). */
uint64_t hist_bucket_low(unsigned i);

#endif
