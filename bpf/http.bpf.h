/* Plaintext HTTP/1.x as the hooks recognise it, in one place: the cgroup ingress hook reads a
 * response's status code (request.bpf.h), tc ingress rewrites it (rewrite.bpf.h). */
#ifndef MMCHAOS_HTTP_BPF_H
#define MMCHAOS_HTTP_BPF_H

/* b, the first bytes of a payload (at least 5, already copied to the stack by the caller),
 * begin with "HTTP/": a response's status line. Compares only, so a caller's own load and
 * length check stay the only cost. */
static __always_inline int mmc_http_response_start(const __u8 *b)
{
	return b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/';
}

#endif /* MMCHAOS_HTTP_BPF_H */
