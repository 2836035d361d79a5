#include "controller/fleet.h"

#include <cmath>
#include <random>

namespace mmchaos {

uint64_t AlignedEpoch(uint64_t mono_now, uint64_t real_now, uint64_t period_ns) {
  if (period_ns == 0) return mono_now;
  const uint64_t since = real_now % period_ns;  // time since the last boundary
  return mono_now >= since ? mono_now - since : mono_now + (period_ns - since);
}

uint64_t ScheduleEpoch(const Config& cfg, uint64_t mono_now, uint64_t real_now) {
  const auto on = static_cast<uint64_t>(std::llround(cfg.chaos.burst_on_sec * 1e9));
  const auto off = static_cast<uint64_t>(std::llround(cfg.chaos.burst_off_sec * 1e9));
  if (!cfg.fleet.burst_align || off == 0) return mono_now;  // always on: nothing to align
  return AlignedEpoch(mono_now, real_now, on + off);
}

uint32_t RunSeed(const Config& cfg) {
  return cfg.fleet.seed != 0 ? static_cast<uint32_t>(cfg.fleet.seed) : std::random_device{}();
}

}  // namespace mmchaos
