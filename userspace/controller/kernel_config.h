// From chaos.yaml to the record the data plane decides by, and the checks a config must pass
// before anything is attached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "mmchaos.h"

namespace mmchaos {

// Probability in [0,1] -> threshold against a 32-bit draw (1.0 -> always).
uint64_t ProbabilityThreshold(double p);

// epoch_ns: CLOCK_MONOTONIC start of the first burst; seed salts the rollout hash.
mmc_config ToKernelConfig(const Config& cfg, uint64_t epoch_ns, uint32_t seed);

// The intensity a scenario has in this config (0 = off), as the number it is configured with.
double ScenarioIntensity(const ChaosSection& c, mmc_scenario s);

// Scenarios the config turns on that this build or this host cannot run, one message each,
// saying why and what to do. Empty means the config can run.
std::vector<std::string> UnsupportedScenarios(const Config& cfg);

}  // namespace mmchaos
