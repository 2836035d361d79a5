// SPDX-License-Identifier: GPL-2.0
/* Test-only program for golden-packet tests: runs the production rewrite routines
 * (bpf/rewrite.bpf.h) on whatever packet BPF_PROG_TEST_RUN feeds it, with the flow state in an
 * array map instead of a socket tag, so no socket or cgroup is needed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MMC_MAPS_OWNER
#include "maps.bpf.h"
#include "netdefs.bpf.h"
#include "rewrite.bpf.h"

enum test_op {
	TEST_HTTP_STATUS = 1,
	TEST_TCP_RESET = 2,
	TEST_DNS_RCODE = 3,
	TEST_DNS_ANSWER = 4, /* dns_flap's choice as tc ingress makes it: rewrite or drop */
};

#define TEST_DROPPED 1 /* the verdict for a packet production would drop */

struct test_cmd {
	__u32 op;
	__u8 code[3];
	__u8 rcode;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_cmd);
} test_cmd SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_sk_tag);
} test_state SEC(".maps");

SEC("tc")
int test_rewrite(struct __sk_buff *skb)
{
	struct mmc_sk_tag *st;
	struct test_cmd *cmd;
	struct mmc_l4 p = {};
	__u32 zero = 0;

	cmd = bpf_map_lookup_elem(&test_cmd, &zero);
	st = bpf_map_lookup_elem(&test_state, &zero);
	if (!cmd || !st || mmc_parse_l4(skb, ETH_HLEN, skb->protocol, &p) < 0)
		return 2; /* TC_ACT_SHOT: the test sees the parse failed */
	if (cmd->op == TEST_HTTP_STATUS) {
		if (st->pending)
			mmc_http_continue(skb, &p, st);
		else if (mmc_http_status_start(skb, &p))
			mmc_http_set_status(skb, &p, cmd->code, st);
	} else if (cmd->op == TEST_TCP_RESET) {
		mmc_tcp_reset(skb, &p);
	} else if (cmd->op == TEST_DNS_RCODE) {
		mmc_dns_set_rcode(skb, &p, cmd->rcode);
	} else if (cmd->op == TEST_DNS_ANSWER) {
          if (mmc_dns_is_response(skb, &p) &&
              mmc_dns_answer(skb, &p, cmd->rcode) == MMC_DNS_DROPPED)
            return TEST_DROPPED;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
