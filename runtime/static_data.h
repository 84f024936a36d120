/*
 * The program's static data (heap.static_data = on): the writable part of
 * each loaded ELF object's data segment (.data and .bss, after RELRO) is
 * moved into anonymous memory at the same address, so that userfaultfd can
 * manage it like the heap. Only runtime/ calls this; the runtime then
 * registers each range and tells MimicOS which pages are present.
 */
#ifndef VMEMU_STATIC_DATA_H
#define VMEMU_STATIC_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_STATIC_MAX 256 /* objects looked at; more are left alone (counted) */

/* One object's writable static data, [start, start + len), page-aligned. */
struct vm_static_range {
	uint64_t start, len;    /* bytes */
	uint64_t file_len;      /* bytes from start backed by the object's file (.data);
				 * the rest is its anonymous .bss */
	const char *name;       /* dl_iterate_phdr's name; "" = the program */
};

/* What vm_static_ranges found. */
struct vm_static_scan {
	size_t objects;         /* loaded objects seen (dl_iterate_phdr) */
	size_t skipped;         /* of those, the runtime's own and its dependencies */
	size_t overflow;        /* objects beyond VM_STATIC_MAX, left alone */
};

/*
 * The writable static data of the objects loaded now, in out[0..n), n
 * returned (at most max). Left out: libvmemu itself, the dynamic linker and
 * every object libvmemu needs (DT_NEEDED, transitively): the runtime's own
 * threads use their data, and a runtime thread that touched a page a
 * sampler or swap had taken away would wait on itself. Objects without a
 * writable PT_LOAD contribute nothing. Pure ELF reading; no syscalls.
 */
size_t vm_static_ranges(struct vm_static_range *out, size_t max, struct vm_static_scan *scan);

/*
 * Replace r's mapping by private anonymous memory with the same contents
 * at the same address: a fresh mapping gets the file-backed part in full
 * and those .bss pages the host had resident (mincore), then mremap moves
 * it over r. present[i] (r->len / 4096 entries) is set to 1 for each page
 * that is now present, 0 for the rest (they fault in as zero pages would).
 * Must run while no other thread of the program uses r. Returns 0, or
 * -errno with r untouched (mmap or mincore failed), or -errno with *lost
 * set when mremap failed: the kernel may have unmapped r first, so its
 * contents may be gone and the caller must stop the program (this runs
 * before main).
 */
int vm_static_to_anon(const struct vm_static_range *r, unsigned char *present, bool *lost);

#endif
