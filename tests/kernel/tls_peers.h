// Peers both TLS mechanisms' tests run (tls_test.cpp: preload, tls_uprobe_test.cpp: uprobes):
// - order POSTs that ask for 100 Continue, from curl (the server answers 100 in its own write:
//   its own SSL_read) and from python3's http.client (100 and the final head in one write: one
//   SSL_read_ex returns both);
// - HAProxy terminating TLS with ALPN h2 and http/1.1, and curl speaking either through it;
// - the judgement of the rewrites around a rollback.
#ifndef MMCHAOS_TESTS_KERNEL_TLS_PEERS_H
#define MMCHAOS_TESTS_KERNEL_TLS_PEERS_H

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace mmchaos::testing {

inline constexpr const char* kInterimOrder = "POST /api/v3/order";

// curl: n order POSTs on one keep-alive connection, each with Expect: 100-continue; one final
// status a line on stdout, the verbose trace (response heads as "< ...") in trace_file.
inline std::string CurlExpectContinue(const std::string& ca, const std::string& origin, int n,
                                      const std::string& trace_file) {
  std::ostringstream cmd;
  cmd << "curl -sS -v --cacert " << ca << " -w '%{http_code}\\n' -H 'Expect: 100-continue'"
      << " --data-binary '{\"symbol\":\"BTCUSDT\"}'";
  for (int i = 0; i < n; ++i) cmd << " " << origin << "/api/v3/order -o /dev/null";
  cmd << " 2> " << trace_file;
  return cmd.str();
}

// The "100 Continue" heads curl received, as its trace shows them.
inline int ContinuesSeen(const std::string& trace_file) {
  std::ifstream in(trace_file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind("< HTTP/1.1 100 Continue", 0) == 0;
  return n;
}

// python3 http.client: n order POSTs on keep-alive, 100 Continue sent with the final head.
inline std::string PythonExpectContinue(const std::string& ip, uint16_t port, const std::string& ca,
                                        int n) {
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 " << HTTPS_CLIENT_PY << " --host " << ip << " --port " << port
      << " --cafile " << ca << " --count " << n << " --expect-continue --requests '"
      << kInterimOrder << "'";
  return cmd.str();
}

// Status codes, one a line (curl -w) or the second field of https_client.py's lines.
inline std::vector<int> Statuses(const std::string& out, bool python) {
  std::istringstream in(out);
  std::vector<int> v;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string mono;
    int status = 0;
    if (python ? static_cast<bool>(l >> mono >> status) : static_cast<bool>(l >> status))
      v.push_back(status);
  }
  return v;
}

// HAProxy's config: TLS on ip:port with the certificate and key of pem (both in one file),
// offering h2 and http/1.1, answering every request 200 itself.
inline std::string HaproxyH2Config(const std::string& ip, uint16_t port, const std::string& pem) {
  std::ostringstream c;
  c << "global\n  maxconn 100\n"
    << "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n"
    << "  timeout server 10s\n"
    << "frontend exchange\n  bind " << ip << ":" << port << " ssl crt " << pem
    << " alpn h2,http/1.1\n"
    << "  http-request return status 200 content-type text/plain string ok\n";
  return c.str();
}

// curl: n GETs on one connection speaking version ("--http2" or "--http1.1"); one status a line.
inline std::string CurlVersion(const std::string& ca, const std::string& origin, int n,
                               const std::string& version) {
  std::ostringstream cmd;
  cmd << "curl -sS " << version << " --cacert " << ca << " -w '%{http_code}\\n'";
  for (int i = 0; i < n; ++i) cmd << " " << origin << "/api/v3/ticker -o /dev/null";
  return cmd.str();
}

// What both mechanisms promise, exch_429 at p = 0.3 over n curl and n python POSTs: the interim
// answers reached the clients as sent (curl saw every 100 Continue: none was taken for a final
// answer), the final ones are 200 or 429 with the 429s inside the 99.9% interval and counted
// live, and the accounting (scraped from metrics once a sample passed) has one order request
// per POST, failed as often as the clients got a 429.
inline void ExpectInterimPassedAndFinalDecided(const std::vector<int>& curl, int continues,
                                               const std::vector<int>& python, int n, uint64_t live,
                                               const std::string& metrics) {
  ASSERT_EQ(curl.size(), static_cast<size_t>(n));
  ASSERT_EQ(python.size(), static_cast<size_t>(n));
  EXPECT_EQ(continues, n) << "every 100 Continue reached curl as the server sent it";
  int n429 = 0;
  for (const auto* v : {&curl, &python})
    for (int status : *v) {
      EXPECT_TRUE(status == 200 || status == 429) << status;
      n429 += status == 429;
    }
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n429), 2 * n, 0.3)) << n429 << " of " << 2 * n;
  EXPECT_EQ(live, static_cast<uint64_t>(n429));
  const std::string labels = "exchange=\"testnet\",op=\"" + std::string(kInterimOrder) + "\"";
  EXPECT_EQ(Scraped(metrics, "mm_rest_requests_total", labels), 2 * n) << metrics;
  EXPECT_EQ(Scraped(metrics, "mm_rest_request_failures_total", labels), n429) << metrics;
}

// The client's responses around a rollback (each stamped with its send time, mono_ns): more
// than 20 rewritten (429) before the trigger, and every one sent 20 ms after stop (when the
// rollback took effect) the server's 200, more than 20 of those.
template <typename Responses>
void ExpectRewritesStopped(const Responses& v, uint64_t trigger, uint64_t stop) {
  int before = 0, after = 0;
  for (const auto& r : v) {
    if (r.mono_ns < trigger) before += r.status == 429;
    if (r.mono_ns > stop + 20000000ULL) {
      ++after;
      EXPECT_EQ(r.status, 200) << (r.mono_ns - trigger) / 1000000 << " ms after the trigger";
    }
  }
  EXPECT_GT(before, 20);
  EXPECT_GT(after, 20) << "too few responses after the trigger to judge";
}

}  // namespace mmchaos::testing

#endif  // MMCHAOS_TESTS_KERNEL_TLS_PEERS_H
