// SPDX-License-Identifier: GPL-2.0
/* The outbound half of the netem path on kernels with tcx links (6.6+), where mmchaos adds no
 * qdisc to the engine's interface. cgroup_skb programs cannot redirect, so the cgroup egress hook
 * only marks the engine's REST packets for lat_spike, and the interface's tcx egress program
 * sends marked packets on a detour through a veth pair that mmchaos owns:
 *
 *   iface tcx egress (mmc_tc_egress): mark? ─► bpf_redirect ─► veth "in" end: htb, netem / fq
 *     ─► veth far end, tcx ingress (mmc_tc_bounce) ─► bpf_redirect ─► iface egress, as it was
 *
 * Why not the ifb, as inbound: ifb sends a packet back out of skb->skb_iif and drops packets
 * that have none, which is every locally generated packet redirected by bpf_redirect (only the
 * mirred action sets it). The veth's far end receives the packet, so nothing depends on that.
 * On kernels without tcx a u32 + skbedit + mirred filter on clsact does the same through the
 * ifb, and these programs are not attached.
 *
 * The interface's own mark is cleared on the way back (the packet must not match again when it
 * passes mmc_tc_egress a second time, and the peer never sees our mark). Every other packet of
 * the interface costs a counter increment, one config lookup and a compare. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.bpf.h"
#include "netdefs.bpf.h"

SEC("tc")
int mmc_tc_egress(struct __sk_buff *skb)
{
	const struct mmc_config *cfg = mmc_config();
	__u32 ifindex = skb->ifindex;
	struct mmc_iface *v;

	mmc_count(MMC_STAT_PKTS_TC_EGRESS);
	if (!cfg || !cfg->egress_mark || skb->mark != cfg->egress_mark)
		return TC_ACT_UNSPEC;
	v = bpf_map_lookup_elem(&mmc_ifaces, &ifindex);
	if (!v || !v->bounce_in)
		return TC_ACT_UNSPEC;
	skb->mark = MMC_MARK_BOUNCE;
	return bpf_redirect(v->bounce_in, 0);
}

/* On the bounce veth's far end: only our marked packets arrive legitimately (anything else, e.g.
 * the kernel's own IPv6 neighbour discovery on the veth, is dropped so it never reaches the
 * engine's interface). */
SEC("tc")
int mmc_tc_bounce(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	__u32 *out;

	if (skb->mark != MMC_MARK_BOUNCE)
		return TC_ACT_SHOT;
	out = bpf_map_lookup_elem(&mmc_bounce, &ifindex);
	if (!out)
		return TC_ACT_SHOT;
	skb->mark = 0;
	/* Receiving on the veth made it PACKET_OTHERHOST (the Ethernet destination is the next hop,
	 * not the veth); a locally sent packet is PACKET_HOST, so leave it as it was. */
	bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
	return bpf_redirect(*out, 0);
}

char LICENSE[] SEC("license") = "GPL";
