/* Rewriting packet bytes in place with the L4 checksum kept right, from tc.
 * Each changed byte is folded into the checksum as a change of the 16-bit word that holds it,
 * counted from the start of the L4 header (the checksum's word alignment). bpf_l4_csum_replace
 * knows the skb's checksum state: with CHECKSUM_PARTIAL (from a local sender, e.g. over veth)
 * the payload is not yet summed and it leaves the field alone, which is what is needed. */
#ifndef MMCHAOS_CSUM_BPF_H
#define MMCHAOS_CSUM_BPF_H

#define MMC_MAX_REWRITE 4

/* Writes n (<= 4) bytes from newb at packet offset off. Returns 0, or -1 if a byte lies outside
 * the packet (nothing after it is written). */
static __always_inline int mmc_rewrite_bytes(struct __sk_buff *skb, __u32 l4_off, __u32 csum_off,
					     __u32 off, const __u8 *newb, __u32 n, __u64 csum_flags)
{
	for (__u32 i = 0; i < MMC_MAX_REWRITE; i++) {
		__u8 word_old[2] = {}, word_new[2];
		__u32 p = off + i, w;
		__u16 from, to;

		if (i >= n)
			break;
		w = p - ((p - l4_off) & 1);
		/* The last byte of an odd-length packet pairs with an implicit zero. */
		if (bpf_skb_load_bytes(skb, w, word_old, 2) < 0 &&
		    bpf_skb_load_bytes(skb, w, word_old, 1) < 0)
			return -1;
		/* Branches, not word_new[p - w]: the verifier rejects |= on a stack pointer. */
		if (p == w) {
			word_new[0] = newb[i];
			word_new[1] = word_old[1];
		} else {
			word_new[0] = word_old[0];
			word_new[1] = newb[i];
		}
		__builtin_memcpy(&from, word_old, 2);
		__builtin_memcpy(&to, word_new, 2);
		if (from == to)
			continue;
		if (bpf_skb_store_bytes(skb, p, &newb[i], 1, 0) < 0)
			return -1;
		bpf_l4_csum_replace(skb, csum_off, from, to, 2 | csum_flags);
	}
	return 0;
}

#endif /* MMCHAOS_CSUM_BPF_H */
