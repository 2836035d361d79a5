// The flat sections of chaos.yaml, one key table each: chaos, netem, faults, metrics, log,
// acceptance, experiment, fleet.
#include <string>
#include <utility>
#include <vector>

#include "common/url.h"
#include "config/section.h"

namespace mmchaos {
namespace {

// A probability the kernel can draw: 0, or at least 2^-32.
double Probability(SectionReader& r, const Field& f) {
  double p = r.Number(f, 0.0, 1.0);
  if (p > 0 && p < kSmallestProbability)
    Throw(f.v.Mark(), f.name +
                          " is above 0 but below 2^-32 (about 2.3e-10), the "
                          "smallest probability the kernel draws: it would "
                          "count as on and never fire (0 turns it off)");
  return p;
}

MemPressure ParseMemPressure(const Field& f) {
  const char* expected = "one of none, low, medium, high";
  if (!f.v.IsScalar())
    Throw(f.value_mark(), f.name + ": expected " + std::string(expected) + ", got " + Got(f.v));
  for (MemPressure m :
       {MemPressure::kNone, MemPressure::kLow, MemPressure::kMedium, MemPressure::kHigh}) {
    if (f.v.Scalar() == MemPressureName(m)) return m;
  }
  Throw(f.v.Mark(), f.name + ": expected " + std::string(expected) + ", got " + Got(f.v));
}

NetemDistribution ParseDistribution(const Field& f) {
  const char* expected = "one of uniform, normal, pareto, paretonormal";
  if (!f.v.IsScalar())
    Throw(f.value_mark(), f.name + ": expected " + std::string(expected) + ", got " + Got(f.v));
  for (NetemDistribution d : {NetemDistribution::kUniform, NetemDistribution::kNormal,
                              NetemDistribution::kPareto, NetemDistribution::kParetoNormal}) {
    if (f.v.Scalar() == NetemDistributionName(d)) return d;
  }
  Throw(f.v.Mark(), f.name + ": expected " + std::string(expected) + ", got " + Got(f.v));
}

// One of `allowed`, or an error saying "expected <list>, got 'value'".
std::string OneOf(SectionReader& r, const Field& f, std::initializer_list<const char*> allowed,
                  const std::string& expected) {
  std::string s = r.String(f);
  for (const char* a : allowed)
    if (s == a) return s;
  Throw(f.value_mark(), f.name + ": expected " + expected + ", got " + Shown(s));
}

// --- chaos ---------------------------------------------------------------------------------------

using ChaosKey = Key<ChaosSection>;
constexpr ChaosKey kChaosKeys[] = {
    {"enabled",
     [](SectionReader&, const Field& f, ChaosSection& c) { c.enabled = Reader::Bool(f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitBool(e, c.enabled); }},
    {"dry_run",
     [](SectionReader&, const Field& f, ChaosSection& c) { c.dry_run = Reader::Bool(f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitBool(e, c.dry_run); }},
    {"net_loss",
     [](SectionReader& r, const Field& f, ChaosSection& c) { c.net_loss = Probability(r, f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.net_loss); }},
    {"exch_429",
     [](SectionReader& r, const Field& f, ChaosSection& c) { c.exch_429 = Probability(r, f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.exch_429); }},
    {"exch_5xx",
     [](SectionReader& r, const Field& f, ChaosSection& c) { c.exch_5xx = Probability(r, f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.exch_5xx); }},
    {"lat_spike_ms",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.lat_spike_ms = r.Integer(f, 0, 10000);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitInt(e, c.lat_spike_ms); }},
    {"ws_lag_ms",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.ws_lag_ms = r.Integer(f, 0, 10000);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitInt(e, c.ws_lag_ms); }},
    {"ws_disconnect",
     [](SectionReader& r, const Field& f, ChaosSection& c) { c.ws_disconnect = Probability(r, f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.ws_disconnect); }},
    {"dns_flap",
     [](SectionReader& r, const Field& f, ChaosSection& c) { c.dns_flap = Probability(r, f); },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.dns_flap); }},
    {"clock_skew_ms",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.clock_skew_ms = r.Integer(f, -3600000, 3600000);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitInt(e, c.clock_skew_ms); }},
    {"mem_pressure",
     [](SectionReader&, const Field& f, ChaosSection& c) { c.mem_pressure = ParseMemPressure(f); },
     [](YAML::Emitter& e, const ChaosSection& c) { e << MemPressureName(c.mem_pressure); }},
    {"rate_limit_storm",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.rate_limit_storm = Probability(r, f);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.rate_limit_storm); }},
    {"reconcile_mismatch",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.reconcile_mismatch = Probability(r, f);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.reconcile_mismatch); }},
    {"burst_on_sec",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.burst_on_sec = r.Number(f, 0.1, 3600);
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.burst_on_sec); }},
    {"burst_off_sec",
     [](SectionReader& r, const Field& f, ChaosSection& c) {
       c.burst_off_sec = r.Number(f, 0, 86400);
       if (c.burst_off_sec > 0 && c.burst_off_sec < 0.001)
         Throw(f.v.Mark(), f.name +
                               " is above 0 but below 1 ms, which the schedule "
                               "rounds to 0, i.e. always on: write 0 for always on, "
                               "or at least 0.001");
     },
     [](YAML::Emitter& e, const ChaosSection& c) { EmitNumber(e, c.burst_off_sec); }},
};

// --- netem ---------------------------------------------------------------------------------------

// netem while it is read: keys that only matter with jitter / with reordering, to warn when
// they do nothing.
struct NetemParse {
  NetemSection& n;
  std::vector<std::pair<std::string, YAML::Mark>> need_jitter, need_reorder;
};

using NetemKey = Key<NetemSection, NetemParse>;
constexpr NetemKey kNetemKeys[] = {
    {"jitter_ms",
     [](SectionReader& r, const Field& f, NetemParse& p) {
       p.n.jitter_ms = r.Integer(f, 0, 10000);
     },
     [](YAML::Emitter& e, const NetemSection& n) { EmitInt(e, n.jitter_ms); }},
    {"correlation_pct",
     [](SectionReader& r, const Field& f, NetemParse& p) {
       p.n.correlation_pct = r.Number(f, 0, 100);
       if (p.n.correlation_pct > 0) p.need_jitter.emplace_back(f.name, f.v.Mark());
     },
     [](YAML::Emitter& e, const NetemSection& n) { EmitNumber(e, n.correlation_pct); }},
    {"distribution",
     [](SectionReader&, const Field& f, NetemParse& p) {
       p.n.distribution = ParseDistribution(f);
       if (p.n.distribution != NetemDistribution::kUniform)
         p.need_jitter.emplace_back(f.name, f.v.Mark());
     },
     [](YAML::Emitter& e, const NetemSection& n) { e << NetemDistributionName(n.distribution); }},
    {"reorder_pct",
     [](SectionReader& r, const Field& f, NetemParse& p) { p.n.reorder_pct = r.Number(f, 0, 100); },
     [](YAML::Emitter& e, const NetemSection& n) { EmitNumber(e, n.reorder_pct); }},
    {"reorder_correlation_pct",
     [](SectionReader& r, const Field& f, NetemParse& p) {
       p.n.reorder_correlation_pct = r.Number(f, 0, 100);
       if (p.n.reorder_correlation_pct > 0) p.need_reorder.emplace_back(f.name, f.v.Mark());
     },
     [](YAML::Emitter& e, const NetemSection& n) { EmitNumber(e, n.reorder_correlation_pct); }},
    {"expected_pps",
     [](SectionReader& r, const Field& f, NetemParse& p) {
       p.n.expected_pps = r.Integer(f, 1, 10000000);
     },
     [](YAML::Emitter& e, const NetemSection& n) { EmitInt(e, n.expected_pps); }},
    {"limit",
     [](SectionReader& r, const Field& f, NetemParse& p) {
       p.n.limit = r.Integer(f, 0, 10000000);
       r.netem_limit_mark = f.v.Mark();
     },
     [](YAML::Emitter& e, const NetemSection& n) { EmitInt(e, n.limit); }},
};

// --- faults --------------------------------------------------------------------------------------

using FaultsKey = Key<FaultsSection>;
constexpr FaultsKey kFaultsKeys[] = {
    {"status_5xx",
     [](SectionReader& r, const Field& f, FaultsSection& s) {
       s.status_5xx = r.Integer(f, 500, 599);
     },
     [](YAML::Emitter& e, const FaultsSection& s) { EmitInt(e, s.status_5xx); }},
    {"dns_answer",
     [](SectionReader& r, const Field& f, FaultsSection& s) {
       s.dns_answer =
           OneOf(r, f, {"servfail", "nxdomain", "timeout"}, "servfail, nxdomain or timeout");
     },
     [](YAML::Emitter& e, const FaultsSection& s) { e << s.dns_answer; }},
    {"clock_skew_clocks",
     [](SectionReader&, const Field& f, FaultsSection& s) {
       s.clock_skew_clocks.clear();
       Reader::ForEachItem(f, "clock classes", 2, [&](const YAML::Node& item) {
         std::string c = Reader::ItemString(item, f.name, "clock classes");
         if (c != "realtime" && c != "monotonic")
           Throw(item.Mark(), f.name + ": expected realtime or monotonic, got " + Shown(c));
         s.clock_skew_clocks.push_back(c);
       });
     },
     [](YAML::Emitter& e, const FaultsSection& s) {
       e << YAML::Flow << YAML::BeginSeq;
       for (const std::string& c : s.clock_skew_clocks) e << c;
       e << YAML::EndSeq;
     }},
    {"clock_skew_mechanism",
     [](SectionReader& r, const Field& f, FaultsSection& s) {
       s.clock_skew_mechanism =
           OneOf(r, f, {"auto", "uprobe", "preload"}, "auto, uprobe or preload");
     },
     [](YAML::Emitter& e, const FaultsSection& s) { e << s.clock_skew_mechanism; }},
    {"tls_mechanism",
     [](SectionReader& r, const Field& f, FaultsSection& s) {
       s.tls_mechanism =
           OneOf(r, f, {"auto", "uprobe", "preload"}, "auto, uprobe or preload");
     },
     [](YAML::Emitter& e, const FaultsSection& s) { e << s.tls_mechanism; }},
};

// --- metrics -------------------------------------------------------------------------------------

void ParseListen(SectionReader& r, const Field& f, MetricsSection& m) {
  std::string listen = r.String(f);
  auto hp = SplitHostPort(listen);
  std::string err = hp ? "" : hp.error().call;
  if (err.empty() && hp->port.empty()) err = "missing ':port'";
  if (err.empty() && !ParsePort(hp->port)) err = "port " + Shown(hp->port) + " is not in 1..65535";
  if (!err.empty()) {
    Throw(f.value_mark(), f.name + ": " + Shown(listen) +
                              " is not HOST:PORT (e.g. 127.0.0.1:9464 or "
                              "[::1]:9464): " +
                              err);
  }
  m.listen = listen;
  if (!IsLoopback(hp->host, hp->bracketed))
    r.Warn(f.value_mark(), f.name + " " + Shown(listen) +
                               " is reachable from other hosts, and the metrics endpoint has no "
                               "authentication: anyone who reaches it reads the engine's traffic "
                               "counters (127.0.0.1 keeps it local)");
}

constexpr Key<MetricsSection> kMetricsKeys[] = {
    {"listen", ParseListen,
     [](YAML::Emitter& e, const MetricsSection& m) { EmitQuoted(e, m.listen); }},
};

// --- log -----------------------------------------------------------------------------------------

constexpr Key<LogSection> kLogKeys[] = {
    {"injections",
     [](SectionReader& r, const Field& f, LogSection& l) {
       l.injections = r.String(f);
       if (std::string why = LogPathProblem(l.injections); !why.empty())
         Throw(f.value_mark(), f.name + ": " + why);
     },
     [](YAML::Emitter& e, const LogSection& l) { EmitQuoted(e, l.injections); }},
    {"max_events_per_sec",
     [](SectionReader& r, const Field& f, LogSection& l) {
       l.max_events_per_sec = r.Integer(f, 1, 100000);
     },
     [](YAML::Emitter& e, const LogSection& l) { EmitInt(e, l.max_events_per_sec); }},
};

// --- acceptance ----------------------------------------------------------------------------------

constexpr Key<AcceptanceSection> kAcceptanceKeys[] = {
    {"p95_regression_max_pct",
     [](SectionReader& r, const Field& f, AcceptanceSection& a) {
       a.p95_regression_max_pct = r.Number(f, 0, 10000);
     },
     [](YAML::Emitter& e, const AcceptanceSection& a) { EmitNumber(e, a.p95_regression_max_pct); }},
    {"deadline_miss_max_pct",
     [](SectionReader& r, const Field& f, AcceptanceSection& a) {
       a.deadline_miss_max_pct = r.Number(f, 0, 100);
     },
     [](YAML::Emitter& e, const AcceptanceSection& a) { EmitNumber(e, a.deadline_miss_max_pct); }},
    {"recovery_ticks_max",
     [](SectionReader& r, const Field& f, AcceptanceSection& a) {
       a.recovery_ticks_max = r.Integer(f, 0, 1000000);
     },
     [](YAML::Emitter& e, const AcceptanceSection& a) { EmitInt(e, a.recovery_ticks_max); }},
    {"lat_spike_p99_max_ms",
     [](SectionReader& r, const Field& f, AcceptanceSection& a) {
       a.lat_spike_p99_max_ms = r.Number(f, 0, 3600000);
     },
     [](YAML::Emitter& e, const AcceptanceSection& a) { EmitNumber(e, a.lat_spike_p99_max_ms); }},
    {"discrepancies_all_detected",
     [](SectionReader&, const Field& f, AcceptanceSection& a) {
       a.discrepancies_all_detected = Reader::Bool(f);
     },
     [](YAML::Emitter& e, const AcceptanceSection& a) {
       EmitBool(e, a.discrepancies_all_detected);
     }},
};

// --- experiment ----------------------------------------------------------------------------------

constexpr Key<ExperimentSection> kExperimentKeys[] = {
    {"baseline_ticks",
     [](SectionReader& r, const Field& f, ExperimentSection& x) {
       x.baseline_ticks = r.Integer(f, 1, 1000000);
     },
     [](YAML::Emitter& e, const ExperimentSection& x) { EmitInt(e, x.baseline_ticks); }},
    {"bursts",
     [](SectionReader& r, const Field& f, ExperimentSection& x) {
       x.bursts = r.Integer(f, 1, 10000);
     },
     [](YAML::Emitter& e, const ExperimentSection& x) { EmitInt(e, x.bursts); }},
    {"recovery_ticks",
     [](SectionReader& r, const Field& f, ExperimentSection& x) {
       x.recovery_ticks = r.Integer(f, 1, 1000000);
     },
     [](YAML::Emitter& e, const ExperimentSection& x) { EmitInt(e, x.recovery_ticks); }},
};

// --- fleet ---------------------------------------------------------------------------------------

constexpr Key<FleetSection> kFleetKeys[] = {
    {"burst_align",
     [](SectionReader&, const Field& f, FleetSection& s) { s.burst_align = Reader::Bool(f); },
     [](YAML::Emitter& e, const FleetSection& s) { EmitBool(e, s.burst_align); }},
    {"seed",
     [](SectionReader& r, const Field& f, FleetSection& s) {
       s.seed = r.Integer(f, 0, 2147483647);
     },
     [](YAML::Emitter& e, const FleetSection& s) { EmitInt(e, s.seed); }},
};

}  // namespace

void ParseChaos(SectionReader& r, const YAML::Node& map, ChaosSection& c) {
  ParseKeys(r, map, "chaos", kChaosKeys, c);
}
void DumpChaos(YAML::Emitter& e, const ChaosSection& c) { DumpKeys(e, kChaosKeys, c); }

void ParseNetem(SectionReader& r, const YAML::Node& map, NetemSection& n) {
  NetemParse p{n, {}, {}};
  ParseKeys(r, map, "netem", kNetemKeys, p);
  if (n.jitter_ms == 0) {
    for (const auto& [name, mark] : p.need_jitter)
      r.Warn(mark, name + " has no effect while netem.jitter_ms is 0");
  }
  if (n.reorder_pct == 0) {
    for (const auto& [name, mark] : p.need_reorder)
      r.Warn(mark, name + " has no effect while netem.reorder_pct is 0");
  }
}
void DumpNetem(YAML::Emitter& e, const NetemSection& n) { DumpKeys(e, kNetemKeys, n); }

void ParseFaults(SectionReader& r, const YAML::Node& map, FaultsSection& f) {
  ParseKeys(r, map, "faults", kFaultsKeys, f);
}
void DumpFaults(YAML::Emitter& e, const FaultsSection& f) { DumpKeys(e, kFaultsKeys, f); }

void ParseMetrics(SectionReader& r, const YAML::Node& map, MetricsSection& m) {
  ParseKeys(r, map, "metrics", kMetricsKeys, m);
}
void DumpMetrics(YAML::Emitter& e, const MetricsSection& m) { DumpKeys(e, kMetricsKeys, m); }

void ParseLog(SectionReader& r, const YAML::Node& map, LogSection& l) {
  ParseKeys(r, map, "log", kLogKeys, l);
}
void DumpLog(YAML::Emitter& e, const LogSection& l) { DumpKeys(e, kLogKeys, l); }

void ParseAcceptance(SectionReader& r, const YAML::Node& map, AcceptanceSection& a) {
  ParseKeys(r, map, "acceptance", kAcceptanceKeys, a);
}
void DumpAcceptance(YAML::Emitter& e, const AcceptanceSection& a) {
  DumpKeys(e, kAcceptanceKeys, a);
}

void ParseExperiment(SectionReader& r, const YAML::Node& map, ExperimentSection& x) {
  ParseKeys(r, map, "experiment", kExperimentKeys, x);
}
void DumpExperiment(YAML::Emitter& e, const ExperimentSection& x) {
  DumpKeys(e, kExperimentKeys, x);
}

void ParseFleet(SectionReader& r, const YAML::Node& map, FleetSection& f) {
  ParseKeys(r, map, "fleet", kFleetKeys, f);
}
void DumpFleet(YAML::Emitter& e, const FleetSection& f) { DumpKeys(e, kFleetKeys, f); }

}  // namespace mmchaos
