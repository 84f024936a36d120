/*
 * tlbmodel/trace: memory-access traces for offline replay.
 *
 * Pure: encoders and decoders work on caller-supplied memory buffers; no
 * file I/O, no allocation, no stdio (the `vmemu replay` command in cli/
 * reads files and feeds the bytes in). Two formats:
 *
 *   1. VMTR, vmemu's compact binary trace (below), written by the live
 *      runtime's recorder and by tools, read by replay.
 *   2. Valgrind lackey text (`valgrind --tool=lackey --trace-mem=yes`), so any
 *      program can be traced without vmemu (trace_lackey_parse_line).
 *
 * A reader tells them apart by content: a VMTR stream starts with the four
 * bytes "VMTR" (trace_is_vmtr); lackey output never does (its lines start
 * with "I", " ", or Valgrind's "==PID==" banner).
 *
 * One access record (struct trace_record): the virtual address, load or
 * store, the thread id, a time stamp and, when the stream has them, the PC
 * of the instruction that made the access.
 *
 * ===========================================================================
 * VMTR version 1 (all integers little-endian)
 *
 * Header, 24 bytes:
 *   offset  size  field
 *        0     4  magic "VMTR" (0x56 0x4d 0x54 0x52)
 *        4     2  version = 1 (TRACE_VERSION)
 *        6     2  flags: bit 0 TRACE_F_PC (every record carries a pc);
 *                 other bits must be 0 (a reader rejects unknown flags)
 *        8     1  page_shift: base page size of the recording host
 *                 (12 = 4 KiB), informational; 0 = unknown
 *        9     1  page_sizes: TLB_PS_* mask (tlbmodel.h) of the page sizes
 *                 the recording host could map, informational; 0 = unknown
 *       10     1  time_unit: TRACE_TIME_* (ns, cycles, instructions, seq)
 *       11     5  reserved, must be 0
 *       16     8  record count, or TRACE_COUNT_UNKNOWN (all ones) when the
 *                 writer could not know it in advance
 *
 * Records follow, then one end marker. Fields of a record are coded
 * relative to the previous record (the first record's "previous" values are
 * all zero, tid 0):
 *   control   1 byte: bit 0 is_write; bit 1 tid changed (a tid field
 *             follows); bits 2..6 must be 0; bit 7 must be 0 (0x80 alone is
 *             the end marker)
 *   vaddr     zigzag varint of (vaddr - previous vaddr), two's complement
 *             64-bit difference
 *   time      zigzag varint of (time - previous time)
 *   tid       varint, present when control bit 1 is set; the new tid (u32)
 *   pc        zigzag varint of (pc - previous pc), present when TRACE_F_PC
 * varint = LEB128: 7 bits per byte, low group first, bit 7 = more bytes
 * follow; at most 10 bytes and 64 bits (a longer or wider one is corrupt).
 * zigzag(d) = (d << 1) ^ (d >> 63) maps small signed deltas to small codes.
 * A sequential load stream with a regular clock costs 3 bytes per record.
 *
 * End marker and trailer:
 *   0x80      end marker (a control byte with bit 7 set)
 *   count     varint: number of records written
 *   checksum  4 bytes: FNV-1a 32 over every byte of the stream from offset
 *             0 up to and including the count varint
 * The trailer makes every truncation detectable (a stream without it is
 * truncated) and most corruption (the checksum). A header count other than
 * TRACE_COUNT_UNKNOWN must equal the trailer's. Bytes after the trailer are
 * an error.
 *
 * Versioning: a reader accepts exactly the versions it knows (1) and says
 * which it got otherwise; a new field or a changed coding bumps the version.
 * ===========================================================================
 */
#ifndef TLBMODEL_TRACE_H
#define TLBMODEL_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_MAGIC "VMTR"
#define TRACE_VERSION 1u
#define TRACE_HEADER_BYTES 24u
#define TRACE_COUNT_UNKNOWN UINT64_MAX
/* Largest encoded record: control + 3 varints of 10 bytes + tid varint of 5. */
#define TRACE_MAX_RECORD 36u
/* Largest end marker + trailer: 1 + 10 + 4. */
#define TRACE_MAX_TRAILER 15u

/* Header flags. */
enum { TRACE_F_PC = 1u << 0 };
#define TRACE_F_KNOWN TRACE_F_PC

/* Units of trace_record.time. */
enum trace_time_unit {
	TRACE_TIME_NS = 0,    /* nanoseconds of the recording host */
	TRACE_TIME_CYCLES,    /* core cycles */
	TRACE_TIME_INSTR,     /* instructions retired (lackey: instruction count) */
	TRACE_TIME_SEQ,       /* record sequence number only */
	TRACE_TIME_NUNITS
};

/* One memory access. */
struct trace_record {
	uint64_t vaddr;   /* virtual byte address accessed */
	uint64_t time;    /* in the header's time_unit */
	uint64_t pc;      /* instruction address; 0 when the stream has no PCs */
	uint32_t tid;     /* thread id of the recording host (0 when unknown) */
	bool is_write;    /* store (true) or load (false) */
};

/* What a trace header says. */
struct trace_header {
	uint16_t version;    /* TRACE_VERSION */
	uint16_t flags;      /* TRACE_F_* */
	uint8_t page_shift;  /* 0 = unknown */
	uint8_t page_sizes;  /* TLB_PS_* mask, 0 = unknown */
	uint8_t time_unit;   /* enum trace_time_unit */
	uint64_t count;      /* records, or TRACE_COUNT_UNKNOWN */
};

/* Result codes of the decoder. */
enum trace_status {
	TRACE_OK = 0,      /* a record was decoded */
	TRACE_MORE,        /* the bytes given end inside the header or a record:
			      give more (the unconsumed ones again, followed by the
			      next ones), or call trace_dec_eof() at end of input */
	TRACE_END,         /* the trailer was read and checked: the trace is complete */
	TRACE_EMAGIC,      /* not a VMTR stream */
	TRACE_EVERSION,    /* a version this reader does not know */
	TRACE_EHEADER,     /* unknown flags, non-zero reserved bytes, bad time unit */
	TRACE_ECORRUPT,    /* bad control byte, over-long varint, tid above 2^32,
			      bytes after the trailer */
	TRACE_ECOUNT,      /* trailer count differs from the records read or the header */
	TRACE_ECHECKSUM,   /* trailer checksum differs */
	TRACE_ETRUNC,      /* end of input before the trailer */
};

/* Name of a status ("ok", "truncated", ...). */
const char *trace_status_str(enum trace_status st);

/* True when buf (len bytes) starts with the VMTR magic (needs len >= 4). */
bool trace_is_vmtr(const void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Encoder                                                                  */

/* Encoder state: the previous record's fields, the running checksum. */
struct trace_encoder {
	struct trace_header hdr;
	struct trace_record prev;
	uint64_t written;     /* records encoded so far */
	uint32_t fnv;         /* FNV-1a 32 of the bytes produced so far */
};

/*
 * Start a stream with header h (h->version is ignored: TRACE_VERSION is
 * written). Writes the TRACE_HEADER_BYTES header into out. Returns the bytes
 * written (TRACE_HEADER_BYTES), or 0 when h has unknown flags or time unit.
 */
size_t trace_enc_begin(struct trace_encoder *e, const struct trace_header *h,
		       uint8_t out[TRACE_HEADER_BYTES]);

/*
 * Encode one record into out (room for TRACE_MAX_RECORD bytes). Returns the
 * bytes written (3 .. TRACE_MAX_RECORD). r->pc is ignored unless the header
 * has TRACE_F_PC.
 */
size_t trace_enc_record(struct trace_encoder *e, const struct trace_record *r,
			uint8_t out[TRACE_MAX_RECORD]);

/*
 * End the stream: the end marker, the record count and the checksum into out
 * (room for TRACE_MAX_TRAILER bytes). Returns the bytes written. The caller
 * must make the header's count (if not unknown) equal e->written.
 */
size_t trace_enc_end(struct trace_encoder *e, uint8_t out[TRACE_MAX_TRAILER]);

/* ------------------------------------------------------------------------ */
/* Streaming decoder                                                        */

/*
 * Decoder state. offset is the stream byte offset of the next byte to
 * consume; after an error, err_offset is the offset of the offending byte (the
 * first byte of the field that is wrong) and msg says what is wrong.
 */
struct trace_decoder {
	int state;                /* internal: header, records, trailer seen, failed */
	struct trace_header hdr;  /* valid once the header was decoded */
	struct trace_record prev;
	uint64_t records;         /* records decoded so far */
	uint64_t offset;          /* stream offset of the next byte */
	uint64_t err_offset;      /* where the error is (after an error status) */
	enum trace_status err;    /* the sticky error, TRACE_OK while none */
	uint32_t fnv;
	bool in_trailer;          /* the last TRACE_MORE was inside the trailer */
	char msg[160];            /* NUL-terminated description of the error */
};

/* Reset d to expect a header at offset 0. */
void trace_dec_init(struct trace_decoder *d);

/*
 * Decode the next item from buf[0..len), which must continue the stream
 * exactly at d->offset. Sets *used to the bytes consumed, whatever the
 * status: the caller drops them and passes the rest (plus new bytes) next
 * time. A header is consumed silently (its bytes count in *used) and
 * decoding goes on to the first record. Returns:
 *   TRACE_OK   *rec holds the record (its time and vaddr absolute)
 *   TRACE_MORE buf ends inside the header or an item; the partial item is
 *              not consumed
 *   TRACE_END  the trailer checked out; the stream is complete. Any further
 *              call with len > 0 is TRACE_ECORRUPT (data after the trailer).
 *   an error   sticky: every later call returns it; see d->msg, d->err_offset
 * Never reads past buf + len.
 */
enum trace_status trace_dec_next(struct trace_decoder *d, const uint8_t *buf, size_t len,
				 size_t *used, struct trace_record *rec);

/*
 * The input ended; `left` bytes were given to trace_dec_next without being
 * consumed. Returns TRACE_END when the trailer was read and nothing is left,
 * otherwise TRACE_ETRUNC (err_offset = d->offset: where the missing part
 * begins) or the sticky error.
 */
enum trace_status trace_dec_eof(struct trace_decoder *d, size_t left);

/* ------------------------------------------------------------------------ */
/* Valgrind lackey text                                                     */

/*
 * Kinds of lackey lines. `valgrind --tool=lackey --trace-mem=yes` writes
 * (lackey/lk_main.c, trace_instr / trace_load / trace_store / trace_modify):
 *   "I  ADDR,SIZE"   instruction fetch of SIZE bytes at ADDR
 *   " L ADDR,SIZE"   data load
 *   " S ADDR,SIZE"   data store
 *   " M ADDR,SIZE"   data modify (a load and a store of the same bytes)
 * ADDR is hexadecimal without 0x (8 or 16 digits), SIZE decimal. Lines
 * starting with "==" (Valgrind's "==PID== ..." banner, in the same log
 * file with --log-file) and blank lines carry no access.
 */
enum lackey_kind {
	LACKEY_SKIP = 0,  /* banner or blank line */
	LACKEY_INSTR,     /* I */
	LACKEY_LOAD,      /* L */
	LACKEY_STORE,     /* S */
	LACKEY_MODIFY,    /* M */
	LACKEY_ERROR,     /* malformed */
};

/* One parsed lackey line. */
struct lackey_access {
	enum lackey_kind kind;
	uint64_t addr;    /* byte address */
	uint32_t size;    /* bytes, 1 .. 4096 */
};

/*
 * Parse one line of lackey output (line[0..len), without or with its
 * trailing "\n" / "\r\n"; need not be NUL-terminated). Returns the kind and
 * fills *out (addr, size for I/L/S/M). LACKEY_ERROR for anything else: an
 * unknown letter, wrong spacing, a missing or non-hexadecimal address, an
 * address above 64 bits, a missing comma, a size that is not a decimal
 * 1..4096, trailing junk. err (errlen bytes, may be 0) then says what.
 */
enum lackey_kind trace_lackey_parse_line(const char *line, size_t len, struct lackey_access *out,
					 char *err, size_t errlen);

/*
 * Turns lackey lines into trace records: data accesses get the address of
 * the last instruction fetch as pc and the number of instruction fetches
 * seen so far as time (TRACE_TIME_INSTR); tid is 0 (lackey does not say;
 * Valgrind runs one thread at a time). An M line becomes two records, a load
 * then a store. Counts what it saw.
 */
struct lackey_reader {
	uint64_t line;        /* lines fed so far (1-based number of the last one) */
	uint64_t instr;       /* I lines */
	uint64_t loads;       /* L lines */
	uint64_t stores;      /* S lines */
	uint64_t modifies;    /* M lines */
	uint64_t skipped;     /* banner / blank lines */
	uint64_t last_pc;     /* address of the last I line, 0 before any */
	char msg[160];        /* what was wrong with the last LACKEY_ERROR line */
};

/* Reset r (line numbers start again at 1). */
void trace_lackey_init(struct lackey_reader *r);

/*
 * Feed the next line. Writes 0, 1 (L, S) or 2 (M: load then store) records
 * into out and returns how many, or -1 for a malformed line (r->msg; the
 * line number is r->line).
 */
int trace_lackey_feed(struct lackey_reader *r, const char *line, size_t len,
		      struct trace_record out[2]);

#endif
