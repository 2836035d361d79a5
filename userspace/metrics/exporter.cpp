#include "metrics/exporter.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <limits>
#include <tuple>

#include "common/scenarios.h"
#include "schedule.h"

namespace mmchaos {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class DataPlaneCollector : public prometheus::Collectable {
 public:
  explicit DataPlaneCollector(std::function<DataPlaneSnapshot()> snapshot)
      : snapshot_(std::move(snapshot)) {}

  // A family with no series yet.
  static MetricFamily Family(std::string name, std::string help, MetricType type) {
    return MetricFamily{std::move(name), std::move(help), type, {}};
  }

  // Adds a series to a counter or gauge family: v is its counter or gauge value, as f's type says.
  static void Add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter)
      m.counter.value = v;
    else
      m.gauge.value = v;
    f.metric.push_back(std::move(m));
  }

  // A counter family with one label whose series are counter-map slots.
  static MetricFamily SlotCounters(const DataPlaneSnapshot& s, std::string name, std::string help,
                                   const char* label,
                                   std::initializer_list<std::pair<const char*, uint32_t>> series) {
    MetricFamily f = Family(std::move(name), std::move(help), MetricType::Counter);
    for (auto [value, slot] : series)
      Add(f, {{label, value}}, s.counters ? static_cast<double>((*s.counters)[slot]) : 0);
    return f;
  }

  std::vector<MetricFamily> Collect() const override {
    DataPlaneSnapshot s = snapshot_();
    std::vector<MetricFamily> out;

    MetricFamily inj = Family("mm_chaos_injections_total",
                              "Fault decisions by scenario (mem_pressure: bursts applied to "
                              "memory.high); mode=shadow were decided and counted but not injected",
                              MetricType::Counter);
    for (const auto& scn : kScenarios) {
      for (uint32_t mode = 0; mode < MMC_MODE_MAX; ++mode)
        Add(inj, {{"mode", std::string(ModeLabel(mode))}, {"scenario", std::string(scn.label)}},
            s.counters
                ? static_cast<double>(Injections(*s.counters, scn.id, static_cast<mmc_mode>(mode)))
                : 0);
    }
    out.push_back(std::move(inj));

    MetricFamily failed =
        Family("mm_chaos_injection_failures_total",
               "Live fault decisions whose action did not take effect (a rewrite that could not be "
               "written, a failed redirect or clock write), by scenario; not counted in "
               "mm_chaos_injections_total",
               MetricType::Counter);
    for (const auto& scn : kScenarios)
      Add(failed, {{"scenario", std::string(scn.label)}},
          s.counters ? static_cast<double>(FailedActions(*s.counters, scn.id)) : 0);
    out.push_back(std::move(failed));

    out.push_back(SlotCounters(
        s, "mm_chaos_packets_total", "Packets of the target cgroup seen by the data plane",
        "direction", {{"egress", MMC_STAT_PKTS_EGRESS}, {"ingress", MMC_STAT_PKTS_INGRESS}}));
    out.push_back(SlotCounters(s, "mm_reconnect_attempts_total",
                               "The engine's connect() attempts to exchange endpoints, seen by a "
                               "cgroup connect hook",
                               "kind",
                               {{"rest", MMC_STAT_CONNECT_REST}, {"ws", MMC_STAT_CONNECT_WS}}));

    MetricFamily gaps = Family("mm_ws_gap_ms",
                               "Gaps between inbound data segments on the engine's WebSocket "
                               "flows, measured in the kernel (ms)",
                               MetricType::Histogram);
    {
      ClientMetric m;
      static constexpr double kBounds[MMC_WSGAP_BUCKETS - 1] = MMC_WSGAP_BOUNDS_MS;
      uint64_t cumulative = 0;
      for (int i = 0; i < MMC_WSGAP_BUCKETS; ++i) {
        if (s.counters) cumulative += (*s.counters)[MMC_STAT_WSGAP_BUCKET0 + i];
        m.histogram.bucket.push_back({cumulative, i < MMC_WSGAP_BUCKETS - 1
                                                      ? kBounds[i]
                                                      : std::numeric_limits<double>::infinity()});
      }
      if (s.counters) {
        m.histogram.sample_count = (*s.counters)[MMC_STAT_WSGAP_COUNT];
        m.histogram.sample_sum = static_cast<double>((*s.counters)[MMC_STAT_WSGAP_SUM_US]) / 1e3;
      }
      gaps.metric.push_back(std::move(m));
    }
    out.push_back(std::move(gaps));

    MetricFamily pfail = Family(
        "mm_partial_fail_rate",
        "Share of the engine's REST requests over the last window that failed (reset, timeout "
        "(the engine gave up), 429 or 5xx as seen in the kernel)",
        MetricType::Gauge);
    for (const auto& f : s.partial_fail)
      Add(pfail, {{"exchange", f.exchange}, {"op", f.op}}, f.rate);
    out.push_back(std::move(pfail));
    MetricFamily reqs = Family("mm_rest_requests_total",
                               "The engine's REST requests as the kernel saw them start (sampled "
                               "once a second), by exchange and op",
                               MetricType::Counter);
    MetricFamily fails = Family(
        "mm_rest_request_failures_total",
        "Those that failed: reset, timeout (the engine gave up), 429 or 5xx", MetricType::Counter);
    for (const auto& r : s.request_counts) {
      Add(reqs, {{"exchange", r.exchange}, {"op", r.op}}, static_cast<double>(r.requests));
      Add(fails, {{"exchange", r.exchange}, {"op", r.op}}, static_cast<double>(r.failures));
    }
    out.push_back(std::move(reqs));
    out.push_back(std::move(fails));
    out.push_back(RestLatencyFamily(s));

    MetricFamily rb = Family("mm_chaos_rollbacks_total",
                             "Rollbacks (detaches) caused by a rollback trigger, by trigger",
                             MetricType::Counter);
    for (const auto& [trigger, n] : s.rollbacks)
      Add(rb, {{"trigger", trigger}}, static_cast<double>(n));
    out.push_back(std::move(rb));

    out.push_back(SlotCounters(
        s, "mm_chaos_log_events_dropped_total",
        "Injection-log events not written: reason=rate_limit (over "
        "log.max_events_per_sec) or ring_full",
        "reason",
        {{"rate_limit", MMC_STAT_EVENTS_SUPPRESSED}, {"ring_full", MMC_STAT_EVENTS_LOST}}));

    if (s.netem) {
      AppendNetem(*s.netem, out);
      out.push_back(SlotCounters(
          s, "mm_chaos_netem_held_packets_total",
          "Packets that, once a burst was over, waited for their flow's packets still in the "
          "netem instead of overtaking them (released in order when those left)",
          "scenario", {{"lat_spike", MMC_STAT_LAT_SPIKE_HELD}, {"ws_lag", MMC_STAT_WS_LAG_HELD}}));
    }

    if (s.memory_psi) {
      const MemoryPsi& p = *s.memory_psi;
      MetricFamily avg = Family("mm_chaos_memory_pressure_avg10",
                                "The target cgroup's memory PSI (memory.pressure): percent of the "
                                "last 10 s in which some / all of its tasks stalled on memory",
                                MetricType::Gauge);
      MetricFamily total = Family("mm_chaos_memory_pressure_seconds_total",
                                  "The target cgroup's memory PSI: total time some / all of its "
                                  "tasks stalled on memory (memory.pressure total=)",
                                  MetricType::Counter);
      for (auto [kind, a, t] : {std::tuple{"some", p.some_avg10, p.some_total_us},
                                std::tuple{"full", p.full_avg10, p.full_total_us}}) {
        Add(avg, {{"kind", kind}}, a);
        Add(total, {{"kind", kind}}, static_cast<double>(t) / 1e6);
      }
      out.push_back(std::move(avg));
      out.push_back(std::move(total));
    }

    mmc_phase phase =
        mmc_schedule_phase(s.config.epoch_ns, s.config.on_ns, s.config.off_ns, s.now_ns);
    bool on = s.attached && s.config.armed && phase.on;
    out.push_back(Gauge("mm_chaos_burst_phase",
                        "1 while a burst is on (faults may be injected), 0 while off or detached",
                        on ? 1 : 0));
    out.push_back(Gauge("mm_chaos_burst_index", "Index of the current burst cycle (from 0)",
                        static_cast<double>(phase.burst)));
    out.push_back(Gauge("mm_chaos_attached", "1 while the data plane is attached to the target",
                        s.attached ? 1 : 0));
    out.push_back(Gauge("mm_chaos_dry_run", "1 in shadow mode (decide and count, never inject)",
                        s.config.dry_run ? 1 : 0));
    return out;
  }

 private:
  // One histogram per named exchange, from the kernel's non-cumulative buckets.
  static MetricFamily RestLatencyFamily(const DataPlaneSnapshot& s) {
    MetricFamily f = Family("mm_rest_latency_seconds",
                            "The engine's REST request latency per exchange, measured in the "
                            "kernel: request's first segment sent -> response's first byte "
                            "received",
                            MetricType::Histogram);
    static constexpr uint32_t kBoundsMs[MMC_RESTLAT_BUCKETS - 1] = MMC_RESTLAT_BOUNDS_MS;
    for (size_t x = 0; x < s.exchanges.size() && x < MMC_MAX_EXCHANGES; ++x) {
      ClientMetric m;
      m.label = {{"exchange", s.exchanges[x]}};
      const size_t base = x * MMC_RESTLAT_STRIDE;
      uint64_t cumulative = 0;
      for (int i = 0; i < MMC_RESTLAT_BUCKETS; ++i) {
        if (s.rest_latency) cumulative += (*s.rest_latency)[base + i];
        m.histogram.bucket.push_back({cumulative, i < MMC_RESTLAT_BUCKETS - 1
                                                      ? kBoundsMs[i] / 1e3
                                                      : std::numeric_limits<double>::infinity()});
      }
      if (s.rest_latency) {
        m.histogram.sample_count = (*s.rest_latency)[base + MMC_RESTLAT_COUNT];
        m.histogram.sample_sum =
            static_cast<double>((*s.rest_latency)[base + MMC_RESTLAT_SUM_US]) / 1e6;
      }
      f.metric.push_back(std::move(m));
    }
    return f;
  }

  // The netem qdiscs' own counters, only while the netem path exists (delay scenarios).
  static void AppendNetem(const std::array<DataPlaneSnapshot::Netem, 2>& netem,
                          std::vector<MetricFamily>& out) {
    MetricFamily drops = Family("mm_chaos_netem_drops_total",
                                "Packets the delay scenarios' netem qdiscs dropped (queue over its "
                                "limit: raise netem.expected_pps or netem.limit)",
                                MetricType::Counter);
    MetricFamily backlog =
        Family("mm_chaos_netem_backlog_packets",
               "Packets held in the delay scenarios' netem qdiscs now", MetricType::Gauge);
    for (auto [scn, i] : {std::pair{"lat_spike", 0}, std::pair{"ws_lag", 1}}) {
      Add(drops, {{"scenario", scn}}, static_cast<double>(netem[i].drops));
      Add(backlog, {{"scenario", scn}}, static_cast<double>(netem[i].backlog_packets));
    }
    out.push_back(std::move(drops));
    out.push_back(std::move(backlog));
  }

  static MetricFamily Gauge(std::string name, std::string help, double v) {
    MetricFamily f = Family(std::move(name), std::move(help), MetricType::Gauge);
    Add(f, {}, v);
    return f;
  }

  std::function<DataPlaneSnapshot()> snapshot_;
};

Result<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const std::string& listen, std::function<DataPlaneSnapshot()> snapshot) {
  std::unique_ptr<MetricsExporter> e(new MetricsExporter());
  e->collector_ = std::make_shared<DataPlaneCollector>(std::move(snapshot));
  try {
    e->exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& ex) {
    return Fail("prometheus::Exposer(" + listen + "): " + ex.what(), EADDRINUSE,
                "is metrics.listen in use by another process? pick a free host:port");
  }
  e->exposer_->RegisterCollectable(e->collector_);
  return e;
}

MetricsExporter::~MetricsExporter() = default;

int MetricsExporter::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace mmchaos
