/*
 * The live runtime: owns the userfaultfd, the handler thread, the MimicOS
 * instance and the statistics of one process. preload/ calls these entry
 * points from the interposed symbols; nothing here interposes anything.
 *
 * Concurrency: one mutex (rt.lock) serialises MimicOS. The handler thread
 * holds it while it resolves a batch of faults; program threads hold it in
 * vm_munmap/vm_mremap/vm_madvise/vm_mmap around the syscall and the MimicOS
 * update, so a fault can never see a half-applied change. Code holding the
 * lock never touches managed memory.
 */
#ifndef VMEMU_RUNTIME_H
#define VMEMU_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Non-zero while the calling thread runs emulator code (init, fork
 * handling, the report) or is the handler thread: the preload must then
 * serve malloc from the internal heap, never from the managed heap.
 */
extern __thread int vm_in_runtime __attribute__((tls_model("initial-exec")));

/* The managed heap [vm_heap_start, vm_heap_end); both 0 before vm_init. */
extern uintptr_t vm_heap_start, vm_heap_end;

/*
 * Initialise the runtime once per process (later calls return at once):
 * load the config from the environment, open the userfaultfd, reserve and
 * register the heap (aligned to 1 GiB, heap.reserve bytes, MAP_NORESERVE),
 * create MimicOS, start the handler thread, install fork handlers. A config
 * error or an unavailable userfaultfd (without fallback = native) prints one
 * "vmemu: ..." line and exits with status 2: this runs before main.
 */
void vm_init(void);

/* True when faults are being emulated (false in fallback = native). */
bool vm_emulated(void);

/*
 * mmap as the program sees it: the real mmap, plus management of anonymous
 * private mappings of at least heap.mmap_threshold bytes (registered with
 * userfaultfd, added to MimicOS as a VMA). MAP_FIXED over a managed range
 * keeps MimicOS in step. Same return and errno as mmap(2).
 */
void *vm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/* munmap(2) that frees the frames and page tables MimicOS had there. */
int vm_munmap(void *addr, size_t len);

/*
 * mremap(2) that moves MimicOS' mappings with the pages and re-registers a
 * moved managed range (the kernel drops the registration on a move).
 * new_addr is used only with MREMAP_FIXED.
 */
void *vm_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

/*
 * madvise(2). DONTNEED, FREE and REMOVE on managed memory unmap the pages in
 * MimicOS and free their frames; FREE is carried out as DONTNEED there (the
 * emulated OS reclaims lazily-freed pages at once, which MADV_FREE permits).
 */
int vm_madvise(void *addr, size_t len, int advice);

/*
 * Write the report (human text to report.file or stderr, JSON to
 * report.json) once per process; later calls do nothing. Called at exit()
 * and _exit(); does nothing in a vfork child.
 */
void vm_report_at_exit(void);

/*
 * Switch the calling thread to the C locale (static data inside glibc) and
 * return the previous one for uselocale(). Runtime threads call it so
 * that formatting (vsnprintf, strerror, cJSON) never reads the program's
 * locale data, which live in the managed heap and may be swapped out.
 */
#include <locale.h>
locale_t vm_use_c_locale(void);

#endif
