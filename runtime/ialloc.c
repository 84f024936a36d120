#include "runtime/ialloc.h"

#include <string.h>

/* glibc's allocator under its internal names: never interposed. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *ialloc_zalloc(size_t n) { return __libc_calloc(1, n); }
void *ialloc_malloc(size_t n) { return __libc_malloc(n); }
void *ialloc_realloc(void *p, size_t n) { return __libc_realloc(p, n); }
void ialloc_free(void *p) { __libc_free(p); }

char *ialloc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = __libc_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void *mos_zalloc(void *ctx, size_t bytes) { (void)ctx; return __libc_calloc(1, bytes); }
static void mos_free(void *ctx, void *p, size_t bytes) { (void)ctx; (void)bytes; __libc_free(p); }

const struct mos_allocator ialloc_mos_allocator = { mos_zalloc, mos_free, NULL };
