#include "runtime/swapio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt.h"

/*
 * Presets; the same values, with sources, are in configs/devices/NAME.ini
 * (a unit test keeps the two equal). Latencies are for one 4 KiB request at
 * queue depth 1.
 */
static const struct vm_swap_device devices[] = {
	/* Samsung 980 PRO data sheet: QD1 4 KiB random read 22K IOPS, write
	 * 60K IOPS; sequential 7,000 / 5,000 MB/s */
	{ "nvme", 45000, 17000, 7000000000ull, 5000000000ull },
	/* Samsung 870 EVO data sheet: QD1 random read 13K IOPS, write 36K
	 * IOPS; sequential 560 / 530 MB/s */
	{ "ssd", 77000, 28000, 560000000ull, 530000000ull },
	/* CXL memory expander: ~300 ns load-to-use (Sun et al., MICRO'23,
	 * 214-394 ns measured), PCIe 5.0 x8 link ~32 GB/s */
	{ "cxl", 300, 300, 32000000000ull, 32000000000ull },
	/* RDMA far memory: ~4 us for a 4 KiB one-sided read/write on 100 Gb/s
	 * InfiniBand (Fastswap, Amaro et al., EuroSys'20) */
	{ "rdma", 4000, 4000, 12500000000ull, 12500000000ull },
	/* zram with LZ4: lz4 README figures, compress 780 MB/s, decompress
	 * 4,970 MB/s (about 5 us and 1 us per 4 KiB page) */
	{ "zram", 800, 5000, 4970000000ull, 780000000ull },
};

const struct vm_swap_device *vm_swap_device_at(size_t i)
{
	return i < sizeof devices / sizeof devices[0] ? &devices[i] : NULL;
}

const struct vm_swap_device *vm_swap_device_find(const char *name)
{
	for (size_t i = 0; vm_swap_device_at(i); i++)
		if (!strcmp(devices[i].name, name))
			return &devices[i];
	return NULL;
}

uint64_t vm_swap_device_ns(const struct vm_swap_device *dev, bool write, uint64_t bytes)
{
	uint64_t lat = write ? dev->write_latency_ns : dev->read_latency_ns;
	uint64_t bw = write ? dev->write_bw : dev->read_bw;
	return lat + (bw ? (uint64_t)((double)bytes * 1e9 / (double)bw) : 0);
}

int vm_swap_file_create(const char *dir, char *err, size_t errlen)
{
	const char *d = dir && *dir ? dir : getenv("TMPDIR");
	if (!d || !*d)
		d = "/tmp";
	struct stat sb;
	if (stat(d, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		int fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EOPNOTSUPP && errno != EISDIR) {
			snprintf(err, errlen, "key 'swap.file': cannot create a file in %s: %s", d,
				 strerror(errno));
			return -1;
		}
		/* a file system without O_TMPFILE: a named file, unlinked at once */
		char path[4200];
		snprintf(path, sizeof path, "%s/vmemu-swap.%d.XXXXXX", d, (int)getpid());
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0) {
			snprintf(err, errlen, "key 'swap.file': cannot create a file in %s: %s", d,
				 strerror(errno));
			return -1;
		}
		unlink(path);
		return fd;
	}
	if (stat(d, &sb) == 0) {
		snprintf(err, errlen, "key 'swap.file': %s exists; give a directory or a new path "
			 "(vmemu creates the file 0600 and unlinks it)", d);
		return -1;
	}
	int fd = open(d, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "key 'swap.file': cannot create %s: %s", d, strerror(errno));
		return -1;
	}
	unlink(d);
	return fd;
}

int vm_swapio_open(struct vm_swapio *io, const char *dir, uint64_t size_bytes,
		   const struct vm_swap_device *dev, unsigned entries, char *err, size_t errlen)
{
	memset(io, 0, sizeof *io);
	io->fd = -1;
	io->dev = *dev;
	int fd = vm_swap_file_create(dir, err, errlen);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size_bytes)) {
		snprintf(err, errlen, "key 'swap.size': cannot size the swap file to %llu bytes: %s",
			 (unsigned long long)size_bytes, strerror(errno));
		close(fd);
		return -1;
	}
	int r = io_uring_queue_init(entries, &io->ring, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up io_uring for swap I/O: %s (io_uring may be "
			 "disabled: sysctl kernel.io_uring_disabled)", strerror(-r));
		close(fd);
		return -1;
	}
	io->fd = fd;
	io->ring_ok = true;
	return 0;
}

void vm_swapio_close(struct vm_swapio *io)
{
	if (io->ring_ok)
		io_uring_queue_exit(&io->ring);
	io->ring_ok = false;
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

int vm_swapio_clone_fd(struct vm_swapio *io, uint64_t bytes)
{
	char err[256];
	int fd = vm_swap_file_create("", err, sizeof err);
	if (fd < 0)
		return -EIO;
	struct stat sb;
	if (fstat(io->fd, &sb) == 0 && ftruncate(fd, sb.st_size) != 0) {
		close(fd);
		return -errno;
	}
	/* copy the written extents only: the file is sparse */
	off_t pos = 0;
	while ((uint64_t)pos < bytes) {
		off_t data = lseek(io->fd, pos, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= bytes)
			break; /* ENXIO: no data beyond pos */
		off_t hole = lseek(io->fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > bytes)
			hole = (off_t)bytes;
		loff_t in = data, out = data;
		while (in < hole) {
			ssize_t n = copy_file_range(io->fd, &in, fd, &out, (size_t)(hole - in), 0);
			if (n <= 0) {
				int e = n < 0 ? errno : EIO;
				close(fd);
				return -e;
			}
		}
		pos = hole;
	}
	return fd;
}

int vm_swapio_adopt(struct vm_swapio *io, int fd, unsigned entries)
{
	if (io->ring_ok)
		io_uring_queue_exit(&io->ring); /* the parent's ring: not ours to use */
	io->ring_ok = false;
	if (io->fd >= 0)
		close(io->fd);
	io->fd = fd;
	memset(&io->st, 0, sizeof io->st);
	int r = io_uring_queue_init(entries, &io->ring, 0);
	io->ring_ok = r == 0;
	return r;
}

int vm_swapio_rw(struct vm_swapio *io, bool write, const struct vm_swap_req *req, size_t n,
		 bool *ok)
{
	uint64_t t0 = vm_now_ns();
	int first_err = 0;
	unsigned depth = io->ring.sq.ring_entries;
	for (size_t base = 0; base < n; base += depth) {
		size_t cnt = n - base < depth ? n - base : depth;
		for (size_t i = 0; i < cnt; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
			const struct vm_swap_req *q = &req[base + i];
			if (write)
				io_uring_prep_write(sqe, io->fd, q->buf, q->len, q->off);
			else
				io_uring_prep_read(sqe, io->fd, q->buf, q->len, q->off);
			io_uring_sqe_set_data64(sqe, base + i);
		}
		int r = io_uring_submit_and_wait(&io->ring, (unsigned)cnt);
		if (r < 0 && !first_err)
			first_err = r;
		for (size_t got = 0; got < cnt; got++) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&io->ring, &cqe))
				break;
			size_t i = (size_t)io_uring_cqe_get_data64(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&io->ring, cqe);
			const struct vm_swap_req *q = &req[i];
			if (res >= 0 && (uint32_t)res < q->len) {
				/* short transfer: finish it synchronously */
				ssize_t m = write ? pwrite(io->fd, (char *)q->buf + res, q->len - (uint32_t)res,
							   (off_t)(q->off + (uint64_t)res))
						  : pread(io->fd, (char *)q->buf + res, q->len - (uint32_t)res,
							  (off_t)(q->off + (uint64_t)res));
				res = m == (ssize_t)(q->len - (uint32_t)res) ? (int)q->len : -EIO;
			}
			if (ok)
				ok[i] = res >= 0;
			if (res < 0) {
				io->st.io_errors++;
				if (!first_err)
					first_err = res;
				continue;
			}
			if (write) {
				io->st.bytes_written += q->len;
				io->st.writes++;
			} else {
				io->st.bytes_read += q->len;
				io->st.reads++;
			}
		}
	}
	if (write && n)
		io->st.batches_written++;
	io->st.io_ns += vm_now_ns() - t0;
	return first_err;
}

uint64_t vm_swapio_inject(struct vm_swapio *io, bool write, uint64_t bytes, uint64_t start_ns)
{
	uint64_t until = start_ns + vm_swap_device_ns(&io->dev, write, bytes);
	uint64_t now = vm_now_ns();
	if (now >= until)
		return 0;
	/* Sleep overshoots by tens of us on a VM (bench/RESULTS.md): sleep to
	 * SPIN_NS before the deadline, then spin. The spinning thread is a
	 * handler pinned to the faulting thread's CPU, which waits anyway. */
	enum { SPIN_NS = 150000 };
	if (until - now > SPIN_NS) {
		uint64_t wake = until - SPIN_NS;
		struct timespec ts = { (time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	while (vm_now_ns() < until)
		__builtin_ia32_pause();
	uint64_t slept = vm_now_ns() - now;
	io->st.injected_ns += slept;
	return slept;
}
