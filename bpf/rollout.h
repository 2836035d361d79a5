/* The rollout hash: whether a flow (a socket cookie; for clock_skew a process id) is among the
 * target.rollout_percent eligible for injection. Shared by the BPF decision, the clock_skew
 * preload and the tests. */
#ifndef MMCHAOS_ROLLOUT_H
#define MMCHAOS_ROLLOUT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Deterministic per-flow hash (murmur3 finaliser): a flow is in or out of the rollout for its
 * whole life, so a 10% rollout means 10% of connections, not 10% of each connection's packets. */
#ifdef __bpf__
#define MMC_ROLLOUT_INLINE static __always_inline /* per packet: no BPF-to-BPF call */
#else
#define MMC_ROLLOUT_INLINE static inline
#endif

MMC_ROLLOUT_INLINE __u32 mmc_flow_hash(__u64 flow, __u32 seed)
{
	__u64 h = flow ^ ((__u64)seed << 32 | seed);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (__u32)h;
}

#endif /* MMCHAOS_ROLLOUT_H */
