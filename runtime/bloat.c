#include "runtime/bloat.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/ialloc.h"
#include "runtime/rt.h"

#define PAGE 4096ull
#define CHUNK 512 /* pages per mincore / read; <= IOV_MAX (1024) */

/* The mapped ranges of every VMA, copied out under the lock. */
static struct mos_phys_range *snapshot(size_t *n)
{
	*n = 0;
	pthread_mutex_lock(&rt.lock);
	size_t total = 0, nv = mos_vma_count(rt.mos);
	for (size_t i = 0; i < nv; i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		total += mos_phys_ranges(rt.mos, v->start, v->end, NULL, 0);
	}
	struct mos_phys_range *r = total ? ialloc_malloc(total * sizeof *r) : NULL;
	for (size_t i = 0; r && i < nv; i++) {
		const struct mos_vma *v = mos_vma_at(rt.mos, i);
		size_t room = total - *n, got = mos_phys_ranges(rt.mos, v->start, v->end, r + *n, room);
		*n += got < room ? got : room;
	}
	pthread_mutex_unlock(&rt.lock);
	return r;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[PAGE];
	for (size_t off = 0; off < n; off += PAGE)
		if (memcmp(p + off, zero, PAGE))
			return false;
	return true;
}

void vm_measure_bloat(struct bloat *out)
{
	memset(out, 0, sizeof *out);
	size_t n;
	struct mos_phys_range *r = snapshot(&n);
	unsigned char *buf = ialloc_malloc(CHUNK * PAGE);
	unsigned char vec[CHUNK];
	struct iovec local[CHUNK], remote[CHUNK];
	if ((n && !r) || !buf) {
		ialloc_free(r);
		ialloc_free(buf);
		return;
	}
	out->phys_ranges = n;
	pid_t self = getpid();
	for (size_t i = 0; i < n; i++) {
		for (uint64_t va = r[i].vaddr, end = r[i].vaddr + r[i].len; va < end;) {
			size_t pages = (size_t)((end - va) / PAGE);
			if (pages > CHUNK)
				pages = CHUNK;
			if (mincore((void *)(uintptr_t)va, pages * PAGE, vec)) {
				va += pages * PAGE; /* unmapped meanwhile */
				continue;
			}
			/* one read for all resident pages of the chunk; a short read
			 * means a page vanished meanwhile: the rest is skipped */
			size_t k = 0;
			for (size_t p = 0; p < pages; p++) {
				if (!(vec[p] & 1)) {
					out->pages_absent++;
					continue;
				}
				local[k] = (struct iovec){ buf + k * PAGE, PAGE };
				remote[k++] = (struct iovec){ (void *)(uintptr_t)(va + p * PAGE), PAGE };
			}
			ssize_t got = k ? process_vm_readv(self, local, k, remote, k, 0) : 0;
			for (size_t p = 0; got > 0 && p < (size_t)got / PAGE; p++) {
				out->pages_checked++;
				out->pages_zero += all_zero(buf + p * PAGE, PAGE);
			}
			va += pages * PAGE;
		}
	}
	out->measured = true;
	ialloc_free(r);
	ialloc_free(buf);
}
