/* The rewrites of exchange-protocol faults, on what the engine receives (tc ingress). Each takes
 * the parsed packet and the flow's state (the socket tag in production, a map entry in the
 * golden-packet tests) and changes bytes in place through mmc_rewrite_bytes, so checksums stay
 * right. None changes a packet's length. */
#ifndef MMCHAOS_REWRITE_BPF_H
#define MMCHAOS_REWRITE_BPF_H

#include "csum.bpf.h"
#include "http.bpf.h"
#include "parse.bpf.h"

/* "HTTP/1.x " at the start of the payload: a response's status line begins here. */
static __always_inline int mmc_http_status_start(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 b[9];

	if (p->payload_len < sizeof(b) || bpf_skb_load_bytes(skb, p->payload_off, b, sizeof(b)) < 0)
		return 0;
	return mmc_http_response_start(b) && b[5] == '1' && b[6] == '.' && b[8] == ' ';
}

/* The response starting in this segment is interim (1xx: 100 Continue, 101 Switching
 * Protocols): never rewritten, and not the end of a request. Only when the first digit is in
 * this segment; a status line cut before it is taken as final. */
static __always_inline int mmc_http_interim(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 d;

	if (p->payload_len < 10 || bpf_skb_load_bytes(skb, p->payload_off + 9, &d, 1) < 0)
		return 0;
	return d == '1';
}

/* Writes what of code[from..3) lies in this segment, starting at sequence number at; remembers
 * the rest in st for the segment that carries it. Returns 0, or -1 if the write failed (nothing
 * is left pending then). */
static __always_inline int mmc_http_write_code(struct __sk_buff *skb, const struct mmc_l4 *p,
					       __u32 at, const __u8 *code, __u32 from,
					       struct mmc_sk_tag *st)
{
	__u32 in_seg = p->seq + p->payload_len - at; /* bytes of this segment from `at` on */
	__u32 n = 3 - from;
	__u8 digits[3];

	if (from >= 3)
		return 0;
	if (n > in_seg)
		n = in_seg;
	/* Constant indexes only: older verifiers (6.1) lose the bound of code[from + i]. */
	if (from == 0) {
		digits[0] = code[0];
		digits[1] = code[1];
		digits[2] = code[2];
	} else if (from == 1) {
		digits[0] = code[1];
		digits[1] = code[2];
		digits[2] = 0;
	} else {
		digits[0] = code[2];
		digits[1] = 0;
		digits[2] = 0;
	}
	if (mmc_rewrite_bytes(skb, p->l4_off, p->csum_off, p->payload_off + (at - p->seq), digits,
			      n, 0) < 0) {
		st->pending = 0;
		return -1;
	}
	st->pending = 3 - from - n;
	if (st->pending) {
		st->pending_seq = at + n;
		st->pending_code[0] = code[0];
		st->pending_code[1] = code[1];
		st->pending_code[2] = code[2];
	}
	return 0;
}

/* Replaces the status code of the response starting in this segment (payload begins with
 * "HTTP/1.x ") by code, e.g. "429". Returns 0, or -1 if it could not be written. */
static __always_inline int mmc_http_set_status(struct __sk_buff *skb, const struct mmc_l4 *p,
					       const __u8 *code, struct mmc_sk_tag *st)
{
	return mmc_http_write_code(skb, p, p->seq + 9, code, 0, st);
}

/* Finishes a status code that the previous segment cut short. */
static __always_inline void mmc_http_continue(struct __sk_buff *skb, const struct mmc_l4 *p,
					      struct mmc_sk_tag *st)
{
	__u32 from;

	if (!st->pending || st->pending > 3)
		return;
	/* Only the segment that starts exactly where the code was cut: retransmissions and
	 * reordering fall outside and are left alone. */
	if (p->seq != st->pending_seq || !p->payload_len) {
		if ((__s32)(p->seq - st->pending_seq) > 0)
			st->pending = 0; /* we missed it: give up rather than write elsewhere */
		return;
	}
	from = 3 - st->pending;
	mmc_http_write_code(skb, p, p->seq, st->pending_code, from, st);
}

/* Turns this segment into a reset, as the exchange dropping the connection would: the engine's
 * socket sees ECONNRESET. The payload stays (Linux ignores data on a RST) so the length, and
 * with it the sequence space, is unchanged. */
static __always_inline int mmc_tcp_reset(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 flags = (p->tcp_flags | MMC_TCP_RST) & ~(MMC_TCP_PSH | MMC_TCP_FIN);

	return mmc_rewrite_bytes(skb, p->l4_off, p->csum_off, p->l4_off + MMC_TCP_FLAGS_OFF,
				 &flags, 1, 0);
}

/* A DNS response (QR set, a whole header): what dns_flap acts on. */
static __always_inline int mmc_dns_is_response(struct __sk_buff *skb, const struct mmc_l4 *p)
{
	__u8 flags;

	if (p->payload_len < 12 || bpf_skb_load_bytes(skb, p->payload_off + 2, &flags, 1) < 0)
		return 0;
	return flags & 0x80;
}

/* Sets the RCODE of a DNS response (2 SERVFAIL, 3 NXDOMAIN). */
static __always_inline int mmc_dns_set_rcode(struct __sk_buff *skb, const struct mmc_l4 *p,
					     __u8 rcode)
{
	__u8 hdr[4];

	if (p->payload_len < 12 || bpf_skb_load_bytes(skb, p->payload_off, hdr, 4) < 0)
		return -1;
	if (!(hdr[2] & 0x80)) /* QR: only responses */
		return -1;
	hdr[3] = (hdr[3] & 0xf0) | (rcode & 0x0f);
	return mmc_rewrite_bytes(skb, p->l4_off, p->csum_off, p->payload_off + 3, &hdr[3], 1,
				 BPF_F_MARK_MANGLED_0);
}

#define MMC_DNS_DROPPED 1

/* dns_flap's answer to a DNS response it chose: MMC_DNS_DROPPED when the packet is to be dropped
 * (rcode MMC_DNS_DROP: the engine's resolver times out), else the RCODE is rewritten in place
 * and 0, or -1 if that failed. */
static __always_inline int mmc_dns_answer(struct __sk_buff *skb, const struct mmc_l4 *p,
					  __u8 rcode)
{
	if (rcode == MMC_DNS_DROP)
		return MMC_DNS_DROPPED;
	return mmc_dns_set_rcode(skb, p, rcode) < 0 ? -1 : 0;
}

#endif /* MMCHAOS_REWRITE_BPF_H */
