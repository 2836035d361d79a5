// mm_partial_fail_rate: the kernel counts the engine's REST requests and failures per exchange
// and op; this keeps a sliding window of those counts and turns it into a share per window.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "loader/counters.h"
#include "metrics/exporter.h"

namespace mmchaos {

class RequestWindow {
 public:
  // tls_accounted: the TLS flows' requests are accounted in the engine's TLS library
  // (mmc_config.tls_accounting): their ops are named as on plaintext flows; otherwise every
  // request of a TLS-only exchange is op "request" (the cgroup hooks see only records).
  RequestWindow(const Config& cfg, uint64_t window_ns, bool tls_accounted = false);
  // Called by the controller about once a second.
  void Sample(const ReqStats& s, uint64_t now_ns);
  // failures / requests over the window (0 without requests), for every (exchange, op) the
  // config names (from the first scrape on) and every other one that ever saw a request.
  std::vector<DataPlaneSnapshot::PartialFail> Rates() const;
  // Requests and failures since the controller started (mm_rest_requests_total,
  // mm_rest_request_failures_total), for the same label sets, from the last sample.
  std::vector<DataPlaneSnapshot::RequestCount> Totals() const;

 private:
  uint64_t window_ns_;
  std::vector<std::string> exchanges_;                 // by index, as the data plane numbers them
  std::vector<std::array<std::string, MMC_OPS>> ops_;  // per exchange: op labels
  std::vector<std::array<bool, MMC_OPS>> named_;       // per exchange: shown before requests
  mutable std::mutex mu_;
  std::deque<std::pair<uint64_t, ReqStats>> samples_;
  ReqStats zero_{};  // the first sample: the counts before this controller (another run's)
  bool have_zero_ = false;
};

}  // namespace mmchaos
