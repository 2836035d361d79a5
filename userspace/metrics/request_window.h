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
  RequestWindow(const Config& cfg, uint64_t window_ns);
  // Called by the controller about once a second.
  void Sample(const ReqStats& s, uint64_t now_ns);
  // failures / requests over the window (0 without requests), for every (exchange, op) the
  // config names (from the first scrape on) and every other one that ever saw a request.
  std::vector<DataPlaneSnapshot::PartialFail> Rates() const;

 private:
  uint64_t window_ns_;
  std::vector<std::string> exchanges_;                 // by index, as the data plane numbers them
  std::vector<std::array<std::string, MMC_OPS>> ops_;  // per exchange: op labels
  std::vector<std::array<bool, MMC_OPS>> named_;       // per exchange: shown before requests
  mutable std::mutex mu_;
  std::deque<std::pair<uint64_t, ReqStats>> samples_;
};

}  // namespace mmchaos
