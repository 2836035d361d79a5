/* Reading a TCP or UDP packet's addresses, ports and payload, from any hook: cgroup_skb (data
 * starts at the network header) and tc (after the Ethernet header). bpf_skb_load_bytes copies
 * into the stack, so non-linear skbs parse the same and no bounds proofs are needed. */
#ifndef MMCHAOS_PARSE_BPF_H
#define MMCHAOS_PARSE_BPF_H

#include <bpf/bpf_endian.h>

#include "mmchaos.h"

#define MMC_AF_INET 2
#define MMC_AF_INET6 10
#define MMC_ETH_P_IP 0x0800
#define MMC_ETH_P_IPV6 0x86DD
#define MMC_IPPROTO_TCP 6
#define MMC_IPPROTO_UDP 17

struct mmc_tcp_tuple {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* network byte order */
	__u16 dport;
	__u8 family;
};

#define MMC_TCP_FIN 0x01
#define MMC_TCP_RST 0x04
#define MMC_TCP_PSH 0x08

/* Where fields lie in the TCP and UDP headers, named from the kernel's structs. A packet's
 * layout is the protocol's, not the running kernel's: __builtin_offsetof is a compile-time
 * constant, where libbpf's offsetof on a vmlinux.h struct (preserve_access_index) becomes a
 * CO-RE relocation. The TCP flags (CWR..FIN) have no field of their own in struct tcphdr
 * (bitfields): they are the byte after the data offset, which follows ack_seq. */
#define MMC_TCP_FLAGS_OFF (__builtin_offsetof(struct tcphdr, ack_seq) + sizeof(__be32) + 1)
#define MMC_TCP_CSUM_OFF __builtin_offsetof(struct tcphdr, check)
#define MMC_UDP_CSUM_OFF __builtin_offsetof(struct udphdr, check)
_Static_assert(MMC_TCP_FLAGS_OFF == 13 && MMC_TCP_CSUM_OFF == 16 && MMC_UDP_CSUM_OFF == 6,
	       "TCP/UDP header offsets are the wire's");

/* Everything the tc hooks need about a TCP or UDP packet. */
struct mmc_l4 {
	struct mmc_tcp_tuple t;
	__u32 l4_off;      /* start of the TCP/UDP header */
	__u32 csum_off;    /* its checksum field */
	__u32 payload_off;
	__u32 payload_len; /* from the IP length: Ethernet padding is not payload */
	__u32 seq;         /* TCP, host byte order */
	__u32 ack_seq;     /* TCP, as on the wire (only compared) */
	__u8 proto;        /* MMC_IPPROTO_TCP or MMC_IPPROTO_UDP */
	__u8 tcp_flags;
};

/* IPv6 extension headers skipped on the way to TCP/UDP (RFC 8200 4.1): hop-by-hop options,
 * routing, fragment (an atomic one only), destination options; a chain of at most this many. */
#define MMC_IPV6_HOPOPTS 0
#define MMC_IPV6_ROUTING 43
#define MMC_IPV6_FRAGMENT 44
#define MMC_IPV6_DSTOPTS 60
#define MMC_IPV6_MAX_EXT 4

/* Parses IPv4 (with options) or IPv6 (with the extension headers above) + TCP/UDP at l3.
 * Returns 0, or -1 for anything else: a fragment (no L4 header to trust, or only part of the
 * segment), a header cut short, an unknown or too long extension header chain. */
static __always_inline int mmc_parse_l4(struct __sk_buff *skb, __u32 l3, __u16 proto_be,
					struct mmc_l4 *p)
{
	__u32 l3_len, ip_len;

	if (proto_be == bpf_htons(MMC_ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0 || ip.ihl < 5)
			return -1;
		if (ip.frag_off & bpf_htons(0x3fff)) /* fragments: no L4 header to trust */
			return -1;
		p->proto = ip.protocol;
		p->t.family = MMC_AF_INET;
		p->t.saddr[0] = ip.saddr;
		p->t.daddr[0] = ip.daddr;
		l3_len = ip.ihl * 4;
		ip_len = bpf_ntohs(ip.tot_len);
	} else if (proto_be == bpf_htons(MMC_ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		__u8 nh;

		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)) < 0)
			return -1;
		p->t.family = MMC_AF_INET6;
		__builtin_memcpy(p->t.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->t.daddr, &ip6.daddr, 16);
		l3_len = sizeof(ip6);
		ip_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		nh = ip6.nexthdr;
		for (int i = 0; i < MMC_IPV6_MAX_EXT; i++) {
			__u8 ext[4]; /* next header, length (8-octet units beyond the first 8), ... */

			if (nh != MMC_IPV6_HOPOPTS && nh != MMC_IPV6_ROUTING &&
			    nh != MMC_IPV6_FRAGMENT && nh != MMC_IPV6_DSTOPTS)
				break;
			if (bpf_skb_load_bytes(skb, l3 + l3_len, ext, sizeof(ext)) < 0)
				return -1;
			if (nh == MMC_IPV6_FRAGMENT) {
				/* Fragment offset and M flag: only an atomic fragment holds the
				 * whole segment. The fragment header is 8 bytes, ext[1] reserved. */
				if (((ext[2] << 8) | ext[3]) & 0xfff9)
					return -1;
				l3_len += 8;
			} else {
				l3_len += (ext[1] + 1) * 8;
			}
			nh = ext[0];
		}
		p->proto = nh;
	} else {
		return -1;
	}
	p->l4_off = l3 + l3_len;
	if (p->proto == MMC_IPPROTO_TCP) {
		struct tcphdr th;
		__u32 doff;

		if (bpf_skb_load_bytes(skb, p->l4_off, &th, sizeof(th)) < 0)
			return -1;
		doff = th.doff * 4;
		if (doff < sizeof(th) || ip_len < l3_len + doff)
			return -1;
		p->t.sport = th.source;
		p->t.dport = th.dest;
		p->seq = bpf_ntohl(th.seq);
		p->ack_seq = th.ack_seq;
		p->tcp_flags = ((__u8 *)&th)[MMC_TCP_FLAGS_OFF];
		p->csum_off = p->l4_off + MMC_TCP_CSUM_OFF;
		p->payload_off = p->l4_off + doff;
		p->payload_len = ip_len - l3_len - doff;
	} else if (p->proto == MMC_IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, p->l4_off, &uh, sizeof(uh)) < 0 ||
		    ip_len < l3_len + sizeof(uh))
			return -1;
		p->t.sport = uh.source;
		p->t.dport = uh.dest;
		p->csum_off = p->l4_off + MMC_UDP_CSUM_OFF;
		p->payload_off = p->l4_off + sizeof(uh);
		p->payload_len = ip_len - l3_len - sizeof(uh);
	} else {
		return -1;
	}
	return 0;
}

/* port (network byte order) is one of target.dns_ports. */
static __always_inline int mmc_is_dns_port(const struct mmc_config *cfg, __u16 port)
{
	for (int i = 0; i < 8; i++)
		if (cfg->dns_ports[i] && cfg->dns_ports[i] == port)
			return 1;
	return 0;
}

/* The endpoint a packet's remote end belongs to, or NULL. remote_is_src: ingress. */
static __always_inline struct mmc_endpoint_val *mmc_endpoint_of(const struct mmc_tcp_tuple *t,
								int remote_is_src)
{
	struct mmc_endpoint_key key = {};

	key.family = t->family;
	key.port = remote_is_src ? t->sport : t->dport;
	__builtin_memcpy(key.addr, remote_is_src ? t->saddr : t->daddr, 16);
	return bpf_map_lookup_elem(&mmc_endpoints, &key);
}

#endif /* MMCHAOS_PARSE_BPF_H */
