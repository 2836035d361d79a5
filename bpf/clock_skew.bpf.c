// SPDX-License-Identifier: GPL-2.0
/* clock_skew_ms, kernel mechanism: a uprobe/uretprobe pair on the C library's clock_gettime.
 * The entry probe remembers where the caller wants the time written (only for threads in the
 * engine's cgroup and a configured clock class); the return probe takes the shared fault decision
 * and, when live, rewrites the timespec in the caller's memory with bpf_probe_write_user.
 *
 * A separate object from the cgroup/tc data plane: bpf_probe_write_user is refused under kernel
 * lockdown, and that must not stop the rest from loading. Its maps carry the same names as the
 * data plane's, and the loader makes them the very same maps (bpf_map__reuse_fd), so the config,
 * counters, heartbeat and injection log are shared. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MMC_MAPS_OWNER
#define MMC_NOW() bpf_ktime_get_ns() /* tracing programs may not read the coarse clock */
#include "fault.bpf.h"
#include "clock.h"

/* The engine's cgroup v2 (index 0), for bpf_current_task_under_cgroup: descendants count. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mmc_clk_cg SEC(".maps");

/* A clock_gettime call in flight, by thread: where the result goes. */
struct mmc_clk_call {
	__u64 tp; /* struct timespec * in the caller */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mmc_clk_call);
} mmc_clk_calls SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(mmc_clk_cgt_in, int clockid, void *tp)
{
	const struct mmc_config *cfg = mmc_config();
	struct mmc_clk_call call = {(__u64)tp};
	__u64 id;

	if (!cfg || !cfg->armed || !cfg->clock_skew_ns || !tp)
		return 0;
	if (!(mmc_clockid_class(clockid) & cfg->clock_mask))
		return 0;
	if (bpf_current_task_under_cgroup(&mmc_clk_cg, 0) != 1)
		return 0;
	id = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&mmc_clk_calls, &id, &call, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(mmc_clk_cgt_out, int ret)
{
	const struct mmc_config *cfg;
	struct mmc_clk_call *call;
	__u64 id = bpf_get_current_pid_tgid();
	__s64 ts[2]; /* struct timespec on 64-bit: tv_sec, tv_nsec */
	void *tp;

	call = bpf_map_lookup_elem(&mmc_clk_calls, &id);
	if (!call)
		return 0;
	tp = (void *)call->tp;
	bpf_map_delete_elem(&mmc_clk_calls, &id);
	cfg = mmc_config();
	if (!cfg || ret != 0)
		return 0;
	/* The flow of a clock read is the process: a rollout below 100% picks whole processes. */
	if (mmc_decide(cfg, MMC_SCN_CLOCK_SKEW, MMC_DIR_INGRESS, id >> 32) != MMC_LIVE)
		return 0;
	if (bpf_probe_read_user(ts, sizeof(ts), tp)) {
		mmc_acted(cfg, MMC_SCN_CLOCK_SKEW, MMC_DIR_INGRESS, id >> 32, 0);
		return 0;
	}
	mmc_clock_shift(&ts[0], &ts[1], cfg->clock_skew_ns);
	mmc_acted(cfg, MMC_SCN_CLOCK_SKEW, MMC_DIR_INGRESS, id >> 32,
		  bpf_probe_write_user(tp, ts, sizeof(ts)) == 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
