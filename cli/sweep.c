/*
 * vmemu sweep: one program, several configurations, one table.
 *
 * Each -c FILE is a whole configuration (defaults + that file + every -s).
 * Every run is a child doing exactly what `vmemu run` does, with its stdout
 * captured to compare the program's output across configurations and its
 * JSON report parsed for the table. Runs are sequential, so wall times are
 * comparable only as far as the machine is quiet.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/config.h"

#define MAX_CONFIGS 32

/* One row of the table: a label and the path to a number in the report. */
struct metric {
	const char *label;
	const char *section, *key;
	double scale; /* printed value = number / scale */
	const char *unit;
};

static const struct metric metrics[] = {
	{ "faults handled", "faults", "handled", 1, "" },
	{ "4K mapped", "memory", "mapped_4k_bytes", 1 << 20, "MiB" },
	{ "2M mapped", "memory", "mapped_2m_bytes", 1 << 20, "MiB" },
	{ "1G mapped", "memory", "mapped_1g_bytes", 1 << 20, "MiB" },
	{ "promotions", "memory", "promotions", 1, "" },
	{ "demotions", "memory", "demotions", 1, "" },
	{ "frames peak", "memory", "frames_in_use_peak", 1, "" },
	{ "page-table pages peak", "memory", "page_table_pages_peak", 1, "" },
	{ "bloat", "memory", "bloat_bytes", 1 << 20, "MiB" },
	{ "wall time", "run", "wall_time_ns", 1e9, "s" },
	{ "fault time p50", "fault_latency_ns", "p50", 1e3, "us" },
	{ "fault time p99", "fault_latency_ns", "p99", 1e3, "us" },
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

/* Whole file in memory (NUL-terminated for text use); *len = bytes. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Byte-for-byte equality (program output may be binary). */
static int files_equal(const char *a, const char *b)
{
	size_t na = 0, nb = 0;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	int eq = x && y && na == nb && !memcmp(x, y, na);
	free(x);
	free(y);
	return eq;
}

/* Save all of stdin to path, so every run reads the same input. */
static int save_stdin(const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0)
		return -1;
	char buf[1 << 16];
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(out);
	return n < 0 ? -1 : 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int cmd_sweep(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *configs[MAX_CONFIGS], *json_out = NULL;
	const char **sets = calloc((size_t)argc + 1, sizeof *sets);
	int nconf = 0, nsets = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:s:", opts, NULL)) != -1) {
		if (c == 'c' && nconf < MAX_CONFIGS)
			configs[nconf++] = optarg;
		else if (c == 's')
			sets[nsets++] = optarg;
		else if (c == 'j')
			json_out = optarg;
		else {
			fprintf(stderr, "vmemu: sweep: bad option (see vmemu --help)\n");
			return 2;
		}
	}
	if (nconf < 1 || optind >= argc) {
		fprintf(stderr, "vmemu: sweep: give at least one -c FILE and a program after --\n");
		return 2;
	}
	/* every configuration must be valid before the first run starts */
	for (int i = 0; i < nconf; i++) {
		struct vm_config cfg;
		char err[2048];
		vm_config_defaults(&cfg);
		int bad = vm_config_load_file(&cfg, configs[i], err, sizeof err);
		for (int k = 0; !bad && k < nsets; k++)
			bad = vm_config_set(&cfg, sets[k], err, sizeof err);
		if (bad || vm_config_finish(&cfg, err, sizeof err)) {
			fprintf(stderr, "vmemu: %s\n", err);
			return 2;
		}
	}
	char dir[] = "/tmp/vmemu-sweep.XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "vmemu: sweep: cannot create a temporary directory: %s\n", strerror(errno));
		return 2;
	}

	/* The program's stdin, unless it is a terminal, is read once and given
	 * whole to every run. */
	char in[64];
	snprintf(in, sizeof in, "%s/stdin", dir);
	int have_in = !isatty(0);
	if (have_in && save_stdin(in)) {
		fprintf(stderr, "vmemu: sweep: cannot save stdin: %s\n", strerror(errno));
		return 2;
	}

	cJSON *runs = cJSON_CreateArray();
	cJSON *reports[MAX_CONFIGS] = { 0 };
	int status[MAX_CONFIGS], same_output = 1, ok = 1;
	for (int i = 0; i < nconf; i++) {
		char out[64], js[64], rep[64];
		snprintf(out, sizeof out, "%s/%d.out", dir, i);
		snprintf(js, sizeof js, "%s/%d.json", dir, i);
		snprintf(rep, sizeof rep, "%s/%d.report", dir, i);
		fprintf(stderr, "vmemu sweep: [%d/%d] %s\n", i + 1, nconf, configs[i]);
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(2);
			if (have_in && ((fd = open(in, O_RDONLY)) < 0 || dup2(fd, 0) < 0))
				_exit(2);
			char **args = calloc((size_t)(2 * nsets + argc + 12), sizeof *args);
			int n = 0;
			args[n++] = "run";
			args[n++] = "-c";
			args[n++] = (char *)configs[i];
			for (int k = 0; k < nsets; k++) {
				args[n++] = "-s";
				args[n++] = (char *)sets[k];
			}
			args[n++] = "-s"; /* the table's bloat row */
			args[n++] = "report.bloat=on";
			args[n++] = "-o";
			args[n++] = rep;
			args[n++] = "--json";
			args[n++] = js;
			args[n++] = "--";
			for (int k = optind; k < argc; k++)
				args[n++] = argv[k];
			_exit(cmd_run(n, args));
		}
		int st = 0;
		waitpid(pid, &st, 0);
		status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		char *text = slurp(js, NULL);
		reports[i] = text ? cJSON_Parse(text) : NULL;
		free(text);
		if (i > 0) {
			char first[64];
			snprintf(first, sizeof first, "%s/0.out", dir);
			if (!files_equal(first, out) || status[i] != status[0])
				same_output = 0;
		}
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "config", configs[i]);
		cJSON_AddNumberToObject(r, "exit_status", status[i]);
		cJSON_AddItemToObject(r, "report", reports[i] ? cJSON_Duplicate(reports[i], 1) : cJSON_CreateNull());
		cJSON_AddItemToArray(runs, r);
		if (!reports[i])
			ok = 0;
	}

	/* the table: one column per configuration */
	printf("%-24s", "");
	for (int i = 0; i < nconf; i++)
		printf(" %16.16s", base_name(configs[i]));
	printf("\n");
	cJSON *table = cJSON_CreateObject();
	for (size_t m = 0; m < NMETRICS; m++) {
		char label[48];
		snprintf(label, sizeof label, "%s%s%s%s", metrics[m].label, metrics[m].unit[0] ? " (" : "",
			 metrics[m].unit, metrics[m].unit[0] ? ")" : "");
		printf("%-24s", label);
		cJSON *row = cJSON_AddArrayToObject(table, label);
		for (int i = 0; i < nconf; i++) {
			cJSON *sec = reports[i] ? cJSON_GetObjectItem(reports[i], metrics[m].section) : NULL;
			cJSON *v = sec ? cJSON_GetObjectItem(sec, metrics[m].key) : NULL;
			if (cJSON_IsNumber(v)) {
				double x = v->valuedouble / metrics[m].scale;
				printf(metrics[m].scale == 1 ? " %16.0f" : " %16.3f", x);
				cJSON_AddItemToArray(row, cJSON_CreateNumber(v->valuedouble));
			} else {
				printf(" %16s", "-");
				cJSON_AddItemToArray(row, cJSON_CreateNull());
			}
		}
		printf("\n");
	}
	printf("%-24s", "exit status");
	for (int i = 0; i < nconf; i++)
		printf(" %16d", status[i]);
	printf("\nprogram output identical under every config: %s\n", same_output ? "yes" : "NO");
	printf("(- = not reported by this build; wall time and fault time are measured, the rest emulated)\n");

	if (json_out) {
		cJSON *root = cJSON_CreateObject();
		cJSON *prog = cJSON_AddArrayToObject(root, "program");
		for (int k = optind; k < argc; k++)
			cJSON_AddItemToArray(prog, cJSON_CreateString(argv[k]));
		cJSON_AddBoolToObject(root, "output_identical", same_output);
		cJSON_AddItemToObject(root, "table", table);
		cJSON_AddItemToObject(root, "runs", runs);
		char *text = cJSON_Print(root);
		FILE *f = fopen(json_out, "w");
		if (!f || !text || fprintf(f, "%s\n", text) < 0) {
			fprintf(stderr, "vmemu: sweep: cannot write %s\n", json_out);
			ok = 0;
		}
		if (f)
			fclose(f);
		free(text);
		cJSON_Delete(root);
	} else {
		cJSON_Delete(table);
		cJSON_Delete(runs);
	}
	for (int i = 0; i < nconf; i++)
		cJSON_Delete(reports[i]);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok = 0;
	free(sets);
	return ok && same_output ? 0 : 1;
}
