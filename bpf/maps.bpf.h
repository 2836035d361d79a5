/* The maps every mmchaos program shares. Names start with mmc_ (15 chars max): `mmchaos status`
 * and `rollback` find them from any shell by walking the kernel's map ids. */
#ifndef MMCHAOS_MAPS_BPF_H
#define MMCHAOS_MAPS_BPF_H

#include "mmchaos.h"

/* The controller's configuration: one entry, rewritten on SIGHUP without re-attaching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_config);
} mmc_cfg SEC(".maps");

/* Per-CPU counters: no atomics or locks on the packet path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MMC_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} mmc_counters SEC(".maps");

/* Injection log, drained by the controller into JSON lines. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mmc_events SEC(".maps");

/* Per-CPU token bucket of the injection log (one token per event, refilled per second). */
struct mmc_log_bucket {
	__u64 window_start_ns;
	__u64 used;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_log_bucket);
} mmc_logrl SEC(".maps");

static __always_inline void mmc_count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&mmc_counters, &slot);

	if (v)
		*v += 1; /* per-CPU slot: a plain add is race-free */
}

static __always_inline const struct mmc_config *mmc_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mmc_cfg, &zero);
}

#endif /* MMCHAOS_MAPS_BPF_H */
