#include <stdio.h>

#include "cli/cli.h"

int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vmemu: replay is not implemented yet (issue 5)\n");
	return 2;
}
