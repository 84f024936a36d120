/*
 * Unit tests of tlbmodel/trace: VMTR round trips on random records, every
 * truncation detected, wrong version / magic / flags, corruption, the
 * documented byte layout of the header and of a hand-coded record, and the
 * lackey parser (L, S, M, I, banner and malformed lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlbmodel/trace.h"

/* xorshift64*, for reproducible random records */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Random records: a mix of sequential, strided and wild addresses. */
static void random_records(struct trace_record *r, size_t n, bool with_pc)
{
	uint64_t va = 0x7f0000000000ull, t = 0, pc = 0x400000;
	uint32_t tid = 100;
	for (size_t i = 0; i < n; i++) {
		switch (rnd() % 4) {
		case 0: va += 8; break;
		case 1: va -= 64 * (rnd() % 100); break;
		case 2: va = rnd(); break; /* any 64-bit value, wraps deltas */
		default: va += rnd() % 100000; break;
		}
		t += rnd() % 3 == 0 ? rnd() % 1000 : 1;
		if (rnd() % 50 == 0)
			t -= rnd() % 10; /* time may go back (other thread's clock) */
		if (rnd() % 20 == 0)
			tid = (uint32_t)rnd();
		pc = rnd() % 5 == 0 ? rnd() : pc + 4;
		r[i] = (struct trace_record){ .vaddr = va, .time = t, .tid = tid,
					      .pc = with_pc ? pc : 0, .is_write = rnd() & 1 };
	}
}

static void encode(struct buf *b, const struct trace_record *r, size_t n, uint16_t flags,
		   uint64_t count)
{
	struct trace_encoder e;
	struct trace_header h = { .flags = flags, .page_shift = 12, .page_sizes = 7,
				  .time_unit = TRACE_TIME_NS, .count = count };
	uint8_t tmp[TRACE_HEADER_BYTES + TRACE_MAX_RECORD];
	size_t k = trace_enc_begin(&e, &h, tmp);
	assert_int_equal(k, TRACE_HEADER_BYTES);
	put(b, tmp, k);
	for (size_t i = 0; i < n; i++) {
		k = trace_enc_record(&e, &r[i], tmp);
		assert_true(k >= 3 && k <= TRACE_MAX_RECORD);
		put(b, tmp, k);
	}
	k = trace_enc_end(&e, tmp);
	assert_true(k >= 6 && k <= TRACE_MAX_TRAILER);
	put(b, tmp, k);
}

/*
 * Decode p[0..len) feeding at most `step` new bytes at a time (streaming).
 * Returns the final status; records go to out (up to max), count to *n.
 */
static enum trace_status decode(const uint8_t *p, size_t len, size_t step,
				struct trace_record *out, size_t max, size_t *n,
				struct trace_decoder *d)
{
	trace_dec_init(d);
	size_t start = 0, avail_end = 0;
	*n = 0;
	for (;;) {
		struct trace_record rec;
		size_t used;
		enum trace_status st = trace_dec_next(d, p + start, avail_end - start, &used, &rec);
		start += used;
		if (st == TRACE_OK) {
			if (*n < max)
				out[*n] = rec;
			(*n)++;
			continue;
		}
		if (st == TRACE_MORE || st == TRACE_END) {
			if (avail_end < len) {
				avail_end = avail_end + step < len ? avail_end + step : len;
				continue;
			}
			return trace_dec_eof(d, avail_end - start);
		}
		return st;
	}
}

static void assert_same(const struct trace_record *a, const struct trace_record *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].vaddr, b[i].vaddr);
		assert_int_equal(a[i].time, b[i].time);
		assert_int_equal(a[i].tid, b[i].tid);
		assert_int_equal(a[i].pc, b[i].pc);
		assert_int_equal(a[i].is_write, b[i].is_write);
	}
}

static void test_round_trip_random(void **state)
{
	enum { N = 5000 };
	static struct trace_record in[N], out[N];
	for (int pcs = 0; pcs < 2; pcs++) {
		random_records(in, N, pcs);
		for (int known = 0; known < 2; known++) {
			struct buf b = { 0 };
			encode(&b, in, N, pcs ? TRACE_F_PC : 0, known ? N : TRACE_COUNT_UNKNOWN);
			static const size_t steps[] = { 1, 7, 4096, SIZE_MAX / 2 };
			for (size_t s = 0; s < 4; s++) {
				struct trace_decoder d;
				size_t n;
				assert_int_equal(decode(b.p, b.len, steps[s], out, N, &n, &d), TRACE_END);
				assert_int_equal(n, N);
				assert_same(in, out, N);
				assert_int_equal(d.hdr.flags, pcs ? TRACE_F_PC : 0);
				assert_int_equal(d.hdr.page_shift, 12);
				assert_int_equal(d.hdr.count, known ? N : TRACE_COUNT_UNKNOWN);
				assert_int_equal(d.offset, b.len);
			}
			free(b.p);
		}
	}
}

static void test_empty_trace(void **state)
{
	struct buf b = { 0 };
	encode(&b, NULL, 0, 0, 0);
	struct trace_decoder d;
	size_t n;
	assert_int_equal(decode(b.p, b.len, 1, NULL, 0, &n, &d), TRACE_END);
	assert_int_equal(n, 0);
	free(b.p);
}

/* The header bytes are exactly as trace.h documents them. */
static void test_header_layout(void **state)
{
	struct trace_encoder e;
	struct trace_header h = { .flags = TRACE_F_PC, .page_shift = 12, .page_sizes = 3,
				  .time_unit = TRACE_TIME_INSTR, .count = 0x0102030405060708ull };
	uint8_t o[TRACE_HEADER_BYTES];
	assert_int_equal(trace_enc_begin(&e, &h, o), 24);
	static const uint8_t want[24] = { 'V', 'M', 'T', 'R', 1, 0, 1, 0, 12, 3, 2, 0, 0, 0, 0, 0,
					  8, 7, 6, 5, 4, 3, 2, 1 };
	assert_memory_equal(o, want, 24);
	/* unknown flag or time unit refused */
	h.flags = 4;
	assert_int_equal(trace_enc_begin(&e, &h, o), 0);
	h.flags = 0;
	h.time_unit = TRACE_TIME_NUNITS;
	assert_int_equal(trace_enc_begin(&e, &h, o), 0);
}

/*
 * A record coded by hand from the documented rules: previous vaddr 0, time
 * 0, tid 0; vaddr 0x1000 -> delta 4096 -> zigzag 8192 = LEB128 80 40; time 3
 * -> zigzag 6 = 06; tid 5 (changed) -> 05; store -> control 1|2 = 03.
 * Second: vaddr 0x0ff8 (delta -8 -> zigzag 15 = 0f), time 3 (delta 0 -> 00),
 * same tid, load -> control 00.
 */
static void test_record_layout(void **state)
{
	struct trace_encoder e;
	struct trace_header h = { .count = TRACE_COUNT_UNKNOWN };
	uint8_t o[64];
	trace_enc_begin(&e, &h, o);
	struct trace_record r1 = { .vaddr = 0x1000, .time = 3, .tid = 5, .is_write = true };
	struct trace_record r2 = { .vaddr = 0xff8, .time = 3, .tid = 5, .is_write = false };
	size_t n = trace_enc_record(&e, &r1, o);
	static const uint8_t w1[] = { 0x03, 0x80, 0x40, 0x06, 0x05 };
	assert_int_equal(n, sizeof w1);
	assert_memory_equal(o, w1, n);
	n = trace_enc_record(&e, &r2, o);
	static const uint8_t w2[] = { 0x00, 0x0f, 0x00 };
	assert_int_equal(n, sizeof w2);
	assert_memory_equal(o, w2, n);
	n = trace_enc_end(&e, o);
	assert_int_equal(o[0], 0x80);
	assert_int_equal(o[1], 2); /* count */
	assert_int_equal(n, 2 + 4);
}

/* Every strict prefix of a valid trace is reported truncated, or (within
 * the first 6 bytes, before the version) still MORE-then-truncated; never
 * complete, never a crash. */
static void test_truncation_every_offset(void **state)
{
	enum { N = 200 };
	struct trace_record in[N], out[N];
	random_records(in, N, true);
	struct buf b = { 0 };
	encode(&b, in, N, TRACE_F_PC, N);
	for (size_t cut = 0; cut < b.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees over-reads */
		memcpy(copy, b.p, cut);
		for (size_t step = 1; step <= 4096; step *= 4096) {
			struct trace_decoder d;
			size_t n;
			enum trace_status st = decode(copy, cut, step, out, N, &n, &d);
			assert_int_equal(st, TRACE_ETRUNC);
			assert_true(d.err_offset <= cut);
			assert_true(n <= N);
			assert_same(in, out, n); /* what was decoded is right */
			assert_true(strstr(d.msg, "truncated") != NULL);
		}
		free(copy);
	}
	free(b.p);
}

static void test_wrong_version_magic_flags(void **state)
{
	struct trace_record in[3];
	random_records(in, 3, false);
	struct buf b = { 0 };
	encode(&b, in, 3, 0, 3);
	struct trace_decoder d;
	size_t n;

	b.p[4] = 2; /* version 2 */
	assert_int_equal(decode(b.p, b.len, 1, NULL, 0, &n, &d), TRACE_EVERSION);
	assert_int_equal(d.err_offset, 4);
	assert_non_null(strstr(d.msg, "version 2"));
	/* the version is judged as soon as its bytes are there, even if the
	 * header is cut short */
	assert_int_equal(decode(b.p, 6, 1, NULL, 0, &n, &d), TRACE_EVERSION);
	b.p[4] = 1;

	b.p[0] = 'X';
	assert_int_equal(decode(b.p, b.len, 1, NULL, 0, &n, &d), TRACE_EMAGIC);
	assert_int_equal(d.err_offset, 0);
	b.p[0] = 'V';

	b.p[6] = 0x80; /* unknown flag */
	assert_int_equal(decode(b.p, b.len, 100, NULL, 0, &n, &d), TRACE_EHEADER);
	assert_int_equal(d.err_offset, 6);
	b.p[6] = 0;

	b.p[13] = 1; /* reserved */
	assert_int_equal(decode(b.p, b.len, 100, NULL, 0, &n, &d), TRACE_EHEADER);
	assert_int_equal(d.err_offset, 13);
	b.p[13] = 0;

	b.p[16] = 4; /* header count 4, trailer says 3 */
	assert_int_equal(decode(b.p, b.len, 100, NULL, 0, &n, &d), TRACE_ECOUNT);
	b.p[16] = 3;

	assert_int_equal(decode(b.p, b.len, 100, NULL, 0, &n, &d), TRACE_END);
	free(b.p);
}

static void test_corruption(void **state)
{
	enum { N = 100 };
	struct trace_record in[N], out[N];
	random_records(in, N, false);
	struct buf b = { 0 };
	encode(&b, in, N, 0, TRACE_COUNT_UNKNOWN);
	struct trace_decoder d;
	size_t n;

	/* bad control byte at the first record */
	uint8_t save = b.p[24];
	b.p[24] = 0x44;
	assert_int_equal(decode(b.p, b.len, 64, out, N, &n, &d), TRACE_ECORRUPT);
	assert_int_equal(d.err_offset, 24);
	b.p[24] = save;

	/* every single-bit flip in the record area is detected (checksum or
	 * structure) and never yields a complete trace */
	for (size_t i = TRACE_HEADER_BYTES; i < b.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			b.p[i] ^= (uint8_t)(1u << bit);
			enum trace_status st = decode(b.p, b.len, 4096, out, N, &n, &d);
			assert_int_not_equal(st, TRACE_END);
			assert_int_not_equal(st, TRACE_OK);
			b.p[i] ^= (uint8_t)(1u << bit);
		}

	/* data after the trailer */
	uint8_t *longer = malloc(b.len + 1);
	memcpy(longer, b.p, b.len);
	longer[b.len] = 0;
	assert_int_equal(decode(longer, b.len + 1, 4096, out, N, &n, &d), TRACE_ECORRUPT);
	assert_int_equal(d.err_offset, b.len);
	free(longer);

	/* an 11-byte varint */
	uint8_t bad[TRACE_HEADER_BYTES + 12];
	memcpy(bad, b.p, TRACE_HEADER_BYTES);
	bad[24] = 0;
	memset(bad + 25, 0xff, 11);
	assert_int_equal(decode(bad, sizeof bad, 4096, out, N, &n, &d), TRACE_ECORRUPT);
	assert_int_equal(d.err_offset, 25);
	free(b.p);
}

/* ------------------------------------------------------------------------ */
/* lackey                                                                   */

static enum lackey_kind parse(const char *s, struct lackey_access *a)
{
	char err[160];
	return trace_lackey_parse_line(s, strlen(s), a, err, sizeof err);
}

static void test_lackey_lines(void **state)
{
	struct lackey_access a;
	assert_int_equal(parse("I  0491bad0,5\n", &a), LACKEY_INSTR);
	assert_int_equal(a.addr, 0x0491bad0);
	assert_int_equal(a.size, 5);
	assert_int_equal(parse(" L 1ffefffd70,8", &a), LACKEY_LOAD);
	assert_int_equal(a.addr, 0x1ffefffd70ull);
	assert_int_equal(a.size, 8);
	assert_int_equal(parse(" S BE80199C,4\r\n", &a), LACKEY_STORE);
	assert_int_equal(a.addr, 0xBE80199Cull);
	assert_int_equal(parse(" M 0025747C,4\n", &a), LACKEY_MODIFY);
	assert_int_equal(a.addr, 0x0025747C);
	assert_int_equal(parse(" L ffffffffffffffff,64", &a), LACKEY_LOAD);
	assert_int_equal(a.addr, UINT64_MAX);
	assert_int_equal(parse("==123== Lackey, an example Valgrind tool\n", &a), LACKEY_SKIP);
	assert_int_equal(parse("\n", &a), LACKEY_SKIP);
	assert_int_equal(parse("", &a), LACKEY_SKIP);

	static const char *const bad[] = {
		" X 1000,4",          /* unknown letter */
		"L 1000,4",           /* wrong spacing */
		"I 1000,4",           /* one space after I */
		" L ,4",              /* no address */
		" L 10g0,4",          /* not hex */
		" L 1000",            /* no size */
		" L 1000,",           /* empty size */
		" L 1000,0",          /* size 0 */
		" L 1000,4x",         /* junk */
		" L 1000,99999",      /* size too large */
		" L 1ffffffffffffffff,8", /* 65 bits */
		"hello",
		" L",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[160] = "";
		assert_int_equal(trace_lackey_parse_line(bad[i], strlen(bad[i]), &a, err, sizeof err),
				 LACKEY_ERROR);
		assert_true(err[0] != '\0');
	}
}

static void test_lackey_reader(void **state)
{
	static const char *const lines[] = {
		"==1== banner\n", "I  00400000,3\n", " L 00001000,8\n", "I  00400003,4\n",
		" M 00002000,4\n", " S 00003000,2\n", "I  00400007,2\n", "I  00400009,2\n",
		" L 00004000,1",
	};
	struct lackey_reader r;
	trace_lackey_init(&r);
	struct trace_record all[16], out[2];
	size_t n = 0;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		int k = trace_lackey_feed(&r, lines[i], strlen(lines[i]), out);
		assert_true(k >= 0 && k <= 2);
		for (int j = 0; j < k; j++)
			all[n++] = out[j];
	}
	/* L, M (= L + S), S, L */
	assert_int_equal(n, 5);
	struct trace_record want[5] = {
		{ .vaddr = 0x1000, .time = 1, .pc = 0x400000, .is_write = false },
		{ .vaddr = 0x2000, .time = 2, .pc = 0x400003, .is_write = false },
		{ .vaddr = 0x2000, .time = 2, .pc = 0x400003, .is_write = true },
		{ .vaddr = 0x3000, .time = 2, .pc = 0x400003, .is_write = true },
		{ .vaddr = 0x4000, .time = 4, .pc = 0x400009, .is_write = false },
	};
	assert_same(want, all, 5);
	assert_int_equal(r.instr, 4);
	assert_int_equal(r.loads, 2);
	assert_int_equal(r.stores, 1);
	assert_int_equal(r.modifies, 1);
	assert_int_equal(r.skipped, 1);
	assert_int_equal(r.line, 9);

	/* a malformed line: -1, its number and a reason */
	assert_int_equal(trace_lackey_feed(&r, " Q 1,1\n", 7, out), -1);
	assert_int_equal(r.line, 10);
	assert_true(r.msg[0] != '\0');
}

static void test_detection(void **state)
{
	assert_true(trace_is_vmtr("VMTR\x01", 5));
	assert_false(trace_is_vmtr("VMT", 3));
	assert_false(trace_is_vmtr("I  0040", 7));
	assert_false(trace_is_vmtr("==12== ", 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_record_layout),
		cmocka_unit_test(test_truncation_every_offset),
		cmocka_unit_test(test_wrong_version_magic_flags),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_lackey_lines),
		cmocka_unit_test(test_lackey_reader),
		cmocka_unit_test(test_detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
