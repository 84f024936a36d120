/* Config loader: defaults equal configs/default.ini, overrides and the error
 * messages for each kind of bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/config.h"
#include "runtime/swapio.h"
#include <mimicos/mimicos.h>

static char tmpdir[] = "/tmp/vmemu-cfg.XXXXXX";

static const char *write_ini(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void default_ini_matches_builtin(void **s)
{
	struct vm_config a, b;
	char err[1024] = "";
	vm_config_defaults(&a);
	vm_config_defaults(&b);
	/* the tests run from the repository root */
	int r = vm_config_load_file(&b, "configs/default.ini", err, sizeof err);
	if (r)
		fail_msg("%s", err);
	char da[8192], db[8192];
	vm_config_dump(&a, da, sizeof da);
	vm_config_dump(&b, db, sizeof db);
	assert_string_equal(da, db);
	assert_true(strstr(da, "memory.size = 4294967296\n") != NULL);
	assert_true(strstr(da, "heap.reserve = 68719476736\n") != NULL);
	assert_true(strstr(da, "mimicos.policy = baseline\n") != NULL);
}

static void sizes(void **s)
{
	uint64_t v;
	assert_int_equal(vm_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(vm_parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(vm_parse_size("3m", &v), 0);
	assert_int_equal(v, 3 * 1048576);
	assert_int_equal(vm_parse_size("4G", &v), 0);
	assert_int_equal(v, 4ull << 30);
	assert_int_equal(vm_parse_size("2TB", &v), 0);
	assert_int_equal(v, 2ull << 40);
	assert_int_equal(vm_parse_size("", &v), -1);
	assert_int_equal(vm_parse_size("-1G", &v), -1);
	assert_int_equal(vm_parse_size("4X", &v), -1);
	assert_int_equal(vm_parse_size("1.5G", &v), -1);
	assert_int_equal(vm_parse_size("99999999999T", &v), -1);
}

static void files_and_overrides_in_order(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	char a[256], b[256];
	strcpy(a, write_ini("a.ini", "[memory]\nsize = 1G\n[heap]\nmmap_threshold = 64K\n"));
	strcpy(b, write_ini("b.ini", "[memory]\nsize = 2G ; comment\n"));
	assert_int_equal(vm_config_load_file(&c, a, err, sizeof err), 0);
	assert_int_equal(vm_config_load_file(&c, b, err, sizeof err), 0);
	assert_int_equal(c.memory_size, 2ull << 30);
	assert_int_equal(c.heap_mmap_threshold, 64 * 1024);
	assert_int_equal(vm_config_set(&c, "memory.size=256M", err, sizeof err), 0);
	assert_int_equal(c.memory_size, 256ull << 20);
	assert_int_equal(vm_config_set(&c, "runtime.fallback=native", err, sizeof err), 0);
	assert_int_equal(c.fallback, VM_FALLBACK_NATIVE);
	assert_int_equal(vm_config_set(&c, "report.file=/tmp/x", err, sizeof err), 0);
	assert_string_equal(c.report_file, "/tmp/x");
}

static void expect_file_error(const char *text, const char *want_suffix)
{
	struct vm_config c;
	char err[1024], want[512];
	vm_config_defaults(&c);
	const char *p = write_ini("bad.ini", text);
	assert_int_equal(vm_config_load_file(&c, p, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:%s", p, want_suffix);
	if (strncmp(err, want, strlen(want)))
		fail_msg("got  '%s'\nwant '%s...'", err, want);
}

static void file_errors_name_file_line_key(void **s)
{
	expect_file_error("[memory]\nsize = 1G\n[bogus]\nx = 1\n",
			  "4: key 'bogus.x': unknown section [bogus]");
	expect_file_error("[memory]\nsise = 1G\n", "2: key 'memory.sise': unknown key");
	expect_file_error("[memory]\n\nsize = 12Q\n", "3: key 'memory.size': bad size '12Q'");
	expect_file_error("[mimicos]\npolicy = nope\n",
			  "2: key 'mimicos.policy': unknown policy 'nope' (one of: baseline");
	expect_file_error("[mimicos]\nfault_around = 3\n", "2: key 'mimicos.fault_around'");
	expect_file_error("[thp]\npromotion_threshold = 1.5\n",
			  "2: key 'thp.promotion_threshold': 1.5 is out of range 0..1");
	expect_file_error("[thp]\nmode = sometimes\n",
			  "2: key 'thp.mode': unknown value 'sometimes' (one of: never, always, madvise)");
	expect_file_error("[swap]\ndevice = floppy\n",
			  "2: key 'swap.device': unknown value 'floppy' (one of: nvme, ssd, cxl, rdma, zram)");
	expect_file_error("[reclaim]\npolicy = random\n", "2: key 'reclaim.policy': unknown value");
	expect_file_error("[runtime]\nfallback = maybe\n", "2: key 'runtime.fallback': unknown value");
	expect_file_error("size = 1G\n", "1: key 'size': outside any [section]");
	expect_file_error("[memory]\njunk\n", "2: syntax error");
}

static void unreadable_file(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	assert_int_equal(vm_config_load_file(&c, "/nonexistent/x.ini", err, sizeof err), -1);
	assert_string_equal(err, "/nonexistent/x.ini: cannot read: No such file or directory");
}

static void override_errors(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	assert_int_equal(vm_config_set(&c, "memory.size=lots", err, sizeof err), -1);
	assert_string_equal(err, "-s memory.size=lots: key 'memory.size': bad size 'lots' (a number "
				 "with an optional K, M, G or T suffix)");
	assert_int_equal(vm_config_set(&c, "size=1G", err, sizeof err), -1);
	assert_string_equal(err, "-s size=1G: expected section.key=value");
	assert_int_equal(vm_config_set(&c, "mimicos.policy=/x/p.so", err, sizeof err), -1);
	assert_non_null(strstr(err, "-s mimicos.policy=/x/p.so: key 'mimicos.policy': cannot load policy: "));
}

static void env_loading(void **s)
{
	struct vm_config c;
	char err[1024];
	char a[256];
	strcpy(a, write_ini("env.ini", "[memory]\nsize = 1G\n"));
	vm_config_defaults(&c);
	setenv("VMEMU_CONFIG", a, 1);
	setenv("VMEMU_SET", "memory.size=3G\nheap.reserve=2G", 1);
	setenv("VMEMU_REPORT", "/tmp/r.txt", 1);
	assert_int_equal(vm_config_from_env(&c, err, sizeof err), 0);
	assert_int_equal(c.memory_size, 3ull << 30);
	assert_int_equal(c.heap_reserve, 2ull << 30);
	assert_string_equal(c.report_file, "/tmp/r.txt");
	setenv("VMEMU_SET", "memory.size=3G\nmemory.bad=1", 1);
	assert_int_equal(vm_config_from_env(&c, err, sizeof err), -1);
	assert_string_equal(err, "-s memory.bad=1: key 'memory.bad': unknown key in section [memory]");
	unsetenv("VMEMU_CONFIG");
	unsetenv("VMEMU_SET");
	unsetenv("VMEMU_REPORT");
}

static void machine_sections_go_to_tlbmodel(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	assert_false(c.machine_set);
	assert_int_equal(vm_config_load_file(&c, "configs/machines/golden_cove.ini", err, sizeof err), 0);
	assert_true(c.machine_set);
	assert_string_equal(c.machine.name, "golden_cove");
	assert_int_equal(vm_config_finish(&c, err, sizeof err), 0);
	/* a -s override of a machine key, and its validation after all sources */
	assert_int_equal(vm_config_set(&c, "tlb.stlb_4k.ways=5", err, sizeof err), -1);
	const char *bad = write_ini("m.ini", "[tlb.x]\nlevel = 1\npage_sizes = 4K\naccess = all\n"
					     "entries = 48\nways = 5\n[tlb.x]\nlatency = abc\n");
	vm_config_defaults(&c);
	assert_int_equal(vm_config_load_file(&c, bad, err, sizeof err), -1);
	assert_non_null(strstr(err, ":8: key 'tlb.x.latency': "));
	vm_config_defaults(&c);
	bad = write_ini("m.ini", "[tlb.x]\nlevel = 1\npage_sizes = 4K\naccess = all\n"
				 "entries = 48\nways = 5\n");
	assert_int_equal(vm_config_load_file(&c, bad, err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_string_equal(err, "machine (unnamed): tlb.x.entries: 48 entries not divisible by 5 ways");
}

static void machine_file_include_is_relative_to_its_file(void **s)
{
	struct vm_config c;
	char err[1024], cwd[1024], path[1100];
	assert_non_null(getcwd(cwd, sizeof cwd));
	snprintf(path, sizeof path, "[machine]\nfile = %s/configs/machines/zen3.ini\n", cwd);
	char top[256];
	strcpy(top, write_ini("abs.ini", path));
	vm_config_defaults(&c);
	assert_int_equal(vm_config_load_file(&c, top, err, sizeof err), 0);
	assert_string_equal(c.machine.name, "zen3");
	write_ini("inner.ini", "[mmu]\nname = inner\n");
	strcpy(top, write_ini("rel.ini", "[machine]\nfile = inner.ini\n"));
	vm_config_defaults(&c);
	assert_int_equal(vm_config_load_file(&c, top, err, sizeof err), 0);
	assert_string_equal(c.machine.name, "inner");
	strcpy(top, write_ini("loop.ini", "[machine]\nfile = loop.ini\n"));
	assert_int_equal(vm_config_load_file(&c, top, err, sizeof err), -1);
	assert_non_null(strstr(err, "too deeply"));
}

static void numa_keys(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	assert_int_equal(vm_config_set(&c, "memory.nodes=2", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "memory.node_sizes=1G,3G", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "numa.distances=10,21;31,10", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), 0);
	assert_int_equal(c.node_bytes[0], 1ull << 30);
	assert_int_equal(c.node_bytes[1], 3ull << 30);
	assert_int_equal(c.node_distance[0][1], 21);
	assert_int_equal(c.node_distance[1][0], 31);
	assert_int_equal(c.node_distance[1][1], 10);
	const char *bad[][2] = {
		{ "memory.node_sizes=1G,2G", "key 'memory.node_sizes': 2 sizes summing to 3221225472" },
		{ "memory.node_sizes=4G", "key 'memory.node_sizes': 1 sizes summing" },
		{ "numa.distances=10,20;20,11", "key 'numa.distances': '10,20;20,11' is not a 2x2" },
		{ "numa.distances=10,255;20,10", "key 'numa.distances'" },
		{ "numa.distances=10,20", "key 'numa.distances': need 2 rows of 2 numbers" },
		{ "numa.node=5", "key 'numa.node'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vm_config_defaults(&c);
		assert_int_equal(vm_config_set(&c, "memory.nodes=2", err, sizeof err), 0);
		int r = vm_config_set(&c, bad[i][0], err, sizeof err);
		if (r == 0)
			r = vm_config_finish(&c, err, sizeof err);
		assert_int_equal(r, -1);
		if (!strstr(err, bad[i][1]))
			fail_msg("%s: got '%s'", bad[i][0], err);
	}
	vm_config_defaults(&c);
	assert_int_equal(vm_config_set(&c, "memory.nodes=3", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not split into 3 equal nodes"));
}

/* Every configs/devices/NAME.ini sets exactly the built-in preset NAME. */
static void device_files_match_presets(void **s)
{
	for (size_t i = 0; vm_swap_device_at(i); i++) {
		const struct vm_swap_device *d = vm_swap_device_at(i);
		struct vm_config c;
		char err[1024], path[256];
		vm_config_defaults(&c);
		c.swap_read_latency_ns = c.swap_write_latency_ns = 0;
		snprintf(path, sizeof path, "configs/devices/%s.ini", d->name);
		if (vm_config_load_file(&c, path, err, sizeof err))
			fail_msg("%s", err);
		assert_string_equal(c.swap_device, d->name);
		assert_int_equal(c.swap_read_latency_ns, d->read_latency_ns);
		assert_int_equal(c.swap_write_latency_ns, d->write_latency_ns);
		assert_int_equal(c.swap_read_bw, d->read_bw);
		assert_int_equal(c.swap_write_bw, d->write_bw);
		/* the preset name alone gives the same figures */
		struct vm_config n;
		vm_config_defaults(&n);
		char set[64];
		snprintf(set, sizeof set, "swap.device=%s", d->name);
		assert_int_equal(vm_config_set(&n, set, err, sizeof err), 0);
		assert_int_equal(n.swap_read_latency_ns, d->read_latency_ns);
		assert_int_equal(n.swap_write_bw, d->write_bw);
	}
	assert_null(vm_swap_device_at(5));
}

/* swap.file must be creatable; the check runs before the program starts. */
static void swap_file_checked(void **s)
{
	struct vm_config c;
	char err[1024];
	vm_config_defaults(&c);
	assert_int_equal(vm_config_set(&c, "swap.size=1G", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "swap.file=/proc/vmemu-swap", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "key 'swap.file': cannot create /proc/vmemu-swap"));
	assert_int_equal(vm_config_set(&c, "swap.file=/proc", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "key 'swap.file': cannot create a file in /proc"));
	assert_int_equal(vm_config_set(&c, "swap.file=/etc/hostname", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "key 'swap.file': /etc/hostname exists"));
	assert_int_equal(vm_config_set(&c, "swap.size=5000", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "swap.file=", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "key 'swap.size'"));
}

static void hugetlb_keys(void **s)
{
	struct vm_config c;
	char err[1024], want[512];
	/* checked once every source is in, named where the key was set */
	const char *p = write_ini("h.ini", "[hugetlb]\nnr_1g = 3\n[memory]\nsize = 2G\n");
	vm_config_defaults(&c);
	assert_int_equal(vm_config_load_file(&c, p, err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: key 'hugetlb.nr_1g': 3 pages of 1 GiB do not fit: "
				    "memory.size = 2147483648 bytes holds 2 1 GiB-aligned ranges", p);
	if (strncmp(err, want, strlen(want)))
		fail_msg("got  '%s'\nwant '%s...'", err, want);
	assert_int_equal(vm_config_set(&c, "hugetlb.nr_1g=2", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "-s hugetlb.nr_1g=2: key 'hugetlb.nr_1g': 2 pages of 1 GiB take all"));
	assert_int_equal(vm_config_set(&c, "hugetlb.nr_1g=1", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "hugetlb.nr_2m=512", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "-s hugetlb.nr_2m=512: key 'hugetlb.nr_2m': 512 pages of 2 MiB do "
				    "not fit: memory.size = 2147483648 bytes minus the 1 GiB pages leaves "
				    "room for 511"));
	assert_int_equal(vm_config_set(&c, "hugetlb.nr_2m=511", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), 0);
	/* NUMA: 1 GiB pages need aligned ranges inside nodes */
	vm_config_defaults(&c);
	assert_int_equal(vm_config_set(&c, "memory.nodes=2", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "memory.node_sizes=1536M,2560M", err, sizeof err), 0);
	assert_int_equal(vm_config_set(&c, "hugetlb.nr_1g=4", err, sizeof err), 0);
	assert_int_equal(vm_config_finish(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "holds 3 1 GiB-aligned ranges inside its nodes"));
	/* the heap key */
	vm_config_defaults(&c);
	assert_int_equal(vm_heap_vma_flags(&c), MOS_VMA_HEAP);
	assert_int_equal(vm_config_set(&c, "hugetlb.heap=4k", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown value '4k' (one of: none, 2m, 1g)"));
	assert_int_equal(vm_config_set(&c, "hugetlb.heap=1g", err, sizeof err), 0);
	assert_int_equal(vm_heap_vma_flags(&c),
			 MOS_VMA_HEAP | MOS_VMA_HUGETLB_1G | MOS_VMA_HUGETLB_MORECORE);
}

static void *zalloc(void *ctx, size_t n) { return calloc(1, n); }
static void zfree(void *ctx, void *p, size_t n) { free(p); }

/* vm_config_finish accepts exactly the pools mos_create can carve. */
static void hugetlb_check_matches_mimicos(void **s)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	const uint64_t sizes[] = { 1 * G, G + 4 * M, 3 * G / 2, 2 * G + 8 * M, 3 * G };
	struct mos_allocator a = { zalloc, zfree, NULL };
	int agree = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (unsigned nodes = 1; nodes <= 2; nodes++)
			for (uint64_t g = 0; g <= 3; g++)
				for (int k = -1; k <= 1; k++) {
					struct vm_config c;
					char err[1024];
					vm_config_defaults(&c);
					c.memory_size = sizes[i];
					c.memory_nodes = nodes;
					c.hugetlb_nr_1g = g;
					/* around the largest count of 2 MiB pages that fits */
					uint64_t left = sizes[i] > g * G ? sizes[i] - g * G : 0;
					uint64_t room = left > 4096 ? (left - 4096) / (2 * M) : 0;
					if ((int64_t)room + k < 0)
						continue;
					c.hugetlb_nr_2m = room + k;
					if (vm_config_finish(&c, err, sizeof err) && strstr(err, "memory.nodes"))
						continue; /* sizes that do not split into nodes */
					bool ok = vm_config_finish(&c, err, sizeof err) == 0;
					struct mos_config mc;
					vm_mos_config(&c, &mc);
					enum mos_status st;
					struct mos *m = mos_create(&mc, &a, &st);
					if (ok != (m != NULL))
						fail_msg("size %llu nodes %u nr_1g %llu nr_2m %llu: config %s, "
							 "MimicOS %s (%s)", (unsigned long long)sizes[i], nodes,
							 (unsigned long long)g, (unsigned long long)c.hugetlb_nr_2m,
							 ok ? "accepts" : "refuses", m ? "carves" : "fails",
							 ok ? mos_status_str(st) : err);
					if (!m)
						assert_int_equal(st, MOS_ENOMEM);
					mos_destroy(m);
					agree++;
				}
	assert_true(agree > 40);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_ini_matches_builtin),
		cmocka_unit_test(sizes),
		cmocka_unit_test(files_and_overrides_in_order),
		cmocka_unit_test(file_errors_name_file_line_key),
		cmocka_unit_test(unreadable_file),
		cmocka_unit_test(override_errors),
		cmocka_unit_test(env_loading),
		cmocka_unit_test(machine_sections_go_to_tlbmodel),
		cmocka_unit_test(machine_file_include_is_relative_to_its_file),
		cmocka_unit_test(numa_keys),
		cmocka_unit_test(device_files_match_presets),
		cmocka_unit_test(swap_file_checked),
		cmocka_unit_test(hugetlb_keys),
		cmocka_unit_test(hugetlb_check_matches_mimicos),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	return r;
}
