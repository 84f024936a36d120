/*
 * Kernel interfaces newer than Debian 12's glibc / linux-libc-dev headers
 * (6.1) that vmemu uses; support is detected at run time.
 */
#ifndef VMEMU_COMPAT_H
#define VMEMU_COMPAT_H

#include <sys/mman.h>

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1: synchronous THP collapse */
#endif

/* Linux 6.8: UFFDIO_MOVE moves pages between anonymous ranges (zero copy);
 * supported when UFFDIO_API reports UFFD_FEATURE_MOVE. */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1ull << 16)
#endif
#ifndef UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
	__u64 mode;
	__s64 move; /* bytes moved, or -errno */
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

/* Linux 6.4 (uapi/linux/userfaultfd.h): write-protect faults resolved by the
 * kernel itself, which only clears the PTE's uffd-wp bit; a page written
 * since it was last protected is then seen with PAGEMAP_SCAN. WP_ASYNC
 * implies WP_UNPOPULATED: UFFDIO_WRITEPROTECT of an unpopulated PTE leaves a
 * marker there. Both are per userfaultfd, enabled by UFFDIO_API. */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ull << 15)
#endif

/* Linux 6.7 (uapi/linux/fs.h; Documentation/admin-guide/mm/pagemap.rst):
 * the PAGEMAP_SCAN ioctl on /proc/PID/pagemap reports the pages of a range
 * whose PTEs match categories, optionally write-protecting them at once. */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)  /* async write protection enabled (the VMA) */
#define PAGE_IS_WRITTEN (1 << 1)    /* not write-protected: written since protected */
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)    /* maps the shared zero page */
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

/* One output run of pages with the same (return_mask) categories. */
struct page_region {
	__u64 start;      /* first byte */
	__u64 end;        /* exclusive */
	__u64 categories; /* PAGE_IS_* */
};

#define PM_SCAN_WP_MATCHING (1 << 0)   /* write-protect the matched pages */
#define PM_SCAN_CHECK_WPASYNC (1 << 1) /* fail (EPERM) on a VMA without async WP */

struct pm_scan_arg {
	__u64 size;                /* sizeof(struct pm_scan_arg) */
	__u64 flags;               /* PM_SCAN_* */
	__u64 start, end;          /* range to walk */
	__u64 walk_end;            /* out: where the walk stopped (end when complete) */
	__u64 vec;                 /* struct page_region array */
	__u64 vec_len;             /* its entries */
	__u64 max_pages;           /* stop after this many pages (0 = no limit) */
	__u64 category_inverted;   /* categories that match when clear */
	__u64 category_mask;       /* all of these must match */
	__u64 category_anyof_mask; /* one of these must match */
	__u64 return_mask;         /* categories reported in page_region */
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#endif
