/*
 * userfaultfd plumbing: opening (syscall, then /dev/userfaultfd), the API
 * handshake, range registration and page population. Only runtime/ talks to
 * the kernel; these functions are the fault path's whole kernel interface.
 */
#ifndef VMEMU_UFFD_H
#define VMEMU_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Open a userfaultfd (O_CLOEXEC | O_NONBLOCK) and complete the UFFDIO_API
 * handshake. Tries the userfaultfd(2) syscall first, then
 * /dev/userfaultfd's USERFAULTFD_IOC_NEW. Returns the fd, or -1 with a
 * message in why explaining what the user must change (sysctl, device
 * permissions). want: UFFD_FEATURE_* bits to enable besides
 * UFFD_FEATURE_THREAD_ID (0 for none, e.g. UFFD_FEATURE_WP_ASYNC); a kernel
 * that refuses them gets a handshake without them, which is no error.
 * *features receives the kernel's supported feature bits, *enabled those
 * enabled on this fd.
 */
int uffd_open(uint64_t want, uint64_t *features, uint64_t *enabled, char *why, size_t whylen);

/*
 * Register [start, start+len) for MISSING faults, and for write-protect
 * faults too when wp (swap's dirty tracking; needs
 * UFFD_FEATURE_PAGEFAULT_FLAG_WP). 0 or -errno.
 */
int uffd_register(int fd, uint64_t start, uint64_t len, bool wp);

/* Unregister [start, start+len); waiting threads are woken. 0 or -errno. */
int uffd_unregister(int fd, uint64_t start, uint64_t len);

/* Outcome of populating one range. */
struct uffd_fill {
	uint64_t bytes_zeropage; /* bytes mapped to the shared zero page */
	uint64_t bytes_copied;   /* bytes filled with private zeroed pages */
	uint64_t pages_existed;  /* pages already present (another fill won) */
	bool vma_gone;           /* range no longer mapped (munmap raced) */
};

/*
 * Populate [start, start+len) (page aligned) and, when wake, wake the
 * threads waiting there (else the caller wakes them with uffd_wake: a
 * sampler takes some of the pages away first). Read faults map the zero page (UFFDIO_ZEROPAGE, as Linux does for
 * a read of untouched anonymous memory); write faults copy from zero_src
 * (UFFDIO_COPY of zero_len bytes at a time, so the write does not take a
 * second, copy-on-write fault). wp: the copied pages are mapped
 * write-protected (UFFDIO_COPY_MODE_WP; the range must be registered for WP);
 * zero-page fills cannot be (UFFDIO_ZEROPAGE has no WP mode). EAGAIN is
 * retried, EEXIST pages are skipped, a vanished VMA ends the fill. Returns 0
 * or -errno for an unexpected error.
 */
int uffd_fill(int fd, uint64_t start, uint64_t len, bool write, bool wp, bool wake,
	      const void *zero_src, size_t zero_len, struct uffd_fill *out);

/*
 * UFFDIO_COPY len bytes from src to dst (page aligned) without waking the
 * threads waiting there (the caller wakes them with uffd_wake), with the
 * new pages write-protected when wp. EAGAIN is retried. 0, or -errno
 * (-EEXIST: already present, -ENOENT: the VMA went away).
 */
int uffd_copy(int fd, uint64_t dst, const void *src, uint64_t len, bool wp);

/*
 * UFFDIO_WRITEPROTECT [start, start+len): protect (a write then blocks in a
 * WP fault) or unprotect (and wake the blocked writers). 0 or -errno.
 */
int uffd_writeprotect(int fd, uint64_t start, uint64_t len, bool protect);

/* Wake threads waiting on [start, start+len) without populating. 0 or -errno. */
int uffd_wake(int fd, uint64_t start, uint64_t len);

/*
 * UFFDIO_MOVE len bytes (whole pages) from src to dst (Linux 6.8), going on
 * after partial moves; the threads waiting on dst are woken when wake.
 * Returns the bytes moved from the start; *err is 0 when all moved, else
 * -errno for the page at dst + the returned count (-EEXIST: dst present,
 * -ENOENT: src absent, -EBUSY: src shared or pinned, -EAGAIN: the kernel
 * asked to retry 8 times in a row).
 *
 * The kernel can move pages and still report them as not moved: Linux
 * 6.18's move_pages() keeps the -EAGAIN of an internal retry (a PTE changed
 * under it: MADV_COLD, clear_refs, reclaim aging, migration) after the retry
 * succeeds, tries the moved pages again, finds them at dst and returns
 * -EEXIST. Taken at its word, the page is lost (it sits at dst, unknown to
 * the caller). So on -EEXIST the pages whose src holds nothing and whose dst
 * is present (/proc/self/pagemap) count as moved, and *recovered (if not
 * NULL) grows by their number. tests/unit/test_uffd_move.c provokes it.
 */
uint64_t uffd_move(int fd, uint64_t dst, uint64_t src, uint64_t len, bool wake, int *err,
		   uint64_t *recovered);

#endif
