/*
 * Swap I/O of the live runtime: the private swap file, batched reads and
 * writes through io_uring (liburing), and the emulated device's latency
 * model. MimicOS decides which slot holds which page; this file moves the
 * bytes and accounts for the time.
 */
#ifndef VMEMU_SWAPIO_H
#define VMEMU_SWAPIO_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Emulated swap device: the time one batch of I/O of `bytes` bytes takes is
 * latency + bytes / bandwidth (a queue-depth-1 model: batches do not
 * overlap). Presets in configs/devices/, values and sources there.
 */
struct vm_swap_device {
	const char *name;
	uint64_t read_latency_ns, write_latency_ns;
	uint64_t read_bw, write_bw; /* bytes per second */
};

/* The built-in preset called name (nvme, ssd, cxl, rdma, zram), or NULL. */
const struct vm_swap_device *vm_swap_device_find(const char *name);

/* The i-th preset (i = 0, 1, ...), or NULL past the last. */
const struct vm_swap_device *vm_swap_device_at(size_t i);

/* Emulated ns for a batch of `bytes` (read or write) on dev. */
uint64_t vm_swap_device_ns(const struct vm_swap_device *dev, bool write, uint64_t bytes);

/* Counters of the swap I/O (measured and injected). */
struct vm_swapio_stats {
	uint64_t bytes_written, bytes_read;
	uint64_t writes, reads;       /* I/O requests */
	uint64_t batches_written;     /* write batches submitted */
	uint64_t io_ns;               /* measured time in submit + wait */
	uint64_t injected_ns;         /* time slept to model the device */
	uint64_t io_errors;
};

struct vm_swapio {
	int fd;                 /* private swap file, -1 when closed */
	struct io_uring ring;
	bool ring_ok;
	struct vm_swap_device dev;
	struct vm_swapio_stats st;
};

/*
 * Create the private swap file: in directory `dir` ("" = $TMPDIR or /tmp)
 * with O_TMPFILE (mode 0600, never visible), or, when `dir` names a file
 * path that does not exist, created there 0600 with O_EXCL and unlinked at
 * once. size_bytes is the emulated swap size (the file grows sparsely).
 * Sets up an io_uring of `entries` entries. Returns 0, or -1 with a message
 * in err.
 */
int vm_swapio_open(struct vm_swapio *io, const char *dir, uint64_t size_bytes,
		   const struct vm_swap_device *dev, unsigned entries, char *err, size_t errlen);

/*
 * Create the private swap file as vm_swapio_open does (also used to check
 * swap.file before the program starts). Returns the fd, or -1 with a
 * message naming the key in err.
 */
int vm_swap_file_create(const char *where, char *err, size_t errlen);

/* Close the file and the ring (io may be zeroed or half open). */
void vm_swapio_close(struct vm_swapio *io);

/*
 * A fresh private copy of the swap file's first `bytes` bytes (for a fork
 * child, made while no I/O runs): returns the new fd or -errno.
 */
int vm_swapio_clone_fd(struct vm_swapio *io, uint64_t bytes);

/* After fork, in the child: use fd (from vm_swapio_clone_fd) and a new ring. */
int vm_swapio_adopt(struct vm_swapio *io, int fd, unsigned entries);

/* One request of a batch: len bytes between buf and file offset off. */
struct vm_swap_req {
	void *buf;
	uint64_t off; /* bytes */
	uint32_t len; /* bytes */
};

/*
 * Submit n requests (writes, or reads) in batches of the ring's size and
 * wait for all; short transfers are retried. Returns 0, or -errno of the
 * first failed request (ok[i] says which succeeded when ok is not NULL).
 */
int vm_swapio_rw(struct vm_swapio *io, bool write, const struct vm_swap_req *req, size_t n,
		 bool *ok);

/*
 * Make the caller's elapsed time for a device batch of `bytes` match the
 * device model: sleeps until start_ns + vm_swap_device_ns(...), counting
 * the sleep as injected time. Returns the ns slept.
 */
uint64_t vm_swapio_inject(struct vm_swapio *io, bool write, uint64_t bytes, uint64_t start_ns);

#endif
