/*
 * tlbmodel internals shared by machine.c and tlb.c. Not installed.
 */
#ifndef TLBMODEL_INTERNAL_H
#define TLBMODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tlbmodel/tlbmodel.h"

/* A bounded message writer (no stdio in library code). */
struct tlb_msg {
	char *buf;
	size_t len; /* capacity including the NUL */
	size_t pos;
};

static inline void msg_init(struct tlb_msg *m, char *buf, size_t len)
{
	m->buf = buf;
	m->len = len;
	m->pos = 0;
	if (buf && len)
		buf[0] = '\0';
}

static inline void msg_str(struct tlb_msg *m, const char *s)
{
	if (!m->buf || !m->len)
		return;
	while (*s && m->pos + 1 < m->len)
		m->buf[m->pos++] = *s++;
	m->buf[m->pos] = '\0';
}

static inline void msg_u64(struct tlb_msg *m, uint64_t v)
{
	char tmp[21];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	char out[21];
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	msg_str(m, out);
}

/* "tlb.NAME" into m, the section of structure s. */
static inline void msg_struct(struct tlb_msg *m, const struct tlb_struct_desc *s)
{
	msg_str(m, "tlb.");
	msg_str(m, s->name);
}

#endif
