#include "runtime/uffd.h"
#include "runtime/compat.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ull

/* UFFDIO_API, asking for the faulting thread's id in fault messages (the
 * access samplers record it) and the wanted features; without them, in
 * that order, on kernels that lack them (a refused UFFDIO_API leaves the fd
 * uninitialised, so it may be tried again). */
static int handshake(int fd, uint64_t want, uint64_t *features, uint64_t *enabled)
{
	const uint64_t tries[3] = { UFFD_FEATURE_THREAD_ID | want, UFFD_FEATURE_THREAD_ID, 0 };
	for (int i = want ? 0 : 1; i < 3; i++) {
		struct uffdio_api api = { .api = UFFD_API, .features = tries[i] };
		if (ioctl(fd, UFFDIO_API, &api) == 0) {
			*features = api.features; /* the kernel reports all it supports */
			*enabled = tries[i];
			return 0;
		}
	}
	return -errno;
}

int uffd_open(uint64_t want, uint64_t *features, uint64_t *enabled, char *why, size_t whylen)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int sys_errno = fd < 0 ? errno : 0;
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		int dev_errno = dev < 0 ? errno : 0;
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			dev_errno = fd < 0 ? errno : 0;
			close(dev);
		}
		if (fd < 0) {
			snprintf(why, whylen,
				 "userfaultfd is not available to this process: the userfaultfd() "
				 "syscall failed (%s) and /dev/userfaultfd failed (%s). To allow it, "
				 "either run `sysctl vm.unprivileged_userfaultfd=1` as root, or give "
				 "this user read-write access to /dev/userfaultfd (e.g. `chmod 0666 "
				 "/dev/userfaultfd` or a udev rule), or run as root. To run the "
				 "program unemulated instead, set [runtime] fallback = native",
				 strerror(sys_errno), strerror(dev_errno));
			return -1;
		}
	}
	int r = handshake(fd, want, features, enabled);
	if (r) {
		snprintf(why, whylen, "UFFDIO_API handshake failed: %s", strerror(-r));
		close(fd);
		return -1;
	}
	return fd;
}

int uffd_register(int fd, uint64_t start, uint64_t len, bool wp)
{
	struct uffdio_register reg = {
		.range = { .start = start, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING | (wp ? UFFDIO_REGISTER_MODE_WP : 0),
	};
	return ioctl(fd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

int uffd_unregister(int fd, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { .start = start, .len = len };
	return ioctl(fd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

int uffd_wake(int fd, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { .start = start, .len = len };
	return ioctl(fd, UFFDIO_WAKE, &r) ? -errno : 0;
}

int uffd_copy(int fd, uint64_t dst, const void *src, uint64_t len, bool wp)
{
	while (len) {
		struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)src, .len = len,
					 .mode = UFFDIO_COPY_MODE_DONTWAKE |
						 (wp ? UFFDIO_COPY_MODE_WP : 0) };
		if (ioctl(fd, UFFDIO_COPY, &c) == 0)
			return 0;
		int e = errno;
		if (c.copy > 0) { /* partial progress */
			dst += (uint64_t)c.copy;
			src = (const char *)src + c.copy;
			len -= (uint64_t)c.copy;
			continue;
		}
		if (e != EAGAIN && e != EINTR)
			return -e;
	}
	return 0;
}

int uffd_writeprotect(int fd, uint64_t start, uint64_t len, bool protect)
{
	struct uffdio_writeprotect w = { .range = { .start = start, .len = len },
					 .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
	for (;;) {
		if (ioctl(fd, UFFDIO_WRITEPROTECT, &w) == 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

/* One ioctl; returns bytes populated (> 0) or -errno. */
static int64_t fill_once(int fd, uint64_t start, uint64_t len, bool write, bool wp, bool wake,
			 const void *src)
{
	int r;
	int64_t done;
	if (write) {
		struct uffdio_copy c = { .dst = start, .src = (uint64_t)(uintptr_t)src, .len = len,
					 .mode = (wp ? UFFDIO_COPY_MODE_WP : 0) |
						 (wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE) };
		r = ioctl(fd, UFFDIO_COPY, &c);
		done = c.copy;
	} else {
		struct uffdio_zeropage z = { .range = { .start = start, .len = len },
					     .mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE };
		r = ioctl(fd, UFFDIO_ZEROPAGE, &z);
		done = z.zeropage;
	}
	if (r == 0)
		return (int64_t)len;
	if (done > 0)
		return done; /* partial progress (the kernel reports -EAGAIN) */
	return -errno;
}

int uffd_fill(int fd, uint64_t start, uint64_t len, bool write, bool wp, bool wake,
	      const void *zero_src, size_t zero_len, struct uffd_fill *out)
{
	while (len) {
		uint64_t chunk = write && len > zero_len ? zero_len : len;
		int64_t n = fill_once(fd, start, chunk, write, wp, wake, zero_src);
		if (n > 0) {
			if (write)
				out->bytes_copied += (uint64_t)n;
			else
				out->bytes_zeropage += (uint64_t)n;
			start += (uint64_t)n;
			len -= (uint64_t)n;
			continue;
		}
		switch (n) {
		case -EAGAIN: /* mm changing under us (e.g. concurrent mremap): retry */
		case -EINTR:
			continue;
		case -EEXIST: /* present already: skip it, wake whoever waits on it */
			out->pages_existed++;
			uffd_wake(fd, start, PAGE);
			start += PAGE;
			len -= PAGE;
			continue;
		case -ENOENT: /* no VMA any more (munmap raced us) */
		case -ESRCH:  /* the process is exiting */
			out->vma_gone = true;
			uffd_wake(fd, start, len);
			return 0;
		default:
			return (int)n;
		}
	}
	return 0;
}

/* /proc/self/pagemap of this process, opened on first use (and again in a
 * fork child, whose pagemap is its own); -1 when it cannot be opened. */
static int pagemap_fd(void)
{
	static int fd = -1;
	static pid_t owner;
	pid_t me = getpid();
	int f = __atomic_load_n(&fd, __ATOMIC_ACQUIRE);
	if (f >= 0 && __atomic_load_n(&owner, __ATOMIC_ACQUIRE) == me)
		return f;
	int n = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (n < 0)
		return -1;
	if (!__atomic_compare_exchange_n(&fd, &f, n, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(n); /* another thread opened it first */
		return f;
	}
	__atomic_store_n(&owner, me, __ATOMIC_RELEASE);
	if (f >= 0)
		close(f); /* the parent's, inherited by this fork child */
	return n;
}

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PROBE_PAGES 64u

/* How many pages from the start of [dst, dst + len) a move reported as not
 * moved were in fact moved: src holds nothing (not present, not swapped)
 * and dst is present. 0 when pagemap cannot tell. */
static uint64_t moved_anyway(uint64_t dst, uint64_t src, uint64_t len)
{
	int pm = pagemap_fd();
	uint64_t n = len / PAGE < PROBE_PAGES ? len / PAGE : PROBE_PAGES;
	uint64_t s[PROBE_PAGES], d[PROBE_PAGES];
	if (pm < 0 || !n ||
	    pread(pm, s, n * 8, (off_t)(src / PAGE * 8)) != (ssize_t)(n * 8) ||
	    pread(pm, d, n * 8, (off_t)(dst / PAGE * 8)) != (ssize_t)(n * 8))
		return 0;
	uint64_t k = 0;
	while (k < n && !(s[k] & (PM_PRESENT | PM_SWAPPED)) && (d[k] & PM_PRESENT))
		k++;
	return k;
}

uint64_t uffd_move(int fd, uint64_t dst, uint64_t src, uint64_t len, bool wake, int *err,
		   uint64_t *recovered)
{
	uint64_t done = 0;
	int again = 0;
	*err = 0;
	while (done < len) {
		struct uffdio_move m = { .dst = dst + done, .src = src + done, .len = len - done,
					 .mode = wake ? 0 : UFFDIO_MOVE_MODE_DONTWAKE };
		if (ioctl(fd, UFFDIO_MOVE, &m) == 0)
			return len;
		int e = errno;
		if (m.move > 0) {
			done += (uint64_t)m.move;
			again = 0;
			continue;
		}
		if (e == EEXIST) {
			uint64_t k = moved_anyway(dst + done, src + done, len - done) * PAGE;
			if (k) {
				if (wake) /* the kernel woke nobody: it reported an error */
					uffd_wake(fd, dst + done, k);
				if (recovered)
					*recovered += k / PAGE;
				done += k;
				again = 0;
				continue;
			}
		}
		if (e != EAGAIN || ++again > 8) {
			*err = -e;
			break;
		}
	}
	return done;
}
