/* Subcommands of the vmemu command line, one source file each. */
#ifndef VMEMU_CLI_H
#define VMEMU_CLI_H

/*
 * vmemu replay [-c FILE]... [-s S.K=V]... [--json FILE] TRACE: run MimicOS
 * and tlbmodel over a recorded access trace. argv[0] is "replay". Returns
 * the process exit status (0, 1 on a bad trace, 2 on bad usage or config).
 */
int cmd_replay(int argc, char **argv);

#endif
