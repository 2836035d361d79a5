/* exch_429 / exch_5xx / rate_limit_storm on TLS endpoints: the decision for one response the
 * engine's TLS library hands it, and the TLS part of the preload's shared record. Compiled into
 * the preload library, the controller and the unit tests: one definition of "is this response
 * rewritten, to what", with the data plane's order and semantics (tc_ingress.bpf.c: a storm burst
 * first, then exch_429, then exch_5xx, each counted when decided, the first live one acts).
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

#define MMC_TLS_MAGIC	     0x31736c74636d6dULL /* "mmctls1" */
#define MMC_TLS_STATE_OFF    (2 * MMC_CLOCK_PAGE)
#define MMC_TLS_COUNTS_OFF   (3 * MMC_CLOCK_PAGE)
#define MMC_RECORD_FILE_SIZE (4 * MMC_CLOCK_PAGE)
#define MMC_TLS_MAX_ENDPOINTS 32
#define MMC_TLS_HOST_LEN      94

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
	__u32 n_endpoints;
	/* The https:// REST endpoints of target.exchanges as the engine names them in its requests'
	 * Host header: only responses to requests for one of them are touched. By name, not by
	 * address: TLS libraries that do their own socket I/O (Boost.Asio's memory BIOs, curl's
	 * filter BIO) give no file descriptor to ask for the peer. */
	struct mmc_tls_authority {
		char host[MMC_TLS_HOST_LEN]; /* lower case, NUL padded; IPv6 without brackets */
		__u16 port;
	} endpoints[MMC_TLS_MAX_ENDPOINTS];
};

struct mmc_tls_counts {
	__u64 injections[MMC_SCN_MAX][2]; /* [scenario][enum mmc_mode] */
	__u64 responses;		  /* HTTP/1 responses on exchange connections seen */
};

/* The consistent part of the state a decision needs (a seqlock-protected copy). */
struct mmc_tls_view {
	__u32 armed, dry_run, seed;
	__u64 epoch_ns, on_ns, off_ns, heartbeat_timeout_ns, heartbeat_ns, rollout_threshold;
	__u64 prob[MMC_TLS_SCENARIOS];
	__u8 status_5xx[4];
};

enum mmc_tls_verdict {
	MMC_TLS_SKIP = 0,
	MMC_TLS_SHADOW = 1,
	MMC_TLS_LIVE = 2,
};

/* One scenario's decision for one response on flow (socket cookie) at monotonic time now, with
 * a uniform 32-bit draw: the steps and order of mmc_decide() (fault.bpf.h). Index i is the
 * position in mmc_tls_scenario() order; the storm draws once per burst instead. */
static inline enum mmc_tls_verdict mmc_tls_decide_one(const struct mmc_tls_view *v, __u32 i,
						      __u64 flow, __u64 now, __u32 draw)
{
	struct mmc_phase ph;
	__u64 threshold;
	int per_burst = mmc_tls_scenario(i) == MMC_SCN_RATE_LIMIT_STORM;

	if (!v->armed || i >= MMC_TLS_SCENARIOS)
		return MMC_TLS_SKIP;
	threshold = v->prob[i];
	if (threshold == 0)
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
