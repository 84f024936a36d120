/*
 * Swap throughput, two ways, in pages (4 KiB) per second:
 *
 *   swapio raw MIB DIR     the bound: io_uring writes then reads of MIB
 *                          bytes to a private file in DIR, 4 KiB requests
 *                          in batches of 32 (what vmemu's reclaim issues)
 *   swapio stream MIB      the program side: write every page of a MIB
 *                          buffer, then read every page back; run it under
 *                          vmemu with memory.size well below MIB and the
 *                          passes measure swap-out and swap-in
 *
 * Prints "write PAGES/s read PAGES/s" so bench/swap.sh can form ratios.
 */
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define BATCH 32

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double raw_pass(struct io_uring *ring, int fd, char *buf, size_t pages, int write)
{
	double t0 = now();
	for (size_t base = 0; base < pages; base += BATCH) {
		size_t n = pages - base < BATCH ? pages - base : BATCH;
		for (size_t i = 0; i < n; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			char *p = buf + (base + i) * PAGE;
			off_t off = (off_t)((base + i) * PAGE);
			if (write)
				io_uring_prep_write(sqe, fd, p, PAGE, off);
			else
				io_uring_prep_read(sqe, fd, p, PAGE, off);
		}
		io_uring_submit_and_wait(ring, (unsigned)n);
		for (size_t i = 0; i < n; i++) {
			struct io_uring_cqe *cqe;
			io_uring_wait_cqe(ring, &cqe);
			if (cqe->res != PAGE) {
				fprintf(stderr, "io error %d\n", cqe->res);
				exit(1);
			}
			io_uring_cqe_seen(ring, cqe);
		}
	}
	return (double)pages / (now() - t0);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t pages = strtoul(argv[2], NULL, 10) << 20 >> 12;
	char *buf = malloc(pages * PAGE);
	if (!buf)
		return 3;
	if (!strcmp(argv[1], "raw")) {
		memset(buf, 1, pages * PAGE);
		int fd = open(argc > 3 ? argv[3] : "/tmp", O_TMPFILE | O_RDWR, 0600);
		struct io_uring ring;
		if (fd < 0 || io_uring_queue_init(256, &ring, 0))
			return 4;
		double w = raw_pass(&ring, fd, buf, pages, 1);
		double r = raw_pass(&ring, fd, buf, pages, 0);
		printf("write %.0f read %.0f\n", w, r);
		return 0;
	}
	double t0 = now();
	for (size_t p = 0; p < pages; p++)
		memset(buf + p * PAGE, (int)(p & 0x7f) + 1, PAGE);
	double t1 = now();
	unsigned long sum = 0;
	for (size_t p = 0; p < pages; p++)
		sum += (unsigned char)buf[p * PAGE + (p % PAGE)];
	double t2 = now();
	printf("write %.0f read %.0f\n", (double)pages / (t1 - t0), (double)pages / (t2 - t1));
	fprintf(stderr, "checksum %lu\n", sum);
	return 0;
}
