/* REST request accounting on the engine's own sockets, engine-agnostic: requests and failures
 * (mm_partial_fail_rate), latency from the engine sending the request's first segment (one net_loss
 * drops included: the engine sent it, and waits for the retransmission) to the response's
 * first byte arriving (mm_rest_latency_seconds), and one ring-buffer event per request for
 * `mmchaos experiment`. Both ends run in the cgroup hooks, so this works with or without tc, and
 * ingress sees responses after any tc rewrite (a 429 made by exch_429 counts as a 429).
 *
 * A request ends with the first response byte, a reset or FIN from the exchange (reset), or the
 * engine closing or resetting the connection first (abandoned: its deadline passed, the kernel's
 * view of a timeout). HTTP/1.1 without pipelining: one request outstanding per connection; a
 * segment that starts a request while one is outstanding is a retransmission and not counted. */
#ifndef MMCHAOS_REQUEST_BPF_H
#define MMCHAOS_REQUEST_BPF_H

#include "http.bpf.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "request_end.bpf.h"

/* Whether this hook accounts the flow's requests: not a TLS flow whose requests the mechanism in
 * the engine's TLS library accounts (cfg->tls_accounting: it reads the request line and the
 * status there, tls_uprobe.bpf.c). Such a flow's requests are still followed here (req_pending:
 * reconcile_mismatch's record-level choice), never counted twice. */
static __always_inline int mmc_request_counted(const struct mmc_config *cfg,
					       const struct mmc_sk_tag *tag)
{
	return !(tag->tls && cfg->tls_accounting);
}

/* Egress: the first segment of a request (op from the request line) left the engine. */
static __always_inline void mmc_request_start(const struct mmc_config *cfg, struct mmc_sk_tag *tag,
					      __u32 op)
{
	if (tag->req_pending)
		return;
	tag->req_pending = 1;
	tag->req_sent_ns = bpf_ktime_get_ns();
	tag->last_op = op;
	if (mmc_request_counted(cfg, tag))
		mmc_count_request(tag->exchange, op, 0);
}

static __always_inline void mmc_request_end(const struct mmc_config *cfg, struct mmc_sk_tag *tag,
					    __u32 outcome, __u16 status)
{
	struct mmc_req_end r = {};

	tag->req_pending = 0;
	if (!mmc_request_counted(cfg, tag))
		return;
	r.sent_ns = tag->req_sent_ns;
	r.flow = tag->cookie;
	r.status = status;
	r.exchange = tag->exchange;
	r.op = tag->last_op;
	r.outcome = outcome;
	r.tls = tag->tls;
	mmc_request_finish(cfg, &r);
}

/* The status code of a plaintext "HTTP/1.x NNN" response starting at the payload, else 0. */
static __always_inline __u16 mmc_http_status(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 b[12];

	if (p->payload_len < sizeof(b) || bpf_skb_load_bytes(skb, p->payload_off, b, sizeof(b)) < 0)
		return 0;
	if (!mmc_http_response_start(b))
		return 0;
	for (int i = 9; i < 12; i++)
		if (b[i] < '0' || b[i] > '9')
			return 0;
	return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

/* Egress: the engine closing or resetting a connection with a request outstanding gave up on
 * it. */
static __always_inline void mmc_request_egress_close(const struct mmc_config *cfg,
						     struct mmc_sk_tag *tag, const struct mmc_l4 *p)
{
	if (tag->req_pending && (p->tcp_flags & (MMC_TCP_FIN | MMC_TCP_RST)))
		mmc_request_end(cfg, tag, MMC_REQ_ABANDONED, 0);
}

/* Ingress (cgroup_skb, packet already past any tc rewrite): ends the outstanding request of the
 * engine's REST socket this packet is for. */
static __always_inline void mmc_request_ingress(struct __sk_buff *skb, const struct mmc_config *cfg)
{
	struct bpf_sock *sk = skb->sk;
	struct mmc_sk_tag *tag;
	struct mmc_l4 p = {};
	__u16 status;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	tag = bpf_sk_storage_get(&mmc_sk_tag, sk, 0, 0);
	if (!tag || tag->cls != MMC_FLOW_REST || !tag->req_pending)
		return;
	if (mmc_parse_l4(skb, 0, skb->protocol, &p) < 0 || p.proto != MMC_IPPROTO_TCP)
		return;
	if (p.tcp_flags & MMC_TCP_RST) {
		mmc_request_end(cfg, tag, MMC_REQ_RESET, 0);
		return;
	}
	if (!p.payload_len) {
		if (p.tcp_flags & MMC_TCP_FIN)
			mmc_request_end(cfg, tag, MMC_REQ_RESET, 0); /* closed without answering */
		return;
	}
	status = tag->tls ? 0 : mmc_http_status(skb, &p);
	/* 100 Continue and other interim answers: the final response is still to come. 101 (an
	 * upgrade) is the last HTTP answer on the connection and ends the request. */
	if (status >= 100 && status < 200 && status != 101)
		return;
	mmc_request_end(cfg, tag, mmc_status_outcome(status), status);
}

#endif /* MMCHAOS_REQUEST_BPF_H */
