#include "runtime/static_data.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096ull

struct obj {
	const char *name;
	uintptr_t base;
	const ElfW(Phdr) *ph;
	unsigned phnum;
	bool skip;
};

struct walk {
	struct obj o[VM_STATIC_MAX];
	size_t n, seen;
};

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct walk *w = arg;
	w->seen++;
	if (w->n < VM_STATIC_MAX)
		w->o[w->n++] = (struct obj){ info->dlpi_name ? info->dlpi_name : "", info->dlpi_addr,
					     info->dlpi_phdr, info->dlpi_phnum, false };
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static bool contains(const struct obj *o, uintptr_t addr)
{
	for (unsigned i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *p = &o->ph[i];
		if (p->p_type == PT_LOAD && addr >= o->base + p->p_vaddr &&
		    addr < o->base + p->p_vaddr + p->p_memsz)
			return true;
	}
	return false;
}

static void skip_with_needed(struct walk *w, struct obj *o);

/* Mark the object named soname (DT_NEEDED string) and what it needs. */
static void skip_named(struct walk *w, const char *soname)
{
	for (size_t i = 0; i < w->n; i++)
		if (!w->o[i].skip && w->o[i].name[0] && !strcmp(base_name(w->o[i].name), soname))
			skip_with_needed(w, &w->o[i]);
}

/* Mark o and, transitively, the objects its dynamic section needs. */
static void skip_with_needed(struct walk *w, struct obj *o)
{
	o->skip = true;
	const ElfW(Dyn) *dyn = NULL;
	for (unsigned i = 0; i < o->phnum; i++)
		if (o->ph[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(o->base + o->ph[i].p_vaddr);
	if (!dyn)
		return;
	uintptr_t strtab = 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = d->d_un.d_ptr;
	if (!strtab)
		return;
	if (strtab < o->base) /* glibc relocates it in place on x86-64; not everywhere */
		strtab += o->base;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED)
			skip_named(w, (const char *)strtab + d->d_un.d_val);
}

/* The dynamic linker: named by the program's PT_INTERP. */
static void skip_interp(struct walk *w)
{
	const struct obj *prog = &w->o[0];
	for (unsigned i = 0; i < prog->phnum; i++) {
		if (prog->ph[i].p_type != PT_INTERP)
			continue;
		const char *interp = (const char *)(prog->base + prog->ph[i].p_vaddr);
		skip_named(w, base_name(interp));
		for (size_t j = 0; j < w->n; j++)
			if (!strcmp(w->o[j].name, interp))
				w->o[j].skip = true;
	}
}

size_t vm_static_ranges(struct vm_static_range *out, size_t max, struct vm_static_scan *scan)
{
	static struct walk w; /* init only: one thread */
	w.n = w.seen = 0;
	dl_iterate_phdr(collect, &w);
	memset(scan, 0, sizeof *scan);
	scan->objects = w.seen;
	scan->overflow = w.seen - w.n;
	if (!w.n)
		return 0;
	for (size_t i = 0; i < w.n; i++)
		if (contains(&w.o[i], (uintptr_t)&vm_static_ranges))
			skip_with_needed(&w, &w.o[i]);
	skip_interp(&w);

	size_t n = 0;
	for (size_t i = 0; i < w.n; i++) {
		const struct obj *o = &w.o[i];
		if (o->skip) {
			scan->skipped++;
			continue;
		}
		uint64_t relro_end = 0;
		for (unsigned k = 0; k < o->phnum; k++)
			if (o->ph[k].p_type == PT_GNU_RELRO) /* ld.so protects it rounded down */
				relro_end = (o->base + o->ph[k].p_vaddr + o->ph[k].p_memsz) & ~(PAGE - 1);
		for (unsigned k = 0; k < o->phnum && n < max; k++) {
			const ElfW(Phdr) *p = &o->ph[k];
			if (p->p_type != PT_LOAD || !(p->p_flags & PF_W) || !p->p_memsz)
				continue;
			uint64_t start = (o->base + p->p_vaddr) & ~(PAGE - 1);
			uint64_t file_end = (o->base + p->p_vaddr + p->p_filesz + PAGE - 1) & ~(PAGE - 1);
			uint64_t end = (o->base + p->p_vaddr + p->p_memsz + PAGE - 1) & ~(PAGE - 1);
			if (relro_end > start && relro_end <= end)
				start = relro_end;
			if (start >= end)
				continue;
			out[n++] = (struct vm_static_range){ start, end - start,
							     file_end > start ? file_end - start : 0,
							     o->name };
		}
	}
	return n;
}

int vm_static_to_anon(const struct vm_static_range *r, unsigned char *present, bool *lost)
{
	*lost = false;
	size_t pages = r->len / PAGE;
	if (mincore((void *)r->start, r->len, present))
		return -errno;
	void *tmp = (void *)syscall(SYS_mmap, NULL, r->len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < pages; i++) {
		/* the file-backed part is contents (read from the file if need
		 * be); a .bss page the host never populated stays absent */
		present[i] = i * PAGE < r->file_len || (present[i] & 1);
		if (present[i])
			memcpy((char *)tmp + i * PAGE, (const char *)r->start + i * PAGE, PAGE);
	}
	void *p = (void *)syscall(SYS_mremap, tmp, r->len, r->len, MREMAP_MAYMOVE | MREMAP_FIXED,
				  (void *)r->start);
	if (p == MAP_FAILED) {
		int e = errno;
		syscall(SYS_munmap, tmp, r->len);
		*lost = true; /* the kernel may have unmapped r before failing */
		return -e;
	}
	return 0;
}
