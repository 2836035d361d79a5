// SPDX-License-Identifier: GPL-2.0
/* tc ingress (clsact, direct-action) on target.interfaces: what the engine receives on its
 * WebSocket flows is steered to the WebSocket netem class on the ifb while ws_lag decides so.
 * Every packet of the interface passes here, so the common path is one parse and one hash
 * lookup; only packets from a WebSocket endpoint pay for the socket lookup that tells the
 * engine's sockets (tagged by the cgroup hook) from everyone else's.
 * The program never acts itself: it returns TC_ACT_UNSPEC so the next filter (our u32 on the
 * mark, then anyone else's) runs as if we were not there. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "fault.bpf.h"
#include "parse.bpf.h"

#define TC_ACT_UNSPEC (-1)
#define ETH_HLEN 14

SEC("tc")
int mmc_tc_ingress(struct __sk_buff *skb)
{
	const struct mmc_config *cfg = mmc_config();
	struct bpf_sock_tuple tuple = {};
	struct mmc_endpoint_val *ep;
	struct mmc_tcp_tuple t = {};
	struct mmc_sk_tag *tag;
	struct bpf_sock *sk;
	__u64 flow = 0;
	__u32 size;

	mmc_count(MMC_STAT_PKTS_TC_INGRESS);
	if (!cfg || !cfg->ingress_mark || !cfg->prob[MMC_SCN_WS_LAG] || skb->mark)
		return TC_ACT_UNSPEC;
	if (mmc_parse_tcp(skb, ETH_HLEN, skb->protocol, &t) < 0)
		return TC_ACT_UNSPEC;
	ep = mmc_endpoint_of(&t, 1);
	if (!ep || ep->cls != MMC_FLOW_WS)
		return TC_ACT_UNSPEC;

	if (t.family == MMC_AF_INET) {
		tuple.ipv4.saddr = t.saddr[0];
		tuple.ipv4.daddr = t.daddr[0];
		tuple.ipv4.sport = t.sport;
		tuple.ipv4.dport = t.dport;
		size = sizeof(tuple.ipv4);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, t.saddr, 16);
		__builtin_memcpy(tuple.ipv6.daddr, t.daddr, 16);
		tuple.ipv6.sport = t.sport;
		tuple.ipv6.dport = t.dport;
		size = sizeof(tuple.ipv6);
	}
	sk = bpf_sk_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return TC_ACT_UNSPEC;
	tag = bpf_sk_storage_get(&mmc_sk_tag, sk, 0, 0);
	if (tag && tag->cls == MMC_FLOW_WS)
		flow = tag->cookie;
	bpf_sk_release(sk);
	if (!flow)
		return TC_ACT_UNSPEC; /* not the engine's socket */

	if (mmc_decide(cfg, MMC_SCN_WS_LAG, MMC_DIR_INGRESS, flow) == MMC_LIVE) {
		skb->mark = cfg->ingress_mark;
		skb->priority = cfg->ingress_class;
	}
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
