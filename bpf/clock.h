/* clock_skew_ms: which clocks a read belongs to, the decision for one read, and the shared-memory
 * record through which the controller drives the preload fallback (mmchaos exec). Compiled into
 * the uprobe programs, the preload library, the controller and the unit tests: one definition of
 * "is this read skewed now, and by how much". */
#ifndef MMCHAOS_CLOCK_H
#define MMCHAOS_CLOCK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "heartbeat.h"
#include "rollout.h"
#include "schedule.h"

/* Clock classes (faults.clock_skew_clocks), a bit mask. */
#define MMC_CLOCK_REALTIME  1u /* CLOCK_REALTIME[_COARSE|_ALARM], CLOCK_TAI, gettimeofday, time */
#define MMC_CLOCK_MONOTONIC 2u /* CLOCK_MONOTONIC[_RAW|_COARSE], CLOCK_BOOTTIME[_ALARM] */

/* The class of a clock_gettime() clock id (Linux numbering), 0 for clocks never skewed
 * (per-process/thread CPU clocks, dynamic posix clocks). */
static inline __u32 mmc_clockid_class(int id)
{
	switch (id) {
	case 0:	 /* CLOCK_REALTIME */
	case 5:	 /* CLOCK_REALTIME_COARSE */
	case 8:	 /* CLOCK_REALTIME_ALARM */
	case 11: /* CLOCK_TAI */
		return MMC_CLOCK_REALTIME;
	case 1: /* CLOCK_MONOTONIC */
	case 4: /* CLOCK_MONOTONIC_RAW */
	case 6: /* CLOCK_MONOTONIC_COARSE */
	case 7: /* CLOCK_BOOTTIME */
	case 9: /* CLOCK_BOOTTIME_ALARM */
		return MMC_CLOCK_MONOTONIC;
	default:
		return 0;
	}
}

/* A (seconds, nanoseconds) time moved by skew_ns, normalised so 0 <= nsec < 1e9; clamped at 0
 * (no clock reads before its origin). Unsigned division only: BPF before cpu v4 has no signed
 * division. Exact until the year 2262. */
static inline void mmc_clock_shift(__s64 *sec, __s64 *nsec, __s64 skew_ns)
{
	__s64 t = *sec * 1000000000LL + *nsec + skew_ns;
	__u64 u = t < 0 ? 0 : (__u64)t;

	*sec = (__s64)(u / 1000000000ULL);
	*nsec = (__s64)(u % 1000000000ULL);
}

/* ---- The preload fallback's shared memory: /run/mmchaos/clock-<cgroup id>.shm ----
 * Page 0 is written by the controller only (the preload maps it read-only); page 1 holds the
 * counters the preloads add to (atomics). The controller replaces the file (new inode) each run
 * and unlinks it on teardown/rollback; a preload re-checks the path while it has nothing live. */
#define MMC_CLOCK_MAGIC	    0x316b636f6c636d6dULL /* "mmclock1" */
#define MMC_CLOCK_PAGE	    4096
#define MMC_CLOCK_FILE_SIZE (2 * MMC_CLOCK_PAGE)

struct mmc_clock_state {
	__u64 magic;
	__u32 seq;     /* seqlock: odd while the controller rewrites the fields below */
	__u32 armed;   /* chaos.enabled and clock_skew_ms != 0 */
	__u32 dry_run; /* shadow: count, never skew */
	__u32 clocks;  /* MMC_CLOCK_* classes to skew */
	__s64 skew_ns;
	__u64 epoch_ns; /* the burst schedule, CLOCK_MONOTONIC ns (the controller's mmc_config) */
	__u64 on_ns;
	__u64 off_ns;
	__u64 heartbeat_timeout_ns; /* skew stops once heartbeat_ns is older than this */
	__u64 heartbeat_ns;	    /* CLOCK_MONOTONIC; written on its own, outside the seqlock */
	__u64 rollout_threshold;    /* target.rollout_percent, as in mmc_config: by process */
	__u32 seed;		    /* the run's rollout salt */
	__u32 pad;
};

struct mmc_clock_counts {
	/* [enum mmc_mode]: reads adjusted (live) or that would have been (shadow) */
	__u64 reads[2];
};

/* The consistent part of the state a decision needs (a seqlock-protected copy). */
struct mmc_clock_view {
	__u32 armed, dry_run, clocks;
	__s64 skew_ns;
	__u64 epoch_ns, on_ns, off_ns, heartbeat_timeout_ns, heartbeat_ns;
	__u64 rollout_threshold;
	__u32 seed;
};

enum mmc_clock_verdict {
	MMC_CLOCK_KEEP = 0,   /* true time */
	MMC_CLOCK_SHADOW = 1, /* true time, counted as shadow */
	MMC_CLOCK_LIVE = 2,   /* skewed, counted as live */
};

/* The decision for one read of a clock of class cls by process pid at monotonic time now: armed,
 * the class is configured, the controller's heartbeat is fresh, a burst is on, and the process is
 * in the rollout (the uprobes' mmc_decide() does the same with its config). */
static inline enum mmc_clock_verdict mmc_clock_decide(const struct mmc_clock_view *v, __u32 cls,
						      __u64 pid, __u64 now)
{
	struct mmc_phase ph;

	if (!v->armed || v->skew_ns == 0 || !(cls & v->clocks))
		return MMC_CLOCK_KEEP;
	if (!mmc_heartbeat_fresh(v->heartbeat_ns, v->heartbeat_timeout_ns, now))
		return MMC_CLOCK_KEEP;
	ph = mmc_schedule_phase(v->epoch_ns, v->on_ns, v->off_ns, now);
	if (!ph.on)
		return MMC_CLOCK_KEEP;
	if (v->rollout_threshold < (1ULL << 32) &&
	    (__u64)mmc_flow_hash(pid, v->seed) >= v->rollout_threshold)
		return MMC_CLOCK_KEEP;
	return v->dry_run ? MMC_CLOCK_SHADOW : MMC_CLOCK_LIVE;
}

#endif /* MMCHAOS_CLOCK_H */
