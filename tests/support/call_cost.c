/* call-cost [--call clock_gettime|ssl_read] BATCHES CALLS [DELAY_MS]: the cost of one library call,
 * as the median over BATCHES batches of CALLS calls each, in ns per call, on one line, timed with
 * the raw system call (which no uprobe reaches). Dynamically linked on purpose: it stands for any
 * glibc (and libssl) process on the host (uprobe cost tests and bench/calls.sh). DELAY_MS: a pause
 * before the first batch, so that per-process uprobes following the cgroup reach a process that
 * just joined it. The calls:
 *
 *   clock_gettime  glibc's clock_gettime(CLOCK_REALTIME) (the default of `call-cost`).
 *   ssl_read       one SSL_read of a small record on an established TLS 1.3 connection (the
 *                  default of `ssl-read-cost`, the same program). Both ends live in this process
 *                  over an in-memory BIO pair (a throwaway EC key and self-signed certificate made
 *                  here); before each batch the server side writes CALLS records of 64 bytes, then
 *                  the client reads them one SSL_read each. No request is written by the client,
 *                  so TLS uprobes see only unarmed reads: what the probes cost a process that
 *                  carries them, on calls they do not rewrite. */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef CALL_COST_DEFAULT
#define CALL_COST_DEFAULT "clock_gettime"
#endif

#define RECORD 64

static long long raw_ns(void) {
  struct timespec t;

  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static SSL_CTX *sctx, *cctx;
static SSL *srv, *cli;
static char rec[RECORD], buf[RECORD];

static SSL_CTX *server_ctx(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *crt = X509_new();

  if (!ctx || !key || !crt) return NULL;
  ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
  X509_gmtime_adj(X509_getm_notBefore(crt), 0);
  X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
  X509_set_pubkey(crt, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN", MBSTRING_ASC,
                             (const unsigned char *)"ssl-read-cost", -1, -1, 0);
  X509_set_issuer_name(crt, X509_get_subject_name(crt));
  if (!X509_sign(crt, key, EVP_sha256()) || SSL_CTX_use_certificate(ctx, crt) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key) != 1)
    return NULL;
  X509_free(crt);
  EVP_PKEY_free(key);
  return ctx;
}

static int ssl_setup(int calls) {
  BIO *sb, *cb;
  /* Room for a whole batch of records in flight (each carries ~22 bytes of TLS 1.3 overhead). */
  const size_t room = (size_t)calls * (RECORD + 64) + 65536;

  sctx = server_ctx();
  cctx = SSL_CTX_new(TLS_client_method());
  if (!sctx || !cctx) return 2;
  srv = SSL_new(sctx);
  cli = SSL_new(cctx);
  if (!srv || !cli || BIO_new_bio_pair(&sb, room, &cb, room) != 1) return 2;
  SSL_set_bio(srv, sb, sb);
  SSL_set_bio(cli, cb, cb);
  SSL_set_accept_state(srv);
  SSL_set_connect_state(cli);
  for (int i = 0; i < 100 && (!SSL_is_init_finished(cli) || !SSL_is_init_finished(srv)); ++i) {
    SSL_do_handshake(cli);
    SSL_do_handshake(srv);
  }
  if (!SSL_is_init_finished(cli) || !SSL_is_init_finished(srv)) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  memset(rec, 'x', sizeof(rec));
  /* TLS 1.3 session tickets arrive with the first read: drain them before timing. */
  if (SSL_write(srv, rec, RECORD) != RECORD || SSL_read(cli, buf, RECORD) != RECORD) return 1;
  return 0;
}

static int ssl_prepare(int calls) {
  for (int i = 0; i < calls; ++i)
    if (SSL_write(srv, rec, RECORD) != RECORD) return 1;
  return 0;
}

/* One batch of calls, called directly (no indirection inside the timed loop). */
static int timed_batch(int ssl, int calls) {
  struct timespec ts;

  if (!ssl) {
    for (int i = 0; i < calls; ++i) clock_gettime(CLOCK_REALTIME, &ts);
    return 0;
  }
  for (int i = 0; i < calls; ++i)
    if (SSL_read(cli, buf, RECORD) != RECORD) return 1;
  return 0;
}

static void ssl_teardown(void) {
  SSL_free(cli);
  SSL_free(srv);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
}

int main(int argc, char **argv) {
  const char *name = CALL_COST_DEFAULT;
  int ssl, batches, calls, delay_ms, rc;
  double *per;

  if (argc > 2 && strcmp(argv[1], "--call") == 0) {
    name = argv[2];
    argv[2] = argv[0];
    argv += 2;
    argc -= 2;
  }
  ssl = strcmp(name, "ssl_read") == 0;
  if (!ssl && strcmp(name, "clock_gettime") != 0) {
    fprintf(stderr, "usage: %s [--call clock_gettime|ssl_read] BATCHES CALLS [DELAY_MS]\n",
            argv[0]);
    return 2;
  }
  batches = argc > 1 ? atoi(argv[1]) : 9;
  calls = argc > 2 ? atoi(argv[2]) : 10000;
  delay_ms = argc > 3 ? atoi(argv[3]) : 0;
  per = calloc((size_t)(batches > 0 ? batches : 1), sizeof(double));
  if (!per || batches <= 0 || calls <= 0) return 2;
  if (ssl && (rc = ssl_setup(calls)) != 0) return rc;
  if (delay_ms > 0) usleep((useconds_t)delay_ms * 1000);
  for (int b = 0; b < batches; ++b) {
    if (ssl && ssl_prepare(calls) != 0) return 1;
    long long t0 = raw_ns();
    if (timed_batch(ssl, calls) != 0) return 1;
    per[b] = (double)(raw_ns() - t0) / calls;
  }
  qsort(per, (size_t)batches, sizeof(double), cmp);
  printf("%.1f\n", per[batches / 2]);
  if (ssl) ssl_teardown();
  free(per);
  return 0;
}
