// SPDX-License-Identifier: GPL-2.0
/* Calibration programs of bench/bench.sh (not part of mmchaos; loaded only by the benchmark).
 *
 * bench_nop_egr/bench_nop_ingr do nothing but pass the packet. With kernel.bpf_stats_enabled=1
 * the kernel times every program run with two sched_clock() reads; what a do-nothing program
 * reports per packet is that timing overhead (plus an indirect call and "return 1"), which the
 * benchmark subtracts from the figures of mmchaos' programs measured on the same packets.
 *
 * bench_c_* each add one building block of mmchaos' packet path to the do-nothing program; their
 * ns/packet minus the nop's is that block's cost on this machine (the "breakdown" lines).
 *
 * Names avoid the mmc_ prefix, so `mmchaos status`/`rollback` never take them for mmchaos' own. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_cnt SEC(".maps");

volatile __u64 bench_sink;

SEC("cgroup_skb/egress")
int bench_nop_egr(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/ingress")
int bench_nop_ingr(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int bench_c_ktime(struct __sk_buff *skb)
{
	bench_sink = bpf_ktime_get_ns();
	return 1;
}

SEC("cgroup_skb/egress")
int bench_c_cookie(struct __sk_buff *skb)
{
	bench_sink = bpf_get_socket_cookie(skb);
	return 1;
}

SEC("cgroup_skb/egress")
int bench_c_prandom(struct __sk_buff *skb)
{
	bench_sink = bpf_get_prandom_u32();
	return 1;
}

SEC("cgroup_skb/egress")
int bench_c_count(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&bench_cnt, &zero);

	if (v)
		*v += 1;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
