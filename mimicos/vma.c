/* The VMA set as a sorted array. See vma.h. */
#include "vma.h"

#include <string.h>

#include "buddy.h" /* mos_why */

void vma_set_init(struct vma_set *s, const struct mos_allocator *alloc)
{
	s->alloc = *alloc;
	s->v = NULL;
	s->n = s->cap = 0;
}

void vma_set_fini(struct vma_set *s)
{
	if (s->v)
		s->alloc.free(s->alloc.ctx, s->v, s->cap * sizeof(*s->v));
	s->v = NULL;
	s->n = s->cap = 0;
}

enum mos_status vma_reserve(struct vma_set *s, size_t extra)
{
	if (s->n + extra <= s->cap)
		return MOS_OK;
	size_t cap = s->cap ? s->cap : 8;
	while (cap < s->n + extra)
		cap *= 2;
	struct mos_vma *v = s->alloc.zalloc(s->alloc.ctx, cap * sizeof(*v));
	if (!v)
		return MOS_EHOST;
	if (s->v) {
		memcpy(v, s->v, s->n * sizeof(*v));
		s->alloc.free(s->alloc.ctx, s->v, s->cap * sizeof(*s->v));
	}
	s->v = v;
	s->cap = cap;
	return MOS_OK;
}

size_t vma_lower_bound(const struct vma_set *s, uint64_t addr)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

size_t vma_find(const struct vma_set *s, uint64_t addr)
{
	size_t i = vma_lower_bound(s, addr);
	return i < s->n && s->v[i].start <= addr ? i : SIZE_MAX;
}

bool vma_overlaps(const struct vma_set *s, uint64_t start, uint64_t end)
{
	size_t i = vma_lower_bound(s, start);
	return i < s->n && s->v[i].start < end;
}

enum mos_status vma_insert(struct vma_set *s, uint64_t start, uint64_t end, uint32_t flags)
{
	if (vma_overlaps(s, start, end))
		return MOS_EEXIST;
	if (vma_reserve(s, 1) != MOS_OK)
		return MOS_EHOST;
	size_t i = vma_lower_bound(s, start);
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = (struct mos_vma){ .start = start, .end = end, .flags = flags };
	s->n++;
	return MOS_OK;
}

enum mos_status vma_remove_range(struct vma_set *s, uint64_t start, uint64_t end)
{
	size_t i = vma_lower_bound(s, start);
	if (i == s->n || s->v[i].start >= end)
		return MOS_OK;
	struct mos_vma *a = &s->v[i];
	if (a->start < start && a->end > end) { /* split in two */
		if (vma_reserve(s, 1) != MOS_OK)
			return MOS_EHOST;
		a = &s->v[i];
		memmove(&s->v[i + 1], a, (s->n - i) * sizeof(*a));
		s->n++;
		a->end = start;
		s->v[i + 1].start = end;
		return MOS_OK;
	}
	if (a->start < start) { /* trim the VMA overlapping the left edge */
		a->end = start;
		i++;
	}
	size_t j = i; /* VMAs [i, j) lie entirely inside the range */
	while (j < s->n && s->v[j].end <= end)
		j++;
	if (j < s->n && s->v[j].start < end) /* trim the one overlapping the right edge */
		s->v[j].start = end;
	memmove(&s->v[i], &s->v[j], (s->n - j) * sizeof(*s->v));
	s->n -= j - i;
	return MOS_OK;
}

enum mos_status vma_split_at(struct vma_set *s, uint64_t addr)
{
	size_t i = vma_find(s, addr);
	if (i == SIZE_MAX || s->v[i].start == addr)
		return MOS_OK;
	if (vma_reserve(s, 1) != MOS_OK)
		return MOS_EHOST;
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->n++;
	s->v[i].end = addr;
	s->v[i + 1].start = addr;
	return MOS_OK;
}

bool vma_check(const struct vma_set *s, char *why, size_t why_len)
{
	if (s->n > s->cap)
		return mos_why(why, why_len, "VMA count above capacity", s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct mos_vma *a = &s->v[i];
		if ((a->start | a->end) & (MOS_PAGE_SIZE - 1))
			return mos_why(why, why_len, "VMA not page aligned, index", i);
		if (a->start >= a->end)
			return mos_why(why, why_len, "empty VMA, index", i);
		if (i > 0 && s->v[i - 1].end > a->start)
			return mos_why(why, why_len, "VMAs out of order or overlapping, index", i);
	}
	return true;
}
