// The engine's Prometheus metrics, plus in-process tallies and latency samples for the
// --stats-json summary. Called from the engine's single io thread; prometheus-cpp serves the
// registry from its own threads.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "percentile.h"

namespace refengine {

class Metrics {
 public:
  Metrics();
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // code: the HTTP status ("200", "429", ...), "timeout" (deadline missed) or "error" (no
  // response: connect/resolve failure, reset). Latency only for requests that got a response.
  void request(const std::string& op, const std::string& code, std::optional<double> seconds);
  void deadline_miss(const std::string& op);
  void reconnect_attempt(const std::string& kind);  // "rest" | "ws"
  void backoff_skip(const std::string& reason);     // a tick's REST work skipped while backing off
  void tick();
  void open_orders(size_t n);
  void clock_offset(double seconds);

  void ws_connected();
  // gap_ms: since the previous message on this connection (none for the first one);
  // delay_ms: exchange timestamp -> receipt (same clock).
  void ws_message(std::optional<double> gap_ms, double delay_ms);
  void ws_seq_gap(uint64_t missed);
  void ws_out_of_order();

  void reconcile_run();
  void discrepancies(const std::string& type, uint64_t n);  // "missing_on_engine" | "..._exchange"

  void dns_lookup(bool ok, double seconds);

  // The summary written by --stats-json.
  nlohmann::json summary() const;

 private:
  struct OpTally {
    std::map<std::string, uint64_t> codes;
    uint64_t deadline_misses = 0;
    SampleSet latency_ms;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& deadline_miss_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& reconnects_;
  prometheus::Family<prometheus::Counter>& backoff_skips_;
  prometheus::Family<prometheus::Counter>& discrepancies_;
  prometheus::Histogram& ws_gap_;
  prometheus::Histogram& ws_delay_;
  prometheus::Counter& ws_messages_;
  prometheus::Counter& ws_connections_;
  prometheus::Counter& ws_seq_gaps_;
  prometheus::Counter& ws_missed_;
  prometheus::Counter& ws_out_of_order_;
  prometheus::Counter& reconcile_runs_;
  prometheus::Counter& dns_lookups_;
  prometheus::Counter& dns_failures_;
  prometheus::Histogram& dns_latency_;
  prometheus::Counter& ticks_;
  prometheus::Gauge& open_orders_;
  prometheus::Gauge& clock_offset_;

  std::map<std::string, OpTally> ops_;
  std::map<std::string, uint64_t> reconnect_tally_;
  std::map<std::string, uint64_t> backoff_tally_;
  std::map<std::string, uint64_t> discrepancy_tally_;
  uint64_t ticks_tally_ = 0;
  uint64_t ws_messages_tally_ = 0, ws_connections_tally_ = 0, ws_gaps_tally_ = 0,
           ws_missed_tally_ = 0, ws_out_of_order_tally_ = 0;
  uint64_t reconcile_runs_tally_ = 0, dns_lookups_tally_ = 0, dns_failures_tally_ = 0;
  size_t open_orders_now_ = 0;
  SampleSet ws_gap_ms_, ws_delay_ms_, dns_ms_;
};

}  // namespace refengine
