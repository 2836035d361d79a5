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

// Scenarios the config turns on that this build has no data plane for, one message each.
std::vector<std::string> UnsupportedScenarios(const Config& cfg);

// True when a scenario needs the netem path (ifb, netem qdiscs, mark filters).
bool NeedsNetem(const Config& cfg);
// True when a scenario needs the tc ingress hook on target.interfaces (every netem and
// exchange-protocol scenario).
bool NeedsTc(const Config& cfg);

// Whether a check may find out what this kernel supports by trying it: a scratch netns with an
// ifb and qdiscs for netem, BPF loads for the clock uprobes. `run` and `doctor` do; `validate`
// changes nothing in the kernel unless asked (--probe-kernel), and says what it left unchecked.
enum class KernelProbes { kSkip, kRun };

// Which scenario applies to which endpoint, for `validate` (e.g. rewrites skip TLS endpoints),
// and with kSkip what was not checked on this kernel.
std::vector<std::string> ScenarioNotes(const Config& cfg, KernelProbes probes = KernelProbes::kRun);

// The config's lists that exceed a fixed table of the data plane (dns_ports, order_requests and
// their length, exchanges, interfaces), one message each naming the limit. Nothing is cut or
// folded silently: CheckScenarios refuses such a config.
std::vector<std::string> DataPlaneLimits(const Config& cfg);

// Everything that stops this config from running here, one message each saying why and what to
// do: scenarios without a data plane, netem scenarios on a kernel without netem (probed in a
// scratch namespace), netem scenarios without the interfaces or endpoints they act on, and
// mem_pressure without a cgroup v2 memory controller for target.cgroup.
std::vector<std::string> CheckScenarios(const Config& cfg,
                                        KernelProbes probes = KernelProbes::kRun);

}  // namespace mmchaos
