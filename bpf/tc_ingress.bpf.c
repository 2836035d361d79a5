// SPDX-License-Identifier: GPL-2.0
/* tc ingress on target.interfaces (a tcx link on 6.6+, else a direct-action cls_bpf filter on
 * clsact): what the engine receives.
 * - ws_lag: WebSocket packets go to the netem path: with tcx redirected into the ifb from here
 *   (priority picks the netem class), on clsact marked for the u32 + mirred filter;
 * - ws_disconnect: once per connection per second, a draw may turn an inbound WebSocket segment
 *   into a reset;
 * - exch_429 / exch_5xx / rate_limit_storm: the status code of a plaintext HTTP/1.x response is
 *   rewritten in place;
 * - reconcile_mismatch: the response to an order request the egress hook chose is reset;
 * - dns_flap: a DNS response's RCODE becomes SERVFAIL (or NXDOMAIN), or the response is
 *   dropped (dns_answer: timeout).
 * Every packet of the interface passes here, so the common path is one parse and one hash
 * lookup; only packets from the engine's endpoints pay for the socket lookup that tells the
 * engine's sockets (tagged by the cgroup hook) from everyone else's. The program drops only a
 * DNS answer dns_flap chose to time out, and redirects only the engine's delayed WebSocket
 * packets (tcx); otherwise it returns TC_ACT_UNSPEC (TCX_NEXT), so the next program or filter
 * runs as if we were not there. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "fault.bpf.h"
#include "netdefs.bpf.h"
#include "parse.bpf.h"
#include "rewrite.bpf.h"

#define NS_PER_SEC    1000000000ULL

/* The engine's tag on the socket this packet is for, or NULL (not the engine's). */
static __always_inline struct mmc_sk_tag *mmc_engine_tag(struct __sk_buff *skb,
							 const struct mmc_l4 *p)
{
	struct bpf_sock_tuple tuple = {};
	struct mmc_sk_tag *tag;
	struct bpf_sock *sk;
	__u32 size;

	if (p->t.family == MMC_AF_INET) {
		tuple.ipv4.saddr = p->t.saddr[0];
		tuple.ipv4.daddr = p->t.daddr[0];
		tuple.ipv4.sport = p->t.sport;
		tuple.ipv4.dport = p->t.dport;
		size = sizeof(tuple.ipv4);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, p->t.saddr, 16);
		__builtin_memcpy(tuple.ipv6.daddr, p->t.daddr, 16);
		tuple.ipv6.sport = p->t.sport;
		tuple.ipv6.dport = p->t.dport;
		size = sizeof(tuple.ipv6);
	}
	if (p->proto == MMC_IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return NULL;
	/* The tag outlives this reference: socket storage lives as long as the socket, and we are
	 * in an RCU read section for the rest of the program. */
	tag = bpf_sk_storage_get(&mmc_sk_tag, sk, 0, 0);
	bpf_sk_release(sk);
	return tag;
}

/* The mm_ws_gap_ms bucket of a gap; the last bucket is +Inf. */
static __always_inline __u32 mmc_ws_gap_bucket(__u64 gap_ns)
{
	static const __u32 bounds_ms[MMC_WSGAP_BUCKETS - 1] = MMC_WSGAP_BOUNDS_MS;
	__u32 ms = gap_ns / 1000000;

	for (int i = 0; i < MMC_WSGAP_BUCKETS - 1; i++)
		if (ms < bounds_ms[i] || (ms == bounds_ms[i] && gap_ns % 1000000 == 0))
			return i;
	return MMC_WSGAP_BUCKETS - 1;
}

/* A live status fault: the rewrite, remembered for retransmissions, counted if it took. */
static __always_inline void mmc_status_fault(struct __sk_buff *skb, const struct mmc_config *cfg,
					     const struct mmc_l4 *p, struct mmc_sk_tag *tag,
					     __u32 scn, const __u8 *code, int per_burst)
{
	int ok = mmc_http_set_status(skb, p, code, tag) == 0;

	if (ok) {
		tag->resp_code[0] = code[0];
		tag->resp_code[1] = code[1];
		tag->resp_code[2] = code[2];
	}
	mmc_acted_skb(cfg, scn, MMC_DIR_INGRESS, tag->cookie, per_burst, ok, NULL);
}

static __always_inline void mmc_rest_response(struct __sk_buff *skb, const struct mmc_config *cfg,
					      const struct mmc_l4 *p, struct mmc_sk_tag *tag)
{
	static const __u8 code_429[3] = {'4', '2', '9'};
	__u64 flow = tag->cookie;

	if (!p->payload_len || (p->tcp_flags & MMC_TCP_RST))
		return;
	if (tag->lose_response) {
		/* reconcile_mismatch: the exchange processed the order; its answer never arrives.
		 * Decided at egress; a controller that died since then stops it here too. */
		tag->lose_response = 0;
		if (mmc_controller_alive(cfg, MMC_NOW()))
			mmc_acted(cfg, MMC_SCN_RECONCILE_MISMATCH, MMC_DIR_INGRESS, flow,
				  mmc_tcp_reset(skb, p) == 0);
		return;
	}
	if (tag->tls)
		return; /* status lines are encrypted */
	if (tag->pending) {
		mmc_http_continue(skb, p, tag);
		return;
	}
	/* A retransmission of a status line already judged gets the same fate, never a new draw
	 * (its original may have been lost after this hook, e.g. by net_loss). */
	if (tag->resp_judged && p->seq == tag->resp_seq) {
		if (tag->resp_code[0])
			mmc_http_set_status(skb, p, tag->resp_code, tag);
		return;
	}
	/* Only the status line of a final response to a request the egress hook saw start: the
	 * request is still pending until the cgroup ingress hook sees this segment. Not a body
	 * segment that happens to begin with "HTTP/1.x ", not 100 Continue or 101. */
	if (!tag->req_pending || !mmc_http_status_start(skb, p) || mmc_http_interim(skb, p))
		return;
	tag->resp_judged = 1;
	tag->resp_seq = p->seq;
	tag->resp_code[0] = 0;
	if (cfg->prob[MMC_SCN_RATE_LIMIT_STORM] &&
	    mmc_decide_draw(cfg, MMC_SCN_RATE_LIMIT_STORM, MMC_DIR_INGRESS, flow, 1) == MMC_LIVE)
		mmc_status_fault(skb, cfg, p, tag, MMC_SCN_RATE_LIMIT_STORM, code_429, 1);
	else if (cfg->prob[MMC_SCN_EXCH_429] &&
		 mmc_decide(cfg, MMC_SCN_EXCH_429, MMC_DIR_INGRESS, flow) == MMC_LIVE)
		mmc_status_fault(skb, cfg, p, tag, MMC_SCN_EXCH_429, code_429, 0);
	else if (cfg->prob[MMC_SCN_EXCH_5XX] &&
		 mmc_decide(cfg, MMC_SCN_EXCH_5XX, MMC_DIR_INGRESS, flow) == MMC_LIVE)
		mmc_status_fault(skb, cfg, p, tag, MMC_SCN_EXCH_5XX, cfg->status_5xx, 0);
	/* Failures and latency are accounted by the cgroup ingress hook, after this rewrite. */
}

/* Into the ifb, to the HTB class `cls`: redirected where the interface's mmc_ifaces entry names
 * the ifb (tcx), else marked for the u32 + mirred filter (clsact). Whether it took. */
static __always_inline int mmc_ws_steer(struct __sk_buff *skb, const struct mmc_config *cfg,
					__u32 ifb, __u32 cls)
{
	skb->priority = cls;
	if (ifb)
		return bpf_redirect(ifb, 0) == TC_ACT_REDIRECT;
	skb->mark = cfg->ingress_mark;
	return 1;
}

/* ws_lag: while it decides so, the packet goes to the WebSocket netem. Once a burst is over, the
 * flow's last messages are still in the netem for up to the delay: a packet let through at once
 * would overtake them, the exchange would retransmit what it takes for lost, and the engine's
 * TCP would drop the late originals as old (PAWS), stalling the stream until a retransmission
 * timeout. So until the flow's last delayed packet has left, its packets wait in the drain
 * class, an fq that releases each no sooner than its skb->tstamp (EDT): the moment that last one
 * leaves (mmc_drain_time). A burst's end then drains the flow in order, as a path whose latency
 * drops does.
 * On clsact a packet that already carries someone's mark is left alone (the filter matches
 * marks), and not counted. */
static __always_inline int mmc_ws_lag(struct __sk_buff *skb, const struct mmc_config *cfg,
				      struct mmc_sk_tag *tag)
{
	__u32 ifindex = skb->ifindex, ifb = 0;
	struct mmc_iface *v = bpf_map_lookup_elem(&mmc_ifaces, &ifindex);
	__u64 until;
	int ok;

	if (v)
		ifb = v->ifb;
	if (!ifb && skb->mark)
		return TC_ACT_UNSPEC;
	if (mmc_decide(cfg, MMC_SCN_WS_LAG, MMC_DIR_INGRESS, tag->cookie) == MMC_LIVE) {
		ok = mmc_ws_steer(skb, cfg, ifb, cfg->ingress_class);
		if (ok)
			tag->delay_until_ns = bpf_ktime_get_ns() + cfg->ws_lag_hold_ns; /* fq's */
		mmc_acted(cfg, MMC_SCN_WS_LAG, MMC_DIR_INGRESS, tag->cookie, ok);
	} else {
		until = mmc_drain_time(cfg->ingress_drain_class, &tag->delay_until_ns);
		if (!until)
			return TC_ACT_UNSPEC;
		/* The helper marks the time as a delivery time (EDT), which the redirect and the
		 * ifb keep, and which the stack clears before the engine's socket sees it. */
		if (bpf_skb_set_tstamp(skb, until, BPF_SKB_TSTAMP_DELIVERY_MONO))
			return TC_ACT_UNSPEC;
		ok = mmc_ws_steer(skb, cfg, ifb, cfg->ingress_drain_class);
		if (ok)
			mmc_count(MMC_STAT_WS_LAG_HELD);
	}
	return ok && ifb ? TC_ACT_REDIRECT : TC_ACT_UNSPEC;
}

static __always_inline int mmc_ws_segment(struct __sk_buff *skb, const struct mmc_config *cfg,
					  const struct mmc_l4 *p, struct mmc_sk_tag *tag)
{
	__u64 now = bpf_ktime_get_ns(); /* gaps are reported in ms: this one needs the fine clock */

	if (p->payload_len) {
		if (tag->last_ws_rx_ns) {
			__u64 gap = now - tag->last_ws_rx_ns;

			mmc_count(MMC_STAT_WSGAP_BUCKET0 + mmc_ws_gap_bucket(gap));
			mmc_count_add(MMC_STAT_WSGAP_SUM_US, gap / 1000);
			mmc_count(MMC_STAT_WSGAP_COUNT);
		}
		tag->last_ws_rx_ns = now;
	}
	if (cfg->prob[MMC_SCN_WS_DISCONNECT] && p->payload_len) {
		if (now - tag->last_ws_draw_ns >= NS_PER_SEC) {
			tag->last_ws_draw_ns = now;
			if (mmc_decide(cfg, MMC_SCN_WS_DISCONNECT, MMC_DIR_INGRESS, tag->cookie) ==
			    MMC_LIVE) {
				mmc_acted(cfg, MMC_SCN_WS_DISCONNECT, MMC_DIR_INGRESS, tag->cookie,
					  mmc_tcp_reset(skb, p) == 0);
				return TC_ACT_UNSPEC;
			}
		}
	}
	/* ws_lag delays messages: inbound data, not the exchange's ACKs of the engine's own
	 * subscriptions and pings, nor the handshake. */
	if (cfg->ingress_mark && p->payload_len)
		return mmc_ws_lag(skb, cfg, tag);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mmc_tc_ingress(struct __sk_buff *skb)
{
	const struct mmc_config *cfg = mmc_config();
	struct mmc_endpoint_val *ep;
	struct mmc_sk_tag *tag;
	struct mmc_l4 p = {};
	int act;

	mmc_count(MMC_STAT_PKTS_TC_INGRESS);
	if (!cfg || !cfg->armed)
		return TC_ACT_UNSPEC;
	if (mmc_parse_l4(skb, ETH_HLEN, skb->protocol, &p) < 0)
		return TC_ACT_UNSPEC;

	if (p.proto == MMC_IPPROTO_UDP) {
		if (!cfg->prob[MMC_SCN_DNS_FLAP] || !mmc_is_dns_port(cfg, p.t.sport))
			return TC_ACT_UNSPEC;
		tag = mmc_engine_tag(skb, &p);
		if (!tag || tag->cls != MMC_FLOW_DNS || !mmc_dns_is_response(skb, &p) ||
		    mmc_decide(cfg, MMC_SCN_DNS_FLAP, MMC_DIR_INGRESS, tag->cookie) != MMC_LIVE)
			return TC_ACT_UNSPEC;
		act = mmc_dns_answer(skb, &p, cfg->dns_rcode);
		mmc_acted(cfg, MMC_SCN_DNS_FLAP, MMC_DIR_INGRESS, tag->cookie, act >= 0);
		return act == MMC_DNS_DROPPED ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	}

	ep = mmc_endpoint_of(&p.t, 1);
	if (!ep)
		return TC_ACT_UNSPEC;
	tag = mmc_engine_tag(skb, &p);
	if (!tag || tag->cls != ep->cls)
		return TC_ACT_UNSPEC; /* not the engine's socket */
	if (ep->cls == MMC_FLOW_REST)
		mmc_rest_response(skb, cfg, &p, tag);
	else if (ep->cls == MMC_FLOW_WS)
		return mmc_ws_segment(skb, cfg, &p, tag);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
