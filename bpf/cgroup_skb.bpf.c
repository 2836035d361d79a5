// SPDX-License-Identifier: GPL-2.0
/* cgroup_skb hooks on the engine's cgroup: every packet its sockets send or receive, and
 * nobody else's. They implement net_loss: a silent drop with the scenario's probability while a
 * burst is on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "fault.bpf.h"

#define LOOPBACK_IFINDEX 1

/* cgroup_skb verdicts. At egress, 2 (drop + congestion notification) makes the stack treat the
 * drop like a congested device: sendto() does not fail, TCP retransmits, as on a lossy network.
 * 0 would surface as EPERM to the application. */
#define CG_PASS 1
#define CG_DROP_SILENT_EGRESS 2
#define CG_DROP 0

static __always_inline int mmc_net_loss(struct __sk_buff *skb, __u32 dir)
{
	const struct mmc_config *cfg = mmc_config();

	mmc_count(dir == MMC_DIR_EGRESS ? MMC_STAT_PKTS_EGRESS : MMC_STAT_PKTS_INGRESS);
	if (!cfg || skb->ifindex == LOOPBACK_IFINDEX)
		return 0;
	return mmc_decide(cfg, MMC_SCN_NET_LOSS, dir, bpf_get_socket_cookie(skb)) == MMC_LIVE;
}

SEC("cgroup_skb/egress")
int mmc_egress(struct __sk_buff *skb)
{
	return mmc_net_loss(skb, MMC_DIR_EGRESS) ? CG_DROP_SILENT_EGRESS : CG_PASS;
}

SEC("cgroup_skb/ingress")
int mmc_ingress(struct __sk_buff *skb)
{
	return mmc_net_loss(skb, MMC_DIR_INGRESS) ? CG_DROP : CG_PASS;
}

char LICENSE[] SEC("license") = "GPL";
