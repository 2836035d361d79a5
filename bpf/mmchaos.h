/* Types shared by the BPF data plane and the userspace controller: scenario ids, the
 * configuration record the controller writes, counter slots and injection-log events.
 * Plain C with fixed-size fields so both sides agree on layout byte for byte. */
#ifndef MMCHAOS_H
#define MMCHAOS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The seed suite's eleven scenarios, in its order. Also the metric label order. */
enum mmc_scenario {
	MMC_SCN_NET_LOSS = 0,
	MMC_SCN_EXCH_429,
	MMC_SCN_EXCH_5XX,
	MMC_SCN_LAT_SPIKE,
	MMC_SCN_WS_LAG,
	MMC_SCN_WS_DISCONNECT,
	MMC_SCN_DNS_FLAP,
	MMC_SCN_CLOCK_SKEW,
	MMC_SCN_MEM_PRESSURE,
	MMC_SCN_RATE_LIMIT_STORM,
	MMC_SCN_RECONCILE_MISMATCH,
	MMC_SCN_MAX,
};

enum mmc_mode {
	MMC_MODE_LIVE = 0,
	MMC_MODE_SHADOW = 1,
	MMC_MODE_MAX,
};

/* Slots of the per-CPU counter array: per-scenario decisions first, then data-plane stats. */
/* mm_ws_gap_ms: bucket upper bounds (ms) of the kernel's gap histogram; a last bucket is +Inf. */
#define MMC_WSGAP_BOUNDS_MS {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500}
#define MMC_WSGAP_BUCKETS 12

enum mmc_stat {
	MMC_STAT_PKTS_EGRESS = (int)MMC_SCN_MAX * (int)MMC_MODE_MAX,
	MMC_STAT_PKTS_INGRESS,
	MMC_STAT_EVENTS_SUPPRESSED, /* injection-log events over the rate limit */
	MMC_STAT_EVENTS_LOST,       /* ring buffer full */
	MMC_STAT_PKTS_TC_INGRESS,   /* packets seen by the tc ingress hook (all of the interface) */
	MMC_STAT_PKTS_TC_EGRESS,    /* packets seen by the tc egress hook (tcx only; all of it) */
	MMC_STAT_CONNECT_REST,      /* the engine's connect() calls to REST endpoints */
	MMC_STAT_CONNECT_WS,        /* ... to WebSocket endpoints */
	MMC_STAT_WSGAP_SUM_US,      /* mm_ws_gap_ms: sum of gaps (us) */
	MMC_STAT_WSGAP_COUNT,
	MMC_STAT_WSGAP_BUCKET0,     /* gaps <= MMC_WSGAP_BOUNDS_MS[i], not cumulative */
	MMC_STAT_REQ_EVENTS_LOST = MMC_STAT_WSGAP_BUCKET0 + MMC_WSGAP_BUCKETS, /* mmc_requests full */
	/* A delay's burst was over, but the flow still had packets in the netem, so the packet
	 * waited for them (the drain class) instead of overtaking them. */
	MMC_STAT_LAT_SPIKE_HELD,
	MMC_STAT_WS_LAG_HELD,
	/* + scenario: live decisions whose action did not take effect (a rewrite outside the
	 * packet, a failed redirect or user-memory write): never counted as live injections. */
	MMC_STAT_ACTION_FAILED0,
	MMC_COUNTER_SLOTS = MMC_STAT_ACTION_FAILED0 + MMC_SCN_MAX,
};


/* Request accounting for mm_partial_fail_rate{op,exchange}: [exchange][op][requests|failures].
 * op: 0..3 = the configured order_requests, 4 = any other request. */
#define MMC_MAX_EXCHANGES 8
#define MMC_OPS 5
#define MMC_OP_OTHER 4
#define MMC_REQSTAT_SLOTS (MMC_MAX_EXCHANGES * MMC_OPS * 2)

static inline __u32 mmc_reqstat_slot(__u32 exchange, __u32 op, __u32 failed)
{
	return ((exchange % MMC_MAX_EXCHANGES) * MMC_OPS + (op % MMC_OPS)) * 2 + (failed ? 1 : 0);
}

/* Kernel-observed REST latency, request sent -> first response byte, per exchange:
 * mm_rest_latency_seconds{exchange}. Per exchange: MMC_RESTLAT_BUCKETS non-cumulative buckets
 * (upper bounds in mmc_restlat_bounds_ms, the last one +Inf), then the sum (us) and the count. */
#define MMC_RESTLAT_BUCKETS 14
#define MMC_RESTLAT_STRIDE (MMC_RESTLAT_BUCKETS + 2)
#define MMC_RESTLAT_SUM_US MMC_RESTLAT_BUCKETS
#define MMC_RESTLAT_COUNT (MMC_RESTLAT_BUCKETS + 1)
#define MMC_RESTLAT_SLOTS (MMC_MAX_EXCHANGES * MMC_RESTLAT_STRIDE)
#define MMC_RESTLAT_BOUNDS_MS {1, 2, 5, 10, 25, 50, 100, 150, 200, 250, 500, 1000, 2500}

/* The latency bucket of a request that took ns (the data plane's and the TLS preload's). */
static inline __attribute__((always_inline)) __u32 mmc_restlat_bucket(__u64 ns)
{
	static const __u32 bounds_ms[MMC_RESTLAT_BUCKETS - 1] = MMC_RESTLAT_BOUNDS_MS;

	for (int i = 0; i < MMC_RESTLAT_BUCKETS - 1; i++)
		if (ns <= (__u64)bounds_ms[i] * 1000000ULL)
			return i;
	return MMC_RESTLAT_BUCKETS - 1;
}

/* How a REST request of the engine ended, as the kernel saw it. */
enum mmc_req_outcome {
	MMC_REQ_ANSWERED = 0,  /* a response started (any status but 429/5xx) */
	MMC_REQ_HTTP_FAIL = 1, /* a response started with 429 or 5xx */
	MMC_REQ_RESET = 2,     /* the connection was reset before a response */
	MMC_REQ_ABANDONED = 3, /* the engine closed or reset it first: its deadline passed */
};

/* A final HTTP status that counts as the request failing (mm_partial_fail_rate). */
static inline __attribute__((always_inline)) __u32 mmc_status_outcome(__u16 status)
{
	return status == 429 || status >= 500 ? MMC_REQ_HTTP_FAIL : MMC_REQ_ANSWERED;
}

/* One finished REST request (ring buffer mmc_requests, only while cfg->req_events is set). */
struct mmc_req_event {
	__u64 ts_ns;      /* CLOCK_MONOTONIC, when it finished */
	__u64 latency_ns; /* request sent -> first response byte (or reset / abandon) */
	__u64 flow;       /* socket cookie */
	__u16 status;     /* HTTP status (plaintext, or TLS read in the engine's library), else 0 */
	__u8 exchange;
	__u8 op;
	__u8 outcome; /* enum mmc_req_outcome */
	__u8 tls;
	__u8 pad[2];
};

static inline __u32 mmc_injection_slot(enum mmc_scenario scn, enum mmc_mode mode)
{
	return (__u32)scn * MMC_MODE_MAX + (__u32)mode;
}

/* Probabilities and the rollout share are thresholds against a uniform 32-bit draw:
 * hit <=> draw < threshold, so 1.0 is 1 << 32 (always) and 0 never hits. */
#define MMC_P_ONE (1ULL << 32)

/* dns_rcode value for dns_answer: timeout. RCODE is a 4-bit field, so no real code collides:
 * the answer is dropped and the engine's resolver times out. */
#define MMC_DNS_DROP 0xff

/* Written by the controller into the single entry of the mmc_cfg array map. Times are
 * CLOCK_MONOTONIC nanoseconds (the programs read it with bpf_ktime_get_coarse_ns). */
struct mmc_config {
	__u64 epoch_ns; /* start of the first burst */
	__u64 on_ns;    /* burst on-phase length */
	__u64 off_ns;   /* off-phase length; 0 = always on */
	__u64 rollout_threshold;
	__u64 prob[MMC_SCN_MAX];
	__u32 armed;    /* 0: decide nothing (chaos.enabled false) */
	__u32 dry_run;  /* 1: shadow mode, decide and count, never act */
	__u32 seed;     /* per-run salt of the rollout hash */
	__u32 events_per_sec; /* injection-log rate limit per CPU */
	/* netem steering: a steered packet gets mark (so the interface's u32 filter redirects it to
	 * the ifb) and priority (so the ifb's HTB puts it in the netem class). */
	__u32 egress_mark;   /* lat_spike: the engine's REST packets, outbound */
	__u32 egress_class;  /* HTB class id (major:minor) of the REST netem */
	__u32 ingress_mark;  /* ws_lag: the engine's WebSocket packets, inbound */
	__u32 ingress_class; /* HTB class id of the WebSocket netem */
	/* Programs that outlive the controller (tc filters persist) stop deciding once the
	 * heartbeat in mmc_hb is older than this; 0 = no heartbeat check (cgroup-only runs). */
	__u64 heartbeat_timeout_ns;
	/* Exchange-protocol faults. */
	__u16 dns_ports[8];  /* target.dns_ports, network byte order, 0 = unused */
	__u8 status_5xx[3];  /* exch_5xx's status code as ASCII digits ("503") */
	__u8 dns_rcode;      /* dns_flap's answer: 2 SERVFAIL, 3 NXDOMAIN, MMC_DNS_DROP */
	__u32 tag_sockets;   /* exchanges are named: the egress hook tags the engine's sockets */
	__u32 req_events;    /* an experiment reads mmc_requests: emit one event per request */
	/* "METHOD /path" prefixes of order requests (reconcile_mismatch), NUL padded. */
	__u8 order_req[4][32];
	/* clock_skew (uprobe mechanism): the offset added to the engine's clock reads while a burst
	 * is on, and which clocks (MMC_CLOCK_* of clock.h). */
	__s64 clock_skew_ns;
	__u32 clock_mask;
	/* 1: a TLS mechanism in the engine's TLS library (bpf/tls.h) chooses order requests on TLS
	 * flows by their request line, so this program leaves those flows' reconcile_mismatch to
	 * it; 0: it resets the answer to any request on a TLS flow (the only thing it can tell). */
	__u32 tls_library;
	/* 1: the mechanism in the engine's TLS library (tls_uprobe.bpf.c) accounts the requests of
	 * TLS flows (op by their request line, status as the engine gets it), so the cgroup hooks
	 * count none of them; 0: the cgroup hooks do, by TLS record (op "request", status unknown:
	 * latency and resets only). */
	__u32 tls_accounting;
	/* Per delay, where a flow's packets wait for its packets still in the netem once a burst is
	 * over (HTB class of an fq that releases each at its skb->tstamp), and for how long after
	 * the flow's last delayed packet one may still be there (delay + jitter + margin). */
	__u32 egress_drain_class;  /* lat_spike */
	__u32 ingress_drain_class; /* ws_lag */
	__u64 lat_spike_hold_ns;
	__u64 ws_lag_hold_ns;
};

/* target.interfaces the tc path can steer (entries of mmc_ifaces, and bounce veths). */
#define MMC_MAX_IFACES 64

/* Where the tc programs send steered packets themselves (tcx links, kernel 6.6+); all 0 where
 * clsact filters do it. Value of mmc_ifaces, keyed by a target interface's ifindex. */
struct mmc_iface {
	__u32 ifb;       /* ws_lag: inbound packets are redirected into this ifb's egress */
	__u32 bounce_in; /* lat_spike: outbound packets into this veth, whose root qdisc is netem */
};

/* An outbound packet on its way through the bounce veth carries this mark; nothing else is
 * let through on the veth's far end. */
#define MMC_MARK_BOUNCE 0x6d6d0003U

/* Flow classes of the engine's exchange endpoints (target.exchanges). */
enum mmc_flow_class {
	MMC_FLOW_NONE = 0,
	MMC_FLOW_REST = 1,
	MMC_FLOW_WS = 2,
	MMC_FLOW_DNS = 3,
};

/* Key of mmc_endpoints: the remote end of a flow, as the packet carries it. */
struct mmc_endpoint_key {
	__u8 family; /* AF_INET (2) or AF_INET6 (10) */
	__u8 pad;
	__u16 port;  /* network byte order */
	__u32 addr[4]; /* IPv4 in addr[0]; network byte order */
};

struct mmc_endpoint_val {
	__u8 cls;      /* enum mmc_flow_class */
	__u8 exchange; /* index into target.exchanges */
	__u8 tls;      /* https/wss: payload is encrypted, no rewrite applies */
	__u8 pad;
};

/* Socket-local tag written by the cgroup egress hook on the engine's endpoint sockets, read by
 * the tc ingress hook after a socket lookup: "this socket is the engine's". */
struct mmc_sk_tag {
	__u64 cookie; /* socket cookie: the flow id the rollout hash uses */
	__u32 cls;
	__u8 exchange;
	__u8 tls;
	__u8 lose_response; /* reconcile_mismatch decided on the last order request */
	__u8 pad;
	__u64 last_ws_draw_ns; /* ws_disconnect draws once per connection per second */
	/* A status line split across segments: digits still to write, from pending_seq on. */
	__u32 pending_seq;
	__u8 pending_code[3];
	__u8 pending; /* how many of pending_code's trailing digits are still to write */
	__u64 last_ws_rx_ns; /* last inbound WebSocket data: mm_ws_gap_ms */
	__u8 last_op;        /* op of the last REST request, for failure accounting */
	__u8 req_pending;    /* a request was sent and no response has started yet */
	/* Plaintext REST: a data segment with no request outstanding did not start one, and the
	 * engine had then acknowledged up to req_idle_ack. Until the exchange sends it more, no
	 * request can start (HTTP/1.1, no pipelining): the egress hook skips the payload check. */
	__u8 req_idle;
	__u8 pad3;
	__u32 req_idle_ack;
	__u64 req_sent_ns;   /* when that request's first segment left */
	/* The response status line the tc hook last judged, by sequence number, and the code it
	 * wrote there ("" when it left it alone): a retransmission gets the same fate, no draw. */
	__u32 resp_seq;
	__u8 resp_code[3];
	__u8 resp_judged;
	/* Until when a packet of this flow may still be in a delay's netem (CLOCK_MONOTONIC): until
	 * then no packet of the flow may overtake it. lat_spike: what the engine sends on REST
	 * flows; ws_lag: what it receives on WebSocket flows. */
	__u64 delay_until_ns;
};

enum mmc_reason {
	MMC_REASON_PROBABILITY = 1, /* a per-packet/per-event draw under the scenario's probability */
	MMC_REASON_STORM = 2,       /* every response of a burst drawn as a rate-limit storm */
	/* decided live, but the action did not take effect */
	MMC_REASON_ACTION_FAILED = 3,
};

enum mmc_direction {
	MMC_DIR_EGRESS = 0,
	MMC_DIR_INGRESS = 1,
};

/* One injection-log record (ring buffer -> JSON lines). */
struct mmc_event {
	__u64 ts_ns;         /* CLOCK_MONOTONIC */
	__u64 flow;          /* socket cookie */
	__u64 duration_ns;   /* what is left of the current on-phase (the fault's horizon) */
	__u64 intensity;     /* the scenario's threshold (probability * 2^32) */
	__u32 scenario;
	__u32 reason;
	__u32 mode;
	__u32 direction;
};

#endif /* MMCHAOS_H */
