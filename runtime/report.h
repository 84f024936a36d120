/*
 * The end-of-run report: human text (report.file, default stderr) and JSON
 * (report.json). Says which figures are emulated (frames, page tables,
 * faults as MimicOS saw them) and which are measured on the host (fault
 * service time, wall time).
 */
#ifndef VMEMU_REPORT_H
#define VMEMU_REPORT_H

#include <stddef.h>

/*
 * Write this process' report once (later calls do nothing): the human report
 * to report.file, or to stderr for the first process of the run (other
 * processes print one summary line there), and JSON to report.json. A fork
 * child that handled no fault writes nothing. The caller holds
 * rt.lock or is the only thread that can change the state. Uses only the
 * internal heap and write(2), so it is safe on the handler thread.
 */
void vm_report_write(void);

/*
 * Path this process writes a report named `path` to: "%p" in path becomes
 * the pid; otherwise a process that is not the first of the run gets
 * ".<pid>" appended. Result in out (NUL-terminated, truncated to len).
 */
void vm_report_path(const char *path, int pid, int is_root, char *out, size_t len);

#endif
