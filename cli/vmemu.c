/*
 * vmemu: the command line.
 *
 *   vmemu run [-c FILE]... [-s section.key=value]... [-o REPORT] [--json FILE] -- PROG ARGS
 *
 * `run` validates the whole configuration first (a bad config exits 2
 * before the program starts), then execs PROG with libvmemu.so preloaded and
 * the configuration passed in the environment (VMEMU_CONFIG, VMEMU_SET,
 * VMEMU_REPORT, VMEMU_STATS). PROG keeps vmemu's pid, so its exit status and
 * signals are the program's own.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/config.h"

#define VMEMU_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmemu run [-c FILE]... [-s SECTION.KEY=VALUE]... [-o REPORT] [--json FILE]\n"
		"                 [--record TRACE]\n"
		"                 -- PROG [ARGS...]\n"
		"       vmemu sweep -c A.ini -c B.ini... [-s S.K=V]... [--json FILE] -- PROG [ARGS...]\n"
		"       vmemu replay [-c FILE]... [-s S.K=V]... [--json FILE] TRACE\n"
		"       vmemu --help | --version\n"
		"\n"
		"Runs PROG, unmodified, with its heap managed by the MimicOS emulated memory\n"
		"manager through userfaultfd, and prints a report at exit.\n"
		"\n"
		"run options:\n"
		"  -c, --config FILE   INI config file; repeatable, later files override earlier\n"
		"                      ones (built-in defaults are configs/default.ini)\n"
		"  -s, --set S.K=V     override one key after all files, e.g. -s memory.size=1G\n"
		"  -o, --report FILE   write the human report to FILE instead of stderr;\n"
		"                      child processes write FILE.<pid> (or use %%p for the pid)\n"
		"      --json FILE     also write the report as JSON to FILE (same pid rule)\n"
		"      --record TRACE  write the sampled access stream as a VMTR trace\n"
		"                      (needs [sampler] source; vmemu replay TRACE reads it)\n"
		"\n"
		"sweep runs PROG once per -c FILE (each file is one configuration; -s applies\n"
		"to all), checks that PROG's output is the same under each, and prints one\n"
		"side-by-side table of the reports (and writes it as JSON with --json).\n"
		"\n"
		"Environment for LD_PRELOAD=libvmemu.so without this command: VMEMU_CONFIG\n"
		"(FILE[:FILE...]), VMEMU_SET (S.K=V per line), VMEMU_REPORT, VMEMU_STATS.\n"
		"Exit status: PROG's; 2 for a vmemu usage or config error, 127 if PROG\n"
		"cannot be run.\n");
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmemu: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

/* Directory of this executable + "/libvmemu.so", or $VMEMU_LIB. */
static void find_preload(char *out, size_t len)
{
	const char *env = getenv("VMEMU_LIB");
	if (env && *env) {
		snprintf(out, len, "%s", env);
	} else {
		char exe[PATH_MAX - 16];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n < 0)
			die("cannot find my own executable: %s", strerror(errno));
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		*slash = 0;
		snprintf(out, len, "%s/libvmemu.so", exe);
	}
	if (access(out, R_OK))
		die("cannot find the preload library %s (set VMEMU_LIB)", out);
}

/* Append s to the growing string *acc with separator sep. */
static void append(char **acc, const char *s, char sep)
{
	size_t old = *acc ? strlen(*acc) : 0, n = strlen(s);
	char *p = realloc(*acc, old + n + 2);
	if (!p)
		die("%s", "out of memory");
	if (old)
		p[old++] = sep;
	memcpy(p + old, s, n + 1);
	*acc = p;
}

static char *absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		die("cannot get the current directory: %s", strerror(errno));
	char *out = malloc(strlen(cwd) + strlen(path) + 2);
	sprintf(out, "%s/%s", cwd, path);
	return out;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'o' },
		{ "json", required_argument, NULL, 'j' },
		{ "record", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg;
	char err[2048];
	char *files = NULL, *sets = NULL, *report = NULL, *json = NULL, *record = NULL;
	int c;

	vm_config_defaults(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:s:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strchr(optarg, ':'))
				die("config file name '%s' contains ':', which VMEMU_CONFIG uses as "
				    "a separator", optarg);
			if (vm_config_load_file(&cfg, optarg, err, sizeof err))
				die("%s", err);
			append(&files, absolute(optarg), ':');
			break;
		case 's':
			if (strchr(optarg, '\n'))
				die("-s %s: newline in value", optarg);
			/* applied after all files, in order, as the preload will */
			append(&sets, optarg, '\n');
			break;
		case 'o':
			report = absolute(optarg);
			break;
		case 'j':
			json = absolute(optarg);
			break;
		case 'r':
			record = absolute(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (sets) {
		char *copy = strdup(sets), *save = NULL;
		for (char *p = strtok_r(copy, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
			if (vm_config_set(&cfg, p, err, sizeof err))
				die("%s", err);
		free(copy);
	}
	if (vm_config_finish(&cfg, err, sizeof err))
		die("%s", err);
	if (record && !cfg.sampler_sources)
		die("--record %s: nothing to record: set a sampler, e.g. -s sampler.source=tlbtrap", record);
	if (optind >= argc) {
		fprintf(stderr, "vmemu: run: no program given\n");
		usage(stderr);
		return 2;
	}

	char lib[PATH_MAX];
	find_preload(lib, sizeof lib);
	char *preload = NULL;
	append(&preload, lib, ':');
	const char *old = getenv("LD_PRELOAD");
	if (old && *old)
		append(&preload, old, ':');
	setenv("LD_PRELOAD", preload, 1);
	files ? setenv("VMEMU_CONFIG", files, 1) : unsetenv("VMEMU_CONFIG");
	sets ? setenv("VMEMU_SET", sets, 1) : unsetenv("VMEMU_SET");
	report ? setenv("VMEMU_REPORT", report, 1) : unsetenv("VMEMU_REPORT");
	json ? setenv("VMEMU_STATS", json, 1) : unsetenv("VMEMU_STATS");
	record ? setenv("VMEMU_RECORD", record, 1) : unsetenv("VMEMU_RECORD");
	unsetenv("VMEMU_ROOT_PID"); /* the program is the first process of this run */

	execvp(argv[optind], argv + optind);
	fprintf(stderr, "vmemu: cannot run '%s': %s\n", argv[optind], strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vmemu %s\n", VMEMU_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return cmd_sweep(argc - 1, argv + 1);
	fprintf(stderr, "vmemu: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
