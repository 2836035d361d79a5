/* The end of one REST request, wherever it was observed: the cgroup hooks on plaintext flows
 * (request.bpf.h) and, on TLS flows, the uprobes in the engine's TLS library
 * (tls_uprobe.bpf.c), which read the request line and the status where the library holds them
 * in plaintext. One definition of what a finished request adds: a failure for
 * mm_partial_fail_rate, a latency sample for mm_rest_latency_seconds and an event for
 * `mmchaos experiment`, into the maps every object shares. */
#ifndef MMCHAOS_REQUEST_END_BPF_H
#define MMCHAOS_REQUEST_END_BPF_H

#include "maps.bpf.h"

static __always_inline void mmc_restlat_add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&mmc_restlat, &slot);

	if (v)
		*v += n;
}

/* What is known of a request when it ends. */
struct mmc_req_end {
	__u64 sent_ns; /* when it left (bpf_ktime_get_ns) */
	__u64 flow;    /* the socket cookie, or the TLS connection's id */
	__u16 status;  /* the response's HTTP status, 0 when unknown */
	__u8 exchange;
	__u8 op;
	__u8 outcome; /* enum mmc_req_outcome */
	__u8 tls;
};

/* A request ended (its start was counted with mmc_count_request(exchange, op, 0)). */
static __always_inline void mmc_request_finish(const struct mmc_config *cfg,
					       const struct mmc_req_end *r)
{
	__u64 now = bpf_ktime_get_ns(), lat = now - r->sent_ns;
	__u32 base = (r->exchange % MMC_MAX_EXCHANGES) * MMC_RESTLAT_STRIDE;

	if (r->outcome != MMC_REQ_ANSWERED)
		mmc_count_request(r->exchange, r->op, 1);
	if (r->outcome == MMC_REQ_ANSWERED || r->outcome == MMC_REQ_HTTP_FAIL) {
		mmc_restlat_add(base + mmc_restlat_bucket(lat), 1);
		mmc_restlat_add(base + MMC_RESTLAT_SUM_US, lat / 1000);
		mmc_restlat_add(base + MMC_RESTLAT_COUNT, 1);
	}
	if (cfg->req_events) {
		struct mmc_req_event e = {};

		e.ts_ns = now;
		e.latency_ns = lat;
		e.flow = r->flow;
		e.status = r->status;
		e.exchange = r->exchange;
		e.op = r->op;
		e.outcome = r->outcome;
		e.tls = r->tls;
		/* No wakeup: the experiment drains the ring on its own tick. */
		if (bpf_ringbuf_output(&mmc_requests, &e, sizeof(e), BPF_RB_NO_WAKEUP) < 0)
			mmc_count(MMC_STAT_REQ_EVENTS_LOST);
	}
}

#endif /* MMCHAOS_REQUEST_END_BPF_H */
