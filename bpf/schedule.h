/* The burst duty cycle, as one pure function compiled into both the BPF data plane (which
 * decides every packet by it) and the controller (status, metrics, tests): one definition,
 * so what userspace reports is what the kernel did. */
#ifndef MMCHAOS_SCHEDULE_H
#define MMCHAOS_SCHEDULE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct mmc_phase {
	__u32 on;          /* 1 while a burst is on */
	__u64 burst;       /* index of the current cycle (0 = first) */
	__u64 remaining_ns; /* time left in the current phase; ~0 when always on */
};

/* Phase at monotonic time now of a schedule that starts with an on-phase at epoch.
 * Before the epoch nothing is on. off == 0 means always on; on == 0 means never on. */
static inline struct mmc_phase mmc_schedule_phase(__u64 epoch, __u64 on, __u64 off, __u64 now)
{
	struct mmc_phase p = { 0, 0, 0 };
	__u64 period, t;

	if (now < epoch || on == 0) {
		p.remaining_ns = now < epoch ? epoch - now : ~0ULL;
		return p;
	}
	t = now - epoch;
	if (off == 0) {
		p.on = 1;
		p.remaining_ns = ~0ULL;
		return p;
	}
	period = on + off;
	p.burst = t / period;
	t = t % period;
	if (t < on) {
		p.on = 1;
		p.remaining_ns = on - t;
	} else {
		p.remaining_ns = period - t;
	}
	return p;
}

#endif /* MMCHAOS_SCHEDULE_H */
