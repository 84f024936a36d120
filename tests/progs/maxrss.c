/* maxrss OUT CMD ARGS...: runs CMD, writes the child's peak RSS in KiB
 * (getrusage RUSAGE_CHILDREN) to file OUT, and exits with CMD's status. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	FILE *f = fopen(argv[1], "w");
	if (f) {
		fprintf(f, "%ld\n", ru.ru_maxrss);
		fclose(f);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
