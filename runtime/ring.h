/*
 * A bounded multi-producer, single-consumer ring of access records: the
 * hand-off between the samplers (the fault handler threads, the sampler
 * thread, any thread that produces a sample) and the one consumer (the
 * sampler's periodic work, one thread at a time).
 *
 * Design: D. Vyukov's bounded queue ("Bounded MPMC queue", 1024cores.net),
 * used with one consumer. Every slot carries a sequence number; a producer
 * claims a position with one compare-and-swap on the tail, writes the record
 * and publishes it by storing the slot's sequence (release). The consumer
 * reads a slot when its sequence says it is published (acquire).
 *
 * Producer path: no allocation, no lock, no system call, never waits for
 * another thread; only atomic loads, stores and compare-and-swap, so it is
 * async-signal-safe. A full ring drops the record and counts it (drops are
 * reported, never hidden). Memory: capacity * 32 bytes, allocated once by
 * ring_init from the runtime's internal heap.
 */
#ifndef VMEMU_RING_H
#define VMEMU_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record flags. */
enum {
	RING_WRITE = 1u << 0, /* the access was a store */
	RING_MODELED = 1u << 1, /* already fed to the model: the consumer only traces it */
};

/* One sampled access (24 bytes). */
struct ring_rec {
	uint64_t vaddr;  /* virtual byte address accessed */
	uint64_t time;   /* CLOCK_MONOTONIC, ns */
	uint32_t tid;    /* thread id (0 = unknown) */
	uint16_t flags;  /* RING_* */
	uint16_t source; /* which sampler produced it (enum smp_source) */
	float weight;    /* accesses this record stands for (1 / its inclusion probability) */
};

struct ring_slot {
	uint64_t seq; /* atomic */
	struct ring_rec rec;
};

struct ring {
	struct ring_slot *slots;
	uint64_t mask;             /* capacity - 1 */
	uint64_t head;             /* consumer position (consumer only) */
	uint64_t tail;             /* producer position (atomic, CAS) */
	uint64_t pushed;           /* records accepted (atomic) */
	uint64_t dropped;          /* records dropped because the ring was full (atomic) */
	uint64_t popped;           /* records consumed (consumer only) */
};

/*
 * Allocate a ring of `capacity` slots (rounded up to a power of two, at
 * least 2) from the internal heap. Returns 0, or -1 when memory is short.
 */
int ring_init(struct ring *r, size_t capacity);

/* Free the slots (the ring must no longer be used). */
void ring_free(struct ring *r);

/*
 * Append one record. Returns true when stored, false when the ring was full
 * (the record is dropped and counted in r->dropped). Any thread, any context
 * (signal handlers included); lock-free.
 */
bool ring_push(struct ring *r, const struct ring_rec *rec);

/*
 * Take the oldest published record into *out. Returns true, or false when
 * none is published yet. Single consumer only.
 */
bool ring_pop(struct ring *r, struct ring_rec *out);

/* Records accepted and dropped so far (atomic snapshots). */
uint64_t ring_pushed(const struct ring *r);
uint64_t ring_dropped(const struct ring *r);

#endif
