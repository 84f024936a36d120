/* Latency histogram: bucket bounds are contiguous and increasing, and every
 * quantile read from it is within the promised 12.5% of the exact quantile
 * of the recorded values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "runtime/hist.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void buckets_contiguous(void **s)
{
	for (unsigned i = 0; i + 1 < 490; i++)
		assert_true(hist_bucket_low(i) < hist_bucket_low(i + 1));
	assert_int_equal(hist_bucket_low(0), 0);
	assert_int_equal(hist_bucket_low(8), 8);
	assert_int_equal(hist_bucket_low(9), 9);
	assert_int_equal(hist_bucket_low(16), 16);
	assert_int_equal(hist_bucket_low(17), 18);
}

static void quantiles_within_bound(void **s)
{
	enum { N = 100000 };
	static uint64_t v[N];
	static struct hist h;
	uint64_t x = 88172645463325252ull;
	memset(&h, 0, sizeof h);
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* log-uniform over 100 ns .. ~1.6 ms, like fault latencies */
		v[i] = 100 + ((x >> 20) & ((1u << (7 + (x & 7))) - 1)) * ((x >> 8) & 15);
		hist_add(&h, v[i]);
	}
	qsort(v, N, sizeof v[0], cmp_u64);
	const double qs[] = { 0.0, 0.5, 0.9, 0.99, 0.999 };
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		uint64_t exact = v[(size_t)(qs[i] * N)];
		uint64_t got = hist_quantile(&h, qs[i]);
		double err = (double)(got > exact ? got - exact : exact - got) / (double)exact;
		if (err > 0.125)
			fail_msg("q=%g exact %llu got %llu", qs[i], (unsigned long long)exact,
				 (unsigned long long)got);
	}
	assert_int_equal(h.count, N);
	assert_int_equal(h.max, v[N - 1]);
	assert_true(hist_quantile(&h, 1.0) <= v[N - 1]);
}

static void empty_and_single(void **s)
{
	struct hist h;
	memset(&h, 0, sizeof h);
	assert_int_equal(hist_quantile(&h, 0.5), 0);
	hist_add(&h, 12345);
	uint64_t q = hist_quantile(&h, 0.99);
	assert_true(q <= 12345 && q >= 12345 * 7 / 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_contiguous),
		cmocka_unit_test(quantiles_within_bound),
		cmocka_unit_test(empty_and_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
