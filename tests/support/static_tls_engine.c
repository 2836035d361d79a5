/* static-tls-engine READY_FILE: an "engine" with its TLS stack built in, as a Go, rustls or
 * static BoringSSL engine has: OpenSSL's libssl and libcrypto linked statically (libssl.a), so it
 * calls its own SSL_read/SSL_write and maps no libssl.so. It makes a client context (pulling the
 * TLS code in), writes READY_FILE and waits for a signal. For the tests that `validate` and `run`
 * refuse TLS rewrites for an engine neither TLS mechanism reaches. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  /* Every entry point the mechanisms would wrap, in this executable. */
  static int (*volatile const calls[])(SSL *, void *, int) = {SSL_read};
  static int (*volatile const writes[])(SSL *, const void *, int) = {SSL_write};
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  FILE *f;

  if (argc != 2 || !ctx || !calls[0] || !writes[0]) return 2;
  f = fopen(argv[1], "w");
  if (!f) return 1;
  fclose(f);
  pause();
  SSL_CTX_free(ctx);
  return 0;
}
