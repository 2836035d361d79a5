#include "controller/kernel_config.h"

#include <cmath>

#include "common/scenarios.h"
#include "tc/steering.h"

namespace mmchaos {

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
  // Only probabilities are thresholds; scenarios with other units get theirs in later fields.
  k.prob[MMC_SCN_NET_LOSS] = ProbabilityThreshold(cfg.chaos.net_loss);
  k.armed = cfg.chaos.enabled ? 1 : 0;
  k.dry_run = cfg.chaos.dry_run ? 1 : 0;
  k.seed = seed;
  k.events_per_sec = static_cast<uint32_t>(cfg.log.max_events_per_sec);
  // Delays apply to every packet of the flow class while a burst is on.
  if (cfg.chaos.lat_spike_ms > 0) {
    k.prob[MMC_SCN_LAT_SPIKE] = MMC_P_ONE;
    k.egress_mark = kMarkEgress;
    k.egress_class = kRestClass;
  }
  if (cfg.chaos.ws_lag_ms > 0) {
    k.prob[MMC_SCN_WS_LAG] = MMC_P_ONE;
    k.ingress_mark = kMarkIngress;
    k.ingress_class = kWsClass;
  }
  // tc filters outlive a crashed controller: they stop steering after two missed heartbeats.
  if (NeedsNetem(cfg))
    k.heartbeat_timeout_ns = 2ULL * static_cast<uint64_t>(cfg.target.heartbeat_ms) * 1000000ULL;
  return k;
}

bool NeedsNetem(const Config& cfg) {
  return cfg.chaos.lat_spike_ms > 0 || cfg.chaos.ws_lag_ms > 0;
}

std::vector<std::string> CheckScenarios(const Config& cfg) {
  std::vector<std::string> out = UnsupportedScenarios(cfg);
  if (!NeedsNetem(cfg)) return out;
  const char* key = cfg.chaos.lat_spike_ms > 0 ? "chaos.lat_spike_ms" : "chaos.ws_lag_ms";
  if (cfg.target.interfaces.empty())
    out.push_back(std::string(key) +
                  " needs target.interfaces: the engine's interfaces (in its netns) that mmchaos "
                  "may put its tc filters on");
  bool rest = false, ws = false;
  for (const auto& x : cfg.target.exchanges) {
    rest |= !x.rest.empty();
    ws |= !x.ws.empty();
  }
  if (cfg.chaos.lat_spike_ms > 0 && !rest)
    out.push_back("chaos.lat_spike_ms needs REST endpoints in target.exchanges.*.rest");
  if (cfg.chaos.ws_lag_ms > 0 && !ws)
    out.push_back("chaos.ws_lag_ms needs WebSocket endpoints in target.exchanges.*.ws");
  std::string netem = ProbeNetemSupport();
  if (!netem.empty())
    out.push_back(std::string(key) +
                  " needs netem, and this kernel cannot run it (" + netem +
                  "): use a kernel with sch_netem, ifb, cls_u32, act_skbedit and act_mirred "
                  "(Debian's stock kernel has them as modules; `mmchaos doctor` checks), or set "
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
