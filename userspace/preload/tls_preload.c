/* exch_429 / exch_5xx / rate_limit_storm on the engine's TLS connections, preload mechanism: the
 * same library as clock_skew's (libmmchaos-clock.so, put in LD_PRELOAD by `mmchaos exec`) wraps
 * OpenSSL's SSL_read, SSL_read_ex, SSL_write and SSL_write_ex (dlsym RTLD_NEXT: the engine's own
 * libssl does the work). A request the engine writes for a TLS REST endpoint of
 * target.exchanges (its Host header) arms that connection; the status line of the response it then
 * reads is followed across reads (http_stream.h) and, when the shared decision (bpf/tls.h) says
 * live, its three digits are replaced in the engine's buffer before SSL_read returns. Nothing else
 * in the stream changes. With no controller, a disarmed or dead one (heartbeat) every byte is the
 * server's.
 *
 * Plain C with no allocation: per-connection state lives in a fixed table keyed by the SSL
 * pointer. CPython's ssl module calls the _ex forms, curl and Boost.Asio the plain ones. */
#define _GNU_SOURCE
#include <dlfcn.h>
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

/* Resolved at first use: libssl may be loaded after this library (CPython imports _ssl late). */
static ssl_read_fn real_read;
static ssl_read_ex_fn real_read_ex;
static ssl_write_fn real_write;
static ssl_write_ex_fn real_write_ex;
static ssl_get_fd_fn real_get_fd;
static ssl_free_fn real_free;

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

/* One connection: its response stream and its flow id for the rollout. */
struct conn {
  SSL *_Atomic ssl;
  struct mmc_http_stream stream;
  uint64_t flow;
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

/* Whether host:port is one of the record's TLS REST endpoints (seqlock read). */
static int is_endpoint(const struct mmc_tls_state *s, const char *host, uint16_t port) {
  for (int tries = 0; tries < 64; ++tries) {
    uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    uint32_t n = __atomic_load_n(&s->n_endpoints, __ATOMIC_RELAXED);
    int match = 0;

    if (a & 1) continue;
    for (uint32_t i = 0; i < n && i < MMC_TLS_MAX_ENDPOINTS && !match; i++)
      match = s->endpoints[i].port == port &&
              strncmp(s->endpoints[i].host, host, MMC_TLS_HOST_LEN) == 0;
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
  if (counts) {
    __atomic_fetch_add(&counts->responses, 1, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < MMC_TLS_SCENARIOS; i++)
      if (verdicts[i] != MMC_TLS_SKIP)
        __atomic_fetch_add(&counts->injections[mmc_tls_scenario(
                               i)][verdicts[i] == MMC_TLS_LIVE ? MMC_MODE_LIVE : MMC_MODE_SHADOW],
                           1, __ATOMIC_RELAXED);
  }
  return act;
}

/* The engine wrote on ssl: a request line for one of the exchange's TLS endpoints arms the
 * connection for its response (before it leaves, so the response cannot come first); any other
 * request disarms it. */
static void wrote(SSL *ssl, const void *buf, size_t n) {
  const struct mmc_tls_state *s = mmc_preload_tls_state();
  char host[MMC_TLS_HOST_LEN];
  uint16_t port;
  struct conn *c;

  if (!buf || !mmc_http_is_request(buf, n)) return;
  if (!s || !__atomic_load_n(&s->armed, __ATOMIC_RELAXED)) {
    mmc_preload_refresh(mmc_preload_mono_now()); /* a newer record may have appeared */
    s = mmc_preload_tls_state();
    if (!s || !__atomic_load_n(&s->armed, __ATOMIC_RELAXED)) return;
  }
  if (!mmc_http_request_host(buf, n, host, sizeof(host), &port, 443) ||
      !is_endpoint(s, host, port)) {
    if ((c = find(ssl, 0)) != NULL) c->stream.expect = 0;
    return;
  }
  c = find(ssl, 1);
  if (!c->flow) c->flow = flow_of(ssl);
  mmc_http_wrote(&c->stream, buf, n);
}

static void got(SSL *ssl, void *buf, size_t n) {
  struct conn *c = find(ssl, 0);

  if (c && c->stream.expect) mmc_http_read(&c->stream, buf, n, decide, c);
}

/* libssl calls some of these itself (its BIO calls SSL_read_ex, for one): only the engine's
 * outermost call is looked at, so no byte is seen twice. */
static _Thread_local int depth;

EXPORT int SSL_write(SSL *ssl, const void *buf, int num) {
  int rc;

  if (!real_write) real_write = (ssl_write_fn)next("SSL_write");
  if (!real_write) return -1;
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
  if (num > 0 && !depth) wrote(ssl, buf, num);
  depth++;
  rc = real_write_ex(ssl, buf, num, written);
  depth--;
  return rc;
}

EXPORT int SSL_read(SSL *ssl, void *buf, int num) {
  int n;

  if (!real_read) real_read = (ssl_read_fn)next("SSL_read");
  if (!real_read) return -1;
  depth++;
  n = real_read(ssl, buf, num);
  depth--;
  if (n > 0 && !depth) got(ssl, buf, (size_t)n);
  return n;
}

EXPORT int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) {
  int ok;

  if (!real_read_ex) real_read_ex = (ssl_read_ex_fn)next("SSL_read_ex");
  if (!real_read_ex) return 0;
  depth++;
  ok = real_read_ex(ssl, buf, num, readbytes);
  depth--;
  if (ok == 1 && !depth && readbytes && *readbytes > 0) got(ssl, buf, *readbytes);
  return ok;
}

/* A freed SSL's entry is released: its address may be reused by a new connection. */
EXPORT void SSL_free(SSL *ssl) {
  struct conn *c;

  if (!real_free) real_free = (ssl_free_fn)next("SSL_free");
  if (ssl && (c = find(ssl, 0)) != NULL) atomic_store(&c->ssl, NULL);
  if (real_free) real_free(ssl);
}
