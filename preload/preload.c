/*
 * libvmemu.so: the symbols a program sees. The malloc family is served by
 * mimalloc (a well-kept allocator) from an arena over the heap that the
 * runtime reserved and registered with userfaultfd; mmap, munmap, mremap
 * and madvise go to the runtime so MimicOS stays in step. No policy here.
 *
 * Dispatch rules:
 *  - before the runtime is up, and on threads running emulator code
 *    (vm_in_runtime), allocations come from glibc's allocator (__libc_*),
 *    outside the managed heap: this covers dlsym's and pthread_create's
 *    allocations during bootstrap and anything the fault handler does;
 *  - free/realloc/malloc_usable_size look at the address: inside the managed
 *    heap it is mimalloc's, anywhere else glibc's.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <mimalloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define EXPORT __attribute__((visibility("default")))
#define unlikely(x) __builtin_expect(!!(x), 0)

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static int heap_ready; /* mimalloc's arena is in place */
static size_t (*glibc_usable_size)(void *);

static inline int managed(const void *p)
{
	return (uintptr_t)p - vm_heap_start < vm_heap_end - vm_heap_start;
}

/* Bring the runtime up and hand its heap to mimalloc, once. */
static void setup(void)
{
	static int done;
	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	vm_init(); /* idempotent, thread-safe; exits 2 on bad config */
	vm_in_runtime++;
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&mu);
	if (!done) {
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		if (libc)
			glibc_usable_size = (size_t (*)(void *))dlsym(libc, "malloc_usable_size");
		/* Everything mimalloc hands out must come from our region: no OS
		 * fallback, and no decommit (which would remap arena memory). */
		mi_option_set(mi_option_limit_os_alloc, 1);
		mi_option_set(mi_option_allow_decommit, 0);
		mi_option_set(mi_option_page_reset, 0);
		if (!mi_manage_os_memory((void *)vm_heap_start, vm_heap_end - vm_heap_start,
					 true /* committed: uffd populates on touch */,
					 false /* not large pages */, true /* reads as zero */,
					 -1 /* any NUMA node */)) {
			static const char m[] = "vmemu: mimalloc refused the managed heap\n";
			write(2, m, sizeof m - 1);
			_exit(2);
		}
		__atomic_store_n(&heap_ready, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mu);
	vm_in_runtime--;
}

/*
 * 1: serve this allocation from glibc; 0: from mimalloc. The first
 * allocation of the process brings the runtime up.
 */
static inline int libc_path(void)
{
	if (__builtin_expect(heap_ready && !vm_in_runtime, 1))
		return 0;
	if (vm_in_runtime)
		return 1;
	setup();
	return 0;
}

EXPORT void *malloc(size_t n)
{
	return libc_path() ? __libc_malloc(n) : mi_malloc(n);
}

EXPORT void *calloc(size_t count, size_t size)
{
	return libc_path() ? __libc_calloc(count, size) : mi_calloc(count, size);
}

EXPORT void free(void *p)
{
	if (managed(p))
		mi_free(p);
	else if (p)
		__libc_free(p);
}

EXPORT void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (managed(p))
		return mi_realloc(p, n);
	return __libc_realloc(p, n); /* allocated before the heap was up: stays in glibc */
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

static void *libc_aligned(size_t align, size_t n)
{
	return __libc_memalign(align, n);
}

static int valid_align(size_t align)
{
	return align && !(align & (align - 1)) && !(align % sizeof(void *));
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!valid_align(align))
		return EINVAL;
	if (libc_path()) {
		void *p = libc_aligned(align, n);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	return mi_posix_memalign(out, align, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return libc_path() ? libc_aligned(align, n) : mi_aligned_alloc(align, n);
}

EXPORT void *memalign(size_t align, size_t n)
{
	return libc_path() ? libc_aligned(align, n) : mi_memalign(align, n);
}

EXPORT void *valloc(size_t n)
{
	return libc_path() ? libc_aligned(4096, n) : mi_valloc(n);
}

EXPORT void *pvalloc(size_t n)
{
	return libc_path() ? libc_aligned(4096, (n + 4095) & ~(size_t)4095) : mi_pvalloc(n);
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (managed(p))
		return mi_usable_size(p);
	if (!p || !glibc_usable_size)
		return 0;
	return glibc_usable_size(p);
}

/* ------------------------------------------------------ address space */

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return vm_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return vm_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	return vm_munmap(addr, len);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return vm_mremap(old, old_len, new_len, flags, new_addr);
}

EXPORT int madvise(void *addr, size_t len, int advice)
{
	return vm_madvise(addr, len, advice);
}

/* ------------------------------------------------------ process life */

__attribute__((constructor)) static void vmemu_ctor(void)
{
	if (!vm_in_runtime)
		setup();
}

__attribute__((destructor)) static void vmemu_dtor(void)
{
	vm_report_at_exit();
}

/* Programs that end with _exit (dash, fork children) skip destructors. */
EXPORT _Noreturn void _exit(int status)
{
	vm_report_at_exit();
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

EXPORT _Noreturn void _Exit(int status)
{
	_exit(status);
}
