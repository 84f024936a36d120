/*
 * The runtime's internal heap: memory the emulator itself uses (MimicOS
 * bookkeeping, report buffers, JSON). It is glibc's malloc, reached through
 * its __libc_* entry points, so it lives outside the managed heap that the
 * preload serves from the userfaultfd region: the fault handler can allocate
 * without ever faulting on memory it is itself responsible for populating.
 */
#ifndef VMEMU_IALLOC_H
#define VMEMU_IALLOC_H

#include <stddef.h>

#include <mimicos/mimicos.h>

/* Zeroed allocation of n bytes from the internal heap; NULL on failure. */
void *ialloc_zalloc(size_t n);
/* Allocation of n bytes (not zeroed) from the internal heap; NULL on failure. */
void *ialloc_malloc(size_t n);
/* Resize an internal allocation (p may be NULL); NULL on failure, p kept. */
void *ialloc_realloc(void *p, size_t n);
/* Release an internal allocation (NULL accepted). */
void ialloc_free(void *p);
/* Copy of a NUL-terminated string on the internal heap, or NULL. */
char *ialloc_strdup(const char *s);

/* The internal heap as a MimicOS allocator. */
extern const struct mos_allocator ialloc_mos_allocator;

#endif
