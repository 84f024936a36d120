/*
 * Kernel interfaces newer than Debian 12's glibc / linux-libc-dev headers
 * (6.1) that vmemu uses; support is detected at run time.
 */
#ifndef VMEMU_COMPAT_H
#define VMEMU_COMPAT_H

#include <sys/mman.h>

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

#endif
