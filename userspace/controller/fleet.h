// Several canary hosts as one experiment: every host's bursts on the same UTC boundaries
// (fleet.burst_align) and one salt for the rollout hash and the storm draw (fleet.seed).
#pragma once

#include <cstdint>

#include "config/config.h"

namespace mmchaos {

// The CLOCK_MONOTONIC epoch whose cycles start when the real-time clock is a multiple of
// period_ns (counted from the Unix epoch): the most recent such boundary, or the next one when
// the monotonic clock is younger than the time since it. Hosts whose clocks are synchronised
// (NTP, PTP) then burst together, whenever each was started.
uint64_t AlignedEpoch(uint64_t mono_now, uint64_t real_now, uint64_t period_ns);

// The schedule's epoch for a run starting (or re-scheduled) now: aligned with fleet.burst_align
// (and a duty cycle with an off-phase), else now.
uint64_t ScheduleEpoch(const Config& cfg, uint64_t mono_now, uint64_t real_now);

// fleet.seed, or a fresh random salt when it is 0.
uint32_t RunSeed(const Config& cfg);

}  // namespace mmchaos
