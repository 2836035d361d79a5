// SPDX-License-Identifier: GPL-2.0
/* cgroup_skb hooks on the engine's cgroup: every packet its sockets send or receive, and
 * nobody else's.
 * - net_loss: a silent drop with the scenario's probability while a burst is on (both ways).
 * - lat_spike: outbound packets of the engine's REST flows are steered to the REST netem class
 *   (mark + priority; the interface's filter and the ifb's HTB do the rest).
 * - The engine's endpoint sockets are tagged so the tc ingress hook can tell them apart, and
 *   its REST requests are accounted (request.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "fault.bpf.h"
#include "parse.bpf.h"
#include "request.bpf.h"
#include <bpf/bpf_endian.h>

#define LOOPBACK_IFINDEX 1

/* cgroup_skb verdicts. At egress, 2 (drop + congestion notification) makes the stack treat the
 * drop like a congested device: sendto() does not fail, TCP retransmits, as on a lossy network.
 * 0 would surface as EPERM to the application. */
#define CG_PASS 1
#define CG_DROP_SILENT_EGRESS 2
#define CG_DROP 0

/* Which request a REST segment starts: 0..3 for the configured order request lines
 * ("POST /api/v3/order"), MMC_OP_OTHER for another HTTP request (or any TLS application-data
 * record), -1 when the segment does not start a request. */
static __always_inline int mmc_request_op(struct __sk_buff *skb, const struct mmc_config *cfg,
					  const struct mmc_l4 *p, int tls)
{
	__u8 head[32] = {};

	if (!p->payload_len)
		return -1;
	bpf_skb_load_bytes(skb, p->payload_off, head, p->payload_len < 32 ? 16 : 32);
	if (tls)
		return head[0] == 0x17 && head[1] == 0x03 ? MMC_OP_OTHER : -1;
	for (int r = 0; r < 4; r++) {
		const __u8 *want = cfg->order_req[r];
		int match = want[0] != 0;

		for (int i = 0; i < 32 && match; i++) {
			if (!want[i])
				break;
			if (head[i] != want[i])
				match = 0;
		}
		if (match)
			return r;
	}
	/* Any other request line: an upper-case method, a space, a path. */
	if (head[0] >= 'A' && head[0] <= 'Z' && head[1] >= 'A' && head[1] <= 'Z' &&
	    (head[3] == ' ' || head[4] == ' ' || head[5] == ' ' || head[6] == ' '))
		return MMC_OP_OTHER;
	return -1;
}

/* The segment begins with a TLS record that is not application data: ChangeCipherSpec (20),
 * alert (21) or handshake (22), version 3.x. The TLS handshake of a REST connection (the
 * ClientHello; the client's ChangeCipherSpec + Finished, which OpenSSL writes as one flight) is
 * a handshake, not a request: delaying the ClientHello cost a new connection a second spike. A
 * request segment that continues a record and happens to begin with these three bytes passes
 * undelayed and waits in the receiver's queue for the delayed one before it. */
static __always_inline int mmc_tls_control_record(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 h[3];

	if (p->payload_len < sizeof(h) || bpf_skb_load_bytes(skb, p->payload_off, h, sizeof(h)) < 0)
		return 0;
	return h[0] >= 20 && h[0] <= 22 && h[1] == 3 && h[2] <= 4;
}

/* Tags the engine's endpoint sockets (the tc ingress hook reads the tag after a socket lookup),
 * chooses order requests whose response reconcile_mismatch will lose, and steers REST packets
 * into netem while lat_spike decides so. The socket cookie (the flow id) is read only for an
 * endpoint's packets, and from the tag once it holds it: it never changes for a socket. */
static __always_inline void mmc_egress_endpoints(struct __sk_buff *skb,
						  const struct mmc_config *cfg, int lost)
{
	struct mmc_endpoint_val *ep, dns = {MMC_FLOW_DNS, 0, 0, 0};
	struct mmc_sk_tag *tag = NULL;
	struct mmc_l4 p = {};
	struct bpf_sock *sk;
	__u32 ifindex;
	__u64 flow, until;
	int op;

	if (mmc_parse_l4(skb, 0, skb->protocol, &p) < 0)
		return;
	if (p.proto == MMC_IPPROTO_UDP)
		ep = mmc_is_dns_port(cfg, p.t.dport) ? &dns : NULL;
	else
		ep = mmc_endpoint_of(&p.t, 0);
	if (!ep)
		return;
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		tag = bpf_sk_storage_get(&mmc_sk_tag, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (tag && tag->cls != ep->cls) {
		tag->cookie = bpf_get_socket_cookie(skb);
		tag->cls = ep->cls;
		tag->exchange = ep->exchange;
		tag->tls = ep->tls;
	}
	flow = tag ? tag->cookie : bpf_get_socket_cookie(skb);
	if (ep->cls != MMC_FLOW_REST)
		return;
	if (tag) {
		mmc_request_egress_close(cfg, tag, &p);
		/* The request-line check, only where a request can start: a data segment, no request
		 * outstanding, and (plaintext) not the same idle stretch as a segment that started
		 * none. A bulk flow to a REST endpoint pays the check once per burst of data the
		 * exchange answers, not per packet. */
		if (p.payload_len && !tag->req_pending &&
		    !(tag->req_idle && tag->req_idle_ack == p.ack_seq)) {
			op = mmc_request_op(skb, cfg, &p, ep->tls);
			if (op >= 0) {
				tag->req_idle = 0;
				mmc_request_start(cfg, tag, op);
				/* Order-changing requests on plaintext flows; on TLS flows any
				 * request, unless the TLS mechanism in the engine's library reads
				 * the request line and decides there. Live, the response is reset
				 * at tc ingress, and counted there once it is. */
				if (cfg->prob[MMC_SCN_RECONCILE_MISMATCH] &&
				    (ep->tls ? !cfg->tls_library : op < MMC_OP_OTHER) &&
				    mmc_decide(cfg, MMC_SCN_RECONCILE_MISMATCH, MMC_DIR_EGRESS, flow) ==
					    MMC_LIVE)
					tag->lose_response = 1;
			} else if (!ep->tls) {
				/* TLS is left out: a client may send its request right after its own
				 * handshake records, with nothing new from the server in between. */
				tag->req_idle = 1;
				tag->req_idle_ack = p.ack_seq;
			}
		}
	}
	/* lat_spike delays what the engine sends of its requests: segments with data. Pure ACKs,
	 * the SYN and a bare FIN pass at once, so a request costs lat_spike_ms once (a delayed ACK
	 * of the response's headers would hold the server's next write behind Nagle and cost it
	 * twice), and a new connection's connect is not delayed on top of its first request; nor
	 * is its TLS handshake (https endpoints). A segment net_loss drops goes nowhere. */
	if (lost || !cfg->egress_mark || skb->mark || !p.payload_len)
		return;
	if (ep->tls && mmc_tls_control_record(skb, &p))
		return;
	ifindex = skb->ifindex;
	if (!bpf_map_lookup_elem(&mmc_ifaces, &ifindex))
		return;
	if (mmc_decide(cfg, MMC_SCN_LAT_SPIKE, MMC_DIR_EGRESS, flow) == MMC_LIVE) {
		skb->mark = cfg->egress_mark;
		skb->priority = cfg->egress_class;
		if (tag)
			tag->delay_until_ns = bpf_ktime_get_ns() + cfg->lat_spike_hold_ns;
		mmc_acted(cfg, MMC_SCN_LAT_SPIKE, MMC_DIR_EGRESS, flow, 1);
	} else if (tag && (until = mmc_drain_time(cfg->egress_drain_class, &tag->delay_until_ns))) {
		/* The burst is over, but the flow's last segments are still in the netem: this one
		 * waits for them in the drain class, an fq that sends it at its skb->tstamp (EDT),
		 * rather than overtaking them (tc_ingress.bpf.c, mmc_ws_lag, says what overtaking
		 * costs). TCP's own departure time is a delivery time already, which the detour
		 * keeps; writing it here keeps that kind. */
		skb->tstamp = until;
		skb->mark = cfg->egress_mark;
		skb->priority = cfg->egress_drain_class;
		mmc_count(MMC_STAT_LAT_SPIKE_HELD);
	}
}

SEC("cgroup_skb/egress")
int mmc_egress(struct __sk_buff *skb)
{
	const struct mmc_config *cfg = mmc_config();
	int lost;

	mmc_count(MMC_STAT_PKTS_EGRESS);
	if (!cfg || skb->ifindex == LOOPBACK_IFINDEX)
		return CG_PASS;
	lost = mmc_decide_skb(cfg, MMC_SCN_NET_LOSS, MMC_DIR_EGRESS, 0, 0, skb) == MMC_LIVE;
	if (lost)
		mmc_acted_skb(cfg, MMC_SCN_NET_LOSS, MMC_DIR_EGRESS, 0, 0, 1, skb); /* a verdict */
	/* Accounting sees what the engine sent, lost or not: a request whose first segment the
	 * "network" drops started when the engine sent it, and its latency includes the
	 * retransmission, as the engine's own does. */
	if (cfg->tag_sockets)
		mmc_egress_endpoints(skb, cfg, lost);
	return lost ? CG_DROP_SILENT_EGRESS : CG_PASS;
}

SEC("cgroup_skb/ingress")
int mmc_ingress(struct __sk_buff *skb)
{
	const struct mmc_config *cfg = mmc_config();

	mmc_count(MMC_STAT_PKTS_INGRESS);
	if (!cfg || skb->ifindex == LOOPBACK_IFINDEX)
		return CG_PASS;
	if (mmc_decide_skb(cfg, MMC_SCN_NET_LOSS, MMC_DIR_INGRESS, 0, 0, skb) == MMC_LIVE) {
		mmc_acted_skb(cfg, MMC_SCN_NET_LOSS, MMC_DIR_INGRESS, 0, 0, 1, skb);
		return CG_DROP;
	}
	if (cfg->tag_sockets)
		mmc_request_ingress(skb, cfg);
	return CG_PASS;
}

/* mm_reconnect_attempts_total{kind}: every connect() of the engine to a REST or WS endpoint.
 * Always allows the connect (return 1). */
static __always_inline void mmc_count_connect(struct mmc_endpoint_key *key)
{
	struct mmc_endpoint_val *ep = bpf_map_lookup_elem(&mmc_endpoints, key);

	if (ep)
		mmc_count(ep->cls == MMC_FLOW_WS ? MMC_STAT_CONNECT_WS : MMC_STAT_CONNECT_REST);
}

SEC("cgroup/connect4")
int mmc_connect4(struct bpf_sock_addr *ctx)
{
	struct mmc_endpoint_key key = {};

	key.family = MMC_AF_INET;
	key.port = (__u16)ctx->user_port;
	key.addr[0] = ctx->user_ip4;
	mmc_count_connect(&key);
	return 1;
}

SEC("cgroup/connect6")
int mmc_connect6(struct bpf_sock_addr *ctx)
{
	struct mmc_endpoint_key key = {};

	key.family = MMC_AF_INET6;
	key.port = (__u16)ctx->user_port;
	key.addr[0] = ctx->user_ip6[0];
	key.addr[1] = ctx->user_ip6[1];
	key.addr[2] = ctx->user_ip6[2];
	key.addr[3] = ctx->user_ip6[3];
	mmc_count_connect(&key);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
