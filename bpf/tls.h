/* exch_429 / exch_5xx / rate_limit_storm and reconcile_mismatch on TLS endpoints: the decision for
 * one response the engine's TLS library hands it (and for one order request it writes), and the
 * TLS part of the preload's shared record. Compiled into the preload library, the controller and
 * the unit tests: one definition of "is this response rewritten, to what", with the data plane's
 * order and semantics (tc_ingress.bpf.c: a storm burst first, then exch_429, then exch_5xx, each
 * counted when decided, the first live one acts; cgroup_skb.bpf.c: reconcile_mismatch decided per
 * order request as it leaves).
 *
 * The record (/run/mmchaos/clock-<cgroup id>.shm, bpf/clock.h) is one file for the whole
 * preload: page 0 is clock_skew's state and carries the controller's heartbeat for both, page 1
 * clock_skew's counts, page 2 the TLS state below (controller-written, seqlock), page 3 the TLS
 * counts (atomics, written by the preloads). */
#ifndef MMCHAOS_TLS_H
#define MMCHAOS_TLS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "clock.h"
#include "mmchaos.h"
#include "rollout.h"
#include "schedule.h"

#define MMC_TLS_MAGIC	     0x32736c74636d6dULL /* "mmctls2" */
#define MMC_TLS_STATE_OFF    (2 * MMC_CLOCK_PAGE)
#define MMC_TLS_COUNTS_OFF   (3 * MMC_CLOCK_PAGE)
#define MMC_RECORD_FILE_SIZE (4 * MMC_CLOCK_PAGE)
#define MMC_TLS_MAX_ENDPOINTS 32
#define MMC_TLS_HOST_LEN      94
#define MMC_TLS_ORDER_LINES   4  /* mmc_config's order_req */
#define MMC_TLS_ORDER_LEN     32

/* The scenarios that act on a TLS response, in decision order. */
#define MMC_TLS_SCENARIOS 3
static inline __u32 mmc_tls_scenario(__u32 i)
{
	return i == 0 ? MMC_SCN_RATE_LIMIT_STORM : i == 1 ? MMC_SCN_EXCH_429 : MMC_SCN_EXCH_5XX;
}

struct mmc_tls_state {
	__u64 magic;
	__u32 seq;     /* seqlock: odd while the controller rewrites the fields below */
	__u32 armed;   /* chaos.enabled, a TLS scenario on, and the preload mechanism chosen */
	__u32 dry_run; /* shadow: decide and count, change no byte */
	__u32 seed;    /* the run's rollout salt (mmc_config's) */
	__u64 epoch_ns, on_ns, off_ns; /* the burst schedule, CLOCK_MONOTONIC (mmc_config's) */
	__u64 heartbeat_timeout_ns;    /* against page 0's heartbeat_ns */
	__u64 rollout_threshold;       /* by flow: the socket cookie, as the data plane */
	__u64 prob[MMC_TLS_SCENARIOS]; /* thresholds (MMC_P_ONE = always), mmc_tls_scenario() order */
	__u8 status_5xx[4];            /* exch_5xx's code, ASCII digits */
	__u64 prob_reconcile;          /* reconcile_mismatch's threshold, per order request */
	/* "METHOD /path" prefixes of order requests (mmc_config's order_req), NUL padded. */
	__u8 order_req[MMC_TLS_ORDER_LINES][MMC_TLS_ORDER_LEN];
	__u32 n_endpoints;
	/* The https:// REST endpoints of target.exchanges as the engine names them in its requests'
	 * Host header: only responses to requests for one of them are touched. By name, not by
	 * address: TLS libraries that do their own socket I/O (Boost.Asio's memory BIOs, curl's
	 * filter BIO) give no file descriptor to ask for the peer. */
	struct mmc_tls_authority {
		char host[MMC_TLS_HOST_LEN]; /* lower case, NUL padded; IPv6 without brackets */
		__u16 port;
	} endpoints[MMC_TLS_MAX_ENDPOINTS];
	/* The index in target.exchanges of each endpoint (the accounting's exchange). */
	__u8 endpoint_exchange[MMC_TLS_MAX_ENDPOINTS];
	/* 1: the preloads account the requests to those endpoints (mmc_config.tls_accounting with
	 * no uprobes running): counts and latency in page 3, as the data plane's maps hold them. */
	__u32 accounting;
	/* 1: ... and write one event per finished request into page 3's ring (mmc_config's
	 * req_events: an experiment or rollback triggers read them). */
	__u32 req_events;
};

/* One finished request in page 3's ring: seq is its index + 1 once written (0 while a preload
 * writes it). */
#define MMC_TLS_REQ_RING 48
struct mmc_tls_req_slot {
	__u64 seq;
	struct mmc_req_event e;
};

struct mmc_tls_counts {
	__u64 injections[MMC_SCN_MAX][2]; /* [scenario][enum mmc_mode] */
	__u64 responses;		  /* HTTP/1 responses on exchange connections seen */
	__u64 h2_connections; /* the engine's TLS connections that opened with HTTP/2's preface */
	/* REST accounting of the TLS flows by the preloads: mmc_reqstats' and mmc_restlat's
	 * layout (mmchaos.h), added to them by the controller. */
	__u64 reqstats[MMC_REQSTAT_SLOTS];
	__u64 restlat[MMC_RESTLAT_SLOTS];
	/* Finished requests (while req_events), the data plane's mmc_requests for the preloads:
	 * many writers (an index from req_head), the controller reads in order and counts what a
	 * writer lapped as lost. */
	__u64 req_head;
	struct mmc_tls_req_slot req_ring[MMC_TLS_REQ_RING];
};

/* buf starts with HTTP/2's connection preface ("PRI * HTTP/2.0"), the client's first bytes on
 * a connection that negotiated ALPN h2: its responses are binary frames, never a status line
 * either mechanism can follow (both count such connections; the controller reports them). */
static inline __attribute__((always_inline)) int mmc_tls_h2_preface(const __u8 *b, __u32 n)
{
	return n >= 14 && b[0] == 'P' && b[1] == 'R' && b[2] == 'I' && b[3] == ' ' && b[4] == '*' &&
	       b[5] == ' ' && b[6] == 'H' && b[7] == 'T' && b[8] == 'T' && b[9] == 'P' &&
	       b[10] == '/' && b[11] == '2' && b[12] == '.' && b[13] == '0';
}

/* The consistent part of the state a decision needs (a seqlock-protected copy). */
struct mmc_tls_view {
	__u32 armed, dry_run, seed;
	__u64 epoch_ns, on_ns, off_ns, heartbeat_timeout_ns, heartbeat_ns, rollout_threshold;
	__u64 prob[MMC_TLS_SCENARIOS];
	__u8 status_5xx[4];
	__u64 prob_reconcile;
};

enum mmc_tls_verdict {
	MMC_TLS_SKIP = 0,
	MMC_TLS_SHADOW = 1,
	MMC_TLS_LIVE = 2,
};

/* One decision at monotonic time now on flow (socket cookie) for a scenario whose threshold is
 * given, with a uniform 32-bit draw: the steps and order of mmc_decide() (fault.bpf.h). A
 * per-burst scenario (the storm) draws once per burst instead. */
static inline enum mmc_tls_verdict mmc_tls_decide_p(const struct mmc_tls_view *v, __u64 threshold,
						    int per_burst, __u64 flow, __u64 now, __u32 draw)
{
	struct mmc_phase ph;

	if (!v->armed || threshold == 0)
		return MMC_TLS_SKIP;
	if (!per_burst && (__u64)draw >= threshold)
		return MMC_TLS_SKIP;
	if (!mmc_heartbeat_fresh(v->heartbeat_ns, v->heartbeat_timeout_ns, now))
		return MMC_TLS_SKIP;
	ph = mmc_schedule_phase(v->epoch_ns, v->on_ns, v->off_ns, now);
	if (!ph.on)
		return MMC_TLS_SKIP;
	if (v->rollout_threshold < MMC_P_ONE &&
	    (__u64)mmc_flow_hash(flow, v->seed) >= v->rollout_threshold)
		return MMC_TLS_SKIP;
	if (per_burst && (__u64)mmc_flow_hash(ph.burst, v->seed ^ 0x5743u) >= threshold)
		return MMC_TLS_SKIP;
	return v->dry_run ? MMC_TLS_SHADOW : MMC_TLS_LIVE;
}

/* One response scenario's decision; index i is the position in mmc_tls_scenario() order. */
static inline enum mmc_tls_verdict mmc_tls_decide_one(const struct mmc_tls_view *v, __u32 i,
						      __u64 flow, __u64 now, __u32 draw)
{
	if (i >= MMC_TLS_SCENARIOS)
		return MMC_TLS_SKIP;
	return mmc_tls_decide_p(v, v->prob[i], mmc_tls_scenario(i) == MMC_SCN_RATE_LIMIT_STORM, flow,
				now, draw);
}

/* reconcile_mismatch for one order request the engine writes: live, the exchange gets the
 * order and the engine never gets its response. */
static inline enum mmc_tls_verdict mmc_tls_decide_reconcile(const struct mmc_tls_view *v,
							    __u64 flow, __u64 now, __u32 draw)
{
	return mmc_tls_decide_p(v, v->prob_reconcile, 0, flow, now, draw);
}

/* Which configured order request line buf (the start of a request the engine writes) begins
 * with: 0..MMC_TLS_ORDER_LINES-1, or -1. The data plane's prefix match (cgroup_skb.bpf.c's
 * mmc_request_op). */
static inline int mmc_tls_order_line(const __u8 order_req[MMC_TLS_ORDER_LINES][MMC_TLS_ORDER_LEN],
				     const __u8 *buf, __u64 n)
{
	for (int r = 0; r < MMC_TLS_ORDER_LINES; r++) {
		const __u8 *want = order_req[r];
		int match = want[0] != 0;

		for (__u64 i = 0; i < MMC_TLS_ORDER_LEN && match && want[i]; i++)
			if (i >= n || buf[i] != want[i])
				match = 0;
		if (match)
			return r;
	}
	return -1;
}

/* The whole decision for one response: verdicts[i] per scenario (each counted by the caller when
 * not SKIP), and the status code to write into code[3], as the data plane's else-if chain: the
 * first live scenario acts and the rest are not asked. Returns 1 when code was set. */
static inline int mmc_tls_decide(const struct mmc_tls_view *v, __u64 flow, __u64 now,
				 const __u32 draws[MMC_TLS_SCENARIOS],
				 enum mmc_tls_verdict verdicts[MMC_TLS_SCENARIOS], __u8 code[3])
{
	for (__u32 i = 0; i < MMC_TLS_SCENARIOS; i++)
		verdicts[i] = MMC_TLS_SKIP;
	for (__u32 i = 0; i < MMC_TLS_SCENARIOS; i++) {
		verdicts[i] = mmc_tls_decide_one(v, i, flow, now, draws[i]);
		if (verdicts[i] != MMC_TLS_LIVE)
			continue;
		if (mmc_tls_scenario(i) == MMC_SCN_EXCH_5XX) {
			code[0] = v->status_5xx[0];
			code[1] = v->status_5xx[1];
			code[2] = v->status_5xx[2];
		} else {
			code[0] = '4';
			code[1] = '2';
			code[2] = '9';
		}
		return 1;
	}
	return 0;
}

#endif /* MMCHAOS_TLS_H */
