/* The controller's dead-man: whether its heartbeat is fresh enough for a program (or the clock
 * preload) that may outlive it to keep injecting. One definition for the BPF data plane, the
 * clock_skew preload and the unit tests. */
#ifndef MMCHAOS_HEARTBEAT_H
#define MMCHAOS_HEARTBEAT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __bpf__
#define MMC_HB_INLINE static __always_inline
#else
#define MMC_HB_INLINE static inline
#endif

/* True while the heartbeat hb_ns (CLOCK_MONOTONIC, written by the controller from the precise
 * clock) is at most timeout_ns old at now; timeout_ns 0 disables the check. A heartbeat ahead of
 * now is fresh: the data plane reads the coarse clock, which lags the precise one by up to a
 * jiffy, so right after every beat now < hb_ns, and an unsigned now - hb_ns would wrap and read
 * as "dead". */
MMC_HB_INLINE int mmc_heartbeat_fresh(__u64 hb_ns, __u64 timeout_ns, __u64 now)
{
	if (!timeout_ns || now <= hb_ns)
		return 1;
	return now - hb_ns <= timeout_ns;
}

#endif /* MMCHAOS_HEARTBEAT_H */
