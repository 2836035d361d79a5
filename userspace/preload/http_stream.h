/* The status line of each HTTP/1 response on one TLS connection, as the engine reads it through
 * its TLS library (plaintext, already decrypted). A request the engine writes arms the stream;
 * the bytes read after it are followed, across reads of any size, until the status code's three
 * digits have passed; then nothing else is looked at (headers, bodies, chunked or not) until the
 * next request. Plain C, no allocation: it runs inside the engine (the preload) and in the unit
 * tests.
 *
 * Interim answers (100 Continue, 103 Early Hints) are left alone and skipped to the blank line
 * that ends them: the final response after them is the one decided, as on plaintext flows
 * (bpf/request.bpf.h). 101 (a WebSocket upgrade) is the last HTTP answer on the connection: never
 * touched, and nothing after it is looked at.
 *
 * Not followed: pipelined requests (the last one written wins), and anything that is not HTTP/1
 * (HTTP/2's binary frames never match "HTTP/1.x "). */
#ifndef MMCHAOS_HTTP_STREAM_H
#define MMCHAOS_HTTP_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mmc_http_stream {
  uint8_t expect;  /* a request was written; its status line has not passed yet */
  uint8_t pos;     /* bytes of "HTTP/1.x NNN" seen so far (0..12) */
  uint8_t rewrite; /* the digits are replaced by code */
  uint8_t code[3];
  uint16_t status; /* the status as the engine gets it (after a rewrite), once pos is 12 */
  uint8_t interim; /* the status is 1xx: not decided; at pos 12 its head is being skipped */
  uint8_t eol;     /* line ends in a row (CR aside) while skipping it: the second ends it */
};

/* Whether buf (what the engine writes) starts an HTTP/1 request line: "METHOD ". */
static inline int mmc_http_is_request(const uint8_t *buf, size_t n) {
  static const char *const methods[] = {"GET ",   "POST ",    "PUT ", "DELETE ",
                                        "PATCH ", "OPTIONS ", "HEAD "};

  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    size_t len = strlen(methods[i]);

    if (n >= len && memcmp(buf, methods[i], len) == 0) return 1;
  }
  return 0;
}

/* The Host header of the request in buf (its head, as the engine writes it in one piece):
 * host lower-cased into host[cap] (IPv6 brackets removed) and its port, default_port when it
 * names none. 0 when there is none or it does not fit. */
static inline int mmc_http_request_host(const uint8_t *buf, size_t n, char *host, size_t cap,
                                        uint16_t *port, uint16_t default_port) {
  for (size_t i = 0; i + 7 < n; i++) {
    size_t at, len = 0, end;
    int bracket;

    if (buf[i] != '\n') continue;
    if (buf[i + 1] == '\r' || buf[i + 1] == '\n') return 0; /* end of the head */
    if ((buf[i + 1] | 0x20) != 'h' || (buf[i + 2] | 0x20) != 'o' || (buf[i + 3] | 0x20) != 's' ||
        (buf[i + 4] | 0x20) != 't' || buf[i + 5] != ':')
      continue;
    at = i + 6;
    while (at < n && (buf[at] == ' ' || buf[at] == '\t')) at++;
    end = at;
    while (end < n && buf[end] != '\r' && buf[end] != '\n' && buf[end] != ' ') end++;
    bracket = at < end && buf[at] == '[';
    if (bracket) at++;
    while (at + len < end && buf[at + len] != (bracket ? ']' : ':')) len++;
    if (len == 0 || len >= cap) return 0;
    for (size_t k = 0; k < len; k++) {
      uint8_t c = buf[at + k];

      host[k] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    host[len] = 0;
    at += len + (size_t)bracket;
    *port = default_port;
    if (at < end && buf[at] == ':') {
      uint32_t p = 0;

      for (at++; at < end && buf[at] >= '0' && buf[at] <= '9'; at++)
        p = p * 10 + (uint32_t)(buf[at] - '0');
      if (p == 0 || p > 65535) return 0;
      *port = (uint16_t)p;
    }
    return 1;
  }
  return 0;
}

/* The engine wrote buf: a request line arms the stream for its response. */
static inline void mmc_http_wrote(struct mmc_http_stream *s, const uint8_t *buf, size_t n) {
  if (!mmc_http_is_request(buf, n)) return;
  s->expect = 1;
  s->pos = 0;
  s->rewrite = 0;
  s->status = 0;
  s->interim = 0;
}

/* Decides one response when its first status digit arrives: 1 with code[3] set to rewrite it. */
typedef int (*mmc_http_decide_fn)(void *ctx, uint8_t code[3]);

/* The engine read buf[0..n): follows the status line (past interim answers), asks decide once
 * per final response, and writes the chosen code over the digits in buf. Returns how many bytes
 * it changed. */
static inline size_t mmc_http_read(struct mmc_http_stream *s, uint8_t *buf, size_t n,
                                   mmc_http_decide_fn decide, void *ctx) {
  static const char prefix[] = "HTTP/1.";
  size_t changed = 0;

  for (size_t i = 0; i < n && s->expect; i++) {
    uint8_t c = buf[i];

    if (s->pos == 12) { /* an interim answer's head: its blank line, then the next status line */
      if (c == '\n' && ++s->eol == 2) {
        s->pos = 0;
        s->status = 0;
        s->interim = 0;
      } else if (c != '\n' && c != '\r') {
        s->eol = 0;
      }
      continue;
    }
    if (s->pos < 7) {
      if (c != (uint8_t)prefix[s->pos]) s->expect = 0;
    } else if (s->pos == 7) {
      if (c < '0' || c > '9') s->expect = 0;
    } else if (s->pos == 8) {
      if (c != ' ') s->expect = 0;
    } else {
      if (c < '0' || c > '9') {
        s->expect = 0; /* malformed: left alone */
        break;
      }
      if (s->pos == 9) {
        s->interim = c == '1';
        s->rewrite = (uint8_t)(!s->interim && decide(ctx, s->code) ? 1 : 0);
      }
      if (s->rewrite && buf[i] != s->code[s->pos - 9]) {
        buf[i] = s->code[s->pos - 9];
        changed++;
      }
      s->status = (uint16_t)(s->status * 10 + (buf[i] - '0'));
    }
    if (!s->expect) break;
    if (++s->pos == 12) {
      if (!s->interim || s->status == 101) s->expect = 0; /* final, or an upgrade */
      s->eol = 0;
    }
  }
  return changed;
}

#endif /* MMCHAOS_HTTP_STREAM_H */
