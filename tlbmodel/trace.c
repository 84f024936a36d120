/*
 * VMTR binary traces and the Valgrind lackey importer; the format is
 * documented in tlbmodel/include/tlbmodel/trace.h. Pure: no I/O.
 */
#include <string.h>

#include "internal.h"
#include "tlbmodel/trace.h"

enum { ST_HEADER = 0, ST_RECORDS, ST_DONE, ST_FAILED };

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t zigzag(uint64_t d) { return (d << 1) ^ (uint64_t)((int64_t)d >> 63); }
static uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (uint64_t)(-(int64_t)(z & 1)); }

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

enum { V_OK = 0, V_MORE, V_BAD };

/* Decode a varint at p[0..len): *n bytes, *v value. */
static int get_varint(const uint8_t *p, size_t len, uint64_t *v, size_t *n)
{
	uint64_t x = 0;
	for (size_t i = 0; i < 10; i++) {
		if (i >= len)
			return V_MORE;
		uint8_t b = p[i];
		if (i == 9 && b > 1)
			return V_BAD; /* wider than 64 bits or longer than 10 bytes */
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			*n = i + 1;
			return V_OK;
		}
	}
	return V_BAD;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

const char *trace_status_str(enum trace_status st)
{
	switch (st) {
	case TRACE_OK: return "ok";
	case TRACE_MORE: return "more input needed";
	case TRACE_END: return "end of trace";
	case TRACE_EMAGIC: return "not a VMTR trace (bad magic)";
	case TRACE_EVERSION: return "unsupported trace version";
	case TRACE_EHEADER: return "bad trace header";
	case TRACE_ECORRUPT: return "corrupt trace";
	case TRACE_ECOUNT: return "record count mismatch";
	case TRACE_ECHECKSUM: return "checksum mismatch";
	case TRACE_ETRUNC: return "truncated trace";
	}
	return "unknown status";
}

bool trace_is_vmtr(const void *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, TRACE_MAGIC, 4);
}

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */

size_t trace_enc_begin(struct trace_encoder *e, const struct trace_header *h,
		       uint8_t out[TRACE_HEADER_BYTES])
{
	if ((h->flags & ~TRACE_F_KNOWN) || h->time_unit >= TRACE_TIME_NUNITS)
		return 0;
	memset(e, 0, sizeof *e);
	e->hdr = *h;
	e->hdr.version = TRACE_VERSION;
	memset(out, 0, TRACE_HEADER_BYTES);
	memcpy(out, TRACE_MAGIC, 4);
	put_le(out + 4, TRACE_VERSION, 2);
	put_le(out + 6, h->flags, 2);
	out[8] = h->page_shift;
	out[9] = h->page_sizes;
	out[10] = h->time_unit;
	put_le(out + 16, h->count, 8);
	e->fnv = fnv(FNV_OFFSET, out, TRACE_HEADER_BYTES);
	return TRACE_HEADER_BYTES;
}

size_t trace_enc_record(struct trace_encoder *e, const struct trace_record *r,
			uint8_t out[TRACE_MAX_RECORD])
{
	bool tid_changed = r->tid != e->prev.tid;
	size_t n = 0;
	out[n++] = (uint8_t)((r->is_write ? 1u : 0u) | (tid_changed ? 2u : 0u));
	n += put_varint(out + n, zigzag(r->vaddr - e->prev.vaddr));
	n += put_varint(out + n, zigzag(r->time - e->prev.time));
	if (tid_changed)
		n += put_varint(out + n, r->tid);
	if (e->hdr.flags & TRACE_F_PC)
		n += put_varint(out + n, zigzag(r->pc - e->prev.pc));
	e->prev = *r;
	if (!(e->hdr.flags & TRACE_F_PC))
		e->prev.pc = 0;
	e->written++;
	e->fnv = fnv(e->fnv, out, n);
	return n;
}

size_t trace_enc_end(struct trace_encoder *e, uint8_t out[TRACE_MAX_TRAILER])
{
	size_t n = 0;
	out[n++] = 0x80;
	n += put_varint(out + n, e->written);
	e->fnv = fnv(e->fnv, out, n);
	put_le(out + n, e->fnv, 4);
	return n + 4;
}

/* ------------------------------------------------------------------------ */
/* Decoder                                                                  */

void trace_dec_init(struct trace_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->state = ST_HEADER;
	d->fnv = FNV_OFFSET;
}

/* Record error st at stream offset off with message parts a, number, b. */
static enum trace_status fail(struct trace_decoder *d, enum trace_status st, uint64_t off,
			      const char *a, bool with_num, uint64_t num, const char *b)
{
	struct tlb_msg m;
	msg_init(&m, d->msg, sizeof d->msg);
	msg_str(&m, trace_status_str(st));
	msg_str(&m, ": ");
	msg_str(&m, a);
	if (with_num)
		msg_u64(&m, num);
	msg_str(&m, b);
	d->state = ST_FAILED;
	d->err = st;
	d->err_offset = off;
	return st;
}

static enum trace_status dec_header(struct trace_decoder *d, const uint8_t *p, size_t len)
{
	size_t m = len < 4 ? len : 4;
	if (memcmp(p, TRACE_MAGIC, m))
		return fail(d, TRACE_EMAGIC, 0, "the stream does not start with \"VMTR\"", false, 0, "");
	if (len >= 6) {
		uint64_t v = get_le(p + 4, 2);
		if (v != TRACE_VERSION)
			return fail(d, TRACE_EVERSION, 4, "version ", true, v,
				    " (this reader knows version 1 only)");
	}
	if (len < TRACE_HEADER_BYTES)
		return TRACE_MORE;
	uint64_t flags = get_le(p + 6, 2);
	if (flags & ~(uint64_t)TRACE_F_KNOWN)
		return fail(d, TRACE_EHEADER, 6, "unknown flags ", true, flags, "");
	if (p[10] >= TRACE_TIME_NUNITS)
		return fail(d, TRACE_EHEADER, 10, "unknown time unit ", true, p[10], "");
	for (unsigned i = 11; i < 16; i++)
		if (p[i])
			return fail(d, TRACE_EHEADER, i, "reserved header byte is not 0", false, 0, "");
	d->hdr.version = TRACE_VERSION;
	d->hdr.flags = (uint16_t)flags;
	d->hdr.page_shift = p[8];
	d->hdr.page_sizes = p[9];
	d->hdr.time_unit = p[10];
	d->hdr.count = get_le(p + 16, 8);
	d->fnv = fnv(d->fnv, p, TRACE_HEADER_BYTES);
	d->offset = TRACE_HEADER_BYTES;
	d->state = ST_RECORDS;
	return TRACE_OK;
}

/* The trailer at p[0] == 0x80. */
static enum trace_status dec_trailer(struct trace_decoder *d, const uint8_t *p, size_t len,
				     size_t *used)
{
	uint64_t count;
	size_t n;
	int v = get_varint(p + 1, len - 1, &count, &n);
	if (v == V_MORE)
		return TRACE_MORE;
	if (v == V_BAD)
		return fail(d, TRACE_ECORRUPT, d->offset + 1, "over-long record-count varint", false,
			    0, "");
	if (len < 1 + n + 4)
		return TRACE_MORE;
	if (count != d->records)
		return fail(d, TRACE_ECOUNT, d->offset + 1, "trailer says ", true, count,
			    " records, the stream has a different number");
	if (d->hdr.count != TRACE_COUNT_UNKNOWN && d->hdr.count != count)
		return fail(d, TRACE_ECOUNT, 16, "header says ", true, d->hdr.count,
			    " records, the trailer a different number");
	uint32_t h = fnv(d->fnv, p, 1 + n);
	if (h != (uint32_t)get_le(p + 1 + n, 4))
		return fail(d, TRACE_ECHECKSUM, d->offset + 1 + n,
			    "FNV-1a checksum of the stream does not match the trailer", false, 0, "");
	d->fnv = h;
	*used = 1 + n + 4;
	d->offset += *used;
	d->state = ST_DONE;
	return TRACE_END;
}

enum trace_status trace_dec_next(struct trace_decoder *d, const uint8_t *buf, size_t len,
				 size_t *used, struct trace_record *rec)
{
	*used = 0;
	if (d->state == ST_FAILED)
		return d->err;
	if (d->state == ST_DONE) {
		if (len)
			return fail(d, TRACE_ECORRUPT, d->offset, "data after the trailer", false, 0, "");
		return TRACE_END;
	}
	size_t base = 0;
	if (d->state == ST_HEADER) {
		if (!len)
			return TRACE_MORE;
		enum trace_status st = dec_header(d, buf, len);
		if (st != TRACE_OK)
			return st;
		base = TRACE_HEADER_BYTES;
		*used = base;
	}
	const uint8_t *p = buf + base;
	size_t left = len - base;
	if (!left)
		return TRACE_MORE;
	uint8_t c = p[0];
	d->in_trailer = c == 0x80;
	if (c == 0x80) {
		size_t u = 0;
		enum trace_status st = dec_trailer(d, p, left, &u);
		*used += u;
		return st;
	}
	if (c & ~3u)
		return fail(d, TRACE_ECORRUPT, d->offset, "bad control byte ", true, c,
			    " (bits 2..7 must be 0)");
	size_t n = 1, k;
	uint64_t dv, dt, tid = d->prev.tid, dpc = 0;
	int v;
	if ((v = get_varint(p + n, left - n, &dv, &k)) != V_OK)
		goto varint;
	n += k;
	if ((v = get_varint(p + n, left - n, &dt, &k)) != V_OK)
		goto varint;
	n += k;
	if (c & 2) {
		if ((v = get_varint(p + n, left - n, &tid, &k)) != V_OK)
			goto varint;
		if (tid > UINT32_MAX)
			return fail(d, TRACE_ECORRUPT, d->offset + n, "tid ", true, tid,
				    " does not fit 32 bits");
		n += k;
	}
	if (d->hdr.flags & TRACE_F_PC) {
		if ((v = get_varint(p + n, left - n, &dpc, &k)) != V_OK)
			goto varint;
		n += k;
	}
	rec->is_write = c & 1;
	rec->vaddr = d->prev.vaddr + unzigzag(dv);
	rec->time = d->prev.time + unzigzag(dt);
	rec->tid = (uint32_t)tid;
	rec->pc = d->prev.pc + unzigzag(dpc);
	d->prev = *rec;
	d->records++;
	d->fnv = fnv(d->fnv, p, n);
	d->offset += n;
	*used += n;
	return TRACE_OK;
varint:
	if (v == V_MORE)
		return TRACE_MORE;
	return fail(d, TRACE_ECORRUPT, d->offset + n, "over-long varint in record ", true,
		    d->records, "");
}

enum trace_status trace_dec_eof(struct trace_decoder *d, size_t left)
{
	if (d->state == ST_FAILED)
		return d->err;
	if (d->state == ST_DONE && !left)
		return TRACE_END;
	if (d->state == ST_DONE)
		return fail(d, TRACE_ECORRUPT, d->offset, "data after the trailer", false, 0, "");
	if (d->state == ST_HEADER)
		return fail(d, TRACE_ETRUNC, d->offset + left, "the input ends inside the ",
			    true, TRACE_HEADER_BYTES, "-byte header");
	if (d->in_trailer && left)
		return fail(d, TRACE_ETRUNC, d->offset + left, "the input ends inside the trailer, after ",
			    true, d->records, " records");
	return fail(d, TRACE_ETRUNC, d->offset, "the input ends after ", true, d->records,
		    " records without the end marker and trailer");
}

/* ------------------------------------------------------------------------ */
/* Lackey                                                                   */

static enum lackey_kind lk_err(char *err, size_t errlen, const char *why)
{
	struct tlb_msg m;
	msg_init(&m, err, errlen);
	msg_str(&m, why);
	return LACKEY_ERROR;
}

enum lackey_kind trace_lackey_parse_line(const char *line, size_t len, struct lackey_access *out,
					 char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	out->kind = LACKEY_SKIP;
	out->addr = 0;
	out->size = 0;
	if (!len)
		return LACKEY_SKIP;
	if (len >= 2 && line[0] == '=' && line[1] == '=')
		return LACKEY_SKIP;
	if (len < 4)
		return lk_err(err, errlen, "too short for a lackey access line");
	enum lackey_kind k;
	if (line[0] == 'I' && line[1] == ' ' && line[2] == ' ')
		k = LACKEY_INSTR;
	else if (line[0] == ' ' && line[2] == ' ' && line[1] == 'L')
		k = LACKEY_LOAD;
	else if (line[0] == ' ' && line[2] == ' ' && line[1] == 'S')
		k = LACKEY_STORE;
	else if (line[0] == ' ' && line[2] == ' ' && line[1] == 'M')
		k = LACKEY_MODIFY;
	else
		return lk_err(err, errlen,
			      "not a lackey line (expected \"I  ADDR,SIZE\" or \" L|S|M ADDR,SIZE\")");
	size_t i = 3, digits = 0;
	uint64_t addr = 0;
	for (; i < len && line[i] != ','; i++) {
		char ch = line[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return lk_err(err, errlen, "address is not hexadecimal");
		if (addr >> 60)
			return lk_err(err, errlen, "address wider than 64 bits");
		addr = addr << 4 | d;
		digits++;
	}
	if (!digits)
		return lk_err(err, errlen, "missing address");
	if (i >= len)
		return lk_err(err, errlen, "missing \",SIZE\"");
	i++; /* ',' */
	uint64_t size = 0;
	size_t sdigits = 0;
	for (; i < len; i++) {
		char ch = line[i];
		if (ch < '0' || ch > '9')
			return lk_err(err, errlen, "size is not a decimal number");
		size = size * 10 + (uint64_t)(ch - '0');
		if (size > 4096)
			return lk_err(err, errlen, "size above 4096 bytes");
		sdigits++;
	}
	if (!sdigits)
		return lk_err(err, errlen, "missing size");
	if (!size)
		return lk_err(err, errlen, "size 0");
	out->kind = k;
	out->addr = addr;
	out->size = (uint32_t)size;
	return k;
}

void trace_lackey_init(struct lackey_reader *r)
{
	memset(r, 0, sizeof *r);
}

int trace_lackey_feed(struct lackey_reader *r, const char *line, size_t len,
		      struct trace_record out[2])
{
	struct lackey_access a;
	r->line++;
	switch (trace_lackey_parse_line(line, len, &a, r->msg, sizeof r->msg)) {
	case LACKEY_SKIP:
		r->skipped++;
		return 0;
	case LACKEY_INSTR:
		r->instr++;
		r->last_pc = a.addr;
		return 0;
	case LACKEY_LOAD:
	case LACKEY_STORE:
	case LACKEY_MODIFY:
		break;
	default:
		return -1;
	}
	struct trace_record rec = { .vaddr = a.addr, .time = r->instr, .pc = r->last_pc, .tid = 0 };
	if (a.kind == LACKEY_LOAD) {
		r->loads++;
		out[0] = rec;
		return 1;
	}
	if (a.kind == LACKEY_STORE) {
		r->stores++;
		rec.is_write = true;
		out[0] = rec;
		return 1;
	}
	r->modifies++;
	out[0] = rec;
	rec.is_write = true;
	out[1] = rec;
	return 2;
}
