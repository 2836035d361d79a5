// Prometheus exposition of the data plane's counters. Values are read from the BPF maps at
// scrape time, so a scrape shows exactly what the kernel counted (no second bookkeeping).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/memory.h"
#include "common/error.h"
#include "loader/counters.h"
#include "mmchaos.h"

namespace prometheus {
class Exposer;
}

namespace mmchaos {

// What a scrape needs, taken fresh on each scrape.
struct DataPlaneSnapshot {
  std::optional<Counters> counters;  // nullopt: the maps could not be read
  mmc_config config{};
  bool attached = false;
  uint64_t now_ns = 0;  // CLOCK_MONOTONIC, for the burst phase
  // The netem qdiscs' own counters, when the netem path is up: [0] lat_spike, [1] ws_lag.
  struct Netem {
    uint64_t drops = 0;
    uint64_t backlog_packets = 0;
  };
  std::optional<std::array<Netem, 2>> netem;
  // mm_partial_fail_rate over the last window, one entry per (exchange, op) seen.
  struct PartialFail {
    std::string exchange, op;
    double rate = 0;
  };
  std::vector<PartialFail> partial_fail;
  // mm_rest_requests_total / mm_rest_request_failures_total: the same counts since the start.
  struct RequestCount {
    std::string exchange, op;
    uint64_t requests = 0, failures = 0;
  };
  std::vector<RequestCount> request_counts;
  // mm_rest_latency_seconds{exchange}: the raw map and target.exchanges' names (the index).
  std::optional<RestLatency> rest_latency;
  std::vector<std::string> exchanges;
  // mm_chaos_rollbacks_total{trigger}: every configured trigger, fired or not.
  std::vector<std::pair<std::string, uint64_t>> rollbacks;
  // The target cgroup's memory.pressure, when the kernel has PSI for it.
  std::optional<MemoryPsi> memory_psi;
};

class MetricsExporter {
 public:
  // Binds listen ("host:port") and serves /metrics until destroyed.
  static Result<std::unique_ptr<MetricsExporter>> Start(
      const std::string& listen, std::function<DataPlaneSnapshot()> snapshot);
  ~MetricsExporter();
  // The port it listens on (listen may name port 0: the kernel picks one).
  int port() const;

 private:
  MetricsExporter() = default;
  std::shared_ptr<class DataPlaneCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace mmchaos
