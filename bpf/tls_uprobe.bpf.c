// SPDX-License-Identifier: GPL-2.0
/* exch_429 / exch_5xx / rate_limit_storm on TLS endpoints, kernel mechanism: uprobes on the
 * libssl the engine's processes map, attached per process (userspace/uprobe/process_uprobes.h)
 * and filtered again here by the target cgroup.
 *
 * - SSL_write / SSL_write_ex entry: a request line ("METHOD ") whose Host header names a TLS REST
 *   endpoint of target.exchanges (mmc_tls_eps) arms the connection, keyed by (process, SSL *),
 *   before the request leaves, so its response cannot come first; any other request disarms it.
 * - SSL_read / SSL_read_ex entry: for an armed connection, remembers where the plaintext goes (and
 *   where SSL_read_ex stores its length) for this thread.
 * - their return: follows "HTTP/1.x NNN" across reads (the BPF twin of
 *   userspace/preload/http_stream.h: at most 12 bytes per response, past interim answers such
 *   as 100 Continue, whose heads are skipped to their blank line), takes the one fault decision
 *   (fault.bpf.h: probability, bursts, rollout, shadow, heartbeat) at the first status digit in
 *   the data plane's order (a storm burst, then exch_429, then exch_5xx: tc_ingress.bpf.c), and
 *   when live writes the three digits into the engine's buffer with bpf_probe_write_user before
 *   SSL_read returns to it. Nothing else in the stream changes.
 * - REST accounting of the TLS flows (while cfg->tls_accounting; the cgroup hooks, which see
 *   only encrypted records there, then count none of them): the request starts when the engine
 *   writes its request line (op: the order_requests line it starts with, else other) and ends
 *   when its status line has passed, with the status the engine gets (after a rewrite here: an
 *   injected 429 is a 429). Counts, latency and the experiment's events go into the data
 *   plane's maps (request_end.bpf.h), exactly as for plaintext flows. Latency runs from the
 *   engine's SSL_write to its SSL_read that returns the status: the library's time included.
 *   SSL_free ends a request still outstanding (abandoned) and drops the connection's entry.
 *
 * A separate object, like clock_skew's: bpf_probe_write_user is refused under kernel lockdown and
 * that must not stop the rest from loading. Its shared maps are the data plane's (same names,
 * bpf_map__reuse_fd): config, counters, heartbeat, the injection log and the request accounting. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MMC_MAPS_OWNER
#define MMC_NOW() bpf_ktime_get_ns() /* tracing programs may not read the coarse clock */
#include "fault.bpf.h"
#include "request_end.bpf.h"
#include "tls.h"

/* The request head read from the engine's buffer: enough for the request line and the Host
 * header of an exchange API request (a power of two: indexes are masked with it). */
#define MMC_TLS_HEAD 512
/* One read may skip this much of an interim answer's head to reach the final response after it
 * (100 Continue and 103 Early Hints heads are a line or a few). At most MMC_TLS_HEAD: its copy
 * is as large as the head's, so that MMC_AT indexes both. */
#define MMC_TLS_INTERIM 256
_Static_assert(MMC_TLS_INTERIM <= MMC_TLS_HEAD, "the interim copy is indexed with MMC_AT");

/* The engine's cgroup v2 (index 0), for bpf_current_task_under_cgroup: descendants count. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mmc_tls_cg SEC(".maps");

/* The TLS REST endpoints as requests name them in Host (lower case, IPv6 without brackets), and
 * the index of the exchange each belongs to (target.exchanges' order: the accounting's). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MMC_TLS_MAX_ENDPOINTS);
	__type(key, struct mmc_tls_authority);
	__type(value, __u8);
} mmc_tls_eps SEC(".maps");

/* mmc_tls_h2_preface's connections (tls.h), for the controller's report. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mmc_tls_h2 SEC(".maps");

/* One connection: the process and its SSL object. */
struct mmc_tls_conn_key {
	__u64 tgid;
	__u64 ssl;
};

/* Its response stream (http_stream.h's struct mmc_http_stream), flow id for the rollout, and the
 * request outstanding on it (request.bpf.h's accounting, while cfg->tls_accounting). */
struct mmc_tls_conn {
	__u8 expect;  /* a request was written; its status line has not passed yet */
	__u8 pos;     /* bytes of "HTTP/1.x NNN" seen so far (0..12) */
	__u8 rewrite; /* the digits are replaced by code */
	__u8 code[3];
	__u8 req_pending; /* a request was counted and its status has not passed yet */
	__u8 op;	  /* its op: the order_requests line it starts with, else MMC_OP_OTHER */
	__u8 exchange;
	__u8 interim; /* the status is 1xx: not decided; at pos 12 its head is being skipped */
	__u16 status; /* the status as the engine gets it (after a rewrite), digit by digit */
	__u8 eol;     /* line ends in a row (CR aside) while skipping it: the second ends it */
	__u8 pad[3];
	__u64 flow;
	__u64 sent_ns; /* when the engine wrote it */
};

/* LRU: a connection the engine never freed cleanly cannot fill the table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mmc_tls_conn_key);
	__type(value, struct mmc_tls_conn);
} mmc_tls_conns SEC(".maps");

/* An SSL_read(_ex) of an armed connection in flight, by thread. */
struct mmc_tls_call {
	__u64 ssl;
	__u64 buf;
	__u64 readbytes; /* SSL_read_ex's size_t *, 0 for SSL_read */
	__u32 depth; /* nested calls on this thread (libssl calling itself): only the outermost */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mmc_tls_call);
} mmc_tls_calls SEC(".maps");

/* mmc_tls_request_host's state between bpf_loop steps. In the scratch map, not on the stack:
 * older verifiers (Debian 12's 6.1, measured) check a bpf_loop callback once, with the caller's
 * stack as it was at the call, so a state field that was a constant there had its other cases
 * pruned as dead code: the step never advanced. A map value is never a known constant. */
struct mmc_tls_host {
	__u32 n;       /* bytes in the head */
	__u32 step;    /* enum mmc_tls_host_step */
	__u32 skip;    /* the next byte to look at */
	__u32 len;     /* name bytes so far */
	__u32 bracket; /* the name is in [brackets] */
	__u32 port;
};

/* mmc_tls_skip_interim's state between bpf_loop steps (in the scratch map for the same reason). */
struct mmc_tls_skip {
	__u32 n;     /* bytes read */
	__u32 eol;   /* line ends in a row so far (struct mmc_tls_conn's) */
	__u32 found; /* the bytes up to the blank line, 0 while not found */
};

/* Per-CPU scratch for the request head, the Host key (too large for the BPF stack), the Host
 * parser's state, and an interim answer's head being skipped. */
struct mmc_tls_scratch {
	__u8 head[MMC_TLS_HEAD];
	struct mmc_tls_authority key;
	struct mmc_tls_host host;
	__u8 interim[MMC_TLS_HEAD]; /* the first MMC_TLS_INTERIM bytes are used */
	struct mmc_tls_skip skip;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mmc_tls_scratch);
} mmc_tls_scr SEC(".maps");

/* A TLS status rewrite is configured, or these programs account the TLS flows' requests (the
 * cheap first check of every probe). */
static __always_inline const struct mmc_config *mmc_tls_config(void)
{
	const struct mmc_config *cfg = mmc_config();

	if (!cfg || !cfg->armed)
		return NULL;
	if (!cfg->prob[MMC_SCN_RATE_LIMIT_STORM] && !cfg->prob[MMC_SCN_EXCH_429] &&
	    !cfg->prob[MMC_SCN_EXCH_5XX] && !cfg->tls_accounting)
		return NULL;
	return cfg;
}

/* The request outstanding on c ended (request.bpf.h's mmc_request_end): the status as the
 * engine got it, 0 when its response was no HTTP/1 status line. */
static __always_inline void mmc_tls_request_end(const struct mmc_config *cfg,
						struct mmc_tls_conn *c, __u32 outcome, __u16 status)
{
	struct mmc_req_end r = {};

	if (!c->req_pending)
		return;
	c->req_pending = 0;
	if (!cfg || !cfg->tls_accounting)
		return;
	r.sent_ns = c->sent_ns;
	r.flow = c->flow;
	r.status = status;
	r.exchange = c->exchange;
	r.op = c->op;
	r.outcome = outcome;
	r.tls = 1;
	mmc_request_finish(cfg, &r);
}

static __always_inline int mmc_tls_prefix(const __u8 *b, __u32 n, const char *m, __u32 len)
{
	if (n < len)
		return 0;
	for (__u32 i = 0; i < len && i < 8; i++)
		if (b[i] != (__u8)m[i])
			return 0;
	return 1;
}

/* http_stream.h's mmc_http_is_request. */
static __always_inline int mmc_tls_is_request(const __u8 *b, __u32 n)
{
	return mmc_tls_prefix(b, n, "GET ", 4) || mmc_tls_prefix(b, n, "POST ", 5) ||
	       mmc_tls_prefix(b, n, "PUT ", 4) || mmc_tls_prefix(b, n, "DELETE ", 7) ||
	       mmc_tls_prefix(b, n, "PATCH ", 6) || mmc_tls_prefix(b, n, "OPTIONS ", 8) ||
	       mmc_tls_prefix(b, n, "HEAD ", 5);
}

/* "HTTP/1." as bytes, first in the lowest (no string constant: .rodata). */
#define MMC_TLS_HTTP1 0x2e312f50545448ULL

/* head[i] (or interim[i]), the index masked where the verifier sees it (clang drops a mask it
 * can prove redundant, and the verifier may not have followed that proof). */
static __always_inline __u8 mmc_tls_at(const __u8 *h, __u32 i)
{
	asm volatile("" : "+r"(i));
	return h[i & (MMC_TLS_HEAD - 1)];
}

#define MMC_AT(h, i) mmc_tls_at((h), (i))

/* http_stream.h's mmc_http_request_host as a state machine over the request head, one byte per
 * step of bpf_loop (its callback is verified once, where an open-coded loop over the head would
 * be verified path by path). The key is the scratch's: the Host value lower-cased (IPv6 without
 * brackets, NUL padded) and its port (443 when it names none). */
enum mmc_tls_host_step {
	MMC_HOST_SEEK = 0, /* looking for "\nHost:" */
	MMC_HOST_SPACE,	   /* blanks before the value */
	MMC_HOST_NAME,	   /* the name (or the IPv6 address inside brackets) */
	MMC_HOST_AFTER,	   /* after it: ':' and a port, or the end */
	MMC_HOST_PORT,	   /* the port's digits */
	MMC_HOST_FOUND,
	MMC_HOST_NONE,
};

static __always_inline int mmc_tls_host_end(__u8 c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

static long mmc_tls_host_byte(__u32 i, void *ctx)
{
	struct mmc_tls_scratch *s;
	struct mmc_tls_host *f;
	__u32 zero = 0, k;
	const __u8 *h;
	__u8 c;

	s = bpf_map_lookup_elem(&mmc_tls_scr, &zero);
	if (!s)
		return 1;
	f = &s->host;
	if (i >= f->n || i >= MMC_TLS_HEAD) {
		/* The head ends inside the value: what was read of it is the value. */
		f->step = f->step == MMC_HOST_NAME && !f->bracket		  ? MMC_HOST_FOUND
			  : f->step == MMC_HOST_AFTER || f->step == MMC_HOST_PORT ? MMC_HOST_FOUND
										  : MMC_HOST_NONE;
		return 1;
	}
	if (i < f->skip)
		return 0;
	h = s->head;
	c = MMC_AT(h, i);
	switch (f->step) {
	case MMC_HOST_SEEK:
		if (c != '\n' || i + 6 >= f->n)
			return 0;
		if (MMC_AT(h, i + 1) == '\r' || MMC_AT(h, i + 1) == '\n') {
			f->step = MMC_HOST_NONE; /* end of the head */
			return 1;
		}
		if ((MMC_AT(h, i + 1) | 0x20) == 'h' && (MMC_AT(h, i + 2) | 0x20) == 'o' &&
		    (MMC_AT(h, i + 3) | 0x20) == 's' && (MMC_AT(h, i + 4) | 0x20) == 't' &&
		    MMC_AT(h, i + 5) == ':') {
			f->step = MMC_HOST_SPACE;
			f->skip = i + 6;
		}
		return 0;
	case MMC_HOST_SPACE:
		if (c == ' ' || c == '\t')
			return 0;
		f->step = MMC_HOST_NAME;
		if (c == '[') {
			f->bracket = 1;
			return 0;
		}
		/* fall through: the first byte of the name */
	case MMC_HOST_NAME:
		if (mmc_tls_host_end(c) || c == (f->bracket ? ']' : ':')) {
			if (f->len == 0 || (f->bracket && c != ']')) {
				f->step = MMC_HOST_NONE;
				return 1;
			}
			f->step = MMC_HOST_AFTER;
			if (c == ']')
				return 0;
			break; /* this byte is looked at as what follows the name */
		}
		k = f->len;
		if (k >= MMC_TLS_HOST_LEN - 1) {
			f->step = MMC_HOST_NONE;
			return 1;
		}
		s->key.host[k] = c >= 'A' && c <= 'Z' ? c | 0x20 : c;
		f->len = k + 1;
		return 0;
	case MMC_HOST_PORT:
		if (c >= '0' && c <= '9') {
			f->port = f->port * 10 + (c - '0');
			if (f->port > 65535) {
				f->step = MMC_HOST_NONE;
				return 1;
			}
			return 0;
		}
		f->step = MMC_HOST_FOUND;
		return 1;
	default:
		break;
	}
	if (f->step == MMC_HOST_AFTER) {
		if (c == ':') {
			f->step = MMC_HOST_PORT;
			return 0;
		}
		f->step = MMC_HOST_FOUND;
	}
	return 1;
}

/* Whether head[0..n) names a Host; the key (in the scratch, zeroed by the caller) is set. */
static __always_inline int mmc_tls_request_host(struct mmc_tls_scratch *s, __u32 n)
{
	struct mmc_tls_host *f = &s->host;
	__u32 unused = 0;

	__builtin_memset(f, 0, sizeof(*f));
	f->n = n;
	bpf_loop(MMC_TLS_HEAD + 1, mmc_tls_host_byte, &unused, 0);
	if (f->step != MMC_HOST_FOUND || f->len == 0)
		return 0;
	s->key.port = (__u16)(f->port ? f->port : 443);
	return 1;
}

/* The engine writes n bytes at buf on ssl (before they leave). */
static __always_inline void mmc_tls_wrote(void *ssl, const void *buf, __u64 n)
{
	const struct mmc_config *cfg = mmc_tls_config();
	struct mmc_tls_conn_key ck;
	struct mmc_tls_scratch *s;
	struct mmc_tls_conn conn = {}, *c;
	__u32 zero = 0, len;
	volatile __u32 vlen;
	__u8 *xp, exchange;
	int op;

	if (!cfg || !buf || n == 0)
		return;
	if (bpf_current_task_under_cgroup(&mmc_tls_cg, 0) != 1)
		return;
	s = bpf_map_lookup_elem(&mmc_tls_scr, &zero);
	if (!s)
		return;
	/* Through the stack: clang would otherwise pass n's register, not the checked one. */
	vlen = n > MMC_TLS_HEAD ? MMC_TLS_HEAD : (__u32)n;
	len = vlen;
	if (len == 0 || len > MMC_TLS_HEAD || bpf_probe_read_user(s->head, len, buf))
		return;
	if (!mmc_tls_is_request(s->head, len)) {
		__u64 *h2;

		if (mmc_tls_h2_preface(s->head, len) && (h2 = bpf_map_lookup_elem(&mmc_tls_h2, &zero)))
			__sync_fetch_and_add(h2, 1);
		return;
	}
	ck.tgid = bpf_get_current_pid_tgid() >> 32;
	ck.ssl = (__u64)ssl;
	__builtin_memset(&s->key, 0, sizeof(s->key));
	if (!mmc_tls_request_host(s, len) || !(xp = bpf_map_lookup_elem(&mmc_tls_eps, &s->key))) {
		c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);
		if (c)
			c->expect = 0;
		return;
	}
	exchange = *xp;
	c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);
	if (!c) {
		/* A rollout below 100% picks whole connections (the data plane: whole sockets). */
		conn.flow = (ck.tgid << 32) ^ ck.ssl;
		bpf_map_update_elem(&mmc_tls_conns, &ck, &conn, BPF_ANY);
		c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);
		if (!c)
			return;
	}
	c->expect = 1;
	c->pos = 0;
	c->rewrite = 0;
	c->status = 0;
	c->interim = 0;
	/* Accounting, as request.bpf.h's mmc_request_start: HTTP/1.1 without pipelining, one
	 * request outstanding per connection (a request written while one is outstanding is not
	 * counted again). */
	if (!cfg->tls_accounting || c->req_pending)
		return;
	op = mmc_tls_order_line(cfg->order_req, s->head, len);
	c->req_pending = 1;
	c->sent_ns = bpf_ktime_get_ns();
	c->op = op >= 0 ? (__u8)op : MMC_OP_OTHER;
	c->exchange = exchange;
	mmc_count_request(exchange, c->op, 0);
}

SEC("uprobe")
int BPF_KPROBE(mmc_tls_write, void *ssl, const void *buf, int num)
{
	if (num > 0)
		mmc_tls_wrote(ssl, buf, (__u64)num);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mmc_tls_write_ex, void *ssl, const void *buf, __u64 num)
{
	mmc_tls_wrote(ssl, buf, num);
	return 0;
}

/* A read starts on ssl: remembered only for an armed connection of a target thread. */
static __always_inline void mmc_tls_read_in(void *ssl, void *buf, void *readbytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mmc_tls_conn_key ck = {id >> 32, (__u64)ssl};
	struct mmc_tls_call call = {}, *cur;
	struct mmc_tls_conn *c;

	cur = bpf_map_lookup_elem(&mmc_tls_calls, &id);
	if (cur) {
		cur->depth++;
		return;
	}
	c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);
	if (!c || !c->expect || !buf)
		return;
	call.ssl = (__u64)ssl;
	call.buf = (__u64)buf;
	call.readbytes = (__u64)readbytes;
	bpf_map_update_elem(&mmc_tls_calls, &id, &call, BPF_ANY);
}

SEC("uprobe")
int BPF_KPROBE(mmc_tls_read, void *ssl, void *buf, int num)
{
	mmc_tls_read_in(ssl, buf, NULL);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mmc_tls_read_ex, void *ssl, void *buf, __u64 num, void *readbytes)
{
	mmc_tls_read_in(ssl, buf, readbytes);
	return 0;
}

/* One response's decision, at its first status digit: mmc_tls_decide()'s order (tls.h), each
 * scenario through mmc_decide (counted there when shadow); the first live one acts. Returns the
 * scenario to act as, MMC_SCN_MAX for none. */
static __always_inline __u32 mmc_tls_choose(const struct mmc_config *cfg, __u64 flow)
{
	if (cfg->prob[MMC_SCN_RATE_LIMIT_STORM] &&
	    mmc_decide_draw(cfg, MMC_SCN_RATE_LIMIT_STORM, MMC_DIR_INGRESS, flow, 1) == MMC_LIVE)
		return MMC_SCN_RATE_LIMIT_STORM;
	if (cfg->prob[MMC_SCN_EXCH_429] &&
	    mmc_decide(cfg, MMC_SCN_EXCH_429, MMC_DIR_INGRESS, flow) == MMC_LIVE)
		return MMC_SCN_EXCH_429;
	if (cfg->prob[MMC_SCN_EXCH_5XX] &&
	    mmc_decide(cfg, MMC_SCN_EXCH_5XX, MMC_DIR_INGRESS, flow) == MMC_LIVE)
		return MMC_SCN_EXCH_5XX;
	return MMC_SCN_MAX;
}

/* http_stream.h's skip of an interim head, one byte per bpf_loop step over the scratch's copy
 * (an open-coded loop ending at the read's unknown length is verified once per length). */
static long mmc_tls_interim_byte(__u32 i, void *ctx)
{
	struct mmc_tls_scratch *s;
	__u32 zero = 0;
	__u8 ch;

	s = bpf_map_lookup_elem(&mmc_tls_scr, &zero);
	if (!s || i >= s->skip.n || i >= MMC_TLS_INTERIM)
		return 1;
	ch = MMC_AT(s->interim, i);
	if (ch == '\n') {
		if (++s->skip.eol >= 2) {
			s->skip.found = i + 1;
			return 1;
		}
	} else if (ch != '\r') {
		s->skip.eol = 0;
	}
	return 0;
}

/* buf[0..n) follows a 1xx's status line: skips to the blank line that ends its head (across
 * reads: c->eol). Returns the bytes it took: n while the head goes on in a later read. A head
 * longer than one read can skip here ends the request, status unknown. */
static __always_inline __u64 mmc_tls_skip_interim(struct mmc_tls_conn *c, const __u8 *buf,
						  __u64 n)
{
	struct mmc_tls_scratch *s;
	__u32 zero = 0, len;
	volatile __u32 vlen;
	int unused = 0;

	s = bpf_map_lookup_elem(&mmc_tls_scr, &zero);
	if (!s)
		return n;
	vlen = n > MMC_TLS_INTERIM ? MMC_TLS_INTERIM : (__u32)n;
	len = vlen; /* through the stack, as in mmc_tls_wrote */
	if (len == 0 || len > MMC_TLS_INTERIM || bpf_probe_read_user(s->interim, len, buf)) {
		c->expect = 0;
		mmc_tls_request_end(mmc_config(), c, MMC_REQ_ANSWERED, 0);
		return n;
	}
	s->skip.n = len;
	s->skip.eol = c->eol;
	s->skip.found = 0;
	bpf_loop(MMC_TLS_INTERIM, mmc_tls_interim_byte, &unused, 0);
	if (s->skip.found) {
		c->pos = 0;
		c->status = 0;
		c->interim = 0;
		return s->skip.found;
	}
	c->eol = s->skip.eol;
	if (len < n) {
		c->expect = 0;
		mmc_tls_request_end(mmc_config(), c, MMC_REQ_ANSWERED, 0);
	}
	return n;
}

/* buf[0..n), n > 0, is where the status line goes on: http_stream.h's mmc_http_read on the
 * bytes that can still belong to it (12 - pos at most). Returns the bytes it took.
 * A global function: verified once per program on its own, where inlined into each of
 * mmc_tls_got's two rounds it was verified twice in every caller's state (the object loaded in
 * 4.1 s in the 6.1 guest under TCG, 1.8 s so). */
__noinline __u64 mmc_tls_status(struct mmc_tls_conn *c, __u64 ubuf, __u64 n)
{
	__u8 *buf = (__u8 *)ubuf;
	const struct mmc_config *cfg;
	__u32 len, i, at = 12;
	volatile __u32 vlen;
	__u8 b[16] = {};

	if (!c || c->pos >= 12)
		return n;
	vlen = 12 - c->pos;
	if (n < vlen)
		vlen = (__u32)n;
	len = vlen; /* through the stack, as in mmc_tls_wrote */
	if (len == 0 || len > 12 || bpf_probe_read_user(b, len, buf))
		return n;
	/* "HTTP/1.x " up to the first digit (at: its index in this read). */
	for (i = 0; i < 12; i++) {
		__u8 pos = c->pos, ch;
		int ok;

		if (pos >= 9) {
			at = i;
			break;
		}
		if (i >= len)
			return n;
		ch = b[i];
		ok = pos < 7	? ch == (__u8)(MMC_TLS_HTTP1 >> (8 * pos))
		     : pos == 7 ? ch >= '0' && ch <= '9'
				: ch == ' ';
		if (!ok) {
			/* Not an HTTP/1 status line: answered, status unknown (as plaintext). */
			c->expect = 0;
			mmc_tls_request_end(mmc_config(), c, MMC_REQ_ANSWERED, 0);
			return n;
		}
		c->pos = pos + 1;
	}
	if (at >= len)
		return n; /* the digits come in a later read */
	cfg = mmc_config();
	if (c->pos == 9) {
		__u8 ch = b[at & 15];
		__u32 scn;

		if (ch < '0' || ch > '9' || !cfg) {
			/* malformed: left alone, answered, status unknown. */
			c->expect = 0;
			mmc_tls_request_end(cfg, c, MMC_REQ_ANSWERED, 0);
			return n;
		}
		/* 1xx: an interim answer (or 101, an upgrade), never decided. */
		c->interim = ch == '1';
		scn = c->interim ? MMC_SCN_MAX : mmc_tls_choose(cfg, c->flow);
		c->rewrite = scn != MMC_SCN_MAX;
		if (scn == MMC_SCN_EXCH_5XX) {
			c->code[0] = cfg->status_5xx[0];
			c->code[1] = cfg->status_5xx[1];
			c->code[2] = cfg->status_5xx[2];
		} else {
			c->code[0] = '4';
			c->code[1] = '2';
			c->code[2] = '9';
		}
		if (c->rewrite) {
			int ok = 1;

			if (ch != c->code[0])
				ok = bpf_probe_write_user(buf + at, &c->code[0], 1) == 0;
			mmc_acted_skb(cfg, scn, MMC_DIR_INGRESS, c->flow,
				      scn == MMC_SCN_RATE_LIMIT_STORM, ok, NULL);
			if (!ok)
				c->rewrite = 0;
		}
		c->status = ((c->rewrite ? c->code[0] : ch) - '0') * 100;
		at++;
		c->pos = 10;
	}
	/* The second and third digits, in this read or a later one. */
	for (i = 0; i < 2; i++) {
		__u8 pos = c->pos, ch;

		if (at >= len || pos < 10 || pos >= 12)
			break;
		ch = b[at & 15];
		if (ch < '0' || ch > '9') {
			c->expect = 0;
			mmc_tls_request_end(cfg, c, MMC_REQ_ANSWERED, 0);
			return n;
		}
		if (c->rewrite && ch != c->code[(pos - 9) & 3])
			bpf_probe_write_user(buf + at, &c->code[(pos - 9) & 3], 1);
		if (c->rewrite)
			ch = c->code[(pos - 9) & 3];
		c->status += (ch - '0') * (pos == 10 ? 10 : 1);
		at++;
		c->pos = pos + 1;
	}
	if (c->pos >= 12) {
		if (c->interim && c->status != 101) {
			c->eol = 0; /* its head is skipped next: the final response follows */
			return at;
		}
		/* The final status as the engine gets it (101: an upgrade, the last HTTP answer on
		 * the connection): a 429 injected here counts as a 429, as the cgroup hooks see
		 * plaintext responses after the tc rewrite. */
		c->expect = 0;
		mmc_tls_request_end(cfg, c, mmc_status_outcome(c->status), c->status);
	}
	return at;
}

/* The read returned n bytes at buf: the status line of the response outstanding, past the
 * interim answers before it (100 Continue), in two rounds: one read holds the rest of an
 * interim answer and the final status line after it. */
static __always_inline void mmc_tls_got(const struct mmc_tls_call *call, __u64 n)
{
	struct mmc_tls_conn_key ck = {bpf_get_current_pid_tgid() >> 32, call->ssl};
	__u8 *buf = (__u8 *)call->buf;
	struct mmc_tls_conn *c;
	__u64 off = 0;

	c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);
	if (!c || !c->expect)
		return;
	for (int round = 0; round < 2; round++) {
		if (c->interim && c->pos >= 12) {
			off += mmc_tls_skip_interim(c, buf + off, n - off);
			if (!c->expect || c->pos >= 12)
				return;
		}
		if (off >= n)
			return;
		off += mmc_tls_status(c, (__u64)(buf + off), n - off);
		if (!c->expect || !c->interim || c->pos < 12)
			return;
	}
}

static __always_inline void mmc_tls_read_out(long ret, int ex)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct mmc_tls_call *call, copy;

	call = bpf_map_lookup_elem(&mmc_tls_calls, &id);
	if (!call)
		return;
	if (call->depth) {
		call->depth--;
		return;
	}
	copy = *call;
	bpf_map_delete_elem(&mmc_tls_calls, &id);
	if (ex) {
		if ((int)ret != 1 || !copy.readbytes ||
		    bpf_probe_read_user(&n, sizeof(n), (void *)copy.readbytes))
			return;
	} else {
		if ((int)ret <= 0)
			return;
		n = (__u64)(int)ret;
	}
	if (n)
		mmc_tls_got(&copy, n);
}

SEC("uretprobe")
int BPF_KRETPROBE(mmc_tls_read_ret, long ret)
{
	mmc_tls_read_out(ret, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(mmc_tls_read_ex_ret, long ret)
{
	mmc_tls_read_out(ret, 1);
	return 0;
}

/* SSL_free entry: the connection's entry goes (its address may be reused); a request still
 * outstanding on it was given up by the engine (its deadline) or died with the connection: a
 * failure, as the cgroup hooks count an abandoned plaintext request. */
SEC("uprobe")
int BPF_KPROBE(mmc_tls_free, void *ssl)
{
	struct mmc_tls_conn_key ck = {bpf_get_current_pid_tgid() >> 32, (__u64)ssl};
	struct mmc_tls_conn *c = bpf_map_lookup_elem(&mmc_tls_conns, &ck);

	if (!c)
		return 0;
	if (c->req_pending)
		mmc_tls_request_end(mmc_config(), c, MMC_REQ_ABANDONED, 0);
	bpf_map_delete_elem(&mmc_tls_conns, &ck);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
