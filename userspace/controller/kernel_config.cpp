#include "controller/kernel_config.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstring>

#include "cgroup/memory.h"
#include "clock/clock_skew.h"
#include "common/scenarios.h"
#include "doctor/tc_probes.h"
#include "tc/steering.h"
#include "tls/tls_faults.h"

namespace mmchaos {

namespace {

// How long after a flow's last delayed packet one may still be in the netem: the delay, the
// jitter's reach (uniform: +-jitter; netem's normal and pareto tables reach about four times
// that), and 1 ms for the moment between the hook and netem's enqueue.
uint64_t DelayHoldNs(int delay_ms, const NetemSection& n) {
  const uint64_t reach = n.distribution == NetemDistribution::kUniform ? 1 : 4;
  const uint64_t ms =
      static_cast<uint64_t>(delay_ms) + reach * static_cast<uint64_t>(n.jitter_ms) + 1;
  return ms * 1000000ULL;
}

}  // namespace

uint64_t ProbabilityThreshold(double p) {
  if (!(p > 0)) return 0;
  if (p >= 1) return MMC_P_ONE;
  return static_cast<uint64_t>(std::llround(p * static_cast<double>(MMC_P_ONE)));
}

double ScenarioIntensity(const ChaosSection& c, mmc_scenario s) {
  switch (s) {
    case MMC_SCN_NET_LOSS:
      return c.net_loss;
    case MMC_SCN_EXCH_429:
      return c.exch_429;
    case MMC_SCN_EXCH_5XX:
      return c.exch_5xx;
    case MMC_SCN_LAT_SPIKE:
      return c.lat_spike_ms;
    case MMC_SCN_WS_LAG:
      return c.ws_lag_ms;
    case MMC_SCN_WS_DISCONNECT:
      return c.ws_disconnect;
    case MMC_SCN_DNS_FLAP:
      return c.dns_flap;
    case MMC_SCN_CLOCK_SKEW:
      return c.clock_skew_ms;
    case MMC_SCN_MEM_PRESSURE:
      return static_cast<double>(c.mem_pressure);
    case MMC_SCN_RATE_LIMIT_STORM:
      return c.rate_limit_storm;
    case MMC_SCN_RECONCILE_MISMATCH:
      return c.reconcile_mismatch;
    case MMC_SCN_MAX:
      break;
  }
  return 0;
}

mmc_config ToKernelConfig(const Config& cfg, uint64_t epoch_ns, uint32_t seed) {
  mmc_config k{};
  k.epoch_ns = epoch_ns;
  k.on_ns = static_cast<uint64_t>(std::llround(cfg.chaos.burst_on_sec * 1e9));
  k.off_ns = static_cast<uint64_t>(std::llround(cfg.chaos.burst_off_sec * 1e9));
  k.rollout_threshold = ProbabilityThreshold(cfg.target.rollout_percent / 100.0);
  // Probabilities are thresholds; scenarios with other units get theirs below.
  k.prob[MMC_SCN_NET_LOSS] = ProbabilityThreshold(cfg.chaos.net_loss);
  k.prob[MMC_SCN_EXCH_429] = ProbabilityThreshold(cfg.chaos.exch_429);
  k.prob[MMC_SCN_EXCH_5XX] = ProbabilityThreshold(cfg.chaos.exch_5xx);
  k.prob[MMC_SCN_WS_DISCONNECT] = ProbabilityThreshold(cfg.chaos.ws_disconnect);
  k.prob[MMC_SCN_DNS_FLAP] = ProbabilityThreshold(cfg.chaos.dns_flap);
  k.prob[MMC_SCN_RATE_LIMIT_STORM] = ProbabilityThreshold(cfg.chaos.rate_limit_storm);
  k.prob[MMC_SCN_RECONCILE_MISMATCH] = ProbabilityThreshold(cfg.chaos.reconcile_mismatch);
  // DataPlaneLimits refuses configs over these bounds; the bounds here only keep memory safe.
  for (size_t i = 0; i < cfg.target.dns_ports.size() && i < 8; ++i)
    k.dns_ports[i] = htons(cfg.target.dns_ports[i]);
  std::string code = std::to_string(cfg.faults.status_5xx);
  std::memcpy(k.status_5xx, code.data(), 3);
  k.dns_rcode = cfg.faults.dns_answer == "timeout"    ? MMC_DNS_DROP
                : cfg.faults.dns_answer == "nxdomain" ? 3   // NXDOMAIN
                                                      : 2;  // SERVFAIL
  size_t r = 0;
  for (const auto& x : cfg.target.exchanges)
    for (const auto& req : x.order_requests)
      if (r < 4) {
        std::strncpy(reinterpret_cast<char*>(k.order_req[r++]), req.c_str(),
                     sizeof(k.order_req[0]) - 1);
      }
  // On TLS flows the engine's TLS library holds the request line in plaintext: the mechanism
  // there chooses order requests, and the data plane leaves those flows to it.
  k.tls_library = TlsReconcileByPreload(cfg) ? 1 : 0;
  // Their requests are accounted there too where a mechanism runs in the engine's TLS library (op
  // by the request line, the status the engine gets); elsewhere the cgroup hooks account them by
  // TLS record.
  k.tls_accounting = TlsAccounting(cfg) != TlsMechanism::kNone ? 1 : 0;
  // The engine's endpoint sockets are tagged whenever exchanges are named: request accounting
  // (partial fail rate, REST latency) needs the tag, with or without a tc scenario.
  k.tag_sockets = NeedsTc(cfg) || !cfg.target.exchanges.empty() ? 1 : 0;
  // Rollback triggers judge per-request figures: the data plane emits one event per request.
  k.req_events = cfg.rollback_triggers.empty() ? 0 : 1;
  k.armed = cfg.chaos.enabled ? 1 : 0;
  k.dry_run = cfg.chaos.dry_run ? 1 : 0;
  k.seed = seed;
  k.events_per_sec = static_cast<uint32_t>(cfg.log.max_events_per_sec);
  // Delays apply to every data segment of the flow class while a burst is on.
  if (cfg.chaos.lat_spike_ms > 0) {
    k.prob[MMC_SCN_LAT_SPIKE] = MMC_P_ONE;
    k.egress_mark = kMarkEgress;
    k.egress_class = kRestClass;
    k.egress_drain_class = kRestDrainClass;
    k.lat_spike_hold_ns = DelayHoldNs(cfg.chaos.lat_spike_ms, cfg.netem);
  }
  if (cfg.chaos.ws_lag_ms > 0) {
    k.prob[MMC_SCN_WS_LAG] = MMC_P_ONE;
    k.ingress_mark = kMarkIngress;
    k.ingress_class = kWsClass;
    k.ingress_drain_class = kWsDrainClass;
    k.ws_lag_hold_ns = DelayHoldNs(cfg.chaos.ws_lag_ms, cfg.netem);
  }
  // Every configured clock read of the engine is skewed while a burst is on.
  if (cfg.chaos.clock_skew_ms != 0) {
    k.prob[MMC_SCN_CLOCK_SKEW] = MMC_P_ONE;
    k.clock_skew_ns = static_cast<int64_t>(cfg.chaos.clock_skew_ms) * 1000000LL;
    k.clock_mask = ClockMask(cfg);
  }
  // On kernels without tcx links the tc hook is a filter that outlives a crashed controller:
  // every scenario it runs (rewrites, resets, DNS answers, ws_lag steering) stops by itself
  // after two missed heartbeats. Cgroup and tcx links die with the process and need no check.
  if (NeedsTc(cfg))
    k.heartbeat_timeout_ns = 2ULL * static_cast<uint64_t>(cfg.target.heartbeat_ms) * 1000000ULL;
  return k;
}

bool NeedsNetem(const Config& cfg) { return cfg.chaos.lat_spike_ms > 0 || cfg.chaos.ws_lag_ms > 0; }

bool NeedsTc(const Config& cfg) {
  const ChaosSection& c = cfg.chaos;
  // With interfaces and exchanges named, the hook also observes (reconnects, WS gaps, failed
  // requests) when no tc scenario is on.
  return NeedsNetem(cfg) || c.exch_429 > 0 || c.exch_5xx > 0 || c.rate_limit_storm > 0 ||
         c.ws_disconnect > 0 || c.dns_flap > 0 || c.reconcile_mismatch > 0 ||
         (!cfg.target.interfaces.empty() && !cfg.target.exchanges.empty());
}

std::vector<std::string> ScenarioNotes(const Config& cfg, KernelProbes probes) {
  std::vector<std::string> out;
  const ChaosSection& c = cfg.chaos;
  bool rewrites = c.exch_429 > 0 || c.exch_5xx > 0 || c.rate_limit_storm > 0;
  const TlsChoice tls = ChooseTlsMechanism(cfg, probes == KernelProbes::kRun);
  const bool tls_rewrites = tls.mechanism != TlsMechanism::kNone;
  const std::string tls_how = !tls.checked ? "through the TLS library's uprobes or the preload"
                              : tls.mechanism == TlsMechanism::kUprobe
                                  ? "through uprobes on the engine's libssl"
                                  : "through the preload of `mmchaos exec`";
  const std::string reconcile_how =
      !PreloadLibraryPath().empty()
          ? "order requests chosen by their request line through the preload of `mmchaos exec`"
          : "reconcile_mismatch loses the answer to every request";
  for (const auto& x : cfg.target.exchanges) {
    for (const auto& e : x.rest) {
      std::string applies = "net_loss, lat_spike_ms, reconcile_mismatch";
      if (!e.tls || tls_rewrites) applies += ", exch_429, exch_5xx, rate_limit_storm";
      std::string tls_note = tls_rewrites ? " (TLS: status rewrites " + tls_how + "; " +
                                                reconcile_how + ")"
                                          : " (TLS: status lines are encrypted, no 429/5xx/storm "
                                            "rewrite; " +
                                                reconcile_how + ")";
      out.push_back(x.name + " REST " + e.url + ": " + applies +
                    (e.tls && (rewrites || c.reconcile_mismatch > 0) ? tls_note : ""));
    }
    for (const auto& e : x.ws)
      out.push_back(x.name + " WS " + e.url + ": net_loss, ws_lag_ms, ws_disconnect");
  }
  if (probes == KernelProbes::kRun) {
    if (std::string n = ClockSkewNote(cfg); !n.empty()) out.push_back(n);
    if (std::string n = TlsNote(cfg, true); !n.empty()) out.push_back(n);
    return out;
  }
  if (cfg.chaos.clock_skew_ms != 0)
    out.push_back(cfg.faults.clock_skew_mechanism == "preload"
                      ? ClockSkewNote(cfg)  // forced: nothing to probe
                      : "clock_skew_ms: not checked on this kernel: `run` uses the uprobes where "
                        "the kernel allows them, else the preload of `mmchaos exec` "
                        "(`mmchaos doctor` or `validate --probe-kernel` tell which)");
  if (NeedsNetem(cfg))
    out.push_back(
        "lat_spike_ms/ws_lag_ms: not checked on this kernel: whether it can run netem "
        "(`mmchaos doctor` or `validate --probe-kernel`; `run` refuses it if not)");
  if (std::string n = TlsNote(cfg, false); !n.empty()) out.push_back(n);
  return out;
}

std::vector<std::string> DataPlaneLimits(const Config& cfg) {
  std::vector<std::string> out;
  const mmc_config k{};
  constexpr size_t kDnsPorts = sizeof(k.dns_ports) / sizeof(k.dns_ports[0]);
  constexpr size_t kOrderRequests = sizeof(k.order_req) / sizeof(k.order_req[0]);
  constexpr size_t kOrderLen = sizeof(k.order_req[0]) - 1;  // NUL-padded slots
  static_assert(kOrderRequests == MMC_OP_OTHER, "an op id per order request, then 'other'");
  // The data plane's own tables: each entry of these is a map slot or a fixed array.
  if (cfg.target.dns_ports.size() > kDnsPorts)
    out.push_back("target.dns_ports lists " + std::to_string(cfg.target.dns_ports.size()) +
                  " ports; the data plane matches at most " + std::to_string(kDnsPorts));
  if (cfg.target.exchanges.size() > static_cast<size_t>(MMC_MAX_EXCHANGES))
    out.push_back("target.exchanges names " + std::to_string(cfg.target.exchanges.size()) +
                  " exchanges; the data plane keeps statistics for at most " +
                  std::to_string(MMC_MAX_EXCHANGES));
  if (cfg.target.interfaces.size() > static_cast<size_t>(MMC_MAX_IFACES))
    out.push_back("target.interfaces lists " + std::to_string(cfg.target.interfaces.size()) +
                  " interfaces; the data plane steers at most " + std::to_string(MMC_MAX_IFACES));
  size_t orders = 0;
  for (const auto& x : cfg.target.exchanges) {
    orders += x.order_requests.size();
    for (const auto& r : x.order_requests)
      if (r.size() > kOrderLen)
        out.push_back("target.exchanges." + x.name + ".order_requests: '" + r + "' is " +
                      std::to_string(r.size()) + " bytes; the data plane matches request lines " +
                      "of at most " + std::to_string(kOrderLen) + " (a shorter prefix matches " +
                      "every request that starts with it)");
  }
  if (orders > kOrderRequests)
    out.push_back("target.exchanges.*.order_requests lists " + std::to_string(orders) +
                  " request lines over all exchanges; the data plane matches at most " +
                  std::to_string(kOrderRequests));
  return out;
}

std::vector<std::string> CheckScenarios(const Config& cfg, KernelProbes probes) {
  std::vector<std::string> out = UnsupportedScenarios(cfg);
  for (auto& m : DataPlaneLimits(cfg)) out.push_back(std::move(m));
  for (auto& m : CheckClockSkew(cfg, probes == KernelProbes::kRun)) out.push_back(std::move(m));
  for (auto& m : CheckTls(cfg, probes == KernelProbes::kRun)) out.push_back(std::move(m));
  if (NeedsTc(cfg) && cfg.target.interfaces.empty())
    out.push_back(
        "the exchange and delay scenarios (lat_spike_ms, ws_lag_ms, exch_429, exch_5xx, "
        "rate_limit_storm, ws_disconnect, dns_flap, reconcile_mismatch) need target.interfaces: "
        "the engine's interfaces (in its netns) that mmchaos may put its tc hook on");
  bool plain_rest = false, any_rest = false, any_ws = false;
  for (const auto& x : cfg.target.exchanges) {
    for (const auto& e : x.rest) {
      any_rest = true;
      plain_rest |= !e.tls;
    }
    any_ws |= !x.ws.empty();
  }
  // The data plane classifies a flow by the remote address and port alone: a WebSocket URL on
  // a REST URL's host:port would get REST faults (its 101 handshake rewritten) and no WS ones.
  for (const auto& x : cfg.target.exchanges)
    for (const auto& w : x.ws)
      for (const auto& y : cfg.target.exchanges)
        for (const auto& r : y.rest)
          if (w.host == r.host && w.port == r.port)
            out.push_back("target.exchanges." + x.name + ".ws " + w.url + " is on the same " +
                          "host:port as target.exchanges." + y.name + ".rest " + r.url +
                          ": mmchaos tells REST from WebSocket flows by address and port, so " +
                          "it would treat the WebSocket as REST; list only one of them");
  const ChaosSection& c = cfg.chaos;
  // On https:// endpoints the TLS mechanism rewrites them, or CheckTls says why it cannot.
  if ((c.exch_429 > 0 || c.exch_5xx > 0 || c.rate_limit_storm > 0) && !plain_rest &&
      !TlsRewritesWanted(cfg))
    out.push_back(
        "exch_429, exch_5xx and rate_limit_storm rewrite HTTP status lines, and "
        "target.exchanges has no REST endpoint: name the exchange's REST URLs, or set them to 0");
  if (c.reconcile_mismatch > 0 && !any_rest)
    out.push_back("chaos.reconcile_mismatch needs REST endpoints in target.exchanges.*.rest");
  if (c.ws_disconnect > 0 && !any_ws)
    out.push_back("chaos.ws_disconnect needs WebSocket endpoints in target.exchanges.*.ws");
  if (c.dns_flap > 0 && cfg.target.dns_ports.empty())
    out.push_back("chaos.dns_flap needs target.dns_ports");
  if (c.mem_pressure != MemPressure::kNone) {
    std::string why = MemoryControllerProblem(cfg.target.cgroup);
    if (!why.empty()) out.push_back("chaos.mem_pressure: " + why);
  }
  if (!NeedsNetem(cfg)) return out;
  const char* key = cfg.chaos.lat_spike_ms > 0 ? "chaos.lat_spike_ms" : "chaos.ws_lag_ms";
  if (cfg.chaos.lat_spike_ms > 0 && !any_rest)
    out.push_back("chaos.lat_spike_ms needs REST endpoints in target.exchanges.*.rest");
  if (cfg.chaos.ws_lag_ms > 0 && !any_ws)
    out.push_back("chaos.ws_lag_ms needs WebSocket endpoints in target.exchanges.*.ws");
  if (probes == KernelProbes::kSkip) return out;
  if (Result<void> netem = ProbeNetemSupport(); !netem)
    out.push_back(std::string(key) + " needs netem, and this kernel cannot run it (" +
                  netem.error().message() +
                  "): use a kernel with sch_netem, sch_htb, sch_fq and ifb" +
                  (DetectTcAttach() == TcAttach::kTcx
                       ? ""
                       : ", and without tcx links (6.6+) cls_u32, act_skbedit and act_mirred") +
                  " (Debian's stock kernels have them as modules; `mmchaos doctor` checks), or set "
                  "lat_spike_ms and ws_lag_ms to 0");
  return out;
}

std::vector<std::string> UnsupportedScenarios(const Config& cfg) {
  std::vector<std::string> out;
  for (const auto& s : kScenarios) {
    if (s.implemented || ScenarioIntensity(cfg.chaos, s.id) == 0) continue;
    out.push_back("chaos." + std::string(s.config_key) +
                  " is set, but this version of mmchaos has no data plane for " +
                  std::string(s.label) + " yet: set it to its default (0/none) to run the rest");
  }
  return out;
}

}  // namespace mmchaos
