/* exch_429 / exch_5xx / rate_limit_storm and reconcile_mismatch on the engine's TLS connections,
 * preload mechanism: the same library as clock_skew's (libmmchaos-clock.so, put in LD_PRELOAD by
 * `mmchaos exec`) wraps OpenSSL's SSL_read, SSL_read_ex, SSL_write, SSL_write_ex and
 * SSL_get_error (dlsym RTLD_NEXT: the engine's own libssl does the work). A request the engine
 * writes for a TLS REST endpoint of target.exchanges (its Host header) arms that connection; the
 * status line of the response it then reads is followed across reads (http_stream.h) and, when the
 * shared decision (bpf/tls.h) says live, its three digits are replaced in the engine's buffer
 * before SSL_read returns. Nothing else in the stream changes. An order request (a configured
 * order_requests line) that reconcile_mismatch chooses goes out to the exchange as written; when
 * its answer arrives the engine is told the connection was reset (SSL_ERROR_SYSCALL,
 * ECONNRESET), as the data plane resets a plaintext one, and never sees a byte of it. With no
 * controller, a disarmed or dead one (heartbeat) every byte is the server's.
 *
 * Plain C with no allocation: per-connection state lives in a fixed table keyed by the SSL
 * pointer. CPython's ssl module calls the _ex forms, curl and Boost.Asio the plain ones. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_stream.h"
#include "preload_record.h"
#include "tls.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define EXPORT __attribute__((visibility("default")))

typedef struct ssl_st SSL;
typedef int (*ssl_read_fn)(SSL *, void *, int);
typedef int (*ssl_read_ex_fn)(SSL *, void *, size_t, size_t *);
typedef int (*ssl_write_fn)(SSL *, const void *, int);
typedef int (*ssl_write_ex_fn)(SSL *, const void *, size_t, size_t *);
typedef int (*ssl_get_fd_fn)(const SSL *);
typedef void (*ssl_free_fn)(SSL *);
typedef int (*ssl_get_error_fn)(const SSL *, int);

#define SSL_ERROR_SYSCALL_ 5 /* OpenSSL's SSL_ERROR_SYSCALL (ssl.h, stable ABI) */

/* Resolved at first use: libssl may be loaded after this library (CPython imports _ssl late). */
static ssl_read_fn real_read;
static ssl_read_ex_fn real_read_ex;
static ssl_write_fn real_write;
static ssl_write_ex_fn real_write_ex;
static ssl_get_fd_fn real_get_fd;
static ssl_free_fn real_free;
static ssl_get_error_fn real_get_error;

/* The libssl object the process loaded, found by name among the loaded objects. */
static int libssl_path(struct dl_phdr_info *info, size_t size, void *data) {
  const char *base = strrchr(info->dlpi_name, '/');
  char *out = data;

  (void)size;
  base = base ? base + 1 : info->dlpi_name;
  if (strncmp(base, "libssl.so", 9) != 0 || strlen(info->dlpi_name) >= PATH_MAX) return 0;
  strcpy(out, info->dlpi_name);
  return 1;
}

/* The real function: next in the global scope, else in libssl itself. CPython's _ssl is loaded
 * with RTLD_LOCAL and brings libssl with it: the engine's calls still reach this library (first
 * in the global scope), but RTLD_NEXT cannot see libssl. */
static void *next(const char *name) {
  static void *_Atomic libssl;
  void *fn = dlsym(RTLD_NEXT, name), *h;
  char path[PATH_MAX];

  if (fn) return fn;
  h = atomic_load(&libssl);
  if (!h) {
    path[0] = 0;
    /* dlopen outside the iteration: the loader's lock is held during it. */
    if (dl_iterate_phdr(libssl_path, path) && path[0]) h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
    if (h) atomic_store(&libssl, h);
  }
  return h ? dlsym(h, name) : NULL;
}

/* One connection: its response stream, its flow id for the rollout, and reconcile_mismatch's
 * state: lose (the answer to the order request just written is never handed over), reset (the
 * engine was told the connection was reset: every later call on it fails the same way). */
struct conn {
  SSL *_Atomic ssl;
  struct mmc_http_stream stream;
  uint64_t flow;
  uint8_t lose, reset;
  /* REST accounting (while the record says so): the request outstanding, its op and exchange,
   * and when the engine wrote it. */
  uint8_t req_pending, op, exchange;
  uint64_t sent_ns;
};

#define CONN_SLOTS 4096 /* a power of two */
#define CONN_PROBE 16
static struct conn conns[CONN_SLOTS];

static uint32_t slot_of(const SSL *ssl) {
  uint64_t h = (uint64_t)(uintptr_t)ssl;

  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (uint32_t)h & (CONN_SLOTS - 1);
}

static struct conn *claim(struct conn *c, SSL *ssl) {
  atomic_store(&c->ssl, ssl);
  memset(&c->stream, 0, sizeof(c->stream));
  c->flow = 0;
  c->lose = c->reset = 0;
  c->req_pending = 0;
  return c;
}

/* The connection's entry; with create, claims one (a full neighbourhood reuses its first slot:
 * that connection's state is lost, nothing else). */
static struct conn *find(SSL *ssl, int create) {
  uint32_t h = slot_of(ssl);

  for (uint32_t i = 0; i < CONN_PROBE; i++) {
    struct conn *c = &conns[(h + i) & (CONN_SLOTS - 1)];
    SSL *cur = atomic_load_explicit(&c->ssl, memory_order_acquire);

    if (cur == ssl) return c;
    if (create && cur == NULL && atomic_compare_exchange_strong(&c->ssl, &cur, ssl))
      return claim(c, ssl);
  }
  return create ? claim(&conns[h], ssl) : NULL;
}

/* Whether host:port is one of the record's TLS REST endpoints (seqlock read), and the index of
 * its exchange in *exchange. */
static int is_endpoint(const struct mmc_tls_state *s, const char *host, uint16_t port,
                       uint8_t *exchange) {
  for (int tries = 0; tries < 64; ++tries) {
    uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    uint32_t n = __atomic_load_n(&s->n_endpoints, __ATOMIC_RELAXED);
    int match = 0;

    if (a & 1) continue;
    for (uint32_t i = 0; i < n && i < MMC_TLS_MAX_ENDPOINTS && !match; i++) {
      match = s->endpoints[i].port == port &&
              strncmp(s->endpoints[i].host, host, MMC_TLS_HOST_LEN) == 0;
      if (match) *exchange = __atomic_load_n(&s->endpoint_exchange[i], __ATOMIC_RELAXED);
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) return match;
  }
  return 0;
}

/* A consistent copy of the controller's TLS fields (seqlock); 0 when nothing is armed. */
static int read_view(const struct mmc_tls_state *s, struct mmc_tls_view *v) {
  if (__atomic_load_n(&s->magic, __ATOMIC_RELAXED) != MMC_TLS_MAGIC) return 0;
  for (int tries = 0; tries < 64; ++tries) {
    uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (a & 1) continue;
    v->armed = __atomic_load_n(&s->armed, __ATOMIC_RELAXED);
    v->dry_run = __atomic_load_n(&s->dry_run, __ATOMIC_RELAXED);
    v->seed = __atomic_load_n(&s->seed, __ATOMIC_RELAXED);
    v->epoch_ns = __atomic_load_n(&s->epoch_ns, __ATOMIC_RELAXED);
    v->on_ns = __atomic_load_n(&s->on_ns, __ATOMIC_RELAXED);
    v->off_ns = __atomic_load_n(&s->off_ns, __ATOMIC_RELAXED);
    v->heartbeat_timeout_ns = __atomic_load_n(&s->heartbeat_timeout_ns, __ATOMIC_RELAXED);
    v->rollout_threshold = __atomic_load_n(&s->rollout_threshold, __ATOMIC_RELAXED);
    for (int i = 0; i < MMC_TLS_SCENARIOS; i++)
      v->prob[i] = __atomic_load_n(&s->prob[i], __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++)
      v->status_5xx[i] = __atomic_load_n(&s->status_5xx[i], __ATOMIC_RELAXED);
    v->prob_reconcile = __atomic_load_n(&s->prob_reconcile, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a) {
      v->heartbeat_ns = mmc_preload_heartbeat();
      return v->armed != 0;
    }
  }
  return 0;
}

/* The flow id the rollout hashes: the socket cookie, the data plane's flow id, where the TLS
 * library reads the socket itself (SSL_get_fd); else (Boost.Asio's and curl's own BIOs) the
 * connection object, so a rollout below 100% still picks whole connections. */
static uint64_t flow_of(SSL *ssl) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  int fd;

  if (!real_get_fd) real_get_fd = (ssl_get_fd_fn)next("SSL_get_fd");
  fd = real_get_fd ? real_get_fd(ssl) : -1;
  if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 && cookie) return cookie;
  return (uint64_t)(uintptr_t)ssl;
}

/* libssl calls some of these itself (its BIO calls SSL_read_ex, for one): only the engine's
 * outermost call is looked at, so no byte is seen twice. */
static _Thread_local int depth;

/* Per thread, no system call: draws for the probabilities. */
static _Thread_local uint64_t rng;

static uint32_t draw(void) {
  uint64_t x = rng;

  if (!x) x = mmc_preload_mono_now() ^ ((uint64_t)(uintptr_t)&rng << 16) ^ (uint64_t)getpid();
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng = x ? x : 1;
  return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

static void count(uint32_t scenario, enum mmc_tls_verdict verdict) {
  struct mmc_tls_counts *counts = mmc_preload_tls_counts();

  if (counts && verdict != MMC_TLS_SKIP)
    __atomic_fetch_add(
        &counts->injections[scenario][verdict == MMC_TLS_LIVE ? MMC_MODE_LIVE : MMC_MODE_SHADOW], 1,
        __ATOMIC_RELAXED);
}

/* Which configured order request line the request in buf starts with (the order lines read
 * under the seqlock), -1 for none: reconcile_mismatch decides those, the accounting's op. */
static int order_line(const struct mmc_tls_state *s, const void *buf, size_t n) {
  uint8_t lines[MMC_TLS_ORDER_LINES][MMC_TLS_ORDER_LEN];

  for (int tries = 0; tries < 64; ++tries) {
    uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

    if (a & 1) continue;
    memcpy(lines, (const void *)s->order_req, sizeof(lines));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == a)
      return mmc_tls_order_line((const __u8(*)[MMC_TLS_ORDER_LEN])lines, buf, n);
  }
  return -1;
}

static int is_order(const struct mmc_tls_state *s, const void *buf, size_t n) {
  return order_line(s, buf, n) >= 0;
}

/* REST accounting of the TLS flows (the record's accounting: the kernel leaves them to this
 * library), as the data plane does it (bpf/request.bpf.h, request_end.bpf.h) into the counts
 * page: mmc_reqstats' and mmc_restlat's layout, added to them by the controller. */
static void count_slot(__u64 *slot, uint64_t n) { __atomic_fetch_add(slot, n, __ATOMIC_RELAXED); }

/* The engine wrote a request for exchange on c: one request outstanding per connection (HTTP/1.1
 * without pipelining), as on plaintext flows. */
static void request_start(struct conn *c, const struct mmc_tls_state *s, const void *buf, size_t n,
                          uint8_t exchange) {
  struct mmc_tls_counts *counts = mmc_preload_tls_counts();
  int op;

  if (!counts || c->req_pending || !__atomic_load_n(&s->accounting, __ATOMIC_RELAXED)) return;
  op = order_line(s, buf, n);
  c->req_pending = 1;
  c->op = op >= 0 ? (uint8_t)op : MMC_OP_OTHER;
  c->exchange = exchange;
  c->sent_ns = mmc_preload_mono_now();
  count_slot(&counts->reqstats[mmc_reqstat_slot(exchange, c->op, 0)], 1);
}

/* One event for the experiment's ring (request_end.bpf.h's mmc_requests). */
static void request_event(struct mmc_tls_counts *counts, const struct conn *c, uint64_t now,
                          uint64_t lat, uint16_t status, uint32_t outcome) {
  const struct mmc_tls_state *s = mmc_preload_tls_state();
  struct mmc_tls_req_slot *slot;
  uint64_t i;

  if (!s || !__atomic_load_n(&s->req_events, __ATOMIC_RELAXED)) return;
  i = __atomic_fetch_add(&counts->req_head, 1, __ATOMIC_RELAXED);
  slot = &counts->req_ring[i % MMC_TLS_REQ_RING];
  __atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  slot->e.ts_ns = now;
  slot->e.latency_ns = lat;
  slot->e.flow = c->flow;
  slot->e.status = status;
  slot->e.exchange = c->exchange;
  slot->e.op = c->op;
  slot->e.outcome = (uint8_t)outcome;
  slot->e.tls = 1;
  __atomic_store_n(&slot->seq, i + 1, __ATOMIC_RELEASE);
}

/* c's request ended: failures (429/5xx by the status the engine got, a reset, an abandoned
 * request), latency for answered ones, and its event. */
static void request_end(struct conn *c, uint32_t outcome, uint16_t status) {
  struct mmc_tls_counts *counts = mmc_preload_tls_counts();
  uint64_t lat, now;
  uint32_t base;

  if (!c->req_pending) return;
  c->req_pending = 0;
  if (!counts) return;
  now = mmc_preload_mono_now();
  lat = now - c->sent_ns;
  base = (c->exchange % MMC_MAX_EXCHANGES) * MMC_RESTLAT_STRIDE;
  if (outcome != MMC_REQ_ANSWERED)
    count_slot(&counts->reqstats[mmc_reqstat_slot(c->exchange, c->op, 1)], 1);
  if (outcome == MMC_REQ_ANSWERED || outcome == MMC_REQ_HTTP_FAIL) {
    count_slot(&counts->restlat[base + mmc_restlat_bucket(lat)], 1);
    count_slot(&counts->restlat[base + MMC_RESTLAT_SUM_US], lat / 1000);
    count_slot(&counts->restlat[base + MMC_RESTLAT_COUNT], 1);
  }
  request_event(counts, c, now, lat, status, outcome);
}

/* An order request is about to leave on c: reconcile_mismatch's decision, counted at once in
 * shadow mode; live, counted when its answer is withheld (got_answer). */
static void decide_order(struct conn *c, const struct mmc_tls_state *s, const void *buf, size_t n) {
  struct mmc_tls_view v;
  enum mmc_tls_verdict verdict;

  c->lose = 0;
  if (!read_view(s, &v) || !v.prob_reconcile || !is_order(s, buf, n)) return;
  verdict = mmc_tls_decide_reconcile(&v, c->flow, mmc_preload_mono_now(), draw());
  if (verdict == MMC_TLS_LIVE)
    c->lose = 1;
  else
    count(MMC_SCN_RECONCILE_MISMATCH, verdict);
}

/* A response's first status digit arrived on this connection: decide it once. */
static int decide(void *ctx, uint8_t code[3]) {
  struct conn *c = ctx;
  const struct mmc_tls_state *s = mmc_preload_tls_state();
  struct mmc_tls_counts *counts = mmc_preload_tls_counts();
  struct mmc_tls_view v;
  enum mmc_tls_verdict verdicts[MMC_TLS_SCENARIOS];
  uint32_t draws[MMC_TLS_SCENARIOS];
  uint64_t now = mmc_preload_mono_now();
  int act;

  if (!s || !read_view(s, &v)) return 0;
  for (int i = 0; i < MMC_TLS_SCENARIOS; i++) draws[i] = draw();
  act = mmc_tls_decide(&v, c->flow, now, draws, verdicts, code);
  if (counts) __atomic_fetch_add(&counts->responses, 1, __ATOMIC_RELAXED);
  for (uint32_t i = 0; i < MMC_TLS_SCENARIOS; i++) count(mmc_tls_scenario(i), verdicts[i]);
  return act;
}

/* The engine wrote on ssl: a request line for one of the exchange's TLS endpoints arms the
 * connection for its response (before it leaves, so the response cannot come first); any other
 * request disarms it. */
static void wrote(SSL *ssl, const void *buf, size_t n) {
  const struct mmc_tls_state *s = mmc_preload_tls_state();
  char host[MMC_TLS_HOST_LEN];
  uint16_t port;
  uint8_t exchange = 0;
  struct conn *c;

  if (!buf) return;
  if (!mmc_http_is_request(buf, n)) {
    struct mmc_tls_counts *k = mmc_preload_tls_counts();

    if (k && n <= UINT32_MAX && mmc_tls_h2_preface(buf, (uint32_t)n))
      __atomic_fetch_add(&k->h2_connections, 1, __ATOMIC_RELAXED);
    return;
  }
  if (!s || !__atomic_load_n(&s->armed, __ATOMIC_RELAXED)) {
    mmc_preload_refresh_now(); /* a newer record may have appeared */
    s = mmc_preload_tls_state();
    if (!s || !__atomic_load_n(&s->armed, __ATOMIC_RELAXED)) return;
  }
  if (!mmc_http_request_host(buf, n, host, sizeof(host), &port, 443) ||
      !is_endpoint(s, host, port, &exchange)) {
    if ((c = find(ssl, 0)) != NULL) c->stream.expect = 0;
    return;
  }
  c = find(ssl, 1);
  if (!c->flow) c->flow = flow_of(ssl);
  decide_order(c, s, buf, n);
  mmc_http_wrote(&c->stream, buf, n);
  request_start(c, s, buf, n, exchange);
}

/* The engine read n > 0 bytes on ssl. Returns 0 to hand them over (status digits rewritten when
 * decided so), or -1 when they are the answer to an order request reconcile_mismatch chose: the
 * bytes are wiped and the connection is reset from then on. */
static int got(SSL *ssl, void *buf, size_t n) {
  struct conn *c = find(ssl, 0);

  if (!c) return 0;
  if (c->lose) {
    c->lose = 0;
    c->reset = 1;
    memset(buf, 0, n);
    count(MMC_SCN_RECONCILE_MISMATCH, MMC_TLS_LIVE);
    request_end(c, MMC_REQ_RESET, 0); /* as the data plane's reset of a plaintext answer */
    return -1;
  }
  if (c->stream.expect) {
    mmc_http_read(&c->stream, buf, n, decide, c);
    /* The final status line passed (the status as the engine got it; 101 for an upgrade), or
     * the answer is no HTTP/1 status line: answered, status unknown. */
    if (!c->stream.expect) {
      const uint16_t status = c->stream.pos == 12 ? c->stream.status : 0;

      request_end(c, status ? mmc_status_outcome(status) : MMC_REQ_ANSWERED, status);
    }
  }
  return 0;
}

/* The engine's connection was reset by reconcile_mismatch: what its calls now see. */
static int was_reset(SSL *ssl) {
  struct conn *c = depth ? NULL : find(ssl, 0);

  if (!c || !c->reset) return 0;
  errno = ECONNRESET;
  return 1;
}

EXPORT int SSL_write(SSL *ssl, const void *buf, int num) {
  int rc;

  if (!real_write) real_write = (ssl_write_fn)next("SSL_write");
  if (!real_write || was_reset(ssl)) return -1;
  if (num > 0 && !depth) wrote(ssl, buf, (size_t)num);
  depth++;
  rc = real_write(ssl, buf, num);
  depth--;
  return rc;
}

EXPORT int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written) {
  int rc;

  if (!real_write_ex) real_write_ex = (ssl_write_ex_fn)next("SSL_write_ex");
  if (!real_write_ex) return 0;
  if (was_reset(ssl)) {
    if (written) *written = 0;
    return 0;
  }
  if (num > 0 && !depth) wrote(ssl, buf, num);
  depth++;
  rc = real_write_ex(ssl, buf, num, written);
  depth--;
  return rc;
}

EXPORT int SSL_read(SSL *ssl, void *buf, int num) {
  int n;

  if (!real_read) real_read = (ssl_read_fn)next("SSL_read");
  if (!real_read || was_reset(ssl)) return -1;
  depth++;
  n = real_read(ssl, buf, num);
  depth--;
  if (n > 0 && !depth && got(ssl, buf, (size_t)n) < 0) {
    errno = ECONNRESET;
    return -1;
  }
  return n;
}

EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) {
  int ok;

  if (!real_read_ex) real_read_ex = (ssl_read_ex_fn)next("SSL_read_ex");
  if (!real_read_ex) return 0;
  if (was_reset(ssl)) {
    if (readbytes) *readbytes = 0;
    return 0;
  }
  depth++;
  ok = real_read_ex(ssl, buf, num, readbytes);
  depth--;
  if (ok == 1 && !depth && readbytes && *readbytes > 0 && got(ssl, buf, *readbytes) < 0) {
    *readbytes = 0;
    errno = ECONNRESET;
    return 0;
  }
  return ok;
}

/* A connection reset by reconcile_mismatch fails as a reset socket does under OpenSSL: the
 * engine's error check finds SSL_ERROR_SYSCALL with errno ECONNRESET. */
EXPORT int SSL_get_error(const SSL *ssl, int ret) {
  if (!real_get_error) real_get_error = (ssl_get_error_fn)next("SSL_get_error");
  if (ret <= 0 && was_reset((SSL *)ssl)) return SSL_ERROR_SYSCALL_;
  return real_get_error ? real_get_error(ssl, ret) : SSL_ERROR_SYSCALL_;
}

/* A freed SSL's entry is released: its address may be reused by a new connection. */
EXPORT void SSL_free(SSL *ssl) {
  struct conn *c;

  if (!real_free) real_free = (ssl_free_fn)next("SSL_free");
  if (ssl && (c = find(ssl, 0)) != NULL) {
    /* Freed with a request unanswered: the engine gave up on it (its deadline), or the
     * connection failed under it: a failure, as on plaintext flows. */
    request_end(c, MMC_REQ_ABANDONED, 0);
    atomic_store(&c->ssl, NULL);
  }
  if (real_free) real_free(ssl);
}
