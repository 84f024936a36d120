/*
 * Swap and reclaim in the live runtime (swap.c): eviction of MimicOS'
 * victims to the swap file, swap-in on faults, the kswapd thread and fork
 * handling. Every function except vm_swap_enabled expects rt.lock held
 * unless it says otherwise.
 */
#ifndef VMEMU_SWAP_H
#define VMEMU_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* swap.size > 0 and the program is emulated. */
bool vm_swap_enabled(void);

/*
 * Open the private swap file and start kswapd (at init, after the uffd is
 * open; nothing when swap is off). Returns 0, or -1 with a message naming
 * the key in err.
 */
int vm_swap_init(char *err, size_t errlen);

/*
 * Evict about `frames` frames (MimicOS chooses the victims). direct: on the
 * fault path, so the faulting thread waits the emulated write time now;
 * otherwise (kswapd) the bytes are added to rt.swap_pending_inject.
 * Returns the 4 KiB pages evicted (0: nothing evictable).
 */
uint64_t vm_reclaim(uint64_t frames, bool direct);

/*
 * Fill the pages the last mos_fault / mos_scan mapped from swap (their
 * slots read through io_uring, copied in write-protected when MimicOS keeps
 * the slot as the clean copy). Returns the bytes read from the device.
 * A failed read kills the process (its data is gone): never zeros.
 */
uint64_t vm_swapin_apply(void);

/* A userfaultfd write-protect fault at addr: mark the page dirty, unprotect, wake. */
void vm_swap_wp_fault(uint64_t addr, bool write);

/* Wake kswapd now (free frames fell below the low watermark). */
void vm_kswapd_kick(void);

/* pthread_atfork hooks (prepare runs with rt.lock held). */
void vm_swap_atfork_prepare(void);
void vm_swap_atfork_parent(void);
void vm_swap_atfork_child(void);

#endif
