/*
 * Kernel interfaces newer than Debian 12's glibc / linux-libc-dev headers
 * (6.1) that vmemu uses; support is detected at run time.
 */
#ifndef VMEMU_COMPAT_H
#define VMEMU_COMPAT_H

#include <sys/mman.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1: synchronous THP collapse */
#endif

#endif
