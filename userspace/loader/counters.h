// Reading the data plane's per-CPU counters and config, by fd (the controller) or by map id
// (status and rollback from another shell).
#pragma once

#include <array>
#include <cstdint>

#include "common/error.h"
#include "mmchaos.h"

namespace mmchaos {

using Counters = std::array<uint64_t, MMC_COUNTER_SLOTS>;

// Sums every slot of the mmc_counters per-CPU array over all possible CPUs.
Result<Counters> ReadCounters(int map_fd);
Result<mmc_config> ReadKernelConfig(int map_fd);

using ReqStats = std::array<uint64_t, MMC_REQSTAT_SLOTS>;
// Sums the mmc_reqstats per-CPU array (see mmc_reqstat_slot()).
Result<ReqStats> ReadReqStats(int map_fd);

using RestLatency = std::array<uint64_t, MMC_RESTLAT_SLOTS>;
// Sums the mmc_restlat per-CPU array (see MMC_RESTLAT_STRIDE).
Result<RestLatency> ReadRestLatency(int map_fd);

// Adds n to a slot no BPF program writes (counts the controller keeps, e.g. mem_pressure burst
// applications), so they reach the metrics and `status` through the same map.
Result<void> AddToCounter(int map_fd, uint32_t slot, uint64_t n);

inline uint64_t Injections(const Counters& c, mmc_scenario s, mmc_mode m) {
  return c[mmc_injection_slot(s, m)];
}

// Live decisions of scenario s whose action did not take effect (not in Injections).
inline uint64_t FailedActions(const Counters& c, mmc_scenario s) {
  return c[MMC_STAT_ACTION_FAILED0 + static_cast<uint32_t>(s)];
}

}  // namespace mmchaos
