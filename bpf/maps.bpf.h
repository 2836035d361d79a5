/* The maps every mmchaos program shares. Defined once in maps.bpf.c (MMC_MAPS_OWNER) and
 * declared extern elsewhere; `bpftool gen object` links the program families into one object.
 * Names start with mmc_ (15 chars max): `mmchaos status` and `rollback` find them from any shell
 * by walking the kernel's map ids. */
#ifndef MMCHAOS_MAPS_BPF_H
#define MMCHAOS_MAPS_BPF_H

#include "mmchaos.h"

#ifdef MMC_MAPS_OWNER
#define MMC_MAP
#else
#define MMC_MAP extern
#endif

/* The controller's configuration: one entry, rewritten on SIGHUP without re-attaching. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_config);
} mmc_cfg SEC(".maps");

/* Per-CPU counters: no atomics or locks on the packet path. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MMC_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} mmc_counters SEC(".maps");

/* Injection log, drained by the controller into JSON lines. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mmc_events SEC(".maps");

/* Per-CPU token bucket of the injection log (events per one-second window). */
struct mmc_log_bucket {
	__u64 window_start_ns;
	__u64 used;
};

MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_log_bucket);
} mmc_logrl SEC(".maps");

/* The controller's heartbeat (CLOCK_MONOTONIC ns), refreshed every target.heartbeat_ms. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mmc_hb SEC(".maps");

/* The engine's exchange endpoints, resolved and re-resolved by the controller. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mmc_endpoint_key);
	__type(value, struct mmc_endpoint_val);
} mmc_endpoints SEC(".maps");

/* ifindexes of target.interfaces (in the engine's netns): the only devices steered to netem.
 * The value says where the tc programs redirect themselves (tcx links, kernel 6.6+); zeros where
 * u32 + mirred filters do it (clsact, older kernels). */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMC_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct mmc_iface);
} mmc_ifaces SEC(".maps");

/* tcx only: the far end of a bounce veth (ifindex) -> the target interface its packets go back
 * out of. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMC_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} mmc_bounce SEC(".maps");

/* Tags on the engine's endpoint sockets (see struct mmc_sk_tag). */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mmc_sk_tag);
} mmc_sk_tag SEC(".maps");

/* mm_partial_fail_rate's raw counts, see mmc_reqstat_slot(). */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MMC_REQSTAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} mmc_reqstats SEC(".maps");

/* mm_rest_latency_seconds's raw counts, see MMC_RESTLAT_STRIDE. */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MMC_RESTLAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} mmc_restlat SEC(".maps");

/* Finished REST requests for `mmchaos experiment` (struct mmc_req_event). */
MMC_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} mmc_requests SEC(".maps");

static __always_inline void mmc_count_request(__u32 exchange, __u32 op, __u32 failed)
{
	__u32 slot = mmc_reqstat_slot(exchange, op, failed);
	__u64 *v = bpf_map_lookup_elem(&mmc_reqstats, &slot);

	if (v)
		*v += 1;
}

static __always_inline void mmc_count_add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&mmc_counters, &slot);

	if (v)
		*v += n;
}

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
