// The seed suite's scenarios: their metric label, their chaos.yaml key, and what this build
// implements. A scenario that is not implemented is refused by validation, never ignored.
#pragma once

#include <array>
#include <string_view>

#include "mmchaos.h"

namespace mmchaos {

struct ScenarioInfo {
  mmc_scenario id;
  std::string_view label;       // mm_chaos_injections_total{scenario=...}
  std::string_view config_key;  // chaos.<key>
  bool implemented;  // by this build (the data plane, or the controller for mem_pressure)
};

inline constexpr std::array<ScenarioInfo, MMC_SCN_MAX> kScenarios{{
    {MMC_SCN_NET_LOSS, "net_loss", "net_loss", true},
    {MMC_SCN_EXCH_429, "exch_429", "exch_429", true},
    {MMC_SCN_EXCH_5XX, "exch_5xx", "exch_5xx", true},
    {MMC_SCN_LAT_SPIKE, "lat_spike", "lat_spike_ms", true},
    {MMC_SCN_WS_LAG, "ws_lag", "ws_lag_ms", true},
    {MMC_SCN_WS_DISCONNECT, "ws_disconnect", "ws_disconnect", true},
    {MMC_SCN_DNS_FLAP, "dns_flap", "dns_flap", true},
    {MMC_SCN_CLOCK_SKEW, "clock_skew", "clock_skew_ms", true},
    {MMC_SCN_MEM_PRESSURE, "mem_pressure", "mem_pressure", true},
    {MMC_SCN_RATE_LIMIT_STORM, "rate_limit_storm", "rate_limit_storm", true},
    {MMC_SCN_RECONCILE_MISMATCH, "reconcile_mismatch", "reconcile_mismatch", true},
}};

inline std::string_view ScenarioLabel(uint32_t id) {
  return id < kScenarios.size() ? kScenarios[id].label : std::string_view("unknown");
}

inline std::string_view ModeLabel(uint32_t mode) {
  return mode == MMC_MODE_SHADOW ? "shadow" : "live";
}

}  // namespace mmchaos
