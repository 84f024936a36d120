/* Subcommands of the vmemu command line, one source file each. */
#ifndef VMEMU_CLI_H
#define VMEMU_CLI_H

/*
 * vmemu replay [-c FILE]... [-s S.K=V]... [--json FILE] TRACE: run MimicOS
 * and tlbmodel over a recorded access trace (VMTR binary or Valgrind lackey
 * text, tlbmodel/trace.h; "-" = stdin) and print the report on stdout.
 * argv[0] is "replay". Returns the process exit status: 0; 1 on a bad or
 * unreadable trace (no report); 2 on bad usage or config, or no TLB
 * machine; 137 on emulated OOM (the report is printed marked INCOMPLETE).
 * Details in cli/replay.c.
 */
int cmd_replay(int argc, char **argv);

/*
 * vmemu run ... -- PROG ARGS: validate the config and exec PROG under the
 * preload. argv[0] is "run". Returns only on error (2 usage/config, 127
 * PROG not runnable).
 */
int cmd_run(int argc, char **argv);

/*
 * vmemu sweep -c A.ini -c B.ini ... [-s S.K=V]... [--json FILE] -- PROG ARGS:
 * run PROG once per config file (each under cmd_run in a child), and print
 * one side-by-side table of the reports. argv[0] is "sweep". Returns 0 when
 * every run exited like the first with identical stdout, 1 otherwise, 2 on
 * bad usage.
 */
int cmd_sweep(int argc, char **argv);

#endif
