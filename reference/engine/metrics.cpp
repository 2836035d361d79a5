#include "metrics.h"

#include <cmath>

namespace refengine {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

namespace {

const Histogram::BucketBoundaries kLatencyBuckets{
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0, 2.0, 5.0};
const Histogram::BucketBoundaries kWsGapBuckets{1,   5,   10,  25,  50,   75,   100,
                                                150, 200, 300, 500, 1000, 2000, 5000};
const Histogram::BucketBoundaries kWsDelayBuckets{0.1, 0.5, 1,   2,   5,    10,  25,
                                                  50,  100, 250, 500, 1000, 2500};
const Histogram::BucketBoundaries kDnsBuckets{0.0005, 0.001, 0.005, 0.01, 0.05,
                                              0.1,    0.5,   1.0,   2.0,  5.0};

// A metric family of the builder's kind (BuildCounter, BuildGauge, BuildHistogram) in r.
template <typename Builder>
auto& Registered(Builder build, prometheus::Registry& r, const char* name, const char* help) {
  return build().Name(name).Help(help).Register(r);
}

nlohmann::json quantiles(const SampleSet& s) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  return {{"count", s.count()},
          {"p50", num(s.percentile(50))},
          {"p95", num(s.percentile(95))},
          {"p99", num(s.percentile(99))},
          {"max", s.count() ? nlohmann::json(s.max()) : nlohmann::json(nullptr)}};
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      latency_(Registered(BuildHistogram, *registry_, "mm_request_latency_seconds",
                          "REST request latency (sent -> full response) of answered requests")),
      deadline_miss_(Registered(BuildCounter, *registry_, "mm_deadline_miss_total",
                                "REST requests that missed their deadline")),
      requests_(Registered(BuildCounter, *registry_, "mm_requests_total",
                           "REST requests by op and outcome (HTTP status, timeout, error)")),
      reconnects_(Registered(BuildCounter, *registry_, "mm_reconnect_attempts_total",
                             "Connection attempts after the first, by kind (rest, ws)")),
      backoff_skips_(Registered(BuildCounter, *registry_, "mm_backoff_skips_total",
                                "Ticks whose REST work was skipped while backing off, by reason")),
      discrepancies_(Registered(BuildCounter, *registry_, "mm_reconcile_discrepancies_total",
                                "Orders on which the engine and the exchange disagreed, by type")),
      ws_gap_(Registered(BuildHistogram, *registry_, "mm_ws_gap_ms",
                         "Time between consecutive market-data messages (ms)")
                  .Add({}, kWsGapBuckets)),
      ws_delay_(Registered(BuildHistogram, *registry_, "mm_ws_delay_ms",
                           "Exchange timestamp to receipt of market-data messages (ms)")
                    .Add({}, kWsDelayBuckets)),
      ws_messages_(Registered(BuildCounter, *registry_, "mm_ws_messages_total",
                              "Market-data messages received")
                       .Add({})),
      ws_connections_(Registered(BuildCounter, *registry_, "mm_ws_connections_total",
                                 "Market-data WebSocket handshakes completed")
                          .Add({})),
      ws_seq_gaps_(Registered(BuildCounter, *registry_, "mm_ws_seq_gaps_total",
                              "Sequence gaps seen on the market-data stream")
                       .Add({})),
      ws_missed_(Registered(BuildCounter, *registry_, "mm_ws_missed_messages_total",
                            "Market-data messages missing in sequence gaps")
                     .Add({})),
      ws_out_of_order_(Registered(BuildCounter, *registry_, "mm_ws_out_of_order_total",
                                  "Market-data messages whose seq did not increase")
                           .Add({})),
      reconcile_runs_(Registered(BuildCounter, *registry_, "mm_reconcile_runs_total",
                                 "Completed reconciliations")
                          .Add({})),
      dns_lookups_(Registered(BuildCounter, *registry_, "mm_dns_lookups_total",
                              "Name resolutions of the exchange hosts")
                       .Add({})),
      dns_failures_(Registered(BuildCounter, *registry_, "mm_dns_failures_total",
                               "Failed or timed-out name resolutions")
                        .Add({})),
      dns_latency_(
          Registered(BuildHistogram, *registry_, "mm_dns_latency_seconds", "Name resolution time")
              .Add({}, kDnsBuckets)),
      ticks_(Registered(BuildCounter, *registry_, "mm_ticks_total", "Engine ticks run").Add({})),
      open_orders_(
          Registered(BuildGauge, *registry_, "mm_open_orders", "Orders the engine believes open")
              .Add({})),
      clock_offset_(Registered(BuildGauge, *registry_, "mm_exchange_clock_offset_seconds",
                               "Exchange serverTime minus local time at the response")
                        .Add({})) {
  // Series that exist (at 0) from the start, so a rate() or a test sees them before any event.
  for (const char* op : {"place", "cancel", "open_orders", "time"}) {
    deadline_miss_.Add({{"op", op}});
    latency_.Add({{"op", op}}, kLatencyBuckets);
  }
  for (const char* kind : {"rest", "ws"}) {
    reconnects_.Add({{"kind", kind}});
    reconnect_tally_[kind] = 0;
  }
  for (const char* type : {"missing_on_engine", "missing_on_exchange"}) {
    discrepancies_.Add({{"type", type}});
    discrepancy_tally_[type] = 0;
  }
}

void Metrics::request(const std::string& op, const std::string& code,
                      std::optional<double> seconds) {
  requests_.Add({{"op", op}, {"code", code}}).Increment();
  OpTally& t = ops_[op];
  ++t.codes[code];
  if (seconds) {
    latency_.Add({{"op", op}}, kLatencyBuckets).Observe(*seconds);
    t.latency_ms.add(*seconds * 1000.0);
  }
}

void Metrics::deadline_miss(const std::string& op) {
  deadline_miss_.Add({{"op", op}}).Increment();
  ++ops_[op].deadline_misses;
}

void Metrics::reconnect_attempt(const std::string& kind) {
  reconnects_.Add({{"kind", kind}}).Increment();
  ++reconnect_tally_[kind];
}

void Metrics::backoff_skip(const std::string& reason) {
  backoff_skips_.Add({{"reason", reason}}).Increment();
  ++backoff_tally_[reason];
}

void Metrics::tick() {
  ticks_.Increment();
  ++ticks_tally_;
}

void Metrics::open_orders(size_t n) {
  open_orders_.Set(static_cast<double>(n));
  open_orders_now_ = n;
}

void Metrics::clock_offset(double seconds) { clock_offset_.Set(seconds); }

void Metrics::ws_connected() {
  ws_connections_.Increment();
  ++ws_connections_tally_;
}

void Metrics::ws_message(std::optional<double> gap_ms, double delay_ms) {
  ws_messages_.Increment();
  ++ws_messages_tally_;
  if (gap_ms) {
    ws_gap_.Observe(*gap_ms);
    ws_gap_ms_.add(*gap_ms);
  }
  ws_delay_.Observe(delay_ms);
  ws_delay_ms_.add(delay_ms);
}

void Metrics::ws_seq_gap(uint64_t missed) {
  ws_seq_gaps_.Increment();
  ws_missed_.Increment(static_cast<double>(missed));
  ++ws_gaps_tally_;
  ws_missed_tally_ += missed;
}

void Metrics::ws_out_of_order() {
  ws_out_of_order_.Increment();
  ++ws_out_of_order_tally_;
}

void Metrics::reconcile_run() {
  reconcile_runs_.Increment();
  ++reconcile_runs_tally_;
}

void Metrics::discrepancies(const std::string& type, uint64_t n) {
  if (n == 0) return;
  discrepancies_.Add({{"type", type}}).Increment(static_cast<double>(n));
  discrepancy_tally_[type] += n;
}

void Metrics::dns_lookup(bool ok, double seconds) {
  dns_lookups_.Increment();
  ++dns_lookups_tally_;
  dns_latency_.Observe(seconds);
  dns_ms_.add(seconds * 1000.0);
  if (!ok) {
    dns_failures_.Increment();
    ++dns_failures_tally_;
  }
}

nlohmann::json Metrics::summary() const {
  nlohmann::json requests = nlohmann::json::object();
  nlohmann::json misses = nlohmann::json::object();
  nlohmann::json latency = nlohmann::json::object();
  uint64_t total = 0;
  for (const auto& [op, t] : ops_) {
    requests[op] = t.codes;
    for (const auto& [code, n] : t.codes) total += n;
    misses[op] = t.deadline_misses;
    latency[op] = quantiles(t.latency_ms);
  }
  return {
      {"ticks", ticks_tally_},
      {"requests_total", total},
      {"requests", requests},
      {"deadline_miss", misses},
      {"latency_ms", latency},
      {"backoff_skips", backoff_tally_},
      {"reconnect_attempts", reconnect_tally_},
      {"ws",
       {{"connections", ws_connections_tally_},
        {"messages", ws_messages_tally_},
        {"seq_gaps", ws_gaps_tally_},
        {"missed_messages", ws_missed_tally_},
        {"out_of_order", ws_out_of_order_tally_},
        {"gap_ms", quantiles(ws_gap_ms_)},
        {"delay_ms", quantiles(ws_delay_ms_)}}},
      {"reconcile", {{"runs", reconcile_runs_tally_}, {"discrepancies", discrepancy_tally_}}},
      {"dns",
       {{"lookups", dns_lookups_tally_},
        {"failures", dns_failures_tally_},
        {"latency_ms", quantiles(dns_ms_)}}},
      {"open_orders", open_orders_now_},
  };
}

}  // namespace refengine
