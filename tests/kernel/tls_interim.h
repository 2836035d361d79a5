// The interim-answer clients both TLS mechanisms' tests run (tls_test.cpp: preload,
// tls_uprobe_test.cpp: uprobes): order POSTs that ask for 100 Continue, from curl (the server
// answers 100 in its own write: its own SSL_read) and from python3's http.client (100 and the
// final head in one write: one SSL_read_ex returns both).
#ifndef MMCHAOS_TESTS_KERNEL_TLS_INTERIM_H
#define MMCHAOS_TESTS_KERNEL_TLS_INTERIM_H

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

}  // namespace mmchaos::testing

#endif  // MMCHAOS_TESTS_KERNEL_TLS_INTERIM_H
