/* The one fault decision every hook makes: (scenario, flow, now) -> skip | shadow | live.
 * It consults the scenario's probability, the burst schedule and the rollout hash. A shadow
 * decision is counted and logged here; on a live one the caller acts and reports whether the
 * action took effect (mmc_acted), and only then is it counted live (or failed). Shadow mode is
 * this same path with the action withheld, so its counts are what live mode would have done. */
#ifndef MMCHAOS_FAULT_BPF_H
#define MMCHAOS_FAULT_BPF_H

#include "heartbeat.h"
#include "maps.bpf.h"
#include "rollout.h"
#include "schedule.h"

/* The decision's clock. Tracing programs (the clock_skew uprobes) may not call
 * bpf_ktime_get_coarse_ns and define this as bpf_ktime_get_ns() before including this header. */
#ifndef MMC_NOW
#define MMC_NOW() bpf_ktime_get_coarse_ns()
#endif

/* A delay's drain (userspace/tc/steering.h): once a burst is over, a flow whose delayed packets
 * may still be in the netem (until *until, the socket's delay_until_ns) sends its data through
 * the drain's fq, timed to leave at that moment (EDT), so none overtakes them; and for a little
 * past it, since the fq's timer may release the last held ones late, and a packet must still
 * queue behind them (it leaves at once if they are gone). The delivery time, or 0: nothing to
 * wait for. A flow with nothing left to wait for is cleared, so its packets outside bursts cost
 * a load and a compare here, not a clock read. */
#define MMC_DRAIN_GRACE_NS (5 * 1000000ULL)

static __always_inline __u64 mmc_drain_time(__u32 drain_class, __u64 *until)
{
	__u64 t = *until;

	if (!t || !drain_class)
		return 0;
	if (bpf_ktime_get_ns() >= t + MMC_DRAIN_GRACE_NS) { /* fq's clock */
		*until = 0;
		return 0;
	}
	return t;
}

enum mmc_verdict {
	MMC_SKIP = 0,
	MMC_SHADOW = 1,
	MMC_LIVE = 2,
};

/* False once the controller has missed two heartbeats: a program that outlived it (a tc filter
 * persists after a crash) then stops injecting by itself. */
static __always_inline int mmc_controller_alive(const struct mmc_config *cfg, __u64 now)
{
	__u32 zero = 0;
	__u64 *hb;

	if (!cfg->heartbeat_timeout_ns)
		return 1;
	hb = bpf_map_lookup_elem(&mmc_hb, &zero);
	return hb && mmc_heartbeat_fresh(*hb, cfg->heartbeat_timeout_ns, now);
}

static __always_inline void mmc_log(const struct mmc_config *cfg, __u32 scn, __u32 mode, __u32 dir,
				    __u64 flow, __u64 now, __u64 remaining_ns, __u32 reason)
{
	struct mmc_log_bucket *b;
	struct mmc_event *e;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&mmc_logrl, &zero);
	if (!b)
		return;
	if (now - b->window_start_ns >= 1000000000ULL) {
		b->window_start_ns = now;
		b->used = 0;
	}
	if (b->used >= cfg->events_per_sec) {
		mmc_count(MMC_STAT_EVENTS_SUPPRESSED);
		return;
	}
	b->used++;
	e = bpf_ringbuf_reserve(&mmc_events, sizeof(*e), 0);
	if (!e) {
		mmc_count(MMC_STAT_EVENTS_LOST);
		return;
	}
	e->ts_ns = now;
	e->flow = flow;
	e->duration_ns = remaining_ns;
	e->intensity = cfg->prob[scn];
	e->scenario = scn;
	e->reason = reason;
	e->mode = mode;
	e->direction = dir;
	bpf_ringbuf_submit(e, 0);
}

/* per_burst: draw once per burst instead of per event (rate_limit_storm: a burst is a storm or
 * not, for every response in it). */
/* flow: the socket cookie if the caller has it, else 0 and skb: the cookie is then read only
 * when needed (a rollout below 100%, or a decision to log), not on every packet. */
static __always_inline enum mmc_verdict mmc_decide_skb(const struct mmc_config *cfg, __u32 scn,
						       __u32 dir, __u64 flow, int per_burst,
						       struct __sk_buff *skb)
{
	struct mmc_phase phase;
	__u64 now, threshold;

	if (!cfg->armed || scn >= MMC_SCN_MAX)
		return MMC_SKIP;
	threshold = cfg->prob[scn];
	if (threshold == 0)
		return MMC_SKIP;
	/* The draw is independent of everything below, so it goes first: most packets stop here
	 * (net_loss 0.3: 70%) and pay for nothing else. */
	if (!per_burst && (__u64)bpf_get_prandom_u32() >= threshold)
		return MMC_SKIP;
	/* The coarse clock (CLOCK_MONOTONIC at tick resolution) costs a fraction of a precise
	 * read, and a burst edge a few ms early or late does not matter. */
	now = MMC_NOW();
	if (!mmc_controller_alive(cfg, now))
		return MMC_SKIP;
	phase = mmc_schedule_phase(cfg->epoch_ns, cfg->on_ns, cfg->off_ns, now);
	if (!phase.on)
		return MMC_SKIP;
	if (cfg->rollout_threshold < MMC_P_ONE) {
		if (!flow && skb)
			flow = bpf_get_socket_cookie(skb);
		if ((__u64)mmc_flow_hash(flow, cfg->seed) >= cfg->rollout_threshold)
			return MMC_SKIP;
	}
	if (per_burst && (__u64)mmc_flow_hash(phase.burst, cfg->seed ^ 0x5743u) >= threshold)
		return MMC_SKIP;

	/* Live decisions are counted by mmc_acted, once the caller's action took effect. */
	if (!cfg->dry_run)
		return MMC_LIVE;
	mmc_count(mmc_injection_slot(scn, MMC_MODE_SHADOW));
	if (!flow && skb)
		flow = bpf_get_socket_cookie(skb);
	mmc_log(cfg, scn, MMC_MODE_SHADOW, dir, flow, now, phase.remaining_ns,
		per_burst ? MMC_REASON_STORM : MMC_REASON_PROBABILITY);
	return MMC_SHADOW;
}

/* After a live decision: the caller's action took effect (ok) or not. Only an action that did
 * is a live injection; one that did not is counted and logged as failed, under the scenario. */
static __always_inline void mmc_acted_skb(const struct mmc_config *cfg, __u32 scn, __u32 dir,
					  __u64 flow, int per_burst, int ok, struct __sk_buff *skb)
{
	__u64 now = MMC_NOW();
	struct mmc_phase phase = mmc_schedule_phase(cfg->epoch_ns, cfg->on_ns, cfg->off_ns, now);
	__u32 reason = per_burst ? MMC_REASON_STORM : MMC_REASON_PROBABILITY;

	if (scn >= MMC_SCN_MAX)
		return;
	if (ok) {
		mmc_count(mmc_injection_slot(scn, MMC_MODE_LIVE));
	} else {
		mmc_count(MMC_STAT_ACTION_FAILED0 + scn);
		reason = MMC_REASON_ACTION_FAILED;
	}
	if (!flow && skb)
		flow = bpf_get_socket_cookie(skb);
	mmc_log(cfg, scn, MMC_MODE_LIVE, dir, flow, now, phase.remaining_ns, reason);
}

static __always_inline void mmc_acted(const struct mmc_config *cfg, __u32 scn, __u32 dir,
				      __u64 flow, int ok)
{
	mmc_acted_skb(cfg, scn, dir, flow, 0, ok, NULL);
}

static __always_inline enum mmc_verdict mmc_decide_draw(const struct mmc_config *cfg, __u32 scn,
							__u32 dir, __u64 flow, int per_burst)
{
	return mmc_decide_skb(cfg, scn, dir, flow, per_burst, NULL);
}

static __always_inline enum mmc_verdict mmc_decide(const struct mmc_config *cfg, __u32 scn,
						   __u32 dir, __u64 flow)
{
	return mmc_decide_skb(cfg, scn, dir, flow, 0, NULL);
}

#endif /* MMCHAOS_FAULT_BPF_H */
